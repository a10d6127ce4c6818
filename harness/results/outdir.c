/* Exclusive output directories (see outdir.h). */
#define _GNU_SOURCE   /* renameat2, RENAME_NOREPLACE */
#include "outdir.h"
#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *mb_outdir_unusable(const char *path)
{
    if (!path || !path[0])
        return "an empty path is no directory";
    if (strlen(path) > MB_OUTDIR_MAX)
        return "path too long";
    return NULL;
}

int mb_outdir_create(const char *path, char *err, size_t errlen)
{
    const char *why = mb_outdir_unusable(path);
    if (why) {
        snprintf(err, errlen, "'%.80s': %s", path, why);
        errno = EINVAL;
        return -1;
    }
    /* parents may exist or be created by a concurrent run: only the leaf is exclusive */
    char parent[MB_OUTDIR_MAX + 1];
    snprintf(parent, sizeof parent, "%s", path);
    for (size_t l = strlen(parent); l > 1 && parent[l - 1] == '/'; l--)
        parent[l - 1] = '\0';   /* "runs/x/" is the directory x, its parent runs */
    char *slash = strrchr(parent, '/');
    while (slash && slash > parent && slash[-1] == '/')
        slash--;
    if (slash && slash > parent) {
        *slash = '\0';
        if (mb_mkdir_p(parent, err, errlen) != 0)
            return -1;
    }
    if (mkdir(path, 0777) != 0) {
        int e = errno;
        struct stat sb;
        if (e == EEXIST && stat(path, &sb) == 0 && !S_ISDIR(sb.st_mode))
            snprintf(err, errlen, "%s exists and is not a directory", path);
        else if (e == EEXIST)
            snprintf(err, errlen, "%s exists already", path);
        else
            snprintf(err, errlen, "cannot create %s: %s", path, strerror(e));
        errno = e;
        return -1;
    }
    return 0;
}

int mb_outdir_create_fresh(const char *base, char *out, size_t outlen, char *err, size_t errlen)
{
    /* the name is the suite and the second: runs started in the same second take the next
     * free suffix; mkdir decides atomically who gets which */
    for (int k = 1; k <= 10000; k++) {
        if (k == 1)
            snprintf(out, outlen, "%s", base);
        else
            snprintf(out, outlen, "%s-%d", base, k);
        if (mb_outdir_create(out, err, errlen) == 0)
            return 0;
        if (errno != EEXIST)
            return -1;
    }
    snprintf(err, errlen, "%s and %s-2 ... %s-10000 exist already", base, base, base);
    return -1;
}

/* rename that never replaces: RENAME_NOREPLACE where the file system has it, otherwise a
 * check first (a race there could only replace an empty directory) */
static int rename_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    struct stat sb;
    if (lstat(to, &sb) == 0) {
        errno = EEXIST;
        return -1;
    }
    return rename(from, to);
}

int mb_outdir_move_aside(const char *path, char *moved, size_t movedlen, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a directory (--force moves only an output "
                              "directory aside)", path);
        return -1;
    }
    char stamp[32];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tmv);
    for (int k = 1; k <= 10000; k++) {
        if (k == 1)
            snprintf(moved, movedlen, "%s.old-%s", path, stamp);
        else
            snprintf(moved, movedlen, "%s.old-%s-%d", path, stamp, k);
        if (rename_noreplace(path, moved) == 0)
            return 0;
        if (errno != EEXIST && errno != ENOTEMPTY) {
            snprintf(err, errlen, "cannot move %s aside to %s: %s", path, moved, strerror(errno));
            return -1;
        }
    }
    snprintf(err, errlen, "cannot move %s aside: %s.old-%s and 10000 more names exist", path, path,
             stamp);
    return -1;
}

int mb_outdir_lock(const char *dir, char *err, size_t errlen)
{
    char path[MB_OUTDIR_MAX + 32];
    snprintf(path, sizeof path, "%s/.moebench.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        /* the holder wrote its pid: name it, so the user can see which run it is */
        char pid[32] = "";
        ssize_t got = pread(fd, pid, sizeof pid - 1, 0);
        pid[got > 0 ? got : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (e == EWOULDBLOCK)
            snprintf(err, errlen, "%s is in use by a running moebench%s%s%s", dir,
                     pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
        else
            snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
        close(fd);
        errno = e;
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        /* the pid is only for the message above; the lock holds without it */
    }
    return fd;
}
