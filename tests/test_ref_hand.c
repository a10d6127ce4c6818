/* Hand-computed tiny cases for every variant of the naive reference. Every weight and input is
 * set by hand; the expected numbers are worked out in the comments (s = alpha / r). */
#include <math.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"

typedef struct {
    mb_spec s;
    mb_weights w;
    mb_inputs in;
    mb_tensor y;
    mb_forward_info info;
} hcase;

static int hc_make(hcase *c, const char *desc)
{
    mb_err err = { 0 };
    memset(c, 0, sizeof *c);
    int ok = mb_spec_parse(desc, &c->s, &err) == MB_OK && mb_spec_validate(&c->s, 0, &err) == MB_OK &&
             mb_weights_create(&c->s, &c->w, &err) == MB_OK &&
             mb_inputs_create(&c->s, &c->in, &err) == MB_OK &&
             mb_output_alloc(&c->s, &c->y, &err) == MB_OK &&
             mb_forward_info_alloc(&c->s, &c->info, &err) == MB_OK;
    CHECK_MSG(ok, "%s: %s", desc, err.msg);
    return ok ? 0 : -1;
}

static void hc_free(hcase *c)
{
    mb_weights_free(&c->w);
    mb_inputs_free(&c->in);
    mb_tensor_free(&c->y);
    mb_forward_info_free(&c->info);
}

static void set_t(mb_tensor *t, const char *name, const float *v, int64_t n)
{
    CHECK_MSG(t && mb_tensor_numel(t) == n, "tensor %s: wrong size", name);
    if (t && mb_tensor_numel(t) == n)
        memcpy(t->data, v, sizeof(float) * (size_t)n);
}
#define SETW(c, name, ...) do { const float v_[] = { __VA_ARGS__ }; \
    set_t(mb_weights_get_mut(&(c)->w, name), name, v_, (int64_t)(sizeof v_ / sizeof v_[0])); } while (0)
#define SETX(c, ...) do { const float v_[] = { __VA_ARGS__ }; \
    set_t(&(c)->in.X, "X", v_, (int64_t)(sizeof v_ / sizeof v_[0])); } while (0)

static int hc_run(hcase *c)
{
    mb_err err = { 0 };
    mb_status st = mb_run_once(&mb_impl_naive, &c->s, &c->w, &c->in, &c->y, &c->info, &err);
    CHECK_MSG(st == MB_OK, "naive forward: %s", err.msg);
    return st == MB_OK ? 0 : -1;
}

static void check_vals(const char *what, const float *got, const double *want, int64_t n, double tol)
{
    for (int64_t i = 0; i < n; i++)
        CHECK_MSG(fabs(got[i] - want[i]) <= tol, "%s[%lld] = %.9g, want %.9g", what, (long long)i,
                  got[i], want[i]);
}
#define CHECK_Y(c, ...) do { const double w_[] = { __VA_ARGS__ }; \
    CHECK(mb_tensor_numel(&(c)->y) == (int64_t)(sizeof w_ / sizeof w_[0])); \
    check_vals("Y", mb_f32(&(c)->y), w_, (int64_t)(sizeof w_ / sizeof w_[0]), 1e-5); } while (0)

static void test_lora(void)
{
    hcase c;
    if (hc_make(&c, "lora:T=2,h=2,o=2,r=1,alpha=2"))
        return;
    /* s = 2. W = [[1,2],[3,4]], A = [[1,-1]], B = [[0.5],[2]].
     * x0 = [1,0]: x W^T = [1,3]; x A^T = 1; s (x A^T) B^T = [1,4]; Y0 = [2,7].
     * x1 = [0,1]: x W^T = [2,4]; x A^T = -1; s (x A^T) B^T = [-1,-4]; Y1 = [1,0]. */
    SETW(&c, "W", 1, 2, 3, 4);
    SETW(&c, "A", 1, -1);
    SETW(&c, "B", 0.5f, 2);
    SETX(&c, 1, 0, 0, 1);
    if (!hc_run(&c))
        CHECK_Y(&c, 2, 7, 1, 0);
    hc_free(&c);
}

static void test_mlp_lora(void)
{
    hcase c;
    if (hc_make(&c, "mlp_lora:T=2,h=2,f=2,r=1,alpha=1,act=relu"))
        return;
    /* s = 1. Wg = I, Wu = [[1,1],[1,-1]], Wd = [[1,0],[0,2]];
     * Ag = [[1,0]] Bg = [[1],[-1]]; Au = [[0,1]] Bu = [[1],[0]]; Ad = [[1,1]] Bd = [[0],[1]].
     * x0 = [1,2]:  G = [1,2] + 1*[1,-1] = [2,1]; U = [3,-1] + 2*[1,0] = [5,-1];
     *              H = relu(G)*U = [10,-1]; Y = H Wd^T + (H Ad^T) Bd^T = [10,-2] + 9*[0,1] = [10,7].
     * x1 = [-1,1]: G = [-1,1] + (-1)*[1,-1] = [-2,2]; U = [0,-2] + 1*[1,0] = [1,-2];
     *              H = [0,-4]; Y = [0,-8] + (-4)*[0,1] = [0,-12]. */
    SETW(&c, "Wg", 1, 0, 0, 1);
    SETW(&c, "Wu", 1, 1, 1, -1);
    SETW(&c, "Wd", 1, 0, 0, 2);
    SETW(&c, "Ag", 1, 0);
    SETW(&c, "Bg", 1, -1);
    SETW(&c, "Au", 0, 1);
    SETW(&c, "Bu", 1, 0);
    SETW(&c, "Ad", 1, 1);
    SETW(&c, "Bd", 0, 1);
    SETX(&c, 1, 2, -1, 1);
    if (!hc_run(&c))
        CHECK_Y(&c, 10, 7, 0, -12);
    hc_free(&c);

    /* SiLU once: same weights, x = [1,0]: G = [1,0] + 1*[1,-1] = [2,-1]; U = [1,1] + 0 = [1,1];
     * H = [silu(2), silu(-1)] = [2/(1+e^-2), -1/(1+e)]; Y = [H0, 2 H1] + (H0+H1)*[0,1]. */
    if (hc_make(&c, "mlp_lora:T=1,h=2,f=2,r=1,alpha=1,act=silu"))
        return;
    SETW(&c, "Wg", 1, 0, 0, 1);
    SETW(&c, "Wu", 1, 1, 1, -1);
    SETW(&c, "Wd", 1, 0, 0, 2);
    SETW(&c, "Ag", 1, 0);
    SETW(&c, "Bg", 1, -1);
    SETW(&c, "Au", 0, 1);
    SETW(&c, "Bu", 1, 0);
    SETW(&c, "Ad", 1, 1);
    SETW(&c, "Bd", 0, 1);
    SETX(&c, 1, 0);
    const double h0 = 2.0 / (1.0 + exp(-2.0)), h1 = -1.0 / (1.0 + exp(1.0));
    if (!hc_run(&c))
        CHECK_Y(&c, h0, 2 * h1 + h0 + h1);
    hc_free(&c);
}

static void test_molora(void)
{
    hcase c;
    if (hc_make(&c, "molora:T=2,h=2,o=2,r=1,E=2,alpha=1"))
        return;
    /* s = 1. W = I; Wr = [[ln3,0],[0,0]]; A_0 = [[1,0]] B_0 = [[1],[0]]; A_1 = [[0,1]] B_1 = [[0],[1]].
     * x0 = [1,0]: z = [ln3, 0], p = [3/4, 1/4]; Y0 = [1,0] + 3/4*1*[1,0] + 1/4*0 = [1.75, 0].
     * x1 = [0,2]: z = [0,0], p = [1/2, 1/2]; Y1 = [0,2] + 1/2*0 + 1/2*2*[0,1] = [0, 3]. */
    SETW(&c, "W", 1, 0, 0, 1);
    SETW(&c, "Wr", (float)log(3.0), 0, 0, 0);
    SETW(&c, "A", 1, 0, 0, 1);
    SETW(&c, "B", 1, 0, 0, 1);
    SETX(&c, 1, 0, 0, 2);
    if (!hc_run(&c)) {
        CHECK_Y(&c, 1.75, 0, 0, 3);
        const double gate[] = { 0.75, 0.25, 0.5, 0.5 };
        check_vals("gate", c.info.gate, gate, 4, 1e-6);
    }
    hc_free(&c);
}

static void test_moelora(void)
{
    hcase c;
    if (hc_make(&c, "moelora:B=2,S=1,h=2,o=2,r=2,E=2,tasks=1,te=1,alpha=2"))
        return;
    /* s = alpha / r = 1 with the TOTAL r (r/E would give 2). Experts of rank 1.
     * Emb = [[0],[ln3]], Wg = [[1],[0]]; task = [0, 1]:
     * g_0 = softmax([0,0]) = [1/2,1/2]; g_1 = softmax([ln3,0]) = [3/4,1/4].
     * W = I; A_0 = [[1,0]] B_0 = [[1],[0]]; A_1 = [[0,1]] B_1 = [[0],[1]]; x0 = x1 = [2,4]:
     * Y0 = [2,4] + 1/2*2*[1,0] + 1/2*4*[0,1] = [3, 6]; Y1 = [2,4] + 3/4*[2,0] + 1/4*[0,4] = [3.5, 5]. */
    SETW(&c, "W", 1, 0, 0, 1);
    SETW(&c, "A", 1, 0, 0, 1);
    SETW(&c, "B", 1, 0, 0, 1);
    SETW(&c, "Emb", 0, (float)log(3.0));
    SETW(&c, "Wg", 1, 0);
    SETX(&c, 2, 4, 2, 4);
    CHECK(c.in.task.data && mb_tensor_numel(&c.in.task) == 2);
    if (c.in.task.data) {
        mb_i32(&c.in.task)[0] = 0;
        mb_i32(&c.in.task)[1] = 1;
    }
    if (!hc_run(&c)) {
        CHECK_Y(&c, 3, 6, 3.5, 5);
        const double gate[] = { 0.5, 0.5, 0.75, 0.25 };
        check_vals("gate", c.info.gate, gate, 4, 1e-6);
    }
    /* A task id outside [0, tasks] is refused with a reason, not read out of bounds. */
    if (c.in.task.data) {
        mb_err err = { 0 };
        mb_i32(&c.in.task)[1] = 2;
        CHECK(mb_run_once(&mb_impl_naive, &c.s, &c.w, &c.in, &c.y, NULL, &err) == MB_EINVAL);
        CHECK(strstr(err.msg, "task") != NULL);
    }
    hc_free(&c);
}

/* Sets the mixlora weights of the hand case below. */
static void mixlora_weights(hcase *c)
{
    /* h = f = r = 1, E = 2. Base: Wg = Wu = Wd = 1. Wr = [[ln3],[0]].
     * expert 0: Ag=1 Bg=1 (G = 2x), Au=0 Bu=1 (U = x), Ad=1 Bd=1 (Y = 2H).
     * expert 1: Ag=1 Bg=-0.5 (G = x/2), Au=1 Bu=1 (U = 2x), Ad=1 Bd=2 (Y = 3H). */
    SETW(c, "Wg", 1);
    SETW(c, "Wu", 1);
    SETW(c, "Wd", 1);
    SETW(c, "Wr", (float)log(3.0), 0);
    SETW(c, "Ag", 1, 1);
    SETW(c, "Bg", 1, -0.5f);
    SETW(c, "Au", 0, 1);
    SETW(c, "Bu", 1, 1);
    SETW(c, "Ad", 1, 1);
    SETW(c, "Bd", 1, 2);
}

static void test_mixlora(void)
{
    static const char *const share[] = { "none", "gate_up", "all" };
    for (int m = 0; m < 3; m++) {
        char desc[128];
        hcase c;
        snprintf(desc, sizeof desc, "mixlora:T=2,h=1,f=1,r=1,E=2,k=2,alpha=1,act=relu,share=%s", share[m]);
        if (hc_make(&c, desc))
            return;
        mixlora_weights(&c);
        /* x = 1: z = [ln3, 0], p = w = [3/4, 1/4].
         *   e0: G = 2, U = 1, H = 2, Y_0 = 4;  e1: G = 0.5, U = 2, H = 1, Y_1 = 3;
         *   Y = 3/4*4 + 1/4*3 = 3.75.
         * x = 2: z = [2 ln3, 0], p = w = [9/10, 1/10].
         *   e0: G = 4, U = 2, H = 8, Y_0 = 16;  e1: G = 1, U = 4, H = 4, Y_1 = 12;
         *   Y = 0.9*16 + 0.1*12 = 15.6. */
        SETX(&c, 1, 2);
        if (!hc_run(&c)) {
            CHECK_Y(&c, 3.75, 15.6);
            const mb_routing *r = &c.info.routing;
            CHECK(r->idx[0] == 0 && r->idx[1] == 1 && r->idx[2] == 0 && r->idx[3] == 1);
            CHECK_NEAR(r->w[0], 0.75, 1e-6);
            CHECK_NEAR(r->w[3], 0.1, 1e-6);
            CHECK(r->counts[0] == 2 && r->counts[1] == 2);
        }
        hc_free(&c);
    }
    /* k = 1: only expert 0 (weight 1): Y = [4, 16]. */
    hcase c;
    if (hc_make(&c, "mixlora:T=2,h=1,f=1,r=1,E=2,k=1,alpha=1,act=relu,share=none"))
        return;
    mixlora_weights(&c);
    SETX(&c, 1, 2);
    if (!hc_run(&c))
        CHECK_Y(&c, 4, 16);
    hc_free(&c);
}

static void test_mor1e(void)
{
    hcase c;
    if (hc_make(&c, "mor1e:B=2,S=1,h=2,o=2,r=2"))
        return;
    /* Wr = 0: softmax = [1/2,1/2]. w_omega = ln3/100: omega = sigmoid(ln3) = 3/4.
     * w_beta = 0: beta = 1/2. gate = 1/2*3/4*32 + R*(1/4)*4 = 12 + R.
     * W = I, A = I, B = [[1,1],[0,1]], x0 = x1 = [1,2]; R = [[1,0],[0,4]].
     * seq 0: gate = [13,12]; (x A^T)*gate = [13,24]; B -> [37,24]; *beta = [18.5,12]; Y0 = [19.5,14].
     * seq 1: gate = [12,16]; [12,32]; B -> [44,32]; *beta = [22,16]; Y1 = [23,18]. No alpha/r. */
    SETW(&c, "W", 1, 0, 0, 1);
    SETW(&c, "A", 1, 0, 0, 1);
    SETW(&c, "B", 1, 1, 0, 1);
    SETW(&c, "Wr", 0, 0, 0, 0);
    SETW(&c, "w_omega", (float)(log(3.0) / 100.0));
    SETW(&c, "w_beta", 0);
    SETX(&c, 1, 2, 1, 2);
    const float R[] = { 1, 0, 0, 4 };
    set_t(&c.in.R, "R", R, 4);
    if (!hc_run(&c)) {
        CHECK_Y(&c, 19.5, 14, 23, 18);
        const double gate[] = { 13, 12, 12, 16 };
        check_vals("gate", c.info.gate, gate, 4, 1e-5);
    }
    hc_free(&c);
}

/* Sets the sparse_mlp hand weights: h = 1, fe = 2, E = 2. */
static void sparse_weights(hcase *c)
{
    SETW(c, "Wr", 1, -1);
    SETW(c, "Wg", 1, 2, -1, 1);    /* Wg_0 = [[1],[2]], Wg_1 = [[-1],[1]] */
    SETW(c, "Wu", 3, 1, 2, 2);     /* Wu_0 = [[3],[1]], Wu_1 = [[2],[2]] */
    SETW(c, "Wd", 1, 1, 1, -1);    /* Wd_0 = [[1,1]],  Wd_1 = [[1,-1]] */
}

static void test_sparse_mlp(void)
{
    /* MLP_0(1) = Wd_0 (relu([1,2]) * [3,1]) = 3 + 2 = 5;
     * MLP_1(-1) = Wd_1 (relu([1,-1]) * [-2,-2]) = -2;  MLP_1(1) = Wd_1 ([0,1] * [2,2]) = -2.
     * k = 1: x = 1 -> z = [1,-1] -> expert 0, Y = 5; x = -1 -> expert 1, Y = -2.
     * The same numbers for shard=1 with f = 4 (expert width f/E = 2). */
    static const char *const desc[] = {
        "sparse_mlp:T=2,h=1,f=2,E=2,k=1,act=relu,shard=0",
        "sparse_mlp:T=2,h=1,f=4,E=2,k=1,act=relu,shard=1",
    };
    for (int i = 0; i < 2; i++) {
        hcase c;
        if (hc_make(&c, desc[i]))
            return;
        sparse_weights(&c);
        SETX(&c, 1, -1);
        if (!hc_run(&c)) {
            CHECK_Y(&c, 5, -2);
            CHECK(c.info.routing.idx[0] == 0 && c.info.routing.idx[1] == 1);
            CHECK(c.info.routing.counts[0] == 1 && c.info.routing.counts[1] == 1);
        }
        hc_free(&c);
    }
    /* k = 2, x = 1: p = softmax([1,-1]) = [1/(1+e^-2), 1/(1+e^2)]; Y = p0*5 + p1*(-2). */
    hcase c;
    if (hc_make(&c, "sparse_mlp:T=1,h=1,f=2,E=2,k=2,act=relu"))
        return;
    sparse_weights(&c);
    SETX(&c, 1);
    const double p0 = 1.0 / (1.0 + exp(-2.0)), p1 = 1.0 - p0;
    if (!hc_run(&c))
        CHECK_Y(&c, 5 * p0 - 2 * p1);
    hc_free(&c);
}

static void test_router(void)
{
    hcase c;
    if (hc_make(&c, "router:T=2,h=1,E=3,k=2"))
        return;
    /* Wr = [[1],[0],[-1]]. x0 = ln2: z = [ln2,0,-ln2], p = [2,1,1/2]/3.5 -> top-2 [0,1],
     * w = [2/3,1/3]. x1 = -ln2: p = [1/2,1,2]/3.5 -> top-2 [2,1], w = [2/3,1/3].
     * counts = [1,2,1]; F = [1/2,1,1/2]; P = [(2+.5)/7, 2/7, 2.5/7];
     * L_aux = 3 (1/2*2.5/7 + 2/7 + 1/2*2.5/7) = 3*4.5/7 = 27/14.
     * z-loss = ln(3.5)^2 for both tokens. Y = dense combine matrix. */
    SETW(&c, "Wr", 1, 0, -1);
    SETX(&c, (float)log(2.0), (float)-log(2.0));
    if (!hc_run(&c)) {
        CHECK_Y(&c, 2.0 / 3, 1.0 / 3, 0, 0, 1.0 / 3, 2.0 / 3);
        const mb_routing *r = &c.info.routing;
        CHECK(r->idx[0] == 0 && r->idx[1] == 1 && r->idx[2] == 2 && r->idx[3] == 1);
        CHECK(r->counts[0] == 1 && r->counts[1] == 2 && r->counts[2] == 1);
        CHECK_NEAR(r->aux_loss, 27.0 / 14.0, 1e-6);
        CHECK_NEAR(r->z_loss, log(3.5) * log(3.5), 1e-6);
    }
    /* Ties go to the lower expert index: a zero router gives p = 1/3 each, top-2 = [0,1]. */
    SETW(&c, "Wr", 0, 0, 0);
    if (!hc_run(&c)) {
        CHECK_Y(&c, 0.5, 0.5, 0, 0.5, 0.5, 0);
        CHECK(c.info.routing.idx[0] == 0 && c.info.routing.idx[1] == 1);
    }
    hc_free(&c);
}

/* Wrong weight shapes and missing inputs are refused with a message naming the tensor. */
static void test_errors(void)
{
    hcase c;
    if (hc_make(&c, "lora:T=2,h=4,o=3,r=2"))
        return;
    mb_tensor *B = mb_weights_get_mut(&c.w, "B");
    mb_err err = { 0 };
    if (B) {
        B->shape[1] = 1;   /* pretend B is [3,1]: rank mismatch */
        CHECK(mb_run_once(&mb_impl_naive, &c.s, &c.w, &c.in, &c.y, NULL, &err) == MB_EINVAL);
        CHECK_MSG(strstr(err.msg, "'B'") != NULL, "message: %s", err.msg);
        B->shape[1] = 2;
    }
    mb_tensor y2 = { 0 };
    const int64_t shp[2] = { 2, 4 };
    if (mb_tensor_alloc(&y2, MB_F32, 2, shp, &err) == MB_OK) {
        CHECK(mb_run_once(&mb_impl_naive, &c.s, &c.w, &c.in, &y2, NULL, &err) == MB_EINVAL);
        CHECK_MSG(strstr(err.msg, "output") != NULL, "message: %s", err.msg);
        mb_tensor_free(&y2);
    }
    hc_free(&c);
    mb_spec s;
    mb_spec_default(&s, MB_LORA);
    CHECK(mb_impl_naive.unsupported(&s) == NULL);
    s.dtype = MB_BF16;   /* the forward computes in bf16 (spec "Precision"), the train step not */
    CHECK(mb_impl_naive.unsupported(&s) == NULL);
    s.mode = MB_MODE_TRAIN;
    CHECK(mb_impl_naive.unsupported(&s) != NULL);
    CHECK(mb_impl_find("naive") == &mb_impl_naive);
}

int main(void)
{
    test_lora();
    test_mlp_lora();
    test_molora();
    test_moelora();
    test_mixlora();
    test_mor1e();
    test_sparse_mlp();
    test_router();
    test_errors();
    return mb_test_result("test_ref_hand");
}
