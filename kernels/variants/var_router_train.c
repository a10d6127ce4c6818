/* router, training step: Y [T, E] is the dense combine matrix (w at the chosen experts), so
 * gr_tj = dY[t, idx_tj]; dz through the renormalised weights plus aux / z-loss (Part 2 §8b-8d),
 * dWr = dz^T X, dX = dz Wr. */
#include <string.h>
#include "variants_train.h"

typedef struct {
    const mb_gemm_provider *gp;
    mb_spec s;
    mb_trouter tr;
} rt_st;

static void rt_release(void *p)
{
    rt_st *st = p;
    if (!st) return;
    mb_trouter_free(&st->tr, st->gp);
    mb_free(st);
}

static mb_status rt_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                            void **priv, mb_err *err)
{
    const float *Wr = mb_vw(w, "Wr", s->E * s->h, err);
    if (!Wr) return err ? err->code : MB_EINVAL;
    rt_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->s = *s;
    mb_status rc = mb_trouter_init(&st->tr, gp, Wr, mb_spec_T(s), s->h, s->E, s->k, err);
    if (rc != MB_OK) { rt_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status rt_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                            mb_saved *sv, mb_err *err)
{
    rt_st *st = p;
    mb_saved local = { { 0 } };
    mb_status rc = mb_trouter_run(&st->tr, st->gp, mb_f32(&in->X), sv ? sv : &local, info, err);
    if (!sv) mb_weights_free(&local.act);
    if (rc != MB_OK) return rc;
    const int64_t T = st->tr.T, E = st->tr.E, k = st->tr.k;
    float *Y = mb_f32(y);
    memset(Y, 0, sizeof(float) * (size_t)(T * E));
    for (int64_t t = 0; t < T; t++)
        for (int64_t j = 0; j < k; j++)
            Y[t * E + st->tr.rt.idx[t * k + j]] = st->tr.rt.w[t * k + j];
    return MB_OK;
}

static mb_status rt_backward(void *p, const mb_inputs *in, const mb_saved *sv,
                             const mb_tensor *dy, mb_grads *g, mb_err *err)
{
    rt_st *st = p;
    const int64_t T = st->tr.T, E = st->tr.E, k = st->tr.k;
    const float *dY = mb_f32(dy);
    float *dX = mb_tdx(g, T, st->tr.h, err);
    if (!dX) return err->code;
    memset(dX, 0, sizeof(float) * (size_t)(T * st->tr.h));
    for (int64_t t = 0; t < T; t++)
        for (int64_t j = 0; j < k; j++)
            st->tr.gr[t * k + j] = dY[t * E + st->tr.rt.idx[t * k + j]];
    return mb_trouter_backward(&st->tr, st->gp, &st->s, mb_f32(&in->X), sv, g, dX, err);
}

const mb_variant_train_ops mb_train_router = { rt_prepare, rt_forward, rt_backward, rt_release };
