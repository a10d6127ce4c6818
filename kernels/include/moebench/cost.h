/* Cost model of every variant (spec Part 2, section 9): FLOPs (2 per multiply-add), compulsory
 * bytes (weights touched + X + Y once), weight bytes touched. Routed variants count the experts
 * actually hit: pass the per-expert token counts (or NULL to assume every expert is hit, which is
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

#endif
