/* roofline.json, read (roofline_file.h): one parser, two views of the same object. */
#include "roofline_file.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileutil.h"
#include "roof_level.h"

#ifndef MOEBENCH_SOURCE_DIR
#define MOEBENCH_SOURCE_DIR "."
#endif

cJSON *mb_roofline_file_read(const char *path)
{
    char *buf = mb_read_file(path, 1 << 20, NULL);
    if (!buf)
        return NULL;
    cJSON *o = cJSON_Parse(buf);
    free(buf);
    if (o && !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return o;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int mb_ceilings_from_json(const cJSON *obj, int single_thread, mb_ceilings *c)
{
    memset(c, 0, sizeof *c);
    double p1 = num(obj, "peak_gflops_1t"), p = num(obj, "peak_gflops");
    c->peak = single_thread && p1 > 0 ? p1 : p;
    if (!(c->peak > 0))
        return -1;
    /* slowest first, so the chart's line styles go from DRAM outwards */
    static const char *const keys[] = {"dram", "l3", "l2", "l1"};
    static const char *const names[] = {"DRAM", "L3", "L2", "L1"};
    char k[32];
    for (int i = 0; i < 4; i++) {
        snprintf(k, sizeof k, "%s_gbps_1t", keys[i]);
        double b1 = num(obj, k);
        snprintf(k, sizeof k, "%s_gbps", keys[i]);
        double b = num(obj, k);
        double v = single_thread && b1 > 0 ? b1 : b;
        if (v > 0) {
            snprintf(c->bw_name[c->nbw], sizeof c->bw_name[0], "%s", names[i]);
            c->bw[c->nbw++] = v;
        }
    }
    return 0;
}

int mb_ceilings_from_file(const char *path, int single_thread, mb_ceilings *c)
{
    cJSON *o = mb_roofline_file_read(path);
    int rc = o ? mb_ceilings_from_json(o, single_thread, c) : -1;
    cJSON_Delete(o);
    return rc;
}

const char *mb_roofline_default_path(void)
{
    const char *env = getenv("MOEBENCH_ROOFLINE");
    if (env && !strcmp(env, "none"))
        return "/nonexistent/MOEBENCH_ROOFLINE=none/roofline.json";   /* never found */
    return env && *env ? env : MOEBENCH_SOURCE_DIR "/results/roofline.json";
}

static void roof_clear(mb_roof *roof)
{
    memset(roof, 0, sizeof *roof);
    roof->peak_gflops = roof->dram_gbps = roof->peak_gflops_1t = roof->dram_gbps_1t = NAN;
    roof->bf16_gflops = roof->bf16_gflops_1t = NAN;
    for (int l = 0; l < MB_RL_NLEVELS; l++)
        roof->gbps[l] = roof->gbps_1t[l] = NAN;
    for (int l = 0; l < 3; l++)
        roof->cache_bytes[l] = NAN;
}

void mb_roof_from_json(const cJSON *obj, mb_roof *roof)
{
    roof_clear(roof);
    roof->peak_gflops = num(obj, "peak_gflops");
    roof->dram_gbps = num(obj, "dram_gbps");
    roof->peak_gflops_1t = num(obj, "peak_gflops_1t");
    roof->dram_gbps_1t = num(obj, "dram_gbps_1t");
    roof->bf16_gflops = num(obj, "bf16_avx512_gflops");
    roof->bf16_gflops_1t = num(obj, "bf16_avx512_gflops_1t");
    const cJSON *bw = cJSON_GetObjectItemCaseSensitive(obj, "bf16_avx512_reason");
    snprintf(roof->bf16_why, sizeof roof->bf16_why, "%s",
             cJSON_IsString(bw) ? bw->valuestring
                                : roof->bf16_gflops > 0 ? "" : "not in this roofline.json "
                                                               "(measured before bf16 peaks)");
    static const char *const low[MB_RL_NLEVELS] = {"l1", "l2", "l3", "dram"};
    char k[32];
    for (int l = 0; l < MB_RL_NLEVELS; l++) {
        snprintf(k, sizeof k, "%s_gbps", low[l]);
        roof->gbps[l] = num(obj, k);
        snprintf(k, sizeof k, "%s_gbps_1t", low[l]);
        roof->gbps_1t[l] = num(obj, k);
    }
    const cJSON *cb = cJSON_GetObjectItemCaseSensitive(obj, "cache_bytes");
    for (int l = 0; l < 3 && cJSON_IsObject(cb); l++)
        roof->cache_bytes[l] = num(cb, mb_roof_level_name(l));
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(obj, "plausible");
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(obj, "implausible_reason");
    char w[200] = "", w1[200] = "";
    if (cJSON_IsFalse(pl)) {
        roof->implausible = 1;
        snprintf(roof->implausible_why, sizeof roof->implausible_why, "%s",
                 cJSON_IsString(why) ? why->valuestring : "roofline.json says implausible");
    } else if (mb_roof_check_plausible(roof->gbps, MB_ROOF_TOLERANCE, w, sizeof w) != 0 ||
               mb_roof_check_plausible(roof->gbps_1t, MB_ROOF_TOLERANCE, w1, sizeof w1) != 0) {
        roof->implausible = 1;
        snprintf(roof->implausible_why, sizeof roof->implausible_why, "%s%s", w[0] ? "" : "1 thread: ",
                 w[0] ? w : w1);
    } else if (mb_roof_check_threads(roof->gbps, roof->gbps_1t, MB_ROOF_TOLERANCE, w,
                                     sizeof w) != 0) {
        roof->implausible = 1;
        snprintf(roof->implausible_why, sizeof roof->implausible_why, "%s", w);
    }
}

int mb_roof_from_file(const char *path, mb_roof *roof)
{
    roof_clear(roof);
    cJSON *o = mb_roofline_file_read(path);
    if (!o)
        return -1;
    mb_roof_from_json(o, roof);
    cJSON_Delete(o);
    return 0;
}

int mb_roofline_load(const char *dir, mb_roof *roof)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/roofline.json", dir);
    return mb_roof_from_file(path, roof);
}

int mb_roof_find(const char *out_dir, mb_roof *roof, char *src, size_t n)
{
    char path[4200];
    const char *env = getenv("MOEBENCH_ROOFLINE");
    if (env && *env && strcmp(env, "none") != 0)
        snprintf(path, sizeof path, "%s", env);
    else if (out_dir && *out_dir &&
             (snprintf(path, sizeof path, "%s/roofline.json", out_dir), access(path, R_OK) == 0))
        ;
    else   /* the source tree's, or with "none" a path that never exists */
        snprintf(path, sizeof path, "%s", mb_roofline_default_path());
    if (mb_roof_from_file(path, roof) != 0) {
        if (n)
            src[0] = '\0';
        return -1;
    }
    snprintf(src, n, "%s", path);
    return 0;
}
