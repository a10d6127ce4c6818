/* molora in the fused form (spec "Equivalent fused forms"): one GEMM X [Acat; Wr]^T gives the
 * rank-E*r activations and the router logits in one pass over X; the activations are scaled per
 * expert block by the token's softmax; one GEMM with Bcat [o, E*r] (rearranged in prepare, s
 * folded in) adds the mixture to Y = X W^T. Not E pairs of skinny GEMMs. */
#include "variants.h"
#include <string.h>

typedef struct {
    const mb_gemm_provider *gp;
    int64_t T, h, o, r, E, n2;   /* n2 = E*r + E */
    mb_gemm_weight *W, *AW, *B;
    float *AWr;   /* [Acat; Wr] [E*r + E, h] */
    float *Bc;    /* s * Bcat [o, E*r] */
    float *Z;     /* [T, n2] */
    float *P;     /* [T, E] softmax */
} molora_st;

static void molora_release(void *p)
{
    molora_st *st = p;
    if (!st) return;
    mb_vrelease(st->gp, &st->W);
    mb_vrelease(st->gp, &st->AW);
    mb_vrelease(st->gp, &st->B);
    mb_free(st->AWr);
    mb_free(st->Bc);
    mb_free(st->Z);
    mb_free(st->P);
    mb_free(st);
}

static mb_status molora_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                                void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r, E = s->E;
    const float *Wr = mb_vw(w, "Wr", E * h, err);
    const float *A = Wr ? mb_vw(w, "A", E * r * h, err) : NULL;
    const float *B = A ? mb_vw(w, "B", E * o * r, err) : NULL;
    if (!B) return err ? err->code : MB_EINVAL;
    molora_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->T = T; st->h = h; st->o = o; st->r = r; st->E = E; st->n2 = E * r + E;
    mb_status rc = mb_vstack_rows(A, E * r, Wr, E, h, &st->AWr, err);
    if (rc == MB_OK) rc = mb_vbcat(B, E, o, r, s->alpha / (float)r, &st->Bc, err);
    if (rc == MB_OK) rc = mb_vprep_base(gp, s, w, "W", 1, 0, o, h, T, &st->W, err);
    if (rc == MB_OK) rc = mb_vprep(gp, st->AWr, st->n2, h, T, &st->AW, err);
    if (rc == MB_OK) rc = mb_vprep(gp, st->Bc, o, E * r, T, &st->B, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Z, T, st->n2, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->P, T, E, err);
    if (rc != MB_OK) { molora_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status molora_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                                mb_err *err)
{
    molora_st *st = p;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    const int64_t T = st->T, E = st->E, r = st->r, n2 = st->n2;
    mb_status rc = mb_vgemm(st->gp, st->W, T, st->h, X, 0.0f, Y, st->o, err);
    if (rc == MB_OK) rc = mb_vgemm(st->gp, st->AW, T, st->h, X, 0.0f, st->Z, n2, err);
    if (rc != MB_OK) return rc;
    #pragma omp parallel for schedule(static) if (T * n2 > 32768)
    for (int64_t t = 0; t < T; t++) {
        float *z = st->Z + t * n2, *pt = st->P + t * E;
        mb_softmax(z + E * r, E, pt);
        mb_vgate_blocks(z, pt, E, r);
    }
    if (info && info->gate) memcpy(info->gate, st->P, sizeof(float) * (size_t)(T * E));
    return mb_gemm(st->gp, MB_F32, st->B, T, st->Z, n2, 1.0f, 1.0f, Y, st->o, err);
}

const mb_variant_ops mb_var_molora = { molora_prepare, molora_forward, molora_release };

/* ---- shape (core/variant_shape.h): weights layout, element count, cost, memory ---------- */

static int molora_layout(const mb_spec *s, mb_wdesc *d)
{
    int64_t h = s->h, o = s->o, r = s->r, E = s->E;
    int n = 0;
    MB_W2B("W", o, h); MB_W2("Wr", E, h); MB_W3("A", E, r, h); MB_W3("B", E, o, r);
    return n;
}

static int molora_elems(const mb_spec *s, int64_t *n)
{
    int64_t h = s->h, o = s->o, r = s->r, E = s->E;
    /* W[o,h] Wr[E,h] A[E,r,h] B[E,o,r] */
    return mb_madd(n, o, h) || mb_madd(n, E, h) || mb_madd3(n, E, r, h) || mb_madd3(n, E, o, r)
               ? -1 : 0;
}

static void molora_cost(const mb_spec *s, const int64_t *counts, mb_cost_terms *c)
{
    double T = (double)mb_spec_T(s), h = (double)s->h, o = (double)s->o, r = (double)s->r,
           E = (double)s->E;
    (void)counts;
    /* 2Tho base + 2ThE router + 2TEr(h+o): every expert sees every token (soft gate) */
    c->flops = 2 * T * h * o + 2 * T * h * E + 2 * T * E * r * (h + o);
    c->frozen = 2 * T * h * o;
    c->wb = o * h;
    c->wr = E * h + E * r * (h + o);
}

static int64_t molora_mem_base(mb_acc *a, const mb_mdims *d)
{
    return mb_acc_mul(a, mb_acc_mul(a, d->o, d->h), d->el);
}

static void molora_mem_workspace(mb_acc *a, const mb_mdims *d)
{
    /* Z [T, E*r + E], P [T, E] */
    mb_acc_add3(a, 4, d->T, mb_acc_mul(a, d->E, mb_acc_plus(a, d->r, 2)));
}

/* no merged form (the merge column of variants.def): no merged cost or buffers */
const mb_variant_shape mb_shape_molora = {molora_layout, molora_elems, molora_cost, NULL,
                                          molora_mem_base, molora_mem_workspace, NULL, NULL,
                                          NULL, NULL};
