/* H = act(G) .* U over rows (the gated-MLP middle), vectorised: the scalar libm path costs as
 * much as a small GEMM at decode shapes. SiLU uses a degree-6 exp (|rel err| ~ 2e-7 after the
 * ln2 range reduction); ReLU is exact; GELU keeps the library's erf for exactness of the spec. */
#ifdef MOEBENCH_HAVE_AVX512
#include <immintrin.h>
#include "moebench/activation.h"
#include "fused/fused_avx512.h"

static inline __m512 exp_ps(__m512 x)
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

static inline __m512 act_ps(mb_act a, __m512 g)
{
    if (a == MB_ACT_RELU)
        return _mm512_max_ps(g, _mm512_setzero_ps());
    /* SiLU: g / (1 + e^-g) */
    __m512 e = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), g));
    return _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

void mb_avx512_glu_rows(mb_act a, int64_t rows, int64_t n, const float *G, int64_t ldg,
                        const float *U, int64_t ldu, float *H, int64_t ldh)
{
    #pragma omp parallel for schedule(static) if (rows * n > 65536)
    for (int64_t i = 0; i < rows; i++) {
        const float *g = G + i * ldg, *u = U + i * ldu;
        float *hrow = H + i * ldh;
        if (a == MB_ACT_GELU) {
            for (int64_t j = 0; j < n; j++) hrow[j] = mb_act_applyf(a, g[j]) * u[j];
            continue;
        }
        for (int64_t j = 0; j < n; j += 16) {
            __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
            __m512 gv = _mm512_maskz_loadu_ps(m, g + j), uv = _mm512_maskz_loadu_ps(m, u + j);
            _mm512_mask_storeu_ps(hrow + j, m, _mm512_mul_ps(act_ps(a, gv), uv));
        }
    }
}
#endif
