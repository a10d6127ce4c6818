/* OpenBLAS GEMM provider. Keeps a pointer to the caller's W: OpenBLAS packs panels itself on
 * every call, and a pre-packed copy would only double the weight memory. One row (M == 1) goes
 * to cblas_sgemv, which on this machine is 4-6x faster than sgemm with M = 1. */
#include "moebench/gemm.h"
#include "moebench/mem.h"

#ifdef MOEBENCH_HAVE_OPENBLAS
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <cblas.h>

struct mb_gemm_weight { const float *W; int64_t N, K, ldw; };

static const char *blas_unavailable(void) { return NULL; }

static mb_status blas_prepare(const void *W, int64_t N, int64_t K, int64_t ldw, int64_t m_hint,
                              mb_gemm_weight **out, mb_err *err)
{
    (void)m_hint;
    *out = NULL;
    if (!W || N < 1 || K < 1 || ldw < K || N > INT32_MAX || K > INT32_MAX || ldw > INT32_MAX)
        return mb_fail(err, MB_EINVAL, "gemm blas: bad weight (N=%lld K=%lld ldw=%lld)",
                       (long long)N, (long long)K, (long long)ldw);
    mb_gemm_weight *w = mb_alloc(sizeof *w);
    if (!w) return mb_fail(err, MB_ENOMEM, "gemm blas: out of memory");
    w->W = W; w->N = N; w->K = K; w->ldw = ldw;
    *out = w;
    return MB_OK;
}

static void blas_release(mb_gemm_weight *w) { mb_free(w); }

static mb_status blas_gemm(const mb_gemm_weight *w, int64_t M, const void *A, int64_t lda,
                           float alpha, float beta, void *C, int64_t ldc, mb_err *err)
{
    if (M < 0 || M > INT32_MAX || lda < w->K || ldc < w->N || lda > INT32_MAX || ldc > INT32_MAX)
        return mb_fail(err, MB_EINVAL, "gemm blas: bad call (M=%lld lda=%lld ldc=%lld)",
                       (long long)M, (long long)lda, (long long)ldc);
    if (M == 0) return MB_OK;
    if (M == 1) {
        /* c = alpha * W a + beta * c */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)w->N, (blasint)w->K, alpha, w->W,
                    (blasint)w->ldw, A, 1, beta, C, 1);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)M, (blasint)w->N,
                    (blasint)w->K, alpha, A, (blasint)lda, w->W, (blasint)w->ldw, beta, C,
                    (blasint)ldc);
    }
    return MB_OK;
}

/* C[M,K] = beta C + alpha A[M,N] W: the same W, no transpose (M == 1: the other sgemv). */
static mb_status blas_gemm_nn(const mb_gemm_weight *w, int64_t M, const void *A, int64_t lda,
                              float alpha, float beta, void *C, int64_t ldc, mb_err *err)
{
    if (M < 0 || M > INT32_MAX || lda < w->N || ldc < w->K || lda > INT32_MAX || ldc > INT32_MAX)
        return mb_fail(err, MB_EINVAL, "gemm blas nn: bad call (M=%lld lda=%lld ldc=%lld)",
                       (long long)M, (long long)lda, (long long)ldc);
    if (M == 0) return MB_OK;
    if (M == 1)
        cblas_sgemv(CblasRowMajor, CblasTrans, (blasint)w->N, (blasint)w->K, alpha, w->W,
                    (blasint)w->ldw, A, 1, beta, C, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)M, (blasint)w->K,
                    (blasint)w->N, alpha, A, (blasint)lda, w->W, (blasint)w->ldw, beta, C,
                    (blasint)ldc);
    return MB_OK;
}

static mb_status blas_gemm_plain(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                                 const void *A, int64_t lda, const void *B, int64_t ldb,
                                 float beta, void *C, int64_t ldc, mb_err *err)
{
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || lda > INT32_MAX || ldb > INT32_MAX ||
        ldc > INT32_MAX)
        return mb_fail(err, MB_EINVAL, "gemm blas plain: dimensions beyond 32 bits");
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (blasint)M, (blasint)N, (blasint)K, alpha, A, (blasint)lda, B, (blasint)ldb, beta,
                C, (blasint)ldc);
    return MB_OK;
}

/* Columns [n0, n1): W's rows n0.. are a weight of n1 - n0 rows with the same ldw. */
static mb_status blas_gemm_cols(const mb_gemm_weight *w, int64_t n0, int64_t n1, int64_t M,
                                const void *A, int64_t lda, float alpha, float beta, void *C,
                                int64_t ldc, mb_err *err)
{
    if (n0 < 0 || n1 > w->N || n0 >= n1)
        return mb_fail(err, MB_EINVAL, "gemm blas: columns [%lld, %lld) of %lld", (long long)n0,
                       (long long)n1, (long long)w->N);
    const mb_gemm_weight part = {w->W + n0 * w->ldw, n1 - n0, w->K, w->ldw};
    if (ldc < w->N)   /* the whole C's row, not only the part's */
        return mb_fail(err, MB_EINVAL, "gemm blas: ldc=%lld < N=%lld", (long long)ldc,
                       (long long)w->N);
    return blas_gemm(&part, M, A, lda, alpha, beta, (float *)C + n0, ldc, err);
}

/* OpenBLAS's OpenMP build runs one thread inside a parallel region (num_cpu_avail checks
 * omp_in_parallel), the sequential build always one; the pthread build (1) would start its
 * own pool in every call. */
static int blas_serial_in_parallel(void) { return openblas_get_parallel() != 1; }

static int64_t blas_bytes(const mb_gemm_weight *w) { (void)w; return 0; }
static void blas_dims(const mb_gemm_weight *w, int64_t *N, int64_t *K) { *N = w->N; *K = w->K; }

/* bf16 needs cblas_sbgemm. Debian's OpenBLAS 0.3.21 declares it in cblas.h but is built
 * without BUILD_BFLOAT16, so the library does not export it: a direct call would not link.
 * Probed at run time by name in the loaded libraries (the OpenBLAS this process linked). */
typedef void (*mb_sbgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE,
                             blasint, blasint, blasint, float, const void *, blasint,
                             const void *, blasint, float, float *, blasint);

static mb_sbgemm_fn sbgemm_symbol(void)
{
    void *p = dlsym(RTLD_DEFAULT, "cblas_sbgemm");
    mb_sbgemm_fn f;
    memcpy(&f, &p, sizeof f);   /* object to function pointer without a cast ISO C lacks */
    return f;
}

/* "OpenBLAS 0.3.21" from openblas_get_config() ("OpenBLAS 0.3.21 DYNAMIC_ARCH ..."). */
static void openblas_version(char *buf, size_t n)
{
    const char *c = openblas_get_config();
    int len = 0, spaces = 0;
    while (c && c[len] && !(c[len] == ' ' && ++spaces == 2))
        len++;
    snprintf(buf, n, "%.*s", len, c ? c : "OpenBLAS");
}

static const char *blas_dtype_unavailable(mb_dtype dt)
{
    static _Thread_local char why[320];
    char ver[48];
    openblas_version(ver, sizeof ver);
    if (dt == MB_BF16) {
        if (sbgemm_symbol())
            return NULL;
        snprintf(why, sizeof why, "%s built without bfloat16: cblas_sbgemm not exported", ver);
        return why;
    }
    if (dt == MB_I8 || dt == MB_I4) {
        /* the issue allows only a per-panel dequantise (never a full dequantised copy) */
        snprintf(why, sizeof why, "unsupported wq=%s: %s has no GEMM with %s weights and "
                 "f32/bf16 activations, and a per-panel dequantising path over it is not built",
                 mb_dtype_name(dt), ver, mb_dtype_name(dt));
        return why;
    }
    return NULL;
}

const mb_gemm_provider mb_gemm_blas = {
    .name = "blas",
    .unavailable = blas_unavailable,
    .dtype_unavailable = blas_dtype_unavailable,
    .ops[MB_F32] = {blas_prepare, blas_release, blas_gemm, blas_bytes, blas_dims,
                NULL, blas_gemm_nn, blas_gemm_plain, blas_gemm_cols,
                blas_serial_in_parallel, NULL},
};

#else /* !MOEBENCH_HAVE_OPENBLAS */

static const char *blas_unavailable(void) { return "built without OpenBLAS"; }
static mb_status blas_prepare(const void *W, int64_t N, int64_t K, int64_t ldw, int64_t m_hint,
                              mb_gemm_weight **out, mb_err *err)
{
    (void)W; (void)N; (void)K; (void)ldw; (void)m_hint;
    *out = NULL;
    return mb_fail(err, MB_EUNSUPPORTED, "built without OpenBLAS");
}
static void blas_release(mb_gemm_weight *w) { (void)w; }
static mb_status blas_gemm(const mb_gemm_weight *w, int64_t M, const void *A, int64_t lda,
                           float alpha, float beta, void *C, int64_t ldc, mb_err *err)
{
    (void)w; (void)M; (void)A; (void)lda; (void)alpha; (void)beta; (void)C; (void)ldc;
    return mb_fail(err, MB_EUNSUPPORTED, "built without OpenBLAS");
}
static int64_t blas_bytes(const mb_gemm_weight *w) { (void)w; return 0; }
const mb_gemm_provider mb_gemm_blas = {
    .name = "blas",
    .unavailable = blas_unavailable,
    .ops[MB_F32] = {blas_prepare, blas_release, blas_gemm, blas_bytes, NULL, NULL, NULL, NULL,
                    NULL, NULL, NULL},
};
#endif
