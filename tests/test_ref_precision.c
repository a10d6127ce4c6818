/* The naive reference in bf16 and under wq (spec "Precision"), against computations written
 * here: every variant in bf16 against its f32 twin holding the same (widened) numbers, wq
 * against the f32 layer with q * scale as its weights, a hand-rounded lora to the bit; the bf16
 * tolerance against an implementation that keeps every intermediate in bf16; near ties of the
 * routing counted on a constructed tie. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"
#include "moebench/quant.h"

static float bf(uint16_t v)
{
    uint32_t u = (uint32_t)v << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* double -> bf16, round to nearest even, on the double's bits (52 -> 7 fraction bits); the
 * reference does it another way (scaling and nearbyint). Normal finite values only. */
static uint16_t to_bf16(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    u += 0x00000fffffffffffULL + ((u >> 45) & 1);   /* half of the 45 dropped bits, - 1 */
    u &= ~0x00001fffffffffffULL;
    memcpy(&d, &u, sizeof d);
    float f = (float)d;   /* exact */
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return (uint16_t)(b >> 16);
}

/* t as an f32 tensor with the same values: bf16 widened, wq levels times their scales (rounded
 * to f32 once), f32 copied. */
static int widen(const mb_weights *w, const mb_tensor *t, const char *name, mb_tensor *out)
{
    mb_err err = { 0 };
    if (mb_tensor_alloc(out, MB_F32, t->ndim, t->shape, &err) != MB_OK)
        return -1;
    const int64_t n = mb_tensor_numel(t);
    const mb_tensor *sc = NULL;
    if (t->dtype == MB_I8 || t->dtype == MB_I4) {
        char sn[40];
        snprintf(sn, sizeof sn, "%s_scale", name);
        sc = mb_weights_get(w, sn);
        if (!sc)
            return -1;
    }
    const int64_t K = t->shape[t->ndim - 1];
    for (int64_t i = 0; i < n; i++) {
        float v;
        if (t->dtype == MB_BF16)
            v = bf(((const uint16_t *)t->data)[i]);
        else if (t->dtype == MB_F32)
            v = mb_f32(t)[i];
        else {
            const int64_t groups = sc->shape[sc->ndim - 1];
            const int64_t row = i / K, g = (i % K) / (K / groups);
            v = (float)((double)mb_wq_level(t->dtype, t->data, i) * mb_f32(sc)[row * groups + g]);
        }
        mb_f32(out)[i] = v;
    }
    return 0;
}

typedef struct {
    mb_spec s;
    mb_weights w;
    mb_inputs in;
    mb_tensor y;
    mb_forward_info info;
} pcase;

static int make(pcase *c, const char *desc)
{
    mb_err err = { 0 };
    memset(c, 0, sizeof *c);
    int ok = mb_spec_parse(desc, &c->s, &err) == MB_OK &&
             mb_spec_validate(&c->s, 0, &err) == MB_OK &&
             mb_weights_create(&c->s, &c->w, &err) == MB_OK &&
             mb_inputs_create(&c->s, &c->in, &err) == MB_OK &&
             mb_output_alloc(&c->s, &c->y, &err) == MB_OK &&
             mb_forward_info_alloc(&c->s, &c->info, &err) == MB_OK;
    CHECK_MSG(ok, "%s: %s", desc, err.msg);
    return ok ? 0 : -1;
}

/* The f32 twin of c: same spec in f32 without wq, every tensor widened. */
static int twin(const pcase *c, pcase *f)
{
    mb_err err = { 0 };
    memset(f, 0, sizeof *f);
    f->s = c->s;
    f->s.dtype = MB_F32;
    f->s.wq = MB_F32;
    for (int i = 0; i < c->w.n; i++) {
        const char *nm = c->w.item[i].name;
        if (strstr(nm, "_scale"))
            continue;
        mb_tensor t;
        if (widen(&c->w, &c->w.item[i].t, nm, &t) || mb_weights_add(&f->w, nm, t, &err))
            return -1;
    }
    if (widen(&c->w, &c->in.X, "X", &f->in.X))
        return -1;
    if (c->in.R.data && widen(&c->w, &c->in.R, "R", &f->in.R))
        return -1;
    if (c->in.task.data) {
        if (mb_tensor_alloc(&f->in.task, MB_I32, 1, c->in.task.shape, &err))
            return -1;
        memcpy(f->in.task.data, c->in.task.data, sizeof(int32_t) * (size_t)c->in.task.shape[0]);
    }
    return mb_output_alloc(&f->s, &f->y, &err) || mb_forward_info_alloc(&f->s, &f->info, &err);
}

static void pfree(pcase *c)
{
    mb_weights_free(&c->w);
    mb_inputs_free(&c->in);
    mb_tensor_free(&c->y);
    mb_forward_info_free(&c->info);
}

static int run(pcase *c)
{
    mb_err err = { 0 };
    mb_status st = mb_run_once(&mb_impl_naive, &c->s, &c->w, &c->in, &c->y, &c->info, &err);
    CHECK_MSG(st == MB_OK, "naive %s: %s", mb_variant_name(c->s.variant), err.msg);
    return st == MB_OK ? 0 : -1;
}

/* Y of a case against its f32 twin. bf16: the reference rounds once from the double, the twin
 * to f32, so they agree within half a bf16 ulp, at most u |y| = 2^-8 |y| (plus the twin's own
 * f32 rounding). wq: the twin's weights are q * scale rounded to f32 (2^-24 relative), which moves
 * Y by at most 2^-24 times the sum of |x w| terms: 1e-5 of rms(Y) covers it at these sizes. */
static void check_twin(const char *desc)
{
    pcase c, f;
    if (make(&c, desc))
        return;
    int ok = twin(&c, &f) == 0;
    CHECK_MSG(ok, "%s: twin", desc);
    if (ok && !run(&c) && !run(&f)) {
        const int64_t n = mb_tensor_numel(&c.y);
        double ss = 0;
        for (int64_t i = 0; i < n; i++)
            ss += (double)mb_f32(&f.y)[i] * mb_f32(&f.y)[i];
        const double rms = sqrt(ss / (double)n);
        int bad = 0;
        for (int64_t i = 0; i < n && bad < 3; i++) {
            const double yf = mb_f32(&f.y)[i];
            const double yc = c.s.dtype == MB_BF16 ? bf(((uint16_t *)c.y.data)[i])
                                                    : mb_f32(&c.y)[i];
            const double tol = c.s.dtype == MB_BF16 ? 0x1p-8 * fabs(yf) * (1 + 0x1p-20) + 1e-30
                                                    : 1e-5 * rms;
            const double tolq = c.s.wq != MB_F32 && c.s.dtype == MB_BF16 ? tol + 1e-5 * rms : tol;
            if (!(fabs(yc - yf) <= tolq)) {
                bad++;
                CHECK_MSG(0, "%s: y[%lld] = %.9g, f32 twin %.9g", desc, (long long)i, yc, yf);
            }
        }
        if (mb_variant_routed(c.s.variant)) {
            int64_t tok = -1;
            CHECK_MSG(mb_routing_equal(&c.info.routing, &f.info.routing, &tok) == 0,
                      "%s: routing differs from the f32 twin at token %lld", desc, (long long)tok);
        }
    }
    pfree(&c);
    pfree(&f);
}

static void test_twins(void)
{
    static const char *const cases[] = {
        "lora:T=5,h=64,o=48,r=4",
        "mlp_lora:T=4,h=64,f=128,r=4",
        "molora:T=4,h=64,r=4,E=3",
        "moelora:B=2,S=2,h=64,r=4,E=2,tasks=3,te=8",
        "mixlora:T=6,h=64,f=128,r=4,E=4,k=2",
        "mixlora:T=6,h=64,f=128,r=4,E=4,k=2,share=none",
        "mor1e:B=2,S=3,h=64,r=4",
        "sparse_mlp:T=6,h=64,f=128,E=4,k=2,shared=1",
        "router:T=6,h=64,E=4,k=2",
    };
    static const char *const suffix[] = {",dtype=bf16", ",wq=int8", ",wq=int4",
                                         ",dtype=bf16,wq=int8", ",dtype=bf16,wq=int4"};
    char desc[200];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (size_t j = 0; j < sizeof suffix / sizeof *suffix; j++) {
            if (!strncmp(cases[i], "router", 6) && j > 0)
                continue;   /* no base weight to quantise */
            snprintf(desc, sizeof desc, "%s%s", cases[i], suffix[j]);
            check_twin(desc);
        }
}

/* lora in bf16 worked here to the bit: Y = X W^T + s (X A^T) B^T in long double from the
 * widened bf16 values, rounded to bf16 once (to_bf16 above). */
static void test_lora_bits(void)
{
    pcase c;
    if (make(&c, "lora:T=3,h=64,o=8,r=2,dtype=bf16") || run(&c))
        return;
    const int64_t T = 3, h = 64, o = 8, r = 2;
    const uint16_t *X = c.in.X.data, *W = mb_weights_get(&c.w, "W")->data,
                   *A = mb_weights_get(&c.w, "A")->data, *B = mb_weights_get(&c.w, "B")->data;
    const long double s = (long double)c.s.alpha / r;
    for (int64_t t = 0; t < T; t++)
        for (int64_t i = 0; i < o; i++) {
            long double acc = 0, low = 0;
            for (int64_t k = 0; k < h; k++)
                acc += (long double)bf(X[t * h + k]) * bf(W[i * h + k]);
            for (int64_t j = 0; j < r; j++) {
                long double z = 0;
                for (int64_t k = 0; k < h; k++)
                    z += (long double)bf(X[t * h + k]) * bf(A[j * h + k]);
                low += z * bf(B[i * r + j]);
            }
            const uint16_t want = to_bf16((double)(acc + s * low));
            const uint16_t got = ((uint16_t *)c.y.data)[t * o + i];
            CHECK_MSG(got == want, "y[%lld,%lld] = 0x%04x, want 0x%04x", (long long)t,
                      (long long)i, got, want);
        }
    pfree(&c);
}

static uint16_t rb(double v) { return to_bf16(v); }

/* The bf16 tolerance (compare.h) against an implementation that keeps every intermediate in
 * bf16: mlp_lora (the longest chain: Z, G, U, H each rounded to bf16, f32 accumulation) must
 * pass; the same output with each element moved by 8 ulp of bf16 must not (the rule is not
 * vacuous). */
static void test_tolerance_bf16_intermediates(void)
{
    pcase c;
    if (make(&c, "mlp_lora:T=8,h=256,f=512,r=8,dtype=bf16") || run(&c))
        return;
    const int64_t T = 8, h = 256, f = 512, r = 8;
    const double sc = (double)c.s.alpha / (double)r;
    const uint16_t *X = c.in.X.data;
    const char *nm[9] = {"Wg", "Wu", "Wd", "Ag", "Bg", "Au", "Bu", "Ad", "Bd"};
    const uint16_t *P[9];
    for (int i = 0; i < 9; i++)
        P[i] = mb_weights_get(&c.w, nm[i])->data;
    mb_tensor y;
    mb_err err = { 0 };
    CHECK(mb_output_alloc(&c.s, &y, &err) == MB_OK);
    uint16_t *G = calloc((size_t)f, 2), *U = calloc((size_t)f, 2), *Z = calloc((size_t)r, 2);
    for (int64_t t = 0; t < T; t++) {
        const uint16_t *x = X + t * h;
        for (int pass = 0; pass < 2; pass++) {   /* G, then U */
            const uint16_t *Wb = P[pass], *Ab = P[3 + 2 * pass], *Bb = P[4 + 2 * pass];
            uint16_t *out = pass ? U : G;
            for (int64_t j = 0; j < r; j++) {
                float z = 0;
                for (int64_t k = 0; k < h; k++)
                    z += bf(x[k]) * bf(Ab[j * h + k]);
                Z[j] = rb(z);
            }
            for (int64_t n = 0; n < f; n++) {
                float a = 0, l = 0;
                for (int64_t k = 0; k < h; k++)
                    a += bf(x[k]) * bf(Wb[n * h + k]);
                for (int64_t j = 0; j < r; j++)
                    l += bf(Z[j]) * bf(Bb[n * r + j]);
                out[n] = rb(a + (float)sc * l);
            }
        }
        for (int64_t n = 0; n < f; n++) {   /* H = act(G) U, in f32 then bf16 */
            const float g = bf(G[n]);
            G[n] = rb((g / (1.0f + expf(-g))) * bf(U[n]));
        }
        for (int64_t j = 0; j < r; j++) {
            float z = 0;
            for (int64_t k = 0; k < f; k++)
                z += bf(G[k]) * bf(P[7][j * f + k]);
            Z[j] = rb(z);
        }
        for (int64_t n = 0; n < h; n++) {
            float a = 0, l = 0;
            for (int64_t k = 0; k < f; k++)
                a += bf(G[k]) * bf(P[2][n * f + k]);
            for (int64_t j = 0; j < r; j++)
                l += bf(Z[j]) * bf(P[8][n * r + j]);
            ((uint16_t *)y.data)[t * h + n] = rb(a + (float)sc * l);
        }
    }
    mb_cmp cmp = mb_compare(&c.s, &y, &c.y);
    CHECK_MSG(cmp.pass, "bf16 intermediates: max_abs_err %g > atol %g + rtol %g |ref| at %lld",
              cmp.max_abs_err, cmp.atol, cmp.rtol, (long long)cmp.first_bad);
    CHECK(cmp.max_abs_err > 0);   /* the intermediates did round */
    fprintf(stderr, "bf16 intermediates: max_abs_err %g, atol %g, max_rel_err %g\n", cmp.max_abs_err, cmp.atol, cmp.max_rel_err);
    for (int64_t i = 0; i < T * h; i++) {   /* 8 ulp away: beyond rtol = 2u and atol */
        const double v = bf(((uint16_t *)c.y.data)[i]);
        ((uint16_t *)y.data)[i] = rb(v * (1 + 8 * 0x1p-8) + (v >= 0 ? 1 : -1) * cmp.atol);
    }
    cmp = mb_compare(&c.s, &y, &c.y);
    CHECK_MSG(!cmp.pass, "8 ulp + atol passes: the rule is vacuous");
    free(G);
    free(U);
    free(Z);
    mb_tensor_free(&y);
    pfree(&c);
}

/* A constructed tie: Wr's rows 0 and 1 equal, so experts 0 and 1 have the same logit on every
 * token; with k = 1 the reference takes expert 0 (ties to the lower index). An implementation
 * that takes expert 1 on token 2 differs on a near tie: counted, not a difference. A difference
 * on a token far from any tie stays a difference. */
static void test_near_ties(void)
{
    pcase c;
    if (make(&c, "router:T=4,h=64,E=3,k=1,dtype=bf16"))
        return;
    mb_tensor *wr = mb_weights_get_mut(&c.w, "Wr");
    uint16_t *p = wr->data, *x = c.in.X.data;
    memcpy(p + 64, p, 64 * sizeof *p);   /* row 1 = row 0 */
    for (int64_t k = 0; k < 64; k++)     /* row 2 = -1 on X >= 0: expert 2 far below */
        p[128 + k] = to_bf16(-1.0);
    for (int64_t i = 0; i < 4 * 64; i++)
        x[i] &= 0x7fff;                  /* |x| */
    if (run(&c))
        return;
    uint8_t near[4];
    mb_err err = { 0 };
    CHECK(mb_routing_near_ties(&c.s, &c.w, &c.in, near, &err) == MB_OK);
    for (int t = 0; t < 4; t++) {
        CHECK_MSG(near[t] == 1, "token %d not a near tie", t);
        CHECK(c.info.routing.idx[t] == 0);
    }
    mb_routing other;
    CHECK(mb_routing_alloc(&other, 4, 3, 1, &err) == MB_OK);
    memcpy(other.idx, c.info.routing.idx, 4 * sizeof *other.idx);
    memcpy(other.w, c.info.routing.w, 4 * sizeof *other.w);
    memset(other.dropped, 0, 4);
    other.idx[2] = 1;
    int64_t nt = -1, bad = 7;
    uint8_t exc[4];
    CHECK(mb_routing_equal_near(&other, &c.info.routing, near, &nt, exc, &bad) == 0);
    CHECK(nt == 1 && bad == -1 && exc[2] == 1 && exc[0] == 0);
    CHECK(mb_routing_equal(&other, &c.info.routing, NULL) != 0);   /* strict: a difference */
    /* not near: the same difference fails */
    near[2] = 0;
    CHECK(mb_routing_equal_near(&other, &c.info.routing, near, &nt, exc, &bad) != 0);
    CHECK(bad == 2 && nt == 0);
    mb_routing_free(&other);
    /* the same tie inside the top k (k = 2 of E = 3: experts 0 and 1 both chosen, expert 2 far
     * below): the set cannot change, but the slot order can, so it is a near tie too */
    pcase q;
    if (!make(&q, "router:T=4,h=64,E=3,k=2,dtype=bf16")) {
        uint16_t *pq = mb_weights_get_mut(&q.w, "Wr")->data, *xq = q.in.X.data;
        memcpy(pq + 64, pq, 64 * sizeof *pq);
        for (int64_t k = 0; k < 64; k++)
            pq[128 + k] = to_bf16(-1.0);
        for (int64_t i = 0; i < 4 * 64; i++)
            xq[i] &= 0x7fff;
        CHECK(mb_routing_near_ties(&q.s, &q.w, &q.in, near, &err) == MB_OK);
        CHECK_MSG(near[0] + near[1] + near[2] + near[3] == 4, "a tie inside the top k missed");
        pfree(&q);
    }
    /* random Wr (no tie): near flags are rare, here none on 4 tokens of E=3 */
    pcase d;
    if (!make(&d, "router:T=4,h=64,E=3,k=1,dtype=bf16")) {
        CHECK(mb_routing_near_ties(&d.s, &d.w, &d.in, near, &err) == MB_OK);
        CHECK(near[0] + near[1] + near[2] + near[3] == 0);
        pfree(&d);
    }
    pfree(&c);
}

int main(void)
{
    test_twins();
    test_lora_bits();
    test_tolerance_bf16_intermediates();
    test_near_ties();
    return mb_test_result("test_ref_precision");
}
