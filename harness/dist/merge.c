/* Merging the shards of one run (see merge.h). */
#include "merge.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv.h"
#include "fileutil.h"
#include "str_append.h"
#include "provenance.h"
#include "resume.h"

#define MAX_NAMED 20   /* missing or duplicated rows named one by one, then counted */

void mb_merge_row_key(const char *case_desc, const char *impl, int threads, const char *cache,
                      char *out, size_t n)
{
    snprintf(out, n, "%s|%s|%d|%s", case_desc, impl, threads, cache);
}

typedef struct {
    const char *dir;
    cJSON *run;
    int index, count;
    mb_csv_table t;
    int loaded;
} shard_in;

static int json_int(const cJSON *o, const char *k, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valueint : dflt;
}

static cJSON *load_json(const char *dir, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/run.json", dir);
    char *text = mb_read_file(path, 256u << 20, NULL);
    if (!text) {
        snprintf(err, errlen, "%s: %s: not a results directory of moebench run", path,
                 strerror(errno));
        return NULL;
    }
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        snprintf(err, errlen, "%s is not a JSON object (damaged?)", path);
        return NULL;
    }
    return j;
}

/* The row key of row i of a results.csv. */
static void key_of(const mb_csv_table *t, size_t i, char *out, size_t n)
{
    mb_merge_row_key(mb_csv_get(t, i, "case"), mb_csv_get(t, i, "impl"),
                     atoi(mb_csv_get(t, i, "threads")), mb_csv_get(t, i, "cache"), out, n);
}

/* Which (shard, row) holds each key of the plan; -1 none. */
typedef struct {
    const char *key;
    int owner;
    int shard, row;
} plan_row;

static int write_results(const char *path, shard_in *in, plan_row *plan, int np)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    const mb_csv_table *t0 = &in[0].t;
    for (size_t c = 0; c < t0->ncols; c++) {
        if (c)
            fputc(',', f);
        mb_csv_write_field(f, t0->header[c]);
    }
    fputc('\n', f);
    for (int i = 0; i < np; i++) {
        const mb_csv_table *t = &in[plan[i].shard].t;
        for (size_t c = 0; c < t->ncols; c++) {
            if (c)
                fputc(',', f);
            mb_csv_write_field(f, mb_csv_cell(t, (size_t)plan[i].row, c));
        }
        fputc('\n', f);
    }
    int bad = ferror(f);
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}

/* samples.csv of every shard, one header. */
static int write_samples(const char *path, shard_in *in, int n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    mb_samples_write_header(f);
    char *line = NULL;
    size_t cap = 0;
    int bad = 0;
    for (int s = 0; s < n && !bad; s++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/samples.csv", in[s].dir);
        FILE *g = fopen(p, "r");
        if (!g)
            continue;   /* a shard without samples (check mode) */
        ssize_t l;
        int first = 1;
        while ((l = getline(&line, &cap, g)) > 0) {
            if (first) {
                first = 0;
                continue;
            }
            if (line[l - 1] != '\n')
                break;   /* an unfinished last line: the shard was killed while writing it */
            fwrite(line, 1, (size_t)l, f);
        }
        fclose(g);
    }
    free(line);
    bad |= ferror(f);
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}

static cJSON *merged_json(const char *out, shard_in *in, int n)
{
    cJSON *j = cJSON_Duplicate(in[0].run, 1);
    if (!j)
        return NULL;
    cJSON *settings = cJSON_GetObjectItemCaseSensitive(j, "settings");
    if (settings) {
        cJSON_DeleteItemFromObjectCaseSensitive(settings, "output_dir");
        cJSON_AddStringToObject(settings, "output_dir", out);
        cJSON_DeleteItemFromObjectCaseSensitive(settings, "shard");
    }
    cJSON *sh = cJSON_GetObjectItemCaseSensitive(j, "shard");
    if (sh) {
        cJSON_DeleteItemFromObjectCaseSensitive(sh, "index");
        cJSON_AddBoolToObject(sh, "merged", 1);
    }
    /* the counts of every shard added up */
    cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result");
    if (cJSON_IsObject(res)) {
        cJSON *item;
        cJSON_ArrayForEach(item, res) {
            if (!cJSON_IsNumber(item))
                continue;
            /* the shards ran side by side: the run took as long as the longest one */
            int longest = !strcmp(item->string, "elapsed_s");
            double sum = 0;
            for (int s = 0; s < n; s++) {
                double v = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(in[s].run, "result"), item->string));
                if (isnan(v))
                    continue;
                sum = longest ? (v > sum ? v : sum) : sum + v;
            }
            cJSON_SetNumberValue(item, sum);
        }
    }
    /* every shard's host and provenance, whole */
    cJSON *list = cJSON_AddArrayToObject(j, "shards");
    for (int s = 0; s < n && list; s++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "index", in[s].index);
        cJSON_AddStringToObject(e, "dir", in[s].dir);
        const cJSON *host = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(in[s].run, "machine"), "hostname");
        cJSON_AddStringToObject(e, "host", cJSON_IsString(host) ? host->valuestring : "");
        cJSON_AddItemToObject(e, "run", cJSON_Duplicate(in[s].run, 1));
        cJSON_AddItemToArray(list, e);
    }
    return j;
}

/* Checks that the n directories are the shards of one run; fills in[]. 0, or 2 with the
 * reasons in err. */
static int check_shards(shard_in *in, int n, char *err, size_t errlen)
{
    int bad = 0;
    for (int s = 0; s < n; s++) {
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(in[s].run, "shard");
        in[s].index = json_int(sh, "index", -1);
        in[s].count = json_int(sh, "count", -1);
        if (!cJSON_IsObject(sh) || in[s].index < 0 || in[s].count < 1 ||
            !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(sh, "rows"))) {
            mb_str_appendf(err, errlen, "\n  %s is not a shard (run without --shard or --mpi, or already "
                "merged)", in[s].dir);
            bad = 1;
        }
    }
    if (bad)
        return 2;
    for (int s = 1; s < n; s++) {
        char why[8192];
        if (mb_resume_compare(in[0].run, in[s].run, in[0].dir, why, sizeof why) != 0) {
            mb_str_appendf(err, errlen, "\n  %s and %s are not shards of one run (\"first run\" is %s): %s",
                in[0].dir, in[s].dir, in[0].dir, why);
            bad = 1;
            continue;
        }
        if (in[s].count != in[0].count) {
            mb_str_appendf(err, errlen, "\n  %s is shard %d/%d, %s is shard %d/%d: another shard count",
                in[0].dir, in[0].index, in[0].count, in[s].dir, in[s].index, in[s].count);
            bad = 1;
            continue;
        }
        const cJSON *r0 = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(in[0].run, "shard"), "rows");
        const cJSON *rs = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(in[s].run, "shard"), "rows");
        if (!cJSON_Compare(r0, rs, 1)) {
            mb_str_appendf(err, errlen, "\n  %s and %s split different case lists into shards", in[0].dir,
                in[s].dir);
            bad = 1;
        }
        for (int q = 0; q < s; q++)
            if (in[q].index == in[s].index) {
                mb_str_appendf(err, errlen, "\n  %s and %s are both shard %d/%d", in[q].dir, in[s].dir,
                    in[s].index, in[s].count);
                bad = 1;
            }
    }
    if (!bad && n != in[0].count) {
        mb_str_appendf(err, errlen, "\n  %d director%s given for %d shards; missing:", n, n == 1 ? "y" : "ies",
            in[0].count);
        for (int i = 0; i < in[0].count; i++) {
            int have = 0;
            for (int s = 0; s < n; s++)
                have |= in[s].index == i;
            if (!have)
                mb_str_appendf(err, errlen, " %d/%d", i, in[0].count);
        }
        bad = 1;
    }
    return bad ? 2 : 0;
}

/* Every plan row found exactly once in the shards' results.csv. 0, or 2 with the rows named. */
static int match_rows(shard_in *in, int n, plan_row *plan, int np, char *err, size_t errlen)
{
    int missing = 0, dup = 0, extra = 0;
    char key[1200];
    for (int s = 0; s < n; s++) {
        for (size_t i = 0; i < in[s].t.nrows; i++) {
            key_of(&in[s].t, i, key, sizeof key);
            int found = 0;
            for (int p = 0; p < np && !found; p++) {
                if (strcmp(plan[p].key, key) != 0)
                    continue;
                found = 1;
                if (plan[p].shard >= 0) {
                    if (dup++ < MAX_NAMED)
                        mb_str_appendf(err, errlen, "\n  duplicated: %s in %s and %s", key,
                            in[plan[p].shard].dir, in[s].dir);
                } else {
                    plan[p].shard = s;
                    plan[p].row = (int)i;
                }
            }
            if (!found && extra++ < MAX_NAMED)
                mb_str_appendf(err, errlen, "\n  not in the run's case list: %s (in %s)", key, in[s].dir);
        }
    }
    for (int p = 0; p < np; p++)
        if (plan[p].shard < 0 && missing++ < MAX_NAMED)
            mb_str_appendf(err, errlen, "\n  missing: %s (shard %d)", plan[p].key, plan[p].owner);
    if (missing > MAX_NAMED || dup > MAX_NAMED || extra > MAX_NAMED)
        mb_str_appendf(err, errlen, "\n  (%d missing, %d duplicated, %d unexpected rows in all)", missing,
            dup, extra);
    return missing || dup || extra ? 2 : 0;
}

static int stage_and_rename(const char *out, shard_in *in, int n, plan_row *plan, int np,
                            char *err, size_t errlen)
{
    char tmp[4300], p[4400];
    const char *slash = strrchr(out, '/');
    if (slash)
        snprintf(tmp, sizeof tmp, "%.*s/.%s.merging-%d", (int)(slash - out), out, slash + 1,
                 (int)getpid());
    else
        snprintf(tmp, sizeof tmp, ".%s.merging-%d", out, (int)getpid());
    char why[1024];
    if (slash) {
        char parent[4200];
        snprintf(parent, sizeof parent, "%.*s", (int)(slash - out), out);
        if (parent[0] && mb_mkdir_p(parent, why, sizeof why) != 0) {
            snprintf(err, errlen, "cannot create %s: %s", parent, why);
            return 1;
        }
    }
    if (mkdir(tmp, 0777) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return 1;
    }
    int rc = 0;
    snprintf(p, sizeof p, "%s/results.csv", tmp);
    if (write_results(p, in, plan, np) != 0)
        rc = 1;
    snprintf(p, sizeof p, "%s/samples.csv", tmp);
    if (!rc && write_samples(p, in, n) != 0)
        rc = 1;
    cJSON *j = rc ? NULL : merged_json(out, in, n);
    snprintf(p, sizeof p, "%s/run.json", tmp);
    if (!rc && (!j || mb_json_write_file(p, j) != 0))
        rc = 1;
    cJSON_Delete(j);
    if (!rc && rename(tmp, out) != 0)
        rc = 1;
    if (rc) {
        snprintf(err, errlen, "writing the merged run into %s failed: %s (nothing is left "
                 "there)", out, strerror(errno));
        const char *names[] = {"results.csv", "samples.csv", "run.json"};
        for (size_t i = 0; i < 3; i++) {
            snprintf(p, sizeof p, "%s/%s", tmp, names[i]);
            unlink(p);
        }
        rmdir(tmp);
    }
    return rc;
}

int mb_merge_dirs(const char *out, char *const *dirs, int n, char *err, size_t errlen)
{
    err[0] = '\0';
    struct stat sb;
    if (lstat(out, &sb) == 0) {
        snprintf(err, errlen, "%s exists: merge writes a new directory (give another OUT)", out);
        return 2;
    }
    shard_in *in = calloc((size_t)n, sizeof *in);
    plan_row *plan = NULL;
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    int rc = 0, np = 0;
    for (int s = 0; s < n && !rc; s++) {
        in[s].dir = dirs[s];
        in[s].run = load_json(dirs[s], err, errlen);
        if (!in[s].run)
            rc = 2;
    }
    if (!rc) {
        char why[65536] = "";
        rc = check_shards(in, n, why, sizeof why);
        if (rc)
            snprintf(err, errlen, "refused: the directories are not the shards of one run:%s", why);
    }
    char hdr0[65536] = "";
    for (int s = 0; s < n && !rc; s++) {
        char p[4200], why[1024];
        snprintf(p, sizeof p, "%s/results.csv", dirs[s]);
        mb_resume_drop_partial_line(p);
        if (mb_csv_load(p, &in[s].t, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s", why);
            rc = 2;
            break;
        }
        in[s].loaded = 1;
        char hdr[65536] = "";
        for (size_t c = 0; c < in[s].t.ncols; c++)
            mb_str_appendf(hdr, sizeof hdr, "%s%s", c ? "," : "", in[s].t.header[c]);
        if (s == 0)
            snprintf(hdr0, sizeof hdr0, "%s", hdr);
        else if (strcmp(hdr, hdr0) != 0) {
            snprintf(err, errlen, "refused: %s/results.csv and %s/results.csv have other "
                     "columns (other --counters?)", dirs[0], dirs[s]);
            rc = 2;
        }
    }
    if (!rc) {
        const cJSON *rows = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(in[0].run, "shard"), "rows");
        np = cJSON_GetArraySize(rows);
        plan = calloc((size_t)(np ? np : 1), sizeof *plan);
        if (!plan) {
            snprintf(err, errlen, "out of memory");
            rc = 1;
        }
        const cJSON *r;
        int i = 0;
        cJSON_ArrayForEach(r, rows) {
            if (!plan || i >= np)
                break;
            const cJSON *k = cJSON_GetObjectItemCaseSensitive(r, "row");
            plan[i] = (plan_row){cJSON_IsString(k) ? k->valuestring : "",
                                 json_int(r, "shard", -1), -1, -1};
            i++;
        }
    }
    if (!rc) {
        char why[65536] = "";
        rc = match_rows(in, n, plan, np, why, sizeof why);
        if (rc)
            snprintf(err, errlen, "refused: the shards do not hold the rows of the run exactly "
                     "once:%s", why);
    }
    if (!rc)
        rc = stage_and_rename(out, in, n, plan, np, err, errlen);
    for (int s = 0; s < n; s++) {
        cJSON_Delete(in[s].run);
        if (in[s].loaded)
            mb_csv_free(&in[s].t);
    }
    free(plan);
    free(in);
    return rc;
}
