/* Statistics of the harness on samples whose answers are known from textbooks or by hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    t.ns = stable;
    t.n = 4;   /* too few samples for a CI: flagged, with advice */
    mb_timing_verdict(&t, 0.05);
    CHECK(t.unstable && strstr(t.reason, "--reps") != NULL);
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

static void test_calibration(void)
{
    /* a call of ~nanoseconds must be batched: more than one call per sample */
    mb_timing_opts o;
    mb_timing_opts_default(&o);
    /* 40 ms per sample: a single call would have to be descheduled that long to stay at 1 */
    o.min_time = 0.2;
    o.reps = 5;
    o.budget = 0.6;
    mb_timing t;
    CHECK(mb_time_fn(cheap, NULL, &o, &t) == 0);
    CHECK(t.iters > 1);
    CHECK(t.n >= 5);
    CHECK(counter >= t.iters * (int64_t)t.n);
    for (size_t i = 0; i < t.n; i++)
        CHECK(t.ns[i] > 0);
    mb_timing_free(&t);
    int calls = 0;
    CHECK(mb_time_fn(fails_on_third, &calls, &o, &t) != 0);   /* errors propagate */
    mb_timing_free(&t);
}

int main(void)
{
    test_median_mad_quantile();
    test_ci_ranks();
    test_summary();
    test_mann_whitney();
    test_verdict();
    test_calibration();
    return mb_test_result("test_harness_stats");
}
