/* Top-k routing shared by mixlora, sparse_mlp and router (spec Part 1, "Routing"). */
#include <math.h>
#include <string.h>
#include "moebench/mem.h"
#include "moebench/routing.h"
#include "moebench/work.h"
#include "moebench/tensor.h"

mb_route_opts mb_route_opts_of(const mb_spec *s)
{
    mb_route_opts o = {s->route, s->route_param, s->topp, s->cap, s->seed};
    return o;
}

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
    r->dropped = mb_alloc((size_t)tk);
    /* mb_route's scratch: per block zsum, psum[E], counts[E], one p row[E] */
    int64_t nblk = mb_route_nblocks(T), per, sb;
    if (mb_mul_i64(E, (int64_t)(sizeof(double) + sizeof(int64_t) + sizeof(float)), &per) ||
        mb_add_i64(per, (int64_t)sizeof(double), &per) || mb_mul_i64(nblk, per, &sb)) {
        mb_routing_free(r);
        return mb_fail(err, MB_EINVAL, "routing scratch for T=%lld E=%lld overflows",
                       (long long)T, (long long)E);
    }
    r->scratch = mb_alloc((size_t)sb);
    if (!r->idx || !r->w || !r->counts || !r->dropped || !r->scratch) {
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
    mb_free(r->dropped);
    mb_free(r->scratch);
    r->scratch = NULL;
    r->dropped = NULL;
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

/* route=zipf: k distinct experts, draw j from Zipf(S) over the experts not drawn before
 * (weights (e+1)^-S in ascending e), uniform draw t*k + j of the stream "route_zipf". */
static void zipf_choose(const mb_route_opts *o, int64_t t, int64_t E, int64_t k, int32_t *id)
{
    const uint64_t stream = mb_stream_of("route_zipf");
    for (int64_t j = 0; j < k; j++) {
        double total = 0.0;
        for (int64_t e = 0; e < E; e++) {
            int taken = 0;
            for (int64_t i = 0; i < j; i++)
                taken |= id[i] == e;
            if (!taken)
                total += pow((double)(e + 1), -o->param);
        }
        const double target = mb_rand_unit(o->seed, stream, (uint64_t)(t * k + j)) * total;
        double cum = 0.0;
        int64_t pick = -1;
        for (int64_t e = 0; e < E; e++) {
            int taken = 0;
            for (int64_t i = 0; i < j; i++)
                taken |= id[i] == e;
            if (taken)
                continue;
            pick = e;
            cum += pow((double)(e + 1), -o->param);
            if (target < cum)
                break;
        }
        id[j] = (int32_t)pick;
    }
}

/* The chosen set of token t into id[0..k) (slot order, -1 past a top-p set); its size. */
static int64_t choose(const mb_routing *r, int64_t t, const float *p, int32_t *id)
{
    const int64_t E = r->E, k = r->k;
    const mb_route_opts *o = &r->opts;
    switch (o->route) {
    case MB_ROUTE_BALANCED:
        for (int64_t j = 0; j < k; j++)
            id[j] = (int32_t)((t * k + j) % E);
        return k;
    case MB_ROUTE_ZIPF:
        zipf_choose(o, t, E, k, id);
        return k;
    case MB_ROUTE_HOT:
        if ((double)t < ceil(o->param * (double)r->T)) {
            /* expert 0, then the learned top-(k-1) of the others: the top-k without 0, so
             * the experts before 0 in it (or the first k-1 if 0 is not in it) move up a slot */
            mb_topk(p, E, k, id);
            int64_t q = k - 1;
            for (int64_t j = 0; j < k; j++)
                if (id[j] == 0)
                    q = j;
            memmove(id + 1, id, sizeof *id * (size_t)q);
            id[0] = 0;
            const int64_t n = k;
            return n;
        }
        break;
    case MB_ROUTE_LEARNED:
    case MB_ROUTE_COUNT:
        break;
    }
    mb_topk(p, E, k, id);
    if (o->topp > 0) {
        /* the smallest prefix in descending p whose cumulative p reaches topp */
        double cum = 0.0;
        int64_t n = 0;
        while (n < k) {
            cum += p[id[n++]];
            if (cum >= o->topp)
                break;
        }
        for (int64_t j = n; j < k; j++)
            id[j] = -1;
        return n;
    }
    return k;
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
        const int64_t n = choose(r, t, p, id);
        double norm = 0.0;
        for (int64_t j = 0; j < n; j++)
            norm += p[id[j]];
        for (int64_t j = 0; j < k; j++) {
            r->w[t * k + j] = j < n ? (float)(p[id[j]] / norm) : 0.0f;
            if (j < n)
                counts[id[j]]++;
        }
    }
    *zsum = zs;
}

/* The capacity (spec "Routing options"): C = ceil(cap*k*T/E) assignments per expert, slot by
 * slot (every first choice before any second choice), token by token within a slot. Sequential:
 * the priority is a global order. counts become what each expert computes. */
static void apply_capacity(mb_routing *r)
{
    const int64_t T = r->T, E = r->E, k = r->k;
    const int64_t C = (int64_t)ceil(r->opts.cap * (double)k * (double)T / (double)E);
    for (int64_t e = 0; e < E; e++)
        r->counts[e] = 0;
    r->n_dropped = 0;
    for (int64_t j = 0; j < k; j++)
        for (int64_t t = 0; t < T; t++) {
            const int64_t i = t * k + j;
            const int32_t e = r->idx[i];
            r->dropped[i] = 0;
            if (e < 0)
                continue;
            if (r->counts[e] < C) {
                r->counts[e]++;
            } else {
                r->dropped[i] = 1;
                r->n_dropped++;
            }
        }
}

void mb_route_finish(mb_routing *r, int64_t nblk, const double *zsum, const double *psum,
                     const int64_t *counts)
{
    const int64_t T = r->T, E = r->E;
    /* L_aux = E * sum_e F_e P_e with F_e = (chosen sets holding e) / T, before the capacity
     * drops anything (as GShard and Switch compute it), and P_e = (sum_t p_te) / T. */
    double zs = 0.0, aux = 0.0;
    int64_t chosen = 0;
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
        chosen += c;
        aux += ((double)c / (double)T) * (pe / (double)T);
    }
    r->aux_loss = (double)E * aux;
    r->z_loss = zs / (double)T;
    r->n_chosen = chosen;
    r->n_dropped = 0;
    if (r->opts.cap > 0 && r->dropped)
        apply_capacity(r);
    else if (r->dropped)
        memset(r->dropped, 0, (size_t)(T * r->k));
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
    if (dst->dropped) {
        if (src->dropped)
            memcpy(dst->dropped, src->dropped, n);
        else
            memset(dst->dropped, 0, n);
    }
    dst->n_dropped = src->n_dropped;
    dst->n_chosen = src->n_chosen;
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

double mb_routing_load_mean(const mb_routing *r)
{
    int64_t sum = 0;
    for (int64_t e = 0; e < r->E; e++)
        sum += r->counts[e];
    return (double)sum / ((double)r->T * (double)r->k);
}

void mb_routing_group(const mb_routing *r, int64_t *offsets, int32_t *tok, int32_t *slot)
{
    int64_t E = r->E, T = r->T, k = r->k;
    /* Counting sort by expert, counting from idx itself so it is right even when counts was
     * not filled. offsets[e] serves as expert e's write cursor, then is shifted back. Empty
     * top-p slots and dropped assignments are left out: nothing computes them. */
    memset(offsets, 0, (size_t)(E + 1) * sizeof *offsets);
    for (int64_t i = 0; i < T * k; i++)
        if (mb_routing_active(r, i))
            offsets[r->idx[i] + 1]++;
    for (int64_t e = 0; e < E; e++)
        offsets[e + 1] += offsets[e];
    for (int64_t t = 0; t < T; t++)
        for (int64_t j = 0; j < k; j++) {
            if (!mb_routing_active(r, t * k + j))
                continue;
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
