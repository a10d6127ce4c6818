/* Small file helpers (see fileutil.h). */
#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *mb_read_file(const char *path, size_t max_bytes, size_t *len)
{
    /* regular files only: results are shared, and a path inside one (run.json's roofline
     * source) naming a fifo or /dev/zero must not block or fill memory; O_NONBLOCK keeps the
     * open itself from waiting for a fifo's writer */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    int e = fstat(fd, &st) != 0 ? errno
            : S_ISDIR(st.st_mode) ? EISDIR
            : !S_ISREG(st.st_mode) ? EINVAL
                                   : 0;
    if (e) {
        close(fd);
        errno = e;
        return NULL;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (max_bytes > 0 && cap > max_bytes) {
                free(buf);
                buf = NULL;
                errno = EFBIG;
                break;
            }
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                buf = NULL;
                errno = ENOMEM;
                break;
            }
            buf = p;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                free(buf);
                buf = NULL;
                errno = EIO;
            }
            break;
        }
    }
    fclose(f);
    if (!buf)
        return NULL;
    if (max_bytes > 0 && n > max_bytes) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* One component: made, or already a directory. */
static int mkdir_one(const char *path)
{
    if (mkdir(path, 0777) == 0)
        return 0;
    int e = errno;
    struct stat sb;
    if (e == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return 0;
    errno = e == EEXIST ? ENOTDIR : e;
    return -1;
}

int mb_mkdir_p(const char *dir, char *err, size_t errlen)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
        snprintf(err, errlen, "cannot create %.80s...: path too long", dir);
        errno = ENAMETOOLONG;
        return -1;
    }
    if (!buf[0]) {
        snprintf(err, errlen, "cannot create a directory with an empty name");
        errno = ENOENT;
        return -1;
    }
    for (char *p = buf + 1;; p++)
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            /* "a//b" and a trailing '/' give no new component */
            if (p[-1] != '/' && mkdir_one(buf) != 0) {
                int e = errno;
                snprintf(err, errlen, "cannot create %s: %s", buf, strerror(e));
                errno = e;
                return -1;
            }
            *p = c;
            if (!c)
                return 0;
        }
}
