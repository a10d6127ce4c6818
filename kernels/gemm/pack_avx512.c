/* Packing of a weight for the AVX-512 GEMM: done once in prepare, so the forward only streams
 * contiguous, zero-padded panels (no edge branches on loads). */
#ifdef MOEBENCH_HAVE_AVX512
#include <string.h>
#include <pthread.h>
#include <omp.h>
#include "moebench/mem.h"
#include "gemm/gemm_avx512_internal.h"

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static float *pool_mem;
static int pool_n, pool_refs;

mb_status mb_avx512_pool_acquire(mb_err *err)
{
    int want = omp_get_max_threads(), np = omp_get_num_procs();
    if (np > want) want = np;
    if (want < 1) want = 1;
    mb_status rc = MB_OK;
    pthread_mutex_lock(&pool_mu);
    if (want > pool_n) {
        float *m = mb_alloc((size_t)want * (size_t)MB_AVX_ABUF * sizeof(float));
        if (!m) {
            rc = mb_fail(err, MB_ENOMEM, "avx512: cannot allocate %d A-pack buffers", want);
        } else {
            mb_free(pool_mem);
            pool_mem = m;
            pool_n = want;
        }
    }
    if (rc == MB_OK) pool_refs++;
    pthread_mutex_unlock(&pool_mu);
    return rc;
}

void mb_avx512_pool_release(void)
{
    pthread_mutex_lock(&pool_mu);
    if (pool_refs > 0 && --pool_refs == 0) {
        mb_free(pool_mem);
        pool_mem = NULL;
        pool_n = 0;
    }
    pthread_mutex_unlock(&pool_mu);
}

float *mb_avx512_pool_buf(int i)
{
    return i >= 0 && i < pool_n ? pool_mem + (int64_t)i * MB_AVX_ABUF : NULL;
}

/* Source row of column j of panel p (-1: zero padding). Plain panels take 32 consecutive rows;
 * gated ones 16 gate rows and the 16 up rows nout further down (see the internal header). */
static int64_t panel_row(const mb_gemm_weight *w, int64_t p, int64_t j)
{
    if (!w->glu) {
        int64_t row = p * MB_AVX_NR + j;
        return row < w->N ? row : -1;
    }
    int64_t col = p * 16 + (j & 15);
    return col < w->nout ? col + (j < 16 ? 0 : w->nout) : -1;
}

static void pack_panel(const mb_gemm_weight *w, const float *W, int64_t ldw, int64_t p, int64_t k0,
                       int64_t kc, float *dst)
{
    /* Transpose the panel's rows of W into k-major order; padding stays zero (mb_alloc
     * zero-fills). */
    for (int64_t j = 0; j < MB_AVX_NR; j++) {
        int64_t row = panel_row(w, p, j);
        if (row < 0)
            continue;
        const float *src = W + row * ldw + k0;
        for (int64_t k = 0; k < kc; k++)
            dst[k * MB_AVX_NR + j] = src[k];
    }
}

void mb_avx512_weight_free(mb_gemm_weight *w)
{
    if (!w)
        return;
    if (w->pooled)
        mb_avx512_pool_release();
    mb_avx512_weight_free(w->tw);
    mb_avx512_wq_free(w->wq);
    mb_free(w->packed);
    mb_free(w->blk);
    mb_free(w);
}

static mb_status pack(const float *W1, int64_t K1, int64_t ldw1, const float *W2, int64_t K2,
                      int64_t ldw2, int64_t N, int glu, int panels_only, mb_gemm_weight **out,
                      mb_err *err)
{
    *out = NULL;
    if (N < 1 || K1 < 1 || K2 < 0 || !W1 || (K2 > 0 && !W2) || ldw1 < K1 || (K2 > 0 && ldw2 < K2) ||
        (glu && N % 2 != 0))
        return mb_fail(err, MB_EINVAL, "avx512 pack: bad shape N=%lld K1=%lld K2=%lld",
                       (long long)N, (long long)K1, (long long)K2);
    mb_gemm_weight *w = mb_alloc(sizeof *w);
    if (!w)
        return mb_fail(err, MB_ENOMEM, "avx512 pack: out of memory");
    if (N <= MB_AVX_SKINNY_N && K2 == 0 && !glu && !panels_only) {
        w->N = N;
        w->K = K1;
        w->skinny = 1;
        w->nseg = 1;
        w->seg_k[0] = K1;
        w->ldk = (K1 + 15) / 16 * 16;
        int64_t rows = (N + 7) / 8 * 8;
        w->packed = mb_alloc((size_t)(rows * w->ldk) * sizeof(float));
        if (!w->packed) {
            mb_avx512_weight_free(w);
            return mb_fail(err, MB_ENOMEM, "avx512 pack: out of memory");
        }
        /* groups of 8 rows, 16-float chunks of the 8 rows interleaved: the dot-product kernel's
         * 8 loads per k step are one contiguous 512-byte run, a single stream for the
         * prefetcher instead of 8 rows 16 KiB apart */
        for (int64_t j = 0; j < N; j++) {
            float *dst = w->packed + (j / 8) * 8 * w->ldk + (j % 8) * 16;
            for (int64_t k = 0; k < K1; k++)
                dst[(k / 16) * 128 + k % 16] = W1[j * ldw1 + k];
        }
        w->bytes = rows * w->ldk * (int64_t)sizeof(float);
        *out = w;
        return MB_OK;
    }
    w->N = N;
    w->K = K1 + K2;
    w->glu = glu;
    w->nout = glu ? N / 2 : N;
    w->panels = glu ? (w->nout + 15) / 16 : (N + MB_AVX_NR - 1) / MB_AVX_NR;
    w->nseg = K2 > 0 ? 2 : 1;
    w->seg_k[0] = K1;
    w->seg_k[1] = K2;
    int nblk = (int)((K1 + MB_AVX_KC - 1) / MB_AVX_KC + (K2 + MB_AVX_KC - 1) / MB_AVX_KC);
    w->nblk = nblk;
    w->blk = mb_alloc((size_t)nblk * sizeof *w->blk);
    int64_t floats = w->panels * MB_AVX_NR * w->K;
    w->packed = mb_alloc((size_t)floats * sizeof(float));
    if (!w->blk || !w->packed) {
        mb_avx512_weight_free(w);
        return mb_fail(err, MB_ENOMEM, "avx512 pack: out of memory for %lld floats",
                       (long long)floats);
    }
    w->bytes = floats * (int64_t)sizeof(float) + nblk * (int64_t)sizeof *w->blk;
    mb_status rc = mb_avx512_pool_acquire(err);
    if (rc != MB_OK) {
        mb_avx512_weight_free(w);
        return rc;
    }
    w->pooled = 1;
    /* Blocks never straddle the segment boundary, except that a short second segment is
     * appended whole to the first segment's last block. */
    const int append = K2 > 0 && K2 <= MB_AVX_KC2_MAX;
    int b = 0;
    int64_t off = 0, kglob = 0;
    for (int s = 0; s < w->nseg; s++) {
        if (s == 1 && append)
            break;
        const float *Ws = s == 0 ? W1 : W2;
        int64_t ldw = s == 0 ? ldw1 : ldw2;
        for (int64_t k0 = 0; k0 < w->seg_k[s]; k0 += MB_AVX_KC, b++) {
            int64_t kc = w->seg_k[s] - k0 < MB_AVX_KC ? w->seg_k[s] - k0 : MB_AVX_KC;
            int64_t kc2 = s == 0 && append && k0 + kc == K1 ? K2 : 0;
            w->blk[b] = (mb_avx_kblock){kglob + k0, kc + kc2, off, s, k0, kc2};
            for (int64_t j = 0; j < w->panels; j++) {
                float *dst = w->packed + off + j * (kc + kc2) * MB_AVX_NR;
                pack_panel(w, Ws, ldw, j, k0, kc, dst);
                if (kc2)
                    pack_panel(w, W2, ldw2, j, 0, kc2, dst + kc * MB_AVX_NR);
            }
            off += w->panels * (kc + kc2) * MB_AVX_NR;
        }
        kglob += w->seg_k[s];
    }
    w->nblk = b;
    *out = w;
    return MB_OK;
}

mb_status mb_avx512_pack(const float *W1, int64_t K1, int64_t ldw1, const float *W2, int64_t K2,
                         int64_t ldw2, int64_t N, mb_gemm_weight **out, mb_err *err)
{
    return pack(W1, K1, ldw1, W2, K2, ldw2, N, 0, 0, out, err);
}

mb_status mb_avx512_pack_down(const float *W, int64_t K, int64_t ldw, int64_t N,
                              mb_gemm_weight **out, mb_err *err)
{
    return pack(W, K, ldw, NULL, 0, 0, N, 0, 1, out, err);
}

mb_status mb_avx512_pack_glu(const float *W1, int64_t K1, int64_t ldw1, const float *W2,
                             int64_t K2, int64_t ldw2, int64_t N, mb_gemm_weight **out, mb_err *err)
{
    return pack(W1, K1, ldw1, W2, K2, ldw2, N, 1, 0, out, err);
}
#endif
