/* The kernels' work counters (moebench/work.h): process-wide totals bumped once per call. */
#include <string.h>
#include "moebench/work.h"

/* long long, not int64_t: libsde reads them through a long long * (PAPI_SDE_long_long). */
long long mb_work_totals[MB_WORK_COUNT];

static const char *const names[MB_WORK_COUNT] = {
    "flops", "weight_bytes", "weight_bytes_streamed", "io_bytes", "rows_routed",
    "experts_hit", "rows_gathered", "rows_scattered", "gemm_calls"};
static const char *const descriptions[MB_WORK_COUNT] = {
    "FLOPs of the provider GEMMs (2 M N K per call) and moelora's task gate: multiply-adds only, as the cost model",
    "bytes of the distinct prepared weights read by one forward's GEMMs (each weight once)",
    "bytes of prepared weights read by GEMM calls, every call (reuse counts again)",
    "bytes of X read and Y written by forwards",
    "(token, expert) assignments grouped by the router",
    "experts given at least one row by the router",
    "rows gathered into experts' contiguous blocks",
    "rows scattered (weighted add) back from experts' blocks",
    "provider GEMM calls"};

const char *mb_work_name(mb_work_kind k)
{
    return (unsigned)k < MB_WORK_COUNT ? names[k] : NULL;
}

const char *mb_work_description(mb_work_kind k)
{
    return (unsigned)k < MB_WORK_COUNT ? descriptions[k] : NULL;
}

int mb_work_find(const char *name)
{
    static const char prefix[] = "sde:::moebench::";
    if (!name)
        return -1;
    if (!strncmp(name, prefix, sizeof prefix - 1))
        name += sizeof prefix - 1;
    for (int k = 0; k < MB_WORK_COUNT; k++)
        if (!strcmp(name, names[k]))
            return k;
    return -1;
}

int64_t mb_work_read(mb_work_kind k)
{
    return (unsigned)k < MB_WORK_COUNT ? __atomic_load_n(&mb_work_totals[k], __ATOMIC_RELAXED) : 0;
}

void mb_work_add(mb_work_kind k, int64_t n)
{
    if ((unsigned)k < MB_WORK_COUNT && n)
        __atomic_fetch_add(&mb_work_totals[k], (long long)n, __ATOMIC_RELAXED);
}

/* The weights this thread's current forward has touched: an open-addressing set of pointers,
 * valid where the slot's epoch is the thread's, so a new forward empties it by a bump. The
 * variants call their GEMMs from the thread that called forward (providers thread inside), so
 * one set per thread sees a whole forward. Past MB_WORK_SET weights a weight counts again (an
 * over-count, never a miss): far above any variant's count of prepared weights. */
#define MB_WORK_SET 4096
static _Thread_local struct { const void *w; uint64_t epoch; } touched[MB_WORK_SET];
static _Thread_local uint64_t epoch = 1;

void mb_work_forward_begin(void)
{
    epoch++;
}

/* 1 the first time w is seen in this thread's forward. */
static int first_touch(const void *w)
{
    uintptr_t p = (uintptr_t)w;
    size_t i = (size_t)((p >> 4) ^ (p >> 16)) & (MB_WORK_SET - 1);
    for (int probe = 0; probe < 64; probe++, i = (i + 1) & (MB_WORK_SET - 1)) {
        if (touched[i].epoch != epoch) {
            touched[i].w = w;
            touched[i].epoch = epoch;
            return 1;
        }
        if (touched[i].w == w)
            return 0;
    }
    return 1;
}

void mb_work_weight(const void *w, int64_t bytes)
{
    mb_work_add(MB_WORK_WEIGHT_BYTES_STREAMED, bytes);
    if (first_touch(w))
        mb_work_add(MB_WORK_WEIGHT_BYTES, bytes);
}

void mb_work_gemm(const void *w, int64_t M, int64_t N, int64_t K, int elem_bits)
{
    int64_t wb = N * K * elem_bits / 8;
    mb_work_add(MB_WORK_FLOPS, 2 * M * N * K);
    mb_work_add(MB_WORK_WEIGHT_BYTES_STREAMED, wb);
    mb_work_add(MB_WORK_GEMM_CALLS, 1);
    if (first_touch(w))
        mb_work_add(MB_WORK_WEIGHT_BYTES, wb);
}
