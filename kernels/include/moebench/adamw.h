/* The optimiser of a train step with opt=adamw (spec "Training step"): ONE AdamW update at
 * step 1 from zero moments, as torch.optim.AdamW (decoupled weight decay) with lr 1e-4, betas
 * 0.9 / 0.999, eps 1e-8, weight decay 0.01:
 *   m = (1-b1) g;  v = (1-b2) g^2;  w' = w (1 - lr wd) - (lr / (1-b1)) m / (sqrt(v / (1-b2)) + eps)
 * Elementwise and shared by every implementation, like the dropout mask; the naive reference is
 * checked against torch's AdamW in tests/test_ref_train_torch.c. Every step starts from zero
 * moments and the unchanged weights, so repeated timed steps compute the same update. */
#ifndef MOEBENCH_ADAMW_H
#define MOEBENCH_ADAMW_H

#include <stdint.h>

#define MB_ADAMW_LR 1e-4
#define MB_ADAMW_BETA1 0.9
#define MB_ADAMW_BETA2 0.999
#define MB_ADAMW_EPS 1e-8
#define MB_ADAMW_WD 0.01

/* In place: w[i] <- updated w[i]; m and v are written (not read): the fp32 moment buffers
 * (optimizer_bytes). */
void mb_adamw_step(float *w, const float *g, float *m, float *v, int64_t n);
/* The same into w_out (w_out may be w): the weights stay as they were. */
void mb_adamw_step_to(const float *w, float *w_out, const float *g, float *m, float *v, int64_t n);

#endif
