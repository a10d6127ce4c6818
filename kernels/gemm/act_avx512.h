/* act(G) .* U on 16 lanes, for the gated epilogue of the AVX-512 GEMM (the gated-MLP middle).
 * SiLU uses a degree-6 exp (|rel err| ~ 2e-7 after the ln2 range reduction): the scalar libm
 * path would cost as much as a small GEMM at decode shapes. ReLU is exact; GELU keeps the
 * library's erf for exactness of the spec. */
#ifndef MOEBENCH_ACT_AVX512_H
#define MOEBENCH_ACT_AVX512_H

#include <immintrin.h>
#include "moebench/activation.h"

static inline __m512 mb_avx_exp_ps(__m512 x)
{
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.5f)), _mm512_set1_ps(-87.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

static inline __m512 mb_avx_glu_ps(mb_act a, __m512 g, __m512 u)
{
    if (a == MB_ACT_RELU)
        return _mm512_mul_ps(_mm512_max_ps(g, _mm512_setzero_ps()), u);
    if (a == MB_ACT_GELU) {
        float v[16];
        _mm512_storeu_ps(v, g);
        for (int i = 0; i < 16; i++)
            v[i] = mb_act_applyf(a, v[i]);
        return _mm512_mul_ps(_mm512_loadu_ps(v), u);
    }
    /* SiLU: g / (1 + e^-g) */
    __m512 e = mb_avx_exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), g));
    return _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e)), u);
}

#endif
