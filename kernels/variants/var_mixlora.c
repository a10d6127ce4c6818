/* mixlora: E LoRA experts over one frozen gated MLP, top-k router, grouped per expert like
 * sparse_mlp. The three share modes (spec Part 1) differ in which base GEMMs run once over all
 * T tokens and which run per expert over its gathered rows:
 *   none:    X Wg^T, X Wu^T and H_e Wd^T per expert (upstream "compatible");
 *   gate_up: X Wg^T, X Wu^T once; H_e Wd^T per expert (upstream optimised);
 *   all:     also the down projection once, on Hs = sum_e w_e H_e (linearity); per expert only
 *            the LoRA terms.
 * Shared LoRA experts (shared=n) run like a routed expert over all T rows with weight 1, after
 * the routed ones. */
#include "variants.h"
#include <string.h>

typedef struct {
    const mb_gemm_provider *gp;
    mb_act act;
    mb_share share;
    int64_t T, h, f, r, E, k, ns;
    mb_vrouter vr;
    mb_gemm_weight *Wg, *Wu, *Wd;   /* shared base */
    mb_vlora *lg, *lu, *ld;         /* [E + ns] LoRA-only (no base weight): routed, then shared */
    int32_t *all_tok;               /* [T] 0..T-1: the rows of a shared expert */
    float *G0, *U0, *Hs;            /* [T,f] (shared modes) */
    float *Xe, *Ge, *Ue, *Ze, *Ye;  /* [T,h] [T,f] [T,f] [T,r] [T,h] */
} mix_st;

static void mix_release(void *p)
{
    mix_st *st = p;
    if (!st) return;
    mb_free(st->all_tok);
    for (int64_t e = 0; e < st->E + st->ns; e++) {
        if (st->lg) mb_vlora_free(&st->lg[e], st->gp);
        if (st->lu) mb_vlora_free(&st->lu[e], st->gp);
        if (st->ld) mb_vlora_free(&st->ld[e], st->gp);
    }
    mb_free(st->lg);
    mb_free(st->lu);
    mb_free(st->ld);
    mb_vrelease(st->gp, &st->Wg);
    mb_vrelease(st->gp, &st->Wu);
    mb_vrelease(st->gp, &st->Wd);
    mb_vrouter_free(&st->vr, st->gp);
    float *bufs[] = { st->G0, st->U0, st->Hs, st->Xe, st->Ge, st->Ue, st->Ze, st->Ye };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) mb_free(bufs[i]);
    mb_free(st);
}

static mb_status mix_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                             void **priv, mb_err *err)
{
    const int64_t h = s->h, f = s->f, r = s->r, E = s->E;
    /* under wq the frozen MLP is quantised: prepared from w by mb_vprep_base */
    const int q = s->wq != MB_F32;
    const float *Wg = NULL, *Wu = NULL, *Wd = NULL;
    if (!q) {
        Wg = mb_vw(w, "Wg", f * h, err);
        Wu = Wg ? mb_vw(w, "Wu", f * h, err) : NULL;
        Wd = Wu ? mb_vw(w, "Wd", h * f, err) : NULL;
        if (!Wd) return err ? err->code : MB_EINVAL;
    }
    const float *Wr = mb_vw(w, "Wr", E * h, err);
    const float *Ag = Wr ? mb_vw(w, "Ag", E * r * h, err) : NULL;
    const float *Bg = Ag ? mb_vw(w, "Bg", E * f * r, err) : NULL;
    const float *Au = Bg ? mb_vw(w, "Au", E * r * h, err) : NULL;
    const float *Bu = Au ? mb_vw(w, "Bu", E * f * r, err) : NULL;
    const float *Ad = Bu ? mb_vw(w, "Ad", E * r * f, err) : NULL;
    const float *Bd = Ad ? mb_vw(w, "Bd", E * h * r, err) : NULL;
    if (!Bd) return err ? err->code : MB_EINVAL;
    const int64_t ns = s->shared;
    const float *sA[3] = {NULL, NULL, NULL}, *sB[3] = {NULL, NULL, NULL};
    if (ns > 0) {
        sA[0] = mb_vw(w, "Ags", ns * r * h, err);
        sB[0] = sA[0] ? mb_vw(w, "Bgs", ns * f * r, err) : NULL;
        sA[1] = sB[0] ? mb_vw(w, "Aus", ns * r * h, err) : NULL;
        sB[1] = sA[1] ? mb_vw(w, "Bus", ns * f * r, err) : NULL;
        sA[2] = sB[1] ? mb_vw(w, "Ads", ns * r * f, err) : NULL;
        sB[2] = sA[2] ? mb_vw(w, "Bds", ns * h * r, err) : NULL;
        if (!sB[2]) return err ? err->code : MB_EINVAL;
    }
    const mb_mixlora_weights mw = {Wg, Wu, Wd, Wr, {Ag, Au, Ad}, {Bg, Bu, Bd},
                                   {sA[0], sA[1], sA[2]}, {sB[0], sB[1], sB[2]}, q ? w : NULL};
    return mb_mixlora_prepare_raw(gp, s, &mw, priv, err);
}

mb_status mb_mixlora_prepare_raw(const mb_gemm_provider *gp, const mb_spec *s,
                                 const mb_mixlora_weights *mw, void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, f = s->f, r = s->r, E = s->E, k = s->k;
    const int64_t ns = s->shared;
    const float sc = s->alpha / (float)r;
    const float *Wg = mw->Wg, *Wu = mw->Wu, *Wd = mw->Wd, *Wr = mw->Wr;
    const float *Ag = mw->A[0], *Au = mw->A[1], *Ad = mw->A[2];
    const float *Bg = mw->B[0], *Bu = mw->B[1], *Bd = mw->B[2];
    const float *const *sA = mw->sA, *const *sB = mw->sB;
    mix_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->act = s->act; st->share = s->share;
    st->T = T; st->h = h; st->f = f; st->r = r; st->E = E; st->k = k; st->ns = ns;
    const int64_t m_exp = (T * k + E - 1) / E;   /* balanced rows per expert */
    const int shared_gu = s->share != MB_SHARE_NONE, shared_d = s->share == MB_SHARE_ALL;
    mb_status rc = mb_vrouter_init(&st->vr, gp, Wr, s, err);
    const int64_t m_gu = shared_gu ? T : m_exp, m_d = shared_d ? T : m_exp;
    if (mw->base) {
        if (rc == MB_OK) rc = mb_vprep_base(gp, s, mw->base, "Wg", 1, 0, f, h, m_gu, &st->Wg, err);
        if (rc == MB_OK) rc = mb_vprep_base(gp, s, mw->base, "Wu", 1, 0, f, h, m_gu, &st->Wu, err);
        if (rc == MB_OK) rc = mb_vprep_base(gp, s, mw->base, "Wd", 1, 0, h, f, m_d, &st->Wd, err);
    } else {
        if (rc == MB_OK) rc = mb_vprep(gp, Wg, f, h, m_gu, &st->Wg, err);
        if (rc == MB_OK) rc = mb_vprep(gp, Wu, f, h, m_gu, &st->Wu, err);
        if (rc == MB_OK) rc = mb_vprep(gp, Wd, h, f, m_d, &st->Wd, err);
    }
    if (rc == MB_OK) {
        st->lg = mb_alloc(sizeof(mb_vlora) * (size_t)(E + ns));
        st->lu = mb_alloc(sizeof(mb_vlora) * (size_t)(E + ns));
        st->ld = mb_alloc(sizeof(mb_vlora) * (size_t)(E + ns));
        st->all_tok = ns ? mb_alloc(sizeof(int32_t) * (size_t)T) : NULL;
        if (!st->lg || !st->lu || !st->ld || (ns && !st->all_tok))
            rc = mb_fail(err, MB_ENOMEM, "out of memory");
        for (int64_t t = 0; rc == MB_OK && ns && t < T; t++) st->all_tok[t] = (int32_t)t;
    }
    for (int64_t e = 0; rc == MB_OK && e < E + ns; e++) {
        /* routed expert e, or shared expert e - E (every token) */
        const int sh = e >= E;
        const int64_t i = sh ? e - E : e, m = sh ? T : m_exp;
        rc = mb_vlora_init(&st->lg[e], gp, NULL, (sh ? sA[0] : Ag) + i * r * h,
                           (sh ? sB[0] : Bg) + i * f * r, f, h, r, sc, m, err);
        if (rc == MB_OK)
            rc = mb_vlora_init(&st->lu[e], gp, NULL, (sh ? sA[1] : Au) + i * r * h,
                               (sh ? sB[1] : Bu) + i * f * r, f, h, r, sc, m, err);
        if (rc == MB_OK)
            rc = mb_vlora_init(&st->ld[e], gp, NULL, (sh ? sA[2] : Ad) + i * r * f,
                               (sh ? sB[2] : Bd) + i * h * r, h, f, r, sc, m, err);
    }
    if (rc == MB_OK && shared_gu) rc = mb_valloc2(&st->G0, T, f, err);
    if (rc == MB_OK && shared_gu) rc = mb_valloc2(&st->U0, T, f, err);
    if (rc == MB_OK && shared_d) rc = mb_valloc2(&st->Hs, T, f, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Xe, T, h, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Ge, T, f, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Ue, T, f, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Ze, T, r, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Ye, T, h, err);
    if (rc != MB_OK) { mix_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

/* Yd[tok[i]] += w_i * Ys[i] with the routing weights (slot != NULL) or weight 1 (a shared
 * expert). */
static void mix_scatter(const mix_st *st, const float *Ys, int64_t d, const int32_t *tok,
                        const int32_t *slot, int64_t n, float *Yd)
{
    if (slot) {
        mb_vscatter_add(Ys, d, tok, slot, n, &st->vr.rt, Yd);
        return;
    }
    #pragma omp parallel for schedule(static) if (n * d > 32768)
    for (int64_t i = 0; i < n; i++)
        mb_vaxpy_row(Yd + (int64_t)tok[i] * d, Ys + i * d, 1.0f, d);
}

/* Expert e's own part on its n rows: the LoRA gate and up terms on Xe added to Ge and Ue (which
 * hold the base gate and up rows), the GLU (H_e ends in Ge), then the down projection into Ye:
 * base and LoRA (share none, gate_up) or the LoRA term alone (share all: its base runs once on
 * Hs). The one expert computation of the forward and of expert parallelism. */
static mb_status expert_core(mix_st *st, int64_t e, int64_t n, const float *Xe, float *Ge,
                             float *Ue, float *Ye, mb_err *err)
{
    const mb_gemm_provider *gp = st->gp;
    const int64_t h = st->h, f = st->f;
    mb_status rc = mb_vlora_run(&st->lg[e], gp, n, Xe, Ge, st->Ze, err);
    if (rc == MB_OK) rc = mb_vlora_run(&st->lu[e], gp, n, Xe, Ue, st->Ze, err);
    if (rc != MB_OK) return rc;
    mb_vglu(st->act, Ge, Ue, n * f);
    if (st->share == MB_SHARE_ALL) {
        rc = mb_vgemm(gp, st->ld[e].A, n, f, Ge, 0.0f, st->Ze, st->r, err);
        if (rc == MB_OK) rc = mb_vgemm(gp, st->ld[e].B, n, st->r, st->Ze, 0.0f, Ye, h, err);
    } else {
        rc = mb_vgemm(gp, st->Wd, n, f, Ge, 0.0f, Ye, h, err);
        if (rc == MB_OK) rc = mb_vlora_run(&st->ld[e], gp, n, Ge, Ye, st->Ze, err);
    }
    return rc;
}

/* One expert over its n gathered rows (slot NULL: a shared expert, weight 1); H_e ends in
 * Ge. */
static mb_status mix_expert(mix_st *st, int64_t e, int64_t n, const int32_t *tok,
                            const int32_t *slot, float *Y, mb_err *err)
{
    const mb_gemm_provider *gp = st->gp;
    const int64_t h = st->h, f = st->f;
    mb_status rc = MB_OK;
    if (st->share == MB_SHARE_NONE) {
        rc = mb_vgemm(gp, st->Wg, n, h, st->Xe, 0.0f, st->Ge, f, err);
        if (rc == MB_OK) rc = mb_vgemm(gp, st->Wu, n, h, st->Xe, 0.0f, st->Ue, f, err);
    } else {
        mb_vgather(st->G0, f, tok, n, st->Ge);
        mb_vgather(st->U0, f, tok, n, st->Ue);
    }
    if (rc == MB_OK) rc = expert_core(st, e, n, st->Xe, st->Ge, st->Ue, st->Ye, err);
    if (rc != MB_OK) return rc;
    /* share all: w_e H_e into Hs (the base down projection runs later on Hs) */
    if (st->share == MB_SHARE_ALL) mix_scatter(st, st->Ge, f, tok, slot, n, st->Hs);
    mix_scatter(st, st->Ye, h, tok, slot, n, Y);
    return MB_OK;
}

static mb_status mix_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                             mb_err *err)
{
    mix_st *st = p;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    const int64_t T = st->T, h = st->h, f = st->f;
    mb_status rc = mb_vrouter_run(&st->vr, st->gp, X, info, err);
    if (rc == MB_OK && st->share != MB_SHARE_NONE) {
        rc = mb_vgemm(st->gp, st->Wg, T, h, X, 0.0f, st->G0, f, err);
        if (rc == MB_OK) rc = mb_vgemm(st->gp, st->Wu, T, h, X, 0.0f, st->U0, f, err);
    }
    if (rc != MB_OK) return rc;
    memset(Y, 0, sizeof(float) * (size_t)(T * h));
    if (st->share == MB_SHARE_ALL) memset(st->Hs, 0, sizeof(float) * (size_t)(T * f));
    for (int64_t e = 0; e < st->E && rc == MB_OK; e++) {
        const int64_t o0 = st->vr.offsets[e], n = st->vr.offsets[e + 1] - o0;
        if (n == 0) continue;
        mb_vgather(X, h, st->vr.tok + o0, n, st->Xe);
        rc = mix_expert(st, e, n, st->vr.tok + o0, st->vr.slot + o0, Y, err);
    }
    /* shared experts: every row, weight 1 */
    if (st->ns) mb_vgather(X, h, st->all_tok, T, st->Xe);
    for (int64_t e = st->E; e < st->E + st->ns && rc == MB_OK; e++)
        rc = mix_expert(st, e, T, st->all_tok, NULL, Y, err);
    if (rc == MB_OK && st->share == MB_SHARE_ALL)
        rc = mb_vgemm(st->gp, st->Wd, T, f, st->Hs, 1.0f, Y, h, err);
    return rc;
}

mb_status mb_mixlora_experts_grouped(void *priv, const float *Xg, const float *G0g,
                                     const float *U0g, const int64_t *counts, float *Yg,
                                     float *Hg, mb_err *err)
{
    mix_st *st = priv;
    const int64_t h = st->h, f = st->f;
    int64_t off = 0;
    for (int64_t e = 0; e < st->E; e++) {
        const int64_t n = counts[e];
        if (n == 0) continue;
        if (n > st->T)
            return mb_fail(err, MB_EINVAL, "expert %lld: %lld rows, more than the T=%lld the "
                           "state was prepared for", (long long)e, (long long)n, (long long)st->T);
        const float *Xe = Xg + off * h;
        /* share all: H_e is an output, computed in place in Hg */
        float *Ge = st->share == MB_SHARE_ALL ? Hg + off * f : st->Ge;
        mb_status rc = MB_OK;
        if (st->share == MB_SHARE_NONE) {
            rc = mb_vgemm(st->gp, st->Wg, n, h, Xe, 0.0f, Ge, f, err);
            if (rc == MB_OK) rc = mb_vgemm(st->gp, st->Wu, n, h, Xe, 0.0f, st->Ue, f, err);
        } else {
            memcpy(Ge, G0g + off * f, sizeof(float) * (size_t)(n * f));
            memcpy(st->Ue, U0g + off * f, sizeof(float) * (size_t)(n * f));
        }
        if (rc == MB_OK) rc = expert_core(st, e, n, Xe, Ge, st->Ue, Yg + off * h, err);
        if (rc != MB_OK) return rc;
        off += n;
    }
    return MB_OK;
}

mb_status mb_mixlora_base_gate_up(void *priv, int64_t M, const float *X, float *G0, float *U0,
                                  mb_err *err)
{
    mix_st *st = priv;
    mb_status rc = mb_vgemm(st->gp, st->Wg, M, st->h, X, 0.0f, G0, st->f, err);
    return rc == MB_OK ? mb_vgemm(st->gp, st->Wu, M, st->h, X, 0.0f, U0, st->f, err) : rc;
}

mb_status mb_mixlora_base_down(void *priv, int64_t M, const float *Hs, float *Y, mb_err *err)
{
    mix_st *st = priv;
    return mb_vgemm(st->gp, st->Wd, M, st->f, Hs, 1.0f, Y, st->h, err);
}

const mb_variant_ops mb_var_mixlora = { mix_prepare, mix_forward, mix_release };

/* ---- shape (core/variant_shape.h): weights layout, element count, cost, memory ---------- */

static int mixlora_layout(const mb_spec *s, mb_wdesc *d)
{
    int64_t h = s->h, f = s->f, r = s->r, E = s->E;
    int n = 0;
    MB_W2B("Wg", f, h); MB_W2B("Wu", f, h); MB_W2B("Wd", h, f); MB_W2("Wr", E, h);
    MB_W3("Ag", E, r, h); MB_W3("Bg", E, f, r); MB_W3("Au", E, r, h); MB_W3("Bu", E, f, r);
    MB_W3("Ad", E, r, f); MB_W3("Bd", E, h, r);
    if (s->shared > 0) {   /* shared LoRA experts over the same base MLP */
        int64_t ns = s->shared;
        MB_W3("Ags", ns, r, h); MB_W3("Bgs", ns, f, r); MB_W3("Aus", ns, r, h);
        MB_W3("Bus", ns, f, r); MB_W3("Ads", ns, r, f); MB_W3("Bds", ns, h, r);
    }
    return n;
}

static int mixlora_elems(const mb_spec *s, int64_t *n)
{
    int64_t h = s->h, f = s->f, r = s->r, E = s->E;
    /* shared MLP, router, (E + shared) x 3 pairs of LoRA factors */
    return mb_madd3(n, 3, h, f) || mb_madd(n, E, h) || mb_madd4(n, 3, E, r, h) ||
                   mb_madd4(n, 3, E, r, f) || mb_madd4(n, 3, s->shared, r, h) ||
                   mb_madd4(n, 3, s->shared, r, f)
               ? -1 : 0;
}

static void mixlora_cost(const mb_spec *s, const int64_t *counts, mb_cost_terms *c)
{
    double T = (double)mb_spec_T(s), h = (double)s->h, f = (double)s->f, r = (double)s->r,
           E = (double)s->E;
    /* router 2ThE + base MLP by share mode + LoRA 6r(h+f) per expert row, where the expert
     * rows are the assignments computed (kT without drops or top-p) plus T per shared expert */
    double A = mb_assignments(s, counts) + T * (double)s->shared;
    double base = s->share == MB_SHARE_NONE      ? 6 * A * h * f
                  : s->share == MB_SHARE_GATE_UP ? (4 * T + 2 * A) * h * f
                                                 : 6 * T * h * f;
    c->flops = 2 * T * h * E + base + 6 * A * r * (h + f);
    c->frozen = base;
    c->wb = 3 * h * f;
    c->wr = E * h + (mb_experts_hit(s, counts) + (double)s->shared) * 3 * r * (h + f);
}

static void mixlora_merged_cost(const mb_spec *s, const int64_t *counts, mb_cost_terms *c)
{
    double T = (double)mb_spec_T(s), h = (double)s->h, f = (double)s->f, E = (double)s->E;
    double A = mb_assignments(s, counts) + T * (double)s->shared;
    /* a sparse_mlp with E (+ shared) full-width experts W + s B_e A_e: router 2ThE + 6hf per
     * expert row, and the experts hit read whole (3hf each) */
    c->flops = 2 * T * h * E + 6 * A * h * f;
    c->wb = (mb_experts_hit(s, counts) + (double)s->shared) * 3 * h * f;
    c->wr = E * h;
}

static int64_t mixlora_mem_base(mb_acc *a, const mb_mdims *d)
{
    return mb_acc_mul(a, mb_acc_mul(a, 3 * d->el, d->h), d->f);
}

static void mixlora_mem_workspace(mb_acc *a, const mb_mdims *d)
{
    const int64_t T = d->T, h = d->h, f = d->f, r = d->r;
    /* variant: G0 U0 Hs Ge Ue [T, f], Xe Ye [T, h], Ze [T, r]; fused: GU0
     * GUe [T, 2f + pad], Hs He [T, f], Z Zd [T, 3r], ws [T]; both bounded */
    mb_acc_add3(a, 4, T, mb_acc_plus(a, mb_acc_plus(a, mb_acc_mul(a, 6, f), mb_acc_mul(a, 2, h)),
                                     mb_acc_plus(a, mb_acc_mul(a, 3, r),
                                                 1 + 2 * MB_ROW_PAD_FLOATS)));
    mb_mem_router_ws(a, d);
    mb_acc_add3(a, 4, d->T, d->shared > 0);   /* the shared experts' row list [T] */
}

static void mixlora_mem_stacked(mb_acc *a, const mb_mdims *d)
{
    mb_acc_add3(a, 2 * d->el, d->f, d->h);
}

static void mixlora_mem_merged(mb_acc *a, const mb_mdims *d)
{
    const int64_t h = d->h, f = d->f, r = d->r, E = d->E;
    /* E (+ shared) full expert MLPs, run as a sparse_mlp of width f */
    mb_acc_add4(a, 3 * 4, mb_acc_plus(a, E, d->shared), h, f);
    mb_acc_add3(a, 4, h > f ? h : f, r);
    mb_mdims sp = *d;
    sp.v = MB_SPARSE_MLP;
    sp.fe = f;
    sp.shared = 0;   /* merged passes its materialised experts as they are: no stack */
    mb_shape_sparse_mlp.mem_workspace(a, &sp);
}

static int64_t mixlora_reduction_depth(const mb_spec *s)
{
    int64_t h = s->h;
    return h > s->f ? h : s->f;      /* gate/up reduce over h, down over f */
}

const mb_variant_shape mb_shape_mixlora = {
    mixlora_layout,   mixlora_elems,         mixlora_cost,        mixlora_merged_cost,
    mixlora_mem_base, mixlora_mem_workspace, mixlora_mem_stacked, mixlora_mem_merged,
    NULL, mixlora_reduction_depth};
