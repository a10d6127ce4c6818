/* merged moelora: W'_t = W + s Bcat diag(g(t)) Acat for EVERY task t in 0..tasks, merged in
 * prepare. Why all of them: prepare sees no inputs (task ids arrive with forward), and merging
 * lazily at first use would allocate and spend merge time inside forward. The cost is
 * (tasks+1) x the weight memory, which the harness reports as the merged state's bytes.
 * Forward groups sequences by task (ascending task id): one GEMM per task present over the
 * gathered rows of its sequences; a batch with one task is a single GEMM on X directly. */
#include "merge.h"
#include <string.h>

typedef struct {
    const mb_gemm_provider *gp;
    int64_t T, S, B, h, o, E, ntask;   /* ntask = tasks + 1 */
    float **Wm;                        /* [ntask] merged [o, h] */
    mb_gemm_weight **gw;               /* [ntask] */
    float *G;                          /* [ntask, E] gates */
    float *Xg, *Yg;                    /* [T,h], [T,o] */
    int32_t *seqs;                     /* [B] sequence ids of one task */
} mmoe_st;

static void mmoe_release(void *p)
{
    mmoe_st *st = p;
    if (!st) return;
    for (int64_t t = 0; t < st->ntask; t++) {
        if (st->gw) mb_vrelease(st->gp, &st->gw[t]);
        if (st->Wm) mb_free(st->Wm[t]);
    }
    mb_free(st->gw);
    mb_free(st->Wm);
    mb_free(st->G);
    mb_free(st->Xg);
    mb_free(st->Yg);
    mb_free(st->seqs);
    mb_free(st);
}

static mb_status mmoe_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                              mb_err *err)
{
    mmoe_st *st = p;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    const int64_t S = st->S, h = st->h, o = st->o;
    /* task ids: shape and range (0..tasks) checked by mb_check_io in mb_variant_forward */
    const int32_t *task = mb_i32(&in->task);
    if (info && info->gate)
        for (int64_t b = 0; b < st->B; b++)
            memcpy(info->gate + b * st->E, st->G + task[b] * st->E, sizeof(float) * (size_t)st->E);
    int single = 1;
    for (int64_t b = 1; b < st->B; b++) single &= task[b] == task[0];
    if (single) return mb_vgemm(st->gp, st->gw[task[0]], st->T, h, X, 0.0f, Y, o, err);
    for (int64_t t = 0; t < st->ntask; t++) {
        int64_t n = 0;
        for (int64_t b = 0; b < st->B; b++)
            if (task[b] == t) st->seqs[n++] = (int32_t)b;
        if (n == 0) continue;
        for (int64_t i = 0; i < n; i++)
            memcpy(st->Xg + i * S * h, X + st->seqs[i] * S * h, sizeof(float) * (size_t)(S * h));
        mb_status rc = mb_vgemm(st->gp, st->gw[t], n * S, h, st->Xg, 0.0f, st->Yg, o, err);
        if (rc != MB_OK) return rc;
        for (int64_t i = 0; i < n; i++)
            memcpy(Y + st->seqs[i] * S * o, st->Yg + i * S * o, sizeof(float) * (size_t)(S * o));
    }
    return MB_OK;
}

static const mb_variant_ops mmoe_ops = { NULL, mmoe_forward, mmoe_release };

mb_status mb_merge_moelora(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                           const mb_variant_ops **ops, void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r, E = s->E;
    if (E < 1 || r % E != 0) return mb_fail(err, MB_EINVAL, "moelora needs r %% E == 0");
    const int64_t re = r / E, ntask = s->tasks + 1;
    const float *W = mb_vw(w, "W", o * h, err), *A = W ? mb_vw(w, "A", r * h, err) : NULL;
    const float *B = A ? mb_vw(w, "B", E * o * re, err) : NULL;
    const float *Emb = B ? mb_vw(w, "Emb", ntask * s->te, err) : NULL;
    const float *Wg = Emb ? mb_vw(w, "Wg", E * s->te, err) : NULL;
    if (!Wg) return err ? err->code : MB_EINVAL;
    mmoe_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->T = T; st->S = s->S; st->B = s->B; st->h = h; st->o = o; st->E = E;
    st->ntask = ntask;
    float *Bc = NULL, *As = NULL, *zl = NULL;
    st->Wm = mb_alloc(sizeof(float *) * (size_t)ntask);
    st->gw = mb_alloc(sizeof(mb_gemm_weight *) * (size_t)ntask);
    st->seqs = mb_alloc(sizeof(int32_t) * (size_t)s->B);
    mb_status rc = (!st->Wm || !st->gw || !st->seqs) ? mb_fail(err, MB_ENOMEM, "out of memory")
                                                     : MB_OK;
    if (rc == MB_OK) rc = mb_valloc2(&st->G, ntask, E, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Xg, T, h, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Yg, T, o, err);
    if (rc == MB_OK) rc = mb_vbcat(B, E, o, re, 1.0f, &Bc, err);
    if (rc == MB_OK) rc = mb_valloc2(&As, r, h, err);
    if (rc == MB_OK) rc = mb_valloc(&zl, E, err);
    for (int64_t t = 0; rc == MB_OK && t < ntask; t++) {
        const float *g = st->G + t * E;
        mb_moelora_gate(Emb, Wg, s->te, E, (int32_t)t, zl, st->G + t * E);
        for (int64_t e = 0; e < E; e++)
            for (int64_t i = 0; i < re * h; i++) As[e * re * h + i] = g[e] * A[e * re * h + i];
        rc = mb_merge_linear(gp, W, As, Bc, o, h, r, s->alpha / (float)r, &st->Wm[t], err);
        if (rc == MB_OK) rc = mb_vprep(gp, st->Wm[t], o, h, T, &st->gw[t], err);
    }
    mb_free(Bc);
    mb_free(As);
    mb_free(zl);
    if (rc != MB_OK) { mmoe_release(st); return rc; }
    *ops = &mmoe_ops;
    *priv = st;
    return MB_OK;
}
