/* Helpers of the bf16 forms (variants_bf16.h). */
#include "variants_bf16.h"
#include "moebench/bf16.h"
#include "moebench/work.h"
#include <string.h>

mb_status mb_b16_alloc(uint16_t **p, int64_t a, int64_t b, mb_err *err)
{
    float *f = NULL;
    mb_status rc = b < 1 ? mb_fail(err, MB_EINVAL, "workspace of %lld x %lld bf16 requested",
                                   (long long)a, (long long)b)
                         : mb_valloc2(&f, a, (b + 1) / 2, err);   /* two bf16 per float */
    *p = (uint16_t *)f;
    return rc;
}

void mb_b16_widen(const uint16_t *src, int64_t n, float *dst)
{
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) dst[i] = mb_bf16_to_f32(src[i]);
}

void mb_b16_glu(mb_act act, uint16_t *G, const uint16_t *U, int64_t n, int64_t f, float *row)
{
    float *g = row, *u = row + f;
    for (int64_t i = 0; i < n; i++) {
        uint16_t *Gi = G + i * f;
        const uint16_t *Ui = U + i * f;
        for (int64_t j = 0; j < f; j++) {
            g[j] = mb_bf16_to_f32(Gi[j]);
            u[j] = mb_bf16_to_f32(Ui[j]);
        }
        mb_vglu(act, g, u, f);
        for (int64_t j = 0; j < f; j++) Gi[j] = mb_f32_to_bf16(g[j]);
    }
}

void mb_b16_gather(const uint16_t *X, int64_t d, const int32_t *tok, int64_t n, uint16_t *Xg)
{
    mb_work_add(MB_WORK_ROWS_GATHERED, n);
    for (int64_t i = 0; i < n; i++)
        memcpy(Xg + i * d, X + (int64_t)tok[i] * d, sizeof(uint16_t) * (size_t)d);
}

void mb_b16_combine(const uint16_t *Yg, int64_t d, const int32_t *tok, const int32_t *slot,
                    int64_t n, const mb_routing *rt, float *Acc)
{
    mb_work_add(MB_WORK_ROWS_SCATTERED, n);
    /* one expert's tokens are distinct, so rows never collide across threads */
    #pragma omp parallel for schedule(static) if (n * d > 32768)
    for (int64_t i = 0; i < n; i++) {
        const int64_t t = tok[i];
        const float wt = slot ? rt->w[t * rt->k + slot[i]] : 1.0f;
        float *acc = Acc + t * d;
        const uint16_t *y = Yg + i * d;
        for (int64_t j = 0; j < d; j++) acc[j] += wt * mb_bf16_to_f32(y[j]);
    }
}

mb_status mb_b16_router_init(mb_b16_router *r, const mb_gemm_provider *gp, const mb_weights *w,
                             const mb_spec *s, mb_err *err)
{
    const uint16_t *Wr = mb_vw_as(w, "Wr", s->E * s->h, MB_BF16, err);
    if (!Wr) return err ? err->code : MB_EINVAL;
    mb_status rc = mb_valloc2(&r->Wr, s->E, s->h, err);
    if (rc == MB_OK) rc = mb_valloc2(&r->Xf, mb_spec_T(s), s->h, err);
    if (rc != MB_OK) return rc;
    mb_b16_widen(Wr, s->E * s->h, r->Wr);
    return mb_vrouter_init(&r->vr, gp, r->Wr, s, err);
}

mb_status mb_b16_router_run(mb_b16_router *r, const mb_gemm_provider *gp, const uint16_t *X,
                            mb_forward_info *info, mb_err *err)
{
    mb_b16_widen(X, r->vr.T * r->vr.h, r->Xf);
    return mb_vrouter_run(&r->vr, gp, r->Xf, info, err);
}

void mb_b16_router_free(mb_b16_router *r, const mb_gemm_provider *gp)
{
    mb_vrouter_free(&r->vr, gp);
    mb_free(r->Wr);
    mb_free(r->Xf);
    r->Wr = r->Xf = NULL;
}
