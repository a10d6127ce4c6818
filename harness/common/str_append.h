/* Messages built in pieces (the reasons of --resume and merge list every difference). */
#ifndef MOEBENCH_STR_APPEND_H
#define MOEBENCH_STR_APPEND_H

#include <stddef.h>

/* Appends printf-style text to the NUL-terminated buf of n bytes; a full buf stays terminated
 * and the rest is dropped. */
void mb_str_appendf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
