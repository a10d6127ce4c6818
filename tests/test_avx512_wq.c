/* The avx512 provider's weight-only quantised GEMM (wq=int8|int4, issue 15) against a double
 * product of the same inputs: W = q * scale from mb_quantize of random f32 weights (read back
 * with mb_wq_level, exact in double), A in f32 or bf16.
 * - random values: |C - ref| <= e with e = (K + 3) 2^-24 S, S = |alpha| sum |a q s| + |beta C|
 *   (the f32 accumulation bound: K additions, the scale multiply, alpha and beta, one rounding
 *   each); bf16 C adds its one final rounding: 2^-8 |ref| + (1 + 2^-8) e;
 * - integer weights with power-of-two scales and integer A (every f32 sum exact): f32 C must be
 *   exact and bf16 C the bf16 nearest to it, ties to even, bit for bit.
 * Shapes cover the 12 x 32 tile's edges, the int4 nibble halves (columns 0-15 / 16-31 of a
 * panel), several int4 groups, M = 1 (the GEMV path, 4-panel passes and single panels, split
 * over 2 threads), padded lda / ldc (padding columns of C untouched), beta = 0 over NaN (never
 * read) and beta = 1, alpha != 1, on 1 and 2 threads; a row alone (M = 1) has the bits it
 * has inside a tile. The prepared weight must own no more than
 * its levels and scales (no dequantised copy). Where the CPU has no AVX-512 (or no AVX512_BF16
 * for the bf16 row) the checks are skipped with the probe's reason and weight_prepare_q must
 * refuse with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <omp.h>
#include "check.h"
#include "moebench/bf16.h"
#include "moebench/cpu.h"
#include "moebench/gemm.h"
#include "moebench/mem.h"
#include "moebench/quant.h"

static uint64_t lcg(uint64_t *st)
{
    *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
    return *st >> 33;
}

/* Weights [N, K]: uniform in [-1, 1), or (exact) integers in -qmax..qmax times 2^(n % 3 - 1),
 * each row (int4: each group) holding a +-qmax so mb_quantize's scale is that power of two. */
static float *rand_w(int64_t N, int64_t K, uint64_t seed, int exact, int qmax)
{
    float *W = malloc(sizeof(float) * (size_t)(N * K));
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++) {
            uint64_t r = lcg(&seed);
            float v;
            if (!exact)
                v = (float)(r % 65536) / 32768.0f - 1.0f;
            else if (k % 64 == 0)
                v = (float)(r & 1 ? qmax : -qmax);
            else
                v = (float)((int)(r % (2 * qmax + 1)) - qmax);
            W[n * K + k] = exact ? ldexpf(v, (int)(n % 3) - 1) : v;
        }
    if (N > 3 && !exact)   /* an all-zero row: scale 0, weights exactly 0 */
        memset(W + 3 * K, 0, sizeof(float) * (size_t)K);
    return W;
}

/* n activations stored in dt: uniform in [-2, 2) or integers -4..4, as f32 or bf16. */
static void *rand_a(mb_dtype dt, int64_t n, uint64_t seed, int exact)
{
    void *p = malloc((dt == MB_BF16 ? 2 : 4) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = lcg(&seed);
        float v = exact ? (float)((int)(r % 9) - 4) : (float)(r % 65536) / 16384.0f - 2.0f;
        if (dt == MB_BF16)
            ((uint16_t *)p)[i] = mb_f32_to_bf16(v);
        else
            ((float *)p)[i] = v;
    }
    return p;
}

static double get(mb_dtype dt, const void *p, int64_t i)
{
    return dt == MB_BF16 ? mb_bf16_to_f32(((const uint16_t *)p)[i]) : ((const float *)p)[i];
}

/* One provider call against the double reference; returns the number of wrong elements. */
static int check_shape(mb_dtype dt, mb_dtype wq, int64_t M, int64_t N, int64_t K, float alpha,
                       float beta, int pad, int exact)
{
    const int64_t lda = K + pad, ldc = N + pad, groups = mb_wq_groups(wq, K);
    const size_t esz = dt == MB_BF16 ? 2 : 4;
    float *W = rand_w(N, K, 2 + N * 5 + K, exact, mb_wq_qmax(wq));
    uint8_t *q = calloc((size_t)mb_dtype_bytes(wq, N * K), 1);
    float *scale = malloc(sizeof(float) * (size_t)(N * groups));
    mb_err err;
    CHECK(mb_quantize(wq, W, N, K, q, scale, &err) == MB_OK);
    void *A = rand_a(dt, M * lda, 1 + M * 7 + K, exact);
    void *C = rand_a(dt, M * ldc, 3 + M + N, exact);
    void *C0 = malloc(esz * (size_t)(M * ldc));
    memcpy(C0, C, esz * (size_t)(M * ldc));
    if (beta == 0.0f)   /* never read: NaN bit patterns must not leak */
        for (int64_t i = 0; i < M * ldc; i++) {
            if (dt == MB_BF16)
                ((uint16_t *)C)[i] = i & 1 ? 0x7fc1 : 0xff81;
            else
                ((float *)C)[i] = NAN;
        }
    void *orig = malloc(esz * (size_t)(M * ldc));
    memcpy(orig, C, esz * (size_t)(M * ldc));
    mb_gemm_weight *w = NULL;
    int bad = 0;
    const int64_t mem0 = mb_mem_current();
    mb_status rc = mb_gemm_weight_prepare_q(&mb_gemm_avx512, dt, wq, q, scale, N, K, M, &w, &err);
    CHECK_MSG(rc == MB_OK, "prepare_q: %s", err.msg);
    if (rc == MB_OK) {
        /* the levels of 32-column panels (int4: half a byte each) and their f32 scales, no
         * more: a dequantised copy would be 4 (2) bytes per weight */
        const int64_t npad = (N + 31) / 32 * 32;
        const int64_t lv = wq == MB_I4 ? npad * K / 2 : npad * K;
        const int64_t bytes = mb_gemm_weight_bytes(&mb_gemm_avx512, dt, w);
        CHECK_MSG(bytes >= (wq == MB_I4 ? N * K / 2 : N * K) && bytes <= lv + npad * groups * 4,
                  "weight_bytes %lld (N=%lld K=%lld)", (long long)bytes, (long long)N,
                  (long long)K);
        CHECK_MSG(mb_mem_current() - mem0 <= bytes + 4096, "prepare allocated %lld bytes, "
                  "weight_bytes %lld", (long long)(mb_mem_current() - mem0), (long long)bytes);
        int64_t n2 = 0, k2 = 0;
        mb_gemm_avx512.ops[dt].weight_dims(w, &n2, &k2);
        CHECK(n2 == N && k2 == K);
        rc = mb_gemm(&mb_gemm_avx512, dt, w, M, A, lda, alpha, beta, C, ldc, &err);
        CHECK_MSG(rc == MB_OK, "gemm: %s", err.msg);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < ldc; j++) {
                const int64_t at = i * ldc + j;
                const double got = get(dt, C, at);
                int ok;
                double want = 0, tol = 0;
                if (j >= N) {
                    ok = !memcmp((char *)C + at * esz, (char *)orig + at * esz, esz);
                } else {
                    double acc = 0, mag = 0;
                    for (int64_t k = 0; k < K; k++) {
                        const double wv = (double)mb_wq_level(wq, q, j * K + k) *
                                          scale[j * groups + k / (K / groups)];
                        const double p = get(dt, A, i * lda + k) * wv;
                        acc += p;
                        mag += fabs(p);
                    }
                    const double c = beta == 0.0f ? 0.0 : get(dt, C0, at);
                    want = alpha * acc + beta * c;
                    if (exact) {
                        ok = dt == MB_BF16
                                 ? ((const uint16_t *)C)[at] == mb_f32_to_bf16((float)want)
                                 : got == want;
                    } else {
                        const double e = (double)(K + 3) * 0x1p-24 *
                                         (fabs(alpha) * mag + fabs(beta * c));
                        const double u = dt == MB_BF16 ? 0x1p-8 : 0.0;
                        tol = u * fabs(want) + (1 + u) * e;
                        ok = fabs(got - want) <= tol;
                    }
                }
                if (!ok && bad++ < 3)
                    fprintf(stderr, "  %s %s M=%lld N=%lld K=%lld a=%g b=%g pad=%d exact=%d: "
                            "C[%lld,%lld] = %.9g, want %.9g (tol %g)\n", mb_dtype_name(dt),
                            mb_dtype_name(wq), (long long)M, (long long)N, (long long)K, alpha,
                            beta, pad, exact, (long long)i, (long long)j, got, want, tol);
            }
        mb_gemm_weight_release(&mb_gemm_avx512, dt, w);
        CHECK_MSG(mb_mem_current() == mem0, "release left %lld bytes",
                  (long long)(mb_mem_current() - mem0));
    }
    CHECK_MSG(bad == 0, "%s %s M=%lld N=%lld K=%lld alpha=%g beta=%g exact=%d: %d wrong elements",
              mb_dtype_name(dt), mb_dtype_name(wq), (long long)M, (long long)N, (long long)K,
              alpha, beta, exact, bad);
    free(W); free(q); free(scale); free(A); free(C); free(C0); free(orig);
    return bad;
}

static void test_shapes(mb_dtype dt)
{
    static const int64_t Ms[] = {1, 2, 13, 64, 200}, Ns[] = {1, 15, 16, 17, 33, 100};
    static const int64_t K8[] = {1, 3, 31, 64, 257}, K4[] = {64, 128, 320};
    static const mb_dtype wqs[] = {MB_I8, MB_I4};
    for (int t = 1; t <= 2; t++) {
        omp_set_num_threads(t);
        for (int v = 0; v < 2; v++) {
            const int64_t *Ks = wqs[v] == MB_I8 ? K8 : K4;
            const int nK = wqs[v] == MB_I8 ? 5 : 3;
            /* 1 thread: alpha != 1 over NaN with beta = 0; 2 threads: beta = 1, padded more */
            for (int a = 0; a < 5; a++)
                for (int b = 0; b < 6; b++)
                    for (int c = 0; c < nK; c++) {
                        if (t == 1)
                            check_shape(dt, wqs[v], Ms[a], Ns[b], Ks[c], 1.5f, 0.0f, 3, 0);
                        else
                            check_shape(dt, wqs[v], Ms[a], Ns[b], Ks[c], -0.75f, 1.0f, 5, 0);
                    }
            /* exact sums: f32 exact, bf16 rounded to nearest even bit for bit */
            const int64_t K = wqs[v] == MB_I8 ? 257 : 320;
            check_shape(dt, wqs[v], 1, 100, K, 1.0f, 0.0f, 0, 1);
            check_shape(dt, wqs[v], 13, 33, K, 0.5f, 1.0f, 1, 1);
            check_shape(dt, wqs[v], 200, 17, K, 1.0f, 1.0f, 2, 1);
        }
        /* a GEMV large enough to be split over the threads (N K > 2.5e5): 4-panel passes and
         * single panels in each thread's slice */
        check_shape(dt, MB_I8, 1, 300, 1025, 0.5f, 1.0f, 1, 0);
        check_shape(dt, MB_I4, 1, 300, 1024, 1.0f, 0.0f, 0, 1);
    }
    omp_set_num_threads(1);
}

/* A row computed alone (M == 1: the GEMV's 4-panel passes) has the same bits as inside a
 * tile (M = 13): the same products in the same k order, so a T = 1 row never differs from its
 * T > 1 twin. */
static void test_rows_alone(mb_dtype dt, mb_dtype wq)
{
    const int64_t M = 13, N = 300, K = 320;
    const size_t esz = dt == MB_BF16 ? 2 : 4;
    float *W = rand_w(N, K, 77, 0, mb_wq_qmax(wq));
    uint8_t *q = calloc((size_t)mb_dtype_bytes(wq, N * K), 1);
    float *scale = malloc(sizeof(float) * (size_t)(N * mb_wq_groups(wq, K)));
    mb_err err;
    CHECK(mb_quantize(wq, W, N, K, q, scale, &err) == MB_OK);
    void *A = rand_a(dt, M * K, 78, 0);
    char *C = calloc((size_t)(M * N), esz), *R = calloc((size_t)N, esz);
    mb_gemm_weight *w = NULL;
    CHECK(mb_gemm_weight_prepare_q(&mb_gemm_avx512, dt, wq, q, scale, N, K, M, &w, &err) == MB_OK);
    if (w) {
        CHECK(mb_gemm(&mb_gemm_avx512, dt, w, M, A, K, 0.5f, 0.0f, C, N, &err) == MB_OK);
        for (int64_t i = 0; i < M; i++) {
            CHECK(mb_gemm(&mb_gemm_avx512, dt, w, 1, (const char *)A + i * K * esz, K, 0.5f,
                          0.0f, R, N, &err) == MB_OK);
            CHECK_MSG(!memcmp(R, C + i * N * esz, esz * (size_t)N), "%s %s row %lld alone "
                      "differs", mb_dtype_name(dt), mb_dtype_name(wq), (long long)i);
        }
        mb_gemm_weight_release(&mb_gemm_avx512, dt, w);
    }
    free(W); free(q); free(scale); free(A); free(C); free(R);
}

/* weight_prepare_q where the row cannot run: MB_EUNSUPPORTED with the probe's reason. */
static void test_refusal(mb_dtype dt, const char *why)
{
    uint8_t q[64] = {0};
    float scale[2] = {1.0f, 1.0f};
    mb_gemm_weight *w = (mb_gemm_weight *)&w;
    mb_err err;
    mb_err_clear(&err);
    CHECK(mb_gemm_weight_prepare_q(&mb_gemm_avx512, dt, MB_I8, q, scale, 2, 32, 1, &w, &err) ==
          MB_EUNSUPPORTED);
    CHECK(w == NULL);
    CHECK_MSG(why && strstr(err.msg, why), "%s prepare_q: '%s' lacks '%s'", mb_dtype_name(dt),
              err.msg, why ? why : "(null)");
}

int main(void)
{
    const char *why = NULL, *why_bf = NULL;
    const int has = mb_cpu_has_avx512(&why);
    const int has_bf = has && mb_cpu_has_avx512_bf16(&why_bf);
    if (!has) {
        printf("test_avx512_wq: AVX-512 checks skipped: %s\n", why ? why : "(null)");
        test_refusal(MB_F32, why);
        return mb_test_result("test_avx512_wq");
    }
    /* both rows take quantised weights wherever the provider is compiled */
    CHECK(mb_gemm_wq_unsupported(&mb_gemm_avx512, MB_F32, MB_I8) == NULL);
    CHECK(mb_gemm_wq_unsupported(&mb_gemm_avx512, MB_BF16, MB_I4) == NULL);
    if (mb_cpu_avx512_emulated())
        printf("test_avx512_wq: AVX-512 emulated by SIMDe (values only)\n");
    test_shapes(MB_F32);
    test_rows_alone(MB_F32, MB_I8);
    test_rows_alone(MB_F32, MB_I4);
    if (has_bf) {
        test_shapes(MB_BF16);
        test_rows_alone(MB_BF16, MB_I8);
        test_rows_alone(MB_BF16, MB_I4);
    } else {
        printf("test_avx512_wq: bf16 activations skipped: %s\n", why_bf ? why_bf : "(null)");
        test_refusal(MB_BF16, why_bf);
    }
    /* bad calls are refused, not run */
    mb_err err;
    uint8_t q[8] = {0};
    float s = 1.0f;
    mb_gemm_weight *w = NULL;
    CHECK(mb_gemm_weight_prepare_q(&mb_gemm_avx512, MB_F32, MB_I4, q, &s, 1, 8, 1, &w, &err) ==
          MB_EINVAL);   /* int4 needs whole groups of 64 */
    CHECK(mb_gemm_weight_prepare_q(&mb_gemm_avx512, MB_F32, MB_I8, q, &s, 1, 8, 1, &w, &err) ==
          MB_OK);
    float A[8] = {0}, C[1] = {0};
    CHECK(mb_gemm(&mb_gemm_avx512, MB_F32, w, 1, A, 4, 1.0f, 0.0f, C, 1, &err) == MB_EINVAL);
    mb_gemm_weight_release(&mb_gemm_avx512, MB_F32, w);
    return mb_test_result("test_avx512_wq");
}
