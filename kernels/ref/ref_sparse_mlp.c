/* Naive reference of `sparse_mlp` (spec Part 1): Y_t = sum_{e in top-k(t)} w_te MLP_e(X_t),
 * MLP_e(x) = (act(x Wg_e^T) * x Wu_e^T) Wd_e^T. Each expert has width fe = f (shard=0, Mixtral)
 * or f/E (shard=1, slices of one MLP); the weights are stored per expert either way.
 * Routing options: the experts a token computes are its chosen ones minus those the capacity
 * dropped; shared=n adds n gated MLPs of the same width (Wgs, Wus, Wds) with weight 1 after the
 * routed sum, as DeepSeekMoE adds its shared experts' output to the routed output. */
#include "ref.h"

mb_status mb_ref_sparse_mlp(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                            mb_tensor *y, mb_forward_info *info, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, E = s->E, k = s->k;
    const int64_t fe = mb_spec_expert_width(s);
    mb_status st = mb_ref_check_io(s, in, y, info, err);
    if (st != MB_OK)
        return st;
    const mb_ref_mat Wr = mb_ref_wmat(w, "Wr", 2, E, h, 0, err);
    const mb_ref_mat Wg = Wr.base ? mb_ref_wmat(w, "Wg", 3, E, fe, h, err) : Wr;
    const mb_ref_mat Wu = Wg.base ? mb_ref_wmat(w, "Wu", 3, E, fe, h, err) : Wg;
    const mb_ref_mat Wd = Wu.base ? mb_ref_wmat(w, "Wd", 3, E, h, fe, err) : Wu;
    if (!Wd.base)
        return MB_EINVAL;
    const int64_t ns = s->shared;
    mb_ref_mat Wgs = Wd, Wus = Wd, Wds = Wd;   /* unused without shared experts */
    if (ns > 0) {
        Wgs = mb_ref_wmat(w, "Wgs", 3, ns, fe, h, err);
        Wus = Wgs.base ? mb_ref_wmat(w, "Wus", 3, ns, fe, h, err) : Wgs;
        Wds = Wus.base ? mb_ref_wmat(w, "Wds", 3, ns, h, fe, err) : Wus;
        if (!Wds.base)
            return MB_EINVAL;
    }
    const mb_ref_mat X = mb_ref_tmat(&in->X, s->h);
    mb_routing rt;
    int owned = 0;
    st = mb_ref_mroute(s, X, Wr, info, &rt, &owned, err);
    if (st != MB_OK)
        return st;

    int failed = 0;
#pragma omp parallel if (T > 1)
    {
        double *buf = mb_alloc(sizeof(double) * (size_t)(2 * h + 2 * fe + k) + sizeof(int32_t) * (size_t)k);
        if (!buf) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t t = 0; t < T; t++) {
            if (!buf)
                continue;
            double *x = buf, *g = x + h, *u = g + fe, *acc = u + fe, *wsel = acc + h;
            int32_t *esel = (int32_t *)(wsel + k);
            mb_ref_mrow(X, t, x);
            const int64_t n = mb_ref_sorted_choice(&rt, t, esel, wsel);
            for (int64_t i = 0; i < h; i++)
                acc[i] = 0.0;
            for (int64_t j = 0; j < n; j++) {
                const int64_t e = esel[j];
                mb_ref_mlinear(x, h, mb_ref_mat_rows(Wg, e * fe), fe, g);
                mb_ref_mlinear(x, h, mb_ref_mat_rows(Wu, e * fe), fe, u);
                for (int64_t q = 0; q < fe; q++)
                    g[q] = mb_act_apply(s->act, g[q]) * u[q];
                mb_ref_mlinear_acc(g, fe, mb_ref_mat_rows(Wd, e * h), h, wsel[j], acc);
            }
            for (int64_t e = 0; e < ns; e++) {   /* shared experts, weight 1 */
                mb_ref_mlinear(x, h, mb_ref_mat_rows(Wgs, e * fe), fe, g);
                mb_ref_mlinear(x, h, mb_ref_mat_rows(Wus, e * fe), fe, u);
                for (int64_t q = 0; q < fe; q++)
                    g[q] = mb_act_apply(s->act, g[q]) * u[q];
                mb_ref_mlinear_acc(g, fe, mb_ref_mat_rows(Wds, e * h), h, 1.0, acc);
            }
            mb_ref_store_row(y, t, acc, h);   /* Y in its dtype (bf16: rounded once) */
        }
        mb_free(buf);
    }
    if (owned)
        mb_ref_routing_release(&rt);
    if (failed)
        return mb_fail(err, MB_ENOMEM, "naive sparse_mlp: out of memory for row scratch");
    return MB_OK;
}
