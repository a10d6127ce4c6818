/* Which implementations count their work (moebench/work.h): those whose forward is the
 * provider-call sequence of kernels/variants, where every GEMM passes mb_gemm. */
#include <string.h>
#include "variants.h"
#include "fused/fused_avx512.h"
#include "moebench/work.h"

const char *mb_work_uncounted(const char *impl, const mb_spec *s)
{
    if (!impl)
        return "no implementation";
    if (!strcmp(impl, "naive"))
        return "the naive reference is plain loops apart from the shared code and counts nothing";
    if (!strcmp(impl, "avx512") && s && mb_fused_avx512_ops(s))
        return "avx512 runs this variant through a fused kernel, which does not count its work";
    if (!strcmp(impl, "blas") || !strcmp(impl, "onednn") || !strcmp(impl, "avx512") ||
        !strcmp(impl, "merged"))
        return NULL;
    return "not a provider-backed implementation: its work is not counted";
}
