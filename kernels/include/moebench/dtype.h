/* Element types: one table (kernels/core/dtype.c) holds each type's name, aliases, bits per
 * element and which descriptor keys may name it, so byte counts (tensors, spec bytes, the cost
 * model, the memory estimate) and messages all come from the same place.
 * Precision is spec Part 1 "Precision": `dtype` (f32 | bf16) is the storage type of X, every
 * weight and Y; `wq` (int8 | int4, issue 15) will quantise the frozen base weights only. */
#ifndef MOEBENCH_DTYPE_H
#define MOEBENCH_DTYPE_H

#include <stddef.h>
#include <stdint.h>

/* The first three values are the ones mb_dtype had before the table (kept stable). */
typedef enum {
    MB_F32 = 0,
    MB_BF16 = 1,
    MB_I32 = 2,    /* task ids */
    MB_F16 = 3,
    MB_I8 = 4,     /* wq=int8: symmetric per output row */
    MB_I4 = 5,     /* wq=int4: groups of 64, two values per byte */
    MB_DTYPE_COUNT
} mb_dtype;

/* Roles: which descriptor key may name the type. */
#define MB_DTYPE_ROLE_CASE 1u   /* dtype=: storage type of activations and weights */
#define MB_DTYPE_ROLE_WQ 2u     /* wq=: quantised base weights (issue 15) */

/* 1 bit per dtype, for "implemented" sets (mb_dtype_unsupported). */
#define MB_DTYPE_BIT(d) (1u << (unsigned)(d))

/* Canonical name ("f32", "bf16", "i32", "f16", "int8", "int4"), "?" out of range. */
const char *mb_dtype_name(mb_dtype d);
/* Bits of one element (32, 16, 32, 16, 8, 4); 0 out of range. */
int mb_dtype_bits(mb_dtype d);
/* Bytes one element occupies on its own (sub-byte types round up: int4 -> 1). Byte counts of n
 * elements: mb_dtype_bytes, which packs int4 two to a byte. */
size_t mb_dtype_size(mb_dtype d);
/* Bytes of n >= 0 elements, ceil(n * bits / 8); -1 on int64 overflow or a bad dtype. */
int64_t mb_dtype_bytes(mb_dtype d, int64_t n);
/* MB_DTYPE_ROLE_* bits of the type. */
unsigned mb_dtype_roles(mb_dtype d);
/* Name or alias ("f32", "fp32", "float32", "bf16", "bfloat16", "i32", "int32", "f16", "fp16",
 * "float16", "int8", "i8", "int4", "i4") -> 0 and *out, else -1. */
int mb_dtype_parse(const char *s, mb_dtype *out);
/* The names of the types with role bit `role`, "|"-separated (e.g. "f32|bf16"), for messages. */
const char *mb_dtype_role_names(unsigned role);

/* NULL when dt is in `implemented` (MB_DTYPE_BIT set), else the reason
 * "unsupported dtype bf16: <who> implements f32 only (issue 15)" in a thread-local buffer that
 * the next call overwrites (copy it if it must outlive that). */
const char *mb_dtype_unsupported(const char *who, mb_dtype dt, unsigned implemented);

#endif
