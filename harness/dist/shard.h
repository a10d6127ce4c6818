/* Sharded suites: which cases shard I of N runs. The split is deterministic (the same suite and
 * options give every shard the same answer without talking to the others) and balanced by the
 * cost model, not by the number of cases: each case's time is estimated from its FLOPs and bytes
 * (kernels/core/cost.c) and the cases are dealt out longest first to the least loaded shard
 * (LPT, Graham 1969: within 4/3 of the best split). */
#ifndef MOEBENCH_SHARD_H
#define MOEBENCH_SHARD_H

#include <stddef.h>
#include "suite.h"

/* "I/N" with 0 <= I < N <= 100000, digits only. 0, or -1 with the reason in err. */
int mb_shard_parse(const char *text, int *index, int *count, char *err, size_t errlen);

/* Estimated seconds case c takes with n_impls implementations, each timed for at least
 * min_time seconds or reps forwards (the runner's calibration), plus its naive reference. */
double mb_shard_case_seconds(const mb_case *c, int n_impls, double min_time, int reps);

/* owner[i] in 0..count-1 for the n costs: longest first (ties: lower index first), each to the
 * least loaded shard (ties: the lower shard). Cases with pinned[i] >= 0 keep that owner and
 * count into its load first (pinned may be NULL). */
void mb_shard_assign(const double *cost, const int *pinned, int n, int count, int *owner);

#endif
