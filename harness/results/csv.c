/* CSV writers and reader (see csv.h). */
#include "csv.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    r->ci_rel = NAN;
    r->roof_gflops = NAN;
    r->above_roof = -1;
    r->breakeven_calls = -1;
    r->ep = -1;
    r->route_us = r->dispatch_us = r->expert_us = r->combine_us = NAN;
    r->comm_bytes = -1;
    r->cap = r->topp = NAN;
    r->shared = r->dropped = -1;
    r->experts_per_token_mean = r->expert_load_mean = r->load_imbalance = NAN;
    r->fwd_us = r->bwd_us = NAN;
    r->saved_bytes = r->grad_bytes = r->optimizer_bytes = -1;
    r->near_ties = -1;
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
                                         "prepare_bytes", "breakeven_calls", "mode",
                                         "blas_core", "onednn_isa", "ep", "route_us",
                                         "dispatch_us", "expert_us", "combine_us", "comm_bytes",
                                         "cap", "shared", "topp", "route", "dropped",
                                         "experts_per_token_mean", "expert_load_mean",
                                         "load_imbalance", "expert_counts",
                                         "roof_level", "roof_gflops", "above_roof",
                                         "unstable", "ci_rel", "fwd_us", "bwd_us",
                                         "saved_bytes", "grad_bytes", "optimizer_bytes",
                                         "wq", "near_ties"};

const char *const mb_row_status_names[MB_ROW_N_STATUS] = {"ok",      "skipped", "mismatch",
                                                          "crashed", "timeout", "error"};

const char *mb_row_status_label(int i)
{
    return i >= 0 && i < MB_ROW_N_STATUS ? mb_row_status_names[i] : "?";
}

int mb_row_status_index(const char *name)
{
    for (int i = 0; i < MB_ROW_N_STATUS; i++)
        if (!strcmp(name, mb_row_status_names[i]))
            return i;
    return -1;
}

void mb_row_set_status(mb_row *r, mb_row_status status, const char *fmt, ...)
{
    snprintf(r->status, sizeof r->status, "%s", mb_row_status_label((int)status));
    /* format into a roomy buffer, then cut to the column width: long reasons are truncated,
     * never rejected */
    char tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    size_t l = strnlen(tmp, sizeof r->reason - 1);
    memcpy(r->reason, tmp, l);
    r->reason[l] = '\0';
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
    put_str(f, r->mode);
    put_str(f, r->blas_core);
    put_str(f, r->onednn_isa);
    put_i64(f, r->ep);
    put_dbl(f, r->route_us);
    put_dbl(f, r->dispatch_us);
    put_dbl(f, r->expert_us);
    put_dbl(f, r->combine_us);
    put_i64(f, r->comm_bytes);
    put_dbl(f, mb_csv_variant_uses(r->variant, "cap") ? r->cap : NAN);
    put_i64(f, mb_csv_variant_uses(r->variant, "shared") ? r->shared : -1);
    put_dbl(f, mb_csv_variant_uses(r->variant, "topp") ? r->topp : NAN);
    put_str(f, mb_csv_variant_uses(r->variant, "route") ? r->route : "");
    put_i64(f, r->dropped);
    put_dbl(f, r->experts_per_token_mean);
    put_dbl(f, r->expert_load_mean);
    put_dbl(f, r->load_imbalance);
    put_str(f, r->expert_counts);
    put_str(f, r->roof_level);
    put_dbl(f, r->roof_gflops);
    put_i64(f, r->above_roof);
    /* 0/1 only for a timed row: without samples there is no verdict */
    put_i64(f, r->samples > 0 ? (r->unstable != 0) : -1);
    put_dbl(f, r->ci_rel);
    put_dbl(f, r->fwd_us);
    put_dbl(f, r->bwd_us);
    put_i64(f, r->saved_bytes);
    put_i64(f, r->grad_bytes);
    put_i64(f, r->optimizer_bytes);
    put_str(f, r->wq);
    put_i64(f, r->near_ties);
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

/* The whole file is one buffer; cells are unquoted and NUL-terminated in place, and a cell is
 * found from its row's offset (4 bytes per row) plus its offset within the row (2 bytes per
 * cell). A file of empty cells (one byte each) thus needs about 3x its size, and a results.csv
 * (about 6 bytes per cell) under 2x: no allocation per cell. The price is a bound on a line
 * (MB_CSV_MAX_LINE bytes) and on the file (MB_CSV_MAX_FILE), each an error naming the line. */

static void fail(char *err, size_t n, const char *path, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void fail(char *err, size_t n, const char *path, size_t line, const char *fmt, ...)
{
    if (!err || !n)
        return;
    int k = line ? snprintf(err, n, "%s:%zu: ", path, line) : snprintf(err, n, "%s: ", path);
    if (k < 0 || (size_t)k >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + k, n - (size_t)k, fmt, ap);
    va_end(ap);
}

/* Reads a regular file whole (one allocation of its size + 1). */
static char *slurp(const char *path, size_t *len, char *err, size_t n)
{
    int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        fail(err, n, path, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        fail(err, n, path, 0, "cannot stat: %s", strerror(errno));
        close(fd);
        return NULL;
    }
    if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
        fail(err, n, path, 0, "%s, not a CSV file",
             S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
        close(fd);
        return NULL;
    }
    if ((uint64_t)st.st_size > MB_CSV_MAX_FILE) {
        fail(err, n, path, 0, "%lld bytes: larger than the %llu this reader takes",
             (long long)st.st_size, (unsigned long long)MB_CSV_MAX_FILE);
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *buf = malloc(size + 1);
    if (!buf) {
        fail(err, n, path, 0, "out of memory for %zu bytes", size);
        close(fd);
        return NULL;
    }
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fail(err, n, path, 0, "read error: %s", strerror(errno));
            free(buf);
            close(fd);
            return NULL;
        }
        if (r == 0)
            break;   /* shrank while reading: take what is there */
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    *len = got;
    return buf;
}

typedef struct {
    const char *path;
    char *buf;
    size_t len, pos, line;   /* line: 1-based line of pos */
    char *err;
    size_t errlen;
} csv_parser;

/* Parses the record at p->pos in place. Cell starts (offsets from the record's start) go to
 * offs (room for maxcells; further cells are counted but not stored). *ncells = the number of
 * cells; 1 at end of input, -1 on malformed input (err set). */
static int parse_record(csv_parser *p, uint16_t *offs, size_t maxcells, size_t *ncells,
                        size_t *start)
{
    if (p->pos >= p->len)
        return 1;
    size_t s = p->pos, rec = s, first_line = p->line, k = 0;
    char *b = p->buf;
    *start = rec;
    for (;;) {
        size_t cell = s, w = s;
        if (cell - rec > MB_CSV_MAX_LINE) {
            fail(p->err, p->errlen, p->path, first_line, "line longer than %d bytes",
                 MB_CSV_MAX_LINE);
            return -1;
        }
        if (b[s] == '"') {
            size_t open_line = p->line;
            s++;
            for (;;) {
                if (s >= p->len) {
                    fail(p->err, p->errlen, p->path, open_line,
                         "unterminated quoted field (its closing quote is missing)");
                    return -1;
                }
                if (!b[s]) {
                    fail(p->err, p->errlen, p->path, p->line, "NUL byte (binary data, not CSV)");
                    return -1;
                }
                if (b[s] == '"') {
                    if (b[s + 1] != '"') {
                        s++;
                        break;
                    }
                    s++;
                }
                p->line += b[s] == '\n';
                b[w++] = b[s++];
            }
        } else {
            while (s < p->len && b[s] != ',' && b[s] != '\n' && b[s] != '\r') {
                if (!b[s]) {
                    fail(p->err, p->errlen, p->path, p->line, "NUL byte (binary data, not CSV)");
                    return -1;
                }
                s++;
            }
            w = s;
        }
        if (s - rec > MB_CSV_MAX_LINE) {
            fail(p->err, p->errlen, p->path, first_line, "line longer than %d bytes",
                 MB_CSV_MAX_LINE);
            return -1;
        }
        if (k < maxcells)
            offs[k] = (uint16_t)(cell - rec);
        k++;
        char delim = s < p->len ? b[s] : 0;
        b[w] = 0;   /* w <= s: the delimiter, or the room the quotes took */
        if (delim == ',') {
            s++;
            continue;
        }
        if (delim == '\r' && s + 1 < p->len && b[s + 1] == '\n')
            s++;
        if (delim == '\r' || delim == '\n') {
            s++;
            p->line++;
        } else if (s < p->len) {
            fail(p->err, p->errlen, p->path, p->line,
                 delim ? "text after a closing quote (a quote inside a field is written \"\")"
                       : "NUL byte (binary data, not CSV)");
            return -1;
        }
        break;
    }
    p->pos = s;
    *ncells = k;
    return 0;
}

int mb_csv_load(const char *path, mb_csv_table *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (err && errlen)
        err[0] = 0;
    csv_parser p = {path, NULL, 0, 0, 1, err, errlen};
    p.buf = slurp(path, &p.len, err, errlen);
    if (!p.buf)
        return -1;
    t->buf = p.buf;
    /* the header: at most one cell per byte of a line */
    uint16_t *hoff = malloc((MB_CSV_MAX_LINE + 1) * sizeof *hoff);
    if (!hoff) {
        fail(err, errlen, path, 0, "out of memory");
        mb_csv_free(t);
        return -1;
    }
    size_t nh = 0, start = 0;
    int rc = parse_record(&p, hoff, MB_CSV_MAX_LINE + 1, &nh, &start);
    if (rc != 0) {
        free(hoff);
        mb_csv_free(t);
        return rc < 0 ? -1 : 0;   /* an empty file: no columns, no rows */
    }
    t->header = malloc(nh * sizeof *t->header);
    if (!t->header) {
        free(hoff);
        fail(err, errlen, path, 0, "out of memory");
        mb_csv_free(t);
        return -1;
    }
    for (size_t c = 0; c < nh; c++)
        t->header[c] = p.buf + start + hoff[c];
    t->ncols = nh;
    free(hoff);
    /* rows: at most one per remaining line, and a row has at least ncols - 1 bytes (its
     * commas): the arrays are allocated once at that bound (growing them by realloc would need
     * the old and the new block at once); pages never written are never touched */
    size_t lines = 1;
    for (const char *q = p.buf + p.pos; (q = memchr(q, '\n', p.len - (size_t)(q - p.buf)));
         q++)
        lines++;
    size_t cap = (p.len - p.pos) / (nh > 1 ? nh - 1 : 1) + 1;
    cap = cap < lines ? cap : lines;
    uint16_t *row = malloc(nh * sizeof *row);
    t->row_off = malloc(cap * sizeof *t->row_off);
    t->cell_off = malloc(cap * nh * sizeof *t->cell_off);
    if (!row || !t->row_off || !t->cell_off) {
        free(row);
        fail(err, errlen, path, 0, "out of memory");
        mb_csv_free(t);
        return -1;
    }
    for (;;) {
        size_t line = p.line, k = 0;
        rc = parse_record(&p, row, nh, &k, &start);
        if (rc == 1)
            break;
        if (rc < 0)
            goto bad;
        if (k == 1 && !p.buf[start])
            continue;   /* a blank line */
        if (k != nh) {
            fail(err, errlen, path, line, "%zu field%s, the header (line 1) has %zu", k,
                 k == 1 ? "" : "s", nh);
            goto bad;
        }
        if (t->nrows == cap) {   /* cannot happen (see the bound above) */
            fail(err, errlen, path, line, "more rows than lines");
            goto bad;
        }
        t->row_off[t->nrows] = (uint32_t)start;
        memcpy(t->cell_off + t->nrows * nh, row, nh * sizeof *row);
        t->nrows++;
    }
    free(row);
    return 0;
bad:
    free(row);
    mb_csv_free(t);
    return -1;
}

int mb_csv_read(const char *path, mb_csv_table *t)
{
    char err[512];
    int rc = mb_csv_load(path, t, err, sizeof err);
    if (rc && !errno)
        errno = EINVAL;
    return rc;
}

void mb_csv_free(mb_csv_table *t)
{
    free(t->header);
    free(t->row_off);
    free(t->cell_off);
    free(t->buf);
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
    return mb_csv_cell(t, row, (size_t)c);
}
