/* Expert parallelism's computation (the communication is the harness's, harness/dist/): one
 * rank's part of an ep=N case, written on the same variant code as the single-process forward
 * (kernels/variants/var_sparse_mlp.c) so a rank's experts compute what the forward computes
 * for them. A part holds the router (all E experts, for the rank's tokens) and the experts
 * e0 .. e0+ne-1. */
#ifndef MOEBENCH_EP_H
#define MOEBENCH_EP_H

#include <stdint.h>
#include "moebench/error.h"
#include "moebench/routing.h"
#include "moebench/spec.h"
#include "moebench/weights.h"

typedef struct mb_ep_part mb_ep_part;

/* NULL when implementation impl (blas, onednn, avx512) runs the expert-parallel form of s,
 * else the reason. s->ep is ignored (checked by the caller against its ranks). */
const char *mb_ep_unsupported(const char *impl, const mb_spec *s);
/* Prepares the router for `rows` tokens and experts e0 .. e0+ne-1 of s from the case's weights
 * (which must outlive the part). */
mb_status mb_ep_prepare(const char *impl, const mb_spec *s, const mb_weights *w, int64_t rows,
                        int64_t e0, int64_t ne, mb_ep_part **out, mb_err *err);
/* Routes X [rows, h]; *rt points into the part (valid until the next call): idx, w [rows*k]. */
mb_status mb_ep_route(mb_ep_part *p, const float *X, const mb_routing **rt, mb_err *err);
/* The part's experts on Xg [n, h] grouped by expert (counts[ne]): Yg [n, h] unweighted. */
mb_status mb_ep_experts(mb_ep_part *p, const float *Xg, const int64_t *counts, float *Yg,
                        mb_err *err);
void mb_ep_release(mb_ep_part *p);

#endif
