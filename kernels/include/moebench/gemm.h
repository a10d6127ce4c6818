/* GEMM providers behind one interface, so each variant is written once (kernels/variants/) and
 * gets blas, onednn and avx512 implementations from it. The operation is always activations
 * times a torch-layout weight: C[M,N] = beta*C + alpha * A[M,K] W[N,K]^T.
 * A weight is prepared once (prepare step of an implementation: packing, reordering, primitive
 * creation for the expected row count) and then multiplied many times. */
#ifndef MOEBENCH_GEMM_H
#define MOEBENCH_GEMM_H

#include <stdint.h>
#include "moebench/error.h"

typedef struct mb_gemm_weight mb_gemm_weight;   /* provider-owned prepared weight */

typedef struct mb_gemm_provider {
    const char *name;   /* "naive", "blas", "onednn", "avx512" */
    /* NULL when usable on this build/CPU, else the reason. */
    const char *(*unavailable)(void);
    /* W [N, K] row-major with leading dimension ldw; m_hint = the row count most calls will use
     * (oneDNN creates its primitive for it). The provider may copy W (the caller's W must
     * then not be needed), or keep a pointer to it (W must outlive the prepared weight). */
    mb_status (*weight_prepare)(const float *W, int64_t N, int64_t K, int64_t ldw, int64_t m_hint,
                                mb_gemm_weight **out, mb_err *err);
    void (*weight_release)(mb_gemm_weight *w);
    /* C[M, N] (ldc) = beta * C + alpha * A[M, K] (lda) * W^T. M == 1 must take a GEMV path. */
    mb_status (*gemm)(const mb_gemm_weight *w, int64_t M, const float *A, int64_t lda, float alpha,
                      float beta, float *C, int64_t ldc, mb_err *err);
    /* Bytes the prepared weight owns beyond the caller's W (packed copies, reorders). */
    int64_t (*weight_bytes)(const mb_gemm_weight *w);
} mb_gemm_provider;

extern const mb_gemm_provider mb_gemm_naive;    /* plain loops, double accumulation */
extern const mb_gemm_provider mb_gemm_blas;     /* OpenBLAS cblas_sgemm / cblas_sgemv */
extern const mb_gemm_provider mb_gemm_onednn;   /* oneDNN matmul, weights reordered once */
extern const mb_gemm_provider mb_gemm_avx512;   /* packed BLIS-style AVX-512 SGEMM */

#endif
