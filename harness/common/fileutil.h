/* Small file helpers shared by the harness. */
#ifndef MOEBENCH_FILEUTIL_H
#define MOEBENCH_FILEUTIL_H

#include <stddef.h>

/* Reads the whole file at path into a malloc'd, NUL-terminated buffer (free with free()).
 * max_bytes > 0 caps the size: a longer file fails with errno EFBIG. *len (if non-NULL) gets
 * the number of bytes read. Only regular files are read: anything else (a fifo, a device,
 * a directory) fails at once with errno EINVAL or EISDIR. NULL on failure, with errno set. */
char *mb_read_file(const char *path, size_t max_bytes, size_t *len);

/* mkdir -p: creates dir and every missing parent (an existing directory, or one a concurrent
 * process creates meanwhile, is fine). 0 on success; -1 with errno set and "cannot create
 * PATH: why" (PATH the component that failed) in err. */
int mb_mkdir_p(const char *dir, char *err, size_t errlen);

#endif
