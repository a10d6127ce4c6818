/* Helpers of the naive reference: checked weight lookup, double-accumulating dot products,
 * fp32 logits and the reference's own top-k routing (no call into core/routing.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ref.h"

const float *mb_ref_weight(const mb_weights *w, const char *name, int ndim, int64_t d0,
                           int64_t d1, int64_t d2, mb_err *err)
{
    const int64_t want[3] = { d0, d1, d2 };
    const mb_tensor *t = mb_weights_get(w, name);
    if (!t || !t->data) {
        mb_fail(err, MB_EINVAL, "naive: weight '%s' missing", name);
        return NULL;
    }
    if (t->dtype != MB_F32) {
        mb_fail(err, MB_EINVAL, "naive: weight '%s' is %s, want f32", name, mb_dtype_name(t->dtype));
        return NULL;
    }
    /* A 1-element weight (w_omega, w_beta) may arrive as [1] or [1,1] from loaders. */
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = t->shape[i] == want[i];
    if (!ok && mb_tensor_numel(t) == 1 && ndim == 1 && d0 == 1)
        ok = 1;
    if (!ok) {
        mb_fail(err, MB_EINVAL, "naive: weight '%s' has shape [%lld,%lld,%lld] (ndim %d), want "
                "[%lld,%lld,%lld] (ndim %d)", name, (long long)t->shape[0],
                (long long)(t->ndim > 1 ? t->shape[1] : 0), (long long)(t->ndim > 2 ? t->shape[2] : 0),
                t->ndim, (long long)d0, (long long)(ndim > 1 ? d1 : 0), (long long)(ndim > 2 ? d2 : 0),
                ndim);
        return NULL;
    }
    return (const float *)t->data;
}

mb_status mb_ref_check_io(const mb_spec *s, const mb_inputs *in, const mb_tensor *y,
                          const mb_forward_info *info, mb_err *err)
{
    /* The one shared shape check (core/io_check.c): it only reads shapes and ids, computes
     * nothing the comparisons look at. */
    mb_err e;
    mb_err_clear(&e);
    mb_status st = mb_check_io(s, in, y, info, &e);
    if (st != MB_OK)
        return mb_fail(err, st, "naive: %s", e.msg);
    return MB_OK;
}

/* Large dot-product batches also run in parallel over n: this only takes effect when the caller
 * is not already inside a parallel region (one token, T = 1), and every out[n] is still computed
 * by one thread in a fixed order, so results stay bit-identical on any thread count. */
#define MB_REF_PAR_MIN (1 << 16)

/* x . w over K elements, accumulated in double in index order: the one dot product of the
 * reference (linear layers, LoRA terms and logits all use it). */
static double ref_dot(const double *x, const float *w, int64_t K)
{
    double acc = 0.0;
    for (int64_t k = 0; k < K; k++)
        acc += x[k] * (double)w[k];
    return acc;
}

void mb_ref_linear(const double *x, int64_t K, const float *W, int64_t N, double *out)
{
#pragma omp parallel for schedule(static) if (N * K >= MB_REF_PAR_MIN)
    for (int64_t n = 0; n < N; n++)
        out[n] = ref_dot(x, W + n * K, K);
}

void mb_ref_linear_acc(const double *x, int64_t K, const float *W, int64_t N, double scale,
                       double *out)
{
#pragma omp parallel for schedule(static) if (N * K >= MB_REF_PAR_MIN)
    for (int64_t n = 0; n < N; n++)
        out[n] += scale * ref_dot(x, W + n * K, K);
}

void mb_ref_lora_acc(const double *x, int64_t K, const float *A, const float *B, int64_t r,
                     int64_t N, double scale, double *z, double *out)
{
    mb_ref_linear(x, K, A, r, z);              /* x A^T   [r] */
    mb_ref_linear_acc(z, r, B, N, scale, out); /* (x A^T) B^T */
}

void mb_ref_row(const float *src, int64_t n, double *dst)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = (double)src[i];
}

void mb_ref_logits(const double *x, int64_t K, const float *W, int64_t N, float *z)
{
    for (int64_t n = 0; n < N; n++)
        z[n] = (float)ref_dot(x, W + n * K, K);
}

double mb_ref_softmax(const float *z, int64_t n, double *p)
{
    double m = (double)z[0];
    for (int64_t i = 1; i < n; i++)
        if ((double)z[i] > m)
            m = (double)z[i];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        p[i] = exp((double)z[i] - m);
        sum += p[i];
    }
    for (int64_t i = 0; i < n; i++)
        p[i] /= sum;
    return m + log(sum);
}

/* ---- top-k routing, written from spec Part 1 without core's routing code ---- */

typedef struct {
    double p;
    int32_t e;
} ref_choice;

/* The order of the top-k: higher p first, ties to the lower expert index. A NaN p sorts after
 * every number so that each token still gets k experts. */
static int ref_choice_cmp(const void *a, const void *b)
{
    const ref_choice *x = a, *y = b;
    const int xn = isnan(x->p), yn = isnan(y->p);
    if (xn != yn)
        return xn ? 1 : -1;
    if (!xn && x->p != y->p)
        return x->p > y->p ? -1 : 1;
    return (x->e > y->e) - (x->e < y->e);
}

void mb_ref_routing_release(mb_routing *r)
{
    mb_free(r->idx);
    mb_free(r->w);
    mb_free(r->counts);
    memset(r, 0, sizeof *r);
}

/* Routes every token from its fp32 logits z [T, E]: p = softmax in double; sort all E experts by
 * (p desc, index asc) and keep the first k (descending p, the order routing.h asks for);
 * w = p / sum of the k chosen p; counts; L_aux = E * sum_e F_e P_e; z-loss = mean_t lse_t^2.
 * One plain sequential pass over the tokens, so the sums do not depend on the thread count. */
static mb_status ref_route_logits(const float *z, int64_t T, int64_t E, int64_t k, mb_routing *r,
                                  mb_err *err)
{
    double *p = mb_alloc(sizeof(double) * (size_t)(2 * E));
    ref_choice *ch = mb_alloc(sizeof(ref_choice) * (size_t)E);
    if (!p || !ch) {
        mb_free(p);
        mb_free(ch);
        return mb_fail(err, MB_ENOMEM, "naive: out of memory for routing scratch");
    }
    double *psum = p + E;   /* sum over tokens of p_te */
    double zsum = 0.0;      /* sum over tokens of lse_t^2 */
    for (int64_t e = 0; e < E; e++) {
        psum[e] = 0.0;
        r->counts[e] = 0;
    }
    for (int64_t t = 0; t < T; t++) {
        const double lse = mb_ref_softmax(z + t * E, E, p);
        zsum += lse * lse;
        for (int64_t e = 0; e < E; e++) {
            psum[e] += p[e];
            ch[e].p = p[e];
            ch[e].e = (int32_t)e;
        }
        qsort(ch, (size_t)E, sizeof *ch, ref_choice_cmp);
        double norm = 0.0;
        for (int64_t j = 0; j < k; j++)
            norm += ch[j].p;
        for (int64_t j = 0; j < k; j++) {
            r->idx[t * k + j] = ch[j].e;
            r->w[t * k + j] = (float)(ch[j].p / norm);
            r->counts[ch[j].e]++;
        }
    }
    double aux = 0.0;
    for (int64_t e = 0; e < E; e++) {
        const double F = (double)r->counts[e] / (double)T;   /* tokens with e in their top-k */
        const double P = psum[e] / (double)T;                /* mean router probability */
        aux += F * P;
    }
    r->aux_loss = (double)E * aux;
    r->z_loss = zsum / (double)T;
    mb_free(p);
    mb_free(ch);
    return MB_OK;
}

mb_status mb_ref_route(const mb_spec *s, const float *X, const float *Wr, mb_forward_info *info,
                       mb_routing *out, int *owned, mb_err *err)
{
    const int64_t T = mb_spec_T(s), E = s->E, h = s->h, k = s->k;
    *owned = 0;
    if (k < 1 || k > E)
        return mb_fail(err, MB_EINVAL, "naive: top-%lld of %lld experts", (long long)k,
                       (long long)E);
    if (info && info->routing.idx) {
        if (info->routing.T != T || info->routing.E != E || info->routing.k != k ||
            !info->routing.w || !info->routing.counts)
            return mb_fail(err, MB_EINVAL, "naive: info routing sized T=%lld E=%lld k=%lld, spec "
                           "wants T=%lld E=%lld k=%lld", (long long)info->routing.T,
                           (long long)info->routing.E, (long long)info->routing.k, (long long)T,
                           (long long)E, (long long)k);
        *out = info->routing;
    } else {
        memset(out, 0, sizeof *out);
        out->T = T;
        out->E = E;
        out->k = k;
        out->idx = mb_alloc(sizeof(int32_t) * (size_t)(T * k));
        out->w = mb_alloc(sizeof(float) * (size_t)(T * k));
        out->counts = mb_alloc(sizeof(int64_t) * (size_t)E);
        if (!out->idx || !out->w || !out->counts) {
            mb_ref_routing_release(out);
            return mb_fail(err, MB_ENOMEM, "naive: out of memory for the routing of %lld tokens",
                           (long long)T);
        }
        *owned = 1;
    }

    float *z = mb_alloc(sizeof(float) * (size_t)(T * E));
    int failed = 0;
    if (z) {
#pragma omp parallel if (T > 1)
        {
            double *x = mb_alloc(sizeof(double) * (size_t)h);
            if (!x) {
#pragma omp atomic write
                failed = 1;
            }
#pragma omp for schedule(static)
            for (int64_t t = 0; t < T; t++) {
                if (!x)
                    continue;
                mb_ref_row(X + t * h, h, x);
                mb_ref_logits(x, h, Wr, E, z + t * E);
            }
            mb_free(x);
        }
    }
    mb_status st = MB_OK;
    if (!z || failed)
        st = mb_fail(err, MB_ENOMEM, "naive: out of memory for router logits");
    else
        st = ref_route_logits(z, T, E, k, out, err);
    mb_free(z);
    if (st != MB_OK && *owned) {
        mb_ref_routing_release(out);
        *owned = 0;
    }
    if (st == MB_OK && info && info->routing.idx) {
        /* the arrays are the caller's; the scalars were written into our copy */
        info->routing.aux_loss = out->aux_loss;
        info->routing.z_loss = out->z_loss;
    }
    return st;
}

void mb_ref_sorted_choice(const mb_routing *r, int64_t t, int32_t *e_out, double *w_out)
{
    /* info->routing.idx lists a token's experts in descending p (routing.h); the spec
     * accumulates expert outputs in ascending expert index, so re-sort the k here. */
    const int64_t k = r->k;
    for (int64_t j = 0; j < k; j++) {
        int32_t e = r->idx[t * k + j];
        double wv = (double)r->w[t * k + j];
        int64_t i = j;
        while (i > 0 && e_out[i - 1] > e) {
            e_out[i] = e_out[i - 1];
            w_out[i] = w_out[i - 1];
            i--;
        }
        e_out[i] = e;
        w_out[i] = wv;
    }
}
