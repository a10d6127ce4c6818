/* MPI process group (see mpi_env.h). */
#include "mpi_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef MOEBENCH_HAVE_MPI
#include <mpi.h>
#endif

static int active;

const char *mb_mpi_unavailable(void)
{
#ifdef MOEBENCH_HAVE_MPI
    return NULL;
#else
    return "built without MPI (apt-get install libopenmpi-dev openmpi-bin, then configure again)";
#endif
}

const char *mb_mpi_version(void)
{
#ifdef MOEBENCH_HAVE_MPI
    static char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (!v[0] && MPI_Get_library_version(v, &len) == MPI_SUCCESS) {
        v[strcspn(v, "\n,")] = '\0';
    }
    return v;
#else
    return "";
#endif
}

int mb_mpi_launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK",
                                       "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

int mb_mpi_init(int *argc, char ***argv, char *err, size_t errlen)
{
#ifdef MOEBENCH_HAVE_MPI
    if (active)
        return 0;
    /* the case children are forked after MPI_Init and never call MPI (mpi_env.h) */
    setenv("OMPI_MCA_mpi_warn_on_fork", "0", 0);
    /* a rank waiting for others (its shard done early) yields the core instead of spinning
     * on it, so ranks sharing a machine do not slow the ones still timing */
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        snprintf(err, errlen, "MPI_Init failed");
        return -1;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    active = 1;
    return 0;
#else
    (void)argc;
    (void)argv;
    snprintf(err, errlen, "%s", mb_mpi_unavailable());
    return -1;
#endif
}

int mb_mpi_active(void)
{
    return active;
}

int mb_mpi_rank(void)
{
    int r = 0;
#ifdef MOEBENCH_HAVE_MPI
    if (active)
        MPI_Comm_rank(MPI_COMM_WORLD, &r);
#endif
    return r;
}

int mb_mpi_size(void)
{
    int n = 1;
#ifdef MOEBENCH_HAVE_MPI
    if (active)
        MPI_Comm_size(MPI_COMM_WORLD, &n);
#endif
    return n;
}

void mb_mpi_barrier(void)
{
#ifdef MOEBENCH_HAVE_MPI
    if (active)
        MPI_Barrier(MPI_COMM_WORLD);
#endif
}

void mb_mpi_bcast_str(char *buf, size_t n, int root)
{
#ifdef MOEBENCH_HAVE_MPI
    if (active)
        MPI_Bcast(buf, (int)n, MPI_CHAR, root, MPI_COMM_WORLD);
    buf[n - 1] = '\0';
#else
    (void)buf;
    (void)n;
    (void)root;
#endif
}

int mb_mpi_max_int(int v)
{
    int out = v;
#ifdef MOEBENCH_HAVE_MPI
    if (active)
        MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
#endif
    return out;
}

void mb_mpi_finalize(void)
{
#ifdef MOEBENCH_HAVE_MPI
    if (active)
        MPI_Finalize();
#endif
    active = 0;
}

void mb_mpi_abort(int code)
{
#ifdef MOEBENCH_HAVE_MPI
    if (active)
        MPI_Abort(MPI_COMM_WORLD, code);
#endif
    (void)code;
}
