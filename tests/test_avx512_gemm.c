/* The AVX-512 GEMM provider against a plain double-accumulating loop, on shapes that hit every
 * edge of the blocking (M, N, K not multiples of the 12 x 32 tile or the 256 K block, M = 1 GEMV,
 * K = 1, more rows than one thread task), on 1 and 2 threads, with alpha/beta and padded leading
 * dimensions. Inputs are small integers so every fp32 product and sum is exact and the check can
 * demand equality (benchdnn's trick): any packing or edge bug shows up as a wrong value.
 * Also the internal gather / scatter / row-scale / two-segment forms the fused kernels use.
 * Everything that executes AVX-512 is skipped (and says so) where the probe refuses it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <omp.h>
#include "check.h"
#include "moebench/moebench.h"
#include "moebench/cpu.h"
#include "moebench/gemm.h"
#ifdef MOEBENCH_HAVE_AVX512
#include "../kernels/gemm/gemm_avx512_internal.h"
#endif

static float ival(uint64_t *st)
{
    *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((int)((*st >> 33) % 9) - 4);   /* -4 .. 4 */
}

static float *rand_mat(int64_t n, uint64_t seed)
{
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++)
        p[i] = ival(&seed);
    return p;
}

/* One provider call vs the double loop; returns the number of wrong elements. */
static int check_shape(int64_t M, int64_t N, int64_t K, float alpha, float beta, int pad)
{
    const int64_t lda = K + pad, ldw = K + 2 * pad, ldc = N + pad;
    float *A = rand_mat(M * lda, 1 + M * 7 + K), *W = rand_mat(N * ldw, 2 + N * 5 + K);
    float *C = rand_mat(M * ldc, 3 + M + N), *ref = malloc(sizeof(float) * (size_t)(M * ldc));
    float *orig = malloc(sizeof(float) * (size_t)(M * ldc));
    memcpy(ref, C, sizeof(float) * (size_t)(M * ldc));
    if (beta == 0.0f)   /* beta = 0 must not read C: poison it */
        for (int64_t i = 0; i < M * ldc; i++)
            C[i] = nanf("");
    memcpy(orig, C, sizeof(float) * (size_t)(M * ldc));
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)A[i * lda + k] * W[j * ldw + k];
            ref[i * ldc + j] = (float)(beta * (beta == 0.0f ? 0.0 : ref[i * ldc + j]) + alpha * acc);
        }
    mb_gemm_weight *w = NULL;
    mb_err err;
    int bad = 0;
    mb_status rc = mb_gemm_avx512.weight_prepare(W, N, K, ldw, M, &w, &err);
    CHECK_MSG(rc == MB_OK, "prepare: %s", err.msg);
    if (rc == MB_OK) {
        rc = mb_gemm_avx512.gemm(w, M, A, lda, alpha, beta, C, ldc, &err);
        CHECK_MSG(rc == MB_OK, "gemm: %s", err.msg);
        CHECK(mb_gemm_avx512.weight_bytes(w) >= N * K * (int64_t)sizeof(float));
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < ldc; j++) {
                /* inside N: the exact value; in the ldc padding: untouched bits */
                int ok = j < N ? C[i * ldc + j] == ref[i * ldc + j]
                               : memcmp(&C[i * ldc + j], &orig[i * ldc + j], sizeof(float)) == 0;
                if (!ok && bad++ < 3)
                    fprintf(stderr, "  M=%lld N=%lld K=%lld a=%g b=%g pad=%d: C[%lld,%lld] = %g, want %g\n",
                            (long long)M, (long long)N, (long long)K, alpha, beta, pad,
                            (long long)i, (long long)j, C[i * ldc + j], ref[i * ldc + j]);
            }
        mb_gemm_avx512.weight_release(w);
    }
    CHECK_MSG(bad == 0, "M=%lld N=%lld K=%lld: %d wrong elements", (long long)M, (long long)N,
              (long long)K, bad);
    free(A); free(W); free(C); free(ref); free(orig);
    return bad;
}

static void test_shapes(void)
{
    static const int64_t shapes[][3] = {
        {1, 1, 1},     {1, 17, 3},    {1, 32, 256},  {1, 33, 257},  {1, 600, 600}, {1, 16, 700},
        {2, 1, 1},     {2, 31, 1},    {5, 15, 16},   {12, 32, 256}, {13, 33, 257}, {11, 64, 512},
        {25, 100, 600},{24, 16, 300}, {3, 513, 40},  {150, 600, 70},{200, 40, 300},{37, 1100, 9},
        {1, 8, 4100},  {7, 9, 33},    {31, 16, 17},  {4, 12, 1},
    };
    for (int th = 1; th <= 2; th++) {
        mb_set_threads(th);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const int64_t *d = shapes[s];
            check_shape(d[0], d[1], d[2], 1.0f, 0.0f, 0);
            check_shape(d[0], d[1], d[2], 0.5f, 2.0f, 3);
        }
    }
    mb_set_threads(2);
    check_shape(160, 1100, 300, -1.0f, 1.0f, 1);   /* many tasks, threaded, both splits */
}

/* Several threads sharing one prepared weight (the experts of a MoE run in parallel regions). */
static void test_concurrent(void)
{
    const int64_t M = 7, N = 45, K = 33;
    float *A = rand_mat(2 * M * K, 11), *W = rand_mat(N * K, 12);
    float *C = calloc((size_t)(2 * M * N), sizeof(float));
    mb_gemm_weight *w = NULL;
    CHECK(mb_gemm_avx512.weight_prepare(W, N, K, K, M, &w, NULL) == MB_OK);
    if (!w) return;
    int fails = 0;
    #pragma omp parallel for num_threads(2) reduction(+ : fails)
    for (int t = 0; t < 2; t++)
        fails += mb_gemm_avx512.gemm(w, M, A + t * M * K, K, 1.0f, 0.0f, C + t * M * N, N, NULL) != MB_OK;
    CHECK(fails == 0);
    int bad = 0;
    for (int64_t i = 0; i < 2 * M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++) acc += (double)A[i * K + k] * W[j * K + k];
            bad += C[i * N + j] != (float)acc;
        }
    CHECK(bad == 0);
    mb_gemm_avx512.weight_release(w);
    free(A); free(W); free(C);
}

#ifdef MOEBENCH_HAVE_AVX512
/* Gather rows, scatter with per-row weights into C (beta 1), and a [A1 | A2] x [W1 | W2]^T
 * concatenated K: exactly what the fused LoRA and expert kernels rely on. */
static void test_internal_forms(void)
{
    /* N = 70: panel kernel with two K segments, the second short (appended to the first
     * segment's last K block) or long (blocks of its own); N = 9: the skinny dot-product
     * kernel (one segment only, as the packer allows) */
    for (int variant = 0; variant < 6; variant++) {
        const int M = variant % 2 ? 14 : 1;
        const int64_t T = 20, N = variant < 4 ? 70 : 9, K1 = 300;
        const int64_t K2 = variant < 2 ? 5 : variant < 4 ? 70 : 0;
        float *X = rand_mat(T * K1, 21), *Z = rand_mat(T * 70, 22);
        float *W1 = rand_mat(N * K1, 23), *W2 = rand_mat(N * 70, 24);
        float *C = rand_mat(T * N, 25), *ref = malloc(sizeof(float) * (size_t)(T * N));
        memcpy(ref, C, sizeof(float) * (size_t)(T * N));
        int32_t arow[14], crow[14];
        float scale[14];
        for (int i = 0; i < M; i++) {
            arow[i] = (i * 7 + 3) % (int)T;
            crow[i] = 19 - i;   /* distinct, as routed tokens are */
            scale[i] = (float)(i % 3) - 1.5f;
        }
        for (int i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double acc = 0;
                for (int64_t k = 0; k < K1; k++) acc += (double)X[arow[i] * K1 + k] * W1[j * K1 + k];
                for (int64_t k = 0; k < K2; k++) acc += (double)Z[arow[i] * K2 + k] * W2[j * K2 + k];
                ref[crow[i] * N + j] += (float)(2.0 * scale[i] * acc);
            }
        mb_gemm_weight *w = NULL;
        CHECK(mb_avx512_pack(W1, K1, K1, K2 ? W2 : NULL, K2, K2, N, &w, NULL) == MB_OK);
        if (!w) return;
        CHECK(w->skinny == (N <= MB_AVX_SKINNY_N));
        mb_avx_gemm_args g = {.M = M, .a = {X, K2 ? Z : NULL}, .lda = {K1, K2}, .a_rows = arow,
                              .alpha = 2.0f, .beta = 1.0f, .c = C, .ldc = N, .c_rows = crow,
                              .row_scale = scale};
        mb_avx512_gemm_run(w, &g);
        int bad = 0;
        for (int64_t i = 0; i < T * N; i++) bad += C[i] != ref[i];
        CHECK_MSG(bad == 0, "gather/scatter/segments M=%d N=%lld K2=%lld: %d wrong", M,
                  (long long)N, (long long)K2, bad);
        mb_avx512_weight_free(w);
        free(X); free(Z); free(W1); free(W2); free(C); free(ref);
    }
}
#endif

/* A row computed alone (GEMV path) has the same bits as inside a tile (GEMM path): the fused
 * router relies on it to match the shared routing exactly, whatever its block split. */
static void test_gemv_matches_tiles(int64_t N)
{
    const int64_t M = 13, K = 700;   /* N = 200: 7 panels, the 4-panel group and 3 singles */
    uint64_t st = 99;
    float *A = malloc(sizeof(float) * (size_t)(M * K)), *W = malloc(sizeof(float) * (size_t)(N * K));
    float *C = malloc(sizeof(float) * (size_t)(M * N)), *c1 = malloc(sizeof(float) * (size_t)N);
    for (int64_t i = 0; i < M * K; i++) { st = st * 6364136223846793005ULL + 1; A[i] = (float)((st >> 40) % 1000) / 997.0f - 0.5f; }
    for (int64_t i = 0; i < N * K; i++) { st = st * 6364136223846793005ULL + 1; W[i] = (float)((st >> 40) % 1000) / 991.0f - 0.5f; }
    mb_gemm_weight *w = NULL;
    CHECK(mb_gemm_avx512.weight_prepare(W, N, K, K, M, &w, NULL) == MB_OK);
    if (w) {
        CHECK(mb_gemm_avx512.gemm(w, M, A, K, 1.0f, 0.0f, C, N, NULL) == MB_OK);
        int bad = 0;
        for (int64_t i = 0; i < M; i++) {
            CHECK(mb_gemm_avx512.gemm(w, 1, A + i * K, K, 1.0f, 0.0f, c1, N, NULL) == MB_OK);
            bad += memcmp(c1, C + i * N, sizeof(float) * (size_t)N) != 0;
        }
        CHECK_MSG(bad == 0, "N=%lld: %d rows differ between the GEMV and GEMM paths", (long long)N, bad);
        mb_gemm_avx512.weight_release(w);
    }
    free(A); free(W); free(C); free(c1);
}

/* Forcing the probe off must make the provider refuse with that reason, and undo cleanly. */
static void test_forced_off(void)
{
    const char *why0 = NULL, *why = NULL;
    int has0 = mb_cpu_has_avx512(&why0);
    CHECK(has0 ? why0 == NULL : why0 != NULL);
    mb_cpu_force_no_avx512(1);
    CHECK(mb_cpu_has_avx512(&why) == 0);
    CHECK(why && strcmp(why, "forced off") == 0);
    const char *pw = mb_gemm_avx512.unavailable();
    CHECK(pw && strstr(pw, "forced off"));
    float W[4] = {1, 2, 3, 4};
    mb_gemm_weight *w = (mb_gemm_weight *)1;
    mb_err err;
    CHECK(mb_gemm_avx512.weight_prepare(W, 2, 2, 2, 1, &w, &err) == MB_EUNSUPPORTED);
    CHECK(w == NULL);
    CHECK(strstr(err.msg, "forced off") != NULL);
    mb_cpu_force_no_avx512(0);
    CHECK(mb_cpu_has_avx512(&why) == has0);
    CHECK((mb_gemm_avx512.unavailable() == NULL) == (has0 != 0));
}

int main(void)
{
    test_forced_off();
    const char *why = NULL;
    if (!mb_cpu_has_avx512(&why)) {
        printf("test_avx512_gemm: AVX-512 checks skipped: %s\n", why);
        CHECK(mb_gemm_avx512.unavailable() != NULL);
        return mb_test_result("test_avx512_gemm");
    }
    test_shapes();
    test_concurrent();
    test_gemv_matches_tiles(200);
    test_gemv_matches_tiles(8);   /* skinny kernel */
#ifdef MOEBENCH_HAVE_AVX512
    test_internal_forms();
#endif
    return mb_test_result("test_avx512_gemm");
}
