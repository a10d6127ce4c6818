/* mlp_lora, training step. Forward keeps G and U (before the activation), H = act(G) .* U, and
 * the three LoRAs' Z (and their dropped inputs when p > 0); backward: dH = dY Wd (gemm_nn) +
 * down-LoRA term, dG = dH .* U .* act'(G), dU = dH .* act(G), dX = dG Wg + dU Wu (gemm_nn) +
 * gate/up LoRA terms; the six adapter gradients from the saved Z (spec Part 2 §1, §2a). */
#include "variants_train.h"

typedef struct {
    const mb_gemm_provider *gp;
    mb_spec s;
    int64_t T, h, f, r;
    float sc;
    mb_gemm_weight *Wg, *Wu, *Wd;
    const float *Ag, *Bg, *Au, *Bu, *Ad, *Bd;
    float *dH, *dG, *dU, *dZ, *tmp;
} mt_st;

static void mt_release(void *p)
{
    mt_st *st = p;
    if (!st) return;
    mb_vrelease(st->gp, &st->Wg);
    mb_vrelease(st->gp, &st->Wu);
    mb_vrelease(st->gp, &st->Wd);
    float *b[] = { st->dH, st->dG, st->dU, st->dZ, st->tmp };
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) mb_free(b[i]);
    mb_free(st);
}

static mb_status mt_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                            void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, f = s->f, r = s->r;
    const float *Wg = mb_vw(w, "Wg", f * h, err), *Wu = Wg ? mb_vw(w, "Wu", f * h, err) : NULL;
    const float *Wd = Wu ? mb_vw(w, "Wd", h * f, err) : NULL;
    const float *Ag = Wd ? mb_vw(w, "Ag", r * h, err) : NULL;
    const float *Bg = Ag ? mb_vw(w, "Bg", f * r, err) : NULL;
    const float *Au = Bg ? mb_vw(w, "Au", r * h, err) : NULL;
    const float *Bu = Au ? mb_vw(w, "Bu", f * r, err) : NULL;
    const float *Ad = Bu ? mb_vw(w, "Ad", r * f, err) : NULL;
    const float *Bd = Ad ? mb_vw(w, "Bd", h * r, err) : NULL;
    if (!Bd) return err ? err->code : MB_EINVAL;
    mt_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->s = *s; st->T = T; st->h = h; st->f = f; st->r = r;
    st->sc = s->alpha / (float)r;
    st->Ag = Ag; st->Bg = Bg; st->Au = Au; st->Bu = Bu; st->Ad = Ad; st->Bd = Bd;
    mb_status rc = mb_vprep_train(gp, Wg, f, h, T, &st->Wg, err);
    if (rc == MB_OK) rc = mb_vprep_train(gp, Wu, f, h, T, &st->Wu, err);
    if (rc == MB_OK) rc = mb_vprep_train(gp, Wd, h, f, T, &st->Wd, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->dH, T, f, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->dG, T, f, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->dU, T, f, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->dZ, T, r, err);
    if (rc == MB_OK && s->p > 0.0f) rc = mb_valloc2(&st->tmp, T, h > f ? h : f, err);
    if (rc != MB_OK) { mt_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

/* The dropped copy of In [T, d] for LoRA `lora` when p > 0 (saved as name), else In. */
static const float *dropped(mt_st *st, mb_saved *s, const char *name, uint32_t lora,
                            const float *In, int64_t d, mb_err *err)
{
    if (st->s.p == 0.0f) return In;
    float *o = mb_tslot(&s->act, name, st->T * d, err);
    if (o) mb_vdrop_rows(&st->s, lora, 0, NULL, In, st->T, d, o);
    return o;
}

static mb_status mt_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                            mb_saved *sv, mb_err *err)
{
    (void)info;
    mt_st *st = p;
    const int64_t T = st->T, h = st->h, f = st->f, r = st->r;
    mb_saved local = { { 0 } };
    mb_saved *s = sv ? sv : &local;
    const float *X = mb_f32(&in->X);
    float *G = mb_tslot(&s->act, "G", T * f, err);
    float *U = G ? mb_tslot(&s->act, "U", T * f, err) : NULL;
    float *H = U ? mb_tslot(&s->act, "H", T * f, err) : NULL;
    float *Zg = H ? mb_tslot(&s->act, "Zg", T * r, err) : NULL;
    float *Zu = Zg ? mb_tslot(&s->act, "Zu", T * r, err) : NULL;
    float *Zd = Zu ? mb_tslot(&s->act, "Zd", T * r, err) : NULL;
    const float *Xg = Zd ? dropped(st, s, "Xg", MB_LORA_GATE, X, h, err) : NULL;
    const float *Xu = Xg ? dropped(st, s, "Xu", MB_LORA_UP, X, h, err) : NULL;
    mb_status rc = Xu ? MB_OK : err->code;
    if (rc == MB_OK) rc = mb_vgemm(st->gp, st->Wg, T, h, X, 0.0f, G, f, err);
    if (rc == MB_OK) rc = mb_tlora_fwd(st->gp, T, h, f, r, st->sc, Xg, st->Ag, st->Bg, Zg, G, err);
    if (rc == MB_OK) rc = mb_vgemm(st->gp, st->Wu, T, h, X, 0.0f, U, f, err);
    if (rc == MB_OK) rc = mb_tlora_fwd(st->gp, T, h, f, r, st->sc, Xu, st->Au, st->Bu, Zu, U, err);
    if (rc == MB_OK) {
        mb_vglu_fwd(st->s.act, G, U, T * f, H);
        const float *Hd = dropped(st, s, "Hd", MB_LORA_DOWN, H, f, err);
        rc = Hd ? mb_vgemm(st->gp, st->Wd, T, f, H, 0.0f, mb_f32(y), h, err) : err->code;
        if (rc == MB_OK)
            rc = mb_tlora_fwd(st->gp, T, f, h, r, st->sc, Hd, st->Ad, st->Bd, Zd, mb_f32(y), err);
    }
    if (!sv) mb_weights_free(&local.act);
    return rc;
}

static mb_status mt_backward(void *p, const mb_inputs *in, const mb_saved *sv,
                             const mb_tensor *dy, mb_grads *g, mb_err *err)
{
    mt_st *st = p;
    const int64_t T = st->T, h = st->h, f = st->f, r = st->r;
    const int drop = st->s.p > 0.0f;
    const float *dY = mb_f32(dy), *X = mb_f32(&in->X);
    const float *G = mb_tsaved(sv, "G", T * f, err);
    const float *U = G ? mb_tsaved(sv, "U", T * f, err) : NULL;
    const float *H = U ? mb_tsaved(sv, "H", T * f, err) : NULL;
    const float *Zg = H ? mb_tsaved(sv, "Zg", T * r, err) : NULL;
    const float *Zu = Zg ? mb_tsaved(sv, "Zu", T * r, err) : NULL;
    const float *Zd = Zu ? mb_tsaved(sv, "Zd", T * r, err) : NULL;
    const float *Xg = Zd ? (drop ? mb_tsaved(sv, "Xg", T * h, err) : X) : NULL;
    const float *Xu = Xg ? (drop ? mb_tsaved(sv, "Xu", T * h, err) : X) : NULL;
    const float *Hd = Xu ? (drop ? mb_tsaved(sv, "Hd", T * f, err) : H) : NULL;
    float *dX = Hd ? mb_tdx(g, T, h, err) : NULL;
    float *dAg = dX ? mb_tslot(&g->dW, "Ag", r * h, err) : NULL;
    float *dBg = dAg ? mb_tslot(&g->dW, "Bg", f * r, err) : NULL;
    float *dAu = dBg ? mb_tslot(&g->dW, "Au", r * h, err) : NULL;
    float *dBu = dAu ? mb_tslot(&g->dW, "Bu", f * r, err) : NULL;
    float *dAd = dBu ? mb_tslot(&g->dW, "Ad", r * f, err) : NULL;
    float *dBd = dAd ? mb_tslot(&g->dW, "Bd", h * r, err) : NULL;
    if (!dBd) return err->code;
    const mb_gemm_provider *gp = st->gp;
    mb_status rc = mb_vnn(gp, st->Wd, T, dY, h, 0.0f, st->dH, f, err);
    if (rc == MB_OK)
        rc = mb_tlora_bwd(gp, &st->s, MB_LORA_DOWN, 0, NULL, T, f, h, r, st->sc, dY, Hd, Zd,
                          st->Ad, st->Bd, dAd, dBd, 0.0f, st->dZ, st->tmp, st->dH, 1.0f, err);
    if (rc != MB_OK) return rc;
    mb_vglu_backward(st->s.act, G, U, st->dH, T * f, st->dG, st->dU);
    rc = mb_vnn(gp, st->Wg, T, st->dG, f, 0.0f, dX, h, err);
    if (rc == MB_OK) rc = mb_vnn(gp, st->Wu, T, st->dU, f, 1.0f, dX, h, err);
    if (rc == MB_OK)
        rc = mb_tlora_bwd(gp, &st->s, MB_LORA_GATE, 0, NULL, T, h, f, r, st->sc, st->dG, Xg, Zg,
                          st->Ag, st->Bg, dAg, dBg, 0.0f, st->dZ, st->tmp, dX, 1.0f, err);
    if (rc == MB_OK)
        rc = mb_tlora_bwd(gp, &st->s, MB_LORA_UP, 0, NULL, T, h, f, r, st->sc, st->dU, Xu, Zu,
                          st->Au, st->Bu, dAu, dBu, 0.0f, st->dZ, st->tmp, dX, 1.0f, err);
    return rc;
}

const mb_variant_train_ops mb_train_mlp_lora = { mt_prepare, mt_forward, mt_backward,
                                                 mt_release };
