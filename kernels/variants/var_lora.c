/* lora on one linear: Y = X W^T + s (X A^T) B^T, as three provider GEMMs (mb_vlora: s folded
 * into a copy of B so every call runs with alpha = 1). */
#include "variants.h"

typedef struct {
    const mb_gemm_provider *gp;
    int64_t T;
    mb_vlora l;
    float *Z;    /* [T, r] */
} lora_st;

static void lora_release(void *p)
{
    lora_st *st = p;
    if (!st) return;
    mb_vlora_free(&st->l, st->gp);
    mb_free(st->Z);
    mb_free(st);
}

static mb_status lora_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                              void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r;
    const float *A = mb_vw(w, "A", r * h, err), *B = A ? mb_vw(w, "B", o * r, err) : NULL;
    if (!B) return err ? err->code : MB_EINVAL;
    lora_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->T = T;
    /* the base W through mb_vprep_base: f32, or quantised under wq */
    mb_status rc = mb_vlora_init(&st->l, gp, NULL, A, B, o, h, r, s->alpha / (float)r, T, err);
    if (rc == MB_OK) rc = mb_vprep_base(gp, s, w, "W", 1, 0, o, h, T, &st->l.W, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Z, T, r, err);
    if (rc != MB_OK) { lora_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status lora_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                              mb_err *err)
{
    (void)info;
    lora_st *st = p;
    return mb_vlora_run(&st->l, st->gp, st->T, mb_f32(&in->X), mb_f32(y), st->Z, err);
}

const mb_variant_ops mb_var_lora = { lora_prepare, lora_forward, lora_release };

/* ---- shape (core/variant_shape.h): weights layout, element count, cost, memory ---------- */

static int lora_layout(const mb_spec *s, mb_wdesc *d)
{
    int64_t h = s->h, o = s->o, r = s->r;
    int n = 0;
    MB_W2B("W", o, h); MB_W2("A", r, h); MB_W2("B", o, r);
    return n;
}

static int lora_elems(const mb_spec *s, int64_t *n)
{
    /* W[o,h] A[r,h] B[o,r] */
    return mb_madd(n, s->o, s->h) || mb_madd(n, s->r, s->h) || mb_madd(n, s->o, s->r) ? -1 : 0;
}

static void lora_cost(const mb_spec *s, const int64_t *counts, mb_cost_terms *c)
{
    double T = (double)mb_spec_T(s), h = (double)s->h, o = (double)s->o, r = (double)s->r;
    (void)counts;
    /* 2Tho base + 2Tr(h+o) adapter */
    c->flops = 2 * T * h * o + 2 * T * r * (h + o);
    c->frozen = 2 * T * h * o;
    c->wb = o * h;
    c->wr = r * (h + o);
}

static void lora_merged_cost(const mb_spec *s, const int64_t *counts, mb_cost_terms *c)
{
    double T = (double)mb_spec_T(s), h = (double)s->h, o = (double)s->o;
    (void)counts;
    /* one GEMM with W' = W + s B A */
    c->flops = 2 * T * h * o;
    c->wb = o * h;
}

static int64_t lora_mem_base(mb_acc *a, const mb_mdims *d)
{
    return mb_acc_mul(a, mb_acc_mul(a, d->o, d->h), d->el);
}

static void lora_mem_workspace(mb_acc *a, const mb_mdims *d)
{
    /* Z [T, r] */
    mb_acc_add3(a, 4, d->T, d->r);
}

static void lora_mem_merged(mb_acc *a, const mb_mdims *d)
{
    /* W' [o, h], A^T scratch [h, r] */
    mb_acc_add3(a, 4, d->o, d->h);
    mb_acc_add3(a, 4, d->h, d->r);
}

const mb_variant_shape mb_shape_lora = {lora_layout, lora_elems, lora_cost, lora_merged_cost,
                                        lora_mem_base, lora_mem_workspace, NULL,
                                        lora_mem_merged, NULL, NULL};
