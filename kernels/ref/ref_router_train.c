/* Naive train step of `router` (spec "Training step"): Y [T, E] is the dense combine matrix
 * (w_te at the chosen experts, 0 elsewhere), so L = sum(Y o dY) + aux L_aux + zloss L_z and
 * dL/dw_tj = dY[t, idx_tj]; dz by §8b-8d, dWr = dz^T X, dX = dz Wr. */
#include "ref.h"

mb_status mb_ref_router_train(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                              mb_ref_step *st, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, E = s->E, k = s->k;
    mb_status rc = mb_rt_check(s, in, st, err);
    if (rc)
        return rc;
    const float *Wr = mb_ref_weight(w, "Wr", 2, E, h, 0, err);
    if (!Wr)
        return MB_EINVAL;
    mb_rt_pool P = { 0 };
    mb_rt_route rt;
    const float *Xf = mb_f32(&in->X);
    rc = mb_rt_route_fwd(&P, s, Xf, Wr, st->info, &rt, err);
    if (rc) {
        mb_rt_route_release(&rt);
        mb_rt_pool_free(&P);
        return rc;
    }
    double *Y = mb_rt_new(&P, T * E);
    if (!P.failed) {
        for (int64_t t = 0; t < T; t++)
            for (int64_t j = 0; j < k; j++)
                Y[t * E + rt.idx[t * k + j]] = rt.w[t * k + j];
        mb_rt_finish_forward(st, Y, T * E);
        st->loss += (double)s->aux * rt.aux + (double)s->zloss * rt.zl;
    }
    if (!P.failed && st->g) {
        double *X = mb_rt_widen(&P, Xf, T * h), *dX = mb_rt_new(&P, T * h);
        double *grw = mb_rt_new(&P, T * k), *dz = mb_rt_new(&P, T * E), *dWr = mb_rt_new(&P, E * h);
        if (!P.failed) {
            for (int64_t t = 0; t < T; t++)
                for (int64_t j = 0; j < k; j++)
                    grw[t * k + j] = (double)st->dy[t * E + rt.idx[t * k + j]];
            mb_rt_route_bwd(s, &rt, grw, dz);
            mb_rt_mm_tn(dz, T, E, X, h, 1.0, dWr);
            mb_rt_mm_nn(dz, T, E, Wr, h, 1.0, dX);
        }
        if (!P.failed && !(rc = mb_rt_store_grad(st->g, "Wr", dWr, E * h, err)))
            rc = mb_rt_finish_backward(s, w, st, dX, err);
    }
    if (P.failed && !rc)
        rc = mb_fail(err, MB_ENOMEM, "naive router train: out of memory");
    mb_rt_route_release(&rt);
    mb_rt_pool_free(&P);
    return rc;
}
