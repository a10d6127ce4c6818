/* The cache-aware roofline: the plausibility of measured levels (synthetic numbers), the level
 * that holds a working set (warm / cold, private and shared caches, threads), the ceiling of a
 * level (and its stand-in when unmeasured), the reading of roofline.json, and a row's own
 * ceiling, pct_peak and above_roof flag as the case executor sets them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "case_exec.h"
#include "check.h"
#include "roof_level.h"
#include "roofline_file.h"

static void test_plausible(void)
{
    char why[200];
    double good[MB_RL_NLEVELS] = {270, 200, 145, 27};
    CHECK(mb_roof_check_plausible(good, MB_ROOF_TOLERANCE, why, sizeof why) == 0);
    CHECK(why[0] == '\0');
    /* measured under load: L1 below DRAM */
    double bad[MB_RL_NLEVELS] = {20, 200, 145, 27};
    CHECK(mb_roof_check_plausible(bad, MB_ROOF_TOLERANCE, why, sizeof why) != 0);
    CHECK_MSG(strstr(why, "L1 20.0 GB/s < L2 200.0 GB/s") != NULL, "%s", why);
    /* L3 above L2 by more than the tolerance */
    double l3[MB_RL_NLEVELS] = {270, 100, 130, 27};
    CHECK(mb_roof_check_plausible(l3, MB_ROOF_TOLERANCE, why, sizeof why) != 0);
    CHECK_MSG(strstr(why, "L2") && strstr(why, "L3"), "%s", why);
    /* within the tolerance: noise, not implausible */
    double close[MB_RL_NLEVELS] = {270, 100, 105, 27};
    CHECK(mb_roof_check_plausible(close, MB_ROOF_TOLERANCE, why, sizeof why) == 0);
    /* an unmeasured level is left out, but the ones around it are still compared */
    double gap[MB_RL_NLEVELS] = {270, NAN, 0, 400};
    CHECK(mb_roof_check_plausible(gap, MB_ROOF_TOLERANCE, why, sizeof why) != 0);
    CHECK_MSG(strstr(why, "L1") && strstr(why, "DRAM"), "%s", why);
    double none[MB_RL_NLEVELS] = {NAN, NAN, NAN, 27};
    CHECK(mb_roof_check_plausible(none, MB_ROOF_TOLERANCE, why, sizeof why) == 0);
    /* all threads below one thread (measured while the other cores were busy) */
    double one[MB_RL_NLEVELS] = {136, 104, 67.6, 12};
    double all_busy[MB_RL_NLEVELS] = {270, 200, 26.8, 27};
    CHECK(mb_roof_check_threads(good, one, MB_ROOF_TOLERANCE, why, sizeof why) == 0);
    CHECK(mb_roof_check_threads(all_busy, one, MB_ROOF_TOLERANCE, why, sizeof why) != 0);
    CHECK_MSG(strstr(why, "L3: all threads 26.8 GB/s < 1 thread 67.6 GB/s") != NULL, "%s", why);
}

static void test_level_choice(void)
{
    const double KiB = 1024, MiB = 1024 * 1024;
    /* Zen 2 like: 32 KiB L1, 512 KiB L2 per core, 16 MiB shared L3 */
    double zen[3] = {32 * KiB, 512 * KiB, 16 * MiB};
    CHECK(mb_roof_level_of(16 * KiB, 1, 0, zen) == MB_RL_L1);
    CHECK(mb_roof_level_of(32 * KiB, 1, 0, zen) == MB_RL_L1);
    /* up to twice a cache still reads much of itself from it: its ceiling bounds the row */
    CHECK(mb_roof_level_of(64 * KiB, 1, 0, zen) == MB_RL_L1);
    CHECK(mb_roof_level_of(65 * KiB, 1, 0, zen) == MB_RL_L2);
    /* private levels: two threads hold twice as much */
    CHECK(mb_roof_level_of(100 * KiB, 2, 0, zen) == MB_RL_L1);
    CHECK(mb_roof_level_of(1100 * KiB, 1, 0, zen) == MB_RL_L3);
    CHECK(mb_roof_level_of(1100 * KiB, 2, 0, zen) == MB_RL_L2);
    /* the shared L3 does not grow with threads */
    CHECK(mb_roof_level_of(20 * MiB, 2, 0, zen) == MB_RL_L3);
    CHECK(mb_roof_level_of(33 * MiB, 2, 0, zen) == MB_RL_DRAM);
    CHECK(mb_roof_level_of(33 * MiB, 8, 0, zen) == MB_RL_DRAM);
    /* the machine: 300 MiB L3 holds a warm lora's 64 MiB of weights */
    double xeon[3] = {48 * KiB, 2 * MiB, 300 * MiB};
    CHECK(mb_roof_level_of(64 * MiB + 64 * KiB, 2, 0, xeon) == MB_RL_L3);
    CHECK(mb_roof_level_of(700 * MiB, 2, 0, xeon) == MB_RL_DRAM);
    /* cold: DRAM whatever the size */
    CHECK(mb_roof_level_of(16 * KiB, 1, 1, zen) == MB_RL_DRAM);
    CHECK(mb_roof_level_of(64 * MiB, 2, 1, xeon) == MB_RL_DRAM);
    /* unknown sizes: those levels are passed over */
    double no_l2[3] = {32 * KiB, 0, NAN};
    CHECK(mb_roof_level_of(80 * KiB, 1, 0, no_l2) == MB_RL_DRAM);
    double nothing[3] = {0, 0, 0};
    CHECK(mb_roof_level_of(1, 1, 0, nothing) == MB_RL_DRAM);
}

static void test_ceiling(void)
{
    double bw[MB_RL_NLEVELS] = {270, 200, 145, 27};
    int used;
    /* memory-bound: intensity x bandwidth of the level */
    CHECK_NEAR(mb_roof_ceiling(200, bw, MB_RL_DRAM, 0.5, &used), 13.5, 1e-12);
    CHECK(used == MB_RL_DRAM);
    CHECK_NEAR(mb_roof_ceiling(200, bw, MB_RL_L3, 0.5, &used), 72.5, 1e-12);
    CHECK(used == MB_RL_L3);
    /* compute-bound: the peak */
    CHECK_NEAR(mb_roof_ceiling(200, bw, MB_RL_L1, 100, &used), 200, 1e-12);
    /* an unmeasured level: the next slower measured one stands in, never a faster one */
    double gap[MB_RL_NLEVELS] = {270, NAN, 0, 27};
    CHECK_NEAR(mb_roof_ceiling(200, gap, MB_RL_L2, 0.5, &used), 13.5, 1e-12);
    CHECK(used == MB_RL_DRAM);
    CHECK(isnan(mb_roof_ceiling(NAN, bw, MB_RL_L1, 1, &used)));
    CHECK(mb_roof_level_index("L3") == MB_RL_L3 && mb_roof_level_index("L4") == -1);
    CHECK(!strcmp(mb_roof_level_name(MB_RL_DRAM), "DRAM") && !strcmp(mb_roof_level_name(9), ""));
}

static void test_json(void)
{
    const char *good = "{\"peak_gflops\": 200, \"peak_gflops_1t\": 100, \"l1_gbps\": 270,"
                       "\"l2_gbps\": 200, \"l3_gbps\": 145, \"dram_gbps\": 27, \"l1_gbps_1t\": 136,"
                       "\"dram_gbps_1t\": 12, \"cache_bytes\": {\"L1\": 32768, \"L2\": 524288,"
                       "\"L3\": 16777216}, \"plausible\": true}";
    cJSON *o = cJSON_Parse(good);
    mb_roof r;
    mb_roof_from_json(o, &r);
    cJSON_Delete(o);
    CHECK(!r.implausible);
    CHECK_NEAR(r.gbps[MB_RL_L3], 145, 0);
    CHECK_NEAR(r.gbps_1t[MB_RL_L1], 136, 0);
    CHECK(isnan(r.gbps_1t[MB_RL_L2]));
    CHECK_NEAR(r.cache_bytes[MB_RL_L2], 524288, 0);
    CHECK(isnan(r.bf16_gflops) && strstr(r.bf16_why, "measured before bf16"));
    /* the bf16 roof, and the reason it is missing */
    o = cJSON_Parse("{\"peak_gflops\": 200, \"bf16_avx512_gflops\": 800, "
                    "\"bf16_avx512_gflops_1t\": 410}");
    mb_roof_from_json(o, &r);
    cJSON_Delete(o);
    CHECK_NEAR(r.bf16_gflops, 800, 0);
    CHECK_NEAR(r.bf16_gflops_1t, 410, 0);
    o = cJSON_Parse("{\"peak_gflops\": 200, \"bf16_avx512_reason\": \"cpuid: no avx512_bf16\"}");
    mb_roof_from_json(o, &r);
    cJSON_Delete(o);
    CHECK(isnan(r.bf16_gflops) && !strcmp(r.bf16_why, "cpuid: no avx512_bf16"));
    /* an old file measured under load, without the flag: checked on reading */
    const char *old = "{\"peak_gflops\": 200, \"l1_gbps\": 20, \"l2_gbps\": 200, \"dram_gbps\": 27}";
    o = cJSON_Parse(old);
    mb_roof_from_json(o, &r);
    cJSON_Delete(o);
    CHECK(r.implausible);
    CHECK_MSG(strstr(r.implausible_why, "L1 20.0") != NULL, "%s", r.implausible_why);
    CHECK(isnan(r.cache_bytes[0]));
    /* ordered levels, but all threads slower than one: implausible too */
    const char *busy = "{\"peak_gflops\": 200, \"l3_gbps\": 26.8, \"l3_gbps_1t\": 67.6, \"dram_gbps\": 5}";
    o = cJSON_Parse(busy);
    mb_roof_from_json(o, &r);
    cJSON_Delete(o);
    CHECK_MSG(r.implausible && strstr(r.implausible_why, "L3: all threads"), "%s", r.implausible_why);
    /* the measuring side said so: its reason is kept */
    const char *said = "{\"peak_gflops\": 200, \"dram_gbps\": 27, \"plausible\": false,"
                       "\"implausible_reason\": \"L2 1.0 GB/s < DRAM 27.0 GB/s after 3 attempts\"}";
    o = cJSON_Parse(said);
    mb_roof_from_json(o, &r);
    cJSON_Delete(o);
    CHECK(r.implausible && strstr(r.implausible_why, "after 3 attempts"));
}

/* The level a row asks to re-measure, and what "now" answers. */
static double fake_now;
static int fake_level = -1, fake_threads, fake_calls;
static double fake_remeasure(int level, int threads, const double cache[3])
{
    (void)cache;
    fake_level = level;
    fake_threads = threads;
    fake_calls++;
    return fake_now;
}

/* A row above its bandwidth ceiling has its level re-measured; only a higher number moves the
 * ceiling, and the row says what happened either way. */
static void test_row_remeasure(mb_exec_config *cfg)
{
    cfg->remeasure_gbps = fake_remeasure;
    mb_row row;
    /* DRAM 27 GB/s x intensity 0.5 = 13.5 GFLOP/s; 16 is 119 %: above. Now 34 GB/s: 17,
     * so 16 reads 94 %, not flagged */
    fake_now = 34;
    mb_row_init(&row);
    row.gflops = 16;
    mb_exec_roof(cfg, 1e9, 2e9, 8.0 * (1 << 20), &row);
    CHECK(fake_calls == 1 && fake_level == MB_RL_DRAM && fake_threads == 2);
    CHECK_NEAR(row.roof_gflops, 17, 1e-9);
    CHECK(row.above_roof == 0);
    CHECK_MSG(strstr(row.reason, "re-measured") && strstr(row.reason, "27.0 -> 34.0") &&
              !strstr(row.reason, "above its own ceiling"), "%s", row.reason);
    /* now lower than before: the ceiling stays, the row stays flagged and says both */
    fake_now = 20;
    mb_row_init(&row);
    row.gflops = 16;
    mb_exec_roof(cfg, 1e9, 2e9, 8.0 * (1 << 20), &row);
    CHECK(fake_calls == 2);
    CHECK_NEAR(row.roof_gflops, 13.5, 1e-9);
    CHECK(row.above_roof == 1);
    CHECK_MSG(strstr(row.reason, "not higher") && strstr(row.reason, "above its own ceiling"),
              "%s", row.reason);
    /* under its ceiling: nothing re-measured */
    mb_row_init(&row);
    row.gflops = 10;
    mb_exec_roof(cfg, 1e9, 2e9, 8.0 * (1 << 20), &row);
    CHECK(fake_calls == 2 && row.above_roof == 0);
    /* compute-bound (intensity 100: the 200 GFLOP/s peak): a bandwidth cannot explain it */
    mb_row_init(&row);
    row.gflops = 300;
    mb_exec_roof(cfg, 1e11, 1e9, 8.0 * (1 << 20), &row);
    CHECK(fake_calls == 2 && row.above_roof == 1);
    cfg->remeasure_gbps = NULL;
}

/* A row's own ceiling as case_exec sets it. */
static void test_row_roof(void)
{
    mb_exec_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 2;
    cfg.peak_gflops = 200;
    cfg.dram_gbps = 27;
    double bw[MB_RL_NLEVELS] = {270, 200, 145, 27};
    memcpy(cfg.level_gbps, bw, sizeof bw);
    cfg.cache_bytes[0] = 32768;
    cfg.cache_bytes[1] = 524288;
    cfg.cache_bytes[2] = 16777216;
    mb_row row;
    /* 8 MiB in the shared L3 (not in 2 x 2 x 512 KiB of L2), intensity 0.5: ceiling 72.5 GFLOP/s; 50 GFLOP/s is 69 % */
    mb_row_init(&row);
    row.gflops = 50;
    mb_exec_roof(&cfg, 1e9, 2e9, 8.0 * (1 << 20), &row);
    CHECK(!strcmp(row.roof_level, "L3"));
    CHECK_NEAR(row.roof_gflops, 72.5, 1e-9);
    CHECK_NEAR(row.pct_peak, 100.0 * 50 / 72.5, 1e-9);
    CHECK(row.above_roof == 0);
    CHECK(strstr(row.reason, "above") == NULL);
    /* cold: the same row against DRAM (13.5 GFLOP/s) reads 370 %: flagged, and said */
    cfg.cache_cold = 1;
    mb_row_init(&row);
    row.gflops = 50;
    mb_exec_roof(&cfg, 1e9, 2e9, 8.0 * (1 << 20), &row);
    CHECK(!strcmp(row.roof_level, "DRAM"));
    CHECK_NEAR(row.roof_gflops, 13.5, 1e-9);
    CHECK(row.above_roof == 1);
    CHECK_MSG(strstr(row.reason, "above its own ceiling") && strstr(row.reason, "DRAM"), "%s",
              row.reason);
    test_row_remeasure(&cfg);
    /* within the tolerance: not flagged */
    mb_row_init(&row);
    row.gflops = 13.5 * 1.05;
    mb_exec_roof(&cfg, 1e9, 2e9, 8.0 * (1 << 20), &row);
    CHECK(row.above_roof == 0);
    /* an implausible roofline: the row still uses it and says so */
    cfg.roof_implausible = 1;
    mb_row_init(&row);
    row.gflops = 5;
    mb_exec_roof(&cfg, 1e9, 2e9, 8.0 * (1 << 20), &row);
    CHECK(strstr(row.reason, "implausible") != NULL);
    /* no peak: nothing is made up */
    cfg.peak_gflops = NAN;
    mb_row_init(&row);
    row.gflops = 5;
    mb_exec_roof(&cfg, 1e9, 2e9, 8.0 * (1 << 20), &row);
    CHECK(isnan(row.pct_peak) && isnan(row.roof_gflops) && row.above_roof == -1 && !row.roof_level[0]);
}

/* A bf16 row is placed under the bf16 roof, never the FP32 one; without a bf16 roof it has no
 * pct_peak and says why. */
static void test_row_roof_bf16(void)
{
    mb_exec_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 1;
    cfg.peak_gflops = 100;
    cfg.peak_gflops_bf16 = 400;
    double bw[MB_RL_NLEVELS] = {270, 200, 145, 27};
    memcpy(cfg.level_gbps, bw, sizeof bw);
    cfg.cache_bytes[0] = 32768;
    cfg.cache_bytes[1] = 524288;
    cfg.cache_bytes[2] = 16777216;
    mb_row row;
    /* compute-bound (intensity 100, in L2): 150 GFLOP/s is above the FP32 roof, 37.5 % of bf16's */
    mb_row_init(&row);
    snprintf(row.dtype, sizeof row.dtype, "bf16");
    row.gflops = 150;
    mb_exec_roof(&cfg, 1e11, 1e9, 1 << 16, &row);
    CHECK_NEAR(row.roof_gflops, 400, 1e-9);
    CHECK_NEAR(row.pct_peak, 37.5, 1e-9);
    CHECK(row.above_roof == 0);
    /* the same numbers in f32: above its roof */
    mb_row_init(&row);
    snprintf(row.dtype, sizeof row.dtype, "f32");
    row.gflops = 150;
    mb_exec_roof(&cfg, 1e11, 1e9, 1 << 16, &row);
    CHECK(row.above_roof == 1);
    /* its ceiling is the compute peak, whatever level holds its working set: said so */
    CHECK_MSG(strstr(row.reason, "150% of the compute peak (100.0 GFLOP/s"), "%s", row.reason);
    /* no bf16 roof measured: empty, with the roofline's reason */
    cfg.peak_gflops_bf16 = NAN;
    cfg.bf16_why = "avx512_bf16 needs AVX-512: cpuid: no avx512f";
    mb_row_init(&row);
    snprintf(row.dtype, sizeof row.dtype, "bf16");
    row.gflops = 150;
    mb_exec_roof(&cfg, 1e11, 1e9, 1 << 16, &row);
    CHECK(isnan(row.pct_peak) && isnan(row.roof_gflops) && row.above_roof == -1);
    CHECK_MSG(strstr(row.reason, "no bf16 compute ceiling") && strstr(row.reason, "no avx512f"),
              "%s", row.reason);
}

int main(void)
{
    test_plausible();
    test_level_choice();
    test_ceiling();
    test_json();
    test_row_roof();
    test_row_roof_bf16();
    return mb_test_result("test_roof_level");
}
