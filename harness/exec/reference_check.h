/* The reference oracle: the naive output of a case and the verdict of another implementation's
 * output against it (routing first, then values within the tolerance). Kept apart from the
 * timing (case_exec.c) because `moebench case` and `moebench dump` check exactly what the runner
 * checks, without timing anything. */
#ifndef MOEBENCH_REFERENCE_CHECK_H
#define MOEBENCH_REFERENCE_CHECK_H

#include <stdint.h>
#include "csv.h"   /* mb_row_status */
#include "moebench/moebench.h"

/* Above this many FLOPs per naive forward, the reference is computed on sampled rows only and
 * `naive` is skipped unless named explicitly. */
#define MB_NAIVE_FULL_FLOPS 2e9
#define MB_REF_SAMPLE_ROWS 8

/* The naive reference of a case: the whole output, or rows[0..nrows) of it computed on a
 * sub-case (each sampled row becomes a sequence of one token, with its sequence's task / R;
 * every variant is row-wise given its routing and per-sequence inputs). Shared by the runner,
 * `moebench case` and `moebench dump` so that a repro checks exactly what the runner checked. */
typedef struct {
    int sampled;
    int64_t nrows;
    int64_t *rows;          /* sampled rows, ascending (malloc'd; NULL when not sampled) */
    mb_spec sub;            /* spec of the reference computation (== case spec when not sampled) */
    mb_tensor y;            /* reference output [T or nrows, out] */
    mb_forward_info info;   /* reference routing (routed variants) */
    uint8_t *near;          /* [nrows] near ties of the top-k (mb_routing_near_ties; routed
                             * variants, else NULL) */
} mb_reference;

/* 1 when the runner's rule samples rows for s (naive forward above MB_NAIVE_FULL_FLOPS). */
int mb_reference_sampled_by_default(const mb_spec *s);
/* sample_rows < 0: the runner's rule (MB_REF_SAMPLE_ROWS sampled rows for large cases, else the
 * whole output); 0: the whole output; N > 0: N sampled rows (first, last, then seeded distinct
 * random rows; every row when N >= T). */
mb_status mb_reference_build(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                             int64_t sample_rows, mb_reference *ref, mb_err *err);
void mb_reference_free(mb_reference *ref);
/* The sub-case's inputs of a sampled reference: the sampled rows of X, each with its sequence's
 * task / R (mode=train runs implementations on it too, train_exec.h). */
mb_status mb_reference_sub_inputs(const mb_spec *s, const mb_inputs *in, const mb_reference *ref,
                                  mb_inputs *out, mb_err *err);

/* Verdict of one output against the reference: routing first (for routed outputs), then values. */
typedef struct {
    int ok;
    mb_row_status status;   /* MB_ROW_OK, _MISMATCH, or _ERROR (could not compare) */
    char what[640];         /* why not ok, without the repro line */
    double max_abs_err, max_rel_err;
    int64_t bad_token;      /* first token whose routing differs, -1 if none */
    int64_t near_ties;      /* tokens whose routing differs within a near tie (excused, their
                             * rows left out of the value check); -1 when routing was not
                             * compared */
    mb_cmp cmp;
} mb_check;

/* y / info: the implementation's full output [T, out] and forward info (info may be NULL).
 * Returns check->ok. */
int mb_reference_check(const mb_spec *s, const mb_tensor *y, const mb_forward_info *info,
                       const mb_reference *ref, mb_check *check);

#endif
