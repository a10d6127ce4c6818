/* `moebench mpi-bench`: MPI_Alltoall time over message sizes (bytes each rank sends each other
 * rank), the slowest rank's median per size, and the alpha-beta fit of a pairwise all-to-all,
 *   t(s) = (N-1) alpha + (N-1) s beta      (N ranks, s bytes per pair),
 * by least squares over the sizes (alpha: per-message latency, 1/beta: per-rank bandwidth). */
#ifndef MOEBENCH_MPI_BENCH_H
#define MOEBENCH_MPI_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

typedef struct {
    int ranks;
    double alpha_s, beta_s_per_byte;   /* the fit */
    double r2;                         /* of the fit, on the times */
} mb_a2a_fit;

/* Least squares fit of t_i = (N-1) alpha + (N-1) s_i beta over n points. 0, or -1 when the
 * sizes do not determine both (fewer than two distinct sizes). */
int mb_a2a_fit_points(int ranks, const double *s, const double *t, int n, mb_a2a_fit *fit);
/* Reads a fit written by mpi-bench (its JSON). 0, or -1 with the reason in err. */
int mb_a2a_fit_load(const char *path, mb_a2a_fit *fit, char *err, size_t errlen);

/* Runs the benchmark on every rank of the job (collective) over sizes min_bytes .. max_bytes
 * (x4 steps); rank 0 writes DIR/mpi_bench.csv and DIR/mpi_bench.json. 0, or 1/2 with err. */
int mb_mpi_bench_run(int64_t min_bytes, int64_t max_bytes, double seconds_per_size,
                     const char *dir, char *err, size_t errlen);

#endif
