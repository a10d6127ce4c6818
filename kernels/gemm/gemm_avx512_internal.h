/* Private interface of the AVX-512 GEMM (the gemm and fused files named NAME_avx512.c).
 *
 * Shape: C[M, N] = beta*C + alpha * A[M, K] W[N, K]^T, with W packed once into NR-wide column
 * panels (K-major inside a panel, zero-padded to NR) and cut into K blocks of at most KC. The
 * micro-kernel walks the MR-row tiles of an A block (L2) against one micro-panel of W (KC x NR,
 * 64 KiB: streamed from L2 with the A tile, the hardware prefetchers keep up with both); a long
 * KC halves the passes over C (read-modify-write per K block) and the epilogues of KC = 256.
 * A is packed per thread task and K block (MC x KC, into a per-thread buffer of the shared pool
 * below, allocated with mb_alloc in prepare) through row pointers, which
 * makes row gathers (routed tokens) and K concatenation (fused LoRA: [X | s X A^T] times
 * [W | B]^T) free: they only change where the packing reads from. */
#ifndef MOEBENCH_GEMM_AVX512_INTERNAL_H
#define MOEBENCH_GEMM_AVX512_INTERNAL_H

#include <stdint.h>
#include <immintrin.h>
#include "moebench/gemm.h"

/* Lanes 0..n-1 of a 16-float vector (n <= 0: none, n >= 16: all). */
static inline __mmask16 mb_avx_mask(int64_t n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

#define MB_AVX_MR 12          /* rows of A per micro-tile (broadcast operand) */
#define MB_AVX_NR 32          /* columns of W per panel: two zmm */
#ifndef MB_AVX_KC             /* overridable only for tuning experiments */
#define MB_AVX_KC 512         /* K block (256: ~2-4 % slower at M >= 128, N = K = 4096) */
#endif
#ifndef MB_AVX_MC
#define MB_AVX_MC 192         /* rows per thread task (A block, 384 KiB, kept in L2); 16 tiles
                                 share each W micro-panel fetched from memory */
#endif
#ifndef MB_AVX_NC
#define MB_AVX_NC 1024        /* columns per thread task: A is re-packed once per task */
#endif
#define MB_AVX_MAX_SEG 2      /* K segments a weight may be built from */
/* A second segment this short (a LoRA rank) is appended to the last K block of the first, so
 * the low-rank term is accumulated in the same registers, with no extra pass over C. */
#define MB_AVX_KC2_MAX 64

typedef struct {
    int64_t k0, kc;   /* global K range of the block */
    int64_t off;      /* float offset of the block in packed: panel j at off + j * kc * NR */
    int seg;          /* which segment of A supplies these columns */
    int64_t seg_k0;   /* k0 relative to that segment */
    int64_t kc2;      /* the last kc2 columns come from segment 1, from its column 0 */
} mb_avx_kblock;

/* Weights with at most this many rows (router logits, LoRA down-projections to r) skip the
 * panel layout, whose 32-wide panels would be mostly padding: they are kept row-major (rows
 * padded to a multiple of 8 and K to a multiple of 16, zero-filled) for a dot-product kernel
 * that vectorises along K instead. Single-segment weights only. */
#define MB_AVX_SKINNY_N 16

struct mb_gemm_weight {
    int64_t N, K, panels;
    int skinny;         /* row-major form below instead of panels */
    int64_t ldk;        /* skinny: padded row length */
    int nseg;
    int64_t seg_k[MB_AVX_MAX_SEG];
    int nblk;
    mb_avx_kblock *blk;
    float *packed;
    int64_t bytes;   /* packed + block table */
    int pooled;      /* holds a reference on the A-pack pool */
};

/* Floats of one thread's A-pack buffer (MC x (KC + KC2_MAX), 432 KiB). */
#define MB_AVX_ABUF ((int64_t)MB_AVX_MC * (MB_AVX_KC + MB_AVX_KC2_MAX))
/* The A-pack pool: one MB_AVX_ABUF buffer per thread, mb_alloc'd (so the harness counts it as
 * workspace) and shared by every panel-form weight, which holds a reference from pack to free.
 * Acquire sizes it for max(omp_get_max_threads(), omp_get_num_procs()) threads (grows if more
 * are allowed later; only in prepare, never in a forward). Acquire / release are serialised by
 * a mutex; products on the pool must not run concurrently with a prepare or free from another
 * non-OpenMP thread. */
mb_status mb_avx512_pool_acquire(mb_err *err);
void mb_avx512_pool_release(void);
/* The buffer of pool slot i, or NULL when i is beyond the pool (the caller then allocates). */
float *mb_avx512_pool_buf(int i);

/* Arguments of one product. A is given per K segment (seg s supplies seg_k[s] columns);
 * optional a_rows gathers (product row i reads A row a_rows[i]); optional c_rows scatters
 * (product row i goes to C row c_rows[i]); optional row_scale multiplies row i's product:
 * C[c(i)] = beta * C[c(i)] + alpha * row_scale[i] * (A W^T)[i]. */
typedef struct {
    int64_t M;
    const float *a[MB_AVX_MAX_SEG];
    int64_t lda[MB_AVX_MAX_SEG];
    const int32_t *a_rows;
    float alpha, beta;
    float *c;
    int64_t ldc;
    const int32_t *c_rows;
    const float *row_scale;
} mb_avx_gemm_args;

/* Packs [W1 | W2] (W1 [N, K1] ld ldw1; W2 [N, K2] ld ldw2, may be NULL with K2 = 0). */
mb_status mb_avx512_pack(const float *W1, int64_t K1, int64_t ldw1, const float *W2, int64_t K2,
                         int64_t ldw2, int64_t N, mb_gemm_weight **out, mb_err *err);
void mb_avx512_weight_free(mb_gemm_weight *w);

/* The product; M == 1 takes the GEMV path. Threads: OpenMP over independent C tiles (serial
 * when called from inside a parallel region or when the product is tiny). */
void mb_avx512_gemm_run(const mb_gemm_weight *w, const mb_avx_gemm_args *g);
void mb_avx512_gemv_run(const mb_gemm_weight *w, const mb_avx_gemm_args *g);
void mb_avx512_skinny_run(const mb_gemm_weight *w, const mb_avx_gemm_args *g);

/* Both return NULL when usable, else the reason (probe result or build limitation). */
const char *mb_avx512_unavailable(void);

#endif
