/* --resume support (see resume.h). */
#include "resume.h"

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
                              "--counters?)", results_path);
        return -1;
    }
    mb_csv_table t;
    if (mb_csv_read(results_path, &t)) {
        snprintf(err, errlen, "cannot read %s", results_path);
        return -1;
    }
    r->keys = calloc(t.nrows ? t.nrows : 1, sizeof *r->keys);
    for (size_t i = 0; r->keys && i < t.nrows; i++) {
        char key[MB_DESC_LEN + 32];
        snprintf(key, sizeof key, "%s\t%s", mb_csv_get(&t, i, "case"), mb_csv_get(&t, i, "impl"));
        r->keys[r->n++] = strdup(key);
    }
    if (t.nrows > 0)
        snprintf(r->run_id, sizeof r->run_id, "%s", mb_csv_get(&t, 0, "run_id"));
    mb_csv_free(&t);
    return 0;
}

int mb_resume_done(const mb_resume *r, const char *case_desc, const char *impl)
{
    char key[MB_DESC_LEN + 32];
    snprintf(key, sizeof key, "%s\t%s", case_desc, impl);
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
