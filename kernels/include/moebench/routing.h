/* Top-k routing shared by every routed variant (spec Part 1, "Routing"):
 * p = softmax over all E logits (fp32 logits, double accumulation); top-k by p, ties to the
 * lower expert index, listed in descending p; w = p[top-k] / sum(p[top-k]); per-expert counts;
 * L_aux = E * sum_e F_e P_e (F_e: fraction of tokens with e in their top-k; P_e: mean p_e;
 * balanced value k); z-loss = mean_t (logsumexp_e z_te)^2. */
#ifndef MOEBENCH_ROUTING_H
#define MOEBENCH_ROUTING_H

#include <stdint.h>
#include "moebench/error.h"

typedef struct {
    int64_t T, E, k;
    int32_t *idx;      /* [T*k] chosen experts of token t at idx[t*k .. t*k+k-1], descending p */
    float *w;          /* [T*k] renormalised weights, same order */
    int64_t *counts;   /* [E] tokens routed to each expert */
    double aux_loss;   /* L_aux */
    double z_loss;     /* mean_t lse_t^2 */
} mb_routing;

/* Allocates the arrays (mb_alloc) for T tokens, E experts, top-k. */
mb_status mb_routing_alloc(mb_routing *r, int64_t T, int64_t E, int64_t k, mb_err *err);
void mb_routing_free(mb_routing *r);

/* Softmax of n logits into p (double accumulation, max-subtracted); returns logsumexp. */
double mb_softmax(const float *z, int64_t n, float *p);

/* Top-k of p[0..n-1]: indices in descending p, ties to the lower index. */
void mb_topk(const float *p, int64_t n, int64_t k, int32_t *idx);

/* Full routing from logits z [T, E] (row-major). p_out [T*E] may be NULL (scratch used). */
mb_status mb_route(const float *z, int64_t T, int64_t E, int64_t k, mb_routing *r,
                   float *p_out, mb_err *err);

/* Largest count divided by the balanced count T*k/E (1.0 = perfectly balanced). */
double mb_routing_load_max(const mb_routing *r);

/* Token lists per expert, for grouped GEMMs: offsets[E+1] (prefix sums of counts), and for
 * each expert, ascending token ids tok[] and the slot (0..k-1) the expert has in that token's
 * list. tok and slot have T*k entries. */
void mb_routing_group(const mb_routing *r, int64_t *offsets, int32_t *tok, int32_t *slot);

#endif
