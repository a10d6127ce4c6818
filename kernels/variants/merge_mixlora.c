/* merged mixlora: the only exact merge materialises E expert MLPs (each projection W + s B_e A_e)
 * and runs them as a sparse_mlp with E full-width experts: E x the base MLP memory, owned by the
 * state so the harness sees it. The share mode does not matter once merged. Shared LoRA experts
 * (shared=n) materialise the same way, as the n shared experts of that sparse_mlp. */
#include <stdio.h>
#include "merge.h"

mb_status mb_merge_mixlora(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                           const mb_variant_ops **ops, void **priv, mb_err *err)
{
    const int64_t h = s->h, f = s->f, r = s->r, E = s->E, ns = s->shared, hf = h * f;
    const float sc = s->alpha / (float)r;
    const float *Wr = mb_vw(w, "Wr", E * h, err);
    if (!Wr) return err ? err->code : MB_EINVAL;
    float *all = NULL;
    int64_t n;
    const int64_t ne = E + ns;   /* routed, then shared experts */
    if (mb_mul_i64(3 * ne, hf, &n) != 0) return mb_fail(err, MB_ENOMEM, "merged experts overflow");
    mb_status rc = mb_valloc(&all, n, err);
    for (int p = 0; p < 3 && rc == MB_OK; p++) {
        const int64_t dout = mb_mlp_dout(p, h, f), din = mb_mlp_din(p, h, f);
        char an[8], bn[8];
        snprintf(an, sizeof an, "%ss", mb_mlp_names[p][1]);
        snprintf(bn, sizeof bn, "%ss", mb_mlp_names[p][2]);
        const float *W = mb_vw(w, mb_mlp_names[p][0], hf, err);
        const float *A = W ? mb_vw(w, mb_mlp_names[p][1], E * r * din, err) : NULL;
        const float *B = A ? mb_vw(w, mb_mlp_names[p][2], E * dout * r, err) : NULL;
        const float *As = B && ns ? mb_vw(w, an, ns * r * din, err) : NULL;
        const float *Bs = As ? mb_vw(w, bn, ns * dout * r, err) : NULL;
        if (!B || (ns && !Bs)) { rc = err ? err->code : MB_EINVAL; break; }
        for (int64_t e = 0; e < ne && rc == MB_OK; e++) {
            const float *Ae = e < E ? A + e * r * din : As + (e - E) * r * din;
            const float *Be = e < E ? B + e * dout * r : Bs + (e - E) * dout * r;
            rc = mb_merge_linear_into(gp, W, Ae, Be, dout, din, r, sc, all + (p * ne + e) * hf,
                                      err);
        }
    }
    if (rc == MB_OK)
        rc = mb_sparse_mlp_prepare_raw(gp, s, Wr, all, all + ne * hf, all + 2 * ne * hf, f, priv,
                                       err);
    if (rc != MB_OK) { mb_free(all); return rc; }
    mb_sparse_mlp_own(*priv, all);
    *ops = &mb_var_sparse_mlp;
    return MB_OK;
}
