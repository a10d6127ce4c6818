/* sparse_mlp (top-k MoE of gated-MLP experts) without gathered copies: the expert GEMMs read
 * their routed token rows through the index list (the A operand is never packed, so a gather
 * is only a different row pointer), gate and up projections run as one GEMM over the stacked
 * [Wg_e; Wu_e] (one pass over the token rows) whose gated store writes act(G) .* U, and the down
 * projection scatter-adds w_te * (H_e Wd_e^T) straight into Y in its store (row index + row
 * scale in the epilogue), experts in ascending order as the spec requires. Routing: the shared
 * router on this GEMM (capacity, top-p and route= come with it: dropped and empty slots are not
 * in the token lists). Shared experts (shared=n) run the same two GEMMs over all T rows with
 * weight 1 after the routed ones. */
#ifdef MOEBENCH_HAVE_AVX512
#include <string.h>
#include "fused/fused_avx512.h"
#include "gemm/gemm_avx512_internal.h"

typedef struct {
    mb_act act;
    int64_t T, h, fe, E, k, ns;
    mb_vrouter vr;
    mb_gemm_weight **GU, **D;   /* [E + ns] each: [Wg_e; Wu_e] (2fe x h), Wd_e (h x fe) */
    float *buf;                 /* [T, glu_ldc]: G | U partial sums (interleaved) */
    float *H;                   /* [T, fe] */
    float *ws;                  /* [T] routing weight per row of the current expert */
} moe_st;

static void moe_release(void *p)
{
    moe_st *st = p;
    if (!st) return;
    for (int64_t e = 0; e < st->E + st->ns; e++) {
        if (st->GU) mb_avx512_weight_free(st->GU[e]);
        if (st->D) mb_avx512_weight_free(st->D[e]);
    }
    mb_free(st->GU);
    mb_free(st->D);
    mb_vrouter_free(&st->vr, &mb_gemm_avx512);
    mb_free(st->buf);
    mb_free(st->H);
    mb_free(st->ws);
    mb_free(st);
}

static mb_status moe_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                             void **priv, mb_err *err)
{
    (void)gp;
    const int64_t T = mb_spec_T(s), h = s->h, E = s->E, fe = mb_spec_expert_width(s);
    const float *Wr = mb_vw(w, "Wr", E * h, err), *Wg = Wr ? mb_vw(w, "Wg", E * fe * h, err) : NULL;
    const float *Wu = Wg ? mb_vw(w, "Wu", E * fe * h, err) : NULL;
    const float *Wd = Wu ? mb_vw(w, "Wd", E * h * fe, err) : NULL;
    if (!Wd) return err ? err->code : MB_EINVAL;
    const int64_t ns = s->shared;
    const float *Sg = NULL, *Su = NULL, *Sd = NULL;
    if (ns > 0) {
        Sg = mb_vw(w, "Wgs", ns * fe * h, err);
        Su = Sg ? mb_vw(w, "Wus", ns * fe * h, err) : NULL;
        Sd = Su ? mb_vw(w, "Wds", ns * h * fe, err) : NULL;
        if (!Sd) return err ? err->code : MB_EINVAL;
    }
    moe_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->act = s->act; st->T = T; st->h = h; st->fe = fe; st->E = E; st->k = s->k; st->ns = ns;
    mb_status rc = mb_vrouter_init(&st->vr, &mb_gemm_avx512, Wr, s, err);
    if (rc == MB_OK) {
        st->GU = mb_alloc(sizeof(*st->GU) * (size_t)(E + ns));
        st->D = mb_alloc(sizeof(*st->D) * (size_t)(E + ns));
        if (!st->GU || !st->D) rc = mb_fail(err, MB_ENOMEM, "out of memory");
    }
    float *stack = NULL;
    if (rc == MB_OK) rc = mb_valloc3(&stack, 2, fe, h, err);
    for (int64_t e = 0; rc == MB_OK && e < E + ns; e++) {
        /* routed expert e, then shared expert e - E */
        const float *g = e < E ? Wg + e * fe * h : Sg + (e - E) * fe * h;
        const float *u = e < E ? Wu + e * fe * h : Su + (e - E) * fe * h;
        const float *d = e < E ? Wd + e * h * fe : Sd + (e - E) * h * fe;
        memcpy(stack, g, sizeof(float) * (size_t)(fe * h));
        memcpy(stack + fe * h, u, sizeof(float) * (size_t)(fe * h));
        rc = mb_avx512_pack_glu(stack, h, h, NULL, 0, 0, 2 * fe, &st->GU[e], err);
        if (rc == MB_OK) rc = mb_avx512_pack(d, fe, fe, NULL, 0, 0, h, &st->D[e], err);
    }
    mb_free(stack);
    /* a token picks an expert at most once, so no expert gets more than T rows */
    if (rc == MB_OK) rc = mb_valloc2(&st->buf, T, mb_avx512_glu_ldc(st->GU[0]), err);
    if (rc == MB_OK) rc = mb_valloc2(&st->H, T, fe, err);
    if (rc == MB_OK) rc = mb_valloc(&st->ws, T, err);
    if (rc != MB_OK) { moe_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status moe_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                             mb_err *err)
{
    moe_st *st = p;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    const int64_t h = st->h, fe = st->fe;
    mb_status rc = mb_vrouter_run(&st->vr, &mb_gemm_avx512, X, info, err);
    if (rc != MB_OK) return rc;
    memset(Y, 0, sizeof(float) * (size_t)(st->T * h));
    for (int64_t e = 0; e < st->E; e++) {
        const int64_t o0 = st->vr.offsets[e], n = st->vr.offsets[e + 1] - o0;
        if (n == 0) continue;
        const int32_t *tok = st->vr.tok + o0, *slot = st->vr.slot + o0;
        mb_vgather_w(&st->vr.rt, tok, slot, n, st->ws);
        mb_avx_gemm_args g1 = {.M = n, .a = {X, NULL}, .lda = {h, 0}, .a_rows = tok,
                               .alpha = 1.0f, .beta = 0.0f, .c = st->buf,
                               .ldc = mb_avx512_glu_ldc(st->GU[e]), .h = st->H, .ldh = fe,
                               .act = st->act};
        mb_avx512_gemm_run(st->GU[e], &g1);
        mb_avx_gemm_args g2 = {.M = n, .a = {st->H, NULL}, .lda = {fe, 0}, .alpha = 1.0f,
                               .beta = 1.0f, .c = Y, .ldc = h, .c_rows = tok, .row_scale = st->ws};
        mb_avx512_gemm_run(st->D[e], &g2);
    }
    for (int64_t e = st->E; e < st->E + st->ns; e++) {   /* shared: every row, weight 1 */
        mb_avx_gemm_args g1 = {.M = st->T, .a = {X, NULL}, .lda = {h, 0}, .alpha = 1.0f,
                               .beta = 0.0f, .c = st->buf, .ldc = mb_avx512_glu_ldc(st->GU[e]),
                               .h = st->H, .ldh = fe, .act = st->act};
        mb_avx512_gemm_run(st->GU[e], &g1);
        mb_avx_gemm_args g2 = {.M = st->T, .a = {st->H, NULL}, .lda = {fe, 0}, .alpha = 1.0f,
                               .beta = 1.0f, .c = Y, .ldc = h};
        mb_avx512_gemm_run(st->D[e], &g2);
    }
    return MB_OK;
}

const mb_variant_ops mb_fused_avx512_sparse_mlp = { moe_prepare, moe_forward, moe_release };
#endif
