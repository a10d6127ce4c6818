/* A results directory loaded for plotting and comparing: results.csv (validated: required
 * columns present, not truncated), run.json (provenance) and samples.csv (optional). Plotting and
 * comparing read only these files, so any old run can be re-plotted. */
#ifndef MOEBENCH_PLOT_RESULTS_H
#define MOEBENCH_PLOT_RESULTS_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "csv.h"

#define MB_PLOT_ERR_LEN 1024

/* Column indices of results.csv that the charts use (-1 for the optional ones when absent). */
typedef struct {
    int run_id, variant, impl, status, reason, threads, cache, B, S, T, h, o, f, r, E, k, share,
        shard, samples, med, min, p95, mad, ci_lo, ci_hi, flops, bytes, gflops, weights, workspace,
        rss, load_max, aux_loss, case_desc, prepare_bytes, expert_counts,
        /* the training step (issue 14; optional: runs before it lack them) */
        mode, fwd_us, bwd_us, saved_bytes, grad_bytes, optimizer_bytes;
} mb_result_cols;

typedef struct {
    char dir[4096];          /* the results directory */
    mb_csv_table csv;        /* results.csv */
    mb_result_cols c;
    cJSON *run;              /* run.json */
    int has_samples;
    mb_csv_table samples;    /* samples.csv when has_samples */
    /* per row, computed once at load: charts and compare look these up for every pair of rows */
    char **row_case, **row_panel, **row_key;
    /* samples.csv rows sorted by (case, impl, row): a row's samples are found by binary search,
     * not by a scan of every sample per row (compare of 50k rows was quadratic) */
    size_t *sample_order;
} mb_results;

/* Loads PATH (a results directory, or its results.csv). On failure returns -1 with a one-line
 * message naming the file and, for a missing column, the column in err. */
int mb_results_load(const char *path, mb_results *res, char *err, size_t errlen);
void mb_results_free(mb_results *res);

size_t mb_results_nrows(const mb_results *res);
/* Keeps the rows i with keep[i] (a selection to plot), in order; the panels are recomputed (a
 * setting that no longer varies leaves their names). 0, or -1 when out of memory. */
int mb_results_keep_rows(mb_results *res, const unsigned char *keep);
/* Field of row i in column index col ("" when col < 0). */
const char *mb_results_str(const mb_results *res, size_t i, int col);
/* Numeric field, NAN when empty or not a number. */
double mb_results_num(const mb_results *res, size_t i, int col);
int mb_results_ok(const mb_results *res, size_t i);

/* The case descriptor of row i: the `case` column when present, else built from the variant
 * and shape columns ("lora:T=16,h=4096,o=4096,r=16"). */
void mb_results_case(const mb_results *res, size_t i, char *out, size_t n);
/* The panel of row i: its case without the token count (T, B, S), plus threads and cache when
 * they vary in the run, so one panel holds one curve per implementation over T. */
void mb_results_panel(const mb_results *res, size_t i, char *out, size_t n);
/* The match key used by `compare`: case, threads and cache. */
void mb_results_match_key(const mb_results *res, size_t i, char *out, size_t n);
/* The same key without a copy: the string computed at load ("" out of range). */
const char *mb_results_key(const mb_results *res, size_t i);

/* String field of run.json at a dotted path ("cpu.model"), or NULL. Numbers are formatted. */
const char *mb_results_prov(const mb_results *res, const char *path, char *buf, size_t n);
/* "run <id> | <cpu model> | <host> | <compiler>": the footnote of every chart; led by a warning
 * with its remedy when run.json's library_dispatch says OpenBLAS ran below the CPU. */
void mb_results_footnote(const mb_results *res, char *out, size_t n);

/* Raw samples (ns) of (case, impl, threads, cache) from samples.csv; returns the count (0 if
 * none) and a malloc'd array in *out. threads / cache (as written in results.csv; NULL = any)
 * are matched only when samples.csv has those columns: older runs' samples.csv lacks them, and
 * then the samples of every setting of (case, impl) come together. */
size_t mb_results_samples(const mb_results *res, const char *case_desc, const char *impl,
                          const char *threads, const char *cache, double **out);
/* 1 when samples.csv has the threads and cache columns. */
int mb_results_samples_keyed(const mb_results *res);

#endif
