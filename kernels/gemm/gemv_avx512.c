/* One row of A against a packed weight (decode-time T = 1): memory-bound, so the job is to keep
 * several independent loads in flight (four panel streams, 8 accumulators) and to let each
 * thread own a contiguous slice of every K block.
 * Partial sums of each K block go straight into C (beta on the first block), which costs N
 * floats per block against KC x N of weight. */
#ifdef MOEBENCH_HAVE_AVX512
#include <immintrin.h>
#include <omp.h>
#include "gemm/gemm_avx512_internal.h"
#include "gemm/act_avx512.h"

#define NR MB_AVX_NR

/* Where a slice stores: C row (partial sums / un-gated results) and, on the last K block of a
 * gated product, H row. */
typedef struct {
    float *crow, *hrow;
    __m512 s;
    float beta;
    mb_act act;
} gemv_out;

/* Stores alpha * row_scale * (lo | hi) (+ beta * C) into the 32 columns of panel p, or with hrow
 * act(lo) .* hi into its 16 outputs. */
static inline void store_panel(const mb_gemm_weight *w, const gemv_out *o, int64_t p, __m512 lo,
                               __m512 hi)
{
    __mmask16 m0, m1;
    mb_avx_panel_masks(w, p, &m0, &m1);
    float *c = o->crow ? o->crow + p * NR : NULL;
    lo = _mm512_mul_ps(lo, o->s);
    hi = _mm512_mul_ps(hi, o->s);
    if (o->beta != 0.0f) {   /* beta == 0: C is not read (may hold NaN) */
        __m512 bt = _mm512_set1_ps(o->beta);
        lo = _mm512_fmadd_ps(bt, _mm512_maskz_loadu_ps(m0, c), lo);
        hi = _mm512_fmadd_ps(bt, _mm512_maskz_loadu_ps(m1, c + 16), hi);
    }
    if (o->hrow) {
        _mm512_mask_storeu_ps(o->hrow + p * 16, m0, mb_avx_glu_ps(o->act, lo, hi));
        return;
    }
    _mm512_mask_storeu_ps(c, m0, lo);
    _mm512_mask_storeu_ps(c + 16, m1, hi);
}

/* Four panels at once: four independent address streams (32 KiB apart) keep more DRAM pages
 * open than one long stream, which measured ~10-15 % faster here; 8 accumulators. */
static void gemv_slice(const mb_gemm_weight *w, const mb_avx_gemm_args *g, int64_t p0, int64_t p1)
{
    const int64_t ar = g->a_rows ? g->a_rows[0] : 0, cr = g->c_rows ? g->c_rows[0] : 0;
    gemv_out o = {.crow = g->c ? g->c + cr * g->ldc : NULL, .act = g->act,
                  .s = _mm512_set1_ps(g->alpha * (g->row_scale ? g->row_scale[0] : 1.0f))};
    for (int b = 0; b < w->nblk; b++) {
        const mb_avx_kblock *blk = &w->blk[b];
        const float *x = g->a[blk->seg] + ar * g->lda[blk->seg] + blk->seg_k0;
        o.beta = b == 0 ? g->beta : 1.0f;
        o.hrow = g->h && b == w->nblk - 1 ? g->h + cr * g->ldh : NULL;
        const int64_t kc = blk->kc, stride = kc * NR, kc1 = kc - blk->kc2;
        /* an appended second segment reads x from segment 1 past kc1 */
        const float *x2 = blk->kc2 ? g->a[1] + ar * g->lda[1] : x;
        int64_t p = p0;
        for (; p + 4 <= p1; p += 4) {
            const float *bp = w->packed + blk->off + p * stride;
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            __m512 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int64_t k = 0; k < kc; k++, bp += NR) {
                __m512 xk = _mm512_set1_ps(k < kc1 ? x[k] : x2[k - kc1]);
                a0 = _mm512_fmadd_ps(xk, _mm512_load_ps(bp), a0);
                b0 = _mm512_fmadd_ps(xk, _mm512_load_ps(bp + 16), b0);
                a1 = _mm512_fmadd_ps(xk, _mm512_load_ps(bp + stride), a1);
                b1 = _mm512_fmadd_ps(xk, _mm512_load_ps(bp + stride + 16), b1);
                a2 = _mm512_fmadd_ps(xk, _mm512_load_ps(bp + 2 * stride), a2);
                b2 = _mm512_fmadd_ps(xk, _mm512_load_ps(bp + 2 * stride + 16), b2);
                a3 = _mm512_fmadd_ps(xk, _mm512_load_ps(bp + 3 * stride), a3);
                b3 = _mm512_fmadd_ps(xk, _mm512_load_ps(bp + 3 * stride + 16), b3);
            }
            store_panel(w, &o, p, a0, b0);
            store_panel(w, &o, p + 1, a1, b1);
            store_panel(w, &o, p + 2, a2, b2);
            store_panel(w, &o, p + 3, a3, b3);
        }
        for (; p < p1; p++) {
            /* one accumulator pair in k order, like the GEMM micro-kernel: a row gives the
             * same bits whether it is computed alone (T = 1) or inside a tile */
            const float *bp = w->packed + blk->off + p * stride;
            __m512 a0 = _mm512_setzero_ps(), b0 = a0;
            for (int64_t k = 0; k < kc; k++, bp += NR) {
                __m512 x0 = _mm512_set1_ps(k < kc1 ? x[k] : x2[k - kc1]);
                a0 = _mm512_fmadd_ps(x0, _mm512_load_ps(bp), a0);
                b0 = _mm512_fmadd_ps(x0, _mm512_load_ps(bp + 16), b0);
            }
            store_panel(w, &o, p, a0, b0);
        }
    }
}

void mb_avx512_gemv_run(const mb_gemm_weight *w, const mb_avx_gemm_args *g)
{
    /* Threads only pay once the weight is well beyond L2 fetch latency (~1 MiB). */
    int par = w->panels > 1 && (double)w->N * (double)w->K > 2.5e5 && !omp_in_parallel();
    if (!par) {
        gemv_slice(w, g, 0, w->panels);
        return;
    }
    #pragma omp parallel
    {
        int nt = omp_get_num_threads(), t = omp_get_thread_num();
        int64_t per = (w->panels + nt - 1) / nt;
        int64_t p0 = t * per, p1 = p0 + per < w->panels ? p0 + per : w->panels;
        if (p0 < p1)
            gemv_slice(w, g, p0, p1);
    }
}
#endif
