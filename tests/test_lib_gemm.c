/* The GEMM provider contract (moebench/gemm.h) for naive, blas and onednn against a double
 * reference: M = 1 (GEMV path), M different from the prepared m_hint (oneDNN runtime-M
 * primitive), padded lda / ldc / ldw, alpha != 1, beta in {0, 1, 0.5}, beta = 0 ignoring NaN
 * garbage in C, and M = 0. The training entry points (gemm_nn on the same prepared weight,
 * gemm_plain in all four transposes) of every provider available here, avx512 included. */
#include <math.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"
#include "moebench/gemm.h"

static float val(uint64_t i, uint64_t salt)
{
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ salt;
    x ^= x >> 31; x *= 0xBF58476D1CE4E5B9ull; x ^= x >> 29;
    return (float)((double)(x % 2001) / 1000.0 - 1.0);
}

static void run(const mb_gemm_provider *gp, int64_t M, int64_t N, int64_t K, int64_t m_hint,
                int64_t pad, float alpha, float beta)
{
    const int64_t ldw = K + pad, lda = K + pad, ldc = N + pad;
    float *W = mb_alloc(sizeof(float) * (size_t)(N * ldw));
    float *A = mb_alloc(sizeof(float) * (size_t)((M ? M : 1) * lda));
    float *C = mb_alloc(sizeof(float) * (size_t)((M ? M : 1) * ldc));
    double *R = mb_alloc(sizeof(double) * (size_t)((M ? M : 1) * ldc));
    for (int64_t i = 0; i < N * ldw; i++) W[i] = val((uint64_t)i, 1);
    for (int64_t i = 0; i < M * lda; i++) A[i] = val((uint64_t)i, 2);
    for (int64_t i = 0; i < M * ldc; i++) {
        C[i] = beta == 0.0f ? NAN : val((uint64_t)i, 3);
        R[i] = C[i];
    }
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0.0;
            for (int64_t p = 0; p < K; p++) acc += (double)A[i * lda + p] * W[j * ldw + p];
            R[i * ldc + j] = alpha * acc + (beta == 0.0f ? 0.0 : beta * R[i * ldc + j]);
        }
    mb_err err;
    mb_err_clear(&err);
    mb_gemm_weight *pw = NULL;
    mb_status rc = mb_gemm_weight_prepare(gp, MB_F32, W, N, K, ldw, m_hint, &pw, &err);
    CHECK_MSG(rc == MB_OK, "%s prepare N=%lld K=%lld: %s", gp->name, (long long)N, (long long)K,
              err.msg);
    if (rc == MB_OK) {
        CHECK(mb_gemm_weight_bytes(gp, MB_F32, pw) >= 0);
        rc = mb_gemm(gp, MB_F32, pw, M, A, lda, alpha, beta, C, ldc, &err);
        CHECK_MSG(rc == MB_OK, "%s gemm: %s", gp->name, err.msg);
        double worst = 0.0;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double d = fabs(C[i * ldc + j] - R[i * ldc + j]);
                if (!(d <= worst)) worst = d;   /* NaN counts as the worst */
            }
        /* |A|,|W| <= 1: fp32 summation error bound ~ K * 2^-24 * K, generous margin */
        CHECK_MSG(worst <= 1e-5 * (double)K, "%s M=%lld N=%lld K=%lld hint=%lld pad=%lld "
                  "alpha=%g beta=%g: max err %g", gp->name, (long long)M, (long long)N,
                  (long long)K, (long long)m_hint, (long long)pad, alpha, beta, worst);
        /* padding columns of C are never written */
        for (int64_t i = 0; i < M && pad; i++)
            for (int64_t j = N; j < ldc; j++)
                if (beta != 0.0f) CHECK(C[i * ldc + j] == (float)R[i * ldc + j]);
        mb_gemm_weight_release(gp, MB_F32, pw);
    }
    mb_free(W); mb_free(A); mb_free(C); mb_free(R);
}

/* One prepared weight called with many row counts: fills oneDNN's per-shape primitive cache and
 * then goes past it (runtime-M fallback); every result must stay right. */
static void many_m(const mb_gemm_provider *gp)
{
    const int64_t N = 24, K = 40, Mmax = 70;
    float *W = mb_alloc(sizeof(float) * (size_t)(N * K));
    float *A = mb_alloc(sizeof(float) * (size_t)(Mmax * K));
    float *C = mb_alloc(sizeof(float) * (size_t)(Mmax * N));
    for (int64_t i = 0; i < N * K; i++) W[i] = val((uint64_t)i, 5);
    for (int64_t i = 0; i < Mmax * K; i++) A[i] = val((uint64_t)i, 6);
    mb_err err;
    mb_gemm_weight *pw = NULL;
    CHECK(mb_gemm_weight_prepare(gp, MB_F32, W, N, K, K, 16, &pw, &err) == MB_OK);
    double worst = 0.0;
    for (int64_t M = 1; pw && M <= Mmax; M++) {
        CHECK(mb_gemm(gp, MB_F32, pw, M, A, K, 1.0f, 0.0f, C, N, &err) == MB_OK);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double acc = 0.0;
                for (int64_t p = 0; p < K; p++) acc += (double)A[i * K + p] * W[j * K + p];
                double d = fabs(C[i * N + j] - acc);
                if (!(d <= worst)) worst = d;
            }
    }
    CHECK_MSG(worst <= 1e-5 * (double)K, "%s many M: max err %g", gp->name, worst);
    if (pw) mb_gemm_weight_release(gp, MB_F32, pw);
    mb_free(W); mb_free(A); mb_free(C);
}

static double worst_of(const float *C, const double *R, int64_t M, int64_t N, int64_t ldc)
{
    double worst = 0.0;
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double d = fabs(C[i * ldc + j] - R[i * ldc + j]);
            if (!(d <= worst)) worst = d;   /* NaN counts as the worst */
        }
    return worst;
}

/* dX = dY W on the weight prepared for the forward (after weight_train), C [M, K] (ldc). */
static void run_nn(const mb_gemm_provider *gp, int64_t M, int64_t N, int64_t K, int64_t pad,
                   float beta)
{
    const int64_t ldw = K + pad, lda = N + pad, ldc = K + pad, Mr = M ? M : 1;
    float *W = mb_alloc(sizeof(float) * (size_t)(N * ldw));
    float *A = mb_alloc(sizeof(float) * (size_t)(Mr * lda));
    float *C = mb_alloc(sizeof(float) * (size_t)(Mr * ldc));
    double *R = mb_alloc(sizeof(double) * (size_t)(Mr * ldc));
    for (int64_t i = 0; i < N * ldw; i++) W[i] = val((uint64_t)i, 7);
    for (int64_t i = 0; i < M * lda; i++) A[i] = val((uint64_t)i, 8);
    for (int64_t i = 0; i < M * ldc; i++) R[i] = C[i] = beta == 0.0f ? NAN : val((uint64_t)i, 9);
    for (int64_t i = 0; i < M; i++)
        for (int64_t p = 0; p < K; p++) {
            double acc = 0.0;
            for (int64_t j = 0; j < N; j++) acc += (double)A[i * lda + j] * W[j * ldw + p];
            R[i * ldc + p] = acc + (beta == 0.0f ? 0.0 : beta * R[i * ldc + p]);
        }
    mb_err err;
    mb_err_clear(&err);
    mb_gemm_weight *pw = NULL;
    mb_status rc = mb_gemm_weight_prepare(gp, MB_F32, W, N, K, ldw, M ? M : 4, &pw, &err);
    if (rc == MB_OK) rc = mb_gemm_weight_train(gp, MB_F32, pw, &err);
    CHECK_MSG(rc == MB_OK, "%s prepare for training N=%lld K=%lld: %s", gp->name, (long long)N,
              (long long)K, err.msg);
    if (rc == MB_OK) {
        rc = mb_gemm_nn(gp, MB_F32, pw, M, A, lda, 1.0f, beta, C, ldc, &err);
        CHECK_MSG(rc == MB_OK, "%s gemm_nn: %s", gp->name, err.msg);
        double worst = worst_of(C, R, M, K, ldc);
        CHECK_MSG(worst <= 1e-5 * (double)N, "%s nn M=%lld N=%lld K=%lld pad=%lld beta=%g: "
                  "max err %g", gp->name, (long long)M, (long long)N, (long long)K,
                  (long long)pad, beta, worst);
        /* the forward direction still works on the same weight */
        float *C2 = mb_alloc(sizeof(float) * (size_t)(Mr * N));
        if (M) CHECK(mb_gemm(gp, MB_F32, pw, M, C, ldc, 1.0f, 0.0f, C2, N, &err) == MB_OK);
        mb_free(C2);
    }
    if (pw) mb_gemm_weight_release(gp, MB_F32, pw);
    mb_free(W); mb_free(A); mb_free(C); mb_free(R);
}

/* C[M, N] = beta C + alpha op(A) op(B), every transpose pair, padded leading dimensions. */
static void run_plain(const mb_gemm_provider *gp, int ta, int tb, int64_t M, int64_t N, int64_t K,
                      int64_t pad, float alpha, float beta)
{
    const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    const int64_t arows = ta ? K : M, brows = tb ? N : K;
    float *A = mb_alloc(sizeof(float) * (size_t)(arows * lda + 1));
    float *B = mb_alloc(sizeof(float) * (size_t)(brows * ldb + 1));
    float *C = mb_alloc(sizeof(float) * (size_t)(M * ldc + 1));
    double *R = mb_alloc(sizeof(double) * (size_t)(M * ldc + 1));
    for (int64_t i = 0; i < arows * lda; i++) A[i] = val((uint64_t)i, 10);
    for (int64_t i = 0; i < brows * ldb; i++) B[i] = val((uint64_t)i, 11);
    for (int64_t i = 0; i < M * ldc; i++) R[i] = C[i] = beta == 0.0f ? NAN : val((uint64_t)i, 12);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0.0;
            for (int64_t p = 0; p < K; p++)
                acc += (double)(ta ? A[p * lda + i] : A[i * lda + p]) *
                       (tb ? B[j * ldb + p] : B[p * ldb + j]);
            R[i * ldc + j] = alpha * acc + (beta == 0.0f ? 0.0 : beta * R[i * ldc + j]);
        }
    mb_err err;
    mb_err_clear(&err);
    mb_status rc = mb_gemm_plain(gp, MB_F32, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                                 &err);
    CHECK_MSG(rc == MB_OK, "%s gemm_plain: %s", gp->name, err.msg);
    double worst = worst_of(C, R, M, N, ldc);
    CHECK_MSG(worst <= 1e-5 * (double)(K ? K : 1) * fabs(alpha ? alpha : 1.0f),
              "%s plain ta=%d tb=%d M=%lld N=%lld K=%lld pad=%lld alpha=%g beta=%g: max err %g",
              gp->name, ta, tb, (long long)M, (long long)N, (long long)K, (long long)pad, alpha,
              beta, worst);
    mb_free(A); mb_free(B); mb_free(C); mb_free(R);
}

static void train_entries(const mb_gemm_provider *gp)
{
    const int64_t nn[][3] = { { 1, 67, 129 }, { 7, 33, 67 }, { 33, 129, 64 }, { 100, 16, 48 },
                              { 5, 1, 9 }, { 0, 8, 8 } };
    const float betas[] = { 0.0f, 1.0f, 0.5f };
    for (size_t s = 0; s < sizeof nn / sizeof nn[0]; s++)
        for (size_t b = 0; b < 3; b++)
            for (int64_t pad = 0; pad <= 3; pad += 3)
                run_nn(gp, nn[s][0], nn[s][1], nn[s][2], pad, betas[b]);
    const int64_t pl[][3] = { { 8, 16, 100 }, { 33, 5, 7 }, { 1, 40, 3 }, { 17, 1, 64 } };
    for (int ta = 0; ta <= 1; ta++)
        for (int tb = 0; tb <= 1; tb++)
            for (size_t s = 0; s < sizeof pl / sizeof pl[0]; s++)
                for (size_t b = 0; b < 3; b++)
                    run_plain(gp, ta, tb, pl[s][0], pl[s][1], pl[s][2], 3 * (int64_t)b, -1.5f,
                              betas[b]);
}

int main(void)
{
    const mb_gemm_provider *gps[] = { &mb_gemm_naive, &mb_gemm_blas, &mb_gemm_onednn };
    const int64_t shapes[][4] = {   /* M, N, K, m_hint */
        { 1, 67, 129, 1 }, { 1, 64, 64, 7 }, { 7, 33, 67, 7 }, { 7, 33, 67, 16 },
        { 33, 129, 64, 33 }, { 5, 129, 64, 33 }, { 100, 16, 48, 25 }, { 3, 1, 5, 3 },
        { 0, 8, 8, 4 },
    };
    const float ab[][2] = { { 1.0f, 0.0f }, { 1.0f, 1.0f }, { 0.5f, 0.5f }, { -2.0f, 1.0f } };
    for (int threads = 1; threads <= 2; threads++) {
        mb_set_threads(threads);
        for (size_t g = 0; g < sizeof gps / sizeof gps[0]; g++) {
            const char *why = gps[g]->unavailable();
            if (why) {
                CHECK_MSG(!strncmp(why, "built without", 13), "%s: %s", gps[g]->name, why);
                continue;
            }
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
                for (size_t a = 0; a < sizeof ab / sizeof ab[0]; a++)
                    for (int64_t pad = 0; pad <= 3; pad += 3)
                        run(gps[g], shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], pad,
                            ab[a][0], ab[a][1]);
            many_m(gps[g]);
            train_entries(gps[g]);
        }
        if (!mb_gemm_avx512.unavailable()) train_entries(&mb_gemm_avx512);
    }
    return mb_test_result("test_lib_gemm");
}
