/* What the terminal shows during and after a run: one progress line per finished row
 * ("[i/N] case impl: status median [CI] GFLOP/s — reason  ETA"), counts per status, and the
 * end-of-run summary table. */
#ifndef MOEBENCH_PROGRESS_H
#define MOEBENCH_PROGRESS_H

#include <stdio.h>
#include "csv.h"

/* Row statuses (mb_row_status_names, csv.h) are counted in the order of mb_progress.n_status. */

typedef struct {
    char desc[MB_DESC_LEN];
    int threads;
    char cache[8];
    char impl[24], status[12];
    double median, ci_lo, ci_hi, gflops, prepare_us;
    int unstable;
    int above_roof;
    int64_t breakeven_calls;
} mb_progress_entry;

typedef struct {
    int rows_done, rows_total;
    double t_start;
    int n_status[MB_ROW_N_STATUS];
    int n_timed, n_unstable, n_above_roof;   /* ok rows with samples; flagged unstable; above their own ceiling */
    mb_progress_entry *e;
    size_t n, cap;
} mb_progress;

void mb_progress_init(mb_progress *p, int rows_total);
/* Records the row and prints its progress line on f. */
void mb_progress_row(mb_progress *p, const mb_row *row, FILE *f);
/* Rows whose status is mismatch, crashed, timeout or error. */
int mb_progress_failures(const mb_progress *p);
/* "done in 1m02s: 78 ok 32 skipped", and when any: "3 of 40 timed rows unstable (8%)",
 * "2 ok rows above their own ceiling (above_roof)" */
void mb_progress_done(const mb_progress *p, const char *cmd, FILE *f);
/* Per case (descriptor x threads x cache): each implementation's median with its 95 % CI,
 * GFLOP/s and slowdown against the fastest; rows without timing show their status; a case with
 * an ok merged row and an ok unmerged row (blas, onednn, avx512) gets a break-even line
 * (mb_breakeven). */
void mb_progress_summary(const mb_progress *p, FILE *f);
void mb_progress_free(mb_progress *p);

/* Adds the impl=torch rows of run_id in results_path (written by the PyTorch peer) to the
 * summary entries; returns how many, -1 when the file cannot be read. */
int mb_progress_peer(mb_progress *p, const char *results_path, const char *run_id);

/* Break-even of the merged implementation: prepare_us spent once against the time saved per
 * forward (best_unmerged_us - merged_us). Returns the number of forward calls after which
 * merging has paid off (ceil(prepare / saving), at least 1), or -1 when merged is not faster
 * or an input is unknown (NAN, prepare < 0). */
int64_t mb_breakeven_calls(double prepare_us, double merged_us, double best_unmerged_us);
/* Fastest ok unmerged (blas, onednn, avx512) median among rows of the same case; NAN if none. */
double mb_best_unmerged_us(const mb_progress *p, const char *desc, int threads, const char *cache);
/* For an ok merged row: sets row->breakeven_calls from the rows already recorded in p (the
 * unmerged implementations of the same case run before merged). Other rows: unchanged. */
void mb_progress_fill_breakeven(const mb_progress *p, mb_row *row);
/* Whether impl counts as an unmerged fast implementation for break-even. */
int mb_is_unmerged_impl(const char *impl);

#endif
