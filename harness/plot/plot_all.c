/* mb_plot_results(): every chart of a results directory, each rendered all-or-nothing (see
 * plot_gnuplot.h). */
#include "plot.h"

#include <stdio.h>
#include <string.h>

#include "plot_gnuplot.h"
#include "plot_results.h"
#include "plot_series.h"

/* Each chart on its own: one that fails (its data, its gnuplot) is reported on stderr and left
 * out, the others are kept. The C side writes every chart's data and script first; gnuplot then
 * draws them several at a time (mb_plot_out_run). Returns the number of charts that failed. */
static int render_all(const mb_results *r, mb_plot_out *o)
{
    static const char *const names[] = {"latency", "speedup_over_naive", "speedup_over_blas",
                                        "roofline", "memory", "expert_load", "counters"};
    int failed = 0;
    o->defer = 1;
    for (int c = 0; c < 7; c++) {
        char err[MB_PLOT_ERR_LEN] = "";
        int rc;
        switch (c) {
        case 0: rc = mb_chart_latency(r, o, err, sizeof err); break;
        case 1: rc = mb_chart_speedup(r, "naive", o, err, sizeof err); break;
        case 2: rc = mb_chart_speedup(r, "blas", o, err, sizeof err); break;
        case 3: rc = mb_chart_roofline(r, o, err, sizeof err); break;
        case 4: rc = mb_chart_memory(r, o, err, sizeof err); break;
        case 5: rc = mb_chart_experts(r, o, err, sizeof err); break;
        default: rc = mb_chart_counters(r, o, err, sizeof err); break;
        }
        if (rc < 0) {
            fprintf(stderr, "moebench plot: chart %s failed: %s\n", names[c], err);
            mb_plot_out_discard(o, names[c]);
            failed++;
        }
    }
    mb_plot_out_run(o);
    for (int k = 0; k < o->njobs; k++)
        if (o->jobs[k].failed) {
            fprintf(stderr, "moebench plot: chart %s failed: %s\n", o->jobs[k].name,
                    o->jobs[k].err);
            failed++;
        }
    return failed;
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
    int rc = 1, failed = 0;
    if (mb_plot_out_begin(&o, out, foot, err, sizeof err) == 0) {
        failed = render_all(&r, &o);
        if (o.n_charts == 0) {
            mb_plot_out_abort(&o);   /* no empty charts directory */
            rc = failed ? MB_PLOT_EXIT_CHART_FAILED : 0;
        } else if (mb_plot_out_commit(&o, err, sizeof err) == 0) {
            rc = failed ? MB_PLOT_EXIT_CHART_FAILED : 0;
        } else {
            fprintf(stderr, "moebench plot: %s\n", err);
            mb_plot_out_abort(&o);
        }
    } else {
        fprintf(stderr, "moebench plot: %s\n", err);
    }
    if (rc == 0 && o.n_charts == 0)
        printf("moebench plot: no ok rows in %s: nothing to chart\n", results);
    else if (o.n_charts > 0 && rc != 1)
        printf("moebench plot: %d charts (PNG + PDF, with .gp and .dat) in %s%s\n", o.n_charts,
               out, failed ? "; some failed (see above)" : "");
    mb_results_free(&r);
    return rc;
}

int mb_plot_results(const char *results_dir) { return mb_plot_results_to(results_dir, NULL); }
