/* The merged implementation (spec Part 1 "Merged weights"): LoRA folded into the weights in
 * prepare, on the OpenBLAS provider when built with it, else the naive one. */
#include <stdio.h>
#include "merge.h"

static const mb_gemm_provider *merged_provider(void)
{
    return mb_gemm_blas.unavailable() ? &mb_gemm_naive : &mb_gemm_blas;
}

/* Each variant's merge rule (the merge column of moebench/variants.def): the prepare of its
 * merged form, or the reason it has none. */
typedef struct {
    mb_merge_prepare_fn prepare;
    const char *skip;
} merge_rule;

#define MB_MERGE(fn) {fn, NULL}
#define MB_MERGE_SKIP(why) {NULL, why}
static const merge_rule rules[] = {
#define MB_VARIANT(ID, name, fields, summary, routed, inputs, gate, out, ref, ops, fused, merge, ...) \
    [MB_##ID] = merge,
#include "moebench/variants.def"
#undef MB_VARIANT
};
#undef MB_MERGE
#undef MB_MERGE_SKIP
_Static_assert(sizeof rules / sizeof rules[0] == MB_VARIANT_COUNT,
               "a variant without a merge rule in moebench/variants.def");

static const char *merged_unsupported(const mb_spec *s)
{
    if (s->mode == MB_MODE_TRAIN) return "merged weights have no adapter to train";
    if ((unsigned)s->variant < MB_VARIANT_COUNT && rules[s->variant].skip)
        return rules[s->variant].skip;
    /* named as merged (not its provider): the row is merged's */
    /* wq: merging W' = W + s B A into quantised levels would requantise the adapter away;
     * merged keeps no quantised form (spec "Precision" quantises the frozen W only) */
    if (s->wq != MB_F32)
        return "unsupported wq: merging the adapter into quantised base weights would "
               "requantise it (merged runs with unquantised weights only)";
    /* bf16 (peft's cast_to_fp32 rule: merge in f32, round W' once) needs a bf16 GEMM for the
     * forward: the provider's own reason first */
    const mb_gemm_provider *gp = merged_provider();
    const char *why = s->dtype != MB_F32 && gp->dtype_unavailable
                          ? gp->dtype_unavailable(s->dtype) : NULL;
    if (why) {
        static _Thread_local char buf[MB_ERR_MSG_LEN];
        snprintf(buf, sizeof buf, "merged in %s needs a %s GEMM of %s: %s",
                 mb_dtype_name(s->dtype), mb_dtype_name(s->dtype), gp->name, why);
        return buf;
    }
    why = mb_dtype_unsupported("merged", s->dtype, mb_gemm_dtypes(gp) & MB_VARIANT_DTYPES);
    if (why) return why;
    return mb_variant_unsupported(merged_provider(), s);
}

static mb_status merged_prepare(const mb_spec *s, const mb_weights *w, mb_state **st,
                                mb_err *err)
{
    *st = NULL;
    const char *why = merged_unsupported(s);
    if (why) return mb_fail(err, MB_EUNSUPPORTED, "%s", why);
    mb_merge_prepare_fn fn = rules[s->variant].prepare;
    if (!fn) return mb_fail(err, MB_EUNSUPPORTED, "no merged form");
    const mb_variant_ops *ops = NULL;
    void *priv = NULL;
    mb_status rc = fn(merged_provider(), s, w, &ops, &priv, err);
    if (rc != MB_OK) return rc;
    return mb_variant_wrap(s, ops, priv, st, err);
}

const mb_impl mb_impl_merged = {
    "merged", merged_unsupported, merged_prepare, mb_variant_forward, mb_variant_release,
    NULL, NULL   /* forward_train, backward: mode=train not implemented yet */
};
