/* W' = W + s B A through the provider: C[dout, din] = W + s * B[dout, r] (A^T)[din, r]^T, i.e.
 * B is the activation operand and A^T the prepared "weight". */
#include "merge.h"
#include <string.h>

mb_status mb_merge_linear_into(const mb_gemm_provider *gp, const float *W, const float *A,
                               const float *B, int64_t dout, int64_t din, int64_t r, float s,
                               float *Wm, mb_err *err)
{
    float *At = NULL;
    mb_gemm_weight *wa = NULL;
    mb_status rc = mb_valloc2(&At, din, r, err);
    if (rc == MB_OK) {
        memcpy(Wm, W, sizeof(float) * (size_t)(dout * din));
        for (int64_t i = 0; i < r; i++)
            for (int64_t j = 0; j < din; j++) At[j * r + i] = A[i * din + j];
        rc = mb_vprep(gp, At, din, r, dout, &wa, err);
    }
    if (rc == MB_OK) rc = mb_gemm(gp, MB_F32, wa, dout, B, r, s, 1.0f, Wm, din, err);
    mb_vrelease(gp, &wa);
    mb_free(At);
    return rc;
}

mb_status mb_merge_linear(const mb_gemm_provider *gp, const float *W, const float *A,
                          const float *B, int64_t dout, int64_t din, int64_t r, float s,
                          float **Wm, mb_err *err)
{
    mb_status rc = mb_valloc2(Wm, dout, din, err);
    if (rc == MB_OK) rc = mb_merge_linear_into(gp, W, A, B, dout, din, r, s, *Wm, err);
    if (rc != MB_OK) { mb_free(*Wm); *Wm = NULL; }
    return rc;
}
