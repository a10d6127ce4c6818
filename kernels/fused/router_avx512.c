/* router in one pass over token blocks: for each block of MB_ROUTER_BLOCK tokens, the logits
 * GEMM (skinny dot-product kernel for E <= 16) writes z for just those tokens, and while they
 * are still in L1 each token gets its softmax, top-k, renormalised weights and its row of the
 * dense combine matrix Y. The block partition and the per-block partial sums are the same as
 * mb_route's (256 tokens, summed in block order), so indices, weights, counts and both losses
 * are bit-identical to the shared path on any thread count. */
#ifdef MOEBENCH_HAVE_AVX512
#include <string.h>
#include "fused/fused_avx512.h"
#include "gemm/gemm_avx512_internal.h"

/* This file is built with -mfma and core/routing.c without: keep gcc from contracting the
 * loss sums (lse * lse + zsum, F_e * P_e + aux) into FMAs, or the last bit would differ. */
#pragma GCC optimize("fp-contract=off")

#define MB_ROUTER_BLOCK 256   /* = MB_ROUTE_BLOCK in core/routing.c: same partial sums */

typedef struct {
    int64_t T, h, E, k, nblk;
    mb_gemm_weight *Wr;
    mb_routing rt;
    float *z, *p;        /* [T, E] logits and probabilities */
    double *psum;        /* [nblk, E] */
    int64_t *cnt;        /* [nblk, E] */
    double *zsum;        /* [nblk] */
} rt_st;

static void rt_release(void *p)
{
    rt_st *st = p;
    if (!st) return;
    mb_avx512_weight_free(st->Wr);
    mb_routing_free(&st->rt);
    mb_free(st->z); mb_free(st->p); mb_free(st->psum); mb_free(st->cnt); mb_free(st->zsum);
    mb_free(st);
}

static mb_status rt_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                            void **priv, mb_err *err)
{
    (void)gp;
    const int64_t T = mb_spec_T(s), h = s->h, E = s->E;
    const float *Wr = mb_vw(w, "Wr", E * h, err);
    if (!Wr) return err ? err->code : MB_EINVAL;
    rt_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->T = T; st->h = h; st->E = E; st->k = s->k;
    st->nblk = (T + MB_ROUTER_BLOCK - 1) / MB_ROUTER_BLOCK;
    mb_status rc = mb_avx512_pack(Wr, h, h, NULL, 0, 0, E, &st->Wr, err);
    if (rc == MB_OK) rc = mb_routing_alloc(&st->rt, T, E, s->k, err);
    if (rc == MB_OK) rc = mb_valloc(&st->z, T * E, err);
    if (rc == MB_OK) rc = mb_valloc(&st->p, T * E, err);
    if (rc == MB_OK) {
        st->psum = mb_alloc(sizeof(double) * (size_t)(st->nblk * E));
        st->cnt = mb_alloc(sizeof(int64_t) * (size_t)(st->nblk * E));
        st->zsum = mb_alloc(sizeof(double) * (size_t)st->nblk);
        if (!st->psum || !st->cnt || !st->zsum) rc = mb_fail(err, MB_ENOMEM, "out of memory");
    }
    if (rc != MB_OK) { rt_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static void route_block(rt_st *st, const float *X, float *Y, int64_t b)
{
    const int64_t E = st->E, k = st->k, t0 = b * MB_ROUTER_BLOCK;
    const int64_t t1 = t0 + MB_ROUTER_BLOCK < st->T ? t0 + MB_ROUTER_BLOCK : st->T;
    mb_avx_gemm_args g = {.M = t1 - t0, .a = {X + t0 * st->h, NULL}, .lda = {st->h, 0},
                          .alpha = 1.0f, .beta = 0.0f, .c = st->z + t0 * E, .ldc = E};
    mb_avx512_gemm_run(st->Wr, &g);
    double *psum = st->psum + b * E, zsum = 0.0;
    int64_t *cnt = st->cnt + b * E;
    memset(psum, 0, sizeof(double) * (size_t)E);
    memset(cnt, 0, sizeof(int64_t) * (size_t)E);
    for (int64_t t = t0; t < t1; t++) {
        float *p = st->p + t * E, *y = Y + t * E;
        double lse = mb_softmax(st->z + t * E, E, p);
        zsum += lse * lse;
        for (int64_t e = 0; e < E; e++) psum[e] += p[e];
        int32_t *id = st->rt.idx + t * k;
        mb_topk(p, E, k, id);
        double norm = 0.0;
        for (int64_t j = 0; j < k; j++) norm += p[id[j]];
        memset(y, 0, sizeof(float) * (size_t)E);
        for (int64_t j = 0; j < k; j++) {
            float wj = (float)(p[id[j]] / norm);
            st->rt.w[t * k + j] = wj;
            y[id[j]] = wj;
            cnt[id[j]]++;
        }
    }
    st->zsum[b] = zsum;
}

static mb_status rt_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                            mb_err *err)
{
    (void)err;
    rt_st *st = p;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    const int64_t T = st->T, E = st->E, k = st->k;
    #pragma omp parallel for schedule(static) if (st->nblk > 1)
    for (int64_t b = 0; b < st->nblk; b++)
        route_block(st, X, Y, b);
    double zs = 0.0, aux = 0.0;
    for (int64_t b = 0; b < st->nblk; b++) zs += st->zsum[b];
    for (int64_t e = 0; e < E; e++) {
        double pe = 0.0;
        int64_t c = 0;
        for (int64_t b = 0; b < st->nblk; b++) {
            pe += st->psum[b * E + e];
            c += st->cnt[b * E + e];
        }
        st->rt.counts[e] = c;
        aux += ((double)c / (double)T) * (pe / (double)T);
    }
    st->rt.aux_loss = (double)E * aux;
    st->rt.z_loss = zs / (double)T;
    if (info && info->routing.idx) {
        mb_routing *d = &info->routing;
        memcpy(d->idx, st->rt.idx, sizeof(int32_t) * (size_t)(T * k));
        if (d->w) memcpy(d->w, st->rt.w, sizeof(float) * (size_t)(T * k));
        if (d->counts) memcpy(d->counts, st->rt.counts, sizeof(int64_t) * (size_t)E);
        d->T = T; d->E = E; d->k = k;
        d->aux_loss = st->rt.aux_loss;
        d->z_loss = st->rt.z_loss;
    }
    return MB_OK;
}

const mb_variant_ops mb_fused_avx512_router = { rt_prepare, rt_forward, rt_release };
#endif
