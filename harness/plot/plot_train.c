/* Charts of the training step (mode=train rows, issue 14): the step split into forward,
 * backward and the rest (train_time), and its memory: weights, saved activations, gradients,
 * optimizer state (train_memory). One group of bars per case, one bar per implementation (the
 * PyTorch peer's "torch" rows beside ours); each bar's segments are separate boxes, so the
 * hatched ones stay readable in grayscale. naive is left out of both: it is the reference, its
 * time and memory say nothing about a fast step. Drawn only when the run has train rows. */
#include "plot_series.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)
#define NSEG 4

/* The train rows drawn: per case (match key, in order of the file), the last ok row of each
 * implementation. */
typedef struct {
    mb_strlist cases, impls, panels;
    long *row;    /* cases.n x impls.n, -1: none */
    int nbars;
} train_rows;

static int is_train(const mb_results *r, size_t i)
{
    return r->c.mode >= 0 && !strcmp(mb_results_str(r, i, r->c.mode), "train") &&
           mb_results_ok(r, i) && strcmp(mb_results_str(r, i, r->c.impl), "naive") != 0;
}

static void train_rows_free(train_rows *t)
{
    mb_strlist_free(&t->cases);
    mb_strlist_free(&t->impls);
    mb_strlist_free(&t->panels);
    free(t->row);
    memset(t, 0, sizeof *t);
}

/* 0 (t->nbars may be 0: no train row), or -1 out of memory. */
static int train_rows_collect(const mb_results *r, train_rows *t)
{
    memset(t, 0, sizeof *t);
    size_t nr = mb_results_nrows(r);
    mb_strlist all = {0};
    mb_plot_impls(r, 1, &all);
    char p[1200];
    for (size_t i = 0; i < nr; i++)
        if (is_train(r, i)) {
            mb_results_panel(r, i, p, sizeof p);
            if (mb_strlist_add(&t->panels, p) < 0 ||
                mb_strlist_add(&t->cases, mb_results_key(r, i)) < 0)
                goto oom;
        }
    for (int s = 0; s < all.n; s++)   /* the canonical order, only those with train rows */
        for (size_t i = 0; i < nr; i++)
            if (is_train(r, i) && !strcmp(mb_results_str(r, i, r->c.impl), all.items[s])) {
                if (mb_strlist_add(&t->impls, all.items[s]) < 0)
                    goto oom;
                break;
            }
    mb_strlist_free(&all);
    size_t n = (size_t)t->cases.n * (size_t)t->impls.n;
    t->row = malloc((n ? n : 1) * sizeof *t->row);
    if (!t->row)
        goto oom;
    for (size_t g = 0; g < n; g++)
        t->row[g] = -1;
    for (size_t i = 0; i < nr; i++) {
        if (!is_train(r, i))
            continue;
        int c = mb_strlist_find(&t->cases, mb_results_key(r, i));
        int s = mb_strlist_find(&t->impls, mb_results_str(r, i, r->c.impl));
        if (c >= 0 && s >= 0)
            t->row[(size_t)c * (size_t)t->impls.n + (size_t)s] = (long)i;
    }
    for (size_t g = 0; g < n; g++)
        t->nbars += t->row[g] >= 0;
    return 0;
oom:
    mb_strlist_free(&all);
    train_rows_free(t);
    return -1;
}

static void put_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, " %.6g", v);
    else
        fprintf(f, " NaN");
}

/* Segment values of row i: time (fwd, bwd, other, unsplit) in µs or memory (weights, saved,
 * grads, optimizer) in MiB; NAN where the row has no value. */
typedef void (*seg_fn)(const mb_results *r, size_t i, double seg[NSEG]);

static void time_segs(const mb_results *r, size_t i, double seg[NSEG])
{
    double fwd = mb_results_num(r, i, r->c.fwd_us), bwd = mb_results_num(r, i, r->c.bwd_us);
    double med = mb_results_num(r, i, r->c.med);
    if (isfinite(fwd) && isfinite(bwd)) {
        /* the phases are medians of their own: their sum may pass the step's median */
        seg[0] = fwd;
        seg[1] = bwd;
        seg[2] = isfinite(med) && med > fwd + bwd ? med - fwd - bwd : 0;
        seg[3] = 0;
    } else {   /* an implementation that times the step only (a peer): one unsplit bar */
        seg[0] = seg[1] = seg[2] = 0;
        seg[3] = med;
    }
}

static void mem_segs(const mb_results *r, size_t i, double seg[NSEG])
{
    const int cols[NSEG] = {r->c.weights, r->c.saved_bytes, r->c.grad_bytes,
                            r->c.optimizer_bytes};
    for (int k = 0; k < NSEG; k++)
        seg[k] = mb_results_num(r, i, cols[k]) / MIB;
}

/* Writes NAME.dat (one line per bar: x, label, impl index, the segments' cumulative tops,
 * the bar's top value and its printed value) and renders NAME from its template. */
static int render(const mb_results *r, mb_plot_out *o, const train_rows *t, const char *name,
                  seg_fn segs, int normalise, char *err, size_t n)
{
    mb_label_ctx lc;
    if (mb_label_ctx_init(&lc, &t->panels)) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    char file[96];
    snprintf(file, sizeof file, "%s.dat", name);
    FILE *f = mb_plot_out_open(o, file);
    double *gx0 = malloc((size_t)(t->cases.n ? t->cases.n : 1) * sizeof *gx0);
    double *gx1 = malloc((size_t)(t->cases.n ? t->cases.n : 1) * sizeof *gx1);
    double *gtop = calloc((size_t)(t->cases.n ? t->cases.n : 1), sizeof *gtop);
    if (!f || !gx0 || !gx1 || !gtop) {
        free(gtop);
        if (f)
            fclose(f);
        free(gx0);
        free(gx1);
        mb_label_ctx_free(&lc);
        snprintf(err, n, "%s: cannot write", file);
        return -1;
    }
    int big_ms = o->units == MB_PLOT_UNITS_MS;
    if (o->units == MB_PLOT_UNITS_AUTO && normalise)
        for (size_t g = 0; g < (size_t)t->cases.n * (size_t)t->impls.n; g++)
            big_ms |= t->row[g] >= 0 && mb_results_num(r, (size_t)t->row[g], r->c.med) >= 1e4;
    fprintf(f, "# x label impl top1 top2 top3 top4 value (%s; tops are cumulative: %s)\n",
            normalise ? "step time / the fastest step of the case; value: the median step" :
                        "MiB",
            normalise ? "forward, + backward, + other, + unsplit step" :
                        "weights, + saved activations, + gradients, + optimizer");
    double x = 0, top = 0;
    mb_gp_buf glab = {0};   /* each group's label (the case), quoted for gnuplot */
    int group_chars = 0;
    int label_chars = 0, missing = 0, groups = 0, present[NSEG] = {0};
    char label[1400];
    for (int c = 0; c < t->cases.n; c++) {
        const long *row = t->row + (size_t)c * (size_t)t->impls.n;
        double fastest = INFINITY;
        for (int s = 0; s < t->impls.n; s++)
            if (row[s] >= 0) {
                double m = mb_results_num(r, (size_t)row[s], r->c.med);
                fastest = isfinite(m) && m > 0 && m < fastest ? m : fastest;
            }
        int first = 1;
        for (int s = 0; s < t->impls.n; s++) {
            if (row[s] < 0)
                continue;
            size_t i = (size_t)row[s];
            double seg[NSEG], cum = 0, div = normalise ? fastest : 1;
            segs(r, i, seg);
            if (first) {
                gx0[groups] = x;
                mb_plot_short_label(r, i, &lc, label, sizeof label);
                group_chars = (int)strlen(label) > group_chars ? (int)strlen(label)
                                                               : group_chars;
                char *q = malloc(MB_GP_QUOTED_LEN(strlen(label)));
                if (q) {
                    mb_gp_quote(label, q, MB_GP_QUOTED_LEN(strlen(label)));
                    mb_gp_printf(&glab, "glabel[%d] = %s\n", groups + 1, q);
                    free(q);
                }
            }
            first = 0;
            gx1[groups] = x;
            fprintf(f, "%g ", x);
            /* the bar's tic names the implementation; the group's label (glabel) the case */
            snprintf(label, sizeof label, "%s", t->impls.items[s]);
            label_chars = (int)strlen(label) > label_chars ? (int)strlen(label) : label_chars;
            mb_gp_dat_str(f, label);
            fprintf(f, " %d", s + 1);
            for (int k = 0; k < NSEG; k++) {
                if (!isfinite(seg[k]))
                    missing = 1;
                else
                    cum += seg[k] / div;
                present[k] |= isfinite(seg[k]) && seg[k] > 0;
                put_num(f, isfinite(div) ? cum : NAN);
            }
            top = isfinite(cum) && cum > top ? cum : top;
            gtop[groups] = isfinite(cum) && cum > gtop[groups] ? cum : gtop[groups];
            /* the printed value: the median step in the chart's unit, or the total MiB */
            double v = normalise ? mb_results_num(r, i, r->c.med) / (big_ms ? 1e3 : 1) : cum;
            char txt[64] = "";
            if (isfinite(v))
                snprintf(txt, sizeof txt, v >= 100 ? "%.0f" : "%.3g", v);
            fputc(' ', f);
            mb_gp_dat_str(f, txt);
            fputc('\n', f);
            x += 1;
        }
        if (!first) {
            groups++;
            x += 1;   /* a gap between cases */
        }
    }
    fclose(f);
    mb_gp_buf gp = {0};
    mb_gp_printf(&gp, "datafile = \"%s\"\nbar_top = %.6g\nlabel_chars = %d\n", file,
                 top > 0 ? top : 1, label_chars);
    mb_gp_printf(&gp, "group_chars = %d\narray glabel[%d]\n%s", group_chars, groups,
                 glab.s ? glab.s : "");
    mb_gp_free(&glab);
    mb_gp_printf(&gp, "array gx0[%d]\narray gx1[%d]\narray gtop[%d]\n", groups, groups, groups);
    for (int g = 0; g < groups; g++)
        mb_gp_printf(&gp, "gx0[%d] = %g; gx1[%d] = %g; gtop[%d] = %.6g\n", g + 1, gx0[g], g + 1,
                     gx1[g], g + 1, gtop[g] > 0 ? gtop[g] : 1);
    mb_gp_impl_array(&gp, &t->impls);
    static const char *const seg_time[NSEG] = {"forward", "backward", "other",
                                               "step (not split)"};
    static const char *const seg_mem[NSEG] = {"weights", "saved activations", "gradients",
                                              "optimizer"};
    /* the key's entries and its longest text: a figure lays it out in rows that fit */
    int nkey = t->impls.n, key_chars = 0;
    for (int s = 0; s < t->impls.n; s++)
        key_chars = (int)strlen(t->impls.items[s]) > key_chars ? (int)strlen(t->impls.items[s])
                                                               : key_chars;
    for (int k = 0; k < NSEG; k++)
        if (present[k]) {
            int l = (int)strlen((normalise ? seg_time : seg_mem)[k]);
            key_chars = l > key_chars ? l : key_chars;
            nkey++;
        }
    mb_gp_printf(&gp, "nkey = %d\nkey_chars = %d\narray seg_title[%d]\n", nkey, key_chars, NSEG);
    for (int k = 0; k < NSEG; k++) {
        char q[MB_GP_QUOTED_LEN(40)];
        mb_gp_quote(present[k] ? (normalise ? seg_time : seg_mem)[k] : "", q, sizeof q);
        mb_gp_printf(&gp, "seg_title[%d] = %s\n", k + 1, q);
    }
    char yl[120];
    snprintf(yl, sizeof yl, normalise ? (o->fig_w > 0 ? "÷ fastest step (printed: %s)" :
                                         "step ÷ fastest step of the case (printed: %s)")
                                      : "%s (printed: the total)", normalise ?
             (big_ms ? "ms" : "µs") : "MiB");
    mb_gp_var_str(&gp, "ylabel_text", yl);
    char title[400];
    if (normalise)
        snprintf(title, sizeof title, "%s%s",
                 o->fig_w > 0 ? "Training step: forward, backward, other (÷ fastest step)"
                              : "Training step split into forward, backward and the rest, per "
                                "case and implementation\n(bars: ÷ the case's fastest step; "
                                "printed: the median step; naive left out)",
                 missing ? " (missing values not drawn)" : "");
    else
        snprintf(title, sizeof title, "%s%s",
                 o->fig_w > 0 ? "Training-step memory (MiB)"
                              : "Training-step memory per case and implementation: weights, "
                                "saved activations, gradients, optimizer (naive left out)",
                 missing ? (o->fig_w > 0 ? " (missing values not drawn)"
                                         : "\n(empty fields: those segments are not drawn)")
                         : "");
    mb_gp_title(&gp, o, title);
    /* a figure: a group as wide as its bars, 0.12 in each */
    int per_group = t->impls.n ? t->impls.n : 1;
    int pp = mb_plot_per_page(o, MB_GROUPS_PER_PAGE / per_group > 0 ?
                                 MB_GROUPS_PER_PAGE / per_group : 1, 0.12 * (per_group + 1));
    int per = groups < pp ? groups : pp;
    double h0 = o->fig_h;
    /* below the plot: the implementations upright, then the cases at 45 degrees */
    o->fig_h = mb_plot_grow_h(o, (int)(label_chars + group_chars * 0.71 + 1), 1.0);
    if (o->fig_h > h0) {   /* grown: the key's rows and a second title line come on top */
        int kc = (int)((o->fig_w - 0.2) / (key_chars * 0.067 + 0.5));
        kc = kc < 1 ? 1 : kc;
        o->fig_h += ((nkey + kc - 1) / kc + 1) * MB_PLOT_MIN_FONT_PT * 1.3 / 72;
    }
    int rc = mb_plot_render_paged(o, name, "train_bars", gp.s, mb_chart_width(per * (per_group + 1), 30),
                                  MB_CHART_H, groups, pp, "cases", err, n);
    o->fig_h = h0;
    mb_gp_free(&gp);
    free(gx0);
    free(gx1);
    free(gtop);
    mb_label_ctx_free(&lc);
    return rc;
}

int mb_chart_train_time(const mb_results *r, mb_plot_out *o, char *err, size_t n)
{
    train_rows t;
    if (train_rows_collect(r, &t)) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    int rc = t.nbars ? render(r, o, &t, "train_time", time_segs, 1, err, n) : 1;
    train_rows_free(&t);
    return rc;
}

int mb_chart_train_memory(const mb_results *r, mb_plot_out *o, char *err, size_t n)
{
    train_rows t;
    if (train_rows_collect(r, &t)) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    int rc = t.nbars ? render(r, o, &t, "train_memory", mem_segs, 0, err, n) : 1;
    train_rows_free(&t);
    return rc;
}
