/* Top-k routing shared by every routed variant (spec Part 1, "Routing"):
 * p = softmax over all E logits (fp32 logits, double accumulation); top-k by p, ties to the
 * lower expert index, listed in descending p; w = p[top-k] / sum(p[top-k]); per-expert counts;
 * L_aux = E * sum_e F_e P_e (F_e: fraction of tokens with e in their top-k; P_e: mean p_e;
 * balanced value k); z-loss = mean_t (logsumexp_e z_te)^2. */
#ifndef MOEBENCH_ROUTING_H
#define MOEBENCH_ROUTING_H

#include <stdint.h>
#include "moebench/error.h"
#include "moebench/spec.h"

/* The routing options of a case (spec Part 1 "Routing options"); all zero = plain top-k. */
typedef struct {
    mb_route_kind route;   /* learned, balanced, zipf, hot */
    double param;          /* zipf's S, hot's F */
    double topp;           /* 0 = top-k; else the smallest set reaching topp, at most k */
    double cap;            /* capacity factor, 0 = dropless */
    uint64_t seed;         /* zipf's draws */
} mb_route_opts;

/* The options of spec s. */
mb_route_opts mb_route_opts_of(const mb_spec *s);

typedef struct {
    int64_t T, E, k;
    /* [T*k] chosen experts of token t at idx[t*k .. t*k+k-1]: learned and top-p in descending
     * p, balanced / zipf in their draw order, hot with expert 0 first. A top-p set smaller
     * than k leaves the remaining slots at -1 (weight 0). The slot is the capacity priority. */
    int32_t *idx;
    float *w;          /* [T*k] the router's p at the chosen experts renormalised over the set */
    uint8_t *dropped;  /* [T*k] 1 = dropped by the capacity (contributes nothing); may be NULL
                        * in a routing filled by hand (nothing dropped) */
    int64_t *counts;   /* [E] assignments each expert computes (after dropping) */
    int64_t n_dropped; /* assignments dropped by the capacity */
    int64_t n_chosen;  /* assignments chosen before dropping (sum of the set sizes) */
    double aux_loss;   /* L_aux, F_e from the chosen sets before dropping (spec Part 2 §8e) */
    double z_loss;     /* mean_t lse_t^2 */
    mb_route_opts opts;
    /* mb_route's per-block partial sums and p rows, sized for T, E by mb_routing_alloc (so a
     * forward that routes does not allocate); NULL when the struct was filled by hand. */
    void *scratch;
} mb_routing;

/* Tokens per routing block. The block partition is fixed (not per thread) and the block partial
 * sums are added in block order, so the losses are bit-identical on any thread count. */
#define MB_ROUTE_BLOCK 256
static inline int64_t mb_route_nblocks(int64_t T) { return (T + MB_ROUTE_BLOCK - 1) / MB_ROUTE_BLOCK; }

/* Allocates the arrays (mb_alloc) for T tokens, E experts, top-k, and mb_route's scratch.
 * opts start as plain top-k; set r->opts (mb_route_opts_of) for a case's routing options. */
mb_status mb_routing_alloc(mb_routing *r, int64_t T, int64_t E, int64_t k, mb_err *err);
void mb_routing_free(mb_routing *r);

/* Softmax of n logits into p (double accumulation, max-subtracted); returns logsumexp. */
double mb_softmax(const float *z, int64_t n, float *p);

/* Top-k of p[0..n-1]: indices in descending p, ties to the lower index. */
void mb_topk(const float *p, int64_t n, int64_t k, int32_t *idx);

/* Full routing from logits z [T, E] (row-major). p_out [T*E] may be NULL (scratch used).
 * Does not allocate when r came from mb_routing_alloc(T, E, k). */
mb_status mb_route(const float *z, int64_t T, int64_t E, int64_t k, mb_routing *r,
                   float *p_out, mb_err *err);

/* The two halves of mb_route, for kernels that compute the logits block by block (the fused
 * avx512 router): the single definition of routing.
 * mb_route_block routes tokens t0..t1-1 (a block of the MB_ROUTE_BLOCK partition; z and p_out
 * indexed by absolute token, p_out may be NULL, then prow [E] is the scratch row) into r->idx,
 * r->w, and ADDS the block's sums into psum [E], counts [E], *zsum (caller zeroes them).
 * mb_route_finish sums nblk blocks' partials (psum, counts [nblk*E], zsum [nblk]) in block order
 * into r->counts, r->aux_loss, r->z_loss. */
void mb_route_block(const float *z, int64_t t0, int64_t t1, int64_t E, int64_t k, mb_routing *r,
                    float *p_out, float *prow, double *psum, int64_t *counts, double *zsum);
void mb_route_finish(mb_routing *r, int64_t nblk, const double *zsum, const double *psum,
                     const int64_t *counts);

/* Copies idx, w, dropped, counts (each when dst has it), the totals and the losses of src into dst, when dst->idx is
 * non-NULL (a wanted routing); MB_EINVAL when dst is sized for another T, E or k. */
mb_status mb_routing_copy(const mb_routing *src, mb_routing *dst, mb_err *err);

/* Largest count divided by the balanced count T*k/E (1.0 = perfectly balanced). */
double mb_routing_load_max(const mb_routing *r);
/* Mean count in the same unit (1.0 unless assignments were dropped or top-p sets are smaller
 * than k); load imbalance = load_max / load_mean. */
double mb_routing_load_mean(const mb_routing *r);
/* 1 when slot i = t*k + j is computed: a chosen expert that was not dropped. */
static inline int mb_routing_active(const mb_routing *r, int64_t i)
{
    return r->idx[i] >= 0 && !(r->dropped && r->dropped[i]);
}

/* Token lists per expert, for grouped GEMMs: offsets[E+1] (prefix sums of counts), and for
 * each expert, ascending token ids tok[] and the slot (0..k-1) the expert has in that token's
 * list. tok and slot have T*k entries. Only active slots (mb_routing_active) are listed. */
void mb_routing_group(const mb_routing *r, int64_t *offsets, int32_t *tok, int32_t *slot);

#endif
