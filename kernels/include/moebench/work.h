/* The kernels' own work counts, accumulated where the work is done and exported as PAPI
 * Software Defined Events of library "moebench" (sde:::moebench::<name>) when built with
 * libsde. Each is a running total over the process (relaxed atomics, one add per call, never
 * per element): a reader takes the difference over the region it measures, as PAPI does for
 * SDE counters in delta mode.
 *
 * What each counts (the cost model, kernels/core/cost.c, predicts flops and weight_bytes; the
 * test test_lib_work.c holds them to it):
 *   flops                  2 M N K per GEMM of the provider interface (moebench/gemm.h),
 *                          plus the dot products the cost model counts outside them (moelora's
 *                          task gate, 2 te E per sequence): multiply-adds only, like the cost
 *                          model (no softmax, activation, gating or scaling work)
 *   weight_bytes           bytes of the distinct prepared weights the GEMMs of one forward
 *                          read (N K x element size, each weight once per forward): the cost
 *                          model's weights-touched term
 *   weight_bytes_streamed  the same, counted at every GEMM call (a weight reused by several
 *                          experts counts each time): what the kernels stream through the cache
 *   io_bytes               X read and Y written by a forward (numel x element size)
 *   rows_routed            (token, expert) assignments grouped by the router: T k per forward
 *   experts_hit            experts given at least one row
 *   rows_gathered          rows copied into an expert's contiguous block (every gather call)
 *   rows_scattered         rows added back from an expert's block, weighted
 *   gemm_calls             provider GEMM calls
 * Counted by the provider-backed implementations (blas, onednn, avx512 without a fused
 * kernel, merged); mb_work_uncounted names the ones that do not count. */
#ifndef MOEBENCH_WORK_H
#define MOEBENCH_WORK_H

#include <stdint.h>
#include "moebench/spec.h"

typedef enum {
    MB_WORK_FLOPS,
    MB_WORK_WEIGHT_BYTES,
    MB_WORK_WEIGHT_BYTES_STREAMED,
    MB_WORK_IO_BYTES,
    MB_WORK_ROWS_ROUTED,
    MB_WORK_EXPERTS_HIT,
    MB_WORK_ROWS_GATHERED,
    MB_WORK_ROWS_SCATTERED,
    MB_WORK_GEMM_CALLS,
    MB_WORK_COUNT
} mb_work_kind;

/* "flops", "weight_bytes", ... (the SDE event name without "moebench::"); NULL out of range. */
const char *mb_work_name(mb_work_kind k);
/* One line saying what it counts (the SDE description). */
const char *mb_work_description(mb_work_kind k);
/* The kind named name (with or without the "sde:::moebench::" prefix), or -1. */
int mb_work_find(const char *name);
/* The running total. */
int64_t mb_work_read(mb_work_kind k);

/* Recorders, called where the work is done. */
void mb_work_add(mb_work_kind k, int64_t n);
/* A forward starts on this thread: the weights it touches count once each in weight_bytes. */
void mb_work_forward_begin(void);
/* One GEMM C[M,N] += A[M,K] W^T on prepared weight w with elements of elem_bits. */
void mb_work_gemm(const void *w, int64_t M, int64_t N, int64_t K, int elem_bits);
/* bytes of weight w read outside the GEMMs (e.g. moelora's embedding row and gate): streamed
 * every call, and into weight_bytes the first time this forward. */
void mb_work_weight(const void *w, int64_t bytes);

/* NULL when implementation impl counts its work for spec s, else why not (static string). */
const char *mb_work_uncounted(const char *impl, const mb_spec *s);

/* Registers the counters as SDEs of library "moebench" (once; later calls do nothing).
 * 0 when registered, -1 when built without libsde. */
int mb_work_sde_register(void);

#endif
