/* The roofline chart of a run: every ok case as a point (arithmetic intensity = flops / bytes
 * of the cost model, achieved GFLOP/s), one marker per implementation, under the ceilings of the
 * run (run.json "roofline") or of this machine (results/roofline.json), or none, said so in the
 * title. */
#include "plot_series.h"
#include "roofline_file.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Ceilings: from the run itself first; this machine's file is only a fallback. run.json may
 * keep only peak and DRAM and name the roofline.json they came from: while that file still holds
 * the same numbers, it gives every level and the one-thread ceilings too. */
static const char *find_ceilings(const mb_results *r, int single_thread, mb_ceilings *c)
{
    const cJSON *rl = cJSON_GetObjectItemCaseSensitive(r->run, "roofline");
    mb_ceilings all, file_all;
    if (rl && cJSON_IsObject(rl) && mb_ceilings_from_json(rl, 0, &all) == 0) {
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(rl, "source");
        int same = cJSON_IsString(src) &&
                   mb_ceilings_from_file(src->valuestring, 0, &file_all) == 0 &&
                   fabs(file_all.peak - all.peak) <= 1e-6 * all.peak &&
                   (all.nbw == 0 ||
                    (file_all.nbw > 0 && fabs(file_all.bw[0] - all.bw[0]) <= 1e-6 * all.bw[0]));
        if (same && mb_ceilings_from_file(src->valuestring, single_thread, c) == 0)
            return "ceilings from the roofline.json named in run.json";
        if (mb_ceilings_from_json(rl, single_thread, c) == 0)
            return "ceilings from run.json";
    }
    if (mb_ceilings_from_file(mb_roofline_default_path(), single_thread, c) == 0)
        return "ceilings from results/roofline.json (this machine, not necessarily the run's)";
    return NULL;
}

typedef struct {
    double ai, g, T, lo;   /* lo: the lowest point of the column */
} label;

static int cmp_ai(const void *x, const void *y)
{
    const label *a = x, *b = y;
    return (a->ai > b->ai) - (a->ai < b->ai);
}

/* by T, then intensity */
static int cmp_label(const void *x, const void *y)
{
    const label *a = x, *b = y;
    if (a->T != b->T)
        return (a->T > b->T) - (a->T < b->T);
    return (a->ai > b->ai) - (a->ai < b->ai);
}

int mb_chart_roofline(const mb_results *r, mb_plot_out *o, char *err, size_t n)
{
    mb_strlist impls;
    mb_plot_impls(r, 1, &impls);
    size_t nr = mb_results_nrows(r);
    int single = 1;
    for (size_t i = 0; i < nr; i++)
        if (mb_results_num(r, i, r->c.threads) != 1)
            single = 0;

    FILE *f = mb_plot_out_open(o, "roofline.dat");
    label *labels = malloc((nr ? nr : 1) * sizeof *labels);
    if (!f || !labels) {
        snprintf(err, n, "roofline.dat: cannot write");
        if (f)
            fclose(f);
        free(labels);
        mb_strlist_free(&impls);
        return -1;
    }
    double ai_min = INFINITY, ai_max = 0, g_min = INFINITY, g_max = 0;
    int pts = 0, own = 0;
    char desc[1024];
    /* the row's own ceiling (cache-aware roofline; absent in runs that predate it) */
    int c_roof = mb_csv_col(&r->csv, "roof_gflops"), c_level = mb_csv_col(&r->csv, "roof_level");
    fprintf(f, "# one block per implementation: AI(flop/byte) GFLOP/s case T own_ceiling_GFLOP/s "
               "level\n");
    for (int s = 0; s < impls.n; s++) {
        int here = 0;
        fprintf(f, "# impl ");
        mb_gp_dat_text(f, impls.items[s]);
        fputc('\n', f);
        for (size_t i = 0; i < nr; i++) {
            if (!mb_results_ok(r, i) || strcmp(mb_results_str(r, i, r->c.impl), impls.items[s]))
                continue;
            double fl = mb_results_num(r, i, r->c.flops), by = mb_results_num(r, i, r->c.bytes);
            double g = mb_results_num(r, i, r->c.gflops);
            if (!isfinite(g))
                g = fl / (mb_results_num(r, i, r->c.med) * 1e3);
            if (!(fl > 0 && by > 0 && g > 0 && isfinite(g)))
                continue;
            double ai = fl / by;
            mb_results_case(r, i, desc, sizeof desc);
            fprintf(f, "%.6g %.6g ", ai, g);
            mb_gp_dat_str(f, desc);
            fprintf(f, " %.6g", mb_results_num(r, i, r->c.T));   /* the point's label */
            double roof = mb_results_num(r, i, c_roof);
            const char *lvl = mb_results_str(r, i, c_level);
            if (roof > 0 && isfinite(roof)) {
                fprintf(f, " %.6g ", roof);
                own++;
                g_max = fmax(g_max, roof);
            } else
                fprintf(f, " NaN ");
            mb_gp_dat_str(f, lvl[0] ? lvl : "-");
            fputc('\n', f);
            ai_min = fmin(ai_min, ai);
            ai_max = fmax(ai_max, ai);
            g_min = fmin(g_min, g);
            g_max = fmax(g_max, g);
            here++;
        }
        if (!here)
            fprintf(f, "NaN NaN \"\" NaN NaN \"-\"\n");
        fprintf(f, "\n\n");
        pts += here;
    }
    mb_ceilings c;
    memset(&c, 0, sizeof c);
    const char *src = find_ceilings(r, single, &c);
    /* x range: the points and, with ceilings, the ridge points, with a margin */
    double lo = ai_min / 4, hi = ai_max * 4;
    if (src)
        for (int i = 0; i < c.nbw; i++)
            if (c.bw[i] > 0) {
                lo = fmin(lo, c.peak / c.bw[i] / 4);
                hi = fmax(hi, c.peak / c.bw[i] * 4);
            }
    double ylo = g_min / 4, yhi = fmax(g_max, src ? c.peak : 0) * 3;
    /* the T labels: one per case column (all implementations of a case share its intensity),
     * above its highest point; cases of the same T within 15 %% of intensity share a label */
    fprintf(f, "# labels: AI(flop/byte) GFLOP/s T place(1 above, -1 below), one per case column\n");
    int nlab = 0;
    for (size_t i = 0; i < nr; i++) {
        double fl = mb_results_num(r, i, r->c.flops), by = mb_results_num(r, i, r->c.bytes);
        double g = mb_results_num(r, i, r->c.gflops), T = mb_results_num(r, i, r->c.T);
        if (!isfinite(g))
            g = fl / (mb_results_num(r, i, r->c.med) * 1e3);
        if (!mb_results_ok(r, i) || !(fl > 0 && by > 0 && g > 0 && isfinite(g) && isfinite(T)))
            continue;
        labels[nlab++] = (label){fl / by, g, T, g};
    }
    qsort(labels, (size_t)nlab, sizeof *labels, cmp_label);
    int nout = 0;
    for (int a = 0; a < nlab;) {
        int b = a;
        label m = labels[a];
        while (b + 1 < nlab && labels[b + 1].T == labels[a].T &&
               labels[b + 1].ai <= labels[a].ai * 1.15) {
            b++;
            m.g = fmax(m.g, labels[b].g);
            m.lo = fmin(m.lo, labels[b].g);
        }
        m.ai = sqrt(labels[a].ai * labels[b].ai);
        labels[nout++] = m;
        a = b + 1;
    }
    /* a column close to the previous labelled one (another T at about the same intensity)
     * takes its label below its lowest point, so the two labels do not overprint; one close to
     * both gets none */
    qsort(labels, (size_t)nout, sizeof *labels, cmp_ai);
    /* a label is about 5 characters wide: as a factor of intensity on this chart's log axis
     * (a figure: 8 pt text on a plot about fig_w - 1 in wide; screen: 40 px of 1000) */
    double frac = o->fig_w > 0 ? 0.35 / (o->fig_w - 0.95) : 0.04;
    double apart = pow(hi / lo, frac);
    double last_above = -1, last_below = -1;
    for (int k = 0; k < nout; k++) {
        int place = 1;
        if (last_above > 0 && labels[k].ai <= last_above * apart)
            place = last_below > 0 && labels[k].ai <= last_below * apart ? 0 : -1;
        if (place > 0)
            last_above = labels[k].ai;
        else if (place < 0)
            last_below = labels[k].ai;
        else
            continue;   /* both places taken by close neighbours: no label */
        fprintf(f, "%.6g %.6g %.6g %d\n", labels[k].ai, place < 0 ? labels[k].lo : labels[k].g,
                labels[k].T, place);
    }
    fprintf(f, "NaN NaN NaN 0\n");   /* a block that is never empty */
    fclose(f);
    free(labels);
    if (!pts) {
        mb_plot_out_remove(o, "roofline.dat");
        mb_strlist_free(&impls);
        return 1;
    }
    mb_gp_buf gp = {0};
    mb_gp_printf(&gp, "datafile = \"roofline.dat\"\n");
    mb_gp_impl_array(&gp, &impls);
    mb_gp_printf(&gp, "has_ceilings = %d\npeak = %.6g\nnbw = %d\narray bw[%d]\narray bwname[%d]\n",
                 src != NULL, src ? c.peak : 0.0, src ? c.nbw : 0, c.nbw > 0 ? c.nbw : 1,
                 c.nbw > 0 ? c.nbw : 1);
    for (int i = 0; src && i < c.nbw; i++) {
        char var[32];
        mb_gp_printf(&gp, "bw[%d] = %.6g\n", i + 1, c.bw[i]);
        snprintf(var, sizeof var, "bwname[%d]", i + 1);
        mb_gp_var_str(&gp, var, c.bw_name[i]);   /* run.json text */
    }
    mb_gp_printf(&gp, "xlo = %.6g\nxhi = %.6g\nylo = %.6g\nyhi = %.6g\n", lo, hi, ylo, yhi);
    mb_gp_printf(&gp, "has_own = %d\n", own > 0);
    char title[300];
    snprintf(title, sizeof title, "Roofline%s (%s; %s)", o->fig_w > 0 ? "" : ": every ok case",
             single ? "1 thread" : "all threads",
             src ? src : "no ceilings: run moebench roofline to measure them");
    mb_gp_title(&gp, o, title);
    int rc = mb_plot_render(o, "roofline", "roofline", gp.s, MB_ROOFLINE_W, MB_ROOFLINE_H, err, n);
    mb_gp_free(&gp);
    mb_strlist_free(&impls);
    return rc;
}
