/* The avx512 provider in bf16 (issue 15): AVX512_BF16's vdpbf16ps, A, W and C stored as bf16,
 * products accumulated in f32 over the whole K (one rounding of C, at the end).
 *
 * W [N, K] is packed once into 32-column panels of K pairs: pair j of the panel is 64 bf16,
 * column c's W[n][2j] and W[n][2j+1] adjacent (the 32-bit lane vdpbf16ps multiplies against a
 * broadcast A pair), so one pair step is two aligned zmm loads; odd K gets a zero partner. The
 * micro-tile is 12 rows x 32 columns (24 accumulators), as in the f32 kernel (sgemm_avx512.c).
 * Threads share out (panel, row block) tasks panel-major, so a thread's panel stays in L2 while
 * its row blocks stream past it. M == 1 walks four panels at once (8 accumulators, four loads
 * in flight), each thread a contiguous slice of panels: the weights are streamed once.
 * No K blocking: an f32 partial sum per K block would need an f32 copy of C. */
#ifdef MOEBENCH_HAVE_AVX512
#include <string.h>
#include <omp.h>
#include "moebench/cpu.h"
#include "moebench/mem.h"
#include "gemm/gemm_avx512_internal.h"

MB_AVX512_ENTRY
const char *mb_avx512_bf16_unavailable(void)
{
    const char *why = NULL;
    return mb_cpu_has_avx512_bf16(&why) ? NULL : why;
}

#ifdef MOEBENCH_HAVE_AVX512_BF16

#define BMR 12            /* rows per micro-tile */
#define BNR 32            /* columns per panel: two zmm of f32 accumulators */
#define BRB 8             /* micro-tiles per task (96 rows) */

/* The prepared weight (behind mb_gemm_weight, which the f32 form defines for itself). */
typedef struct {
    int64_t N, K, K2, panels;   /* K2 = pairs = ceil(K / 2) */
    uint16_t *packed;           /* panel p, pair j, column c: packed[(p * K2 + j) * 64 + 2c] */
    int64_t bytes;
    mb_avx_wq *wq;              /* weight_prepare_q: quantised levels instead of packed */
} bf16_weight;

static inline __m512bh as_bh(__m512i v)
{
    __m512bh r;
    memcpy(&r, &v, sizeof r);
    return r;
}

/* Two adjacent bf16 of A as one 32-bit lane in every lane (element 2j in the low half). */
static inline __m512bh pair_bcast(const uint16_t *a)
{
    uint32_t v;
    memcpy(&v, a, sizeof v);
    return as_bh(_mm512_set1_epi32((int)v));
}

/* The last, unpaired element of an odd K: its partner is zero here (never A's next element,
 * which may be NaN or out of bounds) as it is in the packed W. */
static inline __m512bh single_bcast(const uint16_t *a)
{
    return as_bh(_mm512_set1_epi32((int)*a));
}

/* 16 bf16 (masked lanes not read) widened to f32. */
static inline __m512 widen(__mmask16 m, const uint16_t *c)
{
    __m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, c));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

/* C row's 32 columns (mask m) = bf16(alpha * (lo | hi) + beta * C), rounded to nearest even;
 * beta == 0 does not read C (it may hold NaN). */
static inline void store_row(uint16_t *c, __mmask32 m, float alpha, float beta, __m512 lo,
                             __m512 hi)
{
    const __m512 al = _mm512_set1_ps(alpha);
    lo = _mm512_mul_ps(lo, al);
    hi = _mm512_mul_ps(hi, al);
    if (beta != 0.0f) {
        const __m512 bt = _mm512_set1_ps(beta);
        lo = _mm512_fmadd_ps(bt, widen((__mmask16)m, c), lo);
        hi = _mm512_fmadd_ps(bt, widen((__mmask16)(m >> 16), c + 16), hi);
    }
    __m512bh r = _mm512_cvtne2ps_pbh(hi, lo);
    __m512i ri;
    memcpy(&ri, &r, sizeof ri);
    _mm512_mask_storeu_epi16(c, m, ri);
}

static inline __mmask32 col_mask(int64_t n)
{
    return n >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << n) - 1);
}

typedef struct {
    const bf16_weight *w;
    const uint16_t *A;
    int64_t lda, ldc, M;
    float alpha, beta;
    uint16_t *C;
} bf16_args;

/* Rows [i0, i0 + mr) of C against panel p. */
static inline __attribute__((always_inline)) void tile(const int mr, const bf16_args *g,
                                                        int64_t i0, int64_t p)
{
    const bf16_weight *w = g->w;
    const uint16_t *bp = w->packed + p * w->K2 * 64;
    const uint16_t *ar[BMR];
    __m512 c0[BMR], c1[BMR];
    #pragma GCC unroll 12   /* = BMR: full unrolling keeps c0, c1 in registers */
    for (int r = 0; r < mr; r++) {
        ar[r] = g->A + (i0 + r) * g->lda;
        c0[r] = _mm512_setzero_ps();
        c1[r] = _mm512_setzero_ps();
    }
    const int64_t full = w->K / 2;
    for (int64_t j = 0; j < full; j++, bp += 64) {
        const __m512bh b0 = as_bh(_mm512_load_si512(bp)), b1 = as_bh(_mm512_load_si512(bp + 32));
        #pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            const __m512bh x = pair_bcast(ar[r] + 2 * j);
            c0[r] = _mm512_dpbf16_ps(c0[r], x, b0);
            c1[r] = _mm512_dpbf16_ps(c1[r], x, b1);
        }
    }
    if (w->K & 1) {
        const __m512bh b0 = as_bh(_mm512_load_si512(bp)), b1 = as_bh(_mm512_load_si512(bp + 32));
        #pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            const __m512bh x = single_bcast(ar[r] + 2 * full);
            c0[r] = _mm512_dpbf16_ps(c0[r], x, b0);
            c1[r] = _mm512_dpbf16_ps(c1[r], x, b1);
        }
    }
    const __mmask32 m = col_mask(w->N - p * BNR);
    uint16_t *c = g->C + i0 * g->ldc + p * BNR;
    #pragma GCC unroll 12
    for (int r = 0; r < mr; r++)
        store_row(c + r * g->ldc, m, g->alpha, g->beta, c0[r], c1[r]);
}

/* A tail tile of 1..11 rows: each height its own unrolled copy. */
static void tile_tail(int mr, const bf16_args *g, int64_t i0, int64_t p)
{
    switch (mr) {
    case 1: tile(1, g, i0, p); break;
    case 2: tile(2, g, i0, p); break;
    case 3: tile(3, g, i0, p); break;
    case 4: tile(4, g, i0, p); break;
    case 5: tile(5, g, i0, p); break;
    case 6: tile(6, g, i0, p); break;
    case 7: tile(7, g, i0, p); break;
    case 8: tile(8, g, i0, p); break;
    case 9: tile(9, g, i0, p); break;
    case 10: tile(10, g, i0, p); break;
    default: tile(11, g, i0, p); break;
    }
}

static void task(const bf16_args *g, int64_t p, int64_t rb)
{
    const int64_t i1 = (rb + 1) * BRB * BMR < g->M ? (rb + 1) * BRB * BMR : g->M;
    int64_t i = rb * BRB * BMR;
    for (; i + BMR <= i1; i += BMR)
        tile(BMR, g, i, p);
    if (i < i1)
        tile_tail((int)(i1 - i), g, i, p);
}

/* M == 1, panels [p0, p1): four panels per pass (8 independent accumulators, four address
 * streams), then one at a time. */
static void gemv_slice(const bf16_args *g, int64_t p0, int64_t p1)
{
    const bf16_weight *w = g->w;
    const int64_t stride = w->K2 * 64, full = w->K / 2;
    const uint16_t *a = g->A;
    int64_t p = p0;
    for (; p + 4 <= p1; p += 4) {
        const uint16_t *bp = w->packed + p * stride;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        __m512 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int64_t j = 0; j < w->K2; j++, bp += 64) {
            const __m512bh x = j < full ? pair_bcast(a + 2 * j) : single_bcast(a + 2 * j);
            a0 = _mm512_dpbf16_ps(a0, x, as_bh(_mm512_load_si512(bp)));
            b0 = _mm512_dpbf16_ps(b0, x, as_bh(_mm512_load_si512(bp + 32)));
            a1 = _mm512_dpbf16_ps(a1, x, as_bh(_mm512_load_si512(bp + stride)));
            b1 = _mm512_dpbf16_ps(b1, x, as_bh(_mm512_load_si512(bp + stride + 32)));
            a2 = _mm512_dpbf16_ps(a2, x, as_bh(_mm512_load_si512(bp + 2 * stride)));
            b2 = _mm512_dpbf16_ps(b2, x, as_bh(_mm512_load_si512(bp + 2 * stride + 32)));
            a3 = _mm512_dpbf16_ps(a3, x, as_bh(_mm512_load_si512(bp + 3 * stride)));
            b3 = _mm512_dpbf16_ps(b3, x, as_bh(_mm512_load_si512(bp + 3 * stride + 32)));
        }
        uint16_t *c = g->C + p * BNR;
        store_row(c, col_mask(w->N - p * BNR), g->alpha, g->beta, a0, b0);
        store_row(c + BNR, col_mask(w->N - (p + 1) * BNR), g->alpha, g->beta, a1, b1);
        store_row(c + 2 * BNR, col_mask(w->N - (p + 2) * BNR), g->alpha, g->beta, a2, b2);
        store_row(c + 3 * BNR, col_mask(w->N - (p + 3) * BNR), g->alpha, g->beta, a3, b3);
    }
    for (; p < p1; p++)
        tile(1, g, 0, p);
}

static void run(const bf16_args *g)
{
    const bf16_weight *w = g->w;
    const int outer = omp_in_parallel();
    if (g->M == 1) {
        /* threads pay once the weight is well beyond L2 fetch latency (as the f32 GEMV) */
        const int par = !outer && w->panels > 1 && (double)w->N * (double)w->K > 2.5e5;
        #pragma omp parallel if (par)
        {
            const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
            const int64_t per = (w->panels + nt - 1) / nt;
            const int64_t p0 = t * per, p1 = p0 + per < w->panels ? p0 + per : w->panels;
            if (p0 < p1)
                gemv_slice(g, p0, p1);
        }
        return;
    }
    const int64_t nrb = (g->M + BRB * BMR - 1) / (BRB * BMR), ntask = nrb * w->panels;
    const int par = !outer && ntask > 1 && (double)g->M * (double)w->N * (double)w->K > 1e5;
    /* panel-major: consecutive tasks of a thread reuse its panel from L2 */
    #pragma omp parallel for schedule(static) if (par)
    for (int64_t t = 0; t < ntask; t++)
        task(g, t / nrb, t % nrb);
}

MB_AVX512_ENTRY
mb_status mb_avx512_bf16_prepare(const void *W, int64_t N, int64_t K, int64_t ldw,
                                 int64_t m_hint, mb_gemm_weight **out, mb_err *err)
{
    (void)m_hint;   /* the packing does not depend on M */
    *out = NULL;
    const char *why = mb_avx512_bf16_unavailable();
    if (why)
        return mb_fail(err, MB_EUNSUPPORTED, "avx512 bf16: %s", why);
    if (!W || N <= 0 || K <= 0 || ldw < K)
        return mb_fail(err, MB_EINVAL, "avx512 bf16 prepare: bad weight (N=%lld K=%lld ldw=%lld)",
                       (long long)N, (long long)K, (long long)ldw);
    bf16_weight *w = mb_alloc(sizeof *w);
    if (!w)
        return mb_fail(err, MB_ENOMEM, "avx512 bf16 prepare: out of memory");
    w->N = N;
    w->K = K;
    w->K2 = (K + 1) / 2;
    w->panels = (N + BNR - 1) / BNR;
    w->bytes = w->panels * w->K2 * 64 * (int64_t)sizeof(uint16_t);
    w->packed = mb_alloc((size_t)w->bytes);   /* zero-filled: padding columns and odd K */
    if (!w->packed) {
        mb_free(w);
        return mb_fail(err, MB_ENOMEM, "avx512 bf16 prepare: out of memory (%lld bytes)",
                       (long long)w->bytes);
    }
    const uint16_t *src = W;
    for (int64_t n = 0; n < N; n++) {
        const uint16_t *row = src + n * ldw;
        uint16_t *dst = w->packed + (n / BNR) * w->K2 * 64 + (n % BNR) * 2;
        for (int64_t k = 0; k < K; k++)
            dst[(k / 2) * 64 + (k & 1)] = row[k];
    }
    *out = (mb_gemm_weight *)w;
    return MB_OK;
}

MB_AVX512_ENTRY
void mb_avx512_bf16_release(mb_gemm_weight *pw)
{
    bf16_weight *w = (bf16_weight *)pw;
    if (!w)
        return;
    mb_avx512_wq_free(w->wq);
    mb_free(w->packed);
    mb_free(w);
}

MB_AVX512_ENTRY
mb_status mb_avx512_bf16_gemm(const mb_gemm_weight *pw, int64_t M, const void *A, int64_t lda,
                              float alpha, float beta, void *C, int64_t ldc, mb_err *err)
{
    const bf16_weight *w = (const bf16_weight *)pw;
    const char *why = w ? NULL : mb_avx512_bf16_unavailable();
    if (why)
        return mb_fail(err, MB_EUNSUPPORTED, "avx512 bf16: %s", why);
    if (!w || M < 0 || (M > 0 && (!A || !C || lda < w->K || ldc < w->N)))
        return mb_fail(err, MB_EINVAL, "avx512 bf16 gemm: bad arguments (M=%lld lda=%lld "
                       "ldc=%lld)", (long long)M, (long long)lda, (long long)ldc);
    if (M == 0)
        return MB_OK;
    if (w->wq) {
        mb_avx512_wq_run(w->wq, MB_BF16, M, A, lda, alpha, beta, C, ldc);
        return MB_OK;
    }
    bf16_args g = {.w = w, .A = A, .lda = lda, .ldc = ldc, .M = M, .alpha = alpha, .beta = beta,
                   .C = C};
    run(&g);
    return MB_OK;
}

/* W = q * scale kept quantised (gemm_wq_avx512.c): bf16 A widened, C rounded once. */
MB_AVX512_ENTRY
mb_status mb_avx512_bf16_prepare_q(mb_dtype wq, const void *q, const float *scale, int64_t N,
                                   int64_t K, int64_t m_hint, mb_gemm_weight **out, mb_err *err)
{
    (void)m_hint;
    *out = NULL;
    const char *why = mb_avx512_bf16_unavailable();
    if (why)
        return mb_fail(err, MB_EUNSUPPORTED, "avx512 bf16: %s", why);
    bf16_weight *w = mb_alloc(sizeof *w);
    if (!w)
        return mb_fail(err, MB_ENOMEM, "avx512 bf16 wq prepare: out of memory");
    mb_status rc = mb_avx512_wq_pack(wq, q, scale, N, K, &w->wq, err);
    if (rc != MB_OK) {
        mb_free(w);
        return rc;
    }
    w->N = N;
    w->K = K;
    w->bytes = mb_avx512_wq_bytes(w->wq);
    *out = (mb_gemm_weight *)w;
    return MB_OK;
}

MB_AVX512_ENTRY
int64_t mb_avx512_bf16_bytes(const mb_gemm_weight *pw)
{
    const bf16_weight *w = (const bf16_weight *)pw;
    return w ? w->bytes : 0;
}

MB_AVX512_ENTRY
void mb_avx512_bf16_dims(const mb_gemm_weight *pw, int64_t *N, int64_t *K)
{
    const bf16_weight *w = (const bf16_weight *)pw;
    *N = w->N;
    *K = w->K;
}

#else /* compiler without -mavx512bf16: the entry points refuse with the probe's reason */

mb_status mb_avx512_bf16_prepare(const void *W, int64_t N, int64_t K, int64_t ldw,
                                 int64_t m_hint, mb_gemm_weight **out, mb_err *err)
{
    (void)W; (void)N; (void)K; (void)ldw; (void)m_hint;
    *out = NULL;
    return mb_fail(err, MB_EUNSUPPORTED, "avx512 bf16: %s", mb_avx512_bf16_unavailable());
}
void mb_avx512_bf16_release(mb_gemm_weight *w) { (void)w; }
mb_status mb_avx512_bf16_gemm(const mb_gemm_weight *w, int64_t M, const void *A, int64_t lda,
                              float alpha, float beta, void *C, int64_t ldc, mb_err *err)
{
    (void)w; (void)M; (void)A; (void)lda; (void)alpha; (void)beta; (void)C; (void)ldc;
    return mb_fail(err, MB_EUNSUPPORTED, "avx512 bf16: %s", mb_avx512_bf16_unavailable());
}
int64_t mb_avx512_bf16_bytes(const mb_gemm_weight *w) { (void)w; return 0; }
void mb_avx512_bf16_dims(const mb_gemm_weight *w, int64_t *N, int64_t *K) { (void)w; *N = *K = 0; }
mb_status mb_avx512_bf16_prepare_q(mb_dtype wq, const void *q, const float *scale, int64_t N,
                                   int64_t K, int64_t m_hint, mb_gemm_weight **out, mb_err *err)
{
    (void)wq; (void)q; (void)scale; (void)N; (void)K; (void)m_hint;
    *out = NULL;
    return mb_fail(err, MB_EUNSUPPORTED, "avx512 bf16: %s", mb_avx512_bf16_unavailable());
}

#endif

#endif
