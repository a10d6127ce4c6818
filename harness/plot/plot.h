/* Charts from a results directory (plot_all.c): latency and speedups over tokens, the
 * roofline with every case, memory, expert load, counters and, for train rows, the step's time
 * split and memory, each as PNG + PDF with the gnuplot
 * script and data beside it. Reads only the results directory, so any old run can be
 * re-plotted. */
#ifndef MOEBENCH_PLOT_H
#define MOEBENCH_PLOT_H

/* Exit status of `moebench plot` when some charts failed: each is named on stderr with gnuplot's
 * message, the others are kept. 1 means the results could not be read and nothing was drawn. */
#define MB_PLOT_EXIT_CHART_FAILED 3

/* What `moebench plot` draws: a selection of rows (comma lists; NULL = all) and the figure. */
typedef struct {
    const char *variants, *impls, *threads;
    double width_in, height_in;   /* 0: screen charts (MOEBENCH_PLOT_SIZE, else pixels) */
    int height_auto;              /* the height is the width's default (a chart may grow it) */
    int units;                    /* MB_PLOT_UNITS_* (plot_gnuplot.h) */
} mb_plot_opts;

/* Exit status when the selection names something the results do not hold, or leaves no ok row:
 * nothing is drawn. */
#define MB_PLOT_EXIT_SELECTION 2

/* Reads results_dir/results.csv (and run.json) and writes the charts into results_dir/charts.
 * Returns 0 on success; 1 when the results cannot be read (one line naming the file or column
 * on stderr, no charts); MB_PLOT_EXIT_CHART_FAILED when some charts failed (each named on
 * stderr; the others are kept, a failed chart leaves no files). */
int mb_plot_results(const char *results_dir);

/* The same with an explicit output directory (NULL: RESULTS/charts). results may also be the
 * path of a results.csv. */
int mb_plot_results_to(const char *results, const char *out_dir);
/* The same with a selection and a figure size (opts may be NULL). */
int mb_plot_results_opts(const char *results, const char *out_dir, const mb_plot_opts *opts);

#endif
