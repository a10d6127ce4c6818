/* The typed GEMM entry points: one lookup in the provider's per-datatype table (gemm.h). */
#include <stdio.h>
#include "moebench/gemm.h"
#include "moebench/quant.h"
#include "moebench/work.h"

static const mb_gemm_ops *ops_of(const mb_gemm_provider *gp, mb_dtype dt)
{
    if ((unsigned)dt >= MB_DTYPE_COUNT)
        return NULL;
    const mb_gemm_ops *o = &gp->ops[dt];
    /* a row counts only when complete: a half-filled row is as unsupported as an empty one */
    return o->weight_prepare && o->weight_release && o->gemm && o->weight_bytes ? o : NULL;
}

unsigned mb_gemm_dtypes(const mb_gemm_provider *gp)
{
    unsigned set = 0;
    for (int d = 0; d < MB_DTYPE_COUNT; d++)
        if (ops_of(gp, (mb_dtype)d))
            set |= MB_DTYPE_BIT(d);
    return set;
}

const char *mb_gemm_unsupported(const mb_gemm_provider *gp, mb_dtype dt)
{
    return mb_dtype_unsupported(gp->name, dt, mb_gemm_dtypes(gp));
}

mb_status mb_gemm_weight_prepare(const mb_gemm_provider *gp, mb_dtype dt, const void *W,
                                 int64_t N, int64_t K, int64_t ldw, int64_t m_hint,
                                 mb_gemm_weight **out, mb_err *err)
{
    const mb_gemm_ops *o = ops_of(gp, dt);
    if (!o) {
        *out = NULL;
        return mb_fail(err, MB_EUNSUPPORTED, "%s", mb_gemm_unsupported(gp, dt));
    }
    return o->weight_prepare(W, N, K, ldw, m_hint, out, err);
}

const char *mb_gemm_wq_unsupported(const mb_gemm_provider *gp, mb_dtype dt, mb_dtype wq)
{
    const mb_gemm_ops *o = ops_of(gp, dt);
    if (o && o->weight_prepare_q && mb_wq_qmax(wq) > 0)
        return NULL;
    static _Thread_local char buf[160];
    snprintf(buf, sizeof buf, "unsupported wq=%s: %s has no weight-only %s GEMM for %s "
             "activations (issue 15)", mb_dtype_name(wq), gp->name, mb_dtype_name(wq),
             mb_dtype_name(dt));
    return buf;
}

mb_status mb_gemm_weight_prepare_q(const mb_gemm_provider *gp, mb_dtype dt, mb_dtype wq,
                                   const void *q, const float *scale, int64_t N, int64_t K,
                                   int64_t m_hint, mb_gemm_weight **out, mb_err *err)
{
    *out = NULL;
    const char *why = mb_gemm_wq_unsupported(gp, dt, wq);
    if (why) return mb_fail(err, MB_EUNSUPPORTED, "%s", why);
    if (!q || !scale || N < 1 || K < 1 || mb_wq_groups(wq, K) < 1)
        return mb_fail(err, MB_EINVAL, "gemm %s: bad quantised weight (N=%lld K=%lld wq=%s)",
                       gp->name, (long long)N, (long long)K, mb_dtype_name(wq));
    return ops_of(gp, dt)->weight_prepare_q(wq, q, scale, N, K, m_hint < 1 ? 1 : m_hint, out,
                                            err);
}

void mb_gemm_weight_release(const mb_gemm_provider *gp, mb_dtype dt, mb_gemm_weight *w)
{
    const mb_gemm_ops *o = ops_of(gp, dt);
    if (o && w)
        o->weight_release(w);
}

mb_status mb_gemm(const mb_gemm_provider *gp, mb_dtype dt, const mb_gemm_weight *w, int64_t M,
                  const void *A, int64_t lda, float alpha, float beta, void *C, int64_t ldc,
                  mb_err *err)
{
    const mb_gemm_ops *o = ops_of(gp, dt);
    if (!o)
        return mb_fail(err, MB_EUNSUPPORTED, "%s", mb_gemm_unsupported(gp, dt));
    mb_status rc = o->gemm(w, M, A, lda, alpha, beta, C, ldc, err);
    /* counted here, once per call, from the shape the provider prepared (moebench/work.h) */
    if (rc == MB_OK && o->weight_dims && w) {
        int64_t N = 0, K = 0;
        o->weight_dims(w, &N, &K);
        mb_work_gemm(w, M, N, K, mb_dtype_bits(dt));
    }
    return rc;
}

int64_t mb_gemm_weight_bytes(const mb_gemm_provider *gp, mb_dtype dt, const mb_gemm_weight *w)
{
    const mb_gemm_ops *o = ops_of(gp, dt);
    return o && w ? o->weight_bytes(w) : 0;
}

const char *mb_gemm_train_unsupported(const mb_gemm_provider *gp, mb_dtype dt)
{
    const mb_gemm_ops *o = ops_of(gp, dt);
    if (!o) return "the GEMM provider lacks this dtype";
    return o->gemm_nn && o->gemm_plain ? NULL : "the GEMM provider has no training entry points";
}

mb_status mb_gemm_weight_train(const mb_gemm_provider *gp, mb_dtype dt, mb_gemm_weight *w,
                               mb_err *err)
{
    const char *why = mb_gemm_train_unsupported(gp, dt);
    if (why) return mb_fail(err, MB_EUNSUPPORTED, "%s: %s", gp->name, why);
    const mb_gemm_ops *o = ops_of(gp, dt);
    return o->weight_train ? o->weight_train(w, err) : MB_OK;
}

mb_status mb_gemm_nn(const mb_gemm_provider *gp, mb_dtype dt, const mb_gemm_weight *w, int64_t M,
                     const void *A, int64_t lda, float alpha, float beta, void *C, int64_t ldc,
                     mb_err *err)
{
    const char *why = mb_gemm_train_unsupported(gp, dt);
    if (why) return mb_fail(err, MB_EUNSUPPORTED, "%s: %s", gp->name, why);
    const mb_gemm_ops *o = ops_of(gp, dt);
    mb_status rc = o->gemm_nn(w, M, A, lda, alpha, beta, C, ldc, err);
    if (rc == MB_OK && o->weight_dims && w) {
        int64_t N = 0, K = 0;
        o->weight_dims(w, &N, &K);
        mb_work_gemm(w, M, K, N, mb_dtype_bits(dt));
    }
    return rc;
}

mb_status mb_gemm_plain(const mb_gemm_provider *gp, mb_dtype dt, int ta, int tb, int64_t M,
                        int64_t N, int64_t K, float alpha, const void *A, int64_t lda,
                        const void *B, int64_t ldb, float beta, void *C, int64_t ldc, mb_err *err)
{
    const char *why = mb_gemm_train_unsupported(gp, dt);
    if (why) return mb_fail(err, MB_EUNSUPPORTED, "%s: %s", gp->name, why);
    if (M < 0 || N < 0 || K < 0 || (ta ? lda < M : lda < K) || (tb ? ldb < K : ldb < N) ||
        ldc < N)
        return mb_fail(err, MB_EINVAL, "gemm %s plain: bad call (M=%lld N=%lld K=%lld)",
                       gp->name, (long long)M, (long long)N, (long long)K);
    if (M == 0 || N == 0) return MB_OK;
    mb_status rc = ops_of(gp, dt)->gemm_plain(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C,
                                              ldc, err);
    /* B is an operand read once per call: counted as streamed, with no prepared identity */
    if (rc == MB_OK) mb_work_gemm(B, M, N, K, mb_dtype_bits(dt));
    return rc;
}
