/* molora, training step in the fused form: Zr = Xd Acat^T [T, E*r] and the softmax P [T, E]
 * kept; backward per expert block: dZg_e = s dY B_e, dB_e = s dY^T (P_e Zr_e), gate gradient
 * gp_te = <dZg_te, Zr_te>, dZr = dZg .* P, dA = dZr^T Xd, dX = dY W + mask .* (dZr Acat) +
 * dzl Wr with dzl the softmax backward of gp (no aux: molora's gate is soft, not top-k). */
#include <string.h>
#include "variants_train.h"

typedef struct {
    const mb_gemm_provider *gp;
    mb_spec s;
    int64_t T, h, o, r, E, R;   /* R = E*r */
    float sc;
    mb_gemm_weight *W, *Wr;
    const float *A, *B;
    float *Zg, *dZ, *gp_, *dzl, *tmp;   /* [T,R] [T,R] [T,E] [T,E] [T,h] */
} mo_st;

static void mo_release(void *p)
{
    mo_st *st = p;
    if (!st) return;
    mb_vrelease(st->gp, &st->W);
    mb_vrelease(st->gp, &st->Wr);
    float *b[] = { st->Zg, st->dZ, st->gp_, st->dzl, st->tmp };
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) mb_free(b[i]);
    mb_free(st);
}

static mb_status mo_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                            void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r, E = s->E;
    const float *W = mb_vw(w, "W", o * h, err), *Wr = W ? mb_vw(w, "Wr", E * h, err) : NULL;
    const float *A = Wr ? mb_vw(w, "A", E * r * h, err) : NULL;
    const float *B = A ? mb_vw(w, "B", E * o * r, err) : NULL;
    if (!B) return err ? err->code : MB_EINVAL;
    mo_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->s = *s; st->T = T; st->h = h; st->o = o; st->r = r; st->E = E;
    st->R = E * r; st->sc = s->alpha / (float)r; st->A = A; st->B = B;
    mb_status rc = mb_vprep_train(gp, W, o, h, T, &st->W, err);
    if (rc == MB_OK) rc = mb_vprep_train(gp, Wr, E, h, T, &st->Wr, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Zg, T, st->R, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->dZ, T, st->R, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->gp_, T, E, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->dzl, T, E, err);
    if (rc == MB_OK && s->p > 0.0f) rc = mb_valloc2(&st->tmp, T, h, err);
    if (rc != MB_OK) { mo_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

/* Zg = Zr gated per expert block by P. */
static void gate(mo_st *st, const float *Zr, const float *P)
{
    for (int64_t t = 0; t < st->T; t++)
        for (int64_t e = 0; e < st->E; e++)
            for (int64_t i = 0; i < st->r; i++) {
                const int64_t j = t * st->R + e * st->r + i;
                st->Zg[j] = Zr[j] * P[t * st->E + e];
            }
}

static mb_status mo_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                            mb_saved *sv, mb_err *err)
{
    mo_st *st = p;
    const int64_t T = st->T, h = st->h, o = st->o, r = st->r, E = st->E, R = st->R;
    mb_saved local = { { 0 } };
    mb_saved *s = sv ? sv : &local;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    float *Zr = mb_tslot(&s->act, "Z", T * R, err);
    float *zl = Zr ? mb_tslot(&s->act, "z", T * E, err) : NULL;
    float *P = zl ? mb_tslot(&s->act, "P", T * E, err) : NULL;
    float *Xd = P && st->s.p > 0.0f ? mb_tslot(&s->act, "Xd", T * h, err) : NULL;
    mb_status rc = P && (Xd || st->s.p == 0.0f) ? MB_OK : err->code;
    if (rc == MB_OK && Xd) mb_vdrop_rows(&st->s, MB_LORA_MAIN, 0, NULL, X, T, h, Xd);
    if (rc == MB_OK) rc = mb_vgemm(st->gp, st->W, T, h, X, 0.0f, Y, o, err);
    if (rc == MB_OK) rc = mb_vgemm(st->gp, st->Wr, T, h, X, 0.0f, zl, E, err);
    if (rc == MB_OK)
        rc = mb_vpl(st->gp, 0, 1, T, R, h, 1.0f, Xd ? Xd : X, h, st->A, h, 0.0f, Zr, R, err);
    if (rc == MB_OK) {
        for (int64_t t = 0; t < T; t++) mb_softmax(zl + t * E, E, P + t * E);
        if (info && info->gate) memcpy(info->gate, P, sizeof(float) * (size_t)(T * E));
        gate(st, Zr, P);
    }
    for (int64_t e = 0; rc == MB_OK && e < E; e++)
        rc = mb_vpl(st->gp, 0, 1, T, o, r, st->sc, st->Zg + e * r, R, st->B + e * o * r, r,
                    1.0f, Y, o, err);
    if (!sv) mb_weights_free(&local.act);
    return rc;
}

static mb_status mo_backward(void *p, const mb_inputs *in, const mb_saved *sv,
                             const mb_tensor *dy, mb_grads *g, mb_err *err)
{
    mo_st *st = p;
    const int64_t T = st->T, h = st->h, o = st->o, r = st->r, E = st->E, R = st->R;
    const float *dY = mb_f32(dy), *X = mb_f32(&in->X);
    const float *Zr = mb_tsaved(sv, "Z", T * R, err);
    const float *P = Zr ? mb_tsaved(sv, "P", T * E, err) : NULL;
    const float *Xd = P ? (st->s.p > 0.0f ? mb_tsaved(sv, "Xd", T * h, err) : X) : NULL;
    float *dX = Xd ? mb_tdx(g, T, h, err) : NULL;
    float *dA = dX ? mb_tslot(&g->dW, "A", R * h, err) : NULL;
    float *dB = dA ? mb_tslot(&g->dW, "B", E * o * r, err) : NULL;
    float *dWr = dB ? mb_tslot(&g->dW, "Wr", E * h, err) : NULL;
    if (!dWr) return err->code;
    const mb_gemm_provider *gp = st->gp;
    gate(st, Zr, P);
    mb_status rc = mb_vnn(gp, st->W, T, dY, o, 0.0f, dX, h, err);
    for (int64_t e = 0; rc == MB_OK && e < E; e++) {
        rc = mb_vpl(gp, 0, 0, T, r, o, st->sc, dY, o, st->B + e * o * r, r, 0.0f, st->dZ + e * r,
                    R, err);
        if (rc == MB_OK)
            rc = mb_vpl(gp, 1, 0, o, r, T, st->sc, dY, o, st->Zg + e * r, R, 0.0f,
                        dB + e * o * r, r, err);
    }
    if (rc != MB_OK) return rc;
    for (int64_t t = 0; t < T; t++) {
        const float *pt = P + t * E;
        double pg = 0.0;
        for (int64_t e = 0; e < E; e++) {
            double acc = 0.0;
            for (int64_t i = 0; i < r; i++) {
                const int64_t j = t * R + e * r + i;
                acc += (double)st->dZ[j] * Zr[j];
                st->dZ[j] *= pt[e];
            }
            st->gp_[t * E + e] = (float)acc;
            pg += acc * pt[e];
        }
        for (int64_t e = 0; e < E; e++)
            st->dzl[t * E + e] = (float)(pt[e] * (st->gp_[t * E + e] - pg));
    }
    rc = mb_vpl(gp, 1, 0, R, h, T, 1.0f, st->dZ, R, Xd, h, 0.0f, dA, h, err);
    if (rc == MB_OK && st->s.p == 0.0f)
        rc = mb_vpl(gp, 0, 0, T, h, R, 1.0f, st->dZ, R, st->A, h, 1.0f, dX, h, err);
    if (rc == MB_OK && st->s.p > 0.0f) {
        rc = mb_vpl(gp, 0, 0, T, h, R, 1.0f, st->dZ, R, st->A, h, 0.0f, st->tmp, h, err);
        if (rc == MB_OK) {
            mb_vdrop_rows(&st->s, MB_LORA_MAIN, 0, NULL, st->tmp, T, h, st->tmp);
            for (int64_t i = 0; i < T * h; i++) dX[i] += st->tmp[i];
        }
    }
    if (rc == MB_OK) rc = mb_vpl(gp, 1, 0, E, h, T, 1.0f, st->dzl, E, X, h, 0.0f, dWr, h, err);
    if (rc == MB_OK) rc = mb_vnn(gp, st->Wr, T, st->dzl, E, 1.0f, dX, h, err);
    return rc;
}

const mb_variant_train_ops mb_train_molora = { mo_prepare, mo_forward, mo_backward, mo_release };
