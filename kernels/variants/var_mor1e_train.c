/* mor1e, training step: Zr = Xd A^T [T, r] and the router softmax P [T, r] kept; the gate
 * gate_t = P_t w 32 + R_b (1 - w) 4 recomputed. Backward: dYB = dY B, dbeta = <dYB, Zg>
 * (Zg = Zr .* gate), dZg = beta dYB, dB = beta dY^T Zg, dgate = dZg .* Zr, dZr = dZg .* gate,
 * dA = dZr^T Xd, router dz = softmax backward of 32 w dgate, dWr = dz^T X, domega =
 * <dgate, 32 P - 4 R>, chained through sigmoid(100 w): d w = 100 s (1 - s) d s;
 * dX = dY W + mask .* (dZr A) + dz Wr. */
#include <string.h>
#include "variants_train.h"

typedef struct {
    const mb_gemm_provider *gp;
    mb_spec s;
    int64_t T, S, h, o, r;
    float omega, beta;
    mb_gemm_weight *W, *Wr;
    const float *A, *B;
    float *Gt, *Zg, *dZ, *dz, *tmp;   /* [T,r] x4, [T,h] */
} m1_st;

static void m1_release(void *p)
{
    m1_st *st = p;
    if (!st) return;
    mb_vrelease(st->gp, &st->W);
    mb_vrelease(st->gp, &st->Wr);
    float *b[] = { st->Gt, st->Zg, st->dZ, st->dz, st->tmp };
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) mb_free(b[i]);
    mb_free(st);
}

static mb_status m1_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                            void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r;
    const float *W = mb_vw(w, "W", o * h, err), *A = W ? mb_vw(w, "A", r * h, err) : NULL;
    const float *B = A ? mb_vw(w, "B", o * r, err) : NULL;
    const float *Wr = B ? mb_vw(w, "Wr", r * h, err) : NULL;
    const float *wo = Wr ? mb_vw(w, "w_omega", 1, err) : NULL;
    const float *wb = wo ? mb_vw(w, "w_beta", 1, err) : NULL;
    if (!wb) return err ? err->code : MB_EINVAL;
    m1_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->s = *s; st->T = T; st->S = s->S; st->h = h; st->o = o; st->r = r;
    st->omega = mb_sigmoid100(wo[0]); st->beta = mb_sigmoid100(wb[0]); st->A = A; st->B = B;
    mb_status rc = mb_vprep_train(gp, W, o, h, T, &st->W, err);
    if (rc == MB_OK) rc = mb_vprep_train(gp, Wr, r, h, T, &st->Wr, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Gt, T, r, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Zg, T, r, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->dZ, T, r, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->dz, T, r, err);
    if (rc == MB_OK && s->p > 0.0f) rc = mb_valloc2(&st->tmp, T, h, err);
    if (rc != MB_OK) { m1_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static void gate(m1_st *st, const float *P, const float *R, const float *Zr)
{
    const float wt = st->omega * 32.0f, wr = (1.0f - st->omega) * 4.0f;
    for (int64_t t = 0; t < st->T; t++)
        for (int64_t i = 0; i < st->r; i++) {
            const int64_t j = t * st->r + i;
            st->Gt[j] = P[j] * wt + R[(t / st->S) * st->r + i] * wr;
            st->Zg[j] = Zr[j] * st->Gt[j];
        }
}

static mb_status m1_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                            mb_saved *sv, mb_err *err)
{
    m1_st *st = p;
    const int64_t T = st->T, h = st->h, o = st->o, r = st->r;
    mb_saved local = { { 0 } };
    mb_saved *s = sv ? sv : &local;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    float *Zr = mb_tslot(&s->act, "Z", T * r, err);
    float *P = Zr ? mb_tslot(&s->act, "P", T * r, err) : NULL;
    float *Xd = P && st->s.p > 0.0f ? mb_tslot(&s->act, "Xd", T * h, err) : NULL;
    mb_status rc = P && (Xd || st->s.p == 0.0f) ? MB_OK : err->code;
    if (rc == MB_OK && Xd) mb_vdrop_rows(&st->s, MB_LORA_MAIN, 0, NULL, X, T, h, Xd);
    if (rc == MB_OK) rc = mb_vgemm(st->gp, st->W, T, h, X, 0.0f, Y, o, err);
    if (rc == MB_OK) rc = mb_vgemm(st->gp, st->Wr, T, h, X, 0.0f, st->dz, r, err);
    if (rc == MB_OK)
        rc = mb_vpl(st->gp, 0, 1, T, r, h, 1.0f, Xd ? Xd : X, h, st->A, h, 0.0f, Zr, r, err);
    if (rc == MB_OK) {
        for (int64_t t = 0; t < T; t++) mb_softmax(st->dz + t * r, r, P + t * r);
        gate(st, P, mb_f32(&in->R), Zr);
        if (info && info->gate) memcpy(info->gate, st->Gt, sizeof(float) * (size_t)(T * r));
        rc = mb_vpl(st->gp, 0, 1, T, o, r, st->beta, st->Zg, r, st->B, r, 1.0f, Y, o, err);
    }
    if (!sv) mb_weights_free(&local.act);
    return rc;
}

static mb_status m1_backward(void *p, const mb_inputs *in, const mb_saved *sv,
                             const mb_tensor *dy, mb_grads *g, mb_err *err)
{
    m1_st *st = p;
    const int64_t T = st->T, h = st->h, o = st->o, r = st->r;
    const float *dY = mb_f32(dy), *X = mb_f32(&in->X), *R = mb_f32(&in->R);
    const float *Zr = mb_tsaved(sv, "Z", T * r, err);
    const float *P = Zr ? mb_tsaved(sv, "P", T * r, err) : NULL;
    const float *Xd = P ? (st->s.p > 0.0f ? mb_tsaved(sv, "Xd", T * h, err) : X) : NULL;
    float *dX = Xd ? mb_tdx(g, T, h, err) : NULL;
    float *dA = dX ? mb_tslot(&g->dW, "A", r * h, err) : NULL;
    float *dB = dA ? mb_tslot(&g->dW, "B", o * r, err) : NULL;
    float *dWr = dB ? mb_tslot(&g->dW, "Wr", r * h, err) : NULL;
    float *dwo = dWr ? mb_tslot(&g->dW, "w_omega", 1, err) : NULL;
    float *dwb = dwo ? mb_tslot(&g->dW, "w_beta", 1, err) : NULL;
    if (!dwb) return err->code;
    const mb_gemm_provider *gp = st->gp;
    gate(st, P, R, Zr);
    mb_status rc = mb_vnn(gp, st->W, T, dY, o, 0.0f, dX, h, err);
    if (rc == MB_OK) rc = mb_vpl(gp, 0, 0, T, r, o, 1.0f, dY, o, st->B, r, 0.0f, st->dZ, r, err);
    if (rc == MB_OK) rc = mb_vpl(gp, 1, 0, o, r, T, st->beta, dY, o, st->Zg, r, 0.0f, dB, r, err);
    if (rc != MB_OK) return rc;
    double dbeta = 0.0, domega = 0.0;
    for (int64_t t = 0; t < T; t++) {
        double pd = 0.0;
        float *d = st->dZ + t * r, *dz = st->dz + t * r;
        const float *pt = P + t * r, *Rb = R + (t / st->S) * r;
        for (int64_t i = 0; i < r; i++) {
            const int64_t j = t * r + i;
            dbeta += (double)d[i] * st->Zg[j];
            d[i] *= st->beta;                       /* dZg */
            const double dgate = (double)d[i] * Zr[j];
            domega += dgate * (32.0 * pt[i] - 4.0 * Rb[i]);
            dz[i] = (float)(dgate * st->omega * 32.0);   /* dP */
            pd += (double)dz[i] * pt[i];
            d[i] *= st->Gt[j];                      /* dZr */
        }
        for (int64_t i = 0; i < r; i++) dz[i] = (float)(pt[i] * (dz[i] - pd));
    }
    dwo[0] = (float)(domega * 100.0 * st->omega * (1.0 - st->omega));
    dwb[0] = (float)(dbeta * 100.0 * st->beta * (1.0 - st->beta));
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
    if (rc == MB_OK) rc = mb_vpl(gp, 1, 0, r, h, T, 1.0f, st->dz, r, X, h, 0.0f, dWr, h, err);
    if (rc == MB_OK) rc = mb_vnn(gp, st->Wr, T, st->dz, r, 1.0f, dX, h, err);
    return rc;
}

const mb_variant_train_ops mb_train_mor1e = { m1_prepare, m1_forward, m1_backward, m1_release };
