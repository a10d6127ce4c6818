/* The libraries' ISA, stated (see library_dispatch.h). */
#include "library_dispatch.h"

#include <cpuid.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "load_env.h"
#include "moebench/cpu.h"
#include "moebench/library_isa.h"

static int cpu_is_intel(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d))
        return 0;
    char v[13];
    memcpy(v, &b, 4);
    memcpy(v + 4, &d, 4);
    memcpy(v + 8, &c, 4);
    v[12] = '\0';
    return !strcmp(v, "GenuineIntel");
}

/* oneDNN's ISA names ("avx512_core_amx", "avx2_vnni", "sse41") by the level they reach */
static mb_isa_level onednn_level(const char *isa)
{
    if (!isa)
        return MB_ISA_UNKNOWN;
    if (!strncmp(isa, "avx512", 6))
        return MB_ISA_AVX512;
    if (!strncmp(isa, "avx2", 4))
        return MB_ISA_AVX2;
    if (!strncmp(isa, "avx", 3))
        return MB_ISA_AVX;
    if (!strncmp(isa, "sse", 3))
        return MB_ISA_SSE;
    return MB_ISA_UNKNOWN;
}

/* The OPENBLAS_CORETYPE asked for, NULL when none. */
static const char *requested_core(void)
{
    const char *v = getenv("OPENBLAS_CORETYPE");
    return v && *v ? v : NULL;
}

/* 1 when a request names the core OpenBLAS runs, 0 when OpenBLAS ignored it, -1 no request. */
static int request_honoured(void)
{
    const char *req = requested_core(), *core = mb_openblas_corename();
    if (!req || !core)
        return -1;
    return !strcasecmp(req, core);
}

static const char *remedy_core(void)
{
    return mb_openblas_core_suggest(mb_cpu_executed_isa(), cpu_is_intel());
}

int mb_library_dispatch_warning(char *out, size_t n)
{
    out[0] = '\0';
    const char *core = mb_openblas_corename();
    mb_isa_level cpu = mb_cpu_executed_isa();
    if (!core || !mb_openblas_core_weaker(core, cpu))
        return 0;
    const char *fix = remedy_core();
    snprintf(out, n, "OpenBLAS runs its %s core (%s kernels) on a CPU that executes %s: blas, "
                     "merged and torch times are too slow; rerun with --openblas-core %s",
             core, mb_isa_level_name(mb_openblas_core_isa(core)), mb_isa_level_name(cpu),
             fix ? fix : "NAME");
    return 1;
}

/* Why a request was not honoured, a guess from what OpenBLAS shows of itself. */
static void ignored_note(char *out, size_t n)
{
    const char *cfg = mb_openblas_config();
    const char *req = requested_core(), *core = mb_openblas_corename();
    if (cfg && !strstr(cfg, "DYNAMIC_ARCH"))
        snprintf(out, n, "OpenBLAS ignored OPENBLAS_CORETYPE=%s and runs %s: this OpenBLAS is "
                         "built without DYNAMIC_ARCH (one core only)", req, core);
    else
        snprintf(out, n, "OpenBLAS ignored OPENBLAS_CORETYPE=%s and runs %s: this version "
                         "does not know the name, or judged the CPU unable to run it (e.g. "
                         "Cooperlake without AVX512-BF16)", req, core);
}

cJSON *mb_library_dispatch_json(void)
{
    cJSON *d = cJSON_CreateObject();
    mb_isa_level cpu = mb_cpu_executed_isa();
    cJSON_AddStringToObject(d, "cpu_executes", mb_isa_level_name(cpu));
    const char *why512 = NULL, *why2 = NULL;
    mb_cpu_has_avx512(&why512);
    mb_cpu_has_avx2(&why2);
    if (why512)
        cJSON_AddStringToObject(d, "avx512_reason", why512);
    if (why2)
        cJSON_AddStringToObject(d, "avx2_reason", why2);

    cJSON *ob = cJSON_AddObjectToObject(d, "openblas");
    const char *core = mb_openblas_corename();
    if (!core) {
        cJSON_AddStringToObject(ob, "note", "built without OpenBLAS");
    } else {
        cJSON_AddStringToObject(ob, "core", core);
        cJSON_AddStringToObject(ob, "core_isa", mb_isa_level_name(mb_openblas_core_isa(core)));
        cJSON_AddStringToObject(ob, "config", mb_openblas_config());
        const char *req = requested_core();
        if (req) {
            cJSON_AddStringToObject(ob, "openblas_coretype_requested", req);
            const char *src = mb_load_env_source("OPENBLAS_CORETYPE");
            cJSON_AddStringToObject(ob, "openblas_coretype_source",
                                    src && !strcmp(src, "option") ? "option --openblas-core"
                                                                  : "environment");
            int ok = request_honoured();
            cJSON_AddBoolToObject(ob, "honoured", ok == 1);
            if (ok == 0) {
                char note[400];
                ignored_note(note, sizeof note);
                cJSON_AddStringToObject(ob, "ignored", note);
            }
        } else {
            cJSON_AddNullToObject(ob, "openblas_coretype_requested");
            cJSON_AddStringToObject(ob, "openblas_coretype_source",
                                    "none: OpenBLAS chose its core from cpuid");
        }
        char warn[400];
        int weak = mb_library_dispatch_warning(warn, sizeof warn);
        cJSON_AddBoolToObject(ob, "weaker_than_cpu", weak);
        if (weak) {
            cJSON_AddStringToObject(ob, "warning", warn);
            char remedy[64];
            const char *fix = remedy_core();
            snprintf(remedy, sizeof remedy, "--openblas-core %s", fix ? fix : "NAME");
            cJSON_AddStringToObject(ob, "remedy", remedy);
        }
    }

    cJSON *dn = cJSON_AddObjectToObject(d, "onednn");
    const char *isa = mb_onednn_isa();
    if (!isa) {
        cJSON_AddStringToObject(dn, "note", "built without oneDNN");
    } else {
        cJSON_AddStringToObject(dn, "isa", isa);
        mb_isa_level l = onednn_level(isa);
        cJSON_AddBoolToObject(dn, "weaker_than_cpu", l != MB_ISA_UNKNOWN && l < cpu);
        const char *max = getenv("ONEDNN_MAX_CPU_ISA");
        if (!max)
            max = getenv("DNNL_MAX_CPU_ISA");
        if (max)
            cJSON_AddStringToObject(dn, "max_cpu_isa_environment", max);
    }
    return d;
}

void mb_library_dispatch_print(FILE *f, const char *cmd, int quiet)
{
    const char *core = mb_openblas_corename(), *isa = mb_onednn_isa();
    mb_isa_level cpu = mb_cpu_executed_isa();
    if (!quiet) {
        const char *src = requested_core() ? mb_load_env_source("OPENBLAS_CORETYPE") : NULL;
        fprintf(f, "moebench %s: CPU executes %s; OpenBLAS core %s%s%s%s%s; oneDNN ISA %s\n", cmd,
                mb_isa_level_name(cpu), core ? core : "(none: built without OpenBLAS)",
                core ? " (" : "", core ? mb_isa_level_name(mb_openblas_core_isa(core)) : "",
                !src ? "" : !strcmp(src, "option") ? ", from --openblas-core"
                                                   : ", OPENBLAS_CORETYPE from the environment",
                core ? ")" : "", isa ? isa : "(none: built without oneDNN)");
    }
    char warn[400];
    if (mb_library_dispatch_warning(warn, sizeof warn))
        fprintf(f, "moebench %s: warning: %s\n", cmd, warn);
    if (request_honoured() == 0) {
        char note[400];
        ignored_note(note, sizeof note);
        fprintf(f, "moebench %s: warning: %s\n", cmd, note);
    }
    mb_isa_level l = onednn_level(isa);
    if (l != MB_ISA_UNKNOWN && l < cpu)
        fprintf(f, "moebench %s: warning: oneDNN runs %s kernels on a CPU that executes %s "
                   "(ONEDNN_MAX_CPU_ISA?)\n", cmd, isa, mb_isa_level_name(cpu));
}
