/* Helpers of the naive reference: checked weight lookup, double-accumulating dot products,
 * fp32 logits and the reference's own top-k routing (no call into core/routing.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ref.h"

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

/* Element k of row n of m as a double: exact for every storage type (bf16 widens exactly; a wq
 * level times its f32 scale has at most 7 + 24 significant bits). */
static double ref_elem(const mb_ref_mat *m, int64_t n, int64_t k)
{
    const int64_t row = m->row0 + n, i = row * m->K + k;
    switch (m->dt) {
    case MB_F32:
        return (double)((const float *)m->base)[i];
    case MB_BF16: {
        uint32_t u = (uint32_t)((const uint16_t *)m->base)[i] << 16;
        float f;
        memcpy(&f, &u, sizeof f);
        return (double)f;
    }
    case MB_I8:
    case MB_I4: {
        int q;
        if (m->dt == MB_I8) {
            q = ((const int8_t *)m->base)[i];
        } else {   /* two's complement nibbles, even elements low (moebench/quant.h) */
            unsigned b = ((const uint8_t *)m->base)[i / 2];
            unsigned nib = (i % 2 ? b >> 4 : b) & 0xfu;
            q = nib >= 8 ? (int)nib - 16 : (int)nib;
        }
        const int64_t g = k / (m->K / m->groups);
        return (double)q * (double)m->scale[row * m->groups + g];
    }
    case MB_I32:
    case MB_F16:
    case MB_DTYPE_COUNT:
        break;
    }
    return NAN;   /* mb_ref_wmat / mb_ref_tmat admit no other type */
}

/* x . (row n of W) over K elements, accumulated in double in index order: the one dot product
 * of the reference (linear layers, LoRA terms and logits all use it). */
static double ref_dot(const double *x, const mb_ref_mat *W, int64_t n, int64_t K)
{
    double acc = 0.0;
    if (W->dt == MB_F32) {   /* the common case without the per-element switch */
        const float *w = (const float *)W->base + (W->row0 + n) * W->K;
        for (int64_t k = 0; k < K; k++)
            acc += x[k] * (double)w[k];
        return acc;
    }
    /* the same elements as ref_elem, read a row at a time (the reference checks large cases) */
    const int64_t row = W->row0 + n, i0 = row * W->K;
    if (W->dt == MB_BF16) {
        const uint16_t *w = (const uint16_t *)W->base + i0;
        for (int64_t k = 0; k < K; k++) {
            const uint32_t u = (uint32_t)w[k] << 16;
            float f;
            memcpy(&f, &u, sizeof f);
            acc += x[k] * (double)f;
        }
        return acc;
    }
    if (W->dt == MB_I8) {   /* one scale per row */
        const int8_t *q = (const int8_t *)W->base + i0;
        const double sc = (double)W->scale[row];
        for (int64_t k = 0; k < K; k++)
            acc += x[k] * ((double)q[k] * sc);
        return acc;
    }
    if (W->dt == MB_I4) {   /* one scale per group of W->K / groups inputs */
        const uint8_t *q = (const uint8_t *)W->base;
        const int64_t gs = W->K / W->groups;
        for (int64_t k = 0; k < K; k++) {
            const int64_t i = i0 + k;
            const unsigned nib = (i % 2 ? q[i / 2] >> 4 : q[i / 2]) & 0xfu;
            const int v = nib >= 8 ? (int)nib - 16 : (int)nib;
            acc += x[k] * ((double)v * (double)W->scale[row * W->groups + k / gs]);
        }
        return acc;
    }
    for (int64_t k = 0; k < K; k++)
        acc += x[k] * ref_elem(W, n, k);
    return acc;
}

mb_ref_mat mb_ref_f32mat(const float *p, int64_t K)
{
    return (mb_ref_mat){ p, MB_F32, NULL, K, 1, 0 };
}

mb_ref_mat mb_ref_tmat(const mb_tensor *t, int64_t K)
{
    return (mb_ref_mat){ t->data, t->dtype, NULL, K, 1, 0 };
}

mb_ref_mat mb_ref_wmat(const mb_weights *w, const char *name, int ndim, int64_t d0, int64_t d1,
                       int64_t d2, mb_err *err)
{
    mb_ref_mat m = { NULL, MB_F32, NULL, 0, 1, 0 };
    const mb_tensor *t = mb_weights_get(w, name);
    if (!t || !t->data) {
        mb_fail(err, MB_EINVAL, "naive: weight '%s' missing", name);
        return m;
    }
    if (t->dtype != MB_F32 && t->dtype != MB_BF16 && t->dtype != MB_I8 && t->dtype != MB_I4) {
        mb_fail(err, MB_EINVAL, "naive: weight '%s' is %s, want f32, bf16, int8 or int4", name,
                mb_dtype_name(t->dtype));
        return m;
    }
    /* the shape check of the f32 lookup, on any type */
    const int64_t want[3] = { d0, d1, d2 };
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = t->shape[i] == want[i];
    if (!ok && mb_tensor_numel(t) == 1 && ndim == 1 && d0 == 1)
        ok = 1;
    if (!ok) {
        mb_fail(err, MB_EINVAL, "naive: weight '%s' does not have the shape [%lld,%lld,%lld] "
                "(ndim %d)", name, (long long)d0, (long long)d1, (long long)d2, ndim);
        return m;
    }
    m.dt = t->dtype;
    m.K = t->shape[t->ndim - 1];
    if (m.dt == MB_I8 || m.dt == MB_I4) {
        char sname[MB_NAME_LEN + 8];
        snprintf(sname, sizeof sname, "%s%s", name, MB_WQ_SCALE_SUFFIX);
        const mb_tensor *sc = mb_weights_get(w, sname);
        /* int8: one scale per row; int4: one per 64 inputs of a row (spec "Precision") */
        const int64_t groups = m.dt == MB_I8 ? 1 : m.K / MB_WQ_GROUP;
        if (!sc || sc->dtype != MB_F32 || groups < 1 || (m.dt == MB_I4 && m.K % MB_WQ_GROUP) ||
            mb_tensor_numel(sc) != mb_tensor_numel(t) / m.K * groups) {
            mb_fail(err, MB_EINVAL, "naive: quantised weight '%s' lacks f32 scales '%s' of %lld "
                    "per row", name, sname, (long long)groups);
            return m;
        }
        m.scale = mb_f32(sc);
        m.groups = groups;
    }
    m.base = t->data;
    return m;
}

const float *mb_ref_weight(const mb_weights *w, const char *name, int ndim, int64_t d0,
                           int64_t d1, int64_t d2, mb_err *err)
{
    mb_ref_mat m = mb_ref_wmat(w, name, ndim, d0, d1, d2, err);
    if (m.base && m.dt != MB_F32) {
        mb_fail(err, MB_EINVAL, "naive: weight '%s' is %s, want f32", name, mb_dtype_name(m.dt));
        return NULL;
    }
    return (const float *)m.base;
}

void mb_ref_mlinear(const double *x, int64_t K, mb_ref_mat W, int64_t N, double *out)
{
#pragma omp parallel for schedule(static) if (N * K >= MB_REF_PAR_MIN)
    for (int64_t n = 0; n < N; n++)
        out[n] = ref_dot(x, &W, n, K);
}

void mb_ref_mlinear_acc(const double *x, int64_t K, mb_ref_mat W, int64_t N, double scale,
                        double *out)
{
#pragma omp parallel for schedule(static) if (N * K >= MB_REF_PAR_MIN)
    for (int64_t n = 0; n < N; n++)
        out[n] += scale * ref_dot(x, &W, n, K);
}

void mb_ref_mlora_acc(const double *x, int64_t K, mb_ref_mat A, mb_ref_mat B,
                      int64_t r, int64_t N, double scale, double *z, double *out)
{
    mb_ref_mlinear(x, K, A, r, z);              /* x A^T   [r] */
    mb_ref_mlinear_acc(z, r, B, N, scale, out); /* (x A^T) B^T */
}

void mb_ref_mlogits(const double *x, int64_t K, mb_ref_mat W, int64_t N, float *z)
{
    for (int64_t n = 0; n < N; n++)
        z[n] = (float)ref_dot(x, &W, n, K);
}

void mb_ref_mrow(mb_ref_mat X, int64_t t, double *dst)
{
    for (int64_t i = 0; i < X.K; i++)
        dst[i] = ref_elem(&X, t, i);
}

/* The bf16 nearest to v, ties to even, rounded once from the double: scale v so that its 8
 * significant bits are the integer part and let nearbyint (ties to even in the default mode)
 * round; below the normal range the step stays at the subnormal one. */
static uint16_t ref_bf16(double v)
{
    if (isnan(v))
        return 0x7fc0;
    if (v != 0.0 && isfinite(v)) {
        int e = ilogb(v);
        if (e < -126)
            e = -126;
        const double step = ldexp(1.0, e - 7);
        v = nearbyint(v / step) * step;
        if (fabs(v) > 0x1.fep127)   /* past the largest bf16 */
            v = v > 0 ? INFINITY : -INFINITY;
    }
    float f = (float)v;   /* exact: v has at most 8 significant bits now */
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (uint16_t)(u >> 16);
}

void mb_ref_store_row(mb_tensor *y, int64_t t, const double *acc, int64_t n)
{
    if (y->dtype == MB_BF16) {
        uint16_t *Y = (uint16_t *)y->data + t * n;
        for (int64_t i = 0; i < n; i++)
            Y[i] = ref_bf16(acc[i]);
        return;
    }
    float *Y = mb_f32(y) + t * n;
    for (int64_t i = 0; i < n; i++)
        Y[i] = (float)acc[i];
}

void mb_ref_linear(const double *x, int64_t K, const float *W, int64_t N, double *out)
{
    const mb_ref_mat m = mb_ref_f32mat(W, K);
    mb_ref_mlinear(x, K, m, N, out);
}

void mb_ref_linear_acc(const double *x, int64_t K, const float *W, int64_t N, double scale,
                       double *out)
{
    const mb_ref_mat m = mb_ref_f32mat(W, K);
    mb_ref_mlinear_acc(x, K, m, N, scale, out);
}

void mb_ref_lora_acc(const double *x, int64_t K, const float *A, const float *B, int64_t r,
                     int64_t N, double scale, double *z, double *out)
{
    const mb_ref_mat a = mb_ref_f32mat(A, K), b = mb_ref_f32mat(B, r);
    mb_ref_mlora_acc(x, K, a, b, r, N, scale, z, out);
}

void mb_ref_row(const float *src, int64_t n, double *dst)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = (double)src[i];
}

void mb_ref_logits(const double *x, int64_t K, const float *W, int64_t N, float *z)
{
    const mb_ref_mat m = mb_ref_f32mat(W, K);
    mb_ref_mlogits(x, K, m, N, z);
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
    mb_free(r->dropped);
    mb_free(r->counts);
    memset(r, 0, sizeof *r);
}

/* The chosen set of token t (spec Part 1 "Routing" and "Routing options"), written into e[]
 * (slot order) with its size returned. ch holds all E experts sorted by (p desc, index asc). */
static int64_t ref_choose(const mb_spec *s, int64_t t, int64_t T, const ref_choice *ch,
                          int32_t *e, double *zipf_w, int *taken)
{
    const int64_t E = s->E, k = s->k;
    switch (s->route) {
    case MB_ROUTE_BALANCED:
        /* token t takes experts (t*k + j) mod E, j < k */
        for (int64_t j = 0; j < k; j++)
            e[j] = (int32_t)((t * k + j) % E);
        return k;
    case MB_ROUTE_ZIPF: {
        /* k distinct experts, each drawn from Zipf(S) over the experts not yet taken:
         * P(e) proportional to (e+1)^-S; draw j of token t is the counter t*k + j of the
         * stream "route_zipf" of the case seed */
        for (int64_t x = 0; x < E; x++) {
            taken[x] = 0;
            zipf_w[x] = pow((double)(x + 1), -s->route_param);
        }
        for (int64_t j = 0; j < k; j++) {
            double total = 0.0;
            for (int64_t x = 0; x < E; x++)
                if (!taken[x])
                    total += zipf_w[x];
            const double target =
                mb_rand_unit(s->seed, mb_stream_of("route_zipf"), (uint64_t)(t * k + j)) * total;
            double cum = 0.0;
            int64_t pick = -1;
            for (int64_t x = 0; x < E; x++) {
                if (taken[x])
                    continue;
                pick = x;   /* the last one left if rounding leaves target past the sum */
                cum += zipf_w[x];
                if (target < cum)
                    break;
            }
            taken[pick] = 1;
            e[j] = (int32_t)pick;
        }
        return k;
    }
    case MB_ROUTE_HOT: {
        const int64_t hot = (int64_t)ceil(s->route_param * (double)T);
        if (t < hot) {
            /* expert 0, then the learned top-(k-1) of the other experts */
            int64_t n = 0;
            e[n++] = 0;
            for (int64_t x = 0; x < E && n < k; x++)
                if (ch[x].e != 0)
                    e[n++] = ch[x].e;
            return n;
        }
        break;
    }
    case MB_ROUTE_LEARNED:
    case MB_ROUTE_COUNT:
        break;
    }
    if (s->topp > 0) {
        /* the smallest prefix of the sorted experts whose p adds up to topp, at most k */
        double cum = 0.0;
        int64_t n = 0;
        while (n < k) {
            e[n] = ch[n].e;
            cum += ch[n].p;
            n++;
            if (cum >= s->topp)
                break;
        }
        return n;
    }
    for (int64_t j = 0; j < k; j++)
        e[j] = ch[j].e;
    return k;
}

/* Routes every token from its fp32 logits z [T, E]: p = softmax in double; sort all E experts by
 * (p desc, index asc); the chosen set by the routing options (ref_choose); w = p / sum of the
 * chosen p; L_aux = E * sum_e F_e P_e with F_e from the chosen sets; z-loss = mean_t lse_t^2.
 * Then the capacity C = ceil(cap*k*T/E): slot by slot (every first choice before any second
 * choice), token by token, an expert that already holds C assignments drops the next; counts
 * are what each expert computes. One plain sequential pass over the tokens, so the sums do
 * not depend on the thread count. */
static mb_status ref_route_logits(const mb_spec *s, const float *z, int64_t T, mb_routing *r,
                                  mb_err *err)
{
    const int64_t E = s->E, k = s->k;
    double *p = mb_alloc(sizeof(double) * (size_t)(3 * E));
    ref_choice *ch = mb_alloc(sizeof(ref_choice) * (size_t)E);
    int32_t *sel = mb_alloc(sizeof(int32_t) * (size_t)k);
    int *taken = mb_alloc(sizeof(int) * (size_t)E);
    int64_t *chosen = mb_alloc(sizeof(int64_t) * (size_t)E);
    if (!p || !ch || !sel || !taken || !chosen) {
        mb_free(p);
        mb_free(ch);
        mb_free(sel);
        mb_free(taken);
        mb_free(chosen);
        return mb_fail(err, MB_ENOMEM, "naive: out of memory for routing scratch");
    }
    double *psum = p + E;      /* sum over tokens of p_te */
    double *zipf_w = p + 2 * E;
    double zsum = 0.0;         /* sum over tokens of lse_t^2 */
    int64_t n_chosen = 0;
    for (int64_t e = 0; e < E; e++) {
        psum[e] = 0.0;
        chosen[e] = 0;
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
        const int64_t n = ref_choose(s, t, T, ch, sel, zipf_w, taken);
        double norm = 0.0;
        for (int64_t j = 0; j < n; j++)
            norm += p[sel[j]];
        for (int64_t j = 0; j < k; j++) {
            r->idx[t * k + j] = j < n ? sel[j] : -1;
            r->w[t * k + j] = j < n ? (float)(p[sel[j]] / norm) : 0.0f;
            if (r->dropped)
                r->dropped[t * k + j] = 0;
        }
        for (int64_t j = 0; j < n; j++)
            chosen[sel[j]]++;
        n_chosen += n;
    }
    double aux = 0.0;
    for (int64_t e = 0; e < E; e++) {
        const double F = (double)chosen[e] / (double)T;   /* tokens with e in their set */
        const double P = psum[e] / (double)T;             /* mean router probability */
        aux += F * P;
    }
    r->aux_loss = (double)E * aux;
    r->z_loss = zsum / (double)T;
    r->n_chosen = n_chosen;
    r->n_dropped = 0;
    if (s->cap > 0) {
        const int64_t C = (int64_t)ceil(s->cap * (double)k * (double)T / (double)E);
        for (int64_t e = 0; e < E; e++)
            r->counts[e] = 0;
        for (int64_t j = 0; j < k; j++)
            for (int64_t t = 0; t < T; t++) {
                const int32_t e = r->idx[t * k + j];
                if (e < 0)
                    continue;
                if (r->counts[e] < C) {
                    r->counts[e]++;
                } else {
                    r->dropped[t * k + j] = 1;
                    r->n_dropped++;
                }
            }
    } else {
        for (int64_t e = 0; e < E; e++)
            r->counts[e] = chosen[e];
    }
    mb_free(p);
    mb_free(ch);
    mb_free(sel);
    mb_free(taken);
    mb_free(chosen);
    return MB_OK;
}

mb_status mb_ref_route(const mb_spec *s, const float *X, const float *Wr, mb_forward_info *info,
                       mb_routing *out, int *owned, mb_err *err)
{
    const mb_ref_mat x = mb_ref_f32mat(X, s->h), wr = mb_ref_f32mat(Wr, s->h);
    return mb_ref_mroute(s, x, wr, info, out, owned, err);
}

mb_status mb_ref_mroute(const mb_spec *s, mb_ref_mat X, mb_ref_mat Wr,
                        mb_forward_info *info, mb_routing *out, int *owned, mb_err *err)
{
    const int64_t T = mb_spec_T(s), E = s->E, h = s->h, k = s->k;
    *owned = 0;
    if (k < 1 || k > E)
        return mb_fail(err, MB_EINVAL, "naive: top-%lld of %lld experts", (long long)k,
                       (long long)E);
    if (info && info->routing.idx && info->routing_given) {
        *out = info->routing;   /* routed within the whole case (impl.h) */
        return info->routing.T == T && info->routing.k == k && info->routing.E == E
                   ? MB_OK
                   : mb_fail(err, MB_EINVAL, "naive: the given routing has T=%lld E=%lld k=%lld, "
                             "spec wants T=%lld", (long long)info->routing.T,
                             (long long)info->routing.E, (long long)info->routing.k, (long long)T);
    }
    if (info && info->routing.idx) {
        if (info->routing.T != T || info->routing.E != E || info->routing.k != k ||
            !info->routing.w || !info->routing.counts || (s->cap > 0 && !info->routing.dropped))
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
        out->dropped = mb_alloc((size_t)(T * k));
        if (!out->idx || !out->w || !out->counts || !out->dropped) {
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
                mb_ref_mrow(X, t, x);
                mb_ref_mlogits(x, h, Wr, E, z + t * E);
            }
            mb_free(x);
        }
    }
    mb_status st = MB_OK;
    if (!z || failed)
        st = mb_fail(err, MB_ENOMEM, "naive: out of memory for router logits");
    else
        st = ref_route_logits(s, z, T, out, err);
    mb_free(z);
    if (st != MB_OK && *owned) {
        mb_ref_routing_release(out);
        *owned = 0;
    }
    if (st == MB_OK && info && info->routing.idx) {
        /* the arrays are the caller's; the scalars were written into our copy */
        info->routing.aux_loss = out->aux_loss;
        info->routing.z_loss = out->z_loss;
        info->routing.n_dropped = out->n_dropped;
        info->routing.n_chosen = out->n_chosen;
    }
    return st;
}

int64_t mb_ref_sorted_choice(const mb_routing *r, int64_t t, int32_t *e_out, double *w_out)
{
    /* info->routing.idx lists a token's experts in slot order (routing.h); the spec
     * accumulates expert outputs in ascending expert index, so re-sort them here. Slots past
     * a top-p set (-1) and assignments dropped by the capacity contribute nothing. */
    const int64_t k = r->k;
    int64_t n = 0;
    for (int64_t j = 0; j < k; j++) {
        int32_t e = r->idx[t * k + j];
        if (e < 0 || (r->dropped && r->dropped[t * k + j]))
            continue;
        double wv = (double)r->w[t * k + j];
        int64_t i = n++;
        while (i > 0 && e_out[i - 1] > e) {
            e_out[i] = e_out[i - 1];
            w_out[i] = w_out[i - 1];
            i--;
        }
        e_out[i] = e;
        w_out[i] = wv;
    }
    return n;
}
