/* router: top-k gating alone. Y [T, E] is the dense combine matrix (w at the chosen experts,
 * 0 elsewhere), as in the naive reference; routing details go to info. */
#include "variants.h"
#include <string.h>

typedef struct {
    const mb_gemm_provider *gp;
    mb_vrouter vr;
} router_st;

static void router_release(void *p)
{
    router_st *st = p;
    if (!st) return;
    mb_vrouter_free(&st->vr, st->gp);
    mb_free(st);
}

static mb_status router_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                                void **priv, mb_err *err)
{
    const float *Wr = mb_vw(w, "Wr", s->E * s->h, err);
    if (!Wr) return err ? err->code : MB_EINVAL;
    router_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp;
    mb_status rc = mb_vrouter_init(&st->vr, gp, Wr, s, err);
    if (rc != MB_OK) { router_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status router_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                                mb_err *err)
{
    router_st *st = p;
    mb_status rc = mb_vrouter_run(&st->vr, st->gp, mb_f32(&in->X), info, err);
    if (rc != MB_OK) return rc;
    const int64_t T = st->vr.T, E = st->vr.E, k = st->vr.k;
    float *Y = mb_f32(y);
    memset(Y, 0, sizeof(float) * (size_t)(T * E));
    /* empty top-p slots and dropped assignments combine nothing */
    for (int64_t t = 0; t < T; t++)
        for (int64_t j = 0; j < k; j++)
            if (mb_routing_active(&st->vr.rt, t * k + j))
                Y[t * E + st->vr.rt.idx[t * k + j]] = st->vr.rt.w[t * k + j];
    return MB_OK;
}

const mb_variant_ops mb_var_router = { router_prepare, router_forward, router_release };

/* ---- shape (core/variant_shape.h): weights layout, element count, cost, memory ---------- */

static int router_layout(const mb_spec *s, mb_wdesc *d)
{
    int n = 0;
    MB_W2("Wr", s->E, s->h);
    return n;
}

static int router_elems(const mb_spec *s, int64_t *n)
{
    return mb_madd(n, s->E, s->h);
}

static void router_cost(const mb_spec *s, const int64_t *counts, mb_cost_terms *c)
{
    double T = (double)mb_spec_T(s), h = (double)s->h, E = (double)s->E;
    (void)counts;
    c->flops = 2 * T * h * E;
    c->wr = E * h;
}

static int64_t router_reduction_depth(const mb_spec *s)
{
    return s->h;   /* the router reduces over h only */
}

static int64_t router_mem_base(mb_acc *a, const mb_mdims *d)
{
    (void)a;
    (void)d;
    return 0;
}

/* no merged form (the merge column of variants.def): no merged cost or buffers */
const mb_variant_shape mb_shape_router = {router_layout, router_elems, router_cost, NULL,
                                          router_mem_base, mb_mem_router_ws, NULL, NULL,
                                          NULL, router_reduction_depth};
