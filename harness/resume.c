/* --resume support (see resume.h). */
#include "resume.h"

#include <cjson/cJSON.h>
#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void mb_resume_drop_partial_line(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    long keep = 0, pos = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        pos++;
        if (c == '\n')
            keep = pos;
    }
    fclose(f);
    if (keep < pos && truncate(path, keep) == 0)
        fprintf(stderr, "moebench: %s ended in an unfinished line; it was removed\n", path);
}

int mb_resume_load(const char *results_path, const char *expected_header, mb_resume *r,
                   char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    FILE *f = fopen(results_path, "r");
    char line[8192] = "";
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
    }
    if (strcmp(line, expected_header) != 0) {
        snprintf(err, errlen, "%s has other columns than this run would write (different "
                              "--counters, or written by another moebench version?)", results_path);
        return -1;
    }
    mb_csv_table t;
    if (mb_csv_read(results_path, &t)) {
        snprintf(err, errlen, "cannot read %s", results_path);
        return -1;
    }
    r->keys = calloc(t.nrows ? t.nrows : 1, sizeof *r->keys);
    if (!r->keys) {
        mb_csv_free(&t);
        snprintf(err, errlen, "out of memory reading %s", results_path);
        return -1;
    }
    for (size_t i = 0; i < t.nrows; i++) {
        char key[MB_DESC_LEN + 64];
        snprintf(key, sizeof key, "%s\t%s\t%s\t%s", mb_csv_get(&t, i, "case"),
                 mb_csv_get(&t, i, "impl"), mb_csv_get(&t, i, "threads"),
                 mb_csv_get(&t, i, "cache"));
        char *k = strdup(key);
        if (!k) {
            mb_csv_free(&t);
            mb_resume_free(r);
            snprintf(err, errlen, "out of memory reading %s", results_path);
            return -1;
        }
        r->keys[r->n++] = k;
    }
    if (t.nrows > 0)
        snprintf(r->run_id, sizeof r->run_id, "%s", mb_csv_get(&t, 0, "run_id"));
    mb_csv_free(&t);
    return 0;
}

int mb_resume_done(const mb_resume *r, const char *case_desc, const char *impl, int threads,
                   const char *cache)
{
    char key[MB_DESC_LEN + 64];
    snprintf(key, sizeof key, "%s\t%s\t%d\t%s", case_desc, impl, threads, cache);
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->keys[i], key))
            return 1;
    return 0;
}

void mb_resume_free(mb_resume *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->keys[i]);
    free(r->keys);
    memset(r, 0, sizeof *r);
}

int mb_resume_check_settings(const char *dir, int threads_option, const char *cache_option,
                             int reps, double min_time, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/run.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *nb = realloc(buf, cap = cap ? 2 * cap : 65536);
            if (!nb) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "out of memory reading %s", path);
                return -1;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    if (!buf)
        return 0;
    buf[n] = '\0';
    cJSON *root = cJSON_Parse(buf);
    free(buf);
    const cJSON *s = root ? cJSON_GetObjectItemCaseSensitive(root, "settings") : NULL;
    int rc = 0;
    /* valueint, never (int)valuedouble: run.json comes from anywhere, and cJSON saturates
     * numbers beyond int (1e300) where a cast is undefined */
    if (cJSON_IsObject(s)) {
        const cJSON *th = cJSON_GetObjectItemCaseSensitive(s, "threads_option");
        const cJSON *ca = cJSON_GetObjectItemCaseSensitive(s, "cache_option");
        const cJSON *re = cJSON_GetObjectItemCaseSensitive(s, "reps");
        const cJSON *mt = cJSON_GetObjectItemCaseSensitive(s, "min_time_s");
        if (cJSON_IsNumber(th) && th->valueint != threads_option) {
            if (th->valueint > 0)
                snprintf(err, errlen, "the run in %s used --threads %d (this one: %s%d); pass "
                         "the same settings to resume it", dir, th->valueint,
                         threads_option > 0 ? "--threads " : "threads from the suite, option ",
                         threads_option);
            else
                snprintf(err, errlen, "the run in %s took threads from the suite (no --threads); "
                         "resume it without --threads", dir);
            rc = -1;
        } else if (cJSON_IsString(ca) && strcmp(ca->valuestring, cache_option) != 0) {
            snprintf(err, errlen, "the run in %s used cache %s, this one %s; pass the same "
                     "--cache (none for suite/warm) to resume it", dir, ca->valuestring,
                     cache_option);
            rc = -1;
        } else if (cJSON_IsNumber(re) && re->valueint != reps) {
            snprintf(err, errlen, "the run in %s used --reps %d, this one %d; pass --reps %d to "
                     "resume it", dir, re->valueint, reps, re->valueint);
            rc = -1;
        } else if (cJSON_IsNumber(mt) && fabs(mt->valuedouble - min_time) > 1e-9 * fabs(min_time)) {
            snprintf(err, errlen, "the run in %s used --min-time %g, this one %g; pass --min-time "
                     "%g to resume it", dir, mt->valuedouble, min_time, mt->valuedouble);
            rc = -1;
        }
    }
    cJSON_Delete(root);
    return rc;
}
