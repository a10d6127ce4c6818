/* With the AVX-512 probe forced off (no environment involved), the avx512 implementation must
 * refuse every variant with the probe's reason, the harness must report it as `skipped` with
 * that reason, and every other implementation must still run and match the reference.
 * Runs on every machine, AVX-512 or not. */
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"
#include "moebench/cpu.h"
#include "case_exec.h"

typedef struct {
    int n;
    mb_row rows[8];
} collected;

static void on_start(void *ctx, int i) { (void)ctx; (void)i; }
static void on_row(void *ctx, int i, const mb_row *row)
{
    collected *c = ctx;
    (void)i;
    if (c->n < 8) c->rows[c->n++] = *row;
}
static void on_samples(void *ctx, int i, int first_rep, const double *ns, size_t n) { (void)ctx; (void)i; (void)first_rep; (void)ns; (void)n; }

static void check_variant(mb_variant_id v)
{
    mb_spec s;
    mb_err err;
    mb_spec_default(&s, v);
    /* small shapes: the whole check stays in milliseconds */
    s.B = 1; s.S = 3; s.h = 24; s.o = 20; s.f = 32; s.r = 4; s.E = 4; s.k = 2; s.te = 8; s.tasks = 2;
    s.alpha = 8.0f;
    CHECK_MSG(mb_spec_validate(&s, 0, &err) == MB_OK, "%s: %s", mb_variant_name(v), err.msg);
    const char *why = mb_impl_avx512.unsupported(&s);
    CHECK_MSG(why && strcmp(why, "forced off") == 0, "%s: avx512 says %s", mb_variant_name(v),
              why ? why : "(supported)");

    mb_weights w;
    mb_inputs in;
    mb_tensor y, ref;
    memset(&y, 0, sizeof y); memset(&ref, 0, sizeof ref);
    if (mb_weights_create(&s, &w, &err) != MB_OK || mb_inputs_create(&s, &in, &err) != MB_OK ||
        mb_output_alloc(&s, &y, &err) != MB_OK || mb_output_alloc(&s, &ref, &err) != MB_OK) {
        CHECK_MSG(0, "setup: %s", err.msg);
        return;
    }
    CHECK(mb_run_once(&mb_impl_avx512, &s, &w, &in, &y, NULL, &err) == MB_EUNSUPPORTED);
    CHECK(strstr(err.msg, "forced off") != NULL);
    CHECK_MSG(mb_run_once(&mb_impl_naive, &s, &w, &in, &ref, NULL, &err) == MB_OK, "naive: %s", err.msg);
    /* every other registered implementation that can run still gives the reference's answer */
    for (int i = 0; i < mb_impl_count(); i++) {
        const mb_impl *im = mb_impl_at(i);
        if (im == &mb_impl_avx512 || im == &mb_impl_naive || im->unsupported(&s))
            continue;
        if (strcmp(im->name, "blas") && strcmp(im->name, "onednn") && strcmp(im->name, "merged"))
            continue;   /* test-only implementations (crashing on purpose) are not ours to run */
        mb_status rc = mb_run_once(im, &s, &w, &in, &y, NULL, &err);
        CHECK_MSG(rc == MB_OK, "%s/%s: %s", mb_variant_name(v), im->name, err.msg);
        if (rc == MB_OK) {
            mb_cmp c = mb_compare(&s, &y, &ref);
            CHECK_MSG(c.pass, "%s/%s: max_abs_err %g", mb_variant_name(v), im->name, c.max_abs_err);
        }
    }
    mb_tensor_free(&y); mb_tensor_free(&ref);
    mb_inputs_free(&in); mb_weights_free(&w);

    /* the harness path: the avx512 row is `skipped` with the reason, naive is `ok` */
    mb_case c;
    memset(&c, 0, sizeof c);
    c.spec = s;
    mb_spec_format(&s, c.desc, sizeof c.desc);
    c.impl_all = 1;
    char impls[2][24] = {"naive", "avx512"};
    mb_exec_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.check_only = 1;
    cfg.threads = 1;
    cfg.reps = 1;
    cfg.min_time = 0.001;
    cfg.run_id = "test";
    collected got = {0};
    mb_exec_emit emit = {on_start, on_row, on_samples, &got};
    mb_exec_case(&c, impls, 2, 1, &cfg, &emit);
    CHECK(got.n == 2);
    if (got.n == 2) {
        CHECK_MSG(strcmp(got.rows[0].status, "ok") == 0, "naive row: %s (%s)", got.rows[0].status, got.rows[0].reason);
        CHECK_MSG(strcmp(got.rows[1].status, "skipped") == 0, "avx512 row: %s", got.rows[1].status);
        CHECK_MSG(strstr(got.rows[1].reason, "forced off") != NULL, "avx512 reason: %s", got.rows[1].reason);
    }
}

int main(void)
{
    const char *why0 = NULL;
    int had = mb_cpu_has_avx512(&why0);
    printf("test_avx512_forced_off: real probe says %s\n", had ? "AVX-512 usable" : why0);
    mb_cpu_force_no_avx512(1);
    for (int v = 0; v < MB_NUM_VARIANTS; v++)
        check_variant((mb_variant_id)v);
    mb_cpu_force_no_avx512(0);
    const char *why1 = NULL;
    CHECK(mb_cpu_has_avx512(&why1) == had);
    mb_spec s;
    mb_spec_default(&s, MB_LORA);
    const char *u = mb_impl_avx512.unsupported(&s);
    CHECK(had ? u == NULL : (u != NULL && strcmp(u, why0) == 0));
    return mb_test_result("test_avx512_forced_off");
}
