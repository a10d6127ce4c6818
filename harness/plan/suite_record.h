/* What run.json says about a suite (results/provenance.h assembles the file): the files read,
 * with their hash and content, and the identity --resume compares. Here, not in results/,
 * because only plan/ knows what a suite is. */
#ifndef MOEBENCH_SUITE_RECORD_H
#define MOEBENCH_SUITE_RECORD_H

#include <cjson/cJSON.h>
#include "suite.h"

/* The suite hash of the files of suite (mb_suite_hash_join of each file's mb_fnv1a_hex). */
void mb_suite_hash(const mb_suite *suite, char out[17]);

/* run.json's "suite_files": [{"path", "fnv1a64"[, "content"]}] for every file read, includes
 * too, in load order. Caller owns the array. */
cJSON *mb_suite_files_json(const mb_suite *suite, int with_content);

/* What identifies a run's rows, shaped like run.json so --resume can compare it with one:
 * {"settings": settings (taken over), "git": {"commit"}, "suite_files": [{"path", "fnv1a64"}]}.
 * Caller frees with cJSON_Delete. */
cJSON *mb_provenance_identity(const mb_suite *suite, cJSON *settings);

#endif
