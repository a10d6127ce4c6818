/* The software events without PAPI: perf_event_open(2) directly (the same kernel counters
 * PAPI's perf_event component reads, for when that component is disabled, e.g. "libpfm4: no
 * default PMU found"), and getrusage(2) as the last resort. Values are running totals; the
 * caller takes differences. */
#ifndef MOEBENCH_COUNTERS_SW_H
#define MOEBENCH_COUNTERS_SW_H

#include <stddef.h>

typedef enum {
    MB_SW_TASK_CLOCK,        /* ns of CPU time */
    MB_SW_PAGE_FAULTS,
    MB_SW_CONTEXT_SWITCHES,
    MB_SW_CPU_MIGRATIONS,
    MB_SW_COUNT
} mb_sw_event;

/* The software event PAPI calls name (perf::TASK-CLOCK, perf::PAGE-FAULTS,
 * perf::CONTEXT-SWITCHES, perf::CPU-MIGRATIONS), or -1. */
int mb_sw_event_of(const char *name);

/* Opens ev for this process with inherit = 1, counting from now: threads created after the
 * call are counted too, so open before any worker thread exists. The fd, or -1 with why. */
int mb_perf_sw_open(mb_sw_event ev, char *why, size_t n);
/* The total of fd (this thread and the threads inherited, live or ended); 0, or -1. */
int mb_perf_sw_read(int fd, double *v);

/* The whole process's total of ev from getrusage(RUSAGE_SELF) (every thread, ended ones
 * too); 0, or -1 with why when getrusage has no such count (migrations). */
int mb_rusage_sw_read(mb_sw_event ev, double *v, char *why, size_t n);

#endif
