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
    switch (s->variant) {
    case MB_LORA:
    case MB_MOLORA:
    case MB_MOELORA:
    case MB_MOR1E: return &mb_fused_avx512_lowrank;
    case MB_MLP_LORA: return &mb_fused_avx512_mlp_lora;
    case MB_SPARSE_MLP: return &mb_fused_avx512_sparse_mlp;
    case MB_MIXLORA: return &mb_fused_avx512_mixlora;
    case MB_ROUTER: return &mb_fused_avx512_router;
    default: return NULL;
    }
#else
    (void)s;
    return NULL;
#endif
}
