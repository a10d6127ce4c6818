/* The element-type table (see dtype.h). */
#include <stdio.h>
#include <string.h>
#include "moebench/dtype.h"

typedef struct {
    const char *name;
    int bits;
    unsigned roles;
    const char *alias[3];
} dtype_info;

static const dtype_info table[] = {
    [MB_F32] = {"f32", 32, MB_DTYPE_ROLE_CASE, {"fp32", "float32", NULL}},
    [MB_BF16] = {"bf16", 16, MB_DTYPE_ROLE_CASE, {"bfloat16", NULL, NULL}},
    [MB_I32] = {"i32", 32, 0, {"int32", NULL, NULL}},
    /* f16 is a storage type only: the spec defines no f16 case (dtype= refuses it) */
    [MB_F16] = {"f16", 16, 0, {"fp16", "float16", NULL}},
    [MB_I8] = {"int8", 8, MB_DTYPE_ROLE_WQ, {"i8", NULL, NULL}},
    [MB_I4] = {"int4", 4, MB_DTYPE_ROLE_WQ, {"i4", NULL, NULL}},
};
/* A type added to the enum without a table row is a build error, not a NULL name. */
_Static_assert(sizeof table / sizeof table[0] == MB_DTYPE_COUNT,
               "every mb_dtype needs a row in the dtype table");

static const dtype_info *info(mb_dtype d)
{
    return (unsigned)d < MB_DTYPE_COUNT ? &table[d] : NULL;
}

const char *mb_dtype_name(mb_dtype d)
{
    const dtype_info *i = info(d);
    return i ? i->name : "?";
}

int mb_dtype_bits(mb_dtype d)
{
    const dtype_info *i = info(d);
    return i ? i->bits : 0;
}

size_t mb_dtype_size(mb_dtype d)
{
    return (size_t)(mb_dtype_bits(d) + 7) / 8;
}

int64_t mb_dtype_bytes(mb_dtype d, int64_t n)
{
    int64_t bits = mb_dtype_bits(d);
    if (bits == 0 || n < 0)
        return -1;
    if (bits % 8 == 0)
        return n > INT64_MAX / (bits / 8) ? -1 : n * (bits / 8);
    /* sub-byte: ceil(n * bits / 8) without forming n * bits */
    int64_t per = 8 / bits;   /* elements per byte (4 bits: 2) */
    return n / per + (n % per != 0);
}

unsigned mb_dtype_roles(mb_dtype d)
{
    const dtype_info *i = info(d);
    return i ? i->roles : 0u;
}

int mb_dtype_parse(const char *s, mb_dtype *out)
{
    for (int d = 0; d < MB_DTYPE_COUNT; d++) {
        int hit = !strcmp(s, table[d].name);
        for (int a = 0; a < 3 && table[d].alias[a] && !hit; a++)
            hit = !strcmp(s, table[d].alias[a]);
        if (hit) {
            *out = (mb_dtype)d;
            return 0;
        }
    }
    return -1;
}

/* "a|b|c" of the types whose bit is set in `set` (role or implemented mask, by `by_role`). */
static void names_of(unsigned set, int by_role, const char *sep, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int d = 0; d < MB_DTYPE_COUNT; d++) {
        int in = by_role ? (table[d].roles & set) != 0 : (set & MB_DTYPE_BIT(d)) != 0;
        if (!in)
            continue;
        int w = snprintf(buf + len, n - len, "%s%s", len ? sep : "", table[d].name);
        if (w < 0 || (size_t)w >= n - len)
            break;
        len += (size_t)w;
    }
}

const char *mb_dtype_role_names(unsigned role)
{
    static _Thread_local char buf[MB_DTYPE_COUNT * 8];
    names_of(role, 1, "|", buf, sizeof buf);
    return buf;
}

const char *mb_dtype_unsupported(const char *who, mb_dtype dt, unsigned implemented)
{
    if ((unsigned)dt < MB_DTYPE_COUNT && (implemented & MB_DTYPE_BIT(dt)))
        return NULL;
    static _Thread_local char why[160];
    char have[MB_DTYPE_COUNT * 8];
    names_of(implemented, 0, ", ", have, sizeof have);
    /* bf16 / int8 kernels are issue 15's work: the reason says where they will come from */
    snprintf(why, sizeof why, "unsupported dtype %s: %s implements %s only (issue 15)",
             mb_dtype_name(dt), who, have[0] ? have : "no dtype");
    return why;
}
