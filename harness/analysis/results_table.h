/* `moebench table`: the table a paper prints from one results directory. Rows are cases
 * (variant and shape, plus the settings that vary in the run and are not the pivot), columns
 * the values of the pivot axis (implementations by default, or thread counts, or cache), cells
 * the median time per forward with its spread (95 % CI of the median or MAD) or the speedup over
 * one pivot value. A row that did not run ok shows its status (empty in CSV). */
#ifndef MOEBENCH_RESULTS_TABLE_H
#define MOEBENCH_RESULTS_TABLE_H

#include <regex.h>
#include <stdio.h>
#include "plot_results.h"
#include "table_format.h"

typedef enum { MB_PIVOT_IMPL, MB_PIVOT_THREADS, MB_PIVOT_CACHE } mb_pivot;
typedef enum { MB_TV_TIME, MB_TV_SPEEDUP } mb_table_value;
typedef enum { MB_TE_CI, MB_TE_MAD, MB_TE_NONE } mb_table_error;

typedef struct {
    mb_pivot pivot;
    mb_table_value value;
    const char *baseline;   /* speedup: the pivot value divided by (NULL: blas, else the first) */
    mb_table_error error;
    double unit_us;         /* 1 (us), 1000 (ms), 1e6 (s) */
    const char *unit;       /* "us" "ms" "s" */
    const regex_t *filter;  /* on the case descriptor; NULL = all rows */
} mb_table_opts;

/* "impl" "threads" "cache"; 0 or -1. */
int mb_pivot_parse(const char *s, mb_pivot *p);

/* Writes the table of res in fmt (not JSON). Returns 0, 1 when no row is selected (nothing
 * written), 2 when the baseline is not a value of the pivot (message in err), -1 out of memory. */
int mb_results_table(const mb_results *res, const mb_table_opts *o, mb_format fmt, FILE *f,
                     char *err, size_t n);

#endif
