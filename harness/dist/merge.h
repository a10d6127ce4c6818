/* `moebench merge OUT DIR...`: the shards of one sharded run (moebench run --shard I/N, or the
 * ranks of --mpi) into one results directory holding exactly the rows an unsharded run writes,
 * in its order. Refused, with the reason, when the directories are not the shards of one run
 * (another suite hash, commit or row-shaping setting, another shard count, a shard given
 * twice) or when rows are missing or duplicated (each named). Everything is written into a
 * staging directory beside OUT and renamed to OUT at the end: nothing half-merged is left. */
#ifndef MOEBENCH_MERGE_H
#define MOEBENCH_MERGE_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* The key of a results.csv row: case|impl|threads|cache. */
void mb_merge_row_key(const char *case_desc, const char *impl, int threads, const char *cache,
                      char *out, size_t n);

/* Returns 0 merged; 2 refused (err says why: the inputs do not form one run, OUT exists);
 * 1 when reading or writing failed. */
int mb_merge_dirs(const char *out, char *const *dirs, int n, char *err, size_t errlen);

#endif
