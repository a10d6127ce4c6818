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
    o->slow_cap = 20.0;
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
        /* A few far-off samples (a preemption, a page-in) inflate the CV, but the reported
         * value is the median, and its CI above says it is known to within the target: a
         * note, not the unstable flag, which would otherwise mark rows whose number is fine. */
        snprintf(t->reason, sizeof t->reason,
                 "outliers: CV %.0f%%, slowest sample %.1fx the median (the median's CI, "
                 "±%.1f%%, is within the target)", 100 * t->s.cv, t->s.max / med,
                 100 * t->ci_half);
    }
}

int mb_timer_begin(mb_timer *tm, mb_timed_fn fn, void *ctx, const mb_timing_opts *o, mb_timing *t)
{
    t->iters = 1;
    t->n = 0;
    t->ns = NULL;
    t->unstable = 0;
    t->ci_half = NAN;
    t->reason[0] = '\0';
    tm->fn = fn;
    tm->ctx = ctx;
    tm->o = *o;
    tm->spent = 0;
    tm->limit = o->budget;
    tm->cap = 0;
    tm->done = 0;
    tm->reps = o->reps > 0 ? o->reps : 1;
    tm->max_reps = o->max_reps > tm->reps ? o->max_reps : tm->reps;
    double target = o->min_time / tm->reps;
    double elapsed = 0;
    int rc;

    /* Calibration: the runs also warm caches, page in workspace and wake thread pools. */
    for (;;) {
        if ((rc = run_iters(fn, ctx, t->iters, &elapsed))) {
            tm->done = 1;
            return rc;
        }
        tm->spent += elapsed;
        if (o->on_batch)
            o->on_batch(ctx, t->iters, 0);
        int64_t next = mb_calib_next_iters(t->iters, elapsed, target);
        if (next == 0 || tm->spent > o->budget / 2)
            break;
        t->iters = next;
    }
    return 0;
}

int mb_timer_sample(mb_timer *tm, mb_timing *t)
{
    if (tm->done)
        return 0;
    double elapsed = 0;
    int rc = run_iters(tm->fn, tm->ctx, t->iters, &elapsed);
    if (rc) {
        tm->done = 1;
        return rc;
    }
    tm->spent += elapsed;
    if (push(t, &tm->cap, elapsed * 1e9 / (double)t->iters)) {
        tm->done = 1;
        return -1;
    }
    if (tm->o.on_batch)
        tm->o.on_batch(tm->ctx, t->iters, 1);
    int n = (int)t->n;
    if (n < tm->reps)
        return 0;
    if (n == tm->reps && tm->spent > tm->o.budget)   /* slow: the budget bought only reps samples */
        tm->limit = fmax(tm->o.budget, fmin(3 * tm->spent, tm->o.slow_cap));
    if (n >= tm->max_reps || tm->spent > tm->limit) {
        tm->done = 1;
        return 0;
    }
    /* Check the CI after each batch of half the initial reps, so a noisy case gets more
     * samples instead of a wide interval. */
    int batch = tm->reps / 2 > 0 ? tm->reps / 2 : 1;
    if ((n - tm->reps) % batch == 0) {
        mb_timing_verdict(t, tm->o.ci_target);
        if (!t->unstable)
            tm->done = 1;
    }
    return 0;
}

void mb_timer_finish(mb_timer *tm, mb_timing *t)
{
    mb_timing_verdict(t, tm->o.ci_target);
}

int mb_time_fn(mb_timed_fn fn, void *ctx, const mb_timing_opts *o, mb_timing *t)
{
    mb_timer tm;
    int rc = mb_timer_begin(&tm, fn, ctx, o, t);
    if (rc)
        return rc;
    while (!tm.done && !rc)
        rc = mb_timer_sample(&tm, t);
    mb_timer_finish(&tm, t);
    return rc;
}

void mb_timing_free(mb_timing *t)
{
    free(t->ns);
    t->ns = NULL;
    t->n = 0;
}
