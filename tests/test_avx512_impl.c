/* The avx512 implementation (every variant runs a fused kernel, kernels/fused/) and, separately,
 * the shared variant code (kernels/variants/var_*.c) on the AVX-512 GEMM provider, each against
 * mb_impl_naive on small edge shapes: T = 1, odd sizes, routed cases where some
 * experts get no token or a single one, every mixlora share mode, sparse_mlp shard 0/1, on 1 and
 * 2 threads. Routing must agree exactly, then values within the library tolerance.
 * Skipped (and says so) where the probe refuses AVX-512; then it checks the refusal instead. */
#include <stdio.h>
#include <string.h>
#include <math.h>
#include "check.h"
#include "moebench/moebench.h"
#include "moebench/cpu.h"
#include "../kernels/variants/variants.h"   /* the shared variant code, for bit-identity */
/* kernels/fused/fused_avx512.h (its include path is the library's private one) */
const mb_variant_ops *mb_fused_avx512_ops(const mb_spec *s);

/* The avx512 implementation as registered, or the shared variant code on the avx512 provider
 * (which mb_impl_avx512 never reaches: fused_select.c sends every variant to a fused kernel). */
static mb_status shared_prepare(const mb_spec *s, const mb_weights *w, mb_state **st, mb_err *err)
{
    return mb_variant_prepare(&mb_gemm_avx512, s, w, st, err);
}
static const char *shared_unsupported(const mb_spec *s)
{
    return mb_variant_unsupported(&mb_gemm_avx512, s);
}
static const mb_impl shared_avx512 = {
    "avx512-shared", shared_unsupported, shared_prepare, mb_variant_forward, mb_variant_release,
    NULL, NULL
};

static const char *cases[] = {
    "lora:T=1,h=17,o=33,r=3",
    "lora:T=13,h=70,o=45,r=5",
    "lora:T=40,h=300,o=100,r=16",
    "lora:T=150,h=40,o=600,r=20",        /* row blocks of the fused low-rank loop; N > NC */
    "mlp_lora:T=1,h=33,f=50,r=4",
    "mlp_lora:T=14,h=40,f=70,r=6,act=gelu",
    "mlp_lora:T=29,h=50,f=33,r=2,act=relu",
    "mlp_lora:T=160,h=300,f=600,r=16",     /* fused Z1, Z3 over row and N tasks, K blocks */
    "mlp_lora:T=5,h=140,f=150,r=130",      /* adapters wider than MB_AVX_ZMAX: own GEMMs */
    "molora:T=1,h=40,o=29,r=3,E=4",
    "molora:T=7,h=40,o=29,r=3,E=5",
    "molora:T=150,h=270,o=20,r=4,E=3",   /* two K blocks + the Z segment, skinny output */
    "molora:T=20,h=300,o=1100,r=16,E=5",  /* Z (85 wide) in a K block of its own; N split */
    "molora:T=3,h=50,o=45,r=40,E=8",      /* Z wider than MB_AVX_ZMAX: separate Z GEMM */
    "lora:T=200,h=300,o=1100,r=8",        /* fused Z over row tasks and N-split tasks */
    "moelora:B=1,S=1,h=40,o=29,r=8,E=4,tasks=3,te=8",
    "moelora:B=3,S=5,h=37,o=41,r=6,E=3,tasks=2,te=5",
    "moelora:B=2,S=100,h=270,o=1100,r=16,E=4,tasks=2,te=5",
    "mixlora:T=1,h=33,f=47,r=4,E=4,k=2",
    "mixlora:T=9,h=33,f=47,r=4,E=4,k=2,share=none",
    "mixlora:T=9,h=33,f=47,r=4,E=4,k=2,share=gate_up",
    "mixlora:T=13,h=40,f=52,r=3,E=6,k=1,act=relu",
    "mixlora:T=150,h=40,f=300,r=4,E=3,k=2,act=gelu",
    "mixlora:T=40,h=33,f=47,r=9,E=8,k=2,share=none",
    "mixlora:T=40,h=270,f=20,r=5,E=5,k=3,share=gate_up",
    "mor1e:B=1,S=1,h=40,o=29,r=6",
    "mor1e:B=2,S=7,h=40,o=29,r=5",
    "mor1e:B=2,S=90,h=300,o=70,r=16",     /* gates recorded once over row and N tasks */
    "sparse_mlp:T=1,h=33,f=40,E=4,k=2",
    "sparse_mlp:T=3,h=33,f=40,E=8,k=2",
    "sparse_mlp:T=2,h=33,f=40,E=8,k=1",
    "sparse_mlp:T=20,h=45,f=64,E=4,k=2,shard=1",
    "sparse_mlp:T=9,h=33,f=40,E=4,k=2,act=gelu",
    "sparse_mlp:T=30,h=20,f=35,E=3,k=3,act=relu",
    "sparse_mlp:T=300,h=24,f=40,E=2,k=2",   /* > MC routed rows per expert: gathered tasks */
    "router:T=1,h=33,E=6,k=2",
    "router:T=11,h=33,E=6,k=3",
    /* routing options (spec "Routing options"): drops, top-p sets, shared experts, skewed
     * loads; the hot expert's rows exceed MC so its GEMM splits into row and panel tasks */
    "sparse_mlp:T=40,h=33,f=40,E=4,k=2,cap=1,shared=1",
    "sparse_mlp:T=30,h=33,f=40,E=4,topp=0.6,shard=1",
    "sparse_mlp:T=300,h=24,f=40,E=4,k=2,route=hot:0.9",
    "sparse_mlp:T=50,h=24,f=40,E=6,k=2,route=zipf:1.5,shared=2,cap=1.25",
    "mixlora:T=40,h=33,f=47,r=4,E=4,k=2,cap=1,shared=1",
    "mixlora:T=40,h=33,f=47,r=4,E=4,topp=0.7,share=none",
    "mixlora:T=300,h=24,f=40,r=4,E=4,k=2,route=hot:0.9,share=gate_up,shared=1",
    "mixlora:T=30,h=24,f=40,r=4,E=5,k=2,route=balanced,shared=2",
    "router:T=300,h=33,E=6,k=2,cap=1,route=zipf:1.0",
    "router:T=20,h=33,E=6,topp=0.5",
};

static void run_case(const mb_impl *impl, const char *desc, int threads)
{
    mb_spec s;
    mb_err err;
    mb_weights w;
    mb_inputs in;
    mb_tensor y, ref;
    mb_forward_info fi, fr;
    memset(&w, 0, sizeof w); memset(&in, 0, sizeof in);
    memset(&y, 0, sizeof y); memset(&ref, 0, sizeof ref);
    memset(&fi, 0, sizeof fi); memset(&fr, 0, sizeof fr);
    int ok = mb_spec_parse(desc, &s, &err) == MB_OK;
    CHECK_MSG(ok, "%s: %s", desc, err.msg);
    if (ok) { ok = mb_spec_validate(&s, 0, &err) == MB_OK; CHECK_MSG(ok, "%s: %s", desc, err.msg); }
    ok = ok && mb_weights_create(&s, &w, &err) == MB_OK && mb_inputs_create(&s, &in, &err) == MB_OK &&
         mb_output_alloc(&s, &y, &err) == MB_OK && mb_output_alloc(&s, &ref, &err) == MB_OK &&
         mb_forward_info_alloc(&s, &fi, &err) == MB_OK && mb_forward_info_alloc(&s, &fr, &err) == MB_OK;
    CHECK_MSG(ok, "%s: setup: %s", desc, err.msg);
    if (ok) {
        const char *why = impl->unsupported(&s);
        CHECK_MSG(why == NULL, "%s: %s unsupported: %s", desc, impl->name, why);
        mb_set_threads(threads);
        ok = mb_run_once(&mb_impl_naive, &s, &w, &in, &ref, &fr, &err) == MB_OK;
        CHECK_MSG(ok, "%s: naive: %s", desc, err.msg);
        /* poison Y: forward must write every element */
        for (int64_t i = 0; i < mb_tensor_numel(&y); i++) mb_f32(&y)[i] = nanf("");
        int ok2 = mb_run_once(impl, &s, &w, &in, &y, &fi, &err) == MB_OK;
        CHECK_MSG(ok2, "%s threads=%d: %s: %s", desc, threads, impl->name, err.msg);
        if (ok && ok2) {
            if (fr.routing.idx) {
                int64_t bad = -1;
                CHECK_MSG(mb_routing_equal(&fi.routing, &fr.routing, &bad) == 0,
                          "%s %s threads=%d: routing differs at token %lld", impl->name, desc, threads, (long long)bad);
                for (int64_t e = 0; e < s.E; e++)
                    CHECK(fi.routing.counts[e] == fr.routing.counts[e]);
                CHECK_NEAR(fi.routing.aux_loss, fr.routing.aux_loss, 1e-4);
                CHECK_NEAR(fi.routing.z_loss, fr.routing.z_loss, 1e-4);
            }
            if (fr.gate && fi.gate) {   /* molora / moelora / mor1e report their gates */
                int64_t n = s.variant == MB_MOELORA ? s.B * s.E
                          : s.variant == MB_MOR1E ? mb_spec_T(&s) * s.r : mb_spec_T(&s) * s.E;
                double md = 0;
                for (int64_t i = 0; i < n; i++) {
                    double d = fabs((double)fi.gate[i] - fr.gate[i]);
                    md = d > md ? d : md;
                }
                CHECK_MSG(md <= 1e-5, "%s %s threads=%d: gate differs by %g", impl->name, desc, threads, md);
            }
            mb_cmp c = mb_compare(&s, &y, &ref);
            CHECK_MSG(c.pass, "%s %s threads=%d: max_abs_err %g (atol %g) first bad %lld",
                      impl->name, desc, threads, c.max_abs_err, c.atol, (long long)c.first_bad);
        }
    }
    mb_forward_info_free(&fi); mb_forward_info_free(&fr);
    mb_tensor_free(&y); mb_tensor_free(&ref);
    mb_inputs_free(&in); mb_weights_free(&w);
}

/* The fused router must give exactly the shared routing (same logits kernel, same block
 * partition of the partial sums), on a T spanning several 256-token blocks and a 1-token tail. */
static void router_bit_identical(int E, int threads)
{
    mb_spec s;
    mb_err err;
    mb_weights w;
    mb_inputs in;
    mb_tensor y1, y2;
    mb_forward_info f1, f2;
    char desc[96];
    snprintf(desc, sizeof desc, "router:T=513,h=70,E=%d,k=2", E);
    if (mb_spec_parse(desc, &s, &err) != MB_OK || mb_weights_create(&s, &w, &err) != MB_OK ||
        mb_inputs_create(&s, &in, &err) != MB_OK || mb_output_alloc(&s, &y1, &err) != MB_OK ||
        mb_output_alloc(&s, &y2, &err) != MB_OK || mb_forward_info_alloc(&s, &f1, &err) != MB_OK ||
        mb_forward_info_alloc(&s, &f2, &err) != MB_OK) {
        CHECK_MSG(0, "router setup: %s", err.msg);
        return;
    }
    mb_set_threads(threads);
    mb_state *st = NULL;
    CHECK(mb_impl_avx512.prepare(&s, &w, &st, &err) == MB_OK);
    if (st) { CHECK(mb_impl_avx512.forward(st, &in, &y1, &f1, &err) == MB_OK); mb_impl_avx512.release(st); }
    st = NULL;
    CHECK(mb_variant_prepare(&mb_gemm_avx512, &s, &w, &st, &err) == MB_OK);   /* shared code */
    if (st) { CHECK(mb_variant_forward(st, &in, &y2, &f2, &err) == MB_OK); mb_variant_release(st); }
    const int64_t n = mb_spec_T(&s) * s.k;
    CHECK(memcmp(f1.routing.idx, f2.routing.idx, sizeof(int32_t) * (size_t)n) == 0);
    CHECK(memcmp(f1.routing.w, f2.routing.w, sizeof(float) * (size_t)n) == 0);
    CHECK(memcmp(f1.routing.counts, f2.routing.counts, sizeof(int64_t) * (size_t)s.E) == 0);
    CHECK_MSG(f1.routing.aux_loss == f2.routing.aux_loss, "E=%d aux %.17g vs %.17g", E, f1.routing.aux_loss, f2.routing.aux_loss);
    CHECK(f1.routing.z_loss == f2.routing.z_loss);
    CHECK(memcmp(y1.data, y2.data, (size_t)mb_tensor_bytes(&y1)) == 0);
    mb_forward_info_free(&f1); mb_forward_info_free(&f2);
    mb_tensor_free(&y1); mb_tensor_free(&y2);
    mb_inputs_free(&in); mb_weights_free(&w);
}

/* The fused mixlora stages stacked / scaled copies in one buffer: with r > f and h > 2f the
 * per-expert [Ag_e; Au_e] (2rh floats) is its largest use. mb_spec_validate refuses r > f, so
 * this calls the fused prepare directly (an ASan build catches an undersized buffer). */
static void mixlora_staging(void)
{
    mb_spec s;
    mb_err err;
    mb_weights w;
    memset(&w, 0, sizeof w);
    CHECK(mb_spec_parse("mixlora:T=3,h=40,f=4,r=6,E=2,k=1", &s, &err) == MB_OK);
    const mb_variant_ops *ops = mb_fused_avx512_ops(&s);
    CHECK(ops != NULL);
    if (!ops || mb_weights_create(&s, &w, &err) != MB_OK) return;
    void *priv = NULL;
    CHECK_MSG(ops->prepare(&mb_gemm_avx512, &s, &w, &priv, &err) == MB_OK, "%s", err.msg);
    if (priv) ops->release(priv);
    mb_weights_free(&w);
}

int main(void)
{
    const char *why = NULL;
    if (!mb_cpu_has_avx512(&why)) {
        printf("test_avx512_impl: AVX-512 checks skipped: %s\n", why);
        mb_spec s;
        mb_spec_default(&s, MB_LORA);
        const char *u = mb_impl_avx512.unsupported(&s);
        CHECK(u != NULL && strcmp(u, why) == 0);
        return mb_test_result("test_avx512_impl");
    }
    int seen[MB_NUM_VARIANTS] = {0};
    for (int threads = 1; threads <= 2; threads++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            run_case(&mb_impl_avx512, cases[i], threads);
            run_case(&shared_avx512, cases[i], threads);   /* the provider under every variant */
            mb_spec s;
            mb_err err;
            if (mb_spec_parse(cases[i], &s, &err) == MB_OK) seen[s.variant] = 1;
        }
    for (int v = 0; v < MB_NUM_VARIANTS; v++)
        CHECK_MSG(seen[v], "no case runs %s on the shared code", mb_variant_name((mb_variant_id)v));
    mixlora_staging();
    router_bit_identical(8, 1);    /* skinny logits kernel */
    router_bit_identical(40, 2);   /* panel kernel, GEMV for the 1-token tail block */
    return mb_test_result("test_avx512_impl");
}
