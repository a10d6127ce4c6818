/* Grouping results rows into what the charts draw: the list of implementations (one colour
 * each, the same in every chart), the list of panels (a variant at fixed shapes), and the chart
 * entry points with their fixed image sizes. */
#ifndef MOEBENCH_PLOT_SERIES_H
#define MOEBENCH_PLOT_SERIES_H

#include <stddef.h>
#include "plot_gnuplot.h"
#include "plot_results.h"

typedef struct {
    int n, cap;
    char **items;
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
/* gnuplot array of panel titles (mb_plot_panel_title of each), and npanel. */
void mb_gp_panel_array(mb_gp_buf *b, const mb_strlist *panels);
/* Short label of row i for a category axis: "variant T=16", plus the shape fields that tell
 * this panel from the other panels of the same variant ("mixlora share=none T=16"). */
void mb_plot_short_label(const mb_results *r, size_t i, const mb_strlist *panels, char *out,
                         size_t n);

/* gnuplot arrays NAME[1..n] = the list's strings, and nNAME = n. */
void mb_gp_array(mb_gp_buf *b, const char *name, const mb_strlist *l);

/* Image sizes in pixels (PDF: the same at 144 px per inch). Tests check them. */
#define MB_CHART_W 1400
#define MB_CHART_H 1000
#define MB_ROOFLINE_W 1100
#define MB_ROOFLINE_H 750

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
/* The y-axis unit of a counter column ("ctr_perf__task_clock" -> "ns per forward"): counters
 * are divided by the forwards of the counting pass, so every unit is per forward. */
const char *mb_counter_unit(const char *column);

/* Multiplot grid for n panels. */
void mb_plot_grid(int n, int *rows, int *cols);

#endif
