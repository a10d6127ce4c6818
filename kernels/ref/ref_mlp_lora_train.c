/* Naive train step of `mlp_lora` (spec "Training step", Part 2 §2a): the gated MLP with a
 * dropped-out LoRA on gate, up (input X) and down (input H) projections; the three frozen
 * projections pass dX only. */
#include "ref.h"

mb_status mb_ref_mlp_lora_train(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                                mb_ref_step *st, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, f = s->f, r = s->r;
    mb_status rc = mb_rt_check(s, in, st, err);
    if (rc)
        return rc;
    const float *Wg = mb_ref_weight(w, "Wg", 2, f, h, 0, err);
    const float *Wu = Wg ? mb_ref_weight(w, "Wu", 2, f, h, 0, err) : NULL;
    const float *Wd = Wu ? mb_ref_weight(w, "Wd", 2, h, f, 0, err) : NULL;
    const float *Ag = Wd ? mb_ref_weight(w, "Ag", 2, r, h, 0, err) : NULL;
    const float *Bg = Ag ? mb_ref_weight(w, "Bg", 2, f, r, 0, err) : NULL;
    const float *Au = Bg ? mb_ref_weight(w, "Au", 2, r, h, 0, err) : NULL;
    const float *Bu = Au ? mb_ref_weight(w, "Bu", 2, f, r, 0, err) : NULL;
    const float *Ad = Bu ? mb_ref_weight(w, "Ad", 2, r, f, 0, err) : NULL;
    const float *Bd = Ad ? mb_ref_weight(w, "Bd", 2, h, r, 0, err) : NULL;
    if (!Bd)
        return MB_EINVAL;
    const double sc = (double)s->alpha / (double)r;
    const mb_rt_mlp m = {
        .g = { Wg, Ag, Bg, h, f, r, sc, MB_LORA_GATE, 0 },
        .u = { Wu, Au, Bu, h, f, r, sc, MB_LORA_UP, 0 },
        .d = { Wd, Ad, Bd, f, h, r, sc, MB_LORA_DOWN, 0 },
        .act = s->act,
    };
    mb_rt_pool P = { 0 };
    mb_rt_mlpsave sv = { 0 };
    double *X = mb_rt_widen(&P, mb_f32(&in->X), T * h);
    double *Y = mb_rt_new(&P, T * h);
    if (!P.failed)
        mb_rt_mlp_fwd(&P, s, &m, X, T, NULL, Y, &sv);
    if (!P.failed)
        mb_rt_finish_forward(st, Y, T * h);
    if (!P.failed && st->g) {
        double *G = mb_rt_widen(&P, st->dy, T * h), *dX = mb_rt_new(&P, T * h);
        mb_rt_pgrad gr[3] = {
            { mb_rt_new(&P, r * h), mb_rt_new(&P, f * r), NULL },
            { mb_rt_new(&P, r * h), mb_rt_new(&P, f * r), NULL },
            { mb_rt_new(&P, r * f), mb_rt_new(&P, h * r), NULL },
        };
        if (!P.failed)
            mb_rt_mlp_bwd(&P, &m, X, T, &sv, G, gr, dX);
        if (!P.failed && !(rc = mb_rt_store_grad(st->g, "Ag", gr[0].dA, r * h, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Bg", gr[0].dB, f * r, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Au", gr[1].dA, r * h, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Bu", gr[1].dB, f * r, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Ad", gr[2].dA, r * f, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Bd", gr[2].dB, h * r, err)))
            rc = mb_rt_finish_backward(s, w, st, dX, err);
    }
    if (P.failed && !rc)
        rc = mb_fail(err, MB_ENOMEM, "naive mlp_lora train: out of memory");
    mb_rt_pool_free(&P);
    return rc;
}
