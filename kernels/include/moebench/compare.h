/* Output comparison against the naive reference (routing first, then values).
 * Tolerance for f32 (documented in README "Correctness"): an element passes when
 * |y - ref| <= atol + rtol * |ref| with rtol = 1e-4 and atol = 1e-4 * rms(ref) * sqrt(depth/64),
 * depth = the longest reduction of the variant, because fp32 summation-order error grows with the
 * square root of the reduction length while the reference accumulates in double. */
#ifndef MOEBENCH_COMPARE_H
#define MOEBENCH_COMPARE_H

#include <stdint.h>
#include "moebench/spec.h"
#include "moebench/tensor.h"
#include "moebench/routing.h"

typedef struct {
    double max_abs_err;   /* max |y - ref| */
    double max_rel_err;   /* max |y - ref| / max(|ref|, rms(ref)) */
    double atol, rtol;    /* the tolerance applied */
    int64_t first_bad;    /* index of the first failing element, -1 if none */
    int pass;
} mb_cmp;

/* Longest reduction of the variant (h for lora, max(h, f) for MLPs, ...). */
int64_t mb_reduction_depth(const mb_spec *s);
void mb_tolerance(const mb_spec *s, double ref_rms, double *atol, double *rtol);
mb_cmp mb_compare(const mb_spec *s, const mb_tensor *y, const mb_tensor *ref);

/* Relative tolerance of mb_routing_equal on the renormalised weights. */
#define MB_ROUTING_WTOL 1e-5

/* CAUTION, memcmp-style: returns 0 when the routings AGREE, nonzero when they differ.
 * They agree when both have idx, the same T, E and k, every token picks the same experts in the
 * same order, and (when both have w) every weight matches within MB_ROUTING_WTOL relative
 * (|wa - wb| <= 1e-5 * max(|wa|, |wb|)). *bad_token (if non-NULL) gets -1 when they agree,
 * else the first differing token (0 when the shapes differ or idx is missing). */
int mb_routing_equal(const mb_routing *a, const mb_routing *b, int64_t *bad_token);

#endif
