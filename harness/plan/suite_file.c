/* Suite files are read from a descriptor opened O_NONBLOCK (opening a FIFO must not wait for a
 * writer) and checked with fstat on that descriptor, so the file read is the file checked. */
#include "suite_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *file_kind(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device"
           : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

char *mb_suite_file_read(const char *path, struct stat *st, size_t *len, char *why,
                         size_t whylen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(why, whylen, "cannot open (%s)", strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    if (fstat(fd, st)) {
        snprintf(why, whylen, "cannot stat (%s)", strerror(errno));
        goto bad;
    }
    if (!S_ISREG(st->st_mode)) {
        snprintf(why, whylen, "is %s; suite files and includes must be regular files",
                 file_kind(st->st_mode));
        goto bad;
    }
    const size_t max = MB_SUITE_FILE_MAX_BYTES;
    /* room for one byte more than allowed (to see a file that grew) and the NUL */
    size_t cap = (st->st_size < (off_t)max ? (size_t)st->st_size : max) + 2, n = 0;
    buf = malloc(cap);
    for (;;) {
        if (!buf) {
            snprintf(why, whylen, "out of memory");
            goto bad;
        }
        if (n > max)
            break;
        if (n + 1 == cap) {   /* grew since fstat */
            char *b = realloc(buf, cap = max + 2);
            if (!b)
                free(buf);
            buf = b;
            continue;
        }
        ssize_t got = read(fd, buf + n, cap - 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(why, whylen, "read error (%s)", strerror(errno));
            goto bad;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    if (n > max || st->st_size > (off_t)max) {
        snprintf(why, whylen, "larger than %zu bytes (1 MiB), the limit for suite files", max);
        goto bad;
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
bad:
    free(buf);
    close(fd);
    return NULL;
}
