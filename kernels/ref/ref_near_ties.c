/* Near ties of the top-k choice (compare.h: mb_routing_near_ties), computed on the reference's
 * side: logits z = X Wr^T in double from the stored (f32 or bf16) inputs, as the reference
 * routes. */
#include <math.h>
#include "ref.h"

mb_status mb_routing_near_ties(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                               uint8_t *near, mb_err *err)
{
    const int64_t T = mb_spec_T(s), E = s->E, k = s->k, h = s->h;
    if (!mb_variant_routed(s->variant))
        return mb_fail(err, MB_EINVAL, "near ties: %s does not route", mb_variant_name(s->variant));
    const mb_tol_rule *rule = mb_tolerance_rule(s->dtype);
    const mb_ref_mat Wr = mb_ref_wmat(w, "Wr", 2, E, h, 0, err);
    if (!Wr.base || !rule || !in->X.data || mb_tensor_numel(&in->X) != T * h)
        return rule ? MB_EINVAL : mb_fail(err, MB_EINVAL, "near ties: dtype %s has no tolerance rule",
                                          mb_dtype_name(s->dtype));
    const mb_ref_mat X = mb_ref_tmat(&in->X, h);
    double *z = mb_alloc(sizeof(double) * (size_t)(T * E)), *x = mb_alloc(sizeof(double) * (size_t)h);
    if (!z || !x) {
        mb_free(z);
        mb_free(x);
        return mb_fail(err, MB_ENOMEM, "near ties: out of memory for %lld logits", (long long)(T * E));
    }
    double ss = 0.0;
    for (int64_t t = 0; t < T; t++) {
        mb_ref_mrow(X, t, x);
        mb_ref_mlinear(x, h, Wr, E, z + t * E);
        for (int64_t e = 0; e < E; e++)
            ss += z[t * E + e] * z[t * E + e];
    }
    /* the dtype's rule with the logits as the output and h as the reduction depth */
    const double atol = rule->atol_rms * sqrt(ss / (double)(T * E)) * sqrt((double)h / 64.0);
    for (int64_t t = 0; t < T; t++) {
        near[t] = 0;
        /* only a learned top-k choice hinges on a logit order: route=balanced|zipf ignore the
         * logits, top-p crosses a threshold of p, k == E takes every expert */
        if (k >= E || s->topp > 0 || (s->route != MB_ROUTE_LEARNED && s->route != MB_ROUTE_HOT))
            continue;
        /* the k-th and (k+1)-th largest logits (p is monotone in z) */
        const double *zt = z + t * E;
        double kth = 0.0, next = -INFINITY;
        for (int64_t j = 0; j <= k; j++) {
            double best = -INFINITY;
            for (int64_t e = 0; e < E; e++) {
                int rank = 0;   /* experts ahead of e: larger z, ties to the lower index */
                for (int64_t o = 0; o < E; o++)
                    rank += zt[o] > zt[e] || (zt[o] == zt[e] && o < e);
                if (rank == j)
                    best = zt[e];
            }
            if (j == k - 1)
                kth = best;
            if (j == k)
                next = best;
        }
        near[t] = kth - next <= atol + rule->rtol * fabs(kth);
    }
    mb_free(z);
    mb_free(x);
    return MB_OK;
}
