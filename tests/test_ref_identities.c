/* Identities the naive reference must satisfy on seeded (random) weights: zero B gives the base
 * layer; one-expert mixtures equal their dense counterparts; identical experts collapse to one
 * LoRA; the three mixlora share modes agree; sliced sparse_mlp with a zero router is the dense
 * MLP / E; moelora merged per task equals unmerged; routing invariants; thread-count
 * bit-identity. The dense comparison values are computed here with plain double loops. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"

typedef struct {
    mb_spec s;
    mb_weights w;
    mb_inputs in;
    mb_tensor y;
    mb_forward_info info;
} icase;

static int ic_make(icase *c, const char *desc)
{
    mb_err err = { 0 };
    memset(c, 0, sizeof *c);
    int ok = mb_spec_parse(desc, &c->s, &err) == MB_OK && mb_spec_validate(&c->s, 0, &err) == MB_OK &&
             mb_weights_create(&c->s, &c->w, &err) == MB_OK &&
             mb_inputs_create(&c->s, &c->in, &err) == MB_OK &&
             mb_output_alloc(&c->s, &c->y, &err) == MB_OK &&
             mb_forward_info_alloc(&c->s, &c->info, &err) == MB_OK;
    CHECK_MSG(ok, "%s: %s", desc, err.msg);
    return ok ? 0 : -1;
}

static void ic_free(icase *c)
{
    mb_weights_free(&c->w);
    mb_inputs_free(&c->in);
    mb_tensor_free(&c->y);
    mb_forward_info_free(&c->info);
}

static int ic_run(icase *c)
{
    mb_err err = { 0 };
    mb_status st = mb_run_once(&mb_impl_naive, &c->s, &c->w, &c->in, &c->y, &c->info, &err);
    CHECK_MSG(st == MB_OK, "naive forward: %s", err.msg);
    return st == MB_OK ? 0 : -1;
}

static float *W(icase *c, const char *name)
{
    mb_tensor *t = mb_weights_get_mut(&c->w, name);
    CHECK_MSG(t != NULL, "no weight %s", name);
    return t ? mb_f32(t) : NULL;
}

static int64_t numel(icase *c, const char *name)
{
    const mb_tensor *t = mb_weights_get(&c->w, name);
    return t ? mb_tensor_numel(t) : 0;
}

/* dst.name = n floats of src.sname starting at element off. */
static void copy_w(icase *dst, const char *name, icase *src, const char *sname, int64_t off)
{
    float *d = W(dst, name), *s = W(src, sname);
    int64_t n = numel(dst, name);
    CHECK(off + n <= numel(src, sname));
    if (d && s && off + n <= numel(src, sname))
        memcpy(d, s + off, sizeof(float) * (size_t)n);
}

static void zero_w(icase *c, const char *name)
{
    float *d = W(c, name);
    if (d)
        memset(d, 0, sizeof(float) * (size_t)numel(c, name));
}

/* |got - want| <= rtol * (|want| + rms(want)) element-wise: a relative check that does not blow
 * up on the elements that happen to be near 0. */
static void check_close(const char *what, const float *got, const double *want, int64_t n, double rtol)
{
    double rms = 0.0;
    for (int64_t i = 0; i < n; i++)
        rms += want[i] * want[i];
    rms = sqrt(rms / (double)n);
    CHECK_MSG(rms > 0.0, "%s: reference is all zeros, the identity proves nothing", what);
    int bad = 0;
    for (int64_t i = 0; i < n && bad < 5; i++) {
        double tol = rtol * (fabs(want[i]) + rms);
        if (!(fabs((double)got[i] - want[i]) <= tol)) {
            bad++;
            CHECK_MSG(0, "%s[%lld] = %.9g, want %.9g (tol %.3g)", what, (long long)i, got[i], want[i], tol);
        }
    }
    mb_test_checks++;
}

static void check_close_f(const char *what, const float *got, const float *want, int64_t n, double rtol)
{
    double *wd = malloc(sizeof(double) * (size_t)n);
    if (!wd)
        return;
    for (int64_t i = 0; i < n; i++)
        wd[i] = want[i];
    check_close(what, got, wd, n, rtol);
    free(wd);
}

/* Y[T, N] = X[T, K] Wt^T in double. */
static void dense_linear(const float *X, int64_t T, int64_t K, const float *Wt, int64_t N, double *Y)
{
    for (int64_t t = 0; t < T; t++)
        for (int64_t n = 0; n < N; n++) {
            double a = 0.0;
            for (int64_t k = 0; k < K; k++)
                a += (double)X[t * K + k] * Wt[n * K + k];
            Y[t * N + n] = a;
        }
}

/* Y = scale * (act(X Wg^T) * X Wu^T) Wd^T, Wg/Wu [f, h], Wd [h, f]. */
static void dense_mlp(const float *X, int64_t T, int64_t h, int64_t f, const float *Wg,
                      const float *Wu, const float *Wd, mb_act act, double scale, double *Y)
{
    double *H = malloc(sizeof(double) * (size_t)f);
    if (!H)
        return;
    for (int64_t t = 0; t < T; t++) {
        for (int64_t j = 0; j < f; j++) {
            double g = 0.0, u = 0.0;
            for (int64_t k = 0; k < h; k++) {
                g += (double)X[t * h + k] * Wg[j * h + k];
                u += (double)X[t * h + k] * Wu[j * h + k];
            }
            H[j] = mb_act_apply(act, g) * u;
        }
        for (int64_t i = 0; i < h; i++) {
            double a = 0.0;
            for (int64_t j = 0; j < f; j++)
                a += H[j] * Wd[i * f + j];
            Y[t * h + i] = scale * a;
        }
    }
    free(H);
}

static void test_zero_b_is_base(void)
{
    static const char *const descs[] = {
        "lora:T=5,h=9,o=7,r=3",
        "molora:T=5,h=9,o=7,r=2,E=3",
        "moelora:B=2,S=3,h=9,o=7,r=4,E=2,tasks=3,te=5",
        "mor1e:B=2,S=3,h=9,o=7,r=4",
        "mlp_lora:T=4,h=8,f=11,r=2,act=gelu",
        "mixlora:T=6,h=8,f=11,r=2,E=4,k=2,share=none",
        "mixlora:T=6,h=8,f=11,r=2,E=4,k=2,share=gate_up",
        "mixlora:T=6,h=8,f=11,r=2,E=4,k=2,share=all",
    };
    for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++) {
        icase c;
        if (ic_make(&c, descs[i]))
            continue;
        for (int j = 0; j < c.w.n; j++)
            if (c.w.item[j].name[0] == 'B')
                zero_w(&c, c.w.item[j].name);
        const int64_t T = mb_spec_T(&c.s), ow = mb_spec_out_width(&c.s);
        double *ref = calloc((size_t)(T * ow), sizeof(double));
        if (ref && !ic_run(&c)) {
            if (c.s.variant == MB_MLP_LORA || c.s.variant == MB_MIXLORA)
                dense_mlp(mb_f32(&c.in.X), T, c.s.h, c.s.f, W(&c, "Wg"), W(&c, "Wu"), W(&c, "Wd"),
                          c.s.act, 1.0, ref);
            else
                dense_linear(mb_f32(&c.in.X), T, c.s.h, W(&c, "W"), ow, ref);
            check_close(descs[i], mb_f32(&c.y), ref, T * ow, 1e-6);
        }
        free(ref);
        ic_free(&c);
    }
}

/* Same spec through both paths must differ once B is non-zero: otherwise the B = 0 test above
 * would pass for an implementation that ignores the adapters. */
static void test_adapters_visible(void)
{
    icase c;
    if (ic_make(&c, "lora:T=3,h=6,o=5,r=2"))
        return;
    double ref[15];
    if (!ic_run(&c)) {
        dense_linear(mb_f32(&c.in.X), 3, 6, W(&c, "W"), 5, ref);
        double diff = 0.0;
        for (int i = 0; i < 15; i++)
            diff = fmax(diff, fabs(mb_f32(&c.y)[i] - ref[i]));
        CHECK_MSG(diff > 1e-3, "LoRA term invisible (max diff %g)", diff);
    }
    ic_free(&c);
}

static void test_one_expert_mixlora_is_mlp_lora(void)
{
    static const char *const share[] = { "none", "gate_up", "all" };
    for (int m = 0; m < 3; m++) {
        char desc[128];
        icase mx, ml;
        snprintf(desc, sizeof desc, "mixlora:T=5,h=8,f=12,r=2,E=1,k=1,alpha=3,share=%s", share[m]);
        if (ic_make(&mx, desc))
            return;
        if (ic_make(&ml, "mlp_lora:T=5,h=8,f=12,r=2,alpha=3")) {
            ic_free(&mx);
            return;
        }
        static const char *const names[] = { "Wg", "Wu", "Wd", "Ag", "Bg", "Au", "Bu", "Ad", "Bd" };
        for (int i = 0; i < 9; i++)
            copy_w(&ml, names[i], &mx, names[i], 0);
        memcpy(mb_f32(&ml.in.X), mb_f32(&mx.in.X), (size_t)mb_tensor_bytes(&mx.in.X));
        if (!ic_run(&mx) && !ic_run(&ml))
            check_close_f(desc, mb_f32(&mx.y), mb_f32(&ml.y), mb_tensor_numel(&ml.y), 1e-6);
        ic_free(&mx);
        ic_free(&ml);
    }
}

static void test_one_expert_sparse_is_dense(void)
{
    icase c;
    if (ic_make(&c, "sparse_mlp:T=5,h=8,f=12,E=1,k=1,act=relu"))
        return;
    double ref[5 * 8];
    if (!ic_run(&c)) {
        dense_mlp(mb_f32(&c.in.X), 5, 8, 12, W(&c, "Wg"), W(&c, "Wu"), W(&c, "Wd"), MB_ACT_RELU, 1.0, ref);
        check_close("sparse_mlp E=1", mb_f32(&c.y), ref, 40, 1e-6);
    }
    ic_free(&c);
}

/* molora with every expert equal to (A0, B0) is one LoRA (A0, B0), because sum_e p_e = 1;
 * with E = 1 that is the plain case. */
static void test_molora_collapses_to_lora(void)
{
    static const char *const descs[] = { "molora:T=4,h=7,o=6,r=2,E=1,alpha=5",
                                         "molora:T=4,h=7,o=6,r=2,E=3,alpha=5" };
    for (int i = 0; i < 2; i++) {
        icase mo, lo;
        if (ic_make(&mo, descs[i]))
            return;
        if (ic_make(&lo, "lora:T=4,h=7,o=6,r=2,alpha=5")) {
            ic_free(&mo);
            return;
        }
        for (int64_t e = 1; e < mo.s.E; e++) {
            memcpy(W(&mo, "A") + e * 2 * 7, W(&mo, "A"), sizeof(float) * 2 * 7);
            memcpy(W(&mo, "B") + e * 6 * 2, W(&mo, "B"), sizeof(float) * 6 * 2);
        }
        copy_w(&lo, "W", &mo, "W", 0);
        copy_w(&lo, "A", &mo, "A", 0);
        copy_w(&lo, "B", &mo, "B", 0);
        memcpy(mb_f32(&lo.in.X), mb_f32(&mo.in.X), (size_t)mb_tensor_bytes(&mo.in.X));
        if (!ic_run(&mo) && !ic_run(&lo))
            check_close_f(descs[i], mb_f32(&mo.y), mb_f32(&lo.y), 24, 1e-6);
        ic_free(&mo);
        ic_free(&lo);
    }
}

static void test_mixlora_share_modes_agree(void)
{
    icase c;
    if (ic_make(&c, "mixlora:T=7,h=16,f=24,r=4,E=4,k=2,alpha=8,share=none"))
        return;
    const int64_t n = 7 * 16;
    float ys[3][7 * 16];
    int ok = 1;
    for (int m = 0; m < 3 && ok; m++) {
        c.s.share = (mb_share)m;
        ok = !ic_run(&c);
        memcpy(ys[m], mb_f32(&c.y), sizeof(float) * (size_t)n);
    }
    if (ok) {
        /* In exact arithmetic equal; the reference accumulates in double, so only the final
         * rounding to float can differ. */
        check_close_f("share gate_up vs none", ys[1], ys[0], n, 1e-6);
        check_close_f("share all vs none", ys[2], ys[0], n, 1e-6);
    }
    ic_free(&c);
}

/* shard=1 splits one MLP of width f into E slices; with k = E and a zero router every token
 * takes every slice with weight 1/E, which is the dense MLP divided by E. */
static void test_sliced_sparse_is_dense_over_e(void)
{
    icase c;
    if (ic_make(&c, "sparse_mlp:T=4,h=6,f=12,E=3,k=3,shard=1,act=gelu"))
        return;
    const int64_t T = 4, h = 6, f = 12, E = 3, fe = 4;
    zero_w(&c, "Wr");
    float Wd_full[6 * 12];
    const float *Wd = W(&c, "Wd");   /* [E, h, fe] -> [h, f] */
    for (int64_t e = 0; e < E && Wd; e++)
        for (int64_t i = 0; i < h; i++)
            for (int64_t j = 0; j < fe; j++)
                Wd_full[i * f + e * fe + j] = Wd[(e * h + i) * fe + j];
    double ref[4 * 6];
    if (Wd && !ic_run(&c)) {
        /* Wg [E, fe, h] stacked is Wg_full [f, h] (rows of slice e are rows e*fe..). */
        dense_mlp(mb_f32(&c.in.X), T, h, f, W(&c, "Wg"), W(&c, "Wu"), Wd_full, MB_ACT_GELU,
                  1.0 / (double)E, ref);
        check_close("sparse_mlp shard=1 zero router", mb_f32(&c.y), ref, T * h, 1e-6);
    }
    ic_free(&c);
}

/* W'_b = W + s sum_e g_be B_e A_e per sequence (the `merged` form), applied as one linear. */
static void test_moelora_merged_equals_unmerged(void)
{
    icase c;
    if (ic_make(&c, "moelora:B=3,S=2,h=8,o=6,r=4,E=2,tasks=3,te=5,alpha=6"))
        return;
    const int64_t h = 8, o = 6, E = 2, re = 2, S = 2, nb = 3;
    const double s = 6.0 / 4.0;
    const int32_t tasks[3] = { 2, 0, 2 };
    memcpy(mb_i32(&c.in.task), tasks, sizeof tasks);
    if (ic_run(&c)) {
        ic_free(&c);
        return;
    }
    const float *Wb = W(&c, "W"), *A = W(&c, "A"), *B = W(&c, "B");
    const float *Emb = W(&c, "Emb"), *Wg = W(&c, "Wg");
    const float *X = mb_f32(&c.in.X);
    const int64_t te = 5;
    double ref[6 * 6], gate[3 * 2];
    /* The gate computed here from Emb and Wg, not read back from the reference's info.gate, so
     * an error in the reference's gate cannot cancel out: g_b = softmax(Emb[task_b] Wg^T). */
    for (int64_t b = 0; b < nb; b++) {
        double zl[2], m = -INFINITY, sum = 0.0;
        for (int64_t e = 0; e < E; e++) {
            zl[e] = 0.0;
            for (int64_t q = 0; q < te; q++)
                zl[e] += (double)Emb[tasks[b] * te + q] * Wg[e * te + q];
            m = fmax(m, zl[e]);
        }
        for (int64_t e = 0; e < E; e++)
            sum += exp(zl[e] - m);
        for (int64_t e = 0; e < E; e++) {
            gate[b * E + e] = exp(zl[e] - m) / sum;
            CHECK_NEAR(c.info.gate[b * E + e], gate[b * E + e], 1e-6);
        }
    }
    for (int64_t b = 0; b < nb; b++) {
        double Wm[6 * 8];
        for (int64_t i = 0; i < o; i++)
            for (int64_t k = 0; k < h; k++) {
                double d = 0.0;
                for (int64_t e = 0; e < E; e++)
                    for (int64_t j = 0; j < re; j++)
                        d += gate[b * E + e] * B[(e * o + i) * re + j] * A[(e * re + j) * h + k];
                Wm[i * h + k] = Wb[i * h + k] + s * d;
            }
        for (int64_t t = b * S; t < (b + 1) * S; t++)
            for (int64_t i = 0; i < o; i++) {
                double a = 0.0;
                for (int64_t k = 0; k < h; k++)
                    a += (double)X[t * h + k] * Wm[i * h + k];
                ref[t * o + i] = a;
            }
    }
    /* The reference rounds the gate logits to fp32: allow that rounding. */
    check_close("moelora merged", mb_f32(&c.y), ref, 36, 1e-5);
    /* Sequences 0 and 2 share task 2, hence the gate. */
    CHECK(c.info.gate[0] == c.info.gate[4] && c.info.gate[1] == c.info.gate[5]);
    CHECK(c.info.gate[0] != c.info.gate[2]);
    ic_free(&c);
}

static void check_routing_invariants(const char *what, const mb_routing *r)
{
    int64_t total = 0;
    for (int64_t e = 0; e < r->E; e++)
        total += r->counts[e];
    CHECK_MSG(total == r->T * r->k, "%s: counts sum %lld", what, (long long)total);
    for (int64_t t = 0; t < r->T; t++) {
        double sum = 0.0;
        for (int64_t j = 0; j < r->k; j++) {
            const int32_t e = r->idx[t * r->k + j];
            sum += r->w[t * r->k + j];
            CHECK(e >= 0 && e < r->E);
            if (j > 0)
                CHECK(r->w[t * r->k + j] <= r->w[t * r->k + j - 1]);
            for (int64_t q = 0; q < j; q++)
                CHECK(r->idx[t * r->k + q] != e);
        }
        CHECK_NEAR(sum, 1.0, 1e-6);
    }
}

static void test_routing_invariants(void)
{
    static const char *const descs[] = { "router:T=16,h=12,E=8,k=3", "sparse_mlp:T=9,h=8,f=8,E=5,k=2",
                                         "mixlora:T=9,h=8,f=10,r=2,E=6,k=3" };
    for (int i = 0; i < 3; i++) {
        icase c;
        if (ic_make(&c, descs[i]))
            return;
        /* Scale the router up so the choice is not decided by rounding of near-uniform p. */
        float *Wr = W(&c, "Wr");
        for (int64_t j = 0; Wr && j < numel(&c, "Wr"); j++)
            Wr[j] *= 50.0f;
        if (!ic_run(&c)) {
            check_routing_invariants(descs[i], &c.info.routing);
            CHECK(c.info.routing.z_loss > 0.0);
            CHECK(c.info.routing.aux_loss > 0.0);
        }
        ic_free(&c);
    }
}

/* A perfectly balanced routing has L_aux = k: token t's logits are the cyclic shift by t of
 * [3, 2, 0, -1], so every expert is in the top-2 of exactly 2 of the 4 tokens (F_e = 1/2) and
 * every P_e is the mean of the same 4 probabilities (1/4): L_aux = 4 * 4 * (1/2 * 1/4) = 2. */
static void test_balanced_aux_is_k(void)
{
    icase c;
    if (ic_make(&c, "router:T=4,h=4,E=4,k=2"))
        return;
    float *Wr = W(&c, "Wr");
    float *X = mb_f32(&c.in.X);
    const float base[4] = { 3, 2, 0, -1 };
    for (int i = 0; i < 16; i++)
        Wr[i] = (i / 4 == i % 4) ? 1.0f : 0.0f;
    for (int t = 0; t < 4; t++)
        for (int e = 0; e < 4; e++)
            X[t * 4 + e] = base[(e - t + 4) % 4];
    if (!ic_run(&c)) {
        CHECK_NEAR(c.info.routing.aux_loss, 2.0, 1e-6);
        for (int e = 0; e < 4; e++)
            CHECK(c.info.routing.counts[e] == 2);
    }
    ic_free(&c);
}

static void test_thread_count_bit_identical(void)
{
    /* The last one is a single token large enough for the reference to split its dot products
     * over threads instead of its tokens. */
    static const char *const descs[] = { "mixlora:T=9,h=12,f=16,r=2,E=4,k=2,share=all",
                                         "moelora:B=3,S=3,h=12,o=10,r=4,E=2,tasks=2,te=4",
                                         "mor1e:B=3,S=3,h=12,o=10,r=4",
                                         "mlp_lora:T=1,h=256,f=512,r=4" };
    const int before = mb_get_threads();
    for (int i = 0; i < 4; i++) {
        icase c;
        if (ic_make(&c, descs[i]))
            return;
        const int64_t n = mb_tensor_numel(&c.y);
        float *y1 = malloc(sizeof(float) * (size_t)n);
        mb_set_threads(1);
        int ok = y1 && !ic_run(&c);
        if (ok)
            memcpy(y1, mb_f32(&c.y), sizeof(float) * (size_t)n);
        mb_set_threads(2);
        ok = ok && !ic_run(&c);
        if (ok)
            CHECK_MSG(memcmp(y1, mb_f32(&c.y), sizeof(float) * (size_t)n) == 0,
                      "%s: 1 and 2 threads differ", descs[i]);
        free(y1);
        ic_free(&c);
    }
    mb_set_threads(before);
}

int main(void)
{
    test_zero_b_is_base();
    test_adapters_visible();
    test_one_expert_mixlora_is_mlp_lora();
    test_one_expert_sparse_is_dense();
    test_molora_collapses_to_lora();
    test_mixlora_share_modes_agree();
    test_sliced_sparse_is_dense_over_e();
    test_moelora_merged_equals_unmerged();
    test_routing_invariants();
    test_balanced_aux_is_k();
    test_thread_count_bit_identical();
    return mb_test_result("test_ref_identities");
}
