/* --resume support (see resume.h). */
#include "resume.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileutil.h"
#include "str_append.h"
#include "provenance.h"
#include "suite.h"

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

/* ---- is DIR's run the one being resumed? ------------------------------------------------ */

typedef struct {
    const char *key;    /* in run.json's "settings" */
    const char *label;  /* the option that sets it */
} setting_key;

/* the settings that decide which rows exist and what is in them; --counters is checked by the
 * header, --peer and --no-plot do not shape the rows of the run */
static const setting_key row_settings[] = {
    {"mode", "mode"},
    {"threads_option", "--threads"},
    {"reps", "--reps"},
    {"min_time_s", "--min-time"},
    {"cache_option", "--cache"},
    {"timeout_s", "--timeout"},
    {"impl_filter", "--impl"},
    {"variant_filter", "--variant"},
    {"regex_filter", "--filter"},
    {"interleave", "--interleave"},
    /* the core OpenBLAS ran (its own choice or --openblas-core), not the option: the blas,
     * merged and torch rows are timed on it */
    {"openblas_core", "--openblas-core"},
    {"pin", "--pin"},
};

static void value_text(const char *label, const cJSON *v, char *out, size_t n)
{
    if (cJSON_IsNumber(v)) {
        if (!strcmp(label, "--threads") && v->valuedouble == 0)
            snprintf(out, n, "(not given)");
        else
            snprintf(out, n, "%g", v->valuedouble);
    } else if (cJSON_IsString(v)) {
        if (!v->valuestring[0] || !strcmp(v->valuestring, "suite/warm"))
            snprintf(out, n, "(not given)");
        else
            snprintf(out, n, "%s", v->valuestring);
    } else if (!v) {
        snprintf(out, n, "(not recorded)");
    } else {
        char *t = cJSON_PrintUnformatted(v);
        snprintf(out, n, "%s", t ? t : "?");
        cJSON_free(t);
    }
}

/* What to pass to resume with the old value. */
static void hint_text(const char *label, const cJSON *old, const cJSON *now, char *out, size_t n)
{
    char v[256];
    value_text(label, old, v, sizeof v);
    out[0] = '\0';
    if (!old)
        return;
    if (!strcmp(label, "mode")) {
        const char *o = cJSON_IsString(old) ? old->valuestring : "";
        const char *w = cJSON_IsString(now) ? now->valuestring : "";
        if (!strcmp(o, "dry-run"))
            snprintf(out, n, " (add --dry-run)");
        else if (!strcmp(w, "dry-run"))
            snprintf(out, n, " (drop --dry-run)");
        else
            snprintf(out, n, " (use moebench %s)", o);
    } else if (cJSON_IsBool(old)) {
        snprintf(out, n, cJSON_IsTrue(old) ? " (add %s)" : " (drop %s)", label);
    } else if (!strcmp(v, "(not given)"))
        snprintf(out, n, " (drop %s)", label);
    else
        snprintf(out, n, " (pass %s %s)", label, v);
}

static const char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Suite hash of a run.json: settings.suite_hash, or (older files) from suite_files. */
static int suite_hash_of(const cJSON *run, char out[17], char *paths, size_t pn)
{
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(run, "suite_files");
    paths[0] = '\0';
    const cJSON *f;
    const char *hashes[MB_MAX_SUITE_FILES];
    int n = 0, ok = cJSON_IsArray(files);
    cJSON_ArrayForEach(f, files) {
        const char *p = json_str(f, "path"), *h = json_str(f, "fnv1a64");
        size_t l = strlen(paths);
        if (p && l < pn)
            snprintf(paths + l, pn - l, "%s%s", l ? ", " : "", p);
        if (!h || n >= MB_MAX_SUITE_FILES)
            ok = 0;
        else
            hashes[n++] = h;
    }
    const char *stored = json_str(cJSON_GetObjectItemCaseSensitive(run, "settings"), "suite_hash");
    if (stored) {
        snprintf(out, 17, "%s", stored);
        return 0;
    }
    if (!ok || n == 0)
        return -1;
    mb_suite_hash_join(hashes, n, out);
    return 0;
}

int mb_resume_compare(const cJSON *old, const cJSON *now, const char *dir, char *err, size_t errlen)
{
    err[0] = '\0';
    int differ = 0, unknown = 0;
    char ho[17], hn[17], po[2048], pn[2048];
    if (suite_hash_of(old, ho, po, sizeof po) != 0) {
        mb_str_appendf(err, errlen, "\n  suite: not recorded in the first run");
        unknown = 1;
    } else if (suite_hash_of(now, hn, pn, sizeof pn) == 0 && strcmp(ho, hn) != 0) {
        mb_str_appendf(err, errlen, "\n  suite: %s (%s) in the first run, %s (%s) in this one (other "
                 "suite files, or edited since)", ho, po[0] ? po : "?", hn, pn);
        differ = 1;
    }
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(old, "settings");
    const cJSON *sn = cJSON_GetObjectItemCaseSensitive(now, "settings");
    for (size_t i = 0; i < sizeof row_settings / sizeof *row_settings; i++) {
        const char *k = row_settings[i].key, *label = row_settings[i].label;
        const cJSON *vo = cJSON_GetObjectItemCaseSensitive(so, k);
        const cJSON *vn = cJSON_GetObjectItemCaseSensitive(sn, k);
        if (!vo) {
            mb_str_appendf(err, errlen, "\n  %s: not recorded in the first run", label);
            unknown = 1;
            continue;
        }
        int same = cJSON_IsNumber(vo) && cJSON_IsNumber(vn)
                       ? fabs(vo->valuedouble - vn->valuedouble) <= 1e-9 * fabs(vn->valuedouble)
                       : cJSON_Compare(vo, vn, 1);
        if (same)
            continue;
        char a[256], b[256], h[300];
        value_text(label, vo, a, sizeof a);
        value_text(label, vn, b, sizeof b);
        hint_text(label, vo, vn, h, sizeof h);
        mb_str_appendf(err, errlen, "\n  %s: %s in the first run, %s in this one%s", label, a, b, h);
        differ = 1;
    }
    const char *co = json_str(cJSON_GetObjectItemCaseSensitive(old, "git"), "commit");
    const char *cn = json_str(cJSON_GetObjectItemCaseSensitive(now, "git"), "commit");
    if (!cJSON_GetObjectItemCaseSensitive(old, "git")) {
        mb_str_appendf(err, errlen, "\n  commit: not recorded in the first run");
        unknown = 1;
    } else if (strcmp(co ? co : "", cn ? cn : "") != 0) {
        mb_str_appendf(err, errlen, "\n  commit: %s in the first run, %s in this one%s",
                 co ? co : "(no git checkout)", cn ? cn : "(no git checkout)",
                 co ? " (build that commit to resume)" : "");
        differ = 1;
    }
    if (!differ && !unknown)
        return 0;
    /* the summary goes first; the lines gathered so far follow it */
    char *lines = strdup(err);
    const char *cmd = json_str(old, "command");
    if (unknown && !differ)
        snprintf(err, errlen, "%s/run.json does not record all of what decides its rows (written by "
                 "an older moebench?), so this run cannot be checked against it; start a new run "
                 "with --out:%s", dir, lines ? lines : "");
    else
        snprintf(err, errlen, "the run in %s differs from this one; its rows would be mixed with "
                 "rows of another kind:%s%s%s", dir, lines ? lines : "",
                 cmd ? "\nthe first run was: " : "", cmd ? cmd : "");
    free(lines);
    return -1;
}

int mb_resume_check_run(const char *dir, const cJSON *now, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/run.json", dir);
    char *text = mb_read_file(path, 256u << 20, NULL);
    if (!text) {
        if (errno == ENOENT)
            snprintf(err, errlen, "there is no %s, so nothing says which suite, settings and "
                     "commit the rows in %s come from; start a new run with --out", path, dir);
        else
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    cJSON *old = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(old)) {
        cJSON_Delete(old);
        snprintf(err, errlen, "%s is not a JSON object (damaged?): cannot check that this run is "
                 "the one to resume", path);
        return -1;
    }
    int rc = mb_resume_compare(old, now, dir, err, errlen);
    cJSON_Delete(old);
    return rc;
}
