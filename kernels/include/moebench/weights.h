/* Named weight and input tensors of a case, created from the spec with seeded fills.
 * Names and layouts (torch.nn.Linear layout W[d_out, d_in], row-major):
 *   lora       W[o,h] A[r,h] B[o,r]
 *   mlp_lora   Wg[f,h] Wu[f,h] Wd[h,f] Ag[r,h] Bg[f,r] Au[r,h] Bu[f,r] Ad[r,f] Bd[h,r]
 *   molora     W[o,h] Wr[E,h] A[E,r,h] B[E,o,r]
 *   moelora    W[o,h] A[E,r/E,h] B[E,o,r/E] Emb[tasks+1,te] Wg[E,te]
 *   mixlora    Wg[f,h] Wu[f,h] Wd[h,f] Wr[E,h] Ag[E,r,h] Bg[E,f,r] Au[E,r,h] Bu[E,f,r]
 *              Ad[E,r,f] Bd[E,h,r]
 *   mor1e      W[o,h] A[r,h] B[o,r] Wr[r,h] w_omega[1] w_beta[1]
 *   sparse_mlp Wr[E,h] Wg[E,fe,h] Wu[E,fe,h] Wd[E,h,fe]   (fe = f, or f/E with shard=1)
 *   router     Wr[E,h]
 * Inputs: X[T,h] (all); task[B] int32 in [0, tasks] (moelora); R[B,r] (mor1e).
 * Inits (spec Part 1): W* ~ N(0, 1/d_in); A ~ U(-1/sqrt(d_in), 1/sqrt(d_in)); B ~ U(-1/sqrt(r),
 * 1/sqrt(r)) (NOT zero, so LoRA paths are visible); router Wr ~ N(0, 0.02^2); Emb ~ N(0,1);
 * moelora Wg ~ N(0, 1/te); sparse_mlp shard=1 draws its experts as slices of one MLP of width
 * f, so Wd ~ N(0, 1/f) (fan-in f, not f/E); w_omega, w_beta ~ N(0, 0.01^2); X ~ N(0,1);
 * R ~ U(0,1).
 * Storage (spec "Precision"): every weight, X, R and Y in the spec's dtype (bf16: rounded to
 * nearest even from the f32 draw, so a bf16 case has the f32 case's numbers, rounded); task
 * ids int32. Under wq=int8|int4 each frozen base weight (W, Wg, Wu, Wd, Wgs, Wus, Wds; not
 * moelora's task gate Wg) holds its levels q in that type, and `<name>_scale` its f32 scales
 * [..., groups] (moebench/quant.h); the layer's weight is q * scale. */
#ifndef MOEBENCH_WEIGHTS_H
#define MOEBENCH_WEIGHTS_H

#include "moebench/spec.h"
#include "moebench/tensor.h"

#define MB_MAX_NAMED 24
#define MB_NAME_LEN 16
/* Name suffix of a quantised base weight's scales (wq). */
#define MB_WQ_SCALE_SUFFIX "_scale"

typedef struct {
    char name[MB_NAME_LEN];
    mb_tensor t;
} mb_named;

typedef struct {
    int n;
    mb_named item[MB_MAX_NAMED];
} mb_weights;

typedef struct {
    mb_tensor X;     /* [T, h] in the spec's dtype */
    mb_tensor task;  /* [B] i32, moelora only (else data == NULL) */
    mb_tensor R;     /* [B, r] in the spec's dtype, mor1e only (else data == NULL) */
} mb_inputs;

/* Creates every weight of the variant (names above) from spec->seed. */
mb_status mb_weights_create(const mb_spec *s, mb_weights *w, mb_err *err);
/* Like mb_weights_create, with `copy` mixed into the seed: distinct copies for cold-cache runs. */
mb_status mb_weights_create_copy(const mb_spec *s, int copy, mb_weights *w, mb_err *err);
void mb_weights_free(mb_weights *w);
/* The tensor called name, or NULL. */
const mb_tensor *mb_weights_get(const mb_weights *w, const char *name);
mb_tensor *mb_weights_get_mut(mb_weights *w, const char *name);
/* Adds an (already allocated) tensor under name, taking ownership (used by loaders). */
mb_status mb_weights_add(mb_weights *w, const char *name, mb_tensor t, mb_err *err);
int64_t mb_weights_bytes(const mb_weights *w);

mb_status mb_inputs_create(const mb_spec *s, mb_inputs *in, mb_err *err);
void mb_inputs_free(mb_inputs *in);

/* Allocates the output Y [T, mb_spec_out_width(s)] in the spec's dtype. */
mb_status mb_output_alloc(const mb_spec *s, mb_tensor *y, mb_err *err);

#endif
