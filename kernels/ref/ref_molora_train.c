/* Naive train step of `molora` (spec "Training step"): p_t = softmax(X_t Wr^T) (fp32 logits),
 * D_e = s (U A_e^T) B_e^T with U = X o M (one mask for the linear: every expert reads the same
 * dropped X), Y = X W^T + sum_e p_e o D_e. Backward: expert e sees G scaled by p_te;
 * gp_te = <G_t, D_e,t>; dz_t = p_t o (gp_t - <p_t, gp_t>) (softmax); dWr = dz^T X;
 * dX = G W + sum_e (dZ_e A_e) o M + dz Wr. */
#include "ref.h"

mb_status mb_ref_molora_train(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                              mb_ref_step *st, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r, E = s->E;
    mb_status rc = mb_rt_check(s, in, st, err);
    if (rc)
        return rc;
    const float *W = mb_ref_weight(w, "W", 2, o, h, 0, err);
    const float *Wr = W ? mb_ref_weight(w, "Wr", 2, E, h, 0, err) : NULL;
    const float *A = Wr ? mb_ref_weight(w, "A", 3, E, r, h, err) : NULL;
    const float *B = A ? mb_ref_weight(w, "B", 3, E, o, r, err) : NULL;
    if (!B)
        return MB_EINVAL;
    const double sc = (double)s->alpha / (double)r;
    mb_rt_pool P = { 0 };
    const float *Xf = mb_f32(&in->X);
    double *X = mb_rt_widen(&P, Xf, T * h);
    double *Y = mb_rt_new(&P, T * o), *p = mb_rt_new(&P, T * E), *D = mb_rt_new(&P, E * T * o);
    double *lg = mb_rt_new(&P, E);
    mb_rt_projsave *sv = mb_alloc(sizeof *sv * (size_t)E);
    if (P.failed || !sv) {
        mb_free(sv);
        mb_rt_pool_free(&P);
        return mb_fail(err, MB_ENOMEM, "naive molora train: out of memory");
    }
    for (int64_t t = 0; t < T; t++) {
        float *z = (float *)lg;
        mb_ref_logits(X + t * h, h, Wr, E, z);
        mb_ref_softmax(z, E, p + t * E);
    }
    if (st->info && st->info->gate)
        for (int64_t i = 0; i < T * E; i++)
            st->info->gate[i] = (float)p[i];
    mb_rt_mm_nt(X, T, h, W, o, 1.0, 0, Y);
    for (int64_t e = 0; e < E && !P.failed; e++) {
        const mb_rt_proj pj = { NULL, A + e * r * h, B + e * o * r, h, o, r, sc, MB_LORA_MAIN, 0 };
        double *De = D + e * T * o;
        mb_rt_proj_fwd(&P, s, &pj, X, T, NULL, De, &sv[e]);
        for (int64_t t = 0; t < T; t++)
            for (int64_t i = 0; i < o; i++)
                Y[t * o + i] += p[t * E + e] * De[t * o + i];
    }
    if (!P.failed)
        mb_rt_finish_forward(st, Y, T * o);
    if (!P.failed && st->g) {
        double *G = mb_rt_widen(&P, st->dy, T * o), *Ge = mb_rt_new(&P, T * o);
        double *dX = mb_rt_new(&P, T * h), *dA = mb_rt_new(&P, E * r * h);
        double *dB = mb_rt_new(&P, E * o * r), *gp = mb_rt_new(&P, T * E);
        double *dz = mb_rt_new(&P, T * E), *dWr = mb_rt_new(&P, E * h);
        if (!P.failed)
            mb_rt_mm_nn(G, T, o, W, h, 1.0, dX);   /* frozen W: dX only */
        for (int64_t e = 0; e < E && !P.failed; e++) {
            const mb_rt_proj pj = { NULL, A + e * r * h, B + e * o * r, h, o, r, sc,
                                    MB_LORA_MAIN, 0 };
            for (int64_t t = 0; t < T; t++) {
                double d = 0.0;
                for (int64_t i = 0; i < o; i++) {
                    Ge[t * o + i] = p[t * E + e] * G[t * o + i];
                    d += G[t * o + i] * D[(e * T + t) * o + i];
                }
                gp[t * E + e] = d;
            }
            mb_rt_proj_bwd(&P, &pj, X, T, &sv[e], Ge, dA + e * r * h, dB + e * o * r, NULL, dX);
        }
        if (!P.failed) {
            for (int64_t t = 0; t < T; t++) {
                double pg = 0.0;
                for (int64_t e = 0; e < E; e++)
                    pg += p[t * E + e] * gp[t * E + e];
                for (int64_t e = 0; e < E; e++)
                    dz[t * E + e] = p[t * E + e] * (gp[t * E + e] - pg);
            }
            mb_rt_mm_tn(dz, T, E, X, h, 1.0, dWr);
            mb_rt_mm_nn(dz, T, E, Wr, h, 1.0, dX);
        }
        if (!P.failed && !(rc = mb_rt_store_grad(st->g, "A", dA, E * r * h, err)) &&
            !(rc = mb_rt_store_grad(st->g, "B", dB, E * o * r, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Wr", dWr, E * h, err)))
            rc = mb_rt_finish_backward(s, w, st, dX, err);
    }
    if (P.failed && !rc)
        rc = mb_fail(err, MB_ENOMEM, "naive molora train: out of memory");
    mb_free(sv);
    mb_rt_pool_free(&P);
    return rc;
}
