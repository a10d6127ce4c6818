/* "Valid" means "can run here": before anything is allocated, a case's memory estimate
 * (moebench/mem_estimate.h) is checked against the memory this machine has available, and its
 * thread count against the CPUs this process may run on. Used by check, run, case and dump. */
#ifndef MOEBENCH_CASE_FITS_H
#define MOEBENCH_CASE_FITS_H

#include <stddef.h>
#include <stdint.h>
#include "case_exec.h"
#include "suite.h"
#include "moebench/spec.h"

/* CPUs this process may run on (sched_getaffinity, with the OpenMP places' CPUs: libgomp binds
 * the initial thread to one place under OMP_PROC_BIND; the online count when that fails). */
int mb_cpus_allowed(void);

/* 0 when 1 <= threads <= mb_cpus_allowed(); else -1 with the reason, naming `what` (e.g.
 * "--threads" or "threads"), in err. */
int mb_threads_check(int threads, const char *what, char *err, size_t errlen);

/* The memory a case may use: $MOEBENCH_MEM_LIMIT when set (bytes, or with a K/M/G/T suffix,
 * powers of 1024), else MemAvailable; -1 when unknown (then nothing is refused). *source
 * (may be NULL) names where the value came from. A malformed $MOEBENCH_MEM_LIMIT gives -2. */
int64_t mb_mem_limit_bytes(const char **source);

/* Checks the estimate of spec s, run with impls[0..n) (NULL/0: the reference only), the naive
 * reference on ref_rows rows (0: none), `threads` threads and cache_cold, against
 * mb_mem_limit_bytes(). 0 when it fits (or the limit is unknown); -1 with "case DESC needs
 * about X GiB (...), more than the Y GiB available (source)" in err. */
int mb_spec_memory_check(const mb_spec *s, const char *const *impls, int n, int64_t ref_rows,
                         int threads, int cache_cold, char *err, size_t errlen);

/* --interleave prepares every implementation of a case before timing any: 1 when the estimate
 * with all of impls[0..n) prepared at once (every implementation's part summed instead of the
 * largest) fits mb_mem_limit_bytes() (or the limit is unknown); 0 with "needs about X GiB with
 * all N implementations prepared at once, Y GiB available" in why. */
int mb_interleave_fits(const mb_spec *s, char impls[][24], int n, int64_t ref_rows, int threads,
                       int cache_cold, char *why, size_t whylen);

/* Rows of the naive reference the runner computes for s (sampled or whole, reference_check.h). */
int64_t mb_reference_rows(const mb_spec *s);

/* Whether suite case c, with implementations impls[0..n) and the effective settings cfg, can
 * run here: the suite's threads within the allowed CPUs, the memory estimate within the limit.
 * 0 when it does; -1 with "file:line: reason" (the case's section) in err. */
int mb_case_fits(const mb_case *c, char impls[][24], int n, const mb_exec_config *cfg, char *err,
                 size_t errlen);

#endif
