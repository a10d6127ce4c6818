/* Routing options (spec Part 1 "Routing options": cap, shared, topp, route): the naive
 * reference on hand-computed tiny cases (capacity priority, top-p sets, balanced and hot
 * assignment, zipf determinism across thread counts), core's mb_route against the same
 * expectations, and every library implementation against the reference, with hot:0.9 on 2
 * threads equal to 1 thread (routing identical, values within the tolerance): on 2 threads
 * the hot expert's GEMMs are cut into row and column tiles (mb_gemm_group). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"

/* A router case whose logits are X itself: h = E, Wr = identity, X rows = the logits given. */
typedef struct {
    mb_spec s;
    mb_weights w;
    mb_inputs in;
    mb_tensor y;
    mb_forward_info info;
} rcase;

static int rcase_open(rcase *c, const char *desc, const float *logits)
{
    mb_err err;
    memset(c, 0, sizeof *c);
    int ok = mb_spec_parse(desc, &c->s, &err) == MB_OK && mb_spec_validate(&c->s, 0, &err) == MB_OK &&
             mb_weights_create(&c->s, &c->w, &err) == MB_OK &&
             mb_inputs_create(&c->s, &c->in, &err) == MB_OK &&
             mb_output_alloc(&c->s, &c->y, &err) == MB_OK &&
             mb_forward_info_alloc(&c->s, &c->info, &err) == MB_OK;
    CHECK_MSG(ok, "%s: %s", desc, err.msg);
    if (!ok)
        return 0;
    const int64_t T = mb_spec_T(&c->s), E = c->s.E;
    if (logits) {
        CHECK(c->s.h == E);
        float *Wr = mb_f32(mb_weights_get(&c->w, "Wr"));
        for (int64_t i = 0; i < E * E; i++)
            Wr[i] = (i / E == i % E) ? 1.0f : 0.0f;
        memcpy(mb_f32(&c->in.X), logits, sizeof(float) * (size_t)(T * E));
    }
    return 1;
}

static int rcase_run(rcase *c, const mb_impl *impl)
{
    mb_err err;
    int ok = mb_run_once(impl, &c->s, &c->w, &c->in, &c->y, &c->info, &err) == MB_OK;
    CHECK_MSG(ok, "%s: %s", impl->name, err.msg);
    return ok;
}

static void rcase_close(rcase *c)
{
    mb_forward_info_free(&c->info);
    mb_tensor_free(&c->y);
    mb_inputs_free(&c->in);
    mb_weights_free(&c->w);
}

/* Capacity: slot-major priority. E=3, k=2, T=3, cap=0.5 -> C = ceil(0.5*2*3/3) = 1.
 * Preferences: t0 [0,1], t1 [1,0], t2 [0,2]. Slot 0: t0->0 kept, t1->1 kept, t2->0 dropped;
 * slot 1: t0->1 dropped, t1->0 dropped, t2->2 kept. (Token-major order would keep t0's second
 * choice and drop t1's first.) Weights stay the renormalised p: not redistributed. */
static void test_capacity(const mb_impl *impl)
{
    const float z[9] = {2, 1, 0, 1, 2, 0, 2, 0, 1};
    rcase c;
    if (!rcase_open(&c, "router:T=3,h=3,E=3,k=2,cap=0.5", z) || !rcase_run(&c, impl)) {
        rcase_close(&c);
        return;
    }
    const mb_routing *r = &c.info.routing;
    const int32_t want_idx[6] = {0, 1, 1, 0, 0, 2};
    const uint8_t want_drop[6] = {0, 1, 0, 1, 1, 0};
    for (int i = 0; i < 6; i++) {
        CHECK_MSG(r->idx[i] == want_idx[i], "%s slot %d: expert %d, want %d", impl->name, i,
                  r->idx[i], want_idx[i]);
        CHECK_MSG(r->dropped[i] == want_drop[i], "%s slot %d: dropped %d, want %d", impl->name,
                  i, r->dropped[i], want_drop[i]);
    }
    CHECK(r->n_dropped == 3 && r->n_chosen == 6);
    CHECK(r->counts[0] == 1 && r->counts[1] == 1 && r->counts[2] == 1);
    /* p of token 0 over its two: e^2 / (e^2 + e^1) */
    const double w0 = exp(2.0) / (exp(2.0) + exp(1.0));
    const float *Y = mb_f32(&c.y);
    CHECK_NEAR(Y[0], w0, 1e-6);         /* t0 kept its first choice at its own weight */
    CHECK_NEAR(Y[1], 0.0, 0.0);         /* t0's second choice dropped: contributes nothing */
    CHECK_NEAR(Y[3], 0.0, 0.0);         /* t1's second choice (expert 0) dropped */
    CHECK_NEAR(Y[4], w0, 1e-6);
    CHECK_NEAR(Y[6], 0.0, 0.0);         /* t2's first choice dropped */
    CHECK_NEAR(Y[8], exp(1.0) / (exp(2.0) + exp(1.0)), 1e-6);
    /* L_aux counts the chosen sets before dropping: F = (3/3, 2/3, 1/3) here */
    double P[3] = {0, 0, 0};
    for (int t = 0; t < 3; t++) {
        double s = exp(z[t * 3]) + exp(z[t * 3 + 1]) + exp(z[t * 3 + 2]);
        for (int e = 0; e < 3; e++)
            P[e] += exp(z[t * 3 + e]) / s / 3.0;
    }
    CHECK_NEAR(r->aux_loss, 3.0 * (P[0] + 2.0 / 3.0 * P[1] + 1.0 / 3.0 * P[2]), 1e-6);
    rcase_close(&c);
}

/* Top-p: p = (0.5, 0.3, 0.15, 0.05) from log-probability logits. topp=0.6 takes {0, 1}
 * (0.8 >= 0.6) weighted 0.625 / 0.375; topp=0.9 takes {0, 1, 2}; k=2 bounds it to {0, 1};
 * equal p (the second token, 0.25 each) ties to the lower index: 0.6 needs three. */
static void test_topp(const mb_impl *impl)
{
    const float z[8] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f), 0, 0, 0, 0};
    struct {
        const char *desc;
        int32_t idx[8];
        double w0;
    } want[] = {
        {"router:T=2,h=4,E=4,topp=0.6", {0, 1, -1, -1, 0, 1, 2, -1}, 0.5 / 0.8},
        {"router:T=2,h=4,E=4,topp=0.9", {0, 1, 2, -1, 0, 1, 2, 3}, 0.5 / 0.95},
        {"router:T=2,h=4,E=4,k=2,topp=0.9", {0, 1, 0, 1}, 0.5 / 0.8},
        {"router:T=2,h=4,E=4,topp=0.4", {0, -1, -1, -1, 0, 1, -1, -1}, 1.0},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        rcase c;
        if (!rcase_open(&c, want[i].desc, z) || !rcase_run(&c, impl)) {
            rcase_close(&c);
            continue;
        }
        const mb_routing *r = &c.info.routing;
        const int64_t n = 2 * c.s.k;
        for (int64_t j = 0; j < n; j++)
            CHECK_MSG(r->idx[j] == want[i].idx[j], "%s %s slot %lld: %d, want %d", impl->name,
                      want[i].desc, (long long)j, r->idx[j], want[i].idx[j]);
        CHECK_NEAR(r->w[0], want[i].w0, 1e-6);
        rcase_close(&c);
    }
}

/* balanced: token t takes (t*k + j) mod E. hot:0.5 on T=4 -> tokens 0, 1 take expert 0 plus the
 * best other expert; tokens 2, 3 route as learned. hot:0.3 -> ceil(1.2) = 2 tokens too. */
static void test_balanced_hot(const mb_impl *impl)
{
    const float z[16] = {0, 3, 2, 1, 0, 3, 2, 1, 0, 3, 2, 1, 5, 3, 2, 1};
    struct {
        const char *desc;
        int32_t idx[8];
    } want[] = {
        {"router:T=4,h=4,E=4,k=2,route=balanced", {0, 1, 2, 3, 0, 1, 2, 3}},
        {"router:T=4,h=4,E=4,k=3,route=balanced", {0, 1, 2, 3, 0, 1, 2, 3}},
        {"router:T=4,h=4,E=4,k=2,route=hot:0.5", {0, 1, 0, 1, 1, 2, 0, 1}},
        {"router:T=4,h=4,E=4,k=2,route=hot:0.3", {0, 1, 0, 1, 1, 2, 0, 1}},
        {"router:T=4,h=4,E=4,k=1,route=hot:0.5", {0, 0, 1, 0}},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        rcase c;
        if (!rcase_open(&c, want[i].desc, z) || !rcase_run(&c, impl)) {
            rcase_close(&c);
            continue;
        }
        const mb_routing *r = &c.info.routing;
        const int64_t n = 4 * c.s.k < 8 ? 4 * c.s.k : 8;
        for (int64_t j = 0; j < n; j++)
            CHECK_MSG(r->idx[j] == want[i].idx[j], "%s %s slot %lld: %d, want %d", impl->name,
                      want[i].desc, (long long)j, r->idx[j], want[i].idx[j]);
        /* weights are the router's p at the chosen experts, renormalised */
        const double p0 = 1.0, p1 = exp(3.0);   /* token 0: experts 0 and 1 */
        if (!strcmp(want[i].desc, "router:T=4,h=4,E=4,k=2,route=hot:0.5"))
            CHECK_NEAR(r->w[0], p0 / (p0 + p1), 1e-6);
        rcase_close(&c);
    }
}

/* zipf: the same draws on 1 and 2 threads (T spans several routing blocks), k distinct experts,
 * and a load that falls with the expert index. */
static void test_zipf(const mb_impl *impl)
{
    rcase a, b;
    const char *desc = "router:T=700,h=16,E=8,k=2,route=zipf:1.0";
    int ok = rcase_open(&a, desc, NULL) && rcase_open(&b, desc, NULL);
    mb_set_threads(1);
    ok = ok && rcase_run(&a, impl);
    mb_set_threads(2);
    ok = ok && rcase_run(&b, impl);
    if (ok) {
        const mb_routing *r = &a.info.routing;
        CHECK(!memcmp(r->idx, b.info.routing.idx, sizeof(int32_t) * 700 * 2));
        for (int t = 0; t < 700; t++)
            CHECK(r->idx[2 * t] != r->idx[2 * t + 1]);
        CHECK_MSG(r->counts[0] > r->counts[3] && r->counts[3] > r->counts[7],
                  "%s zipf counts %lld %lld %lld", impl->name, (long long)r->counts[0],
                  (long long)r->counts[3], (long long)r->counts[7]);
    }
    rcase_close(&a);
    rcase_close(&b);
}

/* An implementation against the naive reference on a case, on `threads` threads; with other
 * (non-NULL) the output and routing of the same case on 1 thread must match too. */
static void check_impl(const mb_impl *impl, const char *desc, int threads)
{
    rcase ref, got;
    if (!rcase_open(&ref, desc, NULL) || !rcase_open(&got, desc, NULL)) {
        rcase_close(&ref);
        rcase_close(&got);
        return;
    }
    const char *why = impl->unsupported(&got.s);
    if (why) {
        /* the libraries this build lacks, or a CPU without AVX-512, not the options */
        CHECK_MSG(strstr(why, "cpuid") || strstr(why, "built without") || strstr(why, "AVX"),
                  "%s %s unsupported: %s", impl->name, desc, why);
    } else {
        mb_set_threads(1);
        int ok = rcase_run(&ref, &mb_impl_naive);
        mb_set_threads(threads);
        ok = ok && rcase_run(&got, impl);
        if (ok) {
            int64_t bad = -1;
            CHECK_MSG(!mb_routing_equal(&got.info.routing, &ref.info.routing, &bad),
                      "%s %s threads=%d: routing differs at token %lld", impl->name, desc,
                      threads, (long long)bad);
            for (int64_t e = 0; e < ref.s.E; e++)
                CHECK(got.info.routing.counts[e] == ref.info.routing.counts[e]);
            CHECK(got.info.routing.n_dropped == ref.info.routing.n_dropped);
            CHECK(got.info.routing.n_chosen == ref.info.routing.n_chosen);
            CHECK_NEAR(got.info.routing.aux_loss, ref.info.routing.aux_loss, 1e-4);
            mb_cmp c = mb_compare(&ref.s, &got.y, &ref.y);
            CHECK_MSG(c.pass, "%s %s threads=%d: max_abs_err %g (atol %g)", impl->name, desc,
                      threads, c.max_abs_err, c.atol);
        }
    }
    rcase_close(&ref);
    rcase_close(&got);
}

static const char *cases[] = {
    "sparse_mlp:T=64,h=32,f=48,E=4,k=2,cap=1,shared=1",
    "sparse_mlp:T=64,h=32,f=48,E=4,topp=0.5",
    "sparse_mlp:T=64,h=32,f=48,E=4,k=3,topp=0.9,cap=1",
    "sparse_mlp:T=64,h=32,f=48,E=4,k=2,route=zipf:1.5,shard=1,shared=2",
    "sparse_mlp:T=300,h=32,f=48,E=8,k=2,route=hot:0.9",
    "sparse_mlp:T=300,h=32,f=48,E=8,k=2,route=balanced,cap=1.25",
    /* one expert owns most rows and f is wide enough for the default tiling of the experts'
     * group (mb_gemm_group) to cut gate and up by columns and the down projection by rows */
    "sparse_mlp:T=300,h=64,f=512,E=8,k=2,route=hot:0.9",
    /* top-4: 4T routed rows, twice the grouped workspace: experts run in batches */
    "sparse_mlp:T=64,h=32,f=48,E=8,k=4,route=zipf:1.0",
    "mixlora:T=64,h=32,f=48,r=4,E=4,k=2,route=hot:0.5,shared=2,cap=1.25",
    "mixlora:T=64,h=32,f=48,r=4,E=4,k=2,route=balanced,shared=1,share=none",
    "mixlora:T=64,h=32,f=48,r=4,E=4,topp=0.6,share=gate_up",
    "mixlora:T=64,h=32,f=48,r=4,E=4,k=2,cap=1,shared=1",
    "mixlora:T=300,h=32,f=48,r=4,E=8,k=2,route=hot:0.9",
    "router:T=300,h=32,E=8,k=2,route=zipf:1.0,cap=1",
    "router:T=64,h=32,E=8,topp=0.7",
};

int main(void)
{
    test_capacity(&mb_impl_naive);
    test_capacity(&mb_impl_blas);
    test_topp(&mb_impl_naive);
    test_topp(&mb_impl_blas);
    test_balanced_hot(&mb_impl_naive);
    test_balanced_hot(&mb_impl_blas);
    test_zipf(&mb_impl_naive);
    test_zipf(&mb_impl_blas);
    const mb_impl *impls[] = {&mb_impl_blas, &mb_impl_onednn, &mb_impl_avx512, &mb_impl_merged};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (size_t j = 0; j < sizeof impls / sizeof *impls; j++) {
            if (impls[j] == &mb_impl_merged && strncmp(cases[i], "mixlora", 7))
                continue;   /* sparse_mlp and router have nothing to merge */
            for (int th = 1; th <= 2; th++)
                check_impl(impls[j], cases[i], th);
        }
    return mb_test_result("test_routing_options");
}
