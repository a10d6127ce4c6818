/* The wq quantiser (see quant.h): per-row int8 and grouped int4, round half to even. */
#include <math.h>
#include "moebench/quant.h"
#include "moebench/spec.h"

int mb_wq_qmax(mb_dtype wq)
{
    return wq == MB_I8 ? 127 : wq == MB_I4 ? 7 : 0;
}

int64_t mb_wq_groups(mb_dtype wq, int64_t K)
{
    if (K < 1)
        return -1;
    if (wq == MB_I8)
        return 1;
    if (wq == MB_I4)
        return K % MB_WQ_GROUP ? -1 : K / MB_WQ_GROUP;
    return -1;
}

static void put_level(mb_dtype wq, void *q, int64_t n, int v)
{
    if (wq == MB_I8) {
        ((int8_t *)q)[n] = (int8_t)v;
        return;
    }
    uint8_t *b = (uint8_t *)q + n / 2;
    uint8_t nib = (uint8_t)(v & 0xf);
    *b = n % 2 ? (uint8_t)((*b & 0x0f) | (nib << 4)) : (uint8_t)((*b & 0xf0) | nib);
}

int mb_wq_level(mb_dtype wq, const void *q, int64_t n)
{
    if (wq == MB_I8)
        return ((const int8_t *)q)[n];
    unsigned nib = (((const uint8_t *)q)[n / 2] >> (n % 2 ? 4 : 0)) & 0xfu;
    return nib & 0x8u ? (int)nib - 16 : (int)nib;   /* 4-bit two's complement */
}

mb_status mb_quantize(mb_dtype wq, const float *W, int64_t rows, int64_t K, void *q, float *scale,
                      mb_err *err)
{
    const int qmax = mb_wq_qmax(wq);
    const int64_t groups = mb_wq_groups(wq, K);
    if (!qmax)
        return mb_fail(err, MB_EINVAL, "wq=%s: not a weight quantisation type (int8|int4)",
                       mb_dtype_name(wq));
    if (groups < 1)
        return mb_fail(err, MB_EINVAL, "wq=int4: input width %lld is not a multiple of the "
                       "group size %d", (long long)K, MB_WQ_GROUP);
    const int64_t g = K / groups;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t c = 0; c < groups; c++) {
            const float *w = W + i * K + c * g;
            float m = 0.0f;
            for (int64_t j = 0; j < g; j++)
                m = fmaxf(m, fabsf(w[j]));
            /* the double quotient rounded once to f32 is the correctly rounded f32 quotient */
            const float sc = (float)((double)m / qmax);
            scale[i * groups + c] = sc;
            for (int64_t j = 0; j < g; j++) {
                /* rint: round half to even in the default rounding mode */
                double v = sc > 0.0f ? rint((double)w[j] / (double)sc) : 0.0;
                v = v > qmax ? qmax : v < -qmax ? -qmax : v;
                put_level(wq, q, i * K + c * g + j, (int)v);
            }
        }
    return MB_OK;
}
