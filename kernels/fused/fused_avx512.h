/* Fused AVX-512 variant kernels (kernels/fused/NAME_avx512.c): each is a full mb_variant_ops
 * that replaces the provider-call sequence of kernels/variants/ for the avx512 implementation. */
#ifndef MOEBENCH_FUSED_AVX512_H
#define MOEBENCH_FUSED_AVX512_H

#include "variants/variants.h"

/* The fused ops for the spec's variant, or NULL to use the shared variant code. Always NULL
 * when the compiler has no AVX-512. */
const mb_variant_ops *mb_fused_avx512_ops(const mb_spec *s);

/* H[i, :n] = act(G[i, :n]) .* U[i, :n] for rows i < rows (H may alias G). */
void mb_avx512_glu_rows(mb_act a, int64_t rows, int64_t n, const float *G, int64_t ldg,
                        const float *U, int64_t ldu, float *H, int64_t ldh);

#endif
