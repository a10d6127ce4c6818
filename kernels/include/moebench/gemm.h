/* GEMM providers behind one interface, so each variant is written once (kernels/variants/) and
 * gets blas, onednn and avx512 implementations from it. The operation is always activations
 * times a torch-layout weight: C[M,N] = beta*C + alpha * A[M,K] W[N,K]^T.
 * A weight is prepared once (prepare step of an implementation: packing, reordering, primitive
 * creation for the expected row count) and then multiplied many times. Entry points are
 * registered per datatype (mb_gemm_provider.ops) and called through the typed mb_gemm_*
 * functions below. */
#ifndef MOEBENCH_GEMM_H
#define MOEBENCH_GEMM_H

#include <stdint.h>
#include "moebench/dtype.h"
#include "moebench/error.h"

typedef struct mb_gemm_weight mb_gemm_weight;   /* provider-owned prepared weight */

/* One provider's entry points for one datatype: A, W and C are all stored in that type
 * (accumulation in f32 or wider; alpha and beta are f32 whatever the type). The pointers are
 * untyped so one table row serves every type; each row casts to its own element type. */
typedef struct mb_gemm_ops {
    /* W [N, K] row-major with leading dimension ldw (in elements); m_hint = the row count most
     * calls will use (oneDNN creates its primitive for it). The provider may copy W (the
     * caller's W must then not be needed), or keep a pointer to it (W must outlive the
     * prepared weight). */
    mb_status (*weight_prepare)(const void *W, int64_t N, int64_t K, int64_t ldw, int64_t m_hint,
                                mb_gemm_weight **out, mb_err *err);
    void (*weight_release)(mb_gemm_weight *w);
    /* C[M, N] (ldc) = beta * C + alpha * A[M, K] (lda) * W^T. M == 1 must take a GEMV path. */
    mb_status (*gemm)(const mb_gemm_weight *w, int64_t M, const void *A, int64_t lda, float alpha,
                      float beta, void *C, int64_t ldc, mb_err *err);
    /* Bytes the prepared weight owns beyond the caller's W (packed copies, reorders). */
    int64_t (*weight_bytes)(const mb_gemm_weight *w);
    /* The shape W was prepared with, for the work counters (moebench/work.h); NULL in a row
     * that cannot prepare weights (built without the library). */
    void (*weight_dims)(const mb_gemm_weight *w, int64_t *N, int64_t *K);
    /* ---- the training direction (mode=train, issue 14); NULL members: "not implemented" ----
     * Makes w usable by gemm_nn (e.g. a packed copy of W^T, a second primitive); called once
     * in the prepare step of a train case, so its bytes count in weight_bytes. NULL when
     * gemm_nn needs nothing more than weight_prepare did. */
    mb_status (*weight_train)(mb_gemm_weight *w, mb_err *err);
    /* C[M, K] (ldc) = beta * C + alpha * A[M, N] (lda) * W: the other transpose of the same
     * prepared weight (dX = dY W of a frozen weight). */
    mb_status (*gemm_nn)(const mb_gemm_weight *w, int64_t M, const void *A, int64_t lda,
                         float alpha, float beta, void *C, int64_t ldc, mb_err *err);
    /* C[M, N] (ldc) = beta * C + alpha * op(A) op(B), both operands activations or weights
     * that change every step (never prepared): op(A) = ta ? A^T : A with A stored [K, M]
     * (ta) or [M, K]; op(B) = tb ? B^T : B with B stored [N, K] (tb) or [K, N]. Weight
     * gradients dW = dY^T X are (ta = 1, tb = 0) over the token dimension K. */
    mb_status (*gemm_plain)(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                            const void *A, int64_t lda, const void *B, int64_t ldb, float beta,
                            void *C, int64_t ldc, mb_err *err);
    /* ---- split GEMMs (mb_gemm_group, issue 16); NULL members: the provider cannot split ----
     * Columns [n0, n1) of gemm's C from rows [n0, n1) of the prepared W: C + n0 gets
     * beta C + alpha A W[n0:n1]^T (A, lda, ldc, C as in gemm; M == 1 a GEMV). */
    mb_status (*gemm_cols)(const mb_gemm_weight *w, int64_t n0, int64_t n1, int64_t M,
                           const void *A, int64_t lda, float alpha, float beta, void *C,
                           int64_t ldc, mb_err *err);
    /* 1 when gemm_cols called inside an OpenMP parallel region runs on the calling thread
     * alone (OpenBLAS's OpenMP and sequential builds), so one call per thread uses the threads
     * set and no more; 0 when the library would start threads of its own there. */
    int (*serial_in_parallel)(void);
    /* ---- weight-only quantised weights (wq=int8|int4, spec "Precision", moebench/quant.h);
     * NULL: the provider has none ----
     * Prepares W = q * scale [N, K] for this row's gemm (A and C in this row's dtype): q and
     * scale stored as quant.h stores a whole [N, K] matrix (rows contiguous; int4 two levels
     * per byte, element n in byte n / 2, even n in the low nibble; scale [N, groups], int8: one
     * per row, int4: one per MB_WQ_GROUP inputs). The provider keeps the weights quantised,
     * packed or not, and dequantises inside its kernel: never a full dequantised copy. q and
     * scale must outlive the prepared weight. gemm, weight_bytes, weight_dims and
     * weight_release of this row then serve it. */
    mb_status (*weight_prepare_q)(mb_dtype wq, const void *q, const float *scale, int64_t N,
                                  int64_t K, int64_t m_hint, mb_gemm_weight **out, mb_err *err);
} mb_gemm_ops;

/* A provider registers its entry points per datatype, as BLIS registers kernels per
 * (operation, datatype) (config/skx/bli_cntx_init_skx.c): ops[dt] for each type it computes
 * in, NULL members for the others, which then answer "unsupported dtype" with the reason
 * (mb_gemm_unsupported). Only f32 is filled in today; bf16 and int8 come with issue 15. */
typedef struct mb_gemm_provider {
    const char *name;   /* "naive", "blas", "onednn", "avx512" */
    /* NULL when usable on this build/CPU, else the reason. */
    const char *(*unavailable)(void);
    /* Optional: NULL when the library under the provider can compute in dt on this machine,
     * else the library's own reason (a BLAS without sbgemm, oneDNN without a bf16 matmul for
     * this ISA). Asked for a case's dtype other than f32 and for its wq type, before the
     * generic "implements f32 only" answers, so a row names the deepest cause. */
    const char *(*dtype_unavailable)(mb_dtype dt);
    mb_gemm_ops ops[MB_DTYPE_COUNT];
} mb_gemm_provider;

/* NULL when gp has entry points for dt (whether or not it is available here: that is
 * gp->unavailable()), else "unsupported dtype bf16: <name> implements f32 only (issue 15)"
 * (thread-local buffer, mb_dtype_unsupported). */
const char *mb_gemm_unsupported(const mb_gemm_provider *gp, mb_dtype dt);
/* MB_DTYPE_BIT set of the types gp has entry points for. */
unsigned mb_gemm_dtypes(const mb_gemm_provider *gp);

/* The typed entry points: dispatch to gp->ops[dt]; a type gp does not implement gives
 * MB_EUNSUPPORTED with mb_gemm_unsupported's reason (and *out = NULL). The weight must be used
 * and released with the dt it was prepared with. */
mb_status mb_gemm_weight_prepare(const mb_gemm_provider *gp, mb_dtype dt, const void *W,
                                 int64_t N, int64_t K, int64_t ldw, int64_t m_hint,
                                 mb_gemm_weight **out, mb_err *err);
void mb_gemm_weight_release(const mb_gemm_provider *gp, mb_dtype dt, mb_gemm_weight *w);
/* The quantised form (mb_gemm_ops.weight_prepare_q) for activations in dt; MB_EUNSUPPORTED
 * with mb_gemm_wq_unsupported's reason where gp has none. */
mb_status mb_gemm_weight_prepare_q(const mb_gemm_provider *gp, mb_dtype dt, mb_dtype wq,
                                   const void *q, const float *scale, int64_t N, int64_t K,
                                   int64_t m_hint, mb_gemm_weight **out, mb_err *err);
/* NULL when gp can prepare weights quantised to wq for activations in dt (whether or not it is
 * available here), else the reason (thread-local buffer). */
const char *mb_gemm_wq_unsupported(const mb_gemm_provider *gp, mb_dtype dt, mb_dtype wq);
mb_status mb_gemm(const mb_gemm_provider *gp, mb_dtype dt, const mb_gemm_weight *w, int64_t M,
                  const void *A, int64_t lda, float alpha, float beta, void *C, int64_t ldc,
                  mb_err *err);
int64_t mb_gemm_weight_bytes(const mb_gemm_provider *gp, mb_dtype dt, const mb_gemm_weight *w);
/* The training entry points (mb_gemm_ops.weight_train, gemm_nn, gemm_plain); a provider without
 * them gives MB_EUNSUPPORTED. Counted in the work counters like mb_gemm (flops 2 M N K). */
mb_status mb_gemm_weight_train(const mb_gemm_provider *gp, mb_dtype dt, mb_gemm_weight *w,
                               mb_err *err);
mb_status mb_gemm_nn(const mb_gemm_provider *gp, mb_dtype dt, const mb_gemm_weight *w, int64_t M,
                     const void *A, int64_t lda, float alpha, float beta, void *C, int64_t ldc,
                     mb_err *err);
mb_status mb_gemm_plain(const mb_gemm_provider *gp, mb_dtype dt, int ta, int tb, int64_t M,
                        int64_t N, int64_t K, float alpha, const void *A, int64_t lda,
                        const void *B, int64_t ldb, float beta, void *C, int64_t ldc, mb_err *err);
/* One GEMM of a group: C[M, N] = beta C + alpha A[M, K] (lda) W^T (ldc), W prepared. */
typedef struct {
    const mb_gemm_weight *w;
    int64_t M;
    const void *A;
    int64_t lda;
    float alpha, beta;
    void *C;
    int64_t ldc;
} mb_gemm_job;
/* How mb_gemm_group cuts a job: column tiles of col_min..col_max columns (boundaries on
 * multiples of col_min), row tiles of at least row_min rows (boundaries on multiples of
 * row_min), cut until each task is at most 1/(tasks_per_thread x threads) of the group's
 * work or the minimums stop it. */
typedef struct {
    int64_t col_max, col_min, row_min;
    int tasks_per_thread;
} mb_gemm_tiling;
/* The defaults: columns 64..256, rows from 16, 4 tasks per thread (each task one
 * single-threaded BLAS call big enough to run near its peak). */
extern const mb_gemm_tiling mb_gemm_tiling_default;
/* The jobs as mb_gemm would compute them one after another (their C must not overlap, and no
 * job's C may be another's A), counted in the work counters the same way (one call per job).
 * When the provider can split (gemm_cols, serial_in_parallel) and more than one OpenMP thread
 * is set, all jobs are cut into (job, row tile, column tile) tasks run by the threads at once,
 * largest first, each on one thread: the split follows the work, not how it is spread over the
 * jobs, so an expert owning most rows is cut like all experts together. Else the jobs run in
 * order through mb_gemm (the provider threads each call). tiling NULL: the defaults. */
mb_status mb_gemm_group(const mb_gemm_provider *gp, mb_dtype dt, const mb_gemm_job *jobs,
                        int64_t njobs, const mb_gemm_tiling *tiling, mb_err *err);
/* 1 when mb_gemm_group splits the jobs of gp in dt over the threads (the thread count aside). */
int mb_gemm_group_splits(const mb_gemm_provider *gp, mb_dtype dt);

/* NULL when gp has the training entry points for dt, else the reason (static string). */
const char *mb_gemm_train_unsupported(const mb_gemm_provider *gp, mb_dtype dt);

extern const mb_gemm_provider mb_gemm_naive;    /* plain loops, double accumulation */
extern const mb_gemm_provider mb_gemm_blas;     /* OpenBLAS cblas_sgemm / cblas_sgemv */
extern const mb_gemm_provider mb_gemm_onednn;   /* oneDNN matmul, weights reordered once */
extern const mb_gemm_provider mb_gemm_avx512;   /* packed BLIS-style AVX-512 SGEMM */

#endif
