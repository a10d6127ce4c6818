/* molora in the fused form (spec "Equivalent fused forms"): one GEMM X [Acat; Wr]^T gives the
 * rank-E*r activations and the router logits in one pass over X; the activations are scaled per
 * expert block by the token's softmax; one GEMM with Bcat [o, E*r] (rearranged in prepare, s
 * folded in) adds the mixture to Y = X W^T. Not E pairs of skinny GEMMs. */
#include "variants.h"
#include <string.h>

typedef struct {
    const mb_gemm_provider *gp;
    int64_t T, h, o, r, E, n2;   /* n2 = E*r + E */
    mb_gemm_weight *W, *AW, *B;
    float *AWr;   /* [Acat; Wr] [E*r + E, h] */
    float *Bc;    /* s * Bcat [o, E*r] */
    float *Z;     /* [T, n2] */
    float *P;     /* [T, E] softmax */
} molora_st;

static void molora_release(void *p)
{
    molora_st *st = p;
    if (!st) return;
    mb_vrelease(st->gp, &st->W);
    mb_vrelease(st->gp, &st->AW);
    mb_vrelease(st->gp, &st->B);
    mb_free(st->AWr);
    mb_free(st->Bc);
    mb_free(st->Z);
    mb_free(st->P);
    mb_free(st);
}

static mb_status molora_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                                void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r, E = s->E;
    const float *W = mb_vw(w, "W", o * h, err), *Wr = W ? mb_vw(w, "Wr", E * h, err) : NULL;
    const float *A = Wr ? mb_vw(w, "A", E * r * h, err) : NULL;
    const float *B = A ? mb_vw(w, "B", E * o * r, err) : NULL;
    if (!B) return err ? err->code : MB_EINVAL;
    molora_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->T = T; st->h = h; st->o = o; st->r = r; st->E = E; st->n2 = E * r + E;
    mb_status rc = mb_vstack_rows(A, E * r, Wr, E, h, &st->AWr, err);
    if (rc == MB_OK) rc = mb_vbcat(B, E, o, r, s->alpha / (float)r, &st->Bc, err);
    if (rc == MB_OK) rc = mb_vprep(gp, W, o, h, T, &st->W, err);
    if (rc == MB_OK) rc = mb_vprep(gp, st->AWr, st->n2, h, T, &st->AW, err);
    if (rc == MB_OK) rc = mb_vprep(gp, st->Bc, o, E * r, T, &st->B, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Z, T, st->n2, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->P, T, E, err);
    if (rc != MB_OK) { molora_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status molora_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                                mb_err *err)
{
    molora_st *st = p;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    const int64_t T = st->T, E = st->E, r = st->r, n2 = st->n2;
    mb_status rc = mb_vgemm(st->gp, st->W, T, st->h, X, 0.0f, Y, st->o, err);
    if (rc == MB_OK) rc = mb_vgemm(st->gp, st->AW, T, st->h, X, 0.0f, st->Z, n2, err);
    if (rc != MB_OK) return rc;
    #pragma omp parallel for schedule(static) if (T * n2 > 32768)
    for (int64_t t = 0; t < T; t++) {
        float *z = st->Z + t * n2, *pt = st->P + t * E;
        mb_softmax(z + E * r, E, pt);
        mb_vgate_blocks(z, pt, E, r);
    }
    if (info && info->gate) memcpy(info->gate, st->P, sizeof(float) * (size_t)(T * E));
    return mb_gemm(st->gp, MB_F32, st->B, T, st->Z, n2, 1.0f, 1.0f, Y, st->o, err);
}

const mb_variant_ops mb_var_molora = { molora_prepare, molora_forward, molora_release };
