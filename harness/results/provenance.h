/* run.json: everything needed to trace a number back to its run (design section 5). */
#ifndef MOEBENCH_PROVENANCE_H
#define MOEBENCH_PROVENANCE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include "counters.h"
#include "roofline.h"   /* mb_roof and its one loader */
#include "suite.h"


typedef struct {
    const char *run_id;
    int argc;
    char **argv;                 /* full command line, argv[0] = program */
    const mb_suite *suite;
    const mb_counters *counters;
    cJSON *settings;             /* run settings object (taken over, may be NULL) */
    mb_roof roof;
    const char *roofline_source; /* file the ceilings came from, or NULL */
} mb_provenance;

/* Builds the run.json object (caller frees with cJSON_Delete). */
cJSON *mb_provenance_build(const mb_provenance *p);
/* Writes json to path atomically (temp file + rename). 0 on success. */
int mb_json_write_file(const char *path, const cJSON *json);

/* Reads dir/roofline.json through roofline.c's reader (mb_roof_from_file); 0 when found
 * (missing keys stay NAN), -1 when there is no readable file. New code: mb_roof_find, which
 * also honours MOEBENCH_ROOFLINE. */
int mb_roofline_load(const char *dir, mb_roof *roof);

/* FNV-1a 64 of text, as 16 hex digits (the suite file hash). */
void mb_fnv1a_hex(const char *text, char out[17]);

/* The suite hash of run.json's settings: FNV-1a 64 of the files' hashes (mb_fnv1a_hex of each
 * file's content, in load order, includes too) joined by ','; derivable from the suite_files
 * of any run.json. */
void mb_suite_hash_join(const char *const *file_hashes, int n, char out[17]);
/* The suite hash of the files of suite. */
void mb_suite_hash(const mb_suite *suite, char out[17]);

/* HEAD of the source tree ("" when it is no git checkout). */
void mb_git_commit(char *out, size_t n);

/* What identifies a run's rows, shaped like run.json so --resume can compare it with one:
 * {"settings": settings (taken over), "git": {"commit"}, "suite_files": [{"path", "fnv1a64"}]}. Caller frees with cJSON_Delete. */
cJSON *mb_provenance_identity(const mb_suite *suite, cJSON *settings);

/* cpu0's cpufreq scaling governor into out ("" and -1 when there is none, e.g. in a VM). */
int mb_cpu_governor(char *out, size_t n);

/* 1 when /proc/cpuinfo has the hypervisor flag. */
int mb_is_vm(void);

#endif
