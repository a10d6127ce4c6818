/* The naive train step against PyTorch float64 autograd: every case of
 * tests/data/ref/train_cases.txt (written by tests/make_reference.py: weights, X, dY, and from
 * torch Y, grad_X, grad_<name> of every trainable tensor, upd_<name> after one AdamW step, idx
 * for routed cases) is run through naive's forward_train and backward.
 * Tolerance: |got - want| <= 2e-5 (|want| + rms(want)) per tensor, as the forward's
 * test_ref_torch.c: both sides accumulate in double; what remains is the fp32 rounding the spec
 * asks for (logits, outputs, gradients stored in fp32) and the fp32 golden files, a few 1e-7
 * relative. Routing must match exactly (the generator avoids near-ties). The dropout cases use
 * the mask of moebench/dropout.h ported to python: a different seed must fail. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"
#include "npy.h"
#include "ref_golden.h"

#define RTOL 2e-5

/* 0 when `name` of the case matches its golden file, -1 on a load failure; *worst gets the
 * error. */
static int compare(const char *dir, const char *file, const float *got, int64_t n, double *worst)
{
    mb_tensor want = { 0 };
    if (golden_load(dir, file, MB_F32, &want))
        return -1;
    int rc = 0;
    if (mb_tensor_numel(&want) != n) {
        CHECK_MSG(0, "%s/%s: %lld elements, ours %lld", dir, file,
                  (long long)mb_tensor_numel(&want), (long long)n);
        rc = -1;
    } else {
        *worst = golden_rel_err(got, mb_f32(&want), n);
    }
    mb_tensor_free(&want);
    return rc;
}

/* Runs one case; returns the largest relative error over Y and every gradient (-1: failed).
 * perturb 1: alpha * 1.001; 2: the dropout seed + 1. */
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
    if (perturb == 1)
        c.s.alpha *= 1.001f;
    if (perturb == 2)
        c.s.seed += 1;
    mb_err err = { 0 };
    mb_tensor dy = { 0 };
    mb_grads g;
    memset(&g, 0, sizeof g);
    double worst = -1.0;
    const mb_impl *nv = &mb_impl_naive;
    mb_state *st = NULL;
    mb_saved saved = { 0 };
    if (golden_load(dir, "dY", MB_F32, &dy) || mb_grads_alloc(&c.s, &c.w, &g, &err) != MB_OK ||
        nv->prepare(&c.s, &c.w, &st, &err) != MB_OK) {
        CHECK_MSG(0, "%s: %s", name, err.msg);
        goto done;
    }
    mb_status rc = nv->forward_train(st, &c.in, &c.y, &c.info, &saved, &err);
    if (rc == MB_OK)
        rc = nv->backward(st, &c.in, &saved, &dy, &g, &err);
    nv->release(st);
    CHECK_MSG(rc == MB_OK, "%s: %s", name, err.msg);
    if (rc != MB_OK)
        goto done;
    if (c.info.routing.idx && !perturb) {
        mb_tensor idx = { 0 };
        if (!golden_load(dir, "idx", MB_I32, &idx))
            CHECK_MSG(mb_tensor_numel(&idx) == c.info.routing.T * c.info.routing.k &&
                          !memcmp(mb_i32(&idx), c.info.routing.idx,
                                  sizeof(int32_t) * (size_t)mb_tensor_numel(&idx)),
                      "%s: routing differs from torch", name);
        mb_tensor_free(&idx);
    }
    double e = 0.0;
    worst = 0.0;
    if (compare(dir, "Y", mb_f32(&c.y), mb_tensor_numel(&c.y), &e) == 0 && e > worst)
        worst = e;
    if (compare(dir, "grad_X", mb_f32(&g.dX), mb_tensor_numel(&g.dX), &e) == 0 && e > worst)
        worst = e;
    if (!perturb)
        printf("%-26s Y, dX: %.2e", name, worst);
    for (int i = 0; i < g.dW.n; i++) {
        char file[64];
        snprintf(file, sizeof file, "grad_%s", g.dW.item[i].name);
        CHECK_MSG(golden_has_word(ct.outputs, file), "%s: no golden for %s", name, file);
        if (compare(dir, file, mb_f32(&g.dW.item[i].t), mb_tensor_numel(&g.dW.item[i].t), &e))
            continue;
        CHECK_MSG(perturb || e <= RTOL, "%s: %s max rel err %.3g", name, file, e);
        if (!perturb)
            printf(" %s %.1e", g.dW.item[i].name, e);
        if (e > worst)
            worst = e;
    }
    for (int i = 0; i < g.upd.n; i++) {
        char file[64];
        snprintf(file, sizeof file, "upd_%s", g.upd.item[i].name);
        if (compare(dir, file, mb_f32(&g.upd.item[i].t), mb_tensor_numel(&g.upd.item[i].t), &e))
            continue;
        CHECK_MSG(perturb || e <= RTOL, "%s: %s (AdamW) max rel err %.3g", name, file, e);
        if (e > worst)
            worst = e;
    }
    CHECK_MSG(c.s.opt != MB_OPT_ADAMW || g.upd.n == g.dW.n, "%s: AdamW updated %d of %d tensors",
              name, g.upd.n, g.dW.n);
    if (!perturb)
        printf("\n");
done:
    mb_weights_free(&saved.act);
    mb_grads_free(&g);
    mb_tensor_free(&dy);
    golden_tc_free(&c);
    return worst;
}

int main(void)
{
    char path[1024], name[256];
    snprintf(path, sizeof path, "%s/ref/train_cases.txt", MB_TEST_DATA_DIR);
    FILE *fp = fopen(path, "r");
    CHECK_MSG(fp != NULL, "cannot open %s (regenerate: /usr/bin/python3 tests/make_reference.py)",
              path);
    int ncases = 0, seen[MB_NUM_VARIANTS] = { 0 };
    while (fp && fgets(name, sizeof name, fp)) {
        name[strcspn(name, "\r\n")] = '\0';
        if (!name[0])
            continue;
        double e = run_case(name, 0);
        CHECK_MSG(e >= 0.0 && e <= RTOL, "%s: max relative error %.3g (tolerance %g)", name, e,
                  RTOL);
        for (int v = 0; v < MB_NUM_VARIANTS; v++) {
            const char *vn = mb_variant_name((mb_variant_id)v);
            size_t n = strlen(vn);
            if (!strncmp(name + 6, vn, n) && (name[6 + n] == '\0' || name[6 + n] == '_'))
                seen[v] = 1;
        }
        ncases++;
    }
    if (fp)
        fclose(fp);
    for (int v = 0; v < MB_NUM_VARIANTS; v++)
        CHECK_MSG(seen[v], "no train golden for %s", mb_variant_name((mb_variant_id)v));
    /* The comparison can fail: a 0.1 % change of the adapter scale, and another dropout mask. */
    double e = run_case("train_mlp_lora", 1);
    CHECK_MSG(e > RTOL, "perturbed alpha not detected (max rel err %.3g)", e);
    e = run_case("train_lora_dropout", 2);
    CHECK_MSG(e > RTOL, "a different dropout mask not detected (max rel err %.3g)", e);
    return mb_test_result("test_ref_train_torch");
}
