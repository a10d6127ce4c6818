/* Process memory probes (see memory.h). */
#include "memory.h"

#include <hwloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int64_t mb_peak_rss_bytes(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (int64_t)ru.ru_maxrss * 1024;   /* Linux reports KiB */
}

int mb_peak_rss_reset(void)
{
    /* "5" resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0, proc(5)) */
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return -1;
    int ok = fputs("5", f) >= 0;
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

/* The "KEY: N kB" line of a /proc file, in bytes; -1 when absent. */
static int64_t proc_kb_field(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    size_t kl = strlen(key);
    int64_t v = -1;
    while (fgets(line, sizeof line, f)) {
        long long kb;
        if (!strncmp(line, key, kl) && line[kl] == ':' && sscanf(line + kl + 1, "%lld", &kb) == 1) {
            v = (int64_t)kb * 1024;
            break;
        }
    }
    fclose(f);
    return v;
}

int64_t mb_hwm_bytes(void)
{
    return proc_kb_field("/proc/self/status", "VmHWM");
}

int64_t mb_current_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    long long size, resident;
    int n = fscanf(f, "%lld %lld", &size, &resident);
    fclose(f);
    if (n != 2)
        return -1;
    return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

int64_t mb_mem_available_bytes(void)
{
    return proc_kb_field("/proc/meminfo", "MemAvailable");
}

static int64_t llc_probe(void);

int64_t mb_llc_bytes(void)
{
    /* the topology is loaded once per process (a fork inherits the cached value) */
    static int done;
    static int64_t cached = -1;
    if (!done) {
        cached = llc_probe();
        done = 1;
    }
    return cached;
}

static int64_t llc_probe(void)
{
    hwloc_topology_t topo;
    int64_t best = -1;
    if (hwloc_topology_init(&topo) == 0) {
        if (hwloc_topology_load(topo) == 0) {
            for (hwloc_obj_type_t t = HWLOC_OBJ_L1CACHE; t <= HWLOC_OBJ_L5CACHE; t++) {
                hwloc_obj_t o = hwloc_get_next_obj_by_type(topo, t, NULL);
                if (o && o->attr && (int64_t)o->attr->cache.size > best)
                    best = (int64_t)o->attr->cache.size;
            }
        }
        hwloc_topology_destroy(topo);
    }
    if (best > 0)
        return best;
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/cache/index3/size", "r");
    if (f) {
        long long kb;
        if (fscanf(f, "%lldK", &kb) == 1)
            best = (int64_t)kb * 1024;
        fclose(f);
    }
    return best;
}

const char *mb_peak_rss_method(void)
{
    /* probing clear_refs resets the calling process's peak RSS: call it in the parent, whose
     * peak nothing reads */
    int clear_ok = mb_peak_rss_reset() == 0 && mb_hwm_bytes() > 0;
    return clear_ok ? "VmHWM of the case's child process per implementation: reset "
                      "by writing 5 to /proc/self/clear_refs before each one"
                    : "ru_maxrss of the case's child process: /proc/self/clear_refs "
                      "cannot be written here, so the peak carries over between "
                      "the implementations of one case (it only grows)";
}
