/* `moebench roofline [--out DIR] [--quick] [--no-plot]`: measures this machine's ceilings,
 * writes DIR/roofline.json (default: the source tree's results/) and the roofline chart of the
 * machine, all-or-nothing through the plot staging directory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "plot_gnuplot.h"
#include "plot_series.h"
#include "roofline.h"

#ifndef MOEBENCH_SOURCE_DIR
#define MOEBENCH_SOURCE_DIR "."
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: moebench roofline [--out DIR] [--quick] [--no-plot]\n"
               "  measures FP32 FMA peak (AVX-512, AVX2; 1 and all threads), the bf16 dot-product\n"
               "  peak (AVX512_BF16, where the CPU executes it) and read/triad\n"
               "  bandwidth of L1, L2, L3 and DRAM (working sets sized from the cache sizes);\n"
               "  levels out of order (L1 >= L2 >= L3 >= DRAM within 10%%) are measured again,\n"
               "  then marked implausible; writes DIR/roofline.json and\n"
               "  DIR/roofline.{png,pdf} (default DIR: %s/results)\n"
               "  --quick  about 4 s instead of 15, noisier\n",
               MOEBENCH_SOURCE_DIR);
}

static void print_table(const mb_roofline *rl)
{
    printf("FP32 FMA peak (GFLOP/s)     1 thread   %d threads\n", rl->threads);
    printf("  avx512                   %9.1f  %9.1f\n", rl->avx512_gflops_1t, rl->avx512_gflops);
    printf("  avx2                     %9.1f  %9.1f\n", rl->avx2_gflops_1t, rl->avx2_gflops);
    printf("  scalar                   %9.1f\n", rl->scalar_gflops_1t);
    if (rl->bf16_avx512_gflops > 0)
        printf("bf16 dot-product peak (GFLOP/s)\n  avx512_bf16              %9.1f  %9.1f\n",
               rl->bf16_avx512_gflops_1t, rl->bf16_avx512_gflops);
    else
        printf("bf16 dot-product peak: not measured: %s\n",
               rl->bf16_avx512_why);
    printf("bandwidth (GB/s, %s)   set/thread  read 1t  read %dt  triad 1t  triad %dt\n",
           rl->isa_used, rl->threads, rl->threads);
    for (int l = 0; l < MB_RL_NLEVELS; l++) {
        const mb_rl_level *lv = &rl->level[l];
        if (!(lv->bytes > 0)) {
            printf("  %-4s  (no such level)\n", mb_rl_level_names[l]);
            continue;
        }
        printf("  %-4s  %16.0f KiB %8.1f %8.1f %9.1f %9.1f\n", mb_rl_level_names[l],
               lv->bytes / 1024, lv->read_gbps_1t, lv->read_gbps, lv->triad_gbps_1t,
               lv->triad_gbps);
    }
    printf("caches (hwloc): L1d %.0f KiB, L2 %.0f KiB per core, L3 %.0f KiB shared\n",
           rl->cache_bytes[0] / 1024, rl->cache_bytes[1] / 1024, rl->cache_bytes[2] / 1024);
    printf("measured in %.1f s (levels: %d attempt%s)\n", rl->seconds, rl->attempts,
           rl->attempts == 1 ? "" : "s");
}

static int write_json(mb_plot_out *o, const mb_roofline *rl, char *err, size_t n)
{
    cJSON *j = mb_roofline_to_json(rl);
    char *text = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    FILE *f = text ? mb_plot_out_open(o, "roofline.json") : NULL;
    int rc = 0;
    if (!f || fprintf(f, "%s\n", text) < 0) {
        snprintf(err, n, "roofline.json: cannot write");
        rc = -1;
    }
    if (f && fclose(f) != 0)
        rc = -1;
    free(text);
    return rc;
}

static int render(mb_plot_out *o, const mb_roofline *rl, char *err, size_t n)
{
    mb_gp_buf gp = {0};
    int nb = 0;
    mb_gp_printf(&gp, "array bw[%d]\narray bw1[%d]\narray bwname[%d]\n", MB_RL_NLEVELS,
                 MB_RL_NLEVELS, MB_RL_NLEVELS);
    for (int l = MB_RL_NLEVELS - 1; l >= 0; l--) {
        const mb_rl_level *lv = &rl->level[l];
        if (!(lv->bytes > 0))
            continue;
        nb++;
        char var[32];
        mb_gp_printf(&gp, "bw[%d] = %.6g\nbw1[%d] = %.6g\n", nb, mb_rl_level_gbps(lv, 0), nb,
                     mb_rl_level_gbps(lv, 1));
        snprintf(var, sizeof var, "bwname[%d]", nb);
        mb_gp_var_str(&gp, var, mb_rl_level_names[l]);
    }
    mb_gp_printf(&gp, "nbw = %d\nthreads = %d\npeak = %.6g\npeak1 = %.6g\n", nb, rl->threads,
                 rl->peak_gflops, rl->peak_gflops_1t);
    mb_gp_printf(&gp, "avx2 = %.6g\navx2_1t = %.6g\n",
                 isfinite(rl->avx2_gflops) ? rl->avx2_gflops : 0.0,
                 isfinite(rl->avx2_gflops_1t) ? rl->avx2_gflops_1t : 0.0);
    int rc = mb_plot_render(o, "roofline", "machine_roofline", gp.s, MB_ROOFLINE_W,
                            MB_ROOFLINE_H, err, n);
    mb_gp_free(&gp);
    return rc;
}

int mb_cmd_roofline(int argc, char **argv)
{
    const char *out = MOEBENCH_SOURCE_DIR "/results";
    int quick = 0, plot = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strncmp(argv[i], "--out=", 6)) {
            out = argv[i] + 6;
        } else if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--no-plot")) {
            plot = 0;
        } else {
            fprintf(stderr, "moebench roofline: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    char err[1024];
    if (plot && mb_gnuplot_available(err, sizeof err)) {
        fprintf(stderr, "moebench roofline: %s (or use --no-plot)\n", err);
        return 1;
    }
    mb_roofline rl;
    if (mb_roofline_measure(&rl, quick, err, sizeof err)) {
        fprintf(stderr, "moebench %s\n", err);
        return 1;
    }
    print_table(&rl);
    if (rl.implausible)
        fprintf(stderr, "moebench roofline: warning: implausible ceilings: %s; roofline.json says "
                        "so (\"plausible\": false) and runs that use it mark their rows. Measure "
                        "again on a quiet machine.\n", rl.implausible_why);
    char foot[600];
    snprintf(foot, sizeof foot, "moebench roofline%s | %d threads | bandwidth kernels: %s",
             quick ? " --quick" : "", rl.threads, rl.isa_used);
    mb_plot_out o;
    if (mb_plot_out_begin(&o, out, foot, err, sizeof err) == 0) {
        if (write_json(&o, &rl, err, sizeof err) == 0 &&
            (!plot || render(&o, &rl, err, sizeof err) == 0) &&
            mb_plot_out_commit(&o, err, sizeof err) == 0) {
            printf("moebench roofline: wrote %s/roofline.json%s\n", out,
                   plot ? " and roofline.{png,pdf}" : "");
            return 0;
        }
        mb_plot_out_abort(&o);
    }
    fprintf(stderr, "moebench roofline: %s\n", err);
    return 1;
}
