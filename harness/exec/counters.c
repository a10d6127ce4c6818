/* Counters from PAPI, PAPI SDE, perf_event_open and getrusage (see counters.h). */
#include "counters.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "counters_sw.h"
#include "moebench/work.h"

#ifdef MOEBENCH_HAVE_PAPI
#include <papi.h>
#endif

static const char *const auto_hw[] = {"PAPI_TOT_CYC", "PAPI_TOT_INS", "PAPI_L1_DCM",
                                      "PAPI_L3_TCM", "PAPI_FP_OPS"};
static const char *const auto_sw[] = {"perf::TASK-CLOCK", "perf::PAGE-FAULTS",
                                      "perf::CONTEXT-SWITCHES", "perf::CPU-MIGRATIONS"};
static const char sde_prefix[] = "sde:::moebench::";

const char *mb_counters_source_name(int source)
{
    switch (source) {
    case MB_CTR_PAPI: return "papi";
    case MB_CTR_SDE: return "sde";
    case MB_CTR_PERF: return "perf_event_open";
    case MB_CTR_RUSAGE: return "getrusage";
    case MB_CTR_DIRECT: return "libmoebench";
    default: return "none";
    }
}

static int is_work(const mb_counters *c, int i)
{
    return c->source[i] == MB_CTR_SDE || c->source[i] == MB_CTR_DIRECT;
}

static int add_event(mb_counters *c, const char *name, char *err, size_t errlen)
{
    if (c->n >= MB_MAX_COUNTERS) {
        snprintf(err, errlen, "at most %d counters", MB_MAX_COUNTERS);
        return -1;
    }
    snprintf(c->event[c->n], sizeof c->event[0], "%s", name);
    /* sde:::moebench::flops -> moebench_flops; others sanitised whole (perf__task_clock) */
    if (!strncmp(name, "sde:::", 6)) {
        char tmp[64];
        size_t j = 0;
        for (const char *p = name + 6; *p && j + 1 < sizeof tmp; p++) {
            if (p[0] == ':' && p[1] == ':')
                p++;
            tmp[j++] = *p;
        }
        tmp[j] = '\0';
        mb_csv_sanitize(tmp, c->column[c->n], sizeof c->column[0]);
    } else {
        mb_csv_sanitize(name, c->column[c->n], sizeof c->column[0]);
    }
    c->available[c->n] = 0;
    c->source[c->n] = MB_CTR_NONE;
    c->reason[c->n][0] = '\0';
    c->n++;
    return 0;
}

#ifdef MOEBENCH_HAVE_PAPI
/* Counts of es include every thread the process creates after the events are added (perf
 * inherit); must be set before any event is added, on the perf_event component's set. 1 when
 * it took. */
static int set_inherit(int es, char *why, size_t n)
{
    int rc;
    PAPI_option_t opt;
    memset(&opt, 0, sizeof opt);
    opt.inherit.eventset = es;
    opt.inherit.inherit = PAPI_INHERIT_ALL;
    if ((rc = PAPI_set_opt(PAPI_INHERIT, &opt)) != PAPI_OK) {
        snprintf(why, n, "PAPI_set_opt(PAPI_INHERIT): %s", PAPI_strerror(rc));
        return 0;
    }
    why[0] = '\0';
    return 1;
}

static void free_sets(mb_counters *c)
{
    for (int s = 0; s < c->n_sets; s++) {
        PAPI_cleanup_eventset(c->eventset[s]);
        PAPI_destroy_eventset(&c->eventset[s]);
    }
    c->n_sets = 0;
}

/* The event set of component cidx, created (with inheritance where it is perf_event) on first
 * use; -1 when none can be. */
static int set_for(mb_counters *c, int cidx)
{
    for (int s = 0; s < c->n_sets; s++) {
        int have = PAPI_get_eventset_component(c->eventset[s]);
        if (have == cidx)
            return s;
    }
    if (c->n_sets >= MB_CTR_MAX_SETS)
        return -1;
    int es = PAPI_NULL, rc;
    if (PAPI_create_eventset(&es) != PAPI_OK)
        return -1;
    if ((rc = PAPI_assign_eventset_component(es, cidx)) != PAPI_OK) {
        PAPI_destroy_eventset(&es);
        return -1;
    }
    const PAPI_component_info_t *ci = PAPI_get_component_info(cidx);
    if (ci && !strcmp(ci->name, "perf_event"))
        c->inherit = set_inherit(es, c->inherit_reason, sizeof c->inherit_reason);
    c->eventset[c->n_sets] = es;
    return c->n_sets++;
}

/* The event sets the child counts with, one per PAPI component (a set holds one component's
 * events), each available PAPI-sourced event in order. An event that does not fit with those
 * before it becomes unavailable, its reason "<unfit> (<PAPI error>)". Returns the number
 * added. */
static int build_sets(mb_counters *c, const char *unfit)
{
    int added = 0, count[MB_CTR_MAX_SETS] = {0};
    c->n_sets = 0;
    for (int i = 0; i < c->n; i++) {
        int code, rc, s = -1;
        c->set_of[i] = -1;
        if (!c->available[i] || (c->source[i] != MB_CTR_PAPI && c->source[i] != MB_CTR_SDE))
            continue;
        if ((rc = PAPI_event_name_to_code(c->event[i], &code)) == PAPI_OK) {
            s = set_for(c, PAPI_get_event_component(code));
            if (s < 0)
                rc = PAPI_ECMP;
            else
                rc = PAPI_add_event(c->eventset[s], code);
        }
        if (rc != PAPI_OK) {
            c->available[i] = 0;
            snprintf(c->reason[i], sizeof c->reason[0], "%s (%s)", unfit, PAPI_strerror(rc));
            continue;
        }
        c->set_of[i] = s;
        c->pos_of[i] = count[s]++;
        added++;
    }
    return added;
}

/* Whether event works alone: name -> code, add, start, stop. */
static int probe_one(const char *name, char *reason, size_t n)
{
    int code = 0, es = PAPI_NULL, rc;
    long long v = 0;
    if ((rc = PAPI_event_name_to_code((char *)name, &code)) != PAPI_OK) {
        snprintf(reason, n, "unknown event (%s)", PAPI_strerror(rc));
        return 0;
    }
    if ((rc = PAPI_create_eventset(&es)) != PAPI_OK) {
        snprintf(reason, n, "PAPI_create_eventset: %s", PAPI_strerror(rc));
        return 0;
    }
    int ok = 0;
    if ((rc = PAPI_add_event(es, code)) != PAPI_OK)
        snprintf(reason, n, "cannot be counted here (%s)", PAPI_strerror(rc));
    else if ((rc = PAPI_start(es)) != PAPI_OK)
        snprintf(reason, n, "PAPI_start failed (%s)", PAPI_strerror(rc));
    else if ((rc = PAPI_stop(es, &v)) != PAPI_OK)
        snprintf(reason, n, "PAPI_stop failed (%s)", PAPI_strerror(rc));
    else
        ok = 1;
    PAPI_cleanup_eventset(es);
    PAPI_destroy_eventset(&es);
    return ok;
}

/* PAPI's verdict on every event; 0 when PAPI could not even start. */
static int probe_papi(mb_counters *c)
{
    int rc = PAPI_library_init(PAPI_VER_CURRENT);
    if (rc != PAPI_VER_CURRENT) {
        for (int i = 0; i < c->n; i++)
            snprintf(c->reason[i], sizeof c->reason[0], "PAPI_library_init failed (%s)",
                     rc > 0 ? "version mismatch" : PAPI_strerror(rc));
        snprintf(c->library, sizeof c->library, "PAPI (init failed)");
        return 0;
    }
    snprintf(c->library, sizeof c->library, "PAPI %d.%d.%d.%d", PAPI_VERSION_MAJOR(PAPI_VERSION),
             PAPI_VERSION_MINOR(PAPI_VERSION), PAPI_VERSION_REVISION(PAPI_VERSION),
             PAPI_VERSION_INCREMENT(PAPI_VERSION));
    for (int i = 0; i < c->n; i++) {
        if (c->forced[0] && mb_sw_event_of(c->event[i]) >= 0) {
            snprintf(c->reason[i], sizeof c->reason[0], "not asked (MOEBENCH_COUNTERS=%s)",
                     c->forced);
            continue;
        }
        c->available[i] = probe_one(c->event[i], c->reason[i], sizeof c->reason[0]);
        if (c->available[i])
            c->source[i] = strncmp(c->event[i], "sde:::", 6) ? MB_CTR_PAPI : MB_CTR_SDE;
    }
    /* Probe them together, as the child will count them, so run.json says exactly what the
     * child will use. */
    build_sets(c, "works alone but does not fit in one event set with the events before it");
    long long v[MB_MAX_COUNTERS];
    for (int s = 0; s < c->n_sets; s++)
        if (PAPI_start(c->eventset[s]) == PAPI_OK)
            PAPI_stop(c->eventset[s], v);
    free_sets(c);
    PAPI_shutdown();
    /* Without inheritance PAPI counts the calling thread only, and a software event would miss
     * the worker threads; perf_event_open (inherit) or getrusage count the whole process. */
    for (int i = 0; i < c->n && !c->inherit; i++)
        if (c->available[i] && c->source[i] == MB_CTR_PAPI && mb_sw_event_of(c->event[i]) >= 0) {
            c->available[i] = 0;
            c->source[i] = MB_CTR_NONE;
            snprintf(c->reason[i], sizeof c->reason[0], "counts the calling thread only (%s)",
                     c->inherit_reason[0] ? c->inherit_reason : "no inheritance");
        }
    return 1;
}
#endif

/* The sources after PAPI, for every event PAPI does not count: perf_event_open and getrusage
 * for the software events, the kernels' totals for moebench's own events. */
static void probe_fallbacks(mb_counters *c)
{
    for (int i = 0; i < c->n; i++) {
        if (c->available[i])
            continue;
        int sw = mb_sw_event_of(c->event[i]), work = mb_work_find(c->event[i]);
        if (sw < 0 && (work < 0 || strncmp(c->event[i], sde_prefix, sizeof sde_prefix - 1)))
            continue;
        snprintf(c->papi_reason[i], sizeof c->papi_reason[0], "%s", c->reason[i]);
        if (work >= 0) {
            c->available[i] = 1;
            c->source[i] = MB_CTR_DIRECT;
            c->reason[i][0] = '\0';
            continue;
        }
        char why_perf[160] = "perf_event_open: not asked (MOEBENCH_COUNTERS=getrusage)";
        char why_ru[160];
        if (strcmp(c->forced, "getrusage") != 0) {
            int fd = mb_perf_sw_open((mb_sw_event)sw, why_perf, sizeof why_perf);
            if (fd >= 0) {
                close(fd);
                c->available[i] = 1;
                c->source[i] = MB_CTR_PERF;
                c->reason[i][0] = '\0';
                continue;
            }
        }
        double v;
        if (mb_rusage_sw_read((mb_sw_event)sw, &v, why_ru, sizeof why_ru) == 0) {
            c->available[i] = 1;
            c->source[i] = MB_CTR_RUSAGE;
            c->reason[i][0] = '\0';
            continue;
        }
        snprintf(c->reason[i], sizeof c->reason[0], "PAPI: %s; %s; %s", c->papi_reason[i],
                 why_perf, why_ru);
    }
}

int mb_counters_probe(mb_counters *c, const char *spec, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < MB_MAX_COUNTERS; i++)
        c->fd[i] = -1;
    const char *forced = getenv("MOEBENCH_COUNTERS");
    if (forced && *forced && strcmp(forced, "papi") != 0) {
        if (strcmp(forced, "perf_event") && strcmp(forced, "getrusage") && strcmp(forced, "nopapi")) {
            snprintf(err, errlen, "MOEBENCH_COUNTERS='%s': expected papi, perf_event, getrusage "
                                  "or nopapi", forced);
            return -1;
        }
        snprintf(c->forced, sizeof c->forced, "%s", forced);
    }
    if (!spec || !strcmp(spec, "none")) {
        snprintf(c->library, sizeof c->library, "counters off (--counters none)");
        return 0;
    }
    if (!strcmp(spec, "auto")) {
        for (size_t i = 0; i < sizeof auto_hw / sizeof *auto_hw; i++)
            add_event(c, auto_hw[i], err, errlen);
        for (size_t i = 0; i < sizeof auto_sw / sizeof *auto_sw; i++)
            add_event(c, auto_sw[i], err, errlen);
        for (int k = 0; k < MB_WORK_COUNT; k++) {
            char name[64];
            snprintf(name, sizeof name, "%s%s", sde_prefix, mb_work_name((mb_work_kind)k));
            add_event(c, name, err, errlen);
        }
    } else {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", spec);
        char *save = NULL;
        for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ')
                tok++;
            if (!*tok) {
                snprintf(err, errlen, "empty event name in --counters '%s'", spec);
                return -1;
            }
            if (add_event(c, tok, err, errlen))
                return -1;
        }
        if (c->n == 0) {
            snprintf(err, errlen, "--counters: empty list");
            return -1;
        }
    }
    /* the kernels' events exist (for PAPI) once registered */
    mb_work_sde_register();
#ifdef MOEBENCH_HAVE_PAPI
    if (!strcmp(c->forced, "nopapi")) {
        for (int i = 0; i < c->n; i++)
            snprintf(c->reason[i], sizeof c->reason[0], "PAPI not used (MOEBENCH_COUNTERS=nopapi)");
        snprintf(c->library, sizeof c->library, "PAPI not used (MOEBENCH_COUNTERS=nopapi)");
    } else {
        probe_papi(c);
    }
#else
    for (int i = 0; i < c->n; i++)
        snprintf(c->reason[i], sizeof c->reason[0], "built without PAPI");
    snprintf(c->library, sizeof c->library, "built without PAPI");
#endif
    probe_fallbacks(c);
    /* hardware: any PAPI-counted event that is not one of the software events */
    int hw_ok = 0;
    for (int i = 0; i < c->n; i++)
        if (c->available[i] && c->source[i] == MB_CTR_PAPI && mb_sw_event_of(c->event[i]) < 0)
            hw_ok = 1;
    c->no_hardware = !hw_ok;
    return 0;
}

void mb_counters_child_begin(mb_counters *c)
{
    c->n_sets = 0;
    for (int i = 0; i < c->n; i++)
        c->fd[i] = -1;
    mb_work_sde_register();
#ifdef MOEBENCH_HAVE_PAPI
    int any = 0;
    for (int i = 0; i < c->n; i++)
        any |= c->available[i] && (c->source[i] == MB_CTR_PAPI || c->source[i] == MB_CTR_SDE);
    if (any) {
        if (PAPI_library_init(PAPI_VER_CURRENT) == PAPI_VER_CURRENT) {
            /* the parent probed the same sets (mb_counters_probe), so every event fits; should
             * one not, its column stays empty with the reason */
            build_sets(c, "did not fit in the child's event set although the parent's probe "
                          "passed");
        } else {
            for (int i = 0; i < c->n; i++)
                if (c->source[i] == MB_CTR_PAPI || c->source[i] == MB_CTR_SDE) {
                    c->available[i] = 0;
                    snprintf(c->reason[i], sizeof c->reason[0], "PAPI_library_init failed in "
                                                                "the case child");
                }
        }
    }
#endif
    for (int i = 0; i < c->n; i++)
        if (c->available[i] && c->source[i] == MB_CTR_PERF) {
            char why[160];
            c->fd[i] = mb_perf_sw_open((mb_sw_event)mb_sw_event_of(c->event[i]), why, sizeof why);
            if (c->fd[i] < 0) {
                c->available[i] = 0;
                snprintf(c->reason[i], sizeof c->reason[0], "in the case child: %s", why);
            }
        }
}

/* The running total of a non-PAPI source; 0, or -1. */
static int read_total(const mb_counters *c, int i, double *v)
{
    char why[160];
    switch (c->source[i]) {
    case MB_CTR_PERF: return mb_perf_sw_read(c->fd[i], v);
    case MB_CTR_RUSAGE:
        return mb_rusage_sw_read((mb_sw_event)mb_sw_event_of(c->event[i]), v, why, sizeof why);
    case MB_CTR_DIRECT:
        *v = (double)mb_work_read((mb_work_kind)mb_work_find(c->event[i]));
        return 0;
    default: return -1;
    }
}

int mb_counters_start(mb_counters *c)
{
    int started = 0;
    for (int i = 0; i < c->n; i++) {
        c->start[i] = NAN;
        if (c->available[i] && read_total(c, i, &c->start[i]) == 0)
            started = 1;
    }
#ifdef MOEBENCH_HAVE_PAPI
    for (int s = 0; s < c->n_sets; s++)
        if (PAPI_start(c->eventset[s]) == PAPI_OK)
            started = 1;
#endif
    return started ? 0 : -1;
}

int mb_counters_stop(mb_counters *c, double divisor, double *out)
{
    double d = divisor > 0 ? divisor : 1;
    for (int i = 0; i < c->n; i++)
        out[i] = NAN;
#ifdef MOEBENCH_HAVE_PAPI
    long long v[MB_CTR_MAX_SETS][MB_MAX_COUNTERS];
    int ok[MB_CTR_MAX_SETS] = {0};
    for (int s = 0; s < c->n_sets; s++)
        ok[s] = PAPI_stop(c->eventset[s], v[s]) == PAPI_OK;
    for (int i = 0; i < c->n; i++) {
        int s = c->set_of[i];
        if (c->available[i] && (c->source[i] == MB_CTR_PAPI || c->source[i] == MB_CTR_SDE) &&
            s >= 0 && s < c->n_sets && ok[s])
            out[i] = (double)v[s][c->pos_of[i]] / d;
    }
#endif
    for (int i = 0; i < c->n; i++) {
        double now;
        if (c->available[i] && isfinite(c->start[i]) && read_total(c, i, &now) == 0)
            out[i] = (now - c->start[i]) / d;
    }
    return 0;
}

void mb_counters_blank_work(const mb_counters *c, double *out)
{
    for (int i = 0; i < c->n; i++)
        if (is_work(c, i))
            out[i] = NAN;
}

void mb_counters_child_end(mb_counters *c)
{
#ifdef MOEBENCH_HAVE_PAPI
    if (c->n_sets > 0) {
        free_sets(c);
        PAPI_shutdown();
    }
#endif
    for (int i = 0; i < c->n; i++)
        if (c->fd[i] >= 0) {
            close(c->fd[i]);
            c->fd[i] = -1;
        }
}

static const char *scope_of(const mb_counters *c, int i, char *buf, size_t n)
{
    switch (c->source[i]) {
    case MB_CTR_PAPI:
        if (c->inherit)
            return "the child process and all its threads (PAPI inherit)";
        snprintf(buf, n, "calling thread only: OpenMP / OpenBLAS worker threads are not counted "
                         "when threads > 1 (inherit unavailable: %s)",
                 c->inherit_reason[0] ? c->inherit_reason : "no PAPI");
        return buf;
    case MB_CTR_PERF:
        return "the child process and all its threads (perf inherit, opened before any worker "
               "thread exists)";
    case MB_CTR_RUSAGE:
        return "the whole child process (getrusage RUSAGE_SELF: every thread, ended ones too)";
    case MB_CTR_SDE:
    case MB_CTR_DIRECT:
        return "the kernels' own counts in the child process (every thread); empty for "
               "implementations that do not count their work (naive; avx512 rows that run a "
               "fused kernel)";
    default:
        return "";
    }
}

cJSON *mb_counters_json(const mb_counters *c)
{
    cJSON *ctr = cJSON_CreateObject();
    cJSON_AddStringToObject(ctr, "library", c->library);
    cJSON_AddBoolToObject(ctr, "hardware_counters", !c->no_hardware);
    if (c->forced[0])
        cJSON_AddStringToObject(ctr, "forced_by_MOEBENCH_COUNTERS", c->forced);
    if (c->no_hardware && c->n > 0)
        cJSON_AddStringToObject(ctr, "note",
                                "no hardware counters on this machine (virtual machine without a "
                                "virtualised PMU?): only software events and the kernels' own "
                                "counts (SDE) are counted");
    cJSON *ev = cJSON_AddArrayToObject(ctr, "events");
    for (int i = 0; i < c->n; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "event", c->event[i]);
        char col[80], buf[400];
        snprintf(col, sizeof col, "ctr_%s", c->column[i]);
        cJSON_AddStringToObject(e, "column", col);
        cJSON_AddBoolToObject(e, "available", c->available[i]);
        if (c->available[i]) {
            cJSON_AddStringToObject(e, "source", mb_counters_source_name(c->source[i]));
            if (c->papi_reason[i][0])
                cJSON_AddStringToObject(e, "papi_reason", c->papi_reason[i]);
            cJSON_AddStringToObject(e, "scope", scope_of(c, i, buf, sizeof buf));
        } else {
            cJSON_AddStringToObject(e, "reason", c->reason[i]);
        }
        int work = mb_work_find(c->event[i]);
        if (work >= 0 && !strncmp(c->event[i], sde_prefix, sizeof sde_prefix - 1))
            cJSON_AddStringToObject(e, "counts", mb_work_description((mb_work_kind)work));
        cJSON_AddStringToObject(e, "unit", "per forward call (counter pass apart from timing)");
        cJSON_AddItemToArray(ev, e);
    }
    return ctr;
}
