/* Statistics of the harness on samples whose answers are known from textbooks or by hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "stats.h"
#include "timing.h"

static void test_median_mad_quantile(void)
{
    double odd[] = {5, 1, 4, 2, 3};
    CHECK_NEAR(mb_median(odd, 5), 3, 0);
    double even[] = {4, 1, 3, 2};
    CHECK_NEAR(mb_median(even, 4), 2.5, 1e-12);
    /* |x - 3| = 2 2 1 0 1 -> median 1 */
    CHECK_NEAR(mb_mad(odd, 5), 1, 0);
    double with_outlier[] = {1, 2, 3, 4, 100};
    CHECK_NEAR(mb_mad(with_outlier, 5), 1, 0);   /* robust: the outlier does not move it */
    double sorted[] = {10, 20, 30, 40, 50};
    CHECK_NEAR(mb_quantile_sorted(sorted, 5, 0.95), 48, 1e-9);   /* type 7: 40 + 0.8*10 */
    CHECK_NEAR(mb_quantile_sorted(sorted, 5, 0.25), 20, 1e-9);
    CHECK_NEAR(odd[0], 5, 0);   /* inputs are not reordered */
}

static void test_ci_ranks(void)
{
    size_t lo, hi;
    /* Binomial(10, 1/2): P(<=1) = 11/1024 -> x(2)..x(9), coverage 97.9 % */
    CHECK(mb_median_ci_ranks(10, 0.95, &lo, &hi) == 0);
    CHECK(lo == 1 && hi == 8);
    /* n = 20: the classic table gives x(6)..x(15) */
    CHECK(mb_median_ci_ranks(20, 0.95, &lo, &hi) == 0);
    CHECK(lo == 5 && hi == 14);
    /* n = 6: only min..max reaches 95 % (96.9 %) */
    CHECK(mb_median_ci_ranks(6, 0.95, &lo, &hi) == 0);
    CHECK(lo == 0 && hi == 5);
    /* n = 5: even min..max covers only 93.75 % */
    CHECK(mb_median_ci_ranks(5, 0.95, &lo, &hi) == -1);
    /* large n: roughly n/2 -+ 0.98 sqrt(n) */
    CHECK(mb_median_ci_ranks(400, 0.95, &lo, &hi) == 0);
    CHECK(lo >= 178 && lo <= 182 && hi >= 217 && hi <= 221);
}

static void test_summary(void)
{
    double x[20];
    for (int i = 0; i < 20; i++)
        x[i] = 20 - i;   /* 20 .. 1, unsorted */
    mb_summary s;
    mb_summarize(x, 20, &s);
    CHECK_NEAR(s.median, 10.5, 1e-12);
    CHECK_NEAR(s.min, 1, 0);
    CHECK_NEAR(s.max, 20, 0);
    CHECK_NEAR(s.ci_lo, 6, 0);
    CHECK_NEAR(s.ci_hi, 15, 0);
    CHECK_NEAR(s.mad, 5, 1e-12);
    CHECK_NEAR(s.p95, 19.05, 1e-9);
    /* n < 6: no distribution-free 95 % CI of the median exists -> NAN, not min/max */
    double five[] = {3, 1, 2, 5, 4};
    mb_summarize(five, 5, &s);
    CHECK(isnan(s.ci_lo) && isnan(s.ci_hi));
    CHECK_NEAR(s.median, 3, 0);
    CHECK(!isnan(s.cv));
    /* n = 6: min..max is the interval (coverage 96.9 %) */
    double six[] = {6, 3, 1, 2, 5, 4};
    mb_summarize(six, 6, &s);
    CHECK_NEAR(s.ci_lo, 1, 0);
    CHECK_NEAR(s.ci_hi, 6, 0);
    /* one sample: no spread -> cv NAN */
    double one[] = {7};
    mb_summarize(one, 1, &s);
    CHECK(isnan(s.cv) && isnan(s.ci_lo) && isnan(s.ci_hi));
    CHECK_NEAR(s.median, 7, 0);
}

static void test_mann_whitney(void)
{
    double U, p;
    /* complete separation, 3 vs 3: P = 2 / C(6,3) = 0.1 */
    double a[] = {1, 2, 3}, b[] = {4, 5, 6};
    CHECK(mb_mann_whitney(a, 3, b, 3, &U, &p) == 0);
    CHECK_NEAR(U, 0, 0);
    CHECK_NEAR(p, 0.1, 1e-12);
    CHECK(mb_mann_whitney(b, 3, a, 3, &U, &p) == 0);
    CHECK_NEAR(U, 9, 0);
    CHECK_NEAR(p, 0.1, 1e-12);
    /* Hollander & Wolfe (R's ?wilcox.test): W = 35, one-sided exact p = 0.1272 */
    double x[] = {0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46};
    double y[] = {1.15, 0.88, 0.90, 0.74, 1.21};
    CHECK(mb_mann_whitney(x, 10, y, 5, &U, &p) == 0);
    CHECK_NEAR(U, 35, 0);
    CHECK_NEAR(p, 0.2544122544, 1e-8);
    /* 11 vs 11 takes the normal approximation; exact p (enumerated offline) 0.65218 */
    double u1[] = {0.0947, 1.25, -0.9314, 0.9924, -0.2592, -0.2615, 1.8997, 0.1575, -0.0429, 0.7295, 1.1269};
    double u2[] = {0.7692, 1.388, -0.1737, 0.4332, 0.3619, -0.5323, -0.7085, -0.8269, 0.5613, 0.6276, 0.4797};
    CHECK(mb_mann_whitney(u1, 11, u2, 11, &U, &p) == 0);
    CHECK_NEAR(U, 68, 0);
    CHECK_NEAR(p, 0.6522, 0.02);
    /* identical samples (all ties): no evidence of a difference */
    double t1[] = {2, 2, 2, 2}, t2[] = {2, 2, 2, 2, 2};
    CHECK(mb_mann_whitney(t1, 4, t2, 5, &U, &p) == 0);
    CHECK_NEAR(U, 10, 0);
    CHECK_NEAR(p, 1, 1e-12);
    /* clearly different large samples: tiny p */
    double big1[40], big2[40];
    for (int i = 0; i < 40; i++) {
        big1[i] = 100 + i;
        big2[i] = 200 + i;
    }
    CHECK(mb_mann_whitney(big1, 40, big2, 40, &U, &p) == 0);
    CHECK(p < 1e-10);
    CHECK(mb_mann_whitney(a, 0, b, 3, &U, &p) == -1);
}

static void test_holm(void)
{
    /* R: p.adjust(c(.01, .04, .03, .005), "holm") = 0.03 0.06 0.06 0.02 */
    double p[] = {0.01, 0.04, 0.03, 0.005}, adj[4];
    CHECK(mb_holm(p, 4, adj) == 0);
    CHECK_NEAR(adj[0], 0.03, 1e-15);
    CHECK_NEAR(adj[1], 0.06, 1e-15);   /* raised to the step before it (monotone) */
    CHECK_NEAR(adj[2], 0.06, 1e-15);
    CHECK_NEAR(adj[3], 0.02, 1e-15);
    /* capped at 1; ties keep equal adjustments */
    double q[] = {0.5, 0.5, 0.5}, qa[3];
    CHECK(mb_holm(q, 3, qa) == 0);
    CHECK_NEAR(qa[0], 1, 0);
    CHECK_NEAR(qa[2], 1, 0);
    double one[] = {0.02}, oa[1];
    CHECK(mb_holm(one, 1, oa) == 0);
    CHECK_NEAR(oa[0], 0.02, 0);
    CHECK(mb_holm(one, 0, oa) == 0);
}

static void test_verdict(void)
{
    mb_timing t;
    memset(&t, 0, sizeof t);
    double stable[12] = {100, 101, 99, 100, 100, 102, 98, 100, 101, 99, 100, 100};
    t.ns = stable;
    t.n = 12;
    mb_timing_verdict(&t, 0.05);
    CHECK(!t.unstable);
    double noisy[12] = {100, 180, 60, 140, 90, 200, 70, 120, 50, 160, 110, 85};
    t.ns = noisy;
    mb_timing_verdict(&t, 0.05);
    CHECK(t.unstable);
    CHECK(strstr(t.reason, "unstable: CI") != NULL);
    CHECK(strstr(t.reason, "--min-time") != NULL);
    /* one far-off sample: the CV is high, but the median's CI is tight, so the median is
     * known and the row is not unstable; the outlier is noted */
    double outlier[12] = {100, 101, 99, 100, 100, 102, 98, 100, 101, 99, 100, 1000};
    t.ns = outlier;
    mb_timing_verdict(&t, 0.05);
    CHECK(t.s.cv > 0.25);
    CHECK_MSG(!t.unstable, "%s", t.reason);
    CHECK_MSG(strstr(t.reason, "outliers: CV") && !strstr(t.reason, "unstable"), "%s", t.reason);
    t.ns = stable;
    t.n = 4;   /* too few samples for a CI: flagged, with advice */
    mb_timing_verdict(&t, 0.05);
    CHECK(t.unstable && strstr(t.reason, "--reps") != NULL);
    CHECK(strstr(t.reason, "too few samples for a 95% CI") != NULL);
    CHECK(isnan(t.s.ci_lo) && isnan(t.ci_half));
}

static int counter;
static int cheap(void *ctx)
{
    (void)ctx;
    counter++;
    return 0;
}
static int fails_on_third(void *ctx)
{
    int *n = ctx;
    return ++*n == 3;
}

static void test_calibration_rule(void)
{
    /* the rule alone, no clock: Google Benchmark's growth, capped at x10 while far off */
    CHECK(mb_calib_next_iters(1, 1e-9, 0.04) == 10);          /* x1.4*4e7 capped at x10 */
    CHECK(mb_calib_next_iters(10, 0.002, 0.04) == 100);       /* 0.05 of target: still capped */
    CHECK(mb_calib_next_iters(100, 0.01, 0.04) == 560);       /* 0.25: 1.4 * 4 = 5.6 */
    CHECK(mb_calib_next_iters(560, 0.039, 0.04) == 805);      /* ceil(560 * 1.4 * 0.04/0.039) */
    CHECK(mb_calib_next_iters(805, 0.04, 0.04) == 0);         /* reached: done */
    CHECK(mb_calib_next_iters(3, 0.5, 0.04) == 0);            /* one call already too long */
    CHECK(mb_calib_next_iters((int64_t)1 << 40, 1e-9, 1) == 0);   /* hard cap */
    /* never stalls: always at least one more call */
    CHECK(mb_calib_next_iters(1, 0.0399, 0.04) == 2);
    /* a nanosecond call reaches a 40 ms target in a few steps, batched (> 1 call per sample) */
    int64_t it = 1, steps = 0, next;
    while ((next = mb_calib_next_iters(it, (double)it * 1e-9, 0.04)) != 0 && steps < 100) {
        it = next;
        steps++;
    }
    CHECK(it > 1000000 && steps < 12);
}

static void test_calibration(void)
{
    mb_timing_opts o;
    mb_timing_opts_default(&o);
    /* 40 ms per sample: a single call would have to be descheduled that long to stay at 1 */
    o.min_time = 0.2;
    o.reps = 5;
    o.budget = 0.6;
    mb_timing t;
    CHECK(mb_time_fn(cheap, NULL, &o, &t) == 0);
    CHECK(t.iters >= 1);
    CHECK(t.n >= 5);
    CHECK(counter >= t.iters * (int64_t)t.n);
    for (size_t i = 0; i < t.n; i++)
        CHECK(t.ns[i] > 0);
    mb_timing_free(&t);
    int calls = 0;
    CHECK(mb_time_fn(fails_on_third, &calls, &o, &t) != 0);   /* errors propagate */
    mb_timing_free(&t);
}

/* A slow case (its first reps samples outlast the budget) that is still unstable gets more
 * samples, up to slow_cap; with no slow_cap it stops at reps, as it did before. The samples
 * alternate 1 ms / 3 ms, so the median's CI stays wide whatever the machine does. */
static int flip;
static int alternating(void *ctx)
{
    (void)ctx;
    struct timespec ts = {0, (flip++ & 1) ? 3000000 : 1000000};
    nanosleep(&ts, NULL);
    return 0;
}

static void test_slow_extension(void)
{
    mb_timing_opts o;
    mb_timing_opts_default(&o);
    o.min_time = 0.0001;
    o.reps = 6;
    o.max_reps = 10;
    o.budget = 0.001;
    o.slow_cap = 0;
    mb_timing t;
    flip = 0;
    CHECK(mb_time_fn(alternating, NULL, &o, &t) == 0);
    CHECK_MSG(t.n == 6, "no slow_cap: %zu samples", t.n);
    CHECK(t.unstable);
    mb_timing_free(&t);
    o.slow_cap = 10;   /* never reached: 10 samples of at most a few ms */
    flip = 0;
    CHECK(mb_time_fn(alternating, NULL, &o, &t) == 0);
    CHECK_MSG(t.n == 10, "slow_cap: %zu samples, want max_reps 10", t.n);
    mb_timing_free(&t);
}

int main(void)
{
    test_median_mad_quantile();
    test_ci_ranks();
    test_summary();
    test_mann_whitney();
    test_holm();
    test_verdict();
    test_calibration_rule();
    test_calibration();
    test_slow_extension();
    return mb_test_result("test_harness_stats");
}
