/* AVX2 (through target attributes, so this file needs no special flags) and scalar roofline
 * kernels, and the runtime ISA checks. */
#include "moebench/roofline_kernels.h"

#include <immintrin.h>

#include "moebench/cpu.h"

int mb_rl_cpu_has_avx512(void)
{
#ifdef MOEBENCH_HAVE_AVX512
    /* the kernels' probe: cpuid, XCR0 (the OS saves zmm state) and one executed instruction */
    return mb_cpu_has_avx512(NULL) && !mb_cpu_avx512_emulated();
#else
    return 0;
#endif
}

int mb_rl_cpu_has_avx512_bf16(const char **why)
{
    const char *r = NULL;
    if (!mb_cpu_has_avx512_bf16(&r)) {
        if (why)
            *why = r;
        return 0;
    }
    if (mb_cpu_avx512_emulated()) {
        if (why)
            *why = "avx512_bf16 emulated by SIMDe in this build: not the CPU's peak";
        return 0;
    }
    if (why)
        *why = NULL;
    return 1;
}

int mb_rl_cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* 12 accumulators of 8 lanes in named variables (an array would live in memory): enough FMAs
 * in flight for two ports of latency 4. */
__attribute__((target("avx2,fma"))) double mb_rl_fma_avx2(long iters)
{
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
#define MB_DECL(i) __m256 a##i = _mm256_set1_ps((float)i);
#define MB_STEP(i) a##i = _mm256_fmadd_ps(a##i, m, c);
#define MB_SUM(i) s = _mm256_add_ps(s, a##i);
#define MB_X12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
    MB_X12(MB_DECL)
    for (long it = 0; it < iters; it++) {
        MB_X12(MB_STEP)
    }
    __m256 s = _mm256_setzero_ps();
    MB_X12(MB_SUM)
#undef MB_DECL
#undef MB_STEP
#undef MB_SUM
#undef MB_X12
    float out[8];
    _mm256_storeu_ps(out, s);
    volatile float sink = out[0] + out[7];
    (void)sink;
    return (double)iters * 12 * 8 * 2;
}

__attribute__((target("avx2,fma"))) void mb_rl_read_avx2(const float *x, size_t n, float *sink)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_load_ps(x + i));
        s1 = _mm256_add_ps(s1, _mm256_load_ps(x + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_load_ps(x + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_load_ps(x + i + 24));
    }
    float out[8];
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    float t = 0;
    for (int k = 0; k < 8; k++)
        t += out[k];
    for (; i < n; i++)
        t += x[i];
    *sink += t;
}

__attribute__((target("avx2,fma"))) void mb_rl_panels_avx2(const float *x, size_t n, float *sink)
{
    const size_t C = MB_RL_PANEL_COLS, R = MB_RL_PANEL_ROWS, panel = C * R;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    size_t p = 0;
    for (; p + panel <= n; p += panel) {
        const float *r = x + p;
        for (size_t i = 0; i < C; i += 8) {
            s0 = _mm256_add_ps(s0, _mm256_load_ps(r + i));
            s1 = _mm256_add_ps(s1, _mm256_load_ps(r + C + i));
            s2 = _mm256_add_ps(s2, _mm256_load_ps(r + 2 * C + i));
            s3 = _mm256_add_ps(s3, _mm256_load_ps(r + 3 * C + i));
            s4 = _mm256_add_ps(s4, _mm256_load_ps(r + 4 * C + i));
            s5 = _mm256_add_ps(s5, _mm256_load_ps(r + 5 * C + i));
            s6 = _mm256_add_ps(s6, _mm256_load_ps(r + 6 * C + i));
            s7 = _mm256_add_ps(s7, _mm256_load_ps(r + 7 * C + i));
        }
    }
    __m256 t = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)),
                             _mm256_add_ps(_mm256_add_ps(s4, s5), _mm256_add_ps(s6, s7)));
    float out[8];
    _mm256_storeu_ps(out, t);
    float sum = 0;
    for (int k = 0; k < 8; k++)
        sum += out[k];
    mb_rl_read_avx2(x + p, n - p, &sum);
    *sink += sum;
}

__attribute__((target("avx2,fma"))) void mb_rl_triad_avx2(float *a, const float *b,
                                                          const float *c, size_t n, float s)
{
    const __m256 vs = _mm256_set1_ps(s);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_store_ps(a + i, _mm256_fmadd_ps(vs, _mm256_load_ps(c + i), _mm256_load_ps(b + i)));
    for (; i < n; i++)
        a[i] = b[i] + s * c[i];
}

/* Scalar: 8 independent chains; the compiler may vectorise it, which is fine for a fallback. */
double mb_rl_fma_scalar(long iters)
{
    float a[8];
    for (int i = 0; i < 8; i++)
        a[i] = (float)i;
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < 8; i++)
            a[i] = a[i] * 0.999999f + 1e-7f;
    volatile float sink = a[0] + a[7];
    (void)sink;
    return (double)iters * 8 * 2;
}

void mb_rl_read_scalar(const float *x, size_t n, float *sink)
{
    float t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        t0 += x[i];
        t1 += x[i + 1];
        t2 += x[i + 2];
        t3 += x[i + 3];
    }
    for (; i < n; i++)
        t0 += x[i];
    *sink += t0 + t1 + t2 + t3;
}

void mb_rl_panels_scalar(const float *x, size_t n, float *sink)
{
    const size_t C = MB_RL_PANEL_COLS, R = MB_RL_PANEL_ROWS, panel = C * R;
    float t[MB_RL_PANEL_ROWS] = {0};
    size_t p = 0;
    for (; p + panel <= n; p += panel)
        for (size_t i = 0; i < C; i++)
            for (size_t j = 0; j < R; j++)
                t[j] += x[p + j * C + i];
    float s = 0;
    for (size_t j = 0; j < R; j++)
        s += t[j];
    mb_rl_read_scalar(x + p, n - p, &s);
    *sink += s;
}

void mb_rl_triad_scalar(float *a, const float *b, const float *c, size_t n, float s)
{
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] + s * c[i];
}
