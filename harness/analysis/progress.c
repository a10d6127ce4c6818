/* Terminal progress and summary (see progress.h). */
#include "progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"


static void fmt_duration(double s, char *out, size_t n)
{
    if (s < 0 || isnan(s))
        s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else
        snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
}

void mb_progress_init(mb_progress *p, int rows_total)
{
    memset(p, 0, sizeof *p);
    p->rows_total = rows_total;
    p->t_start = mb_now_s();
}

void mb_progress_row(mb_progress *p, const mb_row *row, FILE *f)
{
    if (!strcmp(row->status, "ok") && row->samples > 0) {
        p->n_timed++;
        p->n_unstable += row->unstable != 0;
        p->n_above_roof += row->above_roof == 1;
    }
    for (int i = 0; i < MB_ROW_N_STATUS; i++)
        if (!strcmp(row->status, mb_row_status_names[i]))
            p->n_status[i]++;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        mb_progress_entry *ne = realloc(p->e, cap * sizeof *ne);
        if (ne) {
            p->e = ne;
            p->cap = cap;
        }
    }
    if (p->n < p->cap) {
        mb_progress_entry *e = &p->e[p->n++];
        snprintf(e->desc, sizeof e->desc, "%s", row->case_desc);
        e->threads = row->threads;
        snprintf(e->cache, sizeof e->cache, "%s", row->cache);
        snprintf(e->impl, sizeof e->impl, "%s", row->impl);
        snprintf(e->status, sizeof e->status, "%s", row->status);
        e->median = row->time_us_median;
        e->ci_lo = row->time_us_ci_lo;
        e->ci_hi = row->time_us_ci_hi;
        e->gflops = row->gflops;
        e->prepare_us = row->prepare_us;
        e->unstable = row->unstable;
        e->above_roof = row->above_roof == 1;
        e->breakeven_calls = row->breakeven_calls;
    }
    p->rows_done++;
    /* ETA from the mean time per finished row: crude, but honest about its basis */
    double el = mb_now_s() - p->t_start;
    char eta[32];
    fmt_duration(el / p->rows_done * (p->rows_total - p->rows_done), eta, sizeof eta);
    char timing[128] = "";
    if (!isnan(row->time_us_median)) {
        if (isnan(row->time_us_ci_lo) || isnan(row->time_us_ci_hi))
            snprintf(timing, sizeof timing, " %.1f us [no CI: n<6]", row->time_us_median);
        else
            snprintf(timing, sizeof timing, " %.1f us [%.1f, %.1f]", row->time_us_median,
                     row->time_us_ci_lo, row->time_us_ci_hi);
    }
    if (!isnan(row->gflops)) {
        size_t l = strlen(timing);
        snprintf(timing + l, sizeof timing - l, " %.1f GFLOP/s", row->gflops);
    }
    fprintf(f, "[%d/%d] %s T%d %s %s: %s%s%s%s  ETA %s\n", p->rows_done, p->rows_total,
            row->case_desc, row->threads, row->cache, row->impl, row->status, timing,
            row->reason[0] ? " — " : "", row->reason, eta);
}

int mb_progress_failures(const mb_progress *p)
{
    return p->n_status[2] + p->n_status[3] + p->n_status[4] + p->n_status[5];
}

void mb_progress_done(const mb_progress *p, const char *cmd, FILE *f)
{
    char el[32];
    fmt_duration(mb_now_s() - p->t_start, el, sizeof el);
    fprintf(f, "moebench %s: done in %s:", cmd, el);
    for (int i = 0; i < MB_ROW_N_STATUS; i++)
        if (p->n_status[i])
            fprintf(f, " %d %s", p->n_status[i], mb_row_status_names[i]);
    fprintf(f, "\n");
    if (p->n_unstable)
        fprintf(f, "moebench %s: %d of %d timed rows unstable (%.0f%%; column unstable, reasons "
                   "say why)\n", cmd, p->n_unstable, p->n_timed,
                100.0 * p->n_unstable / p->n_timed);
    if (p->n_above_roof)
        fprintf(f, "moebench %s: warning: %d ok row%s above %s own ceiling (column above_roof): "
                   "the ceilings or the cost model are off for %s\n", cmd, p->n_above_roof,
                p->n_above_roof == 1 ? "" : "s", p->n_above_roof == 1 ? "its" : "their",
                p->n_above_roof == 1 ? "it" : "them");
}

static int same_case(const mb_progress_entry *a, const mb_progress_entry *b)
{
    return !strcmp(a->desc, b->desc) && a->threads == b->threads && !strcmp(a->cache, b->cache);
}

int mb_is_unmerged_impl(const char *impl)
{
    return !strcmp(impl, "blas") || !strcmp(impl, "onednn") || !strcmp(impl, "avx512");
}

int64_t mb_breakeven_calls(double prepare_us, double merged_us, double best_unmerged_us)
{
    if (isnan(prepare_us) || isnan(merged_us) || isnan(best_unmerged_us) || prepare_us < 0)
        return -1;
    double saving = best_unmerged_us - merged_us;
    if (!(saving > 0))
        return -1;
    double n = ceil(prepare_us / saving);
    if (n < 1)
        n = 1;
    if (n > 9e18)
        return -1;
    return (int64_t)n;
}

double mb_best_unmerged_us(const mb_progress *p, const char *desc, int threads, const char *cache)
{
    double best = NAN;
    for (size_t i = 0; i < p->n; i++) {
        const mb_progress_entry *e = &p->e[i];
        if (strcmp(e->desc, desc) != 0 || e->threads != threads || strcmp(e->cache, cache) != 0 ||
            strcmp(e->status, "ok") != 0 || !mb_is_unmerged_impl(e->impl) || isnan(e->median))
            continue;
        if (isnan(best) || e->median < best)
            best = e->median;
    }
    return best;
}

void mb_progress_fill_breakeven(const mb_progress *p, mb_row *row)
{
    if (strcmp(row->impl, "merged") != 0 || strcmp(row->status, "ok") != 0)
        return;
    row->breakeven_calls = mb_breakeven_calls(
        row->prepare_us, row->time_us_median,
        mb_best_unmerged_us(p, row->case_desc, row->threads, row->cache));
}

void mb_progress_summary(const mb_progress *p, FILE *f)
{
    char *shown = calloc(p->n ? p->n : 1, 1);
    for (size_t i = 0; i < p->n; i++) {
        if (shown && shown[i])
            continue;
        double best = INFINITY;
        for (size_t j = i; j < p->n; j++)
            if (same_case(&p->e[j], &p->e[i]) && !isnan(p->e[j].median) && p->e[j].median < best)
                best = p->e[j].median;
        fprintf(f, "%s  threads=%d cache=%s\n", p->e[i].desc, p->e[i].threads, p->e[i].cache);
        const mb_progress_entry *merged = NULL;
        for (size_t k = i; k < p->n; k++) {
            const mb_progress_entry *e = &p->e[k];
            if (!same_case(e, &p->e[i]))
                continue;
            if (shown)
                shown[k] = 1;
            if (!strcmp(e->impl, "merged") && !strcmp(e->status, "ok") && !isnan(e->median))
                merged = e;
            if (isnan(e->median)) {
                fprintf(f, "  %-10s %s\n", e->impl, e->status);
                continue;
            }
            char ci[64];
            if (isnan(e->ci_lo) || isnan(e->ci_hi))
                snprintf(ci, sizeof ci, "[no CI: n<6]");
            else
                snprintf(ci, sizeof ci, "[%.1f, %.1f]", e->ci_lo, e->ci_hi);
            fprintf(f, "  %-10s %12.1f us  %s  %8.2f GFLOP/s  x%.2f%s%s\n", e->impl, e->median, ci,
                    e->gflops, e->median / best, e->unstable ? "  (unstable)" : "",
                    e->above_roof ? "  (above its ceiling)" : "");
        }
        double unmerged = merged ? mb_best_unmerged_us(p, merged->desc, merged->threads,
                                                       merged->cache) : NAN;
        if (merged && !isnan(unmerged)) {
            int64_t n = mb_breakeven_calls(merged->prepare_us, merged->median, unmerged);
            if (n > 0)
                fprintf(f, "  merged: prepare %.3f ms, saves %.1f us per forward -> break-even "
                           "after %lld forward calls\n", merged->prepare_us / 1e3,
                        unmerged - merged->median, (long long)n);
            else if (!isnan(merged->prepare_us))
                fprintf(f, "  merged: prepare %.3f ms, break-even never: merged is slower "
                           "(%.1f us vs %.1f us unmerged)\n", merged->prepare_us / 1e3,
                        merged->median, unmerged);
        }
        if (!shown)
            break;   /* out of memory: the first case only */
    }
    free(shown);
}

void mb_progress_free(mb_progress *p)
{
    free(p->e);
    p->e = NULL;
    p->n = p->cap = 0;
}

static double num_field(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    return *s && end != s && !*end ? v : NAN;
}

int mb_progress_peer(mb_progress *p, const char *results_path, const char *run_id)
{
    mb_csv_table t;
    if (mb_csv_read(results_path, &t))
        return -1;
    int added = 0;
    for (size_t i = 0; i < t.nrows; i++) {
        if (strcmp(mb_csv_get(&t, i, "impl"), "torch") != 0 ||
            (run_id && strcmp(mb_csv_get(&t, i, "run_id"), run_id) != 0))
            continue;
        if (p->n == p->cap) {
            size_t cap = p->cap ? 2 * p->cap : 64;
            mb_progress_entry *ne = realloc(p->e, cap * sizeof *ne);
            if (!ne)
                break;
            p->e = ne;
            p->cap = cap;
        }
        mb_progress_entry *e = &p->e[p->n++];
        memset(e, 0, sizeof *e);
        snprintf(e->desc, sizeof e->desc, "%s", mb_csv_get(&t, i, "case"));
        double th = num_field(mb_csv_get(&t, i, "threads"));
        e->threads = isnan(th) ? -1 : (int)th;
        snprintf(e->cache, sizeof e->cache, "%s", mb_csv_get(&t, i, "cache"));
        snprintf(e->impl, sizeof e->impl, "torch");
        snprintf(e->status, sizeof e->status, "%s", mb_csv_get(&t, i, "status"));
        e->median = num_field(mb_csv_get(&t, i, "time_us_median"));
        e->ci_lo = num_field(mb_csv_get(&t, i, "time_us_ci_lo"));
        e->ci_hi = num_field(mb_csv_get(&t, i, "time_us_ci_hi"));
        e->gflops = num_field(mb_csv_get(&t, i, "gflops"));
        e->prepare_us = num_field(mb_csv_get(&t, i, "prepare_us"));
        e->unstable = strstr(mb_csv_get(&t, i, "reason"), "unstable") != NULL;
        e->breakeven_calls = -1;
        added++;
    }
    mb_csv_free(&t);
    return added;
}
