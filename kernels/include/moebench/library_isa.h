/* Which instruction set the libraries' kernels run at, against what this CPU executes: the
 * OpenBLAS core chosen at load (DYNAMIC_ARCH builds pick one from cpuid and fall back to an
 * SSE core on CPU models they do not know) and oneDNN's effective ISA. Pure queries: the
 * harness decides what to say about them. */
#ifndef MOEBENCH_LIBRARY_ISA_H
#define MOEBENCH_LIBRARY_ISA_H

/* Vector ISA levels, ordered: a higher level executes everything of a lower one. */
typedef enum {
    MB_ISA_UNKNOWN = -1,
    MB_ISA_SSE = 0,     /* SSE2..SSE4.2 kernels: the generic x86-64 cores */
    MB_ISA_AVX = 1,     /* AVX (Sandybridge) and AMD's pre-Zen AVX/FMA cores */
    MB_ISA_AVX2 = 2,    /* AVX2 + FMA */
    MB_ISA_AVX512 = 3   /* AVX-512 F/BW/VL/DQ */
} mb_isa_level;

/* "sse", "avx", "avx2", "avx512", or "unknown". */
const char *mb_isa_level_name(mb_isa_level l);

/* The highest level this process has executed (moebench/cpu.h probes). */
mb_isa_level mb_cpu_executed_isa(void);

/* The x86-64 core names of OpenBLAS's DYNAMIC_ARCH builds (0.3.x), as openblas_get_corename
 * spells them and OPENBLAS_CORETYPE accepts them (case-insensitive); n gets their number. */
const char *const *mb_openblas_core_names(int *n);
/* The canonical spelling of a core name (case-insensitive match), or NULL when OpenBLAS has
 * no such core. */
const char *mb_openblas_core_canonical(const char *name);
/* The ISA level a core's kernels need; MB_ISA_UNKNOWN for a name outside the list. */
mb_isa_level mb_openblas_core_isa(const char *core);
/* Whether core's kernels use a lower level than executed: the library leaves vector width on
 * the table (0 when either is unknown). */
int mb_openblas_core_weaker(const char *core, mb_isa_level executed);
/* The core to ask for on a CPU executing level executed (intel != 0: an Intel CPU): SkylakeX
 * for AVX-512, Haswell or Zen for AVX2, Sandybridge for AVX; NULL below. */
const char *mb_openblas_core_suggest(mb_isa_level executed, int intel);

/* openblas_get_corename() and openblas_get_config(); NULL when built without OpenBLAS. */
const char *mb_openblas_corename(void);
const char *mb_openblas_config(void);

/* oneDNN's effective CPU ISA as oneDNN names it without its "cpu_isa_" prefix ("avx2",
 * "avx512_core_amx", ...); NULL when built without oneDNN. The first call fixes oneDNN's
 * maximum ISA for the process (oneDNN's rule), so call it after ONEDNN_MAX_CPU_ISA is set. */
const char *mb_onednn_isa(void);

#endif
