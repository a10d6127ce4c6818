/* Comparison against the naive reference (tolerance rule in compare.h and the README). */
#include <math.h>
#include "moebench/compare.h"

int64_t mb_reduction_depth(const mb_spec *s)
{
    int64_t h = s->h;
    switch (s->variant) {
    case MB_MLP_LORA:
    case MB_MIXLORA:
        return h > s->f ? h : s->f;      /* gate/up reduce over h, down over f */
    case MB_SPARSE_MLP: {
        int64_t fe = mb_spec_expert_width(s);
        return h > fe ? h : fe;
    }
    default:
        /* Single linears and the router reduce over h; the LoRA middle (r) is never longer. */
        return h > s->r || s->variant == MB_ROUTER ? h : s->r;
    }
}

void mb_tolerance(const mb_spec *s, double ref_rms, double *atol, double *rtol)
{
    double depth = (double)mb_reduction_depth(s);
    *rtol = 1e-4;
    *atol = 1e-4 * ref_rms * sqrt(depth / 64.0);
}

mb_cmp mb_compare(const mb_spec *s, const mb_tensor *y, const mb_tensor *ref)
{
    mb_cmp c = {0.0, 0.0, 0.0, 0.0, -1, 0};
    int64_t n = mb_tensor_numel(ref);
    if (y->dtype != MB_F32 || ref->dtype != MB_F32 || mb_tensor_numel(y) != n || n == 0) {
        c.first_bad = 0;
        c.max_abs_err = INFINITY;
        c.max_rel_err = INFINITY;
        return c;
    }
    const float *a = mb_f32(y), *b = mb_f32(ref);
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++)
        ss += (double)b[i] * b[i];
    double rms = sqrt(ss / (double)n);
    mb_tolerance(s, rms, &c.atol, &c.rtol);
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        double mag = fabs((double)b[i]);
        double rel = d / (mag > rms ? mag : (rms > 0 ? rms : 1.0));
        if (isnan(d)) {
            d = INFINITY;
            rel = INFINITY;
        }
        if (d > c.max_abs_err)
            c.max_abs_err = d;
        if (rel > c.max_rel_err)
            c.max_rel_err = rel;
        if (!(d <= c.atol + c.rtol * mag) && c.first_bad < 0)
            c.first_bad = i;
    }
    c.pass = c.first_bad < 0;
    return c;
}

int mb_routing_equal(const mb_routing *a, const mb_routing *b, int64_t *bad_token)
{
    if (bad_token)
        *bad_token = 0;
    if (!a->idx || !b->idx || a->T != b->T || a->E != b->E || a->k != b->k)
        return 1;
    const int64_t k = a->k;
    for (int64_t t = 0; t < a->T; t++)
        for (int64_t j = 0; j < k; j++) {
            const int64_t i = t * k + j;
            int bad = a->idx[i] != b->idx[i];
            if (!bad && a->w && b->w) {
                const double wa = a->w[i], wb = b->w[i];
                const double m = fabs(wa) > fabs(wb) ? fabs(wa) : fabs(wb);
                bad = !(fabs(wa - wb) <= MB_ROUTING_WTOL * m);
            }
            if (bad) {
                if (bad_token)
                    *bad_token = t;
                return 1;
            }
        }
    if (bad_token)
        *bad_token = -1;
    return 0;
}
