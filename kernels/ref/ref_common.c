/* Helpers of the naive reference: checked weight lookup, double-accumulating dot products,
 * fp32 logits and routing. */
#include <math.h>
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

mb_status mb_ref_check_io(const mb_spec *s, const mb_inputs *in, const mb_tensor *y, mb_err *err)
{
    const int64_t T = mb_spec_T(s), ow = mb_spec_out_width(s);
    const mb_tensor *X = &in->X;
    if (!X->data || X->dtype != MB_F32 || X->ndim != 2 || X->shape[0] != T || X->shape[1] != s->h)
        return mb_fail(err, MB_EINVAL, "naive: input X must be f32 [%lld, %lld]", (long long)T,
                       (long long)s->h);
    if (!y || !y->data || y->dtype != MB_F32 || y->ndim != 2 || y->shape[0] != T || y->shape[1] != ow)
        return mb_fail(err, MB_EINVAL, "naive: output y must be f32 [%lld, %lld]", (long long)T,
                       (long long)ow);
    return MB_OK;
}

/* Large dot-product batches also run in parallel over n: this only takes effect when the caller
 * is not already inside a parallel region (one token, T = 1), and every out[n] is still computed
 * by one thread in a fixed order, so results stay bit-identical on any thread count. */
#define MB_REF_PAR_MIN (1 << 16)

void mb_ref_linear(const double *x, int64_t K, const float *W, int64_t N, double *out)
{
#pragma omp parallel for schedule(static) if (N * K >= MB_REF_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        const float *wr = W + n * K;
        double acc = 0.0;
        for (int64_t k = 0; k < K; k++)
            acc += x[k] * (double)wr[k];
        out[n] = acc;
    }
}

void mb_ref_linear_acc(const double *x, int64_t K, const float *W, int64_t N, double scale,
                       double *out)
{
#pragma omp parallel for schedule(static) if (N * K >= MB_REF_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        const float *wr = W + n * K;
        double acc = 0.0;
        for (int64_t k = 0; k < K; k++)
            acc += x[k] * (double)wr[k];
        out[n] += scale * acc;
    }
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
    for (int64_t n = 0; n < N; n++) {
        const float *wr = W + n * K;
        double acc = 0.0;
        for (int64_t k = 0; k < K; k++)
            acc += x[k] * (double)wr[k];
        z[n] = (float)acc;
    }
}

void mb_ref_softmax(const float *z, int64_t n, double *p)
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
}

mb_status mb_ref_route(const mb_spec *s, const float *X, const float *Wr, mb_forward_info *info,
                       mb_routing *out, int *owned, mb_err *err)
{
    const int64_t T = mb_spec_T(s), E = s->E, h = s->h;
    *owned = 0;
    if (info && info->routing.idx) {
        if (info->routing.T != T || info->routing.E != E || info->routing.k != s->k)
            return mb_fail(err, MB_EINVAL, "naive: info routing sized T=%lld E=%lld k=%lld, spec "
                           "wants T=%lld E=%lld k=%lld", (long long)info->routing.T,
                           (long long)info->routing.E, (long long)info->routing.k, (long long)T,
                           (long long)E, (long long)s->k);
        *out = info->routing;
    } else {
        memset(out, 0, sizeof *out);
        mb_status st = mb_routing_alloc(out, T, E, s->k, err);
        if (st != MB_OK)
            return st;
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
        st = mb_route(z, T, E, s->k, out, NULL, err);
    mb_free(z);
    if (st != MB_OK && *owned) {
        mb_routing_free(out);
        *owned = 0;
    }
    if (st == MB_OK && info && info->routing.idx) {
        /* mb_route filled the caller's struct through our copy: copy the scalars back. */
        info->routing.aux_loss = out->aux_loss;
        info->routing.z_loss = out->z_loss;
    }
    return st;
}

void mb_ref_sorted_choice(const mb_routing *r, int64_t t, int32_t *e_out, double *w_out)
{
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
