/* One thread setting for OpenMP, OpenBLAS and oneDNN alike (torch-style per-library settings
 * drift apart; this is the only place threads are set). */
#ifndef MOEBENCH_THREADS_H
#define MOEBENCH_THREADS_H

void mb_set_threads(int n);
int mb_get_threads(void);

#endif
