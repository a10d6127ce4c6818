/* `moebench compare A B [--out DIR] [--no-plot]`: per-case ratios of two results directories
 * with significance, as a table on stdout and compare.{png,pdf} (default: B/charts). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "compare_runs.h"
#include "plot_gnuplot.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: moebench compare A B [--out DIR] [--no-plot]\n"
               "  A, B   results directories (results.csv + run.json [+ samples.csv])\n"
               "  prints B/A median ratios per case and implementation with a Mann-Whitney U\n"
               "  test on the raw samples; chart compare.{png,pdf} in DIR (default B/charts)\n");
}

int mb_cmd_compare(int argc, char **argv)
{
    const char *in[2] = {NULL, NULL}, *out = NULL;
    int nin = 0, plot = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strncmp(argv[i], "--out=", 6)) {
            out = argv[i] + 6;
        } else if (!strcmp(argv[i], "--no-plot")) {
            plot = 0;
        } else if (argv[i][0] == '-' || nin == 2) {
            fprintf(stderr, "moebench compare: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            in[nin++] = argv[i];
        }
    }
    if (nin != 2) {
        usage(stderr);
        return 2;
    }
    char err[MB_PLOT_ERR_LEN];
    if (plot && mb_gnuplot_available(err, sizeof err)) {
        fprintf(stderr, "moebench compare: %s (or use --no-plot)\n", err);
        return 1;
    }
    mb_results a, b;
    if (mb_results_load(in[0], &a, err, sizeof err)) {
        fprintf(stderr, "moebench compare: %s\n", err);
        return 1;
    }
    if (mb_results_load(in[1], &b, err, sizeof err)) {
        fprintf(stderr, "moebench compare: %s\n", err);
        mb_results_free(&a);
        return 1;
    }
    mb_cmp_result r;
    int rc = 0;
    if (mb_compare_runs(&a, &b, &r)) {
        fprintf(stderr, "moebench compare: out of memory\n");
        rc = 1;
    } else {
        mb_cmp_print(&r, stdout);
        if (r.n == 0)
            fprintf(stderr, "moebench compare: no case ran ok in both A and B\n");
        if (plot && r.n > 0) {
            char dir[4200], foot[700], fb[600];
            if (out)
                snprintf(dir, sizeof dir, "%s", out);
            else
                snprintf(dir, sizeof dir, "%s/charts", b.dir);
            mb_results_footnote(&b, fb, sizeof fb);
            snprintf(foot, sizeof foot, "moebench compare %.120s %.120s | B: %.400s", in[0], in[1],
                     fb);
            mb_plot_out o;
            if (mb_plot_out_begin(&o, dir, foot, err, sizeof err) == 0 &&
                mb_cmp_chart(&r, &o, err, sizeof err) >= 0 &&
                mb_plot_out_commit(&o, err, sizeof err) == 0) {
                printf("chart: %s/compare.png (and .pdf)\n", dir);
            } else {
                mb_plot_out_abort(&o);
                fprintf(stderr, "moebench compare: %s\n", err);
                rc = 1;
            }
        }
        mb_cmp_free(&r);
    }
    mb_results_free(&a);
    mb_results_free(&b);
    return rc;
}
