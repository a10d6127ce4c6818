/* The named weights and inputs of a case, filled from the seed (inits of spec Part 1, scales
 * chosen from each tensor's name and its last dimension, which is its fan-in). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "moebench/quant.h"
#include "moebench/weights.h"
#include "variant_shape.h"

/* fan_in: the d_in of the linear the tensor belongs to (its last dimension, except where the
 * layout names another: the down projection of sparse_mlp shard=1). */
static void init_weight(mb_tensor *t, const char *name, double fan_in, uint64_t seed,
                        uint64_t stream)
{
    if (!strcmp(name, "Wr"))
        mb_fill_normal(t, seed, stream, 0.0f, 0.02f);
    else if (!strcmp(name, "Emb"))
        mb_fill_normal(t, seed, stream, 0.0f, 1.0f);
    else if (!strcmp(name, "w_omega") || !strcmp(name, "w_beta"))
        mb_fill_normal(t, seed, stream, 0.0f, 0.01f);
    else if (name[0] == 'W')   /* frozen linears and moelora's Wg: N(0, 1/d_in) */
        mb_fill_normal(t, seed, stream, 0.0f, (float)(1.0 / sqrt(fan_in)));
    else {                      /* A: U(+-1/sqrt(d_in)); B: U(+-1/sqrt(r)), NOT zero */
        float b = (float)(1.0 / sqrt(fan_in));
        mb_fill_uniform(t, seed, stream, -b, b);
    }
}

/* A base weight under wq (spec "Precision"): its seeded f32 fill (the draw an f32 case stores;
 * not rounded to the case's dtype first) quantised into `name` (int8 / int4 levels, the
 * weight's shape) and `name`_scale (f32 [rows..., groups]). */
static mb_status quantised_weight(const mb_spec *s, const mb_wdesc *d, int copy, mb_weights *w,
                                  mb_err *err)
{
    mb_tensor f, q, sc;
    memset(&q, 0, sizeof q);
    memset(&sc, 0, sizeof sc);
    const int64_t K = d->shape[d->ndim - 1];
    const int64_t groups = mb_wq_groups(s->wq, K);
    if (groups < 1)
        return mb_fail(err, MB_EINVAL, "wq=%s: weight '%s' has input width %lld, not a multiple "
                       "of %d", mb_dtype_name(s->wq), d->name, (long long)K, MB_WQ_GROUP);
    int64_t sshape[3];
    for (int k = 0; k < d->ndim; k++)
        sshape[k] = d->shape[k];
    sshape[d->ndim - 1] = groups;
    char sname[MB_NAME_LEN];
    snprintf(sname, sizeof sname, "%s%s", d->name, MB_WQ_SCALE_SUFFIX);
    mb_status st = mb_tensor_alloc(&f, MB_F32, d->ndim, d->shape, err);
    if (st)
        return st;
    uint64_t stream = mb_stream_of(d->name) + (uint64_t)copy * 0x9e3779b97f4a7c15ULL;
    init_weight(&f, d->name, d->fan_in > 0 ? d->fan_in : (double)K, s->seed, stream);
    if (!(st = mb_tensor_alloc(&q, s->wq, d->ndim, d->shape, err)) &&
        !(st = mb_tensor_alloc(&sc, MB_F32, d->ndim, sshape, err)) &&
        !(st = mb_quantize(s->wq, mb_f32(&f), mb_tensor_numel(&f) / K, K, q.data, mb_f32(&sc),
                           err)) &&
        !(st = mb_weights_add(w, d->name, q, err))) {
        q.data = NULL;   /* owned by w now */
        st = mb_weights_add(w, sname, sc, err);
        if (!st)
            sc.data = NULL;
    }
    mb_tensor_free(&f);
    mb_tensor_free(&q);
    mb_tensor_free(&sc);
    return st;
}

mb_status mb_weights_create_copy(const mb_spec *s, int copy, mb_weights *w, mb_err *err)
{
    mb_wdesc d[MB_MAX_NAMED];
    memset(w, 0, sizeof *w);
    const mb_variant_shape *sh = mb_variant_shape_of(s->variant);
    int n = sh ? sh->layout(s, d) : 0;
    if (n == 0)
        return mb_fail(err, MB_EINVAL, "variant id %d has no weights", (int)s->variant);
    for (int i = 0; i < n; i++) {
        mb_tensor t;
        if (d[i].base && s->wq != MB_F32) {
            mb_status st = quantised_weight(s, &d[i], copy, w, err);
            if (st) {
                mb_weights_free(w);
                return st;
            }
            continue;
        }
        mb_status st = mb_tensor_alloc(&t, s->dtype, d[i].ndim, d[i].shape, err);
        if (st) {
            mb_weights_free(w);
            return st;
        }
        /* Copy 0 is the plain weights; later copies differ through the stream only. */
        uint64_t stream = mb_stream_of(d[i].name) + (uint64_t)copy * 0x9e3779b97f4a7c15ULL;
        double fan_in = d[i].fan_in > 0 ? d[i].fan_in : (double)t.shape[t.ndim - 1];
        init_weight(&t, d[i].name, fan_in, s->seed, stream);
        if ((st = mb_weights_add(w, d[i].name, t, err))) {
            mb_tensor_free(&t);
            mb_weights_free(w);
            return st;
        }
    }
    return MB_OK;
}

mb_status mb_weights_create(const mb_spec *s, mb_weights *w, mb_err *err)
{
    return mb_weights_create_copy(s, 0, w, err);
}

void mb_weights_free(mb_weights *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n; i++)
        mb_tensor_free(&w->item[i].t);
    w->n = 0;
}

mb_tensor *mb_weights_get_mut(mb_weights *w, const char *name)
{
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->item[i].name, name))
            return &w->item[i].t;
    return NULL;
}

const mb_tensor *mb_weights_get(const mb_weights *w, const char *name)
{
    return mb_weights_get_mut((mb_weights *)w, name);
}

mb_status mb_weights_add(mb_weights *w, const char *name, mb_tensor t, mb_err *err)
{
    if (strlen(name) >= MB_NAME_LEN)
        return mb_fail(err, MB_EINVAL, "weight name '%s' longer than %d characters", name,
                       MB_NAME_LEN - 1);
    if (mb_weights_get(w, name))
        return mb_fail(err, MB_EINVAL, "weight '%s' added twice", name);
    if (w->n >= MB_MAX_NAMED)
        return mb_fail(err, MB_EINVAL, "more than %d named weights", MB_MAX_NAMED);
    strcpy(w->item[w->n].name, name);
    w->item[w->n].t = t;
    w->n++;
    return MB_OK;
}

int64_t mb_weights_bytes(const mb_weights *w)
{
    int64_t b = 0;
    for (int i = 0; i < w->n; i++)
        b += mb_tensor_bytes(&w->item[i].t);
    return b;
}

mb_status mb_inputs_create(const mb_spec *s, mb_inputs *in, mb_err *err)
{
    memset(in, 0, sizeof *in);
    int64_t xs[2] = {mb_spec_T(s), s->h};
    mb_status st = mb_tensor_alloc(&in->X, s->dtype, 2, xs, err);
    if (st)
        return st;
    mb_fill_normal(&in->X, s->seed, mb_stream_of("X"), 0.0f, 1.0f);
    mb_variant_inputs vin = mb_variant_desc_of(s->variant)->inputs;
    if (vin == MB_IN_TASK) {
        int64_t ts[1] = {s->B};
        if ((st = mb_tensor_alloc(&in->task, MB_I32, 1, ts, err)))
            goto fail;
        /* Ids 0..tasks: Emb has tasks+1 rows (upstream reserves one for "no task"). */
        mb_fill_int(&in->task, s->seed, mb_stream_of("task"), (int32_t)(s->tasks + 1));
    }
    if (vin == MB_IN_PRIOR) {
        int64_t rs[2] = {s->B, s->r};
        if ((st = mb_tensor_alloc(&in->R, s->dtype, 2, rs, err)))
            goto fail;
        mb_fill_uniform(&in->R, s->seed, mb_stream_of("R"), 0.0f, 1.0f);
    }
    return MB_OK;
fail:
    mb_inputs_free(in);
    return st;
}

void mb_inputs_free(mb_inputs *in)
{
    if (!in)
        return;
    mb_tensor_free(&in->X);
    mb_tensor_free(&in->task);
    mb_tensor_free(&in->R);
}

mb_status mb_output_alloc(const mb_spec *s, mb_tensor *y, mb_err *err)
{
    int64_t shape[2] = {mb_spec_T(s), mb_spec_out_width(s)};
    return mb_tensor_alloc(y, s->dtype, 2, shape, err);
}
