/* Option parsing for run / check (see cli_options.h). */
#include "cli_options.h"
#include "library_dispatch.h"
#include "load_env.h"
#include "outdir.h"

#include <stdlib.h>
#include <string.h>

void mb_cli_usage(FILE *f, const char *cmd)
{
    fprintf(f,
            "usage: moebench %s [SUITE.ini ...] [options]\n"
            "  SUITE.ini           suite files (default suites/default.ini; relative paths are\n"
            "                      also looked up in the source directory)\n"
            "  --out DIR           output directory, created by this run: an existing DIR is\n"
            "                      refused (see --resume, --force). Default results/<suite>-<UTC\n"
            "                      time>/, with -2, -3, ... when a run of that second has it\n"
            "  --force             with --out: move an existing DIR aside to DIR.old-<UTC time>\n"
            "                      (never deleted) and start afresh in DIR\n"
            "  --threads N         threads for OpenMP, OpenBLAS and oneDNN (default: all online CPUs)\n"
            "  --variant LIST      only these variants (comma-separated)\n"
            "  --impl LIST         only these implementations (comma-separated, or all)\n"
            "  --filter REGEX      only cases whose descriptor matches (POSIX extended regex)\n"
            "  --min-time SEC      seconds the first --reps samples should last together (default 0.5)\n"
            "  --reps N            samples per case x implementation (default 10)\n"
            "  --cache warm|cold   reuse one weight copy, or cycle copies larger than the LLC\n"
            "  --counters auto|none|EV,EV   PAPI events (default auto)\n"
            "  --timeout SEC       time limit per implementation of a case (default 300)\n"
            "  --resume DIR        continue a run: skip case x implementation x threads x cache\n"
            "                      rows already in DIR/results.csv (not with --out or --force).\n"
            "                      Refused unless the suite files, the commit and the options\n"
            "                      that shape rows (--threads --reps --min-time --cache --timeout\n"
            "                      --impl --variant --filter --dry-run --interleave --pin, and the\n"
            "                      OpenBLAS core that ran) are those of DIR/run.json\n"
            "                      and no running moebench writes into DIR\n"
            "  --dry-run           validate and run each case once, no timing loop\n"
            "  --interleave        time the implementations of a case in alternating rounds\n"
            "                      (one sample of each per round, ABAB...) after each one's\n"
            "                      check and calibration, so drift hits all alike; needs all of\n"
            "                      them prepared at once (else sequential, said in the reason)\n"
            "  --validate-only     load and validate the suites, print the number of cases and\n"
            "                      rows, run nothing (exit 2 on a bad suite)\n"
            "  --peer torch        after the cases, run the PyTorch peer (peers/pytorch) on every\n"
            "                      case of the run: one impl=torch row per case in results.csv\n"
            "                      (needs /usr/bin/python3 with torch, or $MOEBENCH_PYTHON; time\n"
            "                      limit $MOEBENCH_PEER_TIMEOUT seconds, default 3600)\n"
            "  --shard I/N         run shard I (0..N-1) of N: a deterministic share of the cases,\n"
            "                      balanced by their estimated time (cost model), into its own\n"
            "                      directory (default results/<suite>-<UTC time>-shard-I-of-N);\n"
            "                      combine the N directories with moebench merge. Under Slurm:\n"
            "                      --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT\n"
            "  --mpi               under mpirun -np N: rank R runs shard R/N into OUT.shard-R-of-N\n"
            "                      and rank 0 merges them into OUT (--out, or the default\n"
            "                      directory) at the end; cases with ep=N run on all the ranks\n"
            "                      together (expert parallelism, N must be the rank count)\n"
            "  --no-plot           do not draw charts at the end\n"
            "  --no-roofline       when no roofline.json is found ($MOEBENCH_ROOFLINE, DIR or\n"
            "                      results/), do not measure one (moebench roofline --quick,\n"
            "                      about 4 s) before the cases: pct_peak stays empty\n"
            "%s"
            "Settings given here override the suite's (reps, min_time, cache, timeout, threads).\n"
            "Exit status: 0 when every row is ok or skipped, 1 when any is mismatch, crashed,\n"
            "timeout or error (or the output directory exists, cannot be written or does not\n"
            "match --resume, or a torch row is a mismatch),\n"
            "2 for bad options or suites, or a --variant/--filter/--impl selection that leaves\n"
            "no case (or when the torch peer could not run).\n",
            cmd, mb_load_env_usage);
    if (!strcmp(cmd, "check"))
        fprintf(f, "check runs each case once and compares with the naive reference; exit 1 on any\n"
                   "mismatch, crash, time-out or error. It writes files only with --out.\n");
}

static int parse_int(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 1 || v > 100000)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_sec(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v > 0) || v > 1e6)
        return -1;
    *out = v;
    return 0;
}

int mb_cli_parse(int argc, char **argv, mb_cli_options *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !strcmp(a, "-")) {
            if (o->n_suites >= MB_CLI_MAX_SUITES) {
                snprintf(err, errlen, "too many suite files (max %d)", MB_CLI_MAX_SUITES);
                return 2;
            }
            o->suites[o->n_suites++] = a;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            o->help = 1;
            continue;
        }
        if (!strcmp(a, "--no-plot")) {
            o->no_plot = 1;
            continue;
        }
        if (!strcmp(a, "--no-roofline")) {
            o->no_roofline = 1;
            continue;
        }
        if (!strcmp(a, "--force")) {
            o->force = 1;
            continue;
        }
        if (!strcmp(a, "--dry-run")) {
            o->dry_run = 1;
            continue;
        }
        if (!strcmp(a, "--mpi")) {
            o->mpi = 1;
            continue;
        }
        if (!strcmp(a, "--interleave")) {
            o->interleave = 1;
            continue;
        }
        if (!strcmp(a, "--validate-only")) {
            o->validate_only = 1;
            continue;
        }
        mb_load_request load = {o->openblas_core, o->pin};
        int took = mb_load_env_parse_arg(argc, argv, &i, &load, err, errlen);
        if (took < 0)
            return 2;
        if (took) {
            o->openblas_core = load.openblas_core;
            o->pin = load.pin;
            continue;
        }
        /* options with a value */
        char name[64];
        const char *val = NULL;
        const char *eq = strchr(a, '=');
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
        }
        static const char *const with_value[] = {"--out", "--threads", "--variant", "--impl",
                                                 "--filter", "--min-time", "--reps", "--cache",
                                                 "--counters", "--resume", "--timeout", "--peer",
                                                 "--shard"};
        int known = 0;
        for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
            known |= !strcmp(name, with_value[k]);
        if (!known) {
            snprintf(err, errlen, "unknown option '%s'", a);
            return 2;
        }
        if (!val) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option %s needs a value", name);
                return 2;
            }
            val = argv[++i];
        }
        if (!strcmp(name, "--out") || !strcmp(name, "--resume")) {
            /* before anything runs: a run whose results cannot be stored is not started */
            const char *why = mb_outdir_unusable(val);
            if (why) {
                snprintf(err, errlen, "%s '%.80s%s': %s", name, val, strlen(val) > 80 ? "..." : "",
                         why);
                return 2;
            }
        }
        if (!strcmp(name, "--out"))
            o->out = val;
        else if (!strcmp(name, "--variant"))
            o->variant = val;
        else if (!strcmp(name, "--impl"))
            o->impl = val;
        else if (!strcmp(name, "--filter"))
            o->filter = val;
        else if (!strcmp(name, "--counters"))
            o->counters = val;
        else if (!strcmp(name, "--resume"))
            o->resume = val;
        else if (!strcmp(name, "--shard"))
            o->shard = val;
        else if (!strcmp(name, "--peer")) {
            if (strcmp(val, "torch") != 0) {
                snprintf(err, errlen, "--peer '%s': the only peer is torch", val);
                return 2;
            }
            o->peer = val;
        }
        else if (!strcmp(name, "--threads")) {
            if (parse_int(val, &o->threads)) {
                snprintf(err, errlen, "--threads '%s': expected a positive integer", val);
                return 2;
            }
        } else if (!strcmp(name, "--reps")) {
            if (parse_int(val, &o->reps)) {
                snprintf(err, errlen, "--reps '%s': expected a positive integer", val);
                return 2;
            }
        } else if (!strcmp(name, "--min-time")) {
            if (parse_sec(val, &o->min_time)) {
                snprintf(err, errlen, "--min-time '%s': expected seconds > 0", val);
                return 2;
            }
        } else if (!strcmp(name, "--timeout")) {
            if (parse_sec(val, &o->timeout)) {
                snprintf(err, errlen, "--timeout '%s': expected seconds > 0", val);
                return 2;
            }
        } else if (!strcmp(name, "--cache")) {
            if (!strcmp(val, "warm"))
                o->cache = 1;
            else if (!strcmp(val, "cold"))
                o->cache = 2;
            else {
                snprintf(err, errlen, "--cache '%s': expected warm or cold", val);
                return 2;
            }
        }
    }
    if (o->resume && o->out) {
        snprintf(err, errlen, "--out and --resume together: --resume DIR writes into DIR");
        return 2;
    }
    if (o->force && !o->out && !o->resume) {
        snprintf(err, errlen, "--force needs --out DIR: it moves an existing DIR aside (the "
                              "default output directory is always a new one)");
        return 2;
    }
    if (o->shard && o->mpi) {
        snprintf(err, errlen, "--shard and --mpi together: under --mpi each rank runs shard "
                              "rank/size");
        return 2;
    }
    if (o->mpi && o->resume) {
        snprintf(err, errlen, "--resume and --mpi together: resume each shard directory with "
                              "--resume DIR --shard I/N, then moebench merge");
        return 2;
    }
    if (o->resume && o->force) {
        snprintf(err, errlen, "--force and --resume together: --force starts afresh, --resume "
                              "continues DIR");
        return 2;
    }
    return 0;
}

int mb_cli_load_env_start(const mb_load_request *load, const char *cmd)
{
    char err[1024];
    int rc = mb_load_env_apply(load, err, sizeof err);
    if (rc) {
        fprintf(stderr, "moebench %s: %s\n", cmd, err);
        return rc;
    }
    mb_library_dispatch_print(stderr, cmd, !load->openblas_core);
    return 0;
}
