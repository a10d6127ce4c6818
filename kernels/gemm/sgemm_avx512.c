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
#include "gemm/act_avx512.h"

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
    int gated;               /* store act(half 0) .* half 1 to hrow instead of both to crow */
    mb_act act;
    float *hrow[MR];
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
        if (t->gated) {
            _mm512_mask_storeu_ps(t->hrow[i], t->m0, mb_avx_glu_ps(t->act, v0, v1));
            continue;
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

/* Packs block columns [c0, c1) of rows [m0, m1) of A into MR-row micro-panels, k-major (stride
 * kc per micro-panel). Reading A in place would walk MR rows whose stride is often a multiple of
 * 4 KiB (h = 4096): they all map to one L1 set and evict each other every k step. Packing also
 * resolves gathers and segments: columns past kc1 (an appended segment 1) and blocks of segment 1
 * read segment 1, which is z (local row, ldz) when the product computes it itself.
 * Rows of a short tile past its height repeat its first row (never read by the tile). */
static void pack_a(const mb_avx_gemm_args *g, const mb_avx_kblock *blk, int64_t m0, int64_t m1,
                   int64_t c0, int64_t c1, const float *z, int64_t ldz, float *buf)
{
    const int64_t kc = blk->kc, kc1 = kc - blk->kc2, m = m1 - m0;
    const int64_t nt = (m + MR - 1) / MR;
    const int64_t e0 = c1 < kc1 ? c1 : kc1;   /* columns [c0, e0) from s0, [max(c0,kc1), c1) s1 */
    const int64_t f0 = c0 > kc1 ? c0 : kc1;
    for (int64_t ti = 0; ti < nt; ti++) {
        int64_t r0 = tile_first(m, ti), r1 = tile_first(m, ti + 1);
        float *dst = buf + ti * MR * kc;
        const float *s0[MR], *s1[MR];
        for (int64_t i = 0; i < MR; i++) {
            const int64_t local = r0 + (i < r1 - r0 ? i : 0);
            const int64_t row = g->a_rows ? g->a_rows[m0 + local] : m0 + local;
            if (blk->seg == 0) {
                s0[i] = g->a[0] + row * g->lda[0] + blk->seg_k0;
                s1[i] = f0 >= c1 ? NULL : z ? z + local * ldz : g->a[1] + row * g->lda[1];
            } else {
                s0[i] = z ? z + local * ldz + blk->seg_k0
                          : g->a[1] + row * g->lda[1] + blk->seg_k0;
                s1[i] = NULL;
            }
        }
        if (c0 < e0) {
            for (int i = 0; i < MR; i++) s0[i] += c0;
            pack_cols(dst + c0 * MR, s0, e0 - c0);
        }
        if (f0 < c1) {
            for (int i = 0; i < MR; i++) s1[i] += f0 - kc1;
            pack_cols(dst + f0 * MR, s1, c1 - f0);
        }
    }
}

/* z rows [0, m) += (= on block 0) the block's packed A micro-panels (their first columns, as
 * many as D's block has) times block b of D: the fused adapter's down-projection, computed from
 * A while it is still in cache. */
static void z_accumulate(const mb_gemm_weight *D, int b, const float *abuf, int64_t kc,
                         int64_t m, float *z, int64_t ldz)
{
    const mb_avx_kblock *db = &D->blk[b];
    const int64_t nt = (m + MR - 1) / MR;
    tile_args t = {.kc = db->kc, .beta = b == 0 ? 0.0f : 1.0f};
    for (int i = 0; i < MR; i++)
        t.scale[i] = 1.0f;
    for (int64_t q = 0; q < D->panels; q++) {
        mb_avx_panel_masks(D, q, &t.m0, &t.m1);
        t.bp = D->packed + db->off + q * db->kc * NR;
        t.pfw = (const char *)t.bp;   /* D is small and already cached: nothing to fetch ahead */
        for (int64_t ti = 0; ti < nt; ti++) {
            const int64_t r0 = tile_first(m, ti);
            const int mr = (int)(tile_first(m, ti + 1) - r0);
            t.ap = abuf + ti * MR * kc;
            for (int i = 0; i < mr; i++)
                t.crow[i] = z + (r0 + i) * ldz + q * NR;
            tiles[mr](&t);
        }
    }
}

/* One thread task: rows [m0, m1) x panels [p0, p1), all K blocks in order (the C tile gets
 * beta on the first block and accumulates the rest; with a gated store, the last block writes
 * H instead). */
static void run_task(const mb_gemm_weight *w, const mb_avx_gemm_args *g, int64_t m0, int64_t m1,
                     int64_t p0, int64_t p1, float *abuf)
{
    /* abuf: MC x KC floats (432 KiB) of the thread's pool slot: stays in L2 while the panels
     * stream past it */
    tile_args t = {0};
    const int64_t nt = (m1 - m0 + MR - 1) / MR;
    const mb_avx_zfuse *zf = g->zf;
    float *z = zf ? abuf + MB_AVX_ABUF_A : NULL;   /* the task's rows of Z */
    int zdone = !zf;
    t.act = g->act;
    for (int b = 0; b < w->nblk; b++) {
        const mb_avx_kblock *blk = &w->blk[b];
        const int64_t kc1 = blk->kc - blk->kc2;
        if (blk->seg == 0) {
            pack_a(g, blk, m0, m1, 0, kc1, NULL, 0, abuf);
            if (zf)
                z_accumulate(zf->down, b, abuf, blk->kc, m1 - m0, z, MB_AVX_ZMAX);
        }
        if (!zdone && (blk->kc2 || blk->seg == 1)) {   /* Z complete: gate it once per row */
            if (zf->gate)
                for (int64_t i = 0; i < m1 - m0; i++)
                    zf->gate(zf->ctx, m0 + i, z + i * MB_AVX_ZMAX, p0 == 0);
            zdone = 1;
        }
        if (blk->seg == 1 || blk->kc2)
            pack_a(g, blk, m0, m1, blk->seg == 1 ? 0 : kc1, blk->kc, z, MB_AVX_ZMAX, abuf);
        t.kc = blk->kc;
        t.beta = b == 0 ? g->beta : 1.0f;
        t.gated = g->h && b == w->nblk - 1;
        for (int64_t p = p0; p < p1; p++) {
            const int64_t n0 = p * NR;
            mb_avx_panel_masks(w, p, &t.m0, &t.m1);
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
                    if (t.gated)
                        t.hrow[i] = g->h + cr * g->ldh + p * 16;
                    /* C may be absent only for a one-block gated product, which never reads
                     * it; the tile's C prefetches then touch H instead */
                    t.crow[i] = g->c ? g->c + cr * g->ldc + n0 : t.hrow[i];
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
        if (!g->zf) {
            mb_avx512_gemv_run(w, g);
            return;
        }
        /* one row: its Z by a GEMV over D, gated, then the product reads it as segment 1 */
        float z[MB_AVX_ZMAX] __attribute__((aligned(64)));
        mb_avx_gemm_args gz = {.M = 1, .a = {g->a[0], NULL}, .lda = {g->lda[0], 0},
                               .a_rows = g->a_rows, .alpha = 1.0f, .beta = 0.0f, .c = z,
                               .ldc = g->zf->n1};
        mb_avx512_gemv_run(g->zf->down, &gz);
        if (g->zf->gate)
            g->zf->gate(g->zf->ctx, 0, z, 1);
        mb_avx_gemm_args g1 = *g;
        g1.a[1] = z;
        g1.lda[1] = 0;   /* the one row of z, whatever a_rows says */
        g1.zf = NULL;
        mb_avx512_gemv_run(w, &g1);
        return;
    }
    /* Split M and the panels evenly into tasks no larger than MC x NC, in whole micro-tiles.
     * A product that computes its own Z does so in every task holding a row, so it splits
     * the panels only as far as the threads need, with a row-task count they divide. */
    const int outer = omp_in_parallel();
    const int64_t nth = outer ? 1 : omp_get_max_threads();
    int64_t mt = cdiv(g->M, MB_AVX_MC), pt = cdiv(w->panels, MB_AVX_NC / NR);
    if (g->zf) {
        mt = mt >= nth ? cdiv(mt, nth) * nth : mt;
        pt = mt >= nth ? 1 : cdiv(nth, mt);
    } else if (mt == 1 && nth > 1) {
        /* one row task (the expert GEMMs of a MoE, T <= MC): as many panel tasks as a multiple
         * of the threads, or 3 tasks on 2 threads leave one idle for a third of the time */
        pt = cdiv(pt, nth) * nth;
    }
    int64_t mc = cdiv(cdiv(g->M, mt), MR) * MR, pc = cdiv(w->panels, pt);
    mt = cdiv(g->M, mc);
    pt = cdiv(w->panels, pc);
    int64_t tasks = mt * pt;
    double flops = 2.0 * (double)g->M * (double)w->N * (double)w->K;
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
