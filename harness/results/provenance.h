/* run.json: everything needed to trace a number back to its run (design section 5). The parts
 * only other folders know are handed in built: the suite files (plan/suite_record.h), the
 * counters (exec/counters.h) and the peak RSS method (exec/memory.h). */
#ifndef MOEBENCH_PROVENANCE_H
#define MOEBENCH_PROVENANCE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include "roofline_file.h"   /* mb_roof */


typedef struct {
    const char *run_id;
    int argc;
    char **argv;                 /* full command line, argv[0] = program */
    cJSON *suite_files;          /* mb_suite_files_json(suite, 1) (taken over, may be NULL) */
    size_t cases;
    cJSON *counters;             /* mb_counters_json (taken over, may be NULL) */
    const char *papi_library;    /* mb_counters.library, NULL: unknown */
    const char *peak_rss_method; /* mb_peak_rss_method() */
    cJSON *settings;             /* run settings object (taken over, may be NULL) */
    mb_roof roof;
    const char *roofline_source; /* file the ceilings came from, or NULL */
} mb_provenance;

/* Builds the run.json object (caller frees with cJSON_Delete). */
cJSON *mb_provenance_build(const mb_provenance *p);
/* Writes json to path atomically (temp file + rename). 0 on success. */
int mb_json_write_file(const char *path, const cJSON *json);

/* FNV-1a 64 of text, as 16 hex digits (the suite file hash). */
void mb_fnv1a_hex(const char *text, char out[17]);

/* The suite hash of run.json's settings: FNV-1a 64 of the files' hashes (mb_fnv1a_hex of each
 * file's content, in load order, includes too) joined by ','; derivable from the suite_files
 * of any run.json. */
void mb_suite_hash_join(const char *const *file_hashes, int n, char out[17]);
/* HEAD of the source tree ("" when it is no git checkout). */
void mb_git_commit(char *out, size_t n);

/* cpu0's cpufreq scaling governor into out ("" and -1 when there is none, e.g. in a VM). */
int mb_cpu_governor(char *out, size_t n);

/* 1 when /proc/cpuinfo has the hypervisor flag. */
int mb_is_vm(void);

#endif
