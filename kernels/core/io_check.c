/* The one shape check of a forward call's inputs, output and routing buffer against the spec
 * (used by mb_variant_forward for blas/onednn/avx512/merged and by the naive reference). */
#include "moebench/impl.h"

static int is2d(const mb_tensor *t, mb_dtype dt, int64_t d0, int64_t d1)
{
    return t->data && t->dtype == dt && t->ndim == 2 && t->shape[0] == d0 && t->shape[1] == d1;
}

mb_status mb_check_io(const mb_spec *s, const mb_inputs *in, const mb_tensor *y,
                      const mb_forward_info *info, mb_err *err)
{
    if (!s || !in)
        return mb_fail(err, MB_EINVAL, "forward: missing spec or inputs");
    const int64_t T = mb_spec_T(s), ow = mb_spec_out_width(s);
    /* X, R and Y are stored in the case's dtype (spec "Precision") */
    const mb_dtype dt = s->dtype;
    if (!is2d(&in->X, dt, T, s->h))
        return mb_fail(err, MB_EINVAL, "input X must be %s [%lld, %lld]", mb_dtype_name(dt),
                       (long long)T, (long long)s->h);
    if (!y || !is2d(y, dt, T, ow))
        return mb_fail(err, MB_EINVAL, "output y must be %s [%lld, %lld]", mb_dtype_name(dt),
                       (long long)T, (long long)ow);
    mb_variant_inputs vin = mb_variant_desc_of(s->variant)->inputs;
    if (vin == MB_IN_TASK) {
        const mb_tensor *t = &in->task;
        if (!t->data || t->dtype != MB_I32 || t->ndim != 1 || t->shape[0] != s->B)
            return mb_fail(err, MB_EINVAL, "input task must be i32 [%lld]", (long long)s->B);
        /* Emb has tasks + 1 rows: valid ids are 0..tasks inclusive */
        const int32_t *id = mb_i32(t);
        for (int64_t b = 0; b < s->B; b++)
            if (id[b] < 0 || id[b] > s->tasks)
                return mb_fail(err, MB_EINVAL, "task id %d of sequence %lld is outside 0..%lld",
                               (int)id[b], (long long)b, (long long)s->tasks);
    }
    if (vin == MB_IN_PRIOR && !is2d(&in->R, dt, s->B, s->r))
        return mb_fail(err, MB_EINVAL, "input R must be %s [%lld, %lld]", mb_dtype_name(dt),
                       (long long)s->B, (long long)s->r);
    if (info && info->routing.idx && mb_variant_routed(s->variant)) {
        const mb_routing *r = &info->routing;
        if (r->T != T || r->E != s->E || r->k != s->k)
            return mb_fail(err, MB_EINVAL, "routing buffer sized for T=%lld E=%lld k=%lld, the "
                           "spec needs T=%lld E=%lld k=%lld", (long long)r->T, (long long)r->E,
                           (long long)r->k, (long long)T, (long long)s->E, (long long)s->k);
    }
    return MB_OK;
}
