/* mlp_lora: LLaMA gated MLP with LoRA on gate, up and down (three mb_vlora). */
#include "variants.h"

typedef struct {
    const mb_gemm_provider *gp;
    mb_act act;
    int64_t T, h, f, r;
    mb_vlora g, u, d;
    float *G, *U, *Z;   /* [T,f], [T,f], [T,r] */
} mlp_st;

static void mlp_release(void *p)
{
    mlp_st *st = p;
    if (!st) return;
    mb_vlora_free(&st->g, st->gp);
    mb_vlora_free(&st->u, st->gp);
    mb_vlora_free(&st->d, st->gp);
    mb_free(st->G);
    mb_free(st->U);
    mb_free(st->Z);
    mb_free(st);
}

static mb_status mlp_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                             void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, f = s->f, r = s->r;
    const float sc = s->alpha / (float)r;
    const float *Wg = mb_vw(w, "Wg", f * h, err), *Wu = Wg ? mb_vw(w, "Wu", f * h, err) : NULL;
    const float *Wd = Wu ? mb_vw(w, "Wd", h * f, err) : NULL;
    const float *Ag = Wd ? mb_vw(w, "Ag", r * h, err) : NULL;
    const float *Bg = Ag ? mb_vw(w, "Bg", f * r, err) : NULL;
    const float *Au = Bg ? mb_vw(w, "Au", r * h, err) : NULL;
    const float *Bu = Au ? mb_vw(w, "Bu", f * r, err) : NULL;
    const float *Ad = Bu ? mb_vw(w, "Ad", r * f, err) : NULL;
    const float *Bd = Ad ? mb_vw(w, "Bd", h * r, err) : NULL;
    if (!Bd) return err ? err->code : MB_EINVAL;
    mlp_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->act = s->act; st->T = T; st->h = h; st->f = f; st->r = r;
    mb_status rc = mb_vlora_init(&st->g, gp, Wg, Ag, Bg, f, h, r, sc, T, err);
    if (rc == MB_OK) rc = mb_vlora_init(&st->u, gp, Wu, Au, Bu, f, h, r, sc, T, err);
    if (rc == MB_OK) rc = mb_vlora_init(&st->d, gp, Wd, Ad, Bd, h, f, r, sc, T, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->G, T, f, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->U, T, f, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Z, T, r, err);
    if (rc != MB_OK) { mlp_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status mlp_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                             mb_err *err)
{
    (void)info;
    mlp_st *st = p;
    const float *X = mb_f32(&in->X);
    mb_status rc = mb_vlora_run(&st->g, st->gp, st->T, X, st->G, st->Z, err);
    if (rc == MB_OK) rc = mb_vlora_run(&st->u, st->gp, st->T, X, st->U, st->Z, err);
    if (rc != MB_OK) return rc;
    mb_vglu(st->act, st->G, st->U, st->T * st->f);
    return mb_vlora_run(&st->d, st->gp, st->T, st->G, mb_f32(y), st->Z, err);
}

const mb_variant_ops mb_var_mlp_lora = { mlp_prepare, mlp_forward, mlp_release };
