/* `moebench compare A B [--format F] [--filter RE] [--out DIR] [--no-plot]`: per-case ratios of
 * two results directories with a 95 % interval and significance, as a table on stdout (console
 * text, Markdown, LaTeX, CSV or JSON) and compare.{png,pdf} (default: B/charts). */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "compare_runs.h"
#include "plot_gnuplot.h"
#include "table_format.h"

static int mb_compare_main(const char *in[2], const char *out, const regex_t *re,
                           const char *filter, mb_format fmt, int plot);

static void usage(FILE *f)
{
    fprintf(f, "usage: moebench compare A B [--format text|md|latex|csv|json] [--filter REGEX]\n"
               "                        [--out DIR] [--no-plot] [--size SIZE]\n"
               "  A, B      results directories (results.csv + run.json [+ samples.csv])\n"
               "  prints B/A median ratios per case and implementation with a 95%% confidence\n"
               "  interval (percentile bootstrap of the ratio of medians on the raw samples, 2000\n"
               "  resamples, seeded) and a Mann-Whitney U test (Holm-corrected); charts\n"
               "  compare.{png,pdf} (and compare_VARIANT per variant) in DIR (default B/charts)\n"
               "  --size    figure size of the charts, as `plot --size` (3.3in, 7in, WxH)\n"
               "  --format  text (default, the console), md, latex (booktabs), csv, json\n"
               "  --filter  POSIX extended regex on the case descriptor; matching nothing exits 2\n"
               "A run compared with itself (same run_id or same directory) is said to be.\n");
}

int mb_cmd_compare(int argc, char **argv)
{
    const char *in[2] = {NULL, NULL}, *out = NULL, *filter = NULL;
    int nin = 0, plot = 1;
    mb_format fmt = MB_FMT_TEXT;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strncmp(argv[i], "--out=", 6)) {
            out = argv[i] + 6;
        } else if (!strcmp(argv[i], "--no-plot")) {
            plot = 0;
        } else if ((!strcmp(argv[i], "--format") && i + 1 < argc) ||
                   !strncmp(argv[i], "--format=", 9)) {
            const char *v = argv[i][8] == '=' ? argv[i] + 9 : argv[++i];
            if (mb_format_parse(v, &fmt)) {
                fprintf(stderr, "moebench compare: --format '%s': expected text, md, latex, csv "
                                "or json\n", v);
                return 2;
            }
        } else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
            /* the charts read the figure size where `plot` and `roofline` do */
            double w, h;
            char why[300];
            if (mb_plot_parse_size(argv[++i], &w, &h, why, sizeof why)) {
                fprintf(stderr, "moebench compare: --%s\n", why);
                return 2;
            }
            setenv("MOEBENCH_PLOT_SIZE", argv[i], 1);
        } else if (!strcmp(argv[i], "--filter") && i + 1 < argc) {
            filter = argv[++i];
        } else if (!strncmp(argv[i], "--filter=", 9)) {
            filter = argv[i] + 9;
        } else if (argv[i][0] == '-' || nin == 2) {
            fprintf(stderr, "moebench compare: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            in[nin++] = argv[i];
        }
    }
    if (nin != 2) {
        usage(stderr);
        return 2;
    }
    char err[MB_PLOT_ERR_LEN];
    regex_t re;
    if (filter) {
        int rc = regcomp(&re, filter, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            regerror(rc, &re, err, sizeof err);
            fprintf(stderr, "moebench compare: --filter '%s': %s\n", filter, err);
            return 2;
        }
    }
    int rc = mb_compare_main(in, out, filter ? &re : NULL, filter, fmt, plot);
    if (filter)
        regfree(&re);
    return rc;
}

static int mb_compare_main(const char *in[2], const char *out, const regex_t *re,
                           const char *filter, mb_format fmt, int plot)
{
    char err[MB_PLOT_ERR_LEN];
    /* a table for a paper goes to stdout alone: the chart's line goes to stderr */
    FILE *info = fmt == MB_FMT_TEXT ? stdout : stderr;
    if (plot && mb_gnuplot_available(err, sizeof err)) {
        fprintf(stderr, "moebench compare: %s (or use --no-plot)\n", err);
        return 1;
    }
    mb_results a, b;
    if (mb_results_load(in[0], &a, err, sizeof err)) {
        fprintf(stderr, "moebench compare: %s\n", err);
        return 1;
    }
    if (mb_results_load(in[1], &b, err, sizeof err)) {
        fprintf(stderr, "moebench compare: %s\n", err);
        mb_results_free(&a);
        return 1;
    }
    mb_cmp_result r;
    int rc = 0;
    if (mb_compare_runs_filtered(&a, &b, re, &r)) {
        fprintf(stderr, "moebench compare: out of memory\n");
        rc = 1;
    } else if (re && r.n == 0 && r.only_a == 0 && r.only_b == 0 && r.n_bad_median == 0) {
        fprintf(stderr, "moebench compare: --filter '%s' matches no ok row of A or B\n", filter);
        rc = 2;
        mb_cmp_free(&r);
    } else {
        mb_cmp_write(&r, fmt, stdout);
        if (r.n == 0)
            fprintf(stderr, "moebench compare: no case ran ok in both A and B\n");
        if (plot && r.n > 0) {
            char dir[4200], foot[700], fb[600];
            if (out)
                snprintf(dir, sizeof dir, "%s", out);
            else
                snprintf(dir, sizeof dir, "%s/charts", b.dir);
            mb_results_footnote(&b, fb, sizeof fb);
            snprintf(foot, sizeof foot, "moebench compare %.120s %.120s | B: %.400s", in[0], in[1],
                     fb);
            mb_plot_out o;
            if (mb_plot_out_begin(&o, dir, foot, err, sizeof err) == 0 &&
                mb_cmp_chart(&r, &o, err, sizeof err) >= 0 &&
                mb_plot_out_commit(&o, err, sizeof err) == 0) {
                fprintf(info, "chart: %s/compare.png (and .pdf)\n", dir);
            } else {
                mb_plot_out_abort(&o);
                fprintf(stderr, "moebench compare: %s\n", err);
                rc = 1;
            }
        }
        mb_cmp_free(&r);
    }
    mb_results_free(&a);
    mb_results_free(&b);
    return rc;
}
