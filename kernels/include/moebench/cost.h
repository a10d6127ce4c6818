/* Cost model of every variant (spec Part 2, section 9): FLOPs (2 per multiply-add), compulsory
 * bytes (weights touched + X + Y once), weight bytes touched. Bytes count each element at its
 * storage type's size (spec "Precision"): the case's dtype, so a bf16 case moves half the bytes
 * of its f32 twin; under wq the base weights count their levels (1 or 0.5 byte) plus their
 * f32 scales. Routed variants count the experts actually hit: pass the per-expert token counts (or NULL to assume every expert is hit, which is
 * also the prediction for T*k >= E with balanced routing). */
#ifndef MOEBENCH_COST_H
#define MOEBENCH_COST_H

#include <stdint.h>
#include "moebench/spec.h"

typedef struct {
    double flops;          /* forward FLOPs */
    double bytes;          /* compulsory DRAM traffic: weights touched + inputs + output */
    double weight_bytes;   /* weights touched */
    double intensity;      /* flops / bytes */
} mb_cost;

mb_cost mb_cost_of(const mb_spec *s, const int64_t *counts);

/* The cost of the forward as implementation `impl` computes it. "merged" folds the adapters into
 * the weights (spec Part 1, "Merged weights"): lora 2Tho and mlp_lora 6Thf FLOPs over the merged
 * weights; moelora 2Tho over one W' per task present (at most min(B, tasks+1)); mixlora a
 * sparse_mlp with E full experts, 2ThE + 6kThf, reading experts_hit x 3hf weights. Variants
 * without a merged form, and every other implementation, get mb_cost_of (the variant formula). */
mb_cost mb_cost_of_impl(const mb_spec *s, const char *impl, const int64_t *counts);

/* The cost of what a row times: the forward (mb_cost_of_impl) in forward mode; in train mode
 * the whole step (spec "Training step", Part 2 §1 and §9 "frozen base parts x2 of forward (dX
 * only), trainable parts x3"): FLOPs 2 x the forward's through frozen weights + 3 x the rest;
 * compulsory bytes: the forward's (weights touched, X, Y), plus dY read and dX written, the
 * gradients of the trainable weights touched written once (f32), and with opt=adamw 7 f32
 * accesses per trainable element (read parameter and gradient, read and write both moments,
 * write the parameter; weight decay touches every element, hit or not). Saved activations
 * are left out: what is kept depends on the implementation (it may recompute), and a kept
 * tensor that stays in cache costs no DRAM traffic. */
mb_cost mb_cost_step(const mb_spec *s, const char *impl, const int64_t *counts);

/* Elements of the trainable tensors of s (spec "Training step": the adapters, routers and
 * gates; every weight of sparse_mlp and router), all experts counted: the size of the
 * gradients and of each AdamW moment. -1 on overflow. */
int64_t mb_trainable_elems(const mb_spec *s);

#endif
