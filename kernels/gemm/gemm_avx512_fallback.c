/* The avx512 provider on compilers without -mavx512f: present, always unavailable, so callers
 * need no #ifdef and report the reason. */
#ifndef MOEBENCH_HAVE_AVX512
#include "moebench/cpu.h"
#include "moebench/gemm.h"

/* The probe's reason: "built without AVX-512 support in the compiler", or "forced off". */
static const char *unavailable(void)
{
    const char *why = NULL;
    mb_cpu_has_avx512(&why);
    return why;
}

static mb_status prepare(const void *W, int64_t N, int64_t K, int64_t ldw, int64_t m_hint,
                         mb_gemm_weight **out, mb_err *err)
{
    (void)W; (void)N; (void)K; (void)ldw; (void)m_hint;
    *out = NULL;
    return mb_fail(err, MB_EUNSUPPORTED, "avx512: %s", unavailable());
}

static void release(mb_gemm_weight *w) { (void)w; }

static mb_status gemm(const mb_gemm_weight *w, int64_t M, const void *A, int64_t lda, float alpha,
                      float beta, void *C, int64_t ldc, mb_err *err)
{
    (void)w; (void)M; (void)A; (void)lda; (void)alpha; (void)beta; (void)C; (void)ldc;
    return mb_fail(err, MB_EUNSUPPORTED, "avx512: %s", unavailable());
}

static int64_t weight_bytes(const mb_gemm_weight *w) { (void)w; return 0; }

static mb_status prepare_q(mb_dtype wq, const void *q, const float *scale, int64_t N, int64_t K,
                           int64_t m_hint, mb_gemm_weight **out, mb_err *err)
{
    (void)wq; (void)q; (void)scale; (void)N; (void)K; (void)m_hint;
    *out = NULL;
    return mb_fail(err, MB_EUNSUPPORTED, "avx512: %s", unavailable());
}

const mb_gemm_provider mb_gemm_avx512 = {
    .name = "avx512",
    .unavailable = unavailable,
    .ops[MB_F32] = {prepare, release, gemm, weight_bytes, NULL, NULL, NULL, NULL, NULL, NULL,
                    prepare_q},
};
#else
/* Keeps this translation unit non-empty (ISO C) when the real provider is compiled. */
typedef int mb_gemm_avx512_fallback_unused;
#endif
