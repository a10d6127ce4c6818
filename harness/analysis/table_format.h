/* One table, four spellings: the console (aligned text), Markdown (a pipe table), LaTeX
 * (booktabs rules, escaped text) and CSV (RFC 4180). `compare` and `table` build their cells
 * once and hand them here, so every format says the same thing. */
#ifndef MOEBENCH_TABLE_FORMAT_H
#define MOEBENCH_TABLE_FORMAT_H

#include <stdio.h>

typedef enum { MB_FMT_TEXT, MB_FMT_MD, MB_FMT_LATEX, MB_FMT_CSV, MB_FMT_JSON } mb_format;

/* "text" "md" (or "markdown") "latex" "csv" "json"; 0, or -1 for another name. */
int mb_format_parse(const char *name, mb_format *out);
const char *mb_format_name(mb_format f);

/* A table collected in memory (the console needs column widths before the first row). Cells
 * are copied. align: one of 'l' or 'r' per column. */
typedef struct {
    int ncols, nrows, cap;
    char **cell;          /* (nrows + 1) x ncols: row 0 is the header */
    char align[64];
} mb_table;

#define MB_TABLE_MAX_COLS 63

/* 0, or -1 when ncols is out of range or out of memory. */
int mb_table_init(mb_table *t, int ncols, const char *const *header, const char *align);
/* Appends a row of ncols cells (NULL = empty); 0 or -1 (out of memory). */
int mb_table_add(mb_table *t, const char *const *cells);
/* Writes the table in format f (not JSON: the callers build their own). caption (may be NULL)
 * goes into LaTeX's \caption of a table float and above the Markdown table; CSV writes only the
 * header and rows. */
void mb_table_write(const mb_table *t, mb_format f, const char *caption, FILE *out);
void mb_table_free(mb_table *t);

/* s with LaTeX's special characters escaped (_ % & # $ { } ~ ^ \) and the UTF-8 signs the
 * tables use (plus-minus, times) as math, cut to n bytes. */
void mb_latex_escape(const char *s, char *out, size_t n);

#endif
