/* The libraries' ISA against the CPU's (see library_isa.h). */
#include "moebench/library_isa.h"

#include <stddef.h>
#include <strings.h>

#include "moebench/cpu.h"

#ifdef MOEBENCH_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef MOEBENCH_HAVE_ONEDNN
#include <dnnl.h>
#include <dnnl_debug.h>
#include <string.h>
#endif

/* OpenBLAS driver/others/dynamic.c (corename[] and force_coretype), x86-64 DYNAMIC_ARCH, with
 * the instruction set each core's kernels are written for (kernel/x86_64/KERNEL.<core>).
 * Excavator executes AVX2, but OpenBLAS gives it Piledriver-class AVX/FMA kernels. */
static const struct {
    const char *name;
    mb_isa_level isa;
} cores[] = {
    {"Katmai", MB_ISA_SSE},        {"Coppermine", MB_ISA_SSE}, {"Northwood", MB_ISA_SSE},
    {"Prescott", MB_ISA_SSE},      {"Banias", MB_ISA_SSE},     {"Atom", MB_ISA_SSE},
    {"Core2", MB_ISA_SSE},         {"Penryn", MB_ISA_SSE},     {"Dunnington", MB_ISA_SSE},
    {"Nehalem", MB_ISA_SSE},       {"Athlon", MB_ISA_SSE},     {"Opteron", MB_ISA_SSE},
    {"Opteron_SSE3", MB_ISA_SSE},  {"Barcelona", MB_ISA_SSE},  {"Nano", MB_ISA_SSE},
    {"Bobcat", MB_ISA_SSE},        {"Sandybridge", MB_ISA_AVX}, {"Bulldozer", MB_ISA_AVX},
    {"Piledriver", MB_ISA_AVX},    {"Steamroller", MB_ISA_AVX}, {"Excavator", MB_ISA_AVX},
    {"Haswell", MB_ISA_AVX2},      {"Zen", MB_ISA_AVX2},       {"SkylakeX", MB_ISA_AVX512},
    {"Cooperlake", MB_ISA_AVX512}, {"SapphireRapids", MB_ISA_AVX512},
};
#define N_CORES ((int)(sizeof cores / sizeof cores[0]))

const char *mb_isa_level_name(mb_isa_level l)
{
    switch (l) {
    case MB_ISA_SSE: return "sse";
    case MB_ISA_AVX: return "avx";
    case MB_ISA_AVX2: return "avx2";
    case MB_ISA_AVX512: return "avx512";
    default: return "unknown";
    }
}

mb_isa_level mb_cpu_executed_isa(void)
{
    if (mb_cpu_has_avx512(NULL) && !mb_cpu_avx512_emulated())
        return MB_ISA_AVX512;
    if (mb_cpu_has_avx2(NULL))
        return MB_ISA_AVX2;
    /* below AVX2 nothing here is executed to tell AVX from SSE: the baseline of x86-64 */
    return MB_ISA_SSE;
}

const char *const *mb_openblas_core_names(int *n)
{
    static const char *names[N_CORES];
    for (int i = 0; i < N_CORES; i++)
        names[i] = cores[i].name;
    if (n)
        *n = N_CORES;
    return names;
}

const char *mb_openblas_core_canonical(const char *name)
{
    for (int i = 0; name && i < N_CORES; i++)
        if (!strcasecmp(name, cores[i].name))
            return cores[i].name;
    return NULL;
}

mb_isa_level mb_openblas_core_isa(const char *core)
{
    for (int i = 0; core && i < N_CORES; i++)
        if (!strcasecmp(core, cores[i].name))
            return cores[i].isa;
    return MB_ISA_UNKNOWN;
}

int mb_openblas_core_weaker(const char *core, mb_isa_level executed)
{
    mb_isa_level c = mb_openblas_core_isa(core);
    return c != MB_ISA_UNKNOWN && executed != MB_ISA_UNKNOWN && c < executed;
}

const char *mb_openblas_core_suggest(mb_isa_level executed, int intel)
{
    switch (executed) {
    case MB_ISA_AVX512: return "SkylakeX";
    case MB_ISA_AVX2: return intel ? "Haswell" : "Zen";
    case MB_ISA_AVX: return "Sandybridge";
    default: return NULL;
    }
}

const char *mb_openblas_corename(void)
{
#ifdef MOEBENCH_HAVE_OPENBLAS
    return openblas_get_corename();
#else
    return NULL;
#endif
}

const char *mb_openblas_config(void)
{
#ifdef MOEBENCH_HAVE_OPENBLAS
    return openblas_get_config();
#else
    return NULL;
#endif
}

const char *mb_onednn_isa(void)
{
#ifdef MOEBENCH_HAVE_ONEDNN
    const char *s = dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa());
    if (!s)
        return NULL;
    return strncmp(s, "cpu_isa_", 8) ? s : s + 8;
#else
    return NULL;
#endif
}
