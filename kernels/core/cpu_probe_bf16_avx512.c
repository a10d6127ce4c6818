/* AVX512_BF16 probe: the AVX-512 probe first (XCR0 and F/BW/VL/DQ are its business), then cpuid
 * leaf 7 subleaf 1 EAX bit 5, then one vdpbf16ps and one vcvtne2ps2bf16 executed under the
 * SIGILL handler and their results checked (an emulator may advertise the bit and compute
 * nonsense). Runs once, under pthread_once; same CAUTION as mb_cpu_has_avx512 (cpu.h).
 *
 * Named *_avx512.c, so compiled with the AVX-512 flags (-mavx512bf16 where the compiler has it);
 * only the executed sample uses them (MB_NO_AVX512_BEGIN, cpu_probe_exec.h). */
#include "moebench/cpu.h"
#include "cpu_probe_exec.h"

#include <stdio.h>

/* Everything but the executed sample is compiled without AVX-512 (cpu_probe_exec.h). */
MB_NO_AVX512_BEGIN

/* The AVX-512 probe's reason behind "avx512_bf16 needs AVX-512: " (thread-local buffer). */
static const char *needs_avx512(const char *why)
{
    static _Thread_local char buf[160];
    snprintf(buf, sizeof buf, "avx512_bf16 needs AVX-512: %s", why ? why : "?");
    return buf;
}

MB_NO_AVX512_END

#ifndef MOEBENCH_HAVE_AVX512_BF16

MB_NO_AVX512_BEGIN

int mb_cpu_has_avx512_bf16(const char **reason)
{
    const char *why = NULL;
    if (reason)
        *reason = mb_cpu_has_avx512(&why) ? "built without avx512_bf16 support in the compiler"
                                          : needs_avx512(why);
    return 0;
}

MB_NO_AVX512_END

#else

#include <cpuid.h>
#include <pthread.h>
#include <string.h>
#include <immintrin.h>

/* The executed check, in = {3, 2}: lane i of the dot product adds the products of bf16
 * elements 2i and 2i+1, and the conversion rounds to nearest even (1 + 2^-8 is a tie between
 * bf16 1 and 1 + 2^-7: even is 1; 1 + 3 2^-9 rounds up, which truncation would not). */
__attribute__((noinline)) static int run_bf16_sample(volatile float *in)
{
    __m512 a = _mm512_set1_ps(in[0]), h = _mm512_set1_ps(0.5f);
    __m512 b = _mm512_set1_ps(in[1]), tie = _mm512_set1_ps(1.0f + 1.0f / 256.0f);
    __m512 up = _mm512_set1_ps(1.0f + 3.0f / 512.0f);   /* past the tie: up to 1 + 2^-7 */
    __m512bh x = _mm512_cvtne2ps_pbh(h, a);    /* elements 0..15 = 3, 16..31 = 0.5 */
    __m512bh y = _mm512_cvtne2ps_pbh(h, b);    /* elements 0..15 = 2, 16..31 = 0.5 */
    __m512bh t = _mm512_cvtne2ps_pbh(up, tie);
    /* lanes 0..7 pair elements of 0..15 (1 + 3*2 + 3*2), lanes 8..15 those of 16..31
     * (1 + 0.25 + 0.25) */
    __m512 d = _mm512_dpbf16_ps(_mm512_set1_ps(1.0f), x, y);
    float lanes[16];
    unsigned short tb[32];
    _mm512_storeu_ps(lanes, d);
    memcpy(tb, &t, sizeof tb);
    return lanes[0] == 13.0f && lanes[7] == 13.0f && lanes[8] == 1.5f && lanes[15] == 1.5f &&
           tb[0] == 0x3f80 && tb[31] == 0x3f81;
}

MB_NO_AVX512_BEGIN

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int probe_ok;
static const char *probe_reason;

static void probe(void)
{
#ifndef MOEBENCH_AVX512_EMULATED
    unsigned int a, b, c, d;
    /* subleaf 1 exists only when leaf 7 subleaf 0 says so (EAX = highest subleaf) */
    int has = __get_cpuid_count(7, 0, &a, &b, &c, &d) && a >= 1 &&
              __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5));
    if (!has) {
        probe_reason = "cpuid: no avx512_bf16";
        return;
    }
#endif
    switch (mb_probe_execute(run_bf16_sample)) {
    case MB_PROBE_EXECUTED:
        probe_ok = 1;
        break;
    case MB_PROBE_SIGILL:
        probe_reason = "executing an avx512_bf16 instruction (vdpbf16ps) raised SIGILL";
        break;
    case MB_PROBE_WRONG:
#ifdef MOEBENCH_AVX512_EMULATED
        probe_reason = "the SIMDe emulation of avx512_bf16 computed wrong results";
#else
        probe_reason = "avx512_bf16 instructions executed but computed wrong results";
#endif
        break;
    case MB_PROBE_NO_HANDLER:
        probe_reason = "cannot install a SIGILL handler for the avx512_bf16 execution check";
        break;
    }
}

int mb_cpu_has_avx512_bf16(const char **reason)
{
    /* AVX-512 itself first: its probe runs (once) before any bf16 instruction can */
    const char *why = NULL;
    if (!mb_cpu_has_avx512(&why)) {
        if (reason)
            *reason = needs_avx512(why);
        return 0;
    }
    pthread_once(&once, probe);
    if (reason)
        *reason = probe_ok ? NULL : probe_reason;
    return probe_ok;
}

MB_NO_AVX512_END

#endif
