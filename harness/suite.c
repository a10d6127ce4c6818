/* Suite files: parsing with inih, sweeps, validation (see suite.h). */
#include "suite.h"

#include "fileutil.h"

#include <ini.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moebench/impl.h"

#define MAX_ENTRIES 64
#define MAX_SECTIONS 256
#define MAX_INCLUDE_DEPTH 8
#define MAX_CASES 100000

typedef struct {
    char key[32];
    char value[512];
    const char *file;   /* points into mb_suite.file_path */
    int line;
} entry;

typedef struct {
    char name[64];
    const char *file;
    int line;
    int n;
    entry e[MAX_ENTRIES];
} section;

typedef struct {
    mb_suite *suite;
    section *defaults;          /* global defaults */
    section *sections[MAX_SECTIONS];
    int n_sections;
    char *err;
    size_t errlen;
    int failed;
} loader;

/* One file being parsed: counts lines for the handler (inih calls the reader once per line). */
typedef struct {
    loader *L;
    FILE *f;
    const char *file;
    char dir[512];
    int line;                   /* line number of the line inih is processing */
    int depth;
    section *cur;               /* section receiving keys */
    section *defaults_target;   /* where this file's [defaults] keys go */
    char cur_name[64];
    int cur_is_defaults;
    char pending_name[64];      /* last section header seen by the reader */
    int pending_line;
    int n_headers;              /* section header lines seen by the reader */
    int cur_header;             /* n_headers when cur was started */
    int long_line;              /* first line longer than inih's buffer, 0 if none */
    int in_long_line;
    int max_line;               /* inih's line buffer, as it passes it to the reader */
} file_ctx;

static const char *const spec_keys[] = {"T", "B", "S", "h", "o", "f", "r", "E", "k", "alpha",
                                        "p", "act", "tasks", "te", "share", "shard", "seed",
                                        "dtype"};
static const char *const harness_keys[] = {"variant", "impl", "reps", "min_time", "cache",
                                           "timeout", "threads"};

static int fail(loader *L, const char *file, int line, const char *fmt, const char *a,
                const char *b)
{
    if (!L->failed) {
        char msg[4096];
        snprintf(msg, sizeof msg, fmt, a, b);
        snprintf(L->err, L->errlen, "%s:%d: %s", file, line, msg);
        L->failed = 1;
    }
    return 0;
}

static int is_defaults_name(const char *s)
{
    return !*s || !strcmp(s, "defaults") || !strcmp(s, "default") || !strcmp(s, "common");
}

static int known_key(const char *k)
{
    for (size_t i = 0; i < sizeof spec_keys / sizeof *spec_keys; i++)
        if (!strcmp(k, spec_keys[i]))
            return 1;
    for (size_t i = 0; i < sizeof harness_keys / sizeof *harness_keys; i++)
        if (!strcmp(k, harness_keys[i]))
            return 1;
    return 0;
}

static section *new_section(loader *L, const char *name, const char *file, int line)
{
    if (L->n_sections >= MAX_SECTIONS) {
        fail(L, file, line, "too many sections (max %s)%s", "256", "");
        return NULL;
    }
    section *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->file = file;
    s->line = line;
    L->sections[L->n_sections++] = s;
    return s;
}

/* Sets key in sec, replacing an earlier value (later settings override). */
static int section_set(loader *L, section *sec, const char *key, const char *value,
                       const char *file, int line)
{
    entry *e = NULL;
    for (int i = 0; i < sec->n; i++)
        if (!strcmp(sec->e[i].key, key))
            e = &sec->e[i];
    if (!e) {
        if (sec->n >= MAX_ENTRIES)
            return fail(L, file, line, "too many keys in one section%s%s", "", "");
        e = &sec->e[sec->n++];
    }
    if (strlen(value) >= sizeof e->value)
        return fail(L, file, line, "value of '%s' too long%s", key, "");
    snprintf(e->key, sizeof e->key, "%s", key);
    snprintf(e->value, sizeof e->value, "%s", value);
    e->file = file;
    e->line = line;
    return 1;
}

static int load_file(loader *L, const char *path, section *defaults_target, int depth,
                     const char *from_file, int from_line);

static char *reader(char *str, int num, void *stream)
{
    file_ctx *c = stream;
    char *r = fgets(str, num, c->f);
    if (!r)
        return NULL;
    /* inih hands over a long line in pieces: count it once and report it */
    int continues = c->in_long_line;
    size_t len = strlen(str);
    c->in_long_line = len > 0 && str[len - 1] != '\n' && !feof(c->f);
    if (continues)
        return r;
    c->line++;
    if (c->in_long_line && !c->long_line) {
        c->long_line = c->line;
        c->max_line = num;
    }
    const char *p = str;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '[') {
        const char *end = strchr(p, ']');
        if (end) {
            size_t n = (size_t)(end - p - 1);
            if (n >= sizeof c->pending_name)
                n = sizeof c->pending_name - 1;
            memcpy(c->pending_name, p + 1, n);
            c->pending_name[n] = '\0';
            c->pending_line = c->line;
            c->n_headers++;
        }
    }
    return r;
}

static int handler(void *user, const char *sec_name, const char *name, const char *value)
{
    file_ctx *c = user;
    loader *L = c->L;
    if (L->failed)
        return 1;
    /* a new section starts when inih reports a different name, or when the reader saw a new
     * header line (inih reports two consecutive [x] sections as one) */
    if (!c->cur || strcmp(sec_name, c->cur_name) != 0 || c->n_headers != c->cur_header) {
        snprintf(c->cur_name, sizeof c->cur_name, "%s", sec_name);
        c->cur_header = c->n_headers;
        c->cur_is_defaults = is_defaults_name(sec_name);
        if (c->cur_is_defaults)
            c->cur = c->defaults_target;
        else {
            int line = !strcmp(c->pending_name, sec_name) ? c->pending_line : c->line;
            for (int i = 0; i < L->n_sections; i++)
                if (!strcmp(L->sections[i]->name, sec_name)) {
                    char first[400];
                    snprintf(first, sizeof first, "%s:%d", L->sections[i]->file,
                             L->sections[i]->line);
                    return fail(L, c->file, line,
                                "duplicate section [%s] (first at %s); give each section its own name",
                                sec_name, first);
                }
            c->cur = new_section(L, sec_name, c->file, line);
            if (!c->cur)
                return 1;
        }
    }
    if (!strcmp(name, "include")) {
        if (!*value)
            return fail(L, c->file, c->line, "include: empty file name%s%s", "", "");
        char inc[1024];
        if (value[0] == '/')
            snprintf(inc, sizeof inc, "%s", value);
        else
            snprintf(inc, sizeof inc, "%s/%s", c->dir, value);
        load_file(L, inc, c->cur, c->depth + 1, c->file, c->line);
        return 1;
    }
    if (!known_key(name))
        return fail(L, c->file, c->line,
                    "unknown key '%s' (keys: variant impl reps min_time cache timeout threads "
                    "T B S h o f r E k alpha p act tasks te share shard seed dtype include)%s",
                    name, "");
    section_set(L, c->cur, name, value, c->file, c->line);
    return 1;
}

static const char *remember_file(mb_suite *s, const char *path)
{
    if (s->n_files >= MB_MAX_SUITE_FILES)
        return NULL;
    char *buf = mb_read_file(path, 0, NULL);
    if (!buf)
        return NULL;
    s->file_path[s->n_files] = strdup(path);
    s->file_content[s->n_files] = buf;
    return s->file_path[s->n_files++];
}

static int load_file(loader *L, const char *path, section *defaults_target, int depth,
                     const char *from_file, int from_line)
{
    if (depth > MAX_INCLUDE_DEPTH)
        return fail(L, from_file, from_line, "include nested too deeply (cycle?) at '%s'%s",
                    path, "");
    FILE *f = fopen(path, "r");
    if (!f) {
        if (from_file)
            return fail(L, from_file, from_line, "cannot open included file '%s'%s", path, "");
        snprintf(L->err, L->errlen, "%s: cannot open suite file", path);
        L->failed = 1;
        return 0;
    }
    const char *stored = remember_file(L->suite, path);
    if (!stored) {
        fclose(f);
        return fail(L, path, 0, "cannot read (or too many included files)%s%s", "", "");
    }
    file_ctx c;
    memset(&c, 0, sizeof c);
    c.L = L;
    c.f = f;
    c.file = stored;
    c.depth = depth;
    c.defaults_target = defaults_target;
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(c.dir, sizeof c.dir, "%s", dirname(tmp));
    int rc = ini_parse_stream(reader, &c, handler, &c);
    fclose(f);
    if (c.long_line) {
        L->failed = 0;   /* errors after a split line are artefacts of the split */
        char lim[16];
        snprintf(lim, sizeof lim, "%d", c.max_line - 2);
        return fail(L, stored, c.long_line, "line longer than %s characters (split the list over "
                                            "two sections)%s", lim, "");
    }
    if (rc > 0 && !L->failed) {
        return fail(L, stored, rc, "syntax error (expected [section], key = value or a "
                                   "comment)%s%s", "", "");
    }
    return !L->failed;
}

/* ---- expansion of sections into cases ------------------------------------------------ */

typedef struct {
    const entry *e;
    int n;
    char item[64][128];
} sweep;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

static int split_list(loader *L, const entry *e, sweep *sw)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", e->value);
    sw->e = e;
    sw->n = 0;
    char *p = buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *t = trim(p);
        if (!*t)
            return fail(L, e->file, e->line, "empty value in the list of '%s' (\"%s\")", e->key,
                        e->value);
        if (sw->n >= 64)
            return fail(L, e->file, e->line, "list of '%s' too long (max 64 values)%s", e->key, "");
        snprintf(sw->item[sw->n++], sizeof sw->item[0], "%s", t);
        if (!comma)
            break;
        p = comma + 1;
    }
    return 1;
}

static int parse_pos_int(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 1 || v > 1000000)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_pos_double(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v > 0) || v > 1e6)
        return -1;
    *out = v;
    return 0;
}

/* Adds c's implementations to those of the same case d (sections that overlap, e.g. one
 * listing blas and another merged for the same shapes). `impl = all` (impl_all) counts as the
 * list "all"; the union keeps "all" and every explicit name (naive at large sizes). 0, or -1
 * when the union has more than MB_MAX_CASE_IMPLS names. */
static int merge_impls(mb_case *d, const mb_case *c)
{
    char u[2 * MB_MAX_CASE_IMPLS + 2][24];
    int n = 0;
    const mb_case *both[2] = {d, c};
    for (int b = 0; b < 2; b++) {
        if (both[b]->impl_all)
            snprintf(u[n++], sizeof u[0], "all");
        for (int i = 0; i < both[b]->n_impls; i++) {
            int have = 0;
            for (int j = 0; j < n; j++)
                have |= !strcmp(u[j], both[b]->impls[i]);
            if (!have)
                memcpy(u[n++], both[b]->impls[i], sizeof u[0]);
        }
    }
    /* drop duplicate "all" */
    int k = 0, seen_all = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(u[i], "all")) {
            if (seen_all)
                continue;
            seen_all = 1;
        }
        memcpy(u[k++], u[i], sizeof u[0]);
    }
    n = k;
    if (n == 1 && !strcmp(u[0], "all")) {
        d->impl_all = 1;
        d->n_impls = 0;
        return 0;
    }
    if (n > MB_MAX_CASE_IMPLS)
        return -1;
    d->impl_all = 0;
    d->n_impls = n;
    memcpy(d->impls, u, (size_t)n * sizeof u[0]);
    return 0;
}

static int same_setting(double a, double b)
{
    return a == b;
}

/* 0 added or merged; -1 out of memory; -2 conflicting settings (message in why); -3 too many
 * implementations after merging. */
static int push_case(mb_suite *s, const mb_case *c, char *why, size_t whylen)
{
    /* the same shape with the same harness settings is one case: it runs once, with every
     * implementation listed; threads and cache are sweep keys (another value is another case);
     * reps, min_time and timeout must agree */
    for (size_t i = 0; i < s->n; i++) {
        mb_case *d = &s->cases[i];
        if (strcmp(d->desc, c->desc) != 0 || d->threads != c->threads || d->cache != c->cache)
            continue;
        const char *what = NULL;
        if (d->reps != c->reps)
            what = "reps";
        else if (!same_setting(d->min_time, c->min_time))
            what = "min_time";
        else if (!same_setting(d->timeout, c->timeout))
            what = "timeout";
        if (what) {
            snprintf(why, whylen, "case %s is also in the section at %s with another %s; "
                     "use the same setting or another shape", c->desc, d->origin, what);
            return -2;
        }
        return merge_impls(d, c) ? -3 : 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        mb_case *nc = realloc(s->cases, cap * sizeof *nc);
        if (!nc)
            return -1;
        s->cases = nc;
        s->cap = cap;
    }
    s->cases[s->n++] = *c;
    return 0;
}

/* Builds the case for one combination (choice[i] indexes sw[i].item). */
static int build_case(loader *L, const section *sec, sweep *sw, int nsw, const int *choice)
{
    mb_case c;
    memset(&c, 0, sizeof c);
    c.impl_all = 1;
    snprintf(c.origin, sizeof c.origin, "%s:%d", sec->file, sec->line);
    const entry *variant_e = NULL;
    const char *variant_v = NULL;
    for (int i = 0; i < nsw; i++)
        if (!strcmp(sw[i].e->key, "variant")) {
            variant_e = sw[i].e;
            variant_v = sw[i].item[choice[i]];
        }
    if (!variant_e)
        return fail(L, sec->file, sec->line, "section [%s] has no 'variant' key%s", sec->name, "");
    mb_variant_id v;
    if (mb_variant_parse(variant_v, &v))
        return fail(L, variant_e->file, variant_e->line,
                    "unknown variant '%s' (variants: lora mlp_lora molora moelora mixlora mor1e "
                    "sparse_mlp router)%s", variant_v, "");
    mb_spec_default(&c.spec, v);
    for (int i = 0; i < nsw; i++) {
        const entry *e = sw[i].e;
        const char *val = sw[i].item[choice[i]];
        mb_err err;
        mb_err_clear(&err);
        if (!strcmp(e->key, "variant") || !strcmp(e->key, "impl"))
            continue;
        if (!strcmp(e->key, "reps")) {
            if (parse_pos_int(val, &c.reps))
                return fail(L, e->file, e->line, "reps='%s': expected a positive integer%s", val, "");
        } else if (!strcmp(e->key, "threads")) {
            if (parse_pos_int(val, &c.threads))
                return fail(L, e->file, e->line, "threads='%s': expected a positive integer%s", val, "");
        } else if (!strcmp(e->key, "min_time")) {
            if (parse_pos_double(val, &c.min_time))
                return fail(L, e->file, e->line, "min_time='%s': expected seconds > 0%s", val, "");
        } else if (!strcmp(e->key, "timeout")) {
            if (parse_pos_double(val, &c.timeout))
                return fail(L, e->file, e->line, "timeout='%s': expected seconds > 0%s", val, "");
        } else if (!strcmp(e->key, "cache")) {
            if (!strcmp(val, "warm"))
                c.cache = 1;
            else if (!strcmp(val, "cold"))
                c.cache = 2;
            else
                return fail(L, e->file, e->line, "cache='%s': expected warm or cold%s", val, "");
        } else if (mb_spec_set(&c.spec, e->key, val, &err) != MB_OK) {
            return fail(L, e->file, e->line, "%s%s", err.msg, "");
        }
    }
    for (int i = 0; i < nsw; i++)
        if (!strcmp(sw[i].e->key, "impl")) {
            const entry *e = sw[i].e;
            if (sw[i].n == 1 && !strcmp(sw[i].item[0], "all"))
                break;
            c.impl_all = 0;
            /* `all, naive`: every implementation plus naive named explicitly, as --impl */
            if (sw[i].n > MB_MAX_CASE_IMPLS)
                return fail(L, e->file, e->line, "impl: more than %s names in the list ('%s')",
                            "16", e->value);
            for (int j = 0; j < sw[i].n; j++) {
                int dup = 0;
                for (int q = 0; q < c.n_impls; q++)
                    dup |= !strcmp(c.impls[q], sw[i].item[j]);
                if (dup)
                    continue;
                if (strcmp(sw[i].item[j], "all") != 0 && !mb_impl_find(sw[i].item[j]))
                    return fail(L, e->file, e->line,
                                "unknown implementation '%s' (see `moebench list`)%s",
                                sw[i].item[j], "");
                snprintf(c.impls[c.n_impls++], sizeof c.impls[0], "%.23s", sw[i].item[j]);
            }
        }
    mb_err err;
    mb_err_clear(&err);
    if (mb_spec_validate(&c.spec, 0, &err) != MB_OK) {
        char d[MB_DESC_LEN];
        mb_spec_format(&c.spec, d, sizeof d);
        return fail(L, sec->file, sec->line, "impossible case %s: %s", d, err.msg);
    }
    mb_spec_format(&c.spec, c.desc, sizeof c.desc);
    if (L->suite->n >= MAX_CASES)
        return fail(L, sec->file, sec->line, "more than 100000 cases%s%s", "", "");
    char why[1024];
    int pr = push_case(L->suite, &c, why, sizeof why);
    if (pr == -2)
        return fail(L, sec->file, sec->line, "%s%s", why, "");
    if (pr == -3)
        return fail(L, sec->file, sec->line, "case %s: more than 16 implementations after "
                    "merging the sections that list it%s", c.desc, "");
    if (pr)
        return fail(L, sec->file, sec->line, "out of memory%s%s", "", "");
    return 1;
}

static int expand_section(loader *L, const section *sec)
{
    section eff;
    memcpy(&eff, L->defaults, sizeof eff);
    for (int i = 0; i < sec->n; i++)
        if (!section_set(L, &eff, sec->e[i].key, sec->e[i].value, sec->e[i].file, sec->e[i].line))
            return 0;
    /* keep the section's own position for messages */
    eff.file = sec->file;
    eff.line = sec->line;
    snprintf(eff.name, sizeof eff.name, "%s", sec->name);

    static sweep sw[MAX_ENTRIES];
    int nsw = 0;
    for (int i = 0; i < eff.n; i++) {
        if (!split_list(L, &eff.e[i], &sw[nsw]))
            return 0;
        if (!strcmp(eff.e[i].key, "impl")) {
            /* a list of implementations, not a sweep: keep it as one choice */
            sw[nsw].e = &eff.e[i];
        }
        nsw++;
    }
    int choice[MAX_ENTRIES] = {0};
    for (;;) {
        /* impl lists are consumed whole by build_case; every other list is a sweep axis */
        if (!build_case(L, &eff, sw, nsw, choice))
            return 0;
        int i = nsw - 1;
        for (; i >= 0; i--) {
            if (!strcmp(sw[i].e->key, "impl"))
                continue;
            if (++choice[i] < sw[i].n)
                break;
            choice[i] = 0;
        }
        if (i < 0)
            break;
    }
    return 1;
}

int mb_suite_load(const char *path, mb_suite *s, char *err, size_t errlen)
{
    loader L;
    memset(&L, 0, sizeof L);
    L.suite = s;
    L.err = err;
    L.errlen = errlen;
    L.defaults = calloc(1, sizeof *L.defaults);
    if (!L.defaults) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t n_before = s->n;
    load_file(&L, path, L.defaults, 0, NULL, 0);
    if (!L.failed && L.n_sections == 0)
        fail(&L, path, 1, "no case sections (a section needs at least 'variant = ...')%s%s", "", "");
    for (int i = 0; i < L.n_sections && !L.failed; i++)
        expand_section(&L, L.sections[i]);
    for (int i = 0; i < L.n_sections; i++)
        free(L.sections[i]);
    free(L.defaults);
    if (L.failed) {
        s->n = n_before;
        return -1;
    }
    return 0;
}

void mb_suite_free(mb_suite *s)
{
    free(s->cases);
    for (int i = 0; i < s->n_files; i++) {
        free(s->file_path[i]);
        free(s->file_content[i]);
    }
    memset(s, 0, sizeof *s);
}
