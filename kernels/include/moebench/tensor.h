/* Dense row-major tensors with a dtype field (element types: moebench/dtype.h). */
#ifndef MOEBENCH_TENSOR_H
#define MOEBENCH_TENSOR_H

#include <stdint.h>
#include "moebench/dtype.h"
#include "moebench/error.h"

#define MB_MAX_DIMS 4

typedef struct {
    mb_dtype dtype;
    int ndim;
    int64_t shape[MB_MAX_DIMS];
    int64_t stride[MB_MAX_DIMS]; /* in elements, row-major contiguous after mb_tensor_alloc */
    void *data;                  /* MB_ALIGN-aligned, from mb_alloc */
} mb_tensor;

/* Allocates a zeroed contiguous tensor of any mb_dtype (int4 packs two elements per byte).
 * shape has ndim entries (1..4), each >= 1. */
mb_status mb_tensor_alloc(mb_tensor *t, mb_dtype dtype, int ndim, const int64_t *shape, mb_err *err);
void mb_tensor_free(mb_tensor *t);   /* safe on a zeroed or already-freed tensor */
int64_t mb_tensor_numel(const mb_tensor *t);
int64_t mb_tensor_bytes(const mb_tensor *t);
static inline float *mb_f32(const mb_tensor *t) { return (float *)t->data; }
static inline int32_t *mb_i32(const mb_tensor *t) { return (int32_t *)t->data; }

/* Seeded fills of f32, bf16 (round to nearest even from the f32 value) and i32 tensors.
 * Element i of a tensor gets a value that depends only on (seed, stream, i):
 * the same on any thread count (counter-based generator, no sequential state).
 * f16, int8 and int4 tensors are left untouched: quantised weights are derived from an f32
 * fill by the wq quantiser (spec "Precision", issue 15), not drawn.
 * stream is usually mb_stream_of(name) so each named tensor has its own numbers. */
uint64_t mb_stream_of(const char *name);
void mb_fill_uniform(mb_tensor *t, uint64_t seed, uint64_t stream, float lo, float hi);
void mb_fill_normal(mb_tensor *t, uint64_t seed, uint64_t stream, float mean, float std);
/* The counter-th draw of stream under seed, uniform in [0, 1) (53 bits): the generator of the
 * fills, for draws that are not a tensor (route=zipf). A pure function of its arguments. */
double mb_rand_unit(uint64_t seed, uint64_t stream, uint64_t counter);
/* Integers uniform in [0, n) (for MB_I32 tensors, e.g. task ids). */
void mb_fill_int(mb_tensor *t, uint64_t seed, uint64_t stream, int32_t n);

/* FNV-1a 64 over the raw bytes: the output checksum printed by `moebench case`. */
uint64_t mb_tensor_hash(const mb_tensor *t);
/* Sum of elements in double (f32 tensors). */
double mb_tensor_sum(const mb_tensor *t);

#endif
