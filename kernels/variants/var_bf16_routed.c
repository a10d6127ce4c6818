/* router and sparse_mlp in bf16 (spec "Precision") through a provider's bf16 entry points.
 *
 * Routing runs in f32 as the spec asks (softmax and top-k in f32): the logits X Wr^T come from
 * the provider's f32 GEMM on X and Wr widened to f32 (exact), so the routing weights match
 * naive's as closely as an f32 case's do; a bf16 GEMM would round the logits and move every
 * weight by up to u. The experts (sparse_mlp) run in bf16 on the gathered bf16 rows: G, U, H
 * and each expert's output rows are bf16, and the weighted combine sums the widened rows in
 * f32, in ascending expert order then the shared experts, with Y rounded once at the end. */
#include "variants_bf16.h"
#include "moebench/bf16.h"
#include <string.h>

/* ---- router: Y [T, E] bf16, w at the chosen experts ---- */

typedef struct {
    const mb_gemm_provider *gp;
    mb_b16_router r;
} router_st;

static void router_release(void *p)
{
    router_st *st = p;
    if (!st) return;
    mb_b16_router_free(&st->r, st->gp);
    mb_free(st);
}

static mb_status router_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                                void **priv, mb_err *err)
{
    router_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    memset(st, 0, sizeof *st);
    st->gp = gp;
    mb_status rc = mb_b16_router_init(&st->r, gp, w, s, err);
    if (rc != MB_OK) { router_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status router_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                                mb_err *err)
{
    router_st *st = p;
    mb_status rc = mb_b16_router_run(&st->r, st->gp, in->X.data, info, err);
    if (rc != MB_OK) return rc;
    const mb_vrouter *vr = &st->r.vr;
    uint16_t *Y = y->data;
    memset(Y, 0, sizeof(uint16_t) * (size_t)(vr->T * vr->E));
    /* empty top-p slots and dropped assignments combine nothing */
    for (int64_t t = 0; t < vr->T; t++)
        for (int64_t j = 0; j < vr->k; j++)
            if (mb_routing_active(&vr->rt, t * vr->k + j))
                Y[t * vr->E + vr->rt.idx[t * vr->k + j]] = mb_f32_to_bf16(vr->rt.w[t * vr->k + j]);
    return MB_OK;
}

const mb_variant_ops mb_var_router_bf16 = {router_prepare, router_forward, router_release};

/* ---- sparse_mlp: routed experts, then shared ones, on bf16 rows ---- */

typedef struct {
    const mb_gemm_provider *gp;
    mb_act act;
    int64_t T, h, fe, E, ns;
    mb_b16_router r;
    mb_gemm_weight **Wg, **Wu, **Wd;   /* [E + ns]: routed experts, then shared ones */
    uint16_t *Xe, *Ge, *Ue, *Ye;       /* [T, h], [T, fe], [T, fe], [T, h] */
    float *Yacc, *row;                 /* [T, h], [2, fe] */
} smlp_st;

static void smlp_release(void *p)
{
    smlp_st *st = p;
    if (!st) return;
    mb_gemm_weight **sets[] = {st->Wg, st->Wu, st->Wd};
    for (int i = 0; i < 3; i++) {
        for (int64_t e = 0; sets[i] && e < st->E + st->ns; e++)
            if (sets[i][e]) mb_gemm_weight_release(st->gp, MB_BF16, sets[i][e]);
        mb_free(sets[i]);
    }
    mb_b16_router_free(&st->r, st->gp);
    void *bufs[] = {st->Xe, st->Ge, st->Ue, st->Ye, st->Yacc, st->row};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) mb_free(bufs[i]);
    mb_free(st);
}

/* Expert weights of one projection: n experts of [rows, cols] from the named tensor (bf16, or
 * its wq levels: mb_vprep_base). */
static mb_status prep_experts(smlp_st *st, const mb_spec *s, const mb_weights *w,
                              const char *name, int64_t n, int64_t rows, int64_t cols,
                              mb_gemm_weight **out, mb_err *err)
{
    for (int64_t e = 0; e < n; e++) {
        mb_status rc = mb_vprep_base(st->gp, s, w, name, n, e, rows, cols, st->T, &out[e], err);
        if (rc != MB_OK) return rc;
    }
    return MB_OK;
}

static mb_status smlp_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                              void **priv, mb_err *err)
{
    smlp_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    memset(st, 0, sizeof *st);
    const int64_t T = mb_spec_T(s), h = s->h, E = s->E, ns = s->shared;
    const int64_t fe = mb_spec_expert_width(s);
    st->gp = gp; st->act = s->act; st->T = T; st->h = h; st->fe = fe; st->E = E; st->ns = ns;
    st->Wg = mb_alloc(sizeof(mb_gemm_weight *) * (size_t)(E + ns));
    st->Wu = mb_alloc(sizeof(mb_gemm_weight *) * (size_t)(E + ns));
    st->Wd = mb_alloc(sizeof(mb_gemm_weight *) * (size_t)(E + ns));
    mb_status rc = st->Wg && st->Wu && st->Wd ? MB_OK : mb_fail(err, MB_ENOMEM, "out of memory");
    if (rc == MB_OK) {
        memset(st->Wg, 0, sizeof(mb_gemm_weight *) * (size_t)(E + ns));
        memset(st->Wu, 0, sizeof(mb_gemm_weight *) * (size_t)(E + ns));
        memset(st->Wd, 0, sizeof(mb_gemm_weight *) * (size_t)(E + ns));
        rc = mb_b16_router_init(&st->r, gp, w, s, err);
    }
    if (rc == MB_OK) rc = prep_experts(st, s, w, "Wg", E, fe, h, st->Wg, err);
    if (rc == MB_OK) rc = prep_experts(st, s, w, "Wu", E, fe, h, st->Wu, err);
    if (rc == MB_OK) rc = prep_experts(st, s, w, "Wd", E, h, fe, st->Wd, err);
    if (rc == MB_OK) rc = prep_experts(st, s, w, "Wgs", ns, fe, h, st->Wg + E, err);
    if (rc == MB_OK) rc = prep_experts(st, s, w, "Wus", ns, fe, h, st->Wu + E, err);
    if (rc == MB_OK) rc = prep_experts(st, s, w, "Wds", ns, h, fe, st->Wd + E, err);
    if (rc == MB_OK) rc = mb_b16_alloc(&st->Xe, T, h, err);
    if (rc == MB_OK) rc = mb_b16_alloc(&st->Ge, T, fe, err);
    if (rc == MB_OK) rc = mb_b16_alloc(&st->Ue, T, fe, err);
    if (rc == MB_OK) rc = mb_b16_alloc(&st->Ye, T, h, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Yacc, T, h, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->row, 2, fe, err);
    if (rc != MB_OK) { smlp_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

/* Expert e on n rows Xr [n, h] into Ye [n, h] (unweighted). */
static mb_status expert(smlp_st *st, int64_t e, int64_t n, const uint16_t *Xr, mb_err *err)
{
    const int64_t h = st->h, fe = st->fe;
    mb_status rc = mb_gemm(st->gp, MB_BF16, st->Wg[e], n, Xr, h, 1.0f, 0.0f, st->Ge, fe, err);
    if (rc == MB_OK) rc = mb_gemm(st->gp, MB_BF16, st->Wu[e], n, Xr, h, 1.0f, 0.0f, st->Ue, fe, err);
    if (rc != MB_OK) return rc;
    mb_b16_glu(st->act, st->Ge, st->Ue, n, fe, st->row);
    return mb_gemm(st->gp, MB_BF16, st->Wd[e], n, st->Ge, fe, 1.0f, 0.0f, st->Ye, h, err);
}

static mb_status smlp_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                              mb_err *err)
{
    smlp_st *st = p;
    const uint16_t *X = in->X.data;
    const int64_t T = st->T, h = st->h;
    mb_status rc = mb_b16_router_run(&st->r, st->gp, X, info, err);
    if (rc != MB_OK) return rc;
    const mb_vrouter *vr = &st->r.vr;
    memset(st->Yacc, 0, sizeof(float) * (size_t)(T * h));
    for (int64_t e = 0; e < st->E; e++) {
        const int64_t o = vr->offsets[e], n = vr->offsets[e + 1] - o;
        if (n == 0) continue;
        mb_b16_gather(X, h, vr->tok + o, n, st->Xe);
        rc = expert(st, e, n, st->Xe, err);
        if (rc != MB_OK) return rc;
        mb_b16_combine(st->Ye, h, vr->tok + o, vr->slot + o, n, &vr->rt, st->Yacc);
    }
    /* shared experts: every token, weight 1, added after the routed sum */
    for (int64_t e = st->E; e < st->E + st->ns; e++) {
        rc = expert(st, e, T, X, err);
        if (rc != MB_OK) return rc;
        for (int64_t i = 0; i < T * h; i++) st->Yacc[i] += mb_bf16_to_f32(st->Ye[i]);
    }
    uint16_t *Y = y->data;
    for (int64_t i = 0; i < T * h; i++) Y[i] = mb_f32_to_bf16(st->Yacc[i]);
    return MB_OK;
}

const mb_variant_ops mb_var_sparse_mlp_bf16 = {smlp_prepare, smlp_forward, smlp_release};
