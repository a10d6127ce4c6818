/* Weight-only quantisation of the frozen base weights (spec Part 1 "Precision", key wq=):
 *   int8: symmetric per output row:  scale_i = max_j |W_ij| / 127 (rounded once to f32),
 *         q_ij = clamp(round_half_even(W_ij / scale_i), -127, 127);
 *   int4: symmetric per group of MB_WQ_GROUP (64) consecutive input elements of a row:
 *         scale_ig = max_{j in g} |W_ij| / 7, q_ij in -7..7 likewise.
 * The layer's weight is q * scale, which is exact in double (|q| <= 127 has 7 significant bits,
 * scale 24: 31 < 53), so the reference uses it without rounding.
 * An all-zero row (or group) has scale 0 and q 0: its weights are exactly 0, never 0/0 = NaN.
 * The inputs must be finite (the seeded fills are).
 * Storage: int8 one q per byte; int4 two per byte, element n (row-major flat index) in byte n/2,
 * even n in the low nibble, odd n in the high one, as 4-bit two's complement. Scales f32
 * [rows, groups] (int8: groups = 1). */
#ifndef MOEBENCH_QUANT_H
#define MOEBENCH_QUANT_H

#include <stdint.h>
#include "moebench/dtype.h"
#include "moebench/error.h"

/* Largest |q| of wq (int8: 127, int4: 7); 0 for a type that is not a wq type. */
int mb_wq_qmax(mb_dtype wq);
/* Scale groups per row of K input elements (int8: 1; int4: K / MB_WQ_GROUP), -1 when K does not
 * split into whole groups or wq is not a wq type. */
int64_t mb_wq_groups(mb_dtype wq, int64_t K);
/* Quantises W [rows, K] (f32, finite) into q (mb_dtype_bytes(wq, rows*K) bytes, zeroed by the
 * caller for int4) and scale [rows, groups]. MB_EINVAL with the reason for a K int4 cannot group
 * or a type that is not wq. */
mb_status mb_quantize(mb_dtype wq, const float *W, int64_t rows, int64_t K, void *q, float *scale,
                      mb_err *err);
/* The level q of element n (flat index) of quantised storage q of type wq. */
int mb_wq_level(mb_dtype wq, const void *q, int64_t n);

#endif
