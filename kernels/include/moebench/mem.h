/* Aligned, tracked allocation. The harness reads the counters to report exact weight and
 * workspace bytes, so every buffer an implementation owns must come from here. */
#ifndef MOEBENCH_MEM_H
#define MOEBENCH_MEM_H

#include <stdint.h>
#include <stddef.h>

#define MB_ALIGN 64

/* 64-byte aligned, zero-filled; NULL on failure or bytes == 0. Counted in the tracker. */
void *mb_alloc(size_t bytes);
void mb_free(void *p);

/* Bytes currently allocated through mb_alloc and the high-water mark since the last reset.
 * Thread-safe (atomics). */
int64_t mb_mem_current(void);
int64_t mb_mem_peak(void);
void mb_mem_reset_peak(void);

/* Overflow-checked helpers: return 0 and set *out on success, -1 on int64 overflow. */
int mb_mul_i64(int64_t a, int64_t b, int64_t *out);
int mb_add_i64(int64_t a, int64_t b, int64_t *out);

#endif
