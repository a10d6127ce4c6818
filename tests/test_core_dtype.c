/* The dtype axis (issue 11, item 2): the dtype table, GEMM providers registered per datatype
 * (f32 filled, every other type answers "unsupported dtype" with the reason), byte counts at the
 * element size of the case's dtype (spec bytes, weights, cost, memory estimate), the tolerance
 * per dtype, and a bf16 case that every implementation skips with the reason. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "moebench/cpu.h"
#include "moebench/gemm.h"
#include "moebench/mem_estimate.h"
#include "moebench/moebench.h"

static mb_spec spec(const char *desc)
{
    mb_spec s;
    mb_err err;
    mb_err_clear(&err);
    CHECK_MSG(mb_spec_parse(desc, &s, &err) == MB_OK && mb_spec_validate(&s, 0, &err) == MB_OK,
              "%s: %s", desc, err.msg);
    return s;
}

static void test_table(void)
{
    static const struct { mb_dtype d; const char *name; int bits; } want[] = {
        {MB_F32, "f32", 32}, {MB_BF16, "bf16", 16}, {MB_I32, "i32", 32},
        {MB_F16, "f16", 16}, {MB_I8, "int8", 8},    {MB_I4, "int4", 4},
    };
    CHECK(sizeof want / sizeof want[0] == MB_DTYPE_COUNT);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        mb_dtype d;
        CHECK_MSG(!strcmp(mb_dtype_name(want[i].d), want[i].name), "%s", want[i].name);
        CHECK_MSG(mb_dtype_bits(want[i].d) == want[i].bits, "%s", want[i].name);
        CHECK_MSG(mb_dtype_parse(want[i].name, &d) == 0 && d == want[i].d, "%s", want[i].name);
    }
    mb_dtype d;
    CHECK(mb_dtype_parse("bfloat16", &d) == 0 && d == MB_BF16);
    CHECK(mb_dtype_parse("fp32", &d) == 0 && d == MB_F32);
    CHECK(mb_dtype_parse("i8", &d) == 0 && d == MB_I8);
    CHECK(mb_dtype_parse("f64", &d) == -1);
    CHECK(!strcmp(mb_dtype_name((mb_dtype)99), "?") && mb_dtype_bits((mb_dtype)99) == 0);
    /* bytes of n elements: whole-byte types multiply, int4 packs two per byte (rounded up) */
    CHECK(mb_dtype_bytes(MB_F32, 3) == 12 && mb_dtype_bytes(MB_BF16, 3) == 6);
    CHECK(mb_dtype_bytes(MB_I8, 3) == 3 && mb_dtype_bytes(MB_I4, 3) == 2);
    CHECK(mb_dtype_bytes(MB_I4, 4) == 2 && mb_dtype_bytes(MB_I4, 0) == 0);
    CHECK(mb_dtype_size(MB_BF16) == 2 && mb_dtype_size(MB_I4) == 1);
    CHECK(mb_dtype_bytes(MB_F32, INT64_MAX / 2) == -1 && mb_dtype_bytes((mb_dtype)99, 1) == -1);
    /* the keys: dtype= takes f32 and bf16, wq= (issue 15) int8 and int4 */
    CHECK(!strcmp(mb_dtype_role_names(MB_DTYPE_ROLE_CASE), "f32|bf16"));
    CHECK(!strcmp(mb_dtype_role_names(MB_DTYPE_ROLE_WQ), "int8|int4"));
    CHECK(mb_dtype_unsupported("x", MB_F32, MB_DTYPE_BIT(MB_F32)) == NULL);
    const char *why = mb_dtype_unsupported("x", MB_BF16, MB_DTYPE_BIT(MB_F32));
    CHECK_MSG(why && !strcmp(why, "unsupported dtype bf16: x implements f32 only (issue 15)"),
              "%s", why ? why : "(null)");
    /* tensors allocate at their element size */
    mb_tensor t;
    int64_t shape[2] = {3, 5};
    CHECK(mb_tensor_alloc(&t, MB_I4, 2, shape, NULL) == MB_OK && mb_tensor_bytes(&t) == 8);
    mb_tensor_free(&t);
    CHECK(mb_tensor_alloc(&t, MB_BF16, 2, shape, NULL) == MB_OK && mb_tensor_bytes(&t) == 30);
    mb_tensor_free(&t);
    CHECK(mb_tensor_alloc(&t, (mb_dtype)99, 2, shape, NULL) == MB_EINVAL);
}

/* Each provider: f32 entry points filled (and bf16 where it has them: the naive GEMM, and
 * avx512 wherever it is compiled: gemm_bf16_avx512.c, run only where the CPU has AVX512_BF16,
 * tested in test_avx512_bf16.c), every other dtype unsupported with the reason, at lookup and
 * at the typed entry points (which never reach a provider function). */
static unsigned provider_dtypes(const mb_gemm_provider *gp)
{
    unsigned has = MB_DTYPE_BIT(MB_F32);
    if (gp == &mb_gemm_naive)
        has |= MB_DTYPE_BIT(MB_BF16);
#ifdef MOEBENCH_HAVE_AVX512
    if (gp == &mb_gemm_avx512)
        has |= MB_DTYPE_BIT(MB_BF16);
#endif
    return has;
}

static void test_providers(void)
{
    const mb_gemm_provider *gps[] = {&mb_gemm_naive, &mb_gemm_blas, &mb_gemm_onednn,
                                     &mb_gemm_avx512};
    float W[4] = {1, 2, 3, 4}, A[2] = {1, 1}, C[2] = {0, 0};
    for (size_t i = 0; i < sizeof gps / sizeof gps[0]; i++) {
        const mb_gemm_provider *gp = gps[i];
        const unsigned have = provider_dtypes(gp);
        CHECK_MSG(mb_gemm_dtypes(gp) == have, "%s", gp->name);
        CHECK_MSG(mb_gemm_unsupported(gp, MB_F32) == NULL, "%s", gp->name);
        const mb_gemm_ops *o = &gp->ops[MB_F32];
        CHECK_MSG(o->weight_prepare && o->weight_release && o->gemm && o->weight_bytes, "%s",
                  gp->name);
        for (int d = 0; d < MB_DTYPE_COUNT; d++) {
            if (have & MB_DTYPE_BIT(d)) {
                CHECK_MSG(mb_gemm_unsupported(gp, (mb_dtype)d) == NULL && gp->ops[d].gemm &&
                              gp->ops[d].weight_prepare && gp->ops[d].weight_release,
                          "%s %s", gp->name, mb_dtype_name((mb_dtype)d));
                continue;
            }
            char want[160];
            snprintf(want, sizeof want, "unsupported dtype %s: %s implements %s only (issue 15)",
                     mb_dtype_name((mb_dtype)d), gp->name,
                     have == MB_DTYPE_BIT(MB_F32) ? "f32" : "f32, bf16");
            const char *why = mb_gemm_unsupported(gp, (mb_dtype)d);
            CHECK_MSG(why && !strcmp(why, want), "%s %s: '%s'", gp->name,
                      mb_dtype_name((mb_dtype)d), why ? why : "(null)");
            CHECK(gp->ops[d].weight_prepare == NULL && gp->ops[d].gemm == NULL);
            mb_gemm_weight *pw = (mb_gemm_weight *)&pw;   /* must be reset to NULL */
            mb_err err;
            mb_err_clear(&err);
            CHECK(mb_gemm_weight_prepare(gp, (mb_dtype)d, W, 2, 2, 2, 1, &pw, &err) ==
                  MB_EUNSUPPORTED);
            CHECK_MSG(pw == NULL && !strcmp(err.msg, want), "%s: '%s'", gp->name, err.msg);
            mb_err_clear(&err);
            CHECK(mb_gemm(gp, (mb_dtype)d, NULL, 1, A, 2, 1.0f, 0.0f, C, 2, &err) ==
                  MB_EUNSUPPORTED);
            CHECK_MSG(!strcmp(err.msg, want), "%s: '%s'", gp->name, err.msg);
            CHECK(mb_gemm_weight_bytes(gp, (mb_dtype)d, NULL) == 0);
        }
    }
    /* f32 through the typed entry points on the naive provider (always available) */
    mb_gemm_weight *pw = NULL;
    CHECK(mb_gemm_weight_prepare(&mb_gemm_naive, MB_F32, W, 2, 2, 2, 1, &pw, NULL) == MB_OK);
    CHECK(mb_gemm(&mb_gemm_naive, MB_F32, pw, 1, A, 2, 1.0f, 0.0f, C, 2, NULL) == MB_OK);
    CHECK(C[0] == 3.0f && C[1] == 7.0f);
    mb_gemm_weight_release(&mb_gemm_naive, MB_F32, pw);
    /* a half-filled row is as unsupported as an empty one, never a NULL call */
    mb_gemm_provider half = mb_gemm_naive;
    half.name = "half";
    half.ops[MB_BF16] = half.ops[MB_F32];
    half.ops[MB_BF16].gemm = NULL;
    CHECK(mb_gemm_dtypes(&half) == MB_DTYPE_BIT(MB_F32));
    mb_err err;
    CHECK(mb_gemm_weight_prepare(&half, MB_BF16, W, 2, 2, 2, 1, &pw, &err) == MB_EUNSUPPORTED);
    CHECK(mb_gemm_weight_prepare(&half, (mb_dtype)99, W, 2, 2, 2, 1, &pw, &err) ==
          MB_EUNSUPPORTED);
}

/* Bytes follow the element size: a bf16 case's weight bytes are half the f32 twin's, in the
 * spec's byte count, the created weights, the cost model and the memory estimate. */
static void test_bytes(void)
{
    static const char *descs[] = {
        "lora:T=4,h=32,o=16,r=4", "mlp_lora:T=4,h=16,f=32,r=2", "molora:T=4,h=16,r=2,E=4",
        "moelora:B=2,S=2,h=16,r=4,E=2,tasks=3,te=8", "mixlora:T=4,h=16,f=32,r=2,E=4,k=2",
        "mor1e:B=2,S=2,h=16,r=4", "sparse_mlp:T=4,h=16,f=32,E=4,k=2", "router:T=4,h=16,E=4,k=2",
    };
    for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++) {
        char d16[128];
        snprintf(d16, sizeof d16, "%s,dtype=bf16", descs[i]);
        mb_spec a = spec(descs[i]), b = spec(d16);
        CHECK(b.dtype == MB_BF16);
        int64_t wa = 0, ia = 0, wb = 0, ib = 0;
        CHECK(mb_spec_bytes(&a, &wa, &ia, NULL) == MB_OK && mb_spec_bytes(&b, &wb, &ib, NULL) == MB_OK);
        CHECK_MSG(wb * 2 == wa, "%s: weights %lld vs f32 %lld", d16, (long long)wb, (long long)wa);
        /* X, Y (and R) halve; moelora's int32 task ids do not */
        int64_t ids = a.variant == MB_MOELORA ? 4 * a.B : 0;
        CHECK_MSG((ib - ids) * 2 == ia - ids, "%s: io %lld vs f32 %lld", d16, (long long)ib,
                  (long long)ia);

        /* the weights and inputs created carry the dtype, and their bytes are the spec's */
        mb_weights w;
        mb_inputs in;
        CHECK(mb_weights_create(&b, &w, NULL) == MB_OK);
        CHECK(mb_weights_bytes(&w) == wb);
        for (int k = 0; k < w.n; k++)
            CHECK_MSG(w.item[k].t.dtype == MB_BF16, "%s: %s", d16, w.item[k].name);
        mb_weights_free(&w);
        CHECK(mb_inputs_create(&b, &in, NULL) == MB_OK && in.X.dtype == MB_BF16);
        mb_tensor y;
        CHECK(mb_output_alloc(&b, &y, NULL) == MB_OK && y.dtype == MB_BF16);
        CHECK(mb_tensor_bytes(&in.X) + mb_tensor_bytes(&y) + mb_tensor_bytes(&in.task) +
              mb_tensor_bytes(&in.R) == ib);
        mb_tensor_free(&y);
        mb_inputs_free(&in);

        /* cost: exactly half the bytes, the same FLOPs (every impl's formula) */
        const char *impls[] = {"blas", "merged"};
        for (int k = 0; k < 2; k++) {
            mb_cost ca = mb_cost_of_impl(&a, impls[k], NULL), cb = mb_cost_of_impl(&b, impls[k], NULL);
            CHECK_MSG(cb.flops == ca.flops, "%s", d16);
            CHECK_MSG(cb.weight_bytes * 2 == ca.weight_bytes && cb.bytes * 2 == ca.bytes,
                      "%s %s: weight bytes %g vs %g, bytes %g vs %g", d16, impls[k],
                      cb.weight_bytes, ca.weight_bytes, cb.bytes, ca.bytes);
        }

        /* the memory estimate counts the smaller weights and inputs (and stays defined: the
         * f32-sized base weights once made the derived bytes negative, an "overflow") */
        mb_mem_opts o = {mb_spec_T(&a), NULL, 0, 1, 0, -1, -1};
        const char *all[] = {"naive", "blas", "onednn", "avx512", "merged"};
        o.impls = all;
        o.n_impls = 5;
        mb_mem_estimate ea, eb;
        mb_err err;
        CHECK_MSG(mb_mem_estimate_case(&a, &o, &ea, &err) == MB_OK, "%s", err.msg);
        CHECK_MSG(mb_mem_estimate_case(&b, &o, &eb, &err) == MB_OK, "%s: %s", d16, err.msg);
        CHECK(eb.weights * 2 == ea.weights && eb.inputs < ea.inputs && eb.total < ea.total);
    }
    /* the hand-computed f32 lora cost (test_core_cost.c) at 2 bytes per element */
    mb_spec l = spec("lora:T=2,h=3,o=5,r=1,dtype=bf16");
    mb_cost c = mb_cost_of(&l, NULL);
    CHECK(c.flops == 92 && c.weight_bytes == 2 * 23 && c.bytes == 2 * 23 + 2 * 16);
}

static void test_tolerance(void)
{
    const mb_tol_rule *f = mb_tolerance_rule(MB_F32), *b = mb_tolerance_rule(MB_BF16);
    CHECK(f && f->rtol == 1e-4 && f->atol_rms == 1e-4);
    CHECK(b && b->rtol == 0x1p-7 && b->atol_rms == 0x1p-6);
    CHECK(!mb_tolerance_rule(MB_F16) && !mb_tolerance_rule(MB_I32) && !mb_tolerance_rule(MB_I8) &&
          !mb_tolerance_rule(MB_I4) && !mb_tolerance_rule((mb_dtype)99));
    /* f32 keeps the rule it always had, bit for bit */
    mb_spec s = spec("mlp_lora:T=2,h=256,f=1024,r=4");
    double atol, rtol;
    mb_tolerance(&s, 2.0, &atol, &rtol);
    CHECK(rtol == 1e-4 && atol == 1e-4 * 2.0 * sqrt(1024 / 64.0));
    s.dtype = MB_BF16;
    mb_tolerance(&s, 2.0, &atol, &rtol);
    CHECK(rtol == 0x1p-7 && atol == 0x1p-6 * 2.0 * sqrt(1024 / 64.0));

    /* bf16 tensors compare under the bf16 rule: one bf16 ulp passes, a few do not */
    mb_spec l = spec("lora:T=1,h=64,o=4,r=2,dtype=bf16");
    int64_t shape[2] = {1, 4};
    mb_tensor y, ref;
    CHECK(mb_tensor_alloc(&y, MB_BF16, 2, shape, NULL) == MB_OK);
    CHECK(mb_tensor_alloc(&ref, MB_BF16, 2, shape, NULL) == MB_OK);
    uint16_t *py = y.data, *pr = ref.data;
    for (int i = 0; i < 4; i++)
        py[i] = pr[i] = 0x3f80;   /* 1.0 */
    py[2] = 0x3f81;               /* 1 + 2^-7: one ulp up */
    mb_cmp c = mb_compare(&l, &y, &ref);
    CHECK_MSG(c.pass && c.max_abs_err == 0x1p-7, "one ulp: pass %d err %g", c.pass, c.max_abs_err);
    py[2] = 0x3f88;               /* 1 + 8 * 2^-7 */
    c = mb_compare(&l, &y, &ref);
    CHECK(!c.pass && c.first_bad == 2);
    /* a dtype without a rule, or tensors of another dtype than the spec's, never pass */
    l.dtype = MB_F32;
    c = mb_compare(&l, &y, &ref);
    CHECK(!c.pass && isinf(c.max_abs_err));
    mb_tensor_free(&y);
    mb_tensor_free(&ref);
}

/* A bf16 case is valid: naive computes it (spec "Precision": double from the bf16 inputs), so
 * does avx512 where the CPU (or the emulated test build) runs AVX512_BF16 (test_variant_precision.c
 * checks its values), and every other implementation is unsupported with a reason that names
 * bf16 (the library's own, or the provider's dtype set; never an error, never silently f32);
 * prepare says the same. */
static void test_impls_skip_bf16(void)
{
    mb_spec s = spec("lora:T=4,h=32,r=4,dtype=bf16");
    CHECK(mb_impl_count() >= 5);
    for (int i = 0; i < mb_impl_count(); i++) {
        const mb_impl *im = mb_impl_at(i);
        const char *why = im->unsupported(&s);
        if (!strcmp(im->name, "naive") ||
            (!strcmp(im->name, "avx512") && mb_cpu_has_avx512_bf16(NULL))) {
            CHECK_MSG(why == NULL, "%s: '%s'", im->name, why);
            continue;
        }
        CHECK_MSG(why && (strstr(why, "bf16") || strstr(why, "bfloat16")), "%s: '%s'", im->name,
                  why ? why : "(null)");
        if (!strcmp(im->name, "blas"))   /* Debian's OpenBLAS lacks sbgemm; another may have it */
            CHECK_MSG(why && (strstr(why, "built without bfloat16: cblas_sbgemm not exported") ||
                              strstr(why, "unsupported dtype bf16: blas implements f32 only")),
                      "blas: '%s'", why ? why : "(null)");
        char want[MB_ERR_MSG_LEN];
        snprintf(want, sizeof want, "%s", why ? why : "");
        mb_state *st = (mb_state *)&st;
        mb_err err;
        mb_err_clear(&err);
        CHECK_MSG(im->prepare(&s, NULL, &st, &err) == MB_EUNSUPPORTED, "%s", im->name);
        CHECK_MSG(strstr(err.msg, want), "%s: '%s' lacks '%s'", im->name, err.msg, want);
    }
    /* the f32 twin runs on naive and blas as before */
    s.dtype = MB_F32;
    CHECK(mb_impl_find("naive")->unsupported(&s) == NULL);
    CHECK(mb_impl_find("blas")->unsupported(&s) == NULL);
    /* wq: naive computes q * scale; every other implementation says why it cannot */
    s = spec("lora:T=4,h=64,r=4,wq=int8");
    for (int i = 0; i < mb_impl_count(); i++) {
        const mb_impl *im = mb_impl_at(i);
        const char *why = im->unsupported(&s);
        /* avx512 has weight-only kernels (gemm_wq_avx512.c): it runs wq wherever it runs, and
         * elsewhere says the probe's reason */
        if (!strcmp(im->name, "naive") || (!strcmp(im->name, "avx512") && mb_cpu_has_avx512(NULL)))
            CHECK_MSG(why == NULL, "%s wq: '%s'", im->name, why);
        else if (!strcmp(im->name, "avx512"))
            CHECK_MSG(why != NULL, "avx512 wq accepted where the CPU has no AVX-512");
        else
            CHECK_MSG(why && strstr(why, "wq"), "%s wq: '%s'", im->name, why ? why : "(null)");
    }
    /* the train step's reference is f32 only */
    s = spec("lora:T=4,h=32,r=4,dtype=bf16,mode=train");
    CHECK(mb_impl_find("naive")->unsupported(&s) != NULL);
}

int main(void)
{
    test_table();
    test_providers();
    test_bytes();
    test_tolerance();
    test_impls_skip_bf16();
    return mb_test_result("test_core_dtype");
}
