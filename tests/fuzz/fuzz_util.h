/* Shared by the libFuzzer targets. The readers under test take paths, so each input is written
 * to a private scratch directory (made once per process under $TMPDIR, removed at exit). A
 * broken invariant is reported with fz_require, which aborts: libFuzzer then saves the input as
 * a crash reproducer. */
#ifndef MB_FUZZ_UTIL_H
#define MB_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The scratch directory of this process. */
const char *fz_dir(void);
/* dir/name into out (aborts when it does not fit). */
void fz_path(const char *name, char *out, size_t n);
/* Writes data to dir/name, replacing it (aborts on an I/O error: that is the harness, not the
 * code under test). */
void fz_write(const char *name, const void *data, size_t size);
/* Removes dir/name if it exists. */
void fz_remove(const char *name);

/* Aborts with the message when cond is false. */
void fz_require(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
