/* Crash isolation of the fork-per-case runner: a crashing, a hanging, an "out of memory" and
 * a wrong implementation become crashed / timeout / crashed / mismatch rows while the others
 * in the same case still run; large cases are checked on sampled rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crash_impl.h"
#include "moebench/moebench.h"
#include "case_exec.h"
#include "runner.h"

#define MAX_ROWS 16

typedef struct {
    mb_row rows[MAX_ROWS];
    int n;
    int samples;
} collected;

static void on_row(void *ctx, const mb_row *r)
{
    collected *c = ctx;
    if (c->n < MAX_ROWS)
        c->rows[c->n++] = *r;
}

static void on_sample(void *ctx, const char *desc, const char *impl, int threads,
                      const char *cache, int rep, int64_t ns)
{
    collected *c = ctx;
    (void)desc, (void)rep;
    CHECK(threads >= 1);
    CHECK(!strcmp(cache, "warm") || !strcmp(cache, "cold"));
    if (!strcmp(impl, "naive") && ns > 0)
        c->samples++;
}

static mb_case make_case(const char *desc)
{
    mb_case c;
    memset(&c, 0, sizeof c);
    mb_err err;
    CHECK(mb_spec_parse(desc, &c.spec, &err) == MB_OK);
    CHECK(mb_spec_validate(&c.spec, 0, &err) == MB_OK);
    mb_spec_format(&c.spec, c.desc, sizeof c.desc);
    c.impl_all = 1;
    return c;
}

static void test_isolation(void)
{
    mb_case c = make_case("lora:T=4,h=32,o=24,r=4");
    char impls[][24] = {"naive", "test_crash", "naive", "test_hang", "test_wrong", "test_oom", "naive"};
    int n = 7;
    mb_exec_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.min_time = 0.01;
    cfg.reps = 3;
    cfg.threads = 1;
    cfg.peak_gflops = 50.0;
    cfg.dram_gbps = 1.0;
    cfg.run_id = "test";
    collected got;
    memset(&got, 0, sizeof got);
    mb_sink sink = {on_row, on_sample, &got};
    mb_run_case(&c, impls, n, 1, &cfg, 3.0, &sink);

    CHECK(got.n == n);
    if (got.n != n)
        return;
    for (int i = 0; i < n; i++) {
        CHECK_MSG(!strcmp(got.rows[i].impl, impls[i]), "row %d is %s", i, got.rows[i].impl);
        CHECK(!strcmp(got.rows[i].case_desc, c.desc));
        CHECK(!strcmp(got.rows[i].run_id, "test"));
    }
    const char *want[] = {"ok", "crashed", "ok", "timeout", "mismatch", "crashed", "ok"};
    for (int i = 0; i < n; i++)
        CHECK_MSG(!strcmp(got.rows[i].status, want[i]), "row %d (%s): status %s, want %s (%s)", i,
                  impls[i], got.rows[i].status, want[i], got.rows[i].reason);
    CHECK(strstr(got.rows[1].reason, "SIGABRT") != NULL);
    /* an OPENBLAS_CORETYPE / OMP_* the machine sets on purpose precedes the command */
    CHECK(strstr(got.rows[1].reason, "moebench time 'lora:") != NULL);
    CHECK(strstr(got.rows[1].reason, "--impl test_crash") != NULL);
    /* every repro line reproduces the row's thread count, like `moebench time --threads N` */
    const char *repro_end[] = {NULL, "--impl test_crash --threads 1", NULL, "--impl test_hang --threads 1",
                               "--impl test_wrong --threads 1", "--impl test_oom --threads 1"};
    for (int i = 1; i < 6; i++) {
        if (!repro_end[i])
            continue;
        const char *rp = strstr(got.rows[i].reason, "repro: ");
        CHECK_MSG(rp && strstr(rp, repro_end[i]) && rp[strcspn(rp, ";")] == '\0' &&
                      !strcmp(rp + strlen(rp) - strlen(" --threads 1"), " --threads 1"),
                  "row %d repro: %s", i, got.rows[i].reason);
    }
    CHECK(strstr(got.rows[3].reason, "time limit") != NULL);
    CHECK(strstr(got.rows[4].reason, "moebench time '") != NULL);
    CHECK(got.rows[4].max_abs_err > 0);
    CHECK(isnan(got.rows[4].time_us_median));   /* a mismatch is never timed */
    /* test_oom SIGKILLs itself with a small RSS: not blamed on memory */
    CHECK_MSG(strstr(got.rows[5].reason, "killed by SIGKILL from outside") != NULL, "%s",
              got.rows[5].reason);
    CHECK(strstr(got.rows[5].reason, "out of memory") == NULL);
    /* ok rows are measured */
    for (int i = 0; i < n; i += 2) {
        if (i == 4)
            continue;
        const mb_row *r = &got.rows[i];
        CHECK(r->samples >= 3);
        CHECK(r->time_us_min > 0 && r->time_us_min <= r->time_us_median);
        /* the unstable flag (the end-of-run summary's "(unstable)") follows timing's verdict,
         * which is always "unstable" below 6 samples */
        CHECK_MSG(r->unstable == (strstr(r->reason, "unstable") != NULL), "row %d: unstable %d, "
                  "reason '%s'", i, r->unstable, r->reason);
        if (r->samples < 6)
            CHECK(r->unstable);
        /* a CI needs >= 6 samples (stats.c); with fewer it must be absent, not made up */
        if (r->samples >= 6)
            CHECK(r->time_us_ci_lo <= r->time_us_median && r->time_us_median <= r->time_us_ci_hi);
        else
            CHECK(isnan(r->time_us_ci_lo) && isnan(r->time_us_ci_hi));
        CHECK(r->flops > 0 && r->gflops > 0);
        CHECK(r->weights_bytes > 0);
        CHECK(r->peak_rss_bytes > 0);
        CHECK(r->max_abs_err == 0);   /* naive against itself */
        /* % of the roof at this arithmetic intensity: min(peak, intensity * DRAM bandwidth) */
        double roof = fmin(50.0, r->flops / r->bytes * 1.0);
        CHECK_NEAR(r->pct_peak, 100.0 * r->gflops / roof, 1e-9 * r->pct_peak);
    }
    CHECK(got.samples == got.rows[0].samples + got.rows[2].samples + got.rows[6].samples);
}

/* A child killed before any implementation started (here: the time limit ends during the case
 * setup, whose naive reference alone is half a GFLOP) fails every remaining row; each row's
 * repro line must still name that row's implementation, not the first one's. */
static void test_setup_failure_repro(void)
{
    mb_case c = make_case("lora:T=256,h=1024,o=1024,r=8");
    char impls[][24] = {"naive", "test_wrong", "test_crash"};
    mb_exec_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.min_time = 0.01;
    cfg.reps = 3;
    cfg.threads = 1;
    cfg.run_id = "test";
    collected got;
    memset(&got, 0, sizeof got);
    mb_sink sink = {on_row, NULL, &got};
    mb_run_case(&c, impls, 3, 1, &cfg, 1e-6, &sink);
    CHECK(got.n == 3);
    for (int i = 0; i < got.n && i < 3; i++) {
        const mb_row *r = &got.rows[i];
        char want[128];
        snprintf(want, sizeof want, " --impl %s --threads 1", impls[i]);
        const char *rp = strstr(r->reason, "repro: ");
        CHECK_MSG(!strcmp(r->impl, impls[i]) && !strcmp(r->status, "timeout") &&
                      strstr(r->reason, "during case setup") && rp &&
                      !strcmp(rp + strlen(rp) - strlen(want), want),
                  "row %d (%s): %s: %s", i, impls[i], r->status, r->reason);
    }
}

/* Too few samples for a CI (n < 6) is always an "unstable" verdict: the row must carry the flag
 * (the end-of-run summary prints "(unstable)" from it) and an empty CI. The naive forward of this
 * case takes tens of ms, so the 0.1 s budget of --min-time 0.001 leaves fewer than 6 samples;
 * on a machine fast enough for more, the flag must still agree with the reason. */
static void test_unstable_flag(void)
{
    mb_case c = make_case("lora:T=64,h=2048,o=2048,r=4");
    char impls[][24] = {"naive"};
    mb_exec_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.min_time = 0.001;
    cfg.reps = 1;
    cfg.threads = 1;
    cfg.run_id = "test";
    collected got;
    memset(&got, 0, sizeof got);
    mb_sink sink = {on_row, on_sample, &got};
    mb_run_case(&c, impls, 1, 1, &cfg, 60.0, &sink);
    CHECK(got.n == 1);
    if (got.n != 1)
        return;
    const mb_row *r = &got.rows[0];
    CHECK_MSG(!strcmp(r->status, "ok"), "%s: %s", r->status, r->reason);
    CHECK_MSG(r->unstable == (strstr(r->reason, "unstable") != NULL), "unstable %d, reason '%s'",
              r->unstable, r->reason);
    if (r->samples < 6) {
        CHECK_MSG(r->unstable, "%lld samples but not flagged unstable", (long long)r->samples);
        CHECK(isnan(r->time_us_ci_lo) && isnan(r->time_us_ci_hi));
    } else
        fprintf(stderr, "note: %lld samples (fast machine): the n < 6 case was not exercised\n",
                (long long)r->samples);
}

static void test_sampled_reference(void)
{
    /* 3.2 GFLOP: above the full-reference limit, so the naive reference runs on 8 rows */
    mb_case c = make_case("mlp_lora:T=4096,h=256,f=512,r=4");
    CHECK(mb_cost_of(&c.spec, NULL).flops > MB_NAIVE_FULL_FLOPS);
    char impls[][24] = {"naive", "blas", "test_wrong"};
    mb_exec_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.min_time = 0.01;
    cfg.reps = 3;
    cfg.threads = 1;
    cfg.check_only = 1;
    cfg.peak_gflops = NAN;
    cfg.dram_gbps = NAN;
    cfg.run_id = "test";
    collected got;
    memset(&got, 0, sizeof got);
    mb_sink sink = {on_row, NULL, &got};
    mb_run_case(&c, impls, 3, 0, &cfg, 120.0, &sink);
    CHECK(got.n == 3);
    if (got.n != 3)
        return;
    CHECK(!strcmp(got.rows[0].status, "skipped") && strstr(got.rows[0].reason, "too slow"));
    CHECK_MSG(!strcmp(got.rows[1].status, "ok"), "blas: %s %s", got.rows[1].status, got.rows[1].reason);
    CHECK(strstr(got.rows[1].reason, "sampled rows") != NULL);
    CHECK(got.rows[1].samples == 0);   /* check only: not timed */
    CHECK(!strcmp(got.rows[2].status, "mismatch"));
}

static void test_impl_lists(void)
{
    mb_case c = make_case("lora:T=1,h=32,r=2");
    char out[8][24], bad[64];
    int naive_explicit;
    int n = mb_case_impls(&c, NULL, out, 8, &naive_explicit, bad, sizeof bad);
    CHECK(n >= 1 && !strcmp(out[0], "naive") && !naive_explicit);
    for (int i = 0; i < n; i++)
        CHECK(strncmp(out[i], "test_", 5) != 0);   /* `all` never includes test-only impls */
    n = mb_case_impls(&c, "naive,test_crash", out, 8, &naive_explicit, bad, sizeof bad);
    CHECK(n == 2 && naive_explicit);
    CHECK(mb_case_impls(&c, "naive,cuda", out, 8, &naive_explicit, bad, sizeof bad) == -1);
    CHECK(!strcmp(bad, "cuda"));
}

static void test_oom_heuristic(void)
{
    int64_t gib = (int64_t)1 << 30;
    CHECK(mb_kill_looks_like_oom(7 * gib, 8 * gib));
    CHECK(mb_kill_looks_like_oom(4 * gib, 8 * gib));
    CHECK(!mb_kill_looks_like_oom(gib, 8 * gib));
    CHECK(!mb_kill_looks_like_oom(-1, 8 * gib));
    CHECK(!mb_kill_looks_like_oom(7 * gib, -1));
}

/* The repro line carries the library environment the row ran under (--pin sets OMP_PLACES,
 * --openblas-core OPENBLAS_CORETYPE): without it a repro may bind threads or pick cores
 * differently. OMP_PLACES stands for all three: tests never touch OPENBLAS_CORETYPE. */
static void test_repro_environment(void)
{
    mb_case c;
    memset(&c, 0, sizeof c);
    snprintf(c.desc, sizeof c.desc, "lora:T=4,h=32,o=32,r=2");
    mb_exec_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 2;
    const char *old = getenv("OMP_PLACES");
    char saved[256] = "";
    if (old)
        snprintf(saved, sizeof saved, "%s", old);
    setenv("OMP_PLACES", "cores", 1);
    char line[1024];
    mb_repro_line(&c, "blas", &cfg, line, sizeof line);
    CHECK_MSG(strstr(line, "OMP_PLACES='cores' ") != NULL, "%s", line);
    CHECK_MSG(strstr(line, "moebench time 'lora:T=4,h=32,o=32,r=2' --impl blas --threads 2") != NULL,
              "%s", line);
    unsetenv("OMP_PLACES");
    mb_repro_line(&c, "blas", &cfg, line, sizeof line);
    CHECK_MSG(strstr(line, "OMP_PLACES") == NULL, "%s", line);
    if (old)
        setenv("OMP_PLACES", saved, 1);
}

/* --interleave: the implementations of a case share one child while they are timed in
 * rounds, so one that crashes takes the rows of those set up before it along (each saying
 * why, with its own repro), and the ones after it run in a new child; every row is still
 * recorded once, in order. */
static void test_interleave_crash(void)
{
    mb_case c = make_case("lora:T=4,h=32,o=24,r=4");
    char impls[][24] = {"naive", "test_crash", "naive", "naive"};
    mb_exec_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.min_time = 0.01;
    cfg.reps = 6;
    cfg.threads = 1;
    cfg.interleave = 1;
    cfg.run_id = "test";
    collected got;
    memset(&got, 0, sizeof got);
    mb_sink sink = {on_row, on_sample, &got};
    mb_run_case(&c, impls, 4, 1, &cfg, 30.0, &sink);
    CHECK(got.n == 4);
    if (got.n != 4)
        return;
    for (int i = 0; i < 4; i++)
        CHECK_MSG(!strcmp(got.rows[i].impl, impls[i]), "row %d is %s", i, got.rows[i].impl);
    CHECK_MSG(!strcmp(got.rows[0].status, "crashed") &&
                  strstr(got.rows[0].reason, "interleaved with test_crash") &&
                  strstr(got.rows[0].reason, "--impl naive"),
              "%s: %s", got.rows[0].status, got.rows[0].reason);
    CHECK_MSG(!strcmp(got.rows[1].status, "crashed") && strstr(got.rows[1].reason, "SIGABRT") &&
                  !strstr(got.rows[1].reason, "interleaved"),
              "%s: %s", got.rows[1].status, got.rows[1].reason);
    for (int i = 2; i < 4; i++) {
        const mb_row *r = &got.rows[i];
        CHECK_MSG(!strcmp(r->status, "ok") && strstr(r->reason, "interleaved: timed in "
                  "alternating rounds with 1 other implementation;"), "row %d %s: %s", i,
                  r->status, r->reason);
        CHECK(r->samples >= 6 && r->time_us_median > 0);
        CHECK(r->unstable == (strstr(r->reason, "unstable") != NULL));
        CHECK(r->samples < 6 ? isnan(r->ci_rel) : r->ci_rel >= 0);
    }
    CHECK(got.samples == got.rows[2].samples + got.rows[3].samples);
}

int main(void)
{
    test_repro_environment();
    test_oom_heuristic();
    mb_test_register_crash_impls();
    test_impl_lists();
    test_isolation();
    test_setup_failure_repro();
    test_unstable_flag();
    test_sampled_reference();
    test_interleave_crash();
    return mb_test_result("test_harness_runner");
}
