/* This machine's ceilings for roofline charts, measured, never hard-coded: FP32 FMA peak
 * (AVX-512 and AVX2, one and all threads) and read / triad bandwidth for working sets sized to
 * sit in L1, L2, L3 and DRAM (sizes from hwloc). Stored as roofline.json; run.json may embed the
 * same object under "roofline". */
#ifndef MOEBENCH_ROOFLINE_H
#define MOEBENCH_ROOFLINE_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "roofline_file.h"   /* levels, mb_roof, the reader */
#include "moebench/roofline_kernels.h"


typedef struct {
    double bytes;                       /* working set of one measurement (per thread for L1/L2) */
    double read_gbps_1t, read_gbps;     /* one thread, all threads */
    double triad_gbps_1t, triad_gbps;
    double panels_gbps_1t, panels_gbps; /* 0 where a thread's set holds too few panels */
} mb_rl_level;

typedef struct {
    int threads;
    int quick;
    const char *isa_used;                  /* "avx512", "avx2" or "scalar" for bandwidth */
    double peak_gflops, peak_gflops_1t;    /* best ISA */
    double avx512_gflops, avx512_gflops_1t; /* NAN when the CPU cannot execute it */
    double avx2_gflops, avx2_gflops_1t;
    double scalar_gflops_1t;
    /* bf16 dot-product peak (AVX512_BF16 vdpbf16ps), the ceiling of bf16 rows, not in peak_*:
     * NAN (or 0) where not measured, with the reason ("" when measured) */
    double bf16_avx512_gflops, bf16_avx512_gflops_1t;
    char bf16_avx512_why[200];
    mb_rl_level level[MB_RL_NLEVELS];
    double cache_bytes[3];                 /* one core's L1d and L2, the shared L3 (0: absent) */
    int attempts;                          /* level measurements taken (re-measured when implausible) */
    int implausible;                       /* bandwidths still not falling L1 >= ... >= DRAM */
    char implausible_why[200];
    double seconds;                        /* time the measurement took */
} mb_roofline;

extern const char *const mb_rl_level_names[MB_RL_NLEVELS]; /* "L1", "L2", "L3", "DRAM" */

/* A level's ceiling: the best of its read, triad and panels bandwidth (one thread or all). A
 * ceiling is the best the level was seen to deliver: one read stream alone underestimates DRAM,
 * which GEMV-like kernels streaming several rows at once exceed (merged T=1 rows read 112-118 %
 * of a read/triad DRAM roof on a Zen 2 VM); panels reads the way they do. */
double mb_rl_level_gbps(const mb_rl_level *lv, int one_thread);

/* Cache sizes in bytes from hwloc (L1d, L2, L3 as seen by the first core); 0 when absent. */
void mb_rl_cache_sizes(double sz[3]);

/* Measures everything (about 15 s; quick: about 4 s, noisier): best of many short trials.
 * 0 on success. */
int mb_roofline_measure(mb_roofline *rl, int quick, char *err, size_t n);
/* One level's bandwidth now (best of read, triad and panels; GB/s, NAN when it cannot be
 * measured), on `threads` threads, with the quick roofline's working set for these cache sizes:
 * a row that reads above its ceiling has its level re-measured (mb_exec_config.remeasure_gbps)
 * because on a shared host the bandwidth of the run's start is not the bandwidth of its rows.
 * Runs OpenMP threads: only in a process that forks no more (the case's child). */
double mb_roofline_level_now(int level, int threads, const double cache_bytes[3]);
/* The same, measured in a forked child: the measurement starts OpenMP threads, and libgomp's
 * pool does not survive fork(), so a process that forks afterwards (the runner forks every case)
 * must never have run it itself, or its children hang in their first parallel region. */
int mb_roofline_measure_forked(mb_roofline *rl, int quick, char *err, size_t n);
/* roofline.json object: peak_gflops, peak_gflops_1t, dram_gbps, dram_gbps_1t, l1_gbps ... (each
 * mb_rl_level_gbps),
 * cache_bytes {L1, L2, L3}, plausible (and implausible_reason) and a "levels" object with every
 * number. */
cJSON *mb_roofline_to_json(const mb_roofline *rl);

#endif
