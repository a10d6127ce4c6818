/* Which ceiling a row is measured against (the cache-aware roofline): the memory level that
 * holds the row's working set, that level's measured bandwidth, and the plausibility of a set
 * of measured bandwidths. Pure functions of numbers, so a run, the charts and the tests apply
 * one rule. */
#ifndef MOEBENCH_ROOF_LEVEL_H
#define MOEBENCH_ROOF_LEVEL_H

#include <stddef.h>
#include "roofline_file.h"   /* MB_RL_L1 ... MB_RL_DRAM */

/* How far a measured value may exceed the one it should stay below before it counts: a faster
 * level may read up to 10 % slower than the next slower one (noise of best-of-N trials), and a
 * row may reach 110 % of its ceiling before it is flagged above it. */
#define MB_ROOF_TOLERANCE 0.10

/* A level serves a working set up to this many times its capacity: caches do not replace
 * strictly least-recently-used (Zen's L3 is a victim cache, Intel's adapts), so a set somewhat
 * larger than a cache still reads much of itself from it, and a ceiling must be an upper bound.
 * The same factor as --cache cold's copies spanning twice the LLC to be out of it. */
#define MB_ROOF_SPILL 2.0

/* "L1", "L2", "L3", "DRAM"; "" for anything else. */
const char *mb_roof_level_name(int level);
/* Level index of a name, -1 when unknown. */
int mb_roof_level_index(const char *name);

/* The level that holds a working set of ws_bytes for a row run with `threads` threads.
 * cold: DRAM (every forward starts with its weights out of cache). warm: the smallest level
 * whose capacity x MB_ROOF_SPILL holds it; L1 and L2 are private, so their capacity is
 * cache_bytes[l] x threads (each thread holds its share), L3 is shared, so its capacity is
 * cache_bytes[L3] once; a level of unknown size (<= 0) is passed over; nothing holds it: DRAM. */
int mb_roof_level_of(double ws_bytes, int threads, int cold, const double cache_bytes[3]);

/* The ceiling in GFLOP/s at arithmetic intensity ai (flop/byte) for a row held in `level`:
 * min(peak, ai x gbps[level]). When that level's bandwidth is unknown (<= 0 or NAN), the next
 * slower known level stands in (a lower roof, never a made-up higher one); *used is the level
 * whose bandwidth was taken (-1 when none was: then the roof is the peak alone). NAN when the
 * peak is unknown. */
double mb_roof_ceiling(double peak, const double gbps[MB_RL_NLEVELS], int level, double ai,
                       int *used);

/* Bandwidths must not grow from L1 out to DRAM: gbps[l] >= gbps[m] x (1 - tol) for every
 * known l < m. 0 when plausible; -1 with the first violation in why ("L1 27.0 GB/s < DRAM
 * 30.0 GB/s"). Unknown levels (<= 0 or NAN) are left out. */
int mb_roof_check_plausible(const double gbps[MB_RL_NLEVELS], double tol, char *why, size_t n);

/* All threads together must not read slower than one thread alone (all[l] >= one[l] x
 * (1 - tol) for each level known in both): a busy machine takes the other threads' cores. 0 when
 * plausible; -1 with the first violation in why ("L3: all threads 26.8 GB/s < 1 thread 67.6
 * GB/s"). */
int mb_roof_check_threads(const double all[MB_RL_NLEVELS], const double one[MB_RL_NLEVELS],
                          double tol, char *why, size_t n);

#endif
