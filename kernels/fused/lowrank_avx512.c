/* Fused low-rank adapters for lora, molora, moelora and mor1e on the AVX-512 GEMM.
 *
 * Every one of them is Y = X W^T + (Z .* gate) B'^T with Z = X A'^T (spec "Equivalent fused
 * forms"; B' carries the scaling). The shared variant code runs three GEMMs and reads / writes Y
 * twice. Here it is one product, [X | gate(Z)] [W | B']^T, that computes Z itself
 * (mb_avx_zfuse): while a task's block of X is packed (in L1/L2), X [A'; Wr]^T accumulates Z and
 * the router logits together; when its rows of X are done the gate scales Z (softmax per token,
 * per-sequence gate, or nothing) and Z enters the last K block of W, so the low-rank term is
 * accumulated in the same registers as X W^T, X is read once and Y stored once.
 * The GEMV path (T = 1) does the same with two matrix-vector passes. Z wider than
 * MB_AVX_ZMAX (E * r > ~250) falls back to Z = X [A'; Wr]^T as a GEMM of its own per row block. */
#ifdef MOEBENCH_HAVE_AVX512
#include <math.h>
#include <string.h>
#include "fused/fused_avx512.h"
#include "gemm/gemm_avx512_internal.h"

typedef enum { GATE_NONE, GATE_SOFTMAX_BLOCKS, GATE_SEQUENCE, GATE_MOR1E } gate_kind;

typedef struct {
    gate_kind kind;
    int64_t T, S, nseq, h, o, R, E, n1;   /* R = low-rank width, n1 = R + router logits */
    int64_t blk;                           /* rank columns per gate entry (r, r/E) */
    int64_t tasks, te;
    const float *Emb, *Wg;                 /* moelora gate inputs (caller's) */
    float omega;                           /* mor1e */
    mb_gemm_weight *P1, *P2;
    float *Z;                              /* [T, n1], only when n1 > MB_AVX_ZMAX */
    float *G;                              /* gates: [T, E] / [nseq, E] / [T, R] */
    float *zl;                             /* [E] scratch (moelora) */
} lr_st;

static void lr_release(void *p)
{
    lr_st *st = p;
    if (!st) return;
    mb_avx512_weight_free(st->P1);
    mb_avx512_weight_free(st->P2);
    mb_free(st->Z);
    mb_free(st->G);
    mb_free(st->zl);
    mb_free(st);
}

static mb_status lr_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                            void **priv, mb_err *err)
{
    (void)gp;   /* always the AVX-512 packing: the fused kernels use its private forms */
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r, E = s->E;
    lr_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->T = T; st->S = s->S; st->nseq = s->B; st->h = h; st->o = o;
    const float *W = mb_vw(w, "W", o * h, err), *A = NULL, *B = NULL, *Wr = NULL;
    int64_t nr = 0, Eb = 1;   /* router rows stacked under A'; expert blocks of B */
    float scale = s->alpha / (float)r;
    /* Only the variants whose fused column names this form reach it: an if chain, so a variant
     * with another fused form (or none) has nothing to add here. */
    const mb_variant_id v = s->variant;
    if (v == MB_LORA) {
        st->kind = GATE_NONE; st->R = r; st->blk = r;
        A = W ? mb_vw(w, "A", r * h, err) : NULL;
        B = A ? mb_vw(w, "B", o * r, err) : NULL;
    } else if (v == MB_MOLORA) {
        st->kind = GATE_SOFTMAX_BLOCKS; st->R = E * r; st->blk = r; st->E = E; nr = E; Eb = E;
        A = W ? mb_vw(w, "A", E * r * h, err) : NULL;
        B = A ? mb_vw(w, "B", E * o * r, err) : NULL;
        Wr = B ? mb_vw(w, "Wr", E * h, err) : NULL;
        if (!Wr) B = NULL;
    } else if (v == MB_MOELORA) {
        if (E < 1 || r % E != 0) { lr_release(st); return mb_fail(err, MB_EINVAL, "moelora needs r %% E == 0"); }
        st->kind = GATE_SEQUENCE; st->R = r; st->blk = r / E; st->E = E; Eb = E;
        st->tasks = s->tasks; st->te = s->te;
        A = W ? mb_vw(w, "A", r * h, err) : NULL;
        B = A ? mb_vw(w, "B", E * o * (r / E), err) : NULL;
        st->Emb = B ? mb_vw(w, "Emb", (s->tasks + 1) * s->te, err) : NULL;
        st->Wg = st->Emb ? mb_vw(w, "Wg", E * s->te, err) : NULL;
        if (!st->Wg) B = NULL;
    } else if (v == MB_MOR1E) {
        st->kind = GATE_MOR1E; st->R = r; st->blk = 1; nr = r;
        A = W ? mb_vw(w, "A", r * h, err) : NULL;
        B = A ? mb_vw(w, "B", o * r, err) : NULL;
        Wr = B ? mb_vw(w, "Wr", r * h, err) : NULL;
        const float *wo = Wr ? mb_vw(w, "w_omega", 1, err) : NULL;
        const float *wb = wo ? mb_vw(w, "w_beta", 1, err) : NULL;
        if (wb) {
            st->omega = mb_sigmoid100(wo[0]);
            scale = mb_sigmoid100(wb[0]);
        } else
            B = NULL;
    } else {   /* not low-rank on one linear: their own fused kernels (the fused column) */
        lr_release(st);
        return mb_fail(err, MB_EINVAL, "fused low-rank: variant %s not handled", mb_variant_name(s->variant));
    }
    if (!B) { lr_release(st); return err ? err->code : MB_EINVAL; }
    st->n1 = st->R + nr;
    float *a1 = NULL, *b2 = NULL;
    mb_status rc = mb_vstack_rows(A, st->R, Wr, nr, h, &a1, err);
    if (rc == MB_OK) rc = mb_vbcat(B, Eb, o, st->R / Eb, scale, &b2, err);
    if (rc == MB_OK) rc = mb_avx512_pack_down(a1, h, h, st->n1, &st->P1, err);
    if (rc == MB_OK) rc = mb_avx512_pack(W, h, h, b2, st->R, st->R, o, &st->P2, err);
    mb_free(a1);   /* packed copies are all the forward needs */
    mb_free(b2);
    const int64_t ga = st->kind == GATE_SOFTMAX_BLOCKS || st->kind == GATE_MOR1E ? T
                     : st->kind == GATE_SEQUENCE ? s->B : 1;
    const int64_t gb = st->kind == GATE_SOFTMAX_BLOCKS || st->kind == GATE_SEQUENCE ? E
                     : st->kind == GATE_MOR1E ? r : 1;
    if (rc == MB_OK && st->n1 > MB_AVX_ZMAX) rc = mb_valloc2(&st->Z, T, st->n1, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->G, ga, gb, err);
    if (rc == MB_OK) rc = mb_valloc(&st->zl, E > 0 ? E : 1, err);
    if (rc != MB_OK) { lr_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

typedef struct {
    lr_st *st;
    const mb_inputs *in;
} gate_ctx;

/* Scales one row of Z (its n1 columns: R adapter columns, then router logits) by the gate of
 * token t; with record, the gate is also kept for the forward info. */
static void gate_row(void *ctx, int64_t t, float *z, int record)
{
    const gate_ctx *c = ctx;
    lr_st *st = c->st;
    const int64_t R = st->R;
    float tmp[MB_AVX_ZMAX];   /* gates not recorded (E, r <= n1 <= MB_AVX_ZMAX) */
    switch (st->kind) {
    case GATE_NONE:
        return;
    case GATE_SOFTMAX_BLOCKS: {
        float *p = record ? st->G + t * st->E : tmp;
        mb_softmax(z + R, st->E, p);
        mb_vgate_blocks(z, p, st->E, st->blk);
        return;
    }
    case GATE_SEQUENCE:
        mb_vgate_blocks(z, st->G + (t / st->S) * st->E, st->E, st->blk);
        return;
    case GATE_MOR1E: {
        const float wt = st->omega * 32.0f, wr = (1.0f - st->omega) * 4.0f;
        mb_vgate_mor1e(z, z + R, mb_f32(&c->in->R) + (t / st->S) * R, wt, wr, R,
                       record ? st->G + t * R : tmp);
        return;
    }
    }
}

static mb_status lr_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                            mb_err *err)
{
    (void)err;
    lr_st *st = p;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    /* R, task ids: shape and range (0..tasks) checked by mb_check_io in mb_variant_forward */
    if (st->kind == GATE_SEQUENCE) {
        const int32_t *task = mb_i32(&in->task);
        for (int64_t b = 0; b < st->nseq; b++) {
            mb_moelora_gate(st->Emb, st->Wg, st->te, st->E, task[b], st->zl, st->G + b * st->E);
        }
    }
    gate_ctx gc = {st, in};
    if (st->n1 <= MB_AVX_ZMAX) {
        mb_avx_zfuse zf = {.down = st->P1, .n1 = st->n1,
                           .gate = st->kind == GATE_NONE ? NULL : gate_row, .ctx = &gc};
        mb_avx_gemm_args g = {.M = st->T, .a = {X, NULL}, .lda = {st->h, 0}, .alpha = 1.0f,
                              .beta = 0.0f, .c = Y, .ldc = st->o, .zf = &zf};
        mb_avx512_gemm_run(st->P2, &g);
    } else {
        /* per row block of one task height, so X's block is still in cache for the product */
        for (int64_t t0 = 0; t0 < st->T; t0 += MB_AVX_MC) {
            int64_t m = st->T - t0 < MB_AVX_MC ? st->T - t0 : MB_AVX_MC;
            const float *Xb = X + t0 * st->h;
            float *Zb = st->Z + t0 * st->n1;
            mb_avx_gemm_args g1 = {.M = m, .a = {Xb, NULL}, .lda = {st->h, 0}, .alpha = 1.0f,
                                   .beta = 0.0f, .c = Zb, .ldc = st->n1};
            mb_avx512_gemm_run(st->P1, &g1);
            for (int64_t t = t0; t < t0 + m; t++)
                gate_row(&gc, t, Zb + (t - t0) * st->n1, 1);
            mb_avx_gemm_args g2 = {.M = m, .a = {Xb, Zb}, .lda = {st->h, st->n1}, .alpha = 1.0f,
                                   .beta = 0.0f, .c = Y + t0 * st->o, .ldc = st->o};
            mb_avx512_gemm_run(st->P2, &g2);
        }
    }
    if (info && info->gate) {
        int64_t n = st->kind == GATE_SOFTMAX_BLOCKS ? st->T * st->E
                  : st->kind == GATE_SEQUENCE ? st->nseq * st->E
                  : st->kind == GATE_MOR1E ? st->T * st->R : 0;
        if (n) memcpy(info->gate, st->G, sizeof(float) * (size_t)n);
    }
    return MB_OK;
}

const mb_variant_ops mb_fused_avx512_lowrank = { lr_prepare, lr_forward, lr_release };
#endif
