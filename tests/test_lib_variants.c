/* Every variant x {blas, onednn, merged} against the naive reference on small shapes that hit
 * the edges: T = 1, T not a multiple of any block (7, 33), experts without tokens (T=1, E=8,
 * k=2), k = E, r = 1, odd widths (67, 129), several sequences and tasks; on 1 and 2 threads.
 * Routing is compared first (same experts, same order), then gates, then values (mb_compare). */
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"

static const char *const cases[] = {
    "lora:T=1,h=64,o=48,r=8",
    "lora:T=7,h=67,o=129,r=1",
    "lora:T=33,h=64,o=64,r=16,alpha=8",
    "mlp_lora:T=1,h=32,f=67,r=4",
    "mlp_lora:T=7,h=67,f=129,r=1",
    "mlp_lora:T=33,h=48,f=96,r=8,act=gelu",
    "molora:T=1,h=64,o=48,r=4,E=4",
    "molora:T=7,h=67,o=33,r=1,E=8",
    "molora:T=33,h=32,o=64,r=2,E=3",
    "moelora:B=1,S=1,h=64,o=48,r=8,E=4,tasks=3,te=16",
    "moelora:B=3,S=5,h=67,o=33,r=8,E=8,tasks=2,te=8",
    "moelora:B=4,S=8,h=32,o=64,r=4,E=2,tasks=8,te=16",
    "mixlora:T=1,h=32,f=48,r=4,E=8,k=2,share=none",
    "mixlora:T=1,h=32,f=48,r=4,E=8,k=2,share=gate_up",
    "mixlora:T=1,h=32,f=48,r=4,E=8,k=2,share=all",
    "mixlora:T=7,h=67,f=129,r=1,E=4,k=4,share=none",
    "mixlora:T=7,h=67,f=129,r=1,E=4,k=4,share=gate_up",
    "mixlora:T=7,h=67,f=129,r=1,E=4,k=4,share=all",
    "mixlora:T=33,h=32,f=64,r=8,E=8,k=2,act=relu,share=none",
    "mixlora:T=33,h=32,f=64,r=8,E=8,k=2,share=gate_up",
    "mixlora:T=33,h=32,f=64,r=8,E=8,k=2,share=all",
    "mor1e:B=1,S=1,h=64,o=48,r=8",
    "mor1e:B=3,S=5,h=67,o=33,r=1",
    "mor1e:B=2,S=16,h=32,o=64,r=16",
    "sparse_mlp:T=1,h=32,f=48,E=8,k=2",
    "sparse_mlp:T=7,h=67,f=129,E=4,k=4",
    "sparse_mlp:T=33,h=32,f=64,E=8,k=2,shard=1",
    /* big enough for the OpenMP-parallel gather / scatter / activation loops to engage */
    "mixlora:T=128,h=264,f=520,r=2,E=2,k=2,share=all",
    "sparse_mlp:T=128,h=264,f=520,E=2,k=2",
    "router:T=1,h=32,E=8,k=2",
    "router:T=33,h=67,E=4,k=4",
    "router:T=7,h=64,E=16,k=3",
};

static const char *const impls[] = { "blas", "onednn", "merged" };
#define NIMPL ((int)(sizeof impls / sizeof impls[0]))
static int ran[NIMPL];   /* cases each implementation actually ran (not skipped) */

static int64_t gate_len(const mb_spec *s)
{
    switch (s->variant) {
    case MB_MOLORA: return mb_spec_T(s) * s->E;
    case MB_MOELORA: return s->B * s->E;
    case MB_MOR1E: return mb_spec_T(s) * s->r;
    default: return 0;
    }
}

static void check_case(const char *desc, const mb_impl *impl, int threads, int *nran)
{
    mb_spec s;
    mb_err err;
    mb_err_clear(&err);
    mb_status rc = mb_spec_parse(desc, &s, &err);
    if (rc == MB_OK) rc = mb_spec_validate(&s, 0, &err);
    CHECK_MSG(rc == MB_OK, "%s: %s", desc, err.msg);
    if (rc != MB_OK) return;
    const char *why = impl->unsupported(&s);
    if (!strcmp(impl->name, "merged")) {
        const char *want = NULL;
        if (s.variant == MB_MOLORA || s.variant == MB_MOR1E) want = "gate depends on the token";
        if (s.variant == MB_SPARSE_MLP || s.variant == MB_ROUTER) want = "no adapter";
        if (want) {
            CHECK_MSG(why && !strcmp(why, want), "%s merged: reason '%s', want '%s'", desc,
                      why ? why : "(none)", want);
            mb_state *st = NULL;
            CHECK(impl->prepare(&s, NULL, &st, &err) == MB_EUNSUPPORTED && st == NULL);
            return;
        }
    }
    if (why) {
        /* only a library missing from the build may skip */
        CHECK_MSG(!strncmp(why, "built without", 13), "%s %s unsupported: %s", desc, impl->name,
                  why);
        return;
    }
    mb_weights w;
    mb_inputs in;
    mb_tensor y, yref;
    mb_forward_info info, iref;
    memset(&w, 0, sizeof w); memset(&in, 0, sizeof in);
    memset(&y, 0, sizeof y); memset(&yref, 0, sizeof yref);
    memset(&info, 0, sizeof info); memset(&iref, 0, sizeof iref);
    rc = mb_weights_create(&s, &w, &err);
    if (rc == MB_OK) rc = mb_inputs_create(&s, &in, &err);
    if (rc == MB_OK) rc = mb_output_alloc(&s, &y, &err);
    if (rc == MB_OK) rc = mb_output_alloc(&s, &yref, &err);
    if (rc == MB_OK) rc = mb_forward_info_alloc(&s, &info, &err);
    if (rc == MB_OK) rc = mb_forward_info_alloc(&s, &iref, &err);
    CHECK_MSG(rc == MB_OK, "%s: setup: %s", desc, err.msg);
    if (rc == MB_OK) {
        /* poison the output: an implementation must write every element */
        for (int64_t i = 0; i < mb_tensor_numel(&y); i++) mb_f32(&y)[i] = 1e30f;
        rc = mb_run_once(&mb_impl_naive, &s, &w, &in, &yref, &iref, &err);
        CHECK_MSG(rc == MB_OK, "%s naive: %s", desc, err.msg);
    }
    if (rc == MB_OK) {
        rc = mb_run_once(impl, &s, &w, &in, &y, &info, &err);
        CHECK_MSG(rc == MB_OK, "%s %s: %s", desc, impl->name, err.msg);
        (*nran)++;
    }
    if (rc == MB_OK) {
        int routing_ok = 1;
        if (mb_variant_routed(s.variant)) {
            int64_t bad = -1;
            routing_ok = mb_routing_equal(&info.routing, &iref.routing, &bad) == 0;
            CHECK_MSG(routing_ok, "%s %s threads=%d: routing differs at token %lld", desc,
                      impl->name, threads, (long long)bad);
            for (int64_t e = 0; routing_ok && e < s.E; e++)
                CHECK(info.routing.counts[e] == iref.routing.counts[e]);
            CHECK_NEAR(info.routing.aux_loss, iref.routing.aux_loss, 1e-5);
        }
        const int64_t ng = gate_len(&s);
        for (int64_t i = 0; i < ng && info.gate && iref.gate; i++)
            CHECK_NEAR(info.gate[i], iref.gate[i], 1e-5 * (1.0 + fabs(iref.gate[i])));
        if (routing_ok) {
            mb_cmp c = mb_compare(&s, &y, &yref);
            CHECK_MSG(c.pass, "%s %s threads=%d: max_abs_err %g (atol %g) first bad %lld", desc,
                      impl->name, threads, c.max_abs_err, c.atol, (long long)c.first_bad);
        }
    }
    mb_forward_info_free(&info);
    mb_forward_info_free(&iref);
    mb_tensor_free(&y);
    mb_tensor_free(&yref);
    mb_inputs_free(&in);
    mb_weights_free(&w);
}

/* Bad inputs are errors with a reason, never crashes: out-of-range task ids, weights that do
 * not match the spec. */
static void bad_inputs(const mb_impl *impl)
{
    if (impl->unsupported == NULL) return;
    mb_spec s, s2;
    mb_err err;
    mb_weights w;
    mb_inputs in;
    mb_tensor y;
    memset(&w, 0, sizeof w); memset(&in, 0, sizeof in); memset(&y, 0, sizeof y);
    CHECK(mb_spec_parse("moelora:B=2,S=3,h=32,o=16,r=4,E=2,tasks=3,te=8", &s, &err) == MB_OK);
    if (impl->unsupported(&s)) return;
    CHECK(mb_weights_create(&s, &w, &err) == MB_OK);
    CHECK(mb_inputs_create(&s, &in, &err) == MB_OK);
    CHECK(mb_output_alloc(&s, &y, &err) == MB_OK);
    mb_i32(&in.task)[1] = 4;   /* tasks + 1 embeddings: ids 0..3 */
    mb_err_clear(&err);
    CHECK(mb_run_once(impl, &s, &w, &in, &y, NULL, &err) == MB_EINVAL);
    CHECK_MSG(strstr(err.msg, "task") != NULL, "%s: reason '%s'", impl->name, err.msg);
    /* the same weights under a spec with another rank: refused in prepare */
    s2 = s;
    s2.r = 2;
    mb_state *st = NULL;
    mb_err_clear(&err);
    CHECK(impl->prepare(&s2, &w, &st, &err) == MB_EINVAL && st == NULL);
    CHECK(err.msg[0] != '\0');
    mb_tensor_free(&y);
    mb_inputs_free(&in);
    mb_weights_free(&w);
}

/* Forward refuses, with a message, inputs / outputs / routing buffers of the wrong shape
 * (mb_check_io in mb_variant_forward): never reads or writes past them. */
static const char *const io_impls[] = { "blas", "onednn", "avx512", "merged" };

static void expect_refused(const mb_impl *impl, const mb_spec *s, const mb_weights *w,
                           const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                           const char *what, const char *word)
{
    mb_err err;
    mb_err_clear(&err);
    mb_status rc = mb_run_once(impl, s, w, in, y, info, &err);
    CHECK_MSG(rc == MB_EINVAL, "%s %s %s: status %d, want EINVAL", mb_variant_name(s->variant),
              impl->name, what, (int)rc);
    CHECK_MSG(strstr(err.msg, word) != NULL, "%s %s %s: reason '%s' does not name '%s'",
              mb_variant_name(s->variant), impl->name, what, err.msg, word);
}

static int bad_shapes(const mb_impl *impl)
{
    static const char *const descs[] = {
        "mixlora:T=5,h=16,f=24,r=2,E=4,k=2",
        "moelora:B=2,S=3,h=32,o=16,r=4,E=2,tasks=3,te=8",
        "mor1e:B=2,S=3,h=32,o=16,r=4",
        "sparse_mlp:T=5,h=16,f=24,E=4,k=2",
    };
    int tested = 0;
    for (size_t d = 0; d < sizeof descs / sizeof descs[0]; d++) {
        mb_spec s;
        mb_err err;
        CHECK(mb_spec_parse(descs[d], &s, &err) == MB_OK);
        if (impl->unsupported(&s)) continue;   /* merged: sparse_mlp; a missing library */
        tested++;
        mb_weights w;
        mb_inputs in;
        mb_tensor y, ybad;
        mb_forward_info info, ibad;
        memset(&w, 0, sizeof w); memset(&in, 0, sizeof in);
        memset(&y, 0, sizeof y); memset(&ybad, 0, sizeof ybad);
        memset(&info, 0, sizeof info); memset(&ibad, 0, sizeof ibad);
        mb_spec s2 = s;
        s2.S = s.S + 1;   /* one token more per sequence: every [T, .] buffer is too big */
        mb_status rc = mb_weights_create(&s, &w, &err);
        if (rc == MB_OK) rc = mb_inputs_create(&s, &in, &err);
        if (rc == MB_OK) rc = mb_output_alloc(&s, &y, &err);
        if (rc == MB_OK) rc = mb_forward_info_alloc(&s, &info, &err);
        CHECK_MSG(rc == MB_OK, "%s: setup: %s", descs[d], err.msg);
        if (rc == MB_OK) {
            /* y [T+B, out] and y [T, out+1] */
            CHECK(mb_output_alloc(&s2, &ybad, &err) == MB_OK);
            expect_refused(impl, &s, &w, &in, &ybad, &info, "y with more rows", "output y");
            mb_tensor_free(&ybad);
            const int64_t shp[2] = { mb_spec_T(&s), mb_spec_out_width(&s) + 1 };
            CHECK(mb_tensor_alloc(&ybad, MB_F32, 2, shp, &err) == MB_OK);
            expect_refused(impl, &s, &w, &in, &ybad, &info, "y too wide", "output y");
            mb_tensor_free(&ybad);
            /* X of another spec */
            mb_inputs in2;
            memset(&in2, 0, sizeof in2);
            CHECK(mb_inputs_create(&s2, &in2, &err) == MB_OK);
            mb_tensor X = in.X;
            in.X = in2.X;
            expect_refused(impl, &s, &w, &in, &y, &info, "X with more rows", "input X");
            in.X = X;
            if (s.variant == MB_MOR1E) {   /* R [B, r+1] */
                mb_tensor R = in.R;
                const int64_t rs[2] = { s.B, s.r + 1 };
                CHECK(mb_tensor_alloc(&in.R, MB_F32, 2, rs, &err) == MB_OK);
                expect_refused(impl, &s, &w, &in, &y, &info, "R too wide", "input R");
                mb_tensor_free(&in.R);
                in.R = R;
            }
            if (s.variant == MB_MOELORA) {   /* task [B+1] */
                mb_tensor tk = in.task;
                const int64_t ts[1] = { s.B + 1 };
                CHECK(mb_tensor_alloc(&in.task, MB_I32, 1, ts, &err) == MB_OK);
                expect_refused(impl, &s, &w, &in, &y, &info, "task too long", "task");
                mb_tensor_free(&in.task);
                in.task = tk;
            }
            mb_inputs_free(&in2);
            if (mb_variant_routed(s.variant)) {   /* routing buffers for T+B tokens, for k-1 */
                CHECK(mb_forward_info_alloc(&s2, &ibad, &err) == MB_OK);
                expect_refused(impl, &s, &w, &in, &y, &ibad, "routing for more tokens",
                               "routing");
                mb_forward_info_free(&ibad);
                mb_spec s3 = s;
                s3.k = s.k - 1;
                CHECK(mb_forward_info_alloc(&s3, &ibad, &err) == MB_OK);
                expect_refused(impl, &s, &w, &in, &y, &ibad, "routing for k-1", "routing");
                mb_forward_info_free(&ibad);
            }
            /* and the right shapes still run */
            mb_err_clear(&err);
            CHECK_MSG(mb_run_once(impl, &s, &w, &in, &y, &info, &err) == MB_OK, "%s %s: %s",
                      descs[d], impl->name, err.msg);
        }
        mb_forward_info_free(&info);
        mb_tensor_free(&y);
        mb_inputs_free(&in);
        mb_weights_free(&w);
    }
    return tested;
}

/* Specs mb_spec_validate refuses are unsupported (with validate's reason) by every
 * provider-backed implementation, not run anyway. */
static void invalid_specs(const mb_impl *impl)
{
    mb_spec probe;
    mb_err err;
    mb_spec_default(&probe, MB_LORA);
    const char *why = impl->unsupported(&probe);
    if (why && !strcmp(impl->name, "avx512")) return;   /* CPU without AVX-512 */
    static const char *const descs[] = {
        "sparse_mlp:T=3,h=16,f=30,E=4,k=2,shard=1",   /* f % E != 0 */
        "lora:T=2,h=8,o=8,r=16",                      /* r > min(h, o) */
        "lora:T=2,h=16,o=16,r=4,p=0.1",               /* dropout */
        "mixlora:T=3,h=40,f=4,r=6,E=2,k=1",           /* r > f */
    };
    for (size_t d = 0; d < sizeof descs / sizeof descs[0]; d++) {
        mb_spec s;
        CHECK(mb_spec_parse(descs[d], &s, &err) == MB_OK);
        if (!strcmp(impl->name, "merged") && s.variant == MB_SPARSE_MLP) continue;
        mb_err_clear(&err);
        CHECK(mb_spec_validate(&s, 0, &err) != MB_OK);
        why = impl->unsupported(&s);
        CHECK_MSG(why != NULL, "%s %s: accepted a spec validate refuses", descs[d], impl->name);
        if (why && strncmp(why, "built without", 13))
            CHECK_MSG(!strcmp(why, err.msg), "%s %s: reason '%s', validate says '%s'", descs[d],
                      impl->name, why, err.msg);
        mb_state *st = NULL;
        CHECK(impl->prepare(&s, NULL, &st, &err) == MB_EUNSUPPORTED && st == NULL);
    }
}

/* Timed forwards must not allocate: after one forward (the harness's correctness pass fills
 * oneDNN's primitive cache, routing scratch comes from mb_routing_alloc, the AVX-512 A-pack
 * buffers from prepare), a second forward leaves the mb_alloc high-water mark where it was. */
static void steady_state_no_alloc(const char *impl_name, const char *desc)
{
    const mb_impl *impl = mb_impl_find(impl_name);
    mb_spec s;
    mb_err err;
    if (!impl || mb_spec_parse(desc, &s, &err) != MB_OK || impl->unsupported(&s)) return;
    mb_weights w;
    mb_inputs in;
    mb_tensor y;
    mb_forward_info info;
    memset(&w, 0, sizeof w); memset(&in, 0, sizeof in);
    memset(&y, 0, sizeof y); memset(&info, 0, sizeof info);
    mb_state *st = NULL;
    mb_status rc = mb_weights_create(&s, &w, &err);
    if (rc == MB_OK) rc = mb_inputs_create(&s, &in, &err);
    if (rc == MB_OK) rc = mb_output_alloc(&s, &y, &err);
    if (rc == MB_OK) rc = mb_forward_info_alloc(&s, &info, &err);
    if (rc == MB_OK) rc = impl->prepare(&s, &w, &st, &err);
    if (rc == MB_OK) rc = impl->forward(st, &in, &y, &info, &err);
    CHECK_MSG(rc == MB_OK, "%s %s: %s", desc, impl_name, err.msg);
    if (rc == MB_OK) {
        const int64_t before = mb_mem_current();
        mb_mem_reset_peak();
        CHECK(impl->forward(st, &in, &y, &info, &err) == MB_OK);
        CHECK_MSG(mb_mem_peak() == before, "%s %s: forward allocated %lld bytes", desc,
                  impl_name, (long long)(mb_mem_peak() - before));
    }
    if (st) impl->release(st);
    mb_forward_info_free(&info);
    mb_tensor_free(&y);
    mb_inputs_free(&in);
    mb_weights_free(&w);
}

/* mb_route on buffers from mb_routing_alloc uses their scratch: no allocation, also for T > one
 * routing block and E above the stack limit */
static void route_no_alloc(void)
{
    const int64_t T = 700, E = 80, k = 3;
    mb_routing r;
    mb_err err;
    float *z = mb_alloc(sizeof(float) * (size_t)(T * E));
    CHECK(z != NULL);
    if (!z || mb_routing_alloc(&r, T, E, k, &err) != MB_OK) { mb_free(z); return; }
    for (int64_t i = 0; i < T * E; i++) z[i] = (float)((i * 7919) % 101) * 0.01f;
    const int64_t before = mb_mem_current();
    mb_mem_reset_peak();
    CHECK(mb_route(z, T, E, k, &r, NULL, &err) == MB_OK);
    CHECK_MSG(mb_mem_peak() == before, "mb_route allocated %lld bytes",
              (long long)(mb_mem_peak() - before));
    int64_t total = 0;
    for (int64_t e = 0; e < E; e++) total += r.counts[e];
    CHECK(total == T * k);
    mb_routing_free(&r);
    mb_free(z);
}

/* validate's message for S < 1 must not compute B*S when it overflows (UB; UBSan build) */
static void validate_overflow_message(void)
{
    mb_spec s;
    mb_err err;
    mb_spec_default(&s, MB_LORA);
    s.B = 3;
    s.S = INT64_MIN / 2;
    CHECK(mb_spec_validate(&s, 0, &err) == MB_EINVAL);
    CHECK_MSG(strstr(err.msg, "B=3") != NULL, "reason '%s'", err.msg);
    s.S = 0;
    CHECK(mb_spec_validate(&s, 0, &err) == MB_EINVAL);
    CHECK_MSG(strstr(err.msg, "T=0") != NULL, "reason '%s'", err.msg);
}

int main(void)
{
    validate_overflow_message();
    route_no_alloc();
    {
        static const char *const ss_impls[] = { "blas", "onednn", "avx512", "merged" };
        static const char *const ss_cases[] = {
            "lora:T=300,h=96,o=80,r=8",
            "mlp_lora:T=40,h=64,f=96,r=4",
            "mixlora:T=300,h=64,f=96,r=4,E=4,k=2",
            "sparse_mlp:T=300,h=64,f=96,E=4,k=2",
            "router:T=600,h=64,E=40,k=2",
            "moelora:B=3,S=50,h=64,o=48,r=8,E=4,tasks=3,te=8",
        };
        for (int t = 1; t <= 2; t++) {
            mb_set_threads(t);
            for (size_t i = 0; i < sizeof ss_impls / sizeof ss_impls[0]; i++)
                for (size_t c = 0; c < sizeof ss_cases / sizeof ss_cases[0]; c++)
                    steady_state_no_alloc(ss_impls[i], ss_cases[c]);
        }
    }
    for (int threads = 1; threads <= 2; threads++) {
        mb_set_threads(threads);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            for (int i = 0; i < NIMPL; i++) {
                const mb_impl *impl = mb_impl_find(impls[i]);
                CHECK_MSG(impl != NULL, "%s not registered", impls[i]);
                if (impl) check_case(cases[c], impl, threads, &ran[i]);
            }
    }
    for (int i = 0; i < NIMPL; i++)
        if (mb_impl_find(impls[i])) bad_inputs(mb_impl_find(impls[i]));
    for (size_t i = 0; i < sizeof io_impls / sizeof io_impls[0]; i++) {
        const mb_impl *impl = mb_impl_find(io_impls[i]);
        CHECK_MSG(impl != NULL, "%s not registered", io_impls[i]);
        if (!impl) continue;
        int n = bad_shapes(impl);
        printf("test_lib_variants: shape checks on %s: %d specs\n", impl->name, n);
        invalid_specs(impl);
    }
    /* which providers ran: a skip ("built without ...") must not hide a library the build has */
    for (int i = 0; i < NIMPL; i++)
        printf("test_lib_variants: %s ran %d cases%s\n", impls[i], ran[i],
               ran[i] ? "" : " (skipped: built without it)");
#ifdef MOEBENCH_HAVE_OPENBLAS
    CHECK_MSG(ran[0] > 0, "built with OpenBLAS but blas ran no case");
#endif
#ifdef MOEBENCH_HAVE_ONEDNN
    CHECK_MSG(ran[1] > 0, "built with oneDNN but onednn ran no case");
#endif
#if defined(MOEBENCH_HAVE_OPENBLAS) || defined(MOEBENCH_HAVE_ONEDNN)
    CHECK_MSG(ran[0] + ran[1] > 0, "neither blas nor onednn ran although the build has one");
#endif
    return mb_test_result("test_lib_variants");
}
