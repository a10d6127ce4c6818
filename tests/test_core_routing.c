/* Softmax, top-k, routing statistics and grouping on hand-computed values. */
#include <math.h>
#include <omp.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"

static void test_softmax(void)
{
    float z[3] = {1.0f, 2.0f, 3.0f}, p[3];
    double lse = mb_softmax(z, 3, p);
    /* e^1, e^2, e^3 over their sum 30.19287485; lse = log(30.19287485) */
    CHECK_NEAR(p[0], 0.0900305732, 1e-7);
    CHECK_NEAR(p[1], 0.2447284711, 1e-7);
    CHECK_NEAR(p[2], 0.6652409558, 1e-7);
    CHECK_NEAR(lse, 3.4076059644, 1e-9);
    /* Max subtraction: huge logits stay finite. */
    float big[2] = {1000.0f, 1000.0f};
    lse = mb_softmax(big, 2, p);
    CHECK_NEAR(p[0], 0.5, 1e-7);
    CHECK_NEAR(p[1], 0.5, 1e-7);
    CHECK_NEAR(lse, 1000.0 + log(2.0), 1e-9);
}

static void test_topk(void)
{
    float p[5] = {0.2f, 0.3f, 0.1f, 0.3f, 0.1f};
    int32_t idx[5];
    mb_topk(p, 5, 5, idx);
    int32_t want[5] = {1, 3, 0, 2, 4};   /* ties go to the lower index */
    CHECK(!memcmp(idx, want, sizeof want));
    mb_topk(p, 5, 2, idx);
    CHECK(idx[0] == 1 && idx[1] == 3);
    float flat[4] = {0.25f, 0.25f, 0.25f, 0.25f};
    mb_topk(flat, 4, 3, idx);
    CHECK(idx[0] == 0 && idx[1] == 1 && idx[2] == 2);
    float nan_p[3] = {NAN, 0.5f, 0.1f};
    mb_topk(nan_p, 3, 3, idx);
    CHECK(idx[0] == 1 && idx[1] == 2 && idx[2] == 0);   /* NaN last, every slot filled */
}

static void route(const float *z, int64_t T, int64_t E, int64_t k, mb_routing *r)
{
    mb_err err;
    CHECK(mb_routing_alloc(r, T, E, k, &err) == MB_OK);
    CHECK_MSG(mb_route(z, T, E, k, r, NULL, &err) == MB_OK, "%s", err.msg);
}

static void test_balanced(void)
{
    /* Token t's logits are a rotation of v by t: over E tokens every expert gets the same mean
     * probability 1/E and is in exactly k top-k lists, so F_e = k/E, P_e = 1/E, L_aux = k. */
    enum { E = 4, K = 2 };
    float v[E] = {0.5f, 2.0f, -1.0f, 1.25f}, z[E * E];
    for (int t = 0; t < E; t++)
        for (int e = 0; e < E; e++)
            z[t * E + e] = v[(e - t + E) % E];
    mb_routing r;
    route(z, E, E, K, &r);
    CHECK_NEAR(r.aux_loss, (double)K, 1e-6);
    for (int e = 0; e < E; e++)
        CHECK(r.counts[e] == K);
    CHECK_NEAR(mb_routing_load_max(&r), 1.0, 1e-12);
    for (int t = 0; t < E; t++) {
        CHECK_NEAR(r.w[t * K] + r.w[t * K + 1], 1.0, 1e-6);
        CHECK(r.w[t * K] >= r.w[t * K + 1]);
        CHECK(r.idx[t * K] == (1 + t) % E);       /* largest v (2.0) rotated */
        CHECK(r.idx[t * K + 1] == (3 + t) % E);   /* second (1.25) */
    }
    /* Renormalised weight of the best expert: e^2 / (e^2 + e^1.25) */
    CHECK_NEAR(r.w[0], exp(2.0) / (exp(2.0) + exp(1.25)), 1e-6);
    mb_routing_free(&r);
}

static void test_unbalanced(void)
{
    /* Token 0: z = (ln 3, 0) -> p = (0.75, 0.25); token 1: z = (0, 0) -> p = (0.5, 0.5), tie to
     * expert 0. k = 1: F = (1, 0), P = (0.625, 0.375), L_aux = 2 * 0.625 = 1.25.
     * lse = ln 4 and ln 2: z-loss = ((2 ln 2)^2 + (ln 2)^2) / 2 = 2.5 (ln 2)^2. */
    float z[4] = {(float)log(3.0), 0.0f, 0.0f, 0.0f};
    mb_routing r;
    float p[4];
    mb_err err;
    CHECK(mb_routing_alloc(&r, 2, 2, 1, &err) == MB_OK);
    CHECK(mb_route(z, 2, 2, 1, &r, p, &err) == MB_OK);
    CHECK(r.idx[0] == 0 && r.idx[1] == 0);
    CHECK(r.counts[0] == 2 && r.counts[1] == 0);
    CHECK_NEAR(r.w[0], 1.0, 1e-7);
    CHECK_NEAR(p[0], 0.75, 1e-7);
    CHECK_NEAR(p[3], 0.5, 1e-7);
    CHECK_NEAR(r.aux_loss, 1.25, 1e-7);
    CHECK_NEAR(r.z_loss, 2.5 * log(2.0) * log(2.0), 1e-7);
    CHECK_NEAR(mb_routing_load_max(&r), 2.0, 1e-12);
    /* Wrongly sized buffers are refused. */
    CHECK(mb_route(z, 2, 2, 2, &r, NULL, &err) == MB_EINVAL);
    mb_routing_free(&r);
    CHECK(mb_routing_alloc(&r, 4, 2, 3, &err) == MB_EINVAL);
}

static void test_group_and_equal(void)
{
    mb_routing r;
    mb_err err;
    CHECK(mb_routing_alloc(&r, 3, 3, 2, &err) == MB_OK);
    int32_t idx[6] = {2, 0, 0, 1, 2, 1};
    memcpy(r.idx, idx, sizeof idx);
    int64_t off[4];
    int32_t tok[6], slot[6];
    mb_routing_group(&r, off, tok, slot);
    int64_t want_off[4] = {0, 2, 4, 6};
    int32_t want_tok[6] = {0, 1, 1, 2, 0, 2}, want_slot[6] = {1, 0, 1, 1, 0, 0};
    CHECK(!memcmp(off, want_off, sizeof off));
    CHECK(!memcmp(tok, want_tok, sizeof tok));
    CHECK(!memcmp(slot, want_slot, sizeof slot));

    mb_routing q;
    CHECK(mb_routing_alloc(&q, 3, 3, 2, &err) == MB_OK);
    memcpy(q.idx, idx, sizeof idx);
    int64_t bad = 99;
    CHECK(mb_routing_equal(&r, &q, &bad) == 0 && bad == -1);
    q.idx[3] = 2;
    CHECK(mb_routing_equal(&r, &q, &bad) != 0 && bad == 1);
    mb_routing_free(&q);
    CHECK(mb_routing_alloc(&q, 3, 3, 1, &err) == MB_OK);
    CHECK(mb_routing_equal(&r, &q, &bad) != 0);
    mb_routing_free(&q);
    mb_routing_free(&r);
}

/* Many tokens (several parallel blocks): same result on 1 and 2 threads, and the statistics
 * agree with a plain sequential computation from the probabilities. */
static void test_many_tokens(void)
{
    enum { T = 1100, E = 7, K = 3 };
    static float z[T * E], p[T * E];
    for (int i = 0; i < T * E; i++)
        z[i] = (float)sin(0.37 * i) * 3.0f;
    mb_routing a, b;
    mb_err err;
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    CHECK(mb_routing_alloc(&a, T, E, K, &err) == MB_OK);
    CHECK(mb_route(z, T, E, K, &a, p, &err) == MB_OK);
    omp_set_num_threads(2);
    CHECK(mb_routing_alloc(&b, T, E, K, &err) == MB_OK);
    CHECK(mb_route(z, T, E, K, &b, NULL, &err) == MB_OK);
    omp_set_num_threads(saved);
    CHECK(a.aux_loss == b.aux_loss && a.z_loss == b.z_loss);
    CHECK(!memcmp(a.idx, b.idx, sizeof(int32_t) * T * K) &&
          !memcmp(a.w, b.w, sizeof(float) * T * K));
    double P[E] = {0}, zs = 0;
    int64_t F[E] = {0}, total = 0;
    for (int t = 0; t < T; t++) {
        /* p recomputed here from z (not taken from mb_route's p_out), so an error in
         * mb_route's softmax cannot cancel out of the L_aux check */
        double m = -INFINITY, s = 0, pt[E];
        for (int e = 0; e < E; e++)
            m = fmax(m, z[t * E + e]);
        for (int e = 0; e < E; e++)
            s += exp(z[t * E + e] - m);
        for (int e = 0; e < E; e++) {
            pt[e] = exp(z[t * E + e] - m) / s;
            P[e] += pt[e];
            /* mb_route's p_out is the same softmax, rounded to fp32 */
            CHECK_NEAR(p[t * E + e], pt[e], 1e-7);
        }
        zs += (m + log(s)) * (m + log(s));
        double norm = 0;
        for (int j = 0; j < K; j++) {
            F[a.idx[t * K + j]]++;
            norm += pt[a.idx[t * K + j]];
        }
        /* descending p, and the chosen ones are the K largest */
        for (int j = 1; j < K; j++)
            CHECK(pt[a.idx[t * K + j - 1]] >= pt[a.idx[t * K + j]]);
        double kth = pt[a.idx[t * K + K - 1]];
        int larger = 0;
        for (int e = 0; e < E; e++)
            larger += pt[e] > kth;
        CHECK(larger <= K - 1);
        for (int j = 0; j < K; j++)
            CHECK_NEAR(a.w[t * K + j], pt[a.idx[t * K + j]] / norm, 1e-6);
    }
    double aux = 0;
    for (int e = 0; e < E; e++) {
        aux += (double)F[e] / T * P[e] / T;
        CHECK(a.counts[e] == F[e]);
        total += a.counts[e];
    }
    CHECK(total == (int64_t)T * K);
    /* mb_route sums fp32-rounded p, this sum is of double p: ~1e-8 apart */
    CHECK_NEAR(a.aux_loss, E * aux, 1e-6);
    CHECK_NEAR(a.z_loss, zs / T, 1e-9);
    mb_routing_free(&a);
    mb_routing_free(&b);
}

static void test_activations(void)
{
    CHECK_NEAR(mb_act_apply(MB_ACT_SILU, 1.0), 0.7310585786, 1e-9);
    CHECK_NEAR(mb_act_apply(MB_ACT_SILU, -2.0), -0.2384058440, 1e-9);
    CHECK_NEAR(mb_act_apply(MB_ACT_GELU, 1.0), 0.8413447461, 1e-9);
    CHECK_NEAR(mb_act_apply(MB_ACT_GELU, -0.5), -0.1542687694, 1e-9);
    CHECK(mb_act_apply(MB_ACT_RELU, -1.0) == 0.0 && mb_act_apply(MB_ACT_RELU, 2.5) == 2.5);
    float x[3] = {1.0f, 1.0f, -3.0f};
    mb_act_inplace(MB_ACT_GELU, x, 2);
    CHECK_NEAR(x[0], 0.8413447461, 1e-6);
    CHECK(x[2] == -3.0f);
    CHECK_NEAR(mb_act_applyf(MB_ACT_SILU, 1.0f), 0.7310585786, 1e-6);
}

int main(void)
{
    test_softmax();
    test_topk();
    test_balanced();
    test_unbalanced();
    test_group_and_equal();
    test_many_tokens();
    test_activations();
    return mb_test_result("test_core_routing");
}
