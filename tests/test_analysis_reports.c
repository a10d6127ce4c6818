/* The reports of issue 13 (items 6 and 8) on inputs with known answers: the bootstrap interval
 * of a ratio of medians, compare's intervals and self-comparison note on the fixed runs
 * (tests/data/results_a, results_b: blas x1.25, avx512 x0.80, naive unchanged), the table
 * writer's formats and escaping, the pivot table's cells, the Google Benchmark export, and the
 * exit codes of `moebench time` (ok, and a wrong implementation). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "commands.h"
#include "compare_runs.h"
#include "crash_impl.h"
#include "gbench_export.h"
#include "plot_results.h"
#include "results_table.h"
#include "stats.h"
#include "table_format.h"

static void test_bootstrap(void)
{
    double x[20], y[20], lo, hi, lo2, hi2;
    for (int i = 0; i < 20; i++) {
        x[i] = 100 + i;
        y[i] = 1.25 * x[i];
    }
    CHECK(mb_bootstrap_median_ratio(x, 20, y, 20, 2000, 0.95, 7, &lo, &hi) == 0);
    CHECK_MSG(lo < 1.25 && 1.25 < hi && lo > 1.0, "[%g, %g]", lo, hi);
    /* deterministic: one seed, one interval; another seed moves it */
    CHECK(mb_bootstrap_median_ratio(x, 20, y, 20, 2000, 0.95, 7, &lo2, &hi2) == 0);
    CHECK(lo == lo2 && hi == hi2);
    CHECK(mb_bootstrap_median_ratio(x, 20, y, 20, 2000, 0.95, 8, &lo2, &hi2) == 0);
    CHECK(lo != lo2 || hi != hi2);
    /* constant samples: every resampled median is the value, the interval a point */
    double c1[6] = {10, 10, 10, 10, 10, 10}, c2[6] = {20, 20, 20, 20, 20, 20};
    CHECK(mb_bootstrap_median_ratio(c1, 6, c2, 6, 500, 0.95, 1, &lo, &hi) == 0);
    CHECK_NEAR(lo, 2.0, 0);
    CHECK_NEAR(hi, 2.0, 0);
    /* too few samples: no interval, not a made-up one */
    CHECK(mb_bootstrap_median_ratio(c1, 5, c2, 6, 500, 0.95, 1, &lo, &hi) == -1);
    CHECK(isnan(lo) && isnan(hi));
    /* wider spread, wider interval */
    double z[20];
    for (int i = 0; i < 20; i++)
        z[i] = 1.25 * (100 + 10 * i);
    CHECK(mb_bootstrap_median_ratio(x, 20, z, 20, 2000, 0.95, 7, &lo2, &hi2) == 0);
    CHECK(mb_bootstrap_median_ratio(x, 20, y, 20, 2000, 0.95, 7, &lo, &hi) == 0);
    CHECK(hi2 - lo2 > hi - lo);
}

static void test_compare_ci(void)
{
    mb_results a, b;
    char err[MB_PLOT_ERR_LEN];
    CHECK(mb_results_load(MB_TEST_DATA_DIR "/results_a", &a, err, sizeof err) == 0);
    CHECK(mb_results_load(MB_TEST_DATA_DIR "/results_b", &b, err, sizeof err) == 0);
    mb_cmp_result r;
    CHECK(mb_compare_runs(&a, &b, &r) == 0);
    CHECK(!r.same_run);
    int n_blas = 0;
    for (int i = 0; i < r.n; i++) {
        const mb_cmp_entry *e = &r.e[i];
        CHECK_MSG(isfinite(e->ci_lo) && e->ci_lo <= e->ratio && e->ratio <= e->ci_hi,
                  "%s %s: %g not in [%g, %g]", e->case_desc, e->impl, e->ratio, e->ci_lo, e->ci_hi);
        /* the samples of A and B do not overlap for blas: the interval excludes 1 */
        if (!strcmp(e->impl, "blas")) {
            n_blas++;
            CHECK_MSG(e->ci_lo > 1.0, "%s blas: [%g, %g]", e->case_desc, e->ci_lo, e->ci_hi);
        }
        if (!strcmp(e->impl, "naive"))
            CHECK_MSG(e->ci_lo < 1.0 && 1.0 < e->ci_hi, "%s naive: [%g, %g]", e->case_desc,
                      e->ci_lo, e->ci_hi);
        CHECK(e->variant[0] != '\0');
    }
    CHECK(n_blas == 14);
    /* a filter selects rows of A by descriptor; the interval of an entry does not move */
    const mb_cmp_entry *full = mb_cmp_find(&r, "router:T=1,h=4096,E=8,k=2", "blas");
    regex_t re;
    CHECK(regcomp(&re, "^router:T=1,", REG_EXTENDED | REG_NOSUB) == 0);
    mb_cmp_result rf;
    CHECK(mb_compare_runs_filtered(&a, &b, &re, &rf) == 0);
    CHECK_MSG(rf.n == 3, "%d entries", rf.n);
    const mb_cmp_entry *part = mb_cmp_find(&rf, "router:T=1,h=4096,E=8,k=2", "blas");
    CHECK(full && part && full->ci_lo == part->ci_lo && full->ci_hi == part->ci_hi);
    /* every format of the filtered result */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mb_cmp_write(&rf, MB_FMT_LATEX, f);
    fclose(f);
    CHECK(strstr(buf, "\\toprule") && strstr(buf, "\\midrule") && strstr(buf, "\\bottomrule"));
    CHECK(strstr(buf, "95\\% CI") != NULL);
    free(buf);
    f = open_memstream(&buf, &len);
    mb_cmp_write(&rf, MB_FMT_JSON, f);
    fclose(f);
    cJSON *j = cJSON_Parse(buf);
    CHECK(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "entries")) == 3);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "same_run")));
    cJSON_Delete(j);
    free(buf);
    mb_cmp_free(&rf);
    regfree(&re);
    mb_cmp_free(&r);
    /* a run against itself: said so, ratios 1 */
    CHECK(mb_compare_runs(&a, &a, &r) == 0);
    CHECK(r.same_run && strstr(r.same_why, "run_id"));
    f = open_memstream(&buf, &len);
    mb_cmp_print(&r, f);
    fclose(f);
    CHECK(strstr(buf, "note: A and B are the same run") != NULL);
    free(buf);
    mb_cmp_free(&r);
    mb_results_free(&a);
    mb_results_free(&b);
}

static void test_table_format(void)
{
    char out[256];
    mb_latex_escape("sparse_mlp 50% a&b #1 $x {y} ~^\\ \xC2\xB1 2\xC3\x97", out, sizeof out);
    CHECK_MSG(!strcmp(out, "sparse\\_mlp 50\\% a\\&b \\#1 \\$x \\{y\\} \\textasciitilde{}"
                           "\\textasciicircum{}\\textbackslash{} $\\pm$ 2$\\times$"), "%s", out);
    /* cut to the buffer, never in the middle of an escape */
    mb_latex_escape("a_b_c", out, 5);
    CHECK_MSG(!strcmp(out, "a\\_b"), "%s", out);
    const char *head[] = {"case", "t"};
    mb_table t;
    CHECK(mb_table_init(&t, 2, head, "lr") == 0);
    const char *row[] = {"a|b,\"c\"", "1"};
    CHECK(mb_table_add(&t, row) == 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mb_table_write(&t, MB_FMT_MD, NULL, f);
    fclose(f);
    CHECK_MSG(!strcmp(buf, "| case | t |\n|---|---:|\n| a\\|b,\"c\" | 1 |\n"), "%s", buf);
    free(buf);
    f = open_memstream(&buf, &len);
    mb_table_write(&t, MB_FMT_CSV, NULL, f);
    fclose(f);
    CHECK_MSG(!strcmp(buf, "case,t\n\"a|b,\"\"c\"\"\",1\n"), "%s", buf);
    free(buf);
    mb_table_free(&t);
    mb_format fm;
    CHECK(mb_format_parse("latex", &fm) == 0 && fm == MB_FMT_LATEX);
    CHECK(mb_format_parse("markdown", &fm) == 0 && fm == MB_FMT_MD);
    CHECK(mb_format_parse("xml", &fm) == -1);
}

static void test_results_table(void)
{
    mb_results a;
    char err[MB_PLOT_ERR_LEN];
    CHECK(mb_results_load(MB_TEST_DATA_DIR "/results_a", &a, err, sizeof err) == 0);
    regex_t re;
    CHECK(regcomp(&re, "^router:T=1,", REG_EXTENDED | REG_NOSUB) == 0);
    mb_table_opts o = {MB_PIVOT_IMPL, MB_TV_TIME, NULL, MB_TE_CI, 1, "us", &re};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(mb_results_table(&a, &o, MB_FMT_CSV, f, err, sizeof err) == 0);
    fclose(f);
    /* one case; naive and blas ok (40.96 and 10.5349 us), onednn skipped: empty */
    CHECK_MSG(strstr(buf, "case,variant,naive_median_us,naive_ci_lo_us,naive_ci_hi_us,"
                          "blas_median_us,") == buf, "%s", buf);
    CHECK_MSG(strstr(buf, "\"router:T=1,h=4096,E=8,k=2\",router,40.96,") != NULL, "%s", buf);
    CHECK(strstr(buf, ",10.5349,") != NULL);
    CHECK(strstr(buf, ",,,") != NULL);   /* skipped onednn */
    free(buf);
    o.value = MB_TV_SPEEDUP;
    o.baseline = "naive";
    f = open_memstream(&buf, &len);
    CHECK(mb_results_table(&a, &o, MB_FMT_MD, f, err, sizeof err) == 0);
    fclose(f);
    /* 40.96 / 10.5349 = 3.89; skipped shows its status */
    CHECK_MSG(strstr(buf, "| 1.00\xC3\x97 | 3.89\xC3\x97 | skipped |") != NULL, "%s", buf);
    free(buf);
    o.baseline = "nosuch";
    f = open_memstream(&buf, &len);
    CHECK(mb_results_table(&a, &o, MB_FMT_MD, f, err, sizeof err) == 2);
    fclose(f);
    free(buf);
    regfree(&re);
    CHECK(regcomp(&re, "^nomatch$", REG_EXTENDED | REG_NOSUB) == 0);
    o.value = MB_TV_TIME;
    f = open_memstream(&buf, &len);
    CHECK(mb_results_table(&a, &o, MB_FMT_MD, f, err, sizeof err) == 1);
    fclose(f);
    CHECK(len == 0);
    free(buf);
    regfree(&re);
    mb_results_free(&a);
}

static void test_gbench(void)
{
    mb_results a;
    char err[MB_PLOT_ERR_LEN];
    CHECK(mb_results_load(MB_TEST_DATA_DIR "/results_a", &a, err, sizeof err) == 0);
    regex_t re;
    CHECK(regcomp(&re, "^router:T=1,", REG_EXTENDED | REG_NOSUB) == 0);
    cJSON *doc = NULL;
    CHECK(mb_gbench_export(&a, &re, &doc) == 5);   /* naive blas onednn avx512 merged */
    const cJSON *bs = cJSON_GetObjectItem(doc, "benchmarks");
    int iters = 0, aggs = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, bs)
    {
        const char *name = cJSON_GetObjectItem(b, "name")->valuestring;
        const char *type = cJSON_GetObjectItem(b, "run_type")->valuestring;
        CHECK(!strcmp(cJSON_GetObjectItem(b, "time_unit")->valuestring, "us"));
        CHECK(cJSON_IsNumber(cJSON_GetObjectItem(b, "real_time")));
        CHECK(cJSON_IsNumber(cJSON_GetObjectItem(b, "cpu_time")));
        iters += !strcmp(type, "iteration");
        aggs += !strcmp(type, "aggregate");
        if (!strcmp(name, "router/T=1,h=4096,E=8,k=2/blas/threads:2_median"))
            CHECK_NEAR(cJSON_GetObjectItem(b, "real_time")->valuedouble, 10.5349, 1e-3);
    }
    CHECK_MSG(iters == 3 * 10 && aggs == 3 * 3, "%d iterations, %d aggregates", iters, aggs);
    const cJSON *bad = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "context"),
                                           "moebench_rows_not_ok");
    CHECK(cJSON_GetArraySize(bad) == 2);
    cJSON_Delete(doc);
    regfree(&re);
    mb_results_free(&a);
}

static void test_time_exit_codes(void)
{
    mb_test_register_crash_impls();
    char *ok[] = {"time", "lora:T=2,h=32,o=32,r=2", "--impl", "blas", "--threads", "1",
                  "--min-time", "0.01", "--reps", "3", NULL};
    CHECK(mb_cmd_time(10, ok) == 0);
    char *wrong[] = {"time", "lora:T=2,h=32,o=32,r=2", "--impl", "test_wrong", "--threads", "1",
                     "--min-time", "0.01", "--reps", "3", NULL};
    CHECK(mb_cmd_time(10, wrong) == 1);
    char *bad[] = {"time", "lora:T=2,h=32", "--impl", "nosuch", NULL};
    CHECK(mb_cmd_time(4, bad) == 2);
    char *badc[] = {"time", "lora:T=2,h=32", "--cache", "lukewarm", NULL};
    CHECK(mb_cmd_time(4, badc) == 2);
}

int main(void)
{
    test_bootstrap();
    test_compare_ci();
    test_table_format();
    test_results_table();
    test_gbench();
    test_time_exit_codes();
    return mb_test_result("test_analysis_reports");
}
