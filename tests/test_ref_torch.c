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

#define RTOL 2e-5

typedef struct {
    char desc[512], weights[512], inputs[512], outputs[512];
} case_txt;

static int read_case_txt(const char *dir, case_txt *ct)
{
    char path[1100], line[512];
    snprintf(path, sizeof path, "%s/case.txt", dir);
    FILE *fp = fopen(path, "r");
    CHECK_MSG(fp != NULL, "cannot open %s", path);
    if (!fp)
        return -1;
    memset(ct, 0, sizeof *ct);
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!strncmp(line, "weights: ", 9))
            snprintf(ct->weights, sizeof ct->weights, "%s", line + 9);
        else if (!strncmp(line, "inputs: ", 8))
            snprintf(ct->inputs, sizeof ct->inputs, "%s", line + 8);
        else if (!strncmp(line, "outputs: ", 9))
            snprintf(ct->outputs, sizeof ct->outputs, "%s", line + 9);
        else if (!ct->desc[0])
            snprintf(ct->desc, sizeof ct->desc, "%s", line);
    }
    fclose(fp);
    CHECK_MSG(ct->desc[0] && ct->weights[0] && ct->inputs[0], "%s: incomplete", path);
    return ct->desc[0] ? 0 : -1;
}

static int has_word(const char *list, const char *word)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " "))
        if (!strcmp(tok, word))
            return 1;
    return 0;
}

static int load(const char *dir, const char *name, mb_dtype dt, mb_tensor *t)
{
    char path[2048];
    mb_err err = { 0 };
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    mb_status st = mb_npy_read_tensor(path, dt, t, &err);
    CHECK_MSG(st == MB_OK, "%s", err.msg);
    return st == MB_OK ? 0 : -1;
}

/* Max over elements of |got - want| / (|want| + rms(want)). */
static double rel_err(const float *got, const float *want, int64_t n)
{
    double rms = 0.0, worst = 0.0;
    for (int64_t i = 0; i < n; i++)
        rms += (double)want[i] * want[i];
    rms = sqrt(rms / (double)n);
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]) / (fabs(want[i]) + rms + 1e-30);
        if (!(e <= worst))   /* also catches NaN */
            worst = e;
    }
    return worst;
}

typedef struct {
    mb_spec s;
    mb_weights w;
    mb_inputs in;
    mb_tensor y;
    mb_forward_info info;
} tcase;

static void tc_free(tcase *c)
{
    mb_weights_free(&c->w);
    mb_inputs_free(&c->in);
    mb_tensor_free(&c->y);
    mb_forward_info_free(&c->info);
}

static int tc_load(const char *dir, const case_txt *ct, tcase *c)
{
    mb_err err = { 0 };
    memset(c, 0, sizeof *c);
    if (mb_spec_parse(ct->desc, &c->s, &err) != MB_OK || mb_spec_validate(&c->s, 0, &err) != MB_OK) {
        CHECK_MSG(0, "%s: %s", ct->desc, err.msg);
        return -1;
    }
    char buf[512];
    snprintf(buf, sizeof buf, "%s", ct->weights);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        mb_tensor t;
        if (load(dir, tok, MB_F32, &t))
            return -1;
        if (mb_weights_add(&c->w, tok, t, &err) != MB_OK) {
            CHECK_MSG(0, "add %s: %s", tok, err.msg);
            mb_tensor_free(&t);
            return -1;
        }
    }
    if (load(dir, "X", MB_F32, &c->in.X))
        return -1;
    if (has_word(ct->inputs, "task") && load(dir, "task", MB_I32, &c->in.task))
        return -1;
    if (has_word(ct->inputs, "R") && load(dir, "R", MB_F32, &c->in.R))
        return -1;
    if (mb_output_alloc(&c->s, &c->y, &err) != MB_OK || mb_forward_info_alloc(&c->s, &c->info, &err) != MB_OK) {
        CHECK_MSG(0, "%s: %s", ct->desc, err.msg);
        return -1;
    }
    return 0;
}

static void check_routing(const char *name, const char *dir, const mb_routing *r, int has_dropped)
{
    mb_tensor idx = { 0 }, w = { 0 }, loss = { 0 }, drop = { 0 };
    /* routing options (spec "Routing options"): the capacity's drop mask [T, k] */
    if (has_dropped && !load(dir, "dropped", MB_I32, &drop)) {
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
    if (!load(dir, "idx", MB_I32, &idx) && !load(dir, "w", MB_F32, &w) && !load(dir, "loss", MB_F32, &loss)) {
        CHECK(mb_tensor_numel(&idx) == r->T * r->k && mb_tensor_numel(&w) == r->T * r->k);
        if (mb_tensor_numel(&idx) == r->T * r->k) {
            int same = memcmp(mb_i32(&idx), r->idx, sizeof(int32_t) * (size_t)(r->T * r->k)) == 0;
            CHECK_MSG(same, "%s: routing indices differ from torch", name);
            if (same)
                CHECK_MSG(rel_err(r->w, mb_f32(&w), r->T * r->k) <= RTOL, "%s: routing weights", name);
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
    case_txt ct;
    tcase c;
    if (read_case_txt(dir, &ct))
        return -1.0;
    if (tc_load(dir, &ct, &c)) {
        tc_free(&c);
        return -1.0;
    }
    if (perturb)
        c.s.alpha *= 1.001f;   /* a 0.1 % change of the adapter scale must be caught */
    mb_err err = { 0 };
    double e = -1.0;
    mb_tensor yref = { 0 };
    mb_status st = mb_run_once(&mb_impl_naive, &c.s, &c.w, &c.in, &c.y, &c.info, &err);
    CHECK_MSG(st == MB_OK, "%s: %s", name, err.msg);
    if (st == MB_OK && !load(dir, "Y", MB_F32, &yref)) {
        CHECK_MSG(mb_tensor_numel(&yref) == mb_tensor_numel(&c.y), "%s: Y size", name);
        if (mb_tensor_numel(&yref) == mb_tensor_numel(&c.y))
            e = rel_err(mb_f32(&c.y), mb_f32(&yref), mb_tensor_numel(&yref));
        if (!perturb) {
            if (c.info.routing.idx)
                check_routing(name, dir, &c.info.routing, has_word(ct.outputs, "dropped"));
            mb_tensor g = { 0 };
            if (has_word(ct.outputs, "gate") && !load(dir, "gate", MB_F32, &g)) {
                CHECK(c.info.gate != NULL);
                if (c.info.gate)
                    CHECK_MSG(rel_err(c.info.gate, mb_f32(&g), mb_tensor_numel(&g)) <= RTOL,
                              "%s: gate differs from torch", name);
            }
            mb_tensor_free(&g);
        }
    }
    mb_tensor_free(&yref);
    tc_free(&c);
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
