/* `moebench plot RESULTS [--out DIR]` and mb_plot_results(): every chart of a results
 * directory, rendered all-or-nothing (see plot_gnuplot.h). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "plot.h"
#include "plot_gnuplot.h"
#include "plot_results.h"
#include "plot_series.h"

static int render_all(const mb_results *r, mb_plot_out *o, char *err, size_t n)
{
    int rc;
    if ((rc = mb_chart_latency(r, o, err, n)) < 0)
        return -1;
    if ((rc = mb_chart_speedup(r, "naive", o, err, n)) < 0)
        return -1;
    if ((rc = mb_chart_speedup(r, "blas", o, err, n)) < 0)
        return -1;
    if ((rc = mb_chart_roofline(r, o, err, n)) < 0)
        return -1;
    if ((rc = mb_chart_memory(r, o, err, n)) < 0)
        return -1;
    if ((rc = mb_chart_experts(r, o, err, n)) < 0)
        return -1;
    if ((rc = mb_chart_counters(r, o, err, n)) < 0)
        return -1;
    return 0;
}

int mb_plot_results_to(const char *results, const char *out_dir)
{
    char err[MB_PLOT_ERR_LEN];
    if (mb_gnuplot_available(err, sizeof err)) {
        fprintf(stderr, "moebench plot: %s\n", err);
        return 1;
    }
    mb_results r;
    if (mb_results_load(results, &r, err, sizeof err)) {
        fprintf(stderr, "moebench plot: %s\n", err);
        return 1;
    }
    char out[4200], foot[600];
    if (out_dir)
        snprintf(out, sizeof out, "%s", out_dir);
    else
        snprintf(out, sizeof out, "%s/charts", r.dir);
    mb_results_footnote(&r, foot, sizeof foot);
    mb_plot_out o;
    int rc = 1;
    if (mb_plot_out_begin(&o, out, foot, err, sizeof err) == 0) {
        int drawn = render_all(&r, &o, err, sizeof err) == 0;
        if (drawn && o.n_charts == 0) {
            mb_plot_out_abort(&o);   /* no empty charts directory */
            rc = 0;
        } else if (drawn && mb_plot_out_commit(&o, err, sizeof err) == 0) {
            rc = 0;
        } else {
            mb_plot_out_abort(&o);
        }
    }
    if (rc)
        fprintf(stderr, "moebench plot: %s\n", err);
    else if (o.n_charts == 0)
        printf("moebench plot: no ok rows in %s: nothing to chart\n", results);
    else
        printf("moebench plot: %d charts (PNG + PDF, with .gp and .dat) in %s\n", o.n_charts, out);
    mb_results_free(&r);
    return rc;
}

int mb_plot_results(const char *results_dir) { return mb_plot_results_to(results_dir, NULL); }

static void usage(FILE *f)
{
    fprintf(f, "usage: moebench plot RESULTS [--out DIR]\n"
               "  RESULTS  a results directory (results.csv + run.json [+ samples.csv]) or its\n"
               "           results.csv\n"
               "  --out    where the charts go (default: RESULTS/charts)\n");
}

int mb_cmd_plot(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strncmp(argv[i], "--out=", 6)) {
            out = argv[i] + 6;
        } else if (argv[i][0] == '-' || in) {
            fprintf(stderr, "moebench plot: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            in = argv[i];
        }
    }
    if (!in) {
        usage(stderr);
        return 2;
    }
    return mb_plot_results_to(in, out);
}
