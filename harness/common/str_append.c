#include "str_append.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mb_str_appendf(char *buf, size_t n, const char *fmt, ...)
{
    size_t l = strnlen(buf, n);
    if (l + 1 >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + l, n - l, fmt, ap);
    va_end(ap);
}
