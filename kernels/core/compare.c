/* Comparison against the naive reference (tolerance rule in compare.h and the README). */
#include <math.h>
#include <string.h>
#include "moebench/compare.h"
#include "variant_shape.h"

/* The variant's own depth (its shape's reduction_depth), else the single linear's. */
int64_t mb_reduction_depth(const mb_spec *s)
{
    const mb_variant_shape *sh = mb_variant_shape_of(s->variant);
    if (sh && sh->reduction_depth)
        return sh->reduction_depth(s);
    int64_t h = s->h;
    /* Single linears reduce over h; the LoRA middle (r) is never longer. */
    return h > s->r ? h : s->r;
}

/* The rules documented in compare.h, one row per dtype (rows left out: no rule). */
#define BF16_U 0x1p-8
static const mb_tol_rule rules[MB_DTYPE_COUNT] = {
    [MB_F32] = {1e-4, 1e-4},
    [MB_BF16] = {2 * BF16_U, 4 * BF16_U},
};

const mb_tol_rule *mb_tolerance_rule(mb_dtype dt)
{
    if ((unsigned)dt >= MB_DTYPE_COUNT || rules[dt].rtol <= 0)
        return NULL;
    return &rules[dt];
}

void mb_tolerance(const mb_spec *s, double ref_rms, double *atol, double *rtol)
{
    const mb_tol_rule *r = mb_tolerance_rule(s->dtype);
    double depth = (double)mb_reduction_depth(s);
    *rtol = r ? r->rtol : 0.0;
    *atol = r ? r->atol_rms * ref_rms * sqrt(depth / 64.0) : 0.0;
}

static float bf16_value(uint16_t v)
{
    uint32_t u = (uint32_t)v << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Element i as a double (f32 or bf16 tensors: the dtypes with a rule). */
static double value(const mb_tensor *t, int64_t i)
{
    if (t->dtype == MB_BF16)
        return (double)bf16_value(((const uint16_t *)t->data)[i]);
    return (double)((const float *)t->data)[i];
}

static mb_cmp compare_depth(const mb_spec *s, const mb_tensor *y, const mb_tensor *ref,
                            double depth, double scale);

mb_cmp mb_compare(const mb_spec *s, const mb_tensor *y, const mb_tensor *ref)
{
    return compare_depth(s, y, ref, (double)mb_reduction_depth(s), 1.0);
}

int64_t mb_grad_reduction_depth(const mb_spec *s)
{
    int64_t d = mb_reduction_depth(s), T = mb_spec_T(s);
    return d > T ? d : T;
}

mb_cmp mb_compare_grad(const mb_spec *s, const mb_tensor *g, const mb_tensor *ref)
{
    return compare_depth(s, g, ref, (double)mb_grad_reduction_depth(s), MB_GRAD_TOL_SCALE);
}

static mb_cmp compare_depth(const mb_spec *s, const mb_tensor *y, const mb_tensor *ref,
                            double depth, double scale)
{
    mb_cmp c = {0.0, 0.0, 0.0, 0.0, -1, 0};
    int64_t n = mb_tensor_numel(ref);
    if (y->dtype != ref->dtype || y->dtype != s->dtype || !mb_tolerance_rule(s->dtype) ||
        mb_tensor_numel(y) != n || n == 0) {
        c.first_bad = 0;
        c.max_abs_err = INFINITY;
        c.max_rel_err = INFINITY;
        return c;
    }
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double b = value(ref, i);
        ss += b * b;
    }
    double rms = sqrt(ss / (double)n);
    const mb_tol_rule *r = mb_tolerance_rule(s->dtype);
    c.rtol = scale * r->rtol;
    c.atol = scale * r->atol_rms * rms * sqrt(depth / 64.0);
    for (int64_t i = 0; i < n; i++) {
        double a = value(y, i), b = value(ref, i);
        double d = fabs(a - b);
        double mag = fabs(b);
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

/* Whether token t's routing differs between a and b (experts, drops, weights). */
static int token_differs(const mb_routing *a, const mb_routing *b, int64_t t)
{
    const int64_t k = a->k;
    for (int64_t j = 0; j < k; j++) {
        const int64_t i = t * k + j;
        int bad = a->idx[i] != b->idx[i] ||
                  (a->dropped && b->dropped && a->dropped[i] != b->dropped[i]);
        if (!bad && a->w && b->w) {
            const double wa = a->w[i], wb = b->w[i];
            const double m = fabs(wa) > fabs(wb) ? fabs(wa) : fabs(wb);
            bad = !(fabs(wa - wb) <= MB_ROUTING_WTOL * m);
        }
        if (bad)
            return 1;
    }
    return 0;
}

int mb_routing_equal_near(const mb_routing *a, const mb_routing *b, const uint8_t *near,
                          int64_t *near_ties, uint8_t *excused, int64_t *bad_token)
{
    if (near_ties)
        *near_ties = 0;
    if (bad_token)
        *bad_token = 0;
    if (!a->idx || !b->idx || a->T != b->T || a->E != b->E || a->k != b->k)
        return 1;
    int64_t n = 0, bad = -1;
    for (int64_t t = 0; t < a->T; t++) {
        if (excused)
            excused[t] = 0;
        if (!token_differs(a, b, t))
            continue;
        if (near && near[t]) {
            n++;
            if (excused)
                excused[t] = 1;
        } else if (bad < 0) {
            bad = t;
        }
    }
    if (near_ties)
        *near_ties = n;
    if (bad_token)
        *bad_token = bad;
    return bad >= 0;
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
            int bad = a->idx[i] != b->idx[i] ||
                      (a->dropped && b->dropped && a->dropped[i] != b->dropped[i]);
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
