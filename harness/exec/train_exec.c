/* mode=train in a case's child (see train_exec.h). */
#include "train_exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "timing.h"

/* ---- the reference step ----------------------------------------------------------------- */

static mb_status sub_rows(const mb_tensor *full, const mb_reference *ref, mb_tensor *out,
                          mb_err *err)
{
    int64_t wd = full->shape[1], shape[2] = {ref->nrows, wd};
    mb_status st = mb_tensor_alloc(out, MB_F32, 2, shape, err);
    if (st)
        return st;
    for (int64_t i = 0; i < ref->nrows; i++)
        memcpy(mb_f32(out) + i * wd, mb_f32(full) + ref->rows[i] * wd, (size_t)wd * sizeof(float));
    return MB_OK;
}

/* One step of impl on (s, w, in, dy) into y, info, g, with a prepared-and-released state. */
static mb_status one_step(const mb_impl *impl, const mb_spec *s, const mb_weights *w,
                          const mb_inputs *in, const mb_tensor *dy, mb_tensor *y,
                          mb_forward_info *info, mb_grads *g, mb_err *err)
{
    mb_state *st = NULL;
    mb_saved saved;
    memset(&saved, 0, sizeof saved);
    mb_status rc;
    if ((rc = mb_output_alloc(s, y, err)) || (rc = mb_forward_info_alloc(s, info, err)) ||
        (rc = mb_grads_alloc(s, w, g, err)) || (rc = impl->prepare(s, w, &st, err)))
        return rc;
    if (!(rc = impl->forward_train(st, in, y, info, &saved, err)))
        rc = impl->backward(st, in, &saved, dy, g, err);
    mb_weights_free(&saved.act);
    impl->release(st);
    return rc;
}

static int row_local_dx(const mb_spec *s)
{
    return s->p == 0 && (!mb_variant_routed(s->variant) || (s->aux == 0 && s->zloss == 0));
}

mb_status mb_train_reference_build(const mb_impl *ref_impl, const mb_spec *s, const mb_weights *w,
                                   const mb_inputs *in, const mb_reference *ref,
                                   mb_train_reference *tr, mb_err *err)
{
    memset(tr, 0, sizeof *tr);
    mb_status st = mb_train_dy_create(s, &tr->dy, err);
    if (st)
        return st;
    if (!ref->sampled) {
        tr->spec = *s;
        return one_step(ref_impl, s, w, in, &tr->dy, &tr->y, &tr->info, &tr->g, err);
    }
    tr->sub = 1;
    tr->spec = ref->sub;
    tr->dx_rows = row_local_dx(s);
    tr->y_rows = s->p == 0;
    if ((st = mb_reference_sub_inputs(s, in, ref, &tr->in, err)) ||
        (st = sub_rows(&tr->dy, ref, &tr->dy_sub, err)))
        return st;
    return one_step(ref_impl, &tr->spec, w, &tr->in, &tr->dy_sub, &tr->y, &tr->info, &tr->g, err);
}

void mb_train_reference_free(mb_train_reference *tr)
{
    mb_tensor_free(&tr->dy);
    mb_tensor_free(&tr->dy_sub);
    mb_tensor_free(&tr->y);
    mb_forward_info_free(&tr->info);
    mb_grads_free(&tr->g);
    mb_inputs_free(&tr->in);
}

/* ---- one implementation's step ---------------------------------------------------------- */

mb_status mb_train_step_init(mb_train_step *t, const mb_impl *impl, mb_state *st,
                             const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                             const mb_tensor *dy, mb_err *err)
{
    memset(t, 0, sizeof *t);
    t->impl = impl;
    t->st = st;
    t->spec = s;
    t->in = in;
    t->dy = dy;
    mb_status rc;
    if ((rc = mb_output_alloc(s, &t->y, err)) || (rc = mb_forward_info_alloc(s, &t->info, err)) ||
        (rc = mb_grads_alloc(s, w, &t->g, err)))
        return rc;
    return MB_OK;
}

int mb_train_step_run(mb_train_step *t)
{
    double t0 = mb_now_s();
    if (t->impl->forward_train(t->st, t->in, &t->y, &t->info, &t->saved, &t->err) != MB_OK)
        return 1;
    double t1 = mb_now_s();
    if (t->impl->backward(t->st, t->in, &t->saved, t->dy, &t->g, &t->err) != MB_OK)
        return 2;
    double t2 = mb_now_s();
    t->fwd_ns = (t1 - t0) * 1e9;
    t->bwd_ns = (t2 - t1) * 1e9;
    t->sum_fwd += t->fwd_ns;
    t->sum_bwd += t->bwd_ns;
    return 0;
}

void mb_train_step_free(mb_train_step *t)
{
    mb_tensor_free(&t->y);
    mb_forward_info_free(&t->info);
    mb_weights_free(&t->saved.act);
    mb_grads_free(&t->g);
    free(t->fwd_samples);
    free(t->bwd_samples);
    t->fwd_samples = t->bwd_samples = NULL;
}

/* ---- the check -------------------------------------------------------------------------- */

static int all_finite(const mb_tensor *t)
{
    const float *p = mb_f32(t);
    for (int64_t i = 0; i < mb_tensor_numel(t); i++)
        if (!isfinite(p[i]))
            return 0;
    return 1;
}

/* Every gradient of g against r (same spec sp); 0 with out->what on the first failure. */
static int grads_match(const mb_spec *sp, const mb_grads *g, const mb_grads *r, const char *where,
                       mb_check *out)
{
    mb_cmp c = mb_compare_grad(sp, &g->dX, &r->dX);
    const char *bad = c.pass ? NULL : "dX";
    double worst_abs = c.max_abs_err, worst_rel = c.max_rel_err;
    mb_cmp badc = c;
    for (int i = 0; i < r->dW.n && !bad; i++) {
        const mb_tensor *mine = mb_weights_get(&g->dW, r->dW.item[i].name);
        if (!mine) {
            out->status = MB_ROW_ERROR;
            snprintf(out->what, sizeof out->what, "no gradient of %s", r->dW.item[i].name);
            return 0;
        }
        c = mb_compare_grad(sp, mine, &r->dW.item[i].t);
        if (c.max_rel_err > worst_rel)
            worst_rel = c.max_rel_err;
        if (c.max_abs_err > worst_abs)
            worst_abs = c.max_abs_err;
        if (!c.pass) {
            bad = r->dW.item[i].name;
            badc = c;
        }
    }
    /* the row's error columns: Y's, unless a gradient is worse (relative) */
    if (worst_rel > out->max_rel_err || isnan(out->max_rel_err)) {
        out->max_rel_err = worst_rel;
        out->max_abs_err = worst_abs;
    }
    if (bad) {
        out->status = MB_ROW_MISMATCH;
        snprintf(out->what, sizeof out->what,
                 "gradient of %s%s: max_abs_err %.3g > atol %.3g + rtol %.0e*|ref| (first bad "
                 "element %lld)", bad, where, badc.max_abs_err, badc.atol, badc.rtol,
                 (long long)badc.first_bad);
        return 0;
    }
    return 1;
}

static int full_rows_match(const mb_spec *s, const mb_train_step *step, const mb_reference *ref,
                           const mb_train_reference *tr, mb_check *out)
{
    for (int i = 0; i < step->g.dW.n; i++)
        if (!all_finite(&step->g.dW.item[i].t)) {
            out->status = MB_ROW_MISMATCH;
            snprintf(out->what, sizeof out->what, "gradient of %s is not finite on the whole case",
                     step->g.dW.item[i].name);
            return 0;
        }
    if (!all_finite(&step->g.dX)) {
        out->status = MB_ROW_MISMATCH;
        snprintf(out->what, sizeof out->what, "dX is not finite on the whole case");
        return 0;
    }
    if (tr->y_rows && !mb_reference_check(s, &step->y, &step->info, ref, out))
        return 0;
    if (tr->dx_rows) {
        mb_err err;
        mb_tensor rows;
        memset(&rows, 0, sizeof rows);
        if (sub_rows(&step->g.dX, ref, &rows, &err)) {
            out->status = MB_ROW_ERROR;
            snprintf(out->what, sizeof out->what, "%s", err.msg);
            return 0;
        }
        mb_cmp c = mb_compare_grad(&tr->spec, &rows, &tr->g.dX);
        mb_tensor_free(&rows);
        if (!c.pass) {
            out->status = MB_ROW_MISMATCH;
            snprintf(out->what, sizeof out->what,
                     "dX on the sampled rows: max_abs_err %.3g > atol %.3g + rtol %.0e*|ref|",
                     c.max_abs_err, c.atol, c.rtol);
            return 0;
        }
    }
    return 1;
}

int mb_train_check(const mb_impl *impl, const mb_spec *s, const mb_weights *w,
                   const mb_train_step *step, const mb_reference *ref,
                   const mb_train_reference *tr, mb_check *out)
{
    memset(out, 0, sizeof *out);
    out->max_abs_err = out->max_rel_err = NAN;
    /* the forward_train output and routing against the reference's, as a forward is checked */
    mb_reference view;
    memset(&view, 0, sizeof view);
    view.nrows = mb_spec_T(&tr->spec);
    view.sub = tr->spec;
    view.y = tr->y;
    view.info = tr->info;
    if (!tr->sub) {
        if (!mb_reference_check(s, &step->y, &step->info, &view, out))
            return 0;
        out->ok = grads_match(s, &step->g, &tr->g, "", out);
        if (out->ok)
            out->status = MB_ROW_OK;
        return out->ok;
    }
    if (!full_rows_match(s, step, ref, tr, out))
        return 0;
    /* the same step on the sub-case, against the reference's gradients there */
    mb_err err;
    mb_err_clear(&err);
    mb_tensor y;
    mb_forward_info info;
    mb_grads g;
    memset(&y, 0, sizeof y);
    memset(&info, 0, sizeof info);
    memset(&g, 0, sizeof g);
    int ok = 0;
    if (one_step(impl, &tr->spec, w, &tr->in, &tr->dy_sub, &y, &info, &g, &err) != MB_OK) {
        out->status = MB_ROW_ERROR;
        snprintf(out->what, sizeof out->what, "the step on the sampled rows' sub-case: %s", err.msg);
    } else if (mb_reference_check(&tr->spec, &y, &info, &view, out)) {
        ok = grads_match(&tr->spec, &g, &tr->g, " (sub-case of the sampled rows)", out);
    }
    mb_tensor_free(&y);
    mb_forward_info_free(&info);
    mb_grads_free(&g);
    out->ok = ok;
    if (ok)
        out->status = MB_ROW_OK;
    return ok;
}

/* ---- the timed row ---------------------------------------------------------------------- */

static int timed_step(void *p)
{
    return mb_train_step_run(p);
}

static void on_batch(void *p, int64_t iters, int recorded)
{
    mb_train_step *t = p;
    if (recorded && t->n_samples == t->cap_samples) {
        size_t nc = t->cap_samples ? 2 * t->cap_samples : 64;
        double *a = realloc(t->fwd_samples, nc * sizeof *a);
        if (a)
            t->fwd_samples = a;
        double *b = a ? realloc(t->bwd_samples, nc * sizeof *b) : NULL;
        if (b)
            t->bwd_samples = b;
        if (a && b)
            t->cap_samples = nc;
    }
    if (recorded && t->n_samples < t->cap_samples) {
        t->fwd_samples[t->n_samples] = t->sum_fwd / (double)iters;
        t->bwd_samples[t->n_samples] = t->sum_bwd / (double)iters;
        t->n_samples++;
    }
    t->sum_fwd = t->sum_bwd = 0;
}

static void add_reason(mb_row *row, const char *what)
{
    size_t n = strlen(row->reason);
    snprintf(row->reason + n, sizeof row->reason - n, "%s%s", n ? "; " : "", what);
}

void mb_train_row(const mb_impl *impl, mb_state *st, const mb_spec *s, const mb_weights *w,
                  const mb_inputs *in, const mb_reference *ref, const mb_train_reference *tr,
                  const mb_train_opts *o, mb_row *row)
{
    mb_err err;
    mb_err_clear(&err);
    mb_train_step step;
    if (mb_train_step_init(&step, impl, st, s, w, in, &tr->dy, &err) != MB_OK) {
        mb_row_set_status(row, MB_ROW_ERROR, "cannot allocate the step's buffers: %s", err.msg);
        mb_train_step_free(&step);
        return;
    }
    int64_t before = mb_mem_current();
    mb_mem_reset_peak();
    int rc = mb_train_step_run(&step);
    row->workspace_bytes = mb_mem_peak() - before;
    if (rc) {
        mb_row_set_status(row, MB_ROW_ERROR, "%s: %s", rc == 1 ? "forward_train" : "backward",
                          step.err.msg);
        mb_train_step_free(&step);
        return;
    }
    row->saved_bytes = mb_weights_bytes(&step.saved.act);
    row->grad_bytes = mb_grads_bytes(&step.g);
    row->optimizer_bytes = mb_grads_optimizer_bytes(&step.g);
    int routed = step.info.routing.idx != NULL;
    if (routed) {
        row->expert_load_max = mb_routing_load_max(&step.info.routing);
        row->aux_loss = step.info.routing.aux_loss;
    }
    mb_cost cost = mb_cost_step(s, impl->name, routed ? step.info.routing.counts : NULL);
    row->flops = cost.flops;
    row->bytes = cost.bytes;
    mb_check ck;
    int ok = mb_train_check(impl, s, w, &step, ref, tr, &ck);
    row->max_abs_err = ck.max_abs_err;
    row->max_rel_err = ck.max_rel_err;
    if (!ok) {
        mb_row_set_status(row, ck.status, "%s; repro: %s", ck.what, o->repro);
        mb_train_step_free(&step);
        return;
    }
    snprintf(row->status, sizeof row->status, "ok");
    if (tr->sub) {
        char what[200];
        snprintf(what, sizeof what, "gradients checked on the sub-case of %lld sampled rows%s%s",
                 (long long)ref->nrows, tr->y_rows ? ", Y" : "", tr->dx_rows ? " and dX rows" : "");
        if (tr->y_rows || tr->dx_rows)
            snprintf(what + strlen(what), sizeof what - strlen(what), " of the whole case");
        add_reason(row, what);
    }
    if (o->untimed) {
        add_reason(row, o->untimed_why);
        mb_train_step_free(&step);
        return;
    }

    mb_timing_opts opts;
    mb_timing_opts_default(&opts);
    opts.min_time = o->min_time;
    opts.reps = o->reps;
    opts.max_reps = o->reps * 4 > 20 ? o->reps * 4 : 20;
    opts.budget = 3 * o->min_time + 0.1;
    opts.on_batch = on_batch;
    step.sum_fwd = step.sum_bwd = 0;
    mb_timing tm;
    if (mb_time_fn(timed_step, &step, &opts, &tm)) {
        mb_row_set_status(row, MB_ROW_ERROR, "the step failed while timing: %s", step.err.msg);
        mb_timing_free(&tm);
        mb_train_step_free(&step);
        return;
    }
    if (o->samples)
        o->samples(o->samples_ctx, o->idx, 0, tm.ns, tm.n);
    row->samples = (int64_t)tm.n;
    row->iters_per_sample = tm.iters;
    row->time_us_median = tm.s.median / 1e3;
    row->time_us_min = tm.s.min / 1e3;
    row->time_us_p95 = tm.s.p95 / 1e3;
    row->time_us_mad = tm.s.mad / 1e3;
    row->time_us_ci_lo = tm.s.ci_lo / 1e3;
    row->time_us_ci_hi = tm.s.ci_hi / 1e3;
    if (step.n_samples == tm.n && tm.n > 0) {
        mb_summary f, b;
        mb_summarize(step.fwd_samples, step.n_samples, &f);
        mb_summarize(step.bwd_samples, step.n_samples, &b);
        row->fwd_us = f.median / 1e3;
        row->bwd_us = b.median / 1e3;
    }
    double sec = tm.s.median * 1e-9;
    if (sec > 0) {
        row->gflops = cost.flops / sec / 1e9;
        row->gbps = cost.bytes / sec / 1e9;
        /* the step's working set: weights, X and Y, what the forward keeps, the gradients */
        int64_t wb = 0, iob = 0;
        mb_err e;
        mb_err_clear(&e);
        double ws = mb_spec_bytes(s, &wb, &iob, &e) == MB_OK
                        ? (double)(row->weights_bytes + iob) + (double)(row->saved_bytes > 0 ? row->saved_bytes : 0) +
                              (double)(row->grad_bytes > 0 ? row->grad_bytes : 0)
                        : NAN;
        if (o->cfg)
            mb_exec_roof(o->cfg, cost.flops, cost.bytes, ws, row);
    }
    row->ci_rel = tm.ci_half;
    if (tm.unstable) {
        row->unstable = 1;
        add_reason(row, tm.reason);
    }
    mb_timing_free(&tm);
    mb_train_step_free(&step);
}
