/* The cache-aware roofline's rules (see roof_level.h). */
#include "roof_level.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const names[MB_RL_NLEVELS] = {"L1", "L2", "L3", "DRAM"};

const char *mb_roof_level_name(int level)
{
    return level >= 0 && level < MB_RL_NLEVELS ? names[level] : "";
}

int mb_roof_level_index(const char *name)
{
    for (int l = 0; name && l < MB_RL_NLEVELS; l++)
        if (!strcmp(name, names[l]))
            return l;
    return -1;
}

int mb_roof_level_of(double ws_bytes, int threads, int cold, const double cache_bytes[3])
{
    if (cold || !(ws_bytes >= 0))
        return MB_RL_DRAM;
    double t = threads > 0 ? threads : 1;
    for (int l = MB_RL_L1; l <= MB_RL_L3; l++) {
        double cap = cache_bytes[l] > 0 ? cache_bytes[l] : 0;
        if (l != MB_RL_L3)
            cap *= t;   /* private: every thread brings its own */
        if (cap > 0 && ws_bytes <= cap * MB_ROOF_SPILL)
            return l;
    }
    return MB_RL_DRAM;
}

double mb_roof_ceiling(double peak, const double gbps[MB_RL_NLEVELS], int level, double ai,
                       int *used)
{
    *used = -1;
    if (!(peak > 0))
        return NAN;
    if (level < 0 || level >= MB_RL_NLEVELS)
        level = MB_RL_DRAM;
    for (int l = level; l < MB_RL_NLEVELS; l++)
        if (gbps[l] > 0 && isfinite(gbps[l])) {
            *used = l;
            return ai > 0 && ai * gbps[l] < peak ? ai * gbps[l] : peak;
        }
    return peak;
}

int mb_roof_check_plausible(const double gbps[MB_RL_NLEVELS], double tol, char *why, size_t n)
{
    for (int l = 0; l < MB_RL_NLEVELS; l++) {
        if (!(gbps[l] > 0 && isfinite(gbps[l])))
            continue;
        for (int m = l + 1; m < MB_RL_NLEVELS; m++) {
            if (!(gbps[m] > 0 && isfinite(gbps[m])))
                continue;
            if (gbps[l] < gbps[m] * (1 - tol)) {
                if (n)
                    snprintf(why, n, "%s %.1f GB/s < %s %.1f GB/s (a faster level measured "
                             "slower than a slower one)", names[l], gbps[l], names[m], gbps[m]);
                return -1;
            }
        }
    }
    if (n)
        why[0] = '\0';
    return 0;
}

int mb_roof_check_threads(const double all[MB_RL_NLEVELS], const double one[MB_RL_NLEVELS],
                          double tol, char *why, size_t n)
{
    for (int l = 0; l < MB_RL_NLEVELS; l++)
        if (all[l] > 0 && one[l] > 0 && isfinite(all[l]) && isfinite(one[l]) &&
            all[l] < one[l] * (1 - tol)) {
            if (n)
                snprintf(why, n, "%s: all threads %.1f GB/s < 1 thread %.1f GB/s (the other "
                         "threads' cores were busy)", names[l], all[l], one[l]);
            return -1;
        }
    if (n)
        why[0] = '\0';
    return 0;
}
