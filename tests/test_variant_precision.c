/* Every variant in bf16 through the providers' bf16 entry points (the bf16 forms of the variant
 * table: var_bf16*.c), and with weight-only quantised base weights (wq=int8|int4, in f32 and
 * bf16: the providers' weight_prepare_q through mb_vprep_base), against the naive reference, routing first (the harness's rule: identical
 * but for naive's near ties), then Y with the case's bf16 tolerance (compare.h): on the naive
 * GEMM provider on every machine, and on the avx512 provider where it computes in bf16
 * (AVX512-BF16, or the emulated test build). The checks can fail: Y off by 8 bf16 ulp, a lora
 * without its adapter term, a molora with uniform gates and a sparse_mlp on another router are
 * rejected. A bf16 train step (no form) is refused with the reason, never run in f32. */
#include "check.h"
#include "moebench/bf16.h"
#include "moebench/cpu.h"
#include "moebench/moebench.h"
#include "../kernels/variants/variants.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    mb_spec s;
    mb_weights w;
    mb_inputs in;
    mb_tensor y, ref;
    mb_forward_info info, rinfo;   /* the form's and naive's */
    uint8_t *near;                 /* routed: naive's near ties (compare.h) */
} bcase;

static int make(bcase *c, const char *desc)
{
    mb_err err = {0};
    memset(c, 0, sizeof *c);
    int ok = mb_spec_parse(desc, &c->s, &err) == MB_OK &&
             mb_spec_validate(&c->s, 0, &err) == MB_OK &&
             mb_weights_create(&c->s, &c->w, &err) == MB_OK &&
             mb_inputs_create(&c->s, &c->in, &err) == MB_OK &&
             mb_output_alloc(&c->s, &c->y, &err) == MB_OK &&
             mb_output_alloc(&c->s, &c->ref, &err) == MB_OK &&
             mb_forward_info_alloc(&c->s, &c->info, &err) == MB_OK &&
             mb_forward_info_alloc(&c->s, &c->rinfo, &err) == MB_OK &&
             mb_run_once(&mb_impl_naive, &c->s, &c->w, &c->in, &c->ref, &c->rinfo, &err) == MB_OK;
    if (ok && mb_variant_routed(c->s.variant)) {
        c->near = calloc((size_t)mb_spec_T(&c->s), 1);
        ok = c->near && mb_routing_near_ties(&c->s, &c->w, &c->in, c->near, &err) == MB_OK;
    }
    CHECK_MSG(ok, "%s: %s", desc, err.msg);
    return ok ? 0 : -1;
}

static void bfree(bcase *c)
{
    mb_weights_free(&c->w);
    mb_inputs_free(&c->in);
    mb_tensor_free(&c->y);
    mb_tensor_free(&c->ref);
    mb_forward_info_free(&c->info);
    mb_forward_info_free(&c->rinfo);
    free(c->near);
}

/* The provider form of c on gp into c->y; its comparison with naive's. A routing difference
 * fails a check, or, with routing_differs, is only reported there. */
static mb_cmp run_form_r(bcase *c, const mb_gemm_provider *gp, const char *desc,
                         int *routing_differs)
{
    mb_cmp bad = {.pass = 0, .max_abs_err = INFINITY};
    mb_err err = {0};
    mb_state *st = NULL;
    mb_status rc = mb_variant_prepare(gp, &c->s, &c->w, &st, &err);
    if (rc == MB_OK) rc = mb_variant_forward(st, &c->in, &c->y, &c->info, &err);
    mb_variant_release(st);
    CHECK_MSG(rc == MB_OK, "%s on %s: %s", desc, gp->name, err.msg);
    if (rc != MB_OK) return bad;
    /* routing first, as the harness checks: the same experts and weights (f32 logits), a
     * difference only on a near tie of naive's */
    if (c->near) {
        int64_t ties = 0, tok = -1;
        int differs = mb_routing_equal_near(&c->info.routing, &c->rinfo.routing, c->near, &ties,
                                            NULL, &tok);
        if (routing_differs)
            *routing_differs = differs;
        else
            CHECK_MSG(!differs, "%s on %s: routing differs at token %lld", desc, gp->name,
                      (long long)tok);
        if (differs) return bad;
    }
    return mb_compare(&c->s, &c->y, &c->ref);
}

static mb_cmp run_form(bcase *c, const mb_gemm_provider *gp, const char *desc)
{
    return run_form_r(c, gp, desc, NULL);
}

static const char *const cases[] = {
    "lora:T=1,h=64,o=48,r=4,dtype=bf16",
    "lora:T=13,h=96,o=40,r=8,alpha=32,dtype=bf16",
    "lora:B=2,S=9,h=130,o=33,r=3,dtype=bf16",
    "lora:T=64,h=512,o=96,r=16,dtype=bf16",
    "mlp_lora:T=1,h=64,f=128,r=4,dtype=bf16",
    "mlp_lora:T=7,h=48,f=100,r=2,act=gelu,dtype=bf16",
    "mlp_lora:T=33,h=256,f=512,r=16,dtype=bf16",
    "molora:T=1,h=64,o=48,r=4,E=4,dtype=bf16",
    "molora:T=29,h=96,o=40,r=2,E=8,alpha=4,dtype=bf16",
    "moelora:B=2,S=8,h=64,o=48,r=8,E=4,tasks=3,te=8,dtype=bf16",
    "moelora:B=3,S=1,h=130,o=17,r=6,E=3,tasks=2,te=5,dtype=bf16",
    "mor1e:T=1,h=64,o=48,r=4,dtype=bf16",
    "mor1e:B=2,S=11,h=200,o=33,r=8,dtype=bf16",
    "router:T=1,h=64,E=8,k=2,dtype=bf16",
    "router:T=37,h=96,E=6,k=3,topp=0.6,dtype=bf16",
    "sparse_mlp:T=1,h=64,f=96,E=4,k=2,dtype=bf16",
    "sparse_mlp:T=40,h=96,f=64,E=8,k=2,dtype=bf16",
    "sparse_mlp:T=33,h=64,f=64,E=4,k=2,shard=1,shared=1,cap=1,dtype=bf16",
    "sparse_mlp:T=24,h=48,f=40,E=5,k=1,route=hot:0.9,act=gelu,dtype=bf16",
    "mixlora:T=1,h=64,f=96,r=4,E=4,k=2,share=none,dtype=bf16",
    "mixlora:T=30,h=64,f=96,r=4,E=4,k=2,share=none,dtype=bf16",
    "mixlora:T=30,h=64,f=96,r=4,E=4,k=2,share=gate_up,dtype=bf16",
    "mixlora:T=30,h=64,f=96,r=4,E=4,k=2,share=all,dtype=bf16",
    "mixlora:T=41,h=96,f=64,r=8,E=8,k=2,share=all,shared=1,cap=1,dtype=bf16",
    "mixlora:T=17,h=48,f=80,r=2,E=6,k=3,share=gate_up,topp=0.5,act=gelu,dtype=bf16",
    /* wq: the base weights quantised (int4 needs input widths that are multiples of 64) */
    "lora:T=1,h=64,o=48,r=4,wq=int8",
    "lora:T=13,h=128,o=40,r=8,wq=int4",
    "lora:T=9,h=96,o=33,r=4,dtype=bf16,wq=int8",
    "mlp_lora:T=1,h=64,f=128,r=4,wq=int4",
    "mlp_lora:T=11,h=64,f=96,r=4,dtype=bf16,wq=int8",
    "molora:T=7,h=64,o=48,r=2,E=4,wq=int8",
    "moelora:B=2,S=4,h=128,o=24,r=4,E=2,tasks=2,te=4,dtype=bf16,wq=int4",
    "mor1e:T=5,h=64,o=40,r=4,wq=int8",
    "sparse_mlp:T=20,h=64,f=64,E=4,k=2,shared=1,wq=int4",
    "sparse_mlp:T=1,h=96,f=48,E=4,k=2,dtype=bf16,wq=int8",
    "mixlora:T=30,h=64,f=128,r=4,E=4,k=2,share=none,wq=int8",
    "mixlora:T=30,h=64,f=128,r=4,E=4,k=2,share=all,shared=1,dtype=bf16,wq=int4",
    "mixlora:T=12,h=64,f=128,r=4,E=4,k=2,share=gate_up,wq=int4",
};

/* Every case on gp; a provider that may lack a precision (avx512 on a CPU without
 * AVX512_BF16, or without its wq kernels) skips that case with the reason, once per reason
 * kind; the naive GEMM must run them all. */
static void test_provider(const mb_gemm_provider *gp, int may_skip)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bcase c;
        if (may_skip) {
            mb_spec s;
            mb_err e = {0};
            const char *why = mb_spec_parse(cases[i], &s, &e) == MB_OK
                                  ? mb_variant_unsupported(gp, &s) : e.msg;
            if (why) {
                printf("test_variant_precision: %s on %s not run: %s\n", cases[i], gp->name, why);
                continue;
            }
        }
        if (make(&c, cases[i])) continue;
        mb_cmp r = run_form(&c, gp, cases[i]);
        CHECK_MSG(r.pass, "%s on %s: max |err| %g (atol %g, rtol %g)", cases[i], gp->name,
                  r.max_abs_err, r.atol, r.rtol);
        bfree(&c);
    }
}

/* What the tolerance must reject: Y moved by 8 bf16 ulp in one element, and a lora whose
 * adapter term is left out (s = 0 is not a spec, so the adapter's B is zeroed in the weights:
 * the reference keeps the adapter, the provider form then lacks it). */
static void test_can_fail(void)
{
    bcase c;
    if (make(&c, "lora:T=13,h=96,o=40,r=8,alpha=32,dtype=bf16")) return;
    mb_cmp r = run_form(&c, &mb_gemm_naive, "lora");
    CHECK(r.pass);
    uint16_t *y = c.y.data;
    y[5] = (uint16_t)(y[5] + 8);   /* 8 ulp, same sign and exponent range */
    CHECK_MSG(!mb_compare(&c.s, &c.y, &c.ref).pass, "8 ulp in one element passed");
    mb_tensor *B = (mb_tensor *)mb_weights_get(&c.w, "B");
    CHECK(B != NULL);
    if (B) memset(B->data, 0, (size_t)mb_tensor_numel(B) * sizeof(uint16_t));
    r = run_form(&c, &mb_gemm_naive, "lora without its adapter");
    CHECK_MSG(!r.pass, "lora without its adapter term passed the bf16 check");
    bfree(&c);
    /* a mixture whose gates ignore the router (Wr zeroed: uniform softmax) */
    if (make(&c, "molora:T=29,h=96,o=40,r=2,E=8,alpha=16,dtype=bf16")) return;
    CHECK(run_form(&c, &mb_gemm_naive, "molora").pass);
    mb_tensor *Wr = (mb_tensor *)mb_weights_get(&c.w, "Wr");
    CHECK(Wr != NULL);
    if (Wr) memset(Wr->data, 0, (size_t)mb_tensor_numel(Wr) * sizeof(uint16_t));
    CHECK_MSG(!run_form(&c, &mb_gemm_naive, "molora, uniform gates").pass,
              "molora with uniform gates passed the bf16 check");
    bfree(&c);
    /* a sparse_mlp routed on another router: its routing differs from naive's */
    if (make(&c, "sparse_mlp:T=40,h=96,f=64,E=8,k=2,dtype=bf16")) return;
    mb_tensor *R = (mb_tensor *)mb_weights_get(&c.w, "Wr");
    CHECK(R != NULL);
    if (R) {
        uint16_t *r = R->data;
        for (int64_t i = 0; i + 1 < mb_tensor_numel(R); i += 2) {
            uint16_t t = r[i];
            r[i] = r[i + 1];
            r[i + 1] = t;
        }
    }
    int differs = 0;
    mb_cmp rr = run_form_r(&c, &mb_gemm_naive, "sparse_mlp, another router", &differs);
    CHECK_MSG(!rr.pass && differs, "sparse_mlp on another router passed the routing check");
    bfree(&c);
    /* a quantised base weight read with the wrong scales (one row's scale doubled) */
    if (make(&c, "lora:T=13,h=128,o=40,r=8,wq=int4")) return;
    CHECK(run_form(&c, &mb_gemm_naive, "lora wq=int4").pass);
    mb_tensor *S = (mb_tensor *)mb_weights_get(&c.w, "W_scale");
    CHECK(S != NULL);
    if (S) mb_f32(S)[3] *= 2.0f;
    CHECK_MSG(!run_form(&c, &mb_gemm_naive, "lora wq=int4, a scale doubled").pass,
              "a doubled wq scale passed the check");
    bfree(&c);
}

/* Every variant has a bf16 form; a train step in bf16 has none: refused, never run in f32. */
static void test_refused(void)
{
    mb_spec s;
    mb_err err = {0};
    /* every variant has a bf16 form now; a train step in bf16 has none (below) */
    CHECK(mb_spec_parse("mixlora:T=4,h=64,f=96,r=4,E=4,k=2,dtype=bf16", &s, &err) == MB_OK);
    CHECK(mb_variant_unsupported(&mb_gemm_naive, &s) == NULL);
    for (int v = 0; v < MB_VARIANT_COUNT; v++)
        CHECK_MSG(mb_variant_code_dtypes((mb_variant_id)v) & MB_DTYPE_BIT(MB_BF16), "%s",
                  mb_variant_name((mb_variant_id)v));
    mb_spec l;
    CHECK(mb_spec_parse("lora:T=4,h=64,o=48,r=4,dtype=bf16", &l, &err) == MB_OK);
    CHECK_MSG(mb_variant_unsupported(&mb_gemm_naive, &l) == NULL, "%s",
              mb_variant_unsupported(&mb_gemm_naive, &l));
    /* a train step in bf16 has no provider entry points: refused, not run in f32 */
    l.mode = MB_MODE_TRAIN;
    CHECK(mb_variant_unsupported(&mb_gemm_naive, &l) != NULL);
    /* nor under wq (the train step reads f32 base weights) */
    CHECK(mb_spec_parse("lora:T=4,h=64,o=48,r=4,wq=int8", &l, &err) == MB_OK);
    CHECK(mb_variant_unsupported(&mb_gemm_naive, &l) == NULL);
    l.mode = MB_MODE_TRAIN;
    const char *wt = mb_variant_unsupported(&mb_gemm_naive, &l);
    CHECK_MSG(wt && strstr(wt, "wq in mode=train"), "%s", wt ? wt : "(accepted)");
}

int main(void)
{
    test_provider(&mb_gemm_naive, 0);
    const char *why = mb_gemm_avx512.unavailable();
    if (why)
        printf("test_variant_precision: avx512 not run: %s\n", why);
    else
        test_provider(&mb_gemm_avx512, 1);
    /* where the CPU computes bf16, avx512 must run every bf16 form (no silent skip) */
    if (mb_cpu_has_avx512_bf16(NULL)) {
        mb_spec s;
        mb_err e = {0};
        CHECK(mb_spec_parse("mixlora:T=4,h=64,f=96,r=4,E=4,k=2,dtype=bf16", &s, &e) == MB_OK);
        CHECK(mb_variant_unsupported(&mb_gemm_avx512, &s) == NULL);
    }
    test_can_fail();
    test_refused();
    return mb_test_result("test_variant_precision");
}
