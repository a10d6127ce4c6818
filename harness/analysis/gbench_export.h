/* A run in Google Benchmark's JSON schema, so its tools (compare.py, the dashboards around it)
 * read moebench runs: "context" (date, host, CPUs, caches, build type, from run.json) and
 * "benchmarks". Each ok row is a benchmark named VARIANT/SHAPE/IMPL/threads:N[/cold]
 * ("lora/T=16,h=4096,o=4096,r=16/blas/threads:2"): one "iteration" entry per timing sample of
 * samples.csv (repetition_index, iterations = forwards per sample) and the "aggregate" entries
 * NAME_mean, NAME_median, NAME_stddev. time_unit is "us". A row that did not run ok is not a
 * benchmark (gbench's tools need a time in each) but an item of context.moebench_rows_not_ok
 * with its status and reason. moebench measures wall-clock time only:
 * cpu_time repeats real_time (the schema requires it), and the context says so. */
#ifndef MOEBENCH_GBENCH_EXPORT_H
#define MOEBENCH_GBENCH_EXPORT_H

#include <regex.h>
#include <cjson/cJSON.h>
#include "plot_results.h"

/* The document of res (rows whose case matches filter; NULL = all), in *out (caller frees with
 * cJSON_Delete). Returns the number of rows exported (0: nothing selected), -1 out of memory. */
int mb_gbench_export(const mb_results *res, const regex_t *filter, cJSON **out);

/* The benchmark name of row i ("lora/T=16,h=4096,o=4096,r=16/blas/threads:2"). */
void mb_gbench_name(const mb_results *res, size_t i, char *out, size_t n);

#endif
