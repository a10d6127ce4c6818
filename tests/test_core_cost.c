/* Cost formulas on hand-computed small specs, the comparison tolerance, the thread setting and
 * the implementation registry. */
#include <math.h>
#include <omp.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"

static mb_spec spec(const char *desc)
{
    mb_spec s;
    mb_err err;
    CHECK_MSG(mb_spec_parse(desc, &s, &err) == MB_OK, "%s: %s", desc, err.msg);
    return s;
}

static void cost_is(const char *desc, const int64_t *counts, double flops, double wbytes,
                    double bytes)
{
    mb_spec s = spec(desc);
    mb_cost c = mb_cost_of(&s, counts);
    CHECK_MSG(c.flops == flops, "%s: flops %.17g, want %.17g", desc, c.flops, flops);
    CHECK_MSG(c.weight_bytes == wbytes, "%s: weight bytes %.17g, want %.17g", desc,
              c.weight_bytes, wbytes);
    CHECK_MSG(c.bytes == bytes, "%s: bytes %.17g, want %.17g", desc, c.bytes, bytes);
    CHECK_NEAR(c.intensity, flops / bytes, 1e-12);
}

static void test_cost(void)
{
    /* Worked by hand from spec Part 2 section 9 (see each comment). */
    cost_is("lora:T=2,h=3,o=5,r=1", NULL, 60 + 32, 4 * 23, 92 + 4 * 16);
    cost_is("mlp_lora:T=2,h=3,f=4,r=1", NULL, 144 + 84, 4 * 57, 228 + 4 * 12);
    cost_is("molora:T=2,h=3,o=5,r=1,E=2", NULL, 60 + 24 + 64, 4 * 37, 148 + 4 * 16);
    /* moelora: gate 2*B*te*E = 32; Emb rows read = min(B, tasks+1) = 2 */
    cost_is("moelora:B=2,S=1,h=3,o=5,r=2,E=2,tasks=3,te=4", NULL, 60 + 64 + 32, 4 * 47,
            188 + 4 * 16);
    /* mixlora: router 48, LoRA 6kTr(h+f) = 168, base by share mode */
    cost_is("mixlora:T=2,h=3,f=4,r=1,E=4,k=2,share=none", NULL, 48 + 288 + 168, 4 * 132,
            528 + 4 * 12);
    cost_is("mixlora:T=2,h=3,f=4,r=1,E=4,k=2,share=gate_up", NULL, 48 + 192 + 168, 4 * 132,
            528 + 4 * 12);
    int64_t counts4[4] = {1, 0, 3, 0};
    cost_is("mixlora:T=2,h=3,f=4,r=1,E=4,k=2", counts4, 48 + 144 + 168, 4 * 90, 360 + 4 * 12);
    cost_is("mor1e:T=2,h=3,o=5,r=2", NULL, 60 + 24 + 24 + 40, 4 * 39, 156 + 4 * 16);
    cost_is("sparse_mlp:T=2,h=3,f=8,E=4,k=2,shard=1", NULL, 48 + 144, 4 * 84, 336 + 4 * 12);
    int64_t counts2[4] = {2, 2, 0, 0};
    cost_is("sparse_mlp:T=2,h=3,f=8,E=4,k=2,shard=1", counts2, 48 + 144, 4 * 48, 192 + 4 * 12);
    cost_is("sparse_mlp:T=2,h=3,f=8,E=4,k=2", NULL, 48 + 576, 4 * (12 + 288), 1200 + 4 * 12);
    cost_is("router:T=2,h=3,E=4,k=2", NULL, 48, 48, 48 + 4 * 14);
    /* LLaMA-2-7B MixLoRA FFN per token (spec Part 2 section 6: 0.364 GF optimised path). */
    mb_spec s = spec("mixlora:share=gate_up");
    CHECK_NEAR(mb_cost_of(&s, NULL).flops / 1e9, 0.364, 0.001);
}

static void cost_impl_is(const char *desc, const char *impl, const int64_t *counts, double flops,
                         double wbytes, double bytes)
{
    mb_spec s = spec(desc);
    mb_cost c = mb_cost_of_impl(&s, impl, counts);
    CHECK_MSG(c.flops == flops, "%s %s: flops %.17g, want %.17g", desc, impl ? impl : "(null)",
              c.flops, flops);
    CHECK_MSG(c.weight_bytes == wbytes, "%s %s: weight bytes %.17g, want %.17g", desc,
              impl ? impl : "(null)", c.weight_bytes, wbytes);
    CHECK_MSG(c.bytes == bytes, "%s %s: bytes %.17g, want %.17g", desc, impl ? impl : "(null)",
              c.bytes, bytes);
    CHECK_NEAR(c.intensity, flops / bytes, 1e-12);
}

/* Implementation-aware costs: `merged` computes the merged GEMMs only (spec Part 1, "Merged
 * weights"); the other implementations and the unmergeable variants get the variant formula. */
static void test_cost_of_impl(void)
{
    /* lora: one GEMM, 2Tho = 60, W' 15 elements; X 6 + Y 10 elements */
    cost_impl_is("lora:T=2,h=3,o=5,r=1", "merged", NULL, 60, 4 * 15, 60 + 4 * 16);
    /* mlp_lora: 6Thf = 144, three merged projections 3hf = 36 */
    cost_impl_is("mlp_lora:T=2,h=3,f=4,r=1", "merged", NULL, 144, 4 * 36, 144 + 4 * 12);
    /* moelora: 2Tho = 60, one W' (15) per task present: min(B=2, tasks+1=4) = 2 */
    cost_impl_is("moelora:B=2,S=1,h=3,o=5,r=2,E=2,tasks=3,te=4", "merged", NULL, 60, 4 * 30,
                 120 + 4 * 16);
    /* B=3 sequences but only tasks+1 = 2 distinct tasks: 2 W'; T=3: 2*3*3*5 = 90 */
    cost_impl_is("moelora:B=3,S=1,h=3,o=5,r=2,E=2,tasks=1,te=4", "merged", NULL, 90, 4 * 30,
                 120 + 4 * 24);
    /* mixlora = sparse_mlp with E=4 full experts: router 2ThE = 48, 6kThf = 288; weights
     * router Eh = 12 + experts hit x 3hf = 36 each */
    cost_impl_is("mixlora:T=2,h=3,f=4,r=1,E=4,k=2", "merged", NULL, 48 + 288, 4 * (12 + 144),
                 4 * 156 + 4 * 12);
    int64_t counts4[4] = {1, 0, 3, 0};
    cost_impl_is("mixlora:T=2,h=3,f=4,r=1,E=4,k=2,share=none", "merged", counts4, 48 + 288,
                 4 * (12 + 72), 4 * 84 + 4 * 12);
    /* not merged: the variant formulas of test_cost */
    cost_impl_is("lora:T=2,h=3,o=5,r=1", "blas", NULL, 60 + 32, 4 * 23, 92 + 4 * 16);
    cost_impl_is("lora:T=2,h=3,o=5,r=1", NULL, NULL, 60 + 32, 4 * 23, 92 + 4 * 16);
    cost_impl_is("mixlora:T=2,h=3,f=4,r=1,E=4,k=2", "naive", counts4, 48 + 144 + 168, 4 * 90,
                 360 + 4 * 12);
    /* no merged form: merged falls back to the variant formula */
    cost_impl_is("molora:T=2,h=3,o=5,r=1,E=2", "merged", NULL, 60 + 24 + 64, 4 * 37,
                 148 + 4 * 16);
    cost_impl_is("sparse_mlp:T=2,h=3,f=8,E=4,k=2,shard=1", "merged", NULL, 48 + 144, 4 * 84,
                 336 + 4 * 12);
}

static void step_is(const char *desc, double flops, double bytes, int64_t trainable)
{
    mb_spec s = spec(desc);
    mb_cost c = mb_cost_step(&s, "blas", NULL);
    CHECK_MSG(c.flops == flops, "%s: step flops %.17g, want %.17g", desc, c.flops, flops);
    CHECK_MSG(c.bytes == bytes, "%s: step bytes %.17g, want %.17g", desc, c.bytes, bytes);
    CHECK_MSG(mb_trainable_elems(&s) == trainable, "%s: trainable %lld, want %lld", desc,
              (long long)mb_trainable_elems(&s), (long long)trainable);
}

/* The training step (spec "Training step", Part 2 section 9): frozen FLOPs x2, trainable x3;
 * bytes = the forward's + dY + dX + the touched trainable gradients. */
static void test_cost_step(void)
{
    /* lora: frozen 2Tho = 60 -> 120, adapter 32 -> 96; bytes 156 + 4 * (10 + 6) + 4 * 8 */
    step_is("lora:T=2,h=3,o=5,r=1,mode=train", 216, 156 + 64 + 32, 8);
    /* AdamW: 7 f32 accesses per trainable element */
    step_is("lora:T=2,h=3,o=5,r=1,mode=train,opt=adamw", 216, 156 + 64 + 32 + 7 * 4 * 8, 8);
    /* mlp_lora: 144 -> 288, 84 -> 252; bytes 276 + 4 * 12 + 4 * 21 */
    step_is("mlp_lora:T=2,h=3,f=4,r=1,mode=train", 540, 276 + 48 + 84, 21);
    /* sparse_mlp trains everything: x3; the experts' and router's gradients 84 elements */
    step_is("sparse_mlp:T=2,h=3,f=8,E=4,k=2,shard=1,mode=train", 576, 384 + 48 + 336, 84);
    /* router: 48 -> 144; dY is [T, E] */
    step_is("router:T=2,h=3,E=4,k=2,mode=train", 144, 104 + 4 * 14 + 48, 12);
    /* mixlora share=all: base 144 frozen -> 288, router + LoRA 216 -> 648; trainable 132 - 36 */
    mb_spec m = spec("mixlora:T=2,h=3,f=4,r=1,E=4,k=2,mode=train");
    CHECK(mb_cost_step(&m, "naive", NULL).flops == 936);
    CHECK(mb_trainable_elems(&m) == 96);
    /* forward mode: the forward's cost, merged included */
    mb_spec l = spec("lora:T=2,h=3,o=5,r=1");
    CHECK(mb_cost_step(&l, "merged", NULL).flops == 60);
    CHECK(mb_cost_step(&l, "blas", NULL).flops == 92);
}

/* Sample standard deviation of a weight tensor. */
static double weight_std(const mb_weights *w, const char *name)
{
    const mb_tensor *t = mb_weights_get(w, name);
    const int64_t n = mb_tensor_numel(t);
    const float *v = mb_f32(t);
    double s = 0.0, s2 = 0.0;
    for (int64_t i = 0; i < n; i++) {
        s += v[i];
        s2 += (double)v[i] * v[i];
    }
    return sqrt((s2 - s * s / (double)n) / (double)(n - 1));
}

/* sparse_mlp shard=1: the experts are slices of ONE MLP of width f, so the down projection has
 * fan-in f (N(0, 1/f)), not the slice width f/E; gate and up keep fan-in h. */
static void test_sparse_mlp_init_scales(void)
{
    mb_err err;
    mb_weights w;
    mb_spec s = spec("sparse_mlp:T=1,h=64,f=512,E=8,k=2,shard=1,seed=5");
    CHECK_MSG(mb_weights_create(&s, &w, &err) == MB_OK, "%s", err.msg);
    /* 32768 draws each: the sample std is within ~1% of the true one */
    CHECK_NEAR(weight_std(&w, "Wd"), 1.0 / sqrt(512.0), 0.05 / sqrt(512.0));
    CHECK_NEAR(weight_std(&w, "Wg"), 1.0 / sqrt(64.0), 0.05 / sqrt(64.0));
    CHECK_NEAR(weight_std(&w, "Wu"), 1.0 / sqrt(64.0), 0.05 / sqrt(64.0));
    mb_weights_free(&w);
    s = spec("sparse_mlp:T=1,h=64,f=64,E=8,k=2,shard=0,seed=5");
    CHECK_MSG(mb_weights_create(&s, &w, &err) == MB_OK, "%s", err.msg);
    CHECK_NEAR(weight_std(&w, "Wd"), 1.0 / sqrt(64.0), 0.05 / sqrt(64.0));
    mb_weights_free(&w);
}

static void test_compare(void)
{
    mb_spec s = spec("lora:T=1,h=64,o=4,r=4");
    CHECK(mb_reduction_depth(&s) == 64);
    mb_spec m = spec("mlp_lora:h=64,f=256,r=4");
    CHECK(mb_reduction_depth(&m) == 256);
    mb_spec sp = spec("sparse_mlp:h=64,f=256,E=8,shard=1");
    CHECK(mb_reduction_depth(&sp) == 64);
    double atol, rtol;
    mb_tolerance(&m, 2.0, &atol, &rtol);
    CHECK_NEAR(atol, 1e-4 * 2.0 * 2.0, 1e-15);   /* sqrt(256/64) = 2 */
    CHECK(rtol == 1e-4);

    mb_tensor ref, y;
    mb_err err;
    CHECK(mb_output_alloc(&s, &ref, &err) == MB_OK);
    CHECK(mb_output_alloc(&s, &y, &err) == MB_OK);
    float v[4] = {1, -1, 1, -1};   /* rms 1: atol 1e-4, so |d| <= 2e-4 passes */
    memcpy(ref.data, v, sizeof v);
    memcpy(y.data, v, sizeof v);
    mb_cmp c = mb_compare(&s, &y, &ref);
    CHECK(c.pass && c.first_bad == -1 && c.max_abs_err == 0.0);
    mb_f32(&y)[2] = 1.00015f;
    c = mb_compare(&s, &y, &ref);
    CHECK(c.pass);
    CHECK_NEAR(c.max_abs_err, 1.5e-4, 1e-7);
    mb_f32(&y)[2] = 1.001f;
    c = mb_compare(&s, &y, &ref);
    CHECK(!c.pass && c.first_bad == 2);
    CHECK_NEAR(c.max_rel_err, 1e-3, 1e-7);
    mb_f32(&y)[2] = 1.0f;
    mb_f32(&y)[3] = NAN;
    c = mb_compare(&s, &y, &ref);
    CHECK(!c.pass && c.first_bad == 3);
    mb_tensor_free(&y);
    int64_t three = 3;
    CHECK(mb_tensor_alloc(&y, MB_F32, 1, &three, &err) == MB_OK);
    c = mb_compare(&s, &y, &ref);
    CHECK(!c.pass);
    mb_tensor_free(&y);
    mb_tensor_free(&ref);
}

static void test_threads(void)
{
    mb_set_threads(1);
    CHECK(mb_get_threads() == 1 && omp_get_max_threads() == 1);
    mb_set_threads(2);
    CHECK(mb_get_threads() == 2 && omp_get_max_threads() == 2);
}

/* A test-only implementation: writes 7 everywhere. */
struct mb_state { int64_t n; };
static const char *fake_unsupported(const mb_spec *s)
{
    return s->variant == MB_LORA ? NULL : "fake runs lora only";
}
static mb_status fake_prepare(const mb_spec *s, const mb_weights *w, mb_state **st, mb_err *err)
{
    (void)w;
    (void)err;
    *st = mb_alloc(sizeof **st);
    (*st)->n = mb_spec_T(s) * mb_spec_out_width(s);
    return MB_OK;
}
static mb_status fake_forward(mb_state *st, const mb_inputs *in, mb_tensor *y,
                              mb_forward_info *info, mb_err *err)
{
    (void)in;
    (void)info;
    (void)err;
    for (int64_t i = 0; i < st->n; i++)
        mb_f32(y)[i] = 7.0f;
    return MB_OK;
}
static void fake_release(mb_state *st) { mb_free(st); }
static const mb_impl fake = {"fake", fake_unsupported, fake_prepare, fake_forward, fake_release, NULL, NULL};

static void test_registry(void)
{
    static const char *order[] = {"naive", "blas", "onednn", "avx512", "merged"};
    CHECK(mb_impl_count() == 5);
    for (int i = 0; i < 5; i++) {
        CHECK(mb_impl_at(i) && !strcmp(mb_impl_at(i)->name, order[i]));
        CHECK(mb_impl_find(order[i]) == mb_impl_at(i));
    }
    CHECK(mb_impl_at(5) == NULL && mb_impl_at(-1) == NULL && mb_impl_find("fake") == NULL);
    mb_impl_register_extra(&fake);
    mb_impl_register_extra(&fake);
    CHECK(mb_impl_count() == 6 && mb_impl_find("fake") == &fake);

    mb_spec s = spec("lora:T=2,h=8,r=2");
    mb_err err;
    mb_weights w;
    mb_inputs in;
    mb_tensor y;
    CHECK(mb_weights_create(&s, &w, &err) == MB_OK && mb_inputs_create(&s, &in, &err) == MB_OK &&
          mb_output_alloc(&s, &y, &err) == MB_OK);
    int64_t before = mb_mem_current();
    CHECK(mb_run_once(&fake, &s, &w, &in, &y, NULL, &err) == MB_OK);
    CHECK(mb_mem_current() == before);   /* release ran */
    CHECK(mb_tensor_sum(&y) == 7.0 * 16);
    mb_spec r = spec("router:T=2,h=8");
    CHECK(mb_run_once(&fake, &r, &w, &in, &y, NULL, &err) == MB_EUNSUPPORTED);
    CHECK(strstr(err.msg, "lora only") != NULL);
    mb_tensor_free(&y);
    mb_inputs_free(&in);
    mb_weights_free(&w);

    /* forward_info sizes per variant. */
    mb_forward_info info;
    mb_spec mx = spec("mixlora:T=5,h=16,f=16,r=2,E=4,k=3");
    CHECK(mb_forward_info_alloc(&mx, &info, &err) == MB_OK);
    CHECK(info.routing.idx && info.routing.T == 5 && info.routing.E == 4 && info.routing.k == 3 &&
          info.gate == NULL);
    mb_forward_info_free(&info);
    mb_forward_info_free(&info);
    mb_spec mo = spec("molora:T=5,h=16,r=2,E=4");
    int64_t m0 = mb_mem_current();
    CHECK(mb_forward_info_alloc(&mo, &info, &err) == MB_OK);
    CHECK(info.gate && info.routing.idx == NULL && mb_mem_current() - m0 == 128);   /* 20 floats */
    mb_forward_info_free(&info);
    mb_spec lo = spec("lora:T=5");
    CHECK(mb_forward_info_alloc(&lo, &info, &err) == MB_OK);
    CHECK(info.gate == NULL && info.routing.idx == NULL);
    mb_forward_info_free(&info);
}

/* The naive router's choices agree with mb_route applied to logits computed here: two
 * independent routings (the reference sorts in double, core's mb_route selects in k passes on
 * fp32 p), the same idx (descending p), weights, counts and losses. */
static void test_naive_router_matches_core_routing(void)
{
    mb_spec s = spec("router:T=40,h=24,E=6,k=2,seed=3");
    mb_err err;
    mb_weights w;
    mb_inputs in;
    mb_tensor y;
    mb_forward_info info;
    CHECK(mb_weights_create(&s, &w, &err) == MB_OK && mb_inputs_create(&s, &in, &err) == MB_OK &&
          mb_output_alloc(&s, &y, &err) == MB_OK && mb_forward_info_alloc(&s, &info, &err) == MB_OK);
    const mb_impl *naive = mb_impl_find("naive");
    CHECK_MSG(mb_run_once(naive, &s, &w, &in, &y, &info, &err) == MB_OK, "%s", err.msg);
    float z[40 * 6];
    const float *X = mb_f32(&in.X), *Wr = mb_f32(mb_weights_get(&w, "Wr"));
    for (int t = 0; t < 40; t++)
        for (int e = 0; e < 6; e++) {
            double acc = 0;
            for (int i = 0; i < 24; i++)
                acc += (double)X[t * 24 + i] * Wr[e * 24 + i];
            z[t * 6 + e] = (float)acc;
        }
    mb_routing mine;
    CHECK(mb_routing_alloc(&mine, 40, 6, 2, &err) == MB_OK);
    CHECK(mb_route(z, 40, 6, 2, &mine, NULL, &err) == MB_OK);
    int64_t bad;
    CHECK_MSG(mb_routing_equal(&mine, &info.routing, &bad) == 0, "first differing token %lld",
              (long long)bad);
    CHECK_NEAR(mine.aux_loss, info.routing.aux_loss, 1e-5);
    CHECK_NEAR(mine.z_loss, info.routing.z_loss, 1e-5);
    for (int i = 0; i < 40 * 2; i++)
        CHECK_NEAR(mine.w[i], info.routing.w[i], 1e-6);
    for (int e = 0; e < 6; e++)
        CHECK(mine.counts[e] == info.routing.counts[e]);
    /* The router output Y is the dense combine matrix of the same routing. */
    for (int t = 0; t < 40; t++)
        for (int j = 0; j < 2; j++)
            CHECK(mb_f32(&y)[t * 6 + mine.idx[t * 2 + j]] == info.routing.w[t * 2 + j]);
    mb_routing_free(&mine);

    /* Exact ties: experts 1, 3 and 4 get identical router rows, so every token has equal
     * p for them; both routings must break the tie to the lower index, in descending p. */
    float *Wm = mb_f32(mb_weights_get_mut(&w, "Wr"));
    for (int i = 0; i < 24; i++)
        Wm[3 * 24 + i] = Wm[4 * 24 + i] = Wm[1 * 24 + i] = 0.5f;
    CHECK_MSG(mb_run_once(naive, &s, &w, &in, &y, &info, &err) == MB_OK, "%s", err.msg);
    for (int t = 0; t < 40; t++)
        for (int e = 0; e < 6; e++) {
            double acc = 0;
            for (int i = 0; i < 24; i++)
                acc += (double)X[t * 24 + i] * Wr[e * 24 + i];
            z[t * 6 + e] = (float)acc;
        }
    CHECK(mb_routing_alloc(&mine, 40, 6, 2, &err) == MB_OK);
    CHECK(mb_route(z, 40, 6, 2, &mine, NULL, &err) == MB_OK);
    CHECK_MSG(mb_routing_equal(&mine, &info.routing, &bad) == 0, "ties: first differing token "
              "%lld", (long long)bad);
    int tied_pairs = 0;
    for (int t = 0; t < 40; t++) {
        const int32_t *id = info.routing.idx + t * 2;
        CHECK(id[0] != 3 && id[0] != 4);          /* 1 always wins the tie */
        CHECK(!(id[0] == 1 && id[1] == 4));       /* then 3 before 4 */
        tied_pairs += id[0] == 1 && id[1] == 3;
    }
    CHECK(tied_pairs > 0);   /* the tie actually decided some tokens */
    mb_routing_free(&mine);
    mb_forward_info_free(&info);
    mb_tensor_free(&y);
    mb_inputs_free(&in);
    mb_weights_free(&w);
}

int main(void)
{
    test_cost();
    test_cost_of_impl();
    test_cost_step();
    test_sparse_mlp_init_scales();
    test_compare();
    test_threads();
    test_registry();
    test_naive_router_matches_core_routing();
    return mb_test_result("test_core_cost");
}
