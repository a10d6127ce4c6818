/* Which variants the avx512 implementation runs through a fused kernel. A separate, flag-free
 * file so the choice links on compilers without AVX-512 too. */
#include "fused/fused_avx512.h"

#ifdef MOEBENCH_HAVE_AVX512
extern const mb_variant_ops mb_fused_avx512_lowrank, mb_fused_avx512_sparse_mlp,
    mb_fused_avx512_mlp_lora, mb_fused_avx512_mixlora, mb_fused_avx512_router;
#endif

const mb_variant_ops *mb_fused_avx512_ops(const mb_spec *s)
{
#ifdef MOEBENCH_HAVE_AVX512
    /* the fused column of moebench/variants.def, indexed by the enum */
    static const mb_variant_ops *const fused[] = {
#define MB_VARIANT(ID, name, fields, summary, routed, inputs, gate, out, ref, ops, fused_ops, ...) \
        [MB_##ID] = fused_ops,
#include "moebench/variants.def"
#undef MB_VARIANT
    };
    _Static_assert(sizeof fused / sizeof fused[0] == MB_VARIANT_COUNT,
                   "a variant without its fused column in moebench/variants.def");
    return (unsigned)s->variant < MB_VARIANT_COUNT ? fused[s->variant] : NULL;
#else
    (void)s;
    return NULL;
#endif
}
