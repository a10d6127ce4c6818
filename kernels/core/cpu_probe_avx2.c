/* AVX2 + FMA probe, the AVX-512 probe's sibling (cpu_probe_avx512.c): cpuid bits, the OS's
 * XCR0 (does it save ymm state?), then one AVX2 + FMA sequence executed under a SIGILL handler.
 * It tells the harness whether an OpenBLAS SSE core leaves vector width unused.
 *
 * The execution check swaps the process-wide SIGILL handler (see cpu.h): it runs once, under
 * pthread_once. This file is named *_avx2.c and so gets -mavx2 -mfma; everything but the
 * executed check is compiled without them, so the probe cannot fault on an old CPU. */
#include "moebench/cpu.h"
#include "cpu_probe_exec.h"

#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>

#if defined(__clang__)
#define MB_NO_AVX2_BEGIN _Pragma("clang attribute push (__attribute__((target(\"no-avx2,no-fma\"))), apply_to = function)")
#define MB_NO_AVX2_END _Pragma("clang attribute pop")
#else
#define MB_NO_AVX2_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"no-avx2,no-fma\")")
#define MB_NO_AVX2_END _Pragma("GCC pop_options")
#endif

/* The executed check: a 256-bit FMA and an AVX2 integer add, results checked so a half-working
 * emulation is caught. */
__attribute__((noinline)) static int run_avx2_sample(volatile float *in)
{
    __m256 a = _mm256_set1_ps(in[0]), b = _mm256_set1_ps(in[1]);
    __m256 c = _mm256_fmadd_ps(a, b, a);                         /* 3*2+3 = 9 */
    __m256i i = _mm256_add_epi32(_mm256_set1_epi32(3), _mm256_set1_epi32(4));
    float hi = _mm_cvtss_f32(_mm256_extractf128_ps(c, 1));
    return _mm256_cvtss_f32(c) == 9.0f && hi == 9.0f &&
           _mm_cvtsi128_si32(_mm256_extracti128_si256(i, 1)) == 7;
}

MB_NO_AVX2_BEGIN

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int probe_ok;
static const char *probe_reason;
static void probe(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        probe_reason = "cpuid leaf 1 unavailable";
        return;
    }
    if (!(c & bit_OSXSAVE)) {
        probe_reason = "OS has not enabled XSAVE (cpuid OSXSAVE = 0)";
        return;
    }
    if (!(c & bit_AVX) || !(c & bit_FMA)) {
        probe_reason = !(c & bit_AVX) ? "cpuid: no avx" : "cpuid: no fma";
        return;
    }
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & bit_AVX2)) {
        probe_reason = "cpuid: no avx2";
        return;
    }
    unsigned int lo, hi;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));   /* xgetbv */
    (void)hi;
    if ((lo & 0x6) != 0x6) {
        probe_reason = "OS does not save AVX state (XCR0)";
        return;
    }
    switch (mb_probe_execute(run_avx2_sample)) {
    case MB_PROBE_EXECUTED:
        probe_ok = 1;
        break;
    case MB_PROBE_SIGILL:
        probe_reason = "executing an AVX2 instruction raised SIGILL";
        break;
    case MB_PROBE_WRONG:
        probe_reason = "AVX2 instructions executed but computed wrong results";
        break;
    case MB_PROBE_NO_HANDLER:
        probe_reason = "cannot install a SIGILL handler for the execution check";
        break;
    }
}

int mb_cpu_has_avx2(const char **reason)
{
    pthread_once(&once, probe);
    if (reason)
        *reason = probe_ok ? NULL : probe_reason;
    return probe_ok;
}

MB_NO_AVX2_END
