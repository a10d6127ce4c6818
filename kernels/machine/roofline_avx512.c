/* AVX-512 roofline kernels, called only after mb_rl_cpu_has_avx512(). Compiled with the
 * AVX-512 flags (the *_avx512.c rule); the target attributes say the same per function. */
#include "moebench/roofline_kernels.h"

#ifdef MOEBENCH_HAVE_AVX512
#include <immintrin.h>

#define MB_AVX512_FN __attribute__((target("avx512f,avx512dq,fma")))

/* 24 independent accumulators: two FMA ports x 4-cycle latency needs at least 8 in flight; more
 * hides scheduling noise. 24 FMAs x 16 lanes x 2 flops per iteration. */
MB_AVX512_FN double mb_rl_fma_avx512(long iters)
{
    /* named variables, not an array: an array is kept in memory and the loop then measures
     * store-to-load forwarding instead of the FMA ports */
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
#define MB_DECL(i) __m512 a##i = _mm512_set1_ps((float)i);
#define MB_STEP(i) a##i = _mm512_fmadd_ps(a##i, m, c);
#define MB_SUM(i) s = _mm512_add_ps(s, a##i);
#define MB_X24(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) \
    X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
    MB_X24(MB_DECL)
    for (long it = 0; it < iters; it++) {
        MB_X24(MB_STEP)
    }
    __m512 s = _mm512_setzero_ps();
    MB_X24(MB_SUM)
#undef MB_DECL
#undef MB_STEP
#undef MB_SUM
#undef MB_X24
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return (double)iters * 24 * 16 * 2;
}

MB_AVX512_FN void mb_rl_read_avx512(const float *x, size_t n, float *sink)
{
    /* 8 chains: two loads per cycle times an add latency of 3-4 cycles */
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        s0 = _mm512_add_ps(s0, _mm512_load_ps(x + i));
        s1 = _mm512_add_ps(s1, _mm512_load_ps(x + i + 16));
        s2 = _mm512_add_ps(s2, _mm512_load_ps(x + i + 32));
        s3 = _mm512_add_ps(s3, _mm512_load_ps(x + i + 48));
        s4 = _mm512_add_ps(s4, _mm512_load_ps(x + i + 64));
        s5 = _mm512_add_ps(s5, _mm512_load_ps(x + i + 80));
        s6 = _mm512_add_ps(s6, _mm512_load_ps(x + i + 96));
        s7 = _mm512_add_ps(s7, _mm512_load_ps(x + i + 112));
    }
    __m512 t01 = _mm512_add_ps(s0, s1), t23 = _mm512_add_ps(s2, s3);
    __m512 t45 = _mm512_add_ps(s4, s5), t67 = _mm512_add_ps(s6, s7);
    float t = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(t01, t23), _mm512_add_ps(t45, t67)));
    for (; i < n; i++)
        t += x[i];
    *sink += t;
}

MB_AVX512_FN void mb_rl_panels_avx512(const float *x, size_t n, float *sink)
{
    const size_t C = MB_RL_PANEL_COLS, R = MB_RL_PANEL_ROWS, panel = C * R;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    size_t p = 0;
    for (; p + panel <= n; p += panel) {
        const float *r = x + p;
        for (size_t i = 0; i < C; i += 16) {
            s0 = _mm512_add_ps(s0, _mm512_load_ps(r + i));
            s1 = _mm512_add_ps(s1, _mm512_load_ps(r + C + i));
            s2 = _mm512_add_ps(s2, _mm512_load_ps(r + 2 * C + i));
            s3 = _mm512_add_ps(s3, _mm512_load_ps(r + 3 * C + i));
            s4 = _mm512_add_ps(s4, _mm512_load_ps(r + 4 * C + i));
            s5 = _mm512_add_ps(s5, _mm512_load_ps(r + 5 * C + i));
            s6 = _mm512_add_ps(s6, _mm512_load_ps(r + 6 * C + i));
            s7 = _mm512_add_ps(s7, _mm512_load_ps(r + 7 * C + i));
        }
    }
    __m512 t01 = _mm512_add_ps(s0, s1), t23 = _mm512_add_ps(s2, s3);
    __m512 t45 = _mm512_add_ps(s4, s5), t67 = _mm512_add_ps(s6, s7);
    float t = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(t01, t23), _mm512_add_ps(t45, t67)));
    mb_rl_read_avx512(x + p, n - p, &t);
    *sink += t;
}

MB_AVX512_FN void mb_rl_triad_avx512(float *a, const float *b, const float *c, size_t n,
                                     float s)
{
    const __m512 vs = _mm512_set1_ps(s);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_store_ps(a + i, _mm512_fmadd_ps(vs, _mm512_load_ps(c + i), _mm512_load_ps(b + i)));
    for (; i < n; i++)
        a[i] = b[i] + s * c[i];
}

#ifdef MOEBENCH_HAVE_AVX512_BF16
/* The AVX512_BF16 peak: vdpbf16ps, 16 f32 lanes each adding two bf16 products = 64 flops per
 * instruction; 24 independent accumulators as for the FMA peak (same ports, same latency).
 * Products of 2^-8 x 2^-8 keep every accumulator far from overflow for any iteration count. */
#ifdef MOEBENCH_AVX512_EMULATED   /* SIMDe's code must not be compiled for real AVX-512 */
#define MB_BF16_FN
#else
#define MB_BF16_FN __attribute__((target("avx512f,avx512bf16")))
#endif
MB_BF16_FN double mb_rl_dpbf16_avx512(long iters)
{
    const __m512 one = _mm512_set1_ps(1.0f / 256.0f);
    const __m512bh x = _mm512_cvtne2ps_pbh(one, one);
#define MB_DECL(i) __m512 a##i = _mm512_set1_ps((float)i);
#define MB_STEP(i) a##i = _mm512_dpbf16_ps(a##i, x, x);
#define MB_SUM(i) s = _mm512_add_ps(s, a##i);
#define MB_X24(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) \
    X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
    MB_X24(MB_DECL)
    for (long it = 0; it < iters; it++) {
        MB_X24(MB_STEP)
    }
    __m512 s = _mm512_setzero_ps();
    MB_X24(MB_SUM)
#undef MB_DECL
#undef MB_STEP
#undef MB_SUM
#undef MB_X24
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return (double)iters * 24 * 16 * 2 * 2;   /* 16 lanes x 2 products x 2 flops */
}
#else
/* mb_rl_cpu_has_avx512_bf16() says no: never called */
double mb_rl_dpbf16_avx512(long iters) { (void)iters; return 0; }
#endif

#else
/* Without compiler support the scalar kernels stand in; mb_rl_cpu_has_avx512() says no. */
double mb_rl_dpbf16_avx512(long iters) { (void)iters; return 0; }
double mb_rl_fma_avx512(long iters) { return mb_rl_fma_scalar(iters); }
void mb_rl_read_avx512(const float *x, size_t n, float *sink) { mb_rl_read_scalar(x, n, sink); }
void mb_rl_panels_avx512(const float *x, size_t n, float *sink)
{
    mb_rl_panels_scalar(x, n, sink);
}
void mb_rl_triad_avx512(float *a, const float *b, const float *c, size_t n, float s)
{
    mb_rl_triad_scalar(a, b, c, n, s);
}
#endif
