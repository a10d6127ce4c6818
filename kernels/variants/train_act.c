/* The elementwise passes of the gated MLPs (H = act(G) .* U and its backward), vectorised with
 * glibc's vector math library (libmvec: expf / erff on 4 or 8 lanes) when the build found it
 * (MOEBENCH_HAVE_MVEC). Why: one scalar expf per element was half of mixlora's elementwise time
 * (2 T k f calls forward and again backward), more than its routing and gathers together.
 * Two copies of each loop: an AVX2+FMA one (8 lanes) chosen at run time when the CPU has it,
 * and the baseline x86-64 one (4 lanes); elsewhere plain loops. */
#include "variants_train.h"

#if defined(MOEBENCH_HAVE_MVEC) && defined(__GNUC__) && !defined(__clang__) && \
    defined(__x86_64__)
/* libmvec's vector variants of these (glibc declares them so only under -ffast-math) */
#pragma omp declare simd notinbranch
extern float expf(float);
#pragma omp declare simd notinbranch
extern float erff(float);
#define MB_SIMD _Pragma("omp simd")
#define MB_SIMD_ACC _Pragma("omp simd reduction(+:acc)")
#define MB_TWO_COPIES 1
#else
#define MB_SIMD
#define MB_SIMD_ACC
#define MB_TWO_COPIES 0
#endif

#define MB_INLINE static inline __attribute__((always_inline))

/* act(x) (and act'(x)) without branches on x, so the loops vectorise; one exp (SiLU) or one
 * erf and one exp (GELU) per element. */
MB_INLINE float silu_sg(float x) { return 1.0f / (1.0f + expf(-x)); }
MB_INLINE float gelu_cdf(float x) { return 0.5f * (1.0f + erff(x * (float)M_SQRT1_2)); }
MB_INLINE float gelu_pdf_x(float x) { return x * expf(-0.5f * x * x) * 0.3989422804014327f; }

MB_INLINE void fwd_body(mb_act a, const float *G, const float *U, int64_t n, float *H)
{
    switch (a) {
    case MB_ACT_GELU:
        MB_SIMD for (int64_t i = 0; i < n; i++) H[i] = G[i] * gelu_cdf(G[i]) * U[i];
        break;
    case MB_ACT_RELU:
        MB_SIMD for (int64_t i = 0; i < n; i++) H[i] = (G[i] > 0.0f ? G[i] : 0.0f) * U[i];
        break;
    case MB_ACT_SILU:
    default:
        MB_SIMD for (int64_t i = 0; i < n; i++) H[i] = G[i] * silu_sg(G[i]) * U[i];
        break;
    }
}

MB_INLINE void bwd_body(mb_act a, const float *G, const float *U, const float *dH, int64_t n,
                        float *dG, float *dU)
{
    switch (a) {
    case MB_ACT_GELU:
        MB_SIMD for (int64_t i = 0; i < n; i++) {
            const float c = gelu_cdf(G[i]);
            dG[i] = dH[i] * U[i] * (c + gelu_pdf_x(G[i]));
            dU[i] = dH[i] * G[i] * c;
        }
        break;
    case MB_ACT_RELU:
        MB_SIMD for (int64_t i = 0; i < n; i++) {
            const float m = G[i] > 0.0f ? 1.0f : 0.0f;
            dG[i] = dH[i] * U[i] * m;
            dU[i] = dH[i] * G[i] * m;
        }
        break;
    case MB_ACT_SILU:
    default:
        MB_SIMD for (int64_t i = 0; i < n; i++) {
            const float x = G[i], sg = silu_sg(x);
            dG[i] = dH[i] * U[i] * sg * (1.0f + x * (1.0f - sg));
            dU[i] = dH[i] * x * sg;
        }
        break;
    }
}

/* the row of mb_vglu_backward_row: H = act(G) U, dh = w D + L, dG, dU; returns <D, H> */
MB_INLINE double row_body(mb_act a, const float *G, const float *U, const float *D, float w,
                          const float *L, int64_t n, float *H, float *dG, float *dU)
{
    double acc = 0.0;
    switch (a) {
    case MB_ACT_GELU:
        MB_SIMD_ACC for (int64_t i = 0; i < n; i++) {
            const float c = gelu_cdf(G[i]), av = G[i] * c, hv = av * U[i];
            const float dh = w * D[i] + L[i];
            H[i] = hv;
            acc += (double)D[i] * hv;
            dG[i] = dh * U[i] * (c + gelu_pdf_x(G[i]));
            dU[i] = dh * av;
        }
        break;
    case MB_ACT_RELU:
        MB_SIMD_ACC for (int64_t i = 0; i < n; i++) {
            const float m = G[i] > 0.0f ? 1.0f : 0.0f, av = G[i] * m, hv = av * U[i];
            const float dh = w * D[i] + L[i];
            H[i] = hv;
            acc += (double)D[i] * hv;
            dG[i] = dh * U[i] * m;
            dU[i] = dh * av;
        }
        break;
    case MB_ACT_SILU:
    default:
        MB_SIMD_ACC for (int64_t i = 0; i < n; i++) {
            const float x = G[i], sg = silu_sg(x), av = x * sg, hv = av * U[i];
            const float dh = w * D[i] + L[i];
            H[i] = hv;
            acc += (double)D[i] * hv;
            dG[i] = dh * U[i] * sg * (1.0f + x * (1.0f - sg));
            dU[i] = dh * av;
        }
        break;
    }
    return acc;
}

#if MB_TWO_COPIES
__attribute__((target("avx2,fma"))) static void fwd_avx2(mb_act a, const float *G,
                                                          const float *U, int64_t n, float *H)
{
    fwd_body(a, G, U, n, H);
}
__attribute__((target("avx2,fma"))) static void bwd_avx2(mb_act a, const float *G,
                                                          const float *U, const float *dH,
                                                          int64_t n, float *dG, float *dU)
{
    bwd_body(a, G, U, dH, n, dG, dU);
}
__attribute__((target("avx2,fma"))) static double row_avx2(mb_act a, const float *G,
                                                            const float *U, const float *D,
                                                            float w, const float *L, int64_t n,
                                                            float *H, float *dG, float *dU)
{
    return row_body(a, G, U, D, w, L, n, H, dG, dU);
}
static int has_avx2(void)
{
    /* reads a word libgcc filled at start-up: cheap, and no shared cache to race on */
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#define USE_AVX2 has_avx2()
#else
#define USE_AVX2 0
#define fwd_avx2 fwd_body
#define bwd_avx2 bwd_body
#define row_avx2 row_body
#endif

/* Blocks of the whole-tensor passes, so they also split over threads. */
#define MB_ACT_BLOCK 8192

void mb_vglu_fwd(mb_act a, const float *G, const float *U, int64_t n, float *H)
{
    const int v = USE_AVX2;
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t b = 0; b < n; b += MB_ACT_BLOCK) {
        const int64_t m = n - b < MB_ACT_BLOCK ? n - b : MB_ACT_BLOCK;
        if (v) fwd_avx2(a, G + b, U + b, m, H + b);
        else fwd_body(a, G + b, U + b, m, H + b);
    }
}

void mb_vglu_backward(mb_act a, const float *G, const float *U, const float *dH, int64_t n,
                      float *dG, float *dU)
{
    const int v = USE_AVX2;
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t b = 0; b < n; b += MB_ACT_BLOCK) {
        const int64_t m = n - b < MB_ACT_BLOCK ? n - b : MB_ACT_BLOCK;
        if (v) bwd_avx2(a, G + b, U + b, dH + b, m, dG + b, dU + b);
        else bwd_body(a, G + b, U + b, dH + b, m, dG + b, dU + b);
    }
}

double mb_vglu_backward_row(mb_act a, const float *G, const float *U, const float *D, float w,
                            const float *L, int64_t n, float *H, float *dG, float *dU)
{
    return USE_AVX2 ? row_avx2(a, G, U, D, w, L, n, H, dG, dU)
                    : row_body(a, G, U, D, w, L, n, H, dG, dU);
}
