/* The LoRA dropout mask of a train step (spec "Training step"): one counter-based draw per
 * (seed, which LoRA, expert, token row, feature), so every implementation, thread count and
 * blocking draws the same mask, and the backward redraws it instead of storing it. Applied to
 * each LoRA's INPUT (X for the main, gate and up LoRAs; H for the down LoRA), kept elements
 * scaled by 1/(1-p), as peft's nn.Dropout on lora_A's input.
 *
 * The hash (tests/make_reference.py ports it to python; change both together):
 *   mix(z)  = SplitMix64 finaliser (z^z>>30)*0xbf58476d1ce4e5b9, (z^z>>27)*0x94d049bb133111eb, z^z>>31
 *   rowkey  = mix(mix(mix(seed + 0xd1b54a32d192ed03) ^ (lora << 32 | expert)) + row * 0x9e3779b97f4a7c15)
 *   u       = mix(rowkey + (feature + 1) * 0xbf58476d1ce4e5b9) >> 40      (24 bits, uniform)
 *   dropped when u < p * 2^24, i.e. with probability p (to 2^-24).
 * All arithmetic modulo 2^64. */
#ifndef MOEBENCH_DROPOUT_H
#define MOEBENCH_DROPOUT_H

#include <stdint.h>

/* Which LoRA of the layer a mask belongs to. MAIN: the one adapted linear of lora, molora,
 * moelora and mor1e (molora's and moelora's experts share its mask: they read the same dropped
 * X, which keeps the fused Acat form exact; expert = 0). GATE, UP, DOWN: the three LoRAs of
 * mlp_lora (expert 0) and of every mixlora expert (expert = its index). */
typedef enum { MB_LORA_MAIN = 0, MB_LORA_GATE, MB_LORA_UP, MB_LORA_DOWN } mb_lora_id;

static inline uint64_t mb_dropout_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The per-row part of the hash: compute once per row, then mb_dropout_keep per feature. */
static inline uint64_t mb_dropout_rowkey(uint64_t seed, uint32_t lora, uint32_t expert, int64_t row)
{
    uint64_t k = mb_dropout_mix(seed + 0xd1b54a32d192ed03ULL);
    k = mb_dropout_mix(k ^ (((uint64_t)lora << 32) | (uint64_t)expert));
    return mb_dropout_mix(k + (uint64_t)row * 0x9e3779b97f4a7c15ULL);
}

/* The drop threshold on the 24-bit draw: dropped when u < thr. thr = ceil(p * 2^24), exact
 * since a float p has a 24-bit mantissa; 0 for p == 0 (nothing dropped). */
static inline uint32_t mb_dropout_threshold(float p)
{
    double t = (double)p * 16777216.0;
    uint32_t thr = (uint32_t)t;
    return (double)thr < t ? thr + 1 : thr;
}

/* 1 when element `feature` of the row is kept. */
static inline int mb_dropout_keep(uint64_t rowkey, int64_t feature, uint32_t thr)
{
    uint64_t u = mb_dropout_mix(rowkey + (uint64_t)(feature + 1) * 0xbf58476d1ce4e5b9ULL) >> 40;
    return u >= thr;
}

/* The kept elements' factor 1/(1-p), in float (every implementation multiplies by this value). */
static inline float mb_dropout_kept_scale(float p)
{
    return 1.0f / (1.0f - p);
}

/* 0 (dropped) or 1/(1-p) (kept) for one element; exactly 1 when p == 0. */
float mb_dropout_scale(uint64_t seed, uint32_t lora, uint32_t expert, int64_t row,
                       int64_t feature, float p);

/* The mask of features f0 .. f0+n-1 of one row into out[0..n-1] (0 or 1/(1-p); all 1 when
 * p == 0): the fast path, the row key computed once. */
void mb_dropout_row(uint64_t seed, uint32_t lora, uint32_t expert, int64_t row, int64_t f0,
                    int64_t n, float p, float *out);

/* out[i] = x[i] * mask(f0 + i) for i < n (out may be x): a dropped LoRA input row. */
void mb_dropout_apply_row(uint64_t seed, uint32_t lora, uint32_t expert, int64_t row, int64_t f0,
                          int64_t n, float p, const float *x, float *out);

#endif
