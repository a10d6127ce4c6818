/* Cross-check of the naive reference against PyTorch: every case under tests/data/ref (written
 * by tests/make_reference.py, float64 torch from the spec formulas) is loaded with npy.c and run
 * through mb_impl_naive.
 * Tolerance: |y - ref| <= 2e-5 * (|ref| + rms(ref)). Values are O(1); the reference accumulates
 * in double like torch float64, so what remains is the fp32 rounding the spec asks for (logits
 * kept in fp32, routing weights and gates in fp32, outputs rounded to fp32): a few 1e-7
 * relative. The expected files are fp32 too (another half ulp). Routing must match exactly
 * (the generator avoids near-ties). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"
#include "npy.h"
#include "ref_golden.h"

#define RTOL 2e-5

static void check_routing(const char *name, const char *dir, const mb_routing *r, int has_dropped)
{
    mb_tensor idx = { 0 }, w = { 0 }, loss = { 0 }, drop = { 0 };
    /* routing options (spec "Routing options"): the capacity's drop mask [T, k] */
    if (has_dropped && !golden_load(dir, "dropped", MB_I32, &drop)) {
        CHECK(mb_tensor_numel(&drop) == r->T * r->k && r->dropped);
        int64_t bad = -1, n = 0;
        for (int64_t i = 0; r->dropped && i < mb_tensor_numel(&drop) && i < r->T * r->k; i++) {
            n += mb_i32(&drop)[i];
            if ((mb_i32(&drop)[i] != 0) != (r->dropped[i] != 0) && bad < 0)
                bad = i;
        }
        CHECK_MSG(bad < 0, "%s: capacity drop of slot %lld differs from torch", name, (long long)bad);
        CHECK(n == r->n_dropped);
    }
    mb_tensor_free(&drop);
    if (!golden_load(dir, "idx", MB_I32, &idx) && !golden_load(dir, "w", MB_F32, &w) && !golden_load(dir, "loss", MB_F32, &loss)) {
        CHECK(mb_tensor_numel(&idx) == r->T * r->k && mb_tensor_numel(&w) == r->T * r->k);
        if (mb_tensor_numel(&idx) == r->T * r->k) {
            int same = memcmp(mb_i32(&idx), r->idx, sizeof(int32_t) * (size_t)(r->T * r->k)) == 0;
            CHECK_MSG(same, "%s: routing indices differ from torch", name);
            if (same)
                CHECK_MSG(golden_rel_err(r->w, mb_f32(&w), r->T * r->k) <= RTOL, "%s: routing weights", name);
        }
        CHECK_MSG(fabs(r->aux_loss - mb_f32(&loss)[0]) <= RTOL * fabs(mb_f32(&loss)[0]),
                  "%s: L_aux %.9g vs torch %.9g", name, r->aux_loss, mb_f32(&loss)[0]);
        CHECK_MSG(fabs(r->z_loss - mb_f32(&loss)[1]) <= RTOL * fabs(mb_f32(&loss)[1]),
                  "%s: z-loss %.9g vs torch %.9g", name, r->z_loss, mb_f32(&loss)[1]);
    }
    mb_tensor_free(&idx);
    mb_tensor_free(&w);
    mb_tensor_free(&loss);
}

/* Returns the max relative error of Y (or -1 when the case could not run). */
static double run_case(const char *name, int perturb)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/ref/%s", MB_TEST_DATA_DIR, name);
    golden_case_txt ct;
    golden_tcase c;
    if (golden_read_case_txt(dir, &ct))
        return -1.0;
    if (golden_tc_load(dir, &ct, &c)) {
        golden_tc_free(&c);
        return -1.0;
    }
    if (perturb)
        c.s.alpha *= 1.001f;   /* a 0.1 % change of the adapter scale must be caught */
    mb_err err = { 0 };
    double e = -1.0;
    mb_tensor yref = { 0 };
    mb_status st = mb_run_once(&mb_impl_naive, &c.s, &c.w, &c.in, &c.y, &c.info, &err);
    CHECK_MSG(st == MB_OK, "%s: %s", name, err.msg);
    if (st == MB_OK && !golden_load(dir, "Y", MB_F32, &yref)) {
        CHECK_MSG(mb_tensor_numel(&yref) == mb_tensor_numel(&c.y), "%s: Y size", name);
        if (mb_tensor_numel(&yref) == mb_tensor_numel(&c.y))
            e = golden_rel_err(mb_f32(&c.y), mb_f32(&yref), mb_tensor_numel(&yref));
        if (!perturb) {
            if (c.info.routing.idx)
                check_routing(name, dir, &c.info.routing, golden_has_word(ct.outputs, "dropped"));
            mb_tensor g = { 0 };
            if (golden_has_word(ct.outputs, "gate") && !golden_load(dir, "gate", MB_F32, &g)) {
                CHECK(c.info.gate != NULL);
                if (c.info.gate)
                    CHECK_MSG(golden_rel_err(c.info.gate, mb_f32(&g), mb_tensor_numel(&g)) <= RTOL,
                              "%s: gate differs from torch", name);
            }
            mb_tensor_free(&g);
        }
    }
    mb_tensor_free(&yref);
    golden_tc_free(&c);
    return e;
}

int main(void)
{
    char path[1024], name[256];
    snprintf(path, sizeof path, "%s/ref/cases.txt", MB_TEST_DATA_DIR);
    FILE *fp = fopen(path, "r");
    CHECK_MSG(fp != NULL, "cannot open %s (regenerate: /usr/bin/python3 tests/make_reference.py)", path);
    int ncases = 0;
    while (fp && fgets(name, sizeof name, fp)) {
        name[strcspn(name, "\r\n")] = '\0';
        if (!name[0])
            continue;
        double e = run_case(name, 0);
        CHECK_MSG(e >= 0.0 && e <= RTOL, "%s: max relative error %.3g (tolerance %g)", name, e, RTOL);
        printf("%-28s max rel err %.2e\n", name, e);
        ncases++;
    }
    if (fp)
        fclose(fp);
    CHECK_MSG(ncases >= 30, "only %d cases found", ncases);
    /* The comparison can fail: a slightly wrong adapter scale is outside the tolerance. */
    double e = run_case("lora_odd", 1);
    CHECK_MSG(e > RTOL, "perturbed alpha not detected (max rel err %.3g)", e);
    return mb_test_result("test_ref_torch");
}
