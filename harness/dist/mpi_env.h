/* The MPI process group of `moebench run --mpi`, `mpi-bench` and the ep=N cases, behind
 * functions that exist with and without MPI, so the callers build either way. MPI is called
 * from the moebench process only, never from a forked case child: Open MPI supports fork() in
 * a process that called MPI_Init as long as the child does not call MPI (the child runs only
 * computation and writes a pipe, then _exit()s). mb_mpi_init sets OMPI_MCA_mpi_warn_on_fork=0
 * (unless the user set it) so Open MPI does not warn about those forks. */
#ifndef MOEBENCH_MPI_ENV_H
#define MOEBENCH_MPI_ENV_H

#include <stddef.h>

/* NULL when built with MPI, else "built without MPI (...)". */
const char *mb_mpi_unavailable(void);
/* The MPI library's version line ("" without MPI). */
const char *mb_mpi_version(void);
/* Whether this process was started by mpirun/mpiexec (Open MPI, MPICH or Slurm PMI env). */
int mb_mpi_launched(void);
/* MPI_Init (with MPI_ERRORS_RETURN on the world communicator). 0, or -1 with a reason. */
int mb_mpi_init(int *argc, char ***argv, char *err, size_t errlen);
int mb_mpi_active(void);   /* mb_mpi_init succeeded and not finalized */
int mb_mpi_rank(void);     /* 0 without MPI */
int mb_mpi_size(void);     /* 1 without MPI */
void mb_mpi_barrier(void);
/* buf (n bytes, a string) from root to every rank. */
void mb_mpi_bcast_str(char *buf, size_t n, int root);
/* The largest v over the ranks. */
int mb_mpi_max_int(int v);
void mb_mpi_finalize(void);
/* Ends every rank of the job with code (MPI_Abort); returns only without MPI. */
void mb_mpi_abort(int code);

#endif
