/* Every row against its own ceiling, worst first (see roof_report.h). */
#include "roof_report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "roofline_file.h"

/* A ceiling equal to the peak (within the 6 significant digits results.csv keeps) means the
 * bandwidth slope lies above the peak at this intensity: compute-bound. */
#define PEAK_REL_EPS 1e-4

typedef struct {
    mb_roof_entry e;
    const char *key, *impl;   /* sort ties: the row's case/threads/cache key, then impl */
} entry;

static int by_fraction(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    int ca = isfinite(a->e.fraction), cb = isfinite(b->e.fraction);
    if (ca != cb)
        return ca ? -1 : 1;
    if (!ca)   /* without a ceiling: file order */
        return a->e.row < b->e.row ? -1 : a->e.row > b->e.row;
    if (a->e.fraction != b->e.fraction)
        return a->e.fraction < b->e.fraction ? -1 : 1;
    int k = strcmp(a->key, b->key);
    if (k)
        return k;
    k = strcmp(a->impl, b->impl);
    return k ? k : (a->e.row < b->e.row ? -1 : a->e.row > b->e.row);
}

mb_roof_entry *mb_roof_entries(const mb_results *res, const regex_t *filter, size_t *n,
                               size_t *n_ceiled)
{
    const mb_result_cols *c = &res->c;
    size_t nr = mb_results_nrows(res), m = 0, k = 0;
    int c_roof = mb_csv_col(&res->csv, "roof_gflops");
    mb_roof rl;
    mb_roof_from_json(cJSON_GetObjectItemCaseSensitive(res->run, "roofline"), &rl);
    *n = 0;
    *n_ceiled = 0;
    entry *v = malloc((nr ? nr : 1) * sizeof *v);
    if (!v) {
        *n = (size_t)-1;
        return NULL;
    }
    for (size_t i = 0; i < nr; i++) {
        char d[1024];
        mb_results_case(res, i, d, sizeof d);
        if (filter && regexec(filter, d, 0, NULL, 0) != 0)
            continue;
        entry *x = &v[m++];
        memset(x, 0, sizeof *x);
        x->key = mb_results_key(res, i);
        x->impl = mb_results_str(res, i, c->impl);
        mb_roof_entry *e = &x->e;
        e->row = i;
        e->bound = "";
        double fl = mb_results_num(res, i, c->flops), by = mb_results_num(res, i, c->bytes);
        e->ai = fl > 0 && by > 0 ? fl / by : NAN;
        e->gflops = mb_results_num(res, i, c->gflops);
        if (!(e->gflops > 0))   /* older rows: from the FLOPs and the median */
            e->gflops = fl / (mb_results_num(res, i, c->med) * 1e3);
        e->roof = mb_results_num(res, i, c_roof);
        e->fraction = NAN;
        int threads = (int)mb_results_num(res, i, c->threads);
        double peak = threads == 1 && rl.peak_gflops_1t > 0 ? rl.peak_gflops_1t : rl.peak_gflops;
        if (!mb_results_ok(res, i)) {
            const char *why = mb_results_str(res, i, c->reason);
            snprintf(e->why, sizeof e->why, "%s", *why ? why : "(no reason recorded)");
        } else if (c_roof < 0) {
            snprintf(e->why, sizeof e->why, "no roof_gflops column: the run predates the "
                     "cache-aware roofline");
        } else if (!(e->gflops > 0 && isfinite(e->gflops))) {
            snprintf(e->why, sizeof e->why, "no FLOP count for this row: no GFLOP/s to place");
        } else if (!(e->roof > 0 && isfinite(e->roof))) {
            snprintf(e->why, sizeof e->why, "%s",
                     !(peak > 0) ? "no roofline measured for the run (run.json roofline has no "
                                   "peak: --no-roofline, or no roofline.json)"
                     : !strcmp(x->impl, "torch") ? "a PyTorch peer row without roof_gflops (the "
                                                   "peer copies its case's ceiling since issue "
                                                   "18; rerun --peer torch)"
                     : "no ceiling recorded for this row");
        } else {
            e->fraction = e->gflops / e->roof;
            k++;
            if (!strcmp(mb_results_str(res, i, mb_csv_col(&res->csv, "roof_level")), "peak"))
                e->bound = "compute (no bandwidth)";
            else if (peak > 0)
                e->bound = e->roof >= peak * (1 - PEAK_REL_EPS) ? "compute" : "memory";
        }
    }
    if (!m) {
        free(v);
        return NULL;
    }
    qsort(v, m, sizeof *v, by_fraction);
    /* the entries without the sort keys, in place (an entry starts with its mb_roof_entry) */
    mb_roof_entry *out = (mb_roof_entry *)v;
    for (size_t i = 0; i < m; i++)
        memmove(&out[i], &v[i].e, sizeof out[i]);
    *n = m;
    *n_ceiled = k;
    return out;
}

static void num_cell(char *out, size_t n, double v, const char *f)
{
    if (isfinite(v))
        snprintf(out, n, f, v);
    else
        out[0] = '\0';
}

static void write_json(const mb_results *res, const mb_roof_entry *v, size_t m, size_t k,
                       const char *id, FILE *f)
{
    const mb_result_cols *c = &res->c;
    int c_level = mb_csv_col(&res->csv, "roof_level"), c_above = mb_csv_col(&res->csv, "above_roof");
    cJSON *o = cJSON_CreateObject(), *ranked = NULL, *none = NULL;
    if (!o)
        return;
    cJSON_AddStringToObject(o, "run", id);
    cJSON_AddStringToObject(o, "fraction", "gflops / roof_gflops: the row's own ceiling "
                            "(cache-aware roofline), worst first");
    ranked = cJSON_AddArrayToObject(o, "ranked");
    none = cJSON_AddArrayToObject(o, "no_ceiling");
    for (size_t j = 0; j < m; j++) {
        size_t i = v[j].row;
        char d[1024];
        mb_results_case(res, i, d, sizeof d);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddItemToArray(j < k ? ranked : none, x);
        cJSON_AddStringToObject(x, "variant", mb_results_str(res, i, c->variant));
        cJSON_AddStringToObject(x, "impl", mb_results_str(res, i, c->impl));
        cJSON_AddStringToObject(x, "case", d);
        cJSON_AddNumberToObject(x, "T", mb_results_num(res, i, c->T));
        cJSON_AddNumberToObject(x, "threads", mb_results_num(res, i, c->threads));
        cJSON_AddStringToObject(x, "cache", mb_results_str(res, i, c->cache));
        if (j < k) {
            cJSON_AddStringToObject(x, "roof_level", mb_results_str(res, i, c_level));
            if (isfinite(v[j].ai))
                cJSON_AddNumberToObject(x, "ai_flop_per_byte", v[j].ai);
            cJSON_AddNumberToObject(x, "gflops", v[j].gflops);
            cJSON_AddNumberToObject(x, "roof_gflops", v[j].roof);
            cJSON_AddNumberToObject(x, "fraction", v[j].fraction);
            cJSON_AddStringToObject(x, "bound", v[j].bound);
            cJSON_AddBoolToObject(x, "above_roof", !strcmp(mb_results_str(res, i, c_above), "1"));
        } else {
            cJSON_AddStringToObject(x, "status", mb_results_str(res, i, c->status));
            cJSON_AddStringToObject(x, "reason", v[j].why);
        }
    }
    char *txt = cJSON_Print(o);
    if (txt)
        fprintf(f, "%s\n", txt);
    free(txt);
    cJSON_Delete(o);
}

int mb_roof_report(const mb_results *res, const regex_t *filter, mb_format fmt, FILE *f)
{
    const mb_result_cols *c = &res->c;
    size_t m = 0, k = 0;
    mb_roof_entry *v = mb_roof_entries(res, filter, &m, &k);
    if (!v)
        return m ? -1 : 1;
    char run[128];
    const char *id = mb_results_prov(res, "run_id", run, sizeof run) ? run : res->dir;
    if (fmt == MB_FMT_JSON) {
        write_json(res, v, m, k, id, f);
        free(v);
        return 0;
    }
    int csv = fmt == MB_FMT_CSV, rc = -1;
    int c_level = mb_csv_col(&res->csv, "roof_level"), c_above = mb_csv_col(&res->csv, "above_roof");
    static const char *const head_csv[] = {"variant", "impl", "case", "T", "threads", "cache",
                                           "roof_level", "ai_flop_per_byte", "gflops",
                                           "roof_gflops", "fraction", "bound", "status", "reason"};
    static const char *const head_txt[] = {"variant", "impl", "case", "T", "threads", "cache",
                                           "level", "AI F/B", "GFLOP/s", "ceiling GFLOP/s",
                                           "of ceiling", "bound", "note"};
    static const char *const head_none[] = {"variant", "impl", "case", "T", "threads", "cache",
                                            "status", "why no ceiling"};
    mb_table t = {0}, u = {0};
    if (csv ? mb_table_init(&t, 14, head_csv, "lllrrllrrrrlll")
            : mb_table_init(&t, 13, head_txt, "lllrrllrrrrll") ||
                  mb_table_init(&u, 8, head_none, "lllrrlll"))
        goto out;
    for (size_t j = 0; j < m; j++) {
        size_t i = v[j].row;
        char d[1024], ai[32], g[32], roof[32], fr[32];
        mb_results_case(res, i, d, sizeof d);
        int ceiled = j < k;
        const char *above = ceiled && !strcmp(mb_results_str(res, i, c_above), "1")
                                ? "above its ceiling (column above_roof): ceiling or cost model off" : "";
        num_cell(ai, sizeof ai, ceiled ? v[j].ai : NAN, csv ? "%.6g" : "%.1f");
        num_cell(g, sizeof g, ceiled ? v[j].gflops : NAN, csv ? "%.6g" : "%.2f");
        num_cell(roof, sizeof roof, ceiled ? v[j].roof : NAN, csv ? "%.6g" : "%.2f");
        num_cell(fr, sizeof fr, csv ? v[j].fraction : 100 * v[j].fraction,
                 csv ? "%.4f" : "%.1f %%");
        const char *common[6] = {mb_results_str(res, i, c->variant), mb_results_str(res, i, c->impl),
                                 d, mb_results_str(res, i, c->T), mb_results_str(res, i, c->threads),
                                 mb_results_str(res, i, c->cache)};
        const char *cells[14];
        memcpy(cells, common, sizeof common);
        if (csv) {
            const char *rest[8] = {ceiled ? mb_results_str(res, i, c_level) : "", ai, g, roof, fr,
                                   v[j].bound, mb_results_str(res, i, c->status),
                                   ceiled ? above : v[j].why};
            memcpy(cells + 6, rest, sizeof rest);
            if (mb_table_add(&t, cells))
                goto out;
        } else if (ceiled) {
            const char *rest[7] = {mb_results_str(res, i, c_level), ai, g, roof, fr, v[j].bound,
                                   above};
            memcpy(cells + 6, rest, sizeof rest);
            if (mb_table_add(&t, cells))
                goto out;
        } else {
            cells[6] = mb_results_str(res, i, c->status);
            cells[7] = v[j].why;
            if (mb_table_add(&u, cells))
                goto out;
        }
    }
    if (csv) {
        mb_table_write(&t, fmt, NULL, f);
    } else {
        char cap[700], warn[300] = "";
        mb_roof rl;
        mb_roof_from_json(cJSON_GetObjectItemCaseSensitive(res->run, "roofline"), &rl);
        if (rl.implausible)
            snprintf(warn, sizeof warn, " WARNING: ceilings from an implausible roofline (%.200s).",
                     rl.implausible_why);
        snprintf(cap, sizeof cap, "Each row's fraction of its own ceiling (gflops / roof_gflops, "
                 "the cache-aware roofline at roof_level), worst first, run %.300s: %zu rows with "
                 "a ceiling, %zu without (listed below).%s", id, k, m - k, warn);
        if (k)
            mb_table_write(&t, fmt, cap, f);
        else
            fprintf(f, "%s\n", cap);
        if (m > k) {
            char cap2[200];
            snprintf(cap2, sizeof cap2, "Rows without a ceiling (%zu), not ranked:", m - k);
            fputc('\n', f);
            mb_table_write(&u, fmt, cap2, f);
        }
    }
    rc = 0;
out:
    mb_table_free(&t);
    mb_table_free(&u);
    free(v);
    return rc;
}
