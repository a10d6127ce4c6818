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
#include "csv.h"
#include "moebench/moebench.h"
#include "outdir.h"
#include "peer.h"
#include "plot.h"
#include "progress.h"
#include "provenance.h"
#include "memory.h"
#include "suite_record.h"
#include "resume.h"
#include "roofline.h"
#include "runner.h"
#include "suite.h"
#include "timing.h"

#define DEFAULT_MIN_TIME 0.5
#define DEFAULT_REPS 10
#define DEFAULT_TIMEOUT 300.0

typedef struct {
    int case_index;
    int n_impls;
    int naive_explicit;
    char impls[MB_MAX_CASE_IMPLS][24];
} plan_item;

typedef struct {
    FILE *results, *samples;
    int n_ctr;
    const char *run_id;
    mb_progress progress;
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

static int run_main(int argc, char **argv, int check_mode)
{
    const char *cmd = check_mode ? "check" : "run";
    mb_cli_options o;
    char err[1024] = "";
    if (mb_cli_parse(argc, argv, &o, err, sizeof err)) {
        fprintf(stderr, "moebench %s: %s\n", cmd, err);
        mb_cli_usage(stderr, cmd);
        return 2;
    }
    if (o.help) {
        mb_cli_usage(stdout, cmd);
        return 0;
    }
    if (o.threads > 0 && mb_threads_check(o.threads, "--threads", err, sizeof err)) {
        fprintf(stderr, "moebench %s: %s\n", cmd, err);
        return 2;
    }

    /* 1. every suite loaded and every case validated before anything runs */
    mb_suite suite;
    memset(&suite, 0, sizeof suite);
    const char *default_suite = "suites/default.ini";
    if (o.n_suites == 0)
        o.suites[o.n_suites++] = default_suite;
    char suite_name[256] = "";
    for (int i = 0; i < o.n_suites; i++) {
        char path[4096];
        resolve_suite(o.suites[i], path, sizeof path);
        if (mb_suite_load(path, &suite, err, sizeof err)) {
            fprintf(stderr, "moebench %s: %s\nnothing was run.\n", cmd, err);
            mb_suite_free(&suite);
            return 2;
        }
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        size_t l = strlen(suite_name);
        snprintf(suite_name + l, sizeof suite_name - l, "%s%.*s", i ? "+" : "",
                 (int)(strcspn(base, ".")), base);
    }

    /* 2. command-line selection */
    if (o.variant) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", o.variant);
        char *save = NULL;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            mb_variant_id v;
            if (mb_variant_parse(t, &v)) {
                fprintf(stderr, "moebench %s: --variant: unknown variant '%s'\n", cmd, t);
                mb_suite_free(&suite);
                return 2;
            }
        }
    }
    regex_t re;
    int have_re = 0;
    if (o.filter) {
        int rc = regcomp(&re, o.filter, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            regerror(rc, &re, err, sizeof err);
            fprintf(stderr, "moebench %s: --filter '%s': %s\n", cmd, o.filter, err);
            mb_suite_free(&suite);
            return 2;
        }
        have_re = 1;
    }
    plan_item *plan = calloc(suite.n ? suite.n : 1, sizeof *plan);
    if (!plan) {
        fprintf(stderr, "moebench %s: out of memory (plan of %zu cases)\n", cmd, suite.n);
        if (have_re)
            regfree(&re);
        mb_suite_free(&suite);
        return 1;
    }
    int n_plan = 0, total_rows = 0;
    for (size_t i = 0; plan && i < suite.n; i++) {
        const mb_case *c = &suite.cases[i];
        if (o.variant && !in_list(o.variant, mb_variant_name(c->spec.variant)))
            continue;
        if (have_re && regexec(&re, c->desc, 0, NULL, 0) != 0)
            continue;
        plan_item *p = &plan[n_plan];
        p->case_index = (int)i;
        char bad[64];
        p->n_impls = mb_case_impls(c, o.impl, p->impls, MB_MAX_CASE_IMPLS, &p->naive_explicit,
                                   bad, sizeof bad);
        if (p->n_impls < 0) {
            fprintf(stderr, "moebench %s: --impl: unknown implementation '%s' (see `moebench list`)\n",
                    cmd, bad);
            free(plan);
            mb_suite_free(&suite);
            if (have_re)
                regfree(&re);
            return 2;
        }
        if (p->n_impls == 0)
            continue;
        total_rows += p->n_impls;
        n_plan++;
    }
    if (have_re)
        regfree(&re);
    int online = (int)sysconf(_SC_NPROCESSORS_ONLN);
    /* valid means "can run here": threads and memory, before anything is probed or run */
    for (int i = 0; i < n_plan; i++) {
        mb_exec_config ec;
        effective_config(&o, &suite.cases[plan[i].case_index], online, &ec);
        if (mb_case_fits(&suite.cases[plan[i].case_index], plan[i].impls, plan[i].n_impls, &ec,
                         err, sizeof err)) {
            fprintf(stderr, "moebench %s: %s\nnothing was run.\n", cmd, err);
            free(plan);
            mb_suite_free(&suite);
            return 2;
        }
    }

    if (o.validate_only) {
        /* CI-cheap: every case parsed and validated, nothing probed, written or run */
        printf("%d cases, %d rows (%zu cases in the suites before --variant/--filter)\n", n_plan,
               total_rows, suite.n);
        free(plan);
        mb_suite_free(&suite);
        return 0;
    }

    /* 3. counters: probed once, before any child */
    mb_counters counters;
    if (mb_counters_probe(&counters, check_mode ? "none" : (o.counters ? o.counters : "auto"),
                          err, sizeof err)) {
        fprintf(stderr, "moebench %s: %s\n", cmd, err);
        free(plan);
        mb_suite_free(&suite);
        return 2;
    }

    /* 4. output directory: fails before any case runs. Each run writes into a directory it
     * created (or, with --resume, into the one of the same run): never into another's. */
    char run_id[48], stamp[32], out_dir[4096] = "";
    make_run_id(run_id, sizeof run_id, stamp, sizeof stamp);
    if (o.resume)
        snprintf(out_dir, sizeof out_dir, "%s", o.resume);
    else if (o.out)
        snprintf(out_dir, sizeof out_dir, "%s", o.out);
    /* "DIR/" is DIR: moving it aside must not aim inside it */
    for (size_t l = strlen(out_dir); l > 1 && out_dir[l - 1] == '/'; l--)
        out_dir[l - 1] = '\0';

    char ctr_cols[MB_MAX_COUNTERS][64];
    for (int i = 0; i < counters.n; i++)
        snprintf(ctr_cols[i], sizeof ctr_cols[i], "%s", counters.column[i]);
    run_state st;
    memset(&st, 0, sizeof st);
    st.n_ctr = counters.n;
    st.run_id = run_id;
    mb_resume done;
    memset(&done, 0, sizeof done);
    char results_path[4200] = "", samples_path[4200] = "";
    int rc_exit = 0;
    int lock_fd = -1;   /* held while this process writes into out_dir */

    if (o.resume) {
        char rp[4200];
        snprintf(rp, sizeof rp, "%s/results.csv", out_dir);
        if (access(rp, F_OK) != 0) {
            fprintf(stderr, "moebench %s: --resume %s: there is no %s (nothing to resume; "
                            "start a new run with --out)\nnothing was run.\n", cmd, o.resume, rp);
            free(plan);
            mb_suite_free(&suite);
            return 1;
        }
        /* one writer: the run itself may still be going, or another resume of it */
        char why[8192];
        lock_fd = mb_outdir_lock(out_dir, why, sizeof why);
        if (lock_fd < 0) {
            fprintf(stderr, "moebench %s: --resume %s: %s\nnothing was run.\n", cmd, o.resume, why);
            free(plan);
            mb_suite_free(&suite);
            return 1;
        }
        /* the same suite, settings and commit, or the rows of two kinds of run get mixed */
        cJSON *now = mb_provenance_identity(&suite, run_settings(&o, check_mode, &suite));
        int differs = mb_resume_check_run(out_dir, now, why, sizeof why);
        cJSON_Delete(now);
        if (differs) {
            fprintf(stderr, "moebench %s: --resume %s: %s\nnothing was run.\n", cmd, o.resume, why);
            close(lock_fd);
            free(plan);
            mb_suite_free(&suite);
            return 1;
        }
    } else if (o.out) {
        char moved[4200], why[8800];
        struct stat sb;
        if (o.force && stat(out_dir, &sb) == 0) {
            /* a directory a run is still writing into is not moved from under it */
            int old_lock = S_ISDIR(sb.st_mode) ? mb_outdir_lock(out_dir, why, sizeof why) : 0;
            int moved_ok = old_lock >= 0 &&
                           mb_outdir_move_aside(out_dir, moved, sizeof moved, why, sizeof why) == 0;
            if (old_lock > 0)
                close(old_lock);
            if (!moved_ok) {
                fprintf(stderr, "moebench %s: --force: %s\nnothing was run.\n", cmd, why);
                free(plan);
                mb_suite_free(&suite);
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
            free(plan);
            mb_suite_free(&suite);
            return 1;
        }
    } else if (!check_mode) {
        char base[4096], why[8800];
        snprintf(base, sizeof base, "%s/results/%s-%s", MOEBENCH_SOURCE_DIR, suite_name, stamp);
        if (mb_outdir_create_fresh(base, out_dir, sizeof out_dir, why, sizeof why) != 0) {
            fprintf(stderr, "moebench %s: cannot create an output directory: %s\nnothing was "
                            "run.\n", cmd, why);
            free(plan);
            mb_suite_free(&suite);
            return 1;
        }
    }

    if (out_dir[0] && lock_fd < 0) {
        /* a new directory is ours from its mkdir; the lock only keeps --resume and --force
         * of other processes out while this run writes */
        char why[8192];
        lock_fd = mb_outdir_lock(out_dir, why, sizeof why);
        if (lock_fd < 0)
            fprintf(stderr, "moebench %s: warning: %s\n", cmd, why);
    }

    if (out_dir[0]) {
        snprintf(results_path, sizeof results_path, "%s/results.csv", out_dir);
        snprintf(samples_path, sizeof samples_path, "%s/samples.csv", out_dir);
        int resuming = 0;
        if (o.resume) {
            mb_resume_drop_partial_line(results_path);
            mb_resume_drop_partial_line(samples_path);
            /* the header must be the one this run would write (same counter columns) */
            char *hdr = NULL;
            size_t hlen = 0;
            FILE *mf = open_memstream(&hdr, &hlen);
            if (mf) {
                mb_csv_write_header(mf, counters.n, ctr_cols);
                fclose(mf);
            }
            int bad = !hdr || mb_resume_load(results_path, hdr, &done, err, sizeof err);
            free(hdr);
            if (bad) {
                fprintf(stderr, "moebench %s: --resume: %s\n", cmd, err);
                free(plan);
                mb_suite_free(&suite);
                return 1;
            }
            /* samples.csv must have this version's columns too */
            FILE *sf = fopen(samples_path, "r");
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
                                    "nothing was run.\n", cmd, samples_path);
                    mb_resume_free(&done);
                    free(plan);
                    mb_suite_free(&suite);
                    return 1;
                }
            }
            if (done.run_id[0])
                snprintf(run_id, sizeof run_id, "%s", done.run_id);
            resuming = 1;
        }
        st.results = fopen(results_path, resuming ? "a" : "w");
        int samples_exist = resuming && access(samples_path, F_OK) == 0;
        st.samples = st.results ? fopen(samples_path, samples_exist ? "a" : "w") : NULL;
        if (!st.results || !st.samples) {
            fprintf(stderr, "moebench %s: cannot write to %s: %s\nnothing was run.\n", cmd, out_dir,
                    strerror(errno));
            if (st.results)
                fclose(st.results);
            free(plan);
            mb_suite_free(&suite);
            return 1;
        }
        if (!resuming) {
            mb_csv_write_header(st.results, counters.n, ctr_cols);
            fflush(st.results);
        }
        if (!samples_exist)
            mb_samples_write_header(st.samples);
        fflush(st.samples);
    }

    /* drop rows already done (resume) */
    if (done.n) {
        total_rows = 0;
        for (int i = 0; i < n_plan; i++) {
            plan_item *p = &plan[i];
            int k = 0;
            mb_exec_config ec;
            effective_config(&o, &suite.cases[p->case_index], online, &ec);
            for (int j = 0; j < p->n_impls; j++)
                if (!mb_resume_done(&done, suite.cases[p->case_index].desc, p->impls[j],
                                    ec.threads, ec.cache_cold ? "cold" : "warm"))
                    memmove(p->impls[k++], p->impls[j], 24);
            p->n_impls = k;
            total_rows += k;
        }
        fprintf(stderr, "moebench %s: resuming %s: %zu rows already done, %d to run\n", cmd,
                out_dir, done.n, total_rows);
    }

    /* 5. settings and provenance */
    mb_roof roof;
    char roof_src[8400] = "";
    if (mb_roof_find(out_dir, &roof, roof_src, sizeof roof_src) != 0 && !check_mode &&
        !o.dry_run && !o.no_roofline)
        measure_roofline(cmd, out_dir, &roof, roof_src, sizeof roof_src);
    cJSON *settings = run_settings(&o, check_mode, &suite);
    cJSON_AddNumberToObject(settings, "ci_target", 0.05);
    cJSON_AddNumberToObject(settings, "naive_full_reference_max_flops", MB_NAIVE_FULL_FLOPS);
    cJSON_AddNumberToObject(settings, "reference_sample_rows", MB_REF_SAMPLE_ROWS);
    cJSON_AddStringToObject(settings, "output_dir", out_dir);
    cJSON_AddStringToObject(settings, "resumed_from", o.resume ? o.resume : "");
    cJSON_AddStringToObject(settings, "peer", o.peer ? o.peer : "");
    char **full_argv = calloc((size_t)argc + 1, sizeof *full_argv);
    if (!full_argv) {
        fprintf(stderr, "moebench %s: out of memory\n", cmd);
        cJSON_Delete(settings);
        mb_resume_free(&done);
        if (st.results)
            fclose(st.results);
        if (st.samples)
            fclose(st.samples);
        free(plan);
        mb_suite_free(&suite);
        return 1;
    }
    full_argv[0] = "moebench";
    for (int i = 0; i < argc; i++)
        full_argv[i + 1] = argv[i];
    mb_provenance prov = {.run_id = run_id, .argc = argc + 1, .argv = full_argv,
                          .suite_files = mb_suite_files_json(&suite, 1), .cases = suite.n,
                          .counters = mb_counters_json(&counters),
                          .papi_library = counters.library,
                          .peak_rss_method = mb_peak_rss_method(), .settings = settings,
                          .roof = roof, .roofline_source = roof_src[0] ? roof_src : NULL};
    cJSON *json = mb_provenance_build(&prov);
    char json_path[4300] = "";
    if (out_dir[0]) {
        if (o.resume) {
            snprintf(json_path, sizeof json_path, "%s/run.json", out_dir);
            if (access(json_path, F_OK) == 0)   /* keep the original provenance */
                snprintf(json_path, sizeof json_path, "%s/run-resume-%s.json", out_dir, stamp);
        } else
            snprintf(json_path, sizeof json_path, "%s/run.json", out_dir);
        if (mb_json_write_file(json_path, json))
            fprintf(stderr, "moebench %s: warning: cannot write %s\n", cmd, json_path);
    }

    /* like Google Benchmark: say when the numbers cannot be trusted as they are */
    if (!check_mode && !o.dry_run) {
        if (strcmp(MOEBENCH_BUILD_TYPE, "Release") != 0 && strcmp(MOEBENCH_BUILD_TYPE, "RelWithDebInfo") != 0)
            fprintf(stderr, "moebench: warning: this is a %s build; timings are not representative "
                            "(configure with -DCMAKE_BUILD_TYPE=Release)\n", MOEBENCH_BUILD_TYPE);
#ifdef __SANITIZE_ADDRESS__
        fprintf(stderr, "moebench: warning: built with sanitizers; timings are not representative\n");
#endif
        char gov[64] = "";
        if (mb_cpu_governor(gov, sizeof gov) == 0 && gov[0] && strcmp(gov, "performance") != 0)
            fprintf(stderr, "moebench: warning: CPU frequency scaling is '%s'; timings may vary "
                            "(set the governor to performance)\n", gov);
    }
    if (counters.n > 0 && counters.no_hardware)
        fprintf(stderr, "moebench: no hardware performance counters on this machine%s: only software "
                        "events (perf::TASK-CLOCK, perf::PAGE-FAULTS, ...) are counted; the columns of "
                        "hardware events stay empty (reasons in run.json).\n",
                mb_is_vm() ? " (a virtual machine without a virtualised PMU)" : "");
    fprintf(stderr, "moebench %s: %d cases, %d rows%s%s\n", cmd, n_plan, total_rows,
            out_dir[0] ? " -> " : "", out_dir);

    /* 6. the cases */
    mb_progress_init(&st.progress, total_rows);
    mb_sink sink = {on_row, on_sample, &st};
    for (int i = 0; i < n_plan; i++) {
        plan_item *p = &plan[i];
        if (p->n_impls == 0)
            continue;
        const mb_case *c = &suite.cases[p->case_index];
        mb_exec_config cfg;
        effective_config(&o, c, online, &cfg);
        cfg.dry_run = o.dry_run;
        cfg.check_only = check_mode;
        int one = cfg.threads == 1;
        cfg.peak_gflops = one && roof.peak_gflops_1t > 0 ? roof.peak_gflops_1t : roof.peak_gflops;
        cfg.dram_gbps = one && roof.dram_gbps_1t > 0 ? roof.dram_gbps_1t : roof.dram_gbps;
        cfg.run_id = run_id;
        cfg.counters = &counters;
        double timeout = o.timeout > 0 ? o.timeout : c->timeout > 0 ? c->timeout : DEFAULT_TIMEOUT;
        mb_run_case(c, p->impls, p->n_impls, p->naive_explicit, &cfg, timeout, &sink);
        if (st.samples)
            fflush(st.samples);
    }

    /* 7. summary, provenance update, charts */
    mb_progress_done(&st.progress, cmd, stderr);
    if (mb_progress_failures(&st.progress))
        rc_exit = 1;
    if (st.results)
        fclose(st.results);
    if (st.samples)
        fclose(st.samples);
    st.results = st.samples = NULL;
    int peer_rc = -1;

    if (json_path[0]) {
        cJSON *res = cJSON_AddObjectToObject(json, "result");
        for (int i = 0; i < MB_ROW_N_STATUS; i++)
            cJSON_AddNumberToObject(res, mb_row_status_names[i], st.progress.n_status[i]);
        cJSON_AddNumberToObject(res, "elapsed_s", mb_now_s() - st.progress.t_start);

        mb_json_write_file(json_path, json);
    }
    /* run.json is final before the peer adds its "peer" object to it */
    /* 7b. the PyTorch peer on every case of the run, into the same results.csv */
    if (o.peer && out_dir[0] && !check_mode && !o.dry_run) {
        char exe[4096];
        ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (el <= 0) {
            fprintf(stderr, "moebench %s: --peer torch: cannot read /proc/self/exe: %s\n", cmd,
                    strerror(errno));
            peer_rc = 2;
        } else {
            exe[el] = '\0';
            fprintf(stderr, "moebench %s: running the torch peer on the cases of %s\n", cmd, out_dir);
            peer_rc = mb_peer_torch_run(exe, out_dir, o.threads);
        }
        mb_progress_peer(&st.progress, results_path, run_id);
        if (peer_rc == 1 && rc_exit == 0)
            rc_exit = 1;
        else if (peer_rc == 2)
            rc_exit = 2;
    } else if (o.peer) {
        fprintf(stderr, "moebench %s: --peer torch ignored (%s)\n", cmd,
                check_mode ? "check" : o.dry_run ? "--dry-run" : "no output directory");
    }
    if (!o.dry_run && !check_mode)
        mb_progress_summary(&st.progress, stdout);
    if (peer_rc >= 0)
        printf("torch peer: %s\n", peer_rc == 0 ? "every torch row ok" : peer_rc == 1 ?
               "some torch rows are mismatches (exit 1)" : "error: the peer failed (exit 2)");
    if (out_dir[0])
        printf("results: %s\n", out_dir);
    if (out_dir[0] && !check_mode && !o.dry_run && !o.no_plot && st.progress.n_status[0] > 0) {
        if (mb_plot_results(out_dir) != 0)
            fprintf(stderr, "moebench %s: warning: plotting failed (results are intact)\n", cmd);
    }
    cJSON_Delete(json);
    if (lock_fd >= 0)
        close(lock_fd);
    free(full_argv);
    mb_resume_free(&done);
    mb_progress_free(&st.progress);
    free(plan);
    mb_suite_free(&suite);
    return rc_exit;
}

int mb_cmd_run(int argc, char **argv)
{
    return run_main(argc, argv, 0);
}

int mb_cmd_check(int argc, char **argv)
{
    return run_main(argc, argv, 1);
}
