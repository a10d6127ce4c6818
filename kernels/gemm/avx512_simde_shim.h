/* Test-only: lets the AVX-512 kernels (files named *_avx512.c) run on a CPU without AVX-512, so
 * their values are checked on every machine the tests run on, not only where the CPU has it.
 *
 * The build option MOEBENCH_AVX512_EMULATE force-includes this header into those files instead of
 * giving them -mavx512f: SIMDe (Debian's libsimde-dev) then implements each intrinsic with AVX2
 * or scalar code under the intrinsic's own name. Timings of such a build are meaningless, so the
 * probe reports the emulation (mb_cpu_avx512_emulated) and the harness refuses to time it.
 *
 * SIMDe 0.7.4 lacks a few intrinsics the kernels use; they are defined below with the Intel
 * semantics (masked lanes are neither read nor written, so a masked tail never faults). */
#ifndef MOEBENCH_AVX512_SIMDE_SHIM_H
#define MOEBENCH_AVX512_SIMDE_SHIM_H

#include <immintrin.h> /* first: gcc's own typedefs, before SIMDe's aliases rename them */
#include <stdint.h>
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

static inline simde__m512 mb_emu_mm512_maskz_loadu_ps(simde__mmask16 k, const void *p)
{
    simde__m512_private r;
    const float *f = (const float *)p;
    for (int i = 0; i < 16; i++)
        r.f32[i] = (k >> i) & 1 ? f[i] : 0.0f;
    return simde__m512_from_private(r);
}
static inline void mb_emu_mm512_mask_storeu_ps(void *p, simde__mmask16 k, simde__m512 a)
{
    simde__m512_private v = simde__m512_to_private(a);
    float *f = (float *)p;
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1)
            f[i] = v.f32[i];
}
static inline float mb_emu_mm512_reduce_add_ps(simde__m512 a)
{
    simde__m512_private v = simde__m512_to_private(a);
    /* the pairwise tree gcc's _mm512_reduce_add_ps uses (halves, then quarters, ...) */
    float t[16];
    for (int i = 0; i < 16; i++)
        t[i] = v.f32[i];
    for (int w = 8; w >= 1; w /= 2)
        for (int i = 0; i < w; i++)
            t[i] += t[i + w];
    return t[0];
}
static inline float mb_emu_mm512_cvtss_f32(simde__m512 a)
{
    return simde__m512_to_private(a).f32[0];
}
static inline simde__m512i mb_emu_mm512_cvtps_epi64(simde__m256 a)
{
    simde__m256_private v = simde__m256_to_private(a);
    simde__m512i_private r;
    for (int i = 0; i < 8; i++)
        r.i64[i] = (int64_t)__builtin_llrintf(v.f32[i]);
    return simde__m512i_from_private(r);
}
/* bf16 (issue 15): the masked 16-bit moves of AVX512BW, the u16 -> u32 widening and
 * VCVTNE2PS2BF16, absent in SIMDe 0.7.4. The conversion follows the SDM's
 * convert_fp32_to_bfloat16: denormal inputs become signed zero, NaN stays NaN (quieted),
 * everything else rounds to nearest even; MXCSR unused.
 * SIMDe's own _mm512_dpbf16_ps is kept: it adds lane i's two products (elements 2i, 2i+1, exact
 * in f32) one after the other in round-to-nearest, as the SDM's vdpbf16ps does, but does not
 * flush denormals as the instruction does; tests stay away from them. */
static inline simde__m256i mb_emu_mm256_maskz_loadu_epi16(simde__mmask16 k, const void *p)
{
    simde__m256i_private r;
    const uint16_t *h = (const uint16_t *)p;
    for (int i = 0; i < 16; i++)
        r.u16[i] = (k >> i) & 1 ? h[i] : 0;
    return simde__m256i_from_private(r);
}
static inline void mb_emu_mm512_mask_storeu_epi16(void *p, simde__mmask32 k, simde__m512i a)
{
    simde__m512i_private v = simde__m512i_to_private(a);
    uint16_t *h = (uint16_t *)p;
    for (int i = 0; i < 32; i++)
        if ((k >> i) & 1)
            h[i] = v.u16[i];
}
static inline simde__m512i mb_emu_mm512_cvtepu16_epi32(simde__m256i a)
{
    simde__m256i_private v = simde__m256i_to_private(a);
    simde__m512i_private r;
    for (int i = 0; i < 16; i++)
        r.u32[i] = v.u16[i];
    return simde__m512i_from_private(r);
}
static inline uint16_t mb_emu_cvtne_f32_bf16(float f)
{
    uint32_t x;
    __builtin_memcpy(&x, &f, 4);
    if ((x & 0x7f800000u) == 0)                                   /* zero or denormal */
        return (uint16_t)((x >> 16) & 0x8000u);
    if ((x & 0x7f800000u) == 0x7f800000u)                         /* inf, or NaN quieted */
        return (uint16_t)((x >> 16) | ((x & 0x007fffffu) ? 0x0040u : 0u));
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}
static inline simde__m512bh mb_emu_mm512_cvtne2ps_pbh(simde__m512 a, simde__m512 b)
{
    /* lanes 0..15 from b, 16..31 from a, as the instruction */
    simde__m512_private va = simde__m512_to_private(a), vb = simde__m512_to_private(b);
    simde__m512bh_private r;
    for (int i = 0; i < 16; i++) {
        r.u16[i] = mb_emu_cvtne_f32_bf16(vb.f32[i]);
        r.u16[i + 16] = mb_emu_cvtne_f32_bf16(va.f32[i]);
    }
    return simde__m512bh_from_private(r);
}
#undef _mm256_maskz_loadu_epi16
#undef _mm512_mask_storeu_epi16
#undef _mm512_cvtepu16_epi32
#undef _mm512_cvtne2ps_pbh
#define _mm256_maskz_loadu_epi16 mb_emu_mm256_maskz_loadu_epi16
#define _mm512_mask_storeu_epi16 mb_emu_mm512_mask_storeu_epi16
#define _mm512_cvtepu16_epi32 mb_emu_mm512_cvtepu16_epi32
#define _mm512_cvtne2ps_pbh mb_emu_mm512_cvtne2ps_pbh
/* Weight-only int8/int4 (issue 15, gemm_wq_avx512.c): VPMOVSXBD, VCVTDQ2PS (round to nearest,
 * exact for the small levels used), VPSRAD by an immediate and VPMOVDW's masked store
 * (truncating each 32-bit lane to its low 16 bits), absent in SIMDe 0.7.4. */
static inline simde__m512i mb_emu_mm512_cvtepi8_epi32(simde__m128i a)
{
    simde__m128i_private v = simde__m128i_to_private(a);
    simde__m512i_private r;
    for (int i = 0; i < 16; i++)
        r.i32[i] = v.i8[i];
    return simde__m512i_from_private(r);
}
static inline simde__m512 mb_emu_mm512_cvtepi32_ps(simde__m512i a)
{
    simde__m512i_private v = simde__m512i_to_private(a);
    simde__m512_private r;
    for (int i = 0; i < 16; i++)
        r.f32[i] = (float)v.i32[i];
    return simde__m512_from_private(r);
}
static inline simde__m512i mb_emu_mm512_srai_epi32(simde__m512i a, unsigned int imm)
{
    simde__m512i_private v = simde__m512i_to_private(a);
    simde__m512i_private r;
    const unsigned int s = imm > 31 ? 31 : imm;   /* counts past 31 fill with the sign */
    for (int i = 0; i < 16; i++)
        r.i32[i] = v.i32[i] >> s;   /* arithmetic: gcc and clang shift signed ints so */
    return simde__m512i_from_private(r);
}
static inline void mb_emu_mm512_mask_cvtepi32_storeu_epi16(void *p, simde__mmask16 k,
                                                            simde__m512i a)
{
    simde__m512i_private v = simde__m512i_to_private(a);
    uint16_t *h = (uint16_t *)p;
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1)
            h[i] = (uint16_t)v.u32[i];
}
#undef _mm512_cvtepi8_epi32
#undef _mm512_cvtepi32_ps
#undef _mm512_srai_epi32
#undef _mm512_mask_cvtepi32_storeu_epi16
#define _mm512_cvtepi8_epi32 mb_emu_mm512_cvtepi8_epi32
#define _mm512_cvtepi32_ps mb_emu_mm512_cvtepi32_ps
#define _mm512_srai_epi32 mb_emu_mm512_srai_epi32
#define _mm512_mask_cvtepi32_storeu_epi16 mb_emu_mm512_mask_cvtepi32_storeu_epi16
#undef _mm512_maskz_loadu_ps
#undef _mm512_mask_storeu_ps
#undef _mm512_reduce_add_ps
#undef _mm512_cvtss_f32
#undef _mm512_cvtps_epi64
#define _mm512_maskz_loadu_ps mb_emu_mm512_maskz_loadu_ps
#define _mm512_mask_storeu_ps mb_emu_mm512_mask_storeu_ps
#define _mm512_reduce_add_ps mb_emu_mm512_reduce_add_ps
#define _mm512_cvtss_f32 mb_emu_mm512_cvtss_f32
#define _mm512_cvtps_epi64 mb_emu_mm512_cvtps_epi64

#endif
