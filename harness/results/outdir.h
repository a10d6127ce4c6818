/* Output directories of `moebench run`: each run gets a directory of its own. The leaf is
 * created exclusively (mkdir, never "already exists, fine"), so two runs never write into one
 * directory and a run never truncates another's results; an old directory is only ever moved
 * aside (--force), never deleted. */
#ifndef MOEBENCH_OUTDIR_H
#define MOEBENCH_OUTDIR_H

#include <stddef.h>

/* Longest output directory path accepted: files inside it (results.csv, run-resume-*.json,
 * charts) must still fit the harness's path buffers. */
#define MB_OUTDIR_MAX 3800

/* Why path cannot be an output directory at all ("" / too long), as a message without the
 * option name, or NULL when it is usable as far as its text goes. */
const char *mb_outdir_unusable(const char *path);

/* Creates the parents of path as needed, then path itself exclusively. 0 on success; -1 with
 * errno set (EEXIST: path exists, whatever it is) and a message in err. */
int mb_outdir_create(const char *path, char *err, size_t errlen);

/* Creates base, or when it exists base-2, base-3, ...: a directory no other run uses. The name
 * taken goes to out. 0 on success; -1 with a message in err. */
int mb_outdir_create_fresh(const char *base, char *out, size_t outlen, char *err, size_t errlen);

/* Renames the existing directory path to path.old-<UTC time> (-2, -3, ... when taken; never
 * onto an existing name), the new name in moved. 0 on success; -1 with a message in err
 * (path is not a directory, or the rename failed). */
int mb_outdir_move_aside(const char *path, char *moved, size_t movedlen, char *err, size_t errlen);

/* Marks dir as in use by this process for as long as it lives: an exclusive flock on
 * dir/.moebench.lock (O_CLOEXEC: programs it executes do not hold it; forked case children do,
 * and die with it). Released by the kernel on exit, so a killed run leaves no stale lock.
 * Returns the descriptor to keep open, or -1 with a message in err (EWOULDBLOCK: another
 * moebench process is writing there). */
int mb_outdir_lock(const char *dir, char *err, size_t errlen);

#endif
