/* Suite files: parsing with inih, sweeps, validation (see suite.h). */
#include "suite.h"

#include "suite_file.h"

#include <ctype.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "moebench/impl.h"

#define MAX_ENTRIES 64
#define MAX_SECTIONS 256
#define MAX_INCLUDE_DEPTH 8
#define MAX_CASES 100000
/* inih (ini.c, MAX_SECTION 50) keeps the first 49 characters of a section name and drops the
 * rest without telling: longer names are refused before it sees them. */
#define INI_SECTION_CHARS 49

typedef struct {
    char key[32];
    char value[512];
    const char *file;   /* points into mb_suite.file_path */
    int line;
    int depth;          /* include depth of the file that set it: the nearer setting wins */
    int from_defaults;  /* set under a [defaults] header (its own file's or an included one) */
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
    const char *fail_file;      /* where the reported error is, to prefer an earlier one */
    int fail_line;
    /* the files being read, outermost first, to name an include cycle */
    const char *chain[MAX_INCLUDE_DEPTH + 2];
    dev_t chain_dev[MAX_INCLUDE_DEPTH + 2];
    ino_t chain_ino[MAX_INCLUDE_DEPTH + 2];
    int chain_n;
    /* cases by (descriptor, threads, cache): slot holds index + 1, 0 is empty */
    size_t *slot;
    size_t slot_cap;
    long long combos;           /* cases the expanded sections may produce (before merging) */
} loader;

/* One file being parsed, from memory: inih calls the reader once per line. */
typedef struct {
    loader *L;
    const char *buf;            /* the whole file, NUL-terminated */
    size_t len, pos;
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
    int header_keys;            /* key lines since the last header */
    int key_seen;               /* a key line since the last header: inih's multiline state */
    char last_key[64];          /* its name, for the continuation message */
} file_ctx;

static const char *const spec_keys[] = {"T", "B", "S", "h", "o", "f", "r", "E", "k", "alpha",
                                        "p", "act", "tasks", "te", "share", "shard", "seed",
                                        "dtype", "wq", "mode", "ep", "cap", "shared", "topp", "route",
                                        "aux", "zloss", "opt"};
static const char *const harness_keys[] = {"variant", "impl", "reps", "min_time", "cache",
                                           "timeout", "threads"};

static int fail(loader *L, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(loader *L, const char *file, int line, const char *fmt, ...)
{
    if (!L->failed) {
        char msg[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(L->err, L->errlen, "%s:%d: %s", file, line, msg);
        L->failed = 1;
        L->fail_file = file;
        L->fail_line = line;
    }
    return 0;
}

static int is_defaults_name(const char *s)
{
    return !*s || !strcmp(s, "defaults") || !strcmp(s, "default") || !strcmp(s, "common");
}

static int is_spec_key(const char *k)
{
    for (size_t i = 0; i < sizeof spec_keys / sizeof *spec_keys; i++)
        if (!strcmp(k, spec_keys[i]))
            return 1;
    return 0;
}

static int known_key(const char *k)
{
    if (is_spec_key(k))
        return 1;
    for (size_t i = 0; i < sizeof harness_keys / sizeof *harness_keys; i++)
        if (!strcmp(k, harness_keys[i]))
            return 1;
    return 0;
}

static section *new_section(loader *L, const char *name, const char *file, int line)
{
    if (L->n_sections >= MAX_SECTIONS) {
        fail(L, file, line, "too many sections (max %s)", "256");
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

static entry *find_entry(section *sec, const char *key)
{
    for (int i = 0; i < sec->n; i++)
        if (!strcmp(sec->e[i].key, key))
            return &sec->e[i];
    return NULL;
}

static int put_entry(loader *L, section *sec, entry *e, const char *key, const char *value,
                     const char *file, int line)
{
    if (!e) {
        if (sec->n >= MAX_ENTRIES)
            return fail(L, file, line, "too many keys in one section");
        e = &sec->e[sec->n++];
    }
    if (strlen(value) >= sizeof e->value)
        return fail(L, file, line, "value of '%s' too long", key);
    snprintf(e->key, sizeof e->key, "%s", key);
    snprintf(e->value, sizeof e->value, "%s", value);
    e->file = file;
    e->line = line;
    return 1;
}

/* Sets key in sec as read from a file at include depth `depth`. A key given twice at the same
 * depth (twice in one section, or by two includes of one section) is an error, not "the later
 * one wins"; a key the section gives itself wins over one an include brings, in either order. */
static int section_set(loader *L, section *sec, const char *key, const char *value,
                       const char *file, int line, int depth, int from_defaults)
{
    entry *e = find_entry(sec, key);
    if (e && e->depth == depth) {
        char first[400], name[80];
        snprintf(first, sizeof first, "%s:%d", e->file, e->line);
        snprintf(name, sizeof name, "[%s]", *sec->name ? sec->name : "defaults");
        char what[600];
        snprintf(what, sizeof what, "'%s' is given twice in %s (first at %s)", key, name, first);
        return fail(L, file, line, "%s; give each key once (a comma list sweeps: %s = a, b)",
                    what, key);
    }
    if (e && e->depth < depth)
        return 1;
    if (!put_entry(L, sec, e, key, value, file, line))
        return 0;
    e = find_entry(sec, key);
    e->depth = depth;
    e->from_defaults = from_defaults;
    return 1;
}

static int load_file(loader *L, const char *path, section *defaults_target, int depth,
                     const char *from_file, int from_line);

/* A header line [x] with no key line before the next header (or the end) is an error. */
static void end_section(file_ctx *c)
{
    if (c->pending_line && c->header_keys == 0)
        fail(c->L, c->file, c->pending_line,
             "section [%s] is empty: give it keys (at least 'variant = ...') or remove it",
             c->pending_name);
}

/* Copies the next line into str for inih. Lines inih would misread are refused here (file:line)
 * and handed over blank: longer than its buffer (it would split them), a NUL byte, a section
 * name it would cut, or a continuation line (inih's multiline mode appends an indented line to
 * the previous key; Debian builds it with INI_ALLOW_MULTILINE). */
static char *reader(char *str, int num, void *stream)
{
    file_ctx *c = stream;
    loader *L = c->L;
    if (c->pos >= c->len)
        return NULL;
    const char *p = c->buf + c->pos;
    size_t rest = c->len - c->pos;
    const char *nl = memchr(p, '\n', rest);
    size_t n = nl ? (size_t)(nl - p) : rest;   /* without the newline */
    c->pos += n + (nl != NULL);
    c->line++;
    if (memchr(p, '\0', n)) {
        fail(L, c->file, c->line, "NUL byte in the line (is this a text file?)");
        snprintf(str, (size_t)num, "\n");
        return str;
    }
    if (n + 2 > (size_t)num) {
        char lim[16];
        snprintf(lim, sizeof lim, "%d", num - 2);
        fail(L, c->file, c->line, "line longer than %s characters (split the list over two "
                                  "sections)", lim);
        snprintf(str, (size_t)num, "\n");
        return str;
    }
    memcpy(str, p, n);
    str[n] = '\n';
    str[n + 1] = '\0';

    const char *s = str;
    if (c->line == 1 && !strncmp(s, "\xEF\xBB\xBF", 3))   /* inih skips a UTF-8 BOM */
        s += 3;
    const char *start = s;
    while (*start && isspace((unsigned char)*start))
        start++;
    if (!*start || *start == ';' || *start == '#')
        return str;
    if (start > s && c->key_seen) {
        char msg[400];
        snprintf(msg, sizeof msg, "indented line after '%s': the INI parser would read it as a "
                 "continuation of '%s' and replace its value; remove the indentation (a list goes "
                 "on one line: %s = a, b)", c->last_key, c->last_key, c->last_key);
        fail(L, c->file, c->line, "%s", msg);
        snprintf(str, (size_t)num, "\n");
        return str;
    }
    if (*start == '[') {
        const char *end = strchr(start, ']');
        if (!end)
            return str;   /* inih reports the syntax error */
        end_section(c);
        size_t len = (size_t)(end - start - 1);
        if (len > INI_SECTION_CHARS) {
            char name[80], lim[16];
            snprintf(name, sizeof name, "%.40s...", start + 1);
            snprintf(lim, sizeof lim, "%d", INI_SECTION_CHARS);
            fail(L, c->file, c->line, "section name [%s] is longer than %s characters (the INI "
                 "parser would cut it); use a shorter name", name, lim);
            snprintf(str, (size_t)num, "\n");
            return str;
        }
        memcpy(c->pending_name, start + 1, len);
        c->pending_name[len] = '\0';
        c->pending_line = c->line;
        c->n_headers++;
        c->header_keys = 0;
        c->key_seen = 0;
        return str;
    }
    /* name = value (or a syntax error inih reports) */
    size_t klen = strcspn(start, "=:");
    while (klen > 0 && isspace((unsigned char)start[klen - 1]))
        klen--;
    if (klen >= sizeof c->last_key)
        klen = sizeof c->last_key - 1;
    memcpy(c->last_key, start, klen);
    c->last_key[klen] = '\0';
    c->key_seen = 1;
    c->header_keys++;
    return str;
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
        if (c->n_headers && strcmp(c->pending_name, sec_name) != 0)
            return fail(L, c->file, c->pending_line, "section name [%s] was read as [%s] by the "
                        "INI parser (too long?); use a shorter name", c->pending_name, sec_name);
        snprintf(c->cur_name, sizeof c->cur_name, "%s", sec_name);
        c->cur_header = c->n_headers;
        c->cur_is_defaults = is_defaults_name(sec_name);
        if (c->cur_is_defaults)
            c->cur = c->defaults_target;
        else {
            int line = c->pending_line;
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
            return fail(L, c->file, c->line, "include: empty file name");
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
                    "T B S h o f r E k alpha p act tasks te share shard seed dtype mode aux zloss opt "
                    "include)",
                    name);
    section_set(L, c->cur, name, value, c->file, c->line, c->depth, c->cur_is_defaults);
    return 1;
}

/* Reports a problem with the file itself: at the include line, or as "path: reason" for the
 * suite named on the command line. */
static int file_fail(loader *L, const char *path, const char *from_file, int from_line,
                     const char *what)
{
    if (from_file) {
        char msg[1400];
        snprintf(msg, sizeof msg, "included file '%s': %s", path, what);
        return fail(L, from_file, from_line, "%s", msg);
    }
    if (!L->failed) {
        snprintf(L->err, L->errlen, "%s: %s", path, what);
        L->failed = 1;
    }
    return 0;
}

static int load_file(loader *L, const char *path, section *defaults_target, int depth,
                     const char *from_file, int from_line)
{
    if (depth > MAX_INCLUDE_DEPTH)
        return fail(L, from_file, from_line, "include nested more than 8 deep at '%s'",
                    path);
    struct stat st;
    size_t len = 0;
    char why[600];
    char *buf = mb_suite_file_read(path, &st, &len, why, sizeof why);
    if (!buf)
        return file_fail(L, path, from_file, from_line, why);
    for (int i = 0; i < L->chain_n; i++)
        if (L->chain_dev[i] == st.st_dev && L->chain_ino[i] == st.st_ino) {
            char chain[2048] = "";
            for (int j = i; j < L->chain_n; j++)
                snprintf(chain + strlen(chain), sizeof chain - strlen(chain), "%s -> ",
                         L->chain[j]);
            snprintf(chain + strlen(chain), sizeof chain - strlen(chain), "%s", path);
            free(buf);
            return fail(L, from_file, from_line, "include cycle: %s", chain);
        }
    mb_suite *s = L->suite;
    if (s->n_files >= MB_MAX_SUITE_FILES) {
        free(buf);
        return file_fail(L, path, from_file, from_line,
                         "too many suite files (32, includes counted)");
    }
    s->file_path[s->n_files] = strdup(path);
    s->file_content[s->n_files] = buf;
    const char *stored = s->file_path[s->n_files++];
    if (!stored)
        return file_fail(L, path, from_file, from_line, "out of memory");
    L->chain[L->chain_n] = stored;
    L->chain_dev[L->chain_n] = st.st_dev;
    L->chain_ino[L->chain_n] = st.st_ino;
    L->chain_n++;

    file_ctx c;
    memset(&c, 0, sizeof c);
    c.L = L;
    c.buf = buf;
    c.len = len;
    c.file = stored;
    c.depth = depth;
    c.defaults_target = defaults_target;
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(c.dir, sizeof c.dir, "%s", dirname(tmp));
    int rc = ini_parse_stream(reader, &c, handler, &c);
    end_section(&c);
    L->chain_n--;
    /* inih reports its first syntax error at the end: it goes first if it is earlier */
    if (rc > 0 && (!L->failed || (L->fail_file == stored && rc < L->fail_line))) {
        L->failed = 0;
        return fail(L, stored, rc, "syntax error (expected [section], key = value or a "
                                   "comment)");
    }
    if (rc < 0)
        return fail(L, stored, 0, "the INI parser failed (out of memory?)");
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
            return fail(L, e->file, e->line, "list of '%s' too long (max 64 values)", e->key);
        /* a repeated value would be the same case again (impl lists are merged by name) */
        for (int i = 0; i < sw->n && strcmp(e->key, "impl") != 0; i++)
            if (!strcmp(sw->item[i], t))
                return fail(L, e->file, e->line, "value '%s' is listed twice for '%s'", t, e->key);
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

/* FNV-1a of what makes a case one case: descriptor, threads and cache. */
static size_t case_hash(const mb_case *c)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)c->desc; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h = (h ^ (uint64_t)(unsigned)c->threads) * 1099511628211ULL;
    h = (h ^ (uint64_t)(unsigned)c->cache) * 1099511628211ULL;
    return (size_t)h;
}

static int same_case(const mb_case *a, const mb_case *b)
{
    return !strcmp(a->desc, b->desc) && a->threads == b->threads && a->cache == b->cache;
}

/* The slot of c in the table: its case, or the empty slot where it goes. */
static size_t *case_slot(loader *L, const mb_case *c)
{
    size_t mask = L->slot_cap - 1;
    for (size_t i = case_hash(c) & mask;; i = (i + 1) & mask)
        if (!L->slot[i] || same_case(&L->suite->cases[L->slot[i] - 1], c))
            return &L->slot[i];
}

/* Keeps the table at most half full, so that every lookup is O(1) (the suite's cases were
 * compared one by one: 100,000 cases took minutes). 0, or -1 out of memory. */
static int case_table_reserve(loader *L, size_t n)
{
    if (2 * n <= L->slot_cap)
        return 0;
    size_t cap = L->slot_cap ? L->slot_cap : 256;
    while (2 * n > cap)
        cap *= 2;
    size_t *old = L->slot, old_cap = L->slot_cap;
    L->slot = calloc(cap, sizeof *L->slot);
    if (!L->slot) {
        L->slot = old;
        return -1;
    }
    L->slot_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i])
            *case_slot(L, &L->suite->cases[old[i] - 1]) = old[i];
    free(old);
    return 0;
}

/* 0 added or merged; -1 out of memory; -2 conflicting settings (message in why); -3 too many
 * implementations after merging. */
static int push_case(loader *L, const mb_case *c, char *why, size_t whylen)
{
    /* the same shape with the same harness settings is one case: it runs once, with every
     * implementation listed; threads and cache are sweep keys (another value is another case);
     * reps, min_time and timeout must agree */
    mb_suite *s = L->suite;
    if (case_table_reserve(L, s->n + 1))
        return -1;
    size_t *slot = case_slot(L, c);
    if (*slot) {
        mb_case *d = &s->cases[*slot - 1];
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
    *slot = s->n;
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
        return fail(L, sec->file, sec->line, "section [%s] has no 'variant' key", sec->name);
    mb_variant_id v;
    char names[256];
    mb_variant_names(names, sizeof names, " ");
    if (mb_variant_parse(variant_v, &v))
        return fail(L, variant_e->file, variant_e->line, "unknown variant '%s' (variants: %s)",
                    variant_v, names);
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
                return fail(L, e->file, e->line, "reps='%s': expected a positive integer", val);
        } else if (!strcmp(e->key, "threads")) {
            if (parse_pos_int(val, &c.threads))
                return fail(L, e->file, e->line, "threads='%s': expected a positive integer", val);
        } else if (!strcmp(e->key, "min_time")) {
            if (parse_pos_double(val, &c.min_time))
                return fail(L, e->file, e->line, "min_time='%s': expected seconds > 0", val);
        } else if (!strcmp(e->key, "timeout")) {
            if (parse_pos_double(val, &c.timeout))
                return fail(L, e->file, e->line, "timeout='%s': expected seconds > 0", val);
        } else if (!strcmp(e->key, "cache")) {
            if (!strcmp(val, "warm"))
                c.cache = 1;
            else if (!strcmp(val, "cold"))
                c.cache = 2;
            else
                return fail(L, e->file, e->line, "cache='%s': expected warm or cold", val);
        } else if (mb_spec_set(&c.spec, e->key, val, &err) != MB_OK) {
            return fail(L, e->file, e->line, "%s", err.msg);
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
                                "unknown implementation '%s' (see `moebench list`)",
                                sw[i].item[j]);
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
        return fail(L, sec->file, sec->line, "more than 100000 cases");
    char why[1024];
    int pr = push_case(L, &c, why, sizeof why);
    if (pr == -2)
        return fail(L, sec->file, sec->line, "%s", why);
    if (pr == -3)
        return fail(L, sec->file, sec->line, "case %s: more than 16 implementations after "
                    "merging the sections that list it", c.desc);
    if (pr)
        return fail(L, sec->file, sec->line, "out of memory");
    return 1;
}

/* The combinations of a section, in the order of its lists (the last one varies fastest).
 * A list of a key the combination's variant does not use stays at its first value: the other
 * values would be the same case again. alive: the variants (bits of the variant list) still
 * possible in this branch. */
typedef struct {
    loader *L;
    const section *sec;
    sweep *sw;
    int nsw;
    int vi;                     /* index of the variant list */
    uint64_t used[MAX_ENTRIES]; /* per list: the variants that use its key */
    int choice[MAX_ENTRIES];
} walk;

static int walk_lists(walk *w, int i, uint64_t alive)
{
    if (i == w->nsw)
        return build_case(w->L, w->sec, w->sw, w->nsw, w->choice);
    const sweep *a = &w->sw[i];
    if (i == w->vi) {
        for (int j = 0; j < a->n; j++)
            if (alive >> j & 1) {
                w->choice[i] = j;
                if (!walk_lists(w, i + 1, 1ULL << j))
                    return 0;
            }
        w->choice[i] = 0;
        return 1;
    }
    w->choice[i] = 0;
    if (!walk_lists(w, i + 1, alive))
        return 0;
    uint64_t keep = alive & w->used[i];
    if (!strcmp(a->e->key, "impl") || !keep)
        return 1;
    for (int j = 1; j < a->n; j++) {
        w->choice[i] = j;
        if (!walk_lists(w, i + 1, keep))
            return 0;
    }
    w->choice[i] = 0;
    return 1;
}

static int expand_section(loader *L, const section *sec)
{
    /* the section's keys over the defaults' (a section is a few tens of KB: static) */
    static section eff;
    memcpy(&eff, L->defaults, sizeof eff);
    for (int i = 0; i < sec->n; i++) {
        entry *e = find_entry(&eff, sec->e[i].key);
        if (!put_entry(L, &eff, e, sec->e[i].key, sec->e[i].value, sec->e[i].file,
                       sec->e[i].line))
            return 0;
        e = find_entry(&eff, sec->e[i].key);
        e->from_defaults = sec->e[i].from_defaults;
    }
    /* keep the section's own position for messages */
    eff.file = sec->file;
    eff.line = sec->line;
    snprintf(eff.name, sizeof eff.name, "%s", sec->name);

    static sweep sw[MAX_ENTRIES];
    static walk w;
    memset(&w, 0, sizeof w);
    w.L = L;
    w.sec = &eff;
    w.sw = sw;
    w.vi = -1;
    for (int i = 0; i < eff.n; i++) {
        if (!split_list(L, &eff.e[i], &sw[i]))
            return 0;
        if (!strcmp(eff.e[i].key, "variant"))
            w.vi = i;
    }
    w.nsw = eff.n;
    if (w.vi < 0)
        return fail(L, sec->file, sec->line, "section [%s] has no 'variant' key", sec->name);
    const sweep *vs = &sw[w.vi];
    mb_variant_id vid[64];
    char names[256];
    mb_variant_names(names, sizeof names, " ");
    for (int j = 0; j < vs->n; j++)
        if (mb_variant_parse(vs->item[j], &vid[j]))
            return fail(L, vs->e->file, vs->e->line, "unknown variant '%s' (variants: %s)",
                        vs->item[j], names);
    /* which variants use each list; a key the section gives itself must be used by one of
     * them (keys from [defaults] apply only where they mean something) */
    for (int i = 0; i < w.nsw; i++) {
        const entry *e = sw[i].e;
        w.used[i] = 0;
        for (int j = 0; j < vs->n; j++)
            if (!is_spec_key(e->key) || mb_variant_uses(vid[j], e->key))
                w.used[i] |= 1ULL << j;
        if (!w.used[i] && !e->from_defaults) {
            char names[256] = "";
            for (int j = 0; j < vs->n; j++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         j ? " nor " : "", vs->item[j]);
            char msg[900];
            const char *why = mb_routing_key_refusal(vid[0], e->key);
            snprintf(msg, sizeof msg, "'%s' is not used by %s%s%s (keys of %s: %s,p,seed,dtype); "
                     "remove it, or set it in [defaults] to apply where it is used", e->key,
                     names, why ? ": " : "", why ? why : "", vs->item[0],
                     mb_variant_fields(vid[0]));
            return fail(L, e->file, e->line, "%s", msg);
        }
        /* every value is checked where it is written, also those no combination will use */
        for (int j = 0; is_spec_key(e->key) && j < sw[i].n; j++) {
            mb_spec tmp;
            mb_err err;
            mb_err_clear(&err);
            mb_spec_default(&tmp, vid[0]);
            if (mb_spec_set(&tmp, e->key, sw[i].item[j], &err) != MB_OK)
                return fail(L, e->file, e->line, "%s", err.msg);
        }
    }
    /* the number of cases, before building any: per variant, the product of its lists */
    long long count = 0;
    for (int j = 0; j < vs->n; j++) {
        long long prod = 1;
        for (int i = 0; i < w.nsw; i++)
            if (i != w.vi && strcmp(sw[i].e->key, "impl") != 0 && (w.used[i] >> j & 1) &&
                __builtin_mul_overflow(prod, (long long)sw[i].n, &prod))
                prod = LLONG_MAX;
        if (__builtin_add_overflow(count, prod, &count))
            count = LLONG_MAX;
    }
    if (count > MAX_CASES - L->combos) {
        char lists[1024] = "", n[32];
        for (int i = 0; i < w.nsw; i++)
            if (sw[i].n > 1 && strcmp(sw[i].e->key, "impl") != 0)
                snprintf(lists + strlen(lists), sizeof lists - strlen(lists), "%s%s %d",
                         *lists ? " x " : "", sw[i].e->key, sw[i].n);
        char msg[1400], before[64] = "";
        snprintf(n, sizeof n, "%lld", count);
        if (L->combos)
            snprintf(before, sizeof before, ", %lld with the cases before it",
                     count > LLONG_MAX - L->combos ? LLONG_MAX : count + L->combos);
        snprintf(msg, sizeof msg, "section [%s] expands to %s cases (lists: %s)%s, over the limit "
                 "of %d cases per suite", sec->name, n, lists, before, MAX_CASES);
        return fail(L, sec->file, sec->line, "%s", msg);
    }
    L->combos += count;
    return walk_lists(&w, 0, vs->n >= 64 ? ~0ULL : (1ULL << vs->n) - 1);
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
    /* cases of suites loaded before merge with this one's: index them */
    L.combos = (long long)s->n;
    if (case_table_reserve(&L, s->n + 1) == 0)
        for (size_t i = 0; i < s->n; i++)
            *case_slot(&L, &s->cases[i]) = i + 1;
    else
        fail(&L, path, 0, "out of memory");
    if (!L.failed)
        load_file(&L, path, L.defaults, 0, NULL, 0);
    if (!L.failed && L.n_sections == 0)
        fail(&L, path, 1, "no case sections (a section needs at least 'variant = ...')");
    for (int i = 0; i < L.n_sections && !L.failed; i++)
        expand_section(&L, L.sections[i]);
    for (int i = 0; i < L.n_sections; i++)
        free(L.sections[i]);
    free(L.defaults);
    free(L.slot);
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
