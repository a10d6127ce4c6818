/* mixlora, training step, following the forward's share mode (spec Part 1):
 *   none:    X Wg^T, X Wu^T and H_e Wd^T per expert; backward dX[tok] += dG_e Wg + dU_e Wu and
 *            dY[tok] Wd per expert;
 *   gate_up: X Wg^T, X Wu^T once; backward scatters dG_e, dU_e into dG0, dU0 [T, f] and runs
 *            dX = dG0 Wg + dU0 Wu once; dY[tok] Wd per expert;
 *   all:     also the down projection once (Hs = sum_e w_e H_e); backward D = dY Wd once.
 * Kept per assignment in group order (saved [T*k, .]): G and U (before the activation, LoRA
 * terms included) and the three LoRAs' Z (plus their dropped inputs when p > 0); H is
 * recomputed from G and U. The gate and up LoRAs read the same rows when p = 0, so their A
 * are stacked per expert ([Ag_e; Au_e], 2r x h, copied each step: A is trainable) and Zg, Zu
 * kept side by side ("Zgu", [T*k, 2r]): one GEMM for both Z forward, one for dA and one for
 * the dX term backward. The router's gr_te = <dY_t, Y_e> = <dY_t Wd, H_e> + <s dY_t Bd_e,
 * Zd_e> needs no saved expert output. */
#include <string.h>
#include "variants_train.h"

typedef struct {
    const mb_gemm_provider *gp;
    mb_spec s;
    int64_t T, h, f, r, E, k;
    float sc;
    mb_trouter tr;
    mb_gemm_weight *Wg, *Wu, *Wd;
    const float *Ag, *Bg, *Au, *Bu, *Ad, *Bd;
    float *G0, *U0, *Hs;                        /* [T,f] shared modes (forward) */
    float *Xe, *He, *Ye, *Dg, *dG, *dU, *dXe, *dZ, *ws, *tmp, *D;
    float *Lb, *Zw, *grl;                       /* backward: see mx_backward */
    float *Agu, *dAgu, *dZgu;                   /* [2r, h], [2r, h], [T, 2r]: stacked LoRAs */
    unsigned char *seen;                        /* [T] shared modes: dG0 row written yet */
} mx_st;

static void mx_release(void *p)
{
    mx_st *st = p;
    if (!st) return;
    mb_vrelease(st->gp, &st->Wg);
    mb_vrelease(st->gp, &st->Wu);
    mb_vrelease(st->gp, &st->Wd);
    mb_trouter_free(&st->tr, st->gp);
    float *b[] = { st->G0, st->U0, st->Hs, st->Xe, st->He, st->Ye, st->Dg, st->dG, st->dU,
                   st->dXe, st->dZ, st->ws, st->tmp, st->D, st->Lb, st->Zw, st->grl,
                   st->Agu, st->dAgu, st->dZgu };
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) mb_free(b[i]);
    mb_free(st->seen);
    mb_free(st);
}

static mb_status mx_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                            void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, f = s->f, r = s->r, E = s->E, k = s->k;
    const float *Wg = mb_vw(w, "Wg", f * h, err), *Wu = Wg ? mb_vw(w, "Wu", f * h, err) : NULL;
    const float *Wd = Wu ? mb_vw(w, "Wd", h * f, err) : NULL;
    const float *Wr = Wd ? mb_vw(w, "Wr", E * h, err) : NULL;
    const float *Ag = Wr ? mb_vw(w, "Ag", E * r * h, err) : NULL;
    const float *Bg = Ag ? mb_vw(w, "Bg", E * f * r, err) : NULL;
    const float *Au = Bg ? mb_vw(w, "Au", E * r * h, err) : NULL;
    const float *Bu = Au ? mb_vw(w, "Bu", E * f * r, err) : NULL;
    const float *Ad = Bu ? mb_vw(w, "Ad", E * r * f, err) : NULL;
    const float *Bd = Ad ? mb_vw(w, "Bd", E * h * r, err) : NULL;
    if (!Bd) return err ? err->code : MB_EINVAL;
    mx_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->s = *s; st->T = T; st->h = h; st->f = f; st->r = r; st->E = E; st->k = k;
    st->sc = s->alpha / (float)r;
    st->Ag = Ag; st->Bg = Bg; st->Au = Au; st->Bu = Bu; st->Ad = Ad; st->Bd = Bd;
    const int64_t m_exp = (T * k + E - 1) / E;
    const int shared_gu = s->share != MB_SHARE_NONE, shared_d = s->share == MB_SHARE_ALL;
    mb_status rc = mb_trouter_init(&st->tr, gp, Wr, T, h, E, k, err);
    if (rc == MB_OK) rc = mb_vprep_train(gp, Wg, f, h, shared_gu ? T : m_exp, &st->Wg, err);
    if (rc == MB_OK) rc = mb_vprep_train(gp, Wu, f, h, shared_gu ? T : m_exp, &st->Wu, err);
    if (rc == MB_OK) rc = mb_vprep_train(gp, Wd, h, f, shared_d ? T : m_exp, &st->Wd, err);
    if (rc == MB_OK && shared_gu) rc = mb_valloc2(&st->G0, T, f, err);
    if (rc == MB_OK && shared_gu) rc = mb_valloc2(&st->U0, T, f, err);
    if (rc == MB_OK && shared_d) rc = mb_valloc2(&st->Hs, T, f, err);
    if (rc == MB_OK && shared_d) rc = mb_valloc2(&st->D, T, f, err);
    float **hb[] = { &st->Xe, &st->Ye, &st->dXe };
    float **fb[] = { &st->He, &st->Dg, &st->dG, &st->dU };
    for (size_t i = 0; rc == MB_OK && i < 3; i++) rc = mb_valloc2(hb[i], T, h, err);
    for (size_t i = 0; rc == MB_OK && i < 4; i++) rc = mb_valloc2(fb[i], T, f, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->dZ, T, r, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Zw, T, r, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Agu, 2 * r, h, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->dAgu, 2 * r, h, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->dZgu, T, 2 * r, err);
    if (rc == MB_OK) rc = mb_valloc(&st->grl, T, err);
    if (rc == MB_OK && !shared_d) rc = mb_valloc2(&st->Lb, T, f, err);
    if (rc == MB_OK && shared_gu && !(st->seen = mb_alloc((size_t)T)))
        rc = mb_fail(err, MB_ENOMEM, "out of memory");
    if (rc == MB_OK) rc = mb_valloc(&st->ws, T, err);
    if (rc == MB_OK && s->p > 0.0f) rc = mb_valloc2(&st->tmp, T, h > f ? h : f, err);
    if (rc != MB_OK) { mx_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

/* The dropped rows In (n x d) of LoRA lora, expert e, into the saved slot (p > 0), else In. */
static const float *dropped(mx_st *st, float *slot, uint32_t lora, int64_t e,
                            const int32_t *tok, const float *In, int64_t n, int64_t d)
{
    if (st->s.p == 0.0f) return In;
    mb_vdrop_rows(&st->s, lora, (uint32_t)e, tok, In, n, d, slot);
    return slot;
}

/* [Ag_e; Au_e] into st->Agu */
static void stack_a(mx_st *st, int64_t e)
{
    const size_t rh = (size_t)(st->r * st->h);
    memcpy(st->Agu, st->Ag + e * (int64_t)rh, sizeof(float) * rh);
    memcpy(st->Agu + rh, st->Au + e * (int64_t)rh, sizeof(float) * rh);
}

static mb_status mx_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                            mb_saved *sv, mb_err *err)
{
    mx_st *st = p;
    const int64_t T = st->T, h = st->h, f = st->f, r = st->r, n_all = T * st->k;
    const int drop = st->s.p > 0.0f;
    const mb_gemm_provider *gp = st->gp;
    mb_saved local = { { 0 } };
    mb_saved *s = sv ? sv : &local;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    float *G = mb_tslot(&s->act, "G", n_all * f, err);
    float *U = G ? mb_tslot(&s->act, "U", n_all * f, err) : NULL;
    float *Zgu = U ? mb_tslot(&s->act, "Zgu", n_all * 2 * r, err) : NULL;
    float *Zd = Zgu ? mb_tslot(&s->act, "Zd", n_all * r, err) : NULL;
    float *Xg = Zd && drop ? mb_tslot(&s->act, "Xg", n_all * h, err) : NULL;
    float *Xu = Xg ? mb_tslot(&s->act, "Xu", n_all * h, err) : NULL;
    float *Hd = Xu ? mb_tslot(&s->act, "Hd", n_all * f, err) : NULL;
    mb_status rc = Zd && (!drop || Hd) ? MB_OK : err->code;
    if (rc == MB_OK) rc = mb_trouter_run(&st->tr, gp, X, s, info, err);
    if (rc == MB_OK && st->s.share != MB_SHARE_NONE) {
        rc = mb_vgemm(gp, st->Wg, T, h, X, 0.0f, st->G0, f, err);
        if (rc == MB_OK) rc = mb_vgemm(gp, st->Wu, T, h, X, 0.0f, st->U0, f, err);
    }
    if (rc == MB_OK) memset(Y, 0, sizeof(float) * (size_t)(T * h));
    /* Hs rows are written by each token's first expert and added to by the others (seen[]),
     * so Hs needs no zero fill; rows no expert took are zeroed after the loop */
    if (st->Hs) memset(st->seen, 0, (size_t)T);
    for (int64_t e = 0; rc == MB_OK && e < st->E; e++) {
        const int64_t o0 = st->tr.offsets[e], n = st->tr.offsets[e + 1] - o0;
        if (n == 0) continue;
        const int32_t *tok = st->tr.tok + o0, *slot = st->tr.slot + o0;
        float *Ge = G + o0 * f, *Ue = U + o0 * f;
        mb_vgather(X, h, tok, n, st->Xe);
        if (st->s.share == MB_SHARE_NONE) {
            rc = mb_vgemm(gp, st->Wg, n, h, st->Xe, 0.0f, Ge, f, err);
            if (rc == MB_OK) rc = mb_vgemm(gp, st->Wu, n, h, st->Xe, 0.0f, Ue, f, err);
        } else {
            mb_vgather(st->G0, f, tok, n, Ge);
            mb_vgather(st->U0, f, tok, n, Ue);
        }
        const float *xg = dropped(st, Xg ? Xg + o0 * h : NULL, MB_LORA_GATE, e, tok, st->Xe, n, h);
        const float *xu = dropped(st, Xu ? Xu + o0 * h : NULL, MB_LORA_UP, e, tok, st->Xe, n, h);
        float *Zgue = Zgu + o0 * 2 * r;   /* [n, 2r]: Zg | Zu */
        if (rc == MB_OK && drop) {
            rc = mb_vpl(gp, 0, 1, n, r, h, 1.0f, xg, h, st->Ag + e * r * h, h, 0.0f, Zgue, 2 * r,
                        err);
            if (rc == MB_OK)
                rc = mb_vpl(gp, 0, 1, n, r, h, 1.0f, xu, h, st->Au + e * r * h, h, 0.0f,
                            Zgue + r, 2 * r, err);
        } else if (rc == MB_OK) {
            stack_a(st, e);
            rc = mb_vpl(gp, 0, 1, n, 2 * r, h, 1.0f, st->Xe, h, st->Agu, h, 0.0f, Zgue, 2 * r,
                        err);
        }
        if (rc == MB_OK)
            rc = mb_vpl(gp, 0, 1, n, f, r, st->sc, Zgue, 2 * r, st->Bg + e * f * r, r, 1.0f, Ge,
                        f, err);
        if (rc == MB_OK)
            rc = mb_vpl(gp, 0, 1, n, f, r, st->sc, Zgue + r, 2 * r, st->Bu + e * f * r, r, 1.0f,
                        Ue, f, err);
        if (rc != MB_OK) break;
        if (st->s.share == MB_SHARE_ALL) {
            /* H_e row by row, into Hs (w H_e) while it is in cache (tok[] ascending) */
            #pragma omp parallel for schedule(static) if (n * f > 65536)
            for (int64_t i = 0; i < n; i++) {
                const int64_t t = tok[i];
                const float w = st->tr.rt.w[t * st->k + slot[i]];
                float *hi = st->He + i * f, *hs = st->Hs + t * f;
                mb_vglu_fwd(st->s.act, Ge + i * f, Ue + i * f, f, hi);
                if (st->seen[t]) {
                    mb_vaxpy_row(hs, hi, w, f);
                } else {
                    for (int64_t j = 0; j < f; j++) hs[j] = w * hi[j];
                    st->seen[t] = 1;
                }
            }
        } else {
            mb_vglu_fwd(st->s.act, Ge, Ue, n * f, st->He);
        }
        const float *hd = dropped(st, Hd ? Hd + o0 * f : NULL, MB_LORA_DOWN, e, tok, st->He, n, f);
        if (st->s.share == MB_SHARE_ALL) {
            memset(st->Ye, 0, sizeof(float) * (size_t)(n * h));
        } else {
            rc = mb_vgemm(gp, st->Wd, n, f, st->He, 0.0f, st->Ye, h, err);
        }
        if (rc == MB_OK)
            rc = mb_tlora_fwd(gp, n, f, h, r, st->sc, hd, st->Ad + e * r * f, st->Bd + e * h * r,
                              Zd + o0 * r, st->Ye, err);
        if (rc == MB_OK) mb_vscatter_add(st->Ye, h, tok, slot, n, &st->tr.rt, Y);
    }
    if (rc == MB_OK && st->s.share == MB_SHARE_ALL) {
        for (int64_t t = 0; t < T; t++)
            if (!st->seen[t]) memset(st->Hs + t * f, 0, sizeof(float) * (size_t)f);
        rc = mb_vgemm(gp, st->Wd, T, f, st->Hs, 1.0f, Y, h, err);
    }
    if (!sv) mb_weights_free(&local.act);
    return rc;
}

static mb_status mx_backward(void *p, const mb_inputs *in, const mb_saved *sv,
                             const mb_tensor *dy, mb_grads *g, mb_err *err)
{
    mx_st *st = p;
    const int64_t T = st->T, h = st->h, f = st->f, r = st->r, E = st->E, k = st->k;
    const int64_t n_all = T * k;
    const int drop = st->s.p > 0.0f;
    const mb_act act = st->s.act;
    const mb_gemm_provider *gp = st->gp;
    const float *dY = mb_f32(dy), *X = mb_f32(&in->X);
    const float *G = mb_tsaved(sv, "G", n_all * f, err);
    const float *U = G ? mb_tsaved(sv, "U", n_all * f, err) : NULL;
    const float *Zgu = U ? mb_tsaved(sv, "Zgu", n_all * 2 * r, err) : NULL;
    const float *Zd = Zgu ? mb_tsaved(sv, "Zd", n_all * r, err) : NULL;
    const float *Xg = Zd && drop ? mb_tsaved(sv, "Xg", n_all * h, err) : NULL;
    const float *Xu = Xg ? mb_tsaved(sv, "Xu", n_all * h, err) : NULL;
    const float *Hd = Xu ? mb_tsaved(sv, "Hd", n_all * f, err) : NULL;
    float *dX = Zd && (!drop || Hd) ? mb_tdx(g, T, h, err) : NULL;
    float *dAg = dX ? mb_tslot(&g->dW, "Ag", E * r * h, err) : NULL;
    float *dBg = dAg ? mb_tslot(&g->dW, "Bg", E * f * r, err) : NULL;
    float *dAu = dBg ? mb_tslot(&g->dW, "Au", E * r * h, err) : NULL;
    float *dBu = dAu ? mb_tslot(&g->dW, "Bu", E * f * r, err) : NULL;
    float *dAd = dBu ? mb_tslot(&g->dW, "Ad", E * r * f, err) : NULL;
    float *dBd = dAd ? mb_tslot(&g->dW, "Bd", E * h * r, err) : NULL;
    if (!dBd) return err->code;
    const int shared = st->s.share != MB_SHARE_NONE, all = st->s.share == MB_SHARE_ALL;
    /* in the shared modes the forward's G0 / U0 buffers hold dG0 / dU0 now; their rows are
     * written by the first expert of each token and added to by the others (seen[]), so they
     * need no zero fill; rows of tokens no expert took are zeroed at the end */
    float *dG0 = st->G0, *dU0 = st->U0;
    memset(dX, 0, sizeof(float) * (size_t)(T * h));
    if (shared) memset(st->seen, 0, (size_t)T);
    mb_status rc = MB_OK;
    /* share=all: the down projection's dH base D = dY Wd once for all tokens (linearity, as the
     * forward's Hs); each expert reads its tokens' rows of D in place */
    if (all) rc = mb_vnn(gp, st->Wd, T, dY, h, 0.0f, st->D, f, err);
    for (int64_t e = 0; rc == MB_OK && e < E; e++) {
        const int64_t o0 = st->tr.offsets[e], n = st->tr.offsets[e + 1] - o0;
        float *dAge = dAg + e * r * h, *dBge = dBg + e * f * r, *dAue = dAu + e * r * h;
        float *dBue = dBu + e * f * r, *dAde = dAd + e * r * f, *dBde = dBd + e * h * r;
        if (n == 0) {
            memset(dAge, 0, sizeof(float) * (size_t)(r * h));
            memset(dAue, 0, sizeof(float) * (size_t)(r * h));
            memset(dBge, 0, sizeof(float) * (size_t)(f * r));
            memset(dBue, 0, sizeof(float) * (size_t)(f * r));
            memset(dAde, 0, sizeof(float) * (size_t)(r * f));
            memset(dBde, 0, sizeof(float) * (size_t)(h * r));
            continue;
        }
        const int32_t *tok = st->tr.tok + o0, *slot = st->tr.slot + o0;
        const float *Ge = G + o0 * f, *Ue = U + o0 * f, *Zde = Zd + o0 * r;
        const float *Bde = st->Bd + e * h * r, *Ade = st->Ad + e * r * f;
        float *dYg = st->Ye, *L = all ? st->Dg : st->Lb, *ws = st->ws;
        mb_vgather(dY, h, tok, n, dYg);
        mb_vgather(X, h, tok, n, st->Xe);
        mb_vgather_w(&st->tr.rt, tok, slot, n, ws);
        if (!all) rc = mb_vnn(gp, st->Wd, n, dYg, h, 0.0f, st->Dg, f, err);
        /* the down LoRA from dC = w dY (w the routing weight of the row), the w folded into the
         * r-wide factors instead of dY's rows: dZ0 = s dY Bd (unscaled, for the router's gr);
         * dZ = w dZ0; dBd = s dY^T (w Zd); L = mask .* (dZ Ad), the LoRA part of dH */
        if (rc == MB_OK)
            rc = mb_vpl(gp, 0, 0, n, r, h, st->sc, dYg, h, Bde, r, 0.0f, st->dZ, r, err);
        if (rc != MB_OK) break;
        for (int64_t i = 0; i < n; i++) {
            double acc = 0.0;
            for (int64_t j = 0; j < r; j++) {
                acc += (double)st->dZ[i * r + j] * Zde[i * r + j];
                st->dZ[i * r + j] *= ws[i];
                st->Zw[i * r + j] = ws[i] * Zde[i * r + j];
            }
            st->grl[i] = (float)acc;
        }
        rc = mb_vpl(gp, 1, 0, h, r, n, st->sc, dYg, h, st->Zw, r, 0.0f, dBde, r, err);
        if (rc == MB_OK) rc = mb_vpl(gp, 0, 0, n, f, r, 1.0f, st->dZ, r, Ade, f, 0.0f, L, f, err);
        if (rc != MB_OK) break;
        if (drop) mb_vdrop_rows(&st->s, MB_LORA_DOWN, (uint32_t)e, tok, L, n, f, L);
        /* one pass per row: H = act(G) U recomputed (the LoRA-down input), gr = <D_t, H> +
         * <dZ0, Zd>, dH = w D_t + L, dG = dH U act'(G), dU = dH act(G), then the row into
         * dG0 / dU0 while it is in cache (tok[] ascending: no two threads share a row) */
        #pragma omp parallel for schedule(static) if (n * f > 65536)
        for (int64_t i = 0; i < n; i++) {
            const int64_t t = tok[i];
            const float *Dr = all ? st->D + t * f : st->Dg + i * f, *Lr = L + i * f;
            const float *gi = Ge + i * f, *ui = Ue + i * f;
            float *hi = st->He + i * f, *dgi = st->dG + i * f, *dui = st->dU + i * f;
            const double acc =
                mb_vglu_backward_row(act, gi, ui, Dr, ws[i], Lr, f, hi, dgi, dui);
            st->tr.gr[t * k + slot[i]] = (float)acc + st->grl[i];
            if (!shared) continue;
            if (st->seen[t]) {
                mb_vaxpy_row(dG0 + t * f, dgi, 1.0f, f);
                mb_vaxpy_row(dU0 + t * f, dui, 1.0f, f);
            } else {
                memcpy(dG0 + t * f, dgi, sizeof(float) * (size_t)f);
                memcpy(dU0 + t * f, dui, sizeof(float) * (size_t)f);
                st->seen[t] = 1;
            }
        }
        /* dAd = dZ^T Hd */
        rc = mb_vpl(gp, 1, 0, r, f, n, 1.0f, st->dZ, r, drop ? Hd + o0 * f : st->He, f, 0.0f,
                    dAde, f, err);
        float xbeta = 0.0f;
        if (rc == MB_OK && !shared) {
            rc = mb_vnn(gp, st->Wg, n, st->dG, f, 0.0f, st->dXe, h, err);
            if (rc == MB_OK) rc = mb_vnn(gp, st->Wu, n, st->dU, f, 1.0f, st->dXe, h, err);
            xbeta = 1.0f;
        }
        /* the gate and up LoRAs (spec Part 2 §1) from dC = dG, dU: dB = s dC^T Z, dZ = s dC B,
         * dA = dZ^T Xd, dXe (+)= mask .* (dZ A); stacked when p = 0 (see the header) */
        const float *Zgue = Zgu + o0 * 2 * r;
        const float *Bge = st->Bg + e * f * r, *Bue = st->Bu + e * f * r;
        if (rc == MB_OK)
            rc = mb_vpl(gp, 1, 0, f, r, n, st->sc, st->dG, f, Zgue, 2 * r, 0.0f, dBge, r, err);
        if (rc == MB_OK)
            rc = mb_vpl(gp, 1, 0, f, r, n, st->sc, st->dU, f, Zgue + r, 2 * r, 0.0f, dBue, r,
                        err);
        if (rc == MB_OK)
            rc = mb_vpl(gp, 0, 0, n, r, f, st->sc, st->dG, f, Bge, r, 0.0f, st->dZgu, 2 * r, err);
        if (rc == MB_OK)
            rc = mb_vpl(gp, 0, 0, n, r, f, st->sc, st->dU, f, Bue, r, 0.0f, st->dZgu + r, 2 * r,
                        err);
        if (rc == MB_OK && !drop) {
            stack_a(st, e);
            rc = mb_vpl(gp, 1, 0, 2 * r, h, n, 1.0f, st->dZgu, 2 * r, st->Xe, h, 0.0f, st->dAgu,
                        h, err);
            if (rc == MB_OK) {
                memcpy(dAge, st->dAgu, sizeof(float) * (size_t)(r * h));
                memcpy(dAue, st->dAgu + r * h, sizeof(float) * (size_t)(r * h));
                rc = mb_vpl(gp, 0, 0, n, h, 2 * r, 1.0f, st->dZgu, 2 * r, st->Agu, h, xbeta,
                            st->dXe, h, err);
            }
        } else if (rc == MB_OK) {
            const float *Xs[2] = { Xg + o0 * h, Xu + o0 * h };
            const float *As[2] = { st->Ag + e * r * h, st->Au + e * r * h };
            float *dAs[2] = { dAge, dAue };
            const uint32_t lo[2] = { MB_LORA_GATE, MB_LORA_UP };
            for (int q = 0; rc == MB_OK && q < 2; q++) {
                rc = mb_vpl(gp, 1, 0, r, h, n, 1.0f, st->dZgu + q * r, 2 * r, Xs[q], h, 0.0f,
                            dAs[q], h, err);
                if (rc == MB_OK)
                    rc = mb_vpl(gp, 0, 0, n, h, r, 1.0f, st->dZgu + q * r, 2 * r, As[q], h, 0.0f,
                                st->tmp, h, err);
                if (rc != MB_OK) break;
                mb_vdrop_rows(&st->s, lo[q], (uint32_t)e, tok, st->tmp, n, h, st->tmp);
                for (int64_t i = 0; i < n * h; i++)
                    st->dXe[i] = (xbeta == 0.0f ? 0.0f : st->dXe[i]) + st->tmp[i];
                xbeta = 1.0f;
            }
        }
        if (rc == MB_OK)
            for (int64_t i = 0; i < n; i++)
                mb_vaxpy_row(dX + (int64_t)tok[i] * h, st->dXe + i * h, 1.0f, h);
    }
    if (rc == MB_OK && shared) {
        for (int64_t t = 0; t < T; t++)
            if (!st->seen[t]) {
                memset(dG0 + t * f, 0, sizeof(float) * (size_t)f);
                memset(dU0 + t * f, 0, sizeof(float) * (size_t)f);
            }
        rc = mb_vnn(gp, st->Wg, T, dG0, f, 1.0f, dX, h, err);
        if (rc == MB_OK) rc = mb_vnn(gp, st->Wu, T, dU0, f, 1.0f, dX, h, err);
    }
    if (rc == MB_OK) rc = mb_trouter_backward(&st->tr, gp, &st->s, X, sv, g, dX, err);
    return rc;
}

const mb_variant_train_ops mb_train_mixlora = { mx_prepare, mx_forward, mx_backward, mx_release };
