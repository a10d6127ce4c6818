/* The AVX-512 provider's training entry points: dX = dY W on a packed copy of W^T (made once by
 * weight_train, counted in weight_bytes), and plain products (weight gradients, adapters that
 * change every step) that pack their right operand per call and run the same SGEMM kernel.
 * Correct first: the fused backward kernels of issue 14 are a later optimisation. */
#ifdef MOEBENCH_HAVE_AVX512
#include "gemm/gemm_avx512_internal.h"
#include "moebench/mem.h"

/* dst [cols, rows] = src [rows, cols]^T (ld of src: lds). */
static void transpose(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) dst[j * rows + i] = src[i * lds + j];
}

static float *alloc_f(int64_t n)
{
    return n > 0 ? mb_alloc(sizeof(float) * (size_t)n) : NULL;
}

mb_status mb_avx512_weight_train(mb_gemm_weight *w, mb_err *err)
{
    if (w->tw) return MB_OK;
    if (!w->W)
        return mb_fail(err, MB_EINVAL, "avx512 weight_train: the weight keeps no source W");
    float *Wt = alloc_f(w->K * w->N);
    if (!Wt) return mb_fail(err, MB_ENOMEM, "avx512 weight_train: out of memory");
    transpose(w->W, w->N, w->K, w->ldw, Wt);   /* Wt [K, N]: the weight of C = A W */
    mb_status rc = mb_avx512_pack(Wt, w->N, w->N, NULL, 0, 0, w->K, &w->tw, err);
    mb_free(Wt);
    return rc;
}

mb_status mb_avx512_gemm_nn(const mb_gemm_weight *w, int64_t M, const void *A, int64_t lda,
                            float alpha, float beta, void *C, int64_t ldc, mb_err *err)
{
    if (!w || !w->tw)
        return mb_fail(err, MB_EINVAL, "avx512 gemm_nn: weight not prepared for training");
    if (M < 0 || (M > 0 && (!A || !C || lda < w->N || ldc < w->K)))
        return mb_fail(err, MB_EINVAL, "avx512 gemm_nn: bad arguments (M=%lld lda=%lld ldc=%lld)",
                       (long long)M, (long long)lda, (long long)ldc);
    if (M == 0) return MB_OK;
    mb_avx_gemm_args g = {.M = M, .a = {A, NULL}, .lda = {lda, 0}, .alpha = alpha, .beta = beta,
                          .c = C, .ldc = ldc};
    mb_avx512_gemm_run(w->tw, &g);
    return MB_OK;
}

mb_status mb_avx512_gemm_plain(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                               const void *Av, int64_t lda, const void *Bv, int64_t ldb, float beta,
                               void *C, int64_t ldc, mb_err *err)
{
    const float *A = Av, *B = Bv;
    if (K == 0) {   /* C = beta C */
        float *c = C;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return MB_OK;
    }
    /* the packed kernel takes A [M, K] row-major and W [N, K] row-major */
    float *At = NULL, *Bt = NULL;
    if (ta) {
        At = alloc_f(M * K);
        if (!At) return mb_fail(err, MB_ENOMEM, "avx512 gemm_plain: out of memory");
        transpose(A, K, M, lda, At);
        A = At;
        lda = K;
    }
    if (!tb) {
        Bt = alloc_f(N * K);
        if (!Bt) {
            mb_free(At);
            return mb_fail(err, MB_ENOMEM, "avx512 gemm_plain: out of memory");
        }
        transpose(B, K, N, ldb, Bt);
        B = Bt;
        ldb = K;
    }
    mb_gemm_weight *w = NULL;
    mb_status rc = mb_avx512_pack(B, K, ldb, NULL, 0, 0, N, &w, err);
    if (rc == MB_OK) {
        mb_avx_gemm_args g = {.M = M, .a = {A, NULL}, .lda = {lda, 0}, .alpha = alpha,
                              .beta = beta, .c = C, .ldc = ldc};
        mb_avx512_gemm_run(w, &g);
    }
    mb_avx512_weight_free(w);
    mb_free(At);
    mb_free(Bt);
    return rc;
}
#else
/* Keeps this translation unit non-empty (ISO C) when AVX-512 is not compiled. */
typedef int mb_train_avx512_unused;
#endif
