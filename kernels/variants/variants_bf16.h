/* Helpers of the bf16 forms (var_bf16*.c, spec "Precision"): bf16 workspace, widening, the
 * GLU on bf16 rows, the f32 router on bf16 inputs, gathers and the f32 combine of bf16 rows. */
#ifndef MOEBENCH_VARIANTS_BF16_H
#define MOEBENCH_VARIANTS_BF16_H

#include "variants.h"

/* mb_alloc of a x b bf16 elements (factors and product checked as mb_valloc2 does). */
mb_status mb_b16_alloc(uint16_t **p, int64_t a, int64_t b, mb_err *err);
/* dst[i] = src[i] widened (exact), i < n. */
void mb_b16_widen(const uint16_t *src, int64_t n, float *dst);
/* Row by row over n rows of width f: G = bf16(act(G) * U) in f32 on the widened rows; row:
 * scratch of 2 f floats. */
void mb_b16_glu(mb_act act, uint16_t *G, const uint16_t *U, int64_t n, int64_t f, float *row);
/* Xg[i] = X[tok[i]] for i < n (bf16 rows of width d). */
void mb_b16_gather(const uint16_t *X, int64_t d, const int32_t *tok, int64_t n, uint16_t *Xg);
/* Acc[tok[i]] += w_i * Yg[i] (widened), w_i the routing weight of (tok[i], slot[i]), or 1 when
 * slot is NULL (a shared expert). */
void mb_b16_combine(const uint16_t *Yg, int64_t d, const int32_t *tok, const int32_t *slot,
                    int64_t n, const mb_routing *rt, float *Acc);

/* The router of the bf16 forms: softmax and top-k in f32 (the spec) on logits from the f32 GEMM
 * on X and Wr widened exactly, so routing and its weights match naive's as an f32 case's do (a
 * bf16 GEMM would round the logits and move every weight by up to u). */
typedef struct {
    mb_vrouter vr;
    float *Wr, *Xf;   /* [E, h], [T, h] */
} mb_b16_router;
mb_status mb_b16_router_init(mb_b16_router *r, const mb_gemm_provider *gp, const mb_weights *w,
                             const mb_spec *s, mb_err *err);
mb_status mb_b16_router_run(mb_b16_router *r, const mb_gemm_provider *gp, const uint16_t *X,
                            mb_forward_info *info, mb_err *err);
void mb_b16_router_free(mb_b16_router *r, const mb_gemm_provider *gp);

#endif
