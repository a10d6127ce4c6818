/* Error reporting for libmoebench: nothing in kernels/ prints or exits.
 * Every fallible function takes an mb_err * (may be NULL) and returns an mb_status. */
#ifndef MOEBENCH_ERROR_H
#define MOEBENCH_ERROR_H

#include <stddef.h>

typedef enum {
    MB_OK = 0,
    MB_EINVAL = 1,      /* impossible spec or bad argument */
    MB_ENOMEM = 2,      /* allocation failed or over the memory budget */
    MB_EUNSUPPORTED = 3,/* implementation cannot run this spec (reason in msg) */
    MB_EINTERNAL = 4,   /* a library (BLAS, oneDNN, ...) reported an error */
    MB_EIO = 5          /* file I/O (npy) */
} mb_status;

#define MB_ERR_MSG_LEN 512

typedef struct {
    mb_status code;
    char msg[MB_ERR_MSG_LEN];
} mb_err;

/* Records code and a printf-style message in *err (if err != NULL); returns code. */
mb_status mb_fail(mb_err *err, mb_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears *err to MB_OK / "". */
void mb_err_clear(mb_err *err);

const char *mb_status_name(mb_status s);

#endif
