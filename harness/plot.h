/* Charts from a results directory (harness/cmd_plot.c): latency and speedups over tokens, the
 * roofline with every case, memory, expert load and counters, each as PNG + PDF with the gnuplot
 * script and data beside it. Reads only the results directory, so any old run can be
 * re-plotted. */
#ifndef MOEBENCH_PLOT_H
#define MOEBENCH_PLOT_H

/* Reads results_dir/results.csv (and run.json) and writes the charts into results_dir/charts.
 * Returns 0 on success; on failure prints one line naming the file or column to stderr and
 * leaves no partial charts behind. */
int mb_plot_results(const char *results_dir);

/* The same with an explicit output directory (NULL: RESULTS/charts). results may also be the
 * path of a results.csv. */
int mb_plot_results_to(const char *results, const char *out_dir);

#endif
