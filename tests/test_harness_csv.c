/* results.csv / samples.csv / run.json writers, read back with the harness's CSV reader and
 * cJSON. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "counters.h"
#include "csv.h"
#include "provenance.h"
#include "resume.h"
#include "suite.h"
#include "suite_record.h"
#include "memory.h"

static const char *const required[] = {
    "run_id", "variant", "impl", "status", "reason", "dtype", "threads", "cache", "B", "S", "T",
    "h", "o", "f", "r", "E", "k", "share", "shard", "samples", "time_us_median", "time_us_min",
    "time_us_p95", "time_us_mad", "time_us_ci_lo", "time_us_ci_hi", "prepare_us", "flops",
    "bytes", "gflops", "gbps", "pct_peak", "weights_bytes", "workspace_bytes", "peak_rss_bytes",
    "max_abs_err", "max_rel_err", "expert_load_max", "aux_loss"};

static char dir[] = "/tmp/mb_csv_testXXXXXX";

static void test_results_roundtrip(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/results.csv", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    char ctr[2][64];
    mb_csv_sanitize("perf::TASK-CLOCK", ctr[0], sizeof ctr[0]);
    mb_csv_sanitize("PAPI_TOT_CYC", ctr[1], sizeof ctr[1]);
    CHECK(!strcmp(ctr[0], "perf__task_clock"));
    mb_csv_write_header(f, 2, ctr);
    mb_row r;
    mb_row_init(&r);
    snprintf(r.run_id, sizeof r.run_id, "run1");
    snprintf(r.variant, sizeof r.variant, "mixlora");
    snprintf(r.impl, sizeof r.impl, "blas");
    snprintf(r.status, sizeof r.status, "ok");
    snprintf(r.reason, sizeof r.reason, "unstable: CI ±12%%, \"noisy\"\nsecond line");
    snprintf(r.case_desc, sizeof r.case_desc, "mixlora:T=16,h=64,f=96,r=4,E=4,k=2");
    r.T = 16;
    r.h = 64;
    r.threads = 2;
    r.samples = 10;
    r.time_us_median = 123.456;
    r.flops = 1.5e9;
    r.weights_bytes = 123456789012;
    r.ctr[0] = 4321.5;   /* ctr[1] stays NAN: unavailable */
    snprintf(r.blas_core, sizeof r.blas_core, "Prescott");
    mb_csv_write_row(f, &r, 2);
    mb_row r2;
    mb_row_init(&r2);
    snprintf(r2.status, sizeof r2.status, "skipped");
    snprintf(r2.reason, sizeof r2.reason, "gate depends on the token");
    mb_csv_write_row(f, &r2, 2);
    fclose(f);

    mb_csv_table t;
    CHECK(mb_csv_read(path, &t) == 0);
    size_t nreq = sizeof required / sizeof *required;
    /* + case alpha act seed iters_per_sample prepare_bytes breakeven_calls mode blas_core
     * onednn_isa, then the expert-parallel ep route_us dispatch_us expert_us combine_us
     * comm_bytes, the routing columns cap shared topp route dropped experts_per_token_mean
     * expert_load_mean load_imbalance expert_counts, then roof_level roof_gflops above_roof
     * unstable ci_rel, then the train columns fwd_us bwd_us saved_bytes grad_bytes
     * optimizer_bytes, then the precision columns wq near_ties */
    CHECK(t.ncols == nreq + 2 + 10 + 6 + 9 + 5 + 5 + 2);
    CHECK(mb_csv_col(&t, "breakeven_calls") == (int)t.ncols - 31);
    CHECK(mb_csv_col(&t, "mode") == (int)t.ncols - 30);
    CHECK(mb_csv_col(&t, "blas_core") == (int)t.ncols - 29);
    CHECK(mb_csv_col(&t, "onednn_isa") == (int)t.ncols - 28);
    CHECK(mb_csv_col(&t, "ep") == (int)t.ncols - 27);
    CHECK(mb_csv_col(&t, "comm_bytes") == (int)t.ncols - 22);
    CHECK(mb_csv_col(&t, "cap") == (int)t.ncols - 21);
    CHECK(mb_csv_col(&t, "expert_counts") == (int)t.ncols - 13);
    CHECK(mb_csv_col(&t, "roof_level") == (int)t.ncols - 12);
    CHECK(mb_csv_col(&t, "ci_rel") == (int)t.ncols - 8);
    CHECK(mb_csv_col(&t, "fwd_us") == (int)t.ncols - 7);
    CHECK(mb_csv_col(&t, "optimizer_bytes") == (int)t.ncols - 3);
    CHECK(mb_csv_col(&t, "wq") == (int)t.ncols - 2);
    CHECK(mb_csv_col(&t, "near_ties") == (int)t.ncols - 1);
    /* unset: no wq, routing not compared (empty, never 0) */
    CHECK(!strcmp(mb_csv_get(&t, 1, "wq"), "") && !strcmp(mb_csv_get(&t, 1, "near_ties"), ""));
    /* an unset row leaves them empty, never 0 */
    CHECK(!strcmp(mb_csv_get(&t, 1, "ep"), "") && !strcmp(mb_csv_get(&t, 1, "route_us"), "") &&
          !strcmp(mb_csv_get(&t, 1, "comm_bytes"), ""));
    for (size_t i = 0; i < nreq && i < t.ncols; i++)
        CHECK_MSG(!strcmp(t.header[i], required[i]), "column %zu is %s, expected %s", i,
                  t.header[i], required[i]);
    CHECK(mb_csv_col(&t, "ctr_perf__task_clock") == (int)nreq);
    CHECK(mb_csv_col(&t, "ctr_papi_tot_cyc") == (int)nreq + 1);
    CHECK(mb_csv_col(&t, "case") == (int)nreq + 2);
    CHECK(t.nrows == 2);
    CHECK(!strcmp(mb_csv_get(&t, 0, "reason"), r.reason));   /* quotes, comma, newline survive */
    CHECK(!strcmp(mb_csv_get(&t, 0, "case"), r.case_desc));
    CHECK(!strcmp(mb_csv_get(&t, 0, "blas_core"), "Prescott"));
    CHECK(!strcmp(mb_csv_get(&t, 0, "onednn_isa"), ""));
    /* forward rows: the train columns empty, never 0 */
    CHECK(!strcmp(mb_csv_get(&t, 0, "fwd_us"), "") && !strcmp(mb_csv_get(&t, 0, "saved_bytes"), ""));
    CHECK_NEAR(atof(mb_csv_get(&t, 0, "time_us_median")), 123.456, 1e-9);
    CHECK(!strcmp(mb_csv_get(&t, 0, "weights_bytes"), "123456789012"));
    CHECK_NEAR(atof(mb_csv_get(&t, 0, "ctr_perf__task_clock")), 4321.5, 1e-9);
    /* unknown values are empty, never 0 */
    CHECK(!strcmp(mb_csv_get(&t, 0, "ctr_papi_tot_cyc"), ""));
    CHECK(!strcmp(mb_csv_get(&t, 0, "pct_peak"), ""));
    CHECK(!strcmp(mb_csv_get(&t, 1, "time_us_median"), ""));
    CHECK(!strcmp(mb_csv_get(&t, 1, "status"), "skipped"));
    CHECK(!strcmp(mb_csv_get(&t, 1, "samples"), "0"));
    /* no samples: no stability verdict, no ceiling (empty, never 0) */
    CHECK(!strcmp(mb_csv_get(&t, 1, "unstable"), ""));
    CHECK(!strcmp(mb_csv_get(&t, 1, "ci_rel"), ""));
    CHECK(!strcmp(mb_csv_get(&t, 1, "roof_level"), ""));
    CHECK(!strcmp(mb_csv_get(&t, 1, "above_roof"), ""));
    CHECK(!strcmp(mb_csv_get(&t, 5, "status"), ""));   /* out of range -> "" */
    mb_csv_free(&t);
}

/* Spec columns a variant does not use are empty, not the suite defaults the spec carries:
 * B S T h always; o f r E k share shard only when mb_variant_fields lists them. */
static void test_unused_spec_columns(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/spec_cols.csv", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    mb_csv_write_header(f, 0, NULL);
    const char *variants[] = {"lora", "mixlora", "sparse_mlp", "router"};
    for (int i = 0; i < 4; i++) {
        mb_row r;
        mb_row_init(&r);
        snprintf(r.variant, sizeof r.variant, "%s", variants[i]);
        snprintf(r.impl, sizeof r.impl, "naive");
        snprintf(r.status, sizeof r.status, "ok");
        /* every field set, as a parsed spec has them (defaults included) */
        r.B = 1, r.S = 16, r.T = 16, r.h = 64, r.o = 64, r.f = 11008, r.r = 4, r.E = 8, r.k = 2;
        r.shard = 0;
        snprintf(r.share, sizeof r.share, "all");
        mb_csv_write_row(f, &r, 0);
    }
    fclose(f);
    mb_csv_table t;
    CHECK(mb_csv_read(path, &t) == 0);
    CHECK(t.nrows == 4);
    /* lora: T,B,S,h,o,r,alpha */
    const char *lora_empty[] = {"f", "E", "k", "share", "shard"};
    for (int j = 0; j < 5; j++)
        CHECK_MSG(!strcmp(mb_csv_get(&t, 0, lora_empty[j]), ""), "lora %s = '%s'", lora_empty[j],
                  mb_csv_get(&t, 0, lora_empty[j]));
    CHECK(!strcmp(mb_csv_get(&t, 0, "o"), "64") && !strcmp(mb_csv_get(&t, 0, "r"), "4"));
    const char *always[] = {"B", "S", "T", "h"};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            CHECK_MSG(strcmp(mb_csv_get(&t, (size_t)i, always[j]), "") != 0, "%s lacks %s",
                      variants[i], always[j]);
    /* mixlora: T,B,S,h,f,r,E,k,alpha,act,share */
    CHECK(!strcmp(mb_csv_get(&t, 1, "f"), "11008"));
    CHECK(!strcmp(mb_csv_get(&t, 1, "E"), "8") && !strcmp(mb_csv_get(&t, 1, "k"), "2"));
    CHECK(!strcmp(mb_csv_get(&t, 1, "share"), "all"));
    CHECK(!strcmp(mb_csv_get(&t, 1, "o"), "") && !strcmp(mb_csv_get(&t, 1, "shard"), ""));
    /* sparse_mlp uses shard (0 is a value, not "unused"), not r or share */
    CHECK(!strcmp(mb_csv_get(&t, 2, "shard"), "0"));
    CHECK(!strcmp(mb_csv_get(&t, 2, "r"), "") && !strcmp(mb_csv_get(&t, 2, "share"), ""));
    /* router: E and k only */
    CHECK(!strcmp(mb_csv_get(&t, 3, "E"), "8") && !strcmp(mb_csv_get(&t, 3, "f"), ""));
    CHECK(!strcmp(mb_csv_get(&t, 3, "o"), "") && !strcmp(mb_csv_get(&t, 3, "r"), ""));
    mb_csv_free(&t);
    CHECK(mb_csv_variant_uses("lora", "r") && !mb_csv_variant_uses("lora", "E"));
    CHECK(!mb_csv_variant_uses("lora", "h2") && !mb_csv_variant_uses("mixlora", "S,h"));
    CHECK(mb_csv_variant_uses("no-such-variant", "f"));   /* unknown: keep everything */
    remove(path);
}

/* Writes name (len bytes of text) into dir, reads it and expects failure with needle in the
 * one-line message. */
static void expect_csv_error_n(const char *name, const char *text, size_t len, const char *needle)
{
    char path[256], err[512] = "";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fwrite(text, 1, len, f);
    fclose(f);
    mb_csv_table t;
    CHECK_MSG(mb_csv_load(path, &t, err, sizeof err) == -1, "%s read but should not", name);
    CHECK_MSG(strstr(err, path) == err && strstr(err, needle), "%s: message '%s' lacks '%s'", name,
              err, needle);
    CHECK_MSG(!strchr(err, '\n'), "%s: message '%s' is not one line", name, err);
    remove(path);
}

static void expect_csv_error(const char *name, const char *text, const char *needle)
{
    expect_csv_error_n(name, text, strlen(text), needle);
}

/* Peak memory of reading a 20 MB file of empty cells (50 columns: 49 commas and a newline per
 * row), measured in a child by getrusage: the reader keeps one buffer and 2 bytes per cell, about
 * 3x the file (a malloc per cell took 88x). The bound is generous; a regression is far above. */
static void test_memory_bound(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/commas.csv", dir);
    FILE *f = fopen(path, "w");
    const size_t rows = 400000, cols = 50;
    for (size_t c = 0; c < cols; c++)
        fprintf(f, "%sc%zu", c ? "," : "", c);
    fputc('\n', f);
    char line[64];
    memset(line, ',', cols - 1);
    line[cols - 1] = '\n';
    for (size_t r = 0; r < rows; r++)
        fwrite(line, 1, cols, f);
    long size = ftell(f);
    fclose(f);
    int fd[2];
    CHECK(pipe(fd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct rusage before, after;
        getrusage(RUSAGE_SELF, &before);
        mb_csv_table t;
        long out[2] = {-1, 0};
        if (mb_csv_read(path, &t) == 0) {
            getrusage(RUSAGE_SELF, &after);
            out[0] = (after.ru_maxrss - before.ru_maxrss) * 1024L;   /* ru_maxrss is in KiB */
            out[1] = (long)t.nrows;
            mb_csv_free(&t);
        }
        ssize_t w = write(fd[1], out, sizeof out);
        _exit(w == (ssize_t)sizeof out ? 0 : 1);
    }
    long got[2] = {-1, 0};
    ssize_t rd = read(fd[0], got, sizeof got);
    int st;
    waitpid(pid, &st, 0);
    close(fd[0]);
    close(fd[1]);
    CHECK(rd == (ssize_t)sizeof got && got[1] == (long)rows);
    printf("reading %ld bytes of empty cells: peak RSS grew by %ld bytes (%.2fx the file)\n", size,
           got[0], (double)got[0] / (double)size);
    CHECK_MSG(got[0] >= 0 && got[0] < 5 * size, "peak RSS grew by %ld for a %ld-byte file", got[0],
              size);
    remove(path);
}

static void test_samples_and_bad_csv(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/samples.csv", dir);
    FILE *f = fopen(path, "w");
    mb_samples_write_header(f);
    mb_samples_write(f, "run1", "lora:T=1,h=64", "naive", 1, "warm", 0, 1234);
    mb_samples_write(f, "run1", "lora:T=1,h=64", "naive", 2, "cold", 1, 1300);
    fclose(f);
    mb_csv_table t;
    CHECK(mb_csv_read(path, &t) == 0);
    CHECK(t.ncols == 7 && t.nrows == 2);
    static const char *const want[] = {"run_id", "case", "impl", "threads", "cache", "rep",
                                       "time_ns"};
    for (size_t i = 0; i < 7 && i < t.ncols; i++)
        CHECK_MSG(!strcmp(t.header[i], want[i]), "samples column %zu is %s", i, t.header[i]);
    CHECK(!strcmp(mb_csv_get(&t, 1, "time_ns"), "1300"));
    CHECK(!strcmp(mb_csv_get(&t, 1, "threads"), "2"));
    CHECK(!strcmp(mb_csv_get(&t, 1, "cache"), "cold"));
    CHECK(!strcmp(mb_csv_get(&t, 0, "case"), "lora:T=1,h=64"));
    mb_csv_free(&t);

    /* a row with another number of fields than the header is an error naming its line (a
     * padded short row would look like a row with its timings missing) */
    expect_csv_error("ragged.csv", "a,b,c\n1,2,3\n1\n", ":3: 1 field, the header (line 1) has 3");
    expect_csv_error("long.csv", "a,b,c\n1,2,3,4,5\n", ":2: 5 fields, the header (line 1) has 3");

    /* a malformed header frees what it parsed (ASan/LSan would report a leak) */
    snprintf(path, sizeof path, "%s/badhdr.csv", dir);
    f = fopen(path, "w");
    fputs("a,b,\"c\n", f);
    fclose(f);
    CHECK(mb_csv_read(path, &t) == -1);

    /* the exported column list and status names */
    CHECK(mb_csv_required_count == 39);
    CHECK(!strcmp(mb_csv_required_columns[0], "run_id"));
    CHECK(!strcmp(mb_csv_required_columns[mb_csv_required_count - 1], "aux_loss"));
    CHECK(!strcmp(mb_row_status_label(0), "ok") && !strcmp(mb_row_status_label(5), "error"));
    CHECK(!strcmp(mb_row_status_label(6), "?"));
    CHECK(mb_row_status_index("timeout") == 4 && mb_row_status_index("bogus") == -1);

    snprintf(path, sizeof path, "%s/bad.csv", dir);
    f = fopen(path, "w");
    fputs("a,b\n\"unterminated,1\n", f);
    fclose(f);
    CHECK(mb_csv_read(path, &t) == -1);
    snprintf(path, sizeof path, "%s/missing.csv", dir);
    CHECK(mb_csv_read(path, &t) == -1);

    /* each malformed input says what is wrong and where (issue 12, item 8: these said "No such
     * file or directory", "Input/output error" and nothing useful) */
    expect_csv_error("unterminated.csv", "a,b\n1,2\n\"x,\ny\n3,4\n",
                     ":3: unterminated quoted field");
    expect_csv_error("after_quote.csv", "a,b\n\"x\"y,2\n", ":2: text after a closing quote");
    expect_csv_error_n("nul.csv", "a,b\n1,2\n3,\0\n", 12, ":3: NUL byte");
    expect_csv_error_n("nul_quoted.csv", "a,b\n\"1\0\",2\n", 11, ":2: NUL byte");
    char err[512] = "";
    CHECK(mb_csv_load(dir, &t, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "is a directory"), "directory: '%s'", err);
    CHECK(mb_csv_load(path, &t, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "missing.csv: cannot open: No such file"), "missing: '%s'", err);
    /* a line longer than the bound (one line of 70000 commas: formerly 70000 allocations) */
    size_t big = MB_CSV_MAX_LINE + 5000;
    char *commas = malloc(big + 1);
    memset(commas, ',', big);
    commas[big] = '\n';
    expect_csv_error_n("wide.csv", commas, big + 1, ":1: line longer than 65535 bytes");
    free(commas);
    /* quoted fields with "" and line breaks, CRLF, a last line without its newline */
    snprintf(path, sizeof path, "%s/quoted.csv", dir);
    f = fopen(path, "w");
    fputs("a,b\r\n\"x \"\"q\"\"\ny\",\r\n,\"\"\n\n3,4", f);
    fclose(f);
    CHECK(mb_csv_load(path, &t, err, sizeof err) == 0);
    CHECK_MSG(t.nrows == 3, "quoted.csv: %zu rows", t.nrows);
    if (t.nrows == 3) {
        CHECK(!strcmp(mb_csv_cell(&t, 0, 0), "x \"q\"\ny") && !strcmp(mb_csv_cell(&t, 0, 1), ""));
        CHECK(!strcmp(mb_csv_cell(&t, 1, 0), "") && !strcmp(mb_csv_cell(&t, 1, 1), ""));
        CHECK(!strcmp(mb_csv_get(&t, 2, "b"), "4"));
    }
    mb_csv_free(&t);
    remove(path);
}

static void test_run_json(void)
{
    char ini[256];
    snprintf(ini, sizeof ini, "%s/s.ini", dir);
    FILE *f = fopen(ini, "w");
    fputs("[a]\nvariant = lora\nh = 32\nr = 2\n", f);
    fclose(f);
    mb_suite suite;
    memset(&suite, 0, sizeof suite);
    char err[512];
    CHECK(mb_suite_load(ini, &suite, err, sizeof err) == 0);
    mb_counters ctr;
    CHECK(mb_counters_probe(&ctr, "perf::TASK-CLOCK,NO_SUCH_EVENT", err, sizeof err) == 0);
    CHECK(ctr.n == 2);
    CHECK(!ctr.available[1] && ctr.reason[1][0]);   /* unknown event: a column with a reason */
    char *argv[] = {"moebench", "run", "s.ini"};
    mb_roof roof0 = {.peak_gflops = 100.0, .dram_gbps = NAN, .peak_gflops_1t = NAN, .dram_gbps_1t = NAN};
    mb_provenance p = {.run_id = "run42", .argc = 3, .argv = argv,
                       .suite_files = mb_suite_files_json(&suite, 1), .cases = suite.n,
                       .counters = mb_counters_json(&ctr), .papi_library = ctr.library,
                       .peak_rss_method = mb_peak_rss_method(), .roof = roof0,
                       .roofline_source = "x/roofline.json"};
    cJSON *j = mb_provenance_build(&p);
    char path[256];
    snprintf(path, sizeof path, "%s/run.json", dir);
    CHECK(mb_json_write_file(path, j) == 0);
    cJSON_Delete(j);

    f = fopen(path, "r");
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *r = cJSON_Parse(buf);
    CHECK(r != NULL);
    if (r) {
        CHECK(!strcmp(cJSON_GetObjectItem(r, "run_id")->valuestring, "run42"));
        const cJSON *cmd = cJSON_GetObjectItem(r, "command_line");
        CHECK(cJSON_GetArraySize(cmd) == 3);
        const cJSON *git = cJSON_GetObjectItem(r, "git");
        CHECK(git && cJSON_GetObjectItem(git, "commit") && cJSON_GetObjectItem(git, "dirty"));
        const cJSON *build = cJSON_GetObjectItem(r, "build");
        CHECK(build && cJSON_IsString(cJSON_GetObjectItem(build, "compiler")));
        CHECK(cJSON_GetObjectItem(r, "libraries") != NULL);
        const cJSON *m = cJSON_GetObjectItem(r, "machine");
        CHECK(m && cJSON_IsString(cJSON_GetObjectItem(m, "kernel")));
        CHECK(cJSON_IsBool(cJSON_GetObjectItem(m, "vm")));
        CHECK(cJSON_IsArray(cJSON_GetObjectItem(m, "caches")));
        CHECK(cJSON_IsObject(cJSON_GetObjectItem(r, "environment")));
        const cJSON *sf = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "suite_files"), 0);
        CHECK(sf && strstr(cJSON_GetObjectItem(sf, "content")->valuestring, "variant = lora"));
        char h[17];
        mb_fnv1a_hex("[a]\nvariant = lora\nh = 32\nr = 2\n", h);
        CHECK(sf && !strcmp(cJSON_GetObjectItem(sf, "fnv1a64")->valuestring, h));
        const cJSON *roof = cJSON_GetObjectItem(r, "roofline");
        CHECK_NEAR(cJSON_GetObjectItem(roof, "peak_gflops")->valuedouble, 100.0, 0);
        CHECK(cJSON_IsNull(cJSON_GetObjectItem(roof, "dram_gbps")));
        const cJSON *ev = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "counters"), "events");
        CHECK(cJSON_GetArraySize(ev) == 2);
        const cJSON *e1 = cJSON_GetArrayItem(ev, 1);
        CHECK(cJSON_IsFalse(cJSON_GetObjectItem(e1, "available")));
        CHECK(cJSON_IsString(cJSON_GetObjectItem(e1, "reason")));
        cJSON_Delete(r);
    }
    mb_suite_free(&suite);

    /* roofline.json: read by the harness for pct_peak */
    snprintf(path, sizeof path, "%s/roofline.json", dir);
    f = fopen(path, "w");
    fputs("{\"peak_gflops\": 220.5, \"dram_gbps\": 21.0, \"peak_gflops_1t\": 110, \"other\": 1}", f);
    fclose(f);
    mb_roof rf;
    CHECK(mb_roofline_load(dir, &rf) == 0);
    CHECK_NEAR(rf.peak_gflops, 220.5, 0);
    CHECK_NEAR(rf.dram_gbps, 21.0, 0);
    CHECK_NEAR(rf.peak_gflops_1t, 110, 0);
    CHECK(isnan(rf.dram_gbps_1t));
    CHECK(mb_roofline_load("/nonexistent-dir", &rf) == -1 && isnan(rf.peak_gflops));
}

static void test_resume(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/partial.csv", dir);
    FILE *f = fopen(path, "w");
    fputs("run_id,case,impl,threads,cache\nr1,\"lora:T=1,h=8\",naive,1,warm\n"
          "r1,\"lora:T=1,h=8\",blas,1,warm\nr1,\"lora:T=", f);
    fclose(f);
    mb_resume_drop_partial_line(path);   /* a run killed mid-row */
    mb_resume r;
    char err[512];
    CHECK(mb_resume_load(path, "run_id,case,other\n", &r, err, sizeof err) == -1);
    CHECK(strstr(err, "other columns") != NULL);
    CHECK(mb_resume_load(path, "run_id,case,impl,threads,cache\n", &r, err, sizeof err) == 0);
    CHECK(r.n == 2);
    CHECK(!strcmp(r.run_id, "r1"));
    CHECK(mb_resume_done(&r, "lora:T=1,h=8", "blas", 1, "warm"));
    /* the key is case x impl x threads x cache */
    CHECK(!mb_resume_done(&r, "lora:T=1,h=8", "blas", 2, "warm"));
    CHECK(!mb_resume_done(&r, "lora:T=1,h=8", "blas", 1, "cold"));
    CHECK(!mb_resume_done(&r, "lora:T=1,h=8", "avx512", 1, "warm"));
    CHECK(!mb_resume_done(&r, "lora:T=2,h=8", "naive", 1, "warm"));
    mb_resume_free(&r);
    mb_csv_table t;
    CHECK(mb_csv_read(path, &t) == 0 && t.nrows == 2);   /* the half row is gone */
    mb_csv_free(&t);

    /* the run being resumed must be this run: suite, settings that shape rows, commit */
    char why[4096];
    const char *old_json =
        "{\"command\": \"'moebench' 'run' 'a.ini'\", \"settings\": {\"mode\": \"run\", "
        "\"threads_option\": 1, \"cache_option\": \"cold\", \"reps\": 3, \"min_time_s\": 0.02, "
        "\"timeout_s\": 300, \"impl_filter\": \"\", \"variant_filter\": \"\", \"regex_filter\": "
        "\"\", \"interleave\": false, \"pin\": false, \"openblas_core\": \"Haswell\"}, "
        "\"git\": {\"commit\": \"abc\"}, \"suite_files\": [{\"path\": \"a.ini\", "
        "\"fnv1a64\": \"0123456789abcdef\"}]}";
    cJSON *old = cJSON_Parse(old_json);
    cJSON *now = cJSON_Parse(old_json);
    CHECK(old && now);
    /* an older run.json has no suite_hash: derived from suite_files like the new one */
    const char *fh[] = {"0123456789abcdef"};
    char sh[17];
    mb_suite_hash_join(fh, 1, sh);
    cJSON_AddStringToObject(cJSON_GetObjectItem(now, "settings"), "suite_hash", sh);
    CHECK_MSG(mb_resume_compare(old, now, dir, why, sizeof why) == 0, "%s", why);
    cJSON *s = cJSON_GetObjectItem(now, "settings");
    cJSON_ReplaceItemInObject(s, "threads_option", cJSON_CreateNumber(2));
    cJSON_ReplaceItemInObject(s, "reps", cJSON_CreateNumber(10));
    cJSON_ReplaceItemInObject(s, "impl_filter", cJSON_CreateString("blas"));
    cJSON_ReplaceItemInObject(s, "suite_hash", cJSON_CreateString("ffffffffffffffff"));
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(now, "git"), "commit", cJSON_CreateString("def"));
    /* timed another way: alternating rounds, pinned threads, another OpenBLAS core */
    cJSON_ReplaceItemInObject(s, "interleave", cJSON_CreateBool(1));
    cJSON_ReplaceItemInObject(s, "pin", cJSON_CreateBool(1));
    cJSON_ReplaceItemInObject(s, "openblas_core", cJSON_CreateString("Zen"));
    CHECK(mb_resume_compare(old, now, dir, why, sizeof why) == -1);
    CHECK_MSG(strstr(why, "--interleave: false in the first run, true in this one (drop "
                          "--interleave)") && strstr(why, "--pin: false") &&
                  strstr(why, "--openblas-core: Haswell in the first run, Zen in this one (pass "
                          "--openblas-core Haswell)"), "%s", why);
    /* every difference, with both values and what to pass */
    CHECK_MSG(strstr(why, "--threads: 1 in the first run, 2 in this one (pass --threads 1)") &&
                  strstr(why, "--reps 3") && strstr(why, "--impl: (not given) in the first run, "
                  "blas in this one (drop --impl)") && strstr(why, "commit: abc") &&
                  strstr(why, "suite: ") && strstr(why, "a.ini") && !strstr(why, "--cache") &&
                  strstr(why, "'moebench' 'run' 'a.ini'"), "%s", why);
    /* nothing recorded to compare with: refused, saying what is missing */
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(old, "settings"), "timeout_s");
    cJSON_DeleteItemFromObject(old, "suite_files");
    CHECK(mb_resume_compare(old, old, dir, why, sizeof why) == -1);
    CHECK_MSG(strstr(why, "older moebench") && strstr(why, "--timeout: not recorded") &&
                  strstr(why, "suite: not recorded"), "%s", why);
    cJSON_Delete(old);
    CHECK(mb_resume_check_run("/nonexistent-dir", now, why, sizeof why) == -1 &&
          strstr(why, "run.json"));
    snprintf(path, sizeof path, "%s/run.json", dir);
    f = fopen(path, "w");
    fputs("{\"settings\": ", f);   /* cut short */
    fclose(f);
    CHECK(mb_resume_check_run(dir, now, why, sizeof why) == -1 && strstr(why, "not a JSON object"));
    cJSON_Delete(now);
    remove(path);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_results_roundtrip();
    test_unused_spec_columns();
    test_samples_and_bad_csv();
    test_memory_bound();
    test_run_json();
    test_resume();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return mb_test_result("test_harness_csv");
}
