/* `moebench run` and `moebench check`: load and validate suites, then run every case in a
 * forked child, appending each row to results.csv as it finishes (design sections 3-6). */
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "case_fits.h"
#include "cli_options.h"
#include "commands.h"
#include "counters.h"
#include "ep_exec.h"
#include "csv.h"
#include "library_dispatch.h"
#include "load_env.h"
#include "machine_state.h"
#include "moebench/cpu.h"
#include "moebench/library_isa.h"
#include "moebench/moebench.h"
#include "outdir.h"
#include "peer.h"
#include "plot.h"
#include "progress.h"
#include "provenance.h"
#include "fileutil.h"
#include "memory.h"
#include "merge.h"
#include "mpi_env.h"
#include "shard.h"
#include "suite_record.h"
#include "resume.h"
#include "roofline.h"
#include "runner.h"
#include "suite.h"
#include "timing.h"

#define DEFAULT_MIN_TIME MB_DEFAULT_MIN_TIME
#define DEFAULT_REPS MB_DEFAULT_REPS
#define DEFAULT_TIMEOUT MB_DEFAULT_TIMEOUT

typedef struct {
    int case_index;
    int n_impls;
    int naive_explicit;
    int ep;         /* ep=N case: run by every MPI rank together, in-process */
    char impls[MB_MAX_CASE_IMPLS][24];
} plan_item;

typedef struct {
    FILE *results, *samples;
    int n_ctr;
    const char *run_id;
    mb_progress progress;
    int rows_written;
} run_state;

static void resolve_suite(const char *arg, char *out, size_t n)
{
    if (access(arg, R_OK) == 0 || arg[0] == '/') {
        snprintf(out, n, "%s", arg);
        return;
    }
    snprintf(out, n, "%s/%s", MOEBENCH_SOURCE_DIR, arg);
    if (access(out, R_OK) != 0)
        snprintf(out, n, "%s", arg);   /* the loader reports the original name */
}

static int in_list(const char *list, const char *name)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (!strcmp(t, name))
            return 1;
    return 0;
}

static void on_row(void *ctx, const mb_row *row_in)
{
    run_state *st = ctx;
    mb_row row = *row_in;
    /* merged runs last (naive blas onednn avx512 merged): the unmerged rows of its case are
     * already recorded */
    mb_progress_fill_breakeven(&st->progress, &row);
    if (st->samples) {
        /* the row's samples reach the disk before the row that refers to them */
        fflush(st->samples);
        fsync(fileno(st->samples));
    }
    if (st->results) {
        mb_csv_write_row(st->results, &row, st->n_ctr);
        /* the row must survive a crash of the harness itself */
        fflush(st->results);
        fsync(fileno(st->results));
    }
    mb_progress_row(&st->progress, &row, stderr);
    st->rows_written++;
    /* test hook (tests/cli_mpi_*.sh): this rank dies after writing that many rows, as a rank
     * killed by the OOM killer or a node failure would */
    const char *die_rank = getenv("MOEBENCH_TEST_DIE_RANK");
    const char *die_after = getenv("MOEBENCH_TEST_DIE_AFTER_ROWS");
    if (die_rank && die_after && mb_mpi_active() && atoi(die_rank) == mb_mpi_rank() &&
        st->rows_written >= atoi(die_after)) {
        fprintf(stderr, "moebench: test hook: rank %d aborts after %d rows\n", mb_mpi_rank(),
                st->rows_written);
        abort();
    }
}

static void on_sample(void *ctx, const char *case_desc, const char *impl, int threads,
                      const char *cache, int rep, int64_t ns)
{
    run_state *st = ctx;
    if (st->samples)
        mb_samples_write(st->samples, st->run_id, case_desc, impl, threads, cache, rep, ns);
}

/* Settings of case c after the command line's overrides. */
static void effective_config(const mb_cli_options *o, const mb_case *c, int online,
                             mb_exec_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->min_time = o->min_time > 0 ? o->min_time : c->min_time > 0 ? c->min_time : DEFAULT_MIN_TIME;
    cfg->reps = o->reps > 0 ? o->reps : c->reps > 0 ? c->reps : DEFAULT_REPS;
    cfg->cache_cold = o->cache ? o->cache == 2 : c->cache == 2;
    cfg->threads = o->threads > 0 ? o->threads : c->threads > 0 ? c->threads : online;
}

/* The run's settings for run.json; --resume compares the ones that shape rows with those of
 * the run it continues (resume.c). */
static cJSON *run_settings(const mb_cli_options *o, int check_mode, const mb_suite *suite)
{
    cJSON *settings = cJSON_CreateObject();
    cJSON_AddStringToObject(settings, "mode", check_mode ? "check" : (o->dry_run ? "dry-run" : "run"));
    cJSON_AddNumberToObject(settings, "threads_option", o->threads);
    cJSON_AddNumberToObject(settings, "min_time_s", o->min_time > 0 ? o->min_time : DEFAULT_MIN_TIME);
    cJSON_AddNumberToObject(settings, "reps", o->reps > 0 ? o->reps : DEFAULT_REPS);
    cJSON_AddStringToObject(settings, "cache_option", o->cache == 2 ? "cold" : o->cache == 1 ? "warm" : "suite/warm");
    cJSON_AddNumberToObject(settings, "timeout_s", o->timeout > 0 ? o->timeout : DEFAULT_TIMEOUT);
    cJSON_AddStringToObject(settings, "counters", o->counters ? o->counters : "auto");
    cJSON_AddStringToObject(settings, "variant_filter", o->variant ? o->variant : "");
    cJSON_AddStringToObject(settings, "impl_filter", o->impl ? o->impl : "");
    cJSON_AddStringToObject(settings, "regex_filter", o->filter ? o->filter : "");
    cJSON_AddBoolToObject(settings, "interleave", o->interleave);
    cJSON_AddBoolToObject(settings, "pin", o->pin);
    const char *core = mb_openblas_corename();
    cJSON_AddStringToObject(settings, "openblas_core", core ? core : "");
    char sh[17];
    mb_suite_hash(suite, sh);
    cJSON_AddStringToObject(settings, "suite_hash", sh);
    return settings;
}

static void make_run_id(char *out, size_t n, char *stamp, size_t sn)
{
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(stamp, sn, "%Y%m%dT%H%M%SZ", &tmv);
    snprintf(out, n, "%s-%05d", stamp, (int)(getpid() % 100000));
}

/* No ceilings anywhere: measure them once with the quick roofline (about 4 s) so pct_peak,
 * run.json and the roofline chart have them; stored as DIR/roofline.json and, when the source
 * tree has none (and $MOEBENCH_ROOFLINE does not point elsewhere), as results/roofline.json. */
static void measure_roofline(const char *cmd, const char *out_dir, mb_roof *roof, char *src,
                             size_t n)
{
    mb_roofline rl;
    char err[256] = "";
    /* one line, begun before the seconds of measuring so the wait is explained */
    fprintf(stderr, "moebench %s: no roofline.json found, measuring this machine's ceilings "
                    "(moebench roofline --quick; --no-roofline skips): ", cmd);
    if (mb_roofline_measure_forked(&rl, 1, err, sizeof err) != 0) {
        fprintf(stderr, "failed (%s); pct_peak stays empty\n", err);
        return;
    }
    cJSON *j = mb_roofline_to_json(&rl);
    if (!j) {
        fprintf(stderr, "out of memory\n");
        return;
    }
    mb_roof_from_json(j, roof);
    char path[4300];
    char stored[8800] = "";
    if (out_dir[0]) {
        snprintf(path, sizeof path, "%s/roofline.json", out_dir);
        if (mb_json_write_file(path, j) == 0) {
            snprintf(src, n, "%s", path);
            snprintf(stored, sizeof stored, "%s", path);
        } else
            fprintf(stderr, "moebench %s: warning: cannot write %s\n", cmd, path);
    }
    const char *env = getenv("MOEBENCH_ROOFLINE");
    const char *src_path = MOEBENCH_SOURCE_DIR "/results/roofline.json";
    if (!(env && *env) && access(src_path, F_OK) != 0) {
        if (mb_json_write_file(src_path, j) == 0) {
            if (!src[0])
                snprintf(src, n, "%s", src_path);
            size_t l = strlen(stored);
            snprintf(stored + l, sizeof stored - l, "%s%s", l ? " and " : "", src_path);
        }
    }
    fprintf(stderr, "peak %.1f GFLOP/s, DRAM %.1f GB/s (%d threads, %.1f s)%s%s\n",
            roof->peak_gflops, roof->dram_gbps,
            rl.threads, rl.seconds, stored[0] ? " -> " : " (not stored)", stored);

    cJSON_Delete(j);
}

/* Everything one run of `moebench run` / `check` holds; released in one place (run_cleanup)
 * whichever step stops the run. */
typedef struct {
    const char *cmd;
    int check_mode;
    int argc;
    char **argv;
    mb_cli_options o;
    mb_suite suite;
    char suite_name[256];
    plan_item *plan;
    int n_plan, total_rows, online;
    mb_counters counters;
    char ctr_cols[MB_MAX_COUNTERS][64];
    char run_id[48], stamp[32], out_dir[4096];
    int shard_index, shard_count;   /* 0/1 unless --shard or --mpi */
    char merged_out[4096];          /* --mpi: where rank 0 merges the shards */
    cJSON *shard_rows;              /* every row of the run with its shard (run.json) */
    int ran;                        /* the cases ran (collective steps reached) */
    int lock_fd;                    /* held while this process writes into out_dir */
    mb_resume done;
    char results_path[4200], samples_path[4200];
    run_state st;
    mb_roof roof;
    char roof_src[8400];
    double cache_bytes[3];          /* the roofline's, else this machine's (hwloc) */
    char **full_argv;
    cJSON *json;
    char json_path[4300];
    int rc_exit;
} run_ctx;

/* A step returns GO_ON, or the exit code the run stops with. */
#define GO_ON (-1)

/* Options; --help stops with 0. */
static int step_options(run_ctx *r)
{
    char err[1024] = "";
    if (mb_cli_parse(r->argc, r->argv, &r->o, err, sizeof err)) {
        fprintf(stderr, "moebench %s: %s\n", r->cmd, err);
        mb_cli_usage(stderr, r->cmd);
        return 2;
    }
    if (r->o.help) {
        mb_cli_usage(stdout, r->cmd);
        return 0;
    }
    if (r->o.threads > 0 && mb_threads_check(r->o.threads, "--threads", err, sizeof err)) {
        fprintf(stderr, "moebench %s: %s\n", r->cmd, err);
        return 2;
    }
    /* --openblas-core / --pin take effect in a re-executed image (machine/load_env.h) */
    mb_load_request load = {r->o.openblas_core, r->o.pin};
    int rc = mb_load_env_apply(&load, err, sizeof err);
    if (rc) {
        fprintf(stderr, "moebench %s: %s\n", r->cmd, err);
        return rc;
    }
    r->shard_count = 1;
    if (r->o.shard &&
        mb_shard_parse(r->o.shard, &r->shard_index, &r->shard_count, err, sizeof err)) {
        fprintf(stderr, "moebench %s: %s\n", r->cmd, err);
        return 2;
    }
    if (r->o.mpi) {
        if (mb_mpi_unavailable()) {
            fprintf(stderr, "moebench %s: --mpi: %s\n", r->cmd, mb_mpi_unavailable());
            return 2;
        }
        if (!mb_mpi_launched())
            fprintf(stderr, "moebench %s: --mpi without mpirun: one rank runs every case "
                            "(start it as mpirun -np N moebench %s ... --mpi)\n", r->cmd,
                    r->cmd);
        if (mb_mpi_init(NULL, NULL, err, sizeof err)) {
            fprintf(stderr, "moebench %s: --mpi: %s\n", r->cmd, err);
            return 2;
        }
        r->shard_index = mb_mpi_rank();
        r->shard_count = mb_mpi_size();
    }
    return GO_ON;
}

/* 1. every suite loaded and every case validated before anything runs */
static int step_load_suites(run_ctx *r)
{
    char err[1024] = "";
    if (r->o.n_suites == 0)
        r->o.suites[r->o.n_suites++] = "suites/default.ini";
    for (int i = 0; i < r->o.n_suites; i++) {
        char path[4096];
        resolve_suite(r->o.suites[i], path, sizeof path);
        if (mb_suite_load(path, &r->suite, err, sizeof err)) {
            fprintf(stderr, "moebench %s: %s\nnothing was run.\n", r->cmd, err);
            return 2;
        }
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        size_t l = strlen(r->suite_name);
        snprintf(r->suite_name + l, sizeof r->suite_name - l, "%s%.*s", i ? "+" : "",
                 (int)(strcspn(base, ".")), base);
    }
    return GO_ON;
}

/* 2. command-line selection: the cases and implementations to run */
static int step_plan(run_ctx *r)
{
    const mb_cli_options *o = &r->o;
    char err[1024] = "";
    if (o->variant) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", o->variant);
        char *save = NULL;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            mb_variant_id v;
            if (mb_variant_parse(t, &v)) {
                fprintf(stderr, "moebench %s: --variant: unknown variant '%s'\n", r->cmd, t);
                return 2;
            }
        }
    }
    regex_t re;
    int have_re = 0;
    if (o->filter) {
        int rc = regcomp(&re, o->filter, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            regerror(rc, &re, err, sizeof err);
            fprintf(stderr, "moebench %s: --filter '%s': %s\n", r->cmd, o->filter, err);
            return 2;
        }
        have_re = 1;
    }
    r->plan = calloc(r->suite.n ? r->suite.n : 1, sizeof *r->plan);
    if (!r->plan) {
        fprintf(stderr, "moebench %s: out of memory (plan of %zu cases)\n", r->cmd, r->suite.n);
        if (have_re)
            regfree(&re);
        return 1;
    }
    int rc = GO_ON;
    for (size_t i = 0; i < r->suite.n; i++) {
        const mb_case *c = &r->suite.cases[i];
        if (o->variant && !in_list(o->variant, mb_variant_name(c->spec.variant)))
            continue;
        if (have_re && regexec(&re, c->desc, 0, NULL, 0) != 0)
            continue;
        plan_item *p = &r->plan[r->n_plan];
        p->case_index = (int)i;
        char bad[64];
        p->n_impls = mb_case_impls(c, o->impl, p->impls, MB_MAX_CASE_IMPLS, &p->naive_explicit,
                                   bad, sizeof bad);
        if (p->n_impls < 0) {
            fprintf(stderr, "moebench %s: --impl: unknown implementation '%s' (see `moebench list`)\n",
                    r->cmd, bad);
            rc = 2;
            break;
        }
        if (p->n_impls == 0)
            continue;
        r->total_rows += p->n_impls;
        r->n_plan++;
    }
    if (have_re)
        regfree(&re);
    if (rc != GO_ON)
        return rc;
    if (r->n_plan == 0) {
        /* a selection that keeps nothing is a mistake in the command line: an empty run with
         * exit 0 reads as "all passed" */
        fprintf(stderr, "moebench %s: no case of the %zu in the suites is left by", r->cmd,
                r->suite.n);
        if (o->variant)
            fprintf(stderr, " --variant %s", o->variant);
        if (o->filter)
            fprintf(stderr, " --filter '%s'", o->filter);
        if (o->impl)
            fprintf(stderr, " --impl %s", o->impl);
        if (!o->variant && !o->filter && !o->impl)
            fprintf(stderr, " the suites' impl lists");
        fprintf(stderr, "\nnothing was run.\n");
        return 2;
    }
    r->online = (int)sysconf(_SC_NPROCESSORS_ONLN);
    /* valid means "can run here": threads and memory, before anything is probed or run */
    for (int i = 0; i < r->n_plan; i++) {
        mb_exec_config ec;
        const mb_case *c = &r->suite.cases[r->plan[i].case_index];
        effective_config(o, c, r->online, &ec);
        if (mb_case_fits(c, r->plan[i].impls, r->plan[i].n_impls, &ec, err, sizeof err)) {
            fprintf(stderr, "moebench %s: %s\nnothing was run.\n", r->cmd, err);
            return 2;
        }
    }
    return GO_ON;
}

/* 2b. --shard / --mpi: this shard's cases, chosen the same way by every shard (shard.h); the
 * rows of the whole run, each with its shard, for run.json (merge checks them). ep=N cases
 * need all N ranks: under --mpi every rank runs them together and shard 0 writes their rows. */
static int step_shard(run_ctx *r)
{
    int n = r->n_plan;
    double *cost = calloc((size_t)(n ? n : 1), sizeof *cost);
    int *pinned = calloc((size_t)(n ? n : 1), sizeof *pinned);
    int *owner = calloc((size_t)(n ? n : 1), sizeof *owner);
    if (!cost || !pinned || !owner) {
        free(cost);
        free(pinned);
        free(owner);
        fprintf(stderr, "moebench %s: out of memory\n", r->cmd);
        return 1;
    }
    int rc = GO_ON;
    for (int i = 0; i < n && rc == GO_ON; i++) {
        plan_item *p = &r->plan[i];
        const mb_case *c = &r->suite.cases[p->case_index];
        mb_exec_config ec;
        effective_config(&r->o, c, r->online, &ec);
        cost[i] = mb_shard_case_seconds(c, p->n_impls, ec.min_time, ec.reps);
        pinned[i] = -1;
        if (c->spec.ep <= 1)
            continue;
        p->ep = c->spec.ep;
        pinned[i] = 0;
        if (mb_mpi_unavailable())
            continue;   /* its rows are skipped with the reason (step_run_cases) */
        if (!r->o.mpi || mb_mpi_size() != c->spec.ep) {
            fprintf(stderr, "moebench %s: %s: ep=%d needs %d MPI ranks: mpirun -np %d moebench "
                            "%s ... --mpi (%s)\nnothing was run.\n", r->cmd, c->desc,
                    c->spec.ep, c->spec.ep, c->spec.ep, r->cmd,
                    r->o.mpi ? "this job has another number of ranks" : "no --mpi given");
            rc = 2;
        }
    }
    if (rc == GO_ON)
        mb_shard_assign(cost, pinned, n, r->shard_count, owner);
    if (rc == GO_ON && (r->o.shard || r->o.mpi)) {
        r->shard_rows = cJSON_CreateArray();
        int k = 0;
        r->total_rows = 0;
        for (int i = 0; i < n; i++) {
            plan_item *p = &r->plan[i];
            const mb_case *c = &r->suite.cases[p->case_index];
            mb_exec_config ec;
            effective_config(&r->o, c, r->online, &ec);
            for (int j = 0; j < p->n_impls; j++) {
                char key[1200];
                mb_merge_row_key(c->desc, p->impls[j], ec.threads, ec.cache_cold ? "cold" : "warm",
                                 key, sizeof key);
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "row", key);
                cJSON_AddNumberToObject(e, "shard", owner[i]);
                cJSON_AddItemToArray(r->shard_rows, e);
            }
            if (owner[i] == r->shard_index || (p->ep && r->o.mpi)) {
                r->plan[k++] = *p;
                r->total_rows += p->n_impls;
            }
        }
        r->n_plan = k;
        double mine = 0, all = 0;
        int n_ep = 0, n_mine = 0;
        for (int i = 0; i < n; i++) {
            if (pinned[i] >= 0) {   /* ep cases: every rank's */
                n_ep++;
                continue;
            }
            all += cost[i];
            if (owner[i] == r->shard_index) {
                mine += cost[i];
                n_mine++;
            }
        }
        fprintf(stderr, "moebench %s: shard %d/%d: %d of %d cases, %.0f%% of their estimated "
                        "time", r->cmd, r->shard_index, r->shard_count, n_mine, n - n_ep,
                all > 0 ? 100 * mine / all : 0.0);
        if (n_ep)
            fprintf(stderr, "; %d ep case%s%s", n_ep, n_ep == 1 ? "" : "s",
                    r->o.mpi ? " run by all ranks together" : " (skipped: built without MPI)");
        fputc('\n', stderr);
    }
    free(cost);
    free(pinned);
    free(owner);
    return rc;
}

/* 3. counters: probed once, before any child */
static int step_counters(run_ctx *r)
{
    char err[1024] = "";
    if (mb_counters_probe(&r->counters,
                          r->check_mode ? "none" : (r->o.counters ? r->o.counters : "auto"), err,
                          sizeof err)) {
        fprintf(stderr, "moebench %s: %s\n", r->cmd, err);
        return 2;
    }
    for (int i = 0; i < r->counters.n; i++)
        snprintf(r->ctr_cols[i], sizeof r->ctr_cols[i], "%s", r->counters.column[i]);
    r->st.n_ctr = r->counters.n;
    return GO_ON;
}

/* --resume DIR of a shard: the same shard of the same split (its rows are another shard's
 * otherwise, and merge would find them duplicated or missing) */
static int resume_same_shard(run_ctx *r)
{
    char path[4300], now[48] = "";
    snprintf(path, sizeof path, "%s/run.json", r->out_dir);
    if (r->o.shard)
        snprintf(now, sizeof now, "%d/%d", r->shard_index, r->shard_count);
    char *text = mb_read_file(path, 256u << 20, NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "settings"), "shard");
    char was[48];
    snprintf(was, sizeof was, "%s", cJSON_IsString(v) ? v->valuestring : "");
    cJSON_Delete(j);
    if (strcmp(was, now) == 0)
        return GO_ON;
    fprintf(stderr, "moebench %s: --resume %s: the run in it was %s%s, this one %s%s\nnothing "
                    "was run.\n", r->cmd, r->o.resume, was[0] ? "shard " : "not sharded", was,
            now[0] ? "shard " : "not sharded", now);
    return 1;
}

/* --resume DIR: DIR holds a results.csv of the same run, which no other process writes */
static int resume_dir(run_ctx *r)
{
    const char *cmd = r->cmd;
    char rp[4200];
    snprintf(rp, sizeof rp, "%s/results.csv", r->out_dir);
    if (access(rp, F_OK) != 0) {
        fprintf(stderr, "moebench %s: --resume %s: there is no %s (nothing to resume; "
                        "start a new run with --out)\nnothing was run.\n", cmd, r->o.resume, rp);
        return 1;
    }
    /* one writer: the run itself may still be going, or another resume of it */
    char why[8192];
    r->lock_fd = mb_outdir_lock(r->out_dir, why, sizeof why);
    if (r->lock_fd < 0) {
        fprintf(stderr, "moebench %s: --resume %s: %s\nnothing was run.\n", cmd, r->o.resume, why);
        return 1;
    }
    /* the same suite, settings and commit, or the rows of two kinds of run get mixed */
    cJSON *now = mb_provenance_identity(&r->suite, run_settings(&r->o, r->check_mode, &r->suite));
    int differs = mb_resume_check_run(r->out_dir, now, why, sizeof why);
    cJSON_Delete(now);
    if (differs) {
        fprintf(stderr, "moebench %s: --resume %s: %s\nnothing was run.\n", cmd, r->o.resume, why);
        return 1;
    }
    return resume_same_shard(r);
}

/* --out DIR: a new directory (--force moves an existing one aside first) */
static int out_dir_new(run_ctx *r)
{
    const char *cmd = r->cmd, *out_dir = r->out_dir;
    char moved[4200], why[8800];
    struct stat sb;
    if (r->o.force && stat(out_dir, &sb) == 0) {
        /* a directory a run is still writing into is not moved from under it */
        int old_lock = S_ISDIR(sb.st_mode) ? mb_outdir_lock(out_dir, why, sizeof why) : 0;
        int moved_ok = old_lock >= 0 &&
                       mb_outdir_move_aside(out_dir, moved, sizeof moved, why, sizeof why) == 0;
        if (old_lock > 0)
            close(old_lock);
        if (!moved_ok) {
            fprintf(stderr, "moebench %s: --force: %s\nnothing was run.\n", cmd, why);
            return 1;
        }
        fprintf(stderr, "moebench %s: --force: moved the existing %s aside to %s (nothing "
                        "in it was deleted)\n", cmd, out_dir, moved);
    }
    if (mb_outdir_create(out_dir, why, sizeof why) != 0) {
        if (errno == EEXIST && stat(out_dir, &sb) == 0 && S_ISDIR(sb.st_mode))
            fprintf(stderr, "moebench %s: --out %s: %s; a run writes into a directory of its "
                            "own. Pass --resume %s to continue the run in it, --force to move "
                            "it aside (to %s.old-<UTC time>) and start afresh, or another "
                            "--out\nnothing was run.\n", cmd, out_dir, why, out_dir, out_dir);
        else
            fprintf(stderr, "moebench %s: cannot create output directory: %s\nnothing was "
                            "run.\n", cmd, why);
        return 1;
    }
    return GO_ON;
}

/* --mpi: rank 0 names the merged directory OUT (--out, or results/<suite>-<UTC time>) and
 * every rank R creates OUT.shard-R-of-N for its rows; OUT itself is made by the merge. */
static int mpi_output_dirs(run_ctx *r)
{
    char base[4096] = "";
    if (mb_mpi_rank() == 0) {
        if (r->o.out)
            snprintf(base, sizeof base, "%s", r->out_dir);
        else
            snprintf(base, sizeof base, "%s/results/%s-%s", MOEBENCH_SOURCE_DIR,
                     r->suite_name, r->stamp);
        struct stat sb;
        if (lstat(base, &sb) == 0) {
            fprintf(stderr, "moebench %s: --mpi: %s exists: the merged run goes into a new "
                            "directory (give another --out)\nnothing was run.\n", r->cmd, base);
            base[0] = '\0';
        }
    }
    mb_mpi_bcast_str(base, sizeof base, 0);
    mb_mpi_bcast_str(r->stamp, sizeof r->stamp, 0);
    if (!base[0])
        return 1;
    snprintf(r->merged_out, sizeof r->merged_out, "%s", base);
    snprintf(r->out_dir, sizeof r->out_dir, "%s.shard-%d-of-%d", base, r->shard_index,
             r->shard_count);
    int rc = out_dir_new(r);
    if (rc != GO_ON)
        return rc;
    char why[8192];
    r->lock_fd = mb_outdir_lock(r->out_dir, why, sizeof why);
    if (r->lock_fd < 0)
        fprintf(stderr, "moebench %s: warning: %s\n", r->cmd, why);
    return GO_ON;
}

/* 4. output directory: fails before any case runs. Each run writes into a directory it
 * created (or, with --resume, into the one of the same run): never into another's. */
static int step_output_dir(run_ctx *r)
{
    make_run_id(r->run_id, sizeof r->run_id, r->stamp, sizeof r->stamp);
    r->st.run_id = r->run_id;
    if (r->o.resume)
        snprintf(r->out_dir, sizeof r->out_dir, "%s", r->o.resume);
    else if (r->o.out)
        snprintf(r->out_dir, sizeof r->out_dir, "%s", r->o.out);
    /* "DIR/" is DIR: moving it aside must not aim inside it */
    for (size_t l = strlen(r->out_dir); l > 1 && r->out_dir[l - 1] == '/'; l--)
        r->out_dir[l - 1] = '\0';

    int rc = GO_ON;
    if (r->o.mpi)
        return mpi_output_dirs(r);
    char sharded[64] = "";
    if (r->o.shard)
        snprintf(sharded, sizeof sharded, "-shard-%d-of-%d", r->shard_index, r->shard_count);
    if (r->o.resume) {
        rc = resume_dir(r);
    } else if (r->o.out) {
        rc = out_dir_new(r);
    } else if (!r->check_mode) {
        char base[4096], why[8800];
        snprintf(base, sizeof base, "%s/results/%s-%s%s", MOEBENCH_SOURCE_DIR, r->suite_name,
                 r->stamp, sharded);
        if (mb_outdir_create_fresh(base, r->out_dir, sizeof r->out_dir, why, sizeof why) != 0) {
            fprintf(stderr, "moebench %s: cannot create an output directory: %s\nnothing was "
                            "run.\n", r->cmd, why);
            rc = 1;
        }
    }
    if (rc != GO_ON)
        return rc;

    if (r->out_dir[0] && r->lock_fd < 0) {
        /* a new directory is ours from its mkdir; the lock only keeps --resume and --force
         * of other processes out while this run writes */
        char why[8192];
        r->lock_fd = mb_outdir_lock(r->out_dir, why, sizeof why);
        if (r->lock_fd < 0)
            fprintf(stderr, "moebench %s: warning: %s\n", r->cmd, why);
    }
    return GO_ON;
}

/* --resume: the rows already there, with this version's header and samples.csv columns */
static int resume_rows(run_ctx *r)
{
    char err[1024] = "";
    mb_resume_drop_partial_line(r->results_path);
    mb_resume_drop_partial_line(r->samples_path);
    /* the header must be the one this run would write (same counter columns) */
    char *hdr = NULL;
    size_t hlen = 0;
    FILE *mf = open_memstream(&hdr, &hlen);
    if (mf) {
        mb_csv_write_header(mf, r->counters.n, r->ctr_cols);
        fclose(mf);
    }
    int bad = !hdr || mb_resume_load(r->results_path, hdr, &r->done, err, sizeof err);
    free(hdr);
    if (bad) {
        fprintf(stderr, "moebench %s: --resume: %s\n", r->cmd, err);
        return 1;
    }
    /* samples.csv must have this version's columns too */
    FILE *sf = fopen(r->samples_path, "r");
    char sh[256] = "";
    if (sf) {
        if (!fgets(sh, sizeof sh, sf))
            sh[0] = '\0';
        fclose(sf);
        char *want = NULL;
        size_t wlen = 0;
        FILE *wf = open_memstream(&want, &wlen);
        if (wf) {
            mb_samples_write_header(wf);
            fclose(wf);
        }
        int differs = sh[0] && (!want || strcmp(sh, want) != 0);
        free(want);
        if (differs) {
            fprintf(stderr, "moebench %s: --resume: %s has other columns than this "
                            "version writes (run_id,case,impl,threads,cache,rep,time_ns)\n"
                            "nothing was run.\n", r->cmd, r->samples_path);
            return 1;
        }
    }
    if (r->done.run_id[0])
        snprintf(r->run_id, sizeof r->run_id, "%s", r->done.run_id);
    return GO_ON;
}

/* results.csv and samples.csv opened (appended to when resuming); rows already done dropped
 * from the plan */
static int step_result_files(run_ctx *r)
{
    if (r->out_dir[0]) {
        snprintf(r->results_path, sizeof r->results_path, "%s/results.csv", r->out_dir);
        snprintf(r->samples_path, sizeof r->samples_path, "%s/samples.csv", r->out_dir);
        int resuming = r->o.resume != NULL;
        if (resuming) {
            int rc = resume_rows(r);
            if (rc != GO_ON)
                return rc;
        }
        r->st.results = fopen(r->results_path, resuming ? "a" : "w");
        int samples_exist = resuming && access(r->samples_path, F_OK) == 0;
        r->st.samples = r->st.results ? fopen(r->samples_path, samples_exist ? "a" : "w") : NULL;
        if (!r->st.results || !r->st.samples) {
            fprintf(stderr, "moebench %s: cannot write to %s: %s\nnothing was run.\n", r->cmd,
                    r->out_dir, strerror(errno));
            return 1;
        }
        if (!resuming) {
            mb_csv_write_header(r->st.results, r->counters.n, r->ctr_cols);
            fflush(r->st.results);
        }
        if (!samples_exist)
            mb_samples_write_header(r->st.samples);
        fflush(r->st.samples);
    }

    /* drop rows already done (resume) */
    if (r->done.n) {
        r->total_rows = 0;
        for (int i = 0; i < r->n_plan; i++) {
            plan_item *p = &r->plan[i];
            int k = 0;
            mb_exec_config ec;
            effective_config(&r->o, &r->suite.cases[p->case_index], r->online, &ec);
            for (int j = 0; j < p->n_impls; j++)
                if (!mb_resume_done(&r->done, r->suite.cases[p->case_index].desc, p->impls[j],
                                    ec.threads, ec.cache_cold ? "cold" : "warm"))
                    memmove(p->impls[k++], p->impls[j], 24);
            p->n_impls = k;
            r->total_rows += k;
        }
        fprintf(stderr, "moebench %s: resuming %s: %zu rows already done, %d to run\n", r->cmd,
                r->out_dir, r->done.n, r->total_rows);
    }
    return GO_ON;
}

/* 5. settings and provenance: the ceilings, run.json */
static int step_provenance(run_ctx *r)
{
    const mb_cli_options *o = &r->o;
    if (mb_roof_find(r->out_dir, &r->roof, r->roof_src, sizeof r->roof_src) != 0 &&
        !r->check_mode && !o->dry_run && !o->no_roofline)
        measure_roofline(r->cmd, r->out_dir, &r->roof, r->roof_src, sizeof r->roof_src);
    /* the cache sizes that decide each row's level: the roofline's (its levels were sized
     * from them), else this machine's, for a roofline.json older than the cache-aware one */
    double here[3];
    mb_rl_cache_sizes(here);
    for (int l = 0; l < 3; l++)
        r->roof.cache_bytes[l] = r->cache_bytes[l] =
            r->roof.cache_bytes[l] > 0 ? r->roof.cache_bytes[l] : here[l];
    if (r->roof.implausible && !r->check_mode && !o->dry_run)
        fprintf(stderr, "moebench %s: warning: the ceilings in %s are implausible (%s); pct_peak "
                        "uses them and every row says so. Measure again on a quiet machine: "
                        "moebench roofline\n", r->cmd, r->roof_src[0] ? r->roof_src : "roofline.json",
                r->roof.implausible_why);
    r->full_argv = calloc((size_t)r->argc + 1, sizeof *r->full_argv);
    if (!r->full_argv) {
        fprintf(stderr, "moebench %s: out of memory\n", r->cmd);
        return 1;
    }
    cJSON *settings = run_settings(o, r->check_mode, &r->suite);
    cJSON_AddNumberToObject(settings, "ci_target", 0.05);
    cJSON_AddNumberToObject(settings, "naive_full_reference_max_flops", MB_NAIVE_FULL_FLOPS);
    cJSON_AddNumberToObject(settings, "reference_sample_rows", MB_REF_SAMPLE_ROWS);
    cJSON_AddStringToObject(settings, "output_dir", r->out_dir);
    cJSON_AddStringToObject(settings, "resumed_from", o->resume ? o->resume : "");
    cJSON_AddStringToObject(settings, "peer", o->peer ? o->peer : "");
    if (r->shard_rows) {
        char sh[48];
        snprintf(sh, sizeof sh, "%d/%d", r->shard_index, r->shard_count);
        cJSON_AddStringToObject(settings, "shard", sh);
    }
    r->full_argv[0] = "moebench";
    for (int i = 0; i < r->argc; i++)
        r->full_argv[i + 1] = r->argv[i];
    mb_provenance prov = {.run_id = r->run_id, .argc = r->argc + 1, .argv = r->full_argv,
                          .suite_files = mb_suite_files_json(&r->suite, 1),
                          .cases = r->suite.n, .counters = mb_counters_json(&r->counters),
                          .papi_library = r->counters.library,
                          .peak_rss_method = mb_peak_rss_method(), .settings = settings,
                          .roof = r->roof, .roofline_source = r->roof_src[0] ? r->roof_src : NULL};
    r->json = mb_provenance_build(&prov);
    cJSON_AddItemToObject(r->json, "library_dispatch", mb_library_dispatch_json());
    cJSON_AddItemToObject(r->json, "machine_state", mb_machine_state_json(o->threads, o->pin));
    if (r->json && r->shard_rows) {
        /* which shard this is and every row of the whole run with its shard: merge checks
         * that the shards hold them all, once */
        cJSON *sh = cJSON_AddObjectToObject(r->json, "shard");
        cJSON_AddNumberToObject(sh, "index", r->shard_index);
        cJSON_AddNumberToObject(sh, "count", r->shard_count);
        cJSON_AddBoolToObject(sh, "mpi", r->o.mpi);
        if (r->o.mpi)
            cJSON_AddStringToObject(sh, "mpi_library", mb_mpi_version());
        cJSON_AddItemToObject(sh, "rows", r->shard_rows);
        r->shard_rows = NULL;
    }
    if (r->out_dir[0]) {
        snprintf(r->json_path, sizeof r->json_path, "%s/run.json", r->out_dir);
        if (o->resume && access(r->json_path, F_OK) == 0)   /* keep the original provenance */
            snprintf(r->json_path, sizeof r->json_path, "%s/run-resume-%s.json", r->out_dir,
                     r->stamp);
        if (mb_json_write_file(r->json_path, r->json))
            fprintf(stderr, "moebench %s: warning: cannot write %s\n", r->cmd, r->json_path);
    }
    return GO_ON;
}

/* like Google Benchmark: say when the numbers cannot be trusted as they are */
static void warn_untrustworthy(const run_ctx *r)
{
    mb_library_dispatch_print(stderr, r->cmd, 0);
    mb_machine_state_warn_busy(stderr, r->cmd, r->json);
    if (!r->check_mode && !r->o.dry_run) {
        if (strcmp(MOEBENCH_BUILD_TYPE, "Release") != 0 && strcmp(MOEBENCH_BUILD_TYPE, "RelWithDebInfo") != 0)
            fprintf(stderr, "moebench: warning: this is a %s build; timings are not representative "
                            "(configure with -DCMAKE_BUILD_TYPE=Release)\n", MOEBENCH_BUILD_TYPE);
#ifdef __SANITIZE_ADDRESS__
        fprintf(stderr, "moebench: warning: built with sanitizers; timings are not representative\n");
#endif
        if (mb_cpu_avx512_emulated())
            fprintf(stderr, "moebench: warning: this build emulates AVX-512 with SIMDe (a test "
                            "build, MOEBENCH_AVX512_EMULATE): avx512 rows check values, their "
                            "times are not this CPU's\n");
        char gov[64] = "";
        if (mb_cpu_governor(gov, sizeof gov) == 0 && gov[0] && strcmp(gov, "performance") != 0)
            fprintf(stderr, "moebench: warning: CPU frequency scaling is '%s'; timings may vary "
                            "(set the governor to performance)\n", gov);
    }
    if (r->counters.n > 0 && r->counters.no_hardware)
        fprintf(stderr, "moebench: no hardware performance counters on this machine%s: only software "
                        "events (perf::TASK-CLOCK, perf::PAGE-FAULTS, ...) and the kernels' own counts "
                        "(sde:::moebench::flops, ...) are counted; the columns of hardware events stay "
                        "empty (sources and reasons in run.json).\n",
                mb_is_vm() ? " (a virtual machine without a virtualised PMU)" : "");
}

/* 6. the cases */
static void step_run_cases(run_ctx *r)
{
    mb_progress_init(&r->st.progress, r->total_rows);
    mb_sink sink = {on_row, on_sample, &r->st};
    /* the ep cases last, all ranks together: a rank that finished its shard early would
     * otherwise wait in MPI for the others while they time their cases */
    for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < r->n_plan; i++) {
        plan_item *p = &r->plan[i];
        if (p->n_impls == 0 || (p->ep != 0) != pass)
            continue;
        if (p->ep && mb_mpi_active())
            mb_mpi_barrier();
        const mb_case *c = &r->suite.cases[p->case_index];
        mb_exec_config cfg;
        effective_config(&r->o, c, r->online, &cfg);
        cfg.dry_run = r->o.dry_run;
        cfg.check_only = r->check_mode;
        int one = cfg.threads == 1;
        cfg.peak_gflops = one && r->roof.peak_gflops_1t > 0 ? r->roof.peak_gflops_1t
                                                            : r->roof.peak_gflops;
        cfg.dram_gbps = one && r->roof.dram_gbps_1t > 0 ? r->roof.dram_gbps_1t : r->roof.dram_gbps;
        cfg.peak_gflops_bf16 = one && r->roof.bf16_gflops_1t > 0 ? r->roof.bf16_gflops_1t
                                                                  : r->roof.bf16_gflops;
        cfg.bf16_why = r->roof.bf16_why;
        for (int l = 0; l < MB_RL_NLEVELS; l++)
            cfg.level_gbps[l] = one && r->roof.gbps_1t[l] > 0 ? r->roof.gbps_1t[l] : r->roof.gbps[l];
        for (int l = 0; l < 3; l++)
            cfg.cache_bytes[l] = r->cache_bytes[l];
        cfg.roof_implausible = r->roof.implausible;
        cfg.remeasure_gbps = r->check_mode || r->o.dry_run ? NULL : mb_roofline_level_now;
        cfg.interleave = r->o.interleave;
        cfg.run_id = r->run_id;
        cfg.counters = &r->counters;
        double timeout = r->o.timeout > 0 ? r->o.timeout : c->timeout > 0 ? c->timeout
                                                                          : DEFAULT_TIMEOUT;
        if (p->ep)   /* every rank together, in this process (dist/ep_exec.h) */
            mb_ep_run_case(c, p->impls, p->n_impls, &cfg, &sink);
        else
            mb_run_case(c, p->impls, p->n_impls, p->naive_explicit, &cfg, timeout, &sink);
        if (r->st.samples)
            fflush(r->st.samples);
    }
}

static void close_result_files(run_ctx *r)
{
    if (r->st.results)
        fclose(r->st.results);
    if (r->st.samples)
        fclose(r->st.samples);
    r->st.results = r->st.samples = NULL;
}

/* 7b. the PyTorch peer on every case of the run, into the same results.csv; its exit code
 * (0 ok, 1 mismatches, 2 failed), -1 when it did not run */
static int run_peer(run_ctx *r)
{
    const char *cmd = r->cmd;
    if (!(r->o.peer && r->out_dir[0] && !r->check_mode && !r->o.dry_run)) {
        if (r->o.peer)
            fprintf(stderr, "moebench %s: --peer torch ignored (%s)\n", cmd,
                    r->check_mode ? "check" : r->o.dry_run ? "--dry-run" : "no output directory");
        return -1;
    }
    int peer_rc;
    char exe[4096];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el <= 0) {
        fprintf(stderr, "moebench %s: --peer torch: cannot read /proc/self/exe: %s\n", cmd,
                strerror(errno));
        peer_rc = 2;
    } else {
        exe[el] = '\0';
        fprintf(stderr, "moebench %s: running the torch peer on the cases of %s\n", cmd,
                r->out_dir);
        peer_rc = mb_peer_torch_run(exe, r->out_dir, r->o.threads);
    }
    mb_progress_peer(&r->st.progress, r->results_path, r->run_id);
    return peer_rc;
}

/* 7. summary, provenance update, peer, charts; the run's exit code */
static int step_finish(run_ctx *r)
{
    const char *cmd = r->cmd;
    int rc_exit = 0;
    mb_progress_done(&r->st.progress, cmd, stderr);
    if (mb_progress_failures(&r->st.progress))
        rc_exit = 1;
    close_result_files(r);

    if (r->json_path[0]) {
        cJSON *res = cJSON_AddObjectToObject(r->json, "result");
        for (int i = 0; i < MB_ROW_N_STATUS; i++)
            cJSON_AddNumberToObject(res, mb_row_status_names[i], r->st.progress.n_status[i]);
        cJSON_AddNumberToObject(res, "elapsed_s", mb_now_s() - r->st.progress.t_start);
        mb_machine_state_end(r->json);
        mb_json_write_file(r->json_path, r->json);
    }
    /* run.json is final before the peer adds its "peer" object to it */
    int peer_rc = run_peer(r);
    if (peer_rc == 1 && rc_exit == 0)
        rc_exit = 1;
    else if (peer_rc == 2)
        rc_exit = 2;
    if (!r->o.dry_run && !r->check_mode)
        mb_progress_summary(&r->st.progress, stdout);
    if (peer_rc >= 0)
        printf("torch peer: %s\n", peer_rc == 0 ? "every torch row ok" : peer_rc == 1 ?
               "some torch rows are mismatches (exit 1)" : "error: the peer failed (exit 2)");
    if (r->out_dir[0])
        printf("results: %s\n", r->out_dir);
    if (r->out_dir[0] && !r->check_mode && !r->o.dry_run && !r->o.no_plot && !r->o.mpi &&
        r->st.progress.n_status[MB_ROW_OK] > 0) {
        if (mb_plot_results(r->out_dir) != 0)
            fprintf(stderr, "moebench %s: warning: plotting failed (results are intact)\n", cmd);
    }
    return rc_exit;
}

/* --mpi: every rank's exit code; rank 0 merges the shards after all finished. A rank that
 * stopped before the cases ran ends the job (the others would wait for it forever). */
static int mpi_finish(run_ctx *r, int rc)
{
    if (!r->ran && rc != 0) {
        mb_mpi_abort(rc);
        return rc;
    }
    if (!r->ran) {   /* --help, --validate-only: the same on every rank */
        mb_mpi_finalize();
        return rc;
    }
    mb_mpi_barrier();   /* every shard's files are closed */
    rc = mb_mpi_max_int(rc);
    if (mb_mpi_rank() == 0) {
        int n = mb_mpi_size();
        char **dirs = calloc((size_t)n, sizeof *dirs);
        int ok = dirs != NULL;
        for (int i = 0; ok && i < n; i++) {
            dirs[i] = malloc(4200);
            ok = dirs[i] != NULL;
            if (ok)
                snprintf(dirs[i], 4200, "%s.shard-%d-of-%d", r->merged_out, i, n);
        }
        char *err = ok ? malloc(200000) : NULL;
        int mrc = err ? mb_merge_dirs(r->merged_out, dirs, n, err, 200000) : 1;
        if (mrc) {
            fprintf(stderr, "moebench %s: --mpi: merging the %d shards failed (each shard's rows "
                            "stay in %s.shard-*): %s\n", r->cmd, n, r->merged_out,
                    err ? err : "out of memory");
            if (rc == 0)
                rc = 1;
        } else {
            printf("merged %d ranks: %s\n", n, r->merged_out);
            if (!r->o.no_plot && !r->check_mode && !r->o.dry_run &&
                mb_plot_results(r->merged_out) != 0)
                fprintf(stderr, "moebench %s: warning: plotting failed (results are intact)\n",
                        r->cmd);
        }
        for (int i = 0; dirs && i < n; i++)
            free(dirs[i]);
        free(dirs);
        free(err);
    }
    mb_mpi_finalize();
    return rc;
}

/* The one teardown, whichever step the run stopped at (every field starts zeroed/closed). */
static void run_cleanup(run_ctx *r)
{
    close_result_files(r);
    cJSON_Delete(r->json);
    cJSON_Delete(r->shard_rows);
    if (r->lock_fd >= 0)
        close(r->lock_fd);
    free(r->full_argv);
    mb_resume_free(&r->done);
    mb_progress_free(&r->st.progress);
    free(r->plan);
    mb_suite_free(&r->suite);
}

static int run_main(int argc, char **argv, int check_mode)
{
    run_ctx *r = calloc(1, sizeof *r);
    if (!r) {
        fprintf(stderr, "moebench %s: out of memory\n", check_mode ? "check" : "run");
        return 1;
    }
    r->cmd = check_mode ? "check" : "run";
    r->check_mode = check_mode;
    r->argc = argc;
    r->argv = argv;
    r->lock_fd = -1;

    int rc = step_options(r);
    if (rc == GO_ON)
        rc = step_load_suites(r);
    if (rc == GO_ON)
        rc = step_plan(r);
    if (rc == GO_ON && !r->o.validate_only)
        rc = step_shard(r);
    if (rc == GO_ON && r->o.validate_only) {
        /* CI-cheap: every case parsed and validated, nothing probed, written or run */
        printf("%d cases, %d rows (%zu cases in the suites before --variant/--filter)\n",
               r->n_plan, r->total_rows, r->suite.n);
        rc = 0;
    }
    if (rc == GO_ON)
        rc = step_counters(r);
    if (rc == GO_ON)
        rc = step_output_dir(r);
    if (rc == GO_ON)
        rc = step_result_files(r);
    if (rc == GO_ON)
        rc = step_provenance(r);
    if (rc == GO_ON) {
        warn_untrustworthy(r);
        fprintf(stderr, "moebench %s: %d cases, %d rows%s%s\n", r->cmd, r->n_plan, r->total_rows,
                r->out_dir[0] ? " -> " : "", r->out_dir);
        r->ran = 1;
        step_run_cases(r);
        rc = step_finish(r);
    }
    if (r->o.mpi && mb_mpi_active())
        rc = mpi_finish(r, rc);
    run_cleanup(r);
    free(r);
    return rc;
}

int mb_cmd_run(int argc, char **argv)
{
    return run_main(argc, argv, 0);
}

int mb_cmd_check(int argc, char **argv)
{
    return run_main(argc, argv, 1);
}
