/* CPU feature probes that are believed only once an instruction has actually executed: cpuid
 * bits can be set while the OS (XSAVE state) or the hypervisor refuses the registers. */
#ifndef MOEBENCH_CPU_H
#define MOEBENCH_CPU_H

/* 1 when this process can execute AVX-512 F/BW/VL/DQ + FMA code, else 0 and *reason (if non-NULL)
 * says why ("built without AVX-512 support in the compiler", "cpuid: no avx512bw", "OS does not
 * save zmm state (XCR0)", "executing an AVX-512 instruction raised SIGILL", "forced off").
 * The result of the real probe is cached; it is thread-safe after the first call. */
int mb_cpu_has_avx512(const char **reason);

/* Tests: force the probe to report "forced off" (on != 0) or restore the real answer (on == 0),
 * without touching the environment. */
void mb_cpu_force_no_avx512(int on);

#endif
