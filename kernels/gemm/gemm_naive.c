/* Naive GEMM provider: plain loops with double accumulation. It is the fallback of the merged
 * implementation when OpenBLAS is absent, and a cross-check of the provider contract in tests;
 * it keeps a pointer to the caller's W (no copy). */
#include "moebench/bf16.h"
#include "moebench/gemm.h"
#include "moebench/mem.h"
#include "moebench/quant.h"

/* W: the caller's f32 weight; Wb: its bf16 one (ops[MB_BF16]); q, scale: a weight-only
 * quantised one (either row), read as q * scale element by element */
struct mb_gemm_weight {
    const float *W;
    const uint16_t *Wb;
    int64_t N, K, ldw;
    mb_dtype wq;
    const void *q;
    const float *scale;
    int64_t groups;
};

/* Element (n, k) of a quantised weight: q * scale, exact in double (quant.h). */
static double wq_elem(const mb_gemm_weight *w, int64_t n, int64_t k)
{
    const double s = w->scale[n * w->groups + k / (w->K / w->groups)];
    return (double)mb_wq_level(w->wq, w->q, n * w->K + k) * s;
}

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
    w->W = W; w->Wb = NULL; w->N = N; w->K = K; w->ldw = ldw;
    w->q = NULL; w->scale = NULL; w->groups = 0; w->wq = MB_F32;
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
            double acc = 0.0;
            if (w->q) {
                for (int64_t p = 0; p < K; p++) acc += (double)a[p] * wq_elem(w, j, p);
            } else {
                const float *wr = w->W + j * w->ldw;
                for (int64_t p = 0; p < K; p++) acc += (double)a[p] * wr[p];
            }
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

/* bf16 (A, W and C stored in bf16): the same loops on the widened values, rounded once to bf16
 * (through f32: a double rounding only where the double result lies within 2^-24 relative of a
 * bf16 rounding boundary, far below bf16's own half ulp) */
static mb_status naive_prepare_bf16(const void *W, int64_t N, int64_t K, int64_t ldw,
                                    int64_t m_hint, mb_gemm_weight **out, mb_err *err)
{
    mb_status rc = naive_prepare(W, N, K, ldw, m_hint, out, err);
    if (rc == MB_OK) {
        (*out)->Wb = W;
        (*out)->W = NULL;
    }
    return rc;
}

static mb_status naive_gemm_bf16(const mb_gemm_weight *w, int64_t M, const void *Av, int64_t lda,
                                 float alpha, float beta, void *Cv, int64_t ldc, mb_err *err)
{
    const uint16_t *A = Av;
    uint16_t *C = Cv;
    if ((!w->Wb && !w->q) || M < 0 || lda < w->K || ldc < w->N)
        return mb_fail(err, MB_EINVAL, "gemm naive bf16: bad call (M=%lld lda=%lld ldc=%lld)",
                       (long long)M, (long long)lda, (long long)ldc);
    const int64_t N = w->N, K = w->K;
    #pragma omp parallel for schedule(static) if (M * N * K > 65536)
    for (int64_t i = 0; i < M; i++) {
        const uint16_t *a = A + i * lda;
        uint16_t *c = C + i * ldc;
        for (int64_t j = 0; j < N; j++) {
            double acc = 0.0;
            if (w->q) {
                for (int64_t p = 0; p < K; p++)
                    acc += (double)mb_bf16_to_f32(a[p]) * wq_elem(w, j, p);
            } else {
                const uint16_t *wr = w->Wb + j * w->ldw;
                for (int64_t p = 0; p < K; p++)
                    acc += (double)mb_bf16_to_f32(a[p]) * mb_bf16_to_f32(wr[p]);
            }
            double v = alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * mb_bf16_to_f32(c[j]));
            c[j] = mb_f32_to_bf16((float)v);
        }
    }
    return MB_OK;
}

/* Both rows: the caller's q and scale, kept (no copy, dequantised element by element). */
static mb_status naive_prepare_q(mb_dtype wq, const void *q, const float *scale, int64_t N,
                                 int64_t K, int64_t m_hint, mb_gemm_weight **out, mb_err *err)
{
    (void)m_hint;
    *out = NULL;
    mb_gemm_weight *w = mb_alloc(sizeof *w);
    if (!w) return mb_fail(err, MB_ENOMEM, "gemm naive: out of memory");
    *w = (mb_gemm_weight){NULL, NULL, N, K, K, wq, q, scale, mb_wq_groups(wq, K)};
    *out = w;
    return MB_OK;
}

static int64_t naive_bytes(const mb_gemm_weight *w) { (void)w; return 0; }
static void naive_dims(const mb_gemm_weight *w, int64_t *N, int64_t *K) { *N = w->N; *K = w->K; }

const mb_gemm_provider mb_gemm_naive = {
    .name = "naive",
    .unavailable = naive_unavailable,
    .ops[MB_F32] = {naive_prepare, naive_release, naive_gemm, naive_bytes, naive_dims,
                NULL, naive_gemm_nn, naive_gemm_plain, NULL, NULL, naive_prepare_q},
    .ops[MB_BF16] = {naive_prepare_bf16, naive_release, naive_gemm_bf16, naive_bytes, naive_dims,
                NULL, NULL, NULL, NULL, NULL, naive_prepare_q},
};
