/* Error records: kernels never print, they fill an mb_err the caller may show. */
#include <stdarg.h>
#include <stdio.h>
#include "moebench/error.h"

mb_status mb_fail(mb_err *err, mb_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void mb_err_clear(mb_err *err)
{
    if (err) {
        err->code = MB_OK;
        err->msg[0] = '\0';
    }
}

const char *mb_status_name(mb_status s)
{
    switch (s) {
    case MB_OK: return "ok";
    case MB_EINVAL: return "invalid";
    case MB_ENOMEM: return "out of memory";
    case MB_EUNSUPPORTED: return "unsupported";
    case MB_EINTERNAL: return "internal error";
    case MB_EIO: return "i/o error";
    }
    return "unknown status";
}
