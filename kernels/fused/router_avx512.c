/* router in one pass over token blocks: for each block of MB_ROUTE_BLOCK tokens, the logits
 * GEMM (skinny dot-product kernel for E <= 16) writes z for just those tokens, and while they
 * are still in L1 each token gets its softmax, top-k, renormalised weights (mb_route_block,
 * the one definition of routing in core/routing.c) and its row of the dense combine matrix Y.
 * The block partition and the partial sums are mb_route's (mb_route_finish sums them in block
 * order), so indices, weights, counts and both losses are bit-identical to the shared path on
 * any thread count. */
#ifdef MOEBENCH_HAVE_AVX512
#include <string.h>
#include "fused/fused_avx512.h"
#include "gemm/gemm_avx512_internal.h"


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
    st->nblk = (T + MB_ROUTE_BLOCK - 1) / MB_ROUTE_BLOCK;
    mb_status rc = mb_avx512_pack(Wr, h, h, NULL, 0, 0, E, &st->Wr, err);
    if (rc == MB_OK) rc = mb_routing_alloc(&st->rt, T, E, s->k, err);
    if (rc == MB_OK) st->rt.opts = mb_route_opts_of(s);
    if (rc == MB_OK) rc = mb_valloc2(&st->z, T, E, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->p, T, E, err);
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
    const int64_t E = st->E, k = st->k, t0 = b * MB_ROUTE_BLOCK;
    const int64_t t1 = t0 + MB_ROUTE_BLOCK < st->T ? t0 + MB_ROUTE_BLOCK : st->T;
    mb_avx_gemm_args g = {.M = t1 - t0, .a = {X + t0 * st->h, NULL}, .lda = {st->h, 0},
                          .alpha = 1.0f, .beta = 0.0f, .c = st->z + t0 * E, .ldc = E};
    mb_avx512_gemm_run(st->Wr, &g);
    double *psum = st->psum + b * E;
    int64_t *cnt = st->cnt + b * E;
    memset(psum, 0, sizeof(double) * (size_t)E);
    memset(cnt, 0, sizeof(int64_t) * (size_t)E);
    st->zsum[b] = 0.0;
    mb_route_block(st->z, t0, t1, E, k, &st->rt, st->p, NULL, psum, cnt, &st->zsum[b]);
    /* this block's rows of the dense combine matrix, while idx/w are still in L1 (empty
     * top-p slots skipped; the capacity, a global order, is applied after all blocks) */
    for (int64_t t = t0; t < t1; t++) {
        float *y = Y + t * E;
        memset(y, 0, sizeof(float) * (size_t)E);
        for (int64_t j = 0; j < k; j++)
            if (st->rt.idx[t * k + j] >= 0) y[st->rt.idx[t * k + j]] = st->rt.w[t * k + j];
    }
}

static mb_status rt_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                            mb_err *err)
{
    rt_st *st = p;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    #pragma omp parallel for schedule(static) if (st->nblk > 1)
    for (int64_t b = 0; b < st->nblk; b++)
        route_block(st, X, Y, b);
    mb_route_finish(&st->rt, st->nblk, st->zsum, st->psum, st->cnt);
    /* the capacity's drops combine nothing */
    if (st->rt.n_dropped)
        for (int64_t i = 0; i < st->T * st->k; i++)
            if (st->rt.dropped[i]) Y[(i / st->k) * st->E + st->rt.idx[i]] = 0.0f;
    /* info's routing buffer was checked against T, E, k by mb_check_io */
    return info ? mb_routing_copy(&st->rt, &info->routing, err) : MB_OK;
}

const mb_variant_ops mb_fused_avx512_router = { rt_prepare, rt_forward, rt_release };
#endif
