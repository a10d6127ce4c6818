/* One case inside its child process (see case_exec.h): setup, then for each implementation
 * prepare, check against the reference (reference_check.c), timing and counters. */
#include "case_exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "moebench/library_isa.h"
#include "moebench/mem_estimate.h"
#include "moebench/moebench.h"
#include "timing.h"
#include "train_exec.h"

void mb_row_from_case(mb_row *row, const mb_case *c, const char *impl, const mb_exec_config *cfg)
{
    const mb_spec *s = &c->spec;
    mb_row_init(row);
    snprintf(row->run_id, sizeof row->run_id, "%s", cfg->run_id ? cfg->run_id : "");
    snprintf(row->variant, sizeof row->variant, "%s", mb_variant_name(s->variant));
    snprintf(row->impl, sizeof row->impl, "%s", impl);
    snprintf(row->dtype, sizeof row->dtype, "%s", mb_dtype_name(s->dtype));
    snprintf(row->mode, sizeof row->mode, "%s", mb_mode_name(s->mode));
    row->threads = cfg->threads;
    snprintf(row->cache, sizeof row->cache, "%s", cfg->cache_cold ? "cold" : "warm");
    row->B = s->B;
    row->S = s->S;
    row->T = mb_spec_T(s);
    row->h = s->h;
    row->o = s->o;
    row->f = s->f;
    row->r = s->r;
    row->E = s->E;
    row->k = s->k;
    snprintf(row->share, sizeof row->share, "%s", mb_share_name(s->share));
    row->shard = s->shard;
    snprintf(row->case_desc, sizeof row->case_desc, "%s", c->desc);
    row->alpha = s->alpha;
    snprintf(row->act, sizeof row->act, "%s", mb_act_name(s->act));
    row->seed = (int64_t)s->seed;
    /* the library each row's time depends on: blas, and merged (its prepare and forward run on
     * the OpenBLAS provider whenever the build has one, impl_merged.c) */
    const char *core = mb_openblas_corename(), *isa = mb_onednn_isa();
    if (core && (!strcmp(impl, "blas") || !strcmp(impl, "merged")))
        snprintf(row->blas_core, sizeof row->blas_core, "%s", core);
    if (isa && !strcmp(impl, "onednn"))
        snprintf(row->onednn_isa, sizeof row->onednn_isa, "%s", isa);
}

void mb_repro_line(const mb_case *c, const char *impl, const mb_exec_config *cfg, char *out,
                   size_t n)
{
    /* the repro times the row's setting: same case (its descriptor carries dtype and mode),
     * threads and cache, the same reference check first (`moebench time`) */
    char th[32] = "";
    if (cfg->threads > 0)
        snprintf(th, sizeof th, " --threads %d", cfg->threads);
    /* the library environment the row ran under (--openblas-core, --pin or the user's own) is
     * part of its setting: a repro without it may load another OpenBLAS core */
    static const char *const env_names[] = {"OPENBLAS_CORETYPE", "OMP_PROC_BIND", "OMP_PLACES"};
    char env[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++) {
        const char *v = getenv(env_names[i]);
        if (!v || !*v || strchr(v, '\'') || used >= sizeof env)
            continue;
        int w = snprintf(env + used, sizeof env - used, "%s='%s' ", env_names[i], v);
        used += w > 0 ? (size_t)w : 0;
    }
    snprintf(out, n, "%smoebench time '%s' --impl %s%s%s", env, c->desc, impl, th,
             cfg->cache_cold ? " --cache cold" : "");
}

/* Fills the error columns and, on failure, status and reason with the repro line. */
static int check_output(const mb_spec *s, const mb_tensor *y, const mb_forward_info *info,
                        const mb_reference *ref, mb_row *row, const char *repro)
{
    mb_check ck;
    int ok = mb_reference_check(s, y, info, ref, &ck);
    row->max_abs_err = ck.max_abs_err;
    row->max_rel_err = ck.max_rel_err;
    if (!ok)
        mb_row_set_status(row, ck.status, "%s; repro: %s", ck.what, repro);
    return ok;
}

/* ---- timing ---------------------------------------------------------------------------- */

typedef struct {
    const mb_impl *impl;
    mb_state **states;
    int n_states;
    int next;
    const mb_inputs *in;
    mb_tensor *y;
    mb_err err;
} fwd_ctx;

static int timed_forward(void *p)
{
    fwd_ctx *c = p;
    mb_state *st = c->states[c->next];
    if (++c->next == c->n_states)
        c->next = 0;
    return c->impl->forward(st, c->in, c->y, NULL, &c->err) != MB_OK;
}

#define MAX_COLD_COPIES MB_MEM_MAX_COLD_COPIES

/* Cold cache: byte-identical copies of the weights (distinct addresses) whose total exceeds twice
 * the last-level cache, each prepared, so each forward starts with its weights out of cache.
 * Weights of at least twice the LLC are their own eviction (a forward streaming them has pushed
 * their start out before the next one begins): one copy, because a second would double memory
 * for nothing (Mixtral-sized sparse_mlp: 5.6 GB of weights plus the packed form per copy, and
 * two copies put the machine under memory pressure that slowed the very rows being timed).
 * The count is the memory estimate's (moebench/mem_estimate.h), so validation costs the same
 * copies the runner makes. */
static int cold_copies(const mb_spec *s, int64_t weights_bytes)
{
    (void)s;
    return mb_mem_cold_copies(weights_bytes, mb_llc_bytes(), mb_mem_available_bytes());
}

/* ---- one implementation ---------------------------------------------------------------- */

static void run_impl(const mb_case *c, const char *name, int naive_explicit, const mb_weights *w,
                     const mb_inputs *in, const mb_reference *ref, const mb_train_reference *tr,
                     const mb_exec_config *cfg, const mb_exec_emit *emit, int idx, mb_row *row)
{
    const mb_spec *s = &c->spec;
    const mb_impl *impl = mb_impl_find(name);
    char repro[MB_DESC_LEN + 100];
    mb_repro_line(c, name, cfg, repro, sizeof repro);
    row->weights_bytes = mb_weights_bytes(w);
    if (!impl) {
        mb_row_set_status(row, MB_ROW_ERROR, "unknown implementation '%s'", name);
        return;
    }
    const char *why = impl->unsupported ? impl->unsupported(s) : NULL;
    if (why) {
        mb_row_set_status(row, MB_ROW_SKIPPED, "%s", why);
        return;
    }
    if (!strcmp(name, "naive") && ref->sampled && !naive_explicit) {
        char g[64];
        snprintf(g, sizeof g, "%.1f", mb_cost_of(s, NULL).flops / 1e9);
        mb_row_set_status(row, MB_ROW_SKIPPED,
                   "naive is too slow at this size (%s GFLOP per forward); the other "
                   "implementations are checked on sampled rows; name it with --impl naive to time it",
                   g);
        return;
    }

    mb_err err;
    mb_err_clear(&err);
    mb_state *st = NULL;
    int64_t mem0 = mb_mem_current();
    double t0 = mb_now_s();
    mb_status rc = impl->prepare(s, w, &st, &err);
    row->prepare_us = (mb_now_s() - t0) * 1e6;
    row->prepare_bytes = mb_mem_current() - mem0;
    if (rc != MB_OK) {
        mb_row_set_status(row, rc == MB_EUNSUPPORTED ? MB_ROW_SKIPPED : MB_ROW_ERROR, "prepare: %s",
                          err.msg);
        row->prepare_bytes = -1;
        return;
    }
    if (s->mode == MB_MODE_TRAIN) {
        /* the step: forward_train + backward (+ AdamW), checked then timed (train_exec.c) */
        mb_train_opts to = {cfg->min_time, cfg->reps, cfg->dry_run || cfg->check_only,
                            cfg->dry_run ? "dry run: not timed" : "check only: not timed",
                            repro, cfg->peak_gflops, cfg->dram_gbps, emit->samples, emit->ctx,
                            idx};
        mb_train_row(impl, st, s, w, in, ref, tr, &to, row);
        impl->release(st);
        return;
    }

    mb_tensor y;
    memset(&y, 0, sizeof y);
    mb_forward_info info;
    memset(&info, 0, sizeof info);
    mb_state **states = NULL;
    mb_weights *copies = NULL;
    int n_states = 1;
    if ((rc = mb_output_alloc(s, &y, &err)) || (rc = mb_forward_info_alloc(s, &info, &err))) {
        mb_row_set_status(row, MB_ROW_ERROR, "cannot allocate the output: %s", err.msg);
        goto done;
    }
    /* workspace_bytes counts memory allocated through the library allocator (mb_alloc) during
     * forward: the peak above what was live before it. Buffers a library allocates itself
     * (OpenBLAS's per-thread buffers) are not included. Not clamped: a negative value means the
     * forward freed more than it allocated, which is worth seeing. */
    int64_t before = mb_mem_current();
    mb_mem_reset_peak();
    rc = impl->forward(st, in, &y, &info, &err);
    row->workspace_bytes = mb_mem_peak() - before;
    if (rc != MB_OK) {
        mb_row_set_status(row, MB_ROW_ERROR, "forward: %s", err.msg);
        goto done;
    }
    int routed = info.routing.idx != NULL;
    if (routed) {
        row->expert_load_max = mb_routing_load_max(&info.routing);
        row->aux_loss = info.routing.aux_loss;
    }
    /* the work this implementation does (merged weights cost differently), for GFLOP/s */
    mb_cost cost = mb_cost_of_impl(s, name, routed ? info.routing.counts : NULL);
    row->flops = cost.flops;
    row->bytes = cost.bytes;
    if (!check_output(s, &y, &info, ref, row, repro))
        goto done;   /* never timed as if it were right */
    snprintf(row->status, sizeof row->status, "ok");
    if (ref->sampled)
        snprintf(row->reason, sizeof row->reason, "checked on %lld sampled rows",
                 (long long)ref->nrows);
    if (cfg->dry_run || cfg->check_only) {
        snprintf(row->reason + strlen(row->reason), sizeof row->reason - strlen(row->reason),
                 "%s%s", row->reason[0] ? "; " : "", cfg->dry_run ? "dry run: not timed" : "check only: not timed");
        goto done;
    }

    /* cold cache: more prepared copies of the weights, cycled through */
    states = calloc(MAX_COLD_COPIES, sizeof *states);
    if (!states) {
        mb_row_set_status(row, MB_ROW_ERROR, "out of memory");
        goto done;
    }
    states[0] = st;
    if (cfg->cache_cold) {
        /* byte-identical copies (same spec, same seed), each prepared and checked bit for bit
         * against copy 0 (already checked against the reference) before anything is timed */
        int want = cold_copies(s, row->weights_bytes);
        copies = calloc((size_t)want, sizeof *copies);
        mb_tensor yc;
        memset(&yc, 0, sizeof yc);
        if (copies && mb_output_alloc(s, &yc, &err) != MB_OK) {
            free(copies);
            copies = NULL;
        }
        for (int i = 1; copies && i < want; i++) {
            if (mb_weights_create(s, &copies[i], &err) != MB_OK)
                break;
            if (impl->prepare(s, &copies[i], &states[i], &err) != MB_OK) {
                mb_weights_free(&copies[i]);
                break;
            }
            n_states = i + 1;
            if (impl->forward(states[i], in, &yc, NULL, &err) != MB_OK) {
                mb_row_set_status(row, MB_ROW_ERROR,
                                  "--cache cold: forward on weight copy %d failed: %s", i, err.msg);
                mb_tensor_free(&yc);
                goto done;
            }
            if (memcmp(yc.data, y.data, (size_t)mb_tensor_bytes(&y)) != 0) {
                mb_row_set_status(row, MB_ROW_MISMATCH,
                                  "--cache cold: the output on weight copy %d is not bit-identical "
                                  "to copy 0's (same weights); repro: %s", i, repro);
                mb_tensor_free(&yc);
                goto done;
            }
        }
        mb_tensor_free(&yc);
        if (want > 1 && n_states < 2) {   /* one copy is enough only when asked for */
            mb_row_set_status(row, MB_ROW_ERROR, "--cache cold: cannot create weight copies: %s",
                              err.msg);
            goto done;
        }
        int64_t llc = mb_llc_bytes();
        if (llc > 0 && (int64_t)n_states * row->weights_bytes < llc)
            snprintf(row->reason + strlen(row->reason), sizeof row->reason - strlen(row->reason),
                     "%scache cold: only %d weight copies (%.1f MiB, the copy limit), less than the LLC (%.1f MiB)",
                     row->reason[0] ? "; " : "", n_states,
                     (double)n_states * (double)row->weights_bytes / (1 << 20), (double)llc / (1 << 20));
    }

    fwd_ctx fc = {impl, states, n_states, 0, in, &y, {MB_OK, ""}};
    mb_timing_opts opts;
    mb_timing_opts_default(&opts);
    opts.min_time = cfg->min_time;
    opts.reps = cfg->reps;
    opts.max_reps = cfg->reps * 4 > 20 ? cfg->reps * 4 : 20;
    /* more samples for a noisy case, within a budget that scales with --min-time */
    opts.budget = 3 * cfg->min_time + 0.1;
    mb_timing tm;
    int trc = mb_time_fn(timed_forward, &fc, &opts, &tm);
    if (trc) {
        mb_row_set_status(row, MB_ROW_ERROR, "forward failed while timing: %s", fc.err.msg);
        mb_timing_free(&tm);
        goto done;
    }
    if (emit->samples)
        emit->samples(emit->ctx, idx, tm.ns, tm.n);
    row->samples = (int64_t)tm.n;
    row->iters_per_sample = tm.iters;
    row->time_us_median = tm.s.median / 1e3;
    row->time_us_min = tm.s.min / 1e3;
    row->time_us_p95 = tm.s.p95 / 1e3;
    row->time_us_mad = tm.s.mad / 1e3;
    row->time_us_ci_lo = tm.s.ci_lo / 1e3;
    row->time_us_ci_hi = tm.s.ci_hi / 1e3;
    double sec = tm.s.median * 1e-9;
    if (sec > 0) {
        row->gflops = cost.flops / sec / 1e9;
        row->gbps = cost.bytes / sec / 1e9;
        if (cfg->peak_gflops > 0) {
            double roof = cfg->peak_gflops;
            if (cfg->dram_gbps > 0 && cost.bytes > 0 && cost.flops / cost.bytes * cfg->dram_gbps < roof)
                roof = cost.flops / cost.bytes * cfg->dram_gbps;
            row->pct_peak = 100.0 * row->gflops / roof;
        }
    }
    if (tm.unstable) {
        row->unstable = 1;
        snprintf(row->reason + strlen(row->reason), sizeof row->reason - strlen(row->reason),
                 "%s%s", row->reason[0] ? "; " : "", tm.reason);
    }

    /* counter pass, apart from timing so counting overhead never touches the timings */
    if (cfg->counters && cfg->counters->n > 0) {
        fc.next = 0;
        if (mb_counters_start(cfg->counters) == 0) {
            int64_t iters = tm.iters > 0 ? tm.iters : 1;
            int bad = 0;
            for (int64_t i = 0; i < iters && !bad; i++)
                bad = timed_forward(&fc);
            mb_counters_stop(cfg->counters, (double)iters, row->ctr);
            /* an implementation that does not count its work leaves those columns empty, not 0 */
            if (mb_work_uncounted(name, s))
                mb_counters_blank_work(cfg->counters, row->ctr);
        }
    }
    mb_timing_free(&tm);

done:
    if (states) {
        for (int i = 1; i < n_states; i++) {
            impl->release(states[i]);
            mb_weights_free(&copies[i]);
        }
        free(states);
    }
    free(copies);
    impl->release(st);
    mb_tensor_free(&y);
    mb_forward_info_free(&info);
}

void mb_exec_case(const mb_case *c, char impls[][24], int n, int naive_explicit,
                  const mb_exec_config *cfg, const mb_exec_emit *emit)
{
    const mb_spec *s = &c->spec;
    mb_err err;
    mb_err_clear(&err);
    mb_weights w;
    memset(&w, 0, sizeof w);
    mb_inputs in;
    memset(&in, 0, sizeof in);
    mb_reference ref;
    memset(&ref, 0, sizeof ref);
    mb_train_reference tr;
    memset(&tr, 0, sizeof tr);
    char setup_error[MB_REASON_LEN] = "";
    mb_row_status setup_status = MB_ROW_ERROR;

    /* counters first: inheritance covers only threads created after the event set */
    if (cfg->counters)
        mb_counters_child_begin(cfg->counters);
    if (cfg->threads > 0)
        mb_set_threads(cfg->threads);
    int64_t wb = 0, iob = 0;
    int64_t avail = mb_mem_available_bytes();
    /* No reference for this spec (a dtype naive does not compute in): nothing can be checked,
     * so nothing is created or run, and every row is skipped with its own implementation's
     * reason, or the reference's when the implementation has none. */
    const mb_impl *naive = mb_impl_find("naive");
    /* no reference in this direction (an implementation without the train step): every row
     * is skipped with that reason, never an error nor a silent forward */
    const char *no_dir = mb_impl_mode_unsupported(naive, s);
    const char *no_ref = no_dir                                ? NULL
                         : naive && naive->unsupported ? naive->unsupported(s)
                                                       : NULL;
    if (no_dir) {
        setup_status = MB_ROW_SKIPPED;
        snprintf(setup_error, sizeof setup_error, "%s", no_dir);
    } else if (no_ref) {
        setup_status = MB_ROW_SKIPPED;
        snprintf(setup_error, sizeof setup_error, "no naive reference to check against: %s",
                 no_ref);
    } else if (mb_spec_bytes(s, &wb, &iob, &err) != MB_OK) {
        snprintf(setup_error, sizeof setup_error, "%s", err.msg);
    } else if (avail > 0 && wb + iob > avail * 9 / 10) {
        snprintf(setup_error, sizeof setup_error,
                 "needs %.2f GiB of weights and activations, only %.2f GiB available",
                 (double)(wb + iob) / (1 << 30), (double)avail / (1 << 30));
    } else if (mb_weights_create(s, &w, &err) != MB_OK || mb_inputs_create(s, &in, &err) != MB_OK) {
        snprintf(setup_error, sizeof setup_error, "creating weights/inputs: %s", err.msg);
    } else if (mb_reference_build(s, &w, &in, -1, &ref, &err) != MB_OK) {
        snprintf(setup_error, sizeof setup_error, "naive reference failed: %s", err.msg);
    } else if (s->mode == MB_MODE_TRAIN &&
               mb_train_reference_build(naive, s, &w, &in, &ref, &tr, &err) != MB_OK) {
        snprintf(setup_error, sizeof setup_error, "naive reference step failed: %s", err.msg);
    }

    for (int i = 0; i < n; i++) {
        if (emit->start)
            emit->start(emit->ctx, i);
        mb_row row;
        mb_row_from_case(&row, c, impls[i], cfg);
        if (setup_error[0]) {
            const mb_impl *im = mb_impl_find(impls[i]);
            const char *own = no_ref && im && im->unsupported ? im->unsupported(s) : NULL;
            mb_row_set_status(&row, setup_status, "%s", own ? own : setup_error);
            row.peak_rss_bytes = mb_peak_rss_bytes();
        } else {
            /* peak RSS per implementation: reset VmHWM first; when the kernel refuses,
             * ru_maxrss, which only grows within the child (run.json says which) */
            int reset = mb_peak_rss_reset() == 0;
            run_impl(c, impls[i], naive_explicit, &w, &in, &ref, &tr, cfg, emit, i, &row);
            int64_t hwm = reset ? mb_hwm_bytes() : -1;
            row.peak_rss_bytes = hwm > 0 ? hwm : mb_peak_rss_bytes();
        }
        emit->row(emit->ctx, i, &row);
    }
    if (cfg->counters)
        mb_counters_child_end(cfg->counters);
    mb_train_reference_free(&tr);
    mb_reference_free(&ref);
    mb_inputs_free(&in);
    mb_weights_free(&w);
}
