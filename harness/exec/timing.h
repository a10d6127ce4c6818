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
    double slow_cap;    /* a slow case (its first reps samples outlast budget) may go on while
                         * still unstable up to 3x the time of those samples, at most slow_cap
                         * seconds in all: otherwise it never gets past reps samples, and at
                         * 6-10 samples the median's CI spans nearly min..max */
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
    int unstable;       /* the median's 95 % CI is wider than ci_target (or n < 6) */
    char reason[160];   /* why unstable, with what to do; or, when stable, a note on outliers */
} mb_timing;

double mb_now_s(void);   /* CLOCK_MONOTONIC seconds */

/* The same measurement in steps, so several can be interleaved (--interleave: one sample of
 * each implementation per round, ABAB..., to spread drift over all of them): begin calibrates
 * (and warms up); each sample call takes one sample and says whether more are wanted; finish
 * gives the verdict. The budget counts only this measurement's own time (calibration and its
 * samples), not the time of the others it is interleaved with. */
typedef struct {
    mb_timed_fn fn;
    void *ctx;
    mb_timing_opts o;
    double spent;    /* seconds of this measurement's own calibration and samples */
    double limit;    /* the budget in force: o.budget, or longer for a slow case (slow_cap) */
    size_t cap;
    int reps, max_reps;
    int done;        /* no more samples wanted (or an error) */
} mb_timer;

/* Calibration; 0, or fn's non-zero return. */
int mb_timer_begin(mb_timer *tm, mb_timed_fn fn, void *ctx, const mb_timing_opts *o, mb_timing *t);
/* One sample into t; sets tm->done when the measurement is complete. 0, or fn's non-zero
 * return (or -1 out of memory; done is then set too). */
int mb_timer_sample(mb_timer *tm, mb_timing *t);
/* The verdict on the samples taken (t->unstable, t->ci_half, t->reason). */
void mb_timer_finish(mb_timer *tm, mb_timing *t);

void mb_timing_opts_default(mb_timing_opts *o);
/* 0 on success; the fn's non-zero return otherwise (t->n holds the samples so far). */
int mb_time_fn(mb_timed_fn fn, void *ctx, const mb_timing_opts *o, mb_timing *t);
void mb_timing_free(mb_timing *t);

/* The calibration rule as a pure function: a sample of `iters` calls took `elapsed` seconds,
 * aiming for `target` seconds; returns the next iteration count (x 1.4 target/elapsed, at most
 * x 10 while elapsed <= target/10, always at least iters + 1), or 0 when calibration is done. */
int64_t mb_calib_next_iters(int64_t iters, double elapsed, double target);

/* Instability verdict of a finished measurement, with a suggestion (exposed for tests):
 * unstable when the median's CI is too wide (or too few samples for one). A high CV with a
 * tight CI (outliers that do not move the median) is noted in reason, not flagged. */
void mb_timing_verdict(mb_timing *t, double ci_target);

#endif
