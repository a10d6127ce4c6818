/* mlp_lora with every LoRA folded into its base GEMM by K concatenation (see lowrank_avx512.c);
 * each product computes its adapter's Z itself from the block of its input it is packing
 * (mb_avx_zfuse), so X and H are each read once:
 *   H = act(G) .* U, [G | U] = [X | Z1] [[Wg | sBg | 0]; [Wu | 0 | sBu]]^T, Z1 = X [Ag; Au]^T
 *        (gate and up as one GEMM, LoRA in the same accumulators, 2r zero columns; the gated
 *        packing puts G and U of the same outputs in one register pair, so the last K block
 *        stores H and G, U exist only as partial sums of the earlier blocks)
 *   Y = [H | H Ad^T] [Wd | sBd]^T
 * Two products instead of nine GEMMs, and no separate pass over G and U. Adapters wider than
 * MB_AVX_ZMAX (r > 128) run Z1 and Z3 as GEMMs of their own. */
#ifdef MOEBENCH_HAVE_AVX512
#include <string.h>
#include "fused/fused_avx512.h"
#include "gemm/gemm_avx512_internal.h"

typedef struct {
    mb_act act;
    int64_t T, h, f, r;
    mb_gemm_weight *P1, *P2, *P3, *P4;
    float *Z1, *GU, *H, *Z3;   /* [T, 2r], [T, glu_ldc] partial sums, [T, f], [T, r] */
} mlp_st;

static void mlp_release(void *p)
{
    mlp_st *st = p;
    if (!st) return;
    mb_avx512_weight_free(st->P1);
    mb_avx512_weight_free(st->P2);
    mb_avx512_weight_free(st->P3);
    mb_avx512_weight_free(st->P4);
    mb_free(st->Z1);
    mb_free(st->GU);
    mb_free(st->H);
    mb_free(st->Z3);
    mb_free(st);
}

static mb_status mlp_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                             void **priv, mb_err *err)
{
    (void)gp;
    const int64_t T = mb_spec_T(s), h = s->h, f = s->f, r = s->r;
    const float *Wg = mb_vw(w, "Wg", f * h, err), *Wu = Wg ? mb_vw(w, "Wu", f * h, err) : NULL;
    const float *Wd = Wu ? mb_vw(w, "Wd", h * f, err) : NULL;
    const float *Ag = Wd ? mb_vw(w, "Ag", r * h, err) : NULL, *Bg = Ag ? mb_vw(w, "Bg", f * r, err) : NULL;
    const float *Au = Bg ? mb_vw(w, "Au", r * h, err) : NULL, *Bu = Au ? mb_vw(w, "Bu", f * r, err) : NULL;
    const float *Ad = Bu ? mb_vw(w, "Ad", r * f, err) : NULL, *Bd = Ad ? mb_vw(w, "Bd", h * r, err) : NULL;
    if (!Bd) return err ? err->code : MB_EINVAL;
    mlp_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->act = s->act; st->T = T; st->h = h; st->f = f; st->r = r;
    const float sc = s->alpha / (float)r;
    float *a1 = NULL, *wgu = NULL, *bgu = NULL, *bd = NULL;
    mb_status rc = mb_valloc3(&a1, 2, r, h, err);
    if (rc == MB_OK) rc = mb_valloc3(&wgu, 2, f, h, err);
    if (rc == MB_OK) rc = mb_valloc3(&bgu, 4, f, r, err);   /* zero-filled */
    if (rc == MB_OK) rc = mb_vscaled_copy(Bd, h * r, sc, &bd, err);
    if (rc == MB_OK) {
        memcpy(a1, Ag, sizeof(float) * (size_t)(r * h));
        memcpy(a1 + r * h, Au, sizeof(float) * (size_t)(r * h));
        memcpy(wgu, Wg, sizeof(float) * (size_t)(f * h));
        memcpy(wgu + f * h, Wu, sizeof(float) * (size_t)(f * h));
        for (int64_t j = 0; j < f; j++)
            for (int64_t i = 0; i < r; i++) {
                bgu[j * 2 * r + i] = sc * Bg[j * r + i];
                bgu[(f + j) * 2 * r + r + i] = sc * Bu[j * r + i];
            }
        rc = mb_avx512_pack_down(a1, h, h, 2 * r, &st->P1, err);
    }
    if (rc == MB_OK) rc = mb_avx512_pack_glu(wgu, h, h, bgu, 2 * r, 2 * r, 2 * f, &st->P2, err);
    if (rc == MB_OK) rc = mb_avx512_pack_down(Ad, f, f, r, &st->P3, err);
    if (rc == MB_OK) rc = mb_avx512_pack(Wd, f, f, bd, r, r, h, &st->P4, err);
    mb_free(a1); mb_free(wgu); mb_free(bgu); mb_free(bd);
    if (rc == MB_OK && 2 * r > MB_AVX_ZMAX) rc = mb_valloc3(&st->Z1, T, 2, r, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->GU, T, mb_avx512_glu_ldc(st->P2), err);
    if (rc == MB_OK) rc = mb_valloc2(&st->H, T, f, err);
    if (rc == MB_OK && 2 * r > MB_AVX_ZMAX) rc = mb_valloc2(&st->Z3, T, r, err);
    if (rc != MB_OK) { mlp_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status mlp_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                             mb_err *err)
{
    (void)info; (void)err;
    mlp_st *st = p;
    const float *X = mb_f32(&in->X);
    const int64_t T = st->T, h = st->h, f = st->f, r = st->r;
    const int fuse = 2 * r <= MB_AVX_ZMAX;
    mb_avx_zfuse z1 = {.down = st->P1, .n1 = 2 * r}, z3 = {.down = st->P3, .n1 = r};
    mb_avx_gemm_args g;
    if (!fuse) {
        g = (mb_avx_gemm_args){.M = T, .a = {X, NULL}, .lda = {h, 0}, .alpha = 1.0f,
                               .beta = 0.0f, .c = st->Z1, .ldc = 2 * r};
        mb_avx512_gemm_run(st->P1, &g);
    }
    g = (mb_avx_gemm_args){.M = T, .a = {X, st->Z1}, .lda = {h, 2 * r}, .alpha = 1.0f,
                           .beta = 0.0f, .c = st->GU, .ldc = mb_avx512_glu_ldc(st->P2),
                           .h = st->H, .ldh = f, .act = st->act, .zf = fuse ? &z1 : NULL};
    mb_avx512_gemm_run(st->P2, &g);
    if (!fuse) {
        g = (mb_avx_gemm_args){.M = T, .a = {st->H, NULL}, .lda = {f, 0}, .alpha = 1.0f,
                               .beta = 0.0f, .c = st->Z3, .ldc = r};
        mb_avx512_gemm_run(st->P3, &g);
    }
    g = (mb_avx_gemm_args){.M = T, .a = {st->H, st->Z3}, .lda = {f, r}, .alpha = 1.0f,
                           .beta = 0.0f, .c = mb_f32(y), .ldc = h, .zf = fuse ? &z3 : NULL};
    mb_avx512_gemm_run(st->P4, &g);
    return MB_OK;
}

const mb_variant_ops mb_fused_avx512_mlp_lora = { mlp_prepare, mlp_forward, mlp_release };
#endif
