/* Fused AVX-512 variant kernels (kernels/fused/NAME_avx512.c): each is a full mb_variant_ops
 * that replaces the provider-call sequence of kernels/variants/ for the avx512 implementation. */
#ifndef MOEBENCH_FUSED_AVX512_H
#define MOEBENCH_FUSED_AVX512_H

#include "variants/variants.h"

/* The fused ops for the spec's variant, or NULL to use the shared variant code. Always NULL
 * when the compiler has no AVX-512. */
const mb_variant_ops *mb_fused_avx512_ops(const mb_spec *s);

#endif
