/* The reference oracle (see reference_check.h): the naive output of a case, whole or on
 * sampled rows, and the verdict of an implementation's output against it. */
#include "reference_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moebench/moebench.h"

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* First and last row plus seeded distinct random rows, ascending. */
static void pick_rows(int64_t T, uint64_t seed, int64_t want, int64_t *rows, int64_t *n)
{
    if (want > T)
        want = T;
    int64_t k = 0;
    if (want == T) {   /* every row */
        for (; k < T; k++)
            rows[k] = k;
        *n = k;
        return;
    }
    rows[k++] = 0;
    if (want > 1)
        rows[k++] = T - 1;
    uint64_t st = seed ^ 0x5eed5a3b1e5ull;
    while (k < want) {
        st = mix64(st);
        int64_t r = (int64_t)(st % (uint64_t)T);
        int dup = 0;
        for (int64_t i = 0; i < k; i++)
            dup |= rows[i] == r;
        if (!dup)
            rows[k++] = r;
    }
    qsort(rows, (size_t)k, sizeof *rows, cmp_i64);
    *n = k;
}

/* Inputs of the sub-case: the sampled rows of X, and the per-sequence task / R of the
 * sequence each row belongs to (each sampled row becomes a sequence of one token). */
mb_status mb_reference_sub_inputs(const mb_spec *s, const mb_inputs *in, const mb_reference *ref,
                            mb_inputs *out, mb_err *err)
{
    mb_status st = mb_inputs_create(&ref->sub, out, err);
    if (st)
        return st;
    const int64_t h = s->h;
    const size_t el = mb_dtype_size(in->X.dtype);   /* X and R in the case's dtype */
    for (int64_t i = 0; i < ref->nrows; i++) {
        int64_t t = ref->rows[i], b = t / s->S;
        memcpy((char *)out->X.data + (size_t)(i * h) * el, (const char *)in->X.data + (size_t)(t * h) * el,
               (size_t)h * el);
        if (in->task.data && out->task.data)
            mb_i32(&out->task)[i] = mb_i32(&in->task)[b];
        if (in->R.data && out->R.data) {
            int64_t w = in->R.shape[1];
            memcpy((char *)out->R.data + (size_t)(i * w) * el,
                   (const char *)in->R.data + (size_t)(b * w) * el, (size_t)w * el);
        }
    }
    return MB_OK;
}

/* The routing of the sampled rows routed within the whole case, into ref->info.routing (sized
 * for the sub-case): the naive router of the same case, then rows[] copied. For routing
 * options that are not row-wise (capacity, route=balanced|zipf|hot). */
static mb_status sampled_routing(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                                 mb_reference *ref, mb_err *err)
{
    mb_spec rs = *s;
    rs.variant = MB_ROUTER;
    rs.shared = 0;   /* the router alone has no experts to share */
    mb_tensor yr;
    mb_forward_info full;
    memset(&yr, 0, sizeof yr);
    memset(&full, 0, sizeof full);
    mb_status st;
    if (!(st = mb_output_alloc(&rs, &yr, err)) && !(st = mb_forward_info_alloc(&rs, &full, err)))
        st = mb_run_once(mb_impl_find("naive"), &rs, w, in, &yr, &full, err);
    if (st == MB_OK) {
        mb_routing *r = &ref->info.routing;
        const int64_t k = s->k;
        for (int64_t i = 0; i < ref->nrows; i++) {
            const int64_t t = ref->rows[i];
            memcpy(r->idx + i * k, full.routing.idx + t * k, sizeof *r->idx * (size_t)k);
            memcpy(r->w + i * k, full.routing.w + t * k, sizeof *r->w * (size_t)k);
            memcpy(r->dropped + i * k, full.routing.dropped + t * k, (size_t)k);
        }
        /* the counts and losses of the whole case */
        memcpy(r->counts, full.routing.counts, sizeof *r->counts * (size_t)s->E);
        r->aux_loss = full.routing.aux_loss;
        r->z_loss = full.routing.z_loss;
        r->n_dropped = full.routing.n_dropped;
        r->n_chosen = full.routing.n_chosen;
        ref->info.routing_given = 1;
    }
    mb_tensor_free(&yr);
    mb_forward_info_free(&full);
    return st;
}

/* The naive forward of s; a train case's forward without its dropout (mode=train checks Y of
 * forward_train against the train reference, train_exec.c; this one serves its rows when
 * p == 0, where both are the same). */
static mb_status run_forward(const mb_impl *naive, const mb_spec *s, const mb_weights *w,
                             const mb_inputs *in, mb_tensor *y, mb_forward_info *info, mb_err *err)
{
    mb_spec f = *s;
    f.mode = MB_MODE_FORWARD;
    f.p = 0;
    f.opt = MB_OPT_NONE;
    f.aux = mb_default_aux(s->variant);
    f.zloss = 0;
    return mb_run_once(naive, &f, w, in, y, info, err);
}

/* The near ties of the reference's rows (routed variants; each row is routed on its own logits,
 * so the sub-case's rows give the sampled rows' flags). */
static mb_status near_ties(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                           mb_reference *ref, mb_err *err)
{
    if (!mb_variant_routed(s->variant))
        return MB_OK;
    ref->near = malloc((size_t)mb_spec_T(s));
    if (!ref->near)
        return mb_fail(err, MB_ENOMEM, "cannot allocate %lld near-tie flags",
                       (long long)mb_spec_T(s));
    return mb_routing_near_ties(s, w, in, ref->near, err);
}

int mb_reference_sampled_by_default(const mb_spec *s)
{
    return mb_cost_of(s, NULL).flops > MB_NAIVE_FULL_FLOPS && mb_spec_T(s) > MB_REF_SAMPLE_ROWS;
}

mb_status mb_reference_build(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                             int64_t sample_rows, mb_reference *ref, mb_err *err)
{
    memset(ref, 0, sizeof *ref);
    const mb_impl *naive = mb_impl_find("naive");
    if (!naive)
        return mb_fail(err, MB_EINTERNAL, "no naive implementation registered");
    ref->sub = *s;
    mb_status st;
    if (sample_rows < 0)
        sample_rows = mb_reference_sampled_by_default(s) ? MB_REF_SAMPLE_ROWS : 0;
    if (sample_rows > 0) {
        int64_t T = mb_spec_T(s);
        ref->sampled = 1;
        ref->rows = malloc((size_t)(sample_rows < T ? sample_rows : T) * sizeof *ref->rows);
        if (!ref->rows)
            return mb_fail(err, MB_ENOMEM, "cannot allocate %lld row ids", (long long)sample_rows);
        pick_rows(T, s->seed, sample_rows, ref->rows, &ref->nrows);
        /* B = rows, S = 1 (set the fields directly: mb_spec_set would reconcile T) */
        ref->sub.B = ref->nrows;
        ref->sub.S = 1;
        mb_inputs sin;
        memset(&sin, 0, sizeof sin);
        if ((st = mb_reference_sub_inputs(s, in, ref, &sin, err)) ||
            (st = mb_output_alloc(&ref->sub, &ref->y, err)) ||
            (st = mb_forward_info_alloc(&ref->sub, &ref->info, err)) ||
            (mb_variant_routed(s->variant) && (s->cap > 0 || s->route != MB_ROUTE_LEARNED) &&
             (st = sampled_routing(s, w, in, ref, err))) ||
            (st = run_forward(naive, &ref->sub, w, &sin, &ref->y, &ref->info, err)) ||
            (st = near_ties(&ref->sub, w, &sin, ref, err))) {
            mb_inputs_free(&sin);
            return st;
        }
        mb_inputs_free(&sin);
        return MB_OK;
    }
    ref->nrows = mb_spec_T(s);
    if ((st = mb_output_alloc(s, &ref->y, err)) ||
        (st = mb_forward_info_alloc(s, &ref->info, err)) ||
        (st = run_forward(naive, s, w, in, &ref->y, &ref->info, err)))
        return st;
    return near_ties(s, w, in, ref, err);
}

void mb_reference_free(mb_reference *ref)
{
    mb_tensor_free(&ref->y);
    mb_forward_info_free(&ref->info);
    free(ref->rows);
    ref->rows = NULL;
    free(ref->near);
    ref->near = NULL;
}

int mb_reference_check(const mb_spec *s, const mb_tensor *y, const mb_forward_info *info,
                       const mb_reference *ref, mb_check *out)
{
    memset(out, 0, sizeof *out);
    out->max_abs_err = out->max_rel_err = NAN;
    out->near_ties = -1;
    mb_err err;
    mb_err_clear(&err);
    mb_tensor ysub;
    memset(&ysub, 0, sizeof ysub);
    mb_routing rsub;
    memset(&rsub, 0, sizeof rsub);
    const mb_tensor *cmp_y = y;
    const mb_routing *cmp_r = info ? &info->routing : NULL;
    if (ref->sampled) {
        if (mb_output_alloc(&ref->sub, &ysub, &err)) {
            out->status = MB_ROW_ERROR;
            snprintf(out->what, sizeof out->what, "cannot allocate the sampled rows: %s", err.msg);
            return 0;
        }
        const size_t row_bytes = (size_t)ysub.shape[1] * mb_dtype_size(ysub.dtype);
        for (int64_t i = 0; i < ref->nrows; i++)
            memcpy((char *)ysub.data + (size_t)i * row_bytes,
                   (const char *)y->data + (size_t)ref->rows[i] * row_bytes, row_bytes);
        cmp_y = &ysub;
        if (cmp_r && cmp_r->idx) {
            /* never compare T-row routing with the sampled reference's rows */
            if (mb_routing_alloc(&rsub, ref->nrows, s->E, s->k, &err) != MB_OK) {
                mb_tensor_free(&ysub);
                out->status = MB_ROW_ERROR;
                snprintf(out->what, sizeof out->what,
                         "cannot allocate the sampled rows' routing: %s", err.msg);
                return 0;
            }
            for (int64_t i = 0; i < ref->nrows; i++) {
                memcpy(rsub.idx + i * s->k, info->routing.idx + ref->rows[i] * s->k,
                       (size_t)s->k * sizeof *rsub.idx);
                if (rsub.w && info->routing.w)
                    memcpy(rsub.w + i * s->k, info->routing.w + ref->rows[i] * s->k,
                           (size_t)s->k * sizeof *rsub.w);
                if (info->routing.dropped)
                    memcpy(rsub.dropped + i * s->k, info->routing.dropped + ref->rows[i] * s->k,
                           (size_t)s->k);
                else
                    memset(rsub.dropped + i * s->k, 0, (size_t)s->k);
            }
            if (!info->routing.w && rsub.w) {
                /* nothing to compare the weights with: compare the experts only */
                mb_free(rsub.w);
                rsub.w = NULL;
            }
            cmp_r = &rsub;
        }
    }
    int ok = 1;
    uint8_t *excused = NULL;
    mb_tensor yfix;   /* cmp_y with the excused rows replaced by the reference's */
    memset(&yfix, 0, sizeof yfix);
    if (cmp_r && cmp_r->idx && ref->info.routing.idx) {
        int64_t bad = -1;
        excused = calloc((size_t)ref->nrows, 1);
        if (!excused) {
            out->status = MB_ROW_ERROR;
            snprintf(out->what, sizeof out->what, "out of memory for the routing comparison");
            mb_tensor_free(&ysub);
            mb_routing_free(&rsub);
            return 0;
        }
        if (mb_routing_equal_near(cmp_r, &ref->info.routing, ref->near, &out->near_ties, excused,
                                  &bad)) {
            out->bad_token = ref->sampled && bad >= 0 && bad < ref->nrows ? ref->rows[bad] : bad;
            out->status = MB_ROW_MISMATCH;
            snprintf(out->what, sizeof out->what,
                     "routing differs from the naive reference at token %lld", (long long)out->bad_token);
            ok = 0;
        }
        /* a near tie routed the other way computes other experts: its row is not comparable
         * (counted in near_ties, never passed silently) */
        if (out->near_ties > 0 && mb_output_alloc(&ref->sub, &yfix, &err) != MB_OK) {
            free(excused);
            out->status = MB_ROW_ERROR;
            snprintf(out->what, sizeof out->what, "near ties: %s", err.msg);
            mb_tensor_free(&ysub);
            mb_routing_free(&rsub);
            return 0;
        }
        if (out->near_ties > 0) {
            const size_t rb = (size_t)yfix.shape[1] * mb_dtype_size(yfix.dtype);
            memcpy(yfix.data, cmp_y->data, rb * (size_t)ref->nrows);
            for (int64_t i = 0; i < ref->nrows; i++)
                if (excused[i])
                    memcpy((char *)yfix.data + (size_t)i * rb, (const char *)ref->y.data + (size_t)i * rb, rb);
            cmp_y = &yfix;
        }
    }
    free(excused);
    mb_cmp c = mb_compare(&ref->sub, cmp_y, &ref->y);
    out->cmp = c;
    out->max_abs_err = c.max_abs_err;
    out->max_rel_err = c.max_rel_err;
    if (ok && !c.pass) {
        out->status = MB_ROW_MISMATCH;
        snprintf(out->what, sizeof out->what,
                 "max_abs_err %.3g > atol %.3g + rtol %.0e*|ref| (first bad element %lld%s)",
                 c.max_abs_err, c.atol, c.rtol, (long long)c.first_bad,
                 ref->sampled ? " of the sampled rows" : "");
        ok = 0;
    }
    if (ok)
        out->status = MB_ROW_OK;
    out->ok = ok;
    mb_tensor_free(&ysub);
    mb_tensor_free(&yfix);
    mb_routing_free(&rsub);
    return ok;
}
