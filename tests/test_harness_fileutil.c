/* mb_mkdir_p (common/fileutil.c), the one mkdir -p of the harness (plot staging, output
 * directories' parents): nested creation, existing directories, a file in the way named. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fileutil.h"

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int main(void)
{
    char base[] = "/tmp/mb_fileutil_XXXXXX";
    CHECK(mkdtemp(base) != NULL);
    char path[512], err[512];

    snprintf(path, sizeof path, "%s/a/b//c/", base);   /* doubled and trailing slashes */
    CHECK_MSG(mb_mkdir_p(path, err, sizeof err) == 0, "%s", err);
    snprintf(path, sizeof path, "%s/a/b/c", base);
    CHECK(is_dir(path));
    CHECK(mb_mkdir_p(path, err, sizeof err) == 0);   /* existing: fine */

    /* a regular file where a directory should be: fails, naming that component */
    snprintf(path, sizeof path, "%s/file", base);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "%s/file/sub", base);
    err[0] = '\0';
    CHECK(mb_mkdir_p(path, err, sizeof err) == -1 && errno == ENOTDIR);
    char want[600];
    snprintf(want, sizeof want, "cannot create %s/file:", base);
    CHECK_MSG(strstr(err, want) != NULL, "err: %s", err);
    snprintf(path, sizeof path, "%s/file", base);
    CHECK(mb_mkdir_p(path, err, sizeof err) == -1);   /* the leaf itself is a file */

    CHECK(mb_mkdir_p("", err, sizeof err) == -1 && err[0]);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    CHECK(system(cmd) == 0);
    return mb_test_result("test_harness_fileutil");
}
