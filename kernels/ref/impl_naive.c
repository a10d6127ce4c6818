/* The `naive` implementation: the reference every other implementation is compared with.
 * prepare only remembers the spec and the weights; forward dispatches to the variant's
 * reference in kernels/ref/ref_<variant>.c, the train step (forward_train, backward) to
 * kernels/ref/ref_<variant>_train.c. The train forward saves nothing: the backward recomputes
 * the forward's intermediates in double (saved_bytes 0), with the same routing and mask. */
#include "ref.h"

struct mb_state {
    mb_spec spec;
    const mb_weights *w;
};

/* Indexed by the enum; generated from the table, so every variant has its reference (a
 * missing ref_<name>.c is a link error). */
static const mb_ref_fn ref_of[] = {
#define MB_VARIANT(ID, name, fields, summary, routed, inputs, gate, out, ref, ...) [MB_##ID] = ref,
#include "moebench/variants.def"
#undef MB_VARIANT
};
_Static_assert(sizeof ref_of / sizeof ref_of[0] == MB_VARIANT_COUNT,
               "a variant without a reference in moebench/variants.def");

static const mb_ref_train_fn train_of[] = {
#define MB_VARIANT(ID, name, fields, summary, routed, inputs, gate, out, ref, ...) \
    [MB_##ID] = ref##_train,
#include "moebench/variants.def"
#undef MB_VARIANT
};
_Static_assert(sizeof train_of / sizeof train_of[0] == MB_VARIANT_COUNT,
               "a variant without its train step");

static const char *naive_unsupported(const mb_spec *s)
{
    if ((int)s->variant < 0 || s->variant >= MB_NUM_VARIANTS)
        return "unknown variant";
    /* the forward computes in double from f32 or bf16 inputs and wq's q * scale (spec
     * "Precision"); the train step's reference is f32 only */
    const unsigned dts = s->mode == MB_MODE_TRAIN ? MB_DTYPE_BIT(MB_F32)
                                                  : MB_DTYPE_BIT(MB_F32) | MB_DTYPE_BIT(MB_BF16);
    const char *why = mb_dtype_unsupported("naive", s->dtype, dts);
    if (why)
        return why;
    if (s->mode == MB_MODE_TRAIN && s->wq != MB_F32)
        return "unsupported wq in mode=train: the naive train step reads f32 base weights";
    why = mb_impl_mode_unsupported(&mb_impl_naive, s);
    if (why)
        return why;
    /* Anything else a valid spec can hold runs; invalid specs are refused with their reason. */
    static _Thread_local mb_err e;
    if (mb_spec_validate(s, 0, &e) != MB_OK)
        return e.msg;
    return NULL;
}

static mb_status naive_prepare(const mb_spec *s, const mb_weights *w, mb_state **st, mb_err *err)
{
    const char *why = naive_unsupported(s);
    if (why)
        return mb_fail(err, MB_EUNSUPPORTED, "naive: %s", why);
    mb_state *p = mb_alloc(sizeof *p);
    if (!p)
        return mb_fail(err, MB_ENOMEM, "naive: out of memory for the state");
    p->spec = *s;
    p->w = w;
    *st = p;
    return MB_OK;
}

static mb_status naive_forward(mb_state *st, const mb_inputs *in, mb_tensor *y,
                               mb_forward_info *info, mb_err *err)
{
    if (!st || !in || !y)
        return mb_fail(err, MB_EINVAL, "naive: NULL state, inputs or output");
    return ref_of[st->spec.variant](&st->spec, st->w, in, y, info, err);
}

static mb_status naive_forward_train(mb_state *st, const mb_inputs *in, mb_tensor *y,
                                     mb_forward_info *info, mb_saved *saved, mb_err *err)
{
    (void)saved;   /* nothing kept: the backward recomputes */
    if (!st || !in || !y)
        return mb_fail(err, MB_EINVAL, "naive: NULL state, inputs or output");
    mb_status rc = mb_ref_check_io(&st->spec, in, y, info, err);
    if (rc)
        return rc;
    mb_ref_step step = { .y = mb_f32(y), .info = info };
    return train_of[st->spec.variant](&st->spec, st->w, in, &step, err);
}

static mb_status naive_backward(mb_state *st, const mb_inputs *in, const mb_saved *saved,
                                const mb_tensor *dy, mb_grads *grads, mb_err *err)
{
    (void)saved;
    if (!st || !in || !dy || !grads)
        return mb_fail(err, MB_EINVAL, "naive: NULL state, inputs, dY or gradients");
    const mb_spec *s = &st->spec;
    if (!dy->data || dy->dtype != MB_F32 || dy->ndim != 2 || dy->shape[0] != mb_spec_T(s) ||
        dy->shape[1] != mb_spec_out_width(s))
        return mb_fail(err, MB_EINVAL, "naive: dY must be f32 [%lld, %lld]",
                       (long long)mb_spec_T(s), (long long)mb_spec_out_width(s));
    mb_ref_step step = { .dy = mb_f32(dy), .g = grads };
    return train_of[s->variant](s, st->w, in, &step, err);
}

static void naive_release(mb_state *st)
{
    mb_free(st);
}

const mb_impl mb_impl_naive = {
    .name = "naive",
    .unsupported = naive_unsupported,
    .prepare = naive_prepare,
    .forward = naive_forward,
    .release = naive_release,
    .forward_train = naive_forward_train,
    .backward = naive_backward,
};
