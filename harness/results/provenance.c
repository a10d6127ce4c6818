/* run.json provenance (see provenance.h). */
#include "provenance.h"

#include <hwloc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "moebench/cpu.h"
#include "moebench/threads.h"

#ifdef MOEBENCH_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef MOEBENCH_HAVE_ONEDNN
#include <dnnl.h>
#endif

extern char **environ;


/* First line of a shell command's output, trailing newline removed; "" on failure. */
static void run_cmd(const char *cmd, char *out, size_t n)
{
    out[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    if (!fgets(out, (int)n, p))
        out[0] = '\0';
    pclose(p);
    out[strcspn(out, "\n")] = '\0';
}

static int cmd_has_output(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    int c = fgetc(p);
    int rc = pclose(p);
    if (rc != 0)
        return -1;
    return c != EOF;
}

static void cpuinfo_field(const char *key, char *out, size_t n)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    size_t klen = strlen(key);
    while (getline(&line, &cap, f) > 0) {
        if (!strncmp(line, key, klen) && (line[klen] == ' ' || line[klen] == '\t' || line[klen] == ':')) {
            char *colon = strchr(line, ':');
            if (colon) {
                colon++;
                while (*colon == ' ')
                    colon++;
                snprintf(out, n, "%s", colon);
                out[strcspn(out, "\n")] = '\0';
            }
            break;
        }
    }
    free(line);
    fclose(f);
}

int mb_is_vm(void)
{
    char flags[8192];
    cpuinfo_field("flags", flags, sizeof flags);
    return strstr(flags, " hypervisor") != NULL || !strncmp(flags, "hypervisor", 10);
}

void mb_git_commit(char *out, size_t n)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse --verify -q HEAD 2>/dev/null", MOEBENCH_SOURCE_DIR);
    run_cmd(cmd, out, n);
}

static uint64_t fnv1a_update(uint64_t h, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    return h;
}

void mb_fnv1a_hex(const char *text, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)fnv1a_update(1469598103934665603ull, text));
}

void mb_suite_hash_join(const char *const *file_hashes, int n, char out[17])
{
    /* FNV-1a of the hashes joined by ',', streamed: no cap on the number of files */
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; i++)
        h = fnv1a_update(fnv1a_update(h, i ? "," : ""), file_hashes[i]);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}


static cJSON *git_info(void)
{
    cJSON *g = cJSON_CreateObject();
    char cmd[1200], out[256];
    mb_git_commit(out, sizeof out);
    if (out[0])
        cJSON_AddStringToObject(g, "commit", out);
    else
        cJSON_AddNullToObject(g, "commit");
    snprintf(cmd, sizeof cmd, "git -C '%s' status --porcelain --untracked-files=no 2>/dev/null",
             MOEBENCH_SOURCE_DIR);
    int dirty = out[0] ? cmd_has_output(cmd) : -1;
    if (dirty < 0)
        cJSON_AddNullToObject(g, "dirty");
    else
        cJSON_AddBoolToObject(g, "dirty", dirty);
    cJSON_AddStringToObject(g, "source_dir", MOEBENCH_SOURCE_DIR);
    return g;
}

static cJSON *build_info(void)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "compiler", MOEBENCH_COMPILER);
    cJSON_AddStringToObject(b, "c_flags", MOEBENCH_C_FLAGS);
    cJSON_AddStringToObject(b, "build_type", MOEBENCH_BUILD_TYPE);
    cJSON *feat = cJSON_AddObjectToObject(b, "features");
#ifdef MOEBENCH_HAVE_OPENBLAS
    cJSON_AddBoolToObject(feat, "openblas", 1);
#else
    cJSON_AddBoolToObject(feat, "openblas", 0);
#endif
#ifdef MOEBENCH_HAVE_ONEDNN
    cJSON_AddBoolToObject(feat, "onednn", 1);
#else
    cJSON_AddBoolToObject(feat, "onednn", 0);
#endif
#ifdef MOEBENCH_HAVE_PAPI
    cJSON_AddBoolToObject(feat, "papi", 1);
#else
    cJSON_AddBoolToObject(feat, "papi", 0);
#endif
#ifdef MOEBENCH_HAVE_AVX512
    cJSON_AddBoolToObject(feat, "avx512_compiled", 1);
#else
    cJSON_AddBoolToObject(feat, "avx512_compiled", 0);
#endif
#ifdef __SANITIZE_ADDRESS__
    cJSON_AddBoolToObject(b, "sanitizers", 1);
#else
    cJSON_AddBoolToObject(b, "sanitizers", 0);
#endif
    return b;
}

static cJSON *library_info(const char *papi_library)
{
    cJSON *l = cJSON_CreateObject();
#ifdef MOEBENCH_HAVE_OPENBLAS
    cJSON *ob = cJSON_AddObjectToObject(l, "openblas");
    cJSON_AddStringToObject(ob, "config", openblas_get_config());
    cJSON_AddStringToObject(ob, "core", openblas_get_corename());
#else
    cJSON_AddStringToObject(l, "openblas", "built without OpenBLAS");
#endif
#ifdef MOEBENCH_HAVE_ONEDNN
    const dnnl_version_t *v = dnnl_version();
    cJSON *dn = cJSON_AddObjectToObject(l, "onednn");
    char ver[64];
    snprintf(ver, sizeof ver, "%d.%d.%d", v->major, v->minor, v->patch);
    cJSON_AddStringToObject(dn, "version", ver);
    cJSON_AddStringToObject(dn, "hash", v->hash ? v->hash : "");
    const char *rt = v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP"
                     : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential"
                     : v->cpu_runtime == DNNL_RUNTIME_TBB ? "TBB"
                     : v->cpu_runtime == DNNL_RUNTIME_THREADPOOL ? "threadpool" : "other";
    cJSON_AddStringToObject(dn, "cpu_runtime", rt);
    cJSON_AddStringToObject(dn, "implementation_note",
                            "the primitive implementation chosen per case is printed by "
                            "DNNL_VERBOSE=1 (recorded under environment when set)");
#else
    cJSON_AddStringToObject(l, "onednn", "built without oneDNN");
#endif
    cJSON_AddStringToObject(l, "papi", papi_library ? papi_library : "unknown");
    cJSON_AddStringToObject(l, "cjson", cJSON_Version());
    return l;
}

int mb_cpu_governor(char *out, size_t n)
{
    if (n)
        out[0] = '\0';
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "r");
    if (!f)
        return -1;
    if (n && fgets(out, (int)n, f))
        out[strcspn(out, "\n")] = '\0';
    fclose(f);
    return n && out[0] ? 0 : -1;
}

static cJSON *machine_info(void)
{
    cJSON *m = cJSON_CreateObject();
    char buf[8192];
    cpuinfo_field("model name", buf, sizeof buf);
    cJSON_AddStringToObject(m, "cpu_model", buf);
    cpuinfo_field("flags", buf, sizeof buf);
    cJSON_AddStringToObject(m, "cpu_flags", buf);
    const char *why = NULL;
    int avx = mb_cpu_has_avx512(&why);
    cJSON *ex = cJSON_AddObjectToObject(m, "executed_features");
    cJSON_AddBoolToObject(ex, "avx512", avx);
    if (!avx && why)
        cJSON_AddStringToObject(ex, "avx512_reason", why);
    if (mb_cpu_avx512_emulated())
        cJSON_AddStringToObject(ex, "avx512_emulated",
                                "SIMDe emulation (test build): avx512 rows' times are not the CPU's");
    cJSON_AddBoolToObject(m, "vm", mb_is_vm());
    cJSON_AddNumberToObject(m, "online_cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
    cJSON_AddNumberToObject(m, "mem_total_bytes",
                            (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE));

    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) == 0 && hwloc_topology_load(topo) == 0) {
        cJSON_AddNumberToObject(m, "packages", hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE));
        cJSON_AddNumberToObject(m, "cores", hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE));
        cJSON_AddNumberToObject(m, "pus", hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU));
        cJSON *caches = cJSON_AddArrayToObject(m, "caches");
        for (hwloc_obj_type_t t = HWLOC_OBJ_L1CACHE; t <= HWLOC_OBJ_L3ICACHE; t++) {
            if (!hwloc_obj_type_is_cache(t))
                continue;
            hwloc_obj_t o = hwloc_get_next_obj_by_type(topo, t, NULL);
            if (!o || !o->attr)
                continue;
            cJSON *c = cJSON_CreateObject();
            char name[32];
            hwloc_obj_type_snprintf(name, sizeof name, o, 0);
            cJSON_AddStringToObject(c, "level", name);
            cJSON_AddNumberToObject(c, "size_bytes", (double)o->attr->cache.size);
            cJSON_AddNumberToObject(c, "line_bytes", o->attr->cache.linesize);
            cJSON_AddNumberToObject(c, "count", hwloc_get_nbobjs_by_type(topo, t));
            cJSON_AddItemToArray(caches, c);
        }
        hwloc_topology_destroy(topo);
    }
    struct utsname u;
    if (uname(&u) == 0) {
        char k[600];
        snprintf(k, sizeof k, "%s %s %s %s", u.sysname, u.release, u.version, u.machine);
        cJSON_AddStringToObject(m, "kernel", k);
        cJSON_AddStringToObject(m, "hostname", u.nodename);
    }
    char gov[64];
    mb_cpu_governor(gov, sizeof gov);
    if (gov[0])
        cJSON_AddStringToObject(m, "cpu_governor", gov);
    else
        cJSON_AddNullToObject(m, "cpu_governor");
    return m;
}

static cJSON *env_info(void)
{
    static const char *const prefixes[] = {"OMP_", "GOMP_", "KMP_", "OPENBLAS_", "GOTO_", "MKL_",
                                           "DNNL_", "ONEDNN_", "PAPI_", "LD_PRELOAD"};
    cJSON *e = cJSON_CreateObject();
    for (char **p = environ; p && *p; p++) {
        for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
            if (!strncmp(*p, prefixes[i], strlen(prefixes[i]))) {
                const char *eq = strchr(*p, '=');
                if (!eq)
                    break;
                char name[256];
                snprintf(name, sizeof name, "%.*s", (int)(eq - *p), *p);
                cJSON_AddStringToObject(e, name, eq + 1);
                break;
            }
    }
    return e;
}

static cJSON *num_or_null(double v)
{
    return isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v);
}

cJSON *mb_provenance_build(const mb_provenance *p)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "run_id", p->run_id ? p->run_id : "");
    char ts[64];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    cJSON_AddStringToObject(root, "written_utc", ts);
    cJSON_AddStringToObject(root, "moebench_version", "0.1.0");

    cJSON *cmd = cJSON_AddArrayToObject(root, "command_line");
    char joined[4096] = "";
    for (int i = 0; i < p->argc; i++) {
        cJSON_AddItemToArray(cmd, cJSON_CreateString(p->argv[i]));
        size_t l = strlen(joined);
        snprintf(joined + l, sizeof joined - l, "%s'%s'", i ? " " : "", p->argv[i]);
    }
    cJSON_AddStringToObject(root, "command", joined);
    if (p->settings)
        cJSON_AddItemToObject(root, "settings", p->settings);
    cJSON_AddItemToObject(root, "git", git_info());
    cJSON_AddItemToObject(root, "build", build_info());
    cJSON_AddItemToObject(root, "libraries", library_info(p->papi_library));
    cJSON_AddItemToObject(root, "machine", machine_info());
    cJSON_AddItemToObject(root, "environment", env_info());

    if (p->suite_files)
        cJSON_AddItemToObject(root, "suite_files", p->suite_files);
    else
        cJSON_AddArrayToObject(root, "suite_files");
    cJSON_AddNumberToObject(root, "cases", (double)p->cases);

    cJSON *roof = cJSON_AddObjectToObject(root, "roofline");
    cJSON_AddItemToObject(roof, "peak_gflops", num_or_null(p->roof.peak_gflops));
    cJSON_AddItemToObject(roof, "dram_gbps", num_or_null(p->roof.dram_gbps));
    cJSON_AddItemToObject(roof, "peak_gflops_1t", num_or_null(p->roof.peak_gflops_1t));
    cJSON_AddItemToObject(roof, "dram_gbps_1t", num_or_null(p->roof.dram_gbps_1t));
    static const char *const low[MB_RL_NLEVELS] = {"l1", "l2", "l3", "dram"};
    char key[32];
    for (int l = 0; l < MB_RL_NLEVELS; l++) {
        if (l == MB_RL_DRAM)
            continue;   /* dram_gbps above */
        snprintf(key, sizeof key, "%s_gbps", low[l]);
        cJSON_AddItemToObject(roof, key, num_or_null(p->roof.gbps[l]));
        snprintf(key, sizeof key, "%s_gbps_1t", low[l]);
        cJSON_AddItemToObject(roof, key, num_or_null(p->roof.gbps_1t[l]));
    }
    cJSON *cb = cJSON_AddObjectToObject(roof, "cache_bytes");
    static const char *const lv[3] = {"L1", "L2", "L3"};
    for (int l = 0; cb && l < 3; l++)
        cJSON_AddItemToObject(cb, lv[l], num_or_null(p->roof.cache_bytes[l]));
    cJSON_AddBoolToObject(roof, "plausible", !p->roof.implausible);
    if (p->roof.implausible)
        cJSON_AddStringToObject(roof, "implausible_reason", p->roof.implausible_why);
    cJSON_AddStringToObject(roof, "pct_peak",
                            "100 * gflops / roof_gflops: the row's own ceiling, min(peak, "
                            "intensity * bandwidth of roof_level), the level holding the working "
                            "set (weights + inputs + outputs): warm, the smallest of L1, L2 "
                            "(x threads, private) and L3 (shared) that holds it, else DRAM; cold, "
                            "DRAM. Ceilings of the row's thread count (_1t for one thread); "
                            "above_roof = 1 beyond 110 %");
    if (p->roofline_source)
        cJSON_AddStringToObject(roof, "source", p->roofline_source);
    else
        cJSON_AddStringToObject(roof, "note", "no roofline.json found (run `moebench roofline`): pct_peak is empty");

    cJSON *mem = cJSON_AddObjectToObject(root, "memory");
    cJSON_AddStringToObject(mem, "workspace_bytes",
                            "workspace_bytes counts memory allocated through the library allocator "
                            "(mb_alloc) during forward: peak minus what was live before, not clamped; "
                            "OpenBLAS's internal buffers are not included");
    cJSON_AddStringToObject(mem, "peak_rss_bytes", p->peak_rss_method ? p->peak_rss_method : "unknown");

    if (p->counters)
        cJSON_AddItemToObject(root, "counters", p->counters);
    else
        cJSON_AddObjectToObject(root, "counters");
    return root;
}

int mb_json_write_file(const char *path, const cJSON *json)
{
    char *text = cJSON_Print(json);
    if (!text)
        return -1;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        cJSON_free(text);
        return -1;
    }
    int ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    ok &= fflush(f) == 0;
    fsync(fileno(f));
    ok &= fclose(f) == 0;
    cJSON_free(text);
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}
