/* Cost model (spec Part 2, section 9). FLOPs count 2 per multiply-add; elementwise work
 * (activations, scaling, gating products) is left out as negligible. Bytes are compulsory
 * traffic: every weight touched once plus X and Y once, each at the bytes per element of its
 * storage type (spec "Precision": the case's dtype; the base weights' wq, issue 15). */
#include <string.h>
#include "moebench/cost.h"

/* Bytes per element of the frozen base weights (W, Wg, Wu, Wd; sparse_mlp's experts): the
 * case's dtype until wq (issue 15) quantises them, when this returns wq's bits / 8. */
static double base_elem_bytes(const mb_spec *s)
{
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

/* Experts with at least one token, or all E when counts are unknown. */
static double experts_hit(const mb_spec *s, const int64_t *counts)
{
    if (!counts)
        return (double)s->E;
    int64_t n = 0;
    for (int64_t e = 0; e < s->E; e++)
        n += counts[e] > 0;
    return (double)n;
}

mb_cost mb_cost_of(const mb_spec *s, const int64_t *counts)
{
    double T = (double)mb_spec_T(s), B = (double)s->B, h = (double)s->h, o = (double)s->o,
           f = (double)s->f, r = (double)s->r, E = (double)s->E, k = (double)s->k;
    /* FLOPs, base weight elements touched, other weight elements touched */
    double flops = 0.0, wb = 0.0, wr = 0.0;
    switch (s->variant) {
    case MB_LORA:
        /* 2Tho base + 2Tr(h+o) adapter */
        flops = 2 * T * h * o + 2 * T * r * (h + o);
        wb = o * h;
        wr = r * (h + o);
        break;
    case MB_MLP_LORA:
        /* 6Thf base (gate, up, down) + 6Tr(h+f) for three adapters */
        flops = 6 * T * h * f + 6 * T * r * (h + f);
        wb = 3 * h * f;
        wr = 3 * r * (h + f);
        break;
    case MB_MOLORA:
        /* 2Tho base + 2ThE router + 2TEr(h+o): every expert sees every token (soft gate) */
        flops = 2 * T * h * o + 2 * T * h * E + 2 * T * E * r * (h + o);
        wb = o * h;
        wr = E * h + E * r * (h + o);
        break;
    case MB_MOELORA: {
        /* 2Tho base + 2Tr(h+o) (total rank r) + gate 2*B*te*E once per sequence */
        double te = (double)s->te;
        flops = 2 * T * h * o + 2 * T * r * (h + o) + 2 * B * te * E;
        /* Emb: only the looked-up rows are read, one per distinct task in the batch. The task
         * ids are not an input of the cost model, so this counts min(B, tasks+1): an upper
         * bound on the rows read (exact when every sequence has a different task). */
        double rows = B < (double)(s->tasks + 1) ? B : (double)(s->tasks + 1);
        wb = o * h;
        wr = r * (h + o) + rows * te + E * te;
        break;
    }
    case MB_MIXLORA: {
        /* router 2ThE + base MLP by share mode + LoRA 6kTr(h+f) over the k chosen experts */
        double base = s->share == MB_SHARE_NONE      ? 6 * k * T * h * f
                      : s->share == MB_SHARE_GATE_UP ? (4 + 2 * k) * T * h * f
                                                     : 6 * T * h * f;
        flops = 2 * T * h * E + base + 6 * k * T * r * (h + f);
        wb = 3 * h * f;
        wr = E * h + experts_hit(s, counts) * 3 * r * (h + f);
        break;
    }
    case MB_MOR1E:
        /* 2Tho base + 2Thr router + 2Thr (X A^T) + 2Tor (B); no alpha scaling */
        flops = 2 * T * h * o + 2 * T * h * r + 2 * T * h * r + 2 * T * o * r;
        wb = o * h;
        wr = 2 * r * h + o * r + 2;
        break;
    case MB_SPARSE_MLP: {
        /* router 2ThE + 6Tk h fe for the k experts of each token */
        double fe = (double)mb_spec_expert_width(s);
        flops = 2 * T * h * E + 6 * T * k * h * fe;
        wb = experts_hit(s, counts) * 3 * h * fe;
        wr = E * h;
        break;
    }
    case MB_ROUTER:
        flops = 2 * T * h * E;
        wr = E * h;
        break;
    case MB_VARIANT_COUNT:
        break;
    }
    mb_cost c;
    c.flops = flops;
    set_bytes(s, wb, wr, &c);
    return c;
}

/* The `merged` implementation (spec Part 1, "Merged weights"): the adapters are folded into the
 * frozen weights at prepare time, so the forward costs only the merged GEMMs. */
static int merged_cost(const mb_spec *s, const int64_t *counts, mb_cost *c)
{
    double T = (double)mb_spec_T(s), B = (double)s->B, h = (double)s->h, o = (double)s->o,
           f = (double)s->f, E = (double)s->E, k = (double)s->k;
    /* the merged weights W' = W + s B A are base weights (wq: issue 15 decides whether a
     * quantised W is merged in its dequantised form); the router is not */
    double flops = 0.0, wb = 0.0, wr = 0.0;
    switch (s->variant) {
    case MB_LORA:
        /* one GEMM with W' = W + s B A */
        flops = 2 * T * h * o;
        wb = o * h;
        break;
    case MB_MLP_LORA:
        /* the three merged projections */
        flops = 6 * T * h * f;
        wb = 3 * h * f;
        break;
    case MB_MOELORA: {
        /* one GEMM per row with its task's W'_task; one W' per distinct task in the batch,
         * at most min(B, tasks+1) (task ids are not an input of the cost model) */
        double tasks = B < (double)(s->tasks + 1) ? B : (double)(s->tasks + 1);
        flops = 2 * T * h * o;
        wb = tasks * o * h;
        break;
    }
    case MB_MIXLORA:
        /* a sparse_mlp with E full-width experts W + s B_e A_e: router 2ThE + 6kThf, and the
         * experts hit read whole (3hf each) */
        flops = 2 * T * h * E + 6 * k * T * h * f;
        wb = experts_hit(s, counts) * 3 * h * f;
        wr = E * h;
        break;
    case MB_MOLORA:   /* no merged form (the merge column of variants.def): skipped */
    case MB_MOR1E:
    case MB_SPARSE_MLP:
    case MB_ROUTER:
    case MB_VARIANT_COUNT:
        return 0;
    }
    c->flops = flops;
    set_bytes(s, wb, wr, c);
    return 1;
}

mb_cost mb_cost_of_impl(const mb_spec *s, const char *impl, const int64_t *counts)
{
    mb_cost c;
    if (impl && !strcmp(impl, "merged") && merged_cost(s, counts, &c))
        return c;
    return mb_cost_of(s, counts);
}
