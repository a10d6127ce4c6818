/* The avx512 provider's weight-only quantised GEMM (wq=int8|int4, issue 15): C = beta C +
 * alpha A (q * scale)^T with A and C in f32 or bf16, the weights kept quantised: the levels are
 * sign-extended and converted to f32 inside the micro-kernel, never into a dequantised copy.
 *
 * Packing (once, in prepare), 32-column panels K-major as in the f32 and bf16 kernels:
 * - int8: 32 bytes per k, column c's level in byte c (1 byte per weight);
 * - int4: 16 bytes per k, nibbles kept (0.5 byte per weight): byte j holds column j in its low
 *   nibble and column j + 16 in its high one, so one vpmovsxbd gives both halves: the high
 *   column by an arithmetic shift right by 4, the low one by shifting left 28 then right 28.
 * Scales are copied beside the panels as f32, 32 per panel (int8) or per panel and group.
 * Padding columns have level 0 and scale 0.
 * Where the scale enters:
 * - int8: after the whole K (sum_k a_k q_nk s_n = s_n sum_k a_k q_nk): one multiply per column;
 * - int4: each level is multiplied by its group's scale as it is converted (q s rounded once to
 *   f32), so one set of accumulators serves all groups; the micro-tile has no room for a second
 *   set of 24 running sums.
 * A is widened exactly (bf16 -> f32 is a shift) as it is broadcast; bf16 C is rounded once, to
 * nearest even (NaN kept NaN), as mb_f32_to_bf16 rounds.
 * Threads share out (panel, row block) tasks panel-major; M == 1 streams the weights once, four
 * panels per pass, each thread a contiguous slice of panels (as the bf16 GEMV). No K blocking:
 * a panel is K x 32 bytes (int8) or half that, which stays in L2 for K up to several thousand. */
#ifdef MOEBENCH_HAVE_AVX512
#include <string.h>
#include <omp.h>
#include "moebench/mem.h"
#include "moebench/quant.h"
#include "gemm/gemm_avx512_internal.h"

#define QMR 12            /* rows per micro-tile */
#define QNR 32            /* columns per panel: two zmm of f32 accumulators */
#define QRB 8             /* micro-tiles per task (96 rows) */

struct mb_avx_wq {
    mb_dtype wq;
    int64_t N, K, panels, groups, kg;   /* kg: K per scale group (int8: K) */
    int64_t pstride;                    /* bytes of one panel */
    int8_t *packed;
    float *scale;                       /* [panels][groups][32] */
    int64_t bytes;
};

typedef struct {
    const mb_avx_wq *w;
    const void *A;
    void *C;
    int64_t lda, ldc, M;
    float alpha, beta;
} wq_args;

/* Element k of A row a, widened to f32 and broadcast. */
static inline __m512 bcast(const int bf, const void *a, int64_t k)
{
    if (bf)
        return _mm512_castsi512_ps(
            _mm512_set1_epi32((int)((uint32_t)((const uint16_t *)a)[k] << 16)));
    return _mm512_set1_ps(((const float *)a)[k]);
}

/* The 32 levels of step k of a panel as f32 (int4: times the group's scales s0, s1). */
static inline void levels(const int i4, const int8_t *bp, __m512 s0, __m512 s1, __m512 *b0,
                          __m512 *b1)
{
    if (i4) {
        const __m512i v = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)bp));
        const __m512i lo = _mm512_srai_epi32(_mm512_slli_epi32(v, 28), 28);
        *b0 = _mm512_mul_ps(_mm512_cvtepi32_ps(lo), s0);
        *b1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srai_epi32(v, 4)), s1);
    } else {
        *b0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)bp)));
        *b1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(bp + 16))));
    }
}

/* f32 (bf = 0) or bf16 (bf = 1) C row's 16 columns (mask m) = alpha v + beta C; beta == 0 does
 * not read C (it may hold NaN). bf16: rounded to nearest even, NaN stays a quiet NaN. */
static inline void store16(const int bf, void *c, __mmask16 m, float alpha, float beta, __m512 v)
{
    v = _mm512_mul_ps(v, _mm512_set1_ps(alpha));
    if (!bf) {
        if (beta != 0.0f)
            v = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(m, c), v);
        _mm512_mask_storeu_ps(c, m, v);
        return;
    }
    if (beta != 0.0f) {
        const __m512i h = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, c));
        v = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_castsi512_ps(_mm512_slli_epi32(h, 16)),
                            v);
    }
    const __m512i u = _mm512_castps_si512(v);
    const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_srli_epi32(
        _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), odd)), 16);
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
    _mm512_mask_cvtepi32_storeu_epi16(c, m, r);
}

/* Row r's 32 columns of panel p: int8 scaled per column here; then alpha, beta. */
static inline void store_row(const int bf, const int i4, const wq_args *g, int64_t row,
                             int64_t p, __m512 lo, __m512 hi)
{
    const mb_avx_wq *w = g->w;
    if (!i4) {
        lo = _mm512_mul_ps(lo, _mm512_load_ps(w->scale + p * QNR));
        hi = _mm512_mul_ps(hi, _mm512_load_ps(w->scale + p * QNR + 16));
    }
    const int64_t off = row * g->ldc + p * QNR, esz = bf ? 2 : 4;
    char *c = (char *)g->C + off * esz;
    store16(bf, c, mb_avx_mask(w->N - p * QNR), g->alpha, g->beta, lo);
    store16(bf, c + 16 * esz, mb_avx_mask(w->N - p * QNR - 16), g->alpha, g->beta, hi);
}

/* Rows [i0, i0 + mr) of C against panel p, K in chunks of QKC (= MB_WQ_GROUP: an int4 chunk
 * is one scale group). bf16 A: each chunk of the tile's rows is first widened into an f32
 * block on the stack (L1), so the FMA loop broadcasts from memory (a load, not a shuffle-port
 * broadcast from a general register per row and k). */
#define QKC MB_WQ_GROUP
static inline __attribute__((always_inline)) void tile(const int mr, const int bf, const int i4,
                                                        const wq_args *g, int64_t i0, int64_t p)
{
    const mb_avx_wq *w = g->w;
    const int8_t *bp = w->packed + p * w->pstride;
    const int64_t step = i4 ? 16 : 32;
    const float *ar[QMR];
    const uint16_t *hr[QMR];
    _Alignas(64) float xb[QMR][QKC];   /* bf16 only (unused, optimised away, for f32) */
    __m512 c0[QMR], c1[QMR];
    #pragma GCC unroll 12   /* = QMR: full unrolling keeps c0, c1 in registers */
    for (int r = 0; r < mr; r++) {
        if (bf)
            hr[r] = (const uint16_t *)g->A + (i0 + r) * g->lda;
        else
            ar[r] = (const float *)g->A + (i0 + r) * g->lda;
        c0[r] = _mm512_setzero_ps();
        c1[r] = _mm512_setzero_ps();
    }
    for (int64_t k0 = 0; k0 < w->K; k0 += QKC) {
        const int64_t kn = w->K - k0 < QKC ? w->K - k0 : QKC;
        __m512 s0 = _mm512_setzero_ps(), s1 = s0;
        if (i4) {
            const float *sc = w->scale + (p * w->groups + k0 / QKC) * QNR;
            s0 = _mm512_load_ps(sc);
            s1 = _mm512_load_ps(sc + 16);
        }
        const float *xr[QMR];
        #pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            if (!bf) {
                xr[r] = ar[r] + k0;
                continue;
            }
            for (int64_t c = 0; c < kn; c += 16) {   /* lanes past kn: not read, not used */
                const __m512i h = _mm512_cvtepu16_epi32(
                    _mm256_maskz_loadu_epi16(mb_avx_mask(kn - c), hr[r] + k0 + c));
                _mm512_store_ps(xb[r] + c, _mm512_castsi512_ps(_mm512_slli_epi32(h, 16)));
            }
            xr[r] = xb[r];
        }
        for (int64_t k = 0; k < kn; k++, bp += step) {
            __m512 b0, b1;
            levels(i4, bp, s0, s1, &b0, &b1);
            #pragma GCC unroll 12
            for (int r = 0; r < mr; r++) {
                const __m512 x = _mm512_set1_ps(xr[r][k]);
                c0[r] = _mm512_fmadd_ps(x, b0, c0[r]);
                c1[r] = _mm512_fmadd_ps(x, b1, c1[r]);
            }
        }
    }
    #pragma GCC unroll 12
    for (int r = 0; r < mr; r++)
        store_row(bf, i4, g, i0 + r, p, c0[r], c1[r]);
}

/* A tail tile of 1..11 rows: each height its own unrolled copy. */
static inline __attribute__((always_inline)) void tile_tail(int mr, const int bf, const int i4,
                                                             const wq_args *g, int64_t i0,
                                                             int64_t p)
{
    switch (mr) {
    case 1: tile(1, bf, i4, g, i0, p); break;
    case 2: tile(2, bf, i4, g, i0, p); break;
    case 3: tile(3, bf, i4, g, i0, p); break;
    case 4: tile(4, bf, i4, g, i0, p); break;
    case 5: tile(5, bf, i4, g, i0, p); break;
    case 6: tile(6, bf, i4, g, i0, p); break;
    case 7: tile(7, bf, i4, g, i0, p); break;
    case 8: tile(8, bf, i4, g, i0, p); break;
    case 9: tile(9, bf, i4, g, i0, p); break;
    case 10: tile(10, bf, i4, g, i0, p); break;
    default: tile(11, bf, i4, g, i0, p); break;
    }
}

static inline __attribute__((always_inline)) void task(const int bf, const int i4,
                                                        const wq_args *g, int64_t p, int64_t rb)
{
    const int64_t i1 = (rb + 1) * QRB * QMR < g->M ? (rb + 1) * QRB * QMR : g->M;
    int64_t i = rb * QRB * QMR;
    for (; i + QMR <= i1; i += QMR)
        tile(QMR, bf, i4, g, i, p);
    if (i < i1)
        tile_tail((int)(i1 - i), bf, i4, g, i, p);
}

/* M == 1, panels [p0, p1): four panels per pass (8 accumulators, four address streams), then
 * one at a time. */
static inline __attribute__((always_inline)) void gemv_slice(const int bf, const int i4,
                                                              const wq_args *g, int64_t p0,
                                                              int64_t p1)
{
    const mb_avx_wq *w = g->w;
    const int64_t ps = w->pstride, step = i4 ? 16 : 32, G = w->groups;
    int64_t p = p0;
    for (; p + 4 <= p1; p += 4) {
        const int8_t *bp = w->packed + p * ps;
        const float *sc = w->scale + p * G * QNR;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        __m512 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        __m512 s[8];
        for (int i = 0; i < 8; i++)
            s[i] = _mm512_setzero_ps();
        for (int64_t gr = 0; gr < G; gr++) {
            if (i4)
                for (int i = 0; i < 4; i++) {
                    s[2 * i] = _mm512_load_ps(sc + (i * G + gr) * QNR);
                    s[2 * i + 1] = _mm512_load_ps(sc + (i * G + gr) * QNR + 16);
                }
            const int64_t k1 = (gr + 1) * w->kg;
            for (int64_t k = gr * w->kg; k < k1; k++, bp += step) {
                const __m512 x = bcast(bf, g->A, k);
                __m512 l0, l1;
                levels(i4, bp, s[0], s[1], &l0, &l1);
                a0 = _mm512_fmadd_ps(x, l0, a0);
                b0 = _mm512_fmadd_ps(x, l1, b0);
                levels(i4, bp + ps, s[2], s[3], &l0, &l1);
                a1 = _mm512_fmadd_ps(x, l0, a1);
                b1 = _mm512_fmadd_ps(x, l1, b1);
                levels(i4, bp + 2 * ps, s[4], s[5], &l0, &l1);
                a2 = _mm512_fmadd_ps(x, l0, a2);
                b2 = _mm512_fmadd_ps(x, l1, b2);
                levels(i4, bp + 3 * ps, s[6], s[7], &l0, &l1);
                a3 = _mm512_fmadd_ps(x, l0, a3);
                b3 = _mm512_fmadd_ps(x, l1, b3);
            }
        }
        store_row(bf, i4, g, 0, p, a0, b0);
        store_row(bf, i4, g, 0, p + 1, a1, b1);
        store_row(bf, i4, g, 0, p + 2, a2, b2);
        store_row(bf, i4, g, 0, p + 3, a3, b3);
    }
    for (; p < p1; p++)
        tile(1, bf, i4, g, 0, p);
}

/* One copy of the drivers per (A type, wq type): the kernels see constants. */
#define WQ_DRIVERS(NAME, BF, I4)                                                              \
    static void NAME##_gemv(const wq_args *g, int64_t p0, int64_t p1)                       \
    {                                                                                         \
        gemv_slice(BF, I4, g, p0, p1);                                                        \
    }                                                                                         \
    static void NAME##_task(const wq_args *g, int64_t p, int64_t rb) { task(BF, I4, g, p, rb); }
WQ_DRIVERS(f32_i8, 0, 0)
WQ_DRIVERS(f32_i4, 0, 1)
WQ_DRIVERS(bf16_i8, 1, 0)
WQ_DRIVERS(bf16_i4, 1, 1)

void mb_avx512_wq_run(const mb_avx_wq *w, mb_dtype dt, int64_t M, const void *A, int64_t lda,
                      float alpha, float beta, void *C, int64_t ldc)
{
    if (M <= 0)
        return;
    const int bf = dt == MB_BF16, i4 = w->wq == MB_I4;
    void (*gemv)(const wq_args *, int64_t, int64_t) =
        bf ? (i4 ? bf16_i4_gemv : bf16_i8_gemv) : (i4 ? f32_i4_gemv : f32_i8_gemv);
    void (*tsk)(const wq_args *, int64_t, int64_t) =
        bf ? (i4 ? bf16_i4_task : bf16_i8_task) : (i4 ? f32_i4_task : f32_i8_task);
    const wq_args g = {.w = w, .A = A, .C = C, .lda = lda, .ldc = ldc, .M = M, .alpha = alpha,
                       .beta = beta};
    const int outer = omp_in_parallel();
    if (M == 1) {
        /* threads pay once the weight is well beyond L2 fetch latency (as the f32 GEMV) */
        const int par = !outer && w->panels > 1 && (double)w->N * (double)w->K > 2.5e5;
        #pragma omp parallel if (par)
        {
            const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
            const int64_t per = (w->panels + nt - 1) / nt;
            const int64_t p0 = t * per, p1 = p0 + per < w->panels ? p0 + per : w->panels;
            if (p0 < p1)
                gemv(&g, p0, p1);
        }
        return;
    }
    const int64_t nrb = (M + QRB * QMR - 1) / (QRB * QMR), ntask = nrb * w->panels;
    const int par = !outer && ntask > 1 && (double)M * (double)w->N * (double)w->K > 1e5;
    /* panel-major: consecutive tasks of a thread reuse its panel from L2 */
    #pragma omp parallel for schedule(static) if (par)
    for (int64_t t = 0; t < ntask; t++)
        tsk(&g, t / nrb, t % nrb);
}

mb_status mb_avx512_wq_pack(mb_dtype wq, const void *q, const float *scale, int64_t N,
                            int64_t K, mb_avx_wq **out, mb_err *err)
{
    *out = NULL;
    const int64_t groups = mb_wq_groups(wq, K);
    if (!q || !scale || N < 1 || K < 1 || groups < 1 || (wq != MB_I8 && wq != MB_I4))
        return mb_fail(err, MB_EINVAL, "avx512 wq prepare: bad quantised weight (N=%lld K=%lld "
                       "wq=%s)", (long long)N, (long long)K, mb_dtype_name(wq));
    mb_avx_wq *w = mb_alloc(sizeof *w);
    if (!w)
        return mb_fail(err, MB_ENOMEM, "avx512 wq prepare: out of memory");
    const int i4 = wq == MB_I4;
    w->wq = wq;
    w->N = N;
    w->K = K;
    w->panels = (N + QNR - 1) / QNR;
    w->groups = groups;
    w->kg = K / groups;
    w->pstride = K * (i4 ? QNR / 2 : QNR);
    const int64_t qbytes = w->panels * w->pstride;
    const int64_t sbytes = w->panels * groups * QNR * (int64_t)sizeof(float);
    w->packed = mb_alloc((size_t)qbytes);   /* zero-filled: padding columns have level 0 */
    w->scale = mb_alloc((size_t)sbytes);
    w->bytes = qbytes + sbytes;
    if (!w->packed || !w->scale) {
        mb_avx512_wq_free(w);
        return mb_fail(err, MB_ENOMEM, "avx512 wq prepare: out of memory (%lld bytes)",
                       (long long)(qbytes + sbytes));
    }
    for (int64_t n = 0; n < N; n++) {
        const int64_t p = n / QNR, c = n % QNR;
        int8_t *dst = w->packed + p * w->pstride;
        for (int64_t k = 0; k < K; k++) {
            const int lv = mb_wq_level(wq, q, n * K + k);
            if (!i4) {
                dst[k * QNR + c] = (int8_t)lv;
            } else {
                uint8_t *b = (uint8_t *)dst + k * (QNR / 2) + c % 16;
                *b |= c < 16 ? (uint8_t)(lv & 0xf) : (uint8_t)((lv & 0xf) << 4);
            }
        }
        for (int64_t gr = 0; gr < groups; gr++)
            w->scale[(p * groups + gr) * QNR + c] = scale[n * groups + gr];
    }
    *out = w;
    return MB_OK;
}

void mb_avx512_wq_free(mb_avx_wq *w)
{
    if (!w)
        return;
    mb_free(w->packed);
    mb_free(w->scale);
    mb_free(w);
}

int64_t mb_avx512_wq_bytes(const mb_avx_wq *w) { return w ? w->bytes : 0; }
#endif
