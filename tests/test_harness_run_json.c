/* The run.json readers take files from anywhere (results are downloaded and shared): hostile
 * values found by tests/fuzz/fuzz_run_json must be refused or survived, never undefined
 * behaviour (this test runs under UBSan in the sanitizer build). */
#include "check.h"
#include "resume.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/mb_run_json_XXXXXX";

static const char *now_json =
    "{\"settings\": {\"mode\": \"run\", \"threads_option\": 0, \"cache_option\": \"warm\", "
    "\"reps\": 3, \"min_time_s\": 0.5, \"timeout_s\": 300, \"impl_filter\": \"\", "
    "\"variant_filter\": \"\", \"regex_filter\": \"\", \"suite_hash\": \"0123456789abcdef\", "
    "\"interleave\": false, \"pin\": false, \"openblas_core\": \"Zen\"}, "
    "\"git\": {\"commit\": \"abc\"}}";

static void write_run_json(const char *settings)
{
    char path[256];
    snprintf(path, sizeof path, "%s/run.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fprintf(f, "{\"settings\": {%s, \"mode\": \"run\", \"cache_option\": \"warm\", "
               "\"timeout_s\": 300, \"impl_filter\": \"\", \"variant_filter\": \"\", "
               "\"regex_filter\": \"\", \"suite_hash\": \"0123456789abcdef\", "
               "\"interleave\": false, \"pin\": false, \"openblas_core\": \"Zen\"}, "
               "\"git\": {\"commit\": \"abc\"}}",
            settings);
    fclose(f);
}

/* settings numbers far beyond int: an (int) cast of 1e300 is undefined (UBSan: "outside the
 * range of representable values of type 'int'") and in release made a run without --threads
 * be told to resume "without --threads" */
static void test_settings_out_of_range(void)
{
    char err[4096] = "";
    cJSON *now = cJSON_Parse(now_json);
    CHECK(now != NULL);
    write_run_json("\"threads_option\": 1e300, \"reps\": 3, \"min_time_s\": 0.5");
    CHECK(mb_resume_check_run(dir, now, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "--threads") && !strstr(err, "without --threads"), "%s", err);
    write_run_json("\"threads_option\": -1e300, \"reps\": 3, \"min_time_s\": 0.5");
    CHECK(mb_resume_check_run(dir, now, err, sizeof err) == -1);
    write_run_json("\"threads_option\": 0, \"reps\": 1e300, \"min_time_s\": 0.5");
    CHECK_MSG(mb_resume_check_run(dir, now, err, sizeof err) == -1 && strstr(err, "--reps"),
              "%s", err);
    write_run_json("\"threads_option\": 0, \"reps\": -1e999, \"min_time_s\": 1e999");
    CHECK(mb_resume_check_run(dir, now, err, sizeof err) == -1);
    /* the same settings in range still agree */
    write_run_json("\"threads_option\": 0, \"reps\": 3, \"min_time_s\": 0.5");
    CHECK_MSG(mb_resume_check_run(dir, now, err, sizeof err) == 0, "%s", err);
    cJSON_Delete(now);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_settings_out_of_range();
    char path[256];
    snprintf(path, sizeof path, "%s/run.json", dir);
    unlink(path);
    rmdir(dir);
    return mb_test_result("test_harness_run_json");
}
