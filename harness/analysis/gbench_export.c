/* Google Benchmark JSON of a run (see gbench_export.h). */
#include "gbench_export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

void mb_gbench_name(const mb_results *res, size_t i, char *out, size_t n)
{
    char d[1024];
    mb_results_case(res, i, d, sizeof d);
    char *colon = strchr(d, ':');
    if (colon)
        *colon = '/';   /* variant/shape: the family, then its arguments, as gbench names go */
    const char *cache = mb_results_str(res, i, res->c.cache);
    snprintf(out, n, "%s/%s/threads:%s%s%s", d, mb_results_str(res, i, res->c.impl),
             mb_results_str(res, i, res->c.threads), strcmp(cache, "cold") ? "" : "/",
             strcmp(cache, "cold") ? "" : cache);
}

/* "20261123T220000Z" -> "2026-11-23T22:00:00+00:00" (gbench's ISO 8601 date) */
static void iso_date(const char *ts, char *out, size_t n)
{
    int y, mo, d, h, mi, s;
    if (ts && sscanf(ts, "%4d%2d%2dT%2d%2d%2dZ", &y, &mo, &d, &h, &mi, &s) == 6)
        snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d+00:00", y, mo, d, h, mi, s);
    else
        snprintf(out, n, "%s", ts ? ts : "");
}

static const cJSON *at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

static cJSON *context(const mb_results *res)
{
    const cJSON *run = res->run;
    cJSON *c = cJSON_CreateObject();
    char date[64];
    const cJSON *w = at(run, "written_utc", NULL);
    iso_date(cJSON_IsString(w) ? w->valuestring : NULL, date, sizeof date);
    cJSON_AddStringToObject(c, "date", date);
    const cJSON *host = at(run, "machine", "hostname");
    cJSON_AddStringToObject(c, "host_name", cJSON_IsString(host) ? host->valuestring : "");
    cJSON_AddStringToObject(c, "executable", "moebench");
    const cJSON *cpus = at(run, "machine", "online_cpus");
    if (cJSON_IsNumber(cpus))
        cJSON_AddNumberToObject(c, "num_cpus", cpus->valuedouble);
    const cJSON *mhz = at(run, "machine", "cpu_mhz");
    if (cJSON_IsNumber(mhz))
        cJSON_AddNumberToObject(c, "mhz_per_cpu", mhz->valuedouble);
    /* scaling: known only through the governor; "performance" holds the clock up */
    const cJSON *gov = at(run, "machine", "cpu_governor");
    if (cJSON_IsString(gov))
        cJSON_AddBoolToObject(c, "cpu_scaling_enabled", strcmp(gov->valuestring, "performance"));
    const cJSON *caches = at(run, "machine", "caches");
    const cJSON *pus = at(run, "machine", "pus");
    cJSON *cs = cJSON_AddArrayToObject(c, "caches");
    const cJSON *ch;
    cJSON_ArrayForEach(ch, caches)
    {
        const cJSON *lv = at(ch, "level", NULL), *sz = at(ch, "size_bytes", NULL),
                    *cnt = at(ch, "count", NULL);
        int level;
        char kind = 0;
        if (!cJSON_IsString(lv) || sscanf(lv->valuestring, "L%d%c", &level, &kind) < 1 ||
            !cJSON_IsNumber(sz))
            continue;
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "type", kind == 'd' ? "Data" : kind == 'i' ? "Instruction"
                                                                               : "Unified");
        cJSON_AddNumberToObject(x, "level", level);
        cJSON_AddNumberToObject(x, "size", sz->valuedouble);
        if (cJSON_IsNumber(pus) && cJSON_IsNumber(cnt) && cnt->valuedouble > 0)
            cJSON_AddNumberToObject(x, "num_sharing", floor(pus->valuedouble / cnt->valuedouble));
        cJSON_AddItemToArray(cs, x);
    }
    const cJSON *bt = at(run, "build", "build_type");
    char type[32] = "";
    if (cJSON_IsString(bt))
        for (size_t k = 0; bt->valuestring[k] && k + 1 < sizeof type; k++)
            type[k] = (char)(bt->valuestring[k] | 0x20);   /* gbench writes "release" / "debug" */
    cJSON_AddStringToObject(c, "library_build_type", *type ? type : "unknown");
    /* what gbench tools will not find elsewhere */
    const cJSON *id = at(run, "run_id", NULL), *model = at(run, "machine", "cpu_model");
    cJSON_AddStringToObject(c, "moebench_run_id", cJSON_IsString(id) ? id->valuestring : "");
    if (cJSON_IsString(model))
        cJSON_AddStringToObject(c, "moebench_cpu_model", model->valuestring);
    cJSON_AddStringToObject(c, "moebench_note",
                            "times are wall-clock per forward; moebench does not measure CPU "
                            "time, so cpu_time repeats real_time (the schema requires the field)."
                            " Absent: mhz_per_cpu (not recorded by this run), "
                            "cpu_scaling_enabled when no cpufreq governor was readable.");
    return c;
}

static cJSON *entry(const char *name, const char *run_name, const char *run_type, int reps,
                    int threads, const char *label)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "name", name);
    cJSON_AddStringToObject(b, "run_name", run_name);
    cJSON_AddStringToObject(b, "run_type", run_type);
    cJSON_AddNumberToObject(b, "repetitions", reps);
    cJSON_AddNumberToObject(b, "threads", threads);
    cJSON_AddStringToObject(b, "label", label);
    return b;
}

static void times(cJSON *b, double iterations, double us)
{
    cJSON_AddNumberToObject(b, "iterations", iterations);
    cJSON_AddNumberToObject(b, "real_time", us);
    cJSON_AddNumberToObject(b, "cpu_time", us);
    cJSON_AddStringToObject(b, "time_unit", "us");
}

int mb_gbench_export(const mb_results *res, const regex_t *filter, cJSON **out)
{
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return -1;
    cJSON_AddItemToObject(doc, "context", context(res));
    cJSON *bs = cJSON_AddArrayToObject(doc, "benchmarks");
    cJSON *not_ok = cJSON_AddArrayToObject(cJSON_GetObjectItemCaseSensitive(doc, "context"),
                                           "moebench_rows_not_ok");
    int col_iters = mb_csv_col(&res->csv, "iters_per_sample");
    int count = 0;
    for (size_t i = 0; i < mb_results_nrows(res); i++) {
        char d[1024], name[1400], agg[1500];
        mb_results_case(res, i, d, sizeof d);
        if (filter && regexec(filter, d, 0, NULL, 0) != 0)
            continue;
        count++;
        mb_gbench_name(res, i, name, sizeof name);
        int threads = atoi(mb_results_str(res, i, res->c.threads));
        const char *impl = mb_results_str(res, i, res->c.impl);
        if (!mb_results_ok(res, i)) {
            /* gbench's tools read every iteration entry's real_time (compare.py's geometric
             * mean fails without one), and a made-up time would be a lie: the row goes to the
             * context, with its status and reason */
            cJSON *b = cJSON_CreateObject();
            cJSON_AddStringToObject(b, "name", name);
            cJSON_AddStringToObject(b, "status", mb_results_str(res, i, res->c.status));
            cJSON_AddStringToObject(b, "reason", mb_results_str(res, i, res->c.reason));
            cJSON_AddItemToArray(not_ok, b);
            continue;
        }
        double iters = col_iters >= 0 ? atof(mb_csv_cell(&res->csv, i, (size_t)col_iters)) : 0;
        if (!(iters >= 1))
            iters = 1;
        double *ns = NULL;
        size_t m = mb_results_samples(res, d, impl, mb_results_str(res, i, res->c.threads),
                                      mb_results_str(res, i, res->c.cache), &ns);
        for (size_t k = 0; k < m; k++) {
            cJSON *b = entry(name, name, "iteration", (int)m, threads, d);
            cJSON_AddNumberToObject(b, "repetition_index", (double)k);
            times(b, iters, ns[k] / 1e3);
            cJSON_AddItemToArray(bs, b);
        }
        /* aggregates: from the samples when there are any, else the row's median alone */
        double mean = NAN, sd = NAN, med = mb_results_num(res, i, res->c.med);
        if (m > 0) {
            mb_summary s;
            mb_summarize(ns, m, &s);
            mean = s.mean / 1e3;
            med = s.median / 1e3;
            if (m > 1) {
                double ss = 0;
                for (size_t k = 0; k < m; k++)
                    ss += (ns[k] / 1e3 - mean) * (ns[k] / 1e3 - mean);
                sd = sqrt(ss / (double)(m - 1));
            }
        }
        free(ns);
        int reps = m > 0 ? (int)m : (int)mb_results_num(res, i, res->c.samples);
        const char *an[3] = {"mean", "median", "stddev"};
        double av[3] = {mean, med, sd};
        for (int a = 0; a < 3; a++) {
            if (!isfinite(av[a]))
                continue;   /* unknown: no entry rather than a made-up one */
            snprintf(agg, sizeof agg, "%s_%s", name, an[a]);
            cJSON *b = entry(agg, name, "aggregate", reps > 0 ? reps : 0, threads, d);
            cJSON_AddStringToObject(b, "aggregate_name", an[a]);
            cJSON_AddStringToObject(b, "aggregate_unit", "time");
            times(b, iters, av[a]);
            cJSON_AddItemToArray(bs, b);
        }
    }
    *out = doc;
    return count;
}
