/* The shape column of the variant table, indexed by the enum: what weights.c, spec_validate.c,
 * cost.c and mem_estimate.c dispatch through (each variant's functions live in its variant
 * file, kernels/variants/var_<name>.c). */
#include "variant_shape.h"

static const mb_variant_shape *const shapes[] = {
#define MB_VARIANT(ID, name, fields, summary, routed, inputs, gate, out, ref, ops, fused, merge, \
                   shape, ...)                                                                \
    [MB_##ID] = &shape,
#include "moebench/variants.def"
#undef MB_VARIANT
};
_Static_assert(sizeof shapes / sizeof shapes[0] == MB_VARIANT_COUNT,
               "a variant without its shape column in moebench/variants.def");

const mb_variant_shape *mb_variant_shape_of(mb_variant_id v)
{
    return (unsigned)v < MB_VARIANT_COUNT ? shapes[v] : NULL;
}
