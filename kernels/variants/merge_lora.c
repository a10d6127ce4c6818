/* merged lora and mlp_lora: every projection merged (W + s B A) in prepare; forward is the bare
 * base layer (one GEMM, or the dense gated MLP). merged lora is also the suite's "bare base
 * GEMM" baseline: same cost as cblas_sgemm of W alone. */
#include "merge.h"

const char *const mb_mlp_names[3][3] = { { "Wg", "Ag", "Bg" }, { "Wu", "Au", "Bu" },
                                         { "Wd", "Ad", "Bd" } };

typedef struct {
    const mb_gemm_provider *gp;
    mb_act act;
    int64_t T, h, o, f;
    int mlp;
    float *Wm[3];              /* merged weights: [o,h] for lora; Wg', Wu', Wd' for mlp_lora */
    mb_gemm_weight *gw[3];
    float *G, *U;              /* mlp_lora [T,f] */
} mlin_st;

static void mlin_release(void *p)
{
    mlin_st *st = p;
    if (!st) return;
    for (int i = 0; i < 3; i++) {
        mb_vrelease(st->gp, &st->gw[i]);
        mb_free(st->Wm[i]);
    }
    mb_free(st->G);
    mb_free(st->U);
    mb_free(st);
}

static mb_status mlin_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                              mb_err *err)
{
    (void)info;
    mlin_st *st = p;
    const float *X = mb_f32(&in->X);
    if (!st->mlp) return mb_vgemm(st->gp, st->gw[0], st->T, st->h, X, 0.0f, mb_f32(y), st->o, err);
    mb_status rc = mb_vgemm(st->gp, st->gw[0], st->T, st->h, X, 0.0f, st->G, st->f, err);
    if (rc == MB_OK) rc = mb_vgemm(st->gp, st->gw[1], st->T, st->h, X, 0.0f, st->U, st->f, err);
    if (rc != MB_OK) return rc;
    mb_vglu(st->act, st->G, st->U, st->T * st->f);
    return mb_vgemm(st->gp, st->gw[2], st->T, st->f, st->G, 0.0f, mb_f32(y), st->h, err);
}

static const mb_variant_ops mlin_ops = { NULL, mlin_forward, mlin_release };

mb_status mb_merge_lora(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                        const mb_variant_ops **ops, void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r;
    const float *W = mb_vw(w, "W", o * h, err), *A = W ? mb_vw(w, "A", r * h, err) : NULL;
    const float *B = A ? mb_vw(w, "B", o * r, err) : NULL;
    if (!B) return err ? err->code : MB_EINVAL;
    mlin_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->T = T; st->h = h; st->o = o;
    mb_status rc = mb_merge_linear(gp, W, A, B, o, h, r, s->alpha / (float)r, &st->Wm[0], err);
    if (rc == MB_OK) rc = mb_vprep(gp, st->Wm[0], o, h, T, &st->gw[0], err);
    if (rc != MB_OK) { mlin_release(st); return rc; }
    *ops = &mlin_ops;
    *priv = st;
    return MB_OK;
}

mb_status mb_merge_mlp_lora(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                            const mb_variant_ops **ops, void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, f = s->f, r = s->r;
    mlin_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->act = s->act; st->T = T; st->h = h; st->f = f; st->mlp = 1;
    mb_status rc = MB_OK;
    for (int i = 0; i < 3 && rc == MB_OK; i++) {
        const int64_t dout = mb_mlp_dout(i, h, f), din = mb_mlp_din(i, h, f);
        const float *W = mb_vw(w, mb_mlp_names[i][0], dout * din, err);
        const float *A = W ? mb_vw(w, mb_mlp_names[i][1], r * din, err) : NULL;
        const float *B = A ? mb_vw(w, mb_mlp_names[i][2], dout * r, err) : NULL;
        if (!B) { rc = err ? err->code : MB_EINVAL; break; }
        rc = mb_merge_linear(gp, W, A, B, dout, din, r, s->alpha / (float)r, &st->Wm[i], err);
        if (rc == MB_OK) rc = mb_vprep(gp, st->Wm[i], dout, din, T, &st->gw[i], err);
    }
    if (rc == MB_OK) rc = mb_valloc2(&st->G, T, f, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->U, T, f, err);
    if (rc != MB_OK) { mlin_release(st); return rc; }
    *ops = &mlin_ops;
    *priv = st;
    return MB_OK;
}
