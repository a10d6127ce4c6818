/* Naive reference of `router` (spec Part 1): top-k gating alone. The output Y [T, E] is the
 * dense combine matrix: w_te at the chosen experts, 0 elsewhere, so implementations can be
 * compared on it like any other output (0 where the capacity dropped the assignment); idx,
 * counts, L_aux and z-loss go to info->routing. */
#include "ref.h"

mb_status mb_ref_router(const mb_spec *s, const mb_weights *w, const mb_inputs *in, mb_tensor *y,
                        mb_forward_info *info, mb_err *err)
{
    const int64_t T = mb_spec_T(s), E = s->E, k = s->k;
    mb_status st = mb_ref_check_io(s, in, y, info, err);
    if (st != MB_OK)
        return st;
    const mb_ref_mat Wr = mb_ref_wmat(w, "Wr", 2, E, s->h, 0, err);
    if (!Wr.base)
        return MB_EINVAL;
    mb_routing rt;
    int owned = 0;
    st = mb_ref_mroute(s, mb_ref_tmat(&in->X, s->h), Wr, info, &rt, &owned, err);
    if (st != MB_OK)
        return st;
    double *Y = mb_alloc(sizeof(double) * (size_t)E);
    for (int64_t t = 0; Y && t < T; t++) {
        for (int64_t e = 0; e < E; e++)
            Y[e] = 0.0;
        /* a top-p slot left empty (-1) or an assignment the capacity dropped combines nothing */
        for (int64_t j = 0; j < k; j++)
            if (rt.idx[t * k + j] >= 0 && !rt.dropped[t * k + j])
                Y[rt.idx[t * k + j]] = rt.w[t * k + j];
        mb_ref_store_row(y, t, Y, E);   /* the f32 weights w, in Y's dtype */
    }
    if (!Y)
        st = mb_fail(err, MB_ENOMEM, "naive router: out of memory for a row");
    mb_free(Y);
    if (owned)
        mb_ref_routing_release(&rt);
    return st;
}
