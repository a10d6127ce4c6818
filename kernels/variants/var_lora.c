/* lora on one linear: Y = X W^T + s (X A^T) B^T, as three provider GEMMs (mb_vlora: s folded
 * into a copy of B so every call runs with alpha = 1). */
#include "variants.h"

typedef struct {
    const mb_gemm_provider *gp;
    int64_t T;
    mb_vlora l;
    float *Z;    /* [T, r] */
} lora_st;

static void lora_release(void *p)
{
    lora_st *st = p;
    if (!st) return;
    mb_vlora_free(&st->l, st->gp);
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
    st->gp = gp; st->T = T;
    mb_status rc = mb_vlora_init(&st->l, gp, W, A, B, o, h, r, s->alpha / (float)r, T, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Z, T, r, err);
    if (rc != MB_OK) { lora_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status lora_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                              mb_err *err)
{
    (void)info;
    lora_st *st = p;
    return mb_vlora_run(&st->l, st->gp, st->T, mb_f32(&in->X), mb_f32(y), st->Z, err);
}

const mb_variant_ops mb_var_lora = { lora_prepare, lora_forward, lora_release };
