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
#include "moebench/activation.h"
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
    mb_status rc = mb_gemm_weight_prepare(&mb_gemm_avx512, MB_F32, W, N, K, ldw, M, &w, &err);
    CHECK_MSG(rc == MB_OK, "prepare: %s", err.msg);
    if (rc == MB_OK) {
        rc = mb_gemm(&mb_gemm_avx512, MB_F32, w, M, A, lda, alpha, beta, C, ldc, &err);
        CHECK_MSG(rc == MB_OK, "gemm: %s", err.msg);
        CHECK(mb_gemm_weight_bytes(&mb_gemm_avx512, MB_F32, w) >= N * K * (int64_t)sizeof(float));
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
        mb_gemm_weight_release(&mb_gemm_avx512, MB_F32, w);
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
    CHECK(mb_gemm_weight_prepare(&mb_gemm_avx512, MB_F32, W, N, K, K, M, &w, NULL) == MB_OK);
    if (!w) return;
    int fails = 0;
    #pragma omp parallel for num_threads(2) reduction(+ : fails)
    for (int t = 0; t < 2; t++)
        fails += mb_gemm(&mb_gemm_avx512, MB_F32, w, M, A + t * M * K, K, 1.0f, 0.0f, C + t * M * N, N, NULL) != MB_OK;
    CHECK(fails == 0);
    int bad = 0;
    for (int64_t i = 0; i < 2 * M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++) acc += (double)A[i * K + k] * W[j * K + k];
            bad += C[i * N + j] != (float)acc;
        }
    CHECK(bad == 0);
    mb_gemm_weight_release(&mb_gemm_avx512, MB_F32, w);
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

/* Gated products (the gate/up GEMM of a gated MLP): [Wg; Wu] packed gated, stored either raw in
 * the interleaved layout (panel p at columns 32p: 16 gate then 16 up) or as H = act(G) .* U by
 * the last K block; shapes with nout not a multiple of 16, K over several blocks, a short or long
 * second K segment, beta = 1 reading an interleaved C (mixlora adds its adapters that way),
 * gathered A rows and scattered output rows, M = 1 (GEMV path) and tiles. */
static int check_gated(int64_t M, int64_t nout, int64_t K1, int64_t K2, float beta, mb_act act,
                       int gather)
{
    const int64_t T = M + 3, N = 2 * nout;
    float *X = rand_mat(T * K1, 31 + K1), *Z = rand_mat(T * (K2 ? K2 : 1), 32);
    float *W1 = rand_mat(N * K1, 33 + nout), *W2 = rand_mat(N * (K2 ? K2 : 1), 34);
    float *C0 = rand_mat(T * N, 35);   /* beta = 1: the logical [G | U] added in */
    int32_t *arow = malloc(sizeof(int32_t) * (size_t)M), *crow = malloc(sizeof(int32_t) * (size_t)M);
    for (int64_t i = 0; i < M; i++) {
        arow[i] = gather ? (int32_t)((i * 5 + 2) % T) : (int32_t)i;
        crow[i] = gather ? (int32_t)(T - 1 - i) : (int32_t)i;
    }
    /* exact G | U (small integers): row i of the product, logical column j < N */
    double *V = malloc(sizeof(double) * (size_t)(M * N));
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0;
            for (int64_t k = 0; k < K1; k++) acc += (double)X[arow[i] * K1 + k] * W1[j * K1 + k];
            for (int64_t k = 0; k < K2; k++) acc += (double)Z[arow[i] * K2 + k] * W2[j * K2 + k];
            V[i * N + j] = acc + (beta != 0.0f ? beta * (double)C0[crow[i] * N + j] : 0.0);
        }
    mb_gemm_weight *w = NULL;
    int bad = 0;
    CHECK(mb_avx512_pack_glu(W1, K1, K1, K2 ? W2 : NULL, K2, K2, N, &w, NULL) == MB_OK);
    if (!w) return 1;
    CHECK(w->glu && !w->skinny && w->nout == nout);
    const int64_t ldc = mb_avx512_glu_ldc(w);
    CHECK(ldc >= N && ldc % 32 == 0);
    float *C = malloc(sizeof(float) * (size_t)(T * ldc));
    for (int pass = 0; pass < 2; pass++) {   /* 0: raw interleaved store, 1: gated store */
        for (int64_t i = 0; i < T * ldc; i++) C[i] = nanf("");
        if (beta != 0.0f)   /* C0 in the interleaved layout */
            for (int64_t t = 0; t < T; t++)
                for (int64_t j = 0; j < nout; j++) {
                    C[t * ldc + (j / 16) * 32 + j % 16] = C0[t * N + j];
                    C[t * ldc + (j / 16) * 32 + 16 + j % 16] = C0[t * N + nout + j];
                }
        float *H = malloc(sizeof(float) * (size_t)(T * nout));
        for (int64_t i = 0; i < T * nout; i++) H[i] = -7.0f;
        mb_avx_gemm_args g = {.M = M, .a = {X, K2 ? Z : NULL}, .lda = {K1, K2},
                              .a_rows = gather ? arow : NULL, .alpha = 1.0f, .beta = beta, .c = C,
                              .ldc = ldc, .c_rows = gather ? crow : NULL, .h = pass ? H : NULL,
                              .ldh = nout, .act = act};
        mb_avx512_gemm_run(w, &g);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < nout; j++) {
                double gv = V[i * N + j], uv = V[i * N + nout + j];
                int ok;
                if (!pass) {
                    ok = C[crow[i] * ldc + (j / 16) * 32 + j % 16] == (float)gv &&
                         C[crow[i] * ldc + (j / 16) * 32 + 16 + j % 16] == (float)uv;
                } else {
                    float want = mb_act_applyf(act, (float)gv) * (float)uv, got = H[crow[i] * nout + j];
                    /* SiLU runs a polynomial exp (~2e-7 relative); ReLU and GELU are exact */
                    double tol = act == MB_ACT_SILU ? 1e-6 * fabs(want) + 1e-30 : 0.0;
                    ok = fabs((double)got - want) <= tol;
                }
                if (!ok && bad++ < 3)
                    fprintf(stderr, "  gated M=%lld nout=%lld K=%lld+%lld beta=%g act=%d pass=%d: "
                            "row %lld col %lld wrong\n", (long long)M, (long long)nout,
                            (long long)K1, (long long)K2, beta, (int)act, pass, (long long)i,
                            (long long)j);
            }
        if (pass) {   /* rows no product row maps to are untouched */
            for (int64_t t = 0; t < T; t++) {
                int hit = 0;
                for (int64_t i = 0; i < M; i++) hit |= crow[i] == t;
                for (int64_t j = 0; !hit && j < nout; j++) bad += H[t * nout + j] != -7.0f;
            }
        }
        free(H);
    }
    CHECK_MSG(bad == 0, "gated M=%lld nout=%lld K=%lld+%lld: %d wrong", (long long)M,
              (long long)nout, (long long)K1, (long long)K2, bad);
    mb_avx512_weight_free(w);
    free(X); free(Z); free(W1); free(W2); free(C0); free(C); free(V); free(arow); free(crow);
    return bad;
}

static void test_gated(void)
{
    static const int64_t shapes[][4] = {   /* M, nout, K1, K2 */
        {1, 1, 5, 0},    {1, 37, 300, 0},  {1, 70, 600, 6},  {2, 16, 257, 0},
        {13, 37, 300, 6},{40, 70, 40, 70}, {25, 16, 520, 0}, {160, 33, 300, 2},
    };
    const mb_act acts[3] = {MB_ACT_SILU, MB_ACT_RELU, MB_ACT_GELU};
    for (int th = 1; th <= 2; th++) {
        mb_set_threads(th);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const int64_t *d = shapes[s];
            check_gated(d[0], d[1], d[2], d[3], 0.0f, acts[s % 3], (int)(s % 2));
            check_gated(d[0], d[1], d[2], d[3], 1.0f, acts[(s + 1) % 3], (int)((s + 1) % 2));
        }
    }
    /* an odd stacked height cannot be split into gate and up */
    mb_gemm_weight *w = NULL;
    float W[6] = {0};
    CHECK(mb_avx512_pack_glu(W, 2, 2, NULL, 0, 0, 3, &w, NULL) == MB_EINVAL && w == NULL);
}

/* A product that computes its own adapter (mb_avx_zfuse): Y = X W^T + gate(X D^T)[:, :K2] B^T
 * against the explicit two-step form, with a gate that scales row t by (t % 3 + 1) / 2 and
 * counts its recorded calls: K1 over several blocks, Z appended (n1 <= 64) or in blocks of its
 * own (K2 = 100), n1 > K2 (extra columns like router logits), gathered rows, tiles, tasks
 * split over rows and over N, M = 1, threads 1 and 2. Every row must be gated exactly once
 * with record set. */
typedef struct { int *recorded; } zgate_ctx;

static void zgate_fn(void *ctx, int64_t row, float *z, int record)
{
    zgate_ctx *c = ctx;
    const float s = (float)(row % 3 + 1) * 0.5f;
    for (int j = 0; j < 200; j++) z[j] *= s;   /* n1 of this test: no more than 200 */
    if (record) {
        #pragma omp atomic
        c->recorded[row]++;
    }
}

static void check_zfuse(int64_t M, int64_t N, int64_t K1, int64_t K2, int64_t n1, int gather)
{
    const int64_t T = M + 2;
    float *X = rand_mat(T * K1, 41 + K1), *W = rand_mat(N * K1, 42 + N);
    float *D = rand_mat(n1 * K1, 43 + n1), *B = rand_mat(N * K2, 44);
    int32_t *arow = malloc(sizeof(int32_t) * (size_t)M);
    int *rec = calloc((size_t)M, sizeof(int));
    for (int64_t i = 0; i < M; i++) arow[i] = gather ? (int32_t)((i * 7 + 1) % T) : (int32_t)i;
    float *Y = malloc(sizeof(float) * (size_t)(M * N)), *ref = malloc(sizeof(float) * (size_t)(M * N));
    for (int64_t i = 0; i < M; i++) {
        double z[200];
        for (int64_t j = 0; j < n1; j++) {
            double acc = 0;
            for (int64_t k = 0; k < K1; k++) acc += (double)X[arow[i] * K1 + k] * D[j * K1 + k];
            z[j] = acc * (double)((i % 3 + 1) * 0.5);
        }
        for (int64_t j = 0; j < N; j++) {
            double acc = 0;
            for (int64_t k = 0; k < K1; k++) acc += (double)X[arow[i] * K1 + k] * W[j * K1 + k];
            for (int64_t k = 0; k < K2; k++) acc += z[k] * B[j * K2 + k];
            ref[i * N + j] = (float)acc;
        }
    }
    mb_gemm_weight *w = NULL, *d = NULL;
    CHECK(mb_avx512_pack(W, K1, K1, B, K2, K2, N, &w, NULL) == MB_OK);
    CHECK(mb_avx512_pack_down(D, K1, K1, n1, &d, NULL) == MB_OK);
    if (!w || !d) return;
    CHECK(!d->skinny);
    zgate_ctx ctx = {rec};
    mb_avx_zfuse zf = {.down = d, .n1 = n1, .gate = zgate_fn, .ctx = &ctx};
    for (int64_t i = 0; i < M * N; i++) Y[i] = nanf("");
    mb_avx_gemm_args g = {.M = M, .a = {X, NULL}, .lda = {K1, 0}, .a_rows = gather ? arow : NULL,
                          .alpha = 1.0f, .beta = 0.0f, .c = Y, .ldc = N, .zf = &zf};
    mb_avx512_gemm_run(w, &g);
    int bad = 0, badrec = 0;
    for (int64_t i = 0; i < M * N; i++) bad += Y[i] != ref[i];   /* small integers: exact */
    for (int64_t i = 0; i < M; i++) badrec += rec[i] != 1;
    CHECK_MSG(bad == 0, "zfuse M=%lld N=%lld K=%lld+%lld n1=%lld: %d wrong", (long long)M,
              (long long)N, (long long)K1, (long long)K2, (long long)n1, bad);
    CHECK_MSG(badrec == 0, "zfuse M=%lld: %d rows not gated-and-recorded exactly once",
              (long long)M, badrec);
    mb_avx512_weight_free(w);
    mb_avx512_weight_free(d);
    free(X); free(W); free(D); free(B); free(arow); free(rec); free(Y); free(ref);
}

static void test_zfuse(void)
{
    static const int64_t shapes[][4] = {   /* M, N, K1, K2 (n1 = K2 + 3) */
        {1, 70, 300, 16}, {1, 40, 600, 100}, {13, 70, 300, 16}, {5, 33, 40, 5},
        {40, 1100, 520, 16}, {160, 200, 300, 100}, {300, 64, 260, 61},
    };
    for (int th = 1; th <= 2; th++) {
        mb_set_threads(th);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const int64_t *d = shapes[s];
            check_zfuse(d[0], d[1], d[2], d[3], d[3] + 3, (int)(s % 2));
        }
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
    CHECK(mb_gemm_weight_prepare(&mb_gemm_avx512, MB_F32, W, N, K, K, M, &w, NULL) == MB_OK);
    if (w) {
        CHECK(mb_gemm(&mb_gemm_avx512, MB_F32, w, M, A, K, 1.0f, 0.0f, C, N, NULL) == MB_OK);
        int bad = 0;
        for (int64_t i = 0; i < M; i++) {
            CHECK(mb_gemm(&mb_gemm_avx512, MB_F32, w, 1, A + i * K, K, 1.0f, 0.0f, c1, N, NULL) == MB_OK);
            bad += memcmp(c1, C + i * N, sizeof(float) * (size_t)N) != 0;
        }
        CHECK_MSG(bad == 0, "N=%lld: %d rows differ between the GEMV and GEMM paths", (long long)N, bad);
        mb_gemm_weight_release(&mb_gemm_avx512, MB_F32, w);
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
    CHECK(mb_gemm_weight_prepare(&mb_gemm_avx512, MB_F32, W, 2, 2, 2, 1, &w, &err) == MB_EUNSUPPORTED);
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
    test_gated();
    test_zfuse();
#endif
    return mb_test_result("test_avx512_gemm");
}
