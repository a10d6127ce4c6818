/* Calibrated repetitions (design section 6): CLOCK_MONOTONIC; the iteration count per sample
 * grows like Google Benchmark's (x 1.4 target/elapsed, at most x 10) until one sample lasts
 * min_time / reps; then `reps` samples; then more samples while the 95 % CI of the median is
 * wider than ci_target of the median and the time budget lasts. */
#ifndef MOEBENCH_TIMING_H
#define MOEBENCH_TIMING_H

#include <stddef.h>
#include <stdint.h>
#include "stats.h"

/* One call of the measured operation; returns 0, or non-zero to abort the measurement. */
typedef int (*mb_timed_fn)(void *ctx);

typedef struct {
    double min_time;    /* seconds all `reps` samples should take together */
    int reps;           /* samples to take first (>= 1) */
    int max_reps;       /* hard cap on samples */
    double budget;      /* seconds for the whole measurement including calibration */
    double ci_target;   /* wanted CI half-width / median, e.g. 0.05 */
    /* Optional (NULL: none): called after every batch of `iters` calls with the fn's ctx,
     * recorded = 1 for a batch that became a sample (the n-th, 0-based as sample), 0 for a
     * calibration batch; lets a fn that clocks phases inside a call (mode=train: forward and
     * backward) keep one value per sample, aligned with ns. */
    void (*on_batch)(void *ctx, int64_t iters, int recorded);
} mb_timing_opts;

typedef struct {
    int64_t iters;      /* calls per sample */
    size_t n;           /* samples taken */
    double *ns;         /* n per-call times in nanoseconds (malloc'd; free with mb_timing_free) */
    mb_summary s;       /* summary of ns */
    double ci_half;     /* max(median - ci_lo, ci_hi - median) / median; NAN below 6 samples */
    int unstable;
    char reason[160];   /* why unstable, with what to do */
} mb_timing;

double mb_now_s(void);   /* CLOCK_MONOTONIC seconds */

void mb_timing_opts_default(mb_timing_opts *o);
/* 0 on success; the fn's non-zero return otherwise (t->n holds the samples so far). */
int mb_time_fn(mb_timed_fn fn, void *ctx, const mb_timing_opts *o, mb_timing *t);
void mb_timing_free(mb_timing *t);

/* The calibration rule as a pure function: a sample of `iters` calls took `elapsed` seconds,
 * aiming for `target` seconds; returns the next iteration count (x 1.4 target/elapsed, at most
 * x 10 while elapsed <= target/10, always at least iters + 1), or 0 when calibration is done. */
int64_t mb_calib_next_iters(int64_t iters, double elapsed, double target);

/* Instability verdict of a finished measurement, with a suggestion (exposed for tests). */
void mb_timing_verdict(mb_timing *t, double ci_target);

#endif
