/* Naive train step of `mixlora` (spec "Training step", Part 2 §6 backward, §8b-8d): every chosen
 * expert e runs the shared frozen gated MLP with its own three dropped-out LoRAs (masks keyed by
 * expert e and the token id); Y_t = sum_e w_te Y_e(X_t). share only changes how a faster
 * implementation groups the frozen products, not the math: the reference ignores it. Router:
 * gr_te = <dY_t, Y_e(X_t)> through the renormalised weights, plus aux L_aux and zloss L_z. */
#include "ref.h"

typedef struct {
    const float *Wg, *Wu, *Wd, *Ag, *Bg, *Au, *Bu, *Ad, *Bd;
    double *dAg, *dBg, *dAu, *dBu, *dAd, *dBd;
    int64_t h, f, r;
    double sc;
    mb_act act;
} mix_ctx;

static void mix_expert(const void *ctx, int64_t e, mb_rt_mlp *m, mb_rt_pgrad *gr)
{
    const mix_ctx *c = ctx;
    const int64_t h = c->h, f = c->f, r = c->r;
    const uint32_t ex = (uint32_t)e;
    m->g = (mb_rt_proj){ c->Wg, c->Ag + e * r * h, c->Bg + e * f * r, h, f, r, c->sc, MB_LORA_GATE, ex };
    m->u = (mb_rt_proj){ c->Wu, c->Au + e * r * h, c->Bu + e * f * r, h, f, r, c->sc, MB_LORA_UP, ex };
    m->d = (mb_rt_proj){ c->Wd, c->Ad + e * r * f, c->Bd + e * h * r, f, h, r, c->sc, MB_LORA_DOWN, ex };
    m->act = c->act;
    if (gr) {
        gr[0] = (mb_rt_pgrad){ c->dAg + e * r * h, c->dBg + e * f * r, NULL };
        gr[1] = (mb_rt_pgrad){ c->dAu + e * r * h, c->dBu + e * f * r, NULL };
        gr[2] = (mb_rt_pgrad){ c->dAd + e * r * f, c->dBd + e * h * r, NULL };
    }
}

mb_status mb_ref_mixlora_train(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                               mb_ref_step *st, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, f = s->f, r = s->r, E = s->E, k = s->k;
    mb_status rc = mb_rt_check(s, in, st, err);
    if (rc)
        return rc;
    mix_ctx c = { .h = h, .f = f, .r = r, .sc = (double)s->alpha / (double)r, .act = s->act };
    c.Wg = mb_ref_weight(w, "Wg", 2, f, h, 0, err);
    c.Wu = c.Wg ? mb_ref_weight(w, "Wu", 2, f, h, 0, err) : NULL;
    c.Wd = c.Wu ? mb_ref_weight(w, "Wd", 2, h, f, 0, err) : NULL;
    const float *Wr = c.Wd ? mb_ref_weight(w, "Wr", 2, E, h, 0, err) : NULL;
    c.Ag = Wr ? mb_ref_weight(w, "Ag", 3, E, r, h, err) : NULL;
    c.Bg = c.Ag ? mb_ref_weight(w, "Bg", 3, E, f, r, err) : NULL;
    c.Au = c.Bg ? mb_ref_weight(w, "Au", 3, E, r, h, err) : NULL;
    c.Bu = c.Au ? mb_ref_weight(w, "Bu", 3, E, f, r, err) : NULL;
    c.Ad = c.Bu ? mb_ref_weight(w, "Ad", 3, E, r, f, err) : NULL;
    c.Bd = c.Ad ? mb_ref_weight(w, "Bd", 3, E, h, r, err) : NULL;
    if (!c.Bd)
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
        mb_rt_moe_fwd(&P, s, &rt, X, ex, mix_expert, &c, Y);
    if (ex && !P.failed) {
        mb_rt_finish_forward(st, Y, T * h);
        st->loss += (double)s->aux * rt.aux + (double)s->zloss * rt.zl;
    }
    if (ex && !P.failed && st->g) {
        double *G = mb_rt_widen(&P, st->dy, T * h), *dX = mb_rt_new(&P, T * h);
        double *grw = mb_rt_new(&P, T * k), *dz = mb_rt_new(&P, T * E), *dWr = mb_rt_new(&P, E * h);
        c.dAg = mb_rt_new(&P, E * r * h);
        c.dBg = mb_rt_new(&P, E * f * r);
        c.dAu = mb_rt_new(&P, E * r * h);
        c.dBu = mb_rt_new(&P, E * f * r);
        c.dAd = mb_rt_new(&P, E * r * f);
        c.dBd = mb_rt_new(&P, E * h * r);
        if (!P.failed)
            mb_rt_moe_bwd(&P, s, &rt, X, ex, mix_expert, &c, G, grw, dX);
        if (!P.failed) {
            mb_rt_route_bwd(s, &rt, grw, dz);
            mb_rt_mm_tn(dz, T, E, X, h, 1.0, dWr);
            mb_rt_mm_nn(dz, T, E, Wr, h, 1.0, dX);
        }
        if (!P.failed && !(rc = mb_rt_store_grad(st->g, "Ag", c.dAg, E * r * h, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Bg", c.dBg, E * f * r, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Au", c.dAu, E * r * h, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Bu", c.dBu, E * f * r, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Ad", c.dAd, E * r * f, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Bd", c.dBd, E * h * r, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Wr", dWr, E * h, err)))
            rc = mb_rt_finish_backward(s, w, st, dX, err);
    }
    if ((P.failed || !ex) && !rc)
        rc = mb_fail(err, MB_ENOMEM, "naive mixlora train: out of memory");
    mb_free(ex);
    mb_rt_route_release(&rt);
    mb_rt_pool_free(&P);
    return rc;
}
