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
#include "roofline_file.h"
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
    /* the compute roof of dtype=bf16 rows (NAN: none measured; bf16_why says why): a bf16 row
     * is never placed under the FP32 roof, which its dot products exceed */
    double peak_gflops_bf16;
    const char *bf16_why;
    double dram_gbps;
    /* the cache-aware roofline (roof_level.h): bandwidth of each level for the row's threads
     * (<= 0 / NAN unknown: DRAM falls back to dram_gbps) and the cache sizes (one core's L1,
     * L2, the shared L3; <= 0 unknown) that decide which level holds a row's working set */
    double level_gbps[MB_RL_NLEVELS];
    double cache_bytes[3];
    int roof_implausible;   /* the ceilings failed the plausibility check: rows say so */
    /* a row above its bandwidth ceiling has that level re-measured with this (GB/s, NAN when it
     * cannot; NULL: never), and its ceiling raised when the level now delivers more */
    double (*remeasure_gbps)(int level, int threads, const double cache_bytes[3]);
    int interleave;         /* time the implementations in alternating rounds (ABAB...) */
    const char *run_id;
    mb_counters *counters;
} mb_exec_config;

typedef struct {
    void (*start)(void *ctx, int impl_index);
    void (*row)(void *ctx, int impl_index, const mb_row *row);
    /* samples first_rep .. first_rep + n - 1 of impl_index, in the order they were taken */
    void (*samples)(void *ctx, int impl_index, int first_rep, const double *ns, size_t n);
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

/* The row's own ceiling (cache-aware roofline, roof_level.h): from the working set ws_bytes,
 * the threads and the cache setting, the level that holds it; sets roof_level, roof_gflops,
 * pct_peak (against that ceiling) and above_roof, and adds to the reason when the row reads
 * above its ceiling or the ceilings are implausible. Needs row->gflops; nothing without a peak. */
void mb_exec_roof(const mb_exec_config *cfg, double flops, double bytes, double ws_bytes,
                  mb_row *row);

/* Runs impls[0..n) of case c; emits start(i) before and row(i) after each implementation.
 * naive_explicit: naive was named by the user (then it runs even on large cases).
 * cfg->interleave: every implementation is prepared, checked and calibrated first, then timed
 * in rounds (one sample of each per round; start(i) before each sample, rows in order at the
 * end); when all of them prepared at once would not fit the memory, sequentially, and each
 * row's reason says so. */
void mb_exec_case(const mb_case *c, char impls[][24], int n, int naive_explicit,
                  const mb_exec_config *cfg, const mb_exec_emit *emit);

#endif
