/* PAPI counters (see counters.h). */
#include "counters.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#ifdef MOEBENCH_HAVE_PAPI
#include <papi.h>
#endif

static const char *const auto_hw[] = {"PAPI_TOT_CYC", "PAPI_TOT_INS", "PAPI_L1_DCM",
                                      "PAPI_L3_TCM", "PAPI_FP_OPS"};
static const char *const auto_sw[] = {"perf::TASK-CLOCK", "perf::PAGE-FAULTS",
                                      "perf::CONTEXT-SWITCHES", "perf::CPU-MIGRATIONS"};

static int add_event(mb_counters *c, const char *name, char *err, size_t errlen)
{
    if (c->n >= MB_MAX_COUNTERS) {
        snprintf(err, errlen, "at most %d counters", MB_MAX_COUNTERS);
        return -1;
    }
    snprintf(c->event[c->n], sizeof c->event[0], "%s", name);
    mb_csv_sanitize(name, c->column[c->n], sizeof c->column[0]);
    c->available[c->n] = 0;
    c->reason[c->n][0] = '\0';
    c->n++;
    return 0;
}

#ifdef MOEBENCH_HAVE_PAPI
/* Counts of es include every thread the process creates after the events are added (perf
 * inherit); must be set before any event is added. 1 when it took. */
static int set_inherit(int es, char *why, size_t n)
{
    int rc;
    if ((rc = PAPI_assign_eventset_component(es, 0)) != PAPI_OK) {
        snprintf(why, n, "PAPI_assign_eventset_component: %s", PAPI_strerror(rc));
        return 0;
    }
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

/* The event set the child counts with: inheritance first (so OpenMP worker threads count
 * too), then every available event in order. An event that does not fit with those before it
 * becomes unavailable, its reason "<unfit> (<PAPI error>)". Returns the number added, or -1 when
 * no event set could be created (*es stays PAPI_NULL). */
static int build_eventset(mb_counters *c, int *es, const char *unfit)
{
    *es = PAPI_NULL;
    if (PAPI_create_eventset(es) != PAPI_OK)
        return -1;
    c->inherit = set_inherit(*es, c->inherit_reason, sizeof c->inherit_reason);
    int added = 0;
    for (int i = 0; i < c->n; i++) {
        int code, rc;
        if (!c->available[i])
            continue;
        if ((rc = PAPI_event_name_to_code(c->event[i], &code)) != PAPI_OK ||
            (rc = PAPI_add_event(*es, code)) != PAPI_OK) {
            c->available[i] = 0;
            snprintf(c->reason[i], sizeof c->reason[0], "%s (%s)", unfit, PAPI_strerror(rc));
            continue;
        }
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
#endif

int mb_counters_probe(mb_counters *c, const char *spec, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->eventset = -1;
    if (!spec || !strcmp(spec, "none")) {
        snprintf(c->library, sizeof c->library, "counters off (--counters none)");
        return 0;
    }
    if (!strcmp(spec, "auto")) {
        for (size_t i = 0; i < sizeof auto_hw / sizeof *auto_hw; i++)
            add_event(c, auto_hw[i], err, errlen);
        for (size_t i = 0; i < sizeof auto_sw / sizeof *auto_sw; i++)
            add_event(c, auto_sw[i], err, errlen);
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
#ifdef MOEBENCH_HAVE_PAPI
    int rc = PAPI_library_init(PAPI_VER_CURRENT);
    if (rc != PAPI_VER_CURRENT) {
        for (int i = 0; i < c->n; i++)
            snprintf(c->reason[i], sizeof c->reason[0], "PAPI_library_init failed (%s)",
                     rc > 0 ? "version mismatch" : PAPI_strerror(rc));
        snprintf(c->library, sizeof c->library, "PAPI (init failed)");
        c->no_hardware = 1;
        return 0;
    }
    snprintf(c->library, sizeof c->library, "PAPI %d.%d.%d.%d", PAPI_VERSION_MAJOR(PAPI_VERSION),
             PAPI_VERSION_MINOR(PAPI_VERSION), PAPI_VERSION_REVISION(PAPI_VERSION),
             PAPI_VERSION_INCREMENT(PAPI_VERSION));
    int hw_ok = 0;
    for (int i = 0; i < c->n; i++) {
        c->available[i] = probe_one(c->event[i], c->reason[i], sizeof c->reason[0]);
        if (c->available[i] && strncmp(c->event[i], "perf::", 6) != 0)
            hw_ok = 1;
    }
    /* perf::CYCLES and friends count hardware too; anything not a known software event is
     * hardware for this verdict. */
    for (int i = 0; i < c->n; i++)
        if (c->available[i] && !strncmp(c->event[i], "perf::", 6)) {
            int sw = 0;
            for (size_t j = 0; j < sizeof auto_sw / sizeof *auto_sw; j++)
                sw |= !strcmp(c->event[i], auto_sw[j]);
            if (!sw)
                hw_ok = 1;
        }
    c->no_hardware = !hw_ok;
    /* Probe them together, as the child will count them, so run.json says exactly what the
     * child will use. */
    int es;
    if (build_eventset(c, &es, "works alone but does not fit in one event set with the events "
                               "before it") >= 0) {
        long long v[MB_MAX_COUNTERS];
        if (PAPI_start(es) == PAPI_OK)
            PAPI_stop(es, v);
        PAPI_cleanup_eventset(es);
        PAPI_destroy_eventset(&es);
    }
    PAPI_shutdown();
#else
    for (int i = 0; i < c->n; i++)
        snprintf(c->reason[i], sizeof c->reason[0], "built without PAPI");
    snprintf(c->library, sizeof c->library, "built without PAPI");
    c->no_hardware = 1;
#endif
    return 0;
}

void mb_counters_child_begin(mb_counters *c)
{
    c->eventset = -1;
    c->n_live = 0;
#ifdef MOEBENCH_HAVE_PAPI
    int any = 0;
    for (int i = 0; i < c->n; i++)
        any |= c->available[i];
    if (!any || PAPI_library_init(PAPI_VER_CURRENT) != PAPI_VER_CURRENT)
        return;
    /* the parent probed the same set (mb_counters_probe), so every event fits; should one not,
     * its column stays empty with the reason */
    int es, added = build_eventset(c, &es, "did not fit in the child's event set although the "
                                           "parent's probe passed");
    if (added < 0)
        return;
    c->n_live = added;
    c->eventset = es;
#endif
}

int mb_counters_start(mb_counters *c)
{
#ifdef MOEBENCH_HAVE_PAPI
    if (c->eventset >= 0 && c->n_live > 0)
        return PAPI_start(c->eventset) == PAPI_OK ? 0 : -1;
#else
    (void)c;
#endif
    return -1;
}

int mb_counters_stop(mb_counters *c, double divisor, double *out)
{
    for (int i = 0; i < c->n; i++)
        out[i] = NAN;
#ifdef MOEBENCH_HAVE_PAPI
    if (c->eventset < 0 || c->n_live == 0)
        return -1;
    long long v[MB_MAX_COUNTERS] = {0};
    if (PAPI_stop(c->eventset, v) != PAPI_OK)
        return -1;
    int j = 0;
    for (int i = 0; i < c->n; i++)
        if (c->available[i])
            out[i] = (double)v[j++] / (divisor > 0 ? divisor : 1);
    return 0;
#else
    (void)divisor;
    return -1;
#endif
}

void mb_counters_child_end(mb_counters *c)
{
#ifdef MOEBENCH_HAVE_PAPI
    if (c->eventset >= 0) {
        PAPI_cleanup_eventset(c->eventset);
        PAPI_destroy_eventset(&c->eventset);
        PAPI_shutdown();
    }
#endif
    c->eventset = -1;
}

cJSON *mb_counters_json(const mb_counters *c)
{
    cJSON *ctr = cJSON_CreateObject();
    {
        cJSON_AddStringToObject(ctr, "library", c->library);
        cJSON_AddBoolToObject(ctr, "hardware_counters", !c->no_hardware);
        if (c->no_hardware && c->n > 0)
            cJSON_AddStringToObject(ctr, "note",
                                    "no hardware counters on this machine (virtual machine without a "
                                    "virtualised PMU?): only software events are counted");
        cJSON *ev = cJSON_AddArrayToObject(ctr, "events");
        for (int i = 0; i < c->n; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "event", c->event[i]);
            char col[80];
            snprintf(col, sizeof col, "ctr_%s", c->column[i]);
            cJSON_AddStringToObject(e, "column", col);
            cJSON_AddBoolToObject(e, "available", c->available[i]);
            if (!c->available[i])
                cJSON_AddStringToObject(e, "reason", c->reason[i]);
            cJSON_AddStringToObject(e, "unit", "per forward call (counter pass apart from timing)");
            if (c->inherit) {
                cJSON_AddStringToObject(e, "scope", "the child process and all its threads (inherit)");
            } else {
                char sc[400];
                snprintf(sc, sizeof sc, "calling thread only: OpenMP / OpenBLAS worker threads are "
                         "not counted when threads > 1 (inherit unavailable: %s)",
                         c->inherit_reason[0] ? c->inherit_reason : "no PAPI");
                cJSON_AddStringToObject(e, "scope", sc);
            }
            cJSON_AddItemToArray(ev, e);
        }
    }
    return ctr;
}
