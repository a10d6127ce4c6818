/* The shared LoRA dropout mask (moebench/dropout.h): the row helpers over the inline hash. */
#include "moebench/dropout.h"

float mb_dropout_scale(uint64_t seed, uint32_t lora, uint32_t expert, int64_t row,
                       int64_t feature, float p)
{
    if (p == 0.0f)
        return 1.0f;
    const uint64_t key = mb_dropout_rowkey(seed, lora, expert, row);
    return mb_dropout_keep(key, feature, mb_dropout_threshold(p)) ? mb_dropout_kept_scale(p) : 0.0f;
}

void mb_dropout_row(uint64_t seed, uint32_t lora, uint32_t expert, int64_t row, int64_t f0,
                    int64_t n, float p, float *out)
{
    if (p == 0.0f) {
        for (int64_t i = 0; i < n; i++)
            out[i] = 1.0f;
        return;
    }
    const uint64_t key = mb_dropout_rowkey(seed, lora, expert, row);
    const uint32_t thr = mb_dropout_threshold(p);
    const float kept = mb_dropout_kept_scale(p);
    for (int64_t i = 0; i < n; i++)
        out[i] = mb_dropout_keep(key, f0 + i, thr) ? kept : 0.0f;
}

void mb_dropout_apply_row(uint64_t seed, uint32_t lora, uint32_t expert, int64_t row, int64_t f0,
                          int64_t n, float p, const float *x, float *out)
{
    if (p == 0.0f) {
        if (out != x)
            for (int64_t i = 0; i < n; i++)
                out[i] = x[i];
        return;
    }
    const uint64_t key = mb_dropout_rowkey(seed, lora, expert, row);
    const uint32_t thr = mb_dropout_threshold(p);
    const float kept = mb_dropout_kept_scale(p);
    for (int64_t i = 0; i < n; i++)
        out[i] = mb_dropout_keep(key, f0 + i, thr) ? x[i] * kept : 0.0f;
}
