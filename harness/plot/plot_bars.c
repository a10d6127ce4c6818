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

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* The top of a linear bar axis that cuts outliers: when the k tallest bars (k at most a quarter
 * of them, at most 3) are each over 3 times every other bar, the axis stops at 1.5 times the
 * tallest other bar and those k are drawn cut (a break and their value printed). 0: no cut. */
double mb_bar_cut(const double *v, size_t n)
{
    double *s = malloc((n ? n : 1) * sizeof *s);
    size_t m = 0;
    if (!s)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]) && v[i] > 0)
            s[m++] = v[i];
    qsort(s, m, sizeof *s, cmp_desc);
    double cap = 0;
    for (size_t k = 1; k <= 3 && k <= m / 4 && !(cap > 0); k++)
        if (s[k - 1] > 3 * s[k])
            cap = 1.5 * s[k];
    free(s);
    return cap;
}

/* Memory: one group per (panel, impl) at the largest T of that pair, which is where the
 * workspace is largest (the first such row on a tie). */
int mb_chart_memory(const mb_results *r, mb_plot_out *o, char *err, size_t n)
{
    mb_strlist panels, impls;
    mb_plot_panels(r, &panels);
    mb_plot_impls(r, 1, &impls);
    mb_label_ctx lc;
    size_t ng = (size_t)panels.n * (size_t)impls.n;
    long *best = malloc((ng ? ng : 1) * sizeof *best);
    FILE *f = NULL;
    int rc = -1;
    if (!best || mb_label_ctx_init(&lc, &panels)) {
        snprintf(err, n, "out of memory");
        goto out;
    }
    for (size_t g = 0; g < ng; g++)
        best[g] = -1;
    char panel[1200], label[1400];
    for (size_t i = 0; i < mb_results_nrows(r); i++) {
        if (!mb_results_ok(r, i))
            continue;
        int s = mb_strlist_find(&impls, mb_results_str(r, i, r->c.impl));
        mb_results_panel(r, i, panel, sizeof panel);
        int p = mb_strlist_find(&panels, panel);
        double T = mb_results_num(r, i, r->c.T);
        if (s < 0 || p < 0 || !(T > -1))
            continue;
        size_t g = (size_t)p * (size_t)impls.n + (size_t)s;
        if (best[g] < 0 || T > mb_results_num(r, (size_t)best[g], r->c.T))
            best[g] = (long)i;
    }
    f = mb_plot_out_open(o, "memory.dat");
    if (!f) {
        snprintf(err, n, "memory.dat: cannot write");
        goto out;
    }
    fprintf(f, "# label weights_MiB workspace_MiB prepared_MiB peak_rss_MiB (at the largest T of "
               "each case; prepared = memory added by prepare: packed, merged or reordered "
               "weights)\n");
    int groups = 0, label_chars = 0;
    double top = 0;
    /* a log axis cannot draw 0: series with zero values are named in the title instead */
    int zero_ws = 0, zero_prep = 0;
    for (size_t g = 0; g < ng; g++) {
        if (best[g] < 0)
            continue;
        size_t b = (size_t)best[g];
        mb_plot_short_label(r, b, &lc, label, sizeof label);
        size_t l = strlen(label);
        snprintf(label + l, sizeof label - l, " %s", impls.items[g % (size_t)impls.n]);
        mb_gp_dat_str(f, label);
        label_chars = (int)strlen(label) > label_chars ? (int)strlen(label) : label_chars;
        const int cols[] = {r->c.weights, r->c.workspace, r->c.prepare_bytes, r->c.rss};
        for (int k = 0; k < 4; k++) {
            double v = mb_results_num(r, b, cols[k]) / MIB;
            top = isfinite(v) && v > top ? v : top;
        }
        double ws = mb_results_num(r, b, r->c.workspace);
        double prep = mb_results_num(r, b, r->c.prepare_bytes);
        zero_ws |= ws == 0;
        zero_prep |= prep == 0;
        /* prepare can free more than it allocates: a negative difference is no bar either */
        if (prep < 0)
            prep = 0, zero_prep = 1;
        put_num(f, mb_results_num(r, b, r->c.weights) / MIB);
        put_num(f, ws / MIB);
        put_num(f, prep / MIB);
        put_num(f, mb_results_num(r, b, r->c.rss) / MIB);
        fputc('\n', f);
        groups++;
    }
    fclose(f);
    rc = 1;
    if (!groups)
        mb_plot_out_remove(o, "memory.dat");
    if (groups) {
        mb_gp_buf gp = {0};
        mb_gp_printf(&gp, "datafile = \"memory.dat\"\nmem_top = %.6g\nlabel_chars = %d\n",
                     top > 0 ? top : 1, label_chars);
        char title[300];
        snprintf(title, sizeof title, "%s%s%s%s%s%s", o->fig_w > 0 ? "Memory at the largest T"
                 : "Memory per case and implementation (at the largest T of each case)",
                 zero_ws || zero_prep ? (o->fig_w > 0 ? " (log axis: zero " : "\n(log axis: zero ")
                 : "",
                 zero_ws ? "workspace" : "", zero_ws && zero_prep ? " and zero " : "",
                 zero_prep ? "prepared" : "", zero_ws || zero_prep ? " not drawn)" : "");
        mb_gp_title(&gp, o, title);
        int pp = mb_plot_per_page(o, MB_GROUPS_PER_PAGE, 0.3);   /* 4 bars of a figure */
        int per = groups < pp ? groups : pp;
        double h0 = o->fig_h;
        o->fig_h = mb_plot_grow_h(o, label_chars, 0.71);   /* labels at 45 degrees */
        rc = mb_plot_render_paged(o, "memory", "memory", gp.s, mb_chart_width(per, 40),
                                  MB_CHART_H, groups, pp, "groups", err, n);
        o->fig_h = h0;
        mb_gp_free(&gp);
    }
    mb_label_ctx_free(&lc);
out:
    free(best);
    mb_strlist_free(&panels);
    mb_strlist_free(&impls);
    return rc;
}

/* Expert load: routing is the same for every correct implementation, so one ok row per case
 * (naive preferred: the last naive row of the case) stands for the case, in the order of the
 * file (variant, then T). */
int mb_chart_experts(const mb_results *r, mb_plot_out *o, char *err, size_t n)
{
    mb_strlist panels, cases = {0};
    mb_plot_panels(r, &panels);
    mb_label_ctx lc;
    size_t nr = mb_results_nrows(r);
    long *use = malloc((nr ? nr : 1) * sizeof *use);
    int rc = -1;
    if (!use || mb_label_ctx_init(&lc, &panels)) {
        snprintf(err, n, "out of memory");
        free(use);
        mb_strlist_free(&panels);
        return -1;
    }
    char key[1400], label[1400];
    for (size_t i = 0; i < nr; i++) {
        if (!mb_results_ok(r, i) || !isfinite(mb_results_num(r, i, r->c.load_max)))
            continue;
        mb_results_case(r, i, key, sizeof key);
        int had = cases.n, c = mb_strlist_add(&cases, key);
        if (c < 0)
            goto out;
        if (c == had || !strcmp(mb_results_str(r, i, r->c.impl), "naive"))
            use[c] = (long)i;
    }
    FILE *f = mb_plot_out_open(o, "expert_load.dat");
    if (!f) {
        snprintf(err, n, "expert_load.dat: cannot write");
        goto out;
    }
    fprintf(f, "# label expert_load_max aux_loss k(balanced aux_loss)\n");
    /* every expert's count of each case (expert_counts), in expert_load_max's unit: one line
     * "case expert load" per expert, drawn as points over the case's bar */
    FILE *fe = mb_plot_out_open(o, "expert_counts.dat");
    if (!fe) {
        fclose(f);
        snprintf(err, n, "expert_counts.dat: cannot write");
        goto out;
    }
    fprintf(fe, "# case expert load(count / (T*k/E))\n");
    double load_top = 0, aux_top = 0;
    int label_chars = 0;
    double *loads = malloc((size_t)(cases.n ? cases.n : 1) * sizeof *loads);
    double *auxs = malloc((size_t)(cases.n ? cases.n : 1) * sizeof *auxs);
    if (!loads || !auxs) {
        fclose(f);
        free(loads);
        free(auxs);
        snprintf(err, n, "out of memory");
        goto out;
    }
    int n_counts = 0;
    for (int c = 0; c < cases.n; c++) {
        size_t i = (size_t)use[c];
        mb_plot_short_label(r, i, &lc, label, sizeof label);
        mb_gp_dat_str(f, label);
        label_chars = (int)strlen(label) > label_chars ? (int)strlen(label) : label_chars;
        double load = mb_results_num(r, i, r->c.load_max), aux = mb_results_num(r, i, r->c.aux_loss);
        loads[c] = load;
        auxs[c] = aux;
        double k = mb_results_num(r, i, r->c.k);
        put_num(f, load);
        put_num(f, aux);
        put_num(f, k);
        fputc('\n', f);
        load_top = isfinite(load) && load > load_top ? load : load_top;
        aux_top = isfinite(aux) && aux > aux_top ? aux : aux_top;
        aux_top = isfinite(k) && k > aux_top ? k : aux_top;
        const double T = mb_results_num(r, i, r->c.T), E = mb_results_num(r, i, r->c.E);
        const char *cs = mb_results_str(r, i, r->c.expert_counts);
        for (int e = 0; *cs && isfinite(T * k * E) && T * k > 0; e++) {
            char *end;
            double cnt = strtod(cs, &end);
            if (end == cs)
                break;
            double v = cnt * E / (T * k);
            fprintf(fe, "%d %d %.9g\n", c, e, v);
            load_top = v > load_top ? v : load_top;
            n_counts++;
            cs = *end == ';' ? end + 1 : end;
        }
    }
    fclose(f);
    fclose(fe);
    if (!n_counts)
        mb_plot_out_remove(o, "expert_counts.dat");
    rc = 1;
    if (!cases.n)
        mb_plot_out_remove(o, "expert_load.dat");
    if (cases.n) {
        mb_gp_buf gp = {0};
        /* an outlier cuts the axis (mb_bar_cut) rather than flattening every other bar; the
         * balanced marks (1, k) stay on the axis */
        double load_cap = mb_bar_cut(loads, (size_t)cases.n);
        double aux_cap = mb_bar_cut(auxs, (size_t)cases.n);
        for (int c = 0; c < cases.n; c++) {
            double k = mb_results_num(r, (size_t)use[c], r->c.k);
            if (aux_cap > 0 && isfinite(k) && k * 1.15 > aux_cap)
                aux_cap = k * 1.15;
        }
        if (load_cap > 0 && load_cap < 1.15)
            load_cap = 1.15;
        mb_gp_printf(&gp, "datafile = \"expert_load.dat\"\nload_top = %.6g\naux_top = %.6g\n"
                     "load_cap = %.6g\naux_cap = %.6g\nlabel_chars = %d\ncountsfile = \"%s\"\n",
                     load_top, aux_top, load_cap, aux_cap, label_chars,
                     n_counts ? "expert_counts.dat" : "");
        int pp = mb_plot_per_page(o, MB_GROUPS_PER_PAGE, 0.16);
        int per = cases.n < pp ? cases.n : pp;
        double h0 = o->fig_h;
        o->fig_h = mb_plot_grow_h(o, label_chars, 0.71);
        if (o->fig_h > h0)
            o->fig_h += 1.0;   /* two panels */
        rc = mb_plot_render_paged(o, "expert_load", "expert_load", gp.s, mb_chart_width(per, 24),
                                  MB_CHART_H, cases.n, pp, "cases", err, n);
        o->fig_h = h0;
        mb_gp_free(&gp);
    }
    free(loads);
    free(auxs);
out:
    free(use);
    mb_label_ctx_free(&lc);
    mb_strlist_free(&cases);
    mb_strlist_free(&panels);
    return rc;
}

/* The unit of a counter column (ctr_ + sanitized event name). case_exec.c counts a separate pass
 * of iters forwards and mb_counters_stop divides by iters: every value is per forward call.
 * perf's task-clock and cpu-clock count nanoseconds; everything else counts events. */
const char *mb_counter_unit(const char *column)
{
    const char *c = strncmp(column, "ctr_", 4) ? column : column + 4;
    if (!strncmp(c, "moebench_", 9)) {   /* the kernels' own counts (SDE) */
        if (strstr(c, "flops"))
            return "FLOPs per forward";
        if (strstr(c, "bytes"))
            return "bytes per forward";
        if (strstr(c, "experts"))
            return "experts per forward";
        if (strstr(c, "rows"))
            return "rows per forward";
        return "calls per forward";
    }
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
    mb_strlist panels, impls, cases = {0}, names = {0};
    mb_plot_panels(r, &panels);
    mb_plot_impls(r, 1, &impls);
    mb_label_ctx lc;
    size_t nr = t->nrows;
    /* per ok row: its case (match key) and implementation; per case its first row (label) */
    int *row_case = malloc((nr ? nr : 1) * sizeof *row_case);
    int *row_impl = malloc((nr ? nr : 1) * sizeof *row_impl);
    size_t *first = malloc((nr ? nr : 1) * sizeof *first);
    int nv = impls.n < 64 ? impls.n : 64;
    double *vals = malloc((nr ? nr : 1) * (size_t)(nv ? nv : 1) * sizeof *vals);
    FILE *f = NULL;
    int rc = -1;
    if (mb_label_ctx_init(&lc, &panels) || !row_case || !row_impl || !first || !vals) {
        snprintf(err, n, "out of memory");
        goto out;
    }
    char key[1400], label[1400];
    for (size_t i = 0; i < nr; i++) {
        row_case[i] = -1;
        if (!mb_results_ok(r, i))
            continue;
        mb_results_match_key(r, i, key, sizeof key);
        int had = cases.n, c = mb_strlist_add(&cases, key);
        if (c < 0) {
            snprintf(err, n, "out of memory");
            goto out;
        }
        if (c == had)
            first[c] = i;
        row_case[i] = c;
        row_impl[i] = mb_strlist_find(&impls, mb_results_str(r, i, r->c.impl));
    }
    f = mb_plot_out_open(o, "counters.dat");
    if (!f) {
        snprintf(err, n, "counters.dat: cannot write");
        goto out;
    }
    int logy[MAX_COUNTER_PANELS], label_chars = 0;
    double cut[MAX_COUNTER_PANELS], div[MAX_COUNTER_PANELS];
    const char *time_unit[MAX_COUNTER_PANELS];
    for (int k = 0; k < nctr; k++) {
        /* a time counter (ns per forward) in the unit asked for; auto keeps ns */
        time_unit[k] = NULL;
        div[k] = 1;
        if (!strcmp(mb_counter_unit(t->header[ctr[k]]), "ns per forward") &&
            o->units != MB_PLOT_UNITS_AUTO) {
            div[k] = o->units == MB_PLOT_UNITS_MS ? 1e6 : 1e3;
            time_unit[k] = o->units == MB_PLOT_UNITS_MS ? "ms per forward" : "µs per forward";
        }
        /* a log axis only when every value is positive: software counters are often 0 */
        logy[k] = 1;
        for (size_t i = 0; i < nr; i++) {
            double v = mb_results_num(r, i, ctr[k]);
            if (mb_results_ok(r, i) && isfinite(v) && v <= 0)
                logy[k] = 0;
        }
        mb_strlist_add(&names, t->header[ctr[k]] + 4);
        fprintf(f, "# counter ");
        mb_gp_dat_text(f, t->header[ctr[k]]);
        fprintf(f, " per forward: label, then one column per implementation\n");
        for (size_t v = 0; v < (size_t)cases.n * (size_t)nv; v++)
            vals[v] = NAN;
        for (size_t i = 0; i < nr; i++) {   /* the last row of (case, impl) wins */
            int s = row_case[i] >= 0 ? row_impl[i] : -1;
            if (s >= 0 && s < nv)
                vals[(size_t)row_case[i] * (size_t)nv + (size_t)s] = mb_results_num(r, i, ctr[k]);
        }
        for (int c = 0; c < cases.n; c++) {
            mb_plot_short_label(r, first[c], &lc, label, sizeof label);
            mb_gp_dat_str(f, label);
            label_chars = (int)strlen(label) > label_chars ? (int)strlen(label) : label_chars;
            for (int s = 0; s < nv; s++)
                put_num(f, vals[(size_t)c * (size_t)nv + (size_t)s] / div[k]);
            fputc('\n', f);
        }
        /* a linear axis may cut outliers; a log axis shows them anyway */
        cut[k] = logy[k] ? 0 : mb_bar_cut(vals, (size_t)cases.n * (size_t)nv) / div[k];
        fprintf(f, "\n\n");
    }
    fclose(f);
    mb_gp_buf gp = {0};
    int rows, cols;
    mb_plot_grid(nctr, &rows, &cols);
    if (o->fig_w > 0 && o->fig_w < 5) {   /* a column's figure: the panels one above another */
        rows = nctr;
        cols = 1;
    }
    mb_gp_printf(&gp, "datafile = \"counters.dat\"\nrows = %d\ncols = %d\nlabel_chars = %d\n",
                 rows, cols, label_chars);
    mb_gp_array(&gp, "counter", &names);
    /* one unit per panel (not an mb_strlist: that keeps each string once) */
    mb_gp_printf(&gp, "array unit[%d]\n", nctr);
    for (int k = 0; k < nctr; k++) {
        char q[96];
        mb_gp_quote(time_unit[k] ? time_unit[k] : mb_counter_unit(t->header[ctr[k]]), q,
                    sizeof q);
        mb_gp_printf(&gp, "unit[%d] = %s\n", k + 1, q);
    }
    char title[700];
    snprintf(title, sizeof title, "Counters per forward%s%.500s%s",
             *zero ? " (zero everywhere: " : "", zero, *zero ? ")" : "");
    mb_gp_title(&gp, o, title);
    /* per panel: log axis, the cut of a linear one (0: none), and the range of its values */
    mb_gp_printf(&gp, "array logy[%d]\narray cut[%d]\narray vlo[%d]\narray vhi[%d]\n", nctr,
                 nctr, nctr, nctr);
    for (int k = 0; k < nctr; k++) {
        double lo = INFINITY, hi = 0;
        for (size_t i = 0; i < nr; i++) {
            double v = mb_results_num(r, i, ctr[k]) / div[k];
            if (mb_results_ok(r, i) && isfinite(v) && v > 0) {
                lo = fmin(lo, v);
                hi = fmax(hi, v);
            }
        }
        mb_gp_printf(&gp, "logy[%d] = %d; cut[%d] = %.6g; vlo[%d] = %.6g; vhi[%d] = %.6g\n",
                     k + 1, logy[k], k + 1, cut[k], k + 1, hi > 0 ? lo : 1, k + 1,
                     hi > 0 ? hi : 1);
    }
    mb_gp_impl_array(&gp, &impls);
    /* a figure: the panels side by side share its width */
    int pp = mb_plot_per_page(o, MB_COUNTER_CASES_PER_PAGE, 0.09 * impls.n * cols + 0.05);
    int per = cases.n < pp ? cases.n : pp;
    double h0 = o->fig_h;
    o->fig_h = mb_plot_grow_h(o, label_chars, 0.71);
    if (o->fig_h > h0)
        o->fig_h += (rows - 1) * (1.3 + 0.3 + label_chars * 0.067 * 0.71);   /* every row */
    rc = mb_plot_render_paged(o, "counters", "counters", gp.s, mb_chart_width(cols * per, 24),
                              MB_CHART_H, cases.n, pp, "cases", err, n);
    o->fig_h = h0;
    mb_gp_free(&gp);
out:
    mb_label_ctx_free(&lc);
    free(row_case);
    free(row_impl);
    free(first);
    free(vals);
    mb_strlist_free(&names);
    mb_strlist_free(&panels);
    mb_strlist_free(&impls);
    mb_strlist_free(&cases);
    return rc;
}
