/* mb_plot_results(): every chart of a results directory, each rendered all-or-nothing (see
 * plot_gnuplot.h). */
#include "plot.h"

#include <stdio.h>
#include <stdlib.h>
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
                                        "roofline", "memory", "expert_load", "counters",
                                        "train_time", "train_memory", "speedup_over_f32"};
    int failed = 0;
    o->defer = 1;
    for (int c = 0; c < 10; c++) {
        char err[MB_PLOT_ERR_LEN] = "";
        int rc;
        switch (c) {
        case 0: rc = mb_chart_latency(r, o, err, sizeof err); break;
        case 1: rc = mb_chart_speedup(r, "naive", o, err, sizeof err); break;
        case 2: rc = mb_chart_speedup(r, "blas", o, err, sizeof err); break;
        case 3: rc = mb_chart_roofline(r, o, err, sizeof err); break;
        case 4: rc = mb_chart_memory(r, o, err, sizeof err); break;
        case 5: rc = mb_chart_experts(r, o, err, sizeof err); break;
        case 6: rc = mb_chart_counters(r, o, err, sizeof err); break;
        case 7: rc = mb_chart_train_time(r, o, err, sizeof err); break;
        case 8: rc = mb_chart_train_memory(r, o, err, sizeof err); break;
        default: rc = mb_chart_precision(r, o, err, sizeof err); break;
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

/* Whether value is one of the comma-separated items of list; threads compare as numbers. */
static int in_list(const char *list, const char *value, int numeric)
{
    const char *p = list;
    while (*p) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (numeric) {
            char item[64];
            snprintf(item, sizeof item, "%.*s", (int)(len < 63 ? len : 63), p);
            char *e1, *e2;
            double a = strtod(item, &e1), b = strtod(value, &e2);
            if (e1 != item && !*e1 && e2 != value && !*e2 && a == b)
                return 1;
        } else if (strlen(value) == len && !strncmp(p, value, len)) {
            return 1;
        }
        p += len + (c ? 1 : 0);
    }
    return 0;
}

/* The rows of the selection (every item of each list must match some row, so a misspelt name
 * is an error rather than a quietly missing curve). 0, or -1 with the message in err. */
static int select_rows(mb_results *r, const mb_plot_opts *opts, char *err, size_t n)
{
    const char *lists[3] = {opts->variants, opts->impls, opts->threads};
    const char *what[3] = {"variant", "impl", "threads"};
    int cols[3] = {r->c.variant, r->c.impl, r->c.threads};
    size_t nr = mb_results_nrows(r);
    for (int k = 0; k < 3; k++) {
        if (!lists[k])
            continue;
        if (!*lists[k]) {
            snprintf(err, n, "--%s: empty list", what[k]);
            return -1;
        }
        /* each item on its own: one that matches no row is named */
        const char *p = lists[k];
        while (*p) {
            const char *c = strchr(p, ',');
            size_t len = c ? (size_t)(c - p) : strlen(p);
            char item[200];
            snprintf(item, sizeof item, "%.*s", (int)(len < 199 ? len : 199), p);
            int found = 0;
            for (size_t i = 0; i < nr && !found; i++)
                found = in_list(item, mb_results_str(r, i, cols[k]), k == 2);
            if (!found) {
                mb_strlist seen = {0};
                char have[600] = "";
                for (size_t i = 0; i < nr; i++)
                    if (mb_strlist_find(&seen, mb_results_str(r, i, cols[k])) < 0) {
                        mb_strlist_add(&seen, mb_results_str(r, i, cols[k]));
                        size_t l = strlen(have);
                        snprintf(have + l, sizeof have - l, "%s%s", l ? ", " : "",
                                 mb_results_str(r, i, cols[k]));
                    }
                mb_strlist_free(&seen);
                snprintf(err, n, "--%s %.100s: no row of %.300s has %s '%.100s' (it has: %.300s)",
                         k == 2 ? "threads" : what[k], lists[k], r->dir, what[k], item, have);
                return -1;
            }
            p += len + (c ? 1 : 0);
        }
    }
    unsigned char *keep = malloc(nr ? nr : 1);
    if (!keep) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    size_t kept_ok = 0;
    for (size_t i = 0; i < nr; i++) {
        keep[i] = 1;
        for (int k = 0; k < 3; k++)
            if (lists[k] && !in_list(lists[k], mb_results_str(r, i, cols[k]), k == 2))
                keep[i] = 0;
        kept_ok += keep[i] && mb_results_ok(r, i);
    }
    int rc = 0;
    if (!kept_ok) {
        char sel[400] = "";
        for (int k = 0; k < 3; k++)
            if (lists[k]) {
                size_t l = strlen(sel);
                snprintf(sel + l, sizeof sel - l, "%s--%s %.100s", l ? " " : "", what[k],
                         lists[k]);
            }
        snprintf(err, n, "the selection (%s) leaves no ok row in %.300s: nothing to draw", sel,
                 r->dir);
        rc = -1;
    } else if (mb_results_keep_rows(r, keep)) {
        snprintf(err, n, "out of memory");
        rc = -1;
    }
    free(keep);
    return rc;
}

int mb_plot_results_to(const char *results, const char *out_dir)
{
    return mb_plot_results_opts(results, out_dir, NULL);
}

int mb_plot_results_opts(const char *results, const char *out_dir, const mb_plot_opts *opts)
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
    if (opts && (opts->variants || opts->impls || opts->threads) &&
        select_rows(&r, opts, err, sizeof err)) {
        fprintf(stderr, "moebench plot: %s\n", err);
        mb_results_free(&r);
        return MB_PLOT_EXIT_SELECTION;
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
        if (opts && opts->width_in > 0)
            mb_plot_out_set_size(&o, opts->width_in, opts->height_in, opts->height_auto);
        if (opts)
            o.units = opts->units;
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
