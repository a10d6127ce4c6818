/* Byte counts of a case and the refusal of impossible specs, each with a one-sentence reason
 * that names the offending values. */
#include <math.h>
#include <stdint.h>
#include "moebench/mem.h"
#include "moebench/spec.h"
#include "moebench/quant.h"
#include "moebench/weights.h"
#include "variant_shape.h"

/* Element count of the weights (weights.h names and shapes): the variant's shape function. */
static int weight_elems(const mb_spec *s, int64_t *n)
{
    int64_t emb_rows;
    *n = 0;
    /* moelora's Emb has tasks+1 rows; this runs before validation bounds tasks */
    if (mb_add_i64(s->tasks, 1, &emb_rows))
        return -1;
    return mb_variant_shape_of(s->variant)->weight_elems(s, n) ? -1 : 0;
}

/* Element counts of inputs and output: X[T,h], Y[T,out], R[B,r] in the case's dtype (*n), and
 * the int32 task ids task[B] (*ids). */
static int io_elems(const mb_spec *s, int64_t *n, int64_t *ids)
{
    int64_t T;
    *n = 0;
    *ids = 0;
    if (mb_mul_i64(s->B, s->S, &T) || mb_madd(n, T, s->h) || mb_madd(n, T, mb_spec_out_width(s)))
        return -1;
    mb_variant_inputs in = mb_variant_desc_of(s->variant)->inputs;
    if (in == MB_IN_TASK)
        *ids = s->B;
    if (in == MB_IN_PRIOR && mb_madd(n, s->B, s->r))
        return -1;
    return 0;
}

mb_status mb_spec_bytes(const mb_spec *s, int64_t *weights, int64_t *io, mb_err *err)
{
    int64_t w, x, ids;
    if ((unsigned)s->variant >= MB_NUM_VARIANTS)
        return mb_fail(err, MB_EINVAL, "variant id %d is out of range", (int)s->variant);
    if (!(mb_dtype_roles(s->dtype) & MB_DTYPE_ROLE_CASE))
        return mb_fail(err, MB_EINVAL, "dtype=%s: not a dtype a case is stored in (%s)",
                       mb_dtype_name(s->dtype), mb_dtype_role_names(MB_DTYPE_ROLE_CASE));
    /* X, every weight and Y are stored in the case's dtype (spec "Precision"; wq, issue 15,
     * will give the base weights their own); task ids are int32. */
    if (weight_elems(s, &w) || (w = mb_dtype_bytes(s->dtype, w)) < 0)
        return mb_fail(err, MB_EINVAL, "weight bytes of %s overflow int64 (h=%lld, f=%lld, r=%lld, "
                       "E=%lld)", mb_variant_name(s->variant), (long long)s->h, (long long)s->f,
                       (long long)s->r, (long long)s->E);
    if (io_elems(s, &x, &ids) || (x = mb_dtype_bytes(s->dtype, x)) < 0 ||
        mb_add_i64(x, mb_dtype_bytes(MB_I32, ids), &x))
        return mb_fail(err, MB_EINVAL, "input/output bytes overflow int64 (B=%lld, S=%lld, h=%lld)",
                       (long long)s->B, (long long)s->S, (long long)s->h);
    if (weights)
        *weights = w;
    if (io)
        *io = x;
    return MB_OK;
}

/* The shape keys of a variant, from the fields column of the table (mb_variant_uses). */
static int uses_o(mb_variant_id v) { return mb_variant_uses(v, "o"); }
static int uses_f(mb_variant_id v) { return mb_variant_uses(v, "f"); }
static int uses_r(mb_variant_id v) { return mb_variant_uses(v, "r"); }
static int uses_E(mb_variant_id v) { return mb_variant_uses(v, "E"); }

/* Routing options (spec Part 1 "Routing options"): the ranges the descriptor parser checks,
 * again for specs built in code, and the combinations the spec leaves undefined. */
static mb_status validate_routing_options(const mb_spec *s, mb_err *err)
{
    mb_variant_id v = s->variant;
    const char *why;
    if (s->cap != 0 && (why = mb_routing_key_refusal(v, "cap")))
        return mb_fail(err, MB_EINVAL, "cap=%g: %s", s->cap, why);
    if (s->shared != 0 && (why = mb_routing_key_refusal(v, "shared")))
        return mb_fail(err, MB_EINVAL, "shared=%lld: %s", (long long)s->shared, why);
    if (s->topp != 0 && (why = mb_routing_key_refusal(v, "topp")))
        return mb_fail(err, MB_EINVAL, "topp=%g: %s", s->topp, why);
    if (s->route != MB_ROUTE_LEARNED && (why = mb_routing_key_refusal(v, "route")))
        return mb_fail(err, MB_EINVAL, "route=%s: %s", mb_route_kind_name(s->route), why);
    if (!(s->cap >= 0) || !isfinite(s->cap))
        return mb_fail(err, MB_EINVAL, "cap=%g: the capacity factor must be >= 0 (0 = dropless)",
                       s->cap);
    if (s->shared < 0 || s->shared > 1024)
        return mb_fail(err, MB_EINVAL, "shared=%lld: must be in 0..1024", (long long)s->shared);
    if (!(s->topp >= 0 && s->topp <= 1))
        return mb_fail(err, MB_EINVAL, "topp=%g: the top-p threshold must be in (0, 1]", s->topp);
    switch (s->route) {
    case MB_ROUTE_LEARNED:
    case MB_ROUTE_BALANCED:
        break;
    case MB_ROUTE_ZIPF:
        if (!(s->route_param > 0) || !isfinite(s->route_param))
            return mb_fail(err, MB_EINVAL, "route=zipf:%g: the Zipf exponent S must be > 0",
                           s->route_param);
        break;
    case MB_ROUTE_HOT:
        if (!(s->route_param > 0 && s->route_param <= 1))
            return mb_fail(err, MB_EINVAL, "route=hot:%g: the hot fraction F must be in (0, 1]",
                           s->route_param);
        break;
    case MB_ROUTE_COUNT:
    default:
        return mb_fail(err, MB_EINVAL, "route=%d is not a routing distribution", (int)s->route);
    }
    /* top-p picks the set by the router's p; the route distributions pick the experts
     * themselves: the spec defines no set for both at once */
    if (s->topp != 0 && s->route != MB_ROUTE_LEARNED)
        return mb_fail(err, MB_EINVAL, "topp=%g with route=%s: top-p chooses by the router's "
                       "probabilities, route=%s chooses the experts itself; use one of them",
                       s->topp, mb_route_kind_name(s->route), mb_route_kind_name(s->route));
    return MB_OK;
}

#define POS(field, name) \
    if (s->field < 1) \
        return mb_fail(err, MB_EINVAL, name "=%lld: must be at least 1", (long long)s->field)

/* wq= (spec "Precision") quantises the frozen base weights: a variant without one has nothing
 * to quantise, and int4 needs whole groups of MB_WQ_GROUP along every base weight's input. */
static mb_status validate_wq(const mb_spec *s, mb_err *err)
{
    if (s->wq == MB_F32)
        return MB_OK;
    if (!(mb_dtype_roles(s->wq) & MB_DTYPE_ROLE_WQ))
        return mb_fail(err, MB_EINVAL, "wq=%s: expected none|%s", mb_dtype_name(s->wq),
                       mb_dtype_role_names(MB_DTYPE_ROLE_WQ));
    mb_wdesc d[MB_MAX_NAMED];
    const int n = mb_variant_shape_of(s->variant)->layout(s, d);
    int bases = 0;
    for (int i = 0; i < n; i++) {
        if (!d[i].base)
            continue;
        bases++;
        const int64_t K = d[i].shape[d[i].ndim - 1];
        if (mb_wq_groups(s->wq, K) < 1)
            return mb_fail(err, MB_EINVAL, "wq=%s: %s's %s has input width %lld, not a multiple "
                           "of the group size %d", mb_dtype_name(s->wq),
                           mb_variant_name(s->variant), d[i].name, (long long)K, MB_WQ_GROUP);
    }
    if (!bases)
        return mb_fail(err, MB_EINVAL, "wq=%s: %s has no frozen base weight to quantise",
                       mb_dtype_name(s->wq), mb_variant_name(s->variant));
    return MB_OK;
}

mb_status mb_spec_validate(const mb_spec *s, int64_t budget_bytes, mb_err *err)
{
    mb_variant_id v = s->variant;
    if ((unsigned)v >= MB_NUM_VARIANTS)
        return mb_fail(err, MB_EINVAL, "variant id %d is out of range", (int)v);
    POS(B, "B");
    if (s->S < 1) {   /* users usually write T: name what they wrote (when B*S is defined) */
        int64_t t;
        if (mb_mul_i64(s->B, s->S, &t) == 0)
            return mb_fail(err, MB_EINVAL, "T=%lld (B=%lld, S=%lld): sequences need at least 1 "
                           "token", (long long)t, (long long)s->B, (long long)s->S);
        return mb_fail(err, MB_EINVAL, "B=%lld, S=%lld: sequences need at least 1 token",
                       (long long)s->B, (long long)s->S);
    }
    POS(h, "h");
    int64_t T;
    if (mb_mul_i64(s->B, s->S, &T))
        return mb_fail(err, MB_EINVAL, "T = B*S overflows int64 (B=%lld, S=%lld)", (long long)s->B,
                       (long long)s->S);
    if (uses_o(v))
        POS(o, "o");
    if (uses_f(v))
        POS(f, "f");
    if (uses_r(v))
        POS(r, "r");
    if (uses_E(v))
        POS(E, "E");
    if (mb_variant_routed(v)) {
        POS(k, "k");
        if (s->k > s->E)
            return mb_fail(err, MB_EINVAL, "k=%lld > E=%lld: cannot choose more experts than exist",
                           (long long)s->k, (long long)s->E);
        int64_t tk;
        /* Routing stores expert and token ids as int32. */
        if (mb_mul_i64(T, s->k, &tk) || tk > INT32_MAX || s->E > INT32_MAX)
            return mb_fail(err, MB_EINVAL, "T*k=%lld*%lld or E=%lld exceeds the int32 routing "
                           "indices", (long long)T, (long long)s->k, (long long)s->E);
    }
    if (s->ep < 1 || s->ep > MB_MAX_EP)
        return mb_fail(err, MB_EINVAL, "ep=%d: expected 1..%d ranks", s->ep, MB_MAX_EP);
    if (s->ep > 1) {
        /* each rank owns E/ep experts and T/ep tokens */
        if (s->E % s->ep)
            return mb_fail(err, MB_EINVAL, "E=%lld %% ep=%d != 0: the experts are split evenly "
                           "over the ep ranks", (long long)s->E, s->ep);
        if (T % s->ep)
            return mb_fail(err, MB_EINVAL, "T=%lld %% ep=%d != 0: each of the ep ranks holds "
                           "T/ep tokens", (long long)T, s->ep);
    }
    mb_status rst = validate_routing_options(s, err);
    if (rst)
        return rst;
    if (s->ep > 1 && (s->cap > 0 || s->shared > 0 || s->topp > 0 || s->route != MB_ROUTE_LEARNED))
        return mb_fail(err, MB_EINVAL, "ep=%d with cap, shared, topp or route: expert parallelism "
                       "runs plain learned top-k routing only so far", s->ep);
    /* the training step (spec "Training step") is written for plain learned top-k of every
     * expert, in one process */
    if (s->mode == MB_MODE_TRAIN &&
        (s->cap > 0 || s->shared > 0 || s->topp > 0 || s->route != MB_ROUTE_LEARNED))
        return mb_fail(err, MB_EINVAL, "mode=train with cap, shared, topp or route: the training "
                       "step differentiates plain learned top-k routing only so far");
    if (s->mode == MB_MODE_TRAIN && s->ep > 1)
        return mb_fail(err, MB_EINVAL, "mode=train with ep=%d: expert parallelism times the "
                       "forward only so far", s->ep);
    const mb_variant_shape *sh = mb_variant_shape_of(v);
    if (sh->validate) {   /* the variant's own keys (moelora's tasks, sparse_mlp's shard) */
        mb_status vst = sh->validate(s, err);
        if (vst)
            return vst;
    }
    if (uses_r(v)) {
        /* A rank above the smaller side of a projection adds nothing a dense update could not. */
        int64_t side = uses_f(v) ? (s->h < s->f ? s->h : s->f) : (s->h < s->o ? s->h : s->o);
        if (s->r > side)
            return mb_fail(err, MB_EINVAL, "r=%lld > min(h=%lld, %s=%lld): rank cannot exceed the "
                           "smaller dimension", (long long)s->r, (long long)s->h,
                           uses_f(v) ? "f" : "o", (long long)(uses_f(v) ? s->f : s->o));
        if (!isfinite(s->alpha))
            return mb_fail(err, MB_EINVAL, "alpha=%g is not finite", (double)s->alpha);
    }
    if ((unsigned)s->act > MB_ACT_RELU)
        return mb_fail(err, MB_EINVAL, "act=%d is not an activation", (int)s->act);
    if ((unsigned)s->mode >= MB_MODE_COUNT)
        return mb_fail(err, MB_EINVAL, "mode=%d is not a mode", (int)s->mode);
    if ((unsigned)s->share > MB_SHARE_ALL)
        return mb_fail(err, MB_EINVAL, "share=%d is not a share mode", (int)s->share);
    /* spec "Training step": dropout, the loss terms and the optimiser belong to a train step;
     * a forward case that carried them would silently measure something else */
    if (!(s->p >= 0.0f && s->p < 1.0f))
        return mb_fail(err, MB_EINVAL, "p=%g: dropout must be in [0, 1)", (double)s->p);
    if (s->p != 0.0f && s->mode != MB_MODE_TRAIN)
        return mb_fail(err, MB_EINVAL, "p=%g: dropout must be 0 in forward mode (inference "
                       "semantics); it only applies to mode=train", (double)s->p);
    if (s->p != 0.0f && !uses_r(v))
        return mb_fail(err, MB_EINVAL, "p=%g: %s has no LoRA whose input dropout could drop",
                       (double)s->p, mb_variant_name(v));
    if (!(s->aux >= 0.0f) || !isfinite(s->aux))
        return mb_fail(err, MB_EINVAL, "aux=%g: the L_aux coefficient must be a finite value >= 0",
                       (double)s->aux);
    if (!(s->zloss >= 0.0f) || !isfinite(s->zloss))
        return mb_fail(err, MB_EINVAL, "zloss=%g: the z-loss coefficient must be a finite value "
                       ">= 0", (double)s->zloss);
    if ((unsigned)s->opt >= MB_OPT_COUNT)
        return mb_fail(err, MB_EINVAL, "opt=%d is not an optimiser", (int)s->opt);
    if (s->mode != MB_MODE_TRAIN) {
        if (s->aux != mb_default_aux(v))
            return mb_fail(err, MB_EINVAL, "aux=%g: aux only applies to mode=train", (double)s->aux);
        if (s->zloss != 0.0f)
            return mb_fail(err, MB_EINVAL, "zloss=%g: zloss only applies to mode=train",
                           (double)s->zloss);
        if (s->opt != MB_OPT_NONE)
            return mb_fail(err, MB_EINVAL, "opt=%s: opt only applies to mode=train",
                           mb_opt_name(s->opt));
    }
    /* A storage dtype no implementation computes in yet (bf16) is a valid case: each
     * implementation says it is unsupported (a skipped row with the reason), as it does for a
     * CPU it cannot run on. Only a type a case cannot be stored in is refused here. */
    if (!(mb_dtype_roles(s->dtype) & MB_DTYPE_ROLE_CASE))
        return mb_fail(err, MB_EINVAL, "dtype=%s: not a dtype a case is stored in (%s)",
                       mb_dtype_name(s->dtype), mb_dtype_role_names(MB_DTYPE_ROLE_CASE));
    mb_status st = validate_wq(s, err);
    if (st)
        return st;
    int64_t w, io, total;
    st = mb_spec_bytes(s, &w, &io, err);
    if (st)
        return st;
    if (mb_add_i64(w, io, &total))
        return mb_fail(err, MB_EINVAL, "weights + inputs + output bytes overflow int64");
    if (budget_bytes > 0 && total > budget_bytes)
        return mb_fail(err, MB_ENOMEM, "case needs %.3g GB (weights %.3g GB + inputs/output %.3g "
                       "GB), over the budget of %.3g GB", total / 1e9, w / 1e9, io / 1e9,
                       budget_bytes / 1e9);
    return MB_OK;
}
