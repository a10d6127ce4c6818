/* The executed half of the CPU probes (cpu_probe_avx2.c, cpu_probe_avx512.c): cpuid and XCR0
 * say what the CPU and OS claim; only executing an instruction says what runs (a hypervisor may
 * claim more than it executes). */
#ifndef MOEBENCH_CPU_PROBE_EXEC_H
#define MOEBENCH_CPU_PROBE_EXEC_H

typedef enum {
    MB_PROBE_EXECUTED = 0,   /* ran and computed the expected result */
    MB_PROBE_SIGILL,         /* the instruction raised SIGILL */
    MB_PROBE_WRONG,          /* ran but computed a wrong result (a half-working emulation) */
    MB_PROBE_NO_HANDLER      /* no SIGILL handler could be installed: nothing was executed */
} mb_probe_result;

/* Runs sample(in) once under a SIGILL handler; in = {3, 2}. sample returns nonzero when its
 * result is right. The process-wide SIGILL handler is swapped for the call and restored;
 * calls are serialised. */
mb_probe_result mb_probe_execute(int (*sample)(volatile float *in));

/* The probe files are named *_avx512.c and so compiled with the AVX-512 flags, yet must run
 * where there is none: everything between these is compiled without AVX-512 (and AVX2, FMA),
 * only the executed samples outside them use it. GCC spells this as a target pragma, clang
 * (which ignores GCC's) as an attribute applied to every function in the range; switching
 * avx512f off switches its dependants (bf16 included) off too. */
#if defined(__clang__)
#define MB_NO_AVX512_BEGIN _Pragma("clang attribute push (__attribute__((target(\"no-avx512f,no-avx512bw,no-avx512vl,no-avx512dq,no-avx2,no-fma\"))), apply_to = function)")
#define MB_NO_AVX512_END _Pragma("clang attribute pop")
#else
#define MB_NO_AVX512_BEGIN _Pragma("GCC push_options") \
    _Pragma("GCC target(\"no-avx512f,no-avx512bw,no-avx512vl,no-avx512dq,no-avx2,no-fma\")")
#define MB_NO_AVX512_END _Pragma("GCC pop_options")
#endif

#endif
