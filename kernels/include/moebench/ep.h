/* Expert parallelism's computation (the communication is the harness's, harness/dist/): one
 * rank's part of an ep=N case, written on the same variant code as the single-process forward
 * (kernels/variants/var_sparse_mlp.c, var_mixlora.c) so a rank's experts compute what the
 * forward computes for them. A part holds the router (all E experts, for the rank's tokens),
 * the token owner's work before dispatch and after combine, and the experts e0 .. e0+ne-1.
 *
 * What crosses the network per routed row is a row of segments (mb_ep_rowfmt), sent as one
 * contiguous row and kept as one plane per segment on either side:
 *   sparse_mlp, mixlora share=none  dispatch {x [h]}                 combine {y_e [h]}
 *   mixlora share=gate_up           dispatch {x [h], xWg^T [f], xWu^T [f]}  combine {y_e [h]}
 *   mixlora share=all               dispatch as gate_up              combine {LoRA down term
 *                                                                     [h], H_e [f]}
 *   router (dispatch only)          dispatch {x [h]}                 combine {x [h]} unchanged
 * mixlora's frozen MLP is replicated on every rank: its parts computed once per token (share
 * gate_up: X Wg^T, X Wu^T; share all: also the down projection of sum_e w_e H_e, by linearity)
 * run on the token's owner, as the single-process forward runs them once per token; only the
 * per-expert work runs on the expert's owner. */
#ifndef MOEBENCH_EP_H
#define MOEBENCH_EP_H

#include <stdint.h>
#include "moebench/error.h"
#include "moebench/routing.h"
#include "moebench/spec.h"
#include "moebench/weights.h"

typedef struct mb_ep_part mb_ep_part;

#define MB_EP_MAX_SEG 3
/* n segments of w[j] floats each. */
typedef struct {
    int n;
    int64_t w[MB_EP_MAX_SEG];
} mb_ep_rowfmt;

/* NULL when implementation impl (blas, onednn, avx512) runs the expert-parallel form of s,
 * else the reason. s->ep is ignored (checked by the caller against its ranks). */
const char *mb_ep_unsupported(const char *impl, const mb_spec *s);
/* The rows of s that cross the network (above): dispatched (in) and returned (out). */
void mb_ep_formats(const mb_spec *s, mb_ep_rowfmt *in, mb_ep_rowfmt *out);
/* 0 when s has no experts to run (the router: its rows come back as they were sent). */
int mb_ep_has_experts(const mb_spec *s);
/* Prepares the router for `rows` tokens and experts e0 .. e0+ne-1 of s from the case's weights
 * (which must outlive the part). */
mb_status mb_ep_prepare(const char *impl, const mb_spec *s, const mb_weights *w, int64_t rows,
                        int64_t e0, int64_t ne, mb_ep_part **out, mb_err *err);
/* Routes X [rows, h]; *rt points into the part (valid until the next call): idx, w [rows*k]. */
mb_status mb_ep_route(mb_ep_part *p, const float *X, const mb_routing **rt, mb_err *err);
/* The token owner's work before dispatch: seg[j] [rows, in.w[j]], the planes of its tokens'
 * dispatched segments (seg[0] = X; mixlora gate_up/all: X Wg^T, X Wu^T into the part). */
mb_status mb_ep_local(mb_ep_part *p, const float *X, const float *seg[MB_EP_MAX_SEG],
                      mb_err *err);
/* The part's experts on rows grouped by expert (counts[ne]): in[j] [n, in.w[j]] to out[j]
 * [n, out.w[j]], unweighted. Not for a spec without experts. */
mb_status mb_ep_experts(mb_ep_part *p, const float *const in[], const int64_t *counts,
                        float *const out[], mb_err *err);
/* The token owner's work after combine: acc[j] [rows, out.w[j]] holds the weighted sums over
 * each token's experts of returned segment j, in ascending expert order; leaves Y [rows, h] in
 * acc[0] (mixlora share=all adds acc[1] Wd^T; the others have nothing to do). */
mb_status mb_ep_finish(mb_ep_part *p, float *const acc[], mb_err *err);
void mb_ep_release(mb_ep_part *p);

#endif
