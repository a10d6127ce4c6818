/* lora and mlp_lora in bf16 (spec "Precision") through a provider's bf16 entry points, where
 * A, W and C are all bf16 and each product accumulates in f32 and is rounded once when stored.
 *
 * A LoRA linear is three products: Z = X A^T, then C = s Z B^T, then C += X W^T (beta = 1).
 * The small adapter term goes first so the one extra rounding the beta = 1 pass adds is of the
 * adapter's term, not of the base product: C carries u |s Z B^T| + u |C| of rounding, within
 * one bf16 ulp of C where the base term dominates (compare.h's bf16 rule: rtol 2u). G, U and H
 * are stored in bf16; act(G) .* U is computed in f32 on the widened rows. */
#include "variants_bf16.h"
#include <string.h>

typedef struct {
    mb_gemm_weight *W, *A, *B;
    int64_t din, dout, r;
    float s;
} bf16_lora;

/* the base weight wn through mb_vprep_base: bf16, or its wq levels */
static mb_status bf16_lora_init(bf16_lora *l, const mb_gemm_provider *gp, const mb_spec *sp,
                                const mb_weights *w, const char *wn, const char *an,
                                const char *bn, int64_t dout, int64_t din, int64_t r, float s,
                                int64_t m, mb_err *err)
{
    l->din = din; l->dout = dout; l->r = r; l->s = s;
    const void *A = mb_vw_as(w, an, r * din, MB_BF16, err);
    const void *B = A ? mb_vw_as(w, bn, dout * r, MB_BF16, err) : NULL;
    if (!B) return err ? err->code : MB_EINVAL;
    mb_status rc = mb_vprep_base(gp, sp, w, wn, 1, 0, dout, din, m, &l->W, err);
    if (rc == MB_OK) rc = mb_gemm_weight_prepare(gp, MB_BF16, A, r, din, din, m, &l->A, err);
    if (rc == MB_OK) rc = mb_gemm_weight_prepare(gp, MB_BF16, B, dout, r, r, m, &l->B, err);
    return rc;
}

static void bf16_lora_free(bf16_lora *l, const mb_gemm_provider *gp)
{
    mb_gemm_weight **ws[] = {&l->W, &l->A, &l->B};
    for (int i = 0; i < 3; i++) {
        if (*ws[i]) mb_gemm_weight_release(gp, MB_BF16, *ws[i]);
        *ws[i] = NULL;
    }
}

/* C [M, dout] = X W^T + s (X A^T) B^T; Z: scratch [M, r] */
static mb_status bf16_lora_run(const bf16_lora *l, const mb_gemm_provider *gp, int64_t M,
                               const uint16_t *X, uint16_t *C, uint16_t *Z, mb_err *err)
{
    if (M == 0) return MB_OK;
    mb_status rc = mb_gemm(gp, MB_BF16, l->A, M, X, l->din, 1.0f, 0.0f, Z, l->r, err);
    if (rc == MB_OK) rc = mb_gemm(gp, MB_BF16, l->B, M, Z, l->r, l->s, 0.0f, C, l->dout, err);
    if (rc == MB_OK) rc = mb_gemm(gp, MB_BF16, l->W, M, X, l->din, 1.0f, 1.0f, C, l->dout, err);
    return rc;
}

/* ---- lora ---- */

typedef struct {
    const mb_gemm_provider *gp;
    int64_t T;
    bf16_lora l;
    uint16_t *Z;
} lora_st;

static void lora_release(void *p)
{
    lora_st *st = p;
    if (!st) return;
    bf16_lora_free(&st->l, st->gp);
    mb_free(st->Z);
    mb_free(st);
}

static mb_status lora_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                              void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s);
    lora_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    memset(st, 0, sizeof *st);
    st->gp = gp; st->T = T;
    mb_status rc = bf16_lora_init(&st->l, gp, s, w, "W", "A", "B", s->o, s->h, s->r,
                                  s->alpha / (float)s->r, T, err);
    if (rc == MB_OK) rc = mb_b16_alloc(&st->Z, T, s->r, err);
    if (rc != MB_OK) { lora_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status lora_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                              mb_err *err)
{
    (void)info;
    lora_st *st = p;
    return bf16_lora_run(&st->l, st->gp, st->T, in->X.data, y->data, st->Z, err);
}

const mb_variant_ops mb_var_lora_bf16 = {lora_prepare, lora_forward, lora_release};

/* ---- mlp_lora ---- */

typedef struct {
    const mb_gemm_provider *gp;
    mb_act act;
    int64_t T, f;
    bf16_lora g, u, d;
    uint16_t *G, *U, *Z;   /* [T, f], [T, f], [T, r]; H overwrites G */
    float *row;            /* [2, f]: mb_b16_glu's scratch */
} mlp_st;

static void mlp_release(void *p)
{
    mlp_st *st = p;
    if (!st) return;
    bf16_lora_free(&st->g, st->gp);
    bf16_lora_free(&st->u, st->gp);
    bf16_lora_free(&st->d, st->gp);
    mb_free(st->G);
    mb_free(st->U);
    mb_free(st->Z);
    mb_free(st->row);
    mb_free(st);
}

static mb_status mlp_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                             void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, f = s->f, r = s->r;
    const float sc = s->alpha / (float)r;
    mlp_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    memset(st, 0, sizeof *st);
    st->gp = gp; st->act = s->act; st->T = T; st->f = f;
    mb_status rc = bf16_lora_init(&st->g, gp, s, w, "Wg", "Ag", "Bg", f, h, r, sc, T, err);
    if (rc == MB_OK) rc = bf16_lora_init(&st->u, gp, s, w, "Wu", "Au", "Bu", f, h, r, sc, T, err);
    if (rc == MB_OK) rc = bf16_lora_init(&st->d, gp, s, w, "Wd", "Ad", "Bd", h, f, r, sc, T, err);
    if (rc == MB_OK) rc = mb_b16_alloc(&st->G, T, f, err);
    if (rc == MB_OK) rc = mb_b16_alloc(&st->U, T, f, err);
    if (rc == MB_OK) rc = mb_b16_alloc(&st->Z, T, r, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->row, 2, f, err);
    if (rc != MB_OK) { mlp_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status mlp_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                             mb_err *err)
{
    (void)info;
    mlp_st *st = p;
    const uint16_t *X = in->X.data;
    mb_status rc = bf16_lora_run(&st->g, st->gp, st->T, X, st->G, st->Z, err);
    if (rc == MB_OK) rc = bf16_lora_run(&st->u, st->gp, st->T, X, st->U, st->Z, err);
    if (rc != MB_OK) return rc;
    mb_b16_glu(st->act, st->G, st->U, st->T, st->f, st->row);
    return bf16_lora_run(&st->d, st->gp, st->T, st->G, y->data, st->Z, err);
}

const mb_variant_ops mb_var_mlp_lora_bf16 = {mlp_prepare, mlp_forward, mlp_release};
