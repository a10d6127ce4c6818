/* Private to kernels/ref: the naive reference of every variant, written from spec Part 1 line by
 * line, accumulating in double. It deliberately shares no computation with kernels/variants/ nor
 * with core's routing (mb_route/mb_topk/mb_softmax) so that a bug cannot hide on both sides of a
 * correctness comparison; from core it uses only containers, allocation, the shape check
 * (mb_check_io) and the activation functions. Every output row is computed by one
 * thread in a fixed order, so results are bit-identical on any thread count. */
#ifndef MOEBENCH_REF_H
#define MOEBENCH_REF_H

#include <stdint.h>
#include "moebench/moebench.h"

/* One forward of a variant: y [T, mb_spec_out_width(s)] f32; info may be NULL. */
typedef mb_status (*mb_ref_fn)(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                               mb_tensor *y, mb_forward_info *info, mb_err *err);

/* The reference of every variant (the ref column of moebench/variants.def), one file each:
 * kernels/ref/ref_<name>.c. */
#define MB_VARIANT(ID, name, fields, summary, routed, inputs, gate, out, ref, ...) \
    mb_status ref(const mb_spec *s, const mb_weights *w, const mb_inputs *in, mb_tensor *y, \
                  mb_forward_info *info, mb_err *err);
#include "moebench/variants.def"
#undef MB_VARIANT

/* ---- helpers (ref_common.c) ---- */

/* The f32 weight `name`, checked to have exactly the shape (d0[, d1[, d2]]) (ndim 1..3);
 * NULL with a reason in err otherwise. */
const float *mb_ref_weight(const mb_weights *w, const char *name, int ndim, int64_t d0,
                           int64_t d1, int64_t d2, mb_err *err);
/* The forward's shape check: X [T, h] f32, y [T, out_width] f32, task ids / R where the variant
 * has them, and a wanted routing buffer sized for the spec (mb_check_io of core). */
mb_status mb_ref_check_io(const mb_spec *s, const mb_inputs *in, const mb_tensor *y,
                          const mb_forward_info *info, mb_err *err);

/* out[n] = sum_k x[k] W[n, k] for n < N (W [N, K] row-major), in double. */
void mb_ref_linear(const double *x, int64_t K, const float *W, int64_t N, double *out);
/* out[n] += scale * sum_k x[k] W[n, k]. */
void mb_ref_linear_acc(const double *x, int64_t K, const float *W, int64_t N, double scale,
                       double *out);
/* out[N] += scale * B ((A x)): the LoRA term with A [r, K], B [N, r]; z holds r doubles. */
void mb_ref_lora_acc(const double *x, int64_t K, const float *A, const float *B, int64_t r,
                     int64_t N, double scale, double *z, double *out);
/* Widens one f32 row to double. */
void mb_ref_row(const float *src, int64_t n, double *dst);
/* Logits rounded to fp32 (spec: "computed and kept in fp32"): z[n] = (float)(x . W[n, :]). */
void mb_ref_logits(const double *x, int64_t K, const float *W, int64_t N, float *z);
/* Softmax in double of n fp32 logits (max-subtracted); returns logsumexp. */
double mb_ref_softmax(const float *z, int64_t n, double *p);

/* Routing of all T tokens from z = X Wr^T (double dot products rounded to fp32), written
 * here from spec Part 1 (softmax in double, a full sort by (p desc, index asc), the chosen set
 * by the routing options (top-k, top-p, route=), renormalise, L_aux, z-loss, then the capacity
 * in slot-major order and the counts after it) independently of core's mb_route. idx/w list each token's experts in
 * descending p, as routing.h asks. Writes into info->routing when the caller asked for it
 * (info && routing.idx), else into arrays it allocates (*owned = 1: release with
 * mb_ref_routing_release). */
mb_status mb_ref_route(const mb_spec *s, const float *X, const float *Wr, mb_forward_info *info,
                       mb_routing *out, int *owned, mb_err *err);
/* Frees the arrays of an owned routing from mb_ref_route. */
void mb_ref_routing_release(mb_routing *r);
/* The experts one token computes (chosen, not dropped) in ascending expert index (spec: expert
 * outputs are accumulated into Y in ascending expert index), with their weights; returns how
 * many. */
int64_t mb_ref_sorted_choice(const mb_routing *r, int64_t t, int32_t *e_out, double *w_out);

#endif
