/* The onednn implementation: every variant (kernels/variants/var_*.c) on the onednn GEMM provider. */
#include "variants.h"
#include "variants_train.h"

static const char *onednn_unsupported(const mb_spec *s)
{
    return mb_variant_unsupported(&mb_gemm_onednn, s);
}

static mb_status onednn_prepare(const mb_spec *s, const mb_weights *w, mb_state **st, mb_err *err)
{
    return mb_variant_prepare(&mb_gemm_onednn, s, w, st, err);
}

const mb_impl mb_impl_onednn = {
    "onednn", onednn_unsupported, onednn_prepare, mb_variant_forward, mb_variant_release,
    mb_variant_forward_train, mb_variant_backward
};
