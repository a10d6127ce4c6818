/* Cost model (spec Part 2, section 9). FLOPs count 2 per multiply-add; elementwise work
 * (activations, scaling, gating products) is left out as negligible. Bytes are compulsory
 * traffic: every weight touched once plus X and Y once, each at the bytes per element of its
 * storage type (spec "Precision": the case's dtype; the base weights' wq levels and scales). */
#include <string.h>
#include "moebench/cost.h"
#include "variant_shape.h"

/* Bytes per element of the frozen base weights (W, Wg, Wu, Wd; sparse_mlp's experts): the
 * case's dtype, or under wq its levels plus their share of the f32 scales (spec "Precision"):
 * int8 1 byte + 4 bytes per row, int4 0.5 byte + 4 bytes per group of MB_WQ_GROUP. int8's
 * rows are taken h long (exact for W, Wg, Wu; Wd's rows are f long (f/E for sparse_mlp's
 * shard=1), so its scales are off by a factor h/f: under 0.1 % of its bytes at h >= 4096). */
static double base_elem_bytes(const mb_spec *s)
{
    if (s->wq == MB_I8)
        return 1.0 + 4.0 / (double)(s->h > 0 ? s->h : 1);
    if (s->wq == MB_I4)
        return 0.5 + 4.0 / MB_WQ_GROUP;
    return mb_dtype_bits(s->dtype) / 8.0;
}

/* Bytes per element of everything else: adapters, router, embeddings, X, Y. */
static double elem_bytes(const mb_spec *s)
{
    return mb_dtype_bits(s->dtype) / 8.0;
}

/* Weights touched (base and other elements) and X, Y once, at their element sizes. */
static void set_bytes(const mb_spec *s, double wbase, double wrest, mb_cost *c)
{
    double T = (double)mb_spec_T(s), eb = elem_bytes(s);
    c->weight_bytes = base_elem_bytes(s) * wbase + eb * wrest;
    c->bytes = c->weight_bytes + eb * (T * (double)s->h + T * (double)mb_spec_out_width(s));
    c->intensity = c->bytes > 0 ? c->flops / c->bytes : 0.0;
}

double mb_experts_hit(const mb_spec *s, const int64_t *counts)
{
    if (!counts)
        return (double)s->E;
    int64_t n = 0;
    for (int64_t e = 0; e < s->E; e++)
        n += counts[e] > 0;
    return (double)n;
}

double mb_assignments(const mb_spec *s, const int64_t *counts)
{
    if (!counts)
        return (double)mb_spec_T(s) * (double)s->k;
    int64_t n = 0;
    for (int64_t e = 0; e < s->E; e++)
        n += counts[e];
    return (double)n;
}

/* The variant formulas are its shape's cost functions (kernels/variants/var_<name>.c). */
mb_cost mb_cost_of(const mb_spec *s, const int64_t *counts)
{
    mb_cost_terms t = {0.0, 0.0, 0.0, 0.0};
    const mb_variant_shape *sh = mb_variant_shape_of(s->variant);
    if (sh)
        sh->cost(s, counts, &t);
    mb_cost c;
    c.flops = t.flops;
    set_bytes(s, t.wb, t.wr, &c);
    return c;
}

/* The `merged` implementation (spec Part 1, "Merged weights"): the adapters are folded into the
 * frozen weights at prepare time, so the forward costs only the merged GEMMs. The merged
 * weights W' = W + s B A are base weights (merged refuses wq: merging would requantise the
 * adapter away); the router is not. 0 for a variant without a merged form. */
static int merged_cost(const mb_spec *s, const int64_t *counts, mb_cost *c)
{
    mb_cost_terms t = {0.0, 0.0, 0.0, 0.0};
    const mb_variant_shape *sh = mb_variant_shape_of(s->variant);
    if (!sh || !sh->merged_cost)
        return 0;
    sh->merged_cost(s, counts, &t);
    c->flops = t.flops;
    set_bytes(s, t.wb, t.wr, c);
    return 1;
}

mb_cost mb_cost_of_impl(const mb_spec *s, const char *impl, const int64_t *counts)
{
    mb_cost c;
    if (impl && !strcmp(impl, "merged") && merged_cost(s, counts, &c))
        return c;
    return mb_cost_of(s, counts);
}

int64_t mb_trainable_elems(const mb_spec *s)
{
    const mb_variant_shape *sh = mb_variant_shape_of(s->variant);
    int64_t n = 0;
    if (!sh || sh->weight_elems(s, &n))
        return -1;
    mb_cost_terms t = {0.0, 0.0, 0.0, 0.0};
    sh->cost(s, NULL, &t);
    /* a variant with frozen FLOPs has its base weights frozen (variant_shape.h) */
    double frozen = t.frozen > 0 ? t.wb : 0.0;
    if (frozen > (double)n)
        return -1;
    return n - (int64_t)frozen;
}

mb_cost mb_cost_step(const mb_spec *s, const char *impl, const int64_t *counts)
{
    if (s->mode != MB_MODE_TRAIN)
        return mb_cost_of_impl(s, impl, counts);
    mb_cost_terms t = {0.0, 0.0, 0.0, 0.0};
    const mb_variant_shape *sh = mb_variant_shape_of(s->variant);
    if (sh)
        sh->cost(s, counts, &t);
    mb_cost c;
    c.flops = 2 * t.frozen + 3 * (t.flops - t.frozen);
    set_bytes(s, t.wb, t.wr, &c);
    double T = (double)mb_spec_T(s), eb = elem_bytes(s);
    /* dY read, dX written */
    c.bytes += eb * (T * (double)mb_spec_out_width(s) + T * (double)s->h);
    /* gradients of the trainable weights touched, f32 */
    double touched = t.wr + (t.frozen > 0 ? 0.0 : t.wb);
    c.bytes += 4.0 * touched;
    if (s->opt == MB_OPT_ADAMW)
        c.bytes += 7 * 4.0 * (double)mb_trainable_elems(s);
    c.intensity = c.bytes > 0 ? c.flops / c.bytes : 0.0;
    return c;
}
