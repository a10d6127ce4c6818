/* Helpers of the naive train step (ref.h, "the train step"): double matrices, one adapted
 * linear and the gated MLP in both directions, and the routing gradient of spec Part 2 §8b-8d.
 * Every output element is summed by one thread in a fixed order (rows or gradient rows in
 * parallel), so results do not depend on the thread count. */
#include <math.h>
#include <string.h>
#include "ref.h"

#define RT_PAR_MIN (1 << 14)

/* Blocks carry a 16-byte header (the link) so the doubles after it stay aligned. */
#define RT_HDR 16

double *mb_rt_new(mb_rt_pool *P, int64_t n)
{
    if (P->failed || n < 0) {
        P->failed = 1;
        return NULL;
    }
    const size_t bytes = sizeof(double) * (size_t)(n > 0 ? n : 1);
    char *b = mb_alloc(RT_HDR + bytes);
    if (!b) {
        P->failed = 1;
        return NULL;
    }
    memcpy(b, &P->head, sizeof P->head);
    P->head = b;
    memset(b + RT_HDR, 0, bytes);
    return (double *)(void *)(b + RT_HDR);
}

void mb_rt_pool_free(mb_rt_pool *P)
{
    while (P->head) {
        void *prev;
        memcpy(&prev, P->head, sizeof prev);
        mb_free(P->head);
        P->head = prev;
    }
}

double *mb_rt_widen(mb_rt_pool *P, const float *x, int64_t n)
{
    double *d = mb_rt_new(P, n);
    if (d)
        for (int64_t i = 0; i < n; i++)
            d[i] = (double)x[i];
    return d;
}

void mb_rt_mm_nt(const double *X, int64_t n, int64_t K, const float *W, int64_t N, double scale,
                 int acc, double *out)
{
#pragma omp parallel for schedule(static) if (n * N * K >= RT_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < N; j++) {
            double d = 0.0;
            for (int64_t k = 0; k < K; k++)
                d += X[i * K + k] * (double)W[j * K + k];
            out[i * N + j] = (acc ? out[i * N + j] : 0.0) + scale * d;
        }
}

void mb_rt_mm_nn(const double *G, int64_t n, int64_t N, const float *W, int64_t K, double scale,
                 double *out)
{
#pragma omp parallel for schedule(static) if (n * N * K >= RT_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < K; k++) {
            double d = 0.0;
            for (int64_t j = 0; j < N; j++)
                d += G[i * N + j] * (double)W[j * K + k];
            out[i * K + k] += scale * d;
        }
}

void mb_rt_mm_tn(const double *G, int64_t n, int64_t N, const double *X, int64_t K, double scale,
                 double *dW)
{
#pragma omp parallel for schedule(static) if (n * N * K >= RT_PAR_MIN)
    for (int64_t j = 0; j < N; j++)
        for (int64_t k = 0; k < K; k++) {
            double d = 0.0;
            for (int64_t i = 0; i < n; i++)
                d += G[i * N + j] * X[i * K + k];
            dW[j * K + k] += scale * d;
        }
}

double mb_rt_act(mb_act a, double x)
{
    return mb_act_apply(a, x);
}

double mb_rt_act_grad(mb_act a, double x)
{
    switch (a) {
    case MB_ACT_GELU:   /* d/dx 0.5 x (1 + erf(x/sqrt2)) = Phi(x) + x phi(x) */
        return 0.5 * (1.0 + erf(x * M_SQRT1_2)) + x * exp(-0.5 * x * x) / sqrt(2.0 * M_PI);
    case MB_ACT_RELU:
        return x > 0.0 ? 1.0 : 0.0;
    case MB_ACT_SILU:
    default: {
        const double sg = 1.0 / (1.0 + exp(-x));   /* d/dx x sg(x) = sg (1 + x (1 - sg)) */
        return sg * (1.0 + x * (1.0 - sg));
    }
    }
}

void mb_rt_proj_fwd(mb_rt_pool *P, const mb_spec *s, const mb_rt_proj *p, const double *In,
                    int64_t n, const int32_t *rows, double *Out, mb_rt_projsave *sv)
{
    memset(sv, 0, sizeof *sv);
    if (p->W)
        mb_rt_mm_nt(In, n, p->K, p->W, p->N, 1.0, 0, Out);
    else
        memset(Out, 0, sizeof(double) * (size_t)(n * p->N));
    if (!p->A)
        return;
    sv->U = mb_rt_new(P, n * p->K);
    sv->M = mb_rt_new(P, n * p->K);
    sv->Z = mb_rt_new(P, n * p->r);
    if (P->failed)
        return;
    for (int64_t i = 0; i < n; i++)   /* the LoRA input, dropped out (spec: shared mask) */
        for (int64_t k = 0; k < p->K; k++) {
            const double m = (double)mb_dropout_scale(s->seed, p->lora, p->expert,
                                                      rows ? rows[i] : i, k, s->p);
            sv->M[i * p->K + k] = m;
            sv->U[i * p->K + k] = In[i * p->K + k] * m;
        }
    mb_rt_mm_nt(sv->U, n, p->K, p->A, p->r, 1.0, 0, sv->Z);   /* Z = U A^T */
    /* Out += s Z B^T: B is f32 [N, r], the "nt" product over r */
    mb_rt_mm_nt(sv->Z, n, p->r, p->B, p->N, p->s, 1, Out);
}

void mb_rt_proj_bwd(mb_rt_pool *P, const mb_rt_proj *p, const double *In, int64_t n,
                    const mb_rt_projsave *sv, const double *G, double *dA, double *dB, double *dW,
                    double *dIn)
{
    if (dW)
        mb_rt_mm_tn(G, n, p->N, In, p->K, 1.0, dW);        /* dW += G^T In */
    if (dIn && p->W)
        mb_rt_mm_nn(G, n, p->N, p->W, p->K, 1.0, dIn);     /* dIn += G W */
    if (!p->A)
        return;
    double *dZ = mb_rt_new(P, n * p->r);
    double *dU = mb_rt_new(P, n * p->K);
    if (P->failed)
        return;
    if (dB)
        mb_rt_mm_tn(G, n, p->N, sv->Z, p->r, p->s, dB);    /* dB += s G^T Z */
    mb_rt_mm_nn(G, n, p->N, p->B, p->r, p->s, dZ);         /* dZ = s G B */
    if (dA)
        mb_rt_mm_tn(dZ, n, p->r, sv->U, p->K, 1.0, dA);    /* dA += dZ^T U */
    mb_rt_mm_nn(dZ, n, p->r, p->A, p->K, 1.0, dU);         /* dU = dZ A */
    if (dIn)
        for (int64_t i = 0; i < n * p->K; i++)             /* through the same mask */
            dIn[i] += dU[i] * sv->M[i];
}

void mb_rt_mlp_fwd(mb_rt_pool *P, const mb_spec *s, const mb_rt_mlp *m, const double *In,
                   int64_t n, const int32_t *rows, double *Out, mb_rt_mlpsave *sv)
{
    const int64_t f = m->g.N;
    sv->G1 = mb_rt_new(P, n * f);
    sv->U1 = mb_rt_new(P, n * f);
    sv->H = mb_rt_new(P, n * f);
    if (P->failed)
        return;
    mb_rt_proj_fwd(P, s, &m->g, In, n, rows, sv->G1, &sv->g);
    mb_rt_proj_fwd(P, s, &m->u, In, n, rows, sv->U1, &sv->u);
    if (P->failed)
        return;
    for (int64_t i = 0; i < n * f; i++)
        sv->H[i] = mb_rt_act(m->act, sv->G1[i]) * sv->U1[i];
    mb_rt_proj_fwd(P, s, &m->d, sv->H, n, rows, Out, &sv->d);
}

void mb_rt_mlp_bwd(mb_rt_pool *P, const mb_rt_mlp *m, const double *In, int64_t n,
                   const mb_rt_mlpsave *sv, const double *G, mb_rt_pgrad gr[3], double *dIn)
{
    const int64_t f = m->g.N;
    double *dH = mb_rt_new(P, n * f);
    double *dG1 = mb_rt_new(P, n * f);
    double *dU1 = mb_rt_new(P, n * f);
    if (P->failed)
        return;
    mb_rt_proj_bwd(P, &m->d, sv->H, n, &sv->d, G, gr[2].dA, gr[2].dB, gr[2].dW, dH);
    for (int64_t i = 0; i < n * f; i++) {   /* H = act(G1) o U1 */
        dG1[i] = dH[i] * sv->U1[i] * mb_rt_act_grad(m->act, sv->G1[i]);
        dU1[i] = dH[i] * mb_rt_act(m->act, sv->G1[i]);
    }
    mb_rt_proj_bwd(P, &m->g, In, n, &sv->g, dG1, gr[0].dA, gr[0].dB, gr[0].dW, dIn);
    mb_rt_proj_bwd(P, &m->u, In, n, &sv->u, dU1, gr[1].dA, gr[1].dB, gr[1].dW, dIn);
}

mb_status mb_rt_route_fwd(mb_rt_pool *P, const mb_spec *s, const float *X, const float *Wr,
                          mb_forward_info *info, mb_rt_route *rt, mb_err *err)
{
    const int64_t T = mb_spec_T(s), E = s->E, k = s->k, h = s->h;
    memset(rt, 0, sizeof *rt);
    rt->T = T;
    rt->E = E;
    rt->k = k;
    mb_status st = mb_ref_route(s, X, Wr, info, &rt->r, &rt->owned, err);
    if (st)
        return st;
    rt->idx = rt->r.idx;
    rt->p = mb_rt_new(P, T * E);
    rt->lse = mb_rt_new(P, T);
    rt->w = mb_rt_new(P, T * k);
    rt->F = mb_rt_new(P, E);
    double *x = mb_rt_new(P, h);
    double *lg = mb_rt_new(P, E);   /* holds E floats */
    if (P->failed)
        return mb_fail(err, MB_ENOMEM, "naive train: out of memory for the routing");
    float *z = (float *)lg;
    double zsum = 0.0;
    for (int64_t t = 0; t < T; t++) {
        /* the forward's fp32 logits, softmax and lse in double */
        mb_ref_row(X + t * h, h, x);
        mb_ref_logits(x, h, Wr, E, z);
        rt->lse[t] = mb_ref_softmax(z, E, rt->p + t * E);
        zsum += rt->lse[t] * rt->lse[t];
        double norm = 0.0;
        for (int64_t j = 0; j < k; j++)
            norm += rt->p[t * E + rt->idx[t * k + j]];
        for (int64_t j = 0; j < k; j++) {
            rt->w[t * k + j] = rt->p[t * E + rt->idx[t * k + j]] / norm;
            rt->F[rt->idx[t * k + j]] += 1.0 / (double)T;
        }
    }
    double aux = 0.0;
    for (int64_t e = 0; e < E; e++) {
        double P_e = 0.0;
        for (int64_t t = 0; t < T; t++)
            P_e += rt->p[t * E + e];
        aux += rt->F[e] * (P_e / (double)T);
    }
    rt->aux = (double)E * aux;
    rt->zl = zsum / (double)T;
    return MB_OK;
}

void mb_rt_route_release(mb_rt_route *rt)
{
    if (rt->owned)
        mb_ref_routing_release(&rt->r);
    rt->owned = 0;
}

void mb_rt_route_bwd(const mb_spec *s, const mb_rt_route *rt, const double *gr, double *dz)
{
    const int64_t T = rt->T, E = rt->E, k = rt->k;
    const int routed = mb_variant_routed(s->variant);
    const double ca = routed ? (double)s->aux : 0.0, cz = routed ? (double)s->zloss : 0.0;
    for (int64_t t = 0; t < T; t++) {
        double *d = dz + t * E;
        const double *p = rt->p + t * E;
        for (int64_t e = 0; e < E; e++)
            d[e] = 0.0;
        /* §8d: dz_j = w_j (gr_j - sum_l w_l gr_l) over the chosen experts */
        double wg = 0.0;
        for (int64_t j = 0; j < k; j++)
            wg += rt->w[t * k + j] * gr[t * k + j];
        for (int64_t j = 0; j < k; j++)
            d[rt->idx[t * k + j]] += rt->w[t * k + j] * (gr[t * k + j] - wg);
        /* §8b: dL_aux/dp_te = E F_e / T (F constant); through the softmax of all E */
        double pF = 0.0;
        for (int64_t e = 0; e < E; e++)
            pF += p[e] * rt->F[e];
        for (int64_t e = 0; e < E; e++)
            d[e] += ca * ((double)E / (double)T) * p[e] * (rt->F[e] - pF);
        /* §8c: dL_z/dz_te = (2/T) lse_t p_te */
        for (int64_t e = 0; e < E; e++)
            d[e] += cz * (2.0 / (double)T) * rt->lse[t] * p[e];
    }
}

mb_status mb_rt_store_grad(mb_grads *g, const char *name, const double *src, int64_t n,
                           mb_err *err)
{
    mb_tensor *t = mb_weights_get_mut(&g->dW, name);
    if (!t || t->dtype != MB_F32 || mb_tensor_numel(t) != n)
        return mb_fail(err, MB_EINVAL, "naive train: gradient '%s' missing or not f32 of %lld "
                       "elements (mb_grads_alloc)", name, (long long)n);
    float *d = mb_f32(t);
    for (int64_t i = 0; i < n; i++)
        d[i] = (float)src[i];
    return MB_OK;
}

void mb_rt_finish_forward(mb_ref_step *st, const double *Y, int64_t n)
{
    double L = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (st->y)
            st->y[i] = (float)Y[i];
        if (st->dy)
            L += Y[i] * (double)st->dy[i];
    }
    st->loss = L;
}

mb_status mb_rt_check(const mb_spec *s, const mb_inputs *in, mb_ref_step *st, mb_err *err)
{
    const int64_t T = mb_spec_T(s);
    /* the forward's checks on a header shaped like Y (its data: y, dy or a dummy) */
    mb_tensor yh = { .dtype = MB_F32, .ndim = 2, .shape = { T, mb_spec_out_width(s) } };
    yh.stride[0] = yh.shape[1];
    yh.stride[1] = 1;
    static float dummy;
    yh.data = st->y ? (void *)st->y : st->dy ? (void *)st->dy : (void *)&dummy;
    mb_status rc = mb_ref_check_io(s, in, &yh, st->info, err);
    if (rc)
        return rc;
    if (st->g && !st->dy)
        return mb_fail(err, MB_EINVAL, "naive train: a backward needs dY");
    if (st->g && (!st->g->dX.data || st->g->dX.dtype != MB_F32 ||
                  mb_tensor_numel(&st->g->dX) != T * s->h))
        return mb_fail(err, MB_EINVAL, "naive train: dX must be f32 [%lld, %lld] "
                       "(mb_grads_alloc)", (long long)T, (long long)s->h);
    return MB_OK;
}

mb_status mb_rt_finish_backward(const mb_spec *s, const mb_weights *w, mb_ref_step *st,
                                const double *dX, mb_err *err)
{
    float *d = mb_f32(&st->g->dX);
    const int64_t n = mb_spec_T(s) * s->h;
    for (int64_t i = 0; i < n; i++)
        d[i] = (float)dX[i];
    return mb_grads_apply_opt(s, w, st->g, err);
}

void mb_rt_moe_fwd(mb_rt_pool *P, const mb_spec *s, const mb_rt_route *rt, const double *X,
                   mb_rt_expert *ex, mb_rt_expert_fn fn, const void *ctx, double *Y)
{
    const int64_t T = rt->T, k = rt->k, h = s->h;
    for (int64_t e = 0; e < rt->E && !P->failed; e++) {
        mb_rt_expert *x = &ex[e];
        memset(x, 0, sizeof *x);
        for (int64_t i = 0; i < T * k; i++)
            x->n += rt->idx[i] == e;
        if (x->n == 0)
            continue;
        double *ids = mb_rt_new(P, x->n);   /* n doubles hold the 2n int32 of tok and slot */
        x->Xe = mb_rt_new(P, x->n * h);
        x->Out = mb_rt_new(P, x->n * h);
        if (P->failed)
            return;
        x->tok = (int32_t *)(void *)ids;
        x->slot = x->tok + x->n;
        int64_t n = 0;
        for (int64_t t = 0; t < T; t++)
            for (int64_t j = 0; j < k; j++)
                if (rt->idx[t * k + j] == e) {
                    x->tok[n] = (int32_t)t;
                    x->slot[n] = (int32_t)j;
                    memcpy(x->Xe + n * h, X + t * h, sizeof(double) * (size_t)h);
                    n++;
                }
        mb_rt_mlp m;
        fn(ctx, e, &m, NULL);
        mb_rt_mlp_fwd(P, s, &m, x->Xe, x->n, x->tok, x->Out, &x->sv);
        if (P->failed)
            return;
        for (int64_t i = 0; i < x->n; i++) {
            const double wt = rt->w[x->tok[i] * k + x->slot[i]];
            for (int64_t c = 0; c < h; c++)
                Y[x->tok[i] * h + c] += wt * x->Out[i * h + c];
        }
    }
}

void mb_rt_moe_bwd(mb_rt_pool *P, const mb_spec *s, const mb_rt_route *rt, const double *X,
                   const mb_rt_expert *ex, mb_rt_expert_fn fn, const void *ctx, const double *G,
                   double *gr_w, double *dX)
{
    const int64_t k = rt->k, h = s->h;
    (void)X;
    for (int64_t e = 0; e < rt->E && !P->failed; e++) {
        const mb_rt_expert *x = &ex[e];
        if (x->n == 0)
            continue;
        double *Ge = mb_rt_new(P, x->n * h), *dIn = mb_rt_new(P, x->n * h);
        if (P->failed)
            return;
        for (int64_t i = 0; i < x->n; i++) {
            const int64_t t = x->tok[i], at = t * k + x->slot[i];
            double d = 0.0;
            for (int64_t c = 0; c < h; c++) {
                Ge[i * h + c] = rt->w[at] * G[t * h + c];
                d += G[t * h + c] * x->Out[i * h + c];
            }
            gr_w[at] = d;
        }
        mb_rt_mlp m;
        mb_rt_pgrad gr[3];
        fn(ctx, e, &m, gr);
        mb_rt_mlp_bwd(P, &m, x->Xe, x->n, &x->sv, Ge, gr, dIn);
        if (P->failed)
            return;
        for (int64_t i = 0; i < x->n; i++)
            for (int64_t c = 0; c < h; c++)
                dX[x->tok[i] * h + c] += dIn[i * h + c];
    }
}
