/* Seeded counter-based fills: element i of a tensor is a pure function of (seed, stream, i)
 * (SplitMix64 finaliser over a per-tensor key plus the counter), so any thread count and any
 * chunking produce identical tensors. */
#include <math.h>
#include <string.h>
#include "moebench/tensor.h"

/* Above this many elements a fill is worth the OpenMP fork. */
#define MB_FILL_PAR_MIN (1 << 16)

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t key_of(uint64_t seed, uint64_t stream)
{
    return mix64(seed ^ mix64(stream + 0x632be59bd9b4e019ULL));
}

/* The counter-th draw of the SplitMix64 sequence that starts at key. */
static inline uint64_t draw(uint64_t key, uint64_t counter)
{
    return mix64(key + (counter + 1) * 0x9e3779b97f4a7c15ULL);
}

/* Uniform in [0, 1) with 53 bits. */
static inline double unit(uint64_t x) { return (double)(x >> 11) * 0x1.0p-53; }
/* Uniform in (0, 1]: safe under log. */
static inline double unit_open0(uint64_t x) { return (double)((x >> 11) + 1) * 0x1.0p-53; }

uint64_t mb_stream_of(const char *name)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Only the types the fills document (tensor.h); a switch without default so a new dtype is a
 * -Wswitch warning here, never an int32 store into a narrower element. */
static void store(mb_tensor *t, int64_t i, double v)
{
    switch (t->dtype) {
    case MB_F32:
        ((float *)t->data)[i] = (float)v;
        return;
    case MB_BF16: {
        float f = (float)v;
        uint32_t u;
        memcpy(&u, &f, sizeof u);
        u += 0x7fffu + ((u >> 16) & 1u);   /* round to nearest even */
        ((uint16_t *)t->data)[i] = (uint16_t)(u >> 16);
        return;
    }
    case MB_I32:
        ((int32_t *)t->data)[i] = (int32_t)v;
        return;
    case MB_F16:
    case MB_I8:
    case MB_I4:
    case MB_DTYPE_COUNT:
        return;   /* not drawn: see tensor.h */
    }
}

double mb_rand_unit(uint64_t seed, uint64_t stream, uint64_t counter)
{
    return unit(draw(key_of(seed, stream), counter));
}

void mb_fill_uniform(mb_tensor *t, uint64_t seed, uint64_t stream, float lo, float hi)
{
    int64_t n = mb_tensor_numel(t);
    uint64_t key = key_of(seed, stream);
    double a = lo, w = (double)hi - (double)lo;
#pragma omp parallel for schedule(static) if (n >= MB_FILL_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        store(t, i, a + w * unit(draw(key, (uint64_t)i)));
}

void mb_fill_normal(mb_tensor *t, uint64_t seed, uint64_t stream, float mean, float std)
{
    int64_t n = mb_tensor_numel(t);
    int64_t pairs = (n + 1) / 2;
    uint64_t key = key_of(seed, stream);
    /* Box-Muller: pair j = elements 2j and 2j+1 (cosine and sine branch) from draws 2j and
     * 2j+1, so element i still depends on i alone and one log/sqrt serves two elements. */
#pragma omp parallel for schedule(static) if (n >= MB_FILL_PAR_MIN)
    for (int64_t j = 0; j < pairs; j++) {
        double u1 = unit_open0(draw(key, 2 * (uint64_t)j));
        double u2 = unit(draw(key, 2 * (uint64_t)j + 1));
        double rad = sqrt(-2.0 * log(u1)), ang = 2.0 * M_PI * u2;
        store(t, 2 * j, (double)mean + (double)std * rad * cos(ang));
        if (2 * j + 1 < n)
            store(t, 2 * j + 1, (double)mean + (double)std * rad * sin(ang));
    }
}

void mb_fill_int(mb_tensor *t, uint64_t seed, uint64_t stream, int32_t n_values)
{
    int64_t n = mb_tensor_numel(t);
    uint64_t key = key_of(seed, stream);
    uint64_t m = n_values > 0 ? (uint64_t)n_values : 1;
#pragma omp parallel for schedule(static) if (n >= MB_FILL_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        /* Lemire's multiply-shift maps 32 random bits onto [0, m) without division. */
        uint64_t v = ((draw(key, (uint64_t)i) >> 32) * m) >> 32;
        store(t, i, (double)v);
    }
}
