/* Exit codes of `moebench check` / `moebench run` when an implementation is wrong or crashes
 * (test-only implementations are visible in-process, not to the CLI binary), and that the
 * suite goes on and records the failure in results.csv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "commands.h"
#include "crash_impl.h"
#include "csv.h"

static char dir[] = "/tmp/mb_cmd_testXXXXXX";

static void write_suite(const char *name, const char *impls)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fprintf(f, "[a]\nvariant = lora\nh = 32\nr = 2\nT = 1, 4\nimpl = %s\n", impls);
    fclose(f);
}

static int run(const char *cmd, const char *suite, const char *out)
{
    char spath[256], opath[256];
    snprintf(spath, sizeof spath, "%s/%s", dir, suite);
    snprintf(opath, sizeof opath, "%s/%s", dir, out);
    char *argv[] = {(char *)cmd, spath, "--out", opath, "--min-time", "0.01", "--reps", "3",
                    "--threads", "1", "--no-plot", "--counters", "none", "--no-roofline", NULL};
    return !strcmp(cmd, "check") ? mb_cmd_check(14, argv) : mb_cmd_run(14, argv);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    mb_test_register_crash_impls();
    write_suite("good.ini", "naive");
    write_suite("wrong.ini", "naive, test_wrong");
    write_suite("crash.ini", "test_crash, naive");

    CHECK(run("check", "good.ini", "c1") == 0);
    CHECK(run("check", "wrong.ini", "c2") == 1);
    CHECK(run("run", "good.ini", "r1") == 0);
    CHECK(run("run", "crash.ini", "r2") == 1);

    char path[256];
    snprintf(path, sizeof path, "%s/r2/results.csv", dir);
    mb_csv_table t;
    CHECK(mb_csv_read(path, &t) == 0);
    CHECK(t.nrows == 4);
    int crashed = 0, ok = 0;
    for (size_t i = 0; i < t.nrows; i++) {
        crashed += !strcmp(mb_csv_get(&t, i, "status"), "crashed");
        ok += !strcmp(mb_csv_get(&t, i, "status"), "ok");
    }
    CHECK(crashed == 2 && ok == 2);   /* the crash of one implementation did not stop the suite */
    mb_csv_free(&t);

    snprintf(path, sizeof path, "%s/c2/results.csv", dir);
    CHECK(mb_csv_read(path, &t) == 0);
    int mismatch = 0;
    for (size_t i = 0; i < t.nrows; i++)
        mismatch += !strcmp(mb_csv_get(&t, i, "status"), "mismatch");
    CHECK(mismatch == 2);
    mb_csv_free(&t);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return mb_test_result("test_harness_cmd");
}
