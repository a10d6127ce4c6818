/* Top-k routing shared by mixlora, sparse_mlp and router (spec Part 1, "Routing"). */
#include <math.h>
#include <string.h>
#include "moebench/mem.h"
#include "moebench/routing.h"
#include "moebench/work.h"

mb_status mb_routing_alloc(mb_routing *r, int64_t T, int64_t E, int64_t k, mb_err *err)
{
    memset(r, 0, sizeof *r);
    int64_t tk;
    if (T < 1 || E < 1 || k < 1 || k > E || mb_mul_i64(T, k, &tk) || tk > INT32_MAX)
        return mb_fail(err, MB_EINVAL, "routing of T=%lld tokens, E=%lld experts, k=%lld is not "
                       "possible", (long long)T, (long long)E, (long long)k);
    r->T = T;
    r->E = E;
    r->k = k;
    r->idx = mb_alloc((size_t)tk * sizeof *r->idx);
    r->w = mb_alloc((size_t)tk * sizeof *r->w);
    r->counts = mb_alloc((size_t)E * sizeof *r->counts);
    /* mb_route's scratch: per block zsum, psum[E], counts[E], one p row[E] */
    int64_t nblk = mb_route_nblocks(T), per, sb;
    if (mb_mul_i64(E, (int64_t)(sizeof(double) + sizeof(int64_t) + sizeof(float)), &per) ||
        mb_add_i64(per, (int64_t)sizeof(double), &per) || mb_mul_i64(nblk, per, &sb)) {
        mb_routing_free(r);
        return mb_fail(err, MB_EINVAL, "routing scratch for T=%lld E=%lld overflows",
                       (long long)T, (long long)E);
    }
    r->scratch = mb_alloc((size_t)sb);
    if (!r->idx || !r->w || !r->counts || !r->scratch) {
        mb_routing_free(r);
        return mb_fail(err, MB_ENOMEM, "cannot allocate the routing of %lld tokens",
                       (long long)T);
    }
    return MB_OK;
}

void mb_routing_free(mb_routing *r)
{
    if (!r)
        return;
    mb_free(r->idx);
    mb_free(r->w);
    mb_free(r->counts);
    mb_free(r->scratch);
    r->scratch = NULL;
    r->idx = NULL;
    r->w = NULL;
    r->counts = NULL;
}

/* Up to this many logits the exponentials are kept in a stack buffer and computed once. */
#define MB_SOFTMAX_STACK 256

double mb_softmax(const float *z, int64_t n, float *p)
{
    double m = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (z[i] > m)
            m = z[i];
    double sum = 0.0;
    if (n <= MB_SOFTMAX_STACK) {
        double ex[MB_SOFTMAX_STACK];
        for (int64_t i = 0; i < n; i++)
            sum += ex[i] = exp((double)z[i] - m);
        for (int64_t i = 0; i < n; i++)
            p[i] = (float)(ex[i] / sum);
    } else {
        for (int64_t i = 0; i < n; i++)
            sum += exp((double)z[i] - m);
        for (int64_t i = 0; i < n; i++)
            p[i] = (float)(exp((double)z[i] - m) / sum);
    }
    return m + log(sum);
}

/* NaN sorts last, so every element has a place in the order and top-k always fills k slots. */
static inline float key_of(float v) { return isnan(v) ? -INFINITY : v; }

/* The total order of top-k: higher p first, then lower index. */
static inline int before(float pa, int64_t a, float pb, int64_t b)
{
    return pa > pb || (pa == pb && a < b);
}

void mb_topk(const float *p, int64_t n, int64_t k, int32_t *idx)
{
    /* k passes: each picks the best element strictly after the previous pick in the order.
     * O(n k) without scratch memory; k is small. */
    int64_t prev = -1;
    float prevp = INFINITY;
    for (int64_t j = 0; j < k; j++) {
        int64_t best = -1;
        float bestp = -INFINITY;
        for (int64_t i = 0; i < n; i++) {
            float pi = key_of(p[i]);
            if (prev >= 0 && !before(prevp, prev, pi, i))
                continue;
            if (best < 0 || before(pi, i, bestp, best)) {
                best = i;
                bestp = pi;
            }
        }
        idx[j] = (int32_t)best;
        prev = best;
        prevp = bestp;
    }
}

void mb_route_block(const float *z, int64_t t0, int64_t t1, int64_t E, int64_t k, mb_routing *r,
                    float *p_out, float *prow, double *psum, int64_t *counts, double *zsum)
{
    double zs = *zsum;
    for (int64_t t = t0; t < t1; t++) {
        float *p = p_out ? p_out + t * E : prow;
        double lse = mb_softmax(z + t * E, E, p);
        zs += lse * lse;
        for (int64_t e = 0; e < E; e++)
            psum[e] += p[e];
        int32_t *id = r->idx + t * k;
        mb_topk(p, E, k, id);
        double norm = 0.0;
        for (int64_t j = 0; j < k; j++)
            norm += p[id[j]];
        for (int64_t j = 0; j < k; j++) {
            r->w[t * k + j] = (float)(p[id[j]] / norm);
            counts[id[j]]++;
        }
    }
    *zsum = zs;
}

void mb_route_finish(mb_routing *r, int64_t nblk, const double *zsum, const double *psum,
                     const int64_t *counts)
{
    const int64_t T = r->T, E = r->E;
    /* L_aux = E * sum_e F_e P_e with F_e = counts_e / T and P_e = (sum_t p_te) / T. */
    double zs = 0.0, aux = 0.0;
    for (int64_t b = 0; b < nblk; b++)
        zs += zsum[b];
    for (int64_t e = 0; e < E; e++) {
        double pe = 0.0;
        int64_t c = 0;
        for (int64_t b = 0; b < nblk; b++) {
            pe += psum[b * E + e];
            c += counts[b * E + e];
        }
        r->counts[e] = c;
        aux += ((double)c / (double)T) * (pe / (double)T);
    }
    r->aux_loss = (double)E * aux;
    r->z_loss = zs / (double)T;
}

mb_status mb_route(const float *z, int64_t T, int64_t E, int64_t k, mb_routing *r,
                   float *p_out, mb_err *err)
{
    if (!r->idx || r->T != T || r->E != E || r->k != k)
        return mb_fail(err, MB_EINVAL, "routing buffers sized for T=%lld E=%lld k=%lld, asked for "
                       "T=%lld E=%lld k=%lld", (long long)r->T, (long long)r->E, (long long)r->k,
                       (long long)T, (long long)E, (long long)k);
    const int64_t nblk = mb_route_nblocks(T);
    /* Scratch: r's own (mb_routing_alloc), else the stack for small cases, else the heap (only
     * for a hand-filled mb_routing). */
    enum { STACK_E = 64 };
    double stack_zsum[1], stack_psum[STACK_E];
    int64_t stack_counts[STACK_E];
    float stack_prow[STACK_E];
    unsigned char *heap = NULL, *mem = r->scratch;
    double *zsum = stack_zsum, *psum = stack_psum;
    int64_t *cnt = stack_counts;
    float *prow = stack_prow;
    const size_t bytes = (size_t)nblk * (sizeof(double) +
                                         (size_t)E * (sizeof *psum + sizeof *cnt + sizeof *prow));
    if (!mem && (nblk > 1 || E > STACK_E)) {
        mem = heap = mb_alloc(bytes);
        if (!heap)
            return mb_fail(err, MB_ENOMEM, "cannot allocate routing scratch for T=%lld E=%lld",
                           (long long)T, (long long)E);
    }
    if (mem) {
        memset(mem, 0, bytes);
        zsum = (double *)mem;
        psum = zsum + nblk;
        cnt = (int64_t *)(psum + nblk * E);
        prow = (float *)(cnt + nblk * E);
    } else {
        memset(stack_zsum, 0, sizeof stack_zsum);
        memset(stack_psum, 0, sizeof stack_psum);
        memset(stack_counts, 0, sizeof stack_counts);
    }
#pragma omp parallel for schedule(static) if (nblk > 1)
    for (int64_t b = 0; b < nblk; b++) {
        int64_t t0 = b * MB_ROUTE_BLOCK, t1 = t0 + MB_ROUTE_BLOCK < T ? t0 + MB_ROUTE_BLOCK : T;
        mb_route_block(z, t0, t1, E, k, r, p_out, prow + b * E, psum + b * E, cnt + b * E,
                       zsum + b);
    }
    mb_route_finish(r, nblk, zsum, psum, cnt);
    mb_free(heap);
    return MB_OK;
}

mb_status mb_routing_copy(const mb_routing *src, mb_routing *dst, mb_err *err)
{
    if (!dst->idx)
        return MB_OK;
    if (dst->T != src->T || dst->E != src->E || dst->k != src->k)
        return mb_fail(err, MB_EINVAL, "routing buffer sized for T=%lld E=%lld k=%lld, the "
                       "routing has T=%lld E=%lld k=%lld", (long long)dst->T, (long long)dst->E,
                       (long long)dst->k, (long long)src->T, (long long)src->E, (long long)src->k);
    const size_t n = (size_t)(src->T * src->k);
    memcpy(dst->idx, src->idx, sizeof *dst->idx * n);
    if (dst->w)
        memcpy(dst->w, src->w, sizeof *dst->w * n);
    if (dst->counts)
        memcpy(dst->counts, src->counts, sizeof *dst->counts * (size_t)src->E);
    dst->aux_loss = src->aux_loss;
    dst->z_loss = src->z_loss;
    return MB_OK;
}

double mb_routing_load_max(const mb_routing *r)
{
    int64_t m = 0;
    for (int64_t e = 0; e < r->E; e++)
        if (r->counts[e] > m)
            m = r->counts[e];
    return (double)m * (double)r->E / ((double)r->T * (double)r->k);
}

void mb_routing_group(const mb_routing *r, int64_t *offsets, int32_t *tok, int32_t *slot)
{
    int64_t E = r->E, T = r->T, k = r->k;
    /* Counting sort by expert, counting from idx itself so it is right even when counts was
     * not filled. offsets[e] serves as expert e's write cursor, then is shifted back. */
    memset(offsets, 0, (size_t)(E + 1) * sizeof *offsets);
    for (int64_t i = 0; i < T * k; i++)
        offsets[r->idx[i] + 1]++;
    for (int64_t e = 0; e < E; e++)
        offsets[e + 1] += offsets[e];
    for (int64_t t = 0; t < T; t++)
        for (int64_t j = 0; j < k; j++) {
            int64_t pos = offsets[r->idx[t * k + j]]++;
            tok[pos] = (int32_t)t;
            slot[pos] = (int32_t)j;
        }
    for (int64_t e = E; e > 0; e--)
        offsets[e] = offsets[e - 1];
    offsets[0] = 0;
    int64_t hit = 0;
    for (int64_t e = 0; e < E; e++)
        hit += offsets[e + 1] > offsets[e];
    mb_work_add(MB_WORK_ROWS_ROUTED, T * k);
    mb_work_add(MB_WORK_EXPERTS_HIT, hit);
}
