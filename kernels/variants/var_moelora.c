/* moelora in the fused form: A [E, r/E, h] already is Acat [r, h]; B [E, o, r/E] is rearranged
 * to Bcat [o, r] in prepare (s = alpha / r with the total r folded in). Forward: per-sequence
 * gate g_b = softmax(Emb[task_b] Wg^T) (tiny, scalar loops), Z = X Acat^T, Z scaled per expert
 * block by its sequence's gate, Y = X W^T + Z Bcat^T. */
#include "variants.h"
#include <string.h>

typedef struct {
    const mb_gemm_provider *gp;
    int64_t T, S, B, h, o, r, E, tasks, te;
    const float *Emb, *Wg;   /* caller's [tasks+1, te], [E, te] */
    mb_gemm_weight *W, *A, *Bw;
    float *Bc;   /* s * Bcat [o, r] */
    float *Z;    /* [T, r] */
    float *G;    /* [B, E] gates */
    float *zl;   /* [E] logits scratch */
} moelora_st;

static void moelora_release(void *p)
{
    moelora_st *st = p;
    if (!st) return;
    mb_vrelease(st->gp, &st->W);
    mb_vrelease(st->gp, &st->A);
    mb_vrelease(st->gp, &st->Bw);
    mb_free(st->Bc);
    mb_free(st->Z);
    mb_free(st->G);
    mb_free(st->zl);
    mb_free(st);
}

static mb_status moelora_prepare(const mb_gemm_provider *gp, const mb_spec *s,
                                 const mb_weights *w, void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r, E = s->E;
    if (E < 1 || r % E != 0) return mb_fail(err, MB_EINVAL, "moelora needs r %% E == 0");
    const int64_t re = r / E;
    const float *W = mb_vw(w, "W", o * h, err), *A = W ? mb_vw(w, "A", r * h, err) : NULL;
    const float *B = A ? mb_vw(w, "B", E * o * re, err) : NULL;
    const float *Emb = B ? mb_vw(w, "Emb", (s->tasks + 1) * s->te, err) : NULL;
    const float *Wg = Emb ? mb_vw(w, "Wg", E * s->te, err) : NULL;
    if (!Wg) return err ? err->code : MB_EINVAL;
    moelora_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->T = T; st->S = s->S; st->B = s->B; st->h = h; st->o = o; st->r = r;
    st->E = E; st->tasks = s->tasks; st->te = s->te; st->Emb = Emb; st->Wg = Wg;
    mb_status rc = mb_vbcat(B, E, o, re, s->alpha / (float)r, &st->Bc, err);
    if (rc == MB_OK) rc = mb_vprep(gp, W, o, h, T, &st->W, err);
    if (rc == MB_OK) rc = mb_vprep(gp, A, r, h, T, &st->A, err);
    if (rc == MB_OK) rc = mb_vprep(gp, st->Bc, o, r, T, &st->Bw, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Z, T, r, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->G, s->B, E, err);
    if (rc == MB_OK) rc = mb_valloc(&st->zl, E, err);
    if (rc != MB_OK) { moelora_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

/* g = softmax(Emb[task] Wg^T) over E (shared with merged moelora). */
void mb_moelora_gate(const float *Emb, const float *Wg, int64_t te, int64_t E, int32_t task,
                     float *zl, float *g)
{
    const float *em = Emb + (int64_t)task * te;
    for (int64_t e = 0; e < E; e++) {
        double acc = 0.0;
        for (int64_t i = 0; i < te; i++) acc += (double)em[i] * Wg[e * te + i];
        zl[e] = (float)acc;
    }
    mb_softmax(zl, E, g);
}

static mb_status moelora_forward(void *p, const mb_inputs *in, mb_tensor *y,
                                 mb_forward_info *info, mb_err *err)
{
    moelora_st *st = p;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    const int64_t T = st->T, E = st->E, r = st->r, re = r / E;
    /* task ids: shape and range (0..tasks) checked by mb_check_io in mb_variant_forward */
    const int32_t *task = mb_i32(&in->task);
    for (int64_t b = 0; b < st->B; b++) {
        mb_moelora_gate(st->Emb, st->Wg, st->te, E, task[b], st->zl, st->G + b * E);
    }
    if (info && info->gate) memcpy(info->gate, st->G, sizeof(float) * (size_t)(st->B * E));
    mb_status rc = mb_vgemm(st->gp, st->W, T, st->h, X, 0.0f, Y, st->o, err);
    if (rc == MB_OK) rc = mb_vgemm(st->gp, st->A, T, st->h, X, 0.0f, st->Z, r, err);
    if (rc != MB_OK) return rc;
    #pragma omp parallel for schedule(static) if (T * r > 32768)
    for (int64_t t = 0; t < T; t++) {
        mb_vgate_blocks(st->Z + t * r, st->G + (t / st->S) * E, E, re);
    }
    return mb_vgemm(st->gp, st->Bw, T, r, st->Z, 1.0f, Y, st->o, err);
}

const mb_variant_ops mb_var_moelora = { moelora_prepare, moelora_forward, moelora_release };
