/* The avx512 provider in bf16 (vdpbf16ps, issue 15) against a double-precision product of the
 * same bf16 inputs:
 * - random values in [-2, 2]: |C - ref| <= u |ref| + (1 + u) e, u = 2^-8 the unit roundoff of
 *   bf16 (the one final rounding of C) and e = (K + 3) 2^-24 S, S = |alpha| sum |a w| +
 *   |beta C|, the f32 accumulation bound (K products exact in f32, <= K additions, then alpha
 *   and beta: one rounding each);
 * - small integers (every f32 sum exact): C must be the bf16 nearest to the exact result, ties
 *   to even, bit for bit (a truncating or half-up rounding fails here).
 * Shapes cover the 12 x 32 tile's edges, odd K (the zero partner), M = 1 (the GEMV path),
 * padded lda / ldw / ldc (padding columns of C untouched), beta = 0 over NaN (never read) and
 * beta = 1, on 1 and 2 threads. Where the CPU has no AVX512_BF16 the checks are skipped with
 * the probe's reason, and the provider must refuse cleanly with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <omp.h>
#include "check.h"
#include "moebench/cpu.h"
#include "moebench/gemm.h"

static uint16_t to_bf16(float f)   /* round to nearest even; test values are finite */
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static double from_bf16(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint64_t lcg(uint64_t *st)
{
    *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
    return *st >> 33;
}

/* n bf16 values: integers -4..4 (exact) or uniform in [-2, 2) rounded to bf16 */
static uint16_t *rand_bf16(int64_t n, uint64_t seed, int exact)
{
    uint16_t *p = malloc(sizeof(uint16_t) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = lcg(&seed);
        p[i] = to_bf16(exact ? (float)((int)(r % 9) - 4) : (float)(r % 65536) / 16384.0f - 2.0f);
    }
    return p;
}

/* One provider call against the double reference; returns the number of wrong elements. */
static int check_shape(int64_t M, int64_t N, int64_t K, float alpha, float beta, int pad,
                       int exact)
{
    const int64_t lda = K + pad, ldw = K + 2 * pad, ldc = N + pad;
    uint16_t *A = rand_bf16(M * lda, 1 + M * 7 + K, exact);
    uint16_t *W = rand_bf16(N * ldw, 2 + N * 5 + K, exact);
    uint16_t *C = rand_bf16(M * ldc, 3 + M + N, exact);
    uint16_t *C0 = malloc(sizeof(uint16_t) * (size_t)(M * ldc));
    memcpy(C0, C, sizeof(uint16_t) * (size_t)(M * ldc));
    if (beta == 0.0f)   /* never read: NaN bit patterns (quiet and signalling) must not leak */
        for (int64_t i = 0; i < M * ldc; i++)
            C[i] = i & 1 ? 0x7fc1 : 0xff81;
    uint16_t *orig = malloc(sizeof(uint16_t) * (size_t)(M * ldc));
    memcpy(orig, C, sizeof(uint16_t) * (size_t)(M * ldc));
    mb_gemm_weight *w = NULL;
    mb_err err;
    int bad = 0;
    mb_status rc = mb_gemm_weight_prepare(&mb_gemm_avx512, MB_BF16, W, N, K, ldw, M, &w, &err);
    CHECK_MSG(rc == MB_OK, "prepare: %s", err.msg);
    if (rc == MB_OK) {
        /* K pairs per panel of 32 columns, padded: at least N x K bf16 */
        CHECK(mb_gemm_weight_bytes(&mb_gemm_avx512, MB_BF16, w) >= N * K * 2);
        rc = mb_gemm(&mb_gemm_avx512, MB_BF16, w, M, A, lda, alpha, beta, C, ldc, &err);
        CHECK_MSG(rc == MB_OK, "gemm: %s", err.msg);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < ldc; j++) {
                const uint16_t got = C[i * ldc + j];
                int ok;
                double want = 0, tol = 0;
                if (j >= N) {
                    ok = got == orig[i * ldc + j];
                } else {
                    double acc = 0, mag = 0;
                    for (int64_t k = 0; k < K; k++) {
                        double p = from_bf16(A[i * lda + k]) * from_bf16(W[j * ldw + k]);
                        acc += p;
                        mag += fabs(p);
                    }
                    const double c = beta == 0.0f ? 0.0 : from_bf16(C0[i * ldc + j]);
                    want = alpha * acc + beta * c;
                    if (exact) {
                        ok = got == to_bf16((float)want);   /* exact in f32 here */
                    } else {
                        const double u = 0x1p-8, s = fabs(alpha) * mag + fabs(beta * c);
                        const double e = (double)(K + 3) * 0x1p-24 * s;
                        tol = u * fabs(want) + (1 + u) * e;
                        ok = fabs(from_bf16(got) - want) <= tol;
                    }
                }
                if (!ok && bad++ < 3)
                    fprintf(stderr, "  M=%lld N=%lld K=%lld a=%g b=%g pad=%d exact=%d: C[%lld,%lld]"
                            " = %g (0x%04x), want %g (tol %g)\n", (long long)M, (long long)N,
                            (long long)K, alpha, beta, pad, exact, (long long)i, (long long)j,
                            from_bf16(got), got, want, tol);
            }
        mb_gemm_weight_release(&mb_gemm_avx512, MB_BF16, w);
    }
    CHECK_MSG(bad == 0, "M=%lld N=%lld K=%lld alpha=%g beta=%g exact=%d: %d wrong elements",
              (long long)M, (long long)N, (long long)K, alpha, beta, exact, bad);
    free(A); free(W); free(C); free(C0); free(orig);
    return bad;
}

static void test_shapes(void)
{
    static const int64_t Ms[] = {1, 2, 13, 64, 200}, Ns[] = {1, 15, 16, 17, 33, 100};
    static const int64_t Ks[] = {1, 2, 3, 31, 64, 257};
    const int nM = 5, nN = 6, nK = 6;
    /* every shape: 1 thread, alpha != 1 over NaN with beta = 0; 2 threads, beta = 1, padded */
    for (int t = 1; t <= 2; t++) {
        omp_set_num_threads(t);
        for (int a = 0; a < nM; a++)
            for (int b = 0; b < nN; b++)
                for (int c = 0; c < nK; c++) {
                    if (t == 1)
                        check_shape(Ms[a], Ns[b], Ks[c], 1.5f, 0.0f, 3, 0);
                    else
                        check_shape(Ms[a], Ns[b], Ks[c], -0.75f, 1.0f, 5, 0);
                }
    }
    /* rounding to nearest even, bit for bit, on both paths and both thread counts */
    for (int t = 1; t <= 2; t++) {
        omp_set_num_threads(t);
        check_shape(1, 100, 257, 1.0f, 0.0f, 0, 1);
        check_shape(13, 33, 257, 1.0f, 0.0f, 1, 1);
        check_shape(200, 17, 31, 1.0f, 1.0f, 2, 1);
    }
    /* a GEMV large enough to be split over the threads (N K > 2.5e5) */
    omp_set_num_threads(2);
    check_shape(1, 300, 1025, 0.5f, 1.0f, 1, 0);
    check_shape(1, 300, 1025, 1.0f, 0.0f, 0, 1);
    omp_set_num_threads(1);
}

/* The refusals where bf16 cannot run: the probe's reason, from every entry point, no crash. */
static void test_refusal(const char *why)
{
    CHECK_MSG(why && strstr(why, "avx512_bf16"), "reason '%s' names avx512_bf16",
              why ? why : "(null)");
    const char *dw = mb_gemm_avx512.dtype_unavailable
                         ? mb_gemm_avx512.dtype_unavailable(MB_BF16) : NULL;
    CHECK_MSG(dw && why && !strcmp(dw, why), "dtype_unavailable: '%s'", dw ? dw : "(null)");
    uint16_t W[4] = {0x3f80, 0x4000, 0x4040, 0x4080}, A[2] = {0x3f80, 0x3f80}, C[2] = {0, 0};
    mb_gemm_weight *w = (mb_gemm_weight *)&w;
    mb_err err;
    mb_err_clear(&err);
    CHECK(mb_gemm_weight_prepare(&mb_gemm_avx512, MB_BF16, W, 2, 2, 2, 1, &w, &err) ==
          MB_EUNSUPPORTED);
    CHECK(w == NULL);
    CHECK_MSG(why && strstr(err.msg, why), "prepare: '%s'", err.msg);
    mb_err_clear(&err);
    CHECK(mb_gemm(&mb_gemm_avx512, MB_BF16, NULL, 1, A, 2, 1.0f, 0.0f, C, 2, &err) ==
          MB_EUNSUPPORTED);
    CHECK_MSG(why && strstr(err.msg, why), "gemm: '%s'", err.msg);
    CHECK(C[0] == 0 && C[1] == 0);
}

int main(void)
{
    const char *why = NULL;
    const int has = mb_cpu_has_avx512_bf16(&why);
#ifdef MOEBENCH_HAVE_AVX512
    /* the provider registers bf16 wherever it is compiled, and runs it where the CPU can */
    CHECK(mb_gemm_dtypes(&mb_gemm_avx512) == (MB_DTYPE_BIT(MB_F32) | MB_DTYPE_BIT(MB_BF16)));
#endif
    if (!has) {
        printf("test_avx512_bf16: AVX512_BF16 checks skipped: %s\n", why ? why : "(null)");
#ifdef MOEBENCH_HAVE_AVX512   /* else the provider has no bf16 form (test_core_dtype) */
        test_refusal(why);
#endif
        return mb_test_result("test_avx512_bf16");
    }
    CHECK(why == NULL && mb_gemm_avx512.dtype_unavailable(MB_BF16) == NULL);
    if (mb_cpu_avx512_emulated())
        printf("test_avx512_bf16: AVX512_BF16 emulated by SIMDe (values only)\n");
    test_shapes();
    /* a bad call is refused, not run */
    mb_err err;
    CHECK(mb_gemm(&mb_gemm_avx512, MB_BF16, NULL, 1, NULL, 1, 1.0f, 0.0f, NULL, 1, &err) ==
          MB_EINVAL);
    return mb_test_result("test_avx512_bf16");
}
