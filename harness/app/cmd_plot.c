/* `moebench plot RESULTS [--out DIR]`: the command line of mb_plot_results_to (plot/plot.h). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "plot.h"
#include "plot_gnuplot.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: moebench plot RESULTS [--out DIR]\n"
               "  RESULTS  a results directory (results.csv + run.json [+ samples.csv]) or its\n"
               "           results.csv\n"
               "  --out    where the charts go (default: RESULTS/charts)\n"
               "Each chart is drawn on its own: one that fails is named on stderr and the others\n"
               "are kept. Charts with many panels or cases are split into pages (NAME-1.png, ...;\n"
               "one PDF), at most MOEBENCH_PLOT_MAX_PAGES (default %d, 0 = all) per chart.\n"
               "Exit status: 0 every chart drawn (or nothing to draw), 1 the results could not\n"
               "be read (nothing drawn), 2 usage, %d some charts failed (the others are kept).\n",
            MB_PLOT_MAX_PAGES, MB_PLOT_EXIT_CHART_FAILED);
}

int mb_cmd_plot(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strncmp(argv[i], "--out=", 6)) {
            out = argv[i] + 6;
        } else if (argv[i][0] == '-' || in) {
            fprintf(stderr, "moebench plot: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            in = argv[i];
        }
    }
    if (!in) {
        usage(stderr);
        return 2;
    }
    return mb_plot_results_to(in, out);
}
