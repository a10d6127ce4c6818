/* Activations: SiLU x*sigmoid(x), GELU erf form 0.5x(1+erf(x/sqrt2)), ReLU. */
#ifndef MOEBENCH_ACTIVATION_H
#define MOEBENCH_ACTIVATION_H

#include <stdint.h>
#include "moebench/spec.h"

double mb_act_apply(mb_act a, double x);
float mb_act_applyf(mb_act a, float x);
/* In place over n floats. */
void mb_act_inplace(mb_act a, float *x, int64_t n);

#endif
