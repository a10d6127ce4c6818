/* The work counters as PAPI Software Defined Events of library "moebench" (libsde, Debian's
 * libsde1). PAPI reads the totals in place (read-only, delta mode), so counting stays one
 * relaxed atomic add per call. papi_sde_hook_list_events is the entry point PAPI's tools call
 * to list a library's events (papi_native_avail -sde FILE, FILE a shared object exporting it:
 * the moebench_sde library of the build). */
#include "moebench/work.h"

#ifdef MOEBENCH_HAVE_SDE
#include <pthread.h>
#include <sde_lib.h>

extern long long mb_work_totals[MB_WORK_COUNT];

/* describe: also the descriptions, which libsde 7.0 copies and never frees (a leak per event
 * at exit under LeakSanitizer), so only for the listing hook, whose caller only lists. */
static papi_handle_t register_all(papi_sde_fptr_struct_t *f, int describe)
{
    papi_handle_t h = f->init("moebench");
    for (int k = 0; k < MB_WORK_COUNT; k++) {
        f->register_counter(h, mb_work_name((mb_work_kind)k), PAPI_SDE_RO | PAPI_SDE_DELTA,
                            PAPI_SDE_long_long, &mb_work_totals[k]);
        if (describe)
            f->describe_counter(h, mb_work_name((mb_work_kind)k),
                                mb_work_description((mb_work_kind)k));
    }
    return h;
}

papi_handle_t papi_sde_hook_list_events(papi_sde_fptr_struct_t *fptr_struct);
papi_handle_t papi_sde_hook_list_events(papi_sde_fptr_struct_t *fptr_struct)
{
    return register_all(fptr_struct, 1);
}

static void register_once(void)
{
    papi_sde_fptr_struct_t f;
    POPULATE_SDE_FPTR_STRUCT(f);
    register_all(&f, 0);
}

int mb_work_sde_register(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_once);
    return 0;
}
#else
int mb_work_sde_register(void)
{
    return -1;
}
#endif
