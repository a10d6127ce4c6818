/* Sharded suites (see shard.h). */
#include "shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moebench/cost.h"

/* Nominal machine for the estimate: only the ratios between cases matter for the split. */
#define NOMINAL_GFLOPS 50.0
#define NOMINAL_GBPS 10.0
#define NAIVE_GFLOPS 1.0
#define CASE_OVERHEAD_S 0.05   /* fork, weights, inputs */

int mb_shard_parse(const char *text, int *index, int *count, char *err, size_t errlen)
{
    const char *slash = text ? strchr(text, '/') : NULL;
    int ok = slash != NULL && slash != text && slash[1] != '\0';
    for (const char *p = text; ok && *p; p++)
        ok = (*p >= '0' && *p <= '9') || p == slash;
    long i = ok ? strtol(text, NULL, 10) : -1, n = ok ? strtol(slash + 1, NULL, 10) : -1;
    if (!ok || n < 1 || n > 100000) {
        snprintf(err, errlen, "--shard '%s': expected I/N with 0 <= I < N (e.g. 0/4, or "
                 "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)", text ? text : "");
        return -1;
    }
    if (i >= n) {
        snprintf(err, errlen, "--shard '%s': shard %ld does not exist: shards are numbered 0.."
                 "%ld", text, i, n - 1);
        return -1;
    }
    *index = (int)i;
    *count = (int)n;
    return 0;
}

double mb_shard_case_seconds(const mb_case *c, int n_impls, double min_time, int reps)
{
    mb_cost k = mb_cost_of(&c->spec, NULL);
    double fwd = k.flops / (NOMINAL_GFLOPS * 1e9);
    double mem = k.bytes / (NOMINAL_GBPS * 1e9);
    if (mem > fwd)
        fwd = mem;
    double per_impl = reps * fwd > min_time ? reps * fwd : min_time;
    /* prepare, the checked forward and the warm-up: about three forwards more */
    per_impl += 3 * fwd;
    return CASE_OVERHEAD_S + n_impls * per_impl + k.flops / (NAIVE_GFLOPS * 1e9);
}

typedef struct {
    double cost;
    int index;
} item;

static int by_cost_desc(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost > y->cost ? -1 : 1;
    return x->index - y->index;
}

void mb_shard_assign(const double *cost, const int *pinned, int n, int count, int *owner)
{
    double *load = calloc((size_t)count, sizeof *load);
    item *it = malloc(sizeof *it * (size_t)(n ? n : 1));
    if (!load || !it) {
        /* no memory for the balance: round robin is still a valid, deterministic split */
        for (int i = 0; i < n; i++)
            owner[i] = pinned && pinned[i] >= 0 ? pinned[i] : i % count;
        free(load);
        free(it);
        return;
    }
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (pinned && pinned[i] >= 0) {
            owner[i] = pinned[i];
            load[pinned[i]] += cost[i];
        } else
            it[m++] = (item){cost[i], i};
    }
    qsort(it, (size_t)m, sizeof *it, by_cost_desc);
    for (int j = 0; j < m; j++) {
        int best = 0;
        for (int s = 1; s < count; s++)
            if (load[s] < load[best])
                best = s;
        owner[it[j].index] = best;
        load[best] += it[j].cost;
    }
    free(load);
    free(it);
}
