/* mlp_lora: LLaMA gated MLP with LoRA on gate, up and down (three mb_vlora). */
#include "variants.h"

typedef struct {
    const mb_gemm_provider *gp;
    mb_act act;
    int64_t T, h, f, r;
    mb_vlora g, u, d;
    float *G, *U, *Z;   /* [T,f], [T,f], [T,r] */
} mlp_st;

static void mlp_release(void *p)
{
    mlp_st *st = p;
    if (!st) return;
    mb_vlora_free(&st->g, st->gp);
    mb_vlora_free(&st->u, st->gp);
    mb_vlora_free(&st->d, st->gp);
    mb_free(st->G);
    mb_free(st->U);
    mb_free(st->Z);
    mb_free(st);
}

static mb_status mlp_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                             void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, f = s->f, r = s->r;
    const float sc = s->alpha / (float)r;
    const float *Ag = mb_vw(w, "Ag", r * h, err);
    const float *Bg = Ag ? mb_vw(w, "Bg", f * r, err) : NULL;
    const float *Au = Bg ? mb_vw(w, "Au", r * h, err) : NULL;
    const float *Bu = Au ? mb_vw(w, "Bu", f * r, err) : NULL;
    const float *Ad = Bu ? mb_vw(w, "Ad", r * f, err) : NULL;
    const float *Bd = Ad ? mb_vw(w, "Bd", h * r, err) : NULL;
    if (!Bd) return err ? err->code : MB_EINVAL;
    mlp_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->act = s->act; st->T = T; st->h = h; st->f = f; st->r = r;
    /* the base weights through mb_vprep_base: f32, or quantised under wq */
    mb_status rc = mb_vlora_init(&st->g, gp, NULL, Ag, Bg, f, h, r, sc, T, err);
    if (rc == MB_OK) rc = mb_vlora_init(&st->u, gp, NULL, Au, Bu, f, h, r, sc, T, err);
    if (rc == MB_OK) rc = mb_vlora_init(&st->d, gp, NULL, Ad, Bd, h, f, r, sc, T, err);
    if (rc == MB_OK) rc = mb_vprep_base(gp, s, w, "Wg", 1, 0, f, h, T, &st->g.W, err);
    if (rc == MB_OK) rc = mb_vprep_base(gp, s, w, "Wu", 1, 0, f, h, T, &st->u.W, err);
    if (rc == MB_OK) rc = mb_vprep_base(gp, s, w, "Wd", 1, 0, h, f, T, &st->d.W, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->G, T, f, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->U, T, f, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Z, T, r, err);
    if (rc != MB_OK) { mlp_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status mlp_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                             mb_err *err)
{
    (void)info;
    mlp_st *st = p;
    const float *X = mb_f32(&in->X);
    mb_status rc = mb_vlora_run(&st->g, st->gp, st->T, X, st->G, st->Z, err);
    if (rc == MB_OK) rc = mb_vlora_run(&st->u, st->gp, st->T, X, st->U, st->Z, err);
    if (rc != MB_OK) return rc;
    mb_vglu(st->act, st->G, st->U, st->T * st->f);
    return mb_vlora_run(&st->d, st->gp, st->T, st->G, mb_f32(y), st->Z, err);
}

const mb_variant_ops mb_var_mlp_lora = { mlp_prepare, mlp_forward, mlp_release };

/* ---- shape (core/variant_shape.h): weights layout, element count, cost, memory ---------- */

static int mlp_lora_layout(const mb_spec *s, mb_wdesc *d)
{
    int64_t h = s->h, f = s->f, r = s->r;
    int n = 0;
    MB_W2B("Wg", f, h); MB_W2B("Wu", f, h); MB_W2B("Wd", h, f);
    MB_W2("Ag", r, h); MB_W2("Bg", f, r); MB_W2("Au", r, h); MB_W2("Bu", f, r); MB_W2("Ad", r, f);
    MB_W2("Bd", h, r);
    return n;
}

static int mlp_lora_elems(const mb_spec *s, int64_t *n)
{
    int64_t h = s->h, f = s->f, r = s->r;
    /* Wg Wu [f,h], Wd [h,f], 3 pairs of LoRA factors over (h, f) */
    return mb_madd3(n, 3, h, f) || mb_madd3(n, 3, r, h) || mb_madd3(n, 3, r, f) ? -1 : 0;
}

static void mlp_lora_cost(const mb_spec *s, const int64_t *counts, mb_cost_terms *c)
{
    double T = (double)mb_spec_T(s), h = (double)s->h, f = (double)s->f, r = (double)s->r;
    (void)counts;
    /* 6Thf base (gate, up, down) + 6Tr(h+f) for three adapters */
    c->flops = 6 * T * h * f + 6 * T * r * (h + f);
    c->frozen = 6 * T * h * f;
    c->wb = 3 * h * f;
    c->wr = 3 * r * (h + f);
}

static void mlp_lora_merged_cost(const mb_spec *s, const int64_t *counts, mb_cost_terms *c)
{
    double T = (double)mb_spec_T(s), h = (double)s->h, f = (double)s->f;
    (void)counts;
    /* the three merged projections */
    c->flops = 6 * T * h * f;
    c->wb = 3 * h * f;
}

static int64_t mlp_lora_mem_base(mb_acc *a, const mb_mdims *d)
{
    return mb_acc_mul(a, mb_acc_mul(a, 3 * d->el, d->h), d->f);
}

static void mlp_lora_mem_workspace(mb_acc *a, const mb_mdims *d)
{
    const int64_t T = d->T, f = d->f, r = d->r;
    /* fused: GU [T, 2f + pad], H [T, f], Z [T, 3r] (variant: G, U, Z) */
    mb_acc_add3(a, 4, T, mb_acc_plus(a, mb_acc_plus(a, mb_acc_mul(a, 3, f), mb_acc_mul(a, 3, r)),
                                     MB_ROW_PAD_FLOATS));
}

static void mlp_lora_mem_stacked(mb_acc *a, const mb_mdims *d)
{
    mb_acc_add3(a, 2 * d->el, d->f, d->h);
}

static void mlp_lora_mem_merged(mb_acc *a, const mb_mdims *d)
{
    const int64_t T = d->T, h = d->h, f = d->f, r = d->r;
    /* three W', G U [T, f], A^T scratch */
    mb_acc_add3(a, 3 * 4, h, f);
    mb_acc_add3(a, 2 * 4, T, f);
    mb_acc_add3(a, 4, f > h ? f : h, r);
}

static int64_t mlp_lora_reduction_depth(const mb_spec *s)
{
    int64_t h = s->h;
    return h > s->f ? h : s->f;      /* gate/up reduce over h, down over f */
}

const mb_variant_shape mb_shape_mlp_lora = {
    mlp_lora_layout,   mlp_lora_elems,         mlp_lora_cost,        mlp_lora_merged_cost,
    mlp_lora_mem_base, mlp_lora_mem_workspace, mlp_lora_mem_stacked, mlp_lora_mem_merged,
    NULL, mlp_lora_reduction_depth};
