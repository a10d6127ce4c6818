/* The avx512 implementation: every variant (kernels/variants/var_*.c) on the AVX-512 GEMM
 * provider, except where a fused kernel (kernels/fused/) replaces the provider-call sequence.
 * Unsupported (with the probe's reason) wherever this CPU or compiler cannot run AVX-512. */
#include "variants.h"
#include "variants_train.h"
#include "fused/fused_avx512.h"

static const char *avx512_unsupported(const mb_spec *s)
{
    return mb_variant_unsupported(&mb_gemm_avx512, s);
}

static mb_status avx512_prepare(const mb_spec *s, const mb_weights *w, mb_state **st, mb_err *err)
{
    *st = NULL;
    const char *why = avx512_unsupported(s);
    if (why)
        return mb_fail(err, MB_EUNSUPPORTED, "%s", why);
    /* train cases run the provider form (fused backward kernels: a later optimisation), and
     * so do bf16 and wq cases (the fused kernels are f32 on f32 weights) */
    const mb_variant_ops *fused = s->mode == MB_MODE_TRAIN || s->dtype != MB_F32 ||
                                          s->wq != MB_F32 ? NULL : mb_fused_avx512_ops(s);
    if (!fused)
        return mb_variant_prepare(&mb_gemm_avx512, s, w, st, err);
    void *priv = NULL;
    mb_status rc = fused->prepare(&mb_gemm_avx512, s, w, &priv, err);
    if (rc != MB_OK)
        return rc;
    return mb_variant_wrap(s, fused, priv, st, err);
}

const mb_impl mb_impl_avx512 = {
    "avx512", avx512_unsupported, avx512_prepare, mb_variant_forward, mb_variant_release,
    mb_variant_forward_train, mb_variant_backward
};
