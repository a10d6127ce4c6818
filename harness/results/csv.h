/* results.csv and samples.csv: the row of one case x implementation, its writer (RFC 4180
 * quoting, the exact column order of the design, section 5) and a small reader used by
 * --resume, tests and other commands. */
#ifndef MOEBENCH_CSV_H
#define MOEBENCH_CSV_H

#include <stdint.h>
#include <stdio.h>
#include <stddef.h>

#define MB_MAX_COUNTERS 24
#define MB_REASON_LEN 600
#define MB_DESC_LEN 400

/* One results.csv row. Doubles that are NAN and integers that are < 0 are written as empty
 * fields (unknown / not applicable), never as 0. */
typedef struct {
    char run_id[48];
    char variant[16], impl[24], status[12];
    char reason[MB_REASON_LEN];
    char dtype[8];
    char mode[8];   /* forward | train (architecture §10); "" never written as 0 */
    int threads;
    char cache[8];
    int64_t B, S, T, h, o, f, r, E, k;
    char share[12];
    int64_t shard;
    int64_t samples;
    double time_us_median, time_us_min, time_us_p95, time_us_mad, time_us_ci_lo, time_us_ci_hi;
    double prepare_us, flops, bytes, gflops, gbps, pct_peak;
    int64_t weights_bytes, workspace_bytes, peak_rss_bytes;
    double max_abs_err, max_rel_err, expert_load_max, aux_loss;
    double ctr[MB_MAX_COUNTERS];      /* per forward; NAN = counter unavailable */
    /* extra columns after the required ones */
    char case_desc[MB_DESC_LEN];
    double alpha;
    char act[8];
    int64_t seed;
    int64_t iters_per_sample;
    int64_t prepare_bytes;
    /* expert parallelism (ep=N cases, harness/dist/ep_exec.c): the ranks, the median over the
     * repetitions of each phase's time on the slowest rank, and the payload bytes the busiest
     * rank sent in dispatch + combine. Empty for other rows. */
    int64_t ep;
    double route_us, dispatch_us, expert_us, combine_us;
    int64_t comm_bytes;
    /* set by the case executor when the timing is flagged (stats: CI too wide); the reason
     * then says why. Column `unstable` (0/1, empty for a row without samples). */
    int unstable;
    /* relative half-width of the 95 % CI of the median: max(median - lo, hi - median) / median
     * (NAN below 6 samples) */
    double ci_rel;
    /* the row's own ceiling (cache-aware roofline): the level holding its working set
     * ("" when no ceilings), min(peak, intensity x that level's bandwidth) in GFLOP/s, and
     * whether pct_peak exceeds it by more than the tolerance (-1: not known) */
    char roof_level[8];
    double roof_gflops;
    int above_roof;
    /* merged only: forward calls after which preparing the merged weights pays off against
     * the fastest unmerged implementation of the same case (-1 = not computable / never) */
    int64_t breakeven_calls;
    /* the libraries' dispatch (extra columns): blas and merged rows (OpenBLAS's provider) get
     * openblas_get_corename() (torch rows: the peer's own OpenBLAS), onednn rows oneDNN's
     * effective ISA; "" for the others. Only the name: whether it is below the CPU is said in
     * run.json's library_dispatch */
    char blas_core[24];
    char onednn_isa[24];
    /* routing options of the case (routed variants; empty elsewhere) and what the routing of
     * the checked forward did: assignments dropped by the capacity, mean chosen-set size
     * (before dropping), mean load in expert_load_max's unit, max / mean, and the per-expert
     * counts after dropping ("c0;c1;..."; empty when they do not fit the field) */
    double cap, topp;   /* topp NAN: plain top-k */
    int64_t shared;
    char route[24];
    int64_t dropped;
    double experts_per_token_mean, expert_load_mean, load_imbalance;
    char expert_counts[512];
    /* mode=train (spec "Training step"; extra columns, empty in forward mode): medians of the
     * forward_train and backward phases, each clocked within the same timed steps; what the
     * forward keeps for the backward (its tensors' bytes), the gradients (dX and the
     * trainable tensors), the AdamW moments (0 with opt=none) */
    double fwd_us, bwd_us;
    int64_t saved_bytes, grad_bytes, optimizer_bytes;
    /* spec "Precision" (extra columns): the base weights' quantisation (int8, int4; "" when
     * they keep the dtype), and the tokens whose routing differed from the reference inside
     * the dtype's tolerance of a tie (counted, their rows not value-checked; -1: not checked) */
    char wq[8];
    int64_t near_ties;
} mb_row;

/* The required results.csv columns, in order (design section 5). */
extern const char *const mb_csv_required_columns[];
extern const int mb_csv_required_count;

/* Row statuses (the `status` column), in column-value order. Not the library's mb_status
 * (moebench/error.h), which says why a call failed: an MB_EUNSUPPORTED prepare makes a
 * skipped row, any other failure an error row. */
typedef enum {
    MB_ROW_OK = 0,
    MB_ROW_SKIPPED,
    MB_ROW_MISMATCH,
    MB_ROW_CRASHED,
    MB_ROW_TIMEOUT,
    MB_ROW_ERROR,
    MB_ROW_N_STATUS
} mb_row_status;
extern const char *const mb_row_status_names[MB_ROW_N_STATUS];
/* Name of status index i (0..MB_ROW_N_STATUS-1), "?" otherwise. */
const char *mb_row_status_label(int i);
/* Index of a status name, -1 when unknown. */
int mb_row_status_index(const char *name);

/* A row with every numeric field unknown (NAN / -1) and empty strings. */
void mb_row_init(mb_row *r);
/* Sets the row's status and its reason (printf-style; cut to the column width, never
 * rejected). */
void mb_row_set_status(mb_row *r, mb_row_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the header line: required columns, then ctr_<name> for each counter column name
 * (already sanitised, see mb_csv_sanitize), then the extra columns (case alpha act seed
 * iters_per_sample prepare_bytes breakeven_calls mode blas_core onednn_isa ep route_us
 * dispatch_us expert_us combine_us comm_bytes cap shared topp route dropped
 * experts_per_token_mean expert_load_mean load_imbalance expert_counts roof_level roof_gflops
 * above_roof unstable ci_rel fwd_us bwd_us saved_bytes grad_bytes optimizer_bytes wq
 * near_ties). */
void mb_csv_write_header(FILE *f, int n_ctr, char ctr_names[][64]);
void mb_csv_write_row(FILE *f, const mb_row *r, int n_ctr);
/* Whether variant (a name) uses spec field key ("o", "f", "E", "share", ...). The row writer
 * leaves unused spec columns empty; unknown variants keep every column. */
int mb_csv_variant_uses(const char *variant, const char *key);
/* Writes one field with quoting when it holds a comma, quote, CR or LF. */
void mb_csv_write_field(FILE *f, const char *s);
/* Lower-cases and maps every character outside [a-z0-9_] to '_' (perf::TASK-CLOCK ->
 * perf__task_clock). */
void mb_csv_sanitize(const char *in, char *out, size_t n);

/* samples.csv: run_id,case,impl,threads,cache,rep,time_ns (a sample belongs to case x impl x
 * threads x cache, the key of a results.csv row). */
void mb_samples_write_header(FILE *f);
void mb_samples_write(FILE *f, const char *run_id, const char *case_desc, const char *impl,
                      int threads, const char *cache, int rep, int64_t time_ns);

/* Whole CSV file in memory: ncols header names and nrows rows of exactly ncols cells (a row
 * with another number of fields is an error naming its line). Cells live in one buffer (the
 * file, unquoted in place): read them with mb_csv_cell. */
typedef struct {
    size_t ncols, nrows;
    char **header;
    char *buf;
    uint32_t *row_off;   /* per row: offset of its first byte in buf */
    uint16_t *cell_off;  /* per row, ncols offsets from the row's first byte */
} mb_csv_table;

/* Bounds of the reader: a line (a record) and the file, in bytes. */
#define MB_CSV_MAX_LINE 65535
#define MB_CSV_MAX_FILE (1ull << 31)

/* 0 on success; -1 with a one-line message in err: "PATH:LINE: what is wrong" (an unterminated
 * quote, a NUL byte, a row with the wrong number of fields, a line over MB_CSV_MAX_LINE) or
 * "PATH: why it cannot be read" (missing, a directory, too large). */
int mb_csv_load(const char *path, mb_csv_table *t, char *err, size_t errlen);
/* The same without the message (errno is set). */
int mb_csv_read(const char *path, mb_csv_table *t);
void mb_csv_free(mb_csv_table *t);
/* Cell (row, col); the caller keeps row < nrows and col < ncols. */
static inline const char *mb_csv_cell(const mb_csv_table *t, size_t row, size_t col)
{
    return t->buf + t->row_off[row] + t->cell_off[row * t->ncols + col];
}
/* Column index of name, or -1. */
int mb_csv_col(const mb_csv_table *t, const char *name);
/* Field (never NULL: "" when out of range). */
const char *mb_csv_get(const mb_csv_table *t, size_t row, const char *col);

#endif
