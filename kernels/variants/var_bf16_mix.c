/* molora, moelora and mor1e in bf16 (spec "Precision") through a provider's bf16 entry points:
 * the fused forms of var_molora.c, var_moelora.c and var_mor1e.c with X, weights and Y in bf16.
 *
 *   Z  = X Acat^T         bf16 out (Acat: A [E r, h] for molora, [r, h] otherwise)
 *   L  = X Wr^T           the gate logits (molora, mor1e) in f32, on X and Wr widened exactly:
 *                         the spec's gates are f32, and a bf16 product would round every logit
 *   Z' = Z .* gate        gates in f32 from L or the task embedding (moelora), Z' rounded to
 *                         bf16
 *   Y  = a Z' U^T         U = Bcat [o, nz] (B for mor1e), a = the LoRA scale (mor1e: its beta)
 *   Y += X W^T            beta = 1: the adapter term goes first, as in var_bf16.c, so the extra
 *                         rounding is of the small term */
#include "variants_bf16.h"
#include "moebench/bf16.h"
#include <string.h>

/* which mixture a state computes (the table's entries below; no per-variant case elsewhere) */
typedef enum { MIX_MOLORA, MIX_MOELORA, MIX_MOR1E } mix_kind;

typedef struct {
    const mb_gemm_provider *gp;
    mix_kind v;
    int64_t T, S, h, o, E, nz, n2, blk;   /* Z: [T, nz]; Zf: [T, n2], Z widened then L */
    float a;                              /* scale of the up-projection */
    float omega;                          /* mor1e */
    mb_gemm_weight *W, *D, *U;
    mb_gemm_weight *R;   /* Wr widened (f32): the logits' product (molora, mor1e) */
    uint16_t *Uc;        /* rearranged U [o, nz] (bf16 copy) */
    uint16_t *Z;         /* [T, nz] */
    float *Zf;           /* [T, n2]: Z widened, then the logits L */
    float *Wrf, *Xf;     /* Wr [n2 - nz, h] and X [T, h] widened */
    float *G;            /* gates: [T, E] molora, [B, E] moelora, [T, r] mor1e */
    float *Emb, *Wg;     /* moelora: widened [tasks + 1, te], [E, te] */
    int64_t te, B;
} mix_st;

static void mix_release(void *p)
{
    mix_st *st = p;
    if (!st) return;
    mb_gemm_weight **ws[] = {&st->W, &st->D, &st->U};
    for (int i = 0; i < 3; i++)
        if (*ws[i]) mb_gemm_weight_release(st->gp, MB_BF16, *ws[i]);
    mb_vrelease(st->gp, &st->R);
    void *bufs[] = {st->Uc, st->Z, st->Zf, st->G, st->Emb, st->Wg, st->Wrf, st->Xf};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) mb_free(bufs[i]);
    mb_free(st);
}

/* *out = a widened copy of n bf16 */
static mb_status widen(const void *src, int64_t n, float **out, mb_err *err)
{
    mb_status rc = mb_valloc(out, n, err);
    if (rc == MB_OK) mb_b16_widen(src, n, *out);
    return rc;
}

/* Bcat [o, E * blk] from B [E, o, blk]: Bcat[n][e blk + j] = B[e][n][j] */
static void bcat(const uint16_t *B, int64_t E, int64_t o, int64_t blk, uint16_t *out)
{
    for (int64_t n = 0; n < o; n++)
        for (int64_t e = 0; e < E; e++)
            memcpy(out + n * E * blk + e * blk, B + (e * o + n) * blk, sizeof(uint16_t) * (size_t)blk);
}

#define W16(name, numel) ((const uint16_t *)mb_vw_as(w, name, numel, MB_BF16, err))

static mb_status mix_prepare(mix_kind kind, const mb_gemm_provider *gp, const mb_spec *s,
                             const mb_weights *w, void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r, E = s->E;
    mix_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    memset(st, 0, sizeof *st);
    st->gp = gp; st->v = kind; st->T = T; st->S = s->S; st->B = s->B; st->h = h;
    st->o = o; st->E = E;
    const uint16_t *A = NULL, *Bw = NULL, *Wr = NULL;
    /* the base W through mb_vprep_base: bf16, or its wq levels */
    mb_status rc = mb_vprep_base(gp, s, w, "W", 1, 0, o, h, T, &st->W, err);
    int64_t nlog = 0;
    if (rc == MB_OK && kind == MIX_MOLORA) {
        st->nz = E * r; nlog = E; st->blk = r; st->a = s->alpha / (float)r;
        A = W16("A", E * r * h); Bw = A ? W16("B", E * o * r) : NULL;
        Wr = Bw ? W16("Wr", E * h) : NULL;
        if (!Wr) rc = err ? err->code : MB_EINVAL;
    } else if (rc == MB_OK && kind == MIX_MOELORA) {
        if (E < 1 || r % E) {
            mix_release(st);
            return mb_fail(err, MB_EINVAL, "moelora needs r %% E == 0");
        }
        st->nz = r; st->blk = r / E; st->a = s->alpha / (float)r; st->te = s->te;
        A = W16("A", r * h); Bw = A ? W16("B", E * o * (r / E)) : NULL;
        const void *Emb = Bw ? W16("Emb", (s->tasks + 1) * s->te) : NULL;
        const void *Wg = Emb ? W16("Wg", E * s->te) : NULL;
        rc = Wg ? widen(Emb, (s->tasks + 1) * s->te, &st->Emb, err) : (err ? err->code : MB_EINVAL);
        if (rc == MB_OK) rc = widen(Wg, E * s->te, &st->Wg, err);
    } else if (rc == MB_OK) {   /* mor1e */
        st->nz = r; nlog = r; st->blk = 1;
        A = W16("A", r * h); Bw = A ? W16("B", o * r) : NULL;
        Wr = Bw ? W16("Wr", r * h) : NULL;
        const uint16_t *wo = Wr ? W16("w_omega", 1) : NULL, *wb = wo ? W16("w_beta", 1) : NULL;
        if (!wb) rc = err ? err->code : MB_EINVAL;
        else {
            st->omega = mb_sigmoid100(mb_bf16_to_f32(wo[0]));
            st->a = mb_sigmoid100(mb_bf16_to_f32(wb[0]));
        }
    }
    st->n2 = st->nz + nlog;
    const int64_t gates = kind == MIX_MOELORA ? s->B * E : T * (kind == MIX_MOR1E ? r : E);
    if (rc == MB_OK) rc = mb_b16_alloc(&st->Uc, o, st->nz, err);
    if (rc == MB_OK) {
        if (kind == MIX_MOR1E) memcpy(st->Uc, Bw, sizeof(uint16_t) * (size_t)(o * r));
        else bcat(Bw, E, o, st->blk, st->Uc);
    }
    /* A is already Acat ([E, r, h] or [r, h], rows contiguous): prepared from the weights */
    if (rc == MB_OK) rc = mb_gemm_weight_prepare(gp, MB_BF16, A, st->nz, h, h, T, &st->D, err);
    if (rc == MB_OK) rc = mb_gemm_weight_prepare(gp, MB_BF16, st->Uc, o, st->nz, st->nz, T, &st->U, err);
    if (rc == MB_OK && nlog) {
        rc = widen(Wr, nlog * h, &st->Wrf, err);
        if (rc == MB_OK) rc = mb_vprep(gp, st->Wrf, nlog, h, T, &st->R, err);
        if (rc == MB_OK) rc = mb_valloc2(&st->Xf, T, h, err);
    }
    if (rc == MB_OK) rc = mb_b16_alloc(&st->Z, T, st->nz, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Zf, T, st->n2, err);
    if (rc == MB_OK) rc = mb_valloc(&st->G, gates, err);
    if (rc != MB_OK) { mix_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status mix_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                             mb_err *err)
{
    mix_st *st = p;
    const int64_t T = st->T, n2 = st->n2, nz = st->nz, E = st->E;
    const uint16_t *X = in->X.data;
    mb_status rc = mb_gemm(st->gp, MB_BF16, st->D, T, X, st->h, 1.0f, 0.0f, st->Z, nz, err);
    if (rc != MB_OK) return rc;
    for (int64_t t = 0; t < T; t++) mb_b16_widen(st->Z + t * nz, nz, st->Zf + t * n2);
    if (st->R) {   /* the logits in f32 beside the widened Z */
        mb_b16_widen(X, T * st->h, st->Xf);
        rc = mb_gemm(st->gp, MB_F32, st->R, T, st->Xf, st->h, 1.0f, 0.0f, st->Zf + nz, n2, err);
        if (rc != MB_OK) return rc;
    }
    if (st->v == MIX_MOELORA) {
        const int32_t *task = mb_i32(&in->task);
        float zl[64], *zlp = E <= 64 ? zl : NULL;
        float *heap = NULL;
        if (!zlp && (rc = mb_valloc(&heap, E, err)) != MB_OK) return rc;
        for (int64_t b = 0; b < st->B; b++)
            mb_moelora_gate(st->Emb, st->Wg, st->te, E, task[b], zlp ? zlp : heap, st->G + b * E);
        mb_free(heap);
    }
    const int64_t ng = st->v == MIX_MOR1E ? nz : E;
    const float wt = st->omega * 32.0f, wr = (1.0f - st->omega) * 4.0f;
    float *Rf = NULL;
    if (st->v == MIX_MOR1E && (rc = widen(in->R.data, st->B * nz, &Rf, err)) != MB_OK) return rc;
    #pragma omp parallel for schedule(static) if (T * n2 > 32768)
    for (int64_t t = 0; t < T; t++) {
        float *z = st->Zf + t * n2;
        if (st->v == MIX_MOLORA) {
            mb_softmax(z + nz, E, st->G + t * E);
            mb_vgate_blocks(z, st->G + t * E, E, st->blk);
        } else if (st->v == MIX_MOELORA) {
            mb_vgate_blocks(z, st->G + (t / st->S) * E, E, st->blk);
        } else {
            mb_vgate_mor1e(z, z + nz, Rf + (t / st->S) * nz, wt, wr, nz, st->G + t * nz);
        }
        uint16_t *zb = st->Z + t * nz;
        for (int64_t j = 0; j < nz; j++) zb[j] = mb_f32_to_bf16(z[j]);
    }
    mb_free(Rf);
    if (info && info->gate)
        memcpy(info->gate, st->G, sizeof(float) * (size_t)((st->v == MIX_MOELORA ? st->B : T) * ng));
    rc = mb_gemm(st->gp, MB_BF16, st->U, T, st->Z, nz, st->a, 0.0f, y->data, st->o, err);
    if (rc == MB_OK) rc = mb_gemm(st->gp, MB_BF16, st->W, T, X, st->h, 1.0f, 1.0f, y->data, st->o, err);
    return rc;
}

static mb_status molora_prepare(const mb_gemm_provider *gp, const mb_spec *s,
                                const mb_weights *w, void **priv, mb_err *err)
{
    return mix_prepare(MIX_MOLORA, gp, s, w, priv, err);
}
static mb_status moelora_prepare(const mb_gemm_provider *gp, const mb_spec *s,
                                 const mb_weights *w, void **priv, mb_err *err)
{
    return mix_prepare(MIX_MOELORA, gp, s, w, priv, err);
}
static mb_status mor1e_prepare(const mb_gemm_provider *gp, const mb_spec *s,
                               const mb_weights *w, void **priv, mb_err *err)
{
    return mix_prepare(MIX_MOR1E, gp, s, w, priv, err);
}

const mb_variant_ops mb_var_molora_bf16 = {molora_prepare, mix_forward, mix_release};
const mb_variant_ops mb_var_moelora_bf16 = {moelora_prepare, mix_forward, mix_release};
const mb_variant_ops mb_var_mor1e_bf16 = {mor1e_prepare, mix_forward, mix_release};
