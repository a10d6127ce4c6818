/* Helpers shared by the variant files: weight lookup, provider calls with contiguous operands,
 * workspace, LoRA weight rearrangements, routing + grouping, gather / weighted scatter-add. */
#include "variants.h"
#include "moebench/activation.h"
#include "moebench/quant.h"
#include "moebench/work.h"
#include <stdio.h>
#include <string.h>

const mb_tensor *mb_vweight(const mb_weights *w, const char *name, mb_err *err)
{
    const mb_tensor *t = w ? mb_weights_get(w, name) : NULL;
    if (!t || !t->data || t->dtype != MB_F32) {
        mb_fail(err, MB_EINVAL, "weight %s missing or not f32", name);
        return NULL;
    }
    return t;
}

const void *mb_vw_as(const mb_weights *w, const char *name, int64_t numel, mb_dtype dt,
                     mb_err *err)
{
    const mb_tensor *t = w ? mb_weights_get(w, name) : NULL;
    if (!t || !t->data || t->dtype != dt) {
        mb_fail(err, MB_EINVAL, "weight %s missing or not %s", name, mb_dtype_name(dt));
        return NULL;
    }
    if (mb_tensor_numel(t) != numel) {
        mb_fail(err, MB_EINVAL, "weight %s has %lld elements, the spec wants %lld", name,
                (long long)mb_tensor_numel(t), (long long)numel);
        return NULL;
    }
    return t->data;
}

const float *mb_vw(const mb_weights *w, const char *name, int64_t numel, mb_err *err)
{
    return mb_vw_as(w, name, numel, MB_F32, err);
}

mb_status mb_vprep_base(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                        const char *name, int64_t count, int64_t index, int64_t N, int64_t K,
                        int64_t m_hint, mb_gemm_weight **out, mb_err *err)
{
    *out = NULL;
    const int64_t nk = N * K, m = m_hint < 1 ? 1 : m_hint;
    if (s->wq == MB_F32) {
        const char *W = mb_vw_as(w, name, count * nk, s->dtype, err);
        if (!W) return err ? err->code : MB_EINVAL;
        return mb_gemm_weight_prepare(gp, s->dtype, W + index * nk * (int64_t)mb_dtype_size(s->dtype),
                                      N, K, K, m, out, err);
    }
    char sn[MB_NAME_LEN];
    snprintf(sn, sizeof sn, "%s%s", name, MB_WQ_SCALE_SUFFIX);
    const int64_t groups = mb_wq_groups(s->wq, K);
    const char *q = mb_vw_as(w, name, count * nk, s->wq, err);
    const float *sc = q ? mb_vw_as(w, sn, count * N * groups, MB_F32, err) : NULL;
    if (!sc) return err ? err->code : MB_EINVAL;
    /* whole matrices: an int4 one holds N K (even: K is a multiple of 64) levels */
    return mb_gemm_weight_prepare_q(gp, s->dtype, s->wq, q + mb_dtype_bytes(s->wq, index * nk),
                                    sc + index * N * groups, N, K, m, out, err);
}

mb_status mb_vprep(const mb_gemm_provider *gp, const float *W, int64_t N, int64_t K,
                   int64_t m_hint, mb_gemm_weight **out, mb_err *err)
{
    *out = NULL;
    return mb_gemm_weight_prepare(gp, MB_F32, W, N, K, K, m_hint < 1 ? 1 : m_hint, out, err);
}

void mb_vrelease(const mb_gemm_provider *gp, mb_gemm_weight **w)
{
    if (*w) mb_gemm_weight_release(gp, MB_F32, *w);
    *w = NULL;
}

mb_status mb_vgemm(const mb_gemm_provider *gp, const mb_gemm_weight *w, int64_t M, int64_t K,
                   const float *A, float beta, float *C, int64_t N, mb_err *err)
{
    if (M == 0) return MB_OK;
    return mb_gemm(gp, MB_F32, w, M, A, K, 1.0f, beta, C, N, err);
}

mb_status mb_valloc(float **p, int64_t n, mb_err *err)
{
    int64_t bytes;
    *p = NULL;
    if (n < 1)
        return mb_fail(err, MB_EINVAL, "workspace of %lld floats requested", (long long)n);
    if (mb_mul_i64(n, (int64_t)sizeof(float), &bytes) != 0)
        return mb_fail(err, MB_ENOMEM, "workspace size overflows");
    *p = mb_alloc((size_t)bytes);
    if (!*p) return mb_fail(err, MB_ENOMEM, "cannot allocate %lld bytes of workspace",
                            (long long)bytes);
    return MB_OK;
}

mb_status mb_valloc2(float **p, int64_t a, int64_t b, mb_err *err)
{
    int64_t n;
    *p = NULL;
    if (a < 1 || b < 1)
        return mb_fail(err, MB_EINVAL, "workspace of %lld x %lld floats requested", (long long)a,
                       (long long)b);
    if (mb_mul_i64(a, b, &n) != 0)
        return mb_fail(err, MB_ENOMEM, "workspace size %lld x %lld overflows", (long long)a,
                       (long long)b);
    return mb_valloc(p, n, err);
}

mb_status mb_valloc3(float **p, int64_t a, int64_t b, int64_t c, mb_err *err)
{
    int64_t n;
    *p = NULL;
    if (a < 1 || b < 1 || c < 1)
        return mb_fail(err, MB_EINVAL, "workspace of %lld x %lld x %lld floats requested",
                       (long long)a, (long long)b, (long long)c);
    if (mb_mul_i64(a, b, &n) != 0 || mb_mul_i64(n, c, &n) != 0)
        return mb_fail(err, MB_ENOMEM, "workspace size %lld x %lld x %lld overflows",
                       (long long)a, (long long)b, (long long)c);
    return mb_valloc(p, n, err);
}

mb_status mb_vscaled_copy(const float *B, int64_t n, float s, float **out, mb_err *err)
{
    mb_status st = mb_valloc(out, n, err);
    if (st != MB_OK) return st;
    for (int64_t i = 0; i < n; i++) (*out)[i] = s * B[i];
    return MB_OK;
}

mb_status mb_vbcat(const float *B, int64_t E, int64_t o, int64_t r, float s, float **out,
                   mb_err *err)
{
    mb_status st = mb_valloc3(out, E, o, r, err);
    if (st != MB_OK) return st;
    float *Bc = *out;
    for (int64_t e = 0; e < E; e++)
        for (int64_t j = 0; j < o; j++)
            for (int64_t i = 0; i < r; i++)
                Bc[j * E * r + e * r + i] = s * B[(e * o + j) * r + i];
    return MB_OK;
}

mb_status mb_vrouter_init(mb_vrouter *vr, const mb_gemm_provider *gp, const float *Wr,
                          const mb_spec *s, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, E = s->E, k = s->k;
    memset(vr, 0, sizeof *vr);
    vr->T = T; vr->E = E; vr->k = k; vr->h = h;
    mb_status st = mb_vprep(gp, Wr, E, h, T, &vr->wr, err);
    if (st == MB_OK) st = mb_valloc2(&vr->z, T, E, err);
    if (st == MB_OK) st = mb_routing_alloc(&vr->rt, T, E, k, err);
    if (st == MB_OK) {
        vr->rt.opts = mb_route_opts_of(s);
        vr->offsets = mb_alloc(sizeof(int64_t) * (size_t)(E + 1));
        vr->tok = mb_alloc(sizeof(int32_t) * (size_t)(T * k));
        vr->slot = mb_alloc(sizeof(int32_t) * (size_t)(T * k));
        if (!vr->offsets || !vr->tok || !vr->slot)
            st = mb_fail(err, MB_ENOMEM, "cannot allocate routing groups");
    }
    if (st != MB_OK) mb_vrouter_free(vr, gp);
    return st;
}

mb_status mb_vrouter_run(mb_vrouter *vr, const mb_gemm_provider *gp, const float *X,
                         mb_forward_info *info, mb_err *err)
{
    mb_status st = mb_vgemm(gp, vr->wr, vr->T, vr->h, X, 0.0f, vr->z, vr->E, err);
    if (st != MB_OK) return st;
    st = mb_route(vr->z, vr->T, vr->E, vr->k, &vr->rt, NULL, err);
    if (st != MB_OK) return st;
    mb_routing_group(&vr->rt, vr->offsets, vr->tok, vr->slot);
    return info ? mb_routing_copy(&vr->rt, &info->routing, err) : MB_OK;
}

void mb_vrouter_free(mb_vrouter *vr, const mb_gemm_provider *gp)
{
    mb_vrelease(gp, &vr->wr);
    mb_free(vr->z);
    mb_routing_free(&vr->rt);
    mb_free(vr->offsets);
    mb_free(vr->tok);
    mb_free(vr->slot);
    memset(vr, 0, sizeof *vr);
}

void mb_vgather(const float *X, int64_t d, const int32_t *tok, int64_t n, float *Xg)
{
    mb_work_add(MB_WORK_ROWS_GATHERED, n);
    #pragma omp parallel for schedule(static) if (n * d > 32768)
    for (int64_t i = 0; i < n; i++)
        memcpy(Xg + i * d, X + (int64_t)tok[i] * d, sizeof(float) * (size_t)d);
}

void mb_vscatter_add(const float *Yg, int64_t d, const int32_t *tok, const int32_t *slot,
                     int64_t n, const mb_routing *rt, float *Y)
{
    mb_work_add(MB_WORK_ROWS_SCATTERED, n);
    /* tok[] is ascending within one expert, so rows never collide across threads */
    #pragma omp parallel for schedule(static) if (n * d > 32768)
    for (int64_t i = 0; i < n; i++) {
        const float wt = rt->w[(int64_t)tok[i] * rt->k + slot[i]];
        mb_vaxpy_row(Y + (int64_t)tok[i] * d, Yg + i * d, wt, d);
    }
}

void mb_vgather_w(const mb_routing *rt, const int32_t *tok, const int32_t *slot, int64_t n,
                  float *ws)
{
    for (int64_t i = 0; i < n; i++)
        ws[i] = rt->w[(int64_t)tok[i] * rt->k + slot[i]];
}

mb_status mb_vstack_rows(const float *top, int64_t nt, const float *bot, int64_t nb, int64_t h,
                         float **out, mb_err *err)
{
    int64_t nt_h, nb_h;
    *out = NULL;
    if (nt < 0 || nb < 0 || mb_mul_i64(nt, h, &nt_h) || mb_mul_i64(nb, h, &nb_h))
        return mb_fail(err, MB_EINVAL, "cannot stack %lld + %lld rows of %lld", (long long)nt,
                       (long long)nb, (long long)h);
    mb_status st = mb_valloc2(out, nt + nb, h, err);
    if (st != MB_OK) return st;
    memcpy(*out, top, sizeof(float) * (size_t)nt_h);
    if (nb) memcpy(*out + nt_h, bot, sizeof(float) * (size_t)nb_h);
    return MB_OK;
}

void mb_vglu(mb_act a, float *G, const float *U, int64_t n)
{
    mb_vglu_fwd(a, G, U, n, G);   /* the training step's vectorised pass (train_act.c) */
}

mb_status mb_vlora_init(mb_vlora *l, const mb_gemm_provider *gp, const float *W, const float *A,
                        const float *B, int64_t dout, int64_t din, int64_t r, float s,
                        int64_t m_hint, mb_err *err)
{
    memset(l, 0, sizeof *l);
    l->din = din; l->dout = dout; l->r = r;
    mb_status rc = mb_vscaled_copy(B, dout * r, s, &l->Bs, err);
    if (rc == MB_OK && W) rc = mb_vprep(gp, W, dout, din, m_hint, &l->W, err);
    if (rc == MB_OK) rc = mb_vprep(gp, A, r, din, m_hint, &l->A, err);
    if (rc == MB_OK) rc = mb_vprep(gp, l->Bs, dout, r, m_hint, &l->B, err);
    if (rc != MB_OK) mb_vlora_free(l, gp);
    return rc;
}

mb_status mb_vlora_run(const mb_vlora *l, const mb_gemm_provider *gp, int64_t M, const float *X,
                       float *C, float *Z, mb_err *err)
{
    mb_status rc = MB_OK;
    /* W == NULL: LoRA term only, added to C (base computed elsewhere, e.g. shared) */
    if (l->W) rc = mb_vgemm(gp, l->W, M, l->din, X, 0.0f, C, l->dout, err);
    if (rc == MB_OK) rc = mb_vgemm(gp, l->A, M, l->din, X, 0.0f, Z, l->r, err);
    if (rc == MB_OK) rc = mb_vgemm(gp, l->B, M, l->r, Z, 1.0f, C, l->dout, err);
    return rc;
}

void mb_vlora_free(mb_vlora *l, const mb_gemm_provider *gp)
{
    mb_vrelease(gp, &l->W);
    mb_vrelease(gp, &l->A);
    mb_vrelease(gp, &l->B);
    mb_free(l->Bs);
    memset(l, 0, sizeof *l);
}
