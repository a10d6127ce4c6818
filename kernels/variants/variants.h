/* Private interface of kernels/variants: every variant is written once against a GEMM provider
 * (moebench/gemm.h), so impl_blas.c, impl_onednn.c and impl_avx512.c are thin wrappers that only
 * choose the provider. */
#ifndef MOEBENCH_VARIANTS_H
#define MOEBENCH_VARIANTS_H

#include <math.h>
#include "moebench/impl.h"
#include "moebench/gemm.h"
#include "moebench/mem.h"
#include "../core/variant_shape.h"

/* One variant's entry points; priv is the variant's own state. */
typedef struct {
    mb_status (*prepare)(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                         void **priv, mb_err *err);
    mb_status (*forward)(void *priv, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                         mb_err *err);
    void (*release)(void *priv);
} mb_variant_ops;

/* The provider form of every variant (the ops column of moebench/variants.def), one file each:
 * kernels/variants/var_<name>.c. */
#define MB_VARIANT(ID, name, fields, summary, routed, inputs, gate, out, ref, ops, ...) \
    extern const mb_variant_ops ops;
#include "moebench/variants.def"
#undef MB_VARIANT

/* The mb_impl entry points for provider gp (what impl_blas.c etc. forward to). */
const char *mb_variant_unsupported(const mb_gemm_provider *gp, const mb_spec *s);
/* NULL when provider gp can run base weights quantised to wq with activations in dt (its
 * weight_prepare_q), else the reason: its library's own first (gp->dtype_unavailable), then
 * the provider's (thread-local buffer). */
const char *mb_wq_unsupported(const mb_gemm_provider *gp, mb_dtype dt, mb_dtype wq);
mb_status mb_variant_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                             mb_state **st, mb_err *err);
mb_status mb_variant_forward(mb_state *st, const mb_inputs *in, mb_tensor *y,
                             mb_forward_info *info, mb_err *err);
void mb_variant_release(mb_state *st);
/* Wraps an already-prepared variant state for spec (kept for the shape check of every
 * forward); used by merged, which prepares e.g. a sparse_mlp from materialised expert weights,
 * and by the avx512 fused kernels. */
mb_status mb_variant_wrap(const mb_spec *spec, const mb_variant_ops *ops, void *priv,
                          mb_state **st, mb_err *err);
/* NULL when mb_spec_validate(s, 0) accepts the spec, else its reason (thread-local buffer). */
const char *mb_spec_refusal(const mb_spec *s);

/* ---- helpers shared by the variant files (variant_util.c) ---- */

/* The named weight or an MB_EINVAL failure naming it. */
const mb_tensor *mb_vweight(const mb_weights *w, const char *name, mb_err *err);
/* Data of the named f32 weight when it has numel elements, else NULL with a reason. */
const float *mb_vw(const mb_weights *w, const char *name, int64_t numel, mb_err *err);
/* The same for a weight stored in dt. */
const void *mb_vw_as(const mb_weights *w, const char *name, int64_t numel, mb_dtype dt,
                     mb_err *err);
/* The types the variant code (softmax, gates, gathers, the calls below) computes in for every
 * variant: a provider that has more entry points still runs only these, and those of
 * mb_variant_bf16_ops (var_bf16.c) for the variants it has. */
#define MB_VARIANT_DTYPES MB_DTYPE_BIT(MB_F32)
/* MB_DTYPE_BIT set of the types the variant code computes variant v in. */
unsigned mb_variant_code_dtypes(mb_variant_id v);
/* The bf16 form of variant v through a provider's bf16 entry points (the bf16 column of
 * moebench/variants.def), or NULL: X, weights and Y stored in bf16, products accumulated in f32
 * by the provider and stored in bf16 (Z, G, U, H: intermediates compare.h's bf16 rule covers),
 * gates and activations in f32. */
const mb_variant_ops *mb_variant_bf16_ops(mb_variant_id v);
/* The forms the table names: var_bf16.c (lora, mlp_lora), var_bf16_mix.c (the soft
 * mixtures), var_bf16_routed.c (router, sparse_mlp), var_bf16_mixlora.c */
extern const mb_variant_ops mb_var_lora_bf16, mb_var_mlp_lora_bf16, mb_var_molora_bf16,
    mb_var_moelora_bf16, mb_var_mor1e_bf16, mb_var_router_bf16, mb_var_sparse_mlp_bf16,
    mb_var_mixlora_bf16;
/* The frozen base weight `name` (matrix `index` of the `count` [N, K] matrices it holds),
 * prepared for gp in the case's dtype: from its f32 / bf16 data, or, under wq, quantised
 * (mb_gemm_weight_prepare_q on the levels and `name`_scale: never dequantised here). Released
 * with mb_gemm_weight_release(gp, s->dtype, ...) (mb_vrelease in f32). */
mb_status mb_vprep_base(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                        const char *name, int64_t count, int64_t index, int64_t N, int64_t K,
                        int64_t m_hint, mb_gemm_weight **out, mb_err *err);
/* The provider calls below are the f32 forms (mb_gemm_* with MB_F32). */
/* Prepares W [N, K] (ld K) for provider gp; *out stays NULL on failure. */
mb_status mb_vprep(const mb_gemm_provider *gp, const float *W, int64_t N, int64_t K,
                   int64_t m_hint, mb_gemm_weight **out, mb_err *err);
void mb_vrelease(const mb_gemm_provider *gp, mb_gemm_weight **w);
/* C[M,N] = beta*C + A[M,K] W^T with contiguous A (lda K) and C (ldc N). */
mb_status mb_vgemm(const mb_gemm_provider *gp, const mb_gemm_weight *w, int64_t M, int64_t K,
                   const float *A, float beta, float *C, int64_t N, mb_err *err);
/* mb_alloc of n floats: MB_EINVAL for n < 1, MB_ENOMEM on failure. Products of sizes go
 * through mb_valloc2 / mb_valloc3, which check every factor (>= 1) and the int64 product. */
mb_status mb_valloc(float **p, int64_t n, mb_err *err);
mb_status mb_valloc2(float **p, int64_t a, int64_t b, mb_err *err);
mb_status mb_valloc3(float **p, int64_t a, int64_t b, int64_t c, mb_err *err);
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
/* Sized for spec s (T, h, E, k) with its routing options (cap, topp, route). */
mb_status mb_vrouter_init(mb_vrouter *vr, const mb_gemm_provider *gp, const float *Wr,
                          const mb_spec *s, mb_err *err);
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
/* H = act(G) * U over n (H may be G), vectorised with libmvec where the build has it
 * (train_act.c). */
void mb_vglu_fwd(mb_act a, const float *G, const float *U, int64_t n, float *H);
/* ws[i] = rt->w[tok[i]*k + slot[i]] for i < n: the routing weights of one expert's rows. */
void mb_vgather_w(const mb_routing *rt, const int32_t *tok, const int32_t *slot, int64_t n,
                  float *ws);
/* [top (nt rows); bot (nb rows)] of width h, mb_alloc'd into *out (bot may be NULL, nb = 0). */
mb_status mb_vstack_rows(const float *top, int64_t nt, const float *bot, int64_t nb, int64_t h,
                         float **out, mb_err *err);

/* Small per-element helpers, inline so each file compiles them with its own flags (the fused
 * AVX-512 files vectorise them to zmm): one definition for the shared and the fused code. */

/* sigmoid(100 w): mor1e's omega and beta. */
static inline float mb_sigmoid100(float w)
{
    return (float)(1.0 / (1.0 + exp(-100.0 * (double)w)));
}
/* dst[j] += w * src[j], j < d. */
static inline void mb_vaxpy_row(float *dst, const float *src, float w, int64_t d)
{
    for (int64_t j = 0; j < d; j++) dst[j] += w * src[j];
}
/* The per-expert-block gate of molora / moelora: z[e*blk + i] *= g[e], e < E, i < blk. */
static inline void mb_vgate_blocks(float *z, const float *g, int64_t E, int64_t blk)
{
    for (int64_t e = 0; e < E; e++)
        for (int64_t i = 0; i < blk; i++) z[e * blk + i] *= g[e];
}
/* mor1e's gate of one token: g = softmax(zr[0..r)) * wt + Rb * wr, then z[i] *= g[i]. */
static inline void mb_vgate_mor1e(float *z, const float *zr, const float *Rb, float wt, float wr,
                                  int64_t r, float *g)
{
    mb_softmax(zr, r, g);
    for (int64_t i = 0; i < r; i++) {
        g[i] = g[i] * wt + Rb[i] * wr;
        z[i] *= g[i];
    }
}

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

/* sparse_mlp core on raw expert weights Wg/Wu [E + shared, fe, h], Wd [E + shared, h, fe]
 * (the routed experts, then s->shared shared ones; must outlive the state): shared by
 * sparse_mlp and merged mixlora (materialised experts). */
mb_status mb_sparse_mlp_prepare_raw(const mb_gemm_provider *gp, const mb_spec *s,
                                    const float *Wr, const float *Wg, const float *Wu,
                                    const float *Wd, int64_t fe, void **priv, mb_err *err);
/* The experts of a sparse_mlp state on rows already grouped by expert: Xg [sum counts, h], the
 * first counts[0] rows for expert 0, ...; Yg gets each row's unweighted expert output. Expert
 * parallelism (kernels/variants/ep_part.c) runs its experts' share of the rows through it. */
mb_status mb_sparse_mlp_experts_grouped(void *priv, const float *Xg, const int64_t *counts,
                                        float *Yg, mb_err *err);
/* mixlora core on raw weights (must outlive the state): the frozen MLP Wg, Wu [f, h], Wd [h, f],
 * the router Wr [E, h], the routed LoRA factors A[p] [E, r, din], B[p] [E, dout, r] of the
 * gate, up and down projections p, and the shared experts' (s->shared of them; NULL when 0).
 * Expert parallelism prepares a state over a slice of the experts with it. */
typedef struct {
    const float *Wg, *Wu, *Wd, *Wr;
    const float *A[3], *B[3];
    const float *sA[3], *sB[3];
    /* non-NULL: the frozen Wg, Wu, Wd come from these weights through mb_vprep_base (wq
     * levels), and the three pointers above are unused */
    const mb_weights *base;
} mb_mixlora_weights;
mb_status mb_mixlora_prepare_raw(const mb_gemm_provider *gp, const mb_spec *s,
                                 const mb_mixlora_weights *mw, void **priv, mb_err *err);
/* The routed experts of a mixlora state on rows grouped by expert (counts[e] rows for expert e,
 * in order): Xg [n, h]; for share gate_up and all, G0g and U0g [n, f] are the rows' base gate and
 * up projections (X Wg^T, X Wu^T, computed once per token: mb_mixlora_base_gate_up), NULL for
 * share none. Yg [n, h] gets each row's unweighted expert output (share all: the LoRA down term
 * only) and, for share all, Hg [n, f] its H_e, whose weighted sum goes through
 * mb_mixlora_base_down. The same expert code as the forward. */
mb_status mb_mixlora_experts_grouped(void *priv, const float *Xg, const float *G0g,
                                     const float *U0g, const int64_t *counts, float *Yg,
                                     float *Hg, mb_err *err);
/* G0 = X Wg^T, U0 = X Wu^T for X [M, h] (M <= the state's T). */
mb_status mb_mixlora_base_gate_up(void *priv, int64_t M, const float *X, float *G0, float *U0,
                                  mb_err *err);
/* Y [M, h] += Hs [M, f] Wd^T: share all's down projection of the weighted sum of H_e. */
mb_status mb_mixlora_base_down(void *priv, int64_t M, const float *Hs, float *Y, mb_err *err);
/* Wg | Wu | Wd of the routed then the shared experts, each [E + shared, ...], into one mb_alloc'd
 * block (*out) from the weights Wg Wgs, Wu Wus, Wd Wds. */
mb_status mb_sparse_mlp_stack_shared(const mb_spec *s, const mb_weights *w, float **out,
                                     mb_err *err);
/* Hands mb_alloc'd memory to a sparse_mlp state: freed with it. */
void mb_sparse_mlp_own(void *priv, void *mem);

#endif
