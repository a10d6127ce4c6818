/* Test-only lora train implementations (see train_impl.h). */
#include "train_impl.h"

#include <string.h>

#include "moebench/moebench.h"
#include "moebench/train.h"

struct mb_state {
    mb_spec s;
    const mb_weights *w;
    int wrong;
};

static const char *lora_only(const mb_spec *s)
{
    return s->variant == MB_LORA && s->p == 0 ? NULL : "test_train: lora with p=0 only";
}

static mb_status prep(const mb_spec *s, const mb_weights *w, mb_state **st, mb_err *err, int wrong)
{
    *st = mb_alloc(sizeof **st);
    if (!*st)
        return mb_fail(err, MB_ENOMEM, "no memory");
    (*st)->s = *s;
    (*st)->w = w;
    (*st)->wrong = wrong;
    return MB_OK;
}

static mb_status prep_right(const mb_spec *s, const mb_weights *w, mb_state **st, mb_err *err)
{
    return prep(s, w, st, err, 0);
}

static mb_status prep_wrong(const mb_spec *s, const mb_weights *w, mb_state **st, mb_err *err)
{
    return prep(s, w, st, err, 1);
}

static void rel(mb_state *st)
{
    mb_free(st);
}

/* Z = X A^T [T, r] into z; Y = X W^T + s Z B^T */
static void lora_fwd(const mb_state *st, const float *X, float *Y, float *Z)
{
    const mb_spec *s = &st->s;
    int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r;
    const float *W = mb_f32(mb_weights_get(st->w, "W")), *A = mb_f32(mb_weights_get(st->w, "A")),
                *B = mb_f32(mb_weights_get(st->w, "B"));
    double sc = (double)s->alpha / (double)r;
    for (int64_t t = 0; t < T; t++) {
        for (int64_t j = 0; j < r; j++) {
            double a = 0;
            for (int64_t i = 0; i < h; i++)
                a += (double)X[t * h + i] * A[j * h + i];
            Z[t * r + j] = (float)a;
        }
        for (int64_t n = 0; n < o && Y; n++) {
            double a = 0, l = 0;
            for (int64_t i = 0; i < h; i++)
                a += (double)X[t * h + i] * W[n * h + i];
            for (int64_t j = 0; j < r; j++)
                l += (double)Z[t * r + j] * B[n * r + j];
            Y[t * o + n] = (float)(a + sc * l);
        }
    }
}

static mb_status fwd(mb_state *st, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                     mb_err *err)
{
    (void)info;
    int64_t shape[2] = {mb_spec_T(&st->s), st->s.r};
    mb_tensor z;
    mb_status rc = mb_tensor_alloc(&z, MB_F32, 2, shape, err);
    if (rc)
        return rc;
    lora_fwd(st, mb_f32(&in->X), mb_f32(y), mb_f32(&z));
    mb_tensor_free(&z);
    return MB_OK;
}

static mb_status fwd_train(mb_state *st, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                           mb_saved *saved, mb_err *err)
{
    (void)info;
    mb_tensor *z = mb_weights_get_mut(&saved->act, "Z");
    if (!z) {
        int64_t shape[2] = {mb_spec_T(&st->s), st->s.r};
        mb_tensor t;
        mb_status rc = mb_tensor_alloc(&t, MB_F32, 2, shape, err);
        if (rc || (rc = mb_weights_add(&saved->act, "Z", t, err)))
            return rc;
        z = mb_weights_get_mut(&saved->act, "Z");
    }
    lora_fwd(st, mb_f32(&in->X), mb_f32(y), mb_f32(z));
    return MB_OK;
}

/* dB = s G^T Z; dZ = s G B; dA = dZ^T X; dX = G W + dZ A (spec Part 2 section 1, p = 0) */
static mb_status bwd(mb_state *st, const mb_inputs *in, const mb_saved *saved, const mb_tensor *dy,
                     mb_grads *g, mb_err *err)
{
    const mb_spec *s = &st->s;
    int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r;
    const float *W = mb_f32(mb_weights_get(st->w, "W")), *A = mb_f32(mb_weights_get(st->w, "A")),
                *B = mb_f32(mb_weights_get(st->w, "B")), *X = mb_f32(&in->X),
                *G = mb_f32(dy), *Z = mb_f32(mb_weights_get(&saved->act, "Z"));
    float *dX = mb_f32(&g->dX), *dA = mb_f32(mb_weights_get_mut(&g->dW, "A")),
          *dB = mb_f32(mb_weights_get_mut(&g->dW, "B"));
    double sc = (double)s->alpha / (double)r;
    int64_t zs[2] = {T, r};
    mb_tensor dzt;
    mb_status rc = mb_tensor_alloc(&dzt, MB_F32, 2, zs, err);
    if (rc)
        return rc;
    float *dZ = mb_f32(&dzt);
    for (int64_t n = 0; n < o; n++)
        for (int64_t j = 0; j < r; j++) {
            double a = 0;
            for (int64_t t = 0; t < T; t++)
                a += (double)G[t * o + n] * Z[t * r + j];
            dB[n * r + j] = (float)(sc * a);
        }
    for (int64_t t = 0; t < T; t++)
        for (int64_t j = 0; j < r; j++) {
            double a = 0;
            for (int64_t n = 0; n < o; n++)
                a += (double)G[t * o + n] * B[n * r + j];
            dZ[t * r + j] = (float)(sc * a);
        }
    for (int64_t j = 0; j < r; j++)
        for (int64_t i = 0; i < h; i++) {
            double a = 0;
            for (int64_t t = 0; t < T; t++)
                a += (double)dZ[t * r + j] * X[t * h + i];
            dA[j * h + i] = (float)(a * (st->wrong ? 1.01 : 1.0));
        }
    for (int64_t t = 0; t < T; t++)
        for (int64_t i = 0; i < h; i++) {
            double a = 0;
            for (int64_t n = 0; n < o; n++)
                a += (double)G[t * o + n] * W[n * h + i];
            for (int64_t j = 0; j < r; j++)
                a += (double)dZ[t * r + j] * A[j * h + i];
            dX[t * h + i] = (float)a;
        }
    mb_tensor_free(&dzt);
    return mb_grads_apply_opt(s, st->w, g, err);
}

static const mb_impl test_train = {"test_train", lora_only, prep_right, fwd, rel, fwd_train, bwd};
static const mb_impl test_train_wrong = {"test_train_wrong", lora_only, prep_wrong, fwd, rel,
                                         fwd_train, bwd};

void mb_test_register_train_impls(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    mb_impl_register_extra(&test_train);
    mb_impl_register_extra(&test_train_wrong);
}
