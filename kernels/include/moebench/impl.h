/* The implementation interface every kernel family plugs into, and the registry of
 * variants x implementations. */
#ifndef MOEBENCH_IMPL_H
#define MOEBENCH_IMPL_H

#include "moebench/spec.h"
#include "moebench/weights.h"
#include "moebench/routing.h"

typedef struct mb_state mb_state;   /* opaque, owned by the implementation */

/* What forward reports besides Y. Allocated by the caller for routed variants (mixlora,
 * sparse_mlp, router: T tokens, E experts, top-k); routing.idx == NULL means "not wanted".
 * gate: per-sequence gate g [B, E] for moelora, per-token gate [T, r] for mor1e, per-token
 * softmax [T, E] for molora; NULL data means not wanted. */
typedef struct {
    mb_routing routing;
    float *gate;
} mb_forward_info;

/* The training direction (mode=train, spec "Training step"; benchdnn's dir BWD_DW, ggml's GRAD
 * mode). forward_train fills saved->act with what its backward needs, by name: it allocates the
 * tensors (mb_tensor_alloc, mb_weights_add) on the first call and reuses them when saved->act
 * already holds them (timed repetitions); the caller frees them with mb_weights_free.
 * saved_bytes = mb_weights_bytes(&saved->act). */
typedef struct {
    mb_weights act;   /* what forward_train keeps for the backward, by name (saved_bytes) */
} mb_saved;

/* Allocated by the caller with mb_grads_alloc (moebench/train.h); backward overwrites every
 * tensor (no accumulation into what was there). */
typedef struct {
    mb_tensor dX;     /* [T, h] f32 */
    mb_weights dW;    /* one gradient per trainable tensor, named like the weight (grad_bytes) */
    /* opt=adamw only (else n == 0): the trainable tensors after one AdamW step from the
     * unchanged weights and zero moments, and the moments m, v (optimizer_bytes), each named
     * like the weight. The weights themselves are never written, so timed steps repeat the
     * same update. */
    mb_weights upd, m, v;
} mb_grads;

typedef struct mb_impl {
    const char *name;   /* "naive", "blas", "onednn", "avx512", "merged" */
    /* NULL if this implementation can run the spec, else the reason (static string or a
     * thread-local buffer), e.g. "built without oneDNN", "gate depends on the token". */
    const char *(*unsupported)(const mb_spec *s);
    /* Packing, merging, primitive creation. The weights stay owned by the caller and outlive
     * the state; the state may keep pointers to them. */
    mb_status (*prepare)(const mb_spec *s, const mb_weights *w, mb_state **st, mb_err *err);
    /* y: [T, out_width] f32, preallocated. info may be NULL. Must not allocate per call unless
     * through mb_alloc (the harness measures workspace with the mb_mem counters). */
    mb_status (*forward)(mb_state *st, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                         mb_err *err);
    void (*release)(mb_state *st);
    /* mode=train only, NULL until implemented (issue 14): the forward keeping what backward
     * needs in saved, then the backward from dY [T, out_width] to grads (dX and the trainable
     * tensors). An implementation without both is unsupported for train cases. */
    mb_status (*forward_train)(mb_state *st, const mb_inputs *in, mb_tensor *y,
                               mb_forward_info *info, mb_saved *saved, mb_err *err);
    mb_status (*backward)(mb_state *st, const mb_inputs *in, const mb_saved *saved,
                          const mb_tensor *dy, mb_grads *grads, mb_err *err);
} mb_impl;

/* NULL when impl can run the direction of s (forward, or train with forward_train and
 * backward), else the reason (MB_MODE_TRAIN_TODO). Every implementation's unsupported() asks
 * this first, so `list`, `run` and `case` skip a train case with the reason. */
const char *mb_impl_mode_unsupported(const mb_impl *impl, const mb_spec *s);

/* Registry, in a fixed order: naive, blas, onednn, avx512, merged (+ test-only ones). */
int mb_impl_count(void);
const mb_impl *mb_impl_at(int i);
const mb_impl *mb_impl_find(const char *name);
/* Test-only implementations (e.g. one that crashes on purpose) register here. */
void mb_impl_register_extra(const mb_impl *impl);

/* Convenience: prepare + forward + release in one call (used by tests and `case`). */
mb_status mb_run_once(const mb_impl *impl, const mb_spec *s, const mb_weights *w,
                      const mb_inputs *in, mb_tensor *y, mb_forward_info *info, mb_err *err);

/* The shape check every forward runs first: X f32 [T, h], y f32 [T, out_width], task i32 [B]
 * with ids in 0..tasks (moelora), R f32 [B, r] (mor1e), and for routed variants a wanted routing
 * buffer (info->routing.idx != NULL) sized for T, E, k. MB_EINVAL with a reason, else MB_OK.
 * info may be NULL. */
mb_status mb_check_io(const mb_spec *s, const mb_inputs *in, const mb_tensor *y,
                      const mb_forward_info *info, mb_err *err);

/* Allocates / frees an mb_forward_info sized for the spec (routing for routed variants, gate
 * where the variant has one). */
mb_status mb_forward_info_alloc(const mb_spec *s, mb_forward_info *info, mb_err *err);
void mb_forward_info_free(mb_forward_info *info);

extern const mb_impl mb_impl_naive;
extern const mb_impl mb_impl_blas;
extern const mb_impl mb_impl_onednn;
extern const mb_impl mb_impl_avx512;
extern const mb_impl mb_impl_merged;

#endif
