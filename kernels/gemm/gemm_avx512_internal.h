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
#include "moebench/spec.h"

/* The provider's entry points, which a CPU without AVX-512 reaches to be told why not: compiled
 * without AVX-512, so not even their prologue executes an AVX-512 instruction before the probe
 * answers (under ASan, -mavx512bw made the stack poisoning of a local a vmovdqu8: SIGILL on
 * such a CPU). The work they pass on lives in other, AVX-512, functions. */
#define MB_AVX512_ENTRY \
    __attribute__((target("no-avx512f,no-avx512bw,no-avx512vl,no-avx512dq,no-avx512bf16")))

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

/* Gated weights (glu = 1): the stacked [Wg; Wu] (N = 2 * nout rows) packed so that panel p
 * holds gate rows 16p .. 16p+15 in its first 16 columns and the matching up rows in its last
 * 16. The micro-tile then holds G and U of the same 16 outputs in one register pair, and the
 * final store can write act(G) .* U directly (mb_avx_gemm_args.h). Un-activated results and
 * partial sums keep that interleaved layout in C: panel p at columns 32p .. 32p+31, so C rows
 * need mb_avx512_glu_ldc(w) floats. */
struct mb_gemm_weight {
    int64_t N, K, panels;
    int glu;
    int64_t nout;       /* glu: output columns (N / 2) */
    int skinny;         /* row-major form below instead of panels */
    int64_t ldk;        /* skinny: K padded to 16 (a group of 8 rows holds 8 * ldk) */
    int nseg;
    int64_t seg_k[MB_AVX_MAX_SEG];
    int nblk;
    mb_avx_kblock *blk;
    float *packed;
    int64_t bytes;   /* packed + block table */
    int pooled;      /* holds a reference on the A-pack pool */
    /* training direction (train_avx512.c): the caller's W as given to the provider's prepare
     * (alive until weight_train) and the packed W^T [K, N] that gemm_nn runs on */
    const float *W;
    int64_t ldw;
    struct mb_gemm_weight *tw;
    /* weight-only quantised (weight_prepare_q): the packed levels gemm runs on instead; the
     * panel members above are then unused (packed NULL) */
    struct mb_avx_wq *wq;
};

/* Widest Z a product can compute for itself (mb_avx_zfuse): a task keeps MC x this many floats. */
#define MB_AVX_ZMAX 256
/* Floats of one thread's pool slot: the A-pack buffer (MC x (KC + KC2_MAX), 432 KiB), then the
 * task's Z rows (MC x ZMAX, 192 KiB). */
#define MB_AVX_ABUF_A ((int64_t)MB_AVX_MC * (MB_AVX_KC + MB_AVX_KC2_MAX))
#define MB_AVX_ABUF (MB_AVX_ABUF_A + (int64_t)MB_AVX_MC * MB_AVX_ZMAX)
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

/* C columns of panel p start at p * NR in both layouts; the two halves' valid lanes differ. */
static inline void mb_avx_panel_masks(const mb_gemm_weight *w, int64_t p, __mmask16 *m0,
                                      __mmask16 *m1)
{
    if (w->glu) {
        *m0 = *m1 = mb_avx_mask(w->nout - p * 16);
    } else {
        *m0 = mb_avx_mask(w->N - p * MB_AVX_NR);
        *m1 = mb_avx_mask(w->N - p * MB_AVX_NR - 16);
    }
}

static inline int64_t mb_avx512_glu_ldc(const mb_gemm_weight *w) { return w->panels * MB_AVX_NR; }

/* A low-rank adapter computed inside the product (fused LoRA): segment 1 of A is not given but
 * Z = gate(A_seg0 D^T), with D [n1, K1] packed by mb_avx512_pack_down (its K blocks are the
 * product's segment-0 blocks). Each task accumulates its rows of A D^T from the A micro-panels
 * it has just packed, i.e. while that block of A is in L1/L2, so the adapter costs no second
 * pass over A; when segment 0 is done it applies the gate to each row and packs Z's first
 * seg_k[1] columns as segment 1. Tasks that share rows (a split over N) each compute them: the
 * gate sees record = 1 in exactly one of them (the one owning panel 0), so side outputs (gate
 * values) are written once. n1 <= MB_AVX_ZMAX. */
typedef struct {
    const mb_gemm_weight *down;
    int64_t n1;
    void (*gate)(void *ctx, int64_t row, float *z, int record);   /* NULL: Z as is */
    void *ctx;
} mb_avx_zfuse;

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
    /* Gated epilogue (glu weights only; NULL: store V = the product above into C, interleaved).
     * With h, H[c(i), j] = act(V[i, gate j]) * V[i, up j] is stored instead of V (ldh, c_rows
     * apply), so G and U never reach memory when K fits one block; otherwise C holds the partial
     * sums of the earlier K blocks (scratch: unspecified on return). C may be NULL only when
     * beta == 0 and the weight has one K block. */
    float *h;
    int64_t ldh;
    mb_act act;
    const mb_avx_zfuse *zf;   /* optional: segment 1 computed inside (a[1] is not read) */
} mb_avx_gemm_args;

/* Packs [W1 | W2] (W1 [N, K1] ld ldw1; W2 [N, K2] ld ldw2, may be NULL with K2 = 0). */
mb_status mb_avx512_pack(const float *W1, int64_t K1, int64_t ldw1, const float *W2, int64_t K2,
                         int64_t ldw2, int64_t N, mb_gemm_weight **out, mb_err *err);
/* The gated form of [Wg; Wu] (see above): rows [0, N/2) of W1 / W2 are the gate, [N/2, N) the
 * up projection (N even); a second segment is allowed as for mb_avx512_pack. */
mb_status mb_avx512_pack_glu(const float *W1, int64_t K1, int64_t ldw1, const float *W2,
                             int64_t K2, int64_t ldw2, int64_t N, mb_gemm_weight **out, mb_err *err);
/* D [N, K] (ldw) in panel form whatever its height, for mb_avx_zfuse.down. */
mb_status mb_avx512_pack_down(const float *W, int64_t K, int64_t ldw, int64_t N,
                              mb_gemm_weight **out, mb_err *err);
void mb_avx512_weight_free(mb_gemm_weight *w);
/* The training entry points of the provider (train_avx512.c): W^T packed once by weight_train,
 * so dX = dY W runs on the same packed kernel; plain products pack their right operand per
 * call (correct first: fused backward kernels are a later optimisation). */
mb_status mb_avx512_weight_train(mb_gemm_weight *w, mb_err *err);
mb_status mb_avx512_gemm_nn(const mb_gemm_weight *w, int64_t M, const void *A, int64_t lda,
                            float alpha, float beta, void *C, int64_t ldc, mb_err *err);
mb_status mb_avx512_gemm_plain(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                               const void *A, int64_t lda, const void *B, int64_t ldb, float beta,
                               void *C, int64_t ldc, mb_err *err);

/* The product; M == 1 takes the GEMV path. Threads: OpenMP over independent C tiles (serial
 * when called from inside a parallel region or when the product is tiny). */
void mb_avx512_gemm_run(const mb_gemm_weight *w, const mb_avx_gemm_args *g);
void mb_avx512_gemv_run(const mb_gemm_weight *w, const mb_avx_gemm_args *g);
void mb_avx512_skinny_run(const mb_gemm_weight *w, const mb_avx_gemm_args *g);

/* Weight-only quantised weights (gemm_wq_avx512.c): q * scale as quant.h stores them, packed
 * once into panels of int8 levels (int4: nibbles kept) with the f32 scales beside them, and
 * dequantised inside the micro-kernel. The f32 and bf16 rows' weights hold one in their wq
 * member and their gemm dispatches to mb_avx512_wq_run. */
typedef struct mb_avx_wq mb_avx_wq;
mb_status mb_avx512_wq_pack(mb_dtype wq, const void *q, const float *scale, int64_t N,
                            int64_t K, mb_avx_wq **out, mb_err *err);
void mb_avx512_wq_free(mb_avx_wq *w);
int64_t mb_avx512_wq_bytes(const mb_avx_wq *w);
/* C [M, N] = beta C + alpha A W^T with A and C f32 (dt MB_F32) or bf16 (MB_BF16, C rounded
 * once to nearest even); arguments already checked. */
void mb_avx512_wq_run(const mb_avx_wq *w, mb_dtype dt, int64_t M, const void *A, int64_t lda,
                      float alpha, float beta, void *C, int64_t ldc);

/* Both return NULL when usable, else the reason (probe result or build limitation). */
const char *mb_avx512_unavailable(void);

/* The bf16 form (gemm_bf16_avx512.c): A, W, C bf16, f32 accumulation, C rounded to nearest
 * even; every entry point refuses with mb_avx512_bf16_unavailable's reason where the CPU (or
 * the compiler) has no AVX512_BF16. */
const char *mb_avx512_bf16_unavailable(void);
mb_status mb_avx512_bf16_prepare(const void *W, int64_t N, int64_t K, int64_t ldw,
                                 int64_t m_hint, mb_gemm_weight **out, mb_err *err);
void mb_avx512_bf16_release(mb_gemm_weight *w);
mb_status mb_avx512_bf16_gemm(const mb_gemm_weight *w, int64_t M, const void *A, int64_t lda,
                              float alpha, float beta, void *C, int64_t ldc, mb_err *err);
int64_t mb_avx512_bf16_bytes(const mb_gemm_weight *w);
void mb_avx512_bf16_dims(const mb_gemm_weight *w, int64_t *N, int64_t *K);
/* The bf16 row's weight_prepare_q: refuses like the other bf16 entry points where AVX512_BF16
 * is absent. */
mb_status mb_avx512_bf16_prepare_q(mb_dtype wq, const void *q, const float *scale, int64_t N,
                                   int64_t K, int64_t m_hint, mb_gemm_weight **out, mb_err *err);

#endif
