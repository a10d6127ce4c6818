/* Scratch files and invariant checks for the fuzz targets (see fuzz_util.h). */
#include "fuzz_util.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[512];

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[1024];
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

const char *fz_dir(void)
{
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/moebench-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        fz_require(mkdtemp(dir) != NULL, "cannot create a scratch directory in %s",
                   tmp && *tmp ? tmp : "/tmp");
        atexit(remove_dir);
    }
    return dir;
}

void fz_path(const char *name, char *out, size_t n)
{
    int len = snprintf(out, n, "%s/%s", fz_dir(), name);
    fz_require(len > 0 && (size_t)len < n, "scratch path too long");
}

void fz_write(const char *name, const void *data, size_t size)
{
    char p[1024];
    fz_path(name, p, sizeof p);
    FILE *f = fopen(p, "wb");
    fz_require(f != NULL, "cannot create %s", p);
    int ok = fwrite(data, 1, size, f) == size;
    ok = (fclose(f) == 0) && ok;
    fz_require(ok, "cannot write %s", p);
}

void fz_remove(const char *name)
{
    char p[1024];
    fz_path(name, p, sizeof p);
    unlink(p);
}

void fz_require(int cond, const char *fmt, ...)
{
    if (cond)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz invariant broken: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}
