/* What the terminal shows during and after a run: one progress line per finished row
 * ("[i/N] case impl: status median [CI] GFLOP/s — reason  ETA"), counts per status, and the
 * end-of-run summary table. */
#ifndef MOEBENCH_PROGRESS_H
#define MOEBENCH_PROGRESS_H

#include <stdio.h>
#include "csv.h"

/* Row statuses, in the order of mb_progress.n_status. */
#define MB_N_STATUS 6
extern const char *const mb_status_names[MB_N_STATUS];   /* ok skipped mismatch crashed timeout error */

typedef struct {
    char desc[MB_DESC_LEN];
    char impl[24], status[12];
    double median, ci_lo, ci_hi, gflops;
    int unstable;
} mb_progress_entry;

typedef struct {
    int rows_done, rows_total;
    double t_start;
    int n_status[MB_N_STATUS];
    mb_progress_entry *e;
    size_t n, cap;
} mb_progress;

void mb_progress_init(mb_progress *p, int rows_total);
/* Records the row and prints its progress line on f. */
void mb_progress_row(mb_progress *p, const mb_row *row, FILE *f);
/* Rows whose status is mismatch, crashed, timeout or error. */
int mb_progress_failures(const mb_progress *p);
/* "done in 1m02s: 78 ok 32 skipped" */
void mb_progress_done(const mb_progress *p, const char *cmd, FILE *f);
/* Per case: each implementation's median with its 95 % CI, GFLOP/s and slowdown against the
 * fastest; rows without timing show their status. */
void mb_progress_summary(const mb_progress *p, FILE *f);
void mb_progress_free(mb_progress *p);

#endif
