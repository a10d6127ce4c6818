/* One rank's part of an expert-parallel case (moebench/ep.h): the variant's own router and
 * expert code on the implementation's GEMM provider. sparse_mlp only so far. */
#include <string.h>
#include "moebench/ep.h"
#include "variants.h"

struct mb_ep_part {
    const mb_gemm_provider *gp;
    mb_vrouter vr;
    void *experts;   /* a sparse_mlp state over the part's experts */
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
    if (s->variant != MB_SPARSE_MLP)
        return "ep: expert parallelism is implemented for sparse_mlp only so far";
    mb_spec one = *s;
    one.ep = 1;
    return mb_variant_unsupported(gp, &one);
}

void mb_ep_release(mb_ep_part *p)
{
    if (!p) return;
    mb_vrouter_free(&p->vr, p->gp);
    if (p->experts) mb_var_sparse_mlp.release(p->experts);
    mb_free(p);
}

mb_status mb_ep_prepare(const char *impl, const mb_spec *s, const mb_weights *w, int64_t rows,
                        int64_t e0, int64_t ne, mb_ep_part **out, mb_err *err)
{
    *out = NULL;
    const char *why = mb_ep_unsupported(impl, s);
    if (why) return mb_fail(err, MB_EUNSUPPORTED, "%s", why);
    const int64_t h = s->h, E = s->E, fe = mb_spec_expert_width(s);
    if (e0 < 0 || ne < 1 || e0 + ne > E || rows < 1)
        return mb_fail(err, MB_EINVAL, "ep part: experts %lld..%lld of %lld, %lld rows",
                       (long long)e0, (long long)(e0 + ne - 1), (long long)E, (long long)rows);
    const float *Wr = mb_vw(w, "Wr", E * h, err), *Wg = Wr ? mb_vw(w, "Wg", E * fe * h, err) : NULL;
    const float *Wu = Wg ? mb_vw(w, "Wu", E * fe * h, err) : NULL;
    const float *Wd = Wu ? mb_vw(w, "Wd", E * h * fe, err) : NULL;
    if (!Wd) return err ? err->code : MB_EINVAL;
    mb_ep_part *p = mb_alloc(sizeof *p);
    if (!p) return mb_fail(err, MB_ENOMEM, "out of memory");
    memset(p, 0, sizeof *p);
    p->gp = provider_of(impl);
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
    if (rc == MB_OK)
        rc = mb_sparse_mlp_prepare_raw(p->gp, &sub, Wr, Wg + e0 * fe * h, Wu + e0 * fe * h,
                                       Wd + e0 * h * fe, fe, &p->experts, err);
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

mb_status mb_ep_experts(mb_ep_part *p, const float *Xg, const int64_t *counts, float *Yg,
                        mb_err *err)
{
    return mb_sparse_mlp_experts_grouped(p->experts, Xg, counts, Yg, err);
}
