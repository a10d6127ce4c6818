/* mb_impl entry points shared by every provider-backed implementation (blas, onednn, avx512):
 * pick the variant's ops, hold its private state. */
#include <stdio.h>
#include <string.h>
#include "variants.h"
#include "moebench/work.h"
#include "moebench/train.h"
#include "variants_train.h"

struct mb_state {
    const mb_variant_ops *ops;
    void *priv;
    mb_spec spec;   /* for the shape check of every forward (mb_check_io) */
    const mb_variant_train_ops *train;   /* mode=train: priv is the training state */
    const mb_weights *w;                 /* the caller's weights (adamw reads them) */
};

/* Indexed by the enum, generated from the table. */
static const mb_variant_ops *const ops_table[] = {
#define MB_VARIANT(ID, name, fields, summary, routed, inputs, gate, out, ref, ops, ...) \
    [MB_##ID] = &ops,
#include "moebench/variants.def"
#undef MB_VARIANT
};
_Static_assert(sizeof ops_table / sizeof ops_table[0] == MB_VARIANT_COUNT,
               "a variant without its provider form in moebench/variants.def");

static const mb_variant_ops *ops_of(mb_variant_id v)
{
    return (unsigned)v < MB_VARIANT_COUNT ? ops_table[v] : NULL;
}

static const mb_variant_ops *const bf16_table[] = {
#define MB_VARIANT(ID, name, fields, summary, routed, inputs, gate, out, ref, ops, fused, merge, \
                   shape, train, bf16, ...)                                                      \
    [MB_##ID] = bf16,
#include "moebench/variants.def"
#undef MB_VARIANT
};

const mb_variant_ops *mb_variant_bf16_ops(mb_variant_id v)
{
    return (unsigned)v < MB_VARIANT_COUNT ? bf16_table[v] : NULL;
}

unsigned mb_variant_code_dtypes(mb_variant_id v)
{
    return MB_VARIANT_DTYPES | (mb_variant_bf16_ops(v) ? MB_DTYPE_BIT(MB_BF16) : 0u);
}

const char *mb_variant_unsupported(const mb_gemm_provider *gp, const mb_spec *s)
{
    /* the dtype first: a type the provider does not implement is refused on every machine,
     * so the row says the same here and where the provider is available */
    const char *why = NULL;
    if (s->dtype != MB_F32 && gp->dtype_unavailable) why = gp->dtype_unavailable(s->dtype);
    if (!why && s->wq != MB_F32) why = mb_wq_unsupported(gp, s->dtype, s->wq);
    if (!why) why = mb_gemm_unsupported(gp, s->dtype);
    if (!why)
        why = mb_dtype_unsupported("the variant code", s->dtype, mb_variant_code_dtypes(s->variant));
    if (why) return why;
    why = gp->unavailable();
    if (why) return why;
    if (!ops_of(s->variant)) return "unknown variant";
    if (s->mode == MB_MODE_TRAIN) {
        if (!mb_variant_train_ops_of(s->variant)) return MB_MODE_TRAIN_TODO;
        if (s->wq != MB_F32)
            return "unsupported wq in mode=train: the train step reads f32 base weights (dX "
                   "through q * scale is not built)";
        why = mb_gemm_train_unsupported(gp, s->dtype);
        if (why) return why;
    } else {
        why = mb_impl_mode_unsupported(NULL, s);
        if (why) return why;
    }
    return mb_spec_refusal(s);
}

const char *mb_wq_unsupported(const mb_gemm_provider *gp, mb_dtype dt, mb_dtype wq)
{
    const char *why = gp->dtype_unavailable ? gp->dtype_unavailable(wq) : NULL;
    if (why) return why;
    /* a provider without a quantised-weight GEMM: the layer's q * scale is never replaced by
     * the f32 weights nor by a full dequantised copy (spec "Precision", issue 15) */
    return mb_gemm_wq_unsupported(gp, dt, wq);
}

const char *mb_spec_refusal(const mb_spec *s)
{
    static _Thread_local char why[MB_ERR_MSG_LEN];
    mb_err e;
    mb_err_clear(&e);
    if (mb_spec_validate(s, 0, &e) == MB_OK) return NULL;
    snprintf(why, sizeof why, "%s", e.msg);
    return why;
}

mb_status mb_variant_wrap(const mb_spec *spec, const mb_variant_ops *ops, void *priv,
                          mb_state **st, mb_err *err)
{
    mb_state *s = mb_alloc(sizeof *s);
    if (!s) {
        ops->release(priv);
        return mb_fail(err, MB_ENOMEM, "out of memory");
    }
    s->ops = ops;
    s->priv = priv;
    s->spec = *spec;
    *st = s;
    return MB_OK;
}

mb_status mb_variant_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                             mb_state **st, mb_err *err)
{
    *st = NULL;
    const char *why = mb_variant_unsupported(gp, s);
    if (why) return mb_fail(err, MB_EUNSUPPORTED, "%s", why);
    const mb_variant_ops *ops = s->dtype == MB_BF16 ? mb_variant_bf16_ops(s->variant)
                                                    : ops_of(s->variant);
    void *priv = NULL;
    if (s->mode == MB_MODE_TRAIN) {
        const mb_variant_train_ops *tr = mb_variant_train_ops_of(s->variant);
        mb_status rc = tr->prepare(gp, s, w, &priv, err);
        if (rc != MB_OK) return rc;
        mb_state *t = mb_alloc(sizeof *t);
        if (!t) {
            tr->release(priv);
            return mb_fail(err, MB_ENOMEM, "out of memory");
        }
        t->ops = ops;
        t->train = tr;
        t->priv = priv;
        t->spec = *s;
        t->w = w;
        *st = t;
        return MB_OK;
    }
    mb_status rc = ops->prepare(gp, s, w, &priv, err);
    if (rc != MB_OK) return rc;
    return mb_variant_wrap(s, ops, priv, st, err);
}

mb_status mb_variant_forward(mb_state *st, const mb_inputs *in, mb_tensor *y,
                             mb_forward_info *info, mb_err *err)
{
    if (!st || !in || !y)
        return mb_fail(err, MB_EINVAL, "forward: missing state, input or output");
    mb_status rc = mb_check_io(&st->spec, in, y, info, err);
    if (rc != MB_OK) return rc;
    mb_work_forward_begin();
    rc = st->train ? st->train->forward_train(st->priv, in, y, info, NULL, err)
                   : st->ops->forward(st->priv, in, y, info, err);
    if (rc == MB_OK)
        mb_work_add(MB_WORK_IO_BYTES, mb_tensor_numel(&in->X) * mb_dtype_bits(in->X.dtype) / 8 +
                                          mb_tensor_numel(y) * mb_dtype_bits(y->dtype) / 8);
    return rc;
}

mb_status mb_variant_forward_train(mb_state *st, const mb_inputs *in, mb_tensor *y,
                                   mb_forward_info *info, mb_saved *saved, mb_err *err)
{
    if (!st || !in || !y || !saved)
        return mb_fail(err, MB_EINVAL, "forward_train: missing state, input, output or saved");
    if (!st->train)
        return mb_fail(err, MB_EINVAL, "forward_train: the case was prepared for mode=forward");
    mb_status rc = mb_check_io(&st->spec, in, y, info, err);
    if (rc != MB_OK) return rc;
    mb_work_forward_begin();
    return st->train->forward_train(st->priv, in, y, info, saved, err);
}

mb_status mb_variant_backward(mb_state *st, const mb_inputs *in, const mb_saved *saved,
                              const mb_tensor *dy, mb_grads *grads, mb_err *err)
{
    if (!st || !in || !saved || !dy || !grads)
        return mb_fail(err, MB_EINVAL, "backward: missing state, input, saved, dY or grads");
    if (!st->train)
        return mb_fail(err, MB_EINVAL, "backward: the case was prepared for mode=forward");
    mb_status rc = mb_check_io(&st->spec, in, dy, NULL, err);
    if (rc != MB_OK) return rc;
    rc = st->train->backward(st->priv, in, saved, dy, grads, err);
    if (rc == MB_OK) rc = mb_grads_apply_opt(&st->spec, st->w, grads, err);
    return rc;
}

void mb_variant_release(mb_state *st)
{
    if (!st) return;
    if (st->train) {
        st->train->release(st->priv);
    } else {
        st->ops->release(st->priv);
    }
    mb_free(st);
}

/* By name, not by enum (no core file has a per-variant case): a variant without a training
 * form is unsupported for train cases with MB_MODE_TRAIN_TODO. */
static const struct {
    const char *name;
    const mb_variant_train_ops *ops;
} train_table[] = {
    { "lora", &mb_train_lora },       { "mlp_lora", &mb_train_mlp_lora },
    { "molora", &mb_train_molora },   { "moelora", &mb_train_moelora },
    { "mixlora", &mb_train_mixlora }, { "mor1e", &mb_train_mor1e },
    { "sparse_mlp", &mb_train_sparse_mlp }, { "router", &mb_train_router },
};

const mb_variant_train_ops *mb_variant_train_ops_of(mb_variant_id v)
{
    const char *name = (unsigned)v < MB_VARIANT_COUNT ? mb_variant_name(v) : NULL;
    for (size_t i = 0; name && i < sizeof train_table / sizeof train_table[0]; i++)
        if (!strcmp(train_table[i].name, name)) return train_table[i].ops;
    return NULL;
}
