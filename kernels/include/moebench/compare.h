/* Output comparison against the naive reference (routing first, then values).
 * Tolerance per dtype (README "Correctness" points here). An element passes when
 *   |y - ref| <= atol + rtol * |ref|,  atol = atol_rms * rms(ref) * sqrt(depth / 64),
 * depth = the longest reduction of the variant (mb_reduction_depth), with (rtol, atol_rms) from
 * the row of the case's dtype:
 *   f32:  rtol = 1e-4, atol_rms = 1e-4. fp32 summation-order error grows with the square root
 *         of the reduction length while the reference accumulates in double.
 *   bf16: rtol = 2u, atol_rms = 4u, u = 2^-8 (bf16 unit roundoff: 8 significand bits).
 *         Both sides start from the same bf16-rounded inputs (spec "Precision"), so input
 *         rounding cancels; what differs is (a) the final rounding of Y to bf16, which can put
 *         the two results one bf16 ulp apart (ulp <= 2u |y|: rtol), and (b) intermediates an
 *         implementation may keep in bf16: along the longest chain X A^T -> Z, (G, U) -> H,
 *         H -> Y at most 3 roundings of relative error u each, which the next reduction sums
 *         over `depth` terms with independent signs, plus f32 accumulation (depth * 2^-24 <= u
 *         for depth <= 2^16): 4u of rms(ref), scaled with sqrt(depth/64) as f32 is. Under wq
 *         both sides use the same q * scale; an implementation that dequantises it into bf16
 *         rounds each weight once more (<= u), the fourth rounding of the 4u budget.
 *         Checked (tests/test_ref_precision.c): mlp_lora with Z, G, U, H each rounded to bf16
 *         and f32 accumulation stays at a third of atol (depth 512), and 8 ulp fails.
 *   f16, int8, int4, i32: no rule (a case cannot be stored in them; int8 / int4 are wq,
 *         which keeps the case's dtype for Y and so its row).
 * mb_compare fails (pass = 0, errors infinite) for a dtype without a rule, or tensors whose
 * dtype or size differ from each other. */
#ifndef MOEBENCH_COMPARE_H
#define MOEBENCH_COMPARE_H

#include <stdint.h>
#include "moebench/spec.h"
#include "moebench/tensor.h"
#include "moebench/routing.h"
#include "moebench/weights.h"

typedef struct {
    double max_abs_err;   /* max |y - ref| */
    double max_rel_err;   /* max |y - ref| / max(|ref|, rms(ref)) */
    double atol, rtol;    /* the tolerance applied */
    int64_t first_bad;    /* index of the first failing element, -1 if none */
    int pass;
} mb_cmp;

/* One dtype's tolerance rule (see above). */
typedef struct {
    double rtol;       /* relative to |ref| */
    double atol_rms;   /* absolute, in units of rms(ref) * sqrt(depth / 64) */
} mb_tol_rule;

/* The rule of dtype dt, or NULL when it has none. */
const mb_tol_rule *mb_tolerance_rule(mb_dtype dt);
/* Longest reduction of the variant (h for lora, max(h, f) for MLPs, ...). */
int64_t mb_reduction_depth(const mb_spec *s);
/* atol and rtol for the spec's dtype and the reference's rms; 0 and 0 (nothing passes but an
 * exact match) for a dtype without a rule. */
void mb_tolerance(const mb_spec *s, double ref_rms, double *atol, double *rtol);
mb_cmp mb_compare(const mb_spec *s, const mb_tensor *y, const mb_tensor *ref);

/* Gradients of a train step (dX and each trainable tensor, mode=train) against naive's, per
 * tensor (its own rms): the dtype's rule with
 *   depth = max(mb_reduction_depth, T): a weight gradient sums over the T tokens (dB = G^T Z),
 *           dX reduces over the output width like the forward;
 *   rtol and atol_rms x MB_GRAD_TOL_SCALE: the backward chains the forward's roundings (the
 *           kept Z, G, U, H) with its own reduction, two f32 reductions in series instead of
 *           one, so up to twice the forward's error, and ties from the dropout scale 1/(1-p)
 *           round once more; 4 keeps the rule tight (f32: 4e-4 of rms at depth 64) while
 *           leaving room for summation order.
 * A gradient of the rms scale (zero-token experts give exact zeros, which the naive side also
 * gives) passes as mb_compare does. */
#define MB_GRAD_TOL_SCALE 4.0
int64_t mb_grad_reduction_depth(const mb_spec *s);
mb_cmp mb_compare_grad(const mb_spec *s, const mb_tensor *g, const mb_tensor *ref);

/* Relative tolerance of mb_routing_equal on the renormalised weights. */
#define MB_ROUTING_WTOL 1e-5

/* Routing near ties (spec "Precision": routing may differ only on tokens whose top-k margin is
 * under the tolerance, and such tokens are reported). near[t] (T flags) = 1 when the margin
 * z_(k) - z_(k+1) between token t's k-th and (k+1)-th largest router logits z = X Wr^T
 * (double, from the stored inputs) is at most the dtype's rule applied to the logits as an
 * output of reduction depth h: rtol |z_(k)| + atol_rms rms(z) sqrt(h / 64). Two
 * implementations that both round z to the same f32 or order it after bf16-intermediate noise
 * may then pick either side of the tie. Always 0 where the choice does not hinge on a logit
 * order (top-p, route=balanced|zipf, k == E). MB_EINVAL for a variant that does not route. */
mb_status mb_routing_near_ties(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                               uint8_t *near, mb_err *err);
/* mb_routing_equal that excuses near ties: a token that differs with near[t] set is counted in
 * *near_ties (and flagged in excused[t] when excused is non-NULL) instead of being a
 * difference; any other difference returns nonzero with its token in *bad_token as
 * mb_routing_equal. The capacity's drop flags are compared as experts are: a near tie that
 * shifts later drops shows as a difference on those later tokens. */
int mb_routing_equal_near(const mb_routing *a, const mb_routing *b, const uint8_t *near,
                          int64_t *near_ties, uint8_t *excused, int64_t *bad_token);

/* CAUTION, memcmp-style: returns 0 when the routings AGREE, nonzero when they differ.
 * They agree when both have idx, the same T, E and k, every token picks the same experts in the
 * same order, and (when both have w) every weight matches within MB_ROUTING_WTOL relative
 * (|wa - wb| <= 1e-5 * max(|wa|, |wb|)). *bad_token (if non-NULL) gets -1 when they agree,
 * else the first differing token (0 when the shapes differ or idx is missing). */
int mb_routing_equal(const mb_routing *a, const mb_routing *b, int64_t *bad_token);

#endif
