/* Bar charts of a run: memory (weights, workspace, peak RSS per case and implementation, so
 * merged sits beside unmerged), expert load (expert_load_max and aux_loss of the routed
 * variants) and the counters (one panel per ctr_ column that has values). */
#include "plot_series.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COUNTER_PANELS 6
#define MIB (1024.0 * 1024.0)

static void put_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, " %.6g", v);
    else
        fprintf(f, " NaN");
}

/* Memory: one group per (panel, impl) at the largest T of that pair, which is where the
 * workspace is largest. */
int mb_chart_memory(const mb_results *r, mb_plot_out *o, char *err, size_t n)
{
    mb_strlist panels, impls;
    mb_plot_panels(r, &panels);
    mb_plot_impls(r, 1, &impls);
    FILE *f = mb_plot_out_open(o, "memory.dat");
    if (!f) {
        snprintf(err, n, "memory.dat: cannot write");
        mb_strlist_free(&panels);
        mb_strlist_free(&impls);
        return -1;
    }
    fprintf(f, "# label weights_MiB workspace_MiB prepared_MiB peak_rss_MiB (at the largest T of "
               "each case; prepared = memory added by prepare: packed, merged or reordered "
               "weights)\n");
    int groups = 0;
    /* a log axis cannot draw 0: series with zero values are named in the title instead */
    int zero_ws = 0, zero_prep = 0;
    char panel[1200], label[1400];
    for (int p = 0; p < panels.n; p++)
        for (int s = 0; s < impls.n; s++) {
            long best = -1;
            double bestT = -1;
            for (size_t i = 0; i < mb_results_nrows(r); i++) {
                if (!mb_results_ok(r, i) || strcmp(mb_results_str(r, i, r->c.impl), impls.items[s]))
                    continue;
                mb_results_panel(r, i, panel, sizeof panel);
                double T = mb_results_num(r, i, r->c.T);
                if (!strcmp(panel, panels.items[p]) && T > bestT) {
                    bestT = T;
                    best = (long)i;
                }
            }
            if (best < 0)
                continue;
            mb_plot_short_label(r, (size_t)best, &panels, label, sizeof label);
            size_t l = strlen(label);
            snprintf(label + l, sizeof label - l, " %s", impls.items[s]);
            mb_gp_dat_str(f, label);
            double ws = mb_results_num(r, (size_t)best, r->c.workspace);
            double prep = mb_results_num(r, (size_t)best, r->c.prepare_bytes);
            zero_ws |= ws == 0;
            zero_prep |= prep == 0;
            /* prepare can free more than it allocates: a negative difference is no bar either */
            if (prep < 0)
                prep = 0, zero_prep = 1;
            put_num(f, mb_results_num(r, (size_t)best, r->c.weights) / MIB);
            put_num(f, ws / MIB);
            put_num(f, prep / MIB);
            put_num(f, mb_results_num(r, (size_t)best, r->c.rss) / MIB);
            fputc('\n', f);
            groups++;
        }
    fclose(f);
    int rc = 1;
    if (!groups)
        mb_plot_out_remove(o, "memory.dat");
    if (groups) {
        mb_gp_buf gp = {0};
        mb_gp_printf(&gp, "datafile = \"memory.dat\"\ngroups = %d\n", groups);
        char title[300];
        snprintf(title, sizeof title, "Memory per case and implementation (at the largest T of "
                 "each case)%s%s%s%s%s", zero_ws || zero_prep ? "\n(log axis: zero " : "",
                 zero_ws ? "workspace" : "", zero_ws && zero_prep ? " and zero " : "",
                 zero_prep ? "prepared" : "", zero_ws || zero_prep ? " not drawn)" : "");
        mb_gp_var_str(&gp, "title_text", title);
        rc = mb_plot_render(o, "memory", "memory", gp.s, mb_chart_width(groups, 40), MB_CHART_H,
                            err, n);
        mb_gp_free(&gp);
    }
    mb_strlist_free(&panels);
    mb_strlist_free(&impls);
    return rc;
}

/* Expert load: routing is the same for every correct implementation, so one ok row per case
 * (naive preferred) stands for the case. */
int mb_chart_experts(const mb_results *r, mb_plot_out *o, char *err, size_t n)
{
    mb_strlist panels;
    mb_plot_panels(r, &panels);
    FILE *f = mb_plot_out_open(o, "expert_load.dat");
    if (!f) {
        snprintf(err, n, "expert_load.dat: cannot write");
        mb_strlist_free(&panels);
        return -1;
    }
    fprintf(f, "# label expert_load_max aux_loss k(balanced aux_loss)\n");
    char key[1400], label[1400];
    /* write in the order of the file (variant, then T) */
    mb_strlist done = {0};
    for (size_t i = 0; i < mb_results_nrows(r); i++) {
        if (!mb_results_ok(r, i) || !isfinite(mb_results_num(r, i, r->c.load_max)))
            continue;
        mb_results_case(r, i, key, sizeof key);
        if (mb_strlist_find(&done, key) >= 0)
            continue;
        /* prefer the naive row of this case when there is one */
        size_t use = i;
        for (size_t j = 0; j < mb_results_nrows(r); j++) {
            char k2[1400];
            if (!mb_results_ok(r, j) || strcmp(mb_results_str(r, j, r->c.impl), "naive"))
                continue;
            mb_results_case(r, j, k2, sizeof k2);
            if (!strcmp(k2, key) && isfinite(mb_results_num(r, j, r->c.load_max)))
                use = j;
        }
        mb_strlist_add(&done, key);
        mb_plot_short_label(r, use, &panels, label, sizeof label);
        mb_gp_dat_str(f, label);
        put_num(f, mb_results_num(r, use, r->c.load_max));
        put_num(f, mb_results_num(r, use, r->c.aux_loss));
        put_num(f, mb_results_num(r, use, r->c.k));
        fputc('\n', f);
    }
    fclose(f);
    int rc = 1;
    if (!done.n)
        mb_plot_out_remove(o, "expert_load.dat");
    if (done.n) {
        mb_gp_buf gp = {0};
        mb_gp_printf(&gp, "datafile = \"expert_load.dat\"\ngroups = %d\n", done.n);
        rc = mb_plot_render(o, "expert_load", "expert_load", gp.s, MB_CHART_W, MB_CHART_H, err, n);
        mb_gp_free(&gp);
    }
    mb_strlist_free(&done);
    mb_strlist_free(&panels);
    return rc;
}

/* The unit of a counter column (ctr_ + sanitized event name). case_exec.c counts a separate pass
 * of iters forwards and mb_counters_stop divides by iters: every value is per forward call.
 * perf's task-clock and cpu-clock count nanoseconds; everything else counts events. */
const char *mb_counter_unit(const char *column)
{
    const char *c = strncmp(column, "ctr_", 4) ? column : column + 4;
    if (strstr(c, "task_clock") || strstr(c, "cpu_clock"))
        return "ns per forward";
    if (strstr(c, "cyc"))
        return "cycles per forward";
    if (strstr(c, "tot_ins") || strstr(c, "instructions"))
        return "instructions per forward";
    if (strstr(c, "_dcm") || strstr(c, "_tcm") || strstr(c, "_icm") || strstr(c, "miss"))
        return "misses per forward";
    if (strstr(c, "fp_ops") || strstr(c, "fp_ins") || strstr(c, "sp_ops"))
        return "FP ops per forward";
    if (strstr(c, "page_faults") || strstr(c, "faults"))
        return "page faults per forward";
    if (strstr(c, "context_switch"))
        return "switches per forward";
    if (strstr(c, "migrations"))
        return "migrations per forward";
    return "count per forward";
}

/* Counters: columns named ctr_* with at least one value among the ok rows (an empty column is
 * an unavailable counter, never a zero). */
int mb_chart_counters(const mb_results *r, mb_plot_out *o, char *err, size_t n)
{
    int ctr[MAX_COUNTER_PANELS], nctr = 0;
    char zero[512] = "";   /* counters measured but 0 everywhere: named in the title instead */
    const mb_csv_table *t = &r->csv;
    for (size_t c = 0; c < t->ncols && nctr < MAX_COUNTER_PANELS; c++) {
        if (strncmp(t->header[c], "ctr_", 4))
            continue;
        int any = 0, nonzero = 0;
        for (size_t i = 0; i < t->nrows; i++) {
            double v = mb_results_num(r, i, (int)c);
            if (mb_results_ok(r, i) && isfinite(v)) {
                any = 1;
                nonzero |= v != 0;
            }
        }
        if (nonzero)
            ctr[nctr++] = (int)c;
        else if (any) {
            size_t l = strlen(zero);
            snprintf(zero + l, sizeof zero - l, "%s%s", l ? ", " : "", t->header[c] + 4);
        }
    }
    if (!nctr)
        return 1;
    mb_strlist panels, impls, cases = {0};
    mb_plot_panels(r, &panels);
    mb_plot_impls(r, 1, &impls);
    char key[1400], label[1400];
    for (size_t i = 0; i < t->nrows; i++)
        if (mb_results_ok(r, i)) {
            mb_results_match_key(r, i, key, sizeof key);
            mb_strlist_add(&cases, key);
        }
    FILE *f = mb_plot_out_open(o, "counters.dat");
    if (!f) {
        snprintf(err, n, "counters.dat: cannot write");
        mb_strlist_free(&panels);
        mb_strlist_free(&impls);
        mb_strlist_free(&cases);
        return -1;
    }
    mb_strlist names = {0};
    int logy[MAX_COUNTER_PANELS];
    for (int k = 0; k < nctr; k++) {
        /* a log axis only when every value is positive: software counters are often 0 */
        logy[k] = 1;
        for (size_t i = 0; i < t->nrows; i++) {
            double v = mb_results_num(r, i, ctr[k]);
            if (mb_results_ok(r, i) && isfinite(v) && v <= 0)
                logy[k] = 0;
        }
        mb_strlist_add(&names, t->header[ctr[k]] + 4);
        fprintf(f, "# counter ");
        mb_gp_dat_text(f, t->header[ctr[k]]);
        fprintf(f, " per forward: label, then one column per implementation\n");
        for (int c = 0; c < cases.n; c++) {
            int wrote_label = 0;
            double vals[64];
            int nv = impls.n < 64 ? impls.n : 64;
            for (int s = 0; s < nv; s++)
                vals[s] = NAN;
            for (size_t i = 0; i < t->nrows; i++) {
                if (!mb_results_ok(r, i))
                    continue;
                mb_results_match_key(r, i, key, sizeof key);
                if (strcmp(key, cases.items[c]))
                    continue;
                int s = mb_strlist_find(&impls, mb_results_str(r, i, r->c.impl));
                if (s >= 0 && s < nv)
                    vals[s] = mb_results_num(r, i, ctr[k]);
                if (!wrote_label) {
                    mb_plot_short_label(r, i, &panels, label, sizeof label);
                    mb_gp_dat_str(f, label);
                    wrote_label = 1;
                }
            }
            for (int s = 0; s < nv; s++)
                put_num(f, vals[s]);
            fputc('\n', f);
        }
        fprintf(f, "\n\n");
    }
    fclose(f);
    mb_gp_buf gp = {0};
    int rows, cols;
    mb_plot_grid(nctr, &rows, &cols);
    mb_gp_printf(&gp, "datafile = \"counters.dat\"\nrows = %d\ncols = %d\ngroups = %d\n", rows,
                 cols, cases.n);
    mb_gp_array(&gp, "counter", &names);
    /* one unit per panel (not an mb_strlist: that keeps each string once) */
    mb_gp_printf(&gp, "array unit[%d]\n", nctr);
    for (int k = 0; k < nctr; k++) {
        char q[96];
        mb_gp_quote(mb_counter_unit(t->header[ctr[k]]), q, sizeof q);
        mb_gp_printf(&gp, "unit[%d] = %s\n", k + 1, q);
    }
    char title[700];
    snprintf(title, sizeof title, "Counters per forward%s%.500s%s",
             *zero ? " (zero everywhere: " : "", zero, *zero ? ")" : "");
    mb_gp_var_str(&gp, "title_text", title);
    mb_gp_printf(&gp, "array logy[%d]\n", nctr);
    for (int k = 0; k < nctr; k++)
        mb_gp_printf(&gp, "logy[%d] = %d\n", k + 1, logy[k]);
    mb_gp_array(&gp, "impl", &impls);
    int rc = mb_plot_render(o, "counters", "counters", gp.s, mb_chart_width(cols * cases.n, 24),
                            MB_CHART_H, err, n);
    mb_gp_free(&gp);
    mb_strlist_free(&names);
    mb_strlist_free(&panels);
    mb_strlist_free(&impls);
    mb_strlist_free(&cases);
    return rc;
}
