/* Robust statistics for timing samples: median, min, p95, MAD, a distribution-free 95 %
 * confidence interval of the median (binomial order statistics), and for `compare` the
 * Mann-Whitney U test, Holm's correction and a bootstrap interval of a ratio of medians. No
 * input is modified; functions sort private copies. */
#ifndef MOEBENCH_STATS_H
#define MOEBENCH_STATS_H

#include <stddef.h>

typedef struct {
    size_t n;
    double median, min, max, mean, p95;
    double mad;          /* median absolute deviation from the median (unscaled) */
    double ci_lo, ci_hi; /* 95 % CI of the median (order statistics); NAN when n < 6, where no
                          * distribution-free 95 % interval exists (written as an empty field) */
    double cv;           /* standard deviation / mean; NAN when n == 1 */
} mb_summary;

/* Quantile q in [0,1] of sorted x (linear interpolation between order statistics, type 7). */
double mb_quantile_sorted(const double *x, size_t n, double q);
double mb_median(const double *x, size_t n);
double mb_mad(const double *x, size_t n);

/* 0-based indices lo, hi of the order statistics x_(lo) .. x_(hi) that bracket the median with
 * coverage >= conf under any continuous distribution: the largest symmetric interval whose
 * Binomial(n, 1/2) tail is <= (1 - conf)/2 on each side. Returns -1 when n is too small for the
 * requested coverage (then lo = 0, hi = n - 1). */
int mb_median_ci_ranks(size_t n, double conf, size_t *lo, size_t *hi);

/* All of the above; n >= 1. */
void mb_summarize(const double *x, size_t n, mb_summary *s);

/* Mann-Whitney U test (two-sided) of x[0..n) against y[0..m): U is the statistic of x (number
 * of pairs with x > y, ties counting 1/2); p from the normal approximation with tie correction
 * and continuity correction, or exact enumeration when n, m <= 10 and there are no ties.
 * Returns 0, or -1 when n or m is 0. */
int mb_mann_whitney(const double *x, size_t n, const double *y, size_t m, double *U, double *p);

/* Holm's step-down adjustment of m p-values (family-wise error rate): with p sorted ascending,
 * adj_(i) = max over j <= i of min(1, (m - j + 1) p_(j)); adj[] is in the order of p[].
 * 0, or -1 when out of memory. */
int mb_holm(const double *p, size_t m, double *adj);

/* Percentile bootstrap 95 % (conf) interval of median(y) / median(x): `resamples` times, each
 * side resampled with replacement on its own (samples of two runs are independent), the ratio of
 * the two medians; the interval is the (1 - conf)/2 and (1 + conf)/2 quantiles of those ratios.
 * Deterministic: the generator is seeded with `seed` (splitmix64), so one input gives one
 * interval on every machine. Needs n, m >= MB_BOOT_MIN_N (a median of fewer resamples takes so
 * few distinct values that the interval means little); returns -1 otherwise or when out of
 * memory, with *lo = *hi = NAN. */
#define MB_BOOT_MIN_N 6
#define MB_BOOT_RESAMPLES 2000
int mb_bootstrap_median_ratio(const double *x, size_t n, const double *y, size_t m,
                              int resamples, double conf, unsigned long long seed, double *lo,
                              double *hi);
/* 64-bit FNV-1a of s, for seeding a bootstrap from what it is computed on. */
unsigned long long mb_hash_seed(const char *s, unsigned long long h);

#endif
