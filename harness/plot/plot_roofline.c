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
    if (!f) {
        snprintf(err, n, "roofline.dat: cannot write");
        mb_strlist_free(&impls);
        return -1;
    }
    double ai_min = INFINITY, ai_max = 0, g_min = INFINITY, g_max = 0;
    int pts = 0, own = 0;
    char desc[1024];
    /* the row's own ceiling (cache-aware roofline; absent in runs that predate it) */
    int c_roof = mb_csv_col(&r->csv, "roof_gflops"), c_level = mb_csv_col(&r->csv, "roof_level");
    fprintf(f, "# one block per implementation: AI(flop/byte) GFLOP/s case own_ceiling_GFLOP/s "
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
            fprintf(f, "NaN NaN \"\" NaN \"-\"\n");
        fprintf(f, "\n\n");
        pts += here;
    }
    fclose(f);
    if (!pts) {
        mb_plot_out_remove(o, "roofline.dat");
        mb_strlist_free(&impls);
        return 1;
    }
    mb_ceilings c;
    memset(&c, 0, sizeof c);
    const char *src = find_ceilings(r, single, &c);
    mb_gp_buf gp = {0};
    mb_gp_printf(&gp, "datafile = \"roofline.dat\"\n");
    mb_gp_array(&gp, "impl", &impls);
    mb_gp_printf(&gp, "has_ceilings = %d\npeak = %.6g\nnbw = %d\narray bw[%d]\narray bwname[%d]\n",
                 src != NULL, src ? c.peak : 0.0, src ? c.nbw : 0, c.nbw > 0 ? c.nbw : 1,
                 c.nbw > 0 ? c.nbw : 1);
    for (int i = 0; src && i < c.nbw; i++) {
        char var[32];
        mb_gp_printf(&gp, "bw[%d] = %.6g\n", i + 1, c.bw[i]);
        snprintf(var, sizeof var, "bwname[%d]", i + 1);
        mb_gp_var_str(&gp, var, c.bw_name[i]);   /* run.json text */
    }
    /* x range: the points and, with ceilings, the ridge points, with a margin */
    double lo = ai_min / 4, hi = ai_max * 4;
    if (src)
        for (int i = 0; i < c.nbw; i++)
            if (c.bw[i] > 0) {
                lo = fmin(lo, c.peak / c.bw[i] / 4);
                hi = fmax(hi, c.peak / c.bw[i] * 4);
            }
    double ylo = g_min / 4, yhi = fmax(g_max, src ? c.peak : 0) * 3;
    mb_gp_printf(&gp, "xlo = %.6g\nxhi = %.6g\nylo = %.6g\nyhi = %.6g\n", lo, hi, ylo, yhi);
    mb_gp_printf(&gp, "has_own = %d\n", own > 0);
    char title[300];
    snprintf(title, sizeof title, "Roofline: every ok case (%s; %s)",
             single ? "1 thread" : "all threads",
             src ? src : "no ceilings: run moebench roofline to measure them");
    mb_gp_var_str(&gp, "title_text", title);
    int rc = mb_plot_render(o, "roofline", "roofline", gp.s, MB_ROOFLINE_W, MB_ROOFLINE_H, err, n);
    mb_gp_free(&gp);
    mb_strlist_free(&impls);
    return rc;
}
