/* One rank's part of an expert-parallel case (moebench/ep.h): the variant's own router and
 * expert code on the implementation's GEMM provider: sparse_mlp, mixlora, and the router alone
 * (dispatch only). */
#include <string.h>
#include "moebench/ep.h"
#include "variants.h"

struct mb_ep_part {
    const mb_gemm_provider *gp;
    mb_variant_id v;
    mb_share share;
    int64_t rows, h, f;
    mb_vrouter vr;
    void *experts;     /* a sparse_mlp or mixlora state over the part's experts */
    float *G0, *U0;    /* [rows, f]: mixlora's base gate and up rows of the part's tokens */
};

static const mb_gemm_provider *provider_of(const char *impl)
{
    if (!strcmp(impl, "blas")) return &mb_gemm_blas;
    if (!strcmp(impl, "onednn")) return &mb_gemm_onednn;
    if (!strcmp(impl, "avx512")) return &mb_gemm_avx512;
    return NULL;
}

const char *mb_ep_unsupported(const char *impl, const mb_spec *s)
{
    const mb_gemm_provider *gp = provider_of(impl);
    if (!gp)
        return !strcmp(impl, "naive") ? "ep: the naive reference runs in one process (the ep "
                                        "rows are checked against one process instead)"
                                      : "ep: no expert-parallel form of this implementation";
    if (s->variant != MB_SPARSE_MLP && s->variant != MB_MIXLORA && s->variant != MB_ROUTER)
        return "ep: expert parallelism is implemented for sparse_mlp, mixlora and router";
    if (s->dtype != MB_F32 || s->wq != MB_F32)
        return "ep: expert parallelism runs in f32 with unquantised weights only (its rows are "
               "exchanged as f32)";
    mb_spec one = *s;
    one.ep = 1;
    return mb_variant_unsupported(gp, &one);
}

void mb_ep_formats(const mb_spec *s, mb_ep_rowfmt *in, mb_ep_rowfmt *out)
{
    const int mix_base = s->variant == MB_MIXLORA && s->share != MB_SHARE_NONE;
    memset(in, 0, sizeof *in);
    memset(out, 0, sizeof *out);
    in->n = out->n = 1;
    in->w[0] = out->w[0] = s->h;
    if (mix_base) {   /* x Wg^T and x Wu^T, computed once per token by its owner */
        in->n = 3;
        in->w[1] = in->w[2] = s->f;
    }
    if (mix_base && s->share == MB_SHARE_ALL) {   /* H_e, for the owner's sum_e w_e H_e */
        out->n = 2;
        out->w[1] = s->f;
    }
}

int mb_ep_has_experts(const mb_spec *s) { return s->variant != MB_ROUTER; }

void mb_ep_release(mb_ep_part *p)
{
    if (!p) return;
    mb_vrouter_free(&p->vr, p->gp);
    if (p->experts)
        (p->v == MB_MIXLORA ? mb_var_mixlora : mb_var_sparse_mlp).release(p->experts);
    mb_free(p->G0);
    mb_free(p->U0);
    mb_free(p);
}

/* The experts e0 .. e0+ne-1 of sparse_mlp s: a sparse_mlp state of ne experts. */
static mb_status prepare_sparse_mlp(mb_ep_part *p, const mb_spec *s, const mb_spec *sub,
                                    const mb_weights *w, int64_t e0, mb_err *err)
{
    /* the width of the case's experts (shard=1: f / the case's E, not the part's) */
    const int64_t h = s->h, E = s->E, fe = mb_spec_expert_width(s);
    const float *Wr = mb_vw(w, "Wr", E * h, err), *Wg = Wr ? mb_vw(w, "Wg", E * fe * h, err) : NULL;
    const float *Wu = Wg ? mb_vw(w, "Wu", E * fe * h, err) : NULL;
    const float *Wd = Wu ? mb_vw(w, "Wd", E * h * fe, err) : NULL;
    if (!Wd) return err ? err->code : MB_EINVAL;
    return mb_sparse_mlp_prepare_raw(p->gp, sub, Wr, Wg + e0 * fe * h, Wu + e0 * fe * h,
                                     Wd + e0 * h * fe, fe, &p->experts, err);
}

/* The experts e0 .. e0+ne-1 of mixlora s: a mixlora state of ne LoRA experts over the whole
 * frozen MLP (replicated on every rank). */
static mb_status prepare_mixlora(mb_ep_part *p, const mb_spec *sub, const mb_weights *w,
                                 int64_t E, int64_t e0, mb_err *err)
{
    const int64_t h = sub->h, f = sub->f, r = sub->r;
    mb_mixlora_weights mw;
    memset(&mw, 0, sizeof mw);
    const char *an[3] = {"Ag", "Au", "Ad"}, *bn[3] = {"Bg", "Bu", "Bd"};
    const int64_t din[3] = {h, h, f}, dout[3] = {f, f, h};
    mw.Wg = mb_vw(w, "Wg", f * h, err);
    mw.Wu = mw.Wg ? mb_vw(w, "Wu", f * h, err) : NULL;
    mw.Wd = mw.Wu ? mb_vw(w, "Wd", h * f, err) : NULL;
    mw.Wr = mw.Wd ? mb_vw(w, "Wr", E * h, err) : NULL;
    for (int q = 0; q < 3 && mw.Wr; q++) {
        mw.A[q] = mb_vw(w, an[q], E * r * din[q], err);
        mw.B[q] = mw.A[q] ? mb_vw(w, bn[q], E * dout[q] * r, err) : NULL;
        if (!mw.B[q]) return err ? err->code : MB_EINVAL;
        mw.A[q] += e0 * r * din[q];
        mw.B[q] += e0 * dout[q] * r;
    }
    if (!mw.Wr) return err ? err->code : MB_EINVAL;
    mb_status rc = mb_mixlora_prepare_raw(p->gp, sub, &mw, &p->experts, err);
    if (rc == MB_OK && sub->share != MB_SHARE_NONE) {
        rc = mb_valloc2(&p->G0, p->rows, f, err);
        if (rc == MB_OK) rc = mb_valloc2(&p->U0, p->rows, f, err);
    }
    return rc;
}

mb_status mb_ep_prepare(const char *impl, const mb_spec *s, const mb_weights *w, int64_t rows,
                        int64_t e0, int64_t ne, mb_ep_part **out, mb_err *err)
{
    *out = NULL;
    const char *why = mb_ep_unsupported(impl, s);
    if (why) return mb_fail(err, MB_EUNSUPPORTED, "%s", why);
    const int64_t h = s->h, E = s->E;
    if (e0 < 0 || ne < 1 || e0 + ne > E || rows < 1)
        return mb_fail(err, MB_EINVAL, "ep part: experts %lld..%lld of %lld, %lld rows",
                       (long long)e0, (long long)(e0 + ne - 1), (long long)E, (long long)rows);
    const float *Wr = mb_vw(w, "Wr", E * h, err);
    if (!Wr) return err ? err->code : MB_EINVAL;
    mb_ep_part *p = mb_alloc(sizeof *p);
    if (!p) return mb_fail(err, MB_ENOMEM, "out of memory");
    memset(p, 0, sizeof *p);
    p->gp = provider_of(impl);
    p->v = s->variant;
    p->share = s->share;
    p->rows = rows;
    p->h = h;
    p->f = s->f;
    /* the part's router sees its own rows only; ep cases route plain learned top-k
     * (spec_validate refuses ep with the routing options) */
    mb_spec rs = *s;
    rs.B = 1;
    rs.S = rows;
    mb_status rc = mb_vrouter_init(&p->vr, p->gp, Wr, &rs, err);
    /* the experts' state: the part's ne experts, each for up to T rows (a token picks an
     * expert at most once); its own router is never run */
    mb_spec sub = *s;
    sub.ep = 1;
    sub.E = ne;
    sub.k = s->k < ne ? s->k : ne;
    if (rc == MB_OK && s->variant == MB_SPARSE_MLP)
        rc = prepare_sparse_mlp(p, s, &sub, w, e0, err);
    else if (rc == MB_OK && s->variant == MB_MIXLORA)
        rc = prepare_mixlora(p, &sub, w, E, e0, err);
    if (rc != MB_OK) {
        mb_ep_release(p);
        return rc;
    }
    *out = p;
    return MB_OK;
}

mb_status mb_ep_route(mb_ep_part *p, const float *X, const mb_routing **rt, mb_err *err)
{
    mb_status rc = mb_vrouter_run(&p->vr, p->gp, X, NULL, err);
    *rt = rc == MB_OK ? &p->vr.rt : NULL;
    return rc;
}

mb_status mb_ep_local(mb_ep_part *p, const float *X, const float *seg[MB_EP_MAX_SEG],
                      mb_err *err)
{
    seg[0] = X;
    seg[1] = p->G0;
    seg[2] = p->U0;
    if (p->v == MB_MIXLORA && p->share != MB_SHARE_NONE)
        return mb_mixlora_base_gate_up(p->experts, p->rows, X, p->G0, p->U0, err);
    return MB_OK;
}

mb_status mb_ep_experts(mb_ep_part *p, const float *const in[], const int64_t *counts,
                        float *const out[], mb_err *err)
{
    if (p->v == MB_SPARSE_MLP)
        return mb_sparse_mlp_experts_grouped(p->experts, in[0], counts, out[0], err);
    if (p->v == MB_MIXLORA) {
        const int base = p->share != MB_SHARE_NONE;
        return mb_mixlora_experts_grouped(p->experts, in[0], base ? in[1] : NULL,
                                          base ? in[2] : NULL, counts, out[0],
                                          p->share == MB_SHARE_ALL ? out[1] : NULL, err);
    }
    return mb_fail(err, MB_EINVAL, "ep: the router has no experts to run");
}

mb_status mb_ep_finish(mb_ep_part *p, float *const acc[], mb_err *err)
{
    if (p->v == MB_MIXLORA && p->share == MB_SHARE_ALL)
        return mb_mixlora_base_down(p->experts, p->rows, acc[1], acc[0], err);
    return MB_OK;
}
