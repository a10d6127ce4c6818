/* moebench/train.h: every listed trainable tensor exists in the variant's weights (and no base
 * weight is listed), mb_grads_alloc shapes the gradients like the weights, with the AdamW
 * buffers only for opt=adamw, dY is seeded and in [-1, 1], and the AdamW step writes upd from the
 * unchanged weights. */
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"

static const char *const small[] = {
    "lora:T=3,h=8,o=6,r=2,mode=train",
    "mlp_lora:T=3,h=8,f=12,r=2,mode=train,opt=adamw",
    "molora:T=3,h=8,o=6,r=2,E=3,mode=train",
    "moelora:B=2,S=2,h=8,o=6,r=4,E=2,tasks=3,te=4,mode=train",
    "mixlora:T=3,h=8,f=12,r=2,E=3,k=2,mode=train,opt=adamw",
    "mor1e:T=3,h=8,o=6,r=2,mode=train",
    "sparse_mlp:T=3,h=8,f=12,E=3,k=2,mode=train",
    "router:T=3,h=8,E=3,k=2,mode=train,opt=adamw",
};
_Static_assert(sizeof small / sizeof small[0] == MB_NUM_VARIANTS, "one case per variant");

static void test_variant(const char *desc)
{
    mb_spec s;
    mb_err err = { 0 };
    mb_weights w = { 0 };
    mb_grads g;
    CHECK_MSG(mb_spec_parse(desc, &s, &err) == MB_OK && mb_spec_validate(&s, 0, &err) == MB_OK,
              "%s: %s", desc, err.msg);
    CHECK(mb_weights_create(&s, &w, &err) == MB_OK);
    CHECK_MSG(mb_grads_alloc(&s, &w, &g, &err) == MB_OK, "%s: %s", desc, err.msg);
    CHECK(g.dX.shape[0] == mb_spec_T(&s) && g.dX.shape[1] == s.h);
    int64_t want = mb_tensor_bytes(&g.dX);
    for (int i = 0; i < w.n; i++) {
        const char *name = w.item[i].name;
        const mb_tensor *d = mb_weights_get(&g.dW, name);
        CHECK_MSG(!d == !mb_is_trainable(s.variant, name), "%s: %s", desc, name);
        if (!d)
            continue;
        want += mb_tensor_bytes(d);
        CHECK(d->ndim == w.item[i].t.ndim && !memcmp(d->shape, w.item[i].t.shape, sizeof d->shape));
        CHECK(!mb_weights_get(&g.upd, name) == (s.opt != MB_OPT_ADAMW));
    }
    CHECK(mb_grads_bytes(&g) == want);
    CHECK(mb_grads_optimizer_bytes(&g) ==
          (s.opt == MB_OPT_ADAMW ? 2 * (want - mb_tensor_bytes(&g.dX)) : 0));
    /* base weights are frozen; sparse_mlp has no adapter: its experts are trained */
    CHECK(!mb_is_trainable(s.variant, "W"));
    CHECK((mb_is_trainable(s.variant, "Wd") || mb_is_trainable(s.variant, "Wu")) ==
          (s.variant == MB_SPARSE_MLP));
    if (s.opt == MB_OPT_ADAMW) {
        for (int i = 0; i < g.dW.n; i++)
            mb_fill_uniform(&g.dW.item[i].t, 1, 1, -1.0f, 1.0f);
        CHECK(mb_grads_apply_opt(&s, &w, &g, &err) == MB_OK);
        const mb_tensor *w0 = mb_weights_get(&w, g.dW.item[0].name);
        const mb_tensor *u0 = &g.upd.item[0].t;
        const float *a = mb_f32(w0), *b = mb_f32(u0), *gr = mb_f32(&g.dW.item[0].t);
        for (int64_t j = 0; j < mb_tensor_numel(w0); j++) {
            float want_u = a[j];
            mb_adamw_step(&want_u, &gr[j], &(float){0}, &(float){0}, 1);
            CHECK(b[j] == want_u && b[j] != a[j]);
        }
    }
    mb_grads_free(&g);
    mb_weights_free(&w);
}

static void test_dy(void)
{
    mb_spec s;
    mb_err err = { 0 };
    mb_tensor a, b;
    CHECK(mb_spec_parse("router:T=5,h=8,E=3,k=2,mode=train", &s, &err) == MB_OK);
    CHECK(mb_train_dy_create(&s, &a, &err) == MB_OK && mb_train_dy_create(&s, &b, &err) == MB_OK);
    CHECK(a.shape[0] == 5 && a.shape[1] == 3);   /* router: Y is [T, E] */
    CHECK(!memcmp(a.data, b.data, (size_t)mb_tensor_bytes(&a)));
    for (int64_t i = 0; i < mb_tensor_numel(&a); i++)
        CHECK(mb_f32(&a)[i] >= -1.0f && mb_f32(&a)[i] <= 1.0f);
    mb_tensor_free(&b);
    s.seed = 43;
    CHECK(mb_train_dy_create(&s, &b, &err) == MB_OK);
    CHECK(memcmp(a.data, b.data, (size_t)mb_tensor_bytes(&a)) != 0);
    mb_tensor_free(&a);
    mb_tensor_free(&b);
}

int main(void)
{
    for (int v = 0; v < MB_NUM_VARIANTS; v++)
        test_variant(small[v]);
    test_dy();
    CHECK(!strcmp(mb_variant_trainable(MB_MOR1E), "A,B,Wr,w_omega,w_beta"));
    return mb_test_result("test_core_train");
}
