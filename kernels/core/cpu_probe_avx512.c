/* AVX-512 probe: cpuid bits, then the OS's XCR0 (does it save opmask/zmm state?), then one real
 * AVX-512 F/BW/VL/DQ + FMA sequence executed under a SIGILL handler, because hypervisors and
 * emulators can advertise bits they do not honour.
 *
 * The execution check swaps the process-wide SIGILL handler for its duration (see cpu.h): it runs
 * exactly once, under pthread_once, and must happen before other threads start.
 *
 * This file is named *_avx512.c and so gets -mavx512f; everything but the executed check is
 * compiled with AVX-512 switched off again, so the probe itself cannot fault on an old CPU. */
#include "moebench/cpu.h"
#include "cpu_probe_exec.h"

#include <stdatomic.h>

#ifndef MOEBENCH_HAVE_AVX512

static atomic_int forced_off;
int mb_cpu_has_avx512(const char **reason)
{
    if (reason)
        *reason = atomic_load(&forced_off) ? "forced off"
                                           : "built without AVX-512 support in the compiler";
    return 0;
}
void mb_cpu_force_no_avx512(int on) { atomic_store(&forced_off, on != 0); }

#else

#include <cpuid.h>
#include <pthread.h>
#include <immintrin.h>

/* Code outside the executed check is compiled without AVX-512 (cpu_probe_exec.h). */
MB_NO_AVX512_BEGIN

static atomic_int forced_off;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int probe_ok;
static const char *probe_reason;
static unsigned long long read_xcr0(void)
{
    unsigned int lo, hi;
    /* xgetbv with ecx = 0, as bytes so no -mxsave is needed. */
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

MB_NO_AVX512_END

/* The executed check: a masked FMA (F), a byte op (BW), a ymm op with an EVEX-only register
 * form (VL), a DQ conversion; the result is checked so a half-working emulation is caught. */
__attribute__((noinline)) static int run_avx512_sample(volatile float *in)
{
    __m512 a = _mm512_set1_ps(in[0]), b = _mm512_set1_ps(in[1]);
    __m512 c = _mm512_maskz_fmadd_ps((__mmask16)0x7fff, a, b, a);     /* lanes 0..14: a*b+a */
    __m512i bytes = _mm512_add_epi8(_mm512_set1_epi8(3), _mm512_set1_epi8(4));
    __m256 v = _mm256_maskz_mov_ps((__mmask8)0x0f, _mm512_castps512_ps256(c));
    __m512i q = _mm512_cvtps_epi64(v);                                 /* DQ */
    float lane0 = _mm512_cvtss_f32(c);
    float lane15 = _mm512_reduce_add_ps(c) - 15.0f * lane0;
    long long q0 = _mm_cvtsi128_si64(_mm512_castsi512_si128(q));
    int b0 = (int)(_mm_cvtsi128_si32(_mm512_castsi512_si128(bytes)) & 0xff);
    return lane0 == 9.0f && lane15 == 0.0f && q0 == 9 && b0 == 7;
}

MB_NO_AVX512_BEGIN

static void probe(void)
{
#ifdef MOEBENCH_AVX512_EMULATED
    /* SIMDe runs the kernels on any x86-64: only the computed result is worth checking */
    probe_ok = mb_probe_execute(run_avx512_sample) == MB_PROBE_EXECUTED;
    probe_reason = probe_ok ? NULL : "the SIMDe emulation of AVX-512 computed wrong results";
    return;
#endif
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        probe_reason = "cpuid leaf 1 unavailable";
        return;
    }
    if (!(c & bit_OSXSAVE)) {
        probe_reason = "OS has not enabled XSAVE (cpuid OSXSAVE = 0)";
        return;
    }
    if (!(c & bit_FMA)) {
        probe_reason = "cpuid: no FMA";
        return;
    }
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        probe_reason = "cpuid leaf 7 unavailable";
        return;
    }
    static const struct { unsigned int bit; const char *why; } need[] = {
        {bit_AVX512F, "cpuid: no avx512f"},   {bit_AVX512BW, "cpuid: no avx512bw"},
        {bit_AVX512VL, "cpuid: no avx512vl"}, {bit_AVX512DQ, "cpuid: no avx512dq"},
        {bit_AVX2, "cpuid: no avx2"},
    };
    for (unsigned i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!(b & need[i].bit)) {
            probe_reason = need[i].why;
            return;
        }
    /* XCR0 bits 1,2 (SSE, AVX) and 5,6,7 (opmask, ZMM_Hi256, Hi16_ZMM) must all be OS-managed. */
    if ((read_xcr0() & 0xe6) != 0xe6) {
        probe_reason = "OS does not save AVX-512 state (XCR0)";
        return;
    }
    switch (mb_probe_execute(run_avx512_sample)) {
    case MB_PROBE_EXECUTED:
        probe_ok = 1;
        break;
    case MB_PROBE_SIGILL:
        probe_reason = "executing an AVX-512 instruction raised SIGILL";
        break;
    case MB_PROBE_WRONG:
        probe_reason = "AVX-512 instructions executed but computed wrong results";
        break;
    case MB_PROBE_NO_HANDLER:
        probe_reason = "cannot install a SIGILL handler for the execution check";
        break;
    }
}

int mb_cpu_has_avx512(const char **reason)
{
    if (atomic_load(&forced_off)) {
        if (reason)
            *reason = "forced off";
        return 0;
    }
    pthread_once(&once, probe);
    if (reason)
        *reason = probe_ok ? NULL : probe_reason;
    return probe_ok;
}

void mb_cpu_force_no_avx512(int on) { atomic_store(&forced_off, on != 0); }

MB_NO_AVX512_END

#endif

int mb_cpu_avx512_emulated(void)
{
#ifdef MOEBENCH_AVX512_EMULATED
    return 1;
#else
    return 0;
#endif
}
