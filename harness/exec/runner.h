/* Runs cases in forked children (design section 3): the child executes the case (case_exec.c)
 * and sends each row back through a pipe as soon as it is done; the parent hands rows to a
 * sink (which appends them to results.csv). A crash, a time-out or an out-of-memory kill of the
 * child becomes the status of the implementation it was running, and a new child goes on
 * with the implementations after it. */
#ifndef MOEBENCH_RUNNER_H
#define MOEBENCH_RUNNER_H

#include "case_exec.h"
#include "suite.h"

typedef struct {
    void (*row)(void *ctx, const mb_row *row);
    /* threads and cache ("warm"/"cold") of the case's configuration: samples.csv keys */
    void (*sample)(void *ctx, const char *case_desc, const char *impl, int threads,
                   const char *cache, int rep, int64_t time_ns);
    void *ctx;
} mb_sink;

/* The implementations case c runs: `list` (comma-separated, from --impl) when not NULL, else
 * the suite's list, else every built-in implementation (test-only ones excluded). `all` in a
 * list expands to the built-in implementations; duplicates are dropped. Writes at most max
 * names; returns the count, or -1 with an unknown name in bad. *naive_explicit tells whether
 * naive was named (`all, naive` times naive even at sizes where `all` skips it). */
int mb_case_impls(const mb_case *c, const char *list, char out[][24], int max,
                  int *naive_explicit, char *bad, size_t badlen);

/* Runs impls[0..n) of case c; calls sink->row exactly once per implementation, in order.
 * timeout_s: limit for each implementation (the case setup counts into the first one). */
void mb_run_case(const mb_case *c, char impls[][24], int n, int naive_explicit,
                 const mb_exec_config *cfg, double timeout_s, const mb_sink *sink);

/* Whether a SIGKILL from outside the harness is likely the OOM killer: the child's peak RSS
 * is a large fraction (>= 40 %) of mem_total. */
int mb_kill_looks_like_oom(int64_t peak_rss, int64_t mem_total);

/* "SIGSEGV" style name of a signal. */
const char *mb_signal_name(int sig);

#endif
