/* The table writer of compare and table (see table_format.h). */
#include "table_format.h"

#include <stdlib.h>
#include <string.h>

#include "csv.h"

static const char *const names[] = {"text", "md", "latex", "csv", "json"};

int mb_format_parse(const char *name, mb_format *out)
{
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (!strcmp(name, names[i])) {
            *out = (mb_format)i;
            return 0;
        }
    if (!strcmp(name, "markdown")) {
        *out = MB_FMT_MD;
        return 0;
    }
    return -1;
}

const char *mb_format_name(mb_format f)
{
    return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "?";
}

int mb_table_init(mb_table *t, int ncols, const char *const *header, const char *align)
{
    memset(t, 0, sizeof *t);
    if (ncols < 1 || ncols > MB_TABLE_MAX_COLS)
        return -1;
    t->ncols = ncols;
    for (int c = 0; c < ncols; c++)
        t->align[c] = align && align[c] == 'r' ? 'r' : 'l';
    t->nrows = -1;   /* the header is row 0 */
    if (mb_table_add(t, header))
        return -1;
    return 0;
}

int mb_table_add(mb_table *t, const char *const *cells)
{
    int row = t->nrows + 1;
    if (row + 1 > t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        char **c = realloc(t->cell, (size_t)cap * (size_t)t->ncols * sizeof *c);
        if (!c)
            return -1;
        t->cell = c;
        t->cap = cap;
    }
    for (int c = 0; c < t->ncols; c++) {
        const char *s = cells && cells[c] ? cells[c] : "";
        if (!(t->cell[row * t->ncols + c] = strdup(s))) {
            while (c--)
                free(t->cell[row * t->ncols + c]);
            return -1;
        }
    }
    t->nrows = row;
    return 0;
}

void mb_table_free(mb_table *t)
{
    for (int i = 0; i < (t->nrows + 1) * t->ncols; i++)
        free(t->cell[i]);
    free(t->cell);
    memset(t, 0, sizeof *t);
}

void mb_latex_escape(const char *s, char *out, size_t n)
{
    size_t k = 0;
    for (; *s && k + 1 < n; s++) {
        const char *rep = NULL;
        char one[3] = {'\\', *s, 0};
        if (!strncmp(s, "\xC2\xB1", 2))          /* the two non-ASCII signs the tables use */
            rep = "$\\pm$";
        else if (!strncmp(s, "\xC3\x97", 2))
            rep = "$\\times$";
        else if (strchr("_%&#${}", *s))
            rep = one;
        else if (*s == '~')
            rep = "\\textasciitilde{}";
        else if (*s == '^')
            rep = "\\textasciicircum{}";
        else if (*s == '\\')
            rep = "\\textbackslash{}";
        if (!rep) {
            out[k++] = *s;
            continue;
        }
        size_t l = strlen(rep);
        if (k + l + 1 > n)
            break;
        memcpy(out + k, rep, l);
        k += l;
        s += (unsigned char)*s >= 0x80;   /* the second byte of a two-byte sign */
    }
    out[k] = '\0';
}

/* Display width of UTF-8 text: continuation bytes take no column. */
static int width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void md_cell(const char *s, FILE *out)
{
    fputc(' ', out);
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', out);
        fputc(*s == '\n' ? ' ' : *s, out);
    }
    fputs(" |", out);
}

void mb_table_write(const mb_table *t, mb_format f, const char *caption, FILE *out)
{
    int nc = t->ncols;
    if (f == MB_FMT_CSV) {
        for (int r = 0; r <= t->nrows; r++)
            for (int c = 0; c < nc; c++) {
                mb_csv_write_field(out, t->cell[r * nc + c]);
                fputc(c + 1 < nc ? ',' : '\n', out);
            }
        return;
    }
    if (f == MB_FMT_MD) {
        if (caption)
            fprintf(out, "%s\n\n", caption);
        for (int r = 0; r <= t->nrows; r++) {
            fputc('|', out);
            for (int c = 0; c < nc; c++)
                md_cell(t->cell[r * nc + c], out);
            fputc('\n', out);
            if (r == 0) {
                fputc('|', out);
                for (int c = 0; c < nc; c++)
                    fputs(t->align[c] == 'r' ? "---:|" : "---|", out);
                fputc('\n', out);
            }
        }
        return;
    }
    if (f == MB_FMT_LATEX) {
        /* booktabs: \toprule \midrule \bottomrule, no vertical rules */
        fprintf(out, "%% needs \\usepackage{booktabs}\n\\begin{table}\n\\centering\n");
        if (caption) {
            char buf[2048];
            mb_latex_escape(caption, buf, sizeof buf);
            fprintf(out, "\\caption{%s}\n", buf);
        }
        fprintf(out, "\\begin{tabular}{%.*s}\n\\toprule\n", nc, t->align);
        for (int r = 0; r <= t->nrows; r++) {
            for (int c = 0; c < nc; c++) {
                char buf[4096];
                mb_latex_escape(t->cell[r * nc + c], buf, sizeof buf);
                fprintf(out, "%s%s", c ? " & " : "", buf);
            }
            fprintf(out, " \\\\\n%s", r == 0 ? "\\midrule\n" : "");
        }
        fprintf(out, "\\bottomrule\n\\end{tabular}\n\\end{table}\n");
        return;
    }
    /* text: aligned columns, two spaces apart */
    int w[MB_TABLE_MAX_COLS] = {0};
    for (int r = 0; r <= t->nrows; r++)
        for (int c = 0; c < nc; c++) {
            int x = width(t->cell[r * nc + c]);
            if (x > w[c])
                w[c] = x;
        }
    if (caption)
        fprintf(out, "%s\n", caption);
    for (int r = 0; r <= t->nrows; r++) {
        for (int c = 0; c < nc; c++) {
            const char *s = t->cell[r * nc + c];
            int pad = w[c] - width(s);
            if (t->align[c] == 'r')
                fprintf(out, "%*s%s", pad, "", s);
            else
                fprintf(out, "%s%*s", s, c + 1 < nc ? pad : 0, "");
            if (c + 1 < nc)
                fputs("  ", out);
        }
        fputc('\n', out);
    }
}
