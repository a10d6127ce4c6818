/* Charts over the token count T, one panel per variant at fixed shapes and one line per
 * implementation: latency (with the 95 % CI of the median as error bars) and the speedup over a
 * base implementation (naive or blas). */
#include "plot_series.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double T, y, lo, hi;
} point;

static int cmp_point(const void *a, const void *b)
{
    double x = ((const point *)a)->T, y = ((const point *)b)->T;
    return (x > y) - (x < y);
}

/* Writes NAME.dat: one block per (panel, impl), (p-1)*nimpl + s - 1 in gnuplot's index order,
 * columns T, y, y_lo, y_hi. base == NULL: latency; else speedup over base. Returns the number
 * of points, -1 when out of memory. Rows are bucketed by (panel, impl) once, and the base row of
 * a case is found by its match key in a hash: linear in the rows. */
/* Per panel, the range of its points (x: T; y: with the CI), for the tick format of each
 * log axis; and every y, for the automatic time unit. */
typedef struct {
    double *xlo, *xhi, *ylo, *yhi, *ys;
    size_t nys;
} ranges;

static void widen(double *lo, double *hi, double v)
{
    if (isfinite(v) && v > 0) {
        *lo = fmin(*lo, v);
        *hi = fmax(*hi, v);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int write_blocks(const mb_results *r, const char *base, const mb_strlist *panels,
                        const mb_strlist *impls, FILE *f, ranges *rg)
{
    size_t nr = mb_results_nrows(r), ng = (size_t)panels->n * (size_t)impls->n;
    point *pts = malloc((nr ? nr : 1) * sizeof *pts);
    size_t *start = calloc(ng + 1, sizeof *start), *fill = calloc(ng + 1, sizeof *fill);
    size_t *order = malloc((nr ? nr : 1) * sizeof *order);
    long *group = malloc((nr ? nr : 1) * sizeof *group), *base_row = NULL;
    mb_strlist base_keys = {0};
    int total = -1;
    if (!pts || !start || !fill || !order || !group)
        goto out;
    char key[1400];
    if (base) {   /* the first ok row of each match key with the base implementation */
        base_row = malloc((nr ? nr : 1) * sizeof *base_row);
        if (!base_row)
            goto out;
        for (size_t i = 0; i < nr; i++) {
            if (!mb_results_ok(r, i) || strcmp(mb_results_str(r, i, r->c.impl), base))
                continue;
            mb_results_match_key(r, i, key, sizeof key);
            int had = base_keys.n, k = mb_strlist_add(&base_keys, key);
            if (k < 0)
                goto out;
            if (k == had)
                base_row[k] = (long)i;
        }
    }
    char panel[1200];
    for (size_t i = 0; i < nr; i++) {
        group[i] = -1;
        if (!mb_results_ok(r, i))
            continue;
        int s = mb_strlist_find(impls, mb_results_str(r, i, r->c.impl));
        mb_results_panel(r, i, panel, sizeof panel);
        int p = mb_strlist_find(panels, panel);
        if (s < 0 || p < 0)
            continue;
        group[i] = (long)p * impls->n + s;
        start[group[i] + 1]++;
    }
    for (size_t g = 0; g < ng; g++)
        start[g + 1] += start[g];
    for (size_t i = 0; i < nr; i++)
        if (group[i] >= 0)
            order[start[group[i]] + fill[group[i]]++] = i;
    total = 0;
    fprintf(f, "# columns: T  %s  lo  hi\n",
            base ? "speedup(base median / median)" : "median_us  ci_lo_us  ci_hi_us");
    for (int p = 0; p < panels->n; p++)
        for (int s = 0; s < impls->n; s++) {
            size_t g = (size_t)p * (size_t)impls->n + (size_t)s, np = 0;
            for (size_t k = start[g]; k < start[g + 1]; k++) {
                size_t i = order[k];
                point pt = {mb_results_num(r, i, r->c.T), mb_results_num(r, i, r->c.med),
                            mb_results_num(r, i, r->c.ci_lo), mb_results_num(r, i, r->c.ci_hi)};
                if (base) {
                    mb_results_match_key(r, i, key, sizeof key);
                    int b = mb_strlist_find(&base_keys, key);
                    if (b < 0)
                        continue;
                    double bt = mb_results_num(r, (size_t)base_row[b], r->c.med);
                    pt.y = bt / pt.y;
                    pt.lo = pt.hi = pt.y;
                }
                if (!isfinite(pt.lo))
                    pt.lo = pt.y;
                if (!isfinite(pt.hi))
                    pt.hi = pt.y;
                if (isfinite(pt.T) && isfinite(pt.y) && pt.y > 0)
                    pts[np++] = pt;
            }
            qsort(pts, np, sizeof *pts, cmp_point);
            fprintf(f, "# panel %d (", p + 1);
            mb_gp_dat_text(f, panels->items[p]);
            fprintf(f, ") impl ");
            mb_gp_dat_text(f, impls->items[s]);
            fputc('\n', f);
            if (!np)
                fprintf(f, "NaN NaN NaN NaN\n");
            for (size_t k = 0; k < np; k++) {
                fprintf(f, "%.6g %.6g %.6g %.6g\n", pts[k].T, pts[k].y, pts[k].lo, pts[k].hi);
                widen(&rg->xlo[p], &rg->xhi[p], pts[k].T);
                widen(&rg->ylo[p], &rg->yhi[p], pts[k].y);
                widen(&rg->ylo[p], &rg->yhi[p], pts[k].lo);
                widen(&rg->ylo[p], &rg->yhi[p], pts[k].hi);
                rg->ys[rg->nys++] = pts[k].y;
            }
            fprintf(f, "\n\n");
            total += (int)np;
        }
out:
    free(pts);
    free(start);
    free(fill);
    free(order);
    free(group);
    free(base_row);
    mb_strlist_free(&base_keys);
    return total;
}

static int chart(const mb_results *r, const char *base, mb_plot_out *o, char *err, size_t n)
{
    mb_strlist panels, impls;
    mb_plot_panels(r, &panels);
    if (base) {
        /* only panels with a base row have a speedup to draw: a panel of cases the base
         * skipped (bf16 rows on a BLAS without sbgemm) would be an empty log axis, which
         * gnuplot refuses */
        mb_strlist with = {0}, kept = {0};
        char pn[1200];
        for (size_t i = 0; i < mb_results_nrows(r); i++)
            if (mb_results_ok(r, i) && !strcmp(mb_results_str(r, i, r->c.impl), base)) {
                mb_results_panel(r, i, pn, sizeof pn);
                mb_strlist_add(&with, pn);
            }
        for (int p = 0; p < panels.n; p++)
            if (mb_strlist_find(&with, panels.items[p]) >= 0)
                mb_strlist_add(&kept, panels.items[p]);
        mb_strlist_free(&with);
        mb_strlist_free(&panels);
        panels = kept;
    }
    mb_plot_impls(r, 1, &impls);
    char name[64];
    if (base)
        snprintf(name, sizeof name, "speedup_over_%s", base);
    else
        snprintf(name, sizeof name, "latency");
    char dat[80];
    snprintf(dat, sizeof dat, "%s.dat", name);
    int rc = 1;
    ranges rg = {0};
    size_t np = panels.n > 0 ? (size_t)panels.n : 1, nr = mb_results_nrows(r);
    FILE *f = mb_plot_out_open(o, dat);
    if (!f) {
        snprintf(err, n, "%s: cannot write", dat);
        rc = -1;
        goto out;
    }
    rg.xlo = malloc(np * sizeof(double));
    rg.xhi = malloc(np * sizeof(double));
    rg.ylo = malloc(np * sizeof(double));
    rg.yhi = malloc(np * sizeof(double));
    rg.ys = malloc((nr ? nr : 1) * sizeof(double));
    int pts = -1;
    if (rg.xlo && rg.xhi && rg.ylo && rg.yhi && rg.ys) {
        for (size_t p = 0; p < np; p++)
            rg.xlo[p] = rg.ylo[p] = INFINITY, rg.xhi[p] = rg.yhi[p] = 0;
        pts = write_blocks(r, base, &panels, &impls, f, &rg);
    }
    fclose(f);
    if (pts < 0) {
        snprintf(err, n, "out of memory");
        rc = -1;
        goto out;
    }
    if (pts == 0) { /* e.g. no naive rows: nothing to compare with */
        mb_plot_out_remove(o, dat);
        goto out;
    }
    mb_gp_buf gp = {0};
    mb_gp_printf(&gp, "datafile = \"%s\"\n", dat);
    int per_page = mb_plot_panels_per_page(o, MB_PANELS_PER_PAGE), wrap = 0;
    if (o->fig_w > 0) {   /* the columns the template lays a page out in (latency.gp) */
        int count = panels.n < per_page ? panels.n : per_page;
        int cols = (int)ceil(sqrt(count * o->fig_w / o->fig_h / 1.4));
        cols = cols > count ? count : cols < 1 ? 1 : cols;
        wrap = (int)((o->fig_w / cols - 0.35) / 0.068);
    }
    mb_gp_panel_array(&gp, &panels, wrap);
    mb_gp_impl_array(&gp, &impls);
    if (base)
        mb_gp_var_str(&gp, "base", base);
    /* the data stay in µs; the axis shows the chosen unit (auto: ms when the median point is
     * a millisecond or more) */
    int ms = o->units == MB_PLOT_UNITS_MS;
    if (o->units == MB_PLOT_UNITS_AUTO && rg.nys) {
        qsort(rg.ys, rg.nys, sizeof *rg.ys, cmp_double);
        ms = rg.ys[rg.nys / 2] >= 1000;
    }
    double div = base ? 1 : ms ? 1000 : 1;
    mb_gp_printf(&gp, "unit_div = %g\n", div);
    mb_gp_var_str(&gp, "unit_name", ms ? "ms" : "µs");
    /* per panel: the range of its points (in the axis unit), for the log tick format */
    mb_gp_printf(&gp, "array pxlo[%zu]\narray pxhi[%zu]\narray pylo[%zu]\narray pyhi[%zu]\n", np,
                 np, np, np);
    for (size_t p = 0; p < (size_t)panels.n; p++) {
        int any = rg.yhi[p] > 0;
        mb_gp_printf(&gp, "pxlo[%zu] = %.6g; pxhi[%zu] = %.6g; pylo[%zu] = %.6g; "
                     "pyhi[%zu] = %.6g\n", p + 1, any ? rg.xlo[p] : 1, p + 1,
                     any ? rg.xhi[p] : 1, p + 1, any ? rg.ylo[p] / div : 1, p + 1,
                     any ? rg.yhi[p] / div : 1);
    }
    rc = mb_plot_render_paged(o, name, base ? "speedup" : "latency", gp.s, MB_CHART_W,
                              MB_CHART_H, panels.n, per_page, "panels", err, n);
    mb_gp_free(&gp);
out:
    free(rg.xlo);
    free(rg.xhi);
    free(rg.ylo);
    free(rg.yhi);
    free(rg.ys);
    mb_strlist_free(&panels);
    mb_strlist_free(&impls);
    return rc;
}

int mb_chart_latency(const mb_results *r, mb_plot_out *o, char *err, size_t n)
{
    return chart(r, NULL, o, err, n);
}

int mb_chart_speedup(const mb_results *r, const char *base, mb_plot_out *o, char *err, size_t n)
{
    return chart(r, base, o, err, n);
}
