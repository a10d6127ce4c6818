/* Grouping rows into implementations and panels (see plot_series.h). */
#include "plot_series.h"

#include <stdlib.h>
#include <string.h>

int mb_strlist_find(const mb_strlist *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->items[i], s))
            return i;
    return -1;
}

int mb_strlist_add(mb_strlist *l, const char *s)
{
    int i = mb_strlist_find(l, s);
    if (i >= 0)
        return i;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **it = realloc(l->items, (size_t)cap * sizeof *it);
        if (!it)
            return -1;
        l->items = it;
        l->cap = cap;
    }
    char *c = strdup(s);
    if (!c)
        return -1;
    l->items[l->n] = c;
    return l->n++;
}

void mb_strlist_free(mb_strlist *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

void mb_plot_impls(const mb_results *r, int only_ok, mb_strlist *out)
{
    static const char *const canon[] = {"naive", "blas", "onednn", "avx512", "merged"};
    mb_strlist seen = {0};
    for (size_t i = 0; i < mb_results_nrows(r); i++)
        if (!only_ok || mb_results_ok(r, i))
            mb_strlist_add(&seen, mb_results_str(r, i, r->c.impl));
    memset(out, 0, sizeof *out);
    for (size_t c = 0; c < sizeof canon / sizeof canon[0]; c++)
        if (mb_strlist_find(&seen, canon[c]) >= 0)
            mb_strlist_add(out, canon[c]);
    for (int i = 0; i < seen.n; i++)
        mb_strlist_add(out, seen.items[i]);
    mb_strlist_free(&seen);
}

void mb_plot_panels(const mb_results *r, mb_strlist *out)
{
    memset(out, 0, sizeof *out);
    char p[1200];
    for (size_t i = 0; i < mb_results_nrows(r); i++)
        if (mb_results_ok(r, i)) {
            mb_results_panel(r, i, p, sizeof p);
            mb_strlist_add(out, p);
        }
}

void mb_gp_array(mb_gp_buf *b, const char *name, const mb_strlist *l)
{
    mb_gp_printf(b, "n%s = %d\narray %s[%d]\n", name, l->n, name, l->n > 0 ? l->n : 1);
    for (int i = 0; i < l->n; i++) {
        char var[64];
        snprintf(var, sizeof var, "%s[%d]", name, i + 1);
        mb_gp_var_str(b, var, l->items[i]);
    }
}

void mb_plot_grid(int n, int *rows, int *cols)
{
    int c = 1;
    while (c * c < n)
        c++;
    int rr = (n + c - 1) / c;
    *rows = rr > 0 ? rr : 1;
    *cols = c;
}

/* Splits "variant:a=1,b=2 threads=2" into the variant and its fields (comma or space
 * separated); returns the number of fields. */
#define MAX_FIELDS 32
static int split_fields(const char *panel, char *buf, size_t n, char **variant, char **fields)
{
    snprintf(buf, n, "%s", panel);
    *variant = buf;
    char *colon = strchr(buf, ':');
    char *rest = NULL;
    if (colon) {
        *colon = 0;
        rest = colon + 1;
    } else if ((rest = strchr(buf, ' '))) {
        *rest++ = 0;
    }
    int k = 0;
    char *save = NULL;
    for (char *tok = rest ? strtok_r(rest, ", ", &save) : NULL; tok && k < MAX_FIELDS;
         tok = strtok_r(NULL, ", ", &save))
        fields[k++] = tok;
    return k;
}

void mb_plot_panel_title(const char *panel, char *out, size_t n)
{
    char buf[1200], *variant, *fields[MAX_FIELDS];
    int nf = split_fields(panel, buf, sizeof buf, &variant, fields);
    snprintf(out, n, "%s", variant);
    size_t len = strlen(panel);
    int first = 1;
    for (int i = 0; i < nf; i++) {
        if (!strncmp(fields[i], "seed=", 5))
            continue;
        size_t l = strlen(out);
        snprintf(out + l, l < n ? n - l : 0, "%s%s", first ? (len > 44 ? ":\n" : ":") : ",",
                 fields[i]);
        first = 0;
    }
}

void mb_gp_panel_array(mb_gp_buf *b, const mb_strlist *panels)
{
    mb_strlist titles = {0};
    char t[1300];
    for (int i = 0; i < panels->n; i++) {
        mb_plot_panel_title(panels->items[i], t, sizeof t);
        /* titles may coincide (only the seed differs): keep one entry per panel anyway */
        if (titles.n == titles.cap) {
            int cap = titles.cap ? 2 * titles.cap : 16;
            char **it = realloc(titles.items, (size_t)cap * sizeof *it);
            if (!it)
                break;
            titles.items = it;
            titles.cap = cap;
        }
        titles.items[titles.n++] = strdup(t);
    }
    mb_gp_array(b, "panel", &titles);
    mb_strlist_free(&titles);
}

void mb_plot_short_label(const mb_results *r, size_t i, const mb_strlist *panels, char *out,
                         size_t n)
{
    char panel[1200], buf[1200], *variant, *fields[MAX_FIELDS];
    mb_results_panel(r, i, panel, sizeof panel);
    int nf = split_fields(panel, buf, sizeof buf, &variant, fields);
    snprintf(out, n, "%s", variant);
    /* a field is shown when some other panel of the same variant lacks it */
    for (int f = 0; f < nf; f++) {
        int distinguishes = 0;
        for (int p = 0; p < panels->n && !distinguishes; p++) {
            char obuf[1200], *ov, *of[MAX_FIELDS];
            int on = split_fields(panels->items[p], obuf, sizeof obuf, &ov, of);
            if (strcmp(ov, variant))
                continue;
            int has = 0;
            for (int g = 0; g < on; g++)
                has |= !strcmp(of[g], fields[f]);
            distinguishes = !has;
        }
        if (distinguishes) {
            size_t l = strlen(out);
            snprintf(out + l, l < n ? n - l : 0, " %s", fields[f]);
        }
    }
    size_t l = strlen(out);
    snprintf(out + l, l < n ? n - l : 0, " T=%s", mb_results_str(r, i, r->c.T));
}
