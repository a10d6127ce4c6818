/* `compare` on tests/data/results_a vs results_b gives the answer built into B (see
 * results_a/make_test_results.py): blas x1.25 and avx512 x0.80 significant, onednn x1.02 not,
 * naive and merged identical (p = 1); 49 matched pairs, one of which (router T=16 naive, B
 * median 0) has no ratio and is reported, so the geometric mean is over 48 (14 blas, 10 avx512,
 * 9 onednn, 9 naive, 6 merged): (1.25^14 * 0.8^10 * 1.02^9) ^ (1/48) = 1.022559; 2 rows only in
 * A, 4 only in B, and a provenance warning for the compiler. lora naive and blas also ran at
 * threads 1: samples are matched per setting. Holm's correction over the 48 tested pairs. Also old samples.csv (no threads/cache) and the loader's
 * bad-input messages. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "compare_runs.h"
#include "plot_results.h"

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void check_known_answer(void)
{
    mb_results a, b;
    char err[MB_PLOT_ERR_LEN];
    CHECK(mb_results_load(MB_TEST_DATA_DIR "/results_a", &a, err, sizeof err) == 0);
    CHECK(mb_results_load(MB_TEST_DATA_DIR "/results_b", &b, err, sizeof err) == 0);
    CHECK(a.has_samples && b.has_samples);
    mb_cmp_result r;
    CHECK(mb_compare_runs(&a, &b, &r) == 0);
    CHECK(r.n == 48);
    CHECK(r.n_tested == 48);
    CHECK(r.n_bad_median == 1);
    CHECK(r.n_bad_median == 1 && strstr(r.bad_median[0], "router:T=16") &&
          strstr(r.bad_median[0], "naive"));
    CHECK(!r.samples_unkeyed);
    CHECK(r.only_a == 2);
    CHECK(r.only_b == 4);
    /* by hand: exp((14 ln 1.25 + 10 ln 0.8 + 9 ln 1.02) / 48) */
    CHECK_NEAR(r.geomean, exp((14 * log(1.25) + 10 * log(0.8) + 9 * log(1.02)) / 48), 1e-5);
    CHECK_NEAR(r.geomean, 1.022559, 1e-5);
    CHECK_NEAR(mb_cmp_geomean_impl(&r, "blas"), 1.25, 1e-4);
    CHECK_NEAR(mb_cmp_geomean_impl(&r, "avx512"), 0.80, 1e-4);
    CHECK_NEAR(mb_cmp_geomean_impl(&r, "naive"), 1.0, 1e-9);

    const mb_cmp_entry *e = mb_cmp_find(&r, "lora:T=16,h=4096,o=4096,r=16", "blas");
    CHECK(e != NULL);
    if (e) {
        CHECK_NEAR(e->ratio, 1.25, 1e-4);
        CHECK(e->n_a == 10 && e->n_b == 10);
        CHECK(e->significant);
        /* no overlap at n = m = 10: U = 0 of 100, exact p = 2 / C(20,10) */
        CHECK_NEAR(e->U, 0.0, 0);
        CHECK_NEAR(e->p, 2.0 / 184756.0, 1e-9);
        /* Holm: the 24 smallest p are all this one (U = 0), so each is adjusted by m = 48 */
        CHECK_NEAR(e->p_adj, 48 * 2.0 / 184756.0, 1e-9);
    }
    /* both thread settings of lora T=16 blas are matched, each with its own 10 samples (mixed,
     * there would be 20) */
    int n_blas16 = 0;
    for (int i = 0; i < r.n; i++)
        if (!strcmp(r.e[i].case_desc, "lora:T=16,h=4096,o=4096,r=16") && !strcmp(r.e[i].impl, "blas")) {
            n_blas16++;
            CHECK_MSG(r.e[i].n_a == 10 && r.e[i].n_b == 10, "lora T=16 blas: %d and %d samples",
                      r.e[i].n_a, r.e[i].n_b);
            CHECK_NEAR(r.e[i].ratio, 1.25, 1e-4);
        }
    CHECK(n_blas16 == 2);
    int n_sig = 0, n_onednn = 0;
    for (int i = 0; i < r.n; i++) {
        const mb_cmp_entry *x = &r.e[i];
        if (!strcmp(x->impl, "blas") || !strcmp(x->impl, "avx512"))
            CHECK_MSG(x->significant, "%s %s should be significant (p %g)", x->case_desc,
                      x->impl, x->p);
        if (!strcmp(x->impl, "onednn")) {
            n_onednn++;
            CHECK_MSG(!x->significant, "%s onednn should not be significant (p %g)",
                      x->case_desc, x->p);
        }
        if (!strcmp(x->impl, "naive") || !strcmp(x->impl, "merged"))
            CHECK_NEAR(x->p, 1.0, 1e-9);
        n_sig += x->significant;
    }
    CHECK(n_onednn == 9);
    CHECK(n_sig == 24);
    CHECK(r.n_slower == 14 && r.n_faster == 10);
    CHECK(r.nwarn == 1);
    CHECK(r.nwarn >= 1 && strstr(r.warn[0], "compiler") && strstr(r.warn[0], "GNU 13.2.0"));

    /* the same run against itself: every ratio 1, nothing significant, no warning */
    mb_cmp_result s;
    CHECK(mb_compare_runs(&a, &a, &s) == 0);
    CHECK(s.n == 51 && s.nwarn == 0 && s.n_faster == 0 && s.n_slower == 0 && s.n_bad_median == 0);
    CHECK_NEAR(s.geomean, 1.0, 1e-12);
    mb_cmp_free(&s);
    mb_cmp_free(&r);
    mb_results_free(&a);
    mb_results_free(&b);
}

/* A run from before samples.csv had threads and cache: still compared, on case and impl only
 * (both thread settings' samples together), and said so. */
static void check_old_samples(void)
{
    char tmp[] = "/tmp/mb_test_cmp_old_XXXXXX";
    if (!mkdtemp(tmp)) {
        CHECK(0);
        return;
    }
    char src[512], dst[512], line[4096];
    const char *names[] = {"results.csv", "run.json", "samples.csv"};
    for (int k = 0; k < 3; k++) {
        snprintf(src, sizeof src, "%s/results_a/%s", MB_TEST_DATA_DIR, names[k]);
        snprintf(dst, sizeof dst, "%s/%s", tmp, names[k]);
        FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
        CHECK(in && out);
        if (!in || !out)
            return;
        while (fgets(line, sizeof line, in)) {
            if (k == 2) {
                /* ...,impl,threads,cache,rep,time_ns -> ...,impl,rep,time_ns (last fields are
                 * never quoted) */
                char *c[5];
                char *p = line + strlen(line);
                for (int i = 0; i < 4; i++) {
                    while (p > line && *--p != ',')
                        ;
                    c[i] = p;
                }
                memmove(c[3], c[1], strlen(c[1]) + 1);
            }
            fputs(line, out);
        }
        fclose(in);
        fclose(out);
    }
    mb_results a, b;
    char err[MB_PLOT_ERR_LEN];
    CHECK(mb_results_load(tmp, &a, err, sizeof err) == 0);
    CHECK(mb_results_load(MB_TEST_DATA_DIR "/results_b", &b, err, sizeof err) == 0);
    CHECK(!mb_results_samples_keyed(&a) && mb_results_samples_keyed(&b));
    mb_cmp_result r;
    CHECK(mb_compare_runs(&a, &b, &r) == 0);
    CHECK(r.samples_unkeyed);
    const mb_cmp_entry *e = mb_cmp_find(&r, "lora:T=16,h=4096,o=4096,r=16", "blas");
    CHECK(e && e->n_a == 20 && e->n_b == 10);   /* A's two settings together */
    CHECK(r.n == 48);
    mb_cmp_free(&r);
    mb_results_free(&a);
    mb_results_free(&b);
    for (int k = 0; k < 3; k++) {
        snprintf(dst, sizeof dst, "%s/%s", tmp, names[k]);
        remove(dst);
    }
    rmdir(tmp);
}

/* Loads dir and expects failure with every needle in the message. */
static void expect_error(const char *dir, const char *n1, const char *n2)
{
    mb_results r;
    char err[MB_PLOT_ERR_LEN] = "";
    int rc = mb_results_load(dir, &r, err, sizeof err);
    CHECK_MSG(rc != 0, "%s loaded but should not", dir);
    if (rc == 0) {
        mb_results_free(&r);
        return;
    }
    CHECK_MSG(strstr(err, n1) != NULL, "message '%s' lacks '%s'", err, n1);
    CHECK_MSG(!n2 || strstr(err, n2) != NULL, "message '%s' lacks '%s'", err, n2);
    CHECK_MSG(!strchr(err, '\n'), "message '%s' is not one line", err);
}

static void check_bad_input(void)
{
    char tmp[] = "/tmp/mb_test_plot_bad_XXXXXX";
    if (!mkdtemp(tmp)) {
        CHECK(0);
        return;
    }
    char p[300], q[300];
    const char *header =
        "run_id,variant,impl,status,reason,dtype,threads,cache,B,S,T,h,o,f,r,E,k,share,shard,"
        "samples,time_us_median,time_us_min,time_us_p95,time_us_mad,time_us_ci_lo,time_us_ci_hi,"
        "prepare_us,flops,bytes,gflops,gbps,pct_peak,weights_bytes,workspace_bytes,"
        "peak_rss_bytes,max_abs_err,max_rel_err,expert_load_max,aux_loss\n";
    const char *row = "r1,lora,blas,ok,,f32,1,warm,1,16,16,64,64,,4,,,,,10,12.5,12,13,0.2,12.1,"
                      "12.9,3,1000,2000,0.08,0.16,1,100,10,1000,0,0,,\n";
    const char *json = "{\"run_id\": \"r1\"}\n";

    /* missing results.csv */
    expect_error(tmp, "results.csv", "missing");

    /* truncated: the last line has no end */
    snprintf(p, sizeof p, "%s/results.csv", tmp);
    snprintf(q, sizeof q, "%s/run.json", tmp);
    write_text(q, json);
    char text[2048];
    snprintf(text, sizeof text, "%s%.40s", header, row);
    write_text(p, text);
    expect_error(tmp, "results.csv", "truncated");

    /* a required column missing */
    char *hdr = strdup(header);
    char *col = strstr(hdr, "time_us_median,");
    memmove(col, col + strlen("time_us_median,"), strlen(col + strlen("time_us_median,")) + 1);
    char *shortrow = strdup(row), *med = strstr(shortrow, ",12.5,");   /* its field too */
    memmove(med, med + 5, strlen(med + 5) + 1);
    snprintf(text, sizeof text, "%s%s", hdr, shortrow);
    free(shortrow);
    free(hdr);
    write_text(p, text);
    expect_error(tmp, "results.csv", "'time_us_median'");

    /* a well-formed CSV but no run.json */
    snprintf(text, sizeof text, "%s%s", header, row);
    write_text(p, text);
    unlink(q);
    expect_error(tmp, "run.json", "missing");

    /* with run.json it loads, and the case is built from the shape columns */
    write_text(q, json);
    mb_results r;
    char err[MB_PLOT_ERR_LEN];
    CHECK(mb_results_load(tmp, &r, err, sizeof err) == 0);
    char c[256];
    mb_results_case(&r, 0, c, sizeof c);
    CHECK_MSG(!strcmp(c, "lora:T=16,h=64,o=64,r=4"), "case built as '%s'", c);
    mb_results_panel(&r, 0, c, sizeof c);
    CHECK_MSG(!strcmp(c, "lora:h=64,o=64,r=4"), "panel '%s'", c);
    /* without samples.csv: ratios still, but no test and so nothing significant */
    CHECK(!r.has_samples);
    mb_cmp_result cr;
    CHECK(mb_compare_runs(&r, &r, &cr) == 0);
    CHECK(cr.n == 1);
    CHECK(cr.n >= 1 && isnan(cr.e[0].p) && !cr.e[0].significant && cr.e[0].ratio == 1.0);
    mb_cmp_free(&cr);
    mb_results_free(&r);

    /* an ok row without its median */
    snprintf(text, sizeof text, "%sr1,lora,blas,ok,,f32,1,warm,1,16,16,64,64,,4,,,,,10,,12,13,"
             "0.2,12.1,12.9,3,1000,2000,0.08,0.16,1,100,10,1000,0,0,,\n", header);
    write_text(p, text);
    expect_error(tmp, "results.csv", "time_us_median");

    unlink(p);
    unlink(q);
    rmdir(tmp);
}

int main(void)
{
    check_known_answer();
    check_old_samples();
    check_bad_input();
    return mb_test_result("test_plot_compare");
}
