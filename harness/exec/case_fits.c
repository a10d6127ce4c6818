/* Can a case run here (see case_fits.h). */
#define _GNU_SOURCE   /* sched_getaffinity, CPU_COUNT */
#include "case_fits.h"

#include <errno.h>
#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memory.h"
#include "moebench/cpu.h"
#include "moebench/mem_estimate.h"

int mb_cpus_allowed(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        /* with OMP_PROC_BIND set, libgomp binds this (the initial) thread to the first place
         * at load, so its mask shrinks; the places, built from the mask before that, hold
         * every CPU the process's threads may use */
        for (int p = 0; p < omp_get_num_places(); p++) {
            int ids[CPU_SETSIZE], k = omp_get_place_num_procs(p);
            if (k <= 0 || k > CPU_SETSIZE)
                continue;
            omp_get_place_proc_ids(p, ids);
            for (int j = 0; j < k; j++)
                if (ids[j] >= 0 && ids[j] < CPU_SETSIZE)
                    CPU_SET(ids[j], &set);
        }
        int n = CPU_COUNT(&set);
        if (n > 0)
            return n;
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}

int mb_threads_check(int threads, const char *what, char *err, size_t errlen)
{
    int cpus = mb_cpus_allowed();
    if (threads < 1) {
        snprintf(err, errlen, "%s=%d: needs at least 1 thread", what, threads);
        return -1;
    }
    if (threads > cpus) {
        /* more threads than CPUs time the scheduler, not the kernel (and 100000 threads
         * never finish their setup) */
        snprintf(err, errlen, "%s=%d: more threads than the %d CPU%s this process may run on "
                 "(sched_getaffinity)", what, threads, cpus, cpus == 1 ? "" : "s");
        return -1;
    }
    return 0;
}

int64_t mb_mem_limit_bytes(const char **source)
{
    const char *env = getenv("MOEBENCH_MEM_LIMIT");
    if (env && *env) {
        if (source)
            *source = "MOEBENCH_MEM_LIMIT";
        char *end;
        errno = 0;
        double v = strtod(env, &end);
        if (errno || end == env || v <= 0)
            return -2;
        double mult = 1;
        switch (*end) {
        case 'K': case 'k': mult = 1024.0; end++; break;
        case 'M': case 'm': mult = 1024.0 * 1024; end++; break;
        case 'G': case 'g': mult = 1024.0 * 1024 * 1024; end++; break;
        case 'T': case 't': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
        default: break;
        }
        /* "8G", "8GiB" and "8GB" all mean 8 * 1024^3 here */
        if (mult > 1 && !strcmp(end, "iB"))
            end += 2;
        else if (!strcmp(end, "B"))
            end++;
        if (*end || v * mult > 9e18)
            return -2;
        return (int64_t)(v * mult);
    }
    if (source)
        *source = "MemAvailable";
    return mb_mem_available_bytes();
}

static double gib(int64_t b) { return (double)b / (double)(1ll << 30); }

int mb_spec_memory_check(const mb_spec *s, const char *const *impls, int n, int64_t ref_rows,
                         int threads, int cache_cold, char *err, size_t errlen)
{
    const char *source = "";
    int64_t limit = mb_mem_limit_bytes(&source);
    if (limit == -2) {
        snprintf(err, errlen, "MOEBENCH_MEM_LIMIT='%s': expected bytes, or a number with K, M, G "
                 "or T", getenv("MOEBENCH_MEM_LIMIT"));
        return -1;
    }
    /* avx512 where this CPU cannot run it: a skipped row, nothing allocated */
    const char *run[64];
    int n_run = 0;
    for (int i = 0; i < n && n_run < 64; i++)
        if (strcmp(impls[i], "avx512") || mb_cpu_has_avx512(NULL))
            run[n_run++] = impls[i];
    mb_mem_opts o = {ref_rows, run, n_run, threads, cache_cold,
                     cache_cold ? mb_llc_bytes() : -1, limit};
    mb_mem_estimate e;
    mb_err me;
    mb_err_clear(&me);
    char desc[MB_DESC_LEN];
    mb_spec_format(s, desc, sizeof desc);
    if (mb_mem_estimate_case(s, &o, &e, &me) != MB_OK) {
        snprintf(err, errlen, "case %s: %s", desc, me.msg);
        return -1;
    }
    if (limit <= 0 || e.total <= limit)
        return 0;
    char impl[96] = "";
    if (e.worst_impl[0])
        snprintf(impl, sizeof impl, ", implementation %s %.3g%s", e.worst_impl, gib(e.impl),
                 e.cold ? " with its --cache cold copies" : "");
    /* a train case says what its step keeps: saved activations, gradients, optimiser */
    char train[160] = "";
    if (s->mode == MB_MODE_TRAIN)
        snprintf(train, sizeof train, ", saved activations %.3g (%lld bytes), gradients %.3g%s",
                 gib(e.saved), (long long)e.saved, gib(e.grads),
                 e.optimizer ? ", optimiser moments" : "");
    if (s->mode == MB_MODE_TRAIN && e.optimizer)
        snprintf(train + strlen(train), sizeof train - strlen(train), " %.3g", gib(e.optimizer));
    snprintf(err, errlen, "case %s needs an estimated %.3g GiB (weights %.3g, inputs %.3g, "
             "reference %.3g%s%s), more than the %.3g GiB available (%s)", desc, gib(e.total),
             gib(e.weights), gib(e.inputs), gib(e.reference), impl, train, gib(limit), source);
    return -1;
}

int mb_interleave_fits(const mb_spec *s, char impls[][24], int n, int64_t ref_rows, int threads,
                       int cache_cold, char *why, size_t whylen)
{
    int64_t limit = mb_mem_limit_bytes(NULL);
    if (limit <= 0)
        return 1;
    int64_t sum = 0, rest = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(impls[i], "avx512") && !mb_cpu_has_avx512(NULL))
            continue;
        const char *one[1] = {impls[i]};
        mb_mem_opts o = {ref_rows, one, 1, threads, cache_cold,
                         cache_cold ? mb_llc_bytes() : -1, limit};
        mb_mem_estimate e;
        mb_err me;
        mb_err_clear(&me);
        if (mb_mem_estimate_case(s, &o, &e, &me) != MB_OK) {
            snprintf(why, whylen, "no memory estimate: %s", me.msg);
            return 0;
        }
        sum += e.impl;
        rest = e.total - e.impl;   /* the same for every implementation */
    }
    if (rest + sum <= limit)
        return 1;
    snprintf(why, whylen, "needs about %.3g GiB with all %d implementations prepared at once, "
             "%.3g GiB available", gib(rest + sum), n, gib(limit));
    return 0;
}

int64_t mb_reference_rows(const mb_spec *s)
{
    int64_t T = mb_spec_T(s);
    return mb_reference_sampled_by_default(s) && T > MB_REF_SAMPLE_ROWS ? MB_REF_SAMPLE_ROWS : T;
}

int mb_case_fits(const mb_case *c, char impls[][24], int n, const mb_exec_config *cfg, char *err,
                 size_t errlen)
{
    char why[900];
    if (c->threads > 0 && mb_threads_check(c->threads, "threads", why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", c->origin, why);
        return -1;
    }
    const char *names[MB_MAX_CASE_IMPLS];
    if (n > MB_MAX_CASE_IMPLS)
        n = MB_MAX_CASE_IMPLS;
    for (int i = 0; i < n; i++)
        names[i] = impls[i];
    if (mb_spec_memory_check(&c->spec, names, n, mb_reference_rows(&c->spec), cfg->threads,
                             cfg->cache_cold, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", c->origin, why);
        return -1;
    }
    return 0;
}
