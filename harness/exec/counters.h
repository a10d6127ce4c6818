/* Counters, each from the first source that can count it here:
 *   papi             PAPI's low-level API (hardware presets, perf:: software events);
 *   sde              the kernels' own work counts (moebench/work.h), read through PAPI as the
 *                    Software Defined Events sde:::moebench::<name>;
 *   perf_event_open  a software event PAPI cannot count (its perf_event component disabled,
 *                    e.g. "libpfm4: no default PMU found"), opened directly with inherit;
 *   getrusage        the last resort for task clock, page faults and context switches;
 *   libmoebench      an SDE event read straight from the kernels when PAPI cannot read it.
 * The parent probes every requested event once at start-up and records source, availability
 * and reasons; each case child then counts with the same sources. Missing counters stay NAN
 * (empty CSV fields), never 0. MOEBENCH_COUNTERS=perf_event|getrusage|nopapi forces the
 * fallbacks (for tests, and to compare sources): software events skip PAPI (perf_event: then
 * perf_event_open, then getrusage; getrusage: only getrusage), nopapi uses no PAPI at all. */
#ifndef MOEBENCH_COUNTERS_H
#define MOEBENCH_COUNTERS_H

#include <cjson/cJSON.h>
#include "csv.h"

typedef enum {
    MB_CTR_NONE,
    MB_CTR_PAPI,
    MB_CTR_SDE,
    MB_CTR_PERF,
    MB_CTR_RUSAGE,
    MB_CTR_DIRECT
} mb_ctr_source;

#define MB_CTR_MAX_SETS 4   /* PAPI event sets in the child: one per component */

typedef struct {
    int n;                                  /* requested events = ctr_ columns */
    char event[MB_MAX_COUNTERS][64];        /* PAPI name, e.g. PAPI_TOT_CYC, perf::TASK-CLOCK */
    char column[MB_MAX_COUNTERS][64];       /* sanitised, without the ctr_ prefix */
    int available[MB_MAX_COUNTERS];
    int source[MB_MAX_COUNTERS];            /* mb_ctr_source */
    char reason[MB_MAX_COUNTERS][320];      /* why unavailable ("" when available) */
    char papi_reason[MB_MAX_COUNTERS][160]; /* why PAPI does not count it, when another does */
    int no_hardware;                        /* no hardware event works (VM): say it once */
    int inherit;                            /* PAPI counts include threads created after the
                                             * child's event set (PAPI_INHERIT) */
    char inherit_reason[160];               /* why not, when inherit == 0 */
    char library[64];                       /* "PAPI 7.0.0.0" or "built without PAPI" */
    char forced[16];                        /* MOEBENCH_COUNTERS, "" when unset */
    /* child */
    int n_sets;
    int eventset[MB_CTR_MAX_SETS];
    int set_of[MB_MAX_COUNTERS], pos_of[MB_MAX_COUNTERS];
    int fd[MB_MAX_COUNTERS];                /* perf_event_open sources */
    double start[MB_MAX_COUNTERS];          /* totals at mb_counters_start (non-PAPI sources) */
} mb_counters;

/* spec: "auto" (hardware presets, perf software events and the moebench SDE events; all kept
 * as columns), "none" (no columns) or a comma list of PAPI event names. Probes each event;
 * returns 0, or -1 with a message in err for a malformed list or MOEBENCH_COUNTERS value (an
 * unknown event is a column with a reason, not an error). Shuts PAPI down afterwards so forked
 * children start clean. */
int mb_counters_probe(mb_counters *c, const char *spec, char *err, size_t errlen);

/* In a case child, first thing, before any thread exists (OpenMP, OpenBLAS): initialises PAPI
 * and builds the event sets (PAPI_INHERIT) and opens the perf_event_open counters (inherit), so
 * worker threads created later are counted too. Failure leaves those counters NAN. */
void mb_counters_child_begin(mb_counters *c);
/* 0 when at least one counter started. */
int mb_counters_start(mb_counters *c);
/* Stops and stores count/divisor per available event into out[] (NAN for the others). */
int mb_counters_stop(mb_counters *c, double divisor, double *out);
/* NAN into out[] for the kernels' work counts (sde, libmoebench sources): for a row whose
 * implementation does not count its work (mb_work_uncounted). */
void mb_counters_blank_work(const mb_counters *c, double *out);
void mb_counters_child_end(mb_counters *c);

/* "papi", "sde", "perf_event_open", "getrusage", "libmoebench" or "none". */
const char *mb_counters_source_name(int source);

/* run.json's "counters": the library, whether hardware events exist, and every requested event
 * with its column, source, availability (reason) and scope. Caller owns the object. */
cJSON *mb_counters_json(const mb_counters *c);

#endif
