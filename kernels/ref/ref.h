/* Private to kernels/ref: the naive reference of every variant, written from spec Part 1 line by
 * line, accumulating in double. It deliberately shares no computation with kernels/variants/ nor
 * with core's routing (mb_route/mb_topk/mb_softmax) so that a bug cannot hide on both sides of a
 * correctness comparison; from core it uses only containers, allocation, the shape check
 * (mb_check_io) and the activation functions. Every output row is computed by one
 * thread in a fixed order, so results are bit-identical on any thread count. */
#ifndef MOEBENCH_REF_H
#define MOEBENCH_REF_H

#include <stdint.h>
#include "moebench/moebench.h"

/* One forward of a variant: y [T, mb_spec_out_width(s)] f32; info may be NULL. */
typedef mb_status (*mb_ref_fn)(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                               mb_tensor *y, mb_forward_info *info, mb_err *err);

/* The reference of every variant (the ref column of moebench/variants.def), one file each:
 * kernels/ref/ref_<name>.c. */
#define MB_VARIANT(ID, name, fields, summary, routed, inputs, gate, out, ref, ...) \
    mb_status ref(const mb_spec *s, const mb_weights *w, const mb_inputs *in, mb_tensor *y, \
                  mb_forward_info *info, mb_err *err);
#include "moebench/variants.def"
#undef MB_VARIANT

/* ---- helpers (ref_common.c) ---- */

/* A matrix of rows of K elements as the reference reads it (spec "Precision"): f32, bf16 (each
 * element widened exactly), or wq levels int8 / int4 whose value is q * scale, formed exactly
 * in double. Row n of the matrix is row row0 + n of the tensor (an expert's slice: row0 moves,
 * mb_ref_mat_rows), so int4 nibbles and the scale rows are addressed from the tensor's start. */
typedef struct {
    const void *base;     /* the tensor's data (NULL: not found, the reason is in err) */
    mb_dtype dt;
    const float *scale;   /* wq: [tensor rows, groups]; else NULL */
    int64_t K, groups, row0;
} mb_ref_mat;
/* The weight `name` of any storage type (f32, bf16, or wq levels with `name`_scale), checked
 * to have the shape (d0[, d1[, d2]]); .base NULL with a reason in err otherwise. */
mb_ref_mat mb_ref_wmat(const mb_weights *w, const char *name, int ndim, int64_t d0, int64_t d1,
                       int64_t d2, mb_err *err);
/* An f32 or bf16 activation tensor (X, R) as a matrix of rows of K. */
mb_ref_mat mb_ref_tmat(const mb_tensor *t, int64_t K);
/* Plain f32 rows. */
mb_ref_mat mb_ref_f32mat(const float *p, int64_t K);
/* Rows r0.. of m (an expert's slice of a 3-D weight). */
static inline mb_ref_mat mb_ref_mat_rows(mb_ref_mat m, int64_t r0)
{
    m.row0 += r0;
    return m;
}
/* out[n] (=, or += scale *) sum_k x[k] W[n, k], in double (the mat forms of the helpers below). */
void mb_ref_mlinear(const double *x, int64_t K, mb_ref_mat W, int64_t N, double *out);
void mb_ref_mlinear_acc(const double *x, int64_t K, mb_ref_mat W, int64_t N, double scale,
                        double *out);
void mb_ref_mlora_acc(const double *x, int64_t K, mb_ref_mat A, mb_ref_mat B,
                      int64_t r, int64_t N, double scale, double *z, double *out);
void mb_ref_mlogits(const double *x, int64_t K, mb_ref_mat W, int64_t N, float *z);
/* Row t of an activation matrix widened to double. */
void mb_ref_mrow(mb_ref_mat X, int64_t t, double *dst);
/* Y[t, i] = acc[i] stored in y's dtype: f32, or bf16 rounded to nearest even once from the
 * double (spec: "rounds Y to bf16 at the end"; no intermediate f32 rounding). */
void mb_ref_store_row(mb_tensor *y, int64_t t, const double *acc, int64_t n);
/* mb_ref_route on matrices of any storage type. */
mb_status mb_ref_mroute(const mb_spec *s, mb_ref_mat X, mb_ref_mat Wr,
                        mb_forward_info *info, mb_routing *out, int *owned, mb_err *err);

/* The f32 weight `name`, checked to have exactly the shape (d0[, d1[, d2]]) (ndim 1..3);
 * NULL with a reason in err otherwise. */
const float *mb_ref_weight(const mb_weights *w, const char *name, int ndim, int64_t d0,
                           int64_t d1, int64_t d2, mb_err *err);
/* The forward's shape check: X [T, h] f32, y [T, out_width] f32, task ids / R where the variant
 * has them, and a wanted routing buffer sized for the spec (mb_check_io of core). */
mb_status mb_ref_check_io(const mb_spec *s, const mb_inputs *in, const mb_tensor *y,
                          const mb_forward_info *info, mb_err *err);

/* out[n] = sum_k x[k] W[n, k] for n < N (W [N, K] row-major), in double. */
void mb_ref_linear(const double *x, int64_t K, const float *W, int64_t N, double *out);
/* out[n] += scale * sum_k x[k] W[n, k]. */
void mb_ref_linear_acc(const double *x, int64_t K, const float *W, int64_t N, double scale,
                       double *out);
/* out[N] += scale * B ((A x)): the LoRA term with A [r, K], B [N, r]; z holds r doubles. */
void mb_ref_lora_acc(const double *x, int64_t K, const float *A, const float *B, int64_t r,
                     int64_t N, double scale, double *z, double *out);
/* Widens one f32 row to double. */
void mb_ref_row(const float *src, int64_t n, double *dst);
/* Logits rounded to fp32 (spec: "computed and kept in fp32"): z[n] = (float)(x . W[n, :]). */
void mb_ref_logits(const double *x, int64_t K, const float *W, int64_t N, float *z);
/* Softmax in double of n fp32 logits (max-subtracted); returns logsumexp. */
double mb_ref_softmax(const float *z, int64_t n, double *p);

/* Routing of all T tokens from z = X Wr^T (double dot products rounded to fp32), written
 * here from spec Part 1 (softmax in double, a full sort by (p desc, index asc), the chosen set
 * by the routing options (top-k, top-p, route=), renormalise, L_aux, z-loss, then the capacity
 * in slot-major order and the counts after it) independently of core's mb_route. idx/w list each token's experts in
 * descending p, as routing.h asks. Writes into info->routing when the caller asked for it
 * (info && routing.idx), else into arrays it allocates (*owned = 1: release with
 * mb_ref_routing_release). */
mb_status mb_ref_route(const mb_spec *s, const float *X, const float *Wr, mb_forward_info *info,
                       mb_routing *out, int *owned, mb_err *err);
/* Frees the arrays of an owned routing from mb_ref_route. */
void mb_ref_routing_release(mb_routing *r);
/* The experts one token computes (chosen, not dropped) in ascending expert index (spec: expert
 * outputs are accumulated into Y in ascending expert index), with their weights; returns how
 * many. */
int64_t mb_ref_sorted_choice(const mb_routing *r, int64_t t, int32_t *e_out, double *w_out);

/* ---- the train step (spec "Training step"): ref_train_common.c, ref_<name>_train.c ----
 * Written from the formulas (Part 2 §1, §2, §8b-8d), in double, recomputing the forward's
 * intermediates in the backward instead of saving them (naive's saved_bytes is 0). One step
 * function per variant does both directions: */
typedef struct {
    const float *dy;        /* [T, out_width] upstream gradient; NULL: forward only */
    float *y;               /* out [T, out_width], or NULL */
    mb_forward_info *info;  /* routing / gate reports, or NULL */
    mb_grads *g;            /* backward into g (needs dy) when non-NULL; AdamW when opt=adamw */
    double loss;            /* out when dy: L = sum(Y dY) [+ aux L_aux + zloss L_z], Y in double */
} mb_ref_step;

typedef mb_status (*mb_ref_train_fn)(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                                     mb_ref_step *st, mb_err *err);
#define MB_VARIANT(ID, name, fields, summary, routed, inputs, gate, out, ref, ...) \
    mb_status ref##_train(const mb_spec *s, const mb_weights *w, const mb_inputs *in, \
                          mb_ref_step *st, mb_err *err);
#include "moebench/variants.def"
#undef MB_VARIANT

/* Every double buffer of one step, zeroed, freed together; an allocation failure sets failed
 * and returns NULL (callers check failed before computing). */
typedef struct {
    void *head;   /* the newest block; each block starts with the pointer to the one before */
    int failed;
} mb_rt_pool;
double *mb_rt_new(mb_rt_pool *P, int64_t n);
void mb_rt_pool_free(mb_rt_pool *P);
/* A float matrix widened to a new double one. */
double *mb_rt_widen(mb_rt_pool *P, const float *x, int64_t n);

/* out[i, j] (+)= scale sum_k X[i, k] W[j, k]   (X [n, K] double, W [N, K] f32): X W^T */
void mb_rt_mm_nt(const double *X, int64_t n, int64_t K, const float *W, int64_t N, double scale,
                 int acc, double *out);
/* out[i, k] += scale sum_j G[i, j] W[j, k]     (G [n, N], W [N, K] f32): G W */
void mb_rt_mm_nn(const double *G, int64_t n, int64_t N, const float *W, int64_t K, double scale,
                 double *out);
/* dW[j, k] += scale sum_i G[i, j] X[i, k]      (G [n, N], X [n, K]): G^T X, i ascending */
void mb_rt_mm_tn(const double *G, int64_t n, int64_t N, const double *X, int64_t K, double scale,
                 double *dW);
double mb_rt_act(mb_act a, double x);
double mb_rt_act_grad(mb_act a, double x);

/* One linear with an optional LoRA whose input is dropped out (mask keys lora, expert, and the
 * token ids rows[i] of the n input rows): Out = In W^T + s ((In o M) A^T) B^T. */
typedef struct {
    const float *W, *A, *B;   /* [N, K], [r, K], [N, r]; W or A/B may be NULL */
    int64_t K, N, r;
    double s;
    uint32_t lora, expert;
} mb_rt_proj;
typedef struct {
    double *U, *M, *Z;        /* dropped input [n, K], mask [n, K], U A^T [n, r] */
} mb_rt_projsave;
/* Out [n, N] is written (not accumulated). */
void mb_rt_proj_fwd(mb_rt_pool *P, const mb_spec *s, const mb_rt_proj *p, const double *In,
                    int64_t n, const int32_t *rows, double *Out, mb_rt_projsave *sv);
/* From G = dL/dOut [n, N]: dA [r, K] += , dB [N, r] +=, dW [N, K] += (each NULL: not wanted),
 * dIn [n, K] += G W + ((s G B) A) o M. */
void mb_rt_proj_bwd(mb_rt_pool *P, const mb_rt_proj *p, const double *In, int64_t n,
                    const mb_rt_projsave *sv, const double *G, double *dA, double *dB, double *dW,
                    double *dIn);

/* The gated MLP of three projections: Out = d( act(g(In)) o u(In) ). */
typedef struct {
    mb_rt_proj g, u, d;
    mb_act act;
} mb_rt_mlp;
typedef struct {
    mb_rt_projsave g, u, d;
    double *G1, *U1, *H;
} mb_rt_mlpsave;
typedef struct {
    double *dA, *dB, *dW;
} mb_rt_pgrad;
void mb_rt_mlp_fwd(mb_rt_pool *P, const mb_spec *s, const mb_rt_mlp *m, const double *In,
                   int64_t n, const int32_t *rows, double *Out, mb_rt_mlpsave *sv);
void mb_rt_mlp_bwd(mb_rt_pool *P, const mb_rt_mlp *m, const double *In, int64_t n,
                   const mb_rt_mlpsave *sv, const double *G, mb_rt_pgrad gr[3], double *dIn);

/* Top-k routing for the train step: idx from mb_ref_route (the forward's choice, reported into
 * info), and in double from the same fp32 logits: p [T, E], lse [T], the renormalised w [T, k]
 * (idx order), F_e = counts / T, L_aux and L_z. */
typedef struct {
    int64_t T, E, k;
    int32_t *idx;
    double *p, *lse, *w, *F;
    double aux, zl;
    mb_routing r;
    int owned;
} mb_rt_route;
mb_status mb_rt_route_fwd(mb_rt_pool *P, const mb_spec *s, const float *X, const float *Wr,
                          mb_forward_info *info, mb_rt_route *rt, mb_err *err);
void mb_rt_route_release(mb_rt_route *rt);
/* dz [T, E] (written) from gr [T, k] = dL/dw (idx order): §8d through the renormalised
 * weights, plus aux * dL_aux/dz (§8b, F constant) and zloss * dL_z/dz (§8c). */
void mb_rt_route_bwd(const mb_spec *s, const mb_rt_route *rt, const double *gr, double *dz);

/* The top-k experts of mixlora and sparse_mlp: each expert a gated MLP (mb_rt_mlp, filled by
 * fn for expert e with its gradient slices in gr; gr is NULL in the forward) over the tokens
 * that chose it, ascending. */
typedef void (*mb_rt_expert_fn)(const void *ctx, int64_t e, mb_rt_mlp *m, mb_rt_pgrad *gr);
typedef struct {
    int64_t n;              /* tokens routed to the expert */
    int32_t *tok, *slot;    /* their ids (ascending) and the slot of the expert in their top-k */
    double *Xe, *Out;       /* gathered inputs [n, h], expert outputs [n, h] */
    mb_rt_mlpsave sv;
} mb_rt_expert;
/* Y [T, h] += sum over chosen experts of w_te MLP_e(X_t), experts in ascending index; ex [E]. */
void mb_rt_moe_fwd(mb_rt_pool *P, const mb_spec *s, const mb_rt_route *rt, const double *X,
                   mb_rt_expert *ex, mb_rt_expert_fn fn, const void *ctx, double *Y);
/* From G = dY: the experts' gradients (through fn's gr), dX += their input gradients, and
 * gr_w [T, k] = <G_t, MLP_e(X_t)> = dL/dw (§8d's gr), in idx order. */
void mb_rt_moe_bwd(mb_rt_pool *P, const mb_spec *s, const mb_rt_route *rt, const double *X,
                   const mb_rt_expert *ex, mb_rt_expert_fn fn, const void *ctx, const double *G,
                   double *gr_w, double *dX);

/* Stores a double gradient into the f32 tensor `name` of g->dW (MB_EINVAL if absent or of
 * another size). */
mb_status mb_rt_store_grad(mb_grads *g, const char *name, const double *src, int64_t n,
                           mb_err *err);
/* Writes Y (f32) and the loss sum(Y dY) (+ the routed terms, added by the caller) into st. */
void mb_rt_finish_forward(mb_ref_step *st, const double *Y, int64_t n);
/* The shape checks of a train step: inputs as for the forward, dy and grads where given. */
mb_status mb_rt_check(const mb_spec *s, const mb_inputs *in, mb_ref_step *st, mb_err *err);
/* dX from double, then the AdamW step (opt=adamw), the last part of every backward. */
mb_status mb_rt_finish_backward(const mb_spec *s, const mb_weights *w, mb_ref_step *st,
                                const double *dX, mb_err *err);

#endif
