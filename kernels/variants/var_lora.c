/* lora on one linear: Y = X W^T + s (X A^T) B^T, as three provider GEMMs (s folded into a copy
 * of B so every call runs with alpha = 1). */
#include "variants.h"

typedef struct {
    const mb_gemm_provider *gp;
    int64_t T, h, o, r;
    mb_gemm_weight *W, *A, *B;
    float *Bs;   /* s * B [o, r] */
    float *Z;    /* [T, r] */
} lora_st;

static void lora_release(void *p)
{
    lora_st *st = p;
    if (!st) return;
    mb_vrelease(st->gp, &st->W);
    mb_vrelease(st->gp, &st->A);
    mb_vrelease(st->gp, &st->B);
    mb_free(st->Bs);
    mb_free(st->Z);
    mb_free(st);
}

static mb_status lora_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                              void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r;
    const float *W = mb_vw(w, "W", o * h, err), *A = W ? mb_vw(w, "A", r * h, err) : NULL;
    const float *B = A ? mb_vw(w, "B", o * r, err) : NULL;
    if (!B) return err ? err->code : MB_EINVAL;
    lora_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->T = T; st->h = h; st->o = o; st->r = r;
    mb_status rc = mb_vscaled_copy(B, o * r, s->alpha / (float)r, &st->Bs, err);
    if (rc == MB_OK) rc = mb_vprep(gp, W, o, h, T, &st->W, err);
    if (rc == MB_OK) rc = mb_vprep(gp, A, r, h, T, &st->A, err);
    if (rc == MB_OK) rc = mb_vprep(gp, st->Bs, o, r, T, &st->B, err);
    if (rc == MB_OK) rc = mb_valloc(&st->Z, T * r, err);
    if (rc != MB_OK) { lora_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status lora_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                              mb_err *err)
{
    (void)info;
    lora_st *st = p;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    mb_status rc = mb_vgemm(st->gp, st->W, st->T, st->h, X, 0.0f, Y, st->o, err);
    if (rc == MB_OK) rc = mb_vgemm(st->gp, st->A, st->T, st->h, X, 0.0f, st->Z, st->r, err);
    if (rc == MB_OK) rc = mb_vgemm(st->gp, st->B, st->T, st->r, st->Z, 1.0f, Y, st->o, err);
    return rc;
}

const mb_variant_ops mb_var_lora = { lora_prepare, lora_forward, lora_release };
