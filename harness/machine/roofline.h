/* This machine's ceilings for roofline charts, measured, never hard-coded: FP32 FMA peak
 * (AVX-512 and AVX2, one and all threads) and read / triad bandwidth for working sets sized to
 * sit in L1, L2, L3 and DRAM (sizes from hwloc). Stored as roofline.json; run.json may embed the
 * same object under "roofline". */
#ifndef MOEBENCH_ROOFLINE_H
#define MOEBENCH_ROOFLINE_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "roofline_file.h"   /* levels, mb_roof, the reader */


typedef struct {
    double bytes;                       /* working set of one measurement (per thread for L1/L2) */
    double read_gbps_1t, read_gbps;     /* one thread, all threads */
    double triad_gbps_1t, triad_gbps;
} mb_rl_level;

typedef struct {
    int threads;
    int quick;
    const char *isa_used;                  /* "avx512", "avx2" or "scalar" for bandwidth */
    double peak_gflops, peak_gflops_1t;    /* best ISA */
    double avx512_gflops, avx512_gflops_1t; /* NAN when the CPU cannot execute it */
    double avx2_gflops, avx2_gflops_1t;
    double scalar_gflops_1t;
    mb_rl_level level[MB_RL_NLEVELS];
    double seconds;                        /* time the measurement took */
} mb_roofline;

extern const char *const mb_rl_level_names[MB_RL_NLEVELS]; /* "L1", "L2", "L3", "DRAM" */

/* Measures everything (about 15 s; quick: about 4 s, noisier): best of many short trials.
 * 0 on success. */
int mb_roofline_measure(mb_roofline *rl, int quick, char *err, size_t n);
/* The same, measured in a forked child: the measurement starts OpenMP threads, and libgomp's
 * pool does not survive fork(), so a process that forks afterwards (the runner forks every case)
 * must never have run it itself, or its children hang in their first parallel region. */
int mb_roofline_measure_forked(mb_roofline *rl, int quick, char *err, size_t n);
/* roofline.json object: peak_gflops, peak_gflops_1t, dram_gbps, dram_gbps_1t, l1_gbps ... and
 * a "levels" object with every number. */
cJSON *mb_roofline_to_json(const mb_roofline *rl);

/* Measurement kernels (roofline_kernels.c, roofline_avx512.c). Each returns the FLOPs done or
 * the bytes moved by one call; iters scales the work. */
double mb_rl_fma_avx512(long iters);
double mb_rl_fma_avx2(long iters);
double mb_rl_fma_scalar(long iters);
/* Sum of n floats (read) and a[i] = b[i] + s c[i] (triad) over n floats; the result is kept
 * in *sink so the work cannot be optimised away. */
void mb_rl_read_avx512(const float *x, size_t n, float *sink);
void mb_rl_triad_avx512(float *a, const float *b, const float *c, size_t n, float s);
void mb_rl_read_avx2(const float *x, size_t n, float *sink);
void mb_rl_triad_avx2(float *a, const float *b, const float *c, size_t n, float s);
void mb_rl_read_scalar(const float *x, size_t n, float *sink);
void mb_rl_triad_scalar(float *a, const float *b, const float *c, size_t n, float s);
/* Whether this CPU executes the ISA (runtime check). */
int mb_rl_cpu_has_avx512(void);
int mb_rl_cpu_has_avx2(void);

#endif
