/* `moebench case DESCRIPTOR [--impl LIST]`: one case, thin and self-contained: the naive
 * reference's output summary (shape, checksum, sum, routing statistics) and, for each listed
 * implementation, its error against naive and pass/fail. The full runner lives in cmd_run.c.
 * The case's memory estimate is checked against the available memory before anything is
 * allocated, and the work runs in a child (child_run.h), as the runner's cases do. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "case_exec.h"
#include "case_fits.h"
#include "child_run.h"
#include "commands.h"
#include "cli_options.h"
#include "load_env.h"
#include "train_exec.h"
#include "moebench/moebench.h"

static void print_routing(const mb_routing *r)
{
    printf("counts:");
    for (int64_t e = 0; e < r->E; e++)
        printf(" %" PRId64, r->counts[e]);
    printf("\nload_max: %.6g\naux_loss: %.9g\nz_loss: %.9g\n", mb_routing_load_max(r), r->aux_loss,
           r->z_loss);
    if (r->n_dropped > 0)   /* capacity (cap=c): assignments the experts did not compute */
        printf("dropped: %" PRId64 "\n", r->n_dropped);
}

/* Runs impl, compares with the reference exactly as the runner does (mb_reference_check);
 * returns 0 on pass or skip, 1 on failure. */
static int check_impl(const mb_impl *impl, const char *desc, const char *threads_arg,
                      const char *rows_arg, const mb_spec *s, const mb_weights *w,
                      const mb_inputs *in, const mb_reference *ref)
{
    const char *why = impl->unsupported ? impl->unsupported(s) : "no unsupported() hook";
    if (why) {
        printf("%s: skipped: %s\n", impl->name, why);
        return 0;
    }
    mb_err err;
    mb_err_clear(&err);
    mb_tensor y = {0};
    mb_forward_info info;
    memset(&info, 0, sizeof info);
    int bad = 1;
    if (mb_output_alloc(s, &y, &err) || mb_forward_info_alloc(s, &info, &err)) {
        printf("%s: error: %s\n", impl->name, err.msg);
        mb_tensor_free(&y);
        return 1;
    }
    mb_status st = mb_run_once(impl, s, w, in, &y, &info, &err);
    mb_check ck;
    if (st == MB_EUNSUPPORTED) {
        printf("%s: skipped: %s\n", impl->name, err.msg);
        bad = 0;
    } else if (st) {
        printf("%s: error: %s: %s\n", impl->name, mb_status_name(st), err.msg);
    } else if (!mb_reference_check(s, &y, &info, ref, &ck) && ck.status == MB_ROW_ERROR) {
        printf("%s: error: %s\n", impl->name, ck.what);
    } else {
        printf("%s: max_abs_err %.3g max_rel_err %.3g (atol %.3g rtol %.3g) %s", impl->name,
               ck.max_abs_err, ck.max_rel_err, ck.cmp.atol, ck.cmp.rtol, ck.ok ? "pass" : "fail");
        if (!ck.ok)
            printf(" (%s)", ck.what);
        else if (ref->sampled)
            printf(" (checked on %lld sampled rows)", (long long)ref->nrows);
        printf("\n");
        bad = !ck.ok;
    }
    if (bad)
        printf("repro: moebench case '%s' --impl %s%s%s%s%s\n", desc, impl->name,
               threads_arg ? " --threads " : "", threads_arg ? threads_arg : "",
               rows_arg ? " --ref-rows " : "", rows_arg ? rows_arg : "");
    mb_forward_info_free(&info);
    mb_tensor_free(&y);
    return bad;
}

/* mode=train: impl's step checked against naive's exactly as `run` checks it (train_exec.c
 * mb_train_row, untimed): routing, Y, dX and every trainable gradient (and the AdamW update).
 * Returns 0 on pass or skip, 1 on failure. */
static int check_train_impl(const mb_impl *impl, const char *desc, const char *threads_arg,
                            const char *rows_arg, const mb_spec *s, const mb_weights *w,
                            const mb_inputs *in, const mb_reference *ref,
                            const mb_train_reference *tr)
{
    const char *why = impl->unsupported ? impl->unsupported(s) : "no unsupported() hook";
    if (!why)
        why = mb_impl_mode_unsupported(impl, s);
    if (why) {
        printf("%s: skipped: %s\n", impl->name, why);
        return 0;
    }
    char repro[1024];
    snprintf(repro, sizeof repro, "moebench case '%s' --impl %s%s%s%s%s", desc, impl->name,
             threads_arg ? " --threads " : "", threads_arg ? threads_arg : "",
             rows_arg ? " --ref-rows " : "", rows_arg ? rows_arg : "");
    mb_err err;
    mb_err_clear(&err);
    mb_state *st = NULL;
    mb_status rc = impl->prepare(s, w, &st, &err);
    if (rc) {
        printf("%s: %s: prepare: %s\n", impl->name, rc == MB_EUNSUPPORTED ? "skipped" : "error",
               err.msg);
        return rc != MB_EUNSUPPORTED;
    }
    mb_row row;
    mb_row_init(&row);
    mb_train_opts to = {0, 0, 1, "checked, not timed", repro, NULL, NULL, NULL, 0};
    mb_train_row(impl, st, s, w, in, ref, tr, &to, &row);
    impl->release(st);
    int ok = !strcmp(row.status, "ok");
    if (ok)
        printf("%s: train step: max_abs_err %.3g max_rel_err %.3g pass%s%s%s\n", impl->name,
               row.max_abs_err, row.max_rel_err, row.reason[0] ? " (" : "", row.reason,
               row.reason[0] ? ")" : "");
    else   /* the reason ends with the repro line */
        printf("%s: train step: %s: %s\n", impl->name, row.status, row.reason);
    return !ok;
}

typedef struct {
    const char *threads_arg, *rows_arg;   /* as given, for the repro lines */
    int threads;
    long long ref_rows;
    const mb_spec *s;
    char *list;   /* implementations to check, comma-separated ("" for none) */
} case_job;

/* Weights, inputs, the reference and each implementation's check: the part that allocates,
 * run in the child. Returns the exit code. */
static int case_work(void *ctx)
{
    case_job *j = ctx;
    const mb_spec *s = j->s;
    if (j->threads > 0)
        mb_set_threads(j->threads);
    char canon[512];
    mb_spec_format(s, canon, sizeof canon);
    mb_err err;
    mb_err_clear(&err);
    mb_weights w;
    mb_inputs in;
    memset(&in, 0, sizeof in);
    mb_reference ref;
    memset(&ref, 0, sizeof ref);
    mb_train_reference tr;
    memset(&tr, 0, sizeof tr);
    int rc = 1;
    /* no reference in this direction or dtype: every implementation is skipped with its
     * reason, nothing created, as the runner's rows */
    const mb_impl *naive = mb_impl_find("naive");
    const char *no_ref = mb_impl_mode_unsupported(naive, s);
    int by_mode = no_ref != NULL;
    if (!no_ref)
        no_ref = naive && naive->unsupported ? naive->unsupported(s) : NULL;
    if (no_ref) {
        printf("case: %s\nnaive: skipped: %s\n", canon, no_ref);
        if (*j->list)
            for (char *tok = strtok(j->list, ","); tok; tok = strtok(NULL, ","))
                if (strcmp(tok, "naive")) {
                    const mb_impl *im = mb_impl_find(tok);
                    const char *why = by_mode ? no_ref
                                      : im->unsupported ? im->unsupported(s) : NULL;
                    printf("%s: skipped: %s\n", tok, why ? why : "no naive reference to check "
                           "against");
                }
        return 0;
    }
    if (mb_weights_create(s, &w, &err)) {
        fprintf(stderr, "moebench case: weights: %s\n", err.msg);
        return 1;
    }
    if (mb_inputs_create(s, &in, &err)) {
        fprintf(stderr, "moebench case: %s\n", err.msg);
        goto out;
    }
    /* the runner's reference: whole output, or sampled rows for large cases */
    if (mb_reference_build(s, &w, &in, j->ref_rows, &ref, &err)) {
        fprintf(stderr, "moebench case: naive reference failed: %s\n", err.msg);
        goto out;
    }
    printf("case: %s\n", canon);
    if (ref.sampled)
        printf("reference: naive on %lld sampled rows of %lld (%.1f GFLOP per full forward)\n",
               (long long)ref.nrows, (long long)mb_spec_T(s), mb_cost_of(s, NULL).flops / 1e9);
    printf("output: [%" PRId64 ", %" PRId64 "] %s\n", ref.y.shape[0], ref.y.shape[1],
           mb_dtype_name(ref.y.dtype));
    printf("checksum: %016" PRIx64 "\n", mb_tensor_hash(&ref.y));
    printf("sum: %.9g\n", mb_tensor_sum(&ref.y));
    if (ref.info.routing.idx)
        print_routing(&ref.info.routing);
    /* mode=train: the reference step (naive's gradients, on the sub-case of the sampled rows
     * for big cases), as `run` builds it; the summary above is the forward's (no dropout) */
    if (s->mode == MB_MODE_TRAIN) {
        if (mb_train_reference_build(mb_impl_find("naive"), s, &w, &in, &ref, &tr, &err)) {
            fprintf(stderr, "moebench case: naive reference step failed: %s\n", err.msg);
            rc = 1;
            goto out;
        }
        printf("train: gradients of X,%s%s\n", mb_variant_trainable(s->variant),
               tr.sub ? " on the sub-case of the sampled rows" : "");
    }
    rc = 0;
    if (*j->list)
        for (char *tok = strtok(j->list, ","); tok; tok = strtok(NULL, ","))
            if (strcmp(tok, "naive"))
                rc |= s->mode == MB_MODE_TRAIN
                          ? check_train_impl(mb_impl_find(tok), canon, j->threads_arg, j->rows_arg,
                                             s, &w, &in, &ref, &tr)
                          : check_impl(mb_impl_find(tok), canon, j->threads_arg, j->rows_arg, s,
                                       &w, &in, &ref);
out:
    mb_train_reference_free(&tr);
    mb_reference_free(&ref);
    mb_inputs_free(&in);
    mb_weights_free(&w);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: moebench case DESCRIPTOR [--impl LIST] [--threads N] [--ref-rows N]\n"
                 "  DESCRIPTOR   variant:key=value,...  e.g. 'lora:T=16,h=4096'\n"
                 "  --impl LIST  comma-separated implementations to check against naive "
                 "(or 'all')\n"
                 "  --threads N  threads for OpenMP, OpenBLAS and oneDNN (as `run --threads`)\n"
                 "  --ref-rows N check on N sampled rows of the naive reference (default: as the\n"
                 "               runner, %d sampled rows when naive costs > %.0f GFLOP, else all)\n",
            MB_REF_SAMPLE_ROWS, MB_NAIVE_FULL_FLOPS / 1e9);
    fputs(mb_load_env_usage, out);
}

int mb_cmd_case(int argc, char **argv)
{
    const char *desc = NULL, *impls = NULL, *threads_arg = NULL, *rows_arg = NULL;
    mb_load_request load = {0};
    char lerr[1024];
    for (int i = 1; i < argc; i++) {
        int took = mb_load_env_parse_arg(argc, argv, &i, &load, lerr, sizeof lerr);
        if (took < 0) {
            fprintf(stderr, "moebench case: %s\n", lerr);
            return 2;
        }
        if (took)
            continue;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--impl") && i + 1 < argc) {
            impls = argv[++i];
        } else if (!strncmp(argv[i], "--impl=", 7)) {
            impls = argv[i] + 7;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads_arg = argv[++i];
        } else if (!strcmp(argv[i], "--ref-rows") && i + 1 < argc) {
            rows_arg = argv[++i];
        } else if (argv[i][0] != '-' && !desc) {
            desc = argv[i];
        } else {
            fprintf(stderr, "moebench case: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!desc) {
        usage(stderr);
        return 2;
    }
    int lrc = mb_cli_load_env_start(&load, "case");
    if (lrc)
        return lrc;
    long threads = 0;
    long long ref_rows = -1;
    char *end;
    if (threads_arg && ((threads = strtol(threads_arg, &end, 10)), *end || threads < 1 || threads > 1 << 20)) {
        fprintf(stderr, "moebench case: --threads needs a positive integer, not '%s'\n", threads_arg);
        return 2;
    }
    char why[1024];
    if (threads > 0 && mb_threads_check((int)threads, "--threads", why, sizeof why)) {
        fprintf(stderr, "moebench case: %s\n", why);
        return 2;
    }
    if (rows_arg && ((ref_rows = strtoll(rows_arg, &end, 10)), *end || ref_rows < 1)) {
        fprintf(stderr, "moebench case: --ref-rows needs a positive integer, not '%s'\n", rows_arg);
        return 2;
    }
    mb_spec s;
    mb_err err;
    mb_err_clear(&err);
    if (mb_spec_parse(desc, &s, &err) || mb_spec_validate(&s, 0, &err)) {
        fprintf(stderr, "moebench: invalid case '%s': %s\n", desc, err.msg);
        return 2;
    }
    if (s.ep > 1) {
        /* expert parallelism runs in the ranks of an MPI job, never in this one process */
        fprintf(stderr, "moebench case '%s': ep=%d needs %d MPI ranks: put the case in a suite "
                        "and run mpirun -np %d moebench run SUITE --mpi\n", desc, s.ep, s.ep,
                s.ep);
        return 2;
    }
    /* Check the --impl names before the (possibly long) reference run. */
    char list[512] = "";
    if (impls) {
        if (!strcmp(impls, "all")) {
            for (int i = 0; i < mb_impl_count(); i++)
                if (strcmp(mb_impl_at(i)->name, "naive")) {
                    strcat(list, *list ? "," : "");
                    strncat(list, mb_impl_at(i)->name, sizeof list - strlen(list) - 2);
                }
        } else {
            snprintf(list, sizeof list, "%s", impls);
        }
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", list);
        for (char *tok = strtok(tmp, ","); tok; tok = strtok(NULL, ","))
            if (!mb_impl_find(tok)) {
                fprintf(stderr, "moebench case: unknown implementation '%s' (see moebench list)\n",
                        tok);
                return 2;
            }
    }
    /* valid means "can run here": the estimate of the reference and the listed
     * implementations against the available memory, before anything is allocated */
    const char *names[64];
    int n_names = 0;
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", list);
    for (char *tok = strtok(tmp, ","); tok && n_names < 64; tok = strtok(NULL, ","))
        if (strcmp(tok, "naive"))
            names[n_names++] = tok;
    int64_t T = mb_spec_T(&s);
    int64_t rows = ref_rows > 0 ? (ref_rows < T ? ref_rows : T) : mb_reference_rows(&s);
    if (mb_spec_memory_check(&s, names, n_names, rows, threads > 0 ? (int)threads :
                             mb_cpus_allowed(), 0, why, sizeof why)) {
        fprintf(stderr, "moebench case: %s\n", why);
        return 2;
    }
    case_job job = {threads_arg, rows_arg, (int)threads, ref_rows, &s, list};
    /* the work runs in a child, as the runner's cases do: a crash or an out-of-memory kill
     * is reported, not fatal */
    return mb_run_in_child("case", case_work, &job);
}
