/* CSV writers and reader (see csv.h). */
#include "csv.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fileutil.h"
#include "moebench/spec.h"

void mb_row_init(mb_row *r)
{
    memset(r, 0, sizeof *r);
    r->threads = -1;
    r->B = r->S = r->T = r->h = r->o = r->f = r->r = r->E = r->k = r->shard = -1;
    r->samples = 0;
    r->time_us_median = r->time_us_min = r->time_us_p95 = r->time_us_mad = NAN;
    r->time_us_ci_lo = r->time_us_ci_hi = NAN;
    r->prepare_us = r->flops = r->bytes = r->gflops = r->gbps = r->pct_peak = NAN;
    r->weights_bytes = r->workspace_bytes = r->peak_rss_bytes = -1;
    r->max_abs_err = r->max_rel_err = r->expert_load_max = r->aux_loss = NAN;
    for (int i = 0; i < MB_MAX_COUNTERS; i++)
        r->ctr[i] = NAN;
    r->alpha = NAN;
    r->seed = -1;
    r->iters_per_sample = -1;
    r->prepare_bytes = -1;
    r->unstable = 0;
    r->breakeven_calls = -1;
}

const char *const mb_csv_required_columns[] = {
    "run_id", "variant", "impl", "status", "reason", "dtype", "threads", "cache", "B", "S", "T",
    "h", "o", "f", "r", "E", "k", "share", "shard", "samples", "time_us_median", "time_us_min",
    "time_us_p95", "time_us_mad", "time_us_ci_lo", "time_us_ci_hi", "prepare_us", "flops",
    "bytes", "gflops", "gbps", "pct_peak", "weights_bytes", "workspace_bytes", "peak_rss_bytes",
    "max_abs_err", "max_rel_err", "expert_load_max", "aux_loss"};
const int mb_csv_required_count =
    (int)(sizeof mb_csv_required_columns / sizeof mb_csv_required_columns[0]);
static const char *const extra_cols[] = {"case", "alpha", "act", "seed", "iters_per_sample",
                                         "prepare_bytes", "breakeven_calls"};

const char *const mb_status_names[MB_N_STATUS] = {"ok",      "skipped", "mismatch",
                                                  "crashed", "timeout", "error"};

const char *mb_status_label(int i)
{
    return i >= 0 && i < MB_N_STATUS ? mb_status_names[i] : "?";
}

int mb_status_index(const char *name)
{
    for (int i = 0; i < MB_N_STATUS; i++)
        if (!strcmp(name, mb_status_names[i]))
            return i;
    return -1;
}

void mb_csv_write_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void mb_csv_sanitize(const char *in, char *out, size_t n)
{
    size_t j = 0;
    for (; *in && j + 1 < n; in++) {
        unsigned char c = (unsigned char)tolower((unsigned char)*in);
        out[j++] = (isalnum(c) || c == '_') ? (char)c : '_';
    }
    if (n)
        out[j] = '\0';
}

void mb_csv_write_header(FILE *f, int n_ctr, char ctr_names[][64])
{
    for (int i = 0; i < mb_csv_required_count; i++)
        fprintf(f, "%s%s", i ? "," : "", mb_csv_required_columns[i]);
    for (int i = 0; i < n_ctr; i++)
        fprintf(f, ",ctr_%s", ctr_names[i]);
    for (size_t i = 0; i < sizeof extra_cols / sizeof extra_cols[0]; i++)
        fprintf(f, ",%s", extra_cols[i]);
    fputc('\n', f);
}

static void put_str(FILE *f, const char *s)
{
    fputc(',', f);
    mb_csv_write_field(f, s);
}

static void put_i64(FILE *f, int64_t v)
{
    if (v < 0)
        fputc(',', f);
    else
        fprintf(f, ",%lld", (long long)v);
}

/* %.9g: nine significant digits, enough to round-trip a float (not a double). Timings (us,
 * from integer nanoseconds), rates and errors need no more; the harness does not read these
 * values back for further computation that would need a double's full precision. */
static void put_dbl(FILE *f, double v)
{
    if (isnan(v) || isinf(v))
        fputc(',', f);
    else
        fprintf(f, ",%.9g", v);
}

/* Whether the row's variant uses spec field key (mb_variant_fields: "T,B,S,h,o,..."). Unused
 * fields are written empty: a suite default there (f=11008 on a lora row) would mislead. An
 * unknown variant keeps every field. */
int mb_csv_variant_uses(const char *variant, const char *key)
{
    mb_variant_id v;
    if (!variant || mb_variant_parse(variant, &v) != 0)
        return 1;
    const char *p = mb_variant_fields(v);
    size_t kl = strlen(key);
    while (*p) {
        size_t l = strcspn(p, ",");
        if (l == kl && !strncmp(p, key, l))
            return 1;
        p += l;
        if (*p == ',')
            p++;
    }
    return 0;
}

void mb_csv_write_row(FILE *f, const mb_row *r, int n_ctr)
{
#define SPEC_I64(field) put_i64(f, mb_csv_variant_uses(r->variant, #field) ? r->field : -1)
    mb_csv_write_field(f, r->run_id);
    put_str(f, r->variant);
    put_str(f, r->impl);
    put_str(f, r->status);
    put_str(f, r->reason);
    put_str(f, r->dtype);
    put_i64(f, r->threads);
    put_str(f, r->cache);
    put_i64(f, r->B);
    put_i64(f, r->S);
    put_i64(f, r->T);
    put_i64(f, r->h);
    SPEC_I64(o);
    SPEC_I64(f);
    SPEC_I64(r);
    SPEC_I64(E);
    SPEC_I64(k);
    put_str(f, mb_csv_variant_uses(r->variant, "share") ? r->share : "");
    SPEC_I64(shard);
#undef SPEC_I64
    put_i64(f, r->samples);
    put_dbl(f, r->time_us_median);
    put_dbl(f, r->time_us_min);
    put_dbl(f, r->time_us_p95);
    put_dbl(f, r->time_us_mad);
    put_dbl(f, r->time_us_ci_lo);
    put_dbl(f, r->time_us_ci_hi);
    put_dbl(f, r->prepare_us);
    put_dbl(f, r->flops);
    put_dbl(f, r->bytes);
    put_dbl(f, r->gflops);
    put_dbl(f, r->gbps);
    put_dbl(f, r->pct_peak);
    put_i64(f, r->weights_bytes);
    put_i64(f, r->workspace_bytes);
    put_i64(f, r->peak_rss_bytes);
    put_dbl(f, r->max_abs_err);
    put_dbl(f, r->max_rel_err);
    put_dbl(f, r->expert_load_max);
    put_dbl(f, r->aux_loss);
    for (int i = 0; i < n_ctr && i < MB_MAX_COUNTERS; i++)
        put_dbl(f, r->ctr[i]);
    put_str(f, r->case_desc);
    put_dbl(f, r->alpha);
    put_str(f, r->act);
    put_i64(f, r->seed);
    put_i64(f, r->iters_per_sample);
    put_i64(f, r->prepare_bytes);
    put_i64(f, r->breakeven_calls);
    fputc('\n', f);
}

void mb_samples_write_header(FILE *f)
{
    fputs("run_id,case,impl,threads,cache,rep,time_ns\n", f);
}

void mb_samples_write(FILE *f, const char *run_id, const char *case_desc, const char *impl,
                      int threads, const char *cache, int rep, int64_t time_ns)
{
    mb_csv_write_field(f, run_id);
    put_str(f, case_desc);
    put_str(f, impl);
    put_i64(f, threads);
    put_str(f, cache ? cache : "");
    fprintf(f, ",%d,%lld\n", rep, (long long)time_ns);
}

/* ---- reader ------------------------------------------------------------------------- */

typedef struct {
    char **v;
    size_t n, cap;
} strvec;

static void strvec_free(strvec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

static int strvec_push(strvec *s, char *x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return 0;
}

/* Appends ch to a field of n chars (capacity cap, room kept for the terminator); -1 when the
 * field cannot grow (it is left as it was). */
static int field_put(char **field, size_t *cap, size_t *n, char ch)
{
    if (*n + 2 > *cap) {
        char *nf = realloc(*field, *cap * 2);
        if (!nf)
            return -1;
        *field = nf;
        *cap *= 2;
    }
    (*field)[(*n)++] = ch;
    return 0;
}

/* Parses one record starting at *p (RFC 4180: quoted fields may hold commas, "" and
 * newlines). Returns 0, 1 at end of input, -1 on a malformed quote. */
static int parse_record(const char **p, strvec *out)
{
    const char *s = *p;
    if (!*s)
        return 1;
    for (;;) {
        size_t cap = 64, n = 0;
        char *field = malloc(cap);
        if (!field)
            return -1;
        if (*s == '"') {
            s++;
            for (;;) {
                if (!*s) {
                    free(field);
                    return -1;
                }
                if (*s == '"') {
                    if (s[1] == '"')
                        s++;
                    else {
                        s++;
                        break;
                    }
                }
                if (field_put(&field, &cap, &n, *s++)) {
                    free(field);
                    return -1;
                }
            }
        } else {
            while (*s && *s != ',' && *s != '\n' && *s != '\r') {
                if (field_put(&field, &cap, &n, *s++)) {
                    free(field);
                    return -1;
                }
            }
        }
        field[n] = '\0';
        if (strvec_push(out, field)) {
            free(field);
            return -1;
        }
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '\r')
            s++;
        if (*s == '\n')
            s++;
        else if (*s) {
            return -1;   /* text after a closing quote */
        }
        break;
    }
    *p = s;
    return 0;
}

int mb_csv_read(const char *path, mb_csv_table *t)
{
    memset(t, 0, sizeof *t);
    char *buf = mb_read_file(path, 0, NULL);
    if (!buf)
        return -1;

    const char *p = buf;
    strvec rec = {0};
    int rc = parse_record(&p, &rec);
    if (rc != 0) {
        strvec_free(&rec);
        free(buf);
        return rc == 1 ? 0 : -1;
    }
    t->ncols = rec.n;
    t->header = rec.v;
    size_t rcap = 0;
    for (;;) {
        strvec fields = {0};
        rc = parse_record(&p, &fields);
        if (rc == 1)
            break;
        if (rc < 0) {
            strvec_free(&fields);
            free(buf);
            mb_csv_free(t);
            return -1;
        }
        if (fields.n == 1 && fields.v[0][0] == '\0') {   /* blank line */
            strvec_free(&fields);
            continue;
        }
        int oom = 0;
        while (!oom && fields.n < t->ncols) {
            char *e = calloc(1, 1);
            if (!e || strvec_push(&fields, e)) {
                free(e);
                oom = 1;
            }
        }
        if (!oom && t->nrows == rcap) {
            size_t ncap = rcap ? 2 * rcap : 64;
            char ***nr = realloc(t->rows, ncap * sizeof *nr);
            if (!nr)
                oom = 1;
            else {
                t->rows = nr;
                rcap = ncap;
            }
        }
        if (oom) {   /* a short row would be read past its end later: give up cleanly */
            strvec_free(&fields);
            free(buf);
            mb_csv_free(t);
            return -1;
        }
        /* extra fields beyond the header are dropped */
        for (size_t i = t->ncols; i < fields.n; i++)
            free(fields.v[i]);
        t->rows[t->nrows++] = fields.v;
    }
    free(buf);
    return 0;
}

void mb_csv_free(mb_csv_table *t)
{
    for (size_t i = 0; i < t->ncols && t->header; i++)
        free(t->header[i]);
    free(t->header);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t i = 0; i < t->ncols; i++)
            free(t->rows[r][i]);
        free(t->rows[r]);
    }
    free(t->rows);
    memset(t, 0, sizeof *t);
}

int mb_csv_col(const mb_csv_table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (!strcmp(t->header[i], name))
            return (int)i;
    return -1;
}

const char *mb_csv_get(const mb_csv_table *t, size_t row, const char *col)
{
    int c = mb_csv_col(t, col);
    if (c < 0 || row >= t->nrows)
        return "";
    return t->rows[row][c];
}
