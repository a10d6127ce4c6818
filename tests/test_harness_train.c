/* The harness's train path (harness/exec/train_exec.c) with the test-only lora train
 * implementations (tests/support/train_impl.c) as both reference and subject: a right step is
 * `ok` with its phases and memory columns filled, a wrong dA is a mismatch naming A, on the
 * whole case and on the sampled sub-case of a large one; no wall-clock value is asserted. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "train_exec.h"
#include "train_impl.h"
#include "moebench/moebench.h"

static mb_row row_of(const char *desc, const char *impl_name, int64_t sample_rows, int untimed)
{
    mb_spec s;
    mb_err err;
    mb_err_clear(&err);
    CHECK_MSG(mb_spec_parse(desc, &s, &err) == MB_OK, "%s: %s", desc, err.msg);
    mb_weights w;
    mb_inputs in;
    mb_reference ref;
    mb_train_reference tr;
    CHECK(mb_weights_create(&s, &w, &err) == MB_OK && mb_inputs_create(&s, &in, &err) == MB_OK);
    CHECK_MSG(mb_reference_build(&s, &w, &in, sample_rows, &ref, &err) == MB_OK, "%s", err.msg);
    const mb_impl *right = mb_impl_find("test_train"), *impl = mb_impl_find(impl_name);
    CHECK_MSG(mb_train_reference_build(right, &s, &w, &in, &ref, &tr, &err) == MB_OK, "%s",
              err.msg);
    CHECK(tr.sub == (sample_rows > 0));
    mb_state *st = NULL;
    CHECK(impl->prepare(&s, &w, &st, &err) == MB_OK);
    mb_train_opts o = {0.02, 5, untimed, "check only: not timed", "repro", NULL, NULL, NULL, 0};
    mb_row row;
    mb_row_init(&row);
    mb_train_row(impl, st, &s, &w, &in, &ref, &tr, &o, &row);
    impl->release(st);
    mb_train_reference_free(&tr);
    mb_reference_free(&ref);
    mb_inputs_free(&in);
    mb_weights_free(&w);
    return row;
}

int main(void)
{
    mb_test_register_train_impls();
    const char *d = "lora:T=16,h=32,o=24,r=4,mode=train";
    mb_row r = row_of(d, "test_train", 0, 0);
    CHECK_MSG(!strcmp(r.status, "ok"), "%s: %s", r.status, r.reason);
    CHECK(r.samples >= 5 && r.fwd_us > 0 && r.bwd_us > 0 && r.time_us_median > 0);
    CHECK(r.saved_bytes == 16 * 4 * 4);                           /* Z [T, r] */
    CHECK(r.grad_bytes == 4 * (16 * 32 + 4 * 32 + 24 * 4));       /* dX, dA, dB */
    CHECK(r.optimizer_bytes == 0);
    mb_spec s;
    mb_err err;
    CHECK(mb_spec_parse(d, &s, &err) == MB_OK);
    CHECK(r.flops == mb_cost_step(&s, "test_train", NULL).flops);
    CHECK(r.max_rel_err < 1e-5);

    r = row_of(d, "test_train_wrong", 0, 1);
    CHECK_MSG(!strcmp(r.status, "mismatch") && strstr(r.reason, "gradient of A"), "%s: %s",
              r.status, r.reason);
    CHECK(strstr(r.reason, "repro: repro"));

    /* AdamW: the two moments */
    r = row_of("lora:T=16,h=32,o=24,r=4,mode=train,opt=adamw", "test_train", 0, 1);
    CHECK_MSG(!strcmp(r.status, "ok"), "%s: %s", r.status, r.reason);
    CHECK(r.optimizer_bytes == 2 * 4 * (4 * 32 + 24 * 4));
    CHECK(isnan(r.fwd_us) && r.samples == 0);   /* untimed: no phases */

    /* a large case: gradients on the sub-case of the sampled rows, Y and dX rows on the whole */
    d = "lora:T=64,h=32,o=24,r=4,mode=train";
    r = row_of(d, "test_train", 6, 1);
    CHECK_MSG(!strcmp(r.status, "ok") && strstr(r.reason, "sub-case of 6 sampled rows, Y and dX"),
              "%s: %s", r.status, r.reason);
    r = row_of(d, "test_train_wrong", 6, 1);
    CHECK_MSG(!strcmp(r.status, "mismatch") && strstr(r.reason, "gradient of A (sub-case"),
              "%s: %s", r.status, r.reason);
    return mb_test_result("test_harness_train");
}
