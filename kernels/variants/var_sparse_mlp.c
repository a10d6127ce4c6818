/* sparse_mlp: top-k MoE of gated-MLP experts, grouped like ggml MUL_MAT_ID: route once, group
 * token rows per expert, gather them, run the experts' GEMMs over their rows, scatter-add
 * weighted rows in ascending expert order. Experts that received no token cost nothing.
 * The experts' GEMMs go to the provider as one group per step (gate and up of every expert,
 * then every down projection: mb_gemm_group), so a provider that can split them cuts all
 * experts' rows and columns over the threads together, whatever the routing's balance.
 * The raw entry point also runs merged mixlora (E materialised expert MLPs). */
#include "variants.h"
#include <string.h>

/* The grouped workspace holds T x min(k, MB_SMLP_GROUP_K) rows: every routed row of a top-2
 * router at once, and experts in batches that fit beyond that (top-p lets a token take up to
 * E experts, which would otherwise size it T x E). At least T rows: one expert always fits. */
#define MB_SMLP_GROUP_K 2
static int64_t group_rows(int64_t T, int64_t k)
{
    return T * (k < MB_SMLP_GROUP_K ? (k > 0 ? k : 1) : MB_SMLP_GROUP_K);
}

typedef struct {
    const mb_gemm_provider *gp;
    mb_act act;
    int64_t T, h, fe, E, k;
    mb_vrouter vr;
    mb_gemm_weight **Wg, **Wu, **Wd;   /* [E + ns] each: routed experts, then shared ones */
    int64_t ns;                        /* shared experts (spec "Routing options") */
    int64_t rows;                      /* group_rows(T, k): the grouped workspace's rows */
    float *Xe, *Ge, *Ue, *Ye;          /* [rows, h], [rows, fe], [rows, fe], [rows, h] */
    mb_gemm_job *jobs;                 /* [2E]: one group of expert GEMMs */
    int64_t *goff;                     /* [E + 1]: row offsets of grouped counts */
    void *owned;                       /* memory freed with the state (merged experts) */
} smlp_st;

static void smlp_release(void *p)
{
    smlp_st *st = p;
    if (!st) return;
    for (int64_t e = 0; e < st->E + st->ns; e++) {
        if (st->Wg) mb_vrelease(st->gp, &st->Wg[e]);
        if (st->Wu) mb_vrelease(st->gp, &st->Wu[e]);
        if (st->Wd) mb_vrelease(st->gp, &st->Wd[e]);
    }
    mb_free(st->Wg);
    mb_free(st->Wu);
    mb_free(st->Wd);
    mb_vrouter_free(&st->vr, st->gp);
    mb_free(st->Xe);
    mb_free(st->Ge);
    mb_free(st->Ue);
    mb_free(st->Ye);
    mb_free(st->jobs);
    mb_free(st->goff);
    mb_free(st->owned);
    mb_free(st);
}

/* base non-NULL: the experts' Wg, Wu, Wd (and the shared Wgs, Wus, Wds) come from it through
 * mb_vprep_base (wq levels), and the three pointers are unused. */
static mb_status smlp_prepare_core(const mb_gemm_provider *gp, const mb_spec *s,
                                   const float *Wr, const float *Wg, const float *Wu,
                                   const float *Wd, const mb_weights *base, int64_t fe,
                                   void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, E = s->E, k = s->k, ns = s->shared;
    smlp_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->act = s->act; st->T = T; st->h = h; st->fe = fe; st->E = E; st->k = k;
    st->ns = ns;
    /* expected rows per expert with balanced routing: what oneDNN builds its primitive for */
    const int64_t m_hint = (T * k + E - 1) / E;
    mb_status rc = mb_vrouter_init(&st->vr, gp, Wr, s, err);
    if (rc == MB_OK) {
        st->Wg = mb_alloc(sizeof(*st->Wg) * (size_t)(E + ns));
        st->Wu = mb_alloc(sizeof(*st->Wu) * (size_t)(E + ns));
        st->Wd = mb_alloc(sizeof(*st->Wd) * (size_t)(E + ns));
        if (!st->Wg || !st->Wu || !st->Wd) rc = mb_fail(err, MB_ENOMEM, "out of memory");
    }
    /* the shared experts follow the routed ones in Wg, Wu, Wd ([E + ns] experts) and see
     * every token */
    for (int64_t e = 0; rc == MB_OK && e < E + ns; e++) {
        const int64_t m = e < E ? m_hint : T;
        if (base) {
            const int sh = e >= E;
            const int64_t i = sh ? e - E : e, n = sh ? ns : E;
            rc = mb_vprep_base(gp, s, base, sh ? "Wgs" : "Wg", n, i, fe, h, m, &st->Wg[e], err);
            if (rc == MB_OK)
                rc = mb_vprep_base(gp, s, base, sh ? "Wus" : "Wu", n, i, fe, h, m, &st->Wu[e], err);
            if (rc == MB_OK)
                rc = mb_vprep_base(gp, s, base, sh ? "Wds" : "Wd", n, i, h, fe, m, &st->Wd[e], err);
            continue;
        }
        rc = mb_vprep(gp, Wg + e * fe * h, fe, h, m, &st->Wg[e], err);
        if (rc == MB_OK) rc = mb_vprep(gp, Wu + e * fe * h, fe, h, m, &st->Wu[e], err);
        if (rc == MB_OK) rc = mb_vprep(gp, Wd + e * h * fe, h, fe, m, &st->Wd[e], err);
    }
    /* routed rows in batches of experts (a shared expert's T rows fit too) */
    st->rows = group_rows(T, k);
    if (rc == MB_OK) rc = mb_valloc2(&st->Xe, st->rows, h, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Ge, st->rows, fe, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Ue, st->rows, fe, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Ye, st->rows, h, err);
    if (rc == MB_OK) {
        st->jobs = mb_alloc(sizeof(*st->jobs) * (size_t)(2 * E));
        st->goff = mb_alloc(sizeof(*st->goff) * (size_t)(E + 1));
        if (!st->jobs || !st->goff) rc = mb_fail(err, MB_ENOMEM, "out of memory");
    }
    if (rc != MB_OK) { smlp_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

mb_status mb_sparse_mlp_prepare_raw(const mb_gemm_provider *gp, const mb_spec *s,
                                    const float *Wr, const float *Wg, const float *Wu,
                                    const float *Wd, int64_t fe, void **priv, mb_err *err)
{
    return smlp_prepare_core(gp, s, Wr, Wg, Wu, Wd, NULL, fe, priv, err);
}

/* Hands memory to the state so it is freed with it (merged mixlora's expert weights). */
void mb_sparse_mlp_own(void *priv, void *mem) { ((smlp_st *)priv)->owned = mem; }

mb_status mb_sparse_mlp_stack_shared(const mb_spec *s, const mb_weights *w, float **out,
                                     mb_err *err)
{
    const int64_t h = s->h, E = s->E, ns = s->shared, fe = mb_spec_expert_width(s);
    const int64_t n1 = (E + ns) * fe * h;   /* elements of one projection, all experts */
    *out = NULL;
    const char *names[3][2] = {{"Wg", "Wgs"}, {"Wu", "Wus"}, {"Wd", "Wds"}};
    mb_status rc = mb_valloc2(out, 3, n1, err);
    for (int p = 0; p < 3 && rc == MB_OK; p++) {
        const float *R = mb_vw(w, names[p][0], E * fe * h, err);
        const float *S = R ? mb_vw(w, names[p][1], ns * fe * h, err) : NULL;
        if (!S) { rc = err ? err->code : MB_EINVAL; break; }
        memcpy(*out + p * n1, R, sizeof(float) * (size_t)(E * fe * h));
        memcpy(*out + p * n1 + E * fe * h, S, sizeof(float) * (size_t)(ns * fe * h));
    }
    if (rc != MB_OK) { mb_free(*out); *out = NULL; }
    return rc;
}

static mb_status smlp_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                              void **priv, mb_err *err)
{
    const int64_t h = s->h, E = s->E, fe = mb_spec_expert_width(s);
    const float *Wr = mb_vw(w, "Wr", E * h, err);
    if (Wr && s->wq != MB_F32)   /* quantised experts: prepared from w by mb_vprep_base */
        return smlp_prepare_core(gp, s, Wr, NULL, NULL, NULL, w, fe, priv, err);
    const float *Wg = Wr ? mb_vw(w, "Wg", E * fe * h, err) : NULL;
    const float *Wu = Wg ? mb_vw(w, "Wu", E * fe * h, err) : NULL;
    const float *Wd = Wu ? mb_vw(w, "Wd", E * h * fe, err) : NULL;
    if (!Wd) return err ? err->code : MB_EINVAL;
    if (s->shared == 0)
        return mb_sparse_mlp_prepare_raw(gp, s, Wr, Wg, Wu, Wd, fe, priv, err);
    /* shared experts: one [E + ns] stack per projection (the providers pack a copy of it,
     * so the stack lives only as long as the state) */
    float *all = NULL;
    const int64_t n1 = (E + s->shared) * fe * h;
    mb_status rc = mb_sparse_mlp_stack_shared(s, w, &all, err);
    if (rc == MB_OK)
        rc = mb_sparse_mlp_prepare_raw(gp, s, Wr, all, all + n1, all + 2 * n1, fe, priv, err);
    if (rc != MB_OK) { mb_free(all); return rc; }
    mb_sparse_mlp_own(*priv, all);
    return MB_OK;
}

/* Experts e0..e1-1 on rows grouped by expert: rows off[e]-off[e0] .. off[e+1]-off[e0]-1 of
 * Xg are expert e's (off[e1] - off[e0] <= st->rows); Yg, alike, gets each row's unweighted
 * output. Gate and up GEMMs of every expert as one group, the GLU, the down GEMMs as one
 * group. The expert computation of the forward and of expert parallelism. */
static mb_status experts_batch(smlp_st *st, const int64_t *off, int64_t e0, int64_t e1,
                               const float *Xg, float *Yg, mb_err *err)
{
    const int64_t h = st->h, fe = st->fe;
    int64_t nj = 0;
    for (int64_t e = e0; e < e1; e++) {
        const int64_t o0 = off[e] - off[e0], n = off[e + 1] - off[e];
        if (n == 0) continue;
        st->jobs[nj++] = (mb_gemm_job){st->Wg[e], n, Xg + o0 * h, h, 1.0f, 0.0f,
                                       st->Ge + o0 * fe, fe};
        st->jobs[nj++] = (mb_gemm_job){st->Wu[e], n, Xg + o0 * h, h, 1.0f, 0.0f,
                                       st->Ue + o0 * fe, fe};
    }
    mb_status rc = mb_gemm_group(st->gp, MB_F32, st->jobs, nj, NULL, err);
    if (rc != MB_OK) return rc;
    mb_vglu(st->act, st->Ge, st->Ue, (off[e1] - off[e0]) * fe);
    nj = 0;
    for (int64_t e = e0; e < e1; e++) {
        const int64_t o0 = off[e] - off[e0], n = off[e + 1] - off[e];
        if (n == 0) continue;
        st->jobs[nj++] = (mb_gemm_job){st->Wd[e], n, st->Ge + o0 * fe, fe, 1.0f, 0.0f,
                                       Yg + o0 * h, h};
    }
    return mb_gemm_group(st->gp, MB_F32, st->jobs, nj, NULL, err);
}

/* The end of the batch of experts that starts at e0: as many as fit the workspace's rows
 * (always at least one: an expert has at most T rows). */
static int64_t batch_end(const smlp_st *st, const int64_t *off, int64_t e0)
{
    int64_t e1 = e0 + 1;
    while (e1 < st->E && off[e1 + 1] - off[e0] <= st->rows)
        e1++;
    return e1;
}

static mb_status smlp_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                              mb_err *err)
{
    smlp_st *st = p;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    const int64_t h = st->h, fe = st->fe;
    mb_status rc = mb_vrouter_run(&st->vr, st->gp, X, info, err);
    if (rc != MB_OK) return rc;
    memset(Y, 0, sizeof(float) * (size_t)(st->T * h));
    const int64_t *off = st->vr.offsets;
    for (int64_t e0 = 0, e1; e0 < st->E; e0 = e1) {
        e1 = batch_end(st, off, e0);
        mb_vgather(X, h, st->vr.tok + off[e0], off[e1] - off[e0], st->Xe);
        rc = experts_batch(st, off, e0, e1, st->Xe, st->Ye, err);
        if (rc != MB_OK) return rc;
        /* ascending expert order within and across batches, as the spec sums */
        for (int64_t e = e0; e < e1; e++)
            if (off[e + 1] > off[e])
                mb_vscatter_add(st->Ye + (off[e] - off[e0]) * h, h, st->vr.tok + off[e],
                                st->vr.slot + off[e], off[e + 1] - off[e], &st->vr.rt, Y);
    }
    /* shared experts: every token, weight 1, added after the routed sum */
    for (int64_t e = st->E; e < st->E + st->ns; e++) {
        const int64_t T = st->T;
        rc = mb_vgemm(st->gp, st->Wg[e], T, h, X, 0.0f, st->Ge, fe, err);
        if (rc == MB_OK) rc = mb_vgemm(st->gp, st->Wu[e], T, h, X, 0.0f, st->Ue, fe, err);
        if (rc != MB_OK) return rc;
        mb_vglu(st->act, st->Ge, st->Ue, T * fe);
        rc = mb_vgemm(st->gp, st->Wd[e], T, fe, st->Ge, 1.0f, Y, h, err);
        if (rc != MB_OK) return rc;
    }
    return MB_OK;
}

mb_status mb_sparse_mlp_experts_grouped(void *priv, const float *Xg, const int64_t *counts,
                                        float *Yg, mb_err *err)
{
    smlp_st *st = priv;
    st->goff[0] = 0;
    for (int64_t e = 0; e < st->E; e++) {
        if (counts[e] > st->T)
            return mb_fail(err, MB_EINVAL, "expert %lld: %lld rows, more than the T=%lld the "
                           "state was prepared for", (long long)e, (long long)counts[e],
                           (long long)st->T);
        st->goff[e + 1] = st->goff[e] + counts[e];
    }
    for (int64_t e0 = 0, e1; e0 < st->E; e0 = e1) {
        e1 = batch_end(st, st->goff, e0);
        mb_status rc = experts_batch(st, st->goff, e0, e1, Xg + st->goff[e0] * st->h,
                                     Yg + st->goff[e0] * st->h, err);
        if (rc != MB_OK) return rc;
    }
    return MB_OK;
}

const mb_variant_ops mb_var_sparse_mlp = { smlp_prepare, smlp_forward, smlp_release };

/* ---- shape (core/variant_shape.h): weights layout, element count, cost, memory ---------- */

static int sparse_mlp_layout(const mb_spec *s, mb_wdesc *d)
{
    int64_t h = s->h, E = s->E, fe = mb_spec_expert_width(s);
    int n = 0;
    MB_W2("Wr", E, h); MB_W3B("Wg", E, fe, h); MB_W3B("Wu", E, fe, h); MB_W3B("Wd", E, h, fe);
    /* shard=1: the experts are f/E-wide slices of ONE gated MLP of width f, so the down
     * projection is drawn as that MLP's Wd [h, f] (fan-in f), sliced: each expert's
     * Wd [h, f/E] ~ N(0, 1/f), not N(0, E/f). Wg, Wu keep fan-in h. */
    if (s->shard)
        d[n - 1].fan_in = (double)s->f;
    if (s->shared > 0) {   /* shared experts of the routed width, drawn like them */
        MB_W3B("Wgs", s->shared, fe, h); MB_W3B("Wus", s->shared, fe, h);
        MB_W3B("Wds", s->shared, h, fe);
        if (s->shard)
            d[n - 1].fan_in = (double)s->f;
    }
    return n;
}

static int sparse_mlp_elems(const mb_spec *s, int64_t *n)
{
    /* Wr[E,h], E routed and `shared` shared experts of 3 [fe, h] matrices */
    return mb_madd(n, s->E, s->h) || mb_madd4(n, 3, s->E, mb_spec_expert_width(s), s->h) ||
                   mb_madd4(n, 3, s->shared, mb_spec_expert_width(s), s->h)
               ? -1 : 0;
}

static void sparse_mlp_cost(const mb_spec *s, const int64_t *counts, mb_cost_terms *c)
{
    double T = (double)mb_spec_T(s), h = (double)s->h, E = (double)s->E;
    double A = mb_assignments(s, counts), ns = (double)s->shared;
    /* router 2ThE + 6 h fe per assignment computed (T k without drops or top-p) + the shared
     * experts over every token */
    double fe = (double)mb_spec_expert_width(s);
    c->flops = 2 * T * h * E + 6 * (A + T * ns) * h * fe;
    c->wb = (mb_experts_hit(s, counts) + ns) * 3 * h * fe;
    c->wr = E * h;
}

static int64_t sparse_mlp_mem_base(mb_acc *a, const mb_mdims *d)
{
    /* routed and shared experts */
    return mb_acc_mul(a, mb_acc_mul(a, mb_acc_mul(a, 3 * d->el, mb_acc_plus(a, d->E, d->shared)),
                                    d->fe), d->h);
}

static void sparse_mlp_mem_workspace(mb_acc *a, const mb_mdims *d)
{
    /* variant: Xe Ye [rows, h], Ge Ue [rows, fe] (rows = group_rows: T min(k, 2)); fused:
     * buf [T, 2fe + pad], H [T, fe], ws [T]; one of them runs */
    const int64_t gk = group_rows(1, d->k);
    const int64_t var = mb_acc_mul(a, mb_acc_mul(a, 2, gk), mb_acc_plus(a, d->h, d->fe));
    const int64_t fus = mb_acc_plus(a, mb_acc_mul(a, 3, d->fe), 1 + MB_ROW_PAD_FLOATS);
    mb_acc_add3(a, 4, d->T, var > fus ? var : fus);
    mb_mem_router_ws(a, d);
    /* shared experts: prepare keeps one f32 stack of all experts (mb_sparse_mlp_stack_shared) */
    if (d->shared > 0)
        mb_acc_add4(a, 3 * 4, mb_acc_plus(a, d->E, d->shared), d->fe, d->h);
}

static void sparse_mlp_mem_stacked(mb_acc *a, const mb_mdims *d)
{
    mb_acc_add3(a, 2 * d->el, d->fe, d->h);
}

static mb_status sparse_mlp_validate(const mb_spec *s, mb_err *err)
{
    if (s->shard != 0 && s->shard != 1)
        return mb_fail(err, MB_EINVAL, "shard=%d: must be 0 or 1", s->shard);
    if (s->shard && s->f % s->E)
        return mb_fail(err, MB_EINVAL, "f=%lld %% E=%lld != 0: shard=1 slices the MLP into E "
                       "equal experts", (long long)s->f, (long long)s->E);
    return MB_OK;
}

static int64_t sparse_mlp_reduction_depth(const mb_spec *s)
{
    int64_t h = s->h, fe = mb_spec_expert_width(s);
    return h > fe ? h : fe;
}

/* no merged form (the merge column of variants.def): no merged cost or buffers */
const mb_variant_shape mb_shape_sparse_mlp = {
    sparse_mlp_layout,   sparse_mlp_elems,         sparse_mlp_cost,        NULL,
    sparse_mlp_mem_base, sparse_mlp_mem_workspace, sparse_mlp_mem_stacked, NULL,
    sparse_mlp_validate, sparse_mlp_reduction_depth};
