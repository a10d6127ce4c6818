/* lora, training step: forward Y = X W^T + s (Xd A^T) B^T keeping Z = Xd A^T (and Xd, the
 * dropped X, when p > 0); backward dX = dY W (gemm_nn on the prepared W) + mask .* (dZ A),
 * dB = s dY^T Z, dA = dZ^T Xd with dZ = s dY B (spec Part 2 §1). */
#include "variants_train.h"

typedef struct {
    const mb_gemm_provider *gp;
    mb_spec s;
    int64_t T, h, o, r;
    float sc;
    mb_gemm_weight *W;
    const float *A, *B;
    float *dZ, *tmp;   /* [T, r], [T, h] (p > 0) */
} lt_st;

static void lt_release(void *p)
{
    lt_st *st = p;
    if (!st) return;
    mb_vrelease(st->gp, &st->W);
    mb_free(st->dZ);
    mb_free(st->tmp);
    mb_free(st);
}

static mb_status lt_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                            void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r;
    const float *W = mb_vw(w, "W", o * h, err), *A = W ? mb_vw(w, "A", r * h, err) : NULL;
    const float *B = A ? mb_vw(w, "B", o * r, err) : NULL;
    if (!B) return err ? err->code : MB_EINVAL;
    lt_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->s = *s; st->T = T; st->h = h; st->o = o; st->r = r;
    st->sc = s->alpha / (float)r; st->A = A; st->B = B;
    mb_status rc = mb_vprep_train(gp, W, o, h, T, &st->W, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->dZ, T, r, err);
    if (rc == MB_OK && s->p > 0.0f) rc = mb_valloc2(&st->tmp, T, h, err);
    if (rc != MB_OK) { lt_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status lt_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                            mb_saved *sv, mb_err *err)
{
    (void)info;
    lt_st *st = p;
    mb_saved local = { { 0 } };
    mb_saved *s = sv ? sv : &local;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y), *Xd = NULL;
    float *Z = mb_tslot(&s->act, "Z", st->T * st->r, err);
    mb_status rc = Z ? MB_OK : err->code;
    if (rc == MB_OK && st->s.p > 0.0f) {
        Xd = mb_tslot(&s->act, "Xd", st->T * st->h, err);
        if (!Xd) rc = err->code;
        else mb_vdrop_rows(&st->s, MB_LORA_MAIN, 0, NULL, X, st->T, st->h, Xd);
    }
    if (rc == MB_OK) rc = mb_vgemm(st->gp, st->W, st->T, st->h, X, 0.0f, Y, st->o, err);
    if (rc == MB_OK)
        rc = mb_tlora_fwd(st->gp, st->T, st->h, st->o, st->r, st->sc, Xd ? Xd : X, st->A,
                          st->B, Z, Y, err);
    if (!sv) mb_weights_free(&local.act);
    return rc;
}

static mb_status lt_backward(void *p, const mb_inputs *in, const mb_saved *sv,
                             const mb_tensor *dy, mb_grads *g, mb_err *err)
{
    lt_st *st = p;
    const int64_t T = st->T, h = st->h, o = st->o, r = st->r;
    const float *dY = mb_f32(dy), *X = mb_f32(&in->X);
    const float *Z = mb_tsaved(sv, "Z", T * r, err);
    const float *Xd = st->s.p > 0.0f ? mb_tsaved(sv, "Xd", T * h, err) : X;
    float *dX = Z && Xd ? mb_tdx(g, T, h, err) : NULL;
    float *dA = dX ? mb_tslot(&g->dW, "A", r * h, err) : NULL;
    float *dB = dA ? mb_tslot(&g->dW, "B", o * r, err) : NULL;
    if (!dB) return err->code;
    mb_status rc = mb_vnn(st->gp, st->W, T, dY, o, 0.0f, dX, h, err);
    if (rc == MB_OK)
        rc = mb_tlora_bwd(st->gp, &st->s, MB_LORA_MAIN, 0, NULL, T, h, o, r, st->sc, dY, Xd, Z,
                          st->A, st->B, dA, dB, 0.0f, st->dZ, st->tmp, dX, 1.0f, err);
    return rc;
}

const mb_variant_train_ops mb_train_lora = { lt_prepare, lt_forward, lt_backward, lt_release };
