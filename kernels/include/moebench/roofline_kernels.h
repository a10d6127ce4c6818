/* The measuring loops of `moebench roofline` (harness/machine/roofline.c times them): FMA-bound
 * and stream-bound kernels per ISA. Here, beside the other AVX-512 code, so that the
 * *_avx512.c flags rule of CMakeLists.txt covers them; like the rest of kernels/ they never
 * print. */
#ifndef MOEBENCH_ROOFLINE_KERNELS_H
#define MOEBENCH_ROOFLINE_KERNELS_H

#include <stddef.h>

/* Measurement kernels (kernels/machine/roofline_kernels.c, roofline_avx512.c). Each returns the FLOPs done or
 * the bytes moved by one call; iters scales the work. */
double mb_rl_fma_avx512(long iters);
double mb_rl_fma_avx2(long iters);
double mb_rl_fma_scalar(long iters);
/* The bf16 dot-product peak (vdpbf16ps: 2 flops per bf16 product); call only where
 * mb_rl_cpu_has_avx512_bf16() says yes. */
double mb_rl_dpbf16_avx512(long iters);
/* Sum of n floats (read) and a[i] = b[i] + s c[i] (triad) over n floats; the result is kept
 * in *sink so the work cannot be optimised away. */
void mb_rl_read_avx512(const float *x, size_t n, float *sink);
void mb_rl_triad_avx512(float *a, const float *b, const float *c, size_t n, float s);
void mb_rl_read_avx2(const float *x, size_t n, float *sink);
void mb_rl_triad_avx2(float *a, const float *b, const float *c, size_t n, float s);
void mb_rl_read_scalar(const float *x, size_t n, float *sink);
void mb_rl_triad_scalar(float *a, const float *b, const float *c, size_t n, float s);
/* The same sum as read, in a GEMV's order: the n floats as rows of MB_RL_PANEL_COLS, read
 * MB_RL_PANEL_ROWS rows at a time side by side. Several concurrent streams keep more misses in
 * flight than one, so on some machines this reads DRAM faster than read and triad do: the
 * bandwidth a GEMV over a weight matrix sees, which a ceiling must not underestimate. */
#define MB_RL_PANEL_COLS 4096
#define MB_RL_PANEL_ROWS 8
void mb_rl_panels_avx512(const float *x, size_t n, float *sink);
void mb_rl_panels_avx2(const float *x, size_t n, float *sink);
void mb_rl_panels_scalar(const float *x, size_t n, float *sink);
/* Whether this CPU executes the ISA (runtime check). */
int mb_rl_cpu_has_avx512(void);
int mb_rl_cpu_has_avx2(void);
/* 1 where this CPU natively executes AVX512_BF16, else 0 and *why (if non-NULL) says why (the
 * probe's reason, or that the build emulates AVX-512: no peak of this CPU then). */
int mb_rl_cpu_has_avx512_bf16(const char **why);

#endif
