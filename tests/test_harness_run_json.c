/* The run.json readers take files from anywhere (results are downloaded and shared): hostile
 * values found by tests/fuzz/fuzz_run_json must be refused or survived, never undefined
 * behaviour. */
#include "check.h"
#include "resume.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/mb_run_json_XXXXXX";

static void write_run_json(const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/run.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

/* settings numbers beyond int: (int)1e300 was undefined (UBSan: "1e+300 is outside the range of
 * representable values of type 'int'"; in release it became INT_MIN, and a run without --threads
 * was told to resume "without --threads") */
static void test_settings_out_of_range(void)
{
    char err[1024] = "";
    write_run_json("{\"settings\": {\"threads_option\": 1e300, \"cache_option\": \"warm\", "
                   "\"reps\": 3, \"min_time_s\": 0.5}}");
    CHECK(mb_resume_check_settings(dir, 0, "warm", 3, 0.5, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "without --threads") == NULL, "%s", err);
    write_run_json("{\"settings\": {\"threads_option\": -1e300, \"cache_option\": \"warm\", "
                   "\"reps\": 3, \"min_time_s\": 0.5}}");
    CHECK(mb_resume_check_settings(dir, 2, "warm", 3, 0.5, err, sizeof err) == -1);
    write_run_json("{\"settings\": {\"threads_option\": 0, \"cache_option\": \"warm\", "
                   "\"reps\": 1e300, \"min_time_s\": 0.5}}");
    CHECK(mb_resume_check_settings(dir, 0, "warm", 3, 0.5, err, sizeof err) == -1 &&
          strstr(err, "--reps") != NULL);
    write_run_json("{\"settings\": {\"threads_option\": 0, \"cache_option\": \"warm\", "
                   "\"reps\": -1e999, \"min_time_s\": 1e999}}");
    CHECK(mb_resume_check_settings(dir, 0, "warm", 3, 0.5, err, sizeof err) == -1);
    /* the same settings in range still agree */
    write_run_json("{\"settings\": {\"threads_option\": 0, \"cache_option\": \"warm\", "
                   "\"reps\": 3, \"min_time_s\": 0.5}}");
    CHECK(mb_resume_check_settings(dir, 0, "warm", 3, 0.5, err, sizeof err) == 0);
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
