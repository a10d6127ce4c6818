/* Reading a suite file or an include: regular files only, bounded in size. */
#ifndef MOEBENCH_SUITE_FILE_H
#define MOEBENCH_SUITE_FILE_H

#include <stddef.h>
#include <sys/stat.h>

/* A suite file or an include is read whole: 1 MiB is thousands of sections, and the bound keeps
 * `include = /dev/zero` or a huge file from being read at all. */
#define MB_SUITE_FILE_MAX_BYTES (1 << 20)

/* Reads the regular file at path (at most MB_SUITE_FILE_MAX_BYTES) into a malloc'd,
 * NUL-terminated buffer; *st gets its fstat (to recognise the file again), *len its size.
 * NULL with a reason in why ("is a FIFO; ...", "larger than ...", "cannot open (No such file or directory)")
 * otherwise. Never blocks on a FIFO or a device. */
char *mb_suite_file_read(const char *path, struct stat *st, size_t *len, char *why,
                         size_t whylen);

#endif
