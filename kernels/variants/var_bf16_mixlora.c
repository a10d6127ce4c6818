/* mixlora in bf16 (spec "Precision") through a provider's bf16 entry points: var_mixlora.c's
 * three share modes on bf16 rows. Routing in f32 (mb_b16_router); the frozen MLP's products and
 * each expert's LoRA terms in bf16 (the adapter term before the base product where both go to
 * the same output, as var_bf16.c does; added with beta = 1 onto the shared G0 / U0 rows
 * otherwise); the GLU in f32 on widened rows; the weighted combine (Y, and share=all's
 * Hs = sum_e w_e H_e) in f32, rounded once. */
#include "variants_bf16.h"
#include "moebench/bf16.h"
#include <string.h>

enum { PG, PU, PD };   /* the three projections an expert adapts: gate, up, down */

typedef struct {
    const mb_gemm_provider *gp;
    mb_act act;
    mb_share share;
    int64_t T, h, f, r, E, ns;
    float sc;
    mb_b16_router rt;
    mb_gemm_weight *W[3];              /* frozen Wg, Wu, Wd */
    mb_gemm_weight **A[3], **B[3];     /* [E + ns] each: routed experts, then shared ones */
    int32_t *all_tok;                  /* [T] 0..T-1: a shared expert's rows */
    uint16_t *G0, *U0, *Hsb;           /* [T, f]: shared gate / up rows, Hs rounded */
    uint16_t *Xe, *Ge, *Ue, *Ze, *Ye;  /* [T, h], [T, f], [T, f], [T, r], [T, h] */
    float *Hs, *Yacc, *row;            /* [T, f] (share all), [T, h], [2, f] */
} mix_st;

static void mix_release(void *p)
{
    mix_st *st = p;
    if (!st) return;
    for (int q = 0; q < 3; q++) {
        if (st->W[q]) mb_gemm_weight_release(st->gp, MB_BF16, st->W[q]);
        for (int64_t e = 0; e < st->E + st->ns; e++) {
            if (st->A[q] && st->A[q][e]) mb_gemm_weight_release(st->gp, MB_BF16, st->A[q][e]);
            if (st->B[q] && st->B[q][e]) mb_gemm_weight_release(st->gp, MB_BF16, st->B[q][e]);
        }
        mb_free(st->A[q]);
        mb_free(st->B[q]);
    }
    mb_b16_router_free(&st->rt, st->gp);
    void *bufs[] = {st->all_tok, st->G0, st->U0, st->Hsb, st->Xe, st->Ge, st->Ue,
                    st->Ze, st->Ye, st->Hs, st->Yacc, st->row};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) mb_free(bufs[i]);
    mb_free(st);
}

static mb_status prep(mix_st *st, const void *W, int64_t N, int64_t K, mb_gemm_weight **out,
                      mb_err *err)
{
    return mb_gemm_weight_prepare(st->gp, MB_BF16, W, N, K, K, st->T, out, err);
}

/* The LoRA factors of projection q (din -> dout) of the n experts named a / b, into slots
 * first.. of A[q] / B[q]. */
static mb_status prep_lora(mix_st *st, const mb_weights *w, int q, const char *a, const char *b,
                           int64_t first, int64_t n, int64_t din, int64_t dout, mb_err *err)
{
    if (n == 0) return MB_OK;
    const int64_t r = st->r;
    const uint16_t *A = mb_vw_as(w, a, n * r * din, MB_BF16, err);
    const uint16_t *B = A ? mb_vw_as(w, b, n * dout * r, MB_BF16, err) : NULL;
    if (!B) return err ? err->code : MB_EINVAL;
    mb_status rc = MB_OK;
    for (int64_t i = 0; rc == MB_OK && i < n; i++) {
        rc = prep(st, A + i * r * din, r, din, &st->A[q][first + i], err);
        if (rc == MB_OK) rc = prep(st, B + i * dout * r, dout, r, &st->B[q][first + i], err);
    }
    return rc;
}

static mb_status mix_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                             void **priv, mb_err *err)
{
    mix_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    memset(st, 0, sizeof *st);
    const int64_t T = mb_spec_T(s), h = s->h, f = s->f, r = s->r, E = s->E, ns = s->shared;
    st->gp = gp; st->act = s->act; st->share = s->share; st->T = T; st->h = h; st->f = f;
    st->r = r; st->E = E; st->ns = ns; st->sc = s->alpha / (float)r;
    mb_status rc = mb_b16_router_init(&st->rt, gp, w, s, err);
    const char *wn[3] = {"Wg", "Wu", "Wd"};
    const int64_t dout[3] = {f, f, h}, din[3] = {h, h, f};
    for (int q = 0; rc == MB_OK && q < 3; q++) {
        /* the frozen MLP through mb_vprep_base: bf16, or its wq levels */
        rc = mb_vprep_base(gp, s, w, wn[q], 1, 0, dout[q], din[q], T, &st->W[q], err);
        st->A[q] = rc == MB_OK ? mb_alloc(sizeof(mb_gemm_weight *) * (size_t)(E + ns)) : NULL;
        st->B[q] = rc == MB_OK ? mb_alloc(sizeof(mb_gemm_weight *) * (size_t)(E + ns)) : NULL;
        if (rc == MB_OK && (!st->A[q] || !st->B[q])) rc = mb_fail(err, MB_ENOMEM, "out of memory");
        if (rc == MB_OK) {
            memset(st->A[q], 0, sizeof(mb_gemm_weight *) * (size_t)(E + ns));
            memset(st->B[q], 0, sizeof(mb_gemm_weight *) * (size_t)(E + ns));
        }
    }
    const char *an[3] = {"Ag", "Au", "Ad"}, *bn[3] = {"Bg", "Bu", "Bd"};
    const char *asn[3] = {"Ags", "Aus", "Ads"}, *bsn[3] = {"Bgs", "Bus", "Bds"};
    for (int q = 0; rc == MB_OK && q < 3; q++) {
        rc = prep_lora(st, w, q, an[q], bn[q], 0, E, din[q], dout[q], err);
        if (rc == MB_OK) rc = prep_lora(st, w, q, asn[q], bsn[q], E, ns, din[q], dout[q], err);
    }
    if (rc == MB_OK && ns) {
        st->all_tok = mb_alloc(sizeof(int32_t) * (size_t)T);
        if (!st->all_tok) rc = mb_fail(err, MB_ENOMEM, "out of memory");
        for (int64_t t = 0; rc == MB_OK && t < T; t++) st->all_tok[t] = (int32_t)t;
    }
    if (rc == MB_OK && s->share != MB_SHARE_NONE) rc = mb_b16_alloc(&st->G0, T, f, err);
    if (rc == MB_OK && s->share != MB_SHARE_NONE) rc = mb_b16_alloc(&st->U0, T, f, err);
    if (rc == MB_OK && s->share == MB_SHARE_ALL) rc = mb_b16_alloc(&st->Hsb, T, f, err);
    if (rc == MB_OK && s->share == MB_SHARE_ALL) rc = mb_valloc2(&st->Hs, T, f, err);
    if (rc == MB_OK) rc = mb_b16_alloc(&st->Xe, T, h, err);
    if (rc == MB_OK) rc = mb_b16_alloc(&st->Ge, T, f, err);
    if (rc == MB_OK) rc = mb_b16_alloc(&st->Ue, T, f, err);
    if (rc == MB_OK) rc = mb_b16_alloc(&st->Ze, T, r, err);
    if (rc == MB_OK) rc = mb_b16_alloc(&st->Ye, T, h, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Yacc, T, h, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->row, 2, f, err);
    if (rc != MB_OK) { mix_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

/* C [n, dout] = beta C + sc (Xin A^T) B^T: expert e's LoRA term of projection q. */
static mb_status lora(mix_st *st, int q, int64_t e, int64_t n, const uint16_t *Xin, int64_t din,
                      float beta, uint16_t *C, int64_t dout, mb_err *err)
{
    mb_status rc = mb_gemm(st->gp, MB_BF16, st->A[q][e], n, Xin, din, 1.0f, 0.0f, st->Ze, st->r,
                           err);
    if (rc == MB_OK)
        rc = mb_gemm(st->gp, MB_BF16, st->B[q][e], n, st->Ze, st->r, st->sc, beta, C, dout, err);
    return rc;
}

/* Expert e over its n gathered rows Xe (slot NULL: a shared expert, weight 1). */
static mb_status expert(mix_st *st, int64_t e, int64_t n, const int32_t *tok, const int32_t *slot,
                        mb_err *err)
{
    const mb_gemm_provider *gp = st->gp;
    const int64_t h = st->h, f = st->f;
    mb_status rc = MB_OK;
    if (st->share == MB_SHARE_NONE) {   /* adapter term first, then the base with beta = 1 */
        rc = lora(st, PG, e, n, st->Xe, h, 0.0f, st->Ge, f, err);
        if (rc == MB_OK) rc = mb_gemm(gp, MB_BF16, st->W[PG], n, st->Xe, h, 1.0f, 1.0f, st->Ge, f, err);
        if (rc == MB_OK) rc = lora(st, PU, e, n, st->Xe, h, 0.0f, st->Ue, f, err);
        if (rc == MB_OK) rc = mb_gemm(gp, MB_BF16, st->W[PU], n, st->Xe, h, 1.0f, 1.0f, st->Ue, f, err);
    } else {                            /* the shared rows, then the adapter term */
        mb_b16_gather(st->G0, f, tok, n, st->Ge);
        mb_b16_gather(st->U0, f, tok, n, st->Ue);
        rc = lora(st, PG, e, n, st->Xe, h, 1.0f, st->Ge, f, err);
        if (rc == MB_OK) rc = lora(st, PU, e, n, st->Xe, h, 1.0f, st->Ue, f, err);
    }
    if (rc != MB_OK) return rc;
    mb_b16_glu(st->act, st->Ge, st->Ue, n, f, st->row);   /* H_e in Ge */
    rc = lora(st, PD, e, n, st->Ge, f, 0.0f, st->Ye, h, err);
    if (rc == MB_OK && st->share != MB_SHARE_ALL)
        rc = mb_gemm(gp, MB_BF16, st->W[PD], n, st->Ge, f, 1.0f, 1.0f, st->Ye, h, err);
    if (rc != MB_OK) return rc;
    /* share all: w_e H_e into Hs (the base down projection runs once on Hs) */
    if (st->share == MB_SHARE_ALL) mb_b16_combine(st->Ge, f, tok, slot, n, &st->rt.vr.rt, st->Hs);
    mb_b16_combine(st->Ye, h, tok, slot, n, &st->rt.vr.rt, st->Yacc);
    return MB_OK;
}

static mb_status mix_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                             mb_err *err)
{
    mix_st *st = p;
    const uint16_t *X = in->X.data;
    const int64_t T = st->T, h = st->h, f = st->f;
    const mb_vrouter *vr = &st->rt.vr;
    mb_status rc = mb_b16_router_run(&st->rt, st->gp, X, info, err);
    if (rc == MB_OK && st->share != MB_SHARE_NONE) {
        rc = mb_gemm(st->gp, MB_BF16, st->W[PG], T, X, h, 1.0f, 0.0f, st->G0, f, err);
        if (rc == MB_OK) rc = mb_gemm(st->gp, MB_BF16, st->W[PU], T, X, h, 1.0f, 0.0f, st->U0, f, err);
    }
    if (rc != MB_OK) return rc;
    memset(st->Yacc, 0, sizeof(float) * (size_t)(T * h));
    if (st->Hs) memset(st->Hs, 0, sizeof(float) * (size_t)(T * f));
    for (int64_t e = 0; e < st->E && rc == MB_OK; e++) {
        const int64_t o = vr->offsets[e], n = vr->offsets[e + 1] - o;
        if (n == 0) continue;
        mb_b16_gather(X, h, vr->tok + o, n, st->Xe);
        rc = expert(st, e, n, vr->tok + o, vr->slot + o, err);
    }
    /* shared experts: every row, weight 1 */
    if (st->ns) mb_b16_gather(X, h, st->all_tok, T, st->Xe);
    for (int64_t e = st->E; e < st->E + st->ns && rc == MB_OK; e++)
        rc = expert(st, e, T, st->all_tok, NULL, err);
    if (rc == MB_OK && st->share == MB_SHARE_ALL) {
        for (int64_t i = 0; i < T * f; i++) st->Hsb[i] = mb_f32_to_bf16(st->Hs[i]);
        rc = mb_gemm(st->gp, MB_BF16, st->W[PD], T, st->Hsb, f, 1.0f, 0.0f, st->Ye, h, err);
        for (int64_t i = 0; rc == MB_OK && i < T * h; i++)
            st->Yacc[i] += mb_bf16_to_f32(st->Ye[i]);
    }
    if (rc != MB_OK) return rc;
    uint16_t *Y = y->data;
    for (int64_t i = 0; i < T * h; i++) Y[i] = mb_f32_to_bf16(st->Yacc[i]);
    return MB_OK;
}

const mb_variant_ops mb_var_mixlora_bf16 = {mix_prepare, mix_forward, mix_release};
