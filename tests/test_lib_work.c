/* The kernels' own work counts (moebench/work.h, exported as the SDE events
 * sde:::moebench::*) against the cost model (kernels/core/cost.c), on every variant of
 * moebench/variants.def and every implementation that counts (blas, onednn, merged; avx512
 * where it runs without a fused kernel): FLOPs, weights touched and compulsory bytes within
 * 1 %, routed rows and experts hit exactly. The counts are taken around one forward, as the
 * harness's counter pass takes them around its forwards. */
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"

static const char *const cases[] = {
    "lora:T=1,h=64,o=48,r=8",
    "lora:T=7,h=67,o=129,r=1",
    "mlp_lora:T=7,h=67,f=129,r=2",
    "molora:T=7,h=67,o=33,r=1,E=8",
    "moelora:B=3,S=5,h=67,o=33,r=8,E=8,tasks=2,te=8",
    "moelora:B=1,S=1,h=64,o=48,r=8,E=4,tasks=3,te=16",
    "moelora:B=6,S=2,h=32,o=16,r=4,E=2,tasks=1,te=8",    /* tasks repeat in the batch */
    "mixlora:T=1,h=32,f=48,r=4,E=8,k=2,share=none",      /* experts without rows */
    "mixlora:T=7,h=67,f=129,r=2,E=4,k=2,share=none",
    "mixlora:T=7,h=67,f=129,r=2,E=4,k=2,share=gate_up",
    "mixlora:T=7,h=67,f=129,r=2,E=4,k=2,share=all",
    "mor1e:B=3,S=5,h=67,o=33,r=2",
    "sparse_mlp:T=1,h=32,f=48,E=8,k=2",
    "sparse_mlp:T=7,h=67,f=129,E=4,k=2",
    "sparse_mlp:T=33,h=32,f=64,E=8,k=2,shard=1",
    "router:T=7,h=64,E=16,k=3",
};

static const char *const impls[] = {"blas", "onednn", "merged", "avx512"};

static int64_t work[MB_WORK_COUNT];

static void snap(int64_t *v)
{
    for (int k = 0; k < MB_WORK_COUNT; k++)
        v[k] = mb_work_read((mb_work_kind)k);
}

static int within(double got, double want, double rel)
{
    return want == 0 ? got == 0 : fabs(got - want) <= rel * fabs(want);
}

/* The delta of every counter over one forward of impl on s; 0 when it ran. */
static int one_forward(const mb_impl *impl, const mb_spec *s, const mb_weights *w,
                       const mb_inputs *in, mb_tensor *y, mb_forward_info *info, int64_t *d)
{
    mb_err err;
    mb_err_clear(&err);
    mb_state *st = NULL;
    mb_status rc = impl->prepare(s, w, &st, &err);
    CHECK_MSG(rc == MB_OK, "%s prepare: %s", impl->name, err.msg);
    if (rc != MB_OK)
        return -1;
    int64_t a[MB_WORK_COUNT], b[MB_WORK_COUNT];
    snap(a);
    rc = impl->forward(st, in, y, info, &err);
    snap(b);
    CHECK_MSG(rc == MB_OK, "%s forward: %s", impl->name, err.msg);
    impl->release(st);
    for (int k = 0; k < MB_WORK_COUNT; k++)
        d[k] = b[k] - a[k];
    return rc == MB_OK ? 0 : -1;
}

static int check_case(const char *desc, int *covered)
{
    mb_spec s;
    mb_err err;
    mb_err_clear(&err);
    mb_status rc = mb_spec_parse(desc, &s, &err);
    if (rc == MB_OK) rc = mb_spec_validate(&s, 0, &err);
    CHECK_MSG(rc == MB_OK, "%s: %s", desc, err.msg);
    if (rc != MB_OK) return 0;
    mb_weights w;
    mb_inputs in;
    mb_tensor y;
    mb_forward_info info;
    memset(&w, 0, sizeof w); memset(&in, 0, sizeof in);
    memset(&y, 0, sizeof y); memset(&info, 0, sizeof info);
    rc = mb_weights_create(&s, &w, &err);
    if (rc == MB_OK) rc = mb_inputs_create(&s, &in, &err);
    if (rc == MB_OK) rc = mb_output_alloc(&s, &y, &err);
    if (rc == MB_OK) rc = mb_forward_info_alloc(&s, &info, &err);
    CHECK_MSG(rc == MB_OK, "%s: setup: %s", desc, err.msg);
    int compared = 0;
    for (size_t i = 0; rc == MB_OK && i < sizeof impls / sizeof impls[0]; i++) {
        const mb_impl *impl = mb_impl_find(impls[i]);
        if (!impl || impl->unsupported(&s))
            continue;   /* merged has no form for some variants; a library may be missing */
        const char *unc = mb_work_uncounted(impl->name, &s);
        if (unc) {
            /* only avx512's fused kernels may not count */
            CHECK_MSG(!strcmp(impl->name, "avx512"), "%s %s: %s", desc, impl->name, unc);
            continue;
        }
        int64_t d[MB_WORK_COUNT], d2[MB_WORK_COUNT];
        if (one_forward(impl, &s, &w, &in, &y, &info, d) ||
            one_forward(impl, &s, &w, &in, &y, &info, d2))
            continue;
        const int64_t *counts = mb_variant_routed(s.variant) ? info.routing.counts : NULL;
        mb_cost c = mb_cost_of_impl(&s, impl->name, counts);
        if (s.variant == MB_MOELORA) {
            /* the cost model reads min(B, tasks+1) task rows (or merged weights W'_t): an upper
             * bound, exact when the batch's tasks are distinct; here the tasks present */
            const int32_t *task = mb_i32(&in.task);
            int64_t present = 0, bound = s.B < s.tasks + 1 ? s.B : s.tasks + 1;
            for (int64_t b = 0; b < s.B; b++) {
                int seen = 0;
                for (int64_t b2 = 0; b2 < b; b2++) seen |= task[b2] == task[b];
                present += !seen;
            }
            double per = !strcmp(impl->name, "merged") ? (double)s.o * s.h : (double)s.te;
            c.weight_bytes -= (double)(bound - present) * per * sizeof(float);
            c.bytes -= (double)(bound - present) * per * sizeof(float);
        }
        const double fl = (double)d[MB_WORK_FLOPS], wb = (double)d[MB_WORK_WEIGHT_BYTES];
        const double by = wb + (double)d[MB_WORK_IO_BYTES];
        CHECK_MSG(within(fl, c.flops, 0.01), "%s %s: flops counted %.0f, cost model %.0f", desc,
                  impl->name, fl, c.flops);
        CHECK_MSG(within(wb, c.weight_bytes, 0.01),
                  "%s %s: weight bytes counted %.0f, cost model %.0f", desc, impl->name, wb,
                  c.weight_bytes);
        CHECK_MSG(within(by, c.bytes, 0.01), "%s %s: bytes counted %.0f, cost model %.0f", desc,
                  impl->name, by, c.bytes);
        /* each weight counts once per forward, again in the next one; reuse only in streamed */
        CHECK_MSG(d2[MB_WORK_WEIGHT_BYTES] == d[MB_WORK_WEIGHT_BYTES],
                  "%s %s: weight bytes %lld then %lld", desc, impl->name,
                  (long long)d[MB_WORK_WEIGHT_BYTES], (long long)d2[MB_WORK_WEIGHT_BYTES]);
        CHECK(d[MB_WORK_WEIGHT_BYTES_STREAMED] >= d[MB_WORK_WEIGHT_BYTES]);
        CHECK(d[MB_WORK_GEMM_CALLS] > 0);
        const int64_t T = mb_spec_T(&s);
        if (counts) {
            int64_t hit = 0;
            for (int64_t e = 0; e < s.E; e++)
                hit += counts[e] > 0;
            CHECK_MSG(d[MB_WORK_ROWS_ROUTED] == T * s.k, "%s %s: rows routed %lld, T k = %lld",
                      desc, impl->name, (long long)d[MB_WORK_ROWS_ROUTED], (long long)(T * s.k));
            CHECK_MSG(d[MB_WORK_EXPERTS_HIT] == hit, "%s %s: experts hit %lld, counts say %lld",
                      desc, impl->name, (long long)d[MB_WORK_EXPERTS_HIT], (long long)hit);
        } else {
            CHECK(d[MB_WORK_ROWS_ROUTED] == 0 && d[MB_WORK_EXPERTS_HIT] == 0);
        }
        /* the provider forms gather every assignment's row once per gathered tensor and add
         * it back once per scattered one (merged mixlora runs as a sparse_mlp) */
        int64_t gathers = 0, scatters = 0;
        if (s.variant == MB_SPARSE_MLP || (s.variant == MB_MIXLORA && !strcmp(impl->name, "merged")))
            gathers = scatters = 1;
        else if (s.variant == MB_MIXLORA) {
            gathers = s.share == MB_SHARE_NONE ? 1 : 3;
            scatters = s.share == MB_SHARE_ALL ? 2 : 1;
        }
        CHECK_MSG(d[MB_WORK_ROWS_GATHERED] == gathers * T * s.k * (gathers > 0),
                  "%s %s: rows gathered %lld", desc, impl->name,
                  (long long)d[MB_WORK_ROWS_GATHERED]);
        CHECK_MSG(d[MB_WORK_ROWS_SCATTERED] == scatters * T * s.k * (scatters > 0),
                  "%s %s: rows scattered %lld", desc, impl->name,
                  (long long)d[MB_WORK_ROWS_SCATTERED]);
        compared++;
    }
    /* the naive reference counts nothing, and says so */
    if (rc == MB_OK) {
        int64_t d[MB_WORK_COUNT];
        CHECK(mb_work_uncounted("naive", &s) != NULL);
        if (one_forward(&mb_impl_naive, &s, &w, &in, &y, &info, d) == 0)
            CHECK_MSG(d[MB_WORK_FLOPS] == 0 && d[MB_WORK_GEMM_CALLS] == 0,
                      "%s naive counted %lld flops", desc, (long long)d[MB_WORK_FLOPS]);
    }
    if (compared)
        covered[s.variant] = 1;
    mb_forward_info_free(&info);
    mb_tensor_free(&y);
    mb_inputs_free(&in);
    mb_weights_free(&w);
    return compared;
}

int main(void)
{
    (void)work;
    int covered[MB_NUM_VARIANTS] = {0};
    CHECK(mb_work_find("flops") == MB_WORK_FLOPS);
    CHECK(mb_work_find("sde:::moebench::rows_routed") == MB_WORK_ROWS_ROUTED);
    CHECK(mb_work_find("nope") == -1);
    for (int threads = 1; threads <= 2; threads++) {
        mb_set_threads(threads);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            check_case(cases[c], covered);
    }
    /* every variant of the table was compared by at least one implementation */
    for (int v = 0; v < MB_NUM_VARIANTS; v++)
        CHECK_MSG(covered[v], "variant %s: no counted implementation compared",
                  mb_variant_name((mb_variant_id)v));
    return mb_test_result("test_lib_work");
}
