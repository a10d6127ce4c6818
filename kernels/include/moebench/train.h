/* What a train step (mode=train, spec "Training step") works on besides the weights: the
 * trainable tensors of each variant (the train column of moebench/variants.def), the upstream
 * gradient dY, and the gradients (mb_grads of impl.h) with the AdamW buffers. */
#ifndef MOEBENCH_TRAIN_H
#define MOEBENCH_TRAIN_H

#include "moebench/impl.h"

/* The trainable tensors of variant v as "A,B" (weight names of moebench/weights.h), "" out of
 * range. Base weights of the adapted variants are frozen and not listed. */
const char *mb_variant_trainable(mb_variant_id v);
/* 1 when the weight `name` of variant v is trainable. */
int mb_is_trainable(mb_variant_id v, const char *name);

/* dY [T, out_width] f32, U(-1, 1) from the case seed (stream "dY"), like X: the same numbers
 * for every implementation and thread count. */
mb_status mb_train_dy_create(const mb_spec *s, mb_tensor *dy, mb_err *err);

/* Allocates (zeroed) dX [T, h] f32 and, in the order of w, one gradient per trainable weight
 * of w, same name and shape, f32; with opt=adamw also upd (the trainable tensors after the
 * step), m and v (the moments), each named like the weight. MB_EINVAL when w lacks a trainable
 * tensor. Free with mb_grads_free. */
mb_status mb_grads_alloc(const mb_spec *s, const mb_weights *w, mb_grads *g, mb_err *err);
void mb_grads_free(mb_grads *g);
/* grad_bytes: dX and the weight gradients. */
int64_t mb_grads_bytes(const mb_grads *g);
/* optimizer_bytes: the fp32 moments m and v (0 without an optimiser). */
int64_t mb_grads_optimizer_bytes(const mb_grads *g);

/* The AdamW step of every trainable tensor when s->opt == MB_OPT_ADAMW (no-op otherwise):
 * g->upd[name] = AdamW(w[name], g->dW[name]) with g->m, g->v (moebench/adamw.h); w unchanged.
 * What a backward calls last. */
mb_status mb_grads_apply_opt(const mb_spec *s, const mb_weights *w, mb_grads *g, mb_err *err);

#endif
