/* Tracked aligned allocation. The size lives in a MB_ALIGN-byte header in front of the returned
 * pointer, so mb_free can uncount it without a lookup table (and alignment is kept). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "moebench/mem.h"

static atomic_int_least64_t g_current;
static atomic_int_least64_t g_peak;

int mb_mul_i64(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return -1;
    *out = r;
    return 0;
}

int mb_add_i64(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return -1;
    *out = r;
    return 0;
}

static void raise_peak(int64_t now)
{
    int_least64_t old = atomic_load(&g_peak);
    while (now > old && !atomic_compare_exchange_weak(&g_peak, &old, now)) {
    }
}

void *mb_alloc(size_t bytes)
{
    if (bytes == 0 || bytes > (size_t)INT64_MAX - 2 * MB_ALIGN)
        return NULL;
    size_t body = (bytes + MB_ALIGN - 1) / MB_ALIGN * MB_ALIGN;
    unsigned char *base = aligned_alloc(MB_ALIGN, body + MB_ALIGN);
    if (!base)
        return NULL;
    memset(base + MB_ALIGN, 0, body);
    memcpy(base, &body, sizeof body);
    int64_t now = (int64_t)atomic_fetch_add(&g_current, (int64_t)body) + (int64_t)body;
    raise_peak(now);
    return base + MB_ALIGN;
}

void mb_free(void *p)
{
    if (!p)
        return;
    unsigned char *base = (unsigned char *)p - MB_ALIGN;
    size_t body;
    memcpy(&body, base, sizeof body);
    atomic_fetch_sub(&g_current, (int64_t)body);
    free(base);
}

int64_t mb_mem_current(void) { return (int64_t)atomic_load(&g_current); }
int64_t mb_mem_peak(void) { return (int64_t)atomic_load(&g_peak); }
void mb_mem_reset_peak(void) { atomic_store(&g_peak, atomic_load(&g_current)); }
