/* Private interface of the training step of the provider-backed implementations (mode=train,
 * spec "Training step"): each variant's forward_train / backward, written once against the GEMM
 * provider's training entry points (moebench/gemm.h: gemm_nn on the prepared frozen weights,
 * gemm_plain for weight gradients and for the trainable tensors, which are never prepared), in
 * kernels/variants/var_<name>_train.c.
 *
 * Ownership (mb_saved, mb_grads of moebench/impl.h): forward_train puts what the backward needs
 * into saved->act (allocated there on the first step, reused when the caller passes the same
 * mb_saved again) and backward puts dX and one gradient per trainable tensor into grads (same
 * rule: the caller normally allocates grads with mb_grads_alloc, moebench/train.h); the caller
 * frees them. Frozen weights, adapters and router are the caller's, read in place and never
 * written (so trainable tensors may be prepared like frozen ones); with opt=adamw the backward
 * ends with mb_grads_apply_opt (grads->upd, m, v). */
#ifndef MOEBENCH_VARIANTS_TRAIN_H
#define MOEBENCH_VARIANTS_TRAIN_H

#include "variants.h"
#include "moebench/dropout.h"
#include "moebench/activation.h"

typedef struct {
    mb_status (*prepare)(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                         void **priv, mb_err *err);
    /* saved may be NULL: a plain forward on a train case (scratch saved, dropped after) */
    mb_status (*forward_train)(void *priv, const mb_inputs *in, mb_tensor *y,
                               mb_forward_info *info, mb_saved *saved, mb_err *err);
    mb_status (*backward)(void *priv, const mb_inputs *in, const mb_saved *saved,
                          const mb_tensor *dy, mb_grads *grads, mb_err *err);
    void (*release)(void *priv);
} mb_variant_train_ops;

extern const mb_variant_train_ops mb_train_lora, mb_train_mlp_lora, mb_train_molora,
    mb_train_moelora, mb_train_mixlora, mb_train_mor1e, mb_train_sparse_mlp, mb_train_router;

/* The variant's training ops, or NULL. */
const mb_variant_train_ops *mb_variant_train_ops_of(mb_variant_id v);

/* mb_impl entry points (impl_blas.c etc.). */
mb_status mb_variant_forward_train(mb_state *st, const mb_inputs *in, mb_tensor *y,
                                   mb_forward_info *info, mb_saved *saved, mb_err *err);
mb_status mb_variant_backward(mb_state *st, const mb_inputs *in, const mb_saved *saved,
                              const mb_tensor *dy, mb_grads *grads, mb_err *err);

/* ---- helpers (train_util.c) ---- */

/* The f32 tensor called name with n elements in ws: reused when present with that size, else
 * allocated (mb_alloc'd, added to ws); NULL with a reason on failure. */
float *mb_tslot(mb_weights *ws, const char *name, int64_t n, mb_err *err);
/* The saved tensor called name with n elements, or NULL with a reason. */
const float *mb_tsaved(const mb_saved *sv, const char *name, int64_t n, mb_err *err);
/* dX [T, h] of grads (allocated when absent). */
float *mb_tdx(mb_grads *g, int64_t T, int64_t h, mb_err *err);

/* C = beta C + alpha op(A) op(B) (provider gemm_plain, f32). */
mb_status mb_vpl(const mb_gemm_provider *gp, int ta, int tb, int64_t M, int64_t N, int64_t K,
                 float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                 float beta, float *C, int64_t ldc, mb_err *err);
/* C [M, K] = beta C + A [M, N] W (provider gemm_nn on a weight prepared with mb_vprep_train). */
mb_status mb_vnn(const mb_gemm_provider *gp, const mb_gemm_weight *w, int64_t M, const float *A,
                 int64_t lda, float beta, float *C, int64_t ldc, mb_err *err);
/* mb_vprep and the provider's weight_train: usable in both directions. */
mb_status mb_vprep_train(const mb_gemm_provider *gp, const float *W, int64_t N, int64_t K,
                         int64_t m_hint, mb_gemm_weight **out, mb_err *err);

/* out row i = X row i (width d) times the dropout mask of (seed, lora, expert, row) with row =
 * rows ? rows[i] : i (the token index; experts' rows keep their token's index). */
void mb_vdrop_rows(const mb_spec *s, uint32_t lora, uint32_t expert, const int32_t *rows,
                   const float *X, int64_t n, int64_t d, float *out);

/* The backward of the gated MLPs' H = act(G) .* U (train_act.c, vectorised with libmvec, as
 * mb_vglu_fwd): dG = dH .* U .* act'(G), dU = dH .* act(G) over n elements; and one routed row
 * of it for an expert with routing weight w: H = act(G) .* U (the LoRA-down input,
 * recomputed), dh = w D + L, dG, dU as above, returning sum_j D_j H_j. */
void mb_vglu_backward(mb_act a, const float *G, const float *U, const float *dH, int64_t n,
                      float *dG, float *dU);
double mb_vglu_backward_row(mb_act a, const float *G, const float *U, const float *D, float w,
                            const float *L, int64_t n, float *H, float *dG, float *dU);

/* The router's backward (spec Part 2 §8b-8d): logit gradient dz [T, E] from gr [T*k] (gr at
 * slot j of token t = <dL/dy_t, expert idx[t*k+j] output>), through the renormalised top-k
 * weights, plus aux * dL_aux/dz (F_e = counts_e / T constant, P_e = mean_t p_te) and
 * zloss * dL_z/dz; P [T, E] the softmax, z [T, E] the logits (for logsumexp). */
void mb_vroute_backward(const mb_routing *rt, const float *P, const float *z, const float *gr,
                        float aux, float zloss, float *dz);


/* One LoRA of the step on n rows (spec Part 2 §1), s = scaling:
 * forward: Z [n, r] = Xd A^T (Xd the dropped input, or the input when p = 0), C += s Z B^T.
 * backward from dC [n, dout]: dB = wbeta dB + s dC^T Z; dZ = s dC B (scratch [n, r]);
 * dA = wbeta dA + dZ^T Xd; dXin = xbeta dXin + mask(lora, expert, rows) .* (dZ A), the mask
 * redrawn (tmp: scratch [n, din], used only when p > 0). */
mb_status mb_tlora_fwd(const mb_gemm_provider *gp, int64_t n, int64_t din, int64_t dout,
                       int64_t r, float sc, const float *Xd, const float *A, const float *B,
                       float *Z, float *C, mb_err *err);
mb_status mb_tlora_bwd(const mb_gemm_provider *gp, const mb_spec *s, uint32_t lora,
                       uint32_t expert, const int32_t *rows, int64_t n, int64_t din, int64_t dout,
                       int64_t r, float sc, const float *dC, const float *Xd, const float *Z,
                       const float *A, const float *B, float *dA, float *dB, float wbeta,
                       float *dZ, float *tmp, float *dXin, float xbeta, mb_err *err);
/* The routing of a train step: logits z = X Wr^T and the softmax P kept in saved ("z", "P"),
 * mb_route, per-expert groups (as mb_vrouter); backward turns gr [T*k] (filled by the variant)
 * into dz (mb_vroute_backward), dWr = dz^T X and dX += dz Wr (gemm_nn on the prepared Wr).
 * The routing arrays and groups live in the state between forward_train and backward. */
typedef struct {
    mb_gemm_weight *wr;
    const float *Wr;
    mb_routing rt;
    int64_t *offsets;
    int32_t *tok, *slot;
    float *gr, *dz;   /* [T*k], [T, E] */
    int64_t T, h, E, k;
} mb_trouter;
mb_status mb_trouter_init(mb_trouter *tr, const mb_gemm_provider *gp, const float *Wr, int64_t T,
                          int64_t h, int64_t E, int64_t k, mb_err *err);
mb_status mb_trouter_run(mb_trouter *tr, const mb_gemm_provider *gp, const float *X,
                         mb_saved *s, mb_forward_info *info, mb_err *err);
mb_status mb_trouter_backward(mb_trouter *tr, const mb_gemm_provider *gp, const mb_spec *spec,
                              const float *X, const mb_saved *sv, mb_grads *g, float *dX,
                              mb_err *err);
void mb_trouter_free(mb_trouter *tr, const mb_gemm_provider *gp);
#endif
