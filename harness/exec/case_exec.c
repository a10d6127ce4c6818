/* One case inside its child process (see case_exec.h): setup, then for each implementation
 * prepare, check against the reference (reference_check.c), timing and counters. */
#include "case_exec.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case_fits.h"
#include "memory.h"
#include "moebench/library_isa.h"
#include "roof_level.h"
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
    snprintf(row->wq, sizeof row->wq, "%s", s->wq != MB_F32 ? mb_dtype_name(s->wq) : "");
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
    row->cap = s->cap;
    row->shared = s->shared;
    row->topp = s->topp > 0 ? s->topp : NAN;
    mb_spec_route_format(s, row->route, sizeof row->route);
}

void mb_row_routing_stats(mb_row *row, const mb_routing *r)
{
    row->expert_load_max = mb_routing_load_max(r);
    row->aux_loss = r->aux_loss;
    row->dropped = r->n_dropped;
    row->experts_per_token_mean = (double)r->n_chosen / (double)r->T;
    row->expert_load_mean = mb_routing_load_mean(r);
    row->load_imbalance = row->expert_load_mean > 0 ? row->expert_load_max / row->expert_load_mean
                                                    : NAN;
    size_t len = 0;
    row->expert_counts[0] = '\0';
    for (int64_t e = 0; e < r->E; e++) {
        int n = snprintf(row->expert_counts + len, sizeof row->expert_counts - len, "%s%lld",
                         e ? ";" : "", (long long)r->counts[e]);
        if (n < 0 || (size_t)n >= sizeof row->expert_counts - len) {
            row->expert_counts[0] = '\0';   /* too many experts for the field: unavailable */
            return;
        }
        len += (size_t)n;
    }
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

static void add_reason(mb_row *row, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fills the error columns and, on failure, status and reason with the repro line. */
static int check_output(const mb_spec *s, const mb_tensor *y, const mb_forward_info *info,
                        const mb_reference *ref, mb_row *row, const char *repro)
{
    mb_check ck;
    int ok = mb_reference_check(s, y, info, ref, &ck);
    row->max_abs_err = ck.max_abs_err;
    row->max_rel_err = ck.max_rel_err;
    row->near_ties = ck.near_ties;
    if (!ok)
        mb_row_set_status(row, ck.status, "%s; repro: %s", ck.what, repro);
    else if (ck.near_ties > 0)
        add_reason(row, "%lld token%s within a near tie of the top-k choice (column near_ties): "
                   "routed differently, so %s rows are not value-checked",
                   (long long)ck.near_ties, ck.near_ties == 1 ? "" : "s",
                   ck.near_ties == 1 ? "its" : "their");
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

/* One implementation from prepare to its row, in phases (setup, calibration, samples, finish,
 * release) so --interleave can set up every implementation of a case, then time them in
 * rounds. */
typedef struct {
    const char *name;
    const mb_impl *impl;
    const mb_spec *spec;
    const mb_train_reference *tr;   /* mode=train: the naive step to check against */
    const mb_exec_emit *emit;
    mb_row *row;
    int idx;
    char repro[MB_DESC_LEN + 100];
    mb_state *st;
    mb_state **states;
    mb_weights *copies;
    int n_states;
    mb_tensor y;
    mb_forward_info info;
    mb_cost cost;
    double ws_bytes;      /* working set: weights + inputs and outputs */
    fwd_ctx fc;
    mb_timer timer;
    mb_timing tm;
    int timing;           /* set up and being timed */
} impl_run;

static void add_reason(mb_row *row, const char *fmt, ...)
{
    size_t l = strlen(row->reason);
    if (l + 3 >= sizeof row->reason)
        return;
    if (l) {
        memcpy(row->reason + l, "; ", 3);
        l += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(row->reason + l, sizeof row->reason - l, fmt, ap);
    va_end(ap);
}

/* Prepare, one checked forward, the --cache cold copies. 1 when the implementation is to be
 * timed; 0 when its row is final (skipped, failed, or not timed by choice). */
static int impl_setup(impl_run *r, const mb_case *c, int naive_explicit, const mb_weights *w,
                      const mb_inputs *in, const mb_reference *ref, const mb_exec_config *cfg)
{
    const mb_spec *s = &c->spec;
    r->spec = s;
    const char *name = r->name;
    mb_row *row = r->row;
    const mb_impl *impl = r->impl = mb_impl_find(name);
    mb_repro_line(c, name, cfg, r->repro, sizeof r->repro);
    const char *repro = r->repro;
    row->weights_bytes = mb_weights_bytes(w);
    if (!impl) {
        mb_row_set_status(row, MB_ROW_ERROR, "unknown implementation '%s'", name);
        return 0;
    }
    const char *why = impl->unsupported ? impl->unsupported(s) : NULL;
    if (why) {
        mb_row_set_status(row, MB_ROW_SKIPPED, "%s", why);
        return 0;
    }
    if (!strcmp(name, "naive") && ref->sampled && !naive_explicit) {
        char g[64];
        snprintf(g, sizeof g, "%.1f", mb_cost_of(s, NULL).flops / 1e9);
        mb_row_set_status(row, MB_ROW_SKIPPED,
                   "naive is too slow at this size (%s GFLOP per forward); the other "
                   "implementations are checked on sampled rows; name it with --impl naive to time it",
                   g);
        return 0;
    }

    mb_err err;
    mb_err_clear(&err);
    int64_t mem0 = mb_mem_current();
    double t0 = mb_now_s();
    mb_status rc = impl->prepare(s, w, &r->st, &err);
    row->prepare_us = (mb_now_s() - t0) * 1e6;
    row->prepare_bytes = mb_mem_current() - mem0;
    if (rc != MB_OK) {
        mb_row_set_status(row, rc == MB_EUNSUPPORTED ? MB_ROW_SKIPPED : MB_ROW_ERROR, "prepare: %s",
                          err.msg);
        row->prepare_bytes = -1;
        r->st = NULL;
        return 0;
    }
    if (s->mode == MB_MODE_TRAIN) {
        /* the step: forward_train + backward (+ AdamW), checked then timed (train_exec.c);
         * the row is final here */
        mb_train_opts to = {cfg->min_time, cfg->reps, cfg->dry_run || cfg->check_only,
                            cfg->dry_run ? "dry run: not timed" : "check only: not timed",
                            repro, cfg, r->emit->samples,
                            r->emit->ctx, r->idx};
        mb_train_row(impl, r->st, s, w, in, ref, r->tr, &to, row);
        return 0;
    }
    r->n_states = 1;
    if ((rc = mb_output_alloc(s, &r->y, &err)) || (rc = mb_forward_info_alloc(s, &r->info, &err))) {
        mb_row_set_status(row, MB_ROW_ERROR, "cannot allocate the output: %s", err.msg);
        return 0;
    }
    /* workspace_bytes counts memory allocated through the library allocator (mb_alloc) during
     * forward: the peak above what was live before it. Buffers a library allocates itself
     * (OpenBLAS's per-thread buffers) are not included. Not clamped: a negative value means the
     * forward freed more than it allocated, which is worth seeing. */
    int64_t before = mb_mem_current();
    mb_mem_reset_peak();
    rc = impl->forward(r->st, in, &r->y, &r->info, &err);
    row->workspace_bytes = mb_mem_peak() - before;
    if (rc != MB_OK) {
        mb_row_set_status(row, MB_ROW_ERROR, "forward: %s", err.msg);
        return 0;
    }
    int routed = r->info.routing.idx != NULL;
    if (routed)
        mb_row_routing_stats(row, &r->info.routing);
    /* the work this implementation does (merged weights cost differently), for GFLOP/s */
    r->cost = mb_cost_of_impl(s, name, routed ? r->info.routing.counts : NULL);
    row->flops = r->cost.flops;
    row->bytes = r->cost.bytes;
    int64_t wb = 0, iob = 0;
    r->ws_bytes = mb_spec_bytes(s, &wb, &iob, &err) == MB_OK ? (double)(row->weights_bytes + iob)
                                                             : (double)row->weights_bytes;
    if (!check_output(s, &r->y, &r->info, ref, row, repro))
        return 0;   /* never timed as if it were right */
    snprintf(row->status, sizeof row->status, "ok");
    if (ref->sampled)
        snprintf(row->reason, sizeof row->reason, "checked on %lld sampled rows",
                 (long long)ref->nrows);
    if (cfg->dry_run || cfg->check_only) {
        add_reason(row, "%s", cfg->dry_run ? "dry run: not timed" : "check only: not timed");
        return 0;
    }

    /* cold cache: more prepared copies of the weights, cycled through */
    r->states = calloc(MAX_COLD_COPIES, sizeof *r->states);
    if (!r->states) {
        mb_row_set_status(row, MB_ROW_ERROR, "out of memory");
        return 0;
    }
    r->states[0] = r->st;
    if (cfg->cache_cold) {
        /* byte-identical copies (same spec, same seed), each prepared and checked bit for bit
         * against copy 0 (already checked against the reference) before anything is timed */
        int want = cold_copies(s, row->weights_bytes);
        r->copies = calloc((size_t)want, sizeof *r->copies);
        mb_tensor yc;
        memset(&yc, 0, sizeof yc);
        if (r->copies && mb_output_alloc(s, &yc, &err) != MB_OK) {
            free(r->copies);
            r->copies = NULL;
        }
        for (int i = 1; r->copies && i < want; i++) {
            if (mb_weights_create(s, &r->copies[i], &err) != MB_OK)
                break;
            if (impl->prepare(s, &r->copies[i], &r->states[i], &err) != MB_OK) {
                mb_weights_free(&r->copies[i]);
                break;
            }
            r->n_states = i + 1;
            if (impl->forward(r->states[i], in, &yc, NULL, &err) != MB_OK) {
                mb_row_set_status(row, MB_ROW_ERROR,
                                  "--cache cold: forward on weight copy %d failed: %s", i, err.msg);
                mb_tensor_free(&yc);
                return 0;
            }
            if (memcmp(yc.data, r->y.data, (size_t)mb_tensor_bytes(&r->y)) != 0) {
                mb_row_set_status(row, MB_ROW_MISMATCH,
                                  "--cache cold: the output on weight copy %d is not bit-identical "
                                  "to copy 0's (same weights); repro: %s", i, repro);
                mb_tensor_free(&yc);
                return 0;
            }
        }
        mb_tensor_free(&yc);
        if (want > 1 && r->n_states < 2) {   /* one copy is enough only when asked for */
            mb_row_set_status(row, MB_ROW_ERROR, "--cache cold: cannot create weight copies: %s",
                              err.msg);
            return 0;
        }
        /* the copies should span twice the LLC (mb_mem_cold_copies); the memory budget or the
         * copy limit may allow fewer: then a forward may find part of its weights still cached */
        int64_t llc = mb_llc_bytes();
        double span = (double)r->n_states * (double)row->weights_bytes;
        if (llc > 0 && r->n_states > 1 && span < 2.0 * (double)llc)
            add_reason(row, "cache cold: only %d weight copies (%.1f MiB, %s), less than twice "
                       "the LLC (%.1f MiB): the DRAM ceiling may be optimistic for this row",
                       r->n_states, span / (1 << 20),
                       r->n_states < want ? "all that could be created"
                       : want >= MAX_COLD_COPIES ? "the copy limit" : "the memory budget",
                       (double)llc / (1 << 20));
    }
    r->fc = (fwd_ctx){impl, r->states, r->n_states, 0, in, &r->y, {MB_OK, ""}};
    return 1;
}

/* Calibration (and warm-up). 1 when sampling may begin. */
static int impl_calibrate(impl_run *r, const mb_exec_config *cfg)
{
    mb_timing_opts opts;
    mb_timing_opts_default(&opts);
    opts.min_time = cfg->min_time;
    opts.reps = cfg->reps;
    opts.max_reps = cfg->reps * 4 > 20 ? cfg->reps * 4 : 20;
    /* more samples for a noisy case, within a budget that scales with --min-time */
    opts.budget = 3 * cfg->min_time + 0.1;
    /* a slow case that is still unstable after its reps samples: more of them, up to 3x their
     * time (timing.h), at most 20 s at the default --min-time and less with a smaller one */
    opts.slow_cap = fmin(20.0, 40 * cfg->min_time);
    if (mb_timer_begin(&r->timer, timed_forward, &r->fc, &opts, &r->tm)) {
        mb_row_set_status(r->row, MB_ROW_ERROR, "forward failed while timing: %s", r->fc.err.msg);
        return 0;
    }
    return 1;
}

/* One sample. 0 on success; on failure the row is an error and the timing ends. */
static int impl_sample(impl_run *r)
{
    if (mb_timer_sample(&r->timer, &r->tm)) {
        mb_row_set_status(r->row, MB_ROW_ERROR, "forward failed while timing: %s", r->fc.err.msg);
        return -1;
    }
    return 0;
}

/* The row's timing, ceiling and counter columns from the finished measurement. */
static void impl_finish(impl_run *r, const mb_exec_config *cfg)
{
    mb_row *row = r->row;
    mb_timing *tm = &r->tm;
    mb_timer_finish(&r->timer, tm);
    row->samples = (int64_t)tm->n;
    row->iters_per_sample = tm->iters;
    row->time_us_median = tm->s.median / 1e3;
    row->time_us_min = tm->s.min / 1e3;
    row->time_us_p95 = tm->s.p95 / 1e3;
    row->time_us_mad = tm->s.mad / 1e3;
    row->time_us_ci_lo = tm->s.ci_lo / 1e3;
    row->time_us_ci_hi = tm->s.ci_hi / 1e3;
    row->ci_rel = tm->ci_half;
    double sec = tm->s.median * 1e-9;
    if (sec > 0) {
        row->gflops = r->cost.flops / sec / 1e9;
        row->gbps = r->cost.bytes / sec / 1e9;
        mb_exec_roof(cfg, r->cost.flops, r->cost.bytes, r->ws_bytes, row);
    }
    row->unstable = tm->unstable;
    if (tm->reason[0])   /* why unstable, or a note on outliers */
        add_reason(row, "%s", tm->reason);

    /* counter pass, apart from timing so counting overhead never touches the timings */
    if (cfg->counters && cfg->counters->n > 0) {
        r->fc.next = 0;
        if (mb_counters_start(cfg->counters) == 0) {
            int64_t iters = tm->iters > 0 ? tm->iters : 1;
            int bad = 0;
            for (int64_t i = 0; i < iters && !bad; i++)
                bad = timed_forward(&r->fc);
            mb_counters_stop(cfg->counters, (double)iters, row->ctr);
            /* an implementation that does not count its work leaves those columns empty, not 0 */
            if (mb_work_uncounted(r->name, r->spec))
                mb_counters_blank_work(cfg->counters, row->ctr);
        }
    }
}

static void impl_release(impl_run *r)
{
    if (r->states) {
        for (int i = 1; i < r->n_states; i++) {
            r->impl->release(r->states[i]);
            mb_weights_free(&r->copies[i]);
        }
        free(r->states);
    }
    free(r->copies);
    if (r->impl && r->st)
        r->impl->release(r->st);
    mb_tensor_free(&r->y);
    mb_forward_info_free(&r->info);
    mb_timing_free(&r->tm);
    memset(r, 0, sizeof *r);
}

void mb_exec_roof(const mb_exec_config *cfg, double flops, double bytes, double ws_bytes,
                  mb_row *row)
{
    double peak = cfg->peak_gflops;
    if (!strcmp(row->dtype, "bf16")) {
        peak = cfg->peak_gflops_bf16;
        if (!(peak > 0) && cfg->peak_gflops > 0 && row->gflops > 0) {
            add_reason(row, "no pct_peak: no bf16 compute ceiling on this machine (%s)",
                       cfg->bf16_why && cfg->bf16_why[0] ? cfg->bf16_why : "not measured");
            return;
        }
    }
    if (!(peak > 0) || !(row->gflops > 0))
        return;
    double bw[MB_RL_NLEVELS];
    for (int l = 0; l < MB_RL_NLEVELS; l++)
        bw[l] = cfg->level_gbps[l];
    if (!(bw[MB_RL_DRAM] > 0))
        bw[MB_RL_DRAM] = cfg->dram_gbps;
    int level = mb_roof_level_of(ws_bytes, cfg->threads, cfg->cache_cold, cfg->cache_bytes);
    int used = -1;
    double ai = bytes > 0 ? flops / bytes : 0;
    double roof = mb_roof_ceiling(peak, bw, level, ai, &used);
    if (!(roof > 0))
        return;
    int above = 100.0 * row->gflops / roof > 100.0 * (1 + MB_ROOF_TOLERANCE);
    /* bandwidth-bound and above it: the start-of-run bandwidth may have been a busy moment's
     * (a shared host); a ceiling is the best the level delivers, so look again now */
    if (above && used >= 0 && roof < peak && cfg->remeasure_gbps) {
        double now = cfg->remeasure_gbps(used, cfg->threads, cfg->cache_bytes);
        if (now > bw[used]) {
            add_reason(row, "%s ceiling re-measured after this row read above it: %.1f -> %.1f "
                       "GB/s (this row's ceiling; the run's stays %.1f)", mb_roof_level_name(used),
                       bw[used], now, bw[used]);
            bw[used] = now;
            roof = mb_roof_ceiling(peak, bw, level, ai, &used);
        } else if (now > 0)
            add_reason(row, "%s ceiling re-measured after this row read above it: %.1f GB/s, "
                       "not higher than %.1f", mb_roof_level_name(used), now, bw[used]);
    }
    row->roof_gflops = roof;
    snprintf(row->roof_level, sizeof row->roof_level, "%s", used >= 0 ? mb_roof_level_name(used) : "peak");
    row->pct_peak = 100.0 * row->gflops / roof;
    row->above_roof = row->pct_peak > 100.0 * (1 + MB_ROOF_TOLERANCE);
    if (used > level)
        add_reason(row, "working set in %s, whose bandwidth is not measured: %s ceiling used",
                   mb_roof_level_name(level), mb_roof_level_name(used));
    /* the ceiling is the compute peak when the level's bandwidth slope lies above it: name
     * that, not the level (a compute-bound row above the peak says the peak was low) */
    if (row->above_roof && roof < peak)
        add_reason(row, "above its own ceiling: %.0f%% of the %s roof (%.1f GFLOP/s): the "
                   "ceiling or the cost model's FLOPs/bytes are off", row->pct_peak,
                   row->roof_level, roof);
    else if (row->above_roof)
        add_reason(row, "above its own ceiling: %.0f%% of the compute peak (%.1f GFLOP/s; "
                   "working set in %s): the peak was measured low (a busy machine?) or the "
                   "cost model's FLOPs are off", row->pct_peak, roof, row->roof_level);
    if (cfg->roof_implausible)
        add_reason(row, "ceilings from an implausible roofline (run.json roofline)");
}

/* Sequentially: each implementation set up, timed and released before the next. */
static void run_impl(const mb_case *c, const char *name, int naive_explicit, const mb_weights *w,
                     const mb_inputs *in, const mb_reference *ref, const mb_train_reference *tr,
                     const mb_exec_config *cfg, const mb_exec_emit *emit, int idx, mb_row *row)
{
    impl_run r;
    memset(&r, 0, sizeof r);
    r.name = name;
    r.row = row;
    r.idx = idx;
    r.tr = tr;
    r.emit = emit;
    if (impl_setup(&r, c, naive_explicit, w, in, ref, cfg) && impl_calibrate(&r, cfg)) {
        int bad = 0;
        while (!r.timer.done && !bad)
            bad = impl_sample(&r);
        if (!bad) {
            if (emit->samples)
                emit->samples(emit->ctx, idx, 0, r.tm.ns, r.tm.n);
            impl_finish(&r, cfg);
        }
    }
    impl_release(&r);
}

/* --interleave: every implementation set up (prepared, checked, cold copies) and calibrated,
 * then one sample of each per round until each has the samples it wants; the samples reach
 * samples.csv in the order they were taken. 0, or -1 when out of memory before anything ran. */
static int exec_interleaved(const mb_case *c, char impls[][24], int n, int naive_explicit,
                            const mb_weights *w, const mb_inputs *in, const mb_reference *ref,
                            const mb_exec_config *cfg, const mb_exec_emit *emit)
{
    impl_run *runs = calloc((size_t)n, sizeof *runs);
    mb_row *rows = calloc((size_t)n, sizeof *rows);
    int *next_rep = calloc((size_t)n, sizeof *next_rep);
    size_t cap = 256, taken = 0;
    int *order = malloc(cap * sizeof *order);
    if (!runs || !rows || !order || !next_rep) {
        free(runs);
        free(rows);
        free(order);
        free(next_rep);
        return -1;
    }
    int reset = mb_peak_rss_reset() == 0;
    int timed = 0;
    for (int i = 0; i < n; i++) {
        if (emit->start)
            emit->start(emit->ctx, i);
        mb_row_from_case(&rows[i], c, impls[i], cfg);
        runs[i].name = impls[i];
        runs[i].row = &rows[i];
        runs[i].idx = i;
        runs[i].emit = emit;   /* forward cases only: train cases never interleave */
        runs[i].timing = impl_setup(&runs[i], c, naive_explicit, w, in, ref, cfg);
    }
    for (int i = 0; i < n; i++)
        if (runs[i].timing) {
            if (emit->start)
                emit->start(emit->ctx, i);
            runs[i].timing = impl_calibrate(&runs[i], cfg);
            timed += runs[i].timing;
        }
    for (int more = 1; more;) {
        more = 0;
        for (int i = 0; i < n; i++) {
            if (!runs[i].timing || runs[i].timer.done)
                continue;
            if (emit->start)
                emit->start(emit->ctx, i);
            if (impl_sample(&runs[i]) != 0) {
                runs[i].timing = 0;
                continue;
            }
            if (taken == cap) {
                int *p = realloc(order, 2 * cap * sizeof *order);
                if (p) {
                    order = p;
                    cap *= 2;
                }
            }
            if (taken < cap)
                order[taken++] = i;
            more = 1;
        }
    }
    /* the samples in the order they were taken: rep k of impl i is its k-th sample */
    for (size_t k = 0; k < taken; k++) {
        int i = order[k];
        int rep = next_rep[i]++;
        if (runs[i].timing && emit->samples && (size_t)rep < runs[i].tm.n)
            emit->samples(emit->ctx, i, rep, &runs[i].tm.ns[rep], 1);
    }
    for (int i = 0; i < n; i++)
        if (runs[i].timing) {
            impl_finish(&runs[i], cfg);
            add_reason(&rows[i], "interleaved: timed in alternating rounds with %d other "
                       "implementation%s; peak_rss_bytes covers all of them", timed - 1,
                       timed == 2 ? "" : "s");
        }
    int64_t hwm = reset ? mb_hwm_bytes() : -1;
    for (int i = 0; i < n; i++) {
        impl_release(&runs[i]);
        rows[i].peak_rss_bytes = hwm > 0 ? hwm : mb_peak_rss_bytes();
        emit->row(emit->ctx, i, &rows[i]);
    }
    free(order);
    free(next_rep);
    free(runs);
    free(rows);
    return 0;
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

    /* --interleave: all implementations prepared at once, when the memory allows it */
    int inter = cfg->interleave && n > 1 && !setup_error[0] && !cfg->dry_run && !cfg->check_only;
    char seq_why[300] = "";
    if (inter && s->mode == MB_MODE_TRAIN) {   /* train_exec.c times a step per implementation */
        inter = 0;
        snprintf(seq_why, sizeof seq_why, "train steps are timed one implementation at a time");
    }
    if (inter && !mb_interleave_fits(s, impls, n, mb_reference_rows(s),
                                     cfg->threads, cfg->cache_cold, seq_why, sizeof seq_why))
        inter = 0;
    if (inter && exec_interleaved(c, impls, n, naive_explicit, &w, &in, &ref, cfg, emit) == 0)
        n = 0;   /* every row emitted */
    else if (inter)
        snprintf(seq_why, sizeof seq_why, "out of memory for the interleaved state");
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
            if (seq_why[0] && row.samples > 0)
                add_reason(&row, "--interleave: timed sequentially, %s", seq_why);
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
