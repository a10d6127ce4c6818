/* Private interface of the merged implementation (kernels/variants/merge_*.c): LoRA folded into
 * the base weights in prepare (spec Part 1 "Merged weights"), then plain dense / sparse GEMMs. */
#ifndef MOEBENCH_MERGE_H
#define MOEBENCH_MERGE_H

#include "variants.h"

/* Wm [dout, din] = W + s B A (B [dout, r], A [r, din]), one provider GEMM; Wm allocated here. */
mb_status mb_merge_linear(const mb_gemm_provider *gp, const float *W, const float *A,
                          const float *B, int64_t dout, int64_t din, int64_t r, float s,
                          float **Wm, mb_err *err);

/* Same into a caller buffer Wm [dout, din]. */
mb_status mb_merge_linear_into(const mb_gemm_provider *gp, const float *W, const float *A,
                               const float *B, int64_t dout, int64_t din, int64_t r, float s,
                               float *Wm, mb_err *err);

/* The three projections of a gated MLP with LoRA (mlp_lora, mixlora): weight names
 * {W, A, B} per projection gate, up, down. */
extern const char *const mb_mlp_names[3][3];
/* d_out / d_in of projection i (0 gate, 1 up: f x h; 2 down: h x f). */
static inline int64_t mb_mlp_dout(int i, int64_t h, int64_t f) { return i < 2 ? f : h; }
static inline int64_t mb_mlp_din(int i, int64_t h, int64_t f) { return i < 2 ? h : f; }

/* Each prepares the merged form of its variant and says which ops run it. */
typedef mb_status (*mb_merge_prepare_fn)(const mb_gemm_provider *gp, const mb_spec *s,
                                         const mb_weights *w, const mb_variant_ops **ops,
                                         void **priv, mb_err *err);
mb_status mb_merge_lora(const mb_gemm_provider *, const mb_spec *, const mb_weights *,
                        const mb_variant_ops **, void **, mb_err *);
mb_status mb_merge_mlp_lora(const mb_gemm_provider *, const mb_spec *, const mb_weights *,
                            const mb_variant_ops **, void **, mb_err *);
mb_status mb_merge_moelora(const mb_gemm_provider *, const mb_spec *, const mb_weights *,
                           const mb_variant_ops **, void **, mb_err *);
mb_status mb_merge_mixlora(const mb_gemm_provider *, const mb_spec *, const mb_weights *,
                           const mb_variant_ops **, void **, mb_err *);

#endif
