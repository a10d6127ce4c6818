/* Rendering charts with gnuplot, all-or-nothing: every data file, script and image is written
 * into a staging directory beside the destination and moved into place only when every chart
 * rendered, so a failure never leaves half a set of charts behind.
 *
 * A chart is a template from plots/NAME.gp (pure gnuplot, styling only) preceded by a prologue
 * the C side writes: the variables the template reads (data file, panel and series lists, title,
 * footnote) and a loop over the PNG (pngcairo) and PDF (pdfcairo) terminals. The generated
 * script is kept beside its images and data, so `cd charts && gnuplot NAME.gp` re-draws it after
 * re-styling. */
#ifndef MOEBENCH_PLOT_GNUPLOT_H
#define MOEBENCH_PLOT_GNUPLOT_H

#include <stddef.h>
#include <stdio.h>

/* A chart whose gnuplot runs later (mb_plot_out_run). */
typedef struct {
    char name[64];
    int pid, failed;
    double t0;
    char err[600];
} mb_plot_job;

typedef struct {
    char final_dir[4096];
    char tmp_dir[4200];
    char templates[4096];
    char footnote[512];
    int n_charts;
    int defer;            /* 1: mb_plot_render only writes the script; mb_plot_out_run renders */
    /* A figure of fig_w x fig_h inches (a paper's column or page width; fonts >= 8 pt, PNG at
     * MB_PLOT_PAPER_DPI), or 0: the screen charts sized in pixels per chart (the default).
     * Set by mb_plot_out_set_size, or by $MOEBENCH_PLOT_SIZE at mb_plot_out_begin. */
    double fig_w, fig_h;
    int fig_h_auto;       /* the height was not given: a chart may grow it (mb_plot_grow_h) */
    int units;            /* time axes: MB_PLOT_UNITS_AUTO, _US or _MS */
    mb_plot_job *jobs;
    int njobs, started, running;
} mb_plot_out;

/* Pages a chart draws at most unless MOEBENCH_PLOT_MAX_PAGES says otherwise (0 = all): gnuplot
 * draws about 8 panels per second per terminal here, so thousands of panels take minutes. */
#define MB_PLOT_MAX_PAGES 4

enum { MB_PLOT_UNITS_AUTO = 0, MB_PLOT_UNITS_US, MB_PLOT_UNITS_MS };

/* PNG resolution of a figure sized in inches: 8 pt text is 33 px high. */
#define MB_PLOT_PAPER_DPI 300
/* Smallest font of a figure sized in inches, in points (what a printed paper can read). */
#define MB_PLOT_MIN_FONT_PT 8

/* Parses a figure size: "3.3in" (one column of a two-column paper), "7in" (full width), a
 * width alone taking its default height, or "WxH" ("3.3inx2.2in", "3.3x2.2"), in inches.
 * 0, or -1 with the reason in err. */
int mb_plot_parse_size(const char *s, double *w, double *h, char *err, size_t n);
/* 1 when s gives a height (WxH). */
int mb_plot_size_has_height(const char *s);
/* Sizes every later chart of o to w x h inches (0 x 0: the screen default); h_auto: h is the
 * default for w (the size named only a width), which a chart with long labels may exceed. */
void mb_plot_out_set_size(mb_plot_out *o, double w, double h, int h_auto);
/* For a chart of a figure whose height was not given: the height that leaves a plot of about
 * 1.3 in besides the footnote, title and key at the top and x labels of label_chars characters
 * rotated to sin_angle below it, if that is more than the default (else the default). Screen
 * charts and given heights: unchanged. */
double mb_plot_grow_h(const mb_plot_out *o, int label_chars, double sin_angle);
/* How many items (bar groups, cases, panels) fit a page: screen charts keep screen_per_page;
 * a figure in inches as many as fit its width at item_in inches each (at least 1). */
int mb_plot_per_page(const mb_plot_out *o, int screen_per_page, double item_in);
/* Panels per page: screen charts MB_PANELS_PER_PAGE-like screen_per_page; a figure as many
 * panels of about 2.2 x 1.7 inches as fit it (at least 1). */
int mb_plot_panels_per_page(const mb_plot_out *o, int screen_per_page);

/* 0 when a gnuplot executable is on PATH; else -1 with a one-line message. */
int mb_gnuplot_available(char *err, size_t n);

/* Directory of the templates: $MOEBENCH_PLOTS_DIR, else MOEBENCH_SOURCE_DIR/plots. */
const char *mb_plot_templates_dir(void);

/* Creates the staging directory for final_dir (parents of final_dir are created). The figure
 * size comes from $MOEBENCH_PLOT_SIZE when set (an invalid value is an error). */
int mb_plot_out_begin(mb_plot_out *o, const char *final_dir, const char *footnote, char *err,
                      size_t n);
/* Opens a file in the staging directory for writing. */
FILE *mb_plot_out_open(mb_plot_out *o, const char *name);
/* Removes a staged file (the data of a chart that had nothing to draw). */
void mb_plot_out_remove(mb_plot_out *o, const char *name);
/* Writes NAME.gp (prologue with `params` + plots/TEMPLATE.gp) and renders NAME.png (w x h
 * pixels) and NAME.pdf. params is gnuplot text (variable definitions), may be NULL. */
int mb_plot_render(mb_plot_out *o, const char *name, const char *tmpl, const char *params, int w,
                   int h, char *err, size_t n);
/* The same for a chart of `items` panels or groups drawn per_page at a time (see the prologue
 * in plot_gnuplot.c: the template draws items first .. first + count - 1); `what` names the
 * items in the note printed when pages are left out. */
int mb_plot_render_paged(mb_plot_out *o, const char *name, const char *tmpl, const char *params,
                         int w, int h, int items, int per_page, const char *what, char *err,
                         size_t n);
/* Renders the deferred charts, several gnuplot processes at a time. Returns the number that
 * failed; each failed job has its message in jobs[k].err and its files are removed. */
int mb_plot_out_run(mb_plot_out *o);
/* Removes the staged files of chart `name` (NAME.*, NAME-<page>.*). */
void mb_plot_out_discard(mb_plot_out *o, const char *name);
/* Moves everything into final_dir. */
int mb_plot_out_commit(mb_plot_out *o, char *err, size_t n);
/* Removes the staging directory and what it holds. */
void mb_plot_out_abort(mb_plot_out *o);

/* Appends to a growing gnuplot text buffer (params): printf-style; and a string quoted for
 * gnuplot (mb_gp_quote). Text from a results directory reaches gnuplot only through these
 * quoting functions, never through a "%s" in a format. */
typedef struct {
    char *s;
    size_t len, cap;
} mb_gp_buf;
void mb_gp_printf(mb_gp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mb_gp_var_str(mb_gp_buf *b, const char *var, const char *value);
/* A chart's title: title_text (quoted), broken into lines that fit a figure's width, and
 * title_lines, the number of lines. */
void mb_gp_title(mb_gp_buf *b, const mb_plot_out *o, const char *title);
void mb_gp_free(mb_gp_buf *b);
/* Quotes s as a gnuplot single-quoted string (no backquote, macro or escape processing
 * inside; ' doubled, a line break becomes '."\n".', other control characters spaces) into out,
 * truncating to n bytes. MB_GP_QUOTED_LEN(len) bytes always suffice. */
#define MB_GP_QUOTED_LEN(len) (8 * (len) + 3)
void mb_gp_quote(const char *s, char *out, size_t n);
/* Writes s as a double-quoted string of a gnuplot data file (a column, e.g. an xtic label):
 * " becomes ', \ becomes /, control characters spaces, so it stays one field of one line. */
void mb_gp_dat_str(FILE *f, const char *s);
/* Writes s into a data file's comment line: control characters become spaces, so a line break
 * in the text cannot start a data line. */
void mb_gp_dat_text(FILE *f, const char *s);

#endif
