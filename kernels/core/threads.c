/* The single thread setting for OpenMP, OpenBLAS and (through OpenMP, as Debian builds it)
 * oneDNN. OpenBLAS's pthread pool ignores OpenMP settings, hence the explicit call. */
#include <omp.h>
#include "moebench/threads.h"

#ifdef MOEBENCH_HAVE_OPENBLAS
void openblas_set_num_threads(int);
#endif

static int g_threads;   /* 0 = never set: report what OpenMP would use */

void mb_set_threads(int n)
{
    if (n < 1)
        n = omp_get_num_procs();
    g_threads = n;
    omp_set_num_threads(n);
#ifdef MOEBENCH_HAVE_OPENBLAS
    openblas_set_num_threads(n);
#endif
}

int mb_get_threads(void)
{
    return g_threads > 0 ? g_threads : omp_get_max_threads();
}
