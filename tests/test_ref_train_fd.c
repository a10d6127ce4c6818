/* The naive train step against central finite differences of its own loss, in double: for
 * every variant, on tiny shapes with dropout (p > 0, the mask is fixed by its keys so L is
 * smooth in the weights), aux and z-loss on for the routed ones, sampled elements of dX and of
 * every trainable gradient must equal (L(w + e) - L(w - e)) / (2e), L = sum(Y dY) + aux L_aux +
 * zloss L_z computed in double by the same step function without a backward. Without dropout,
 * the train forward's Y and routing equal naive's forward.
 * A perturbation that changes the top-k of any token (L jumps there) is detected by comparing
 * the routing and that element is skipped; the test requires most elements to be checked.
 * Tolerance: |fd - g| <= 2e-3 (|g| + rms(g)): the central difference's truncation error at
 * e = 1e-3 is ~1e-6 relative; the fp32 logits the spec asks for add ~1e-7 / 1e-3 relative noise
 * to router gradients; the gradients are stored in fp32. A wrong term is off by O(1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"
#include "../kernels/ref/ref.h"

#define TOL 2e-3
#define EPS 1e-3

static const mb_ref_train_fn step_of[] = {
#define MB_VARIANT(ID, name, fields, summary, routed, inputs, gate, out, ref, ...) \
    [MB_##ID] = ref##_train,
#include "moebench/variants.def"
#undef MB_VARIANT
};

typedef struct {
    mb_spec s;
    mb_weights w;
    mb_inputs in;
    mb_tensor dy;
    mb_forward_info base;   /* the routing of the unperturbed step */
} fd_case;

/* L at the current weights and inputs; 1 when its routing equals the base's, else 0. */
static int loss_at(fd_case *c, double *L)
{
    mb_forward_info info = { 0 };
    mb_err err = { 0 };
    CHECK(mb_forward_info_alloc(&c->s, &info, &err) == MB_OK);
    mb_ref_step st = { .dy = mb_f32(&c->dy), .info = &info };
    mb_status rc = step_of[c->s.variant](&c->s, &c->w, &c->in, &st, &err);
    CHECK_MSG(rc == MB_OK, "%s", err.msg);
    *L = st.loss;
    int same = 1;
    if (info.routing.idx)
        same = !memcmp(info.routing.idx, c->base.routing.idx,
                       sizeof(int32_t) * (size_t)(info.routing.T * info.routing.k));
    mb_forward_info_free(&info);
    return same;
}

static double rms(const float *g, int64_t n)
{
    double s = 0.0;
    for (int64_t i = 0; i < n; i++)
        s += (double)g[i] * g[i];
    return sqrt(s / (double)n);
}

/* Checks sampled elements of one tensor x (f32, n elements) against its gradient g. */
static void check_tensor(fd_case *c, const char *desc, const char *name, float *x, const float *g,
                         int64_t n, int *checked, int *skipped)
{
    const double scale = rms(g, n);
    CHECK_MSG(scale > 0.0, "%s: gradient of %s is all zero", desc, name);
    const int64_t step = n > 12 ? n / 12 : 1;
    for (int64_t i = 0; i < n; i += step) {
        const float x0 = x[i];
        const float xp = (float)((double)x0 + EPS), xm = (float)((double)x0 - EPS);
        double Lp, Lm;
        x[i] = xp;
        int same = loss_at(c, &Lp);
        x[i] = xm;
        same &= loss_at(c, &Lm);
        x[i] = x0;
        if (!same) {
            (*skipped)++;
            continue;
        }
        const double fd = (Lp - Lm) / ((double)xp - (double)xm);
        const double e = fabs(fd - (double)g[i]) / (fabs(fd) + scale);
        CHECK_MSG(e <= TOL, "%s: d%s[%lld] = %.9g, finite difference %.9g (rel %.2g)", desc, name,
                  (long long)i, (double)g[i], fd, e);
        (*checked)++;
    }
}

static void run(const char *desc)
{
    fd_case c;
    mb_err err = { 0 };
    memset(&c, 0, sizeof c);
    CHECK_MSG(mb_spec_parse(desc, &c.s, &err) == MB_OK && mb_spec_validate(&c.s, 0, &err) == MB_OK,
              "%s: %s", desc, err.msg);
    CHECK(mb_weights_create(&c.s, &c.w, &err) == MB_OK);
    CHECK(mb_inputs_create(&c.s, &c.in, &err) == MB_OK);
    CHECK(mb_train_dy_create(&c.s, &c.dy, &err) == MB_OK);
    /* the init's router N(0, 0.02^2) makes p nearly uniform: near-ties everywhere. Scale it so
     * the softmax is far from uniform and top-k margins exceed the perturbation. */
    mb_tensor *wr = mb_weights_get_mut(&c.w, "Wr");
    if (wr)
        for (int64_t i = 0; i < mb_tensor_numel(wr); i++)
            mb_f32(wr)[i] *= 60.0f;
    CHECK(mb_forward_info_alloc(&c.s, &c.base, &err) == MB_OK);
    mb_grads g;
    CHECK(mb_grads_alloc(&c.s, &c.w, &g, &err) == MB_OK);
    /* the gradients through the implementation's hooks, as the harness calls them */
    const mb_impl *nv = &mb_impl_naive;
    mb_state *st = NULL;
    mb_tensor y = { 0 };
    mb_saved saved = { 0 };
    CHECK(mb_output_alloc(&c.s, &y, &err) == MB_OK);
    CHECK_MSG(nv->unsupported(&c.s) == NULL, "%s: %s", desc, nv->unsupported(&c.s));
    CHECK(nv->prepare(&c.s, &c.w, &st, &err) == MB_OK);
    CHECK_MSG(nv->forward_train(st, &c.in, &y, &c.base, &saved, &err) == MB_OK, "%s", err.msg);
    CHECK_MSG(nv->backward(st, &c.in, &saved, &c.dy, &g, &err) == MB_OK, "%s", err.msg);
    if (c.s.p == 0.0f) {
        /* without dropout the train forward is the forward: same Y (to fp32 rounding of a
         * double sum) and the same routing */
        mb_tensor y2 = { 0 };
        mb_forward_info i2 = { 0 };
        CHECK(mb_output_alloc(&c.s, &y2, &err) == MB_OK);
        CHECK(mb_forward_info_alloc(&c.s, &i2, &err) == MB_OK);
        CHECK(nv->forward(st, &c.in, &y2, &i2, &err) == MB_OK);
        for (int64_t i = 0; i < mb_tensor_numel(&y); i++)
            CHECK_MSG(fabs(mb_f32(&y)[i] - mb_f32(&y2)[i]) <= 1e-6 * (1.0 + fabs(mb_f32(&y2)[i])),
                      "%s: train forward Y[%lld] %.9g vs forward %.9g", desc, (long long)i,
                      (double)mb_f32(&y)[i], (double)mb_f32(&y2)[i]);
        if (i2.routing.idx)
            CHECK(!memcmp(i2.routing.idx, c.base.routing.idx,
                          sizeof(int32_t) * (size_t)(i2.routing.T * i2.routing.k)) &&
                  i2.routing.aux_loss == c.base.routing.aux_loss);
        mb_forward_info_free(&i2);
        mb_tensor_free(&y2);
    } else {
        CHECK(saved.act.n == 0);
    }
    nv->release(st);

    int checked = 0, skipped = 0;
    check_tensor(&c, desc, "X", mb_f32(&c.in.X), mb_f32(&g.dX), mb_tensor_numel(&g.dX), &checked,
                 &skipped);
    for (int i = 0; i < g.dW.n; i++) {
        mb_tensor *wt = mb_weights_get_mut(&c.w, g.dW.item[i].name);
        CHECK(wt != NULL);
        if (wt)
            check_tensor(&c, desc, g.dW.item[i].name, mb_f32(wt), mb_f32(&g.dW.item[i].t),
                         mb_tensor_numel(wt), &checked, &skipped);
    }
    CHECK_MSG(skipped * 5 <= checked, "%s: %d elements skipped for routing flips, %d checked", desc,
              skipped, checked);
    printf("%-72s %3d checked, %d skipped\n", desc, checked, skipped);
    mb_weights_free(&saved.act);
    mb_tensor_free(&y);
    mb_grads_free(&g);
    mb_forward_info_free(&c.base);
    mb_tensor_free(&c.dy);
    mb_inputs_free(&c.in);
    mb_weights_free(&c.w);
}

int main(void)
{
    static const char *const cases[] = {
        "lora:T=3,h=5,o=4,r=2,p=0.1,mode=train",
        "lora:T=2,h=4,o=6,r=3,alpha=1.5,mode=train",
        "mlp_lora:T=3,h=5,f=7,r=2,p=0.2,act=gelu,mode=train",
        "mlp_lora:T=2,h=4,f=6,r=2,mode=train",
        "molora:T=3,h=5,o=4,r=2,E=3,p=0.1,mode=train",
        "moelora:B=3,S=2,h=5,o=4,r=4,E=2,tasks=3,te=3,p=0.1,mode=train",
        "mixlora:T=5,h=6,f=7,r=2,E=4,k=2,p=0.1,aux=0.3,zloss=0.2,mode=train",
        "mixlora:T=4,h=5,f=6,r=2,E=3,k=1,act=gelu,share=none,aux=0.5,mode=train",
        "mor1e:B=2,S=2,h=5,o=4,r=3,p=0.1,mode=train",
        "sparse_mlp:T=5,h=6,f=8,E=4,k=2,aux=0.3,zloss=0.2,mode=train",
        "sparse_mlp:T=4,h=5,f=8,E=4,k=3,shard=1,act=gelu,aux=0.2,zloss=0.1,mode=train",
        "router:T=6,h=5,E=4,k=2,aux=0.3,zloss=0.2,mode=train",
        "router:T=5,h=4,E=3,k=3,aux=0.7,zloss=0.4,mode=train",
    };
    int seen[MB_NUM_VARIANTS] = { 0 };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mb_spec s;
        mb_err err;
        if (mb_spec_parse(cases[i], &s, &err) == MB_OK)
            seen[s.variant] = 1;
        run(cases[i]);
    }
    for (int v = 0; v < MB_NUM_VARIANTS; v++)
        CHECK_MSG(seen[v], "no finite-difference case for %s", mb_variant_name((mb_variant_id)v));
    return mb_test_result("test_ref_train_fd");
}
