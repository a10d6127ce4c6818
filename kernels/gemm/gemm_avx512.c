/* The AVX-512 GEMM provider: availability from the executed probe, weights packed once. */
#ifdef MOEBENCH_HAVE_AVX512
#include "moebench/cpu.h"
#include "moebench/mem.h"
#include "gemm/gemm_avx512_internal.h"

MB_AVX512_ENTRY
const char *mb_avx512_unavailable(void)
{
    const char *why = NULL;
    return mb_cpu_has_avx512(&why) ? NULL : why;
}

MB_AVX512_ENTRY
static mb_status prepare(const void *W, int64_t N, int64_t K, int64_t ldw, int64_t m_hint,
                         mb_gemm_weight **out, mb_err *err)
{
    (void)m_hint;   /* the packing does not depend on M */
    const char *why = mb_avx512_unavailable();
    if (why) {
        *out = NULL;
        return mb_fail(err, MB_EUNSUPPORTED, "avx512: %s", why);
    }
    mb_status rc = mb_avx512_pack(W, K, ldw, NULL, 0, 0, N, out, err);
    if (rc == MB_OK) {
        (*out)->W = W;
        (*out)->ldw = ldw;
    }
    return rc;
}

MB_AVX512_ENTRY
static mb_status gemm(const mb_gemm_weight *w, int64_t M, const void *A, int64_t lda, float alpha,
                      float beta, void *C, int64_t ldc, mb_err *err)
{
    if (!w || M < 0 || (M > 0 && (!A || !C || lda < w->K || ldc < w->N)))
        return mb_fail(err, MB_EINVAL, "avx512 gemm: bad arguments (M=%lld lda=%lld ldc=%lld)",
                       (long long)M, (long long)lda, (long long)ldc);
    if (w->wq) {
        mb_avx512_wq_run(w->wq, MB_F32, M, A, lda, alpha, beta, C, ldc);
        return MB_OK;
    }
    mb_avx_gemm_args g = {.M = M, .a = {A, NULL}, .lda = {lda, 0}, .alpha = alpha, .beta = beta,
                          .c = C, .ldc = ldc};
    mb_avx512_gemm_run(w, &g);
    return MB_OK;
}

/* W = q * scale kept quantised (gemm_wq_avx512.c): a weight with no panels, only wq. */
MB_AVX512_ENTRY
static mb_status prepare_q(mb_dtype wq, const void *q, const float *scale, int64_t N, int64_t K,
                           int64_t m_hint, mb_gemm_weight **out, mb_err *err)
{
    (void)m_hint;
    *out = NULL;
    const char *why = mb_avx512_unavailable();
    if (why)
        return mb_fail(err, MB_EUNSUPPORTED, "avx512: %s", why);
    mb_gemm_weight *w = mb_alloc(sizeof *w);
    if (!w)
        return mb_fail(err, MB_ENOMEM, "avx512 wq prepare: out of memory");
    mb_status rc = mb_avx512_wq_pack(wq, q, scale, N, K, &w->wq, err);
    if (rc != MB_OK) {
        mb_free(w);
        return rc;
    }
    w->N = N;
    w->K = K;
    w->bytes = mb_avx512_wq_bytes(w->wq);
    *out = w;
    return MB_OK;
}

/* bf16: the AVX512_BF16 probe's reason (it names avx512_bf16), so a bf16 row says what this
 * CPU lacks; wq types: none of their own (the wq kernel needs AVX-512F only, the provider's
 * own condition). */
static const char *dtype_unavailable(mb_dtype dt)
{
    return dt == MB_BF16 ? mb_avx512_bf16_unavailable() : NULL;
}

MB_AVX512_ENTRY
static int64_t weight_bytes(const mb_gemm_weight *w)
{
    return w ? w->bytes + (w->tw ? w->tw->bytes : 0) : 0;
}
MB_AVX512_ENTRY
static void weight_dims(const mb_gemm_weight *w, int64_t *N, int64_t *K) { *N = w->N; *K = w->K; }

const mb_gemm_provider mb_gemm_avx512 = {
    .name = "avx512",
    .unavailable = mb_avx512_unavailable,
    .dtype_unavailable = dtype_unavailable,
    .ops[MB_F32] = {prepare, mb_avx512_weight_free, gemm, weight_bytes, weight_dims,
                mb_avx512_weight_train, mb_avx512_gemm_nn, mb_avx512_gemm_plain, NULL, NULL, prepare_q},
    /* inference only: no training members, no split (gemm_cols) yet */
    .ops[MB_BF16] = {mb_avx512_bf16_prepare, mb_avx512_bf16_release, mb_avx512_bf16_gemm,
                 mb_avx512_bf16_bytes, mb_avx512_bf16_dims, NULL, NULL, NULL, NULL, NULL,
                 mb_avx512_bf16_prepare_q},
};
#endif
