/* The work done for one case inside its child process (design section 3): build spec, weights
 * and inputs; compute the naive reference (whole, or on a sample of rows for large cases);
 * then for each implementation: prepare (timed apart) -> forward once -> compare (routing
 * first) -> warm-up and calibrated repetitions -> counter pass -> one row. Results leave
 * through the emit callbacks, so runner.c can send them over a pipe. */
#ifndef MOEBENCH_CASE_EXEC_H
#define MOEBENCH_CASE_EXEC_H

#include <stddef.h>
#include "counters.h"
#include "csv.h"
#include "reference_check.h"
#include "suite.h"
#include "moebench/moebench.h"

typedef struct {
    /* settings for this run; the command line has already overridden the suite */
    double min_time;
    int reps;
    int cache_cold;
    int threads;
    int dry_run;        /* validate + one forward per implementation, no timing */
    int check_only;     /* correctness only */
    double peak_gflops; /* roofline ceilings, NAN when unknown */
    double dram_gbps;
    const char *run_id;
    mb_counters *counters;
} mb_exec_config;

typedef struct {
    void (*start)(void *ctx, int impl_index);
    void (*row)(void *ctx, int impl_index, const mb_row *row);
    void (*samples)(void *ctx, int impl_index, const double *ns, size_t n);
    void *ctx;
} mb_exec_emit;

/* The command line that reproduces the row of impl in case c ("moebench time '<desc>' --impl
 * <impl> --threads N [--cache cold]": checks, then times, the case), for the reason of a failed
 * row. */
void mb_repro_line(const mb_case *c, const char *impl, const mb_exec_config *cfg, char *out,
                   size_t n);
/* Fills the case / setting fields of a row (everything known before running). */
void mb_row_from_case(mb_row *row, const mb_case *c, const char *impl, const mb_exec_config *cfg);
/* The routing columns of a row from the routing of its checked forward: expert_load_max,
 * aux_loss, dropped, experts_per_token_mean, expert_load_mean, load_imbalance, expert_counts. */
void mb_row_routing_stats(mb_row *row, const mb_routing *r);

/* Runs impls[0..n) of case c; emits start(i) before and row(i) after each implementation.
 * naive_explicit: naive was named by the user (then it runs even on large cases). */
void mb_exec_case(const mb_case *c, char impls[][24], int n, int naive_explicit,
                  const mb_exec_config *cfg, const mb_exec_emit *emit);

#endif
