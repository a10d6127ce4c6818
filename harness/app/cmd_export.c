/* `moebench export RUN [--format gbench] [--filter REGEX] [-o FILE]`: a run in another tool's
 * format; today Google Benchmark's JSON (analysis/gbench_export.h). */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "gbench_export.h"
#include "plot_results.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: moebench export RUN [--format gbench] [--filter REGEX] [-o FILE]\n"
               "  RUN       a results directory (or its results.csv)\n"
               "  --format  gbench: Google Benchmark's JSON (context + benchmarks: one iteration\n"
               "            entry per timing sample, aggregates mean/median/stddev, time_unit us),\n"
               "            read by its tools, e.g.\n"
               "              moebench export A -o a.json; moebench export B -o b.json\n"
               "              /usr/share/benchmark/compare.py benchmarks a.json b.json\n"
               "  --filter  POSIX extended regex on the case descriptor; matching nothing exits 2\n"
               "  -o FILE   write there (default: stdout)\n");
}

int mb_cmd_export(int argc, char **argv)
{
    const char *in = NULL, *outp = NULL, *filter = NULL, *format = "gbench";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && i + 1 < argc) {
            outp = argv[++i];
        } else if (!strncmp(a, "--out=", 6)) {
            outp = a + 6;
        } else if (!strcmp(a, "--format") && i + 1 < argc) {
            format = argv[++i];
        } else if (!strncmp(a, "--format=", 9)) {
            format = a + 9;
        } else if (!strcmp(a, "--filter") && i + 1 < argc) {
            filter = argv[++i];
        } else if (!strncmp(a, "--filter=", 9)) {
            filter = a + 9;
        } else if (a[0] == '-' || in) {
            fprintf(stderr, "moebench export: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        } else {
            in = a;
        }
    }
    if (!in) {
        usage(stderr);
        return 2;
    }
    if (strcmp(format, "gbench")) {
        fprintf(stderr, "moebench export: --format '%s': expected gbench\n", format);
        return 2;
    }
    char err[MB_PLOT_ERR_LEN];
    regex_t re;
    if (filter) {
        int rc = regcomp(&re, filter, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            regerror(rc, &re, err, sizeof err);
            fprintf(stderr, "moebench export: --filter '%s': %s\n", filter, err);
            return 2;
        }
    }
    mb_results res;
    int rc = 0;
    if (mb_results_load(in, &res, err, sizeof err)) {
        fprintf(stderr, "moebench export: %s\n", err);
        if (filter)
            regfree(&re);
        return 1;
    }
    cJSON *doc = NULL;
    int n = mb_gbench_export(&res, filter ? &re : NULL, &doc);
    char *txt = n > 0 ? cJSON_Print(doc) : NULL;
    if (n < 0 || (n > 0 && !txt)) {
        fprintf(stderr, "moebench export: out of memory\n");
        rc = 1;
    } else if (n == 0) {
        fprintf(stderr, "moebench export: %s\n", filter ? "--filter matches no row" : "no rows");
        rc = 2;
    } else {
        FILE *f = outp ? fopen(outp, "w") : stdout;
        if (!f || fprintf(f, "%s\n", txt) < 0 || (outp && fclose(f))) {
            fprintf(stderr, "moebench export: %s: cannot write\n", outp ? outp : "stdout");
            rc = 1;
        }
    }
    free(txt);
    cJSON_Delete(doc);
    mb_results_free(&res);
    if (filter)
        regfree(&re);
    return rc;
}
