/* The memory estimate (moebench/mem_estimate.h): overflow is an error, not undefined behaviour;
 * the terms that dominate real cases are there (merged weights per task, E merged expert MLPs,
 * --cache cold copies); and on small real cases, run by the runner exactly as `moebench run`
 * runs them, the estimate is at least the peak RSS growth of the case's child (generous: the
 * estimate is meant as an upper-ish bound; no timing is asserted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case_fits.h"
#include "check.h"
#include "memory.h"
#include "runner.h"
#include "moebench/mem_estimate.h"
#include "moebench/moebench.h"

static mb_spec spec(const char *desc)
{
    mb_spec s;
    mb_err err;
    mb_err_clear(&err);
    int bad = mb_spec_parse(desc, &s, &err) != MB_OK;
    CHECK_MSG(!bad, "%s: %s", desc, err.msg);
    return s;
}

static mb_mem_estimate estimate(const mb_spec *s, const char *impl, int cold, mb_status *st)
{
    const char *names[1] = {impl};
    mb_mem_opts o = {mb_spec_T(s), impl ? names : NULL, impl ? 1 : 0, 2, cold, 32 << 20, 0};
    mb_mem_estimate e;
    mb_err err;
    mb_err_clear(&err);
    *st = mb_mem_estimate_case(s, &o, &e, &err);
    return e;
}

static void test_overflow(void)
{
    /* sizes whose byte counts overflow int64 give an error with the reason */
    const char *descs[] = {"lora:T=4611686018427387904,h=4,o=4,r=1",
                           "lora:h=4611686018427387904,o=4611686018427387904,r=1",
                           "moelora:tasks=9223372036854775806,te=4",
                           "mixlora:T=1,h=4294967296,f=4294967296,E=4294967296"};
    for (size_t i = 0; i < sizeof descs / sizeof *descs; i++) {
        mb_spec s = spec(descs[i]);
        mb_status st;
        mb_mem_opts o = {1, NULL, 0, 1, 0, 0, 0};
        const char *all[] = {"naive", "blas", "onednn", "avx512", "merged"};
        o.impls = all;
        o.n_impls = 5;
        mb_mem_estimate e;
        mb_err err;
        mb_err_clear(&err);
        st = mb_mem_estimate_case(&s, &o, &e, &err);
        CHECK_MSG(st == MB_EINVAL && strstr(err.msg, "overflow"), "%s: status %d, '%s'",
                  descs[i], (int)st, err.msg);
    }
}

static void test_terms(void)
{
    mb_status st;
    /* merged moelora keeps one merged W [o, h] per task: tasks + 1 of them */
    mb_spec s = spec("moelora:T=1,h=1024,tasks=1000,te=8");
    mb_mem_estimate e = estimate(&s, "merged", 0, &st);
    CHECK(st == MB_OK && e.impl >= 1001ll * 1024 * 1024 * 4);
    CHECK(!strcmp(e.worst_impl, "merged"));
    /* merged mixlora materialises E expert MLPs */
    s = spec("mixlora:T=1,h=1024,f=2048,E=16");
    e = estimate(&s, "merged", 0, &st);
    CHECK(st == MB_OK && e.impl >= 16ll * 3 * 1024 * 2048 * 4);
    /* merged skips molora: nothing allocated for it */
    s = spec("molora:T=1,h=1024");
    e = estimate(&s, "merged", 0, &st);
    CHECK(st == MB_OK && e.impl == 0);
    /* --cache cold: small weights are copied until they exceed twice the LLC (32 MiB here) */
    s = spec("lora:T=1,h=256,r=4");
    mb_mem_estimate warm = estimate(&s, "blas", 0, &st);
    e = estimate(&s, "blas", 1, &st);
    CHECK(st == MB_OK && e.cold >= 64ll << 20 && e.total >= warm.total + (64ll << 20));
    CHECK(mb_mem_cold_copies(1 << 20, 32 << 20, 0) == 65);
    CHECK(mb_mem_cold_copies(64 << 20, 32 << 20, 0) == 1);
    /* only the reference (case and dump without implementations) */
    s = spec("lora:T=1024,h=64,r=4");
    e = estimate(&s, NULL, 0, &st);
    CHECK(st == MB_OK && e.impl == 0 && e.reference >= 1024 * 64 * 4 && e.worst_impl[0] == 0);
    CHECK(e.total == e.runtime + e.weights + e.inputs + e.reference + e.impl + e.saved);
}

/* Train mode (spec "Training step"): the saved activations, the gradients and (adamw) the
 * moments are counted; forward mode counts none of them; the refusal names the saved bytes. */
static void test_train_terms(void)
{
    mb_status st;
    mb_spec f = spec("mlp_lora:T=256,h=512,f=1024,r=8");
    mb_spec s = spec("mlp_lora:T=256,h=512,f=1024,r=8,mode=train");
    mb_mem_estimate ef = estimate(&f, "blas", 0, &st);
    CHECK(st == MB_OK && ef.saved == 0 && ef.grads == 0 && ef.optimizer == 0);
    mb_mem_estimate e = estimate(&s, "blas", 0, &st);
    /* at least G, U, H [T, f] and X [T, h] kept; dX twice and the 3r(h+f) adapter gradients */
    CHECK(st == MB_OK && e.saved >= 4ll * 256 * (3 * 1024 + 512));
    CHECK(e.grads >= 2 * 4ll * (256 * 512 + 3 * 8 * (512 + 1024)));
    CHECK(e.total == e.runtime + e.weights + e.inputs + e.reference + e.impl + e.saved +
                         e.grads + e.optimizer);
    CHECK(e.total > ef.total + e.saved);
    mb_spec a = spec("mlp_lora:T=256,h=512,f=1024,r=8,mode=train,opt=adamw");
    CHECK(estimate(&a, "blas", 0, &st).optimizer == 2 * 4ll * 3 * 8 * (512 + 1024));
    /* routed: each of the k chosen experts keeps its rows */
    mb_spec m1 = spec("mixlora:T=64,h=256,f=512,r=8,E=8,k=1,mode=train");
    mb_spec m2 = spec("mixlora:T=64,h=256,f=512,r=8,E=8,k=2,mode=train");
    mb_mem_estimate e1 = estimate(&m1, "blas", 0, &st), e2 = estimate(&m2, "blas", 0, &st);
    CHECK(e2.saved > e1.saved);
    /* dropout keeps the masked LoRA inputs */
    mb_spec d = spec("lora:T=64,h=256,r=8,mode=train,p=0.1");
    mb_spec n = spec("lora:T=64,h=256,r=8,mode=train");
    CHECK(estimate(&d, "blas", 0, &st).saved >= estimate(&n, "blas", 0, &st).saved + 4 * 64 * 256);
    /* a train case whose saved activations do not fit is refused with the estimated bytes */
    char err[900];
    mb_spec big = spec("mlp_lora:T=65536,h=4096,f=11008,r=16,mode=train");
    const char *names[1] = {"blas"};
    setenv("MOEBENCH_MEM_LIMIT", "8G", 1);
    CHECK(mb_spec_memory_check(&big, names, 1, 8, 1, 0, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "saved activations") && strstr(err, "bytes)"), "%s", err);
    unsetenv("MOEBENCH_MEM_LIMIT");
}

#if !defined(__SANITIZE_ADDRESS__)
typedef struct {
    int n;
    mb_row rows[8];
} sink_rows;

static void on_row(void *ctx, const mb_row *row)
{
    sink_rows *r = ctx;
    if (r->n < 8)
        r->rows[r->n++] = *row;
}

/* Runs desc with each implementation in a runner child (as `moebench run`) and checks that the
 * child's peak RSS growth above this process stays within the estimate of that implementation. */
static void check_against_rss(const char *desc, int cold)
{
    static char impls[][24] = {"blas", "onednn", "avx512", "merged", "naive"};
    const int n = 5;
    mb_case c;
    memset(&c, 0, sizeof c);
    c.spec = spec(desc);
    mb_spec_format(&c.spec, c.desc, sizeof c.desc);
    mb_exec_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.min_time = 0.001;   /* timed (cold copies are made only for timing), never asserted */
    cfg.reps = 1;
    cfg.threads = 1;
    cfg.cache_cold = cold;
    cfg.run_id = "test";
    for (int i = 0; i < n; i++) {
        sink_rows got = {0};
        mb_sink sink = {on_row, NULL, &got};
        int64_t base = mb_current_rss_bytes();
        mb_run_case(&c, impls + i, 1, 0, &cfg, 300, &sink);
        CHECK(got.n == 1);
        if (got.n != 1)
            continue;
        const mb_row *r = &got.rows[0];
        CHECK_MSG(!strcmp(r->status, "ok") || !strcmp(r->status, "skipped"), "%s %s: %s %s", desc,
                  impls[i], r->status, r->reason);
        const char *names[1] = {impls[i]};
        mb_mem_opts o = {mb_reference_rows(&c.spec), names, 1, cfg.threads, cold,
                         mb_llc_bytes(), mb_mem_available_bytes()};
        mb_mem_estimate e;
        mb_err err;
        mb_err_clear(&err);
        CHECK(mb_mem_estimate_case(&c.spec, &o, &e, &err) == MB_OK);
        int64_t growth = r->peak_rss_bytes - base;
        printf("%-48s %-7s %-8s peak RSS growth %7.1f MiB, estimate %7.1f MiB (%.2fx)\n", c.desc,
               impls[i], r->status, growth / 1048576.0, e.total / 1048576.0,
               growth > 0 ? (double)e.total / (double)growth : 0.0);
        CHECK_MSG(r->peak_rss_bytes > 0 && growth <= e.total,
                  "%s %s: peak RSS growth %lld > estimate %lld", c.desc, impls[i],
                  (long long)growth, (long long)e.total);
    }
}
#endif

int main(void)
{
    test_overflow();
    test_terms();
    test_train_terms();
#if defined(__SANITIZE_ADDRESS__)
    /* ASan's shadow memory and quarantine are not the program's memory */
    printf("RSS comparison skipped under AddressSanitizer\n");
#else
    /* sizes where the buffers (not the runtime allowance) dominate: ~100 MB and more */
    check_against_rss("lora:T=512,h=2048,r=16", 0);
    check_against_rss("moelora:B=4,S=16,h=1024,r=16,E=4,tasks=24", 0);
    check_against_rss("mixlora:T=64,h=512,f=2048,r=8,E=8,k=2", 0);
    check_against_rss("sparse_mlp:T=64,h=512,f=2048,E=8,k=2", 0);
    check_against_rss("lora:T=1,h=512,r=4", 1);
#endif
    return mb_test_result("test_core_mem_estimate");
}
