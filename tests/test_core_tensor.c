/* Tensors, counter-based fills (thread-count independence, statistics), weights and inputs,
 * and the allocation tracker. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"

/* Large enough that the fills take their OpenMP path. */
#define N_BIG 300001

static mb_tensor vec(mb_dtype d, int64_t n)
{
    mb_tensor t;
    mb_err err;
    CHECK(mb_tensor_alloc(&t, d, 1, &n, &err) == MB_OK);
    return t;
}

static void mean_std(const mb_tensor *t, double *mean, double *std)
{
    int64_t n = mb_tensor_numel(t);
    double s = 0, ss = 0;
    for (int64_t i = 0; i < n; i++) {
        s += mb_f32(t)[i];
        ss += (double)mb_f32(t)[i] * mb_f32(t)[i];
    }
    *mean = s / n;
    *std = sqrt(ss / n - *mean * *mean);
}

static void test_alloc(void)
{
    mb_tensor t;
    mb_err err;
    int64_t shape[3] = {2, 3, 4};
    CHECK(mb_tensor_alloc(&t, MB_F32, 3, shape, &err) == MB_OK);
    CHECK(t.stride[0] == 12 && t.stride[1] == 4 && t.stride[2] == 1);
    CHECK(mb_tensor_numel(&t) == 24 && mb_tensor_bytes(&t) == 96);
    CHECK(((uintptr_t)t.data % MB_ALIGN) == 0);
    CHECK(mb_tensor_sum(&t) == 0.0);   /* zero-filled */
    mb_tensor_free(&t);
    mb_tensor_free(&t);                /* double free is harmless */
    CHECK(t.data == NULL);
    int64_t bad[2] = {3, 0};
    CHECK(mb_tensor_alloc(&t, MB_F32, 2, bad, &err) == MB_EINVAL);
    CHECK(mb_tensor_alloc(&t, MB_F32, 5, shape, &err) == MB_EINVAL);
    int64_t huge[2] = {INT64_MAX / 2, 4};
    CHECK(mb_tensor_alloc(&t, MB_F32, 2, huge, &err) == MB_EINVAL);
    mb_dtype d;
    CHECK(mb_dtype_parse("bf16", &d) == 0 && d == MB_BF16 && mb_dtype_size(d) == 2);
    CHECK(mb_dtype_parse("f64", &d) == -1);
    CHECK(!strcmp(mb_dtype_name(MB_I32), "i32"));
}

static void test_fill_threads(void)
{
    mb_tensor a = vec(MB_F32, N_BIG), b = vec(MB_F32, N_BIG), u = vec(MB_F32, N_BIG);
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    mb_fill_normal(&a, 7, 11, 0.0f, 1.0f);
    mb_fill_uniform(&u, 7, 11, -1.0f, 1.0f);
    omp_set_num_threads(2);
    mb_fill_normal(&b, 7, 11, 0.0f, 1.0f);
    CHECK(!memcmp(a.data, b.data, (size_t)mb_tensor_bytes(&a)));
    mb_fill_uniform(&b, 7, 11, -1.0f, 1.0f);
    CHECK(!memcmp(u.data, b.data, (size_t)mb_tensor_bytes(&u)));
    omp_set_num_threads(saved);

    /* Element i depends on i only, not on the tensor's size. */
    mb_tensor s = vec(MB_F32, 10);
    mb_fill_normal(&s, 7, 11, 0.0f, 1.0f);
    CHECK(!memcmp(s.data, a.data, 10 * sizeof(float)));
    mb_tensor_free(&s);

    /* Seeds and streams change the numbers. */
    mb_fill_normal(&b, 8, 11, 0.0f, 1.0f);
    CHECK(memcmp(a.data, b.data, 64) != 0);
    mb_fill_normal(&b, 7, 12, 0.0f, 1.0f);
    CHECK(memcmp(a.data, b.data, 64) != 0);
    CHECK(mb_tensor_hash(&a) != mb_tensor_hash(&b));

    double m, sd;
    mean_std(&a, &m, &sd);
    CHECK_NEAR(m, 0.0, 0.01);
    CHECK_NEAR(sd, 1.0, 0.01);
    mb_fill_normal(&b, 1, 2, 3.0f, 0.5f);
    mean_std(&b, &m, &sd);
    CHECK_NEAR(m, 3.0, 0.01);
    CHECK_NEAR(sd, 0.5, 0.01);
    mean_std(&u, &m, &sd);
    CHECK_NEAR(m, 0.0, 0.01);
    CHECK_NEAR(sd, 1.0 / sqrt(3.0), 0.01);
    float lo = 1, hi = -1;
    for (int64_t i = 0; i < N_BIG; i++) {
        lo = fminf(lo, mb_f32(&u)[i]);
        hi = fmaxf(hi, mb_f32(&u)[i]);
    }
    CHECK(lo >= -1.0f && lo < -0.999f && hi <= 1.0f && hi > 0.999f);
    mb_tensor_free(&a);
    mb_tensor_free(&b);
    mb_tensor_free(&u);
}

static void test_fill_int_and_hash(void)
{
    mb_tensor t = vec(MB_I32, 1000);
    mb_fill_int(&t, 3, 4, 5);
    int seen[5] = {0};
    int ok = 1;
    for (int i = 0; i < 1000; i++) {
        int32_t v = mb_i32(&t)[i];
        if (v < 0 || v >= 5)
            ok = 0;
        else
            seen[v]++;
    }
    CHECK(ok);
    for (int v = 0; v < 5; v++)
        CHECK(seen[v] > 150 && seen[v] < 250);
    mb_tensor_free(&t);

    /* FNV-1a 64 reference values. */
    CHECK(mb_stream_of("") == 0xcbf29ce484222325ULL);
    CHECK(mb_stream_of("a") == 0xaf63dc4c8601ec8cULL);
    CHECK(mb_stream_of("W") != mb_stream_of("Wr"));

    mb_tensor f = vec(MB_F32, 4);
    float v[4] = {1.0f, -2.5f, 0.25f, 4.0f};
    memcpy(f.data, v, sizeof v);
    CHECK_NEAR(mb_tensor_sum(&f), 2.75, 1e-12);
    uint64_t h = mb_tensor_hash(&f);
    mb_f32(&f)[2] = 0.5f;
    CHECK(mb_tensor_hash(&f) != h);
    mb_tensor_free(&f);
}

static void test_weights(void)
{
    static const char *desc[] = {
        "lora:T=3,h=16,o=8,r=4", "mlp_lora:T=3,h=16,f=24,r=4", "molora:T=3,h=16,o=8,r=2,E=3",
        "moelora:B=2,S=2,h=16,o=8,r=4,E=2,tasks=3,te=5", "mixlora:T=3,h=16,f=24,r=2,E=4,k=2",
        "mor1e:B=2,S=2,h=16,o=8,r=4", "sparse_mlp:T=3,h=16,f=24,E=4,k=2,shard=1",
        "router:T=3,h=16,E=4,k=2"};
    static const int nweights[] = {3, 9, 4, 5, 10, 6, 4, 1};
    for (int i = 0; i < 8; i++) {
        mb_spec s;
        mb_err err;
        mb_weights w, w1, w0;
        CHECK(mb_spec_parse(desc[i], &s, &err) == MB_OK);
        CHECK_MSG(mb_weights_create(&s, &w, &err) == MB_OK, "%s: %s", desc[i], err.msg);
        CHECK_MSG(w.n == nweights[i], "%s: %d weights", desc[i], w.n);
        int64_t wb, io;
        CHECK(mb_spec_bytes(&s, &wb, &io, &err) == MB_OK);
        CHECK_MSG(mb_weights_bytes(&w) == wb, "%s: %lld vs %lld bytes", desc[i],
                  (long long)mb_weights_bytes(&w), (long long)wb);
        CHECK(mb_weights_create(&s, &w0, &err) == MB_OK);
        CHECK(mb_weights_create_copy(&s, 1, &w1, &err) == MB_OK);
        for (int j = 0; j < w.n; j++) {
            CHECK(mb_tensor_hash(&w.item[j].t) == mb_tensor_hash(&w0.item[j].t));
            if (mb_tensor_numel(&w.item[j].t) > 1)
                CHECK_MSG(mb_tensor_hash(&w.item[j].t) != mb_tensor_hash(&w1.item[j].t),
                          "%s: copy 1 of %s equals copy 0", desc[i], w.item[j].name);
            CHECK(mb_tensor_sum(&w.item[j].t) != 0.0);   /* nothing left zero, B included */
        }
        mb_inputs in;
        CHECK(mb_inputs_create(&s, &in, &err) == MB_OK);
        CHECK(in.X.shape[0] == mb_spec_T(&s) && in.X.shape[1] == s.h);
        CHECK((in.task.data != NULL) == (s.variant == MB_MOELORA));
        CHECK((in.R.data != NULL) == (s.variant == MB_MOR1E));
        mb_tensor y;
        CHECK(mb_output_alloc(&s, &y, &err) == MB_OK);
        CHECK(y.shape[0] == mb_spec_T(&s) && y.shape[1] == mb_spec_out_width(&s));
        mb_tensor_free(&y);
        mb_inputs_free(&in);
        mb_weights_free(&w);
        mb_weights_free(&w0);
        mb_weights_free(&w1);
    }

    /* Shapes and init ranges of one variant in detail. */
    mb_spec s;
    mb_err err;
    mb_weights w;
    CHECK(mb_spec_parse("mixlora:T=4,h=64,f=100,r=8,E=4,k=2,seed=5", &s, &err) == MB_OK);
    CHECK(mb_weights_create(&s, &w, &err) == MB_OK);
    const mb_tensor *bd = mb_weights_get(&w, "Bd"), *ad = mb_weights_get(&w, "Ad");
    CHECK(bd && bd->ndim == 3 && bd->shape[0] == 4 && bd->shape[1] == 64 && bd->shape[2] == 8);
    CHECK(ad && ad->shape[1] == 8 && ad->shape[2] == 100);
    CHECK(mb_weights_get(&w, "nope") == NULL);
    int in_range = 1;
    for (int64_t i = 0; i < mb_tensor_numel(ad); i++)
        in_range &= fabsf(mb_f32(ad)[i]) <= 0.1f;         /* U(+-1/sqrt(100)) */
    for (int64_t i = 0; i < mb_tensor_numel(bd); i++)
        in_range &= fabsf(mb_f32(bd)[i]) <= 0.35356f;     /* U(+-1/sqrt(8)) */
    CHECK(in_range);
    mb_tensor extra;
    int64_t one = 1;
    CHECK(mb_tensor_alloc(&extra, MB_F32, 1, &one, &err) == MB_OK);
    CHECK(mb_weights_add(&w, "Wg", extra, &err) == MB_EINVAL);   /* duplicate name */
    CHECK(mb_weights_add(&w, "extra", extra, &err) == MB_OK);
    CHECK(mb_weights_get(&w, "extra") != NULL);
    mb_weights_free(&w);

    /* Router init N(0, 0.02^2), frozen W N(0, 1/h), task ids in [0, tasks], R in [0, 1). */
    CHECK(mb_spec_parse("moelora:B=4000,S=1,h=256,o=64,r=8,E=4,tasks=3,te=5", &s, &err) == MB_OK);
    CHECK(mb_weights_create(&s, &w, &err) == MB_OK);
    double m, sd;
    mean_std(mb_weights_get(&w, "W"), &m, &sd);
    CHECK_NEAR(sd, 1.0 / 16.0, 0.002);
    mb_inputs in;
    CHECK(mb_inputs_create(&s, &in, &err) == MB_OK);
    int max_task = 0, ok = 1;
    for (int64_t b = 0; b < s.B; b++) {
        int32_t t = mb_i32(&in.task)[b];
        ok &= t >= 0 && t <= 3;
        max_task = t > max_task ? t : max_task;
    }
    CHECK(ok && max_task == 3);
    mean_std(&in.X, &m, &sd);
    CHECK_NEAR(sd, 1.0, 0.01);
    mb_inputs_free(&in);
    mb_weights_free(&w);
    CHECK(mb_spec_parse("router:h=512,E=64", &s, &err) == MB_OK);
    CHECK(mb_weights_create(&s, &w, &err) == MB_OK);
    mean_std(mb_weights_get(&w, "Wr"), &m, &sd);
    CHECK_NEAR(sd, 0.02, 0.001);
    mb_weights_free(&w);
}

static void test_mem(void)
{
    int64_t base = mb_mem_current();
    mb_mem_reset_peak();
    CHECK(mb_mem_peak() == base);
    CHECK(mb_alloc(0) == NULL);
    unsigned char *p = mb_alloc(100);
    CHECK(p && (uintptr_t)p % MB_ALIGN == 0);
    int zero = 1;
    for (int i = 0; i < 100; i++)
        zero &= p[i] == 0;
    CHECK(zero);
    CHECK(mb_mem_current() - base == 128);   /* rounded up to the alignment */
    void *q = mb_alloc(1000);
    CHECK(mb_mem_current() - base == 128 + 1024);
    mb_free(p);
    CHECK(mb_mem_current() - base == 1024);
    CHECK(mb_mem_peak() - base == 128 + 1024);
    mb_mem_reset_peak();
    CHECK(mb_mem_peak() - base == 1024);
    mb_free(q);
    mb_free(NULL);
    CHECK(mb_mem_current() == base);
    CHECK(mb_alloc(SIZE_MAX) == NULL);
    CHECK(mb_mem_current() == base);

    int64_t r;
    CHECK(mb_mul_i64(1LL << 31, 1LL << 31, &r) == 0 && r == (1LL << 62));
    CHECK(mb_mul_i64(1LL << 32, 1LL << 31, &r) == -1);
    CHECK(mb_mul_i64(-3, 4, &r) == 0 && r == -12);
    CHECK(mb_add_i64(INT64_MAX, 1, &r) == -1);
    CHECK(mb_add_i64(INT64_MAX - 1, 1, &r) == 0 && r == INT64_MAX);
}

int main(void)
{
    test_alloc();
    test_fill_threads();
    test_fill_int_and_hash();
    test_weights();
    test_mem();
    return mb_test_result("test_core_tensor");
}
