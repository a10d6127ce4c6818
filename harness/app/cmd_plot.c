/* `moebench plot RESULTS [--out DIR] [--variant L] [--impl L] [--threads L] [--size S]
 * [--units U]`: the command line of mb_plot_results_opts (plot/plot.h). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "plot.h"
#include "plot_gnuplot.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: moebench plot RESULTS [--out DIR] [--variant LIST] [--impl LIST]\n"
               "                     [--threads LIST] [--size SIZE] [--units us|ms|auto]\n"
               "  RESULTS    a results directory (results.csv + run.json [+ samples.csv]) or its\n"
               "             results.csv\n"
               "  --out      where the charts go (default: RESULTS/charts)\n"
               "  --variant, --impl, --threads  draw only these rows (comma lists); a name no\n"
               "             row has is an error (exit %d)\n"
               "  --size     a figure for a paper: 3.3in (one column of a two-column paper), 7in\n"
               "             (full width) or WxH in inches (3.3inx2.2in); PDF at that size, PNG at\n"
               "             %d dpi, every font at least %d pt (a width alone: charts with long\n"
               "             labels grow taller). Default: screen charts in pixels\n"
               "             (or $MOEBENCH_PLOT_SIZE, which compare and roofline read too)\n"
               "  --units    time axes in us or ms (default auto: ms from a 1 ms median)\n"
               "Each chart is drawn on its own: one that fails is named on stderr and the others\n"
               "are kept. Charts with many panels or cases are split into pages (NAME-1.png, ...;\n"
               "one PDF), at most MOEBENCH_PLOT_MAX_PAGES (default %d, 0 = all) per chart.\n"
               "Exit status: 0 every chart drawn (or nothing to draw), 1 the results could not\n"
               "be read (nothing drawn), 2 usage or a selection of nothing, %d some charts\n"
               "failed (the others are kept).\n",
            MB_PLOT_EXIT_SELECTION, MB_PLOT_PAPER_DPI, MB_PLOT_MIN_FONT_PT, MB_PLOT_MAX_PAGES,
            MB_PLOT_EXIT_CHART_FAILED);
}

/* The value of option `name` at argv[*i] ("--name V" or "--name=V"), or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t l = strlen(name);
    if (strncmp(argv[*i], name, l))
        return NULL;
    if (argv[*i][l] == '=')
        return argv[*i] + l + 1;
    if (!argv[*i][l] && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

int mb_cmd_plot(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *v;
    mb_plot_opts opts = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if ((v = opt_value(argc, argv, &i, "--out"))) {
            out = v;
        } else if ((v = opt_value(argc, argv, &i, "--variant"))) {
            opts.variants = v;
        } else if ((v = opt_value(argc, argv, &i, "--impl"))) {
            opts.impls = v;
        } else if ((v = opt_value(argc, argv, &i, "--threads"))) {
            opts.threads = v;
        } else if ((v = opt_value(argc, argv, &i, "--size"))) {
            char err[300];
            if (mb_plot_parse_size(v, &opts.width_in, &opts.height_in, err, sizeof err)) {
                fprintf(stderr, "moebench plot: --%s\n", err);
                return 2;
            }
            opts.height_auto = !mb_plot_size_has_height(v);
        } else if ((v = opt_value(argc, argv, &i, "--units"))) {
            if (!strcmp(v, "us") || !strcmp(v, "µs"))
                opts.units = MB_PLOT_UNITS_US;
            else if (!strcmp(v, "ms"))
                opts.units = MB_PLOT_UNITS_MS;
            else if (!strcmp(v, "auto"))
                opts.units = MB_PLOT_UNITS_AUTO;
            else {
                fprintf(stderr, "moebench plot: --units '%s': want us, ms or auto\n", v);
                return 2;
            }
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
    return mb_plot_results_opts(in, out, &opts);
}
