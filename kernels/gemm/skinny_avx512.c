/* Products with a skinny weight (N <= 16: router logits, X A^T of a LoRA): dot products
 * vectorised along K. A tile is 3 rows of A x 8 rows of W = 24 zmm accumulators, fed by 3 + 8
 * loads per 24 FMAs, each reduced horizontally once at the end; no lane is wasted on padding,
 * where the 32-wide panel kernel would use 8/32 of its lanes for an 8-expert router. */
#ifdef MOEBENCH_HAVE_AVX512
#include <immintrin.h>
#include <omp.h>
#include "gemm/gemm_avx512_internal.h"

#define DR 3   /* rows of A per tile */
#define DN 8   /* rows of W per tile (W is zero-padded to a multiple of 8 rows) */

static inline __attribute__((always_inline)) void dot_tile(const int mr, const mb_gemm_weight *w,
                                                           const mb_avx_gemm_args *g, int64_t i0,
                                                           int64_t n0)
{
    const int64_t K = w->K, ldk = w->ldk, K16 = K / 16 * 16;
    const float *a[DR];
    for (int i = 0; i < mr; i++) {
        int64_t row = g->a_rows ? g->a_rows[i0 + i] : i0 + i;
        a[i] = g->a[0] + row * g->lda[0];
    }
    const float *wp = w->packed + n0 * ldk;   /* the group of rows n0 .. n0+7 */
    __m512 acc[DR][DN];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < DN; j++)
            acc[i][j] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K16; k += 16) {
        __m512 av[DR];
        for (int i = 0; i < mr; i++)
            av[i] = _mm512_loadu_ps(a[i] + k);
        for (int j = 0; j < DN; j++) {
            __m512 wv = _mm512_load_ps(wp + k * DN + j * 16);
            for (int i = 0; i < mr; i++)
                acc[i][j] = _mm512_fmadd_ps(av[i], wv, acc[i][j]);
        }
    }
    if (K16 < K) {   /* tail: A masked, W's padding is zero */
        __mmask16 m = mb_avx_mask(K - K16);
        __m512 av[DR];
        for (int i = 0; i < mr; i++)
            av[i] = _mm512_maskz_loadu_ps(m, a[i] + K16);
        for (int j = 0; j < DN; j++) {
            __m512 wv = _mm512_load_ps(wp + K16 * DN + j * 16);
            for (int i = 0; i < mr; i++)
                acc[i][j] = _mm512_fmadd_ps(av[i], wv, acc[i][j]);
        }
    }
    int64_t nv = w->N - n0 < DN ? w->N - n0 : DN;
    for (int i = 0; i < mr; i++) {
        int64_t row = i0 + i;
        float *c = g->c + (g->c_rows ? g->c_rows[row] : row) * g->ldc + n0;
        float sc = g->alpha * (g->row_scale ? g->row_scale[row] : 1.0f);
        for (int64_t j = 0; j < nv; j++) {
            float v = sc * _mm512_reduce_add_ps(acc[i][j]);
            c[j] = g->beta != 0.0f ? g->beta * c[j] + v : v;
        }
    }
}

static void tile_1(const mb_gemm_weight *w, const mb_avx_gemm_args *g, int64_t i0, int64_t n0) { dot_tile(1, w, g, i0, n0); }
static void tile_2(const mb_gemm_weight *w, const mb_avx_gemm_args *g, int64_t i0, int64_t n0) { dot_tile(2, w, g, i0, n0); }
static void tile_3(const mb_gemm_weight *w, const mb_avx_gemm_args *g, int64_t i0, int64_t n0) { dot_tile(3, w, g, i0, n0); }

void mb_avx512_skinny_run(const mb_gemm_weight *w, const mb_avx_gemm_args *g)
{
    const int64_t M = g->M, tiles = (M + DR - 1) / DR, ngroups = (w->N + DN - 1) / DN;
    double flops = 2.0 * (double)M * (double)w->N * (double)w->K;
    int par = tiles > 1 && flops > 2e6 && !omp_in_parallel();
    #pragma omp parallel for schedule(static) if (par)
    for (int64_t t = 0; t < tiles; t++) {
        int64_t i0 = t * DR;
        int mr = (int)(M - i0 < DR ? M - i0 : DR);
        for (int64_t q = 0; q < ngroups; q++) {
            if (mr == 3) tile_3(w, g, i0, q * DN);
            else if (mr == 2) tile_2(w, g, i0, q * DN);
            else tile_1(w, g, i0, q * DN);
        }
    }
}
#endif
