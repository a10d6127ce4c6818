/* Every variant x {blas, onednn, merged} against the naive reference on small shapes that hit
 * the edges: T = 1, T not a multiple of any block (7, 33), experts without tokens (T=1, E=8,
 * k=2), k = E, r = 1, odd widths (67, 129), several sequences and tasks; on 1 and 2 threads.
 * Routing is compared first (same experts, same order), then gates, then values (mb_compare). */
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

static int routed(mb_variant_id v)
{
    return v == MB_MIXLORA || v == MB_SPARSE_MLP || v == MB_ROUTER;
}

static int64_t gate_len(const mb_spec *s)
{
    switch (s->variant) {
    case MB_MOLORA: return mb_spec_T(s) * s->E;
    case MB_MOELORA: return s->B * s->E;
    case MB_MOR1E: return mb_spec_T(s) * s->r;
    default: return 0;
    }
}

static void check_case(const char *desc, const mb_impl *impl, int threads)
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
    }
    if (rc == MB_OK) {
        int routing_ok = 1;
        if (routed(s.variant)) {
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

int main(void)
{
    for (int threads = 1; threads <= 2; threads++) {
        mb_set_threads(threads);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
                const mb_impl *impl = mb_impl_find(impls[i]);
                CHECK_MSG(impl != NULL, "%s not registered", impls[i]);
                if (impl) check_case(cases[c], impl, threads);
            }
    }
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++)
        if (mb_impl_find(impls[i])) bad_inputs(mb_impl_find(impls[i]));
    return mb_test_result("test_lib_variants");
}
