/* The counter sources (harness/exec/counters.c): each forced in turn with MOEBENCH_COUNTERS, so
 * the fallbacks a VM without PAPI's perf_event component takes are tested here, where PAPI
 * works. In a forked child, as in a case: the counters begin before any thread exists, then
 * threads created afterwards do work that only they do, and the counts must include it:
 *   - an OpenMP worker (alive when the counters are read, as the pool is) touches fresh pages:
 *     page faults >= pages touched;
 *   - a pthread (ended when read) burns CPU time: task clock >= its own CPU time
 *     (CLOCK_THREAD_CPUTIME_ID; CPU time against CPU time, never wall time);
 *   - the kernels' work count (sde / libmoebench) sees a GEMM recorded by the worker. */
#define _GNU_SOURCE
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "counters.h"
#include "moebench/work.h"

#define PAGES 2000
static const char *const events =
    "perf::TASK-CLOCK,perf::PAGE-FAULTS,perf::CONTEXT-SWITCHES,perf::CPU-MIGRATIONS,"
    "sde:::moebench::flops";
enum { TASK_CLOCK, PAGE_FAULTS, CSW, MIGRATIONS, FLOPS };

static double thread_cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void *burn(void *arg)
{
    double t0 = thread_cpu_ns();
    volatile double x = 1.0;
    while (thread_cpu_ns() - t0 < 50e6)   /* 50 ms of this thread's CPU time */
        for (int i = 0; i < 10000; i++) x = x * 1.0000001 + 1e-9;
    *(double *)arg = thread_cpu_ns() - t0;
    return NULL;
}

/* The child: exit status 0 when every check holds, else the failing check's number. */
static int child(mb_counters *c)
{
    mb_counters_child_begin(c);
    size_t psz = (size_t)sysconf(_SC_PAGESIZE), len = PAGES * psz;
    char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return 10;
    madvise(mem, len, MADV_NOHUGEPAGE);   /* one fault per page */
    if (mb_counters_start(c) != 0) return 11;
    static int dummy_weight;
    #pragma omp parallel num_threads(2)
    {
        if (omp_get_thread_num() == 1) {
            for (size_t i = 0; i < len; i += psz) mem[i] = 1;
            mb_work_gemm(&dummy_weight, 2, 3, 4, 32);
        }
    }
    double worker_ns = 0;
    pthread_t th;
    if (pthread_create(&th, NULL, burn, &worker_ns) != 0) return 12;
    pthread_join(th, NULL);
    double v[MB_MAX_COUNTERS];
    mb_counters_stop(c, 1.0, v);
    int bad = 0;
    if (c->available[PAGE_FAULTS] && !(v[PAGE_FAULTS] >= PAGES)) bad = 1;
    if (c->available[TASK_CLOCK] && !(v[TASK_CLOCK] >= 0.95 * worker_ns)) bad = 2;
    if (c->available[FLOPS] && v[FLOPS] != 48) bad = 3;
    if (!c->available[MIGRATIONS] && !isnan(v[MIGRATIONS])) bad = 4;   /* empty, never 0 */
    if (bad)
        fprintf(stderr, "child: page faults %g (>= %d), task clock %g ns (>= 0.95 x %g), "
                        "flops %g (48)\n", v[PAGE_FAULTS], PAGES, v[TASK_CLOCK], worker_ns,
                v[FLOPS]);
    mb_counters_child_end(c);
    return bad;
}

static void one_mode(const char *mode, int want_sw, int want_flops, int want_migrations)
{
    if (mode) setenv("MOEBENCH_COUNTERS", mode, 1);
    else unsetenv("MOEBENCH_COUNTERS");
    const char *m = mode ? mode : "(unset)";
    mb_counters c;
    char err[512] = "";
    CHECK_MSG(mb_counters_probe(&c, events, err, sizeof err) == 0, "%s: %s", m, err);
    CHECK(c.n == 5);
    for (int i = TASK_CLOCK; i <= CSW; i++)
        CHECK_MSG(c.available[i] && (want_sw < 0 || c.source[i] == want_sw),
                  "%s: %s from %s, want %s (%s)", m, c.event[i],
                  mb_counters_source_name(c.source[i]), mb_counters_source_name(want_sw),
                  c.reason[i]);
    CHECK_MSG(want_migrations ? c.available[MIGRATIONS] : !c.available[MIGRATIONS] &&
                                                              strstr(c.reason[MIGRATIONS], "getrusage"),
              "%s: migrations %s", m, c.reason[MIGRATIONS]);
    CHECK_MSG(c.available[FLOPS] && c.source[FLOPS] == want_flops, "%s: flops from %s", m,
              mb_counters_source_name(c.source[FLOPS]));
    /* run.json names the source of each available counter */
    cJSON *j = mb_counters_json(&c);
    cJSON *ev = cJSON_GetObjectItem(j, "events");
    for (int i = 0; i < c.n; i++) {
        cJSON *e = cJSON_GetArrayItem(ev, i);
        cJSON *src = cJSON_GetObjectItem(e, "source");
        if (c.available[i])
            CHECK(src && !strcmp(src->valuestring, mb_counters_source_name(c.source[i])));
        else
            CHECK(!src && cJSON_GetObjectItem(e, "reason"));
    }
    cJSON_Delete(j);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) _exit(child(&c));
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: child check %d failed", m,
              WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int main(void)
{
#if defined(MOEBENCH_HAVE_PAPI) && defined(MOEBENCH_HAVE_SDE)
    const int sde = MB_CTR_SDE;      /* read through PAPI's sde component */
#else
    const int sde = MB_CTR_DIRECT;   /* read from the kernels */
#endif
    /* the default: PAPI where it counts (here its software events), whatever the source */
    one_mode(NULL, -1, sde, 1);
    one_mode("perf_event", MB_CTR_PERF, sde, 1);
    one_mode("getrusage", MB_CTR_RUSAGE, sde, 0);
    one_mode("nopapi", MB_CTR_PERF, MB_CTR_DIRECT, 1);
    setenv("MOEBENCH_COUNTERS", "bogus", 1);
    mb_counters c;
    char err[512] = "";
    CHECK(mb_counters_probe(&c, "auto", err, sizeof err) == -1 && strstr(err, "MOEBENCH_COUNTERS"));
    return mb_test_result("test_harness_counters");
}
