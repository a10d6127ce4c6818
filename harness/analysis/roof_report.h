/* `moebench table RUN --roof`: every row's fraction of its own cache-aware ceiling (the
 * `roof_gflops` a run records per row, see results/roof_level.h), worst first, so the next gap
 * is always the first line. Rows without a ceiling (not ok, no roofline in the run, no FLOP
 * count, a run that predates the column) are listed apart with the reason, never dropped. */
#ifndef MOEBENCH_ROOF_REPORT_H
#define MOEBENCH_ROOF_REPORT_H

#include <regex.h>
#include <stdio.h>
#include "plot_results.h"
#include "table_format.h"

/* One row of the report. fraction = gflops / roof_gflops (NAN without a ceiling). */
typedef struct {
    size_t row;                /* index in res */
    double ai, gflops, roof, fraction;
    const char *bound;         /* "memory", "compute", "compute (no bandwidth)", "" unknown */
    char why[400];             /* rows without a ceiling: the reason */
} mb_roof_entry;

/* The entries of the rows of res that match filter (NULL: all): those with a ceiling first,
 * sorted by fraction ascending (ties: case, impl, threads, cache), then those without, in file
 * order. *n_ceiled counts the first group. Returns the malloc'd array (count in *n), NULL with
 * *n = 0 when no row matches, or NULL with *n = (size_t)-1 when out of memory. */
mb_roof_entry *mb_roof_entries(const mb_results *res, const regex_t *filter, size_t *n,
                               size_t *n_ceiled);

/* Writes the report in fmt (text, md, latex: the ranked table, then the rows without a
 * ceiling as a second table; csv: one table, the rows without a ceiling last with empty numbers
 * and their reason; json: {"ranked": [...], "no_ceiling": [...]}). Returns 0, 1 when no row is
 * selected (nothing written), -1 when out of memory. */
int mb_roof_report(const mb_results *res, const regex_t *filter, mb_format fmt, FILE *f);

#endif
