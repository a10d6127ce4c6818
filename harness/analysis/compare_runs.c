/* Comparing two results directories (see compare_runs.h). */
#define _GNU_SOURCE   /* qsort_r */
#include "compare_runs.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "plot_series.h"
#include "stats.h"

_Static_assert(MB_BOOT_RESAMPLES == 2000, "MB_CMP_CI_METHOD names the resample count");

/* Provenance that changes what a timing means: compare leaves whose path names one of these,
 * except the ones expected to differ between any two runs. */
static const char *const prov_include[] = {"compiler", "flags", "version", "openblas", "onednn",
                                           "dnnl", "papi", "librar", "host", "cpu", "build",
                                           "kernel", "vm", "machine", "environment", NULL};
static const char *const prov_exclude[] = {"run_id", "date", "written", "git", "command", "suite",
                                           "roofline", "argv", "started", "finished", "pid",
                                           "settings", "counters", "source_dir", NULL};

static int path_has(const char *path, const char *const *words)
{
    for (; *words; words++)
        if (strstr(path, *words))
            return 1;
    return 0;
}

static void leaf_text(const cJSON *v, char *out, size_t n)
{
    if (cJSON_IsString(v))
        snprintf(out, n, "%s", v->valuestring);
    else if (cJSON_IsNumber(v))
        snprintf(out, n, "%g", v->valuedouble);
    else if (cJSON_IsBool(v))
        snprintf(out, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNull(v))
        snprintf(out, n, "null");
    else {
        char *s = cJSON_PrintUnformatted(v);
        snprintf(out, n, "%s", s ? s : "?");
        free(s);
    }
}

static void add_warn(mb_cmp_result *r, const char *path, const char *va, const char *vb)
{
    if (r->nwarn >= MB_CMP_MAX_WARN)
        return;
    snprintf(r->warn[r->nwarn++], sizeof r->warn[0], "%.120s: A '%.200s' vs B '%.200s'", path, va,
             vb);
}

/* Walks a's leaves (scalars and arrays compared whole), then b's leaves missing from a. */
static void diff_prov(const cJSON *a, const cJSON *b, const char *prefix, mb_cmp_result *r,
                      int reverse)
{
    for (const cJSON *ch = a ? a->child : NULL; ch; ch = ch->next) {
        if (!ch->string)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", ch->string);
        if (path_has(path, prov_exclude))
            continue;
        if (cJSON_IsObject(ch)) {
            diff_prov(ch, b ? cJSON_GetObjectItemCaseSensitive(b, ch->string) : NULL, path, r,
                      reverse);
            continue;
        }
        if (!path_has(path, prov_include))
            continue;
        const cJSON *other = b ? cJSON_GetObjectItemCaseSensitive(b, ch->string) : NULL;
        char va[300], vb[300];
        leaf_text(ch, va, sizeof va);
        if (!other) {
            if (reverse)
                add_warn(r, path, "(absent)", va);
            else
                add_warn(r, path, va, "(absent)");
            continue;
        }
        if (reverse)
            continue;   /* present on both sides: compared in the forward pass */
        leaf_text(other, vb, sizeof vb);
        if (strcmp(va, vb))
            add_warn(r, path, va, vb);
    }
}

static void short_label(const mb_results *res, size_t i, char *out, size_t n)
{
    snprintf(out, n, "%s T=%s %s", mb_results_str(res, i, res->c.variant),
             mb_results_str(res, i, res->c.T), mb_results_str(res, i, res->c.impl));
}

/* row j of r against (impl, match key) */
static int row_key_cmp(const mb_results *r, size_t j, const char *impl, const char *key)
{
    int d = strcmp(mb_results_str(r, j, r->c.impl), impl);
    return d ? d : strcmp(mb_results_key(r, j), key);
}

static int row_order_cmp(const void *pa, const void *pb, void *arg)
{
    const mb_results *r = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int d = row_key_cmp(r, a, mb_results_str(r, b, r->c.impl), mb_results_key(r, b));
    return d ? d : (a > b) - (a < b);
}

/* Same run: one run_id on both sides, or one directory (two paths to it). */
static void same_run(const mb_results *a, const mb_results *b, mb_cmp_result *out)
{
    char ida[128], idb[128], pa[PATH_MAX], pb[PATH_MAX];
    if (mb_results_prov(a, "run_id", ida, sizeof ida) && mb_results_prov(b, "run_id", idb,
                                                                           sizeof idb) &&
        *ida && !strcmp(ida, idb)) {
        out->same_run = 1;
        snprintf(out->same_why, sizeof out->same_why, "same run_id %.120s", ida);
    } else if (realpath(a->dir, pa) && realpath(b->dir, pb) && !strcmp(pa, pb)) {
        out->same_run = 1;
        snprintf(out->same_why, sizeof out->same_why, "same directory");
    }
}

int mb_compare_runs(const mb_results *a, const mb_results *b, mb_cmp_result *out)
{
    return mb_compare_runs_filtered(a, b, NULL, out);
}

int mb_compare_runs_filtered(const mb_results *a, const mb_results *b, const regex_t *re,
                             mb_cmp_result *out)
{
    memset(out, 0, sizeof *out);
    out->filtered = re != NULL;
    same_run(a, b, out);
    char buf[128];
    snprintf(out->run_a, sizeof out->run_a, "%.127s",
             mb_results_prov(a, "run_id", buf, sizeof buf) ? buf : a->dir);
    snprintf(out->run_b, sizeof out->run_b, "%.127s",
             mb_results_prov(b, "run_id", buf, sizeof buf) ? buf : b->dir);
    size_t na = mb_results_nrows(a), nb = mb_results_nrows(b);
    out->e = calloc(na ? na : 1, sizeof *out->e);
    if (!out->e)
        return -1;
    char *matched_b = calloc(nb ? nb : 1, 1);
    /* B's ok rows sorted by (impl, match key, row): each A row finds its partner by binary
     * search, the first unmatched one in row order as a scan would (50k rows were quadratic) */
    size_t *ord = malloc((nb ? nb : 1) * sizeof *ord);
    if (!matched_b || !ord) {
        free(matched_b);
        free(ord);
        return -1;
    }
    size_t nord = 0;
    for (size_t jj = 0; jj < nb; jj++)
        if (mb_results_ok(b, jj))
            ord[nord++] = jj;
    qsort_r(ord, nord, sizeof *ord, row_order_cmp, (void *)b);
    double logsum = 0;
    for (size_t i = 0; i < na; i++) {
        if (!mb_results_ok(a, i))
            continue;
        if (re) {
            char d[1024];
            mb_results_case(a, i, d, sizeof d);
            if (regexec(re, d, 0, NULL, 0) != 0)
                continue;
        }
        const char *ka = mb_results_key(a, i);
        const char *impl = mb_results_str(a, i, a->c.impl);
        size_t lo = 0, hi = nord;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (row_key_cmp(b, ord[mid], impl, ka) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        long j = -1;
        for (size_t p = lo; p < nord && j < 0 && row_key_cmp(b, ord[p], impl, ka) == 0; p++)
            if (!matched_b[ord[p]])
                j = (long)ord[p];
        if (j < 0) {
            out->only_a++;
            continue;
        }
        matched_b[j] = 1;
        mb_cmp_entry *e = &out->e[out->n];
        mb_results_case(a, i, e->case_desc, sizeof e->case_desc);
        snprintf(e->impl, sizeof e->impl, "%s", impl);
        snprintf(e->variant, sizeof e->variant, "%.15s", mb_results_str(a, i, a->c.variant));
        snprintf(e->threads, sizeof e->threads, "%.15s", mb_results_str(a, i, a->c.threads));
        snprintf(e->cache, sizeof e->cache, "%.15s", mb_results_str(a, i, a->c.cache));
        short_label(a, i, e->label, sizeof e->label);
        e->med_a = mb_results_num(a, i, a->c.med);
        e->med_b = mb_results_num(b, (size_t)j, b->c.med);
        if (!(e->med_a > 0) || !(e->med_b > 0)) {
            /* no ratio from an empty or non-positive median: counted and reported */
            if (out->n_bad_median < MB_CMP_MAX_WARN)
                snprintf(out->bad_median[out->n_bad_median], sizeof out->bad_median[0],
                         "%.200s %s (A %g us, B %g us)", e->case_desc, impl, e->med_a, e->med_b);
            out->n_bad_median++;
            continue;
        }
        e->ratio = e->med_b / e->med_a;
        double *sa = NULL, *sb = NULL;
        char case_b[1024];
        mb_results_case(b, (size_t)j, case_b, sizeof case_b);
        /* the samples of this row's setting (threads, cache), when samples.csv says it */
        e->n_a = (int)mb_results_samples(a, e->case_desc, impl, mb_results_str(a, i, a->c.threads),
                                         mb_results_str(a, i, a->c.cache), &sa);
        e->n_b = (int)mb_results_samples(b, case_b, impl, mb_results_str(b, (size_t)j, b->c.threads),
                                         mb_results_str(b, (size_t)j, b->c.cache), &sb);
        e->p = e->p_adj = NAN;
        e->U = NAN;
        if (!(e->n_a > 0 && e->n_b > 0 &&
              mb_mann_whitney(sa, (size_t)e->n_a, sb, (size_t)e->n_b, &e->U, &e->p) == 0))
            e->p = NAN;
        /* seeded from the entry's key, not its position: a --filter does not move an interval */
        unsigned long long seed = mb_hash_seed(e->impl, mb_hash_seed(ka, 0));
        mb_bootstrap_median_ratio(sa, (size_t)(e->n_a > 0 ? e->n_a : 0), sb,
                                  (size_t)(e->n_b > 0 ? e->n_b : 0), MB_BOOT_RESAMPLES, 0.95, seed,
                                  &e->ci_lo, &e->ci_hi);
        free(sa);
        free(sb);
        logsum += log(e->ratio);
        out->n++;
    }
    for (size_t j = 0; j < nb; j++) {
        if (!mb_results_ok(b, j) || matched_b[j])
            continue;
        if (re) {
            char d[1024];
            mb_results_case(b, j, d, sizeof d);
            if (regexec(re, d, 0, NULL, 0) != 0)
                continue;
        }
        out->only_b++;
    }
    free(matched_b);
    free(ord);
    out->samples_unkeyed = (a->has_samples && !mb_results_samples_keyed(a)) ||
                           (b->has_samples && !mb_results_samples_keyed(b));
    /* many cases tested at once: Holm's step-down correction (family-wise error <= alpha) */
    double *pv = malloc((size_t)(out->n ? out->n : 1) * sizeof *pv);
    if (pv) {
        int m = 0;
        for (int i = 0; i < out->n; i++)
            if (isfinite(out->e[i].p))
                pv[m++] = out->e[i].p;
        double *adj = malloc((size_t)(m ? m : 1) * sizeof *adj);
        if (adj && mb_holm(pv, (size_t)m, adj) == 0) {
            int k = 0;
            for (int i = 0; i < out->n; i++) {
                mb_cmp_entry *e = &out->e[i];
                if (!isfinite(e->p))
                    continue;
                e->p_adj = adj[k++];
                e->significant = e->p_adj < MB_CMP_ALPHA;
                out->n_faster += e->significant && e->ratio < 1;
                out->n_slower += e->significant && e->ratio > 1;
            }
            out->n_tested = m;
        }
        free(adj);
        free(pv);
    }
    /* two settings of one case would share a chart label: name the setting that varies */
    int thr_vary = 0, cache_vary = 0;
    for (int i = 1; i < out->n; i++) {
        thr_vary |= strcmp(out->e[i].threads, out->e[0].threads) != 0;
        cache_vary |= strcmp(out->e[i].cache, out->e[0].cache) != 0;
    }
    for (int i = 0; i < out->n && (thr_vary || cache_vary); i++) {
        mb_cmp_entry *e = &out->e[i];
        size_t l = strlen(e->label);
        snprintf(e->label + l, sizeof e->label - l, "%s%s%s%s", thr_vary ? " thr=" : "",
                 thr_vary ? e->threads : "", cache_vary ? " " : "", cache_vary ? e->cache : "");
    }
    out->geomean = out->n ? exp(logsum / out->n) : NAN;
    diff_prov(a->run, b->run, "", out, 0);
    diff_prov(b->run, a->run, "", out, 1);
    return 0;
}

void mb_cmp_free(mb_cmp_result *r)
{
    free(r->e);
    memset(r, 0, sizeof *r);
}

double mb_cmp_geomean_impl(const mb_cmp_result *r, const char *impl)
{
    double s = 0;
    int k = 0;
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->e[i].impl, impl)) {
            s += log(r->e[i].ratio);
            k++;
        }
    return k ? exp(s / k) : NAN;
}

const mb_cmp_entry *mb_cmp_find(const mb_cmp_result *r, const char *case_desc, const char *impl)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->e[i].case_desc, case_desc) && !strcmp(r->e[i].impl, impl))
            return &r->e[i];
    return NULL;
}

static void ci_text(const mb_cmp_entry *e, char *out, size_t n)
{
    if (isfinite(e->ci_lo) && isfinite(e->ci_hi))
        snprintf(out, n, "[%.3f, %.3f]", e->ci_lo, e->ci_hi);
    else
        snprintf(out, n, "n/a");
}

void mb_cmp_print(const mb_cmp_result *r, FILE *f)
{
    fprintf(f, "A = %s\nB = %s\n", r->run_a, r->run_b);
    if (r->same_run)
        fprintf(f, "note: A and B are the same run (%s): the ratios measure nothing but the "
                   "resampling\n", r->same_why);
    for (int w = 0; w < r->nwarn; w++)
        fprintf(f, "warning: provenance differs: %s\n", r->warn[w]);
    if (r->nwarn)
        fprintf(f, "warning: the runs differ in build or machine (above): ratios mix code and "
                   "environment changes\n");
    int wcase = 4;
    for (int i = 0; i < r->n; i++)
        if ((int)strlen(r->e[i].case_desc) > wcase)
            wcase = (int)strlen(r->e[i].case_desc);
    if (wcase > 70)
        wcase = 70;
    fprintf(f, "%-*s  %-8s %3s %-5s %13s %13s %8s %-17s %9s %9s %s\n", wcase, "case", "impl",
            "thr", "cache", "A median us", "B median us", "B/A", "95% CI", "p", "p_holm", "");
    for (int i = 0; i < r->n; i++) {
        const mb_cmp_entry *e = &r->e[i];
        char p[32], pa[32];
        if (isfinite(e->p))
            snprintf(p, sizeof p, "%.2g", e->p);
        else
            snprintf(p, sizeof p, "n/a");
        if (isfinite(e->p_adj))
            snprintf(pa, sizeof pa, "%.2g", e->p_adj);
        else
            snprintf(pa, sizeof pa, "n/a");
        char ci[48];
        ci_text(e, ci, sizeof ci);
        fprintf(f, "%-*s  %-8s %3s %-5s %13.4g %13.4g %8.3f %-17s %9s %9s %s\n", wcase,
                e->case_desc, e->impl, e->threads, e->cache, e->med_a, e->med_b, e->ratio, ci, p, pa,
                e->significant ? (e->ratio > 1 ? "* slower" : "* faster") : "");
    }
    fprintf(f, "geometric mean B/A over %d matched cases: %.4f (%d significantly faster, %d "
               "significantly slower at p < %.2f: two-sided Mann-Whitney U on the raw samples, "
               "Holm-corrected over the %d tested cases)\n",
            r->n, r->geomean, r->n_faster, r->n_slower, MB_CMP_ALPHA, r->n_tested);
    fprintf(f, "95%% CI: %s (n/a: fewer than %d samples on a side)\n", MB_CMP_CI_METHOD,
            MB_BOOT_MIN_N);
    if (r->samples_unkeyed)
        fprintf(f, "warning: samples.csv without threads/cache columns (an older run): samples "
                   "matched on case and implementation only\n");
    if (r->n_bad_median) {
        fprintf(f, "warning: %d matched pair%s left out: empty or non-positive median\n",
                r->n_bad_median, r->n_bad_median > 1 ? "s" : "");
        for (int i = 0; i < r->n_bad_median && i < MB_CMP_MAX_WARN; i++)
            fprintf(f, "  %s\n", r->bad_median[i]);
    }
    /* per implementation, in the order they first appear */
    for (int i = 0; i < r->n; i++) {
        int first = 1;
        for (int j = 0; j < i && first; j++)
            first = strcmp(r->e[j].impl, r->e[i].impl) != 0;
        if (first)
            fprintf(f, "  %-8s geometric mean B/A %.4f\n", r->e[i].impl,
                    mb_cmp_geomean_impl(r, r->e[i].impl));
    }
    if (r->only_a || r->only_b)
        fprintf(f, "unmatched ok rows: %d only in A, %d only in B\n", r->only_a, r->only_b);
}

/* ---- the other formats -------------------------------------------------------------- */

static void num_or_empty(char *out, size_t n, const char *fmt, double v)
{
    if (isfinite(v))
        snprintf(out, n, fmt, v);
    else
        out[0] = '\0';
}

static void summary_line(const mb_cmp_result *r, char *out, size_t n)
{
    snprintf(out, n, "Geometric mean B/A over %d matched cases: %.4f (%d significantly faster, %d "
             "significantly slower at p < %.2f, two-sided Mann-Whitney U on the raw samples, "
             "Holm-corrected over %d tests). 95%% CI: %s.", r->n, r->geomean, r->n_faster,
             r->n_slower, MB_CMP_ALPHA, r->n_tested, MB_CMP_CI_METHOD);
}

static cJSON *num_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static void write_json(const mb_cmp_result *r, FILE *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "a", r->run_a);
    cJSON_AddStringToObject(o, "b", r->run_b);
    cJSON_AddBoolToObject(o, "same_run", r->same_run);
    if (r->same_run)
        cJSON_AddStringToObject(o, "same_run_why", r->same_why);
    cJSON_AddStringToObject(o, "ratio", "B median / A median (> 1: B slower)");
    cJSON_AddStringToObject(o, "ci_method", MB_CMP_CI_METHOD);
    cJSON_AddNumberToObject(o, "ci_level", 0.95);
    cJSON_AddStringToObject(o, "test", "two-sided Mann-Whitney U on the raw samples, Holm-corrected");
    cJSON_AddNumberToObject(o, "alpha", MB_CMP_ALPHA);
    cJSON_AddItemToObject(o, "geomean", num_or_null(r->geomean));
    cJSON *gi = cJSON_AddObjectToObject(o, "geomean_by_impl");
    for (int i = 0; i < r->n; i++)
        if (!cJSON_GetObjectItemCaseSensitive(gi, r->e[i].impl))
            cJSON_AddItemToObject(gi, r->e[i].impl, num_or_null(mb_cmp_geomean_impl(r, r->e[i].impl)));
    cJSON_AddNumberToObject(o, "n_matched", r->n);
    cJSON_AddNumberToObject(o, "n_tested", r->n_tested);
    cJSON_AddNumberToObject(o, "n_faster", r->n_faster);
    cJSON_AddNumberToObject(o, "n_slower", r->n_slower);
    cJSON_AddNumberToObject(o, "only_a", r->only_a);
    cJSON_AddNumberToObject(o, "only_b", r->only_b);
    cJSON *lo = cJSON_AddArrayToObject(o, "left_out_bad_median");
    for (int i = 0; i < r->n_bad_median && i < MB_CMP_MAX_WARN; i++)
        cJSON_AddItemToArray(lo, cJSON_CreateString(r->bad_median[i]));
    cJSON *pw = cJSON_AddArrayToObject(o, "provenance_differs");
    for (int i = 0; i < r->nwarn; i++)
        cJSON_AddItemToArray(pw, cJSON_CreateString(r->warn[i]));
    cJSON *es = cJSON_AddArrayToObject(o, "entries");
    for (int i = 0; i < r->n; i++) {
        const mb_cmp_entry *e = &r->e[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "case", e->case_desc);
        cJSON_AddStringToObject(x, "variant", e->variant);
        cJSON_AddStringToObject(x, "impl", e->impl);
        char *end;
        long th = strtol(e->threads, &end, 10);
        if (*e->threads && !*end)
            cJSON_AddNumberToObject(x, "threads", (double)th);
        else
            cJSON_AddNullToObject(x, "threads");
        cJSON_AddStringToObject(x, "cache", e->cache);
        cJSON_AddNumberToObject(x, "a_median_us", e->med_a);
        cJSON_AddNumberToObject(x, "b_median_us", e->med_b);
        cJSON_AddNumberToObject(x, "ratio", e->ratio);
        cJSON_AddItemToObject(x, "ci_lo", num_or_null(e->ci_lo));
        cJSON_AddItemToObject(x, "ci_hi", num_or_null(e->ci_hi));
        cJSON_AddItemToObject(x, "p", num_or_null(e->p));
        cJSON_AddItemToObject(x, "p_holm", num_or_null(e->p_adj));
        cJSON_AddBoolToObject(x, "significant", e->significant);
        cJSON_AddNumberToObject(x, "n_a", e->n_a);
        cJSON_AddNumberToObject(x, "n_b", e->n_b);
        cJSON_AddItemToArray(es, x);
    }
    char *txt = cJSON_Print(o);
    if (txt)
        fprintf(f, "%s\n", txt);
    free(txt);
    cJSON_Delete(o);
}

void mb_cmp_write(const mb_cmp_result *r, mb_format fmt, FILE *f)
{
    if (fmt == MB_FMT_TEXT) {
        mb_cmp_print(r, f);
        return;
    }
    if (fmt == MB_FMT_JSON) {
        write_json(r, f);
        return;
    }
    int csv = fmt == MB_FMT_CSV;
    static const char *const head_csv[] = {"case", "variant", "impl", "threads", "cache",
                                           "a_median_us", "b_median_us", "ratio", "ci_lo",
                                           "ci_hi", "p", "p_holm", "significant", "n_a", "n_b"};
    static const char *const head_doc[] = {"case", "impl", "threads", "cache",
                                           "A median (us)", "B median (us)", "B/A", "95% CI",
                                           "p (Holm)", ""};
    mb_table t;
    if (csv ? mb_table_init(&t, 15, head_csv, "lllrlrrrrrrrrrr")
            : mb_table_init(&t, 10, head_doc, "llrlrrrlrl"))
        return;
    for (int i = 0; i < r->n; i++) {
        const mb_cmp_entry *e = &r->e[i];
        char ma[32], mbv[32], ra[32], cl[32], ch[32], p[32], pa[32], na[16], nb[16], ci[64];
        snprintf(ma, sizeof ma, "%.6g", e->med_a);
        snprintf(mbv, sizeof mbv, "%.6g", e->med_b);
        if (csv) {
            snprintf(ra, sizeof ra, "%.6g", e->ratio);
            num_or_empty(cl, sizeof cl, "%.6g", e->ci_lo);
            num_or_empty(ch, sizeof ch, "%.6g", e->ci_hi);
            num_or_empty(p, sizeof p, "%.4g", e->p);
            num_or_empty(pa, sizeof pa, "%.4g", e->p_adj);
            snprintf(na, sizeof na, "%d", e->n_a);
            snprintf(nb, sizeof nb, "%d", e->n_b);
            const char *cells[] = {e->case_desc, e->variant, e->impl, e->threads, e->cache, ma, mbv,
                                   ra, cl, ch, p, pa, e->significant ? "1" : "0", na, nb};
            mb_table_add(&t, cells);
        } else {
            snprintf(ra, sizeof ra, "%.3f", e->ratio);
            ci_text(e, ci, sizeof ci);
            if (isfinite(e->p_adj))
                snprintf(pa, sizeof pa, "%.2g", e->p_adj);
            else
                snprintf(pa, sizeof pa, "n/a");
            const char *sig = e->significant ? (e->ratio > 1 ? "slower" : "faster") : "";
            const char *cells[] = {e->case_desc, e->impl, e->threads, e->cache, ma, mbv, ra, ci,
                                   pa, sig};
            mb_table_add(&t, cells);
        }
    }
    char sum[800], cap[300];
    summary_line(r, sum, sizeof sum);
    snprintf(cap, sizeof cap, "B / A median latency (A = %s, B = %s)", r->run_a, r->run_b);
    if (csv) {
        /* the CSV is the table alone: what a reader should know goes to stderr */
        if (r->same_run)
            fprintf(stderr, "moebench compare: note: A and B are the same run (%s)\n", r->same_why);
        for (int w = 0; w < r->nwarn; w++)
            fprintf(stderr, "moebench compare: warning: provenance differs: %s\n", r->warn[w]);
        mb_table_write(&t, fmt, NULL, f);
    } else if (fmt == MB_FMT_LATEX) {
        if (r->same_run)
            fprintf(f, "%% note: A and B are the same run (%s)\n", r->same_why);
        for (int w = 0; w < r->nwarn; w++) {
            fprintf(f, "%% warning: provenance differs: ");
            for (const char *c = r->warn[w]; *c; c++)   /* a comment is one line */
                fputc(*c == '\n' || *c == '\r' ? ' ' : *c, f);
            fputc('\n', f);
        }
        fprintf(f, "%% %s\n", sum);
        mb_table_write(&t, fmt, cap, f);
    } else {
        mb_table_write(&t, fmt, cap, f);
        fprintf(f, "\n%s\n", sum);
        if (r->same_run)
            fprintf(f, "\n**Note:** A and B are the same run (%s): the ratios measure nothing but "
                       "the resampling.\n", r->same_why);
        for (int w = 0; w < r->nwarn; w++)
            fprintf(f, "\n**Warning:** provenance differs: %s\n", r->warn[w]);
        if (r->only_a || r->only_b)
            fprintf(f, "\nUnmatched ok rows: %d only in A, %d only in B.\n", r->only_a, r->only_b);
    }
    mb_table_free(&t);
}

/* One compare chart of the entries of `variant` (NULL: all) as NAME.{png,pdf}. */
static int chart_of(const mb_cmp_result *r, const char *variant, const char *name,
                    mb_plot_out *o, char *err, size_t n)
{
    int k = 0;
    double lo = 1, hi = 1, logsum = 0;
    for (int i = 0; i < r->n; i++) {
        const mb_cmp_entry *e = &r->e[i];
        if (variant && strcmp(e->variant, variant))
            continue;
        k++;
        logsum += log(e->ratio);
        lo = fmin(lo, isfinite(e->ci_lo) ? fmin(e->ci_lo, e->ratio) : e->ratio);
        hi = fmax(hi, isfinite(e->ci_hi) ? fmax(e->ci_hi, e->ratio) : e->ratio);
    }
    if (!k)
        return 1;
    char dat[96];
    snprintf(dat, sizeof dat, "%s.dat", name);
    FILE *f = mb_plot_out_open(o, dat);
    if (!f) {
        snprintf(err, n, "%s: cannot write", dat);
        return -1;
    }
    /* ci -1: no interval (too few samples) */
    fprintf(f, "# index label ratio(B/A) significant p_holm ci_lo ci_hi\n");
    int x = 0;
    for (int i = 0; i < r->n; i++) {
        const mb_cmp_entry *e = &r->e[i];
        if (variant && strcmp(e->variant, variant))
            continue;
        fprintf(f, "%d ", x++);
        mb_gp_dat_str(f, e->label);   /* results text: never gnuplot code */
        fprintf(f, " %.6g %d %.4g %.6g %.6g\n", e->ratio, e->significant,
                isfinite(e->p_adj) ? e->p_adj : -1.0, isfinite(e->ci_lo) ? e->ci_lo : -1.0,
                isfinite(e->ci_hi) ? e->ci_hi : -1.0);
    }
    fclose(f);
    mb_gp_buf gp = {0};
    mb_gp_var_str(&gp, "datafile", dat);
    mb_gp_printf(&gp, "entries = %d\ngeomean = %.6g\nylo = %.6g\nyhi = %.6g\nalpha = %g\n", k,
                 exp(logsum / k), lo / 1.25, hi * 1.25, MB_CMP_ALPHA);
    mb_gp_var_str(&gp, "run_a", r->run_a);
    mb_gp_var_str(&gp, "run_b", r->run_b);
    mb_gp_var_str(&gp, "variant", variant ? variant : "");
    mb_gp_printf(&gp, "provenance_differs = %d\nsame_run = %d\n", r->nwarn > 0, r->same_run);
    int pp = mb_plot_per_page(o, MB_COMPARE_PER_PAGE, 0.15);   /* a figure: what fits */
    int per = k < pp ? k : pp, label_chars = 0;
    for (int i = 0; i < r->n; i++)
        if (!variant || !strcmp(r->e[i].variant, variant))
            label_chars = (int)strlen(r->e[i].label) > label_chars ? (int)strlen(r->e[i].label)
                                                                   : label_chars;
    double h0 = o->fig_h;
    o->fig_h = mb_plot_grow_h(o, label_chars, 0.87);   /* a figure: room for labels at 60 deg */
    int rc = mb_plot_render_paged(o, name, "compare", gp.s, mb_chart_width(per, 20), MB_CHART_H, k,
                                  pp, "entries", err, n);
    o->fig_h = h0;
    mb_gp_free(&gp);
    return rc;
}

int mb_cmp_chart(const mb_cmp_result *r, mb_plot_out *o, char *err, size_t n)
{
    if (!r->n)
        return 1;
    int rc = chart_of(r, NULL, "compare", o, err, n);
    if (rc < 0)
        return rc;
    /* a chart per variant (compare_VARIANT) when the runs hold more than one: a figure of a
     * paper shows one layer */
    int nvar = 0;
    for (int i = 0; i < r->n; i++) {
        int first = 1;
        for (int j = 0; j < i && first; j++)
            first = strcmp(r->e[j].variant, r->e[i].variant) != 0;
        nvar += first;
    }
    for (int i = 0; i < r->n && nvar > 1; i++) {
        int first = 1;
        for (int j = 0; j < i && first; j++)
            first = strcmp(r->e[j].variant, r->e[i].variant) != 0;
        if (!first)
            continue;
        char name[64], v[16];
        mb_csv_sanitize(r->e[i].variant, v, sizeof v);   /* a file name from results text */
        snprintf(name, sizeof name, "compare_%s", v);
        if (chart_of(r, r->e[i].variant, name, o, err, n) < 0)
            return -1;
    }
    return rc;
}
