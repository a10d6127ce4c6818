/* Packed SGEMM framework loops and register-tiled micro-kernel (BLIS shape, see
 * gemm_avx512_internal.h; A is packed per thread task and K block into the thread's buffer of
 * the A-pack pool, W once in prepare). Micro-tile MR x NR = 12 x 32: 24 zmm accumulators hide the FMA
 * latency on both FMA pipes (Zen 4 double-pumps 512-bit ops, SPR has two 512-bit ports) while
 * one k step costs 2 panel loads + 12 broadcasts, well under the load ports' budget. */
#ifdef MOEBENCH_HAVE_AVX512
#include <immintrin.h>
#include <omp.h>
#include "moebench/mem.h"
#include "gemm/gemm_avx512_internal.h"

#define MR MB_AVX_MR
#define NR MB_AVX_NR

_Static_assert(MB_AVX_MC % MB_AVX_MR == 0, "a task holds whole micro-tiles");
_Static_assert(MB_AVX_MR % 4 == 0, "pack_cols transposes groups of 4 rows");

typedef struct {
    const float *ap;         /* packed A micro-panel: element (i, k) at ap[k * MR + i] */
    const float *bp;         /* packed panel slice of the block */
    const char *pfw;         /* kc cache lines (half of the next panel slice) to prefetch to L2 */
    int64_t kc;
    float *crow[MR];         /* C rows, already offset to the panel's first column */
    float scale[MR];         /* alpha * row_scale */
    float beta;              /* 0: C is not read (may hold garbage or NaN) */
    __mmask16 m0, m1;        /* valid columns of the two halves */
} tile_args;

/* One k step: two W vectors times mr broadcast A values into the mr x 2 accumulators. */
static inline __attribute__((always_inline)) void kstep(const int mr, __m512 *c0, __m512 *c1,
                                                         const float *bp, const float *ap)
{
    __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
    for (int i = 0; i < mr; i++) {
        __m512 av = _mm512_set1_ps(ap[i]);
        c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
        c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
    }
}

#ifndef MB_AVX_PFC_LATE
#define MB_AVX_PFC_LATE 48   /* k steps before the end at which C is prefetched into L1 */
#endif

static inline __attribute__((always_inline)) void tile_body(const int mr, const tile_args *t)
{
    __m512 c0[MR], c1[MR];
    #pragma GCC unroll 12   /* = MR: full unrolling keeps c0, c1 in registers, not on the stack */
    for (int i = 0; i < mr; i++) {
        c0[i] = _mm512_setzero_ps();
        c1[i] = _mm512_setzero_ps();
    }
    const float *bp = t->bp, *ap = t->ap;
    const int64_t kc = t->kc;
    /* The k loop in four phases that differ only in prefetches: the C tile (2 lines a row)
     * goes to L2 during the first mr steps (hides a DRAM miss) and into L1 (prefetchw when the
     * build enables PRFCHW, else prefetcht0) during mr steps shortly before the end (the
     * streaming A and W panels would evict it from L1 if it were fetched there earlier).
     * Every step also prefetches one line of the next panel slice of W into L2 (run_task
     * points consecutive tiles at alternate halves of it): with few tiles per panel (small M)
     * the product is bound by streaming W from memory, and this keeps more of it in flight
     * (M=16, N=K=4096: +18 %; neutral at M >= 128). */
    const int64_t e1 = kc < mr ? kc : mr;
    const int64_t e2 = kc - MB_AVX_PFC_LATE > e1 ? kc - MB_AVX_PFC_LATE : e1;
    const int64_t e3 = e2 + mr < kc ? e2 + mr : kc;
    int64_t k = 0;
    for (; k < e1; k++, bp += NR, ap += MR) {
        _mm_prefetch((const char *)t->crow[k], _MM_HINT_T1);
        _mm_prefetch((const char *)(t->crow[k] + 16), _MM_HINT_T1);
        _mm_prefetch(t->pfw + k * 64, _MM_HINT_T1);
        kstep(mr, c0, c1, bp, ap);
    }
    for (; k < e2; k++, bp += NR, ap += MR) {
        _mm_prefetch(t->pfw + k * 64, _MM_HINT_T1);
        kstep(mr, c0, c1, bp, ap);
    }
    for (; k < e3; k++, bp += NR, ap += MR) {
        _mm_prefetch((const char *)t->crow[k - e2], _MM_HINT_ET0);
        _mm_prefetch((const char *)(t->crow[k - e2] + 16), _MM_HINT_ET0);
        _mm_prefetch(t->pfw + k * 64, _MM_HINT_T1);
        kstep(mr, c0, c1, bp, ap);
    }
    for (; k < kc; k++, bp += NR, ap += MR) {
        _mm_prefetch(t->pfw + k * 64, _MM_HINT_T1);
        kstep(mr, c0, c1, bp, ap);
    }
    #pragma GCC unroll 12   /* = MR, as above */
    for (int i = 0; i < mr; i++) {
        __m512 s = _mm512_set1_ps(t->scale[i]);
        __m512 v0 = _mm512_mul_ps(c0[i], s), v1 = _mm512_mul_ps(c1[i], s);
        float *cr = t->crow[i];
        if (t->beta != 0.0f) {
            __m512 bt = _mm512_set1_ps(t->beta);
            v0 = _mm512_fmadd_ps(bt, _mm512_maskz_loadu_ps(t->m0, cr), v0);
            v1 = _mm512_fmadd_ps(bt, _mm512_maskz_loadu_ps(t->m1, cr + 16), v1);
        }
        _mm512_mask_storeu_ps(cr, t->m0, v0);
        _mm512_mask_storeu_ps(cr + 16, t->m1, v1);
    }
}

#define DEF_TILE(m) static void tile_##m(const tile_args *t) { tile_body(m, t); }
DEF_TILE(1) DEF_TILE(2) DEF_TILE(3) DEF_TILE(4) DEF_TILE(5) DEF_TILE(6)
DEF_TILE(7) DEF_TILE(8) DEF_TILE(9) DEF_TILE(10) DEF_TILE(11) DEF_TILE(12)
static void (*const tiles[MR + 1])(const tile_args *) = {
    NULL, tile_1, tile_2, tile_3, tile_4, tile_5, tile_6,
    tile_7, tile_8, tile_9, tile_10, tile_11, tile_12,
};


/* Rows of a task are cut into ceil(m / MR) micro-tiles of near-equal height (16 rows = 8 + 8,
 * not 12 + 4: a 4-row tile runs at a third of the FMA rate). Tile i starts at row first(i). */
static int64_t tile_first(int64_t m, int64_t i)
{
    int64_t nt = (m + MR - 1) / MR, base = m / nt, extra = m % nt;
    return i * base + (i < extra ? i : extra);
}

/* Columns [0, n) of MR source rows into dst[k * MR + i]: 4 x 4 transposes, 12 vector loads and
 * stores per 4 columns instead of 48 scalar ones. */
static void pack_cols(float *dst, const float *const src[MR], int64_t n)
{
    int64_t k = 0;
    for (; k + 4 <= n; k += 4, dst += 4 * MR) {
        for (int g = 0; g < MR; g += 4) {
            __m128 r0 = _mm_loadu_ps(src[g] + k), r1 = _mm_loadu_ps(src[g + 1] + k);
            __m128 r2 = _mm_loadu_ps(src[g + 2] + k), r3 = _mm_loadu_ps(src[g + 3] + k);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            _mm_storeu_ps(dst + g, r0);
            _mm_storeu_ps(dst + MR + g, r1);
            _mm_storeu_ps(dst + 2 * MR + g, r2);
            _mm_storeu_ps(dst + 3 * MR + g, r3);
        }
    }
    for (; k < n; k++, dst += MR)
        for (int i = 0; i < MR; i++)
            dst[i] = src[i][k];
}

/* Packs rows [m0, m1) x block columns of A into MR-row micro-panels, k-major. Reading A in
 * place would walk MR rows whose stride is often a multiple of 4 KiB (h = 4096): they all map
 * to one L1 set and evict each other every k step. Packing also resolves gathers and segments.
 * Rows of a short tile past its height repeat its first row (never read by the tile). */
static void pack_a(const mb_avx_gemm_args *g, const mb_avx_kblock *blk, int64_t m0, int64_t m1,
                   float *buf)
{
    const float *aseg = g->a[blk->seg];
    const int64_t lda = g->lda[blk->seg], kc1 = blk->kc - blk->kc2, m = m1 - m0;
    const int64_t kc = blk->kc, nt = (m + MR - 1) / MR;
    for (int64_t ti = 0; ti < nt; ti++) {
        int64_t r0 = tile_first(m, ti), r1 = tile_first(m, ti + 1);
        float *dst = buf + ti * MR * kc;
        const float *src[MR], *src2[MR];
        for (int64_t i = 0; i < MR; i++) {
            int64_t row = m0 + r0 + (i < r1 - r0 ? i : 0);
            if (g->a_rows)
                row = g->a_rows[row];
            src[i] = aseg + row * lda + blk->seg_k0;
            if (blk->kc2)   /* the appended second segment */
                src2[i] = g->a[1] + row * g->lda[1];
        }
        pack_cols(dst, src, kc1);
        if (blk->kc2)
            pack_cols(dst + kc1 * MR, src2, kc - kc1);
    }
}

/* One thread task: rows [m0, m1) x panels [p0, p1), all K blocks in order (the C tile gets
 * beta on the first block and accumulates the rest). */
static void run_task(const mb_gemm_weight *w, const mb_avx_gemm_args *g, int64_t m0, int64_t m1,
                     int64_t p0, int64_t p1, float *abuf)
{
    /* abuf: MC x KC floats (432 KiB) of the thread's pool slot: stays in L2 while the panels
     * stream past it */
    tile_args t;
    const int64_t nt = (m1 - m0 + MR - 1) / MR;
    for (int b = 0; b < w->nblk; b++) {
        const mb_avx_kblock *blk = &w->blk[b];
        pack_a(g, blk, m0, m1, abuf);
        t.kc = blk->kc;
        t.beta = b == 0 ? g->beta : 1.0f;
        for (int64_t p = p0; p < p1; p++) {
            int64_t n0 = p * NR, nv = w->N - n0 < NR ? w->N - n0 : NR;
            t.m0 = mb_avx_mask(nv);
            t.m1 = mb_avx_mask(nv - 16);
            t.bp = w->packed + blk->off + p * blk->kc * NR;
            for (int64_t ti = 0; ti < nt; ti++) {
                int64_t i0 = m0 + tile_first(m1 - m0, ti);
                int mr = (int)(tile_first(m1 - m0, ti + 1) - tile_first(m1 - m0, ti));
                t.ap = abuf + ti * MR * blk->kc;
                /* the next panel slice in memory (past the last panel: the next block's, or
                 * past the end of the weight; prefetches never fault) */
                t.pfw = (const char *)(t.bp + blk->kc * NR + (ti & 1) * blk->kc * 16);
                for (int i = 0; i < mr; i++) {
                    int64_t row = i0 + i;
                    int64_t cr = g->c_rows ? g->c_rows[row] : row;
                    t.crow[i] = g->c + cr * g->ldc + n0;
                    t.scale[i] = g->alpha * (g->row_scale ? g->row_scale[row] : 1.0f);
                }
                tiles[mr](&t);
            }
        }
    }
}

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

void mb_avx512_gemm_run(const mb_gemm_weight *w, const mb_avx_gemm_args *g)
{
    if (g->M <= 0)
        return;
    if (w->skinny) {
        mb_avx512_skinny_run(w, g);
        return;
    }
    if (g->M == 1) {
        mb_avx512_gemv_run(w, g);
        return;
    }
    /* Split M and the panels evenly into tasks no larger than MC x NC, in whole micro-tiles. */
    int64_t mt = cdiv(g->M, MB_AVX_MC), pt = cdiv(w->panels, MB_AVX_NC / NR);
    int64_t mc = cdiv(cdiv(g->M, mt), MR) * MR, pc = cdiv(w->panels, pt);
    mt = cdiv(g->M, mc);
    pt = cdiv(w->panels, pc);
    int64_t tasks = mt * pt;
    double flops = 2.0 * (double)g->M * (double)w->N * (double)w->K;
    const int outer = omp_in_parallel();
    int par = tasks > 1 && flops > 4e6 && !outer;
    /* Pool slot: our own thread number when we fork, else the calling thread's (inside a
     * caller's parallel region every team member has its own). Beyond the pool (threads raised
     * after prepare, deeper nesting) a task falls back to a buffer of its own. */
    const int caller = outer ? omp_get_thread_num() : 0;
    #pragma omp parallel if (par)
    {
        int slot = par ? omp_get_thread_num() : caller;
        float *abuf = mb_avx512_pool_buf(slot), *own = NULL;
        if (!abuf)
            abuf = own = mb_alloc((size_t)MB_AVX_ABUF * sizeof(float));
        /* every team member must reach the worksharing loop; one without a buffer (out of
         * memory in the fallback only) takes no task */
        #pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < tasks; t++) {
            if (!abuf) continue;
            int64_t im = t / pt, ip = t % pt;
            int64_t m0 = im * mc, m1 = m0 + mc < g->M ? m0 + mc : g->M;
            int64_t p0 = ip * pc, p1 = p0 + pc < w->panels ? p0 + pc : w->panels;
            run_task(w, g, m0, m1, p0, p1, abuf);
        }
        mb_free(own);
    }
}
#endif
