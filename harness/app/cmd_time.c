/* `moebench time DESCRIPTOR [--impl LIST] [--threads N] [--cache warm|cold] [--min-time S]
 * [--reps N] [--timeout S]`: one case timed from the command line with the runner's machinery
 * (a one-case plan: child process, reference check before timing, calibrated repetitions), the
 * run's default settings unless given. Prints each implementation's median with its 95 % CI; no
 * files. Every failed row's repro line is this command. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "case_exec.h"
#include "case_fits.h"
#include "cli_options.h"
#include "commands.h"
#include "load_env.h"
#include "runner.h"
#include "moebench/moebench.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: moebench time DESCRIPTOR [--impl LIST] [--threads N] [--cache warm|cold]\n"
               "                     [--min-time SEC] [--reps N] [--timeout SEC]\n"
               "  DESCRIPTOR  variant:key=value,...  e.g. 'lora:T=16,h=4096' (dtype=, mode= too)\n"
               "  --impl      implementations (comma-separated, or all; default: all)\n"
               "  --threads   threads (default: the online CPUs, as `run`)\n"
               "  --cache     warm (default) or cold\n"
               "  --min-time, --reps, --timeout   as `run` (defaults %.1f s, %d, %.0f s)\n"
               "%s"
               "Each implementation is checked against the naive reference first, then timed.\n"
               "Exit status: 0 every row ok or skipped, 1 a mismatch, crash, time-out or error,\n"
               "2 bad arguments or a case that does not fit this machine.\n",
            MB_DEFAULT_MIN_TIME, MB_DEFAULT_REPS, MB_DEFAULT_TIMEOUT, mb_load_env_usage);
}

typedef struct {
    mb_row rows[MB_MAX_CASE_IMPLS];
    int n;
} time_sink;

static void on_row(void *ctx, const mb_row *row)
{
    time_sink *s = ctx;
    if (s->n < MB_MAX_CASE_IMPLS)
        s->rows[s->n++] = *row;
}

static void on_sample(void *ctx, const char *case_desc, const char *impl, int threads,
                      const char *cache, int rep, int64_t time_ns)
{
    (void)ctx, (void)case_desc, (void)impl, (void)threads, (void)cache, (void)rep, (void)time_ns;
}

/* a positive number from an option, or -1 */
static double positive(const char *v)
{
    char *end;
    double x = strtod(v, &end);
    return *v && !*end && x > 0 && isfinite(x) ? x : -1;
}

int mb_cmd_time(int argc, char **argv)
{
    const char *desc = NULL, *impls = "all";
    double min_time = MB_DEFAULT_MIN_TIME, timeout = MB_DEFAULT_TIMEOUT;
    int reps = MB_DEFAULT_REPS, threads = 0, cold = 0;
    mb_load_request load = {0};
    char lerr[1024];
    for (int i = 1; i < argc; i++) {
        int took = mb_load_env_parse_arg(argc, argv, &i, &load, lerr, sizeof lerr);
        if (took < 0) {
            fprintf(stderr, "moebench time: %s\n", lerr);
            return 2;
        }
        if (took)
            continue;
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--impl") && v) {
            impls = v;
        } else if (!strcmp(a, "--threads") && v) {
            double t = positive(v);
            threads = t >= 1 && t == floor(t) && t < 1 << 20 ? (int)t : -1;
        } else if (!strcmp(a, "--cache") && v) {
            cold = !strcmp(v, "cold") ? 1 : !strcmp(v, "warm") ? 0 : -1;
        } else if (!strcmp(a, "--min-time") && v) {
            min_time = positive(v);
        } else if (!strcmp(a, "--reps") && v) {
            double r = positive(v);
            reps = r >= 1 && r == floor(r) && r < 1e7 ? (int)r : -1;
        } else if (!strcmp(a, "--timeout") && v) {
            timeout = positive(v);
        } else if (a[0] != '-' && !desc) {
            desc = a;
            continue;
        } else {
            fprintf(stderr, "moebench time: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
        i++;   /* the option's value */
        if (threads < 0 || cold < 0 || min_time < 0 || reps < 0 || timeout < 0) {
            fprintf(stderr, "moebench time: %s '%s': expected %s\n", a, v,
                    !strcmp(a, "--cache") ? "warm or cold" : "a positive number");
            return 2;
        }
    }
    if (!desc) {
        usage(stderr);
        return 2;
    }
    int lrc = mb_cli_load_env_start(&load, "time");
    if (lrc)
        return lrc;
    static mb_case c;   /* large; one per process */
    memset(&c, 0, sizeof c);
    mb_err err;
    mb_err_clear(&err);
    if (mb_spec_parse(desc, &c.spec, &err) || mb_spec_validate(&c.spec, 0, &err)) {
        fprintf(stderr, "moebench: invalid case '%s': %s\n", desc, err.msg);
        return 2;
    }
    mb_spec_format(&c.spec, c.desc, sizeof c.desc);
    c.impl_all = 1;
    snprintf(c.origin, sizeof c.origin, "the command line");
    char why[1024];
    if (threads > 0 && mb_threads_check(threads, "--threads", why, sizeof why)) {
        fprintf(stderr, "moebench time: %s\n", why);
        return 2;
    }
    char names[MB_MAX_CASE_IMPLS][24], bad[64];
    int naive_explicit = 0;
    int n = mb_case_impls(&c, impls, names, MB_MAX_CASE_IMPLS, &naive_explicit, bad, sizeof bad);
    if (n < 0) {
        fprintf(stderr, "moebench time: unknown implementation '%s' (see moebench list)\n", bad);
        return 2;
    }
    mb_exec_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.min_time = min_time;
    cfg.reps = reps;
    cfg.cache_cold = cold;
    cfg.threads = threads > 0 ? threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    cfg.peak_gflops = cfg.dram_gbps = NAN;   /* no ceilings: `run` places rows on the roofline */
    cfg.run_id = "time";
    if (mb_case_fits(&c, names, n, &cfg, why, sizeof why)) {
        fprintf(stderr, "moebench time: %s\n", why);
        return 2;
    }
    printf("case: %s  threads %d, %s cache, min-time %g s, %d reps\n", c.desc, cfg.threads,
           cold ? "cold" : "warm", min_time, reps);
    fflush(stdout);
    static time_sink ts;
    ts.n = 0;
    mb_sink sink = {on_row, on_sample, &ts};
    mb_run_case(&c, names, n, naive_explicit, &cfg, timeout, &sink);
    int rc = 0;
    printf("%-8s %-8s %14s %29s %7s\n", "impl", "status", "median us", "95% CI of the median (us)",
           "samples");
    for (int i = 0; i < ts.n; i++) {
        const mb_row *r = &ts.rows[i];
        if (!strcmp(r->status, "ok")) {
            char ci[64] = "n/a (fewer than 6 samples)";
            if (isfinite(r->time_us_ci_lo) && isfinite(r->time_us_ci_hi))
                snprintf(ci, sizeof ci, "[%.6g, %.6g]", r->time_us_ci_lo, r->time_us_ci_hi);
            printf("%-8s %-8s %14.6g %29s %7lld%s\n", r->impl, r->status, r->time_us_median, ci,
                   (long long)r->samples, r->unstable ? "  unstable (see reason)" : "");
            if (r->unstable && r->reason[0])
                printf("         %s\n", r->reason);
        } else {
            printf("%-8s %-8s %s\n", r->impl, r->status, r->reason);
            rc |= strcmp(r->status, "skipped") != 0;
        }
    }
    return rc;
}
