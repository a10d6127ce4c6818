/* Terminal progress and summary (see progress.h). */
#include "progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

const char *const mb_status_names[MB_N_STATUS] = {"ok",      "skipped", "mismatch",
                                                  "crashed", "timeout", "error"};

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
    for (int i = 0; i < MB_N_STATUS; i++)
        if (!strcmp(row->status, mb_status_names[i]))
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
        snprintf(e->impl, sizeof e->impl, "%s", row->impl);
        snprintf(e->status, sizeof e->status, "%s", row->status);
        e->median = row->time_us_median;
        e->ci_lo = row->time_us_ci_lo;
        e->ci_hi = row->time_us_ci_hi;
        e->gflops = row->gflops;
        e->unstable = strstr(row->reason, "unstable") != NULL;
    }
    p->rows_done++;
    /* ETA from the mean time per finished row: crude, but honest about its basis */
    double el = mb_now_s() - p->t_start;
    char eta[32];
    fmt_duration(el / p->rows_done * (p->rows_total - p->rows_done), eta, sizeof eta);
    char timing[128] = "";
    if (!isnan(row->time_us_median))
        snprintf(timing, sizeof timing, " %.1f us [%.1f, %.1f]", row->time_us_median,
                 row->time_us_ci_lo, row->time_us_ci_hi);
    if (!isnan(row->gflops)) {
        size_t l = strlen(timing);
        snprintf(timing + l, sizeof timing - l, " %.1f GFLOP/s", row->gflops);
    }
    fprintf(f, "[%d/%d] %s %s: %s%s%s%s  ETA %s\n", p->rows_done, p->rows_total, row->case_desc,
            row->impl, row->status, timing, row->reason[0] ? " — " : "", row->reason, eta);
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
    for (int i = 0; i < MB_N_STATUS; i++)
        if (p->n_status[i])
            fprintf(f, " %d %s", p->n_status[i], mb_status_names[i]);
    fprintf(f, "\n");
}

void mb_progress_summary(const mb_progress *p, FILE *f)
{
    size_t i = 0;
    while (i < p->n) {
        size_t j = i;
        double best = INFINITY;
        while (j < p->n && !strcmp(p->e[j].desc, p->e[i].desc)) {
            if (!isnan(p->e[j].median) && p->e[j].median < best)
                best = p->e[j].median;
            j++;
        }
        fprintf(f, "%s\n", p->e[i].desc);
        for (size_t k = i; k < j; k++) {
            const mb_progress_entry *e = &p->e[k];
            if (isnan(e->median)) {
                fprintf(f, "  %-10s %s\n", e->impl, e->status);
                continue;
            }
            fprintf(f, "  %-10s %12.1f us  [%.1f, %.1f]  %8.2f GFLOP/s  x%.2f%s\n", e->impl,
                    e->median, e->ci_lo, e->ci_hi, e->gflops, e->median / best,
                    e->unstable ? "  (unstable)" : "");
        }
        i = j;
    }
}

void mb_progress_free(mb_progress *p)
{
    free(p->e);
    p->e = NULL;
    p->n = p->cap = 0;
}
