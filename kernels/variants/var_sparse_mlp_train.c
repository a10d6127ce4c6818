/* sparse_mlp, training step (full training of the MoE block: Wr and every expert's Wg, Wu, Wd).
 * Forward as the inference form (route once, group rows per expert, gather, three GEMMs, weighted
 * scatter-add), keeping each assignment's G and U rows in group order (saved "G", "U"
 * [T*k, fe]) and z, P. Backward per expert over its index list: Dg = dY[tok] Wd_e (gemm_nn),
 * gr = <Dg, H_e> (the router's <dY_t, expert output>), dWd_e = (w dY[tok])^T H_e, dH = w Dg,
 * dG, dU through the GLU, dWg_e = dG^T X[tok], dWu_e = dU^T X[tok], dX[tok] += dG Wg_e +
 * dU Wu_e; then the router's backward (aux, z-loss). */
#include <string.h>
#include "variants_train.h"

typedef struct {
    const mb_gemm_provider *gp;
    mb_spec s;
    int64_t T, h, fe, E, k;
    mb_trouter tr;
    mb_gemm_weight **Wg, **Wu, **Wd;
    float *Xe, *He, *Ye, *dYg, *Dg, *dG, *dU, *dXe, *ws;
    float *zrow;   /* fe zeros: the backward's row pass takes a LoRA term, sparse_mlp has none */
} sm_st;

static void sm_release(void *p)
{
    sm_st *st = p;
    if (!st) return;
    for (int64_t e = 0; e < st->E; e++) {
        if (st->Wg) mb_vrelease(st->gp, &st->Wg[e]);
        if (st->Wu) mb_vrelease(st->gp, &st->Wu[e]);
        if (st->Wd) mb_vrelease(st->gp, &st->Wd[e]);
    }
    mb_free(st->Wg);
    mb_free(st->Wu);
    mb_free(st->Wd);
    mb_trouter_free(&st->tr, st->gp);
    float *b[] = { st->Xe, st->He, st->Ye, st->dYg, st->Dg, st->dG, st->dU, st->dXe, st->ws,
                   st->zrow };
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) mb_free(b[i]);
    mb_free(st);
}

static mb_status sm_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                            void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, E = s->E, k = s->k, fe = mb_spec_expert_width(s);
    const float *Wr = mb_vw(w, "Wr", E * h, err), *Wg = Wr ? mb_vw(w, "Wg", E * fe * h, err) : NULL;
    const float *Wu = Wg ? mb_vw(w, "Wu", E * fe * h, err) : NULL;
    const float *Wd = Wu ? mb_vw(w, "Wd", E * h * fe, err) : NULL;
    if (!Wd) return err ? err->code : MB_EINVAL;
    sm_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->s = *s; st->T = T; st->h = h; st->fe = fe; st->E = E; st->k = k;
    const int64_t m_hint = (T * k + E - 1) / E;
    mb_status rc = mb_trouter_init(&st->tr, gp, Wr, T, h, E, k, err);
    if (rc == MB_OK) {
        st->Wg = mb_alloc(sizeof(*st->Wg) * (size_t)E);
        st->Wu = mb_alloc(sizeof(*st->Wu) * (size_t)E);
        st->Wd = mb_alloc(sizeof(*st->Wd) * (size_t)E);
        if (!st->Wg || !st->Wu || !st->Wd) rc = mb_fail(err, MB_ENOMEM, "out of memory");
    }
    for (int64_t e = 0; rc == MB_OK && e < E; e++) {
        rc = mb_vprep_train(gp, Wg + e * fe * h, fe, h, m_hint, &st->Wg[e], err);
        if (rc == MB_OK) rc = mb_vprep_train(gp, Wu + e * fe * h, fe, h, m_hint, &st->Wu[e], err);
        if (rc == MB_OK) rc = mb_vprep_train(gp, Wd + e * h * fe, h, fe, m_hint, &st->Wd[e], err);
    }
    float **hbufs[] = { &st->Xe, &st->Ye, &st->dYg, &st->dXe };
    float **fbufs[] = { &st->He, &st->Dg, &st->dG, &st->dU };
    for (size_t i = 0; rc == MB_OK && i < 4; i++) rc = mb_valloc2(hbufs[i], T, h, err);
    for (size_t i = 0; rc == MB_OK && i < 4; i++) rc = mb_valloc2(fbufs[i], T, fe, err);
    if (rc == MB_OK) rc = mb_valloc(&st->ws, T, err);
    if (rc == MB_OK) rc = mb_valloc(&st->zrow, fe, err);
    if (rc != MB_OK) { sm_release(st); return rc; }
    memset(st->zrow, 0, sizeof(float) * (size_t)fe);
    *priv = st;
    return MB_OK;
}

static mb_status sm_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                            mb_saved *sv, mb_err *err)
{
    sm_st *st = p;
    const int64_t T = st->T, h = st->h, fe = st->fe, n_all = T * st->k;
    mb_saved local = { { 0 } };
    mb_saved *s = sv ? sv : &local;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    float *G = mb_tslot(&s->act, "G", n_all * fe, err);
    float *U = G ? mb_tslot(&s->act, "U", n_all * fe, err) : NULL;
    mb_status rc = U ? mb_trouter_run(&st->tr, st->gp, X, s, info, err) : err->code;
    if (rc == MB_OK) memset(Y, 0, sizeof(float) * (size_t)(T * h));
    for (int64_t e = 0; rc == MB_OK && e < st->E; e++) {
        const int64_t o0 = st->tr.offsets[e], n = st->tr.offsets[e + 1] - o0;
        if (n == 0) continue;
        const int32_t *tok = st->tr.tok + o0, *slot = st->tr.slot + o0;
        float *Ge = G + o0 * fe, *Ue = U + o0 * fe;
        mb_vgather(X, h, tok, n, st->Xe);
        rc = mb_vgemm(st->gp, st->Wg[e], n, h, st->Xe, 0.0f, Ge, fe, err);
        if (rc == MB_OK) rc = mb_vgemm(st->gp, st->Wu[e], n, h, st->Xe, 0.0f, Ue, fe, err);
        if (rc != MB_OK) break;
        mb_vglu_fwd(st->s.act, Ge, Ue, n * fe, st->He);
        rc = mb_vgemm(st->gp, st->Wd[e], n, fe, st->He, 0.0f, st->Ye, h, err);
        if (rc == MB_OK) mb_vscatter_add(st->Ye, h, tok, slot, n, &st->tr.rt, Y);
    }
    if (!sv) mb_weights_free(&local.act);
    return rc;
}

static mb_status sm_backward(void *p, const mb_inputs *in, const mb_saved *sv,
                             const mb_tensor *dy, mb_grads *g, mb_err *err)
{
    sm_st *st = p;
    const int64_t T = st->T, h = st->h, fe = st->fe, E = st->E, k = st->k, n_all = T * k;
    const mb_act act = st->s.act;
    const float *dY = mb_f32(dy), *X = mb_f32(&in->X);
    const float *G = mb_tsaved(sv, "G", n_all * fe, err);
    const float *U = G ? mb_tsaved(sv, "U", n_all * fe, err) : NULL;
    float *dX = U ? mb_tdx(g, T, h, err) : NULL;
    float *dWg = dX ? mb_tslot(&g->dW, "Wg", E * fe * h, err) : NULL;
    float *dWu = dWg ? mb_tslot(&g->dW, "Wu", E * fe * h, err) : NULL;
    float *dWd = dWu ? mb_tslot(&g->dW, "Wd", E * h * fe, err) : NULL;
    if (!dWd) return err->code;
    const mb_gemm_provider *gp = st->gp;
    memset(dX, 0, sizeof(float) * (size_t)(T * h));
    mb_status rc = MB_OK;
    for (int64_t e = 0; rc == MB_OK && e < E; e++) {
        const int64_t o0 = st->tr.offsets[e], n = st->tr.offsets[e + 1] - o0;
        float *dWge = dWg + e * fe * h, *dWue = dWu + e * fe * h, *dWde = dWd + e * h * fe;
        if (n == 0) {   /* an expert without tokens gets a zero gradient */
            memset(dWge, 0, sizeof(float) * (size_t)(fe * h));
            memset(dWue, 0, sizeof(float) * (size_t)(fe * h));
            memset(dWde, 0, sizeof(float) * (size_t)(h * fe));
            continue;
        }
        const int32_t *tok = st->tr.tok + o0, *slot = st->tr.slot + o0;
        const float *Ge = G + o0 * fe, *Ue = U + o0 * fe;
        mb_vgather(dY, h, tok, n, st->dYg);
        mb_vgather(X, h, tok, n, st->Xe);
        mb_vgather_w(&st->tr.rt, tok, slot, n, st->ws);
        rc = mb_vnn(gp, st->Wd[e], n, st->dYg, h, 0.0f, st->Dg, fe, err);
        if (rc != MB_OK) break;
        /* one pass per row: H_e recomputed (dWd needs it), gr, dG and dU (no LoRA term) */
        for (int64_t i = 0; i < n; i++) {
            const int64_t q = i * fe;
            st->tr.gr[(int64_t)tok[i] * k + slot[i]] = (float)mb_vglu_backward_row(
                act, Ge + q, Ue + q, st->Dg + q, st->ws[i], st->zrow, fe, st->He + q,
                st->dG + q, st->dU + q);
            for (int64_t j = 0; j < h; j++) st->dYg[i * h + j] *= st->ws[i];
        }
        rc = mb_vpl(gp, 1, 0, h, fe, n, 1.0f, st->dYg, h, st->He, fe, 0.0f, dWde, fe, err);
        if (rc == MB_OK) rc = mb_vpl(gp, 1, 0, fe, h, n, 1.0f, st->dG, fe, st->Xe, h, 0.0f, dWge, h, err);
        if (rc == MB_OK) rc = mb_vpl(gp, 1, 0, fe, h, n, 1.0f, st->dU, fe, st->Xe, h, 0.0f, dWue, h, err);
        if (rc == MB_OK) rc = mb_vnn(gp, st->Wg[e], n, st->dG, fe, 0.0f, st->dXe, h, err);
        if (rc == MB_OK) rc = mb_vnn(gp, st->Wu[e], n, st->dU, fe, 1.0f, st->dXe, h, err);
        if (rc == MB_OK)
            for (int64_t i = 0; i < n; i++) mb_vaxpy_row(dX + (int64_t)tok[i] * h, st->dXe + i * h, 1.0f, h);
    }
    if (rc == MB_OK) rc = mb_trouter_backward(&st->tr, gp, &st->s, X, sv, g, dX, err);
    return rc;
}

const mb_variant_train_ops mb_train_sparse_mlp = { sm_prepare, sm_forward, sm_backward,
                                                   sm_release };
