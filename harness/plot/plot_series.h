/* Grouping results rows into what the charts draw: the list of implementations (one colour
 * each, the same in every chart), the list of panels (a variant at fixed shapes), and the chart
 * entry points with their fixed image sizes. */
#ifndef MOEBENCH_PLOT_SERIES_H
#define MOEBENCH_PLOT_SERIES_H

#include <stddef.h>
#include "plot_gnuplot.h"
#include "plot_results.h"

/* Distinct strings in order of insertion, with a hash index (zero-initialise; free with
 * mb_strlist_free). */
typedef struct {
    int n, cap;
    char **items;
    struct hsearch_data *hash;
    size_t hcap;
} mb_strlist;

/* Index of s, appending it when absent (-1 on allocation failure). */
int mb_strlist_add(mb_strlist *l, const char *s);
int mb_strlist_find(const mb_strlist *l, const char *s);
void mb_strlist_free(mb_strlist *l);

/* Implementations in the canonical order naive, blas, onednn, avx512, merged, then any other
 * in order of appearance. only_ok: only those with an ok row. */
void mb_plot_impls(const mb_results *r, int only_ok, mb_strlist *out);
/* Panels (mb_results_panel) with at least one ok row, in order of appearance. */
void mb_plot_panels(const mb_results *r, mb_strlist *out);

/* Title of a panel for display: without the seed (constant within a run) and broken after the
 * variant name when long. */
void mb_plot_panel_title(const char *panel, char *out, size_t n);
/* gnuplot array of panel titles (mb_plot_panel_title of each), and npanel; wrap > 0 breaks
 * each title after a comma or space so that its lines keep to about wrap characters (a
 * figure's narrow panels). */
void mb_gp_panel_array(mb_gp_buf *b, const mb_strlist *panels, int wrap);
/* What short labels need to know about the panels: per variant, how many panels it has and how
 * many of them have each field (counted once, so a label costs no pass over the panels). */
typedef struct {
    mb_strlist variants, fields;   /* fields: "variant\x1ffield" */
    int *nvar, *nfield;
} mb_label_ctx;
int mb_label_ctx_init(mb_label_ctx *c, const mb_strlist *panels);
void mb_label_ctx_free(mb_label_ctx *c);
/* Short label of row i for a category axis: "variant T=16", plus the shape fields that tell
 * this panel from the other panels of the same variant ("mixlora share=none T=16"). */
void mb_plot_short_label(const mb_results *r, size_t i, const mb_label_ctx *c, char *out,
                         size_t n);

/* gnuplot arrays NAME[1..n] = the list's strings, and nNAME = n. */
void mb_gp_array(mb_gp_buf *b, const char *name, const mb_strlist *l);
/* The line type (1..8, set in the prologue of every chart) of an implementation, the same in
 * every chart and every selection: naive 1, blas 2, onednn 3, avx512 4, merged 5, torch 6; any
 * other takes 7, 8, 7, ... in the order of `others` (the implementations of the chart). */
int mb_plot_impl_style(const char *impl, const mb_strlist *others);
/* impl[1..nimpl] (mb_gp_array) and implstyle[1..nimpl], the line type of each. */
void mb_gp_impl_array(mb_gp_buf *b, const mb_strlist *impls);

/* Image sizes in pixels (PDF: the same at 144 px per inch). Tests check them. */
#define MB_CHART_W 1400
#define MB_CHART_H 1000
#define MB_ROOFLINE_W 1100
#define MB_ROOFLINE_H 750

/* Charts with a panel or an x position per case are split into pages of at most this many
 * (NAME-1.png, NAME-2.png, ...; one PDF with a page each): a width that grew with the cases
 * passed what cairo can draw (462 cases: "Cairo is unhappy: invalid value"). */
#define MB_PANELS_PER_PAGE 16
#define MB_GROUPS_PER_PAGE 60
#define MB_COUNTER_CASES_PER_PAGE 40
#define MB_COMPARE_PER_PAGE 80

/* Width of a chart with one x position per case: MB_CHART_W, or wider when there are so many
 * cases that their rotated labels would crowd or run off the right edge. */
static inline int mb_chart_width(int positions, int px_per_position)
{
    int w = 400 + positions * px_per_position;
    return w > MB_CHART_W ? w : MB_CHART_W;
}

/* Each chart: 0 rendered, 1 nothing to draw (e.g. no counters), -1 error (message in err). */
int mb_chart_latency(const mb_results *r, mb_plot_out *o, char *err, size_t n);
int mb_chart_speedup(const mb_results *r, const char *base, mb_plot_out *o, char *err, size_t n);
int mb_chart_roofline(const mb_results *r, mb_plot_out *o, char *err, size_t n);
int mb_chart_memory(const mb_results *r, mb_plot_out *o, char *err, size_t n);
int mb_chart_experts(const mb_results *r, mb_plot_out *o, char *err, size_t n);
int mb_chart_counters(const mb_results *r, mb_plot_out *o, char *err, size_t n);
/* The training step (plot_train.c): step time split into forward, backward and the rest, and
 * its memory (weights, saved activations, gradients, optimizer), per case and implementation;
 * 1 (nothing to draw) when the run has no ok train row. */
int mb_chart_train_time(const mb_results *r, mb_plot_out *o, char *err, size_t n);
int mb_chart_train_memory(const mb_results *r, mb_plot_out *o, char *err, size_t n);
/* Speedup of each precision (dtype=bf16, wq=) over the same implementation's f32 twin, over T
 * (plot_precision.c); 1 when no row has one. */
int mb_chart_precision(const mb_results *r, mb_plot_out *o, char *err, size_t n);
/* The y-axis unit of a counter column ("ctr_perf__task_clock" -> "ns per forward"): counters
 * are divided by the forwards of the counting pass, so every unit is per forward. */
const char *mb_counter_unit(const char *column);

/* The top of a linear bar axis that cuts a few outliers (drawn cut, their value printed), or 0
 * when no bar stands out (plot_bars.c). */
double mb_bar_cut(const double *v, size_t n);

/* Multiplot grid for n panels. */
void mb_plot_grid(int n, int *rows, int *cols);

#endif
