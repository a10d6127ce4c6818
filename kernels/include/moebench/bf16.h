/* bf16 <-> f32 for code that stores bf16 (spec "Precision"): bf16 is the top half of an f32, so
 * widening is exact; narrowing rounds to nearest, ties to even, and keeps a NaN a (quiet) NaN
 * instead of letting the rounding carry turn it into an infinity. */
#ifndef MOEBENCH_BF16_H
#define MOEBENCH_BF16_H

#include <stdint.h>
#include <string.h>

static inline float mb_bf16_to_f32(uint16_t v)
{
    uint32_t u = (uint32_t)v << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint16_t mb_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

#endif
