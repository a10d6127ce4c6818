/* The per-variant shape of a case (the shape column of moebench/variants.def): its weights
 * layout, their element count, its cost and its memory-estimate terms. Each variant defines its
 * mb_shape_<name> in its variant file, kernels/variants/var_<name>.c, next to its ops, so the
 * core files (weights.c, spec_validate.c, cost.c, mem_estimate.c) dispatch through the table
 * instead of switching over the variants. Private to kernels/. */
#ifndef MOEBENCH_CORE_VARIANT_SHAPE_H
#define MOEBENCH_CORE_VARIANT_SHAPE_H

#include <stdint.h>
#include "moebench/mem.h"
#include "moebench/spec.h"

/* ---- weights layout (weights.c) -------------------------------------------------------- */

/* One named weight: name, rank, shape; fan_in is the d_in its init is scaled by, 0 for its
 * last dimension (every weight but sparse_mlp shard=1's Wd); base: a frozen base weight (W, Wg,
 * Wu, Wd; sparse_mlp's experts), the weights wq= quantises (spec "Precision"). */
typedef struct {
    const char *name;
    int ndim;
    int64_t shape[3];
    double fan_in;
    int base;
} mb_wdesc;

/* Append a weight to d[n++] (the layout functions' locals d and n); the B forms mark a frozen
 * base weight. */
#define MB_W2(nm, a, b) d[n++] = (mb_wdesc){nm, 2, {a, b, 0}, 0, 0}
#define MB_W3(nm, a, b, c) d[n++] = (mb_wdesc){nm, 3, {a, b, c}, 0, 0}
#define MB_W2B(nm, a, b) d[n++] = (mb_wdesc){nm, 2, {a, b, 0}, 0, 1}
#define MB_W3B(nm, a, b, c) d[n++] = (mb_wdesc){nm, 3, {a, b, c}, 0, 1}

/* ---- element count (spec_validate.c): overflow-checked sums of products, -1 on overflow -- */

static inline int mb_madd(int64_t *acc, int64_t a, int64_t b)
{
    int64_t p;
    return mb_mul_i64(a, b, &p) || mb_add_i64(*acc, p, acc) ? -1 : 0;
}

static inline int mb_madd3(int64_t *acc, int64_t a, int64_t b, int64_t c)
{
    int64_t p;
    return mb_mul_i64(a, b, &p) || mb_madd(acc, p, c) ? -1 : 0;
}

static inline int mb_madd4(int64_t *acc, int64_t a, int64_t b, int64_t c, int64_t d)
{
    int64_t p;
    return mb_mul_i64(a, b, &p) || mb_madd3(acc, p, c, d) ? -1 : 0;
}

/* ---- cost (cost.c) --------------------------------------------------------------------- */

/* FLOPs, base weight elements touched, other weight elements touched; cost.c turns the
 * element counts into bytes at each storage type's size. frozen: the forward FLOPs through
 * frozen weights (spec "Training step"), which the backward repeats once (dX only) while the
 * trainable rest costs twice more (dX and dW); a variant with frozen FLOPs has its base weights
 * (wb) frozen, one without (sparse_mlp, router) trains all of them. */
typedef struct {
    double flops, wb, wr;
    double frozen;
} mb_cost_terms;

/* Experts with at least one token, or all E when counts are unknown. */
double mb_experts_hit(const mb_spec *s, const int64_t *counts);
/* (token, routed expert) assignments computed: the sum of counts (after the capacity drops,
 * top-p sets as chosen), or T*k without counts (the most a case can compute). Shared experts
 * are not in it (they take every token: T * shared). */
double mb_assignments(const mb_spec *s, const int64_t *counts);

/* ---- memory estimate (mem_estimate.c) -------------------------------------------------- */

/* Row padding of packed / fused buffers (avx512 GLU rows, oneDNN blocking), per token. */
#define MB_ROW_PAD_FLOATS 128

/* Checked accumulator: once an operation overflows (or sees a negative operand), it stays bad. */
typedef struct {
    int64_t v;
    int bad;
} mb_acc;

typedef struct {
    int64_t T, B, h, o, f, r, E, k, fe, out, tasks, te;
    int64_t shared;   /* shared experts (routing option) */
    /* bytes per element of the case's dtype: X, Y, R and the weights are stored in it (spec
     * "Precision"); workspace and scratch stay f32 / double (4 and 8 below) */
    int64_t el;
    mb_variant_id v;
} mb_mdims;

void mb_acc_add(mb_acc *a, int64_t x);
int64_t mb_acc_mul(mb_acc *a, int64_t x, int64_t y);   /* x * y, checked */
int64_t mb_acc_plus(mb_acc *a, int64_t x, int64_t y);  /* x + y, checked */
void mb_acc_add3(mb_acc *a, int64_t x, int64_t y, int64_t z);            /* a += x * y * z */
void mb_acc_add4(mb_acc *a, int64_t x, int64_t y, int64_t z, int64_t w); /* a += x*y*z*w */
/* Router buffers of the routed variants' optimised forms (mem_estimate.c). */
void mb_mem_router_ws(mb_acc *a, const mb_mdims *d);

/* ---- the shape column ------------------------------------------------------------------ */

typedef struct {
    /* The weights, in weights.h order, into d (at most MB_MAX_NAMED); returns their number. */
    int (*layout)(const mb_spec *s, mb_wdesc *d);
    /* Element count of those weights into *n (added to 0); -1 on overflow. Runs before
     * validation, so it must not assume the spec is valid. */
    int (*weight_elems)(const mb_spec *s, int64_t *n);
    /* The variant formula of mb_cost_of (spec Part 2, section 9). */
    void (*cost)(const mb_spec *s, const int64_t *counts, mb_cost_terms *c);
    /* The merged implementation's cost, NULL for a variant without a merged form (merge
     * column MB_MERGE_SKIP). */
    void (*merged_cost)(const mb_spec *s, const int64_t *counts, mb_cost_terms *c);
    /* Memory estimate: the frozen base weights' bytes (what merged replaces and what dominates
     * a packed copy); the forward workspace of the variant code and of the fused avx512 forms,
     * whichever is larger; the gate and up matrices the fused forms stack in a temporary (NULL
     * when they stack none); the merged weights and buffers (NULL without a merged form). */
    int64_t (*mem_base)(mb_acc *a, const mb_mdims *d);
    void (*mem_workspace)(mb_acc *a, const mb_mdims *d);
    void (*mem_stacked)(mb_acc *a, const mb_mdims *d);
    void (*mem_merged)(mb_acc *a, const mb_mdims *d);
    /* Checks of the variant's own keys beyond the shared ones of mb_spec_validate (NULL:
     * none); runs after the shape keys and routing were checked. */
    mb_status (*validate)(const mb_spec *s, mb_err *err);
    /* The longest reduction of the forward, for the comparison tolerance (compare.h); NULL: a
     * single linear over h (the LoRA middle r is never longer). */
    int64_t (*reduction_depth)(const mb_spec *s);
} mb_variant_shape;

/* One per variant, kernels/variants/var_<name>.c (the shape column): a missing one is a link
 * error. */
#define MB_VARIANT(ID, name, fields, summary, routed, inputs, gate, out, ref, ops, fused, merge, \
                   shape, ...)                                                                \
    extern const mb_variant_shape shape;
#include "moebench/variants.def"
#undef MB_VARIANT

/* The shape of variant v (NULL out of range). */
const mb_variant_shape *mb_variant_shape_of(mb_variant_id v);

#endif
