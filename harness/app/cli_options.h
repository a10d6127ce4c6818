/* Options of `moebench run` and `moebench check` (design section 4). */
#ifndef MOEBENCH_CLI_OPTIONS_H
#define MOEBENCH_CLI_OPTIONS_H

#include <stdio.h>

#include "load_env.h"

#define MB_CLI_MAX_SUITES 32

/* Timing settings when neither the command line nor the suite sets them (run, check, time). */
#define MB_DEFAULT_MIN_TIME 0.5
#define MB_DEFAULT_REPS 10
#define MB_DEFAULT_TIMEOUT 300.0

typedef struct {
    const char *suites[MB_CLI_MAX_SUITES];
    int n_suites;
    const char *out;        /* --out DIR */
    int threads;            /* --threads N, 0 = unset */
    const char *variant;    /* --variant LIST */
    const char *impl;       /* --impl LIST */
    const char *filter;     /* --filter REGEX (POSIX extended, on the case descriptor) */
    double min_time;        /* --min-time SEC, 0 = unset */
    int reps;               /* --reps N, 0 = unset */
    int cache;              /* --cache: 0 unset, 1 warm, 2 cold */
    const char *counters;   /* --counters auto|none|EV,EV (NULL = auto) */
    int no_plot;
    int no_roofline;        /* --no-roofline: do not measure missing ceilings before a run */
    const char *resume;     /* --resume DIR */
    int force;              /* --force: move an existing --out DIR aside */
    int dry_run;
    int interleave;         /* --interleave: time a case's implementations in alternating rounds */
    double timeout;         /* --timeout SEC, 0 = unset */
    const char *peer;       /* --peer torch (NULL = none) */
    int validate_only;      /* --validate-only: load and validate the suites, print counts */
    const char *openblas_core; /* --openblas-core NAME (machine/load_env.h), NULL = unset */
    int pin;                /* --pin: bind OpenMP threads to cores */
    const char *shard;      /* --shard I/N (checked by mb_shard_parse) */
    int mpi;                /* --mpi: one shard per MPI rank, rank 0 merges; ep=N cases */
    int help;
} mb_cli_options;

/* Parses argv[1..argc) (argv[0] is the subcommand). Accepts "--opt VALUE" and "--opt=VALUE".
 * Returns 0, or 2 with a message in err for an unknown flag, a missing or malformed value. */
int mb_cli_parse(int argc, char **argv, mb_cli_options *o, char *err, size_t errlen);
void mb_cli_usage(FILE *f, const char *cmd);

/* For the commands with their own option loops (case, time): --openblas-core / --pin take
 * effect (a re-executed image, machine/load_env.h), then the libraries' dispatch line on
 * stderr. 0 to go on, else the exit code, its message printed as "moebench CMD: ...". */
int mb_cli_load_env_start(const mb_load_request *load, const char *cmd);

#endif
