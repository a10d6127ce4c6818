/* mb_gemm_group (moebench/gemm.h): a group of GEMMs where one job owns most rows, cut into row
 * and column tiles (small tilings so tiny shapes are cut both ways, and the default) on 1 and 2
 * threads, for every provider available here, against a double reference: padded lda / ldc,
 * alpha and beta, beta = 0 over NaN garbage, M = 0 and M = 1 jobs, a column count that is no
 * multiple of the tile. The work counters must count the group as the same GEMMs called one by
 * one, and bad calls are refused. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"
#include "moebench/gemm.h"
#include "moebench/work.h"

#define NJ 5

static float val(uint64_t i, uint64_t salt)
{
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ salt;
    x ^= x >> 31; x *= 0xBF58476D1CE4E5B9ull; x ^= x >> 29;
    return (float)((double)(x % 2001) / 1000.0 - 1.0);
}

/* Job j: M[j] rows of A (lda = K + 3) times W_j [N[j], K]^T into C_j (ldc = N + 2). */
static const int64_t Ms[NJ] = {83, 4, 0, 1, 6};
static const int64_t Ns[NJ] = {48, 37, 16, 48, 20};
static const int64_t K = 24;

static void group_case(const mb_gemm_provider *gp, const mb_gemm_tiling *tl, float alpha,
                       float beta, int threads)
{
    float *W[NJ], *A[NJ], *C[NJ];
    double *R[NJ];
    mb_gemm_weight *pw[NJ] = {NULL};
    mb_gemm_job jobs[NJ];
    mb_err err;
    int ok = 1;
    double flops = 0, wbytes = 0;
    int64_t calls = 0;
    for (int j = 0; j < NJ; j++) {
        const int64_t M = Ms[j], N = Ns[j], lda = K + 3, ldc = N + 2, rows = M ? M : 1;
        W[j] = mb_alloc(sizeof(float) * (size_t)(N * K));
        A[j] = mb_alloc(sizeof(float) * (size_t)(rows * lda));
        C[j] = mb_alloc(sizeof(float) * (size_t)(rows * ldc));
        R[j] = mb_alloc(sizeof(double) * (size_t)(rows * ldc));
        for (int64_t i = 0; i < N * K; i++) W[j][i] = val((uint64_t)i, 10 + (uint64_t)j);
        for (int64_t i = 0; i < M * lda; i++) A[j][i] = val((uint64_t)i, 20 + (uint64_t)j);
        for (int64_t i = 0; i < M * ldc; i++) {
            C[j][i] = beta == 0.0f ? NAN : val((uint64_t)i, 30 + (uint64_t)j);
            R[j][i] = C[j][i];
        }
        for (int64_t i = 0; i < M; i++)
            for (int64_t n = 0; n < N; n++) {
                double acc = 0.0;
                for (int64_t p = 0; p < K; p++) acc += (double)A[j][i * lda + p] * W[j][n * K + p];
                R[j][i * ldc + n] = alpha * acc + (beta == 0.0f ? 0.0 : beta * R[j][i * ldc + n]);
            }
        if (mb_gemm_weight_prepare(gp, MB_F32, W[j], N, K, K, M ? M : 1, &pw[j], &err) != MB_OK) {
            CHECK_MSG(0, "%s prepare: %s", gp->name, err.msg);
            ok = 0;
        }
        jobs[j] = (mb_gemm_job){pw[j], M, A[j], lda, alpha, beta, C[j], ldc};
        if (M) {
            flops += 2.0 * (double)(M * N * K);
            wbytes += 4.0 * (double)(N * K);
            calls++;
        }
    }
    if (ok) {
        mb_set_threads(threads);
        mb_work_forward_begin();
        int64_t f0 = mb_work_read(MB_WORK_FLOPS), w0 = mb_work_read(MB_WORK_WEIGHT_BYTES),
                c0 = mb_work_read(MB_WORK_GEMM_CALLS);
        mb_status rc = mb_gemm_group(gp, MB_F32, jobs, NJ, tl, &err);
        CHECK_MSG(rc == MB_OK, "%s group: %s", gp->name, err.msg);
        if (strcmp(gp->name, "naive")) {   /* naive's provider does not count (moebench/work.h) */
            CHECK_MSG((double)(mb_work_read(MB_WORK_FLOPS) - f0) == flops,
                      "%s threads=%d: flops %lld, want %g", gp->name, threads,
                      (long long)(mb_work_read(MB_WORK_FLOPS) - f0), flops);
            CHECK((double)(mb_work_read(MB_WORK_WEIGHT_BYTES) - w0) == wbytes);
            CHECK(mb_work_read(MB_WORK_GEMM_CALLS) - c0 == calls);
        }
        for (int j = 0; j < NJ && rc == MB_OK; j++) {
            const int64_t ldc = Ns[j] + 2;
            double worst = 0.0;
            for (int64_t i = 0; i < Ms[j]; i++)
                for (int64_t n = 0; n < Ns[j]; n++) {
                    double d = fabs(C[j][i * ldc + n] - R[j][i * ldc + n]);
                    if (!(d <= worst)) worst = d;   /* NaN (a tile never written) is the worst */
                }
            CHECK_MSG(worst <= 1e-5 * (double)K, "%s threads=%d tiling %s alpha=%g beta=%g "
                      "job %d (M=%lld N=%lld): max err %g", gp->name, threads,
                      tl ? "small" : "default", alpha, beta, j, (long long)Ms[j],
                      (long long)Ns[j], worst);
            /* the padding columns of C are never written */
            for (int64_t i = 0; i < Ms[j] && beta != 0.0f; i++)
                for (int64_t n = Ns[j]; n < ldc; n++)
                    CHECK(C[j][i * ldc + n] == (float)R[j][i * ldc + n]);
        }
    }
    for (int j = 0; j < NJ; j++) {
        if (pw[j]) mb_gemm_weight_release(gp, MB_F32, pw[j]);
        mb_free(W[j]); mb_free(A[j]); mb_free(C[j]); mb_free(R[j]);
    }
}

static void bad_calls(const mb_gemm_provider *gp)
{
    mb_err err;
    const mb_gemm_tiling zero = {16, 0, 4, 4};
    mb_gemm_job job = {NULL, 3, NULL, 8, 1.0f, 0.0f, NULL, 8};
    CHECK(mb_gemm_group(gp, MB_F32, NULL, 0, &zero, &err) == MB_EINVAL);
    CHECK_MSG(strstr(err.msg, "tiling"), "%s", err.msg);
    CHECK(mb_gemm_group(gp, MB_F32, &job, 1, NULL, &err) == MB_EINVAL);
    CHECK_MSG(strstr(err.msg, "no weight"), "%s", err.msg);
    CHECK(mb_gemm_group(gp, MB_F32, NULL, 0, NULL, &err) == MB_OK);   /* nothing to do */
}

int main(void)
{
    const mb_gemm_provider *gps[] = {&mb_gemm_naive, &mb_gemm_blas, &mb_gemm_onednn};
    /* cut N = 48 into 8-column tiles and 83 rows into 4-row tiles: every boundary case */
    const mb_gemm_tiling small = {16, 8, 4, 4};
    const float ab[][2] = {{1.0f, 0.0f}, {0.5f, 1.0f}, {-2.0f, 0.5f}};
    for (size_t g = 0; g < sizeof gps / sizeof gps[0]; g++) {
        const char *why = gps[g]->unavailable();
        if (why) {
            CHECK_MSG(!strncmp(why, "built without", 13), "%s: %s", gps[g]->name, why);
            continue;
        }
        printf("test_gemm_group: %s %s its groups over the threads\n", gps[g]->name,
               mb_gemm_group_splits(gps[g], MB_F32) ? "splits" : "does not split");
        for (int threads = 1; threads <= 2; threads++)
            for (size_t a = 0; a < sizeof ab / sizeof ab[0]; a++) {
                group_case(gps[g], &small, ab[a][0], ab[a][1], threads);
                group_case(gps[g], NULL, ab[a][0], ab[a][1], threads);
            }
        bad_calls(gps[g]);
    }
    return mb_test_result("test_gemm_group");
}
