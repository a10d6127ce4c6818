/* mb_impl entry points shared by every provider-backed implementation (blas, onednn, avx512):
 * pick the variant's ops, hold its private state. */
#include <stdio.h>
#include <string.h>
#include "variants.h"
#include "moebench/work.h"
#include "moebench/adamw.h"
#include "train.h"

/* opt=adamw: per trainable tensor, the moments and the updated copy (moebench/adamw.h) */
typedef struct {
    char name[MB_NAME_LEN];
    float *m, *v, *w_new;
    int64_t n;
} opt_slot;

struct mb_state {
    const mb_variant_ops *ops;
    void *priv;
    mb_spec spec;   /* for the shape check of every forward (mb_check_io) */
    const mb_variant_train_ops *train;   /* mode=train: priv is the training state */
    const mb_weights *w;                 /* the caller's weights (adamw reads them) */
    opt_slot opt[MB_MAX_NAMED];
    int nopt;
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

const char *mb_variant_unsupported(const mb_gemm_provider *gp, const mb_spec *s)
{
    /* the dtype first: a type the provider does not implement is refused on every machine,
     * so the row says the same here and where the provider is available */
    const char *why = mb_gemm_unsupported(gp, s->dtype);
    if (!why) why = mb_dtype_unsupported("the variant code", s->dtype, MB_VARIANT_DTYPES);
    if (why) return why;
    why = gp->unavailable();
    if (why) return why;
    if (!ops_of(s->variant)) return "unknown variant";
    if (s->mode == MB_MODE_TRAIN) {
        if (!mb_variant_train_ops_of(s->variant)) return MB_MODE_TRAIN_TODO;
        why = mb_gemm_train_unsupported(gp, s->dtype);
        if (why) return why;
    } else {
        why = mb_impl_mode_unsupported(NULL, s);
        if (why) return why;
    }
    return mb_spec_refusal(s);
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
    const mb_variant_ops *ops = ops_of(s->variant);
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

/* One AdamW update of every gradient's tensor into the state's copy (moebench/adamw.h). */
static mb_status adamw(mb_state *st, const mb_grads *g, mb_err *err)
{
    for (int i = 0; i < g->dW.n; i++) {
        const mb_named *gi = &g->dW.item[i];
        const mb_tensor *wt = mb_weights_get(st->w, gi->name);
        const int64_t n = mb_tensor_numel(&gi->t);
        if (!wt || wt->dtype != MB_F32 || mb_tensor_numel(wt) != n)
            return mb_fail(err, MB_EINTERNAL, "adamw: no weight %s of %lld floats", gi->name,
                           (long long)n);
        opt_slot *o = NULL;
        for (int j = 0; j < st->nopt && !o; j++)
            if (!strcmp(st->opt[j].name, gi->name)) o = &st->opt[j];
        if (!o) {
            if (st->nopt == MB_MAX_NAMED) return mb_fail(err, MB_EINTERNAL, "adamw: too many tensors");
            o = &st->opt[st->nopt++];
            memset(o, 0, sizeof *o);
            snprintf(o->name, sizeof o->name, "%s", gi->name);
            o->n = n;
            mb_status rc = mb_valloc(&o->m, n, err);
            if (rc == MB_OK) rc = mb_valloc(&o->v, n, err);
            if (rc == MB_OK) rc = mb_valloc(&o->w_new, n, err);
            if (rc != MB_OK) return rc;
        }
        mb_adamw_step_to(mb_f32(wt), o->w_new, mb_f32(&gi->t), o->m, o->v, n);
    }
    return MB_OK;
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
    if (rc == MB_OK && st->spec.opt == MB_OPT_ADAMW) rc = adamw(st, grads, err);
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
    for (int i = 0; i < st->nopt; i++) {
        mb_free(st->opt[i].m);
        mb_free(st->opt[i].v);
        mb_free(st->opt[i].w_new);
    }
    mb_free(st);
}

const mb_variant_train_ops *mb_variant_train_ops_of(mb_variant_id v)
{
    switch (v) {
    case MB_LORA: return &mb_train_lora;
    case MB_MLP_LORA: return &mb_train_mlp_lora;
    case MB_MOLORA: return &mb_train_molora;
    case MB_MOELORA: return &mb_train_moelora;
    case MB_MIXLORA: return &mb_train_mixlora;
    case MB_MOR1E: return &mb_train_mor1e;
    case MB_SPARSE_MLP: return &mb_train_sparse_mlp;
    case MB_ROUTER: return &mb_train_router;
    default: return NULL;
    }
}
