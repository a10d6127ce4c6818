/* The pivot table of one run (see results_table.h). */
#include "results_table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const pivot_names[] = {"impl", "threads", "cache"};

int mb_pivot_parse(const char *s, mb_pivot *p)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, pivot_names[i])) {
            *p = (mb_pivot)i;
            return 0;
        }
    return -1;
}

/* Index of s in list[0..n), appended when absent; -1 when out of memory. */
static int intern(char ***list, int *n, int *cap, const char *s)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp((*list)[i], s))
            return i;
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 16;
        char **l = realloc(*list, (size_t)c * sizeof *l);
        if (!l)
            return -1;
        *list = l;
        *cap = c;
    }
    if (!((*list)[*n] = strdup(s)))
        return -1;
    return (*n)++;
}

/* A number as a paper prints it: about four significant digits, no exponent below 1e6. */
static void fmt_num(double v, char *out, size_t n)
{
    double a = fabs(v);
    if (!isfinite(v))
        snprintf(out, n, "n/a");
    else if (a >= 1e6 || (a > 0 && a < 1e-3))
        snprintf(out, n, "%.3g", v);
    else if (a >= 100)
        snprintf(out, n, "%.0f", v);
    else if (a >= 10)
        snprintf(out, n, "%.1f", v);
    else if (a >= 1)
        snprintf(out, n, "%.2f", v);
    else
        snprintf(out, n, "%.3f", v);
}

int mb_results_table(const mb_results *res, const mb_table_opts *o, mb_format fmt, FILE *f,
                     char *err, size_t n)
{
    const mb_result_cols *c = &res->c;
    size_t nr = mb_results_nrows(res);
    int axis_col[3] = {c->impl, c->threads, c->cache};
    int show[3] = {0, 0, 0};
    char **keys = NULL, **vals = NULL;
    int nk = 0, ck = 0, nv = 0, cv = 0, rc = -1;
    long *cell = NULL;   /* nk x nv: row index or -1 */
    size_t *key_of = malloc((nr ? nr : 1) * sizeof *key_of), *val_of = malloc((nr ? nr : 1) * sizeof *val_of);
    char *sel = calloc(nr ? nr : 1, 1);
    mb_table t = {0};
    if (!key_of || !val_of || !sel)
        goto out;
    long first = -1;
    for (size_t i = 0; i < nr; i++) {
        char d[1024];
        mb_results_case(res, i, d, sizeof d);
        if (o->filter && regexec(o->filter, d, 0, NULL, 0) != 0)
            continue;
        sel[i] = 1;
        if (first < 0)
            first = (long)i;
        /* the settings other than the pivot that take more than one value among the selected
         * rows join the row key */
        for (int a = 0; a < 3; a++)
            show[a] |= a != (int)o->pivot && strcmp(mb_results_str(res, i, axis_col[a]),
                                                    mb_results_str(res, (size_t)first,
                                                                   axis_col[a])) != 0;
    }
    for (size_t i = 0; i < nr; i++) {
        if (!sel[i])
            continue;
        char d[1024], key[1200];
        mb_results_case(res, i, d, sizeof d);
        snprintf(key, sizeof key, "%s", d);
        for (int a = 0; a < 3; a++)
            if (show[a]) {
                size_t l = strlen(key);
                snprintf(key + l, sizeof key - l, "\t%s", mb_results_str(res, i, axis_col[a]));
            }
        int k = intern(&keys, &nk, &ck, key);
        int v = intern(&vals, &nv, &cv, mb_results_str(res, i, axis_col[o->pivot]));
        if (k < 0 || v < 0)
            goto out;
        key_of[i] = (size_t)k;
        val_of[i] = (size_t)v;
    }
    if (!nk) {
        rc = 1;
        goto out;
    }
    int base = -1;
    if (o->value == MB_TV_SPEEDUP) {
        const char *want = o->baseline ? o->baseline : "blas";
        for (int v = 0; v < nv && base < 0; v++)
            if (!strcmp(vals[v], want))
                base = v;
        if (base < 0 && !o->baseline && o->pivot == MB_PIVOT_IMPL && nv > 0)
            base = 0;
        if (base < 0 && o->pivot != MB_PIVOT_IMPL && !o->baseline)
            base = 0;
        if (base < 0) {
            snprintf(err, n, "--baseline '%s' is not a %s of the selected rows", want,
                     pivot_names[o->pivot]);
            rc = 2;
            goto out;
        }
    }
    if (!(cell = malloc((size_t)nk * (size_t)nv * sizeof *cell)))
        goto out;
    for (size_t x = 0; x < (size_t)nk * (size_t)nv; x++)
        cell[x] = -1;
    for (size_t i = 0; i < nr; i++)
        if (sel[i])
            cell[key_of[i] * (size_t)nv + val_of[i]] = (long)i;   /* a repeated row: the last */
    int csv = fmt == MB_FMT_CSV;
    int per = csv && o->value == MB_TV_TIME ? (o->error == MB_TE_CI ? 3 : o->error == MB_TE_MAD ? 2 : 1) : 1;
    int nfix = 1 + csv + show[0] + show[1] + show[2];
    int ncols = nfix + nv * per;
    if (ncols > MB_TABLE_MAX_COLS) {
        snprintf(err, n, "%d columns: more than a table holds (%d); use --filter or another "
                 "--pivot", ncols, MB_TABLE_MAX_COLS);
        rc = 2;
        goto out;
    }
    char head_buf[MB_TABLE_MAX_COLS][96];
    const char *head[MB_TABLE_MAX_COLS];
    char align[MB_TABLE_MAX_COLS + 1];
    int h = 0;
    snprintf(head_buf[h++], 96, "case");
    if (csv)
        snprintf(head_buf[h++], 96, "variant");
    for (int a = 0; a < 3; a++)
        if (show[a])
            snprintf(head_buf[h++], 96, "%s", pivot_names[a]);
    for (int v = 0; v < nv; v++) {
        const char *pre = o->pivot == MB_PIVOT_THREADS ? (csv ? "threads_" : "threads ") : "";
        if (!csv)
            snprintf(head_buf[h++], 96, "%s%s", pre, vals[v]);
        else if (o->value == MB_TV_SPEEDUP)
            snprintf(head_buf[h++], 96, "%s%s_speedup", pre, vals[v]);
        else {
            snprintf(head_buf[h++], 96, "%s%s_median_%s", pre, vals[v], o->unit);
            if (o->error == MB_TE_CI) {
                snprintf(head_buf[h++], 96, "%s%s_ci_lo_%s", pre, vals[v], o->unit);
                snprintf(head_buf[h++], 96, "%s%s_ci_hi_%s", pre, vals[v], o->unit);
            } else if (o->error == MB_TE_MAD) {
                snprintf(head_buf[h++], 96, "%s%s_mad_%s", pre, vals[v], o->unit);
            }
        }
    }
    for (int x = 0; x < ncols; x++) {
        head[x] = head_buf[x];
        align[x] = x < nfix ? 'l' : 'r';
    }
    align[ncols] = '\0';
    if (mb_table_init(&t, ncols, head, align))
        goto out;
    char cells_buf[MB_TABLE_MAX_COLS][1200];
    const char *cells[MB_TABLE_MAX_COLS];
    for (int k = 0; k < nk; k++) {
        int x = 0;
        /* the key: case, then the shown settings (tab-separated) */
        char key[1200];
        snprintf(key, sizeof key, "%s", keys[k]);
        char *tok = strtok(key, "\t");
        long any = -1;
        for (int v = 0; v < nv && any < 0; v++)
            any = cell[(size_t)k * (size_t)nv + (size_t)v];
        snprintf(cells_buf[x++], sizeof cells_buf[0], "%s", tok ? tok : "");
        if (csv)
            snprintf(cells_buf[x++], sizeof cells_buf[0], "%s",
                     any >= 0 ? mb_results_str(res, (size_t)any, c->variant) : "");
        for (int a = 0; a < 3; a++)
            if (show[a]) {
                tok = strtok(NULL, "\t");
                snprintf(cells_buf[x++], sizeof cells_buf[0], "%s", tok ? tok : "");
            }
        long b = base >= 0 ? cell[(size_t)k * (size_t)nv + (size_t)base] : -1;
        double bmed = b >= 0 && mb_results_ok(res, (size_t)b) ? mb_results_num(res, (size_t)b, c->med)
                                                             : NAN;
        for (int v = 0; v < nv; v++) {
            long i = cell[(size_t)k * (size_t)nv + (size_t)v];
            int ok = i >= 0 && mb_results_ok(res, (size_t)i);
            double med = ok ? mb_results_num(res, (size_t)i, c->med) : NAN;
            const char *status = i < 0 ? "" : mb_results_str(res, (size_t)i, c->status);
            char *s0 = cells_buf[x];
            if (o->value == MB_TV_SPEEDUP) {
                double sp = bmed / med;
                if (csv) {
                    if (isfinite(sp) && sp > 0)
                        snprintf(s0, sizeof cells_buf[0], "%.6g", sp);
                    else
                        s0[0] = '\0';
                } else if (!ok) {
                    snprintf(s0, sizeof cells_buf[0], "%s", status);
                } else if (!(isfinite(sp) && sp > 0)) {
                    snprintf(s0, sizeof cells_buf[0], "n/a");   /* no baseline in this row */
                } else {
                    char num[32];
                    snprintf(num, sizeof num, "%.2f", sp);
                    snprintf(s0, sizeof cells_buf[0], "%s\xC3\x97", num);
                }
                x++;
                continue;
            }
            double lo = ok ? mb_results_num(res, (size_t)i, c->ci_lo) / o->unit_us : NAN;
            double hi = ok ? mb_results_num(res, (size_t)i, c->ci_hi) / o->unit_us : NAN;
            double mad = ok ? mb_results_num(res, (size_t)i, c->mad) / o->unit_us : NAN;
            med /= o->unit_us;
            if (csv) {
                double vv[3] = {med, o->error == MB_TE_CI ? lo : mad, hi};
                for (int p = 0; p < per; p++) {
                    if (isfinite(vv[p]))
                        snprintf(cells_buf[x], sizeof cells_buf[0], "%.6g", vv[p]);
                    else
                        cells_buf[x][0] = '\0';
                    x++;
                }
                continue;
            }
            if (!ok) {
                snprintf(s0, sizeof cells_buf[0], "%s", status);
                x++;
                continue;
            }
            char m[32], e1[32], e2[32];
            fmt_num(med, m, sizeof m);
            if (o->error == MB_TE_CI && isfinite(lo) && isfinite(hi)) {
                fmt_num(lo, e1, sizeof e1);
                fmt_num(hi, e2, sizeof e2);
                snprintf(s0, sizeof cells_buf[0], "%s [%s, %s]", m, e1, e2);
            } else if (o->error == MB_TE_MAD && isfinite(mad)) {
                fmt_num(mad, e1, sizeof e1);
                snprintf(s0, sizeof cells_buf[0], "%s \xC2\xB1 %s", m, e1);
            } else {
                snprintf(s0, sizeof cells_buf[0], "%s", m);
            }
            x++;
        }
        for (int y = 0; y < ncols; y++)
            cells[y] = cells_buf[y];
        if (mb_table_add(&t, cells))
            goto out;
    }
    char cap[600], run[128];
    const char *id = mb_results_prov(res, "run_id", run, sizeof run) ? run : res->dir;
    if (o->value == MB_TV_SPEEDUP)
        snprintf(cap, sizeof cap, "Speedup over %s%.100s (its median time / the median time; > 1 = "
                 "faster), run %.300s", o->pivot == MB_PIVOT_THREADS ? "threads " : "", vals[base], id);
    else
        snprintf(cap, sizeof cap, "Median time per forward (%s)%s, run %.300s", o->unit,
                 o->error == MB_TE_CI ? " [95% CI of the median]"
                 : o->error == MB_TE_MAD ? " \xC2\xB1 MAD" : "", id);
    mb_table_write(&t, fmt, csv ? NULL : cap, f);
    rc = 0;
out:
    mb_table_free(&t);
    for (int i = 0; i < nk; i++)
        free(keys[i]);
    for (int i = 0; i < nv; i++)
        free(vals[i]);
    free(keys);
    free(vals);
    free(cell);
    free(key_of);
    free(val_of);
    free(sel);
    return rc;
}
