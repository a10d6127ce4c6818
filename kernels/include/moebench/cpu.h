/* CPU feature probes that are believed only once an instruction has actually executed: cpuid
 * bits can be set while the OS (XSAVE state) or the hypervisor refuses the registers. */
#ifndef MOEBENCH_CPU_H
#define MOEBENCH_CPU_H

/* 1 when this process can execute AVX-512 F/BW/VL/DQ + FMA code, else 0 and *reason (if non-NULL)
 * says why ("built without AVX-512 support in the compiler", "cpuid: no avx512bw", "OS does not
 * save zmm state (XCR0)", "executing an AVX-512 instruction raised SIGILL", "forced off").
 * The real probe runs once (pthread_once) and its result is cached; later calls only read it.
 * CAUTION: the probe temporarily replaces the SIGILL handler of the WHOLE PROCESS (sigaction) while
 * it executes its one AVX-512 sample, then restores the old handler. Call it once early in main,
 * before any other thread starts (the harness and tests do, via mb_impl_avx512.unsupported):
 * a SIGILL raised by another thread during that window would land in the probe's handler. */
int mb_cpu_has_avx512(const char **reason);

/* 1 when this process can execute AVX512_BF16 (vdpbf16ps, vcvtne2ps2bf16) on top of what
 * mb_cpu_has_avx512 requires, else 0 and *reason says why; every reason names avx512_bf16
 * ("cpuid: no avx512_bf16", "avx512_bf16 needs AVX-512: cpuid: no avx512f", "executing an
 * avx512_bf16 instruction raised SIGILL", "built without avx512_bf16 support in the
 * compiler"). Same method and CAUTION as above; in the emulated build (mb_cpu_avx512_emulated)
 * it says whether the emulation computes right. */
int mb_cpu_has_avx512_bf16(const char **reason);

/* 1 when this process can execute AVX2 + FMA code (same method and CAUTION as above), else 0
 * and *reason says why. */
int mb_cpu_has_avx2(const char **reason);

/* 1 in a build whose AVX-512 kernels are emulated by SIMDe (CMake option MOEBENCH_AVX512_EMULATE,
 * a test build): mb_cpu_has_avx512 then says whether the emulation computes right, not what the
 * CPU executes, and nothing of such a build may be timed or reported as the CPU's. */
int mb_cpu_avx512_emulated(void);

/* Tests: force the probe to report "forced off" (on != 0) or restore the real answer (on == 0),
 * without touching the environment. */
void mb_cpu_force_no_avx512(int on);

#endif
