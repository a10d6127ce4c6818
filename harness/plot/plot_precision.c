/* Speedup of each precision over f32 (spec "Precision", issue 15): one panel per variant at fixed
 * shapes and precision ("lora:h=4096,o=4096,r=16  bf16+int8"), one line per implementation in
 * its usual colour, y = that implementation's f32 median on the same case without dtype and wq
 * (same threads and cache) over the row's median, over T. Drawn with the speedup template; 1
 * (nothing to draw) when no row has an f32 twin. */
#include "plot_series.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s without its dtype= and wq= fields (fields separated by ',', ':' or ' '). */
static void strip_precision(const char *s, char *out, size_t n)
{
    size_t o = 0;
    const char *p = s;
    while (*p && o + 1 < n) {
        size_t len = strcspn(p, ", ");
        int drop = !strncmp(p, "dtype=", 6) || !strncmp(p, "wq=", 3);
        const char *colon = memchr(p, ':', len);   /* "variant:first=..." */
        if (colon) {
            size_t head = (size_t)(colon - p) + 1;
            snprintf(out + o, n - o, "%.*s", (int)head, p);
            o += strlen(out + o);
            p += head;
            continue;
        }
        if (!drop) {
            if (o && out[o - 1] != ':' && o + 1 < n)
                out[o++] = p[len] == ' ' || !p[len] ? ' ' : ',';
            snprintf(out + o, n - o, "%.*s", (int)len, p);
            o += strlen(out + o);
        }
        p += len;
        if (*p) p++;
    }
    out[o < n ? o : n - 1] = '\0';
    /* a dropped field at the end leaves a separator */
    while (o > 0 && (out[o - 1] == ',' || out[o - 1] == ' ')) out[--o] = '\0';
}

typedef struct {
    double T, y;
} tpoint;

static int cmp_tpoint(const void *a, const void *b)
{
    double x = ((const tpoint *)a)->T, y = ((const tpoint *)b)->T;
    return (x > y) - (x < y);
}

int mb_chart_precision(const mb_results *r, mb_plot_out *o, char *err, size_t n)
{
    const int cdt = mb_csv_col(&r->csv, "dtype"), cwq = mb_csv_col(&r->csv, "wq");
    if (cdt < 0)
        return 1;   /* a run before the dtype axis */
    const size_t nr = mb_results_nrows(r);
    mb_strlist twins = {0}, panels = {0}, series = {0};
    long *twin_row = calloc(nr ? nr : 1, sizeof *twin_row);
    long *panel_of = calloc(nr ? nr : 1, sizeof *panel_of), *series_of = calloc(nr ? nr : 1, sizeof *series_of);
    tpoint *pts = calloc(nr ? nr : 1, sizeof *pts);
    int rc = -1;
    char key[1700], buf[1500];
    if (!twin_row || !panel_of || !series_of || !pts) {
        snprintf(err, n, "out of memory");
        goto out;
    }
    /* the f32 rows without wq, by implementation and match key */
    for (size_t i = 0; i < nr; i++) {
        const char *wq = mb_results_str(r, i, cwq);
        if (!mb_results_ok(r, i) || strcmp(mb_results_str(r, i, cdt), "f32") || (wq[0] && strcmp(wq, "f32")))
            continue;
        snprintf(key, sizeof key, "%s|%s", mb_results_str(r, i, r->c.impl), mb_results_key(r, i));
        int had = twins.n, k = mb_strlist_add(&twins, key);
        if (k == had)
            twin_row[k] = (long)i;
    }
    int any = 0;
    for (size_t i = 0; i < nr; i++) {
        panel_of[i] = series_of[i] = -1;
        const char *dt = mb_results_str(r, i, cdt), *wq = mb_results_str(r, i, cwq);
        const int q = wq[0] && strcmp(wq, "f32");
        if (!mb_results_ok(r, i) || (!strcmp(dt, "f32") && !q))
            continue;
        strip_precision(mb_results_key(r, i), buf, sizeof buf);
        snprintf(key, sizeof key, "%s|%s", mb_results_str(r, i, r->c.impl), buf);
        if (mb_strlist_find(&twins, key) < 0)
            continue;
        mb_results_panel(r, i, key, sizeof key);
        strip_precision(key, buf, sizeof buf);
        snprintf(key, sizeof key, "%s  %s%s%s", buf, strcmp(dt, "f32") ? dt : "",
                 strcmp(dt, "f32") && q ? "+" : "", q ? wq : "");
        panel_of[i] = mb_strlist_add(&panels, key);
        series_of[i] = mb_strlist_add(&series, mb_results_str(r, i, r->c.impl));
        any = 1;
    }
    if (!any) {
        rc = 1;
        goto out;
    }
    FILE *f = mb_plot_out_open(o, "speedup_over_f32.dat");
    if (!f) {
        snprintf(err, n, "speedup_over_f32.dat: cannot write");
        goto out;
    }
    const size_t np = (size_t)panels.n;
    double *ylo = malloc(np * sizeof *ylo), *yhi = malloc(np * sizeof *yhi);
    double *xlo = malloc(np * sizeof *xlo), *xhi = malloc(np * sizeof *xhi);
    if (!ylo || !yhi || !xlo || !xhi) {
        fclose(f);
        free(ylo); free(yhi); free(xlo); free(xhi);
        snprintf(err, n, "out of memory");
        goto out;
    }
    fprintf(f, "# columns: T  speedup(f32 median / median)\n");
    for (int p = 0; p < panels.n; p++) {
        xlo[p] = ylo[p] = INFINITY;
        xhi[p] = yhi[p] = 0;
        for (int s = 0; s < series.n; s++) {
            size_t m = 0;
            for (size_t i = 0; i < nr; i++) {
                if (panel_of[i] != p || series_of[i] != s)
                    continue;
                strip_precision(mb_results_key(r, i), buf, sizeof buf);
                snprintf(key, sizeof key, "%s|%s", mb_results_str(r, i, r->c.impl), buf);
                long b = twin_row[mb_strlist_find(&twins, key)];
                double y = mb_results_num(r, (size_t)b, r->c.med) / mb_results_num(r, i, r->c.med);
                double T = mb_results_num(r, i, r->c.T);
                if (isfinite(y) && y > 0 && isfinite(T))
                    pts[m++] = (tpoint){T, y};
            }
            qsort(pts, m, sizeof *pts, cmp_tpoint);
            fprintf(f, "# panel %d (", p + 1);
            mb_gp_dat_text(f, panels.items[p]);
            fprintf(f, ") series ");
            mb_gp_dat_text(f, series.items[s]);
            fputc('\n', f);
            if (!m)
                fprintf(f, "NaN NaN\n");
            for (size_t k = 0; k < m; k++) {
                fprintf(f, "%.6g %.6g\n", pts[k].T, pts[k].y);
                xlo[p] = fmin(xlo[p], pts[k].T); xhi[p] = fmax(xhi[p], pts[k].T);
                ylo[p] = fmin(ylo[p], pts[k].y); yhi[p] = fmax(yhi[p], pts[k].y);
            }
            fprintf(f, "\n\n");
        }
    }
    fclose(f);
    mb_gp_buf gp = {0};
    mb_gp_printf(&gp, "datafile = \"speedup_over_f32.dat\"\n");
    mb_gp_panel_array(&gp, &panels, 0);
    mb_gp_impl_array(&gp, &series);
    mb_gp_var_str(&gp, "base", "f32 (same implementation)");
    mb_gp_printf(&gp, "array pxlo[%zu]\narray pxhi[%zu]\narray pylo[%zu]\narray pyhi[%zu]\n",
                 np, np, np, np);
    for (size_t p = 0; p < np; p++) {
        int has = yhi[p] > 0;
        mb_gp_printf(&gp, "pxlo[%zu] = %.6g; pxhi[%zu] = %.6g; pylo[%zu] = %.6g; pyhi[%zu] = %.6g\n",
                     p + 1, has ? xlo[p] : 1, p + 1, has ? xhi[p] : 1, p + 1, has ? ylo[p] : 1,
                     p + 1, has ? yhi[p] : 1);
    }
    free(ylo); free(yhi); free(xlo); free(xhi);
    rc = mb_plot_render_paged(o, "speedup_over_f32", "speedup", gp.s, MB_CHART_W, MB_CHART_H,
                              panels.n, mb_plot_panels_per_page(o, MB_PANELS_PER_PAGE), "panels",
                              err, n);
    mb_gp_free(&gp);
out:
    free(twin_row);
    free(panel_of);
    free(series_of);
    free(pts);
    mb_strlist_free(&twins);
    mb_strlist_free(&panels);
    mb_strlist_free(&series);
    return rc;
}
