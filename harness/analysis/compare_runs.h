/* `moebench compare A B`: rows of two results directories matched by case descriptor, threads,
 * cache and implementation; the ratio of medians B/A, a two-sided Mann-Whitney U test on the raw
 * samples (samples.csv, matched on threads and cache too when it has those columns) with Holm's
 * correction over all tested cases and significance at 0.05, a 95 % confidence interval of each
 * ratio (percentile bootstrap of the ratio of medians, MB_BOOT_RESAMPLES resamples seeded from
 * the entry's key: the same input gives the same interval), the geometric mean of the ratios, and
 * the provenance differences that make the comparison doubtful. A run compared with itself (same
 * run_id or same directory) is said to be. */
#ifndef MOEBENCH_COMPARE_RUNS_H
#define MOEBENCH_COMPARE_RUNS_H

#include <regex.h>
#include <stdio.h>
#include "plot_gnuplot.h"
#include "plot_results.h"
#include "table_format.h"

#define MB_CMP_ALPHA 0.05
#define MB_CMP_MAX_WARN 24

typedef struct {
    char case_desc[1024];
    char impl[32];
    char threads[16], cache[16]; /* the row's setting */
    char variant[16];
    char label[160];        /* short: "lora T=16 blas" */
    double med_a, med_b;    /* time_us_median */
    double ratio;           /* med_b / med_a: > 1 means B is slower */
    double ci_lo, ci_hi;    /* 95 % bootstrap interval of the ratio; NAN without enough samples */
    int n_a, n_b;           /* samples found */
    double U, p;            /* p = NAN without samples */
    double p_adj;           /* Holm-adjusted p over all tested entries (NAN without samples) */
    int significant;        /* p_adj < MB_CMP_ALPHA */
} mb_cmp_entry;

typedef struct {
    mb_cmp_entry *e;
    int n;
    int only_a, only_b;     /* ok rows without an ok partner in the other run */
    double geomean;         /* of ratio over all entries (NAN when n == 0) */
    int n_faster, n_slower; /* significant entries with ratio < 1 / > 1 */
    int n_tested;           /* entries with a p value: the size of the Holm family */
    int n_bad_median;       /* matched ok pairs left out: empty or non-positive median */
    char bad_median[MB_CMP_MAX_WARN][300];
    int samples_unkeyed;    /* a samples.csv lacks threads/cache: matched on case and impl only */
    int nwarn;
    char warn[MB_CMP_MAX_WARN][600];
    char run_a[128], run_b[128];
    int same_run;           /* A and B are one run (same run_id or same directory) */
    char same_why[160];     /* which */
    int filtered;           /* a --filter selected the rows */
} mb_cmp_result;

#define MB_CMP_CI_METHOD "percentile bootstrap of the ratio of medians, 2000 resamples per " \
                         "side, seeded"

int mb_compare_runs(const mb_results *a, const mb_results *b, mb_cmp_result *out);
/* The same on the rows of A whose case descriptor matches re (NULL = all). */
int mb_compare_runs_filtered(const mb_results *a, const mb_results *b, const regex_t *re,
                             mb_cmp_result *out);
void mb_cmp_free(mb_cmp_result *r);
/* Geometric mean of the ratios of one implementation (NAN if none). */
double mb_cmp_geomean_impl(const mb_cmp_result *r, const char *impl);
/* Finds the entry of (case, impl), or NULL. */
const mb_cmp_entry *mb_cmp_find(const mb_cmp_result *r, const char *case_desc, const char *impl);
/* The table, the summary and the warnings. */
void mb_cmp_print(const mb_cmp_result *r, FILE *f);
/* The entries as a Markdown, LaTeX or CSV table (the notes as Markdown text / LaTeX comments;
 * CSV: the table alone) or as one JSON document (entries, summary, notes). */
void mb_cmp_write(const mb_cmp_result *r, mb_format fmt, FILE *f);
/* compare.{png,pdf} with its .gp/.dat; 0 rendered, 1 nothing to draw, -1 error. */
int mb_cmp_chart(const mb_cmp_result *r, mb_plot_out *o, char *err, size_t n);

#endif
