/* Calibrated repetitions (see timing.h). */
#include "timing.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double mb_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void mb_timing_opts_default(mb_timing_opts *o)
{
    o->min_time = 0.5;
    o->reps = 10;
    o->max_reps = 60;
    o->budget = 3.0;
    o->ci_target = 0.05;
    o->on_batch = NULL;
}

int64_t mb_calib_next_iters(int64_t iters, double elapsed, double target)
{
    if (elapsed >= target || iters >= (int64_t)1 << 40)
        return 0;
    double mult = target * 1.4 / fmax(elapsed, 1e-9);
    if (elapsed / target <= 0.1 && mult > 10)
        mult = 10;
    int64_t next = (int64_t)ceil((double)iters * mult);
    return next > iters ? next : iters + 1;
}

static int run_iters(mb_timed_fn fn, void *ctx, int64_t iters, double *elapsed)
{
    double t0 = mb_now_s();
    for (int64_t i = 0; i < iters; i++) {
        int rc = fn(ctx);
        if (rc)
            return rc;
    }
    *elapsed = mb_now_s() - t0;
    return 0;
}

static int push(mb_timing *t, size_t *cap, double v)
{
    if (t->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 32;
        double *p = realloc(t->ns, nc * sizeof *p);
        if (!p)
            return -1;
        t->ns = p;
        *cap = nc;
    }
    t->ns[t->n++] = v;
    return 0;
}

void mb_timing_verdict(mb_timing *t, double ci_target)
{
    t->unstable = 0;
    t->reason[0] = '\0';
    if (t->n == 0)
        return;
    mb_summarize(t->ns, t->n, &t->s);
    double med = t->s.median;
    size_t lo, hi;
    if (mb_median_ci_ranks(t->n, 0.95, &lo, &hi) != 0) {
        /* no distribution-free 95 % CI of the median below 6 samples: ci_lo/ci_hi are NAN */
        t->ci_half = NAN;
        t->unstable = 1;
        snprintf(t->reason, sizeof t->reason,
                 "unstable: only %zu samples, too few samples for a 95%% CI; raise --reps or --min-time",
                 t->n);
    } else if ((t->ci_half = med > 0 ? fmax(med - t->s.ci_lo, t->s.ci_hi - med) / med : 0) >
               ci_target) {
        t->unstable = 1;
        snprintf(t->reason, sizeof t->reason,
                 "unstable: CI ±%.0f%% of the median (target %.0f%%); close other programs / raise --min-time",
                 100 * t->ci_half, 100 * ci_target);
    } else if (t->s.cv > 0.25) {
        t->unstable = 1;
        snprintf(t->reason, sizeof t->reason,
                 "unstable: CV %.0f%% (outliers); close other programs / raise --min-time",
                 100 * t->s.cv);
    }
}

int mb_time_fn(mb_timed_fn fn, void *ctx, const mb_timing_opts *o, mb_timing *t)
{
    t->iters = 1;
    t->n = 0;
    t->ns = NULL;
    t->unstable = 0;
    t->reason[0] = '\0';
    size_t cap = 0;
    int reps = o->reps > 0 ? o->reps : 1;
    double target = o->min_time / reps;
    double start = mb_now_s();
    double elapsed = 0;
    int rc;

    /* Calibration: the runs also warm caches, page in workspace and wake thread pools. */
    for (;;) {
        if ((rc = run_iters(fn, ctx, t->iters, &elapsed)))
            return rc;
        if (o->on_batch)
            o->on_batch(ctx, t->iters, 0);
        int64_t next = mb_calib_next_iters(t->iters, elapsed, target);
        if (next == 0 || mb_now_s() - start > o->budget / 2)
            break;
        t->iters = next;
    }

    int max_reps = o->max_reps > reps ? o->max_reps : reps;
    for (;;) {
        if ((rc = run_iters(fn, ctx, t->iters, &elapsed)))
            break;
        if (push(t, &cap, elapsed * 1e9 / (double)t->iters)) {
            rc = -1;
            break;
        }
        if (o->on_batch)
            o->on_batch(ctx, t->iters, 1);
        if ((int)t->n < reps)
            continue;
        if ((int)t->n >= max_reps || mb_now_s() - start > o->budget)
            break;
        /* Check the CI after each batch of half the initial reps, so a noisy case gets
         * more samples instead of a wide interval. */
        if (((int)t->n - reps) % (reps / 2 > 0 ? reps / 2 : 1) == 0) {
            mb_timing_verdict(t, o->ci_target);
            if (!t->unstable)
                break;
        }
    }
    mb_timing_verdict(t, o->ci_target);
    return rc;
}

void mb_timing_free(mb_timing *t)
{
    free(t->ns);
    t->ns = NULL;
    t->n = 0;
}
