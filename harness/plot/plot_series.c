/* Grouping rows into implementations and panels (see plot_series.h). */
#define _GNU_SOURCE   /* hsearch_r */
#include "plot_series.h"

#include <search.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The strings are indexed by glibc's hash table (hsearch_r), rebuilt twice as large when it is
 * 3/4 full: a run has tens of thousands of cases, and a linear search per row made grouping
 * quadratic. hsearch_r's own hash keeps only about the first 8 characters of a key, and our
 * keys share long prefixes ("lora:T=..."), so every key in the table starts with 8 hex digits of
 * its FNV-1a hash; items[i] points past them. */
#define HPREFIX 8

static void hash_prefix(const char *s, char out[HPREFIX + 1])
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    for (int i = HPREFIX - 1; i >= 0; i--, h >>= 4)   /* not snprintf: this is per lookup */
        out[i] = "0123456789abcdef"[h & 15];
    out[HPREFIX] = 0;
}

static int rehash(mb_strlist *l, size_t cap)
{
    struct hsearch_data *h = calloc(1, sizeof *h);
    if (!h || !hcreate_r(cap, h)) {
        free(h);
        return -1;
    }
    for (int i = 0; i < l->n; i++) {
        ENTRY e = {l->items[i] - HPREFIX, (void *)(intptr_t)i}, *got;
        if (!hsearch_r(e, ENTER, &got, h)) {
            hdestroy_r(h);
            free(h);
            return -1;
        }
    }
    if (l->hash) {
        hdestroy_r(l->hash);
        free(l->hash);
    }
    l->hash = h;
    l->hcap = cap;
    return 0;
}

int mb_strlist_find(const mb_strlist *l, const char *s)
{
    if (!l->hash)
        return -1;
    size_t len = strlen(s);
    char local[2048], *key = len + HPREFIX + 1 <= sizeof local ? local : malloc(len + HPREFIX + 1);
    if (!key)
        return -1;
    hash_prefix(s, key);
    memcpy(key + HPREFIX, s, len + 1);
    ENTRY e = {key, NULL}, *got = NULL;
    int found = hsearch_r(e, FIND, &got, l->hash) && got;
    if (key != local)
        free(key);
    return found ? (int)(intptr_t)got->data : -1;
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
    if (((size_t)l->n + 1) * 4 > l->hcap * 3 && rehash(l, l->hcap ? 2 * l->hcap : 64))
        return -1;
    size_t len = strlen(s);
    char *c = malloc(len + HPREFIX + 1);
    if (!c)
        return -1;
    hash_prefix(s, c);
    memcpy(c + HPREFIX, s, len + 1);
    ENTRY e = {c, (void *)(intptr_t)l->n}, *got;
    if (!hsearch_r(e, ENTER, &got, l->hash)) {
        free(c);
        return -1;
    }
    l->items[l->n] = c + HPREFIX;
    return l->n++;
}

void mb_strlist_free(mb_strlist *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->hash ? l->items[i] - HPREFIX : l->items[i]);
    free(l->items);
    if (l->hash) {
        hdestroy_r(l->hash);
        free(l->hash);
    }
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

int mb_plot_impl_style(const char *impl, const mb_strlist *others)
{
    static const char *const fixed[] = {"naive", "blas", "onednn", "avx512", "merged", "torch"};
    int nfixed = (int)(sizeof fixed / sizeof fixed[0]), extra = 0;
    for (int i = 0; i < nfixed; i++)
        if (!strcmp(impl, fixed[i]))
            return i + 1;
    for (int i = 0; others && i < others->n; i++) {
        int known = 0;
        for (int k = 0; k < nfixed; k++)
            known |= !strcmp(others->items[i], fixed[k]);
        if (!strcmp(others->items[i], impl))
            break;
        extra += !known;
    }
    return 7 + extra % 2;
}

void mb_gp_impl_array(mb_gp_buf *b, const mb_strlist *impls)
{
    mb_gp_array(b, "impl", impls);
    mb_gp_printf(b, "array implstyle[%d]\n", impls->n > 0 ? impls->n : 1);
    for (int i = 0; i < impls->n; i++)
        mb_gp_printf(b, "implstyle[%d] = %d\n", i + 1,
                     mb_plot_impl_style(impls->items[i], impls));
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

/* Breaks s in place after a comma or a space (the break replaces a space, or follows a comma)
 * so that no line runs much past width characters. */
static void wrap_title(char *s, size_t n, int width)
{
    char out[1400];
    size_t k = 0, col = 0, brk = 0;   /* brk: in out, just after the last comma or space */
    for (size_t i = 0; s[i] && k + 2 < sizeof out; i++) {
        out[k++] = s[i];
        col = s[i] == '\n' ? 0 : col + 1;
        if (s[i] == '\n')
            brk = 0;
        else if (s[i] == ',' || s[i] == ' ')
            brk = k;
        if (col > (size_t)width && brk) {
            /* move the tail after brk down one place and put a line break at brk */
            if (out[brk - 1] == ' ') {
                out[brk - 1] = '\n';
            } else {
                memmove(out + brk + 1, out + brk, k - brk);
                out[brk] = '\n';
                k++;
            }
            col = k - brk - (out[brk] == '\n' ? 1 : 0);
            brk = 0;
        }
    }
    out[k] = 0;
    if (k >= n)
        k = n - 1;
    memcpy(s, out, k);
    s[k] = 0;
}

void mb_gp_panel_array(mb_gp_buf *b, const mb_strlist *panels, int wrap)
{
    mb_strlist titles = {0};
    int max_lines = 1;
    char t[1300];
    for (int i = 0; i < panels->n; i++) {
        mb_plot_panel_title(panels->items[i], t, sizeof t);
        if (wrap > 0) {   /* one line per piece: drop the break after the variant name */
            char *nl = strchr(t, '\n');
            if (nl)
                memmove(nl, nl + 1, strlen(nl));
            wrap_title(t, sizeof t, wrap);
        }
        int lines = 1;
        for (const char *c = t; *c; c++)
            lines += *c == '\n';
        max_lines = lines > max_lines ? lines : max_lines;
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
    mb_gp_printf(b, "panel_title_lines = %d\n", max_lines);
    mb_strlist_free(&titles);
}

/* Key of (variant, field) in the label context. */
static void vf_key(const char *variant, const char *field, char *out, size_t n)
{
    snprintf(out, n, "%s\x1f%s", variant, field);
}

int mb_label_ctx_init(mb_label_ctx *c, const mb_strlist *panels)
{
    memset(c, 0, sizeof *c);
    size_t nv = 0, nf = 0;
    for (int p = 0; p < panels->n; p++) {
        char buf[1200], *variant, *fields[MAX_FIELDS], key[1300];
        int k = split_fields(panels->items[p], buf, sizeof buf, &variant, fields);
        int v = mb_strlist_add(&c->variants, variant);
        if (v < 0)
            return -1;
        if ((size_t)v >= nv) {
            size_t cap = nv ? 2 * nv : 16;
            int *a = realloc(c->nvar, cap * sizeof *a);
            if (!a)
                return -1;
            memset(a + nv, 0, (cap - nv) * sizeof *a);
            c->nvar = a;
            nv = cap;
        }
        c->nvar[v]++;
        for (int f = 0; f < k; f++) {
            int dup = 0;
            for (int g = 0; g < f; g++)
                dup |= !strcmp(fields[g], fields[f]);
            if (dup)
                continue;
            vf_key(variant, fields[f], key, sizeof key);
            int j = mb_strlist_add(&c->fields, key);
            if (j < 0)
                return -1;
            if ((size_t)j >= nf) {
                size_t cap = nf ? 2 * nf : 64;
                int *a = realloc(c->nfield, cap * sizeof *a);
                if (!a)
                    return -1;
                memset(a + nf, 0, (cap - nf) * sizeof *a);
                c->nfield = a;
                nf = cap;
            }
            c->nfield[j]++;
        }
    }
    return 0;
}

void mb_label_ctx_free(mb_label_ctx *c)
{
    mb_strlist_free(&c->variants);
    mb_strlist_free(&c->fields);
    free(c->nvar);
    free(c->nfield);
    memset(c, 0, sizeof *c);
}

void mb_plot_short_label(const mb_results *r, size_t i, const mb_label_ctx *c, char *out,
                         size_t n)
{
    char panel[1200], buf[1200], *variant, *fields[MAX_FIELDS], key[1300];
    mb_results_panel(r, i, panel, sizeof panel);
    int nf = split_fields(panel, buf, sizeof buf, &variant, fields);
    snprintf(out, n, "%s", variant);
    /* a field is shown when some other panel of the same variant lacks it, i.e. when fewer
     * panels of the variant have it than there are panels of the variant */
    int v = mb_strlist_find(&c->variants, variant);
    for (int f = 0; f < nf && v >= 0; f++) {
        vf_key(variant, fields[f], key, sizeof key);
        int j = mb_strlist_find(&c->fields, key);
        if (j >= 0 && c->nfield[j] < c->nvar[v]) {
            size_t l = strlen(out);
            snprintf(out + l, l < n ? n - l : 0, " %s", fields[f]);
        }
    }
    size_t l = strlen(out);
    snprintf(out + l, l < n ? n - l : 0, " T=%s", mb_results_str(r, i, r->c.T));
}
