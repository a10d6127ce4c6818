/* The training step of the provider-backed implementations (blas, onednn; avx512 where this CPU
 * executes it) for every variant, against central finite differences of the same
 * implementation's forward: L = sum(Y .* dY) + aux L_aux + zloss L_z, perturbing one element
 * of X or of a trainable tensor at a time (a sample of up to 10 elements per tensor; every
 * gradient tensor of the variant and dX are checked). Elements whose perturbation changes the
 * routing are skipped (top-k is not differentiated). Also: dropout (p > 0) with the same
 * finite differences (the mask is fixed by the seed), the adamw update against
 * mb_adamw_step_to, and merged refusing train cases with the spec's reason.
 * Tolerance: the forward runs in f32, so L carries ~1e-7 relative rounding per term; with
 * step eps the difference quotient's error is ~|L| 1e-7 / eps plus O(eps^2) truncation:
 * |fd - g| <= 3e-2 max(|fd|, |g|) + 2e-3 max|g over the tensor| + 2e-3. */
#include <math.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"
#include "moebench/adamw.h"
#include "moebench/train.h"

static double loss(const mb_impl *impl, const mb_spec *s, const mb_weights *w,
                   const mb_inputs *in, const float *dY, int32_t *idx_out, int *same_route,
                   const int32_t *idx_ref)
{
    mb_err err;
    mb_tensor y = { 0 };
    mb_forward_info info;
    memset(&info, 0, sizeof info);
    double L = NAN;
    CHECK(mb_output_alloc(s, &y, &err) == MB_OK);
    CHECK(mb_forward_info_alloc(s, &info, &err) == MB_OK);
    mb_state *st = NULL;
    mb_status rc = impl->prepare(s, w, &st, &err);
    CHECK_MSG(rc == MB_OK, "%s prepare: %s", impl->name, err.msg);
    if (rc == MB_OK && impl->forward(st, in, &y, &info, &err) == MB_OK) {
        L = 0.0;
        const int64_t n = mb_tensor_numel(&y);
        for (int64_t i = 0; i < n; i++) L += (double)mb_f32(&y)[i] * dY[i];
        if (info.routing.idx) {
            L += s->aux * info.routing.aux_loss + s->zloss * info.routing.z_loss;
            const int64_t nk = info.routing.T * info.routing.k;
            if (idx_out) memcpy(idx_out, info.routing.idx, sizeof(int32_t) * (size_t)nk);
            if (same_route && idx_ref)
                *same_route = !memcmp(idx_ref, info.routing.idx, sizeof(int32_t) * (size_t)nk);
        }
    }
    impl->release(st);
    mb_forward_info_free(&info);
    mb_tensor_free(&y);
    return L;
}

/* Checks gradient g of tensor t (an element of w or X) at up to 10 sampled elements. */
static void check_tensor(const mb_impl *impl, const mb_spec *s, mb_weights *w, mb_inputs *in,
                         const float *dY, const char *name, float *t, const float *g, int64_t n,
                         const int32_t *idx_ref, const char *desc)
{
    double gmax = 0.0;
    for (int64_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(g[i]));
    const int scalar = n == 1;
    const int64_t stride = n > 10 ? n / 10 : 1;
    int checked = 0;
    for (int64_t i = (n * 7 / 13) % stride; i < n; i += stride) {
        const float keep = t[i];
        const float eps = scalar ? 2e-5f : 2e-3f;
        int same_p = 1, same_m = 1;
        t[i] = keep + eps;
        double Lp = loss(impl, s, w, in, dY, NULL, &same_p, idx_ref);
        t[i] = keep - eps;
        double Lm = loss(impl, s, w, in, dY, NULL, &same_m, idx_ref);
        t[i] = keep;
        if (!same_p || !same_m) continue;
        const double fd = (Lp - Lm) / (2.0 * (double)eps);
        const double tol = 3e-2 * fmax(fabs(fd), fabs(g[i])) + 2e-3 * gmax + 2e-3;
        CHECK_MSG(fabs(fd - g[i]) <= tol, "%s %s: d%s[%lld] = %g, finite difference %g", impl->name,
                  desc, name, (long long)i, g[i], fd);
        checked++;
    }
    CHECK_MSG(checked > 0, "%s %s: no element of %s checked", impl->name, desc, name);
}

static void check_case(const mb_impl *impl, const char *desc)
{
    mb_err err;
    mb_spec s;
    CHECK_MSG(mb_spec_parse(desc, &s, &err) == MB_OK, "%s: %s", desc, err.msg);
    if (impl->unsupported(&s)) {
        CHECK_MSG(!strncmp(impl->name, "avx512", 6) || strstr(impl->unsupported(&s), "built without"),
                  "%s %s: %s", impl->name, desc, impl->unsupported(&s));
        return;
    }
    mb_weights w;
    mb_inputs in;
    mb_tensor y = { 0 }, dy = { 0 };
    CHECK(mb_weights_create(&s, &w, &err) == MB_OK && mb_inputs_create(&s, &in, &err) == MB_OK);
    CHECK(mb_output_alloc(&s, &y, &err) == MB_OK && mb_output_alloc(&s, &dy, &err) == MB_OK);
    const int64_t ny = mb_tensor_numel(&dy);
    for (int64_t i = 0; i < ny; i++)
        mb_f32(&dy)[i] = (float)(((i * 37 + 11) % 101) / 50.0 - 1.0);
    mb_state *st = NULL;
    mb_saved sv;
    mb_grads gr;
    memset(&sv, 0, sizeof sv);
    memset(&gr, 0, sizeof gr);
    mb_forward_info info;
    memset(&info, 0, sizeof info);
    CHECK(mb_forward_info_alloc(&s, &info, &err) == MB_OK);
    CHECK(mb_grads_alloc(&s, &w, &gr, &err) == MB_OK);   /* as the harness does */
    mb_status rc = impl->prepare(&s, &w, &st, &err);
    CHECK_MSG(rc == MB_OK, "%s %s prepare: %s", impl->name, desc, err.msg);
    if (rc == MB_OK) rc = impl->forward_train(st, &in, &y, &info, &sv, &err);
    CHECK_MSG(rc == MB_OK, "%s %s forward_train: %s", impl->name, desc, err.msg);
    if (rc == MB_OK) rc = impl->backward(st, &in, &sv, &dy, &gr, &err);
    CHECK_MSG(rc == MB_OK, "%s %s backward: %s", impl->name, desc, err.msg);
    /* a second step into the same saved / grads gives the same gradients */
    if (rc == MB_OK) {
        float first = gr.dW.n ? mb_f32(&gr.dW.item[0].t)[0] : 0.0f;
        CHECK(impl->forward_train(st, &in, &y, &info, &sv, &err) == MB_OK);
        CHECK(impl->backward(st, &in, &sv, &dy, &gr, &err) == MB_OK);
        CHECK(!gr.dW.n || mb_f32(&gr.dW.item[0].t)[0] == first);
    }
    if (rc == MB_OK) {
        CHECK(mb_weights_bytes(&sv.act) > 0 && gr.dW.n > 0);
        /* the plain forward of a train case is the same forward */
        mb_tensor y2 = { 0 };
        CHECK(mb_output_alloc(&s, &y2, &err) == MB_OK);
        CHECK(impl->forward(st, &in, &y2, NULL, &err) == MB_OK);
        CHECK(!memcmp(mb_f32(&y), mb_f32(&y2), sizeof(float) * (size_t)ny));
        mb_tensor_free(&y2);
        int32_t *idx = NULL;
        if (info.routing.idx) {
            idx = mb_alloc(sizeof(int32_t) * (size_t)(info.routing.T * info.routing.k));
            memcpy(idx, info.routing.idx, sizeof(int32_t) * (size_t)(info.routing.T * info.routing.k));
        }
        check_tensor(impl, &s, &w, &in, mb_f32(&dy), "X", mb_f32(&in.X), mb_f32(&gr.dX),
                     mb_tensor_numel(&in.X), idx, desc);
        for (int i = 0; i < gr.dW.n; i++) {
            mb_tensor *t = mb_weights_get_mut(&w, gr.dW.item[i].name);
            CHECK_MSG(t && mb_tensor_numel(t) == mb_tensor_numel(&gr.dW.item[i].t),
                      "%s %s: gradient %s has no weight of its size", impl->name, desc,
                      gr.dW.item[i].name);
            if (t)
                check_tensor(impl, &s, &w, &in, mb_f32(&dy), gr.dW.item[i].name, mb_f32(t),
                             mb_f32(&gr.dW.item[i].t), mb_tensor_numel(t), idx, desc);
        }
        mb_free(idx);
        /* opt=adamw: every trainable tensor updated into upd from the unchanged weights */
        for (int i = 0; s.opt == MB_OPT_ADAMW && i < gr.dW.n; i++) {
            const mb_tensor *wt = mb_weights_get(&w, gr.dW.item[i].name);
            const mb_tensor *up = mb_weights_get(&gr.upd, gr.dW.item[i].name);
            CHECK_MSG(wt && up, "%s %s: no update of %s", impl->name, desc, gr.dW.item[i].name);
            if (!wt || !up) continue;
            const int64_t n = mb_tensor_numel(wt);
            float *want = mb_alloc(sizeof(float) * (size_t)n * 3);
            mb_adamw_step_to(mb_f32(wt), want, mb_f32(&gr.dW.item[i].t), want + n, want + 2 * n, n);
            CHECK(!memcmp(want, mb_f32(up), sizeof(float) * (size_t)n));
            mb_free(want);
        }
    }
    impl->release(st);
    mb_forward_info_free(&info);
    mb_weights_free(&sv.act);
    mb_grads_free(&gr);
    mb_tensor_free(&y);
    mb_tensor_free(&dy);
    mb_inputs_free(&in);
    mb_weights_free(&w);
}

/* The trainable tensors of each variant (spec "Training step"), by gradient name. */
static void check_names(const mb_impl *impl, const char *desc, const char *const *names, int n)
{
    mb_err err;
    mb_spec s;
    CHECK(mb_spec_parse(desc, &s, &err) == MB_OK);
    if (impl->unsupported(&s)) return;
    mb_weights w;
    mb_inputs in;
    mb_tensor y = { 0 };
    CHECK(mb_weights_create(&s, &w, &err) == MB_OK && mb_inputs_create(&s, &in, &err) == MB_OK);
    CHECK(mb_output_alloc(&s, &y, &err) == MB_OK);
    mb_state *st = NULL;
    mb_saved sv;
    mb_grads gr;
    memset(&sv, 0, sizeof sv);
    memset(&gr, 0, sizeof gr);
    CHECK(impl->prepare(&s, &w, &st, &err) == MB_OK);
    CHECK(impl->forward_train(st, &in, &y, NULL, &sv, &err) == MB_OK);
    CHECK(impl->backward(st, &in, &sv, &y, &gr, &err) == MB_OK);
    CHECK_MSG(gr.dW.n == n, "%s %s: %d gradients, want %d", impl->name, desc, gr.dW.n, n);
    for (int i = 0; i < n; i++)
        CHECK_MSG(mb_weights_get(&gr.dW, names[i]), "%s %s: no gradient %s", impl->name, desc,
                  names[i]);
    impl->release(st);
    mb_weights_free(&sv.act);
    mb_weights_free(&gr.dW);
    mb_tensor_free(&gr.dX);
    mb_tensor_free(&y);
    mb_inputs_free(&in);
    mb_weights_free(&w);
}

int main(void)
{
    static const char *const cases[] = {
        "lora:B=2,S=3,h=8,o=6,r=3,alpha=6,mode=train",
        "lora:B=2,S=3,h=8,o=6,r=3,alpha=6,mode=train,p=0.3",
        "mlp_lora:B=2,S=3,h=8,f=10,r=2,mode=train",
        "mlp_lora:B=2,S=3,h=8,f=10,r=2,act=gelu,mode=train,p=0.25",
        "molora:B=2,S=3,h=8,o=6,r=2,E=3,mode=train",
        "molora:B=2,S=3,h=8,o=6,r=2,E=3,mode=train,p=0.2",
        "moelora:B=3,S=2,h=8,o=6,r=4,E=2,tasks=3,te=5,mode=train",
        "moelora:B=3,S=2,h=8,o=6,r=4,E=2,tasks=3,te=5,mode=train,p=0.2",
        "mor1e:B=2,S=3,h=8,o=6,r=3,mode=train",
        "mor1e:B=2,S=3,h=8,o=6,r=3,mode=train,p=0.2",
        "router:B=2,S=4,h=8,E=4,k=2,mode=train,aux=0.5,zloss=0.3",
        "sparse_mlp:B=2,S=4,h=8,f=6,E=4,k=2,mode=train,aux=0.5,zloss=0.3",
        "sparse_mlp:B=2,S=4,h=8,f=8,E=4,k=2,shard=1,act=relu,mode=train",
        "mixlora:B=2,S=4,h=8,f=6,r=2,E=4,k=2,share=none,mode=train,aux=0.5,zloss=0.3",
        "mixlora:B=2,S=4,h=8,f=6,r=2,E=4,k=2,share=gate_up,mode=train",
        "mixlora:B=2,S=4,h=8,f=6,r=2,E=4,k=2,share=all,mode=train,zloss=0.2",
        "mixlora:B=2,S=4,h=8,f=6,r=2,E=4,k=2,share=all,mode=train,p=0.3",
        "mixlora:B=2,S=4,h=8,f=6,r=2,E=4,k=2,share=none,mode=train,p=0.3",
        /* every activation through the vectorised passes (train_act.c) */
        "mlp_lora:B=2,S=3,h=8,f=10,r=2,act=relu,mode=train",
        "mixlora:B=2,S=4,h=8,f=6,r=2,E=4,k=2,share=all,act=gelu,mode=train",
        "mixlora:B=2,S=4,h=8,f=6,r=2,E=4,k=2,share=gate_up,act=relu,mode=train",
        "lora:B=2,S=3,h=8,o=6,r=3,mode=train,opt=adamw",
        "mixlora:B=2,S=4,h=8,f=6,r=2,E=4,k=2,mode=train,opt=adamw",
    };
    const mb_impl *impls[] = { &mb_impl_blas, &mb_impl_onednn, &mb_impl_avx512 };
    mb_set_threads(2);
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) check_case(impls[i], cases[c]);
    static const char *const mix[] = { "Ag", "Bg", "Au", "Bu", "Ad", "Bd", "Wr" };
    static const char *const mor[] = { "A", "B", "Wr", "w_omega", "w_beta" };
    static const char *const moe[] = { "A", "B", "Wg", "Emb" };
    static const char *const smlp[] = { "Wr", "Wg", "Wu", "Wd" };
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
        check_names(impls[i], "mixlora:T=8,h=8,f=6,r=2,E=4,k=2,mode=train", mix, 7);
        check_names(impls[i], "mor1e:T=4,h=8,r=2,mode=train", mor, 5);
        check_names(impls[i], "moelora:B=2,S=2,h=8,r=4,E=2,tasks=2,te=4,mode=train", moe, 4);
        check_names(impls[i], "sparse_mlp:T=8,h=8,f=6,E=4,k=2,mode=train", smlp, 4);
    }
    /* merged refuses with the spec's reason */
    mb_spec s;
    mb_err err;
    CHECK(mb_spec_parse("lora:T=4,h=8,r=2,mode=train", &s, &err) == MB_OK);
    CHECK(!strcmp(mb_impl_merged.unsupported(&s), "merged weights have no adapter to train"));
    return mb_test_result("test_lib_train");
}
