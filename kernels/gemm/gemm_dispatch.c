/* The typed GEMM entry points: one lookup in the provider's per-datatype table (gemm.h). */
#include "moebench/gemm.h"
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
