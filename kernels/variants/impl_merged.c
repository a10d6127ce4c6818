/* The merged implementation (spec Part 1 "Merged weights"): LoRA folded into the weights in
 * prepare, on the OpenBLAS provider when built with it, else the naive one. */
#include "merge.h"

static const mb_gemm_provider *merged_provider(void)
{
    return mb_gemm_blas.unavailable() ? &mb_gemm_naive : &mb_gemm_blas;
}

static const char *merged_unsupported(const mb_spec *s)
{
    switch (s->variant) {
    case MB_MOLORA:
    case MB_MOR1E: return "gate depends on the token";
    case MB_SPARSE_MLP:
    case MB_ROUTER: return "no adapter";
    default: break;
    }
    /* named as merged (not its provider): the row is merged's */
    const char *why = mb_dtype_unsupported("merged", s->dtype,
                                           mb_gemm_dtypes(merged_provider()) & MB_VARIANT_DTYPES);
    if (why) return why;
    return mb_variant_unsupported(merged_provider(), s);
}

static mb_status merged_prepare(const mb_spec *s, const mb_weights *w, mb_state **st,
                                mb_err *err)
{
    *st = NULL;
    const char *why = merged_unsupported(s);
    if (why) return mb_fail(err, MB_EUNSUPPORTED, "%s", why);
    mb_merge_prepare_fn fn = NULL;
    switch (s->variant) {
    case MB_LORA: fn = mb_merge_lora; break;
    case MB_MLP_LORA: fn = mb_merge_mlp_lora; break;
    case MB_MOELORA: fn = mb_merge_moelora; break;
    case MB_MIXLORA: fn = mb_merge_mixlora; break;
    default: return mb_fail(err, MB_EUNSUPPORTED, "no merged form");
    }
    const mb_variant_ops *ops = NULL;
    void *priv = NULL;
    mb_status rc = fn(merged_provider(), s, w, &ops, &priv, err);
    if (rc != MB_OK) return rc;
    return mb_variant_wrap(s, ops, priv, st, err);
}

const mb_impl mb_impl_merged = {
    "merged", merged_unsupported, merged_prepare, mb_variant_forward, mb_variant_release
};
