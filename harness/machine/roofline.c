/* Measuring this machine's ceilings (see roofline.h): best-of-N timings of FMA-bound and
 * stream-bound kernels, one thread and all threads (OpenMP), working sets sized from hwloc's
 * cache sizes so each level is measured where it lives. */
#include "roofline.h"

#include <errno.h>
#include <hwloc.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child_guard.h"
#include "roof_level.h"

const char *const mb_rl_level_names[MB_RL_NLEVELS] = {"L1", "L2", "L3", "DRAM"};

double mb_rl_level_gbps(const mb_rl_level *lv, int one_thread)
{
    double r = one_thread ? lv->read_gbps_1t : lv->read_gbps;
    double t = one_thread ? lv->triad_gbps_1t : lv->triad_gbps;
    double p = one_thread ? lv->panels_gbps_1t : lv->panels_gbps;
    double best = isfinite(t) && t > r ? t : r;
    return isfinite(p) && p > best ? p : best;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef double (*fma_fn)(long);

/* GFLOP/s of fn on `threads` threads: iterations calibrated so one trial lasts ~target seconds,
 * best of many short trials: on a shared or virtual machine a short trial has a fair chance to
 * run undisturbed, a long one almost none. */
static double measure_fma(fma_fn fn, int threads, double target, int trials)
{
    long iters = 2000;
    double dt = 0;
    for (;;) {
        double t0 = now_s();
        fn(iters);
        dt = now_s() - t0;
        if (dt > target / 8 || iters > (1L << 40))
            break;
        iters *= 4;
    }
    if (dt > 0)
        iters = (long)((double)iters * target / dt) + 1;
    double best = 0;
    for (int t = 0; t < trials; t++) {
        double flops = 0;
        double t0 = now_s();
#pragma omp parallel num_threads(threads) reduction(+ : flops)
        flops += fn(iters);
        double el = now_s() - t0;
        if (el > 0 && flops / el / 1e9 > best)
            best = flops / el / 1e9;
    }
    return best;
}

typedef struct {
    void (*read)(const float *, size_t, float *);
    void (*triad)(float *, const float *, const float *, size_t, float);
    void (*panels)(const float *, size_t, float *);
} bw_kernels;

enum { BW_READ, BW_TRIAD, BW_PANELS };
#define PANEL_BYTES ((size_t)MB_RL_PANEL_COLS * MB_RL_PANEL_ROWS * sizeof(float))

/* GB/s of the read, triad or panels kernel (kind) with `bytes` of working set per thread.
 * Buffers are first touched by the thread that uses them. Triad counts 3 streams (no
 * write-allocate), STREAM's convention. */
static double measure_bw(const bw_kernels *k, int kind, size_t bytes, int threads, double target,
                         int trials)
{
    int triad = kind == BW_TRIAD;
    void (*rd)(const float *, size_t, float *) = kind == BW_PANELS ? k->panels : k->read;
    size_t n = bytes / sizeof(float) / (triad ? 3 : 1);
    n -= n % 64;
    if (n < 64)
        n = 64;
    float **buf = calloc((size_t)threads * 3, sizeof *buf);
    if (!buf)
        return NAN;
    int fail = 0;
#pragma omp parallel num_threads(threads) reduction(| : fail)
    {
        int id = omp_get_thread_num();
        for (int a = 0; a < (triad ? 3 : 1); a++) {
            float *p = aligned_alloc(64, n * sizeof(float));
            buf[id * 3 + a] = p;
            if (!p)
                fail = 1;
            else
                for (size_t i = 0; i < n; i++)
                    p[i] = (float)(i & 1023) * 1e-3f;
        }
    }
    double best = NAN;
    if (!fail) {
        double per_pass = (double)n * sizeof(float) * (triad ? 3 : 1);
        float sink = 0;
        long reps = 1;
        double dt = 0;
        for (;;) { /* calibrate on one thread */
            double t0 = now_s();
            for (long r = 0; r < reps; r++) {
                if (triad)
                    k->triad(buf[0], buf[1], buf[2], n, 1.0001f);
                else
                    rd(buf[0], n, &sink);
            }
            dt = now_s() - t0;
            if (dt > target / 8 || reps > (1L << 30))
                break;
            reps *= 4;
        }
        if (dt > 0 && dt < target)
            reps = (long)((double)reps * target / dt) + 1;
        best = 0;
        for (int t = 0; t < trials; t++) {
            double t0 = now_s();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
            {
                int id = omp_get_thread_num();
                for (long r = 0; r < reps; r++) {
                    if (triad)
                        k->triad(buf[id * 3], buf[id * 3 + 1], buf[id * 3 + 2], n, 1.0001f);
                    else
                        rd(buf[id * 3], n, &sink);
                }
            }
            double dt = now_s() - t0;
            double gbps = per_pass * (double)reps * threads / dt / 1e9;
            if (gbps > best)
                best = gbps;
        }
        volatile float keep = sink;
        (void)keep;
    }
    for (int i = 0; i < threads * 3; i++)
        free(buf[i]);
    free(buf);
    return best;
}

void mb_rl_cache_sizes(double sz[3])
{
    sz[0] = sz[1] = sz[2] = 0;
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0)
        return;
    if (hwloc_topology_load(topo) == 0) {
        hwloc_obj_type_t types[3] = {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L3CACHE};
        for (int i = 0; i < 3; i++) {
            hwloc_obj_t o = hwloc_get_obj_by_type(topo, types[i], 0);
            if (o && o->attr)
                sz[i] = (double)o->attr->cache.size;
        }
    }
    hwloc_topology_destroy(topo);
}

/* The bandwidth kernels of the best ISA this CPU executes; returns its name. */
static const char *bw_select(bw_kernels *k)
{
    if (mb_rl_cpu_has_avx512()) {
        *k = (bw_kernels){mb_rl_read_avx512, mb_rl_triad_avx512, mb_rl_panels_avx512};
        return "avx512";
    }
    if (mb_rl_cpu_has_avx2()) {
        *k = (bw_kernels){mb_rl_read_avx2, mb_rl_triad_avx2, mb_rl_panels_avx2};
        return "avx2";
    }
    *k = (bw_kernels){mb_rl_read_scalar, mb_rl_triad_scalar, mb_rl_panels_scalar};
    return "scalar";
}

/* The working set of each level's measurement from the cache sizes (0: absent): half of a
 * private level stays resident with the code and stack around it; L3 is shared, so its set is
 * split among the threads; DRAM: several times the last level. */
static void level_sizes(const double cache[3], int quick, double ws[MB_RL_NLEVELS])
{
    double cs[3] = {cache[0], cache[1], cache[2]};
    if (cs[0] <= 0)
        cs[0] = 32 * 1024.0;
    if (cs[1] <= 0)
        cs[1] = 1024 * 1024.0;
    double llc = cs[2] > 0 ? cs[2] : cs[1];
    ws[MB_RL_L1] = cs[0] / 2;
    ws[MB_RL_L2] = cs[1] / 2;
    ws[MB_RL_L3] = cs[2] > 2 * cs[1] ? fmin(fmax(4 * cs[1], cs[2] / 4), cs[2] / 2) : 0;
    ws[MB_RL_DRAM] = fmin(fmax(4 * llc, 256.0 * 1024 * 1024), 1024.0 * 1024 * 1024);
    if (quick)
        ws[MB_RL_DRAM] = fmin(fmax(2 * llc, 128.0 * 1024 * 1024), 512.0 * 1024 * 1024);
}

/* One measurement of every level into rl->level, each number kept when it beats the one
 * already there (a re-measurement adds trials, it does not replace them). */
static int measure_levels(mb_roofline *rl, const bw_kernels *kp, const double ws[MB_RL_NLEVELS],
                          int all, double target, int trials, char *err, size_t n)
{
    bw_kernels k = *kp;
    for (int l = 0; l < MB_RL_NLEVELS; l++) {
        mb_rl_level *lv = &rl->level[l];
        lv->bytes = ws[l];
        if (ws[l] <= 0) {
            lv->read_gbps = lv->read_gbps_1t = lv->triad_gbps = lv->triad_gbps_1t = NAN;
            lv->panels_gbps = lv->panels_gbps_1t = NAN;
            continue;
        }
        int shared = l >= MB_RL_L3;
        size_t one = (size_t)ws[l], each = shared ? (size_t)(ws[l] / all) : (size_t)ws[l];
        /* a DRAM pass is long: fewer, longer trials */
        double tgt = l == MB_RL_DRAM ? target * 5 : target;
        int tr = l == MB_RL_DRAM ? (trials + 2) / 3 : trials;
        double r1 = measure_bw(&k, BW_READ, one, 1, tgt, tr);
        double r = measure_bw(&k, BW_READ, each, all, tgt, tr);
        double t1 = measure_bw(&k, BW_TRIAD, one, 1, tgt, tr);
        double t = measure_bw(&k, BW_TRIAD, each, all, tgt, tr);
        /* panels only where a thread's set holds a few panels (below that it is read) */
        int panels = each >= 4 * PANEL_BYTES;
        double p1 = panels ? measure_bw(&k, BW_PANELS, one, 1, tgt, tr) : NAN;
        double p = panels ? measure_bw(&k, BW_PANELS, each, all, tgt, tr) : NAN;
        if (!isfinite(r1) || !isfinite(r)) {
            snprintf(err, n, "roofline: cannot allocate %.0f MiB for the %s measurement",
                     ws[l] / 1048576.0, mb_rl_level_names[l]);
            return -1;
        }
        lv->read_gbps_1t = fmax(lv->read_gbps_1t, r1);
        lv->read_gbps = fmax(lv->read_gbps, r);
        lv->triad_gbps_1t = fmax(lv->triad_gbps_1t, t1);
        lv->triad_gbps = fmax(lv->triad_gbps, t);
        lv->panels_gbps_1t = fmax(lv->panels_gbps_1t, p1);
        lv->panels_gbps = fmax(lv->panels_gbps, p);
    }
    return 0;
}

int mb_roofline_measure(mb_roofline *rl, int quick, char *err, size_t n)
{
    memset(rl, 0, sizeof *rl);
    double start = now_s();
    rl->quick = quick;
    rl->threads = omp_get_num_procs();
    int all = rl->threads;
    /* per trial; best of `trials` (see measure_fma) */
    double target = 0.004;
    int trials = quick ? 6 : 30;

    int has512 = mb_rl_cpu_has_avx512(), has2 = mb_rl_cpu_has_avx2();
    rl->avx512_gflops = rl->avx512_gflops_1t = NAN;
    rl->avx2_gflops = rl->avx2_gflops_1t = NAN;
    if (has512) {
        rl->avx512_gflops_1t = measure_fma(mb_rl_fma_avx512, 1, target, trials);
        rl->avx512_gflops = measure_fma(mb_rl_fma_avx512, all, target, trials);
    }
    if (has2) {
        rl->avx2_gflops_1t = measure_fma(mb_rl_fma_avx2, 1, target, trials);
        rl->avx2_gflops = measure_fma(mb_rl_fma_avx2, all, target, trials);
    }
    rl->scalar_gflops_1t = measure_fma(mb_rl_fma_scalar, 1, target, trials);
    rl->bf16_avx512_gflops = rl->bf16_avx512_gflops_1t = NAN;
    const char *why16 = NULL;
    if (mb_rl_cpu_has_avx512_bf16(&why16)) {
        rl->bf16_avx512_gflops_1t = measure_fma(mb_rl_dpbf16_avx512, 1, target, trials);
        rl->bf16_avx512_gflops = measure_fma(mb_rl_dpbf16_avx512, all, target, trials);
    } else {
        snprintf(rl->bf16_avx512_why, sizeof rl->bf16_avx512_why, "%s", why16 ? why16 : "?");
    }
    rl->peak_gflops_1t =
        fmax(rl->scalar_gflops_1t,
             fmax(has2 ? rl->avx2_gflops_1t : 0, has512 ? rl->avx512_gflops_1t : 0));
    rl->peak_gflops = fmax(rl->peak_gflops_1t,
                           fmax(has2 ? rl->avx2_gflops : 0, has512 ? rl->avx512_gflops : 0));

    bw_kernels k;
    rl->isa_used = bw_select(&k);

    double cs[3];
    mb_rl_cache_sizes(cs);
    for (int l = 0; l < 3; l++)
        rl->cache_bytes[l] = cs[l];
    double ws[MB_RL_NLEVELS];
    level_sizes(cs, quick, ws);

    /* Best of N within an attempt; when the levels come out in an impossible order (a busy
     * machine: a faster level measured while another program ran), up to two more attempts,
     * keeping each number's best: the best of more trials. Still out of order: implausible,
     * said in roofline.json and by the commands that measure. */
    for (int a = 0; a < 3; a++) {
        rl->attempts = a + 1;
        if (measure_levels(rl, &k, ws, all, target, trials, err, n) != 0)
            return -1;
        double rd[MB_RL_NLEVELS], rd1[MB_RL_NLEVELS];
        for (int l = 0; l < MB_RL_NLEVELS; l++) {
            rd[l] = mb_rl_level_gbps(&rl->level[l], 0);
            rd1[l] = mb_rl_level_gbps(&rl->level[l], 1);
        }
        char w[160] = "", w1[160] = "", wt[160] = "";
        int bad = mb_roof_check_plausible(rd, MB_ROOF_TOLERANCE, w, sizeof w) != 0;
        int bad1 = mb_roof_check_plausible(rd1, MB_ROOF_TOLERANCE, w1, sizeof w1) != 0;
        int badt = mb_roof_check_threads(rd, rd1, MB_ROOF_TOLERANCE, wt, sizeof wt) != 0;
        rl->implausible = bad || bad1 || badt;
        if (rl->implausible)
            snprintf(rl->implausible_why, sizeof rl->implausible_why, "%s%s after %d attempts",
                     bad || !bad1 ? "" : "1 thread: ", bad ? w : bad1 ? w1 : wt, a + 1);
        else {
            rl->implausible_why[0] = '\0';
            break;
        }
    }
    rl->seconds = now_s() - start;
    return 0;
}

static void add_num(cJSON *o, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, key, round(v * 100) / 100);
}

cJSON *mb_roofline_to_json(const mb_roofline *rl)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "what", "moebench roofline ceilings (FP32; bf16_avx512_*: the "
                                       "AVX512_BF16 dot-product peak)");
    time_t t = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    cJSON_AddStringToObject(o, "date", date);
    cJSON_AddNumberToObject(o, "threads", rl->threads);
    cJSON_AddBoolToObject(o, "quick", rl->quick);
    cJSON_AddStringToObject(o, "bandwidth_isa", rl->isa_used ? rl->isa_used : "scalar");
    add_num(o, "peak_gflops", rl->peak_gflops);
    add_num(o, "peak_gflops_1t", rl->peak_gflops_1t);
    add_num(o, "avx512_gflops", rl->avx512_gflops);
    add_num(o, "avx512_gflops_1t", rl->avx512_gflops_1t);
    add_num(o, "avx2_gflops", rl->avx2_gflops);
    add_num(o, "avx2_gflops_1t", rl->avx2_gflops_1t);
    add_num(o, "scalar_gflops_1t", rl->scalar_gflops_1t);
    /* the bf16 ceiling: measured, or absent with the reason */
    if (rl->bf16_avx512_gflops > 0 && rl->bf16_avx512_gflops_1t > 0) {
        add_num(o, "bf16_avx512_gflops", rl->bf16_avx512_gflops);
        add_num(o, "bf16_avx512_gflops_1t", rl->bf16_avx512_gflops_1t);
    } else if (rl->bf16_avx512_why[0]) {
        cJSON_AddStringToObject(o, "bf16_avx512_reason", rl->bf16_avx512_why);
    }
    static const char *const low[MB_RL_NLEVELS] = {"l1", "l2", "l3", "dram"};
    char key[64];
    for (int l = 0; l < MB_RL_NLEVELS; l++) {
        snprintf(key, sizeof key, "%s_gbps", low[l]);
        add_num(o, key, mb_rl_level_gbps(&rl->level[l], 0));
        snprintf(key, sizeof key, "%s_gbps_1t", low[l]);
        add_num(o, key, mb_rl_level_gbps(&rl->level[l], 1));
    }
    cJSON *cb = cJSON_AddObjectToObject(o, "cache_bytes");
    for (int l = 0; cb && l < 3; l++)
        if (rl->cache_bytes[l] > 0)
            cJSON_AddNumberToObject(cb, mb_rl_level_names[l], rl->cache_bytes[l]);
    cJSON_AddBoolToObject(o, "plausible", !rl->implausible);
    if (rl->implausible)
        cJSON_AddStringToObject(o, "implausible_reason", rl->implausible_why);
    cJSON_AddNumberToObject(o, "level_attempts", rl->attempts);
    cJSON *levels = cJSON_AddObjectToObject(o, "levels");
    for (int l = 0; levels && l < MB_RL_NLEVELS; l++) {
        const mb_rl_level *lv = &rl->level[l];
        if (!(lv->bytes > 0))
            continue;
        cJSON *e = cJSON_AddObjectToObject(levels, mb_rl_level_names[l]);
        if (!e)
            continue;
        cJSON_AddNumberToObject(e, "working_set_bytes", lv->bytes);
        add_num(e, "read_gbps_1t", lv->read_gbps_1t);
        add_num(e, "read_gbps", lv->read_gbps);
        add_num(e, "triad_gbps_1t", lv->triad_gbps_1t);
        add_num(e, "triad_gbps", lv->triad_gbps);
        /* 0: not measured at this level (too few panels per thread), absent like NAN */
        if (lv->panels_gbps_1t > 0)
            add_num(e, "panels_gbps_1t", lv->panels_gbps_1t);
        if (lv->panels_gbps > 0)
            add_num(e, "panels_gbps", lv->panels_gbps);
    }
    cJSON_AddStringToObject(o, "method",
                            "best of N; FMA: independent accumulators per thread (OpenMP); "
                            "*_gbps = the best of read, triad and panels bandwidth (a ceiling is the "
                            "best seen; panels reads 8 rows side by side as a GEMV does); triad "
                            "counts 3 streams, no write-allocate; "
                            "L1/L2 working sets per thread, L3/DRAM split among threads");
    add_num(o, "seconds", rl->seconds);
    return o;
}

double mb_roofline_level_now(int level, int threads, const double cache_bytes[3])
{
    if (level < 0 || level >= MB_RL_NLEVELS || threads < 1)
        return NAN;
    bw_kernels k;
    bw_select(&k);
    double ws[MB_RL_NLEVELS];
    level_sizes(cache_bytes, 1, ws);
    if (!(ws[level] > 0))
        return NAN;
    size_t each = (size_t)(level >= MB_RL_L3 ? ws[level] / threads : ws[level]);
    /* the quick roofline's trials, twice over: this number decides a row's verdict */
    double tgt = level == MB_RL_DRAM ? 0.02 : 0.004;
    int tr = level == MB_RL_DRAM ? 4 : 12;
    double best = measure_bw(&k, BW_READ, each, threads, tgt, tr);
    best = fmax(best, measure_bw(&k, BW_TRIAD, each, threads, tgt, tr));
    if (each >= 4 * PANEL_BYTES)
        best = fmax(best, measure_bw(&k, BW_PANELS, each, threads, tgt, tr));
    return best > 0 ? best : NAN;
}

int mb_roofline_measure_forked(mb_roofline *rl, int quick, char *err, size_t n)
{
    int fd[2];
    if (pipe(fd) != 0) {
        snprintf(err, n, "pipe: cannot create");
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        snprintf(err, n, "fork failed");
        return -1;
    }
    if (pid == 0) {
        mb_child_guard(parent);
        close(fd[0]);
        /* the result, or an empty write with the message after it */
        mb_roofline r;
        char e[256] = "";
        int ok = mb_roofline_measure(&r, quick, e, sizeof e) == 0;
        ssize_t w = ok ? write(fd[1], &r, sizeof r) : write(fd[1], e, strlen(e));
        _exit(w > 0 && ok ? 0 : 1);
    }
    close(fd[1]);
    char buf[sizeof(mb_roofline) > 256 ? sizeof(mb_roofline) : 256];
    size_t got = 0;
    ssize_t k;
    while (got < sizeof buf && (k = read(fd[0], buf + got, sizeof buf - got)) > 0)
        got += (size_t)k;
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && got == sizeof *rl) {
        /* isa_used points at a string literal: the same address in parent and child */
        memcpy(rl, buf, sizeof *rl);
        return 0;
    }
    if (WIFEXITED(status) && got > 0 && got < sizeof buf) {
        buf[got] = '\0';
        snprintf(err, n, "%s", buf);
    } else
        snprintf(err, n, "the measuring child %s", WIFSIGNALED(status) ? "was killed" : "failed");
    return -1;
}
