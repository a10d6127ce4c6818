/* Robust statistics for timing samples (see stats.h). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double *sorted_copy(const double *x, size_t n)
{
    double *c = malloc((n ? n : 1) * sizeof *c);
    if (!c)
        return NULL;
    memcpy(c, x, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_double);
    return c;
}

double mb_quantile_sorted(const double *x, size_t n, double q)
{
    if (n == 0)
        return NAN;
    if (q <= 0)
        return x[0];
    if (q >= 1)
        return x[n - 1];
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    double frac = pos - (double)i;
    if (i + 1 >= n)
        return x[n - 1];
    return x[i] + frac * (x[i + 1] - x[i]);
}

double mb_median(const double *x, size_t n)
{
    double *c = sorted_copy(x, n);
    if (!c)
        return NAN;
    double m = mb_quantile_sorted(c, n, 0.5);
    free(c);
    return m;
}

double mb_mad(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    double med = mb_median(x, n);
    double *d = malloc(n * sizeof *d);
    if (!d)
        return NAN;
    for (size_t i = 0; i < n; i++)
        d[i] = fabs(x[i] - med);
    double m = mb_median(d, n);
    free(d);
    return m;
}

/* P(Binomial(n, 1/2) <= j), summed in log space so large n does not overflow. */
static double binom_half_cdf(size_t n, size_t j)
{
    double sum = 0, ln2n = (double)n * log(2.0);
    for (size_t i = 0; i <= j && i <= n; i++)
        sum += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) - ln2n);
    return sum;
}

int mb_median_ci_ranks(size_t n, double conf, size_t *lo, size_t *hi)
{
    double tail = (1.0 - conf) / 2.0;
    /* j = number of order statistics cut from each end plus one (1-based rank of the lower
     * bound); x_(j) .. x_(n-j+1) covers the median with probability 1 - 2 P(Bin <= j-1). */
    size_t best = 0;
    for (size_t j = 1; 2 * j <= n + 1; j++) {
        if (binom_half_cdf(n, j - 1) <= tail)
            best = j;
        else
            break;
    }
    if (best == 0) {
        *lo = 0;
        *hi = n ? n - 1 : 0;
        return -1;
    }
    *lo = best - 1;
    *hi = n - best;
    return 0;
}

void mb_summarize(const double *x, size_t n, mb_summary *s)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    if (n == 0) {
        s->median = s->min = s->max = s->mean = s->p95 = s->mad = s->ci_lo = s->ci_hi = s->cv = NAN;
        return;
    }
    double *c = sorted_copy(x, n);
    if (!c)
        return;
    s->min = c[0];
    s->max = c[n - 1];
    s->median = mb_quantile_sorted(c, n, 0.5);
    s->p95 = mb_quantile_sorted(c, n, 0.95);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += c[i];
    s->mean = sum / (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (c[i] - s->mean) * (c[i] - s->mean);
    /* one sample has no spread to estimate: NAN, not 0 */
    s->cv = n < 2 ? NAN : s->mean != 0 ? sqrt(ss / (double)(n - 1)) / s->mean : 0;
    s->mad = mb_mad(c, n);
    size_t lo, hi;
    if (mb_median_ci_ranks(n, 0.95, &lo, &hi) == 0) {
        s->ci_lo = c[lo];
        s->ci_hi = c[hi];
    } else {
        /* n < 6: no distribution-free 95 % CI exists (even min..max covers less) */
        s->ci_lo = s->ci_hi = NAN;
    }
    free(c);
}

/* Number of arrangements of n x's and m y's with statistic U = u, for all u in 0..n*m:
 * f(n, m, u) = f(n-1, m, u-m) + f(n, m-1, u) (the largest element is an x or a y). */
static double *exact_u_counts(size_t n, size_t m)
{
    size_t U = n * m;
    /* table[a][b][u] for a <= n, b <= m: small because this is used only for n, m <= 10 */
    size_t stride_u = U + 1, stride_b = (m + 1) * stride_u;
    double *t = calloc((n + 1) * stride_b, sizeof *t);
    if (!t)
        return NULL;
    for (size_t a = 0; a <= n; a++)
        for (size_t b = 0; b <= m; b++)
            for (size_t u = 0; u <= a * b; u++) {
                double v;
                if (a == 0 || b == 0)
                    v = (u == 0);
                else
                    v = (u >= b ? t[(a - 1) * stride_b + b * stride_u + (u - b)] : 0) +
                        t[a * stride_b + (b - 1) * stride_u + u];
                t[a * stride_b + b * stride_u + u] = v;
            }
    double *out = malloc(stride_u * sizeof *out);
    if (out)
        memcpy(out, t + n * stride_b + m * stride_u, stride_u * sizeof *out);
    free(t);
    return out;
}

int mb_mann_whitney(const double *x, size_t n, const double *y, size_t m, double *U, double *p)
{
    if (n == 0 || m == 0)
        return -1;
    double u = 0;
    int ties = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            if (x[i] > y[j])
                u += 1;
            else if (x[i] == y[j]) {
                u += 0.5;
                ties = 1;
            }
        }
    *U = u;
    double nm = (double)n * (double)m;

    if (n <= 10 && m <= 10 && !ties) {
        double *cnt = exact_u_counts(n, m);
        if (cnt) {
            double total = 0, le = 0, ge = 0;
            size_t ui = (size_t)u;
            for (size_t k = 0; k <= n * m; k++) {
                total += cnt[k];
                if (k <= ui)
                    le += cnt[k];
                if (k >= ui)
                    ge += cnt[k];
            }
            free(cnt);
            double pv = 2.0 * fmin(le, ge) / total;
            *p = pv > 1 ? 1 : pv;
            return 0;
        }
    }

    /* Normal approximation with tie correction: sigma^2 = nm/12 * ((N+1) - sum(t^3-t)/(N(N-1))). */
    size_t N = n + m;
    double *all = malloc(N * sizeof *all);
    if (!all)
        return -1;
    memcpy(all, x, n * sizeof *all);
    memcpy(all + n, y, m * sizeof *all);
    qsort(all, N, sizeof *all, cmp_double);
    double tie_sum = 0;
    for (size_t i = 0; i < N;) {
        size_t j = i;
        while (j < N && all[j] == all[i])
            j++;
        double t = (double)(j - i);
        tie_sum += t * t * t - t;
        i = j;
    }
    free(all);
    double Nd = (double)N;
    double var = nm / 12.0 * ((Nd + 1) - tie_sum / (Nd * (Nd - 1)));
    if (var <= 0) {
        *p = 1;
        return 0;
    }
    double z = (fabs(u - nm / 2) - 0.5) / sqrt(var);
    if (z < 0)
        z = 0;
    *p = erfc(z / sqrt(2.0));
    if (*p > 1)
        *p = 1;
    return 0;
}

int mb_holm(const double *p, size_t m, double *adj)
{
    if (m == 0)
        return 0;
    size_t *ord = malloc(m * sizeof *ord);
    if (!ord)
        return -1;
    for (size_t i = 0; i < m; i++)
        ord[i] = i;
    /* ascending p, stable (insertion sort: m is the number of cases, small) */
    for (size_t i = 1; i < m; i++) {
        size_t v = ord[i], j = i;
        while (j > 0 && p[ord[j - 1]] > p[v]) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = v;
    }
    double run = 0;
    for (size_t r = 0; r < m; r++) {
        double a = (double)(m - r) * p[ord[r]];
        if (a > 1)
            a = 1;
        if (a > run)
            run = a;   /* monotone: never below an earlier (smaller) p's adjustment */
        adj[ord[r]] = run;
    }
    free(ord);
    return 0;
}

/* ---- bootstrap of a ratio of medians ---------------------------------------------------- */

static unsigned long long splitmix64(unsigned long long *s)
{
    unsigned long long z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

unsigned long long mb_hash_seed(const char *s, unsigned long long h)
{
    if (!h)
        h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The median (as mb_median: mean of the two middle values for even n) of a resample of sorted
 * x: n indices drawn uniformly, counted in cnt[], and the middle order statistics found by a
 * running sum, O(n) per resample without sorting the resample. */
static double resample_median(const double *sx, size_t n, size_t *cnt, unsigned long long *st)
{
    memset(cnt, 0, n * sizeof *cnt);
    for (size_t i = 0; i < n; i++)
        cnt[splitmix64(st) % n]++;   /* modulo bias < n / 2^64: negligible */
    size_t k_lo = (n - 1) / 2, k_hi = n / 2, seen = 0;
    double v_lo = NAN;
    for (size_t j = 0; j < n; j++) {
        if (!cnt[j])
            continue;
        size_t before = seen;
        seen += cnt[j];
        if (before <= k_lo && k_lo < seen)
            v_lo = sx[j];
        if (before <= k_hi && k_hi < seen)
            return (v_lo + sx[j]) / 2;
    }
    return NAN;
}

int mb_bootstrap_median_ratio(const double *x, size_t n, const double *y, size_t m,
                              int resamples, double conf, unsigned long long seed, double *lo,
                              double *hi)
{
    *lo = *hi = NAN;
    if (n < MB_BOOT_MIN_N || m < MB_BOOT_MIN_N || resamples < 2)
        return -1;
    double *sx = sorted_copy(x, n), *sy = sorted_copy(y, m);
    size_t *cnt = malloc((n > m ? n : m) * sizeof *cnt);
    double *r = malloc((size_t)resamples * sizeof *r);
    int rc = -1;
    if (sx && sy && cnt && r) {
        unsigned long long st = seed;
        for (int b = 0; b < resamples; b++) {
            double mx = resample_median(sx, n, cnt, &st);
            double my = resample_median(sy, m, cnt, &st);
            r[b] = my / mx;
        }
        qsort(r, (size_t)resamples, sizeof *r, cmp_double);
        *lo = mb_quantile_sorted(r, (size_t)resamples, (1 - conf) / 2);
        *hi = mb_quantile_sorted(r, (size_t)resamples, (1 + conf) / 2);
        rc = 0;
    }
    free(sx);
    free(sy);
    free(cnt);
    free(r);
    return rc;
}
