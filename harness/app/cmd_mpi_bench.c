/* `moebench mpi-bench`: all-to-all time over message sizes and its alpha-beta fit (dist/mpi_bench.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "mpi_bench.h"
#include "mpi_env.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: mpirun -np N moebench mpi-bench [--out DIR] [--min-size BYTES]\n"
               "                                     [--max-size BYTES] [--seconds S]\n"
               "  MPI_Alltoall with BYTES per pair of ranks, from --min-size (default 1024) to\n"
               "  --max-size (default 67108864 = 64 MiB) in x4 steps, each for about --seconds\n"
               "  (default 0.2, at least 5 repetitions); the slowest rank's median per size and\n"
               "  the fit t(s) = (N-1) alpha + (N-1) s / bandwidth (least squares on relative\n"
               "  residuals) into DIR/mpi_bench.csv and DIR/mpi_bench.json (default\n"
               "  results/mpi-bench-<N>ranks-<UTC time>). The JSON is what project-ep --fit reads.\n"
               "  Exit 2 without MPI or with fewer than 2 ranks.\n");
}

static int parse_size(const char *s, long long *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < 1 || v > (1ll << 30))
        return -1;
    *out = v;
    return 0;
}

int mb_cmd_mpi_bench(int argc, char **argv)
{
    const char *out = NULL;
    long long lo = 1024, hi = 64ll << 20;
    double secs = 0.2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "moebench mpi-bench: %s: unknown option or missing value\n", a);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        char *end;
        if (!strcmp(a, "--out"))
            out = v;
        else if (!strcmp(a, "--min-size") && parse_size(v, &lo) == 0)
            ;
        else if (!strcmp(a, "--max-size") && parse_size(v, &hi) == 0)
            ;
        else if (!strcmp(a, "--seconds") && (secs = strtod(v, &end)) > 0 && !*end && secs < 600)
            ;
        else {
            fprintf(stderr, "moebench mpi-bench: %s '%s': unknown option or bad value (sizes "
                            "1..2^30 bytes, seconds 0..600)\n", a, v);
            return 2;
        }
    }
    if (lo > hi) {
        fprintf(stderr, "moebench mpi-bench: --min-size %lld > --max-size %lld\n", lo, hi);
        return 2;
    }
    if (mb_mpi_unavailable()) {
        fprintf(stderr, "moebench mpi-bench: %s\n", mb_mpi_unavailable());
        return 2;
    }
    char err[1024];
    if (mb_mpi_init(NULL, NULL, err, sizeof err)) {
        fprintf(stderr, "moebench mpi-bench: %s\n", err);
        return 2;
    }
    char dir[4096];
    if (out)
        snprintf(dir, sizeof dir, "%s", out);
    else {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tmv;
        gmtime_r(&now, &tmv);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tmv);
        snprintf(dir, sizeof dir, "%s/results/mpi-bench-%dranks-%s", MOEBENCH_SOURCE_DIR,
                 mb_mpi_size(), stamp);
    }
    mb_mpi_bcast_str(dir, sizeof dir, 0);
    int rc = mb_mpi_bench_run(lo, hi, secs, dir, err, sizeof err);
    if (rc && mb_mpi_rank() == 0)
        fprintf(stderr, "moebench mpi-bench: %s\n", err);
    mb_mpi_finalize();
    return rc;
}
