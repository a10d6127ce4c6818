/* The roofline kernels compute what they claim (so their FLOP and byte counts are honest) on
 * every ISA this CPU executes, and ceilings round-trip through roofline.json. No timing is
 * asserted. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "roofline.h"
#include "moebench/cpu.h"

typedef struct {
    const char *name;
    int available;
    void (*read)(const float *, size_t, float *);
    void (*triad)(float *, const float *, const float *, size_t, float);
    double (*fma)(long);
    double flops_per_iter;
    void (*panels)(const float *, size_t, float *);
} isa;

/* The one roofline.json reader and path rule (roofline.h): MOEBENCH_ROOFLINE first, then the
 * results directory's roofline.json; missing keys stay NAN. */
static void test_roof_find(void)
{
    char dir[] = "/tmp/mb_test_roof_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    char envf[256], outf[256], src[4300];
    snprintf(envf, sizeof envf, "%s/env.json", dir);
    snprintf(outf, sizeof outf, "%s/roofline.json", dir);
    FILE *f = fopen(envf, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("{\"peak_gflops\": 200.5, \"dram_gbps\": 20, \"peak_gflops_1t\": 110}\n", f);
    fclose(f);
    f = fopen(outf, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("{\"peak_gflops\": 99, \"dram_gbps\": 9, \"peak_gflops_1t\": 50, \"dram_gbps_1t\": 5}\n", f);
    fclose(f);
    mb_roof r;
    setenv("MOEBENCH_ROOFLINE", envf, 1);
    CHECK(mb_roof_find(dir, &r, src, sizeof src) == 0);
    CHECK(!strcmp(src, envf));   /* the variable wins over the directory's file */
    CHECK_NEAR(r.peak_gflops, 200.5, 0);
    CHECK_NEAR(r.peak_gflops_1t, 110, 0);
    CHECK(isnan(r.dram_gbps_1t));   /* absent: NAN, no default */
    unsetenv("MOEBENCH_ROOFLINE");
    CHECK(mb_roof_find(dir, &r, src, sizeof src) == 0);
    CHECK(!strcmp(src, outf));
    CHECK_NEAR(r.dram_gbps_1t, 5, 0);
    setenv("MOEBENCH_ROOFLINE", "/nonexistent/roofline.json", 1);
    CHECK(mb_roof_find(dir, &r, src, sizeof src) == -1 && src[0] == '\0' && isnan(r.peak_gflops));
    unsetenv("MOEBENCH_ROOFLINE");
    CHECK(!strcmp(mb_roofline_default_path(), MOEBENCH_SOURCE_DIR "/results/roofline.json"));
    remove(envf);
    remove(outf);
    rmdir(dir);
}

int main(void)
{
    test_roof_find();
    isa isas[] = {
        {"scalar", 1, mb_rl_read_scalar, mb_rl_triad_scalar, mb_rl_fma_scalar, 16,
         mb_rl_panels_scalar},
        {"avx2", mb_rl_cpu_has_avx2(), mb_rl_read_avx2, mb_rl_triad_avx2, mb_rl_fma_avx2, 192,
         mb_rl_panels_avx2},
        {"avx512", mb_rl_cpu_has_avx512(), mb_rl_read_avx512, mb_rl_triad_avx512,
         mb_rl_fma_avx512, 768, mb_rl_panels_avx512},
    };
    /* the bf16 dot-product peak kernel: 24 vdpbf16ps of 64 flops per iteration, measured
     * only where the CPU executes it natively (the emulated build runs it for its count) */
    const char *why16 = NULL;
    if (mb_cpu_has_avx512_bf16(NULL))
        CHECK_NEAR(mb_rl_dpbf16_avx512(1000), 1000.0 * 24 * 64, 0);
    if (!mb_rl_cpu_has_avx512_bf16(&why16)) {
        CHECK(why16 && strstr(why16, "avx512_bf16"));
        printf("avx512_bf16 peak: not measured here: %s\n", why16 ? why16 : "(null)");
    }
    const size_t n = 4096 + 37; /* a tail the vector loops leave to scalar code */
    float *a = aligned_alloc(64, 4160 * sizeof(float));
    float *b = aligned_alloc(64, 4160 * sizeof(float));
    float *c = aligned_alloc(64, 4160 * sizeof(float));
    CHECK(a && b && c);
    for (size_t i = 0; i < n; i++) {
        b[i] = (float)(i % 7);
        c[i] = (float)(i % 5);
    }
    double expect_sum = 0;
    for (size_t i = 0; i < n; i++)
        expect_sum += b[i];
    for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++) {
        if (!isas[k].available) {
            printf("%s: not executable on this CPU, skipped\n", isas[k].name);
            continue;
        }
        float sink = 0;
        isas[k].read(b, n, &sink);
        CHECK_MSG(sink == (float)expect_sum, "%s read: %g vs %g", isas[k].name, sink, expect_sum);
        memset(a, 0, n * sizeof(float));
        isas[k].triad(a, b, c, n, 0.5f);
        int bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += a[i] != b[i] + 0.5f * c[i];
        CHECK_MSG(bad == 0, "%s triad: %d wrong elements", isas[k].name, bad);
        CHECK_NEAR(isas[k].fma(1000), 1000 * isas[k].flops_per_iter, 0);
        /* panels: every float once, in a GEMV's order; two panels and a tail (small integers:
         * the float sums are exact in any order) */
        size_t pn = 2 * (size_t)MB_RL_PANEL_COLS * MB_RL_PANEL_ROWS + 37;
        float *pb = aligned_alloc(64, (pn + 64 - pn % 64) * sizeof(float));
        CHECK(pb != NULL);
        if (pb) {
            double pexp = 0;
            for (size_t i = 0; i < pn; i++) {
                pb[i] = (float)((i * 7 + i / MB_RL_PANEL_COLS) % 5);
                pexp += pb[i];
            }
            float ps = 0;
            isas[k].panels(pb, pn, &ps);
            CHECK_MSG(ps == (float)pexp, "%s panels: %g vs %g", isas[k].name, ps, pexp);
            free(pb);
        }
    }
    free(a);
    free(b);
    free(c);

    /* JSON round trip: the chart reads back what the measurement wrote */
    mb_roofline rl;
    memset(&rl, 0, sizeof rl);
    rl.threads = 2;
    rl.isa_used = "avx512";
    rl.peak_gflops = 230;
    rl.peak_gflops_1t = 120;
    rl.avx512_gflops = rl.avx2_gflops = NAN;
    rl.level[MB_RL_L1] = (mb_rl_level){24576, 300, 550, 310, 560, 0, 0};
    rl.level[MB_RL_L2] = (mb_rl_level){1 << 20, 95, 180, 90, 170, 0, 0};
    rl.level[MB_RL_L3] = (mb_rl_level){0, NAN, NAN, NAN, NAN, NAN, NAN};
    /* DRAM: panels (GEMV-like) beats read and triad with all threads, not with one */
    rl.level[MB_RL_DRAM] = (mb_rl_level){1 << 28, 12.5, 21, 11, 19, 12, 26};
    cJSON *j = mb_roofline_to_json(&rl);
    CHECK(j != NULL);
    CHECK(cJSON_GetObjectItem(j, "avx512_gflops") == NULL);   /* unknown is absent, not 0 */
    CHECK(cJSON_GetObjectItem(j, "l3_gbps") == NULL);
    CHECK(cJSON_GetObjectItem(j, "bf16_avx512_gflops") == NULL);
    /* the bf16 peak: absent with its reason, or present (and not mixed into the FP32 peak) */
    snprintf(rl.bf16_avx512_why, sizeof rl.bf16_avx512_why, "cpuid: no avx512_bf16");
    cJSON *j16 = mb_roofline_to_json(&rl);
    cJSON *r16 = j16 ? cJSON_GetObjectItem(j16, "bf16_avx512_reason") : NULL;
    CHECK(r16 && cJSON_IsString(r16) && !strcmp(r16->valuestring, "cpuid: no avx512_bf16"));
    CHECK(j16 && cJSON_GetObjectItem(j16, "bf16_avx512_gflops") == NULL);
    cJSON_Delete(j16);
    rl.bf16_avx512_why[0] = '\0';
    rl.bf16_avx512_gflops = 900;
    rl.bf16_avx512_gflops_1t = 460;
    j16 = mb_roofline_to_json(&rl);
    cJSON *g16 = j16 ? cJSON_GetObjectItem(j16, "bf16_avx512_gflops_1t") : NULL;
    CHECK(g16 && cJSON_IsNumber(g16) && g16->valuedouble == 460);
    CHECK(j16 && cJSON_GetObjectItem(j16, "bf16_avx512_reason") == NULL);
    CHECK(j16 && cJSON_GetNumberValue(cJSON_GetObjectItem(j16, "peak_gflops")) == 230);
    cJSON_Delete(j16);
    mb_ceilings ce;
    CHECK(mb_ceilings_from_json(j, 0, &ce) == 0);
    CHECK_NEAR(ce.peak, 230, 1e-9);
    CHECK(ce.nbw == 3);
    CHECK(!strcmp(ce.bw_name[0], "DRAM") && !strcmp(ce.bw_name[2], "L1"));
    CHECK_NEAR(ce.bw[0], 26, 1e-9);
    CHECK(mb_ceilings_from_json(j, 1, &ce) == 0);
    CHECK_NEAR(ce.peak, 120, 1e-9);
    CHECK_NEAR(ce.bw[0], 12.5, 1e-9);
    cJSON_Delete(j);
    cJSON *empty = cJSON_CreateObject();
    CHECK(mb_ceilings_from_json(empty, 0, &ce) != 0);
    cJSON_Delete(empty);
    CHECK(mb_ceilings_from_file("/nonexistent/roofline.json", 0, &ce) != 0);
    return mb_test_result("test_plot_roofline");
}
