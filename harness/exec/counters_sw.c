/* Software events from perf_event_open and getrusage (see counters_sw.h). */
#include "counters_sw.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct {
    const char *papi;
    unsigned long long config;
} sw[MB_SW_COUNT] = {
    [MB_SW_TASK_CLOCK] = {"perf::TASK-CLOCK", PERF_COUNT_SW_TASK_CLOCK},
    [MB_SW_PAGE_FAULTS] = {"perf::PAGE-FAULTS", PERF_COUNT_SW_PAGE_FAULTS},
    [MB_SW_CONTEXT_SWITCHES] = {"perf::CONTEXT-SWITCHES", PERF_COUNT_SW_CONTEXT_SWITCHES},
    [MB_SW_CPU_MIGRATIONS] = {"perf::CPU-MIGRATIONS", PERF_COUNT_SW_CPU_MIGRATIONS},
};

int mb_sw_event_of(const char *name)
{
    for (int i = 0; i < MB_SW_COUNT; i++)
        if (name && !strcmp(name, sw[i].papi))
            return i;
    return -1;
}

static int open_attr(mb_sw_event ev, int exclude_kernel)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.type = PERF_TYPE_SOFTWARE;
    a.size = sizeof a;
    a.config = sw[ev].config;
    a.inherit = 1;
    a.exclude_kernel = (unsigned)exclude_kernel;
    a.exclude_hv = 1;
    return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

int mb_perf_sw_open(mb_sw_event ev, char *why, size_t n)
{
    if ((unsigned)ev >= MB_SW_COUNT) {
        snprintf(why, n, "not a software event");
        return -1;
    }
    int fd = open_attr(ev, 0);
    /* perf_event_paranoid >= 2 refuses kernel-side counting to an unprivileged user */
    if (fd < 0 && (errno == EACCES || errno == EPERM))
        fd = open_attr(ev, 1);
    if (fd < 0)
        snprintf(why, n, "perf_event_open: %s%s", strerror(errno),
                 errno == EACCES || errno == EPERM ? " (see /proc/sys/kernel/perf_event_paranoid)"
                 : errno == ENOENT || errno == ENOSYS ? " (kernel without perf events?)" : "");
    return fd;
}

int mb_perf_sw_read(int fd, double *v)
{
    uint64_t x = 0;
    if (fd < 0 || read(fd, &x, sizeof x) != (ssize_t)sizeof x)
        return -1;
    *v = (double)x;
    return 0;
}

int mb_rusage_sw_read(mb_sw_event ev, double *v, char *why, size_t n)
{
    struct rusage u;
    if (ev == MB_SW_CPU_MIGRATIONS) {
        snprintf(why, n, "getrusage has no count of CPU migrations");
        return -1;
    }
    if (getrusage(RUSAGE_SELF, &u) != 0) {
        snprintf(why, n, "getrusage: %s", strerror(errno));
        return -1;
    }
    switch (ev) {
    case MB_SW_TASK_CLOCK:
        *v = ((double)u.ru_utime.tv_sec + (double)u.ru_stime.tv_sec) * 1e9 +
             ((double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_usec) * 1e3;
        return 0;
    case MB_SW_PAGE_FAULTS:
        *v = (double)u.ru_minflt + (double)u.ru_majflt;
        return 0;
    case MB_SW_CONTEXT_SWITCHES:
        *v = (double)u.ru_nvcsw + (double)u.ru_nivcsw;
        return 0;
    default:
        snprintf(why, n, "not a software event");
        return -1;
    }
}
