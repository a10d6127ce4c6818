/* The trainable tensors of each variant (the train column of moebench/variants.def), dY, and
 * the gradient / AdamW buffers of a train step. */
#include <string.h>
#include "moebench/adamw.h"
#include "moebench/mem.h"
#include "moebench/train.h"

static const char *const trainable[] = {
#define MB_VARIANT(ID, name, fields, summary, routed, inputs, gate, out, ref, ops, fused, merge, \
                   shape, train, ...)                                                              \
    [MB_##ID] = train,
#include "moebench/variants.def"
#undef MB_VARIANT
};
_Static_assert(sizeof trainable / sizeof trainable[0] == MB_VARIANT_COUNT,
               "a variant without its train column in moebench/variants.def");

const char *mb_variant_trainable(mb_variant_id v)
{
    return (unsigned)v < MB_VARIANT_COUNT ? trainable[v] : "";
}

int mb_is_trainable(mb_variant_id v, const char *name)
{
    const char *list = mb_variant_trainable(v);
    const size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const size_t len = strcspn(p, ",");
        if (len == n && !strncmp(p, name, n))
            return 1;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

mb_status mb_train_dy_create(const mb_spec *s, mb_tensor *dy, mb_err *err)
{
    const int64_t shape[2] = { mb_spec_T(s), mb_spec_out_width(s) };
    mb_status st = mb_tensor_alloc(dy, MB_F32, 2, shape, err);
    if (st)
        return st;
    mb_fill_uniform(dy, s->seed, mb_stream_of("dY"), -1.0f, 1.0f);
    return MB_OK;
}

/* A zeroed f32 tensor shaped like src, added to dst under name. */
static mb_status add_like(mb_weights *dst, const char *name, const mb_tensor *src, mb_err *err)
{
    mb_tensor t;
    mb_status st = mb_tensor_alloc(&t, MB_F32, src->ndim, src->shape, err);
    if (st)
        return st;
    if ((st = mb_weights_add(dst, name, t, err)))
        mb_tensor_free(&t);
    return st;
}

mb_status mb_grads_alloc(const mb_spec *s, const mb_weights *w, mb_grads *g, mb_err *err)
{
    memset(g, 0, sizeof *g);
    const int64_t xs[2] = { mb_spec_T(s), s->h };
    mb_status st = mb_tensor_alloc(&g->dX, MB_F32, 2, xs, err);
    int found = 0;
    for (int i = 0; st == MB_OK && i < w->n; i++) {
        const char *name = w->item[i].name;
        if (!mb_is_trainable(s->variant, name))
            continue;
        found++;
        st = add_like(&g->dW, name, &w->item[i].t, err);
        if (st == MB_OK && s->opt == MB_OPT_ADAMW) {
            st = add_like(&g->upd, name, &w->item[i].t, err);
            if (st == MB_OK)
                st = add_like(&g->m, name, &w->item[i].t, err);
            if (st == MB_OK)
                st = add_like(&g->v, name, &w->item[i].t, err);
        }
    }
    if (st == MB_OK) {
        /* every listed tensor must be there: count the list */
        int listed = 0;
        for (const char *p = mb_variant_trainable(s->variant); *p; p++)
            listed += *p == ',';
        listed += mb_variant_trainable(s->variant)[0] != '\0';
        if (found != listed)
            st = mb_fail(err, MB_EINVAL, "%s: the weights hold %d of the %d trainable tensors (%s)",
                         mb_variant_name(s->variant), found, listed,
                         mb_variant_trainable(s->variant));
    }
    if (st)
        mb_grads_free(g);
    return st;
}

void mb_grads_free(mb_grads *g)
{
    if (!g)
        return;
    mb_tensor_free(&g->dX);
    mb_weights_free(&g->dW);
    mb_weights_free(&g->upd);
    mb_weights_free(&g->m);
    mb_weights_free(&g->v);
}

int64_t mb_grads_bytes(const mb_grads *g)
{
    return mb_tensor_bytes(&g->dX) + mb_weights_bytes(&g->dW);
}

int64_t mb_grads_optimizer_bytes(const mb_grads *g)
{
    return mb_weights_bytes(&g->m) + mb_weights_bytes(&g->v);
}

mb_status mb_grads_apply_opt(const mb_spec *s, const mb_weights *w, mb_grads *g, mb_err *err)
{
    if (s->opt != MB_OPT_ADAMW)
        return MB_OK;
    for (int i = 0; i < g->dW.n; i++) {
        const char *name = g->dW.item[i].name;
        const mb_tensor *wt = mb_weights_get(w, name), *gt = &g->dW.item[i].t;
        mb_tensor *ut = mb_weights_get_mut(&g->upd, name), *mt = mb_weights_get_mut(&g->m, name),
                  *vt = mb_weights_get_mut(&g->v, name);
        const int64_t n = mb_tensor_numel(gt);
        if (!wt || !ut || !mt || !vt || wt->dtype != MB_F32 || mb_tensor_numel(wt) != n ||
            mb_tensor_numel(ut) != n || mb_tensor_numel(mt) != n || mb_tensor_numel(vt) != n)
            return mb_fail(err, MB_EINVAL, "adamw: '%s' lacks its f32 weight, update or moments of "
                           "%lld elements (mb_grads_alloc with opt=adamw)", name, (long long)n);
        mb_adamw_step_to(mb_f32(wt), mb_f32(ut), mb_f32(gt), mb_f32(mt), mb_f32(vt), n);
    }
    return MB_OK;
}
