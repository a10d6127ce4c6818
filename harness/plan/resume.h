/* --resume DIR: which case x implementation rows DIR/results.csv already holds, so a run
 * killed or interrupted goes on where it stopped (crashed and timed-out rows count as done:
 * running them again would crash again). */
#ifndef MOEBENCH_RESUME_H
#define MOEBENCH_RESUME_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "csv.h"

typedef struct {
    char **keys;        /* "case\timpl\tthreads\tcache" */
    size_t n;
    char run_id[48];    /* of the rows already there ("" when none) */
} mb_resume;

/* Cuts an unfinished last line (a run killed while writing) so appending adds whole rows. */
void mb_resume_drop_partial_line(const char *path);

/* Reads results_path, whose header must be exactly expected_header (the one this run would
 * write: same counter columns). 0 on success; -1 with the reason in err. */
int mb_resume_load(const char *results_path, const char *expected_header, mb_resume *r,
                   char *err, size_t errlen);
/* Whether the row case x impl x threads x cache (cache "warm"/"cold") is already there. */
int mb_resume_done(const mb_resume *r, const char *case_desc, const char *impl, int threads,
                   const char *cache);
/* Whether the run recorded in old (a parsed run.json) is the one described by now (shaped
 * like mb_provenance_identity: settings, git.commit, suite_files): the same suite hash, the
 * same settings that shape rows (mode, threads, reps, min_time, cache, timeout and the impl,
 * variant and regex filters) and the same commit. 0 when they agree; -1 with every difference
 * (old and new value and the option to pass) or every missing record in err, one per line. */
int mb_resume_compare(const cJSON *old, const cJSON *now, const char *dir, char *err,
                      size_t errlen);
/* mb_resume_compare with DIR/run.json; a missing or unreadable run.json is an error too. */
int mb_resume_check_run(const char *dir, const cJSON *now, char *err, size_t errlen);
void mb_resume_free(mb_resume *r);

#endif
