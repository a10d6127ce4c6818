/* One memory estimate per case: the bytes a process running the case holds at its peak, so that
 * "valid" can mean "can run here" (checked against available memory before anything is
 * allocated). It models what the harness and the implementations allocate: the case's weights
 * and inputs, the naive reference (output, routing, gate, sampled inputs, its scratch), and for
 * each implementation its own output, the weights it derives or packs in prepare (onednn and
 * avx512 keep a reordered copy, blas works on the caller's weights, merged materialises merged
 * weights), its forward workspace, and the extra prepared weight copies of --cache cold.
 * Implementations run one after another and release everything, so the estimate takes the
 * largest one. Upper-ish by design: every buffer counted at its full size, plus a fixed runtime
 * allowance (libraries, thread stacks, OpenBLAS and oneDNN buffers). Pure arithmetic in checked
 * int64: no probing, no allocation. */
#ifndef MOEBENCH_MEM_ESTIMATE_H
#define MOEBENCH_MEM_ESTIMATE_H

#include <stdint.h>
#include "moebench/error.h"
#include "moebench/spec.h"

typedef struct {
    /* Rows the naive reference computes: T for the whole output, fewer when sampled (each
     * sampled row becomes a one-token sequence with copied inputs), 0 when there is none. */
    int64_t ref_rows;
    /* Implementations the process runs, one after another (names as registered; an unknown
     * name is costed like an implementation that packs its weights). NULL with n_impls 0:
     * none (only the reference). */
    const char *const *impls;
    int n_impls;
    int threads;            /* threads of the case (per-thread scratch); < 1 counts as 1 */
    int cache_cold;         /* --cache cold: more prepared weight copies (mb_mem_cold_copies) */
    int64_t llc_bytes;      /* last-level cache, for the cold copy count; <= 0: 64 MiB assumed */
    int64_t avail_bytes;    /* available memory, caps the cold copy count; <= 0: unknown */
} mb_mem_opts;

typedef struct {
    int64_t runtime;        /* libraries, thread stacks, BLAS / oneDNN buffers: a fixed allowance */
    int64_t weights;        /* the case's weights */
    int64_t inputs;         /* X, task ids (moelora), R (mor1e) */
    int64_t reference;      /* naive reference: output, routing or gate, sampled inputs, scratch */
    int64_t impl;           /* the largest implementation: output, derived / packed / merged
                             * weights, forward workspace, and its --cache cold copies */
    int64_t cold;           /* the --cache cold part of impl (already in impl) */
    int64_t saved;          /* activations kept for the backward in train mode (0 in forward) */
    int64_t grads;          /* train: dX and the trainable gradients (implementation's and
                             * reference's), and dY; 0 in forward */
    int64_t optimizer;      /* train with opt=adamw: the two f32 moments; else 0 */
    int64_t total;          /* runtime + weights + inputs + reference + impl + saved + grads
                             * + optimizer */
    char worst_impl[24];    /* which implementation impl is ("" when none runs) */
} mb_mem_estimate;

/* Fills *e for spec s (validated or not: any size arithmetic that overflows int64, and negative
 * sizes, give MB_EINVAL with the reason). */
mb_status mb_mem_estimate_case(const mb_spec *s, const mb_mem_opts *o, mb_mem_estimate *e,
                               mb_err *err);

/* Weight copies --cache cold cycles through (the runner uses this count): copies whose total
 * exceeds twice the last-level cache, at least 2 (one when the weights alone are at least
 * twice the LLC), capped so the copies take at most half the available memory and at
 * MB_MEM_MAX_COLD_COPIES. llc <= 0: 64 MiB assumed; avail <= 0: no cap. */
#define MB_MEM_MAX_COLD_COPIES 1024
int mb_mem_cold_copies(int64_t weights_bytes, int64_t llc, int64_t avail);

#endif
