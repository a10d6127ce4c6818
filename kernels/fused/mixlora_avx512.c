/* mixlora (E LoRA experts sharing one frozen gated MLP, top-k router) from the AVX-512 GEMM's
 * private forms, for the three share modes of the spec:
 *   - the base gate/up projections run as ONE GEMM over the stacked [Wg; Wu] (once for all
 *     tokens unless share = none, where each expert runs it over its rows, read through the
 *     token index list — no gathered copy of X);
 *   - each expert's two input adapters are one skinny GEMM X[tok] [Ag_e; Au_e]^T and one GEMM
 *     adding Z [[sBg_e, 0]; [0, sBu_e]]^T onto its gate/up rows, whose gated store writes
 *     H_e = act(G) .* U (gate/up weights in the gated packing, G | U rows interleaved by 16);
 *   - down: per expert the routed rows are scatter-added with the routing weight in the GEMM
 *     store (row index + row scale in the epilogue), or with share = all accumulated into
 *     Hs = sum_e w_e H_e and multiplied by Wd once at the end (the spec's linearity).
 * Shared LoRA experts (shared=n) are experts E..E+n-1 over all T rows with weight 1. */
#ifdef MOEBENCH_HAVE_AVX512
#include <string.h>
#include "fused/fused_avx512.h"
#include "gemm/gemm_avx512_internal.h"

typedef struct {
    mb_act act;
    mb_share share;
    int64_t T, h, f, r, E, k, ns;
    mb_vrouter vr;
    mb_gemm_weight *GU, *D;                 /* [Wg; Wu] (2f x h), Wd (h x f) */
    mb_gemm_weight **A1, **B1, **Ad, **Bd;  /* [E + ns] each: routed, then shared experts */
    int32_t *all_tok;                       /* [T] 0..T-1: the rows of a shared expert */
    int64_t ldgu;                           /* row length of GU0 / GUe (interleaved) */
    float *GU0, *GUe, *He, *Z, *Zd, *Hs, *ws; /* [T,ldgu] x2 [T,f] [T,2r] [T,r] [T,f] [T] */
} mix_st;

static void free_set(mb_gemm_weight **set, int64_t E)
{
    if (!set) return;
    for (int64_t e = 0; e < E; e++) mb_avx512_weight_free(set[e]);
    mb_free(set);
}

static void mix_release(void *p)
{
    mix_st *st = p;
    if (!st) return;
    mb_vrouter_free(&st->vr, &mb_gemm_avx512);
    mb_avx512_weight_free(st->GU);
    mb_avx512_weight_free(st->D);
    const int64_t ne = st->E + st->ns;
    free_set(st->A1, ne); free_set(st->B1, ne);
    free_set(st->Ad, ne); free_set(st->Bd, ne);
    mb_free(st->all_tok);
    mb_free(st->GU0); mb_free(st->GUe); mb_free(st->He); mb_free(st->Z); mb_free(st->Zd);
    mb_free(st->Hs); mb_free(st->ws);
    mb_free(st);
}

static mb_status mix_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                             void **priv, mb_err *err)
{
    (void)gp;
    const int64_t T = mb_spec_T(s), h = s->h, f = s->f, r = s->r, E = s->E;
    const float *Wg = mb_vw(w, "Wg", f * h, err), *Wu = Wg ? mb_vw(w, "Wu", f * h, err) : NULL;
    const float *Wd = Wu ? mb_vw(w, "Wd", h * f, err) : NULL, *Wr = Wd ? mb_vw(w, "Wr", E * h, err) : NULL;
    const float *Ag = Wr ? mb_vw(w, "Ag", E * r * h, err) : NULL, *Bg = Ag ? mb_vw(w, "Bg", E * f * r, err) : NULL;
    const float *Au = Bg ? mb_vw(w, "Au", E * r * h, err) : NULL, *Bu = Au ? mb_vw(w, "Bu", E * f * r, err) : NULL;
    const float *Ad = Bu ? mb_vw(w, "Ad", E * r * f, err) : NULL, *Bd = Ad ? mb_vw(w, "Bd", E * h * r, err) : NULL;
    if (!Bd) return err ? err->code : MB_EINVAL;
    const int64_t ns = s->shared, ne = E + ns;
    const float *sAg = NULL, *sBg = NULL, *sAu = NULL, *sBu = NULL, *sAd = NULL, *sBd = NULL;
    if (ns > 0) {
        sAg = mb_vw(w, "Ags", ns * r * h, err); sBg = sAg ? mb_vw(w, "Bgs", ns * f * r, err) : NULL;
        sAu = sBg ? mb_vw(w, "Aus", ns * r * h, err) : NULL; sBu = sAu ? mb_vw(w, "Bus", ns * f * r, err) : NULL;
        sAd = sBu ? mb_vw(w, "Ads", ns * r * f, err) : NULL; sBd = sAd ? mb_vw(w, "Bds", ns * h * r, err) : NULL;
        if (!sBd) return err ? err->code : MB_EINVAL;
    }
    mix_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->act = s->act; st->share = s->share;
    st->T = T; st->h = h; st->f = f; st->r = r; st->E = E; st->k = s->k; st->ns = ns;
    const float sc = s->alpha / (float)r;
    mb_status rc = mb_vrouter_init(&st->vr, &mb_gemm_avx512, Wr, s, err);
    float *tmp = NULL;   /* staging for stacked / scaled copies; the packed forms are kept */
    /* largest staged form: [Wg; Wu] 2f x h, [Ag_e; Au_e] 2r x h, the block-diagonal
     * [[sBg_e, 0]; [0, sBu_e]] 2f x 2r, s Bd_e h x r */
    int64_t tmpn = 0;
    {
        const int64_t dims[4][2] = { { 2 * f, h }, { 2 * r, h }, { 2 * f, 2 * r }, { h, r } };
        for (int i = 0; i < 4 && rc == MB_OK; i++) {
            int64_t n;
            if (mb_mul_i64(dims[i][0], dims[i][1], &n) != 0)
                rc = mb_fail(err, MB_ENOMEM, "mixlora staging size overflows");
            else if (n > tmpn)
                tmpn = n;
        }
    }
    if (rc == MB_OK) rc = mb_valloc(&tmp, tmpn, err);
    if (rc == MB_OK) {
        memcpy(tmp, Wg, sizeof(float) * (size_t)(f * h));
        memcpy(tmp + f * h, Wu, sizeof(float) * (size_t)(f * h));
        rc = mb_avx512_pack_glu(tmp, h, h, NULL, 0, 0, 2 * f, &st->GU, err);
    }
    if (rc == MB_OK) rc = mb_avx512_pack(Wd, f, f, NULL, 0, 0, h, &st->D, err);
    if (rc == MB_OK) {
        st->A1 = mb_alloc(sizeof(*st->A1) * (size_t)ne);
        st->B1 = mb_alloc(sizeof(*st->B1) * (size_t)ne);
        st->Ad = mb_alloc(sizeof(*st->Ad) * (size_t)ne);
        st->Bd = mb_alloc(sizeof(*st->Bd) * (size_t)ne);
        st->all_tok = ns ? mb_alloc(sizeof(int32_t) * (size_t)T) : NULL;
        if (!st->A1 || !st->B1 || !st->Ad || !st->Bd || (ns && !st->all_tok))
            rc = mb_fail(err, MB_ENOMEM, "out of memory");
        for (int64_t t = 0; rc == MB_OK && ns && t < T; t++) st->all_tok[t] = (int32_t)t;
    }
    for (int64_t x = 0; rc == MB_OK && x < ne; x++) {
        /* routed expert x, or shared expert x - E: e indexes its own set's factors */
        const int sh = x >= E;
        const int64_t e = sh ? x - E : x;
        const float *Ag_ = sh ? sAg : Ag, *Bg_ = sh ? sBg : Bg, *Au_ = sh ? sAu : Au;
        const float *Bu_ = sh ? sBu : Bu, *Ad_ = sh ? sAd : Ad, *Bd_ = sh ? sBd : Bd;
        memcpy(tmp, Ag_ + e * r * h, sizeof(float) * (size_t)(r * h));
        memcpy(tmp + r * h, Au_ + e * r * h, sizeof(float) * (size_t)(r * h));
        rc = mb_avx512_pack(tmp, h, h, NULL, 0, 0, 2 * r, &st->A1[x], err);
        if (rc != MB_OK) break;
        /* block-diagonal [[sBg_e, 0]; [0, sBu_e]] [2f, 2r] */
        memset(tmp, 0, sizeof(float) * (size_t)(2 * f * 2 * r));
        for (int64_t j = 0; j < f; j++)
            for (int64_t i = 0; i < r; i++) {
                tmp[j * 2 * r + i] = sc * Bg_[(e * f + j) * r + i];
                tmp[(f + j) * 2 * r + r + i] = sc * Bu_[(e * f + j) * r + i];
            }
        rc = mb_avx512_pack_glu(tmp, 2 * r, 2 * r, NULL, 0, 0, 2 * f, &st->B1[x], err);
        if (rc == MB_OK) rc = mb_avx512_pack(Ad_ + e * r * f, f, f, NULL, 0, 0, r, &st->Ad[x], err);
        if (rc != MB_OK) break;
        for (int64_t i = 0; i < h * r; i++) tmp[i] = sc * Bd_[e * h * r + i];
        rc = mb_avx512_pack(tmp, r, r, NULL, 0, 0, h, &st->Bd[x], err);
    }
    mb_free(tmp);
    if (rc == MB_OK) st->ldgu = mb_avx512_glu_ldc(st->GU);
    if (rc == MB_OK && s->share != MB_SHARE_NONE) rc = mb_valloc2(&st->GU0, T, st->ldgu, err);
    if (rc == MB_OK && s->share == MB_SHARE_ALL) rc = mb_valloc2(&st->Hs, T, f, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->GUe, T, st->ldgu, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->He, T, f, err);
    if (rc == MB_OK) rc = mb_valloc3(&st->Z, T, 2, r, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Zd, T, r, err);
    if (rc == MB_OK) rc = mb_valloc(&st->ws, T, err);
    if (rc != MB_OK) { mix_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

/* Hs[tok[i]] += ws[i] * H[i] over n rows of width f (H row stride ldh). */
static void scatter_rows(float *Hs, int64_t f, const float *H, int64_t ldh, const int32_t *tok,
                         const float *ws, int64_t n)
{
    #pragma omp parallel for schedule(static) if (n * f > 65536)
    for (int64_t i = 0; i < n; i++) {
        float *dst = Hs + (int64_t)tok[i] * f;
        mb_vaxpy_row(dst, H + i * ldh, ws[i], f);   /* vectorised with this file's flags */
    }
}

static mb_status mix_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                             mb_err *err)
{
    mix_st *st = p;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    const int64_t T = st->T, h = st->h, f = st->f, r = st->r, ldgu = st->ldgu;
    mb_status rc = mb_vrouter_run(&st->vr, &mb_gemm_avx512, X, info, err);
    if (rc != MB_OK) return rc;
    if (st->share != MB_SHARE_NONE) {
        mb_avx_gemm_args g = {.M = T, .a = {X, NULL}, .lda = {h, 0}, .alpha = 1.0f, .beta = 0.0f,
                              .c = st->GU0, .ldc = ldgu};
        mb_avx512_gemm_run(st->GU, &g);
    }
    memset(Y, 0, sizeof(float) * (size_t)(T * h));
    if (st->share == MB_SHARE_ALL) memset(st->Hs, 0, sizeof(float) * (size_t)(T * f));
    for (int64_t e = 0; e < st->E + st->ns; e++) {
        /* routed experts over their rows with the routing weights; shared ones (e >= E) over
         * every row with weight 1 */
        const int shared = e >= st->E;
        const int64_t o0 = shared ? 0 : st->vr.offsets[e];
        const int64_t n = shared ? T : st->vr.offsets[e + 1] - o0;
        if (n == 0) continue;
        const int32_t *tok = shared ? st->all_tok : st->vr.tok + o0;
        if (shared) {
            for (int64_t i = 0; i < n; i++) st->ws[i] = 1.0f;
        } else {
            mb_vgather_w(&st->vr.rt, tok, st->vr.slot + o0, n, st->ws);
        }
        /* gate/up base rows of this expert's tokens */
        if (st->share == MB_SHARE_NONE) {
            mb_avx_gemm_args g = {.M = n, .a = {X, NULL}, .lda = {h, 0}, .a_rows = tok,
                                  .alpha = 1.0f, .beta = 0.0f, .c = st->GUe, .ldc = ldgu};
            mb_avx512_gemm_run(st->GU, &g);
        } else {
            for (int64_t i = 0; i < n; i++)
                memcpy(st->GUe + i * ldgu, st->GU0 + (int64_t)tok[i] * ldgu,
                       sizeof(float) * (size_t)ldgu);
        }
        /* + both input adapters, stored gated: H_e */
        mb_avx_gemm_args ga = {.M = n, .a = {X, NULL}, .lda = {h, 0}, .a_rows = tok,
                               .alpha = 1.0f, .beta = 0.0f, .c = st->Z, .ldc = 2 * r};
        mb_avx512_gemm_run(st->A1[e], &ga);
        mb_avx_gemm_args gb = {.M = n, .a = {st->Z, NULL}, .lda = {2 * r, 0}, .alpha = 1.0f,
                               .beta = 1.0f, .c = st->GUe, .ldc = ldgu, .h = st->He, .ldh = f,
                               .act = st->act};
        mb_avx512_gemm_run(st->B1[e], &gb);
        /* down: the expert's LoRA term always per expert, weighted and scattered in the store */
        mb_avx_gemm_args gd = {.M = n, .a = {st->He, NULL}, .lda = {f, 0}, .alpha = 1.0f,
                               .beta = 0.0f, .c = st->Zd, .ldc = r};
        mb_avx512_gemm_run(st->Ad[e], &gd);
        mb_avx_gemm_args gl = {.M = n, .a = {st->Zd, NULL}, .lda = {r, 0}, .alpha = 1.0f,
                               .beta = 1.0f, .c = Y, .ldc = h, .c_rows = tok, .row_scale = st->ws};
        mb_avx512_gemm_run(st->Bd[e], &gl);
        if (st->share == MB_SHARE_ALL) {
            scatter_rows(st->Hs, f, st->He, f, tok, st->ws, n);
        } else {
            mb_avx_gemm_args gw = {.M = n, .a = {st->He, NULL}, .lda = {f, 0}, .alpha = 1.0f,
                                   .beta = 1.0f, .c = Y, .ldc = h, .c_rows = tok,
                                   .row_scale = st->ws};
            mb_avx512_gemm_run(st->D, &gw);
        }
    }
    if (st->share == MB_SHARE_ALL) {
        mb_avx_gemm_args g = {.M = T, .a = {st->Hs, NULL}, .lda = {f, 0}, .alpha = 1.0f,
                              .beta = 1.0f, .c = Y, .ldc = h};
        mb_avx512_gemm_run(st->D, &g);
    }
    return MB_OK;
}

const mb_variant_ops mb_fused_avx512_mixlora = { mix_prepare, mix_forward, mix_release };
#endif
