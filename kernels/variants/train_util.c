/* Helpers of the training step (train.h): saved / gradient slots, provider calls of the
 * training direction, the dropout of LoRA inputs, the activation derivative, the router's
 * backward. */
#include <string.h>
#include "variants_train.h"

float *mb_tslot(mb_weights *ws, const char *name, int64_t n, mb_err *err)
{
    mb_tensor *t = mb_weights_get_mut(ws, name);
    if (t) {
        if (t->dtype == MB_F32 && mb_tensor_numel(t) == n) return mb_f32(t);
        mb_fail(err, MB_EINVAL, "%s has %lld elements, the step wants %lld", name,
                (long long)mb_tensor_numel(t), (long long)n);
        return NULL;
    }
    mb_tensor nt;
    memset(&nt, 0, sizeof nt);
    const int64_t shape[1] = { n };
    if (mb_tensor_alloc(&nt, MB_F32, 1, shape, err) != MB_OK) return NULL;
    if (mb_weights_add(ws, name, nt, err) != MB_OK) {
        mb_tensor_free(&nt);
        return NULL;
    }
    return mb_f32(&nt);
}

const float *mb_tsaved(const mb_saved *sv, const char *name, int64_t n, mb_err *err)
{
    const mb_tensor *t = sv ? mb_weights_get(&sv->act, name) : NULL;
    if (!t || t->dtype != MB_F32 || mb_tensor_numel(t) != n) {
        mb_fail(err, MB_EINVAL, "backward: saved %s missing or not of %lld floats", name,
                (long long)n);
        return NULL;
    }
    return mb_f32(t);
}

float *mb_tdx(mb_grads *g, int64_t T, int64_t h, mb_err *err)
{
    if (g->dX.data) {
        if (g->dX.dtype == MB_F32 && mb_tensor_numel(&g->dX) == T * h) return mb_f32(&g->dX);
        mb_fail(err, MB_EINVAL, "dX is not f32 [%lld, %lld]", (long long)T, (long long)h);
        return NULL;
    }
    const int64_t shape[2] = { T, h };
    return mb_tensor_alloc(&g->dX, MB_F32, 2, shape, err) == MB_OK ? mb_f32(&g->dX) : NULL;
}

mb_status mb_vpl(const mb_gemm_provider *gp, int ta, int tb, int64_t M, int64_t N, int64_t K,
                 float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                 float beta, float *C, int64_t ldc, mb_err *err)
{
    if (M == 0 || N == 0) return MB_OK;
    if (K == 0) {   /* an empty sum: C = beta C */
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        return MB_OK;
    }
    return mb_gemm_plain(gp, MB_F32, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, err);
}

mb_status mb_vnn(const mb_gemm_provider *gp, const mb_gemm_weight *w, int64_t M, const float *A,
                 int64_t lda, float beta, float *C, int64_t ldc, mb_err *err)
{
    if (M == 0) return MB_OK;
    return mb_gemm_nn(gp, MB_F32, w, M, A, lda, 1.0f, beta, C, ldc, err);
}

mb_status mb_vprep_train(const mb_gemm_provider *gp, const float *W, int64_t N, int64_t K,
                         int64_t m_hint, mb_gemm_weight **out, mb_err *err)
{
    mb_status rc = mb_vprep(gp, W, N, K, m_hint, out, err);
    if (rc == MB_OK) rc = mb_gemm_weight_train(gp, MB_F32, *out, err);
    if (rc != MB_OK) mb_vrelease(gp, out);
    return rc;
}

void mb_vdrop_rows(const mb_spec *s, uint32_t lora, uint32_t expert, const int32_t *rows,
                   const float *X, int64_t n, int64_t d, float *out)
{
    #pragma omp parallel for schedule(static) if (n * d > 32768)
    for (int64_t i = 0; i < n; i++)
        mb_dropout_apply_row(s->seed, lora, expert, rows ? rows[i] : i, 0, d, s->p, X + i * d,
                             out + i * d);
}

void mb_vroute_backward(const mb_routing *rt, const float *P, const float *z, const float *gr,
                        float aux, float zloss, float *dz)
{
    const int64_t T = rt->T, E = rt->E, k = rt->k;
    const double ca = (double)aux * (double)E / (double)T, cz = 2.0 * (double)zloss / (double)T;
    #pragma omp parallel for schedule(static) if (T * E > 32768)
    for (int64_t t = 0; t < T; t++) {
        const float *p = P + t * E, *zt = z + t * E;
        float *d = dz + t * E;
        /* aux: dL/dp_te = ca F_e; softmax backward p (g - <p, g>) */
        double pf = 0.0, lse = 0.0, zmax = zt[0];
        for (int64_t e = 0; e < E; e++) pf += (double)p[e] * (double)rt->counts[e] / (double)T;
        if (zloss != 0.0f) {
            for (int64_t e = 1; e < E; e++) if (zt[e] > zmax) zmax = zt[e];
            for (int64_t e = 0; e < E; e++) lse += exp((double)zt[e] - zmax);
            lse = zmax + log(lse);
        }
        for (int64_t e = 0; e < E; e++)
            d[e] = (float)(ca * p[e] * ((double)rt->counts[e] / (double)T - pf) +
                           cz * lse * p[e]);
        /* the renormalised top-k combine (§8d) */
        const int32_t *id = rt->idx + t * k;
        const float *w = rt->w + t * k, *g = gr + t * k;
        double wg = 0.0;
        for (int64_t j = 0; j < k; j++) wg += (double)w[j] * g[j];
        for (int64_t j = 0; j < k; j++) d[id[j]] += (float)((double)w[j] * ((double)g[j] - wg));
    }
}

mb_status mb_tlora_fwd(const mb_gemm_provider *gp, int64_t n, int64_t din, int64_t dout,
                       int64_t r, float sc, const float *Xd, const float *A, const float *B,
                       float *Z, float *C, mb_err *err)
{
    mb_status rc = mb_vpl(gp, 0, 1, n, r, din, 1.0f, Xd, din, A, din, 0.0f, Z, r, err);
    if (rc == MB_OK) rc = mb_vpl(gp, 0, 1, n, dout, r, sc, Z, r, B, r, 1.0f, C, dout, err);
    return rc;
}

mb_status mb_tlora_bwd(const mb_gemm_provider *gp, const mb_spec *s, uint32_t lora,
                       uint32_t expert, const int32_t *rows, int64_t n, int64_t din, int64_t dout,
                       int64_t r, float sc, const float *dC, const float *Xd, const float *Z,
                       const float *A, const float *B, float *dA, float *dB, float wbeta,
                       float *dZ, float *tmp, float *dXin, float xbeta, mb_err *err)
{
    mb_status rc = mb_vpl(gp, 1, 0, dout, r, n, sc, dC, dout, Z, r, wbeta, dB, r, err);
    if (rc == MB_OK) rc = mb_vpl(gp, 0, 0, n, r, dout, sc, dC, dout, B, r, 0.0f, dZ, r, err);
    if (rc == MB_OK) rc = mb_vpl(gp, 1, 0, r, din, n, 1.0f, dZ, r, Xd, din, wbeta, dA, din, err);
    if (rc != MB_OK || !dXin) return rc;
    if (s->p == 0.0f)
        return mb_vpl(gp, 0, 0, n, din, r, 1.0f, dZ, r, A, din, xbeta, dXin, din, err);
    rc = mb_vpl(gp, 0, 0, n, din, r, 1.0f, dZ, r, A, din, 0.0f, tmp, din, err);
    if (rc != MB_OK) return rc;
    mb_vdrop_rows(s, lora, expert, rows, tmp, n, din, tmp);
    for (int64_t i = 0; i < n * din; i++)
        dXin[i] = (xbeta == 0.0f ? 0.0f : xbeta * dXin[i]) + tmp[i];
    return MB_OK;
}

mb_status mb_trouter_init(mb_trouter *tr, const mb_gemm_provider *gp, const float *Wr, int64_t T,
                          int64_t h, int64_t E, int64_t k, mb_err *err)
{
    memset(tr, 0, sizeof *tr);
    tr->T = T; tr->h = h; tr->E = E; tr->k = k; tr->Wr = Wr;
    mb_status rc = mb_vprep_train(gp, Wr, E, h, T, &tr->wr, err);
    if (rc == MB_OK) rc = mb_routing_alloc(&tr->rt, T, E, k, err);
    if (rc == MB_OK) rc = mb_valloc2(&tr->gr, T, k, err);
    if (rc == MB_OK) rc = mb_valloc2(&tr->dz, T, E, err);
    if (rc == MB_OK) {
        tr->offsets = mb_alloc(sizeof(int64_t) * (size_t)(E + 1));
        tr->tok = mb_alloc(sizeof(int32_t) * (size_t)(T * k));
        tr->slot = mb_alloc(sizeof(int32_t) * (size_t)(T * k));
        if (!tr->offsets || !tr->tok || !tr->slot)
            rc = mb_fail(err, MB_ENOMEM, "cannot allocate routing groups");
    }
    if (rc != MB_OK) mb_trouter_free(tr, gp);
    return rc;
}

mb_status mb_trouter_run(mb_trouter *tr, const mb_gemm_provider *gp, const float *X,
                         mb_saved *s, mb_forward_info *info, mb_err *err)
{
    float *z = mb_tslot(&s->act, "z", tr->T * tr->E, err);
    float *P = z ? mb_tslot(&s->act, "P", tr->T * tr->E, err) : NULL;
    if (!P) return err->code;
    mb_status rc = mb_vgemm(gp, tr->wr, tr->T, tr->h, X, 0.0f, z, tr->E, err);
    if (rc == MB_OK) rc = mb_route(z, tr->T, tr->E, tr->k, &tr->rt, P, err);
    if (rc != MB_OK) return rc;
    mb_routing_group(&tr->rt, tr->offsets, tr->tok, tr->slot);
    return info ? mb_routing_copy(&tr->rt, &info->routing, err) : MB_OK;
}

mb_status mb_trouter_backward(mb_trouter *tr, const mb_gemm_provider *gp, const mb_spec *spec,
                              const float *X, const mb_saved *sv, mb_grads *g, float *dX,
                              mb_err *err)
{
    const float *z = mb_tsaved(sv, "z", tr->T * tr->E, err);
    const float *P = z ? mb_tsaved(sv, "P", tr->T * tr->E, err) : NULL;
    float *dWr = P ? mb_tslot(&g->dW, "Wr", tr->E * tr->h, err) : NULL;
    if (!dWr) return err->code;
    mb_vroute_backward(&tr->rt, P, z, tr->gr, spec->aux, spec->zloss, tr->dz);
    mb_status rc = mb_vpl(gp, 1, 0, tr->E, tr->h, tr->T, 1.0f, tr->dz, tr->E, X, tr->h, 0.0f,
                          dWr, tr->h, err);
    if (rc == MB_OK) rc = mb_vnn(gp, tr->wr, tr->T, tr->dz, tr->E, 1.0f, dX, tr->h, err);
    return rc;
}

void mb_trouter_free(mb_trouter *tr, const mb_gemm_provider *gp)
{
    mb_vrelease(gp, &tr->wr);
    mb_routing_free(&tr->rt);
    mb_free(tr->offsets);
    mb_free(tr->tok);
    mb_free(tr->slot);
    mb_free(tr->gr);
    mb_free(tr->dz);
    memset(tr, 0, sizeof *tr);
}
