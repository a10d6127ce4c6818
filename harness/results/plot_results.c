/* Loading and validating a results directory for `plot` and `compare` (see plot_results.h). */
#define _GNU_SOURCE   /* qsort_r */
#include "plot_results.h"
#include "fileutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const required_cols[] = {
    "run_id", "variant", "impl", "status", "reason", "dtype", "threads", "cache", "B", "S", "T",
    "h", "o", "f", "r", "E", "k", "share", "shard", "samples", "time_us_median", "time_us_min",
    "time_us_p95", "time_us_mad", "time_us_ci_lo", "time_us_ci_hi", "prepare_us", "flops",
    "bytes", "gflops", "gbps", "pct_peak", "weights_bytes", "workspace_bytes", "peak_rss_bytes",
    "max_abs_err", "max_rel_err", "expert_load_max", "aux_loss"};

static int build_row_cache(mb_results *res);
static int build_sample_order(mb_results *res);

static const char *const statuses[] = {"ok", "skipped", "mismatch", "crashed", "timeout", "error"};

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A writer killed mid-row leaves a last line without its newline, which a tolerant CSV reader
 * pads with empty fields: the row would then look valid with its timings missing. */
static int check_complete(const char *path, char *err, size_t errlen)
{
    /* only the last byte is needed (the CSV reader reads the file once, after this) */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: %s, not a CSV file", path,
                 S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    int last = EOF;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size > 0 && fseek(f, -1, SEEK_END) == 0)
        last = fgetc(f);
    fclose(f);
    if (size == 0) {
        snprintf(err, errlen, "%s: empty file (no header line)", path);
        return -1;
    }
    if (size > 0 && last == '\n')
        return 0;
    /* the error path: count the lines for the message */
    size_t len = 0;
    char *text = mb_read_file(path, 0, &len);
    if (!text) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    int lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    free(text);
    snprintf(err, errlen, "%s: truncated: line %d has no end of line (interrupted write?)", path,
             lines);
    return -1;
}

static int load_csv(const char *path, mb_csv_table *t, char *err, size_t errlen)
{
    if (check_complete(path, err, errlen))
        return -1;
    memset(t, 0, sizeof *t);
    return mb_csv_load(path, t, err, errlen);
}

static int col(const mb_results *res, const char *name) { return mb_csv_col(&res->csv, name); }

static void find_cols(mb_results *res)
{
    mb_result_cols *c = &res->c;
    c->run_id = col(res, "run_id");
    c->variant = col(res, "variant");
    c->impl = col(res, "impl");
    c->status = col(res, "status");
    c->reason = col(res, "reason");
    c->threads = col(res, "threads");
    c->cache = col(res, "cache");
    c->B = col(res, "B");
    c->S = col(res, "S");
    c->T = col(res, "T");
    c->h = col(res, "h");
    c->o = col(res, "o");
    c->f = col(res, "f");
    c->r = col(res, "r");
    c->E = col(res, "E");
    c->k = col(res, "k");
    c->share = col(res, "share");
    c->shard = col(res, "shard");
    c->samples = col(res, "samples");
    c->med = col(res, "time_us_median");
    c->min = col(res, "time_us_min");
    c->p95 = col(res, "time_us_p95");
    c->mad = col(res, "time_us_mad");
    c->ci_lo = col(res, "time_us_ci_lo");
    c->ci_hi = col(res, "time_us_ci_hi");
    c->flops = col(res, "flops");
    c->bytes = col(res, "bytes");
    c->gflops = col(res, "gflops");
    c->weights = col(res, "weights_bytes");
    c->workspace = col(res, "workspace_bytes");
    c->rss = col(res, "peak_rss_bytes");
    c->load_max = col(res, "expert_load_max");
    c->aux_loss = col(res, "aux_loss");
    c->case_desc = col(res, "case");
    c->prepare_bytes = col(res, "prepare_bytes");   /* optional (older runs lack it) */
    c->expert_counts = col(res, "expert_counts");   /* optional (runs before issue 16) */
    c->mode = col(res, "mode");                       /* optional (runs before issue 14) */
    c->fwd_us = col(res, "fwd_us");
    c->bwd_us = col(res, "bwd_us");
    c->saved_bytes = col(res, "saved_bytes");
    c->grad_bytes = col(res, "grad_bytes");
    c->optimizer_bytes = col(res, "optimizer_bytes");
}

static int validate_rows(mb_results *res, const char *path, char *err, size_t errlen)
{
    for (size_t i = 0; i < res->csv.nrows; i++) {
        const char *st = mb_results_str(res, i, res->c.status);
        int known = 0;
        for (size_t s = 0; s < sizeof statuses / sizeof statuses[0]; s++)
            known |= !strcmp(st, statuses[s]);
        if (!known) {
            snprintf(err, errlen, "%s: row %zu: status '%s' is not one of ok, skipped, mismatch, "
                     "crashed, timeout, error", path, i + 2, st);
            return -1;
        }
        if (!strcmp(st, "ok") && !isfinite(mb_results_num(res, i, res->c.med))) {
            snprintf(err, errlen, "%s: row %zu: status ok but time_us_median is empty or not a "
                     "number", path, i + 2);
            return -1;
        }
    }
    return 0;
}

int mb_results_load(const char *path, mb_results *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    char csv_path[4200], json_path[4200], samples_path[4200];
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: no such results directory or results.csv", path);
        return -1;
    }
    if (is_dir(path)) {
        snprintf(res->dir, sizeof res->dir, "%s", path);
    } else {
        /* a results.csv: its directory holds run.json */
        snprintf(res->dir, sizeof res->dir, "%s", path);
        char *slash = strrchr(res->dir, '/');
        if (slash)
            *slash = 0;
        else
            snprintf(res->dir, sizeof res->dir, ".");
    }
    size_t dl = strlen(res->dir);
    while (dl > 1 && res->dir[dl - 1] == '/')
        res->dir[--dl] = 0;
    if (is_dir(path))
        snprintf(csv_path, sizeof csv_path, "%s/results.csv", res->dir);
    else
        snprintf(csv_path, sizeof csv_path, "%s", path);
    snprintf(json_path, sizeof json_path, "%s/run.json", res->dir);
    snprintf(samples_path, sizeof samples_path, "%s/samples.csv", res->dir);

    if (stat(csv_path, &st) != 0) {
        snprintf(err, errlen, "%s: missing (not a results directory?)", csv_path);
        return -1;
    }
    if (load_csv(csv_path, &res->csv, err, errlen))
        return -1;
    for (size_t i = 0; i < sizeof required_cols / sizeof required_cols[0]; i++)
        if (mb_csv_col(&res->csv, required_cols[i]) < 0) {
            snprintf(err, errlen, "%s: required column '%s' is missing from the header", csv_path,
                     required_cols[i]);
            mb_results_free(res);
            return -1;
        }
    find_cols(res);
    if (validate_rows(res, csv_path, err, errlen)) {
        mb_results_free(res);
        return -1;
    }
    if (build_row_cache(res)) {
        snprintf(err, errlen, "%s: out of memory", csv_path);
        mb_results_free(res);
        return -1;
    }

    size_t jlen = 0;
    char *json = mb_read_file(json_path, 0, &jlen);
    if (!json) {
        snprintf(err, errlen, "%s: missing: a results directory needs its provenance (run.json)",
                 json_path);
        mb_results_free(res);
        return -1;
    }
    res->run = cJSON_Parse(json);
    free(json);
    if (!res->run || !cJSON_IsObject(res->run)) {
        snprintf(err, errlen, "%s: not a valid JSON object", json_path);
        mb_results_free(res);
        return -1;
    }

    if (stat(samples_path, &st) == 0) {
        if (load_csv(samples_path, &res->samples, err, errlen)) {
            mb_results_free(res);
            return -1;
        }
        const char *need[] = {"case", "impl", "time_ns"};
        for (int i = 0; i < 3; i++)
            if (mb_csv_col(&res->samples, need[i]) < 0) {
                snprintf(err, errlen, "%s: required column '%s' is missing from the header",
                         samples_path, need[i]);
                mb_results_free(res);
                return -1;
            }
        res->has_samples = 1;
        if (build_sample_order(res)) {
            snprintf(err, errlen, "%s: out of memory", samples_path);
            mb_results_free(res);
            return -1;
        }
    }
    return 0;
}

void mb_results_free(mb_results *res)
{
    for (size_t i = 0; i < res->csv.nrows; i++) {
        if (res->row_case)
            free(res->row_case[i]);
        if (res->row_panel)
            free(res->row_panel[i]);
        if (res->row_key)
            free(res->row_key[i]);
    }
    free(res->row_case);
    free(res->row_panel);
    free(res->row_key);
    free(res->sample_order);
    mb_csv_free(&res->csv);
    if (res->has_samples)
        mb_csv_free(&res->samples);
    cJSON_Delete(res->run);
    memset(res, 0, sizeof *res);
}

size_t mb_results_nrows(const mb_results *res) { return res->csv.nrows; }

int mb_results_keep_rows(mb_results *res, const unsigned char *keep)
{
    mb_csv_table *t = &res->csv;
    size_t k = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        free(res->row_case[i]);
        free(res->row_panel[i]);
        free(res->row_key[i]);
        if (!keep[i])
            continue;
        t->row_off[k] = t->row_off[i];
        memmove(t->cell_off + k * t->ncols, t->cell_off + i * t->ncols,
                t->ncols * sizeof *t->cell_off);
        k++;
    }
    free(res->row_case);
    free(res->row_panel);
    free(res->row_key);
    res->row_case = res->row_panel = res->row_key = NULL;
    t->nrows = k;
    return build_row_cache(res);
}

const char *mb_results_str(const mb_results *res, size_t i, int c)
{
    if (c < 0 || i >= res->csv.nrows || (size_t)c >= res->csv.ncols)
        return "";
    return mb_csv_cell(&res->csv, i, (size_t)c);
}

double mb_results_num(const mb_results *res, size_t i, int c)
{
    const char *s = mb_results_str(res, i, c);
    if (!*s)
        return NAN;
    char *end;
    double v = strtod(s, &end);
    while (*end == ' ')
        end++;
    return *end ? NAN : v;
}

int mb_results_ok(const mb_results *res, size_t i)
{
    return !strcmp(mb_results_str(res, i, res->c.status), "ok");
}

/* Appends ",key=value" (or ":key=value" first) for a non-empty field. */
static void add_field(char *out, size_t n, const char *key, const char *val, int *first)
{
    if (!*val)
        return;
    size_t l = strlen(out);
    snprintf(out + l, l < n ? n - l : 0, "%s%s=%s", *first ? ":" : ",", key, val);
    *first = 0;
}

static void build_case(const mb_results *res, size_t i, char *out, size_t n, int with_tokens)
{
    const mb_result_cols *c = &res->c;
    snprintf(out, n, "%s", mb_results_str(res, i, c->variant));
    int first = 1;
    if (with_tokens) {
        add_field(out, n, "T", mb_results_str(res, i, c->T), &first);
        const char *B = mb_results_str(res, i, c->B);
        if (*B && strcmp(B, "1"))
            add_field(out, n, "B", B, &first);
    }
    const char *keys[] = {"h", "o", "f", "r", "E", "k"};
    int idx[] = {c->h, c->o, c->f, c->r, c->E, c->k};
    for (int j = 0; j < 6; j++)
        add_field(out, n, keys[j], mb_results_str(res, i, idx[j]), &first);
    const char *v = mb_results_str(res, i, c->variant);
    if (!strcmp(v, "mixlora"))
        add_field(out, n, "share", mb_results_str(res, i, c->share), &first);
    if (!strcmp(v, "sparse_mlp"))
        add_field(out, n, "shard", mb_results_str(res, i, c->shard), &first);
}

static void compute_case(const mb_results *res, size_t i, char *out, size_t n)
{
    const char *d = mb_results_str(res, i, res->c.case_desc);
    if (*d)
        snprintf(out, n, "%s", d);
    else
        build_case(res, i, out, n, 1);
}

/* Whether column c takes more than one value over the run. */
static int varies(const mb_results *res, int c)
{
    for (size_t i = 1; i < res->csv.nrows; i++)
        if (strcmp(mb_results_str(res, i, c), mb_results_str(res, 0, c)))
            return 1;
    return 0;
}

/* Removes the T=, B= and S= entries of a descriptor "variant:k=v,k=v". */
static void strip_tokens(const char *desc, char *out, size_t n)
{
    const char *colon = strchr(desc, ':');
    if (!colon) {
        snprintf(out, n, "%s", desc);
        return;
    }
    snprintf(out, n, "%.*s", (int)(colon - desc), desc);
    int first = 1;
    const char *p = colon + 1;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int tok = len >= 2 && p[1] == '=' && (p[0] == 'T' || p[0] == 'B' || p[0] == 'S');
        if (!tok) {
            size_t l = strlen(out);
            snprintf(out + l, l < n ? n - l : 0, "%s%.*s", first ? ":" : ",", (int)len, p);
            first = 0;
        }
        p += len + (e ? 1 : 0);
    }
}

static void compute_panel(const mb_results *res, size_t i, int threads_vary, int cache_vary,
                          char *out, size_t n)
{
    const char *d = mb_results_str(res, i, res->c.case_desc);
    if (*d)
        strip_tokens(d, out, n);
    else
        build_case(res, i, out, n, 0);
    size_t l = strlen(out);
    if (threads_vary)
        l += (size_t)snprintf(out + l, l < n ? n - l : 0, " threads=%s",
                              mb_results_str(res, i, res->c.threads));
    if (l < n && cache_vary)
        snprintf(out + l, n - l, " cache=%s", mb_results_str(res, i, res->c.cache));
}

static void compute_key(const mb_results *res, size_t i, char *out, size_t n)
{
    char desc[1024];
    compute_case(res, i, desc, sizeof desc);
    snprintf(out, n, "%s threads=%s cache=%s", desc, mb_results_str(res, i, res->c.threads),
             mb_results_str(res, i, res->c.cache));
}

static int build_row_cache(mb_results *res)
{
    size_t n = res->csv.nrows ? res->csv.nrows : 1;
    res->row_case = calloc(n, sizeof(char *));
    res->row_panel = calloc(n, sizeof(char *));
    res->row_key = calloc(n, sizeof(char *));
    if (!res->row_case || !res->row_panel || !res->row_key)
        return -1;
    int tv = varies(res, res->c.threads), cv = varies(res, res->c.cache);
    char buf[1400];
    for (size_t i = 0; i < res->csv.nrows; i++) {
        compute_case(res, i, buf, sizeof buf);
        res->row_case[i] = strdup(buf);
        compute_panel(res, i, tv, cv, buf, sizeof buf);
        res->row_panel[i] = strdup(buf);
        compute_key(res, i, buf, sizeof buf);
        res->row_key[i] = strdup(buf);
        if (!res->row_case[i] || !res->row_panel[i] || !res->row_key[i])
            return -1;
    }
    return 0;
}

static void cached(char *const *cache, size_t nrows, size_t i, char *out, size_t n)
{
    const char *s = cache && i < nrows && cache[i] ? cache[i] : "";
    size_t l = strlen(s);
    if (!n)
        return;
    if (l >= n)
        l = n - 1;
    memcpy(out, s, l);   /* called per row by every chart: no format parsing */
    out[l] = 0;
}

void mb_results_case(const mb_results *res, size_t i, char *out, size_t n)
{
    cached(res->row_case, res->csv.nrows, i, out, n);
}

void mb_results_panel(const mb_results *res, size_t i, char *out, size_t n)
{
    cached(res->row_panel, res->csv.nrows, i, out, n);
}

const char *mb_results_key(const mb_results *res, size_t i)
{
    return res->row_key && i < res->csv.nrows && res->row_key[i] ? res->row_key[i] : "";
}

void mb_results_match_key(const mb_results *res, size_t i, char *out, size_t n)
{
    cached(res->row_key, res->csv.nrows, i, out, n);
}

/* Depth-first search for the first member named key. */
static const cJSON *find_key(const cJSON *node, const char *key)
{
    if (!node)
        return NULL;
    const cJSON *hit = cJSON_GetObjectItemCaseSensitive(node, key);
    if (hit && cJSON_IsObject(node))
        return hit;
    for (const cJSON *ch = node->child; ch; ch = ch->next)
        if (cJSON_IsObject(ch) || cJSON_IsArray(ch))
            if ((hit = find_key(ch, key)))
                return hit;
    return NULL;
}

const char *mb_results_prov(const mb_results *res, const char *path, char *buf, size_t n)
{
    const cJSON *node = res->run;
    char part[256];
    const char *p = path;
    while (node && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        snprintf(part, sizeof part, "%.*s", (int)len, p);
        node = cJSON_GetObjectItemCaseSensitive(node, part);
        p += len + (dot ? 1 : 0);
    }
    if (!node && !strchr(path, '.'))
        node = find_key(res->run, path);
    if (!node)
        return NULL;
    if (cJSON_IsString(node))
        snprintf(buf, n, "%s", node->valuestring);
    else if (cJSON_IsNumber(node))
        snprintf(buf, n, "%g", node->valuedouble);
    else if (cJSON_IsBool(node))
        snprintf(buf, n, "%s", cJSON_IsTrue(node) ? "true" : "false");
    else
        return NULL;
    return buf;
}

/* First of several candidate provenance keys that exists. */
static const char *prov_any(const mb_results *res, const char *const *keys, char *buf, size_t n)
{
    for (; *keys; keys++)
        if (mb_results_prov(res, *keys, buf, n))
            return buf;
    return NULL;
}

void mb_results_footnote(const mb_results *res, char *out, size_t n)
{
    static const char *const id_keys[] = {"run_id", NULL};
    static const char *const cpu_keys[] = {"cpu.model", "cpu_model", "model_name", "cpu", NULL};
    static const char *const host_keys[] = {"host.name", "hostname", "host", NULL};
    static const char *const cc_keys[] = {"compiler", "build.compiler", NULL};
    char id[128] = "", cpu[160] = "", host[96] = "", cc[96] = "";
    if (!prov_any(res, id_keys, id, sizeof id))
        snprintf(id, sizeof id, "%s", res->csv.nrows ? mb_results_str(res, 0, res->c.run_id) : "?");
    prov_any(res, cpu_keys, cpu, sizeof cpu);
    prov_any(res, host_keys, host, sizeof host);
    prov_any(res, cc_keys, cc, sizeof cc);
    /* a BLAS core below the CPU (run.json library_dispatch, harness/machine/library_dispatch.c)
     * leads the footnote: the blas, merged and torch numbers of the chart are not this
     * machine's */
    char weak[8] = "", core[40] = "", isa[16] = "", cpu_isa[16] = "", fix[64] = "", warn[200] = "";
    if (mb_results_prov(res, "library_dispatch.openblas.weaker_than_cpu", weak, sizeof weak) &&
        !strcmp(weak, "true") &&
        mb_results_prov(res, "library_dispatch.openblas.core", core, sizeof core) &&
        mb_results_prov(res, "library_dispatch.openblas.core_isa", isa, sizeof isa) &&
        mb_results_prov(res, "library_dispatch.cpu_executes", cpu_isa, sizeof cpu_isa) &&
        mb_results_prov(res, "library_dispatch.openblas.remedy", fix, sizeof fix))
        snprintf(warn, sizeof warn, "WARNING: OpenBLAS ran its %s core (%s) on a CPU executing %s: "
                 "blas/merged/torch too slow, rerun with %s | ", core, isa, cpu_isa, fix);
    snprintf(out, n, "%srun %s%s%s%s%s%s%s", warn, id, *cpu ? " | " : "", cpu, *host ? " | " : "",
             host, *cc ? " | " : "", cc);
}

int mb_results_samples_keyed(const mb_results *res)
{
    return res->has_samples && mb_csv_col(&res->samples, "threads") >= 0 &&
           mb_csv_col(&res->samples, "cache") >= 0;
}

/* Whether sample row i belongs to (case, impl, threads, cache); threads / cache are compared
 * only when given and samples.csv has the columns (runs before they existed lack them). */
/* (case, impl) of samples.csv row i against the wanted pair */
static int sample_cmp_key(const mb_csv_table *t, size_t i, int cc, int ci, const char *case_desc,
                          const char *impl)
{
    int d = strcmp(mb_csv_cell(t, i, (size_t)cc), case_desc);
    return d ? d : strcmp(mb_csv_cell(t, i, (size_t)ci), impl);
}

static int sample_order_cmp(const void *pa, const void *pb, void *arg)
{
    const mb_csv_table *t = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int cc = mb_csv_col(t, "case"), ci = mb_csv_col(t, "impl");
    int d = sample_cmp_key(t, a, cc, ci, mb_csv_cell(t, b, (size_t)cc),
                           mb_csv_cell(t, b, (size_t)ci));
    return d ? d : (a > b) - (a < b);
}

static int build_sample_order(mb_results *res)
{
    const mb_csv_table *t = &res->samples;
    res->sample_order = malloc((t->nrows ? t->nrows : 1) * sizeof *res->sample_order);
    if (!res->sample_order)
        return -1;
    for (size_t i = 0; i < t->nrows; i++)
        res->sample_order[i] = i;
    qsort_r(res->sample_order, t->nrows, sizeof *res->sample_order, sample_order_cmp, (void *)t);
    return 0;
}

size_t mb_results_samples(const mb_results *res, const char *case_desc, const char *impl,
                          const char *threads, const char *cache, double **out)
{
    *out = NULL;
    if (!res->has_samples)
        return 0;
    const mb_csv_table *t = &res->samples;
    int cc = mb_csv_col(t, "case"), ci = mb_csv_col(t, "impl"), cn = mb_csv_col(t, "time_ns");
    int ct = mb_csv_col(t, "threads"), ck = mb_csv_col(t, "cache");
    const size_t *ord = res->sample_order;
    size_t lo = 0, hi = t->nrows;   /* first sorted position not below (case, impl) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sample_cmp_key(t, ord[mid], cc, ci, case_desc, impl) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < t->nrows && sample_cmp_key(t, ord[end], cc, ci, case_desc, impl) == 0)
        end++;
    if (end == lo)
        return 0;
    double *v = malloc((end - lo) * sizeof *v);
    if (!v)
        return 0;
    size_t k = 0;
    for (size_t p = lo; p < end; p++) {
        size_t i = ord[p];
        if ((ct >= 0 && threads && strcmp(mb_csv_cell(t, i, (size_t)ct), threads)) ||
            (ck >= 0 && cache && strcmp(mb_csv_cell(t, i, (size_t)ck), cache)))
            continue;
        char *endp;
        const char *cell = mb_csv_cell(t, i, (size_t)cn);
        double x = strtod(cell, &endp);
        if (endp != cell && isfinite(x))
            v[k++] = x;
    }
    if (!k) {
        free(v);
        return 0;
    }
    *out = v;
    return k;
}
