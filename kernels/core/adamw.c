/* One AdamW step from zero moments (moebench/adamw.h), in the operation order of
 * torch.optim.AdamW's single-tensor path, each element in double then rounded to fp32. */
#include <math.h>
#include "moebench/adamw.h"

void mb_adamw_step_to(const float *w, float *w_out, const float *g, float *m, float *v, int64_t n)
{
    const double step_size = MB_ADAMW_LR / (1.0 - MB_ADAMW_BETA1);    /* lr / bias_correction1 */
    const double bc2_sqrt = sqrt(1.0 - MB_ADAMW_BETA2);
    const double decay = 1.0 - MB_ADAMW_LR * MB_ADAMW_WD;
#pragma omp parallel for schedule(static) if (n >= (1 << 16))
    for (int64_t i = 0; i < n; i++) {
        const double gi = (double)g[i];
        const double mi = (1.0 - MB_ADAMW_BETA1) * gi;
        const double vi = (1.0 - MB_ADAMW_BETA2) * gi * gi;
        m[i] = (float)mi;
        v[i] = (float)vi;
        const double denom = sqrt(vi) / bc2_sqrt + MB_ADAMW_EPS;
        w_out[i] = (float)((double)w[i] * decay - step_size * mi / denom);
    }
}

void mb_adamw_step(float *w, const float *g, float *m, float *v, int64_t n)
{
    mb_adamw_step_to(w, w, g, m, v, n);
}
