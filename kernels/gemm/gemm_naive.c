/* Naive GEMM provider: plain loops with double accumulation. It is the fallback of the merged
 * implementation when OpenBLAS is absent, and a cross-check of the provider contract in tests;
 * it keeps a pointer to the caller's W (no copy). */
#include "moebench/gemm.h"
#include "moebench/mem.h"

struct mb_gemm_weight { const float *W; int64_t N, K, ldw; };

static const char *naive_unavailable(void) { return NULL; }

static mb_status naive_prepare(const void *W, int64_t N, int64_t K, int64_t ldw, int64_t m_hint,
                               mb_gemm_weight **out, mb_err *err)
{
    (void)m_hint;
    *out = NULL;
    if (!W || N < 1 || K < 1 || ldw < K)
        return mb_fail(err, MB_EINVAL, "gemm naive: bad weight (N=%lld K=%lld ldw=%lld)",
                       (long long)N, (long long)K, (long long)ldw);
    mb_gemm_weight *w = mb_alloc(sizeof *w);
    if (!w) return mb_fail(err, MB_ENOMEM, "gemm naive: out of memory");
    w->W = W; w->N = N; w->K = K; w->ldw = ldw;
    *out = w;
    return MB_OK;
}

static void naive_release(mb_gemm_weight *w) { mb_free(w); }

static mb_status naive_gemm(const mb_gemm_weight *w, int64_t M, const void *Av, int64_t lda,
                            float alpha, float beta, void *Cv, int64_t ldc, mb_err *err)
{
    const float *A = Av;
    float *C = Cv;
    if (M < 0 || lda < w->K || ldc < w->N)
        return mb_fail(err, MB_EINVAL, "gemm naive: bad call (M=%lld lda=%lld ldc=%lld)",
                       (long long)M, (long long)lda, (long long)ldc);
    const int64_t N = w->N, K = w->K;
    #pragma omp parallel for schedule(static) if (M * N * K > 65536)
    for (int64_t i = 0; i < M; i++) {
        const float *a = A + i * lda;
        float *c = C + i * ldc;
        for (int64_t j = 0; j < N; j++) {
            const float *wr = w->W + j * w->ldw;
            double acc = 0.0;
            for (int64_t p = 0; p < K; p++) acc += (double)a[p] * wr[p];
            /* beta == 0 must ignore C (it may hold NaN garbage), as BLAS does */
            c[j] = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * c[j]));
        }
    }
    return MB_OK;
}

/* C[M,K] = beta C + alpha A[M,N] W */
static mb_status naive_gemm_nn(const mb_gemm_weight *w, int64_t M, const void *Av, int64_t lda,
                               float alpha, float beta, void *Cv, int64_t ldc, mb_err *err)
{
    const float *A = Av;
    float *C = Cv;
    if (M < 0 || lda < w->N || ldc < w->K)
        return mb_fail(err, MB_EINVAL, "gemm naive nn: bad call (M=%lld lda=%lld ldc=%lld)",
                       (long long)M, (long long)lda, (long long)ldc);
    const int64_t N = w->N, K = w->K;
    #pragma omp parallel for schedule(static) if (M * N * K > 65536)
    for (int64_t i = 0; i < M; i++) {
        for (int64_t p = 0; p < K; p++) {
            double acc = 0.0;
            for (int64_t j = 0; j < N; j++) acc += (double)A[i * lda + j] * w->W[j * w->ldw + p];
            float *c = C + i * ldc + p;
            *c = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
    }
    return MB_OK;
}

static mb_status naive_gemm_plain(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                                  const void *Av, int64_t lda, const void *Bv, int64_t ldb,
                                  float beta, void *Cv, int64_t ldc, mb_err *err)
{
    (void)err;
    const float *A = Av, *B = Bv;
    float *C = Cv;
    #pragma omp parallel for schedule(static) if (M * N * K > 65536)
    for (int64_t i = 0; i < M; i++) {
        for (int64_t j = 0; j < N; j++) {
            double acc = 0.0;
            for (int64_t p = 0; p < K; p++)
                acc += (double)(ta ? A[p * lda + i] : A[i * lda + p]) *
                       (tb ? B[j * ldb + p] : B[p * ldb + j]);
            float *c = C + i * ldc + j;
            *c = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
    }
    return MB_OK;
}

static int64_t naive_bytes(const mb_gemm_weight *w) { (void)w; return 0; }
static void naive_dims(const mb_gemm_weight *w, int64_t *N, int64_t *K) { *N = w->N; *K = w->K; }

const mb_gemm_provider mb_gemm_naive = {
    .name = "naive",
    .unavailable = naive_unavailable,
    .ops[MB_F32] = {naive_prepare, naive_release, naive_gemm, naive_bytes, naive_dims,
                NULL, naive_gemm_nn, naive_gemm_plain, NULL, NULL},
};
