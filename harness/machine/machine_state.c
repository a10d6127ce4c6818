/* Machine state around a run (see machine_state.h). */
#define _GNU_SOURCE
#include "machine_state.h"

#include <errno.h>
#include <hwloc.h>
#include <hwloc/glibc-sched.h>
#include <omp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child_guard.h"
#include "load_env.h"
#include "provenance.h"

#define CPUFREQ "/sys/devices/system/cpu"

/* First line of a small sysfs file into out; -1 when absent. */
static int read_line(const char *path, char *out, size_t n)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fgets(out, (int)n, f) != NULL;
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
    return ok ? 0 : -1;
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void add_num_file(cJSON *o, const char *key, const char *path)
{
    char v[64];
    char *end;
    if (read_line(path, v, sizeof v) == 0) {
        double x = strtod(v, &end);
        if (end != v)
            cJSON_AddNumberToObject(o, key, x);
    }
}

/* cpufreq per online CPU, or why there is none */
static void add_cpufreq(cJSON *ms)
{
    cJSON *cf = cJSON_AddObjectToObject(ms, "cpufreq");
    struct stat sb;
    if (stat(CPUFREQ "/cpu0/cpufreq", &sb) != 0) {
        cJSON_AddBoolToObject(cf, "available", 0);
        cJSON_AddStringToObject(cf, "reason", mb_is_vm()
            ? "no cpufreq in this VM (no " CPUFREQ "/cpu0/cpufreq: the hypervisor sets the "
              "frequency, the guest neither sees nor controls it)"
            : "no " CPUFREQ "/cpu0/cpufreq: the kernel has no cpufreq driver for this CPU");
        cJSON_AddStringToObject(ms, "governor_reason", "no cpufreq, so no governor");
        cJSON_AddNullToObject(ms, "governor");
        return;
    }
    cJSON_AddBoolToObject(cf, "available", 1);
    char v[128], path[256];
    if (read_line(CPUFREQ "/cpu0/cpufreq/scaling_driver", v, sizeof v) == 0)
        cJSON_AddStringToObject(cf, "driver", v);
    cJSON *cpus = cJSON_AddArrayToObject(cf, "cpus");
    for (int i = 0; i < online_cpus() && i < 1024; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "cpu", i);
        static const char *const keys[][2] = {{"cur_khz", "scaling_cur_freq"},
                                              {"min_khz", "scaling_min_freq"},
                                              {"max_khz", "scaling_max_freq"},
                                              {"hw_max_khz", "cpuinfo_max_freq"}};
        for (int k = 0; k < 4; k++) {
            snprintf(path, sizeof path, CPUFREQ "/cpu%d/cpufreq/%s", i, keys[k][1]);
            add_num_file(c, keys[k][0], path);
        }
        snprintf(path, sizeof path, CPUFREQ "/cpu%d/cpufreq/scaling_governor", i);
        if (read_line(path, v, sizeof v) == 0)
            cJSON_AddStringToObject(c, "governor", v);
        cJSON_AddItemToArray(cpus, c);
    }
    if (read_line(CPUFREQ "/cpu0/cpufreq/scaling_governor", v, sizeof v) == 0) {
        cJSON_AddStringToObject(ms, "governor", v);
    } else {
        cJSON_AddNullToObject(ms, "governor");
        cJSON_AddStringToObject(ms, "governor_reason", "cpufreq without scaling_governor");
    }
}

/* turbo / boost: acpi-cpufreq's and amd-pstate's boost, intel_pstate's no_turbo */
static void add_turbo(cJSON *ms)
{
    cJSON *t = cJSON_AddObjectToObject(ms, "turbo");
    char v[32];
    if (read_line(CPUFREQ "/cpufreq/boost", v, sizeof v) == 0) {
        cJSON_AddBoolToObject(t, "enabled", atoi(v) != 0);
        cJSON_AddStringToObject(t, "source", CPUFREQ "/cpufreq/boost");
    } else if (read_line(CPUFREQ "/intel_pstate/no_turbo", v, sizeof v) == 0) {
        cJSON_AddBoolToObject(t, "enabled", atoi(v) == 0);
        cJSON_AddStringToObject(t, "source", CPUFREQ "/intel_pstate/no_turbo");
    } else {
        cJSON_AddNullToObject(t, "enabled");
        cJSON_AddStringToObject(t, "reason", mb_is_vm()
            ? "no boost or intel_pstate/no_turbo in this VM: turbo is the host's"
            : "the cpufreq driver exposes no boost or intel_pstate/no_turbo switch");
    }
}

/* "cpu MHz" of /proc/cpuinfo per CPU: in a VM usually the host's nominal clock, not a
 * measurement */
static void add_cpuinfo_mhz(cJSON *ms)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    cJSON *a = cJSON_AddArrayToObject(ms, "cpuinfo_mhz");
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0)
        if (!strncmp(line, "cpu MHz", 7) && strchr(line, ':'))
            cJSON_AddItemToArray(a, cJSON_CreateNumber(atof(strchr(line, ':') + 1)));
    free(line);
    fclose(f);
}

static void add_loadavg(cJSON *ms, const char *key)
{
    double la[3];
    int n = getloadavg(la, 3);
    if (n < 3) {
        cJSON_AddNullToObject(ms, key);
        return;
    }
    cJSON *a = cJSON_AddArrayToObject(ms, key);
    for (int i = 0; i < 3; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(la[i]));
}

/* A cpuset as hwloc lists it ("0-1,4"), from a glibc mask. */
static void list_of(hwloc_topology_t topo, const cpu_set_t *mask, char *out, size_t n)
{
    hwloc_bitmap_t b = hwloc_bitmap_alloc();
    out[0] = '\0';
    if (b && hwloc_cpuset_from_glibc_sched_affinity(topo, b, mask, sizeof *mask) == 0)
        hwloc_bitmap_list_snprintf(out, n, b);
    hwloc_bitmap_free(b);
}

static const char *bind_name(omp_proc_bind_t b)
{
    /* 2 is "primary" in OpenMP 5.1 (libgomp) and "master" before it (clang 14's libomp has
     * only the old name): by value, so both runtimes compile */
    switch ((int)b) {
    case omp_proc_bind_false: return "false";
    case omp_proc_bind_true: return "true";
    case 2: return "primary";
    case omp_proc_bind_close: return "close";
    case omp_proc_bind_spread: return "spread";
    default: return "other";
    }
}

/* Each OpenMP thread's CPU and affinity, from a parallel region run in a forked child: the
 * parent must not start an OpenMP team before it forks the cases (libgomp's pool does not
 * survive fork). */
static cJSON *thread_binding(hwloc_topology_t topo, int threads)
{
    int fd[2];
    if (pipe(fd) != 0)
        return NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return NULL;
    }
    if (pid == 0) {
        mb_child_guard(parent);
        close(fd[0]);
        FILE *w = fdopen(fd[1], "w");
        if (!w)
            _exit(1);
#pragma omp parallel num_threads(threads)
        {
            cpu_set_t m;
            CPU_ZERO(&m);
            char list[256] = "";
            if (sched_getaffinity(0, sizeof m, &m) == 0)
                list_of(topo, &m, list, sizeof list);
            int t = omp_get_thread_num(), cpu = sched_getcpu();
#pragma omp critical
            fprintf(w, "%d %d %s\n", t, cpu, list);
        }
        fclose(w);
        _exit(0);
    }
    close(fd[1]);
    FILE *r = fdopen(fd[0], "r");
    cJSON *a = cJSON_CreateArray();
    char line[400];
    while (r && fgets(line, sizeof line, r)) {
        int t, cpu;
        char list[300] = "";
        if (sscanf(line, "%d %d %299s", &t, &cpu, list) >= 2) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "thread", t);
            cJSON_AddNumberToObject(o, "cpu", cpu);
            cJSON_AddStringToObject(o, "affinity", list);
            cJSON_AddItemToArray(a, o);
        }
    }
    if (r)
        fclose(r);
    else
        close(fd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return a;
}

static void add_binding(cJSON *ms, int threads, int pin)
{
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0)
        return;
    if (hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return;
    }
    cpu_set_t m;
    CPU_ZERO(&m);
    char list[256] = "";
    if (sched_getaffinity(0, sizeof m, &m) == 0) {
        list_of(topo, &m, list, sizeof list);
        cJSON *aff = cJSON_AddObjectToObject(ms, "affinity");
        cJSON_AddStringToObject(aff, "cpus", list);
        cJSON_AddNumberToObject(aff, "count", CPU_COUNT(&m));
        cJSON_AddNumberToObject(aff, "online_cpus", online_cpus());
        cJSON_AddStringToObject(aff, "note", "the initial thread's mask: with OMP_PROC_BIND set, "
                                "libgomp binds it to the first place at load (threads: pin)");
    }

    cJSON *omp = cJSON_AddObjectToObject(ms, "openmp");
    static const char *const vars[] = {"OMP_PROC_BIND", "OMP_PLACES"};
    for (int i = 0; i < 2; i++) {
        const char *v = getenv(vars[i]), *src = mb_load_env_source(vars[i]);
        cJSON *o = cJSON_AddObjectToObject(omp, vars[i]);
        if (v && *v)
            cJSON_AddStringToObject(o, "value", v);
        else
            cJSON_AddNullToObject(o, "value");
        cJSON_AddStringToObject(o, "source", !src ? "unset" : !strcmp(src, "option")
                                                             ? "option --pin" : "environment");
    }
    /* what libgomp made of them (ICVs; no thread is started for these) */
    cJSON_AddStringToObject(omp, "proc_bind", bind_name(omp_get_proc_bind()));
    int np = omp_get_num_places();
    cJSON *places = cJSON_AddArrayToObject(omp, "places");
    for (int p = 0; p < np && p < 1024; p++) {
        int k = omp_get_place_num_procs(p);
        int ids[256];
        if (k <= 0 || k > 256)
            continue;
        omp_get_place_proc_ids(p, ids);
        char s[1200] = "";
        for (int j = 0; j < k; j++)
            snprintf(s + strlen(s), sizeof s - strlen(s), "%s%d", j ? "," : "", ids[j]);
        cJSON_AddItemToArray(places, cJSON_CreateString(s));
    }
    cJSON *pj = cJSON_AddObjectToObject(ms, "pin");
    cJSON_AddBoolToObject(pj, "requested", pin);
    cJSON_AddStringToObject(pj, "method", "OMP_PROC_BIND=close OMP_PLACES=cores before the "
                            "libraries load: binds the OpenMP threads of moebench, OpenBLAS "
                            "(OpenMP build) and oneDNN (OpenMP runtime)");
    cJSON *tb = thread_binding(topo, threads > 0 ? threads : online_cpus());
    if (tb) {
        cJSON_AddItemToObject(pj, "threads", tb);
        cJSON_AddStringToObject(pj, "threads_note", "each thread's CPU and affinity in an OpenMP "
                                "parallel region of a forked child, checked at start");
    }
    hwloc_topology_destroy(topo);
}

cJSON *mb_machine_state_json(int threads, int pin)
{
    cJSON *ms = cJSON_CreateObject();
    add_cpufreq(ms);
    add_turbo(ms);
    add_cpuinfo_mhz(ms);
    add_binding(ms, threads, pin);
    add_loadavg(ms, "loadavg_start");
    cJSON_AddNumberToObject(ms, "busy_load_fraction", MB_BUSY_LOAD_FRACTION);
    const cJSON *la = cJSON_GetObjectItemCaseSensitive(ms, "loadavg_start");
    cJSON_AddBoolToObject(ms, "busy_at_start", cJSON_IsArray(la) &&
                          cJSON_GetArrayItem(la, 0)->valuedouble >=
                              MB_BUSY_LOAD_FRACTION * online_cpus());
    return ms;
}

void mb_machine_state_end(cJSON *run_json)
{
    cJSON *ms = cJSON_GetObjectItemCaseSensitive(run_json, "machine_state");
    if (!ms)
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(ms, "loadavg_end");
    add_loadavg(ms, "loadavg_end");
}

int mb_machine_state_warn_busy(FILE *f, const char *cmd, const cJSON *run_json)
{
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(run_json, "machine_state");
    const cJSON *la = cJSON_GetObjectItemCaseSensitive(ms, "loadavg_start");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ms, "busy_at_start")) || !cJSON_IsArray(la))
        return 0;
    fprintf(f, "moebench %s: warning: the machine is busy (load average %.2f over the last "
               "minute on %d CPUs, busy from %.1f): other work shares the cores, timings will be "
               "slower and noisier\n", cmd, cJSON_GetArrayItem(la, 0)->valuedouble, online_cpus(),
            MB_BUSY_LOAD_FRACTION * online_cpus());
    return 1;
}
