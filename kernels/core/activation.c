/* Activations of the gated MLPs (spec Part 1): SiLU, GELU (exact erf form), ReLU. */
#include <math.h>
#include "moebench/activation.h"

double mb_act_apply(mb_act a, double x)
{
    switch (a) {
    case MB_ACT_GELU: return 0.5 * x * (1.0 + erf(x * M_SQRT1_2));
    case MB_ACT_RELU: return x > 0.0 ? x : 0.0;
    case MB_ACT_SILU:
    default: return x / (1.0 + exp(-x));
    }
}

float mb_act_applyf(mb_act a, float x)
{
    switch (a) {
    case MB_ACT_GELU: return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2));
    case MB_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case MB_ACT_SILU:
    default: return x / (1.0f + expf(-x));
    }
}

void mb_act_inplace(mb_act a, float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = mb_act_applyf(a, x[i]);
}
