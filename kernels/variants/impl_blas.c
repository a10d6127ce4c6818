/* The blas implementation: every variant (kernels/variants/var_*.c) on the blas GEMM provider. */
#include "variants.h"
#include "variants_train.h"

static const char *blas_unsupported(const mb_spec *s)
{
    return mb_variant_unsupported(&mb_gemm_blas, s);
}

static mb_status blas_prepare(const mb_spec *s, const mb_weights *w, mb_state **st, mb_err *err)
{
    return mb_variant_prepare(&mb_gemm_blas, s, w, st, err);
}

const mb_impl mb_impl_blas = {
    "blas", blas_unsupported, blas_prepare, mb_variant_forward, mb_variant_release,
    mb_variant_forward_train, mb_variant_backward
};
