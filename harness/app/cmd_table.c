/* `moebench table RUN [--format md|latex|csv|text] [--pivot impl|threads|cache] ...`: the table a
 * paper prints (analysis/results_table.h), on stdout or into a file; with --roof, every row's
 * fraction of its own ceiling, worst first (analysis/roof_report.h). */
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "plot_results.h"
#include "results_table.h"
#include "roof_report.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: moebench table RUN [--format text|md|latex|csv] [--pivot impl|threads|cache]\n"
            "                      [--value time|speedup] [--baseline V] [--error ci|mad|none]\n"
            "                      [--units us|ms|s] [--filter REGEX] [-o FILE]\n"
            "       moebench table RUN --roof [--format text|md|latex|csv|json] [--filter REGEX]\n"
            "                      [-o FILE]\n"
            "  RUN         a results directory (or its results.csv)\n"
            "  --format    text (default, the console), md (a pipe table), latex (booktabs rules,\n"
            "              escaped text), csv (one column per value: median, ci_lo, ci_hi or mad)\n"
            "  --pivot     the columns: implementations (default), thread counts or cache; rows\n"
            "              are cases, with the other settings when they vary in the run\n"
            "  --value     time (median per forward, default) or speedup over --baseline (a\n"
            "              value of the pivot; default blas, else the first column)\n"
            "  --error     the spread shown with a time: ci (95%% CI of the median, default), mad,\n"
            "              none\n"
            "  --filter    POSIX extended regex on the case descriptor; matching nothing exits 2\n"
            "A row that did not run ok shows its status (an empty field in CSV).\n"
            "  --roof      instead of the times: every row's fraction of its own ceiling\n"
            "              (gflops / roof_gflops, the cache-aware roofline), worst first, with\n"
            "              its level, intensity and whether the ceiling is memory- or\n"
            "              compute-bound; rows without a ceiling (not ok, no roofline) listed\n"
            "              apart with the reason (in CSV: last, numbers empty; JSON: no_ceiling)\n");
}

int mb_cmd_table(int argc, char **argv)
{
    const char *in = NULL, *outp = NULL, *filter = NULL;
    mb_format fmt = MB_FMT_TEXT;
    int roof = 0;
    const char *pivot_opt = NULL;   /* the first option --roof does not take */
    mb_table_opts o = {MB_PIVOT_IMPL, MB_TV_TIME, NULL, MB_TE_CI, 1, "us", NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--roof")) {
            roof = 1;
            continue;
        }
        static const char *const opts[] = {"--format", "--pivot", "--value", "--baseline",
                                           "--error", "--units", "--filter", "-o", "--out", NULL};
        int which = -1;
        for (int k = 0; opts[k] && which < 0; k++) {
            size_t l = strlen(opts[k]);
            if (!strcmp(a, opts[k]) && i + 1 < argc) {
                which = k;
                v = argv[++i];
            } else if (!strncmp(a, opts[k], l) && a[l] == '=') {
                which = k;
                v = a + l + 1;
            }
        }
        int bad = 0;
        switch (which) {
        case 0:
            bad = mb_format_parse(v, &fmt);
            break;
        case 1:
            bad = mb_pivot_parse(v, &o.pivot);
            break;
        case 2:
            bad = strcmp(v, "time") && strcmp(v, "speedup");
            o.value = !strcmp(v, "speedup") ? MB_TV_SPEEDUP : MB_TV_TIME;
            break;
        case 3:
            o.baseline = v;
            break;
        case 4:
            bad = strcmp(v, "ci") && strcmp(v, "mad") && strcmp(v, "none");
            o.error = !strcmp(v, "mad") ? MB_TE_MAD : !strcmp(v, "none") ? MB_TE_NONE : MB_TE_CI;
            break;
        case 5:
            bad = strcmp(v, "us") && strcmp(v, "ms") && strcmp(v, "s");
            o.unit = v;
            o.unit_us = !strcmp(v, "ms") ? 1e3 : !strcmp(v, "s") ? 1e6 : 1;
            break;
        case 6:
            filter = v;
            break;
        case 7:
        case 8:
            outp = v;
            break;
        default:
            if (a[0] == '-' || in) {
                fprintf(stderr, "moebench table: unexpected argument '%s'\n", a);
                usage(stderr);
                return 2;
            }
            in = a;
        }
        if (bad) {
            fprintf(stderr, "moebench table: %s '%s': not a choice (see moebench table --help)\n",
                    opts[which], v);
            return 2;
        }
        if (which >= 1 && which <= 5 && !pivot_opt)
            pivot_opt = opts[which];
    }
    if (roof && pivot_opt) {
        fprintf(stderr, "moebench table: --roof lists rows, not a pivot of times: %s does not "
                "apply (--roof takes --format, --filter, -o)\n", pivot_opt);
        return 2;
    }
    if (!roof && fmt == MB_FMT_JSON) {
        fprintf(stderr, "moebench table: --format json: only with --roof (the time table is "
                "text, md, latex or csv)\n");
        return 2;
    }
    if (!in) {
        usage(stderr);
        return 2;
    }
    char err[MB_PLOT_ERR_LEN];
    regex_t re;
    if (filter) {
        int rc = regcomp(&re, filter, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            regerror(rc, &re, err, sizeof err);
            fprintf(stderr, "moebench table: --filter '%s': %s\n", filter, err);
            return 2;
        }
        o.filter = &re;
    }
    mb_results res;
    int rc = 0;
    if (mb_results_load(in, &res, err, sizeof err)) {
        fprintf(stderr, "moebench table: %s\n", err);
        rc = 1;
        goto out;
    }
    FILE *f = outp ? fopen(outp, "w") : stdout;
    if (!f) {
        fprintf(stderr, "moebench table: %s: cannot write\n", outp);
        rc = 1;
    } else {
        int t = roof ? mb_roof_report(&res, o.filter, fmt, f)
                     : mb_results_table(&res, &o, fmt, f, err, sizeof err);
        if (t == 1) {
            fprintf(stderr, "moebench table: %s\n", filter ? "--filter matches no row" : "no rows");
            rc = 2;
        } else if (t == 2) {
            fprintf(stderr, "moebench table: %s\n", err);
            rc = 2;
        } else if (t < 0) {
            fprintf(stderr, "moebench table: out of memory\n");
            rc = 1;
        }
        if (outp && fclose(f)) {
            fprintf(stderr, "moebench table: %s: write failed\n", outp);
            rc = 1;
        }
        if (outp && rc)
            remove(outp);
    }
    mb_results_free(&res);
out:
    if (filter)
        regfree(&re);
    return rc;
}
