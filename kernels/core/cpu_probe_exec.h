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

#endif
