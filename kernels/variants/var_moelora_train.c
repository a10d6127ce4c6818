/* moelora, training step in the fused form: Zr = Xd A^T [T, r] kept (A [E, r/E, h] is Acat);
 * the gates g_b = softmax(Emb[task_b] Wg^T) recomputed (B x E, tiny). Backward per expert block
 * e (width re = r/E): dZg_e = s dY B_e, dB_e = s dY^T (g_e Zr_e); gate gradient gp_be = sum over
 * the rows t of sequence b of <dZg_te, Zr_te>; dZr = dZg .* g; dA = dZr^T Xd; dX = dY W +
 * mask .* (dZr A); softmax backward dl_b, dWg += dl_b^T Emb[task_b], dEmb[task_b] += dl_b Wg. */
#include <string.h>
#include "variants_train.h"

typedef struct {
    const mb_gemm_provider *gp;
    mb_spec s;
    int64_t T, S, nb, h, o, r, E, re, te, tasks;
    float sc;
    mb_gemm_weight *W;
    const float *A, *B, *Emb, *Wg;
    float *G, *zl, *Zg, *dZ, *gp_, *tmp;   /* [B,E] [E] [T,r] [T,r] [B,E] [T,h] */
} me_st;

static void me_release(void *p)
{
    me_st *st = p;
    if (!st) return;
    mb_vrelease(st->gp, &st->W);
    float *b[] = { st->G, st->zl, st->Zg, st->dZ, st->gp_, st->tmp };
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) mb_free(b[i]);
    mb_free(st);
}

static mb_status me_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                            void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r, E = s->E;
    if (E < 1 || r % E != 0) return mb_fail(err, MB_EINVAL, "moelora needs r %% E == 0");
    const int64_t re = r / E;
    const float *W = mb_vw(w, "W", o * h, err), *A = W ? mb_vw(w, "A", r * h, err) : NULL;
    const float *B = A ? mb_vw(w, "B", E * o * re, err) : NULL;
    const float *Emb = B ? mb_vw(w, "Emb", (s->tasks + 1) * s->te, err) : NULL;
    const float *Wg = Emb ? mb_vw(w, "Wg", E * s->te, err) : NULL;
    if (!Wg) return err ? err->code : MB_EINVAL;
    me_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->s = *s; st->T = T; st->S = s->S; st->nb = s->B; st->h = h; st->o = o;
    st->r = r; st->E = E; st->re = re; st->te = s->te; st->tasks = s->tasks;
    st->sc = s->alpha / (float)r; st->A = A; st->B = B; st->Emb = Emb; st->Wg = Wg;
    mb_status rc = mb_vprep_train(gp, W, o, h, T, &st->W, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->G, s->B, E, err);
    if (rc == MB_OK) rc = mb_valloc(&st->zl, E, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Zg, T, r, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->dZ, T, r, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->gp_, s->B, E, err);
    if (rc == MB_OK && s->p > 0.0f) rc = mb_valloc2(&st->tmp, T, h, err);
    if (rc != MB_OK) { me_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

/* gates G [B, E] and Zg = Zr gated per block by its sequence's gate */
static void gates(me_st *st, const int32_t *task, const float *Zr)
{
    for (int64_t b = 0; b < st->nb; b++)
        mb_moelora_gate(st->Emb, st->Wg, st->te, st->E, task[b], st->zl, st->G + b * st->E);
    for (int64_t t = 0; t < st->T; t++)
        for (int64_t i = 0; i < st->r; i++)
            st->Zg[t * st->r + i] = Zr[t * st->r + i] * st->G[(t / st->S) * st->E + i / st->re];
}

static mb_status me_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                            mb_saved *sv, mb_err *err)
{
    me_st *st = p;
    const int64_t T = st->T, h = st->h, o = st->o, r = st->r, E = st->E, re = st->re;
    mb_saved local = { { 0 } };
    mb_saved *s = sv ? sv : &local;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    float *Zr = mb_tslot(&s->act, "Z", T * r, err);
    float *Xd = Zr && st->s.p > 0.0f ? mb_tslot(&s->act, "Xd", T * h, err) : NULL;
    mb_status rc = Zr && (Xd || st->s.p == 0.0f) ? MB_OK : err->code;
    if (rc == MB_OK && Xd) mb_vdrop_rows(&st->s, MB_LORA_MAIN, 0, NULL, X, T, h, Xd);
    if (rc == MB_OK) rc = mb_vgemm(st->gp, st->W, T, h, X, 0.0f, Y, o, err);
    if (rc == MB_OK)
        rc = mb_vpl(st->gp, 0, 1, T, r, h, 1.0f, Xd ? Xd : X, h, st->A, h, 0.0f, Zr, r, err);
    if (rc == MB_OK) {
        gates(st, mb_i32(&in->task), Zr);
        if (info && info->gate) memcpy(info->gate, st->G, sizeof(float) * (size_t)(st->nb * E));
    }
    for (int64_t e = 0; rc == MB_OK && e < E; e++)
        rc = mb_vpl(st->gp, 0, 1, T, o, re, st->sc, st->Zg + e * re, r, st->B + e * o * re, re,
                    1.0f, Y, o, err);
    if (!sv) mb_weights_free(&local.act);
    return rc;
}

static mb_status me_backward(void *p, const mb_inputs *in, const mb_saved *sv,
                             const mb_tensor *dy, mb_grads *g, mb_err *err)
{
    me_st *st = p;
    const int64_t T = st->T, h = st->h, o = st->o, r = st->r, E = st->E, re = st->re;
    const int64_t te = st->te;
    const float *dY = mb_f32(dy), *X = mb_f32(&in->X);
    const int32_t *task = mb_i32(&in->task);
    const float *Zr = mb_tsaved(sv, "Z", T * r, err);
    const float *Xd = Zr ? (st->s.p > 0.0f ? mb_tsaved(sv, "Xd", T * h, err) : X) : NULL;
    float *dX = Xd ? mb_tdx(g, T, h, err) : NULL;
    float *dA = dX ? mb_tslot(&g->dW, "A", r * h, err) : NULL;
    float *dB = dA ? mb_tslot(&g->dW, "B", E * o * re, err) : NULL;
    float *dEmb = dB ? mb_tslot(&g->dW, "Emb", (st->tasks + 1) * te, err) : NULL;
    float *dWg = dEmb ? mb_tslot(&g->dW, "Wg", E * te, err) : NULL;
    if (!dWg) return err->code;
    const mb_gemm_provider *gp = st->gp;
    gates(st, task, Zr);
    mb_status rc = mb_vnn(gp, st->W, T, dY, o, 0.0f, dX, h, err);
    for (int64_t e = 0; rc == MB_OK && e < E; e++) {
        rc = mb_vpl(gp, 0, 0, T, re, o, st->sc, dY, o, st->B + e * o * re, re, 0.0f,
                    st->dZ + e * re, r, err);
        if (rc == MB_OK)
            rc = mb_vpl(gp, 1, 0, o, re, T, st->sc, dY, o, st->Zg + e * re, r, 0.0f,
                        dB + e * o * re, re, err);
    }
    if (rc != MB_OK) return rc;
    memset(st->gp_, 0, sizeof(float) * (size_t)(st->nb * E));
    for (int64_t t = 0; t < T; t++) {
        const int64_t b = t / st->S;
        for (int64_t i = 0; i < r; i++) {
            const int64_t j = t * r + i;
            st->gp_[b * E + i / re] += st->dZ[j] * Zr[j];
            st->dZ[j] *= st->G[b * E + i / re];
        }
    }
    rc = mb_vpl(gp, 1, 0, r, h, T, 1.0f, st->dZ, r, Xd, h, 0.0f, dA, h, err);
    if (rc == MB_OK && st->s.p == 0.0f)
        rc = mb_vpl(gp, 0, 0, T, h, r, 1.0f, st->dZ, r, st->A, h, 1.0f, dX, h, err);
    if (rc == MB_OK && st->s.p > 0.0f) {
        rc = mb_vpl(gp, 0, 0, T, h, r, 1.0f, st->dZ, r, st->A, h, 0.0f, st->tmp, h, err);
        if (rc == MB_OK) {
            mb_vdrop_rows(&st->s, MB_LORA_MAIN, 0, NULL, st->tmp, T, h, st->tmp);
            for (int64_t i = 0; i < T * h; i++) dX[i] += st->tmp[i];
        }
    }
    memset(dEmb, 0, sizeof(float) * (size_t)((st->tasks + 1) * te));
    memset(dWg, 0, sizeof(float) * (size_t)(E * te));
    for (int64_t b = 0; b < st->nb; b++) {
        const float *gb = st->G + b * E, *gpb = st->gp_ + b * E;
        const float *em = st->Emb + (int64_t)task[b] * te;
        float *dem = dEmb + (int64_t)task[b] * te;
        double pg = 0.0;
        for (int64_t e = 0; e < E; e++) pg += (double)gb[e] * gpb[e];
        for (int64_t e = 0; e < E; e++) {
            const float dl = (float)(gb[e] * (gpb[e] - pg));
            for (int64_t i = 0; i < te; i++) {
                dWg[e * te + i] += dl * em[i];
                dem[i] += dl * st->Wg[e * te + i];
            }
        }
    }
    return rc;
}

const mb_variant_train_ops mb_train_moelora = { me_prepare, me_forward, me_backward, me_release };
