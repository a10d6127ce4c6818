/* Counters through the PAPI low-level API. The parent probes every requested event once at
 * start-up (name -> code, add to an event set, start/stop) and records availability with the
 * reason, alone and then all together in one event set (what the child will count); each case
 * child then counts the events that work. Missing counters stay NAN (empty
 * CSV fields), never 0. Built without PAPI, every counter is unavailable with that reason. */
#ifndef MOEBENCH_COUNTERS_H
#define MOEBENCH_COUNTERS_H

#include <cjson/cJSON.h>
#include "csv.h"

typedef struct {
    int n;                                  /* requested events = ctr_ columns */
    char event[MB_MAX_COUNTERS][64];        /* PAPI name, e.g. PAPI_TOT_CYC, perf::TASK-CLOCK */
    char column[MB_MAX_COUNTERS][64];       /* sanitised, without the ctr_ prefix */
    int available[MB_MAX_COUNTERS];
    char reason[MB_MAX_COUNTERS][160];      /* why unavailable ("" when available) */
    int no_hardware;                        /* no hardware event works (VM): say it once */
    int inherit;                            /* counts include threads created after the child's
                                             * event set (PAPI_INHERIT); 0: calling thread only */
    char inherit_reason[160];               /* why not, when inherit == 0 */
    char library[64];                       /* "PAPI 7.0.0.0" or "built without PAPI" */
    int eventset;                           /* child: the live event set, -1 when none */
    int n_live;                             /* child: available events in the set */
} mb_counters;

/* spec: "auto" (hardware presets + perf software events, keep all as columns), "none" (no
 * columns) or a comma list of PAPI event names. Probes each event; returns 0, or -1 with a
 * message in err for a malformed list (an unknown event is a column with a reason, not an
 * error). Shuts PAPI down afterwards so forked children start clean. */
int mb_counters_probe(mb_counters *c, const char *spec, char *err, size_t errlen);

/* In a case child, first thing, before any thread exists (OpenMP, OpenBLAS): initialises PAPI
 * and builds the event set of the available events with PAPI_INHERIT, so worker threads created
 * later are counted too. Failure leaves every counter NAN for this child. */
void mb_counters_child_begin(mb_counters *c);
int mb_counters_start(mb_counters *c);
/* Stops and stores count/divisor per available event into out[] (NAN for the others). */
int mb_counters_stop(mb_counters *c, double divisor, double *out);
void mb_counters_child_end(mb_counters *c);

/* run.json's "counters": the library, whether hardware events exist, and every requested event
 * with its column, availability (reason) and scope. Caller owns the object. */
cJSON *mb_counters_json(const mb_counters *c);

#endif
