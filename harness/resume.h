/* --resume DIR: which case x implementation rows DIR/results.csv already holds, so a run
 * killed or interrupted goes on where it stopped (crashed and timed-out rows count as done:
 * running them again would crash again). */
#ifndef MOEBENCH_RESUME_H
#define MOEBENCH_RESUME_H

#include <stddef.h>
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
/* Compares the settings recorded in DIR/run.json ("settings": threads_option, cache_option,
 * reps, min_time_s) with this run's (threads_option 0 = not given, cache_option as recorded:
 * "warm", "cold" or "suite/warm"). 0 when they agree or run.json has none; -1 with a message
 * naming the option to pass in err. */
int mb_resume_check_settings(const char *dir, int threads_option, const char *cache_option,
                             int reps, double min_time, char *err, size_t errlen);
void mb_resume_free(mb_resume *r);

#endif
