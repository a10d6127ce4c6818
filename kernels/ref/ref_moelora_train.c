/* Naive train step of `moelora` (spec "Training step"): g_b = softmax(Emb[task_b] Wg^T) per
 * sequence; D_e = s (U A_e^T) B_e^T with U = X o M (one mask for the linear), s = alpha / r (the
 * total r); Y_t = X_t W^T + sum_e g_{b(t)e} D_e,t. Backward: expert e sees G scaled by g_{b(t)e};
 * gg_be = sum_{t in b} <G_t, D_e,t>; dlogit_b = g_b o (gg_b - <g_b, gg_b>); dWg += dlogit_b^T
 * Emb[task_b]; dEmb[task_b] += dlogit_b Wg (rows of absent tasks stay 0). */
#include "ref.h"

mb_status mb_ref_moelora_train(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                               mb_ref_step *st, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r, E = s->E;
    const int64_t nb = s->B, S = s->S, te = s->te, ntask = s->tasks;
    mb_status rc = mb_rt_check(s, in, st, err);
    if (rc)
        return rc;
    if (E < 1 || r % E != 0)
        return mb_fail(err, MB_EINVAL, "naive moelora train: r=%lld not divisible by E=%lld",
                       (long long)r, (long long)E);
    const int64_t re = r / E;
    const float *W = mb_ref_weight(w, "W", 2, o, h, 0, err);
    const float *A = W ? mb_ref_weight(w, "A", 3, E, re, h, err) : NULL;
    const float *B = A ? mb_ref_weight(w, "B", 3, E, o, re, err) : NULL;
    const float *Emb = B ? mb_ref_weight(w, "Emb", 2, ntask + 1, te, 0, err) : NULL;
    const float *Wg = Emb ? mb_ref_weight(w, "Wg", 2, E, te, 0, err) : NULL;
    if (!Wg)
        return MB_EINVAL;
    const int32_t *tid = mb_i32(&in->task);
    const double sc = (double)s->alpha / (double)r;
    mb_rt_pool P = { 0 };
    double *X = mb_rt_widen(&P, mb_f32(&in->X), T * h);
    double *Y = mb_rt_new(&P, T * o), *g = mb_rt_new(&P, nb * E), *D = mb_rt_new(&P, E * T * o);
    double *emb = mb_rt_new(&P, te), *lg = mb_rt_new(&P, E);
    mb_rt_projsave *sv = mb_alloc(sizeof *sv * (size_t)E);
    if (P.failed || !sv) {
        mb_free(sv);
        mb_rt_pool_free(&P);
        return mb_fail(err, MB_ENOMEM, "naive moelora train: out of memory");
    }
    for (int64_t b = 0; b < nb; b++) {
        float *z = (float *)lg;
        mb_ref_row(Emb + (int64_t)tid[b] * te, te, emb);
        mb_ref_logits(emb, te, Wg, E, z);
        mb_ref_softmax(z, E, g + b * E);
    }
    if (st->info && st->info->gate)
        for (int64_t i = 0; i < nb * E; i++)
            st->info->gate[i] = (float)g[i];
    mb_rt_mm_nt(X, T, h, W, o, 1.0, 0, Y);
    for (int64_t e = 0; e < E && !P.failed; e++) {
        const mb_rt_proj pj = { NULL, A + e * re * h, B + e * o * re, h, o, re, sc,
                                MB_LORA_MAIN, 0 };
        double *De = D + e * T * o;
        mb_rt_proj_fwd(&P, s, &pj, X, T, NULL, De, &sv[e]);
        for (int64_t t = 0; t < T; t++)
            for (int64_t i = 0; i < o; i++)
                Y[t * o + i] += g[(t / S) * E + e] * De[t * o + i];
    }
    if (!P.failed)
        mb_rt_finish_forward(st, Y, T * o);
    if (!P.failed && st->g) {
        double *G = mb_rt_widen(&P, st->dy, T * o), *Ge = mb_rt_new(&P, T * o);
        double *dX = mb_rt_new(&P, T * h), *dA = mb_rt_new(&P, E * re * h);
        double *dB = mb_rt_new(&P, E * o * re), *gg = mb_rt_new(&P, nb * E);
        double *dWg = mb_rt_new(&P, E * te), *dEmb = mb_rt_new(&P, (ntask + 1) * te);
        if (!P.failed)
            mb_rt_mm_nn(G, T, o, W, h, 1.0, dX);
        for (int64_t e = 0; e < E && !P.failed; e++) {
            const mb_rt_proj pj = { NULL, A + e * re * h, B + e * o * re, h, o, re, sc,
                                    MB_LORA_MAIN, 0 };
            for (int64_t t = 0; t < T; t++) {
                double d = 0.0;
                for (int64_t i = 0; i < o; i++) {
                    Ge[t * o + i] = g[(t / S) * E + e] * G[t * o + i];
                    d += G[t * o + i] * D[(e * T + t) * o + i];
                }
                gg[(t / S) * E + e] += d;
            }
            mb_rt_proj_bwd(&P, &pj, X, T, &sv[e], Ge, dA + e * re * h, dB + e * o * re, NULL, dX);
        }
        for (int64_t b = 0; b < nb && !P.failed; b++) {
            const double *gb = g + b * E, *ggb = gg + b * E;
            const int64_t task = tid[b];
            double pg = 0.0;
            for (int64_t e = 0; e < E; e++)
                pg += gb[e] * ggb[e];
            for (int64_t e = 0; e < E; e++) {
                const double dl = gb[e] * (ggb[e] - pg);   /* d logit_be */
                for (int64_t j = 0; j < te; j++) {
                    dWg[e * te + j] += dl * (double)Emb[task * te + j];
                    dEmb[task * te + j] += dl * (double)Wg[e * te + j];
                }
            }
        }
        if (!P.failed && !(rc = mb_rt_store_grad(st->g, "A", dA, E * re * h, err)) &&
            !(rc = mb_rt_store_grad(st->g, "B", dB, E * o * re, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Wg", dWg, E * te, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Emb", dEmb, (ntask + 1) * te, err)))
            rc = mb_rt_finish_backward(s, w, st, dX, err);
    }
    if (P.failed && !rc)
        rc = mb_fail(err, MB_ENOMEM, "naive moelora train: out of memory");
    mb_free(sv);
    mb_rt_pool_free(&P);
    return rc;
}
