/* Break-even of the merged implementation (prepare once, faster forwards): the number of
 * forward calls, the results.csv column filled for the merged row from the earlier rows of the
 * same case, and the end-of-run summary line. Synthetic rows, no timing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "csv.h"
#include "progress.h"

static mb_row make(const char *desc, const char *impl, int threads, const char *cache,
                   const char *status, double median_us, double prepare_us)
{
    mb_row r;
    mb_row_init(&r);
    snprintf(r.case_desc, sizeof r.case_desc, "%s", desc);
    snprintf(r.impl, sizeof r.impl, "%s", impl);
    snprintf(r.status, sizeof r.status, "%s", status);
    snprintf(r.cache, sizeof r.cache, "%s", cache);
    r.threads = threads;
    r.time_us_median = median_us;
    r.time_us_ci_lo = median_us;
    r.time_us_ci_hi = median_us;
    r.gflops = 1;
    r.prepare_us = prepare_us;
    return r;
}

static void test_formula(void)
{
    CHECK(mb_breakeven_calls(1000, 90, 100) == 100);    /* 1 ms / 10 us */
    CHECK(mb_breakeven_calls(1001, 90, 100) == 101);    /* rounded up */
    CHECK(mb_breakeven_calls(0, 90, 100) == 1);
    CHECK(mb_breakeven_calls(1000, 100, 100) == -1);    /* no saving */
    CHECK(mb_breakeven_calls(1000, 120, 100) == -1);    /* merged slower */
    CHECK(mb_breakeven_calls(NAN, 90, 100) == -1);
    CHECK(mb_breakeven_calls(1000, 90, NAN) == -1);
}

static void test_rows_and_summary(void)
{
    FILE *devnull = fopen("/dev/null", "w");
    mb_progress p;
    mb_progress_init(&p, 12);
    const char *A = "lora:T=8,h=64,r=4", *B = "lora:T=16,h=64,r=4";
    mb_row rows[] = {
        /* case A, 1 thread warm: best unmerged = avx512 100 us (naive is not counted) */
        make(A, "naive", 1, "warm", "ok", 10, 0),
        make(A, "blas", 1, "warm", "ok", 150, 0),
        make(A, "avx512", 1, "warm", "ok", 100, 0),
        make(A, "onednn", 1, "warm", "mismatch", NAN, NAN),
        /* same shape, other threads: its own case (blas 50 us) */
        make(A, "blas", 2, "warm", "ok", 50, 0),
        /* case B: merged is slower */
        make(B, "blas", 1, "cold", "ok", 80, 0),
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        mb_progress_fill_breakeven(&p, &rows[i]);
        CHECK(rows[i].breakeven_calls == -1);
        mb_progress_row(&p, &rows[i], devnull);
    }
    mb_row m1 = make(A, "merged", 1, "warm", "ok", 90, 2000);     /* 2 ms / 10 us = 200 */
    mb_row m2 = make(A, "merged", 2, "warm", "ok", 40, 500);      /* 0.5 ms / 10 us = 50 */
    mb_row m3 = make(B, "merged", 1, "cold", "ok", 95, 100);      /* slower: never */
    mb_row m4 = make("mor1e:T=1", "merged", 1, "warm", "ok", 10, 100);   /* nothing to compare */
    mb_row *ms[] = {&m1, &m2, &m3, &m4};
    for (int i = 0; i < 4; i++) {
        mb_progress_fill_breakeven(&p, ms[i]);
        mb_progress_row(&p, ms[i], devnull);
    }
    CHECK_MSG(m1.breakeven_calls == 200, "got %lld", (long long)m1.breakeven_calls);
    CHECK_MSG(m2.breakeven_calls == 50, "got %lld", (long long)m2.breakeven_calls);
    CHECK(m3.breakeven_calls == -1);
    CHECK(m4.breakeven_calls == -1);
    fclose(devnull);

    /* the column: after the required ones, filled only for the merged row */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mb_csv_write_header(f, 0, NULL);
    mb_csv_write_row(f, &m1, 0);
    mb_csv_write_row(f, &rows[1], 0);
    fclose(f);
    char *nl = strchr(buf, '\n');
    /* breakeven_calls, then mode, blas_core, onednn_isa (empty here: the rows are not from a
     * case), the six expert-parallel columns (empty: not ep rows), the nine routing columns
     * (empty: not routed) and the five roofline and stability columns (empty: no ceiling, no
     * samples), the five train columns (empty: forward rows) and the precision columns wq and
     * near_ties (empty: no wq, routing not compared) */
    const char *tail = ",breakeven_calls,mode,blas_core,onednn_isa,ep,route_us,dispatch_us,"
                       "expert_us,combine_us,comm_bytes,cap,shared,topp,route,dropped,"
                       "experts_per_token_mean,expert_load_mean,load_imbalance,expert_counts,"
                       "roof_level,roof_gflops,above_roof,unstable,ci_rel,fwd_us,bwd_us,saved_bytes,"
                       "grad_bytes,optimizer_bytes,wq,near_ties\n";
    CHECK(nl && strstr(buf, tail) == nl + 1 - strlen(tail));
    char *l2 = nl ? nl + 1 : buf;
    char *l3 = strchr(l2, '\n');
    CHECK(l3 && l3 - l2 > 34 && !strncmp(l3 - 34, ",200,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,", 34));
    CHECK(l3 && l3[strlen(l3) - 2] == ',');   /* blas: empty */
    free(buf);

    buf = NULL;
    f = open_memstream(&buf, &len);
    mb_progress_summary(&p, f);
    fclose(f);
    CHECK_MSG(strstr(buf, "merged: prepare 2.000 ms, saves 10.0 us per forward -> break-even after "
                          "200 forward calls") != NULL, "summary:\n%s", buf);
    CHECK(strstr(buf, "break-even after 50 forward calls") != NULL);
    CHECK(strstr(buf, "never: merged is slower") != NULL);
    CHECK(strstr(buf, "threads=2") != NULL);
    free(buf);
    mb_progress_free(&p);
}

/* an unstable row is marked in the summary; a row without CI (n < 6) prints no "nan" */
static void test_unstable_and_no_ci(void)
{
    mb_progress p;
    mb_progress_init(&p, 2);
    mb_row a = make("lora:T=8,h=64,r=4", "blas", 1, "warm", "ok", 100, 0);
    a.unstable = 1;
    mb_row b = make("lora:T=8,h=64,r=4", "avx512", 1, "warm", "ok", 50, 0);
    b.time_us_ci_lo = b.time_us_ci_hi = NAN;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mb_progress_row(&p, &a, f);
    mb_progress_row(&p, &b, f);
    mb_progress_summary(&p, f);
    fclose(f);
    CHECK_MSG(strstr(buf, "(unstable)") != NULL, "%s", buf);
    CHECK_MSG(strstr(buf, "nan") == NULL && strstr(buf, "NAN") == NULL, "%s", buf);
    CHECK_MSG(strstr(buf, "[no CI: n<6]") != NULL, "%s", buf);
    /* only the unstable row is marked */
    const char *u = strstr(buf, "(unstable)");
    CHECK(u && strstr(u + 1, "(unstable)") == NULL);
    free(buf);
    mb_progress_free(&p);
}

int main(void)
{
    test_formula();
    test_rows_and_summary();
    test_unstable_and_no_ci();
    return mb_test_result("test_harness_breakeven");
}
