/* Process memory probes for the harness: peak and current RSS, available memory, and the
 * last-level cache size (for --cache cold). */
#ifndef MOEBENCH_MEMORY_H
#define MOEBENCH_MEMORY_H

#include <stdint.h>

/* Peak RSS of the calling process in bytes (getrusage ru_maxrss), -1 if unknown. */
int64_t mb_peak_rss_bytes(void);
/* Resets the peak RSS of the calling process to its current RSS by writing "5" to
 * /proc/self/clear_refs; 0 on success, -1 when the kernel does not allow it. */
int mb_peak_rss_reset(void);
/* VmHWM (peak RSS since start or since the last mb_peak_rss_reset) in bytes, -1 if unknown. */
int64_t mb_hwm_bytes(void);
/* Current RSS in bytes (/proc/self/statm), -1 if unknown. */
int64_t mb_current_rss_bytes(void);
/* MemAvailable from /proc/meminfo in bytes, -1 if unknown. */
int64_t mb_mem_available_bytes(void);
/* Size of the largest cache level reported by hwloc (fallback: sysfs), -1 if unknown; probed
 * once per process and cached. */
int64_t mb_llc_bytes(void);

/* How peak_rss_bytes is measured on this machine, for run.json (resets this process's peak
 * RSS while probing). */
const char *mb_peak_rss_method(void);

#endif
