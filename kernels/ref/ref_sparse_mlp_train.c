/* Naive train step of `sparse_mlp` (spec "Training step"): full training of the MoE block, no
 * adapter: every expert's Wg_e, Wu_e, Wd_e get gradients (dW = G^T In over the expert's
 * tokens) and the router Wr through the renormalised weights, plus aux L_aux and zloss L_z.
 * No dropout (no LoRA; validation refuses p > 0). */
#include "ref.h"

typedef struct {
    const float *Wg, *Wu, *Wd;
    double *dWg, *dWu, *dWd;
    int64_t h, fe;
    mb_act act;
} smlp_ctx;

static void smlp_expert(const void *ctx, int64_t e, mb_rt_mlp *m, mb_rt_pgrad *gr)
{
    const smlp_ctx *c = ctx;
    const int64_t h = c->h, fe = c->fe;
    m->g = (mb_rt_proj){ c->Wg + e * fe * h, NULL, NULL, h, fe, 0, 0.0, MB_LORA_GATE, 0 };
    m->u = (mb_rt_proj){ c->Wu + e * fe * h, NULL, NULL, h, fe, 0, 0.0, MB_LORA_UP, 0 };
    m->d = (mb_rt_proj){ c->Wd + e * h * fe, NULL, NULL, fe, h, 0, 0.0, MB_LORA_DOWN, 0 };
    m->act = c->act;
    if (gr) {
        gr[0] = (mb_rt_pgrad){ NULL, NULL, c->dWg + e * fe * h };
        gr[1] = (mb_rt_pgrad){ NULL, NULL, c->dWu + e * fe * h };
        gr[2] = (mb_rt_pgrad){ NULL, NULL, c->dWd + e * h * fe };
    }
}

mb_status mb_ref_sparse_mlp_train(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                                  mb_ref_step *st, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, E = s->E, k = s->k;
    mb_status rc = mb_rt_check(s, in, st, err);
    if (rc)
        return rc;
    const int64_t fe = mb_spec_expert_width(s);
    smlp_ctx c = { .h = h, .fe = fe, .act = s->act };
    const float *Wr = mb_ref_weight(w, "Wr", 2, E, h, 0, err);
    c.Wg = Wr ? mb_ref_weight(w, "Wg", 3, E, fe, h, err) : NULL;
    c.Wu = c.Wg ? mb_ref_weight(w, "Wu", 3, E, fe, h, err) : NULL;
    c.Wd = c.Wu ? mb_ref_weight(w, "Wd", 3, E, h, fe, err) : NULL;
    if (!c.Wd)
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
    mb_rt_expert *ex = mb_alloc(sizeof *ex * (size_t)E);
    double *X = mb_rt_widen(&P, Xf, T * h), *Y = mb_rt_new(&P, T * h);
    if (ex && !P.failed)
        mb_rt_moe_fwd(&P, s, &rt, X, ex, smlp_expert, &c, Y);
    if (ex && !P.failed) {
        mb_rt_finish_forward(st, Y, T * h);
        st->loss += (double)s->aux * rt.aux + (double)s->zloss * rt.zl;
    }
    if (ex && !P.failed && st->g) {
        double *G = mb_rt_widen(&P, st->dy, T * h), *dX = mb_rt_new(&P, T * h);
        double *grw = mb_rt_new(&P, T * k), *dz = mb_rt_new(&P, T * E), *dWr = mb_rt_new(&P, E * h);
        c.dWg = mb_rt_new(&P, E * fe * h);
        c.dWu = mb_rt_new(&P, E * fe * h);
        c.dWd = mb_rt_new(&P, E * h * fe);
        if (!P.failed)
            mb_rt_moe_bwd(&P, s, &rt, X, ex, smlp_expert, &c, G, grw, dX);
        if (!P.failed) {
            mb_rt_route_bwd(s, &rt, grw, dz);
            mb_rt_mm_tn(dz, T, E, X, h, 1.0, dWr);
            mb_rt_mm_nn(dz, T, E, Wr, h, 1.0, dX);
        }
        if (!P.failed && !(rc = mb_rt_store_grad(st->g, "Wr", dWr, E * h, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Wg", c.dWg, E * fe * h, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Wu", c.dWu, E * fe * h, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Wd", c.dWd, E * h * fe, err)))
            rc = mb_rt_finish_backward(s, w, st, dX, err);
    }
    if ((P.failed || !ex) && !rc)
        rc = mb_fail(err, MB_ENOMEM, "naive sparse_mlp train: out of memory");
    mb_free(ex);
    mb_rt_route_release(&rt);
    mb_rt_pool_free(&P);
    return rc;
}
