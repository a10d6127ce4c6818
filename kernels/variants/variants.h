/* Private interface of kernels/variants: every variant is written once against a GEMM provider
 * (moebench/gemm.h), so impl_blas.c, impl_onednn.c and impl_avx512.c are thin wrappers that only
 * choose the provider. */
#ifndef MOEBENCH_VARIANTS_H
#define MOEBENCH_VARIANTS_H

#include "moebench/impl.h"
#include "moebench/gemm.h"
#include "moebench/mem.h"

/* One variant's entry points; priv is the variant's own state. */
typedef struct {
    mb_status (*prepare)(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                         void **priv, mb_err *err);
    mb_status (*forward)(void *priv, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                         mb_err *err);
    void (*release)(void *priv);
} mb_variant_ops;

extern const mb_variant_ops mb_var_lora, mb_var_mlp_lora, mb_var_molora, mb_var_moelora,
    mb_var_mixlora, mb_var_mor1e, mb_var_sparse_mlp, mb_var_router;

/* The mb_impl entry points for provider gp (what impl_blas.c etc. forward to). */
const char *mb_variant_unsupported(const mb_gemm_provider *gp, const mb_spec *s);
mb_status mb_variant_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                             mb_state **st, mb_err *err);
mb_status mb_variant_forward(mb_state *st, const mb_inputs *in, mb_tensor *y,
                             mb_forward_info *info, mb_err *err);
void mb_variant_release(mb_state *st);
/* Wraps an already-prepared variant state (used by merged, which prepares e.g. a sparse_mlp
 * from materialised expert weights). */
mb_status mb_variant_wrap(const mb_variant_ops *ops, void *priv, mb_state **st, mb_err *err);

/* ---- helpers shared by the variant files (variant_util.c) ---- */

/* The named weight or an MB_EINVAL failure naming it. */
const mb_tensor *mb_vweight(const mb_weights *w, const char *name, mb_err *err);
/* Data of the named f32 weight when it has numel elements, else NULL with a reason. */
const float *mb_vw(const mb_weights *w, const char *name, int64_t numel, mb_err *err);
/* Prepares W [N, K] (ld K) for provider gp; *out stays NULL on failure. */
mb_status mb_vprep(const mb_gemm_provider *gp, const float *W, int64_t N, int64_t K,
                   int64_t m_hint, mb_gemm_weight **out, mb_err *err);
void mb_vrelease(const mb_gemm_provider *gp, mb_gemm_weight **w);
/* C[M,N] = beta*C + A[M,K] W^T with contiguous A (lda K) and C (ldc N). */
mb_status mb_vgemm(const mb_gemm_provider *gp, const mb_gemm_weight *w, int64_t M, int64_t K,
                   const float *A, float beta, float *C, int64_t N, mb_err *err);
/* mb_alloc of n floats, MB_ENOMEM on failure. */
mb_status mb_valloc(float **p, int64_t n, mb_err *err);
/* Copy of B [N, r] scaled by s (LoRA scaling folded into the weight, so every GEMM runs with
 * alpha = 1, the form every provider is fastest at). */
mb_status mb_vscaled_copy(const float *B, int64_t n, float s, float **out, mb_err *err);
/* Bcat [o, E*r] from B [E, o, r] (fused mixture-of-LoRA form, spec "Equivalent fused forms"),
 * each element scaled by s. */
mb_status mb_vbcat(const float *B, int64_t E, int64_t o, int64_t r, float s, float **out,
                   mb_err *err);
/* Routing of X [T,h] by logits z = X Wr^T (provider GEMM into z [T,E]), then mb_route and
 * grouping (offsets [E+1], tok/slot [T*k]). Copies routing into info when wanted. */
typedef struct {
    mb_gemm_weight *wr;
    float *z;              /* [T, E] logits */
    mb_routing rt;         /* own routing arrays */
    int64_t *offsets;      /* [E+1] */
    int32_t *tok, *slot;   /* [T*k] */
    int64_t T, h, E, k;
} mb_vrouter;
mb_status mb_vrouter_init(mb_vrouter *vr, const mb_gemm_provider *gp, const float *Wr, int64_t T,
                          int64_t h, int64_t E, int64_t k, mb_err *err);
mb_status mb_vrouter_run(mb_vrouter *vr, const mb_gemm_provider *gp, const float *X,
                         mb_forward_info *info, mb_err *err);
void mb_vrouter_free(mb_vrouter *vr, const mb_gemm_provider *gp);
/* Xg[i] = X[tok[i]] for i < n (rows of width d). */
void mb_vgather(const float *X, int64_t d, const int32_t *tok, int64_t n, float *Xg);
/* Y[tok[i]] += w_i * Yg[i], w_i = rt->w[tok[i]*k + slot[i]] (rows of width d). */
void mb_vscatter_add(const float *Yg, int64_t d, const int32_t *tok, const int32_t *slot,
                     int64_t n, const mb_routing *rt, float *Y);
/* G = act(G) * U elementwise over n. */
void mb_vglu(mb_act a, float *G, const float *U, int64_t n);

/* A linear with LoRA: C = X W^T + s (X A^T) B^T (W [dout,din], A [r,din], B [dout,r]). */
typedef struct {
    mb_gemm_weight *W, *A, *B;
    float *Bs;   /* s * B */
    int64_t din, dout, r;
} mb_vlora;
mb_status mb_vlora_init(mb_vlora *l, const mb_gemm_provider *gp, const float *W, const float *A,
                        const float *B, int64_t dout, int64_t din, int64_t r, float s,
                        int64_t m_hint, mb_err *err);
/* Z: scratch [M, r]. */
mb_status mb_vlora_run(const mb_vlora *l, const mb_gemm_provider *gp, int64_t M, const float *X,
                       float *C, float *Z, mb_err *err);
void mb_vlora_free(mb_vlora *l, const mb_gemm_provider *gp);

/* moelora gate g[E] = softmax(Emb[task] Wg^T); zl: scratch [E]. */
void mb_moelora_gate(const float *Emb, const float *Wg, int64_t te, int64_t E, int32_t task,
                     float *zl, float *g);

/* sparse_mlp core on raw expert weights Wg/Wu [E, fe, h], Wd [E, h, fe] (must outlive the
 * state): shared by sparse_mlp and merged mixlora (materialised experts). */
mb_status mb_sparse_mlp_prepare_raw(const mb_gemm_provider *gp, const mb_spec *s,
                                    const float *Wr, const float *Wg, const float *Wu,
                                    const float *Wd, int64_t fe, void **priv, mb_err *err);
/* Hands mb_alloc'd memory to a sparse_mlp state: freed with it. */
void mb_sparse_mlp_own(void *priv, void *mem);

#endif
