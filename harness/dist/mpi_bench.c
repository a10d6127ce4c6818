/* MPI all-to-all microbenchmark and its alpha-beta fit (see mpi_bench.h). */
#include "mpi_bench.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileutil.h"
#include "mpi_env.h"
#include "provenance.h"
#include "timing.h"

#ifdef MOEBENCH_HAVE_MPI
#include <mpi.h>
#endif

int mb_a2a_fit_points(int ranks, const double *s, const double *t, int n, mb_a2a_fit *fit)
{
    /* t = a + b s with a = (N-1) alpha, b = (N-1) beta, by least squares on the relative
     * residuals (weights 1/t^2): the sizes span five orders of magnitude, and plain least
     * squares would fit the largest alone and leave alpha to their noise */
    if (n < 2 || ranks < 2)
        return -1;
    double sw = 0, ms = 0, mt = 0;
    for (int i = 0; i < n; i++) {
        if (!(t[i] > 0))
            return -1;
        double w = 1 / (t[i] * t[i]);
        sw += w;
        ms += w * s[i];
        mt += w * t[i];
    }
    ms /= sw;
    mt /= sw;
    double sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        double w = 1 / (t[i] * t[i]);
        sxx += w * (s[i] - ms) * (s[i] - ms);
        sxy += w * (s[i] - ms) * (t[i] - mt);
    }
    if (!(sxx > 0))
        return -1;
    double b = sxy / sxx, a = mt - b * ms;
    if (a < 0)
        a = 0;   /* a latency below zero is noise: the fit through the origin is as good */
    fit->ranks = ranks;
    fit->alpha_s = a / (ranks - 1);
    fit->beta_s_per_byte = b / (ranks - 1);
    /* r2 of the relative residuals */
    double ss_res = 0, ss_tot = 0, mr = 0;
    for (int i = 0; i < n; i++)
        mr += log(t[i]) / n;
    for (int i = 0; i < n; i++) {
        double pred = a + b * s[i];
        double r = pred > 0 ? log(t[i] / pred) : 1;
        ss_res += r * r;
        ss_tot += (log(t[i]) - mr) * (log(t[i]) - mr);
    }
    fit->r2 = ss_tot > 0 ? 1 - ss_res / ss_tot : 1;
    return 0;
}

int mb_a2a_fit_load(const char *path, mb_a2a_fit *fit, char *err, size_t errlen)
{
    char *text = mb_read_file(path, 16u << 20, NULL);
    if (!text) {
        snprintf(err, errlen, "--fit %s: %s", path, strerror(errno));
        return -1;
    }
    cJSON *j = cJSON_Parse(text);
    free(text);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "fit");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(f, "alpha_us");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(f, "bandwidth_gbytes_per_s");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "ranks");
    int ok = cJSON_IsNumber(a) && cJSON_IsNumber(b) && cJSON_IsNumber(r) && b->valuedouble > 0 &&
             a->valuedouble >= 0;
    if (ok) {
        fit->ranks = r->valueint;
        fit->alpha_s = a->valuedouble * 1e-6;
        fit->beta_s_per_byte = 1 / (b->valuedouble * 1e9);
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(f, "r2");
        fit->r2 = cJSON_IsNumber(q) ? q->valuedouble : NAN;
    } else
        snprintf(err, errlen, "--fit %s: not an mpi-bench fit (no ranks, fit.alpha_us >= 0 and "
                 "fit.bandwidth_gbytes_per_s > 0)", path);
    cJSON_Delete(j);
    return ok ? 0 : -1;
}

#ifndef MOEBENCH_HAVE_MPI
int mb_mpi_bench_run(int64_t min_bytes, int64_t max_bytes, double seconds_per_size,
                     const char *dir, char *err, size_t errlen)
{
    (void)min_bytes;
    (void)max_bytes;
    (void)seconds_per_size;
    (void)dir;
    snprintf(err, errlen, "%s", mb_mpi_unavailable());
    return 2;
}
#else
static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int mb_mpi_bench_run(int64_t min_bytes, int64_t max_bytes, double seconds_per_size,
                     const char *dir, char *err, size_t errlen)
{
    const int N = mb_mpi_size(), rank = mb_mpi_rank();
    if (N < 2) {
        snprintf(err, errlen, "mpi-bench needs at least 2 ranks (mpirun -np N moebench "
                 "mpi-bench, N >= 2)");
        return 2;
    }
    int nsz = 0;
    double sizes[40], times[40], tmin[40];
    int reps_of[40];
    char *sb = malloc((size_t)max_bytes * (size_t)N), *rb = malloc((size_t)max_bytes * (size_t)N);
    int bad = !sb || !rb;
    MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (bad) {
        free(sb);
        free(rb);
        snprintf(err, errlen, "out of memory for 2 x %d x %lld bytes", N, (long long)max_bytes);
        return 1;
    }
    memset(sb, rank, (size_t)max_bytes * (size_t)N);
    for (int64_t s = min_bytes; s <= max_bytes && nsz < 40; s *= 4) {
        /* MPI_BYTE counts are int: sizes above 2 GiB per pair are not asked for */
        double *t = malloc(sizeof(double) * 1000);
        int reps = 0;
        double spent = 0;
        MPI_Alltoall(sb, (int)s, MPI_BYTE, rb, (int)s, MPI_BYTE, MPI_COMM_WORLD);   /* warm */
        while (t && reps < 1000 && (reps < 5 || spent < seconds_per_size)) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = mb_now_s();
            MPI_Alltoall(sb, (int)s, MPI_BYTE, rb, (int)s, MPI_BYTE, MPI_COMM_WORLD);
            double dt = mb_now_s() - t0;
            MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            t[reps++] = dt;
            spent += dt;
            /* every rank decides the same: the times are the reduced ones */
        }
        if (!t)
            break;
        qsort(t, (size_t)reps, sizeof *t, cmp_dbl);
        sizes[nsz] = (double)s;
        times[nsz] = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
        tmin[nsz] = t[0];
        reps_of[nsz] = reps;
        nsz++;
        free(t);
    }
    free(sb);
    free(rb);
    if (rank != 0)
        return 0;
    mb_a2a_fit fit;
    int have_fit = mb_a2a_fit_points(N, sizes, times, nsz, &fit) == 0;
    char why[1024];
    if (mb_mkdir_p(dir, why, sizeof why) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, why);
        return 1;
    }
    char path[4300];
    snprintf(path, sizeof path, "%s/mpi_bench.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return 1;
    }
    fprintf(f, "ranks,bytes_per_pair,reps,time_us_median,time_us_min,fit_us\n");
    for (int i = 0; i < nsz; i++) {
        fprintf(f, "%d,%.0f,%d,%.6g,%.6g,", N, sizes[i], reps_of[i], times[i] * 1e6, tmin[i] * 1e6);
        if (have_fit)
            fprintf(f, "%.6g", (N - 1) * (fit.alpha_s + sizes[i] * fit.beta_s_per_byte) * 1e6);
        fputc('\n', f);
    }
    fclose(f);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "what", "MPI_Alltoall, slowest rank's median per size");
    cJSON_AddStringToObject(j, "mpi_library", mb_mpi_version());
    cJSON_AddNumberToObject(j, "ranks", N);
    cJSON_AddStringToObject(j, "model", "t(s) = (N-1) alpha + (N-1) s / bandwidth, s = bytes "
                            "per pair (least squares on relative residuals over the sizes; r2 on log times)");
    cJSON *fj = cJSON_AddObjectToObject(j, "fit");
    if (have_fit) {
        cJSON_AddNumberToObject(fj, "alpha_us", fit.alpha_s * 1e6);
        cJSON_AddNumberToObject(fj, "bandwidth_gbytes_per_s", 1 / fit.beta_s_per_byte / 1e9);
        cJSON_AddNumberToObject(fj, "r2", fit.r2);
    }
    cJSON *pts = cJSON_AddArrayToObject(j, "points");
    for (int i = 0; i < nsz; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "bytes_per_pair", sizes[i]);
        cJSON_AddNumberToObject(p, "time_us_median", times[i] * 1e6);
        cJSON_AddNumberToObject(p, "time_us_min", tmin[i] * 1e6);
        cJSON_AddNumberToObject(p, "reps", reps_of[i]);
        cJSON_AddItemToArray(pts, p);
    }
    snprintf(path, sizeof path, "%s/mpi_bench.json", dir);
    int rc = mb_json_write_file(path, j);
    cJSON_Delete(j);
    if (rc) {
        snprintf(err, errlen, "cannot write %s", path);
        return 1;
    }
    printf("all-to-all over %d ranks, %d sizes %lld..%lld bytes per pair -> %s\n", N, nsz,
           (long long)min_bytes, (long long)max_bytes, dir);
    for (int i = 0; i < nsz; i++)
        printf("  %10.0f B/pair  %10.2f us\n", sizes[i], times[i] * 1e6);
    if (have_fit)
        printf("fit: alpha %.2f us per message, bandwidth %.2f GB/s per rank (r2 %.4f)\n",
               fit.alpha_s * 1e6, 1 / fit.beta_s_per_byte / 1e9, fit.r2);
    else
        printf("fit: needs at least two sizes\n");
    return 0;
}
#endif
