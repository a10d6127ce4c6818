/* Near ties of the top-k choice (compare.h: mb_routing_near_ties), computed on the reference's
 * side: logits z = X Wr^T in double from the stored (f32 or bf16) inputs, as the reference
 * routes. */
#include <math.h>
#include "ref.h"

/* Whether two neighbours among the top m logits of zt (experts other than `skip`; -1: none)
 * are within the tolerance: their order, and so the chosen set or its slot order, may flip
 * between implementations. Insertion into a sorted top m: O(E m), not a full sort. */
static int close_neighbours(const double *zt, int64_t E, int64_t m, int64_t skip, double atol,
                            double rtol, double *top)
{
    int64_t n = 0;
    for (int64_t e = 0; e < E; e++) {
        if (e == skip)
            continue;
        int64_t i = n < m ? n++ : m;
        if (i == m && !(zt[e] > top[m - 1]))
            continue;   /* ties keep the lower index ahead, as the router does */
        if (i == m)
            i = m - 1;
        while (i > 0 && zt[e] > top[i - 1]) {
            top[i] = top[i - 1];
            i--;
        }
        top[i] = zt[e];
    }
    for (int64_t j = 0; j + 1 < n; j++)
        if (top[j] - top[j + 1] <= atol + rtol * fabs(top[j]))
            return 1;
    return 0;
}

mb_status mb_routing_near_ties(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                               uint8_t *near, mb_err *err)
{
    const int64_t T = mb_spec_T(s), E = s->E, k = s->k, h = s->h;
    if (!mb_variant_routed(s->variant))
        return mb_fail(err, MB_EINVAL, "near ties: %s does not route", mb_variant_name(s->variant));
    const mb_tol_rule *rule = mb_tolerance_rule(s->dtype);
    if (!rule)
        return mb_fail(err, MB_EINVAL, "near ties: dtype %s has no tolerance rule",
                       mb_dtype_name(s->dtype));
    const mb_ref_mat Wr = mb_ref_wmat(w, "Wr", 2, E, h, 0, err);
    if (!Wr.base)
        return err->code != MB_OK ? err->code
                                  : mb_fail(err, MB_EINVAL, "near ties: no router weight Wr [E, h]");
    if (!in->X.data || mb_tensor_numel(&in->X) != T * h)
        return mb_fail(err, MB_EINVAL, "near ties: X is not [%lld, %lld]", (long long)T,
                       (long long)h);
    const mb_ref_mat X = mb_ref_tmat(&in->X, h);
    double *z = mb_alloc(sizeof(double) * (size_t)(T * E)), *x = mb_alloc(sizeof(double) * (size_t)h);
    double *top = mb_alloc(sizeof(double) * (size_t)(k + 1));
    if (!z || !x || !top) {
        mb_free(z);
        mb_free(x);
        mb_free(top);
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
        /* any close pair among the top k+1 (p is monotone in z): one at the k / k+1 boundary
         * changes the set, one inside the top k its slot order. A hot token takes expert 0 and
         * the best k-1 others, whose order is that of the logits without expert 0: both are
         * looked at, since which tokens are hot depends on the whole batch. */
        const double *zt = z + t * E;
        near[t] = close_neighbours(zt, E, k + 1, -1, atol, rule->rtol, top) ||
                  (s->route == MB_ROUTE_HOT &&
                   close_neighbours(zt, E, k, 0, atol, rule->rtol, top));
    }
    mb_free(z);
    mb_free(x);
    mb_free(top);
    return MB_OK;
}
