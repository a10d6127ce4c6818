/* gnuplot rendering with a staging directory (see plot_gnuplot.h). */
#include "plot_gnuplot.h"
#include "child_guard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fileutil.h"

/* Seconds gnuplot may take for one chart before it is killed. */
#define MB_GNUPLOT_TIMEOUT_S 120.0

#ifndef MOEBENCH_SOURCE_DIR
#define MOEBENCH_SOURCE_DIR "."
#endif

/* One length in inches: a number with an optional "in". */
static int parse_inches(const char *s, const char **end, double *v)
{
    char *e;
    errno = 0;
    *v = strtod(s, &e);
    if (e == s || errno || !isfinite(*v))
        return -1;
    if (!strncmp(e, "in", 2))
        e += 2;
    *end = e;
    return 0;
}

int mb_plot_parse_size(const char *s, double *w, double *h, char *err, size_t n)
{
    const char *e;
    double ww, hh = 0;
    if (!s || parse_inches(s, &e, &ww))
        goto bad;
    if (*e == 'x' || *e == 'X') {
        if (parse_inches(e + 1, &e, &hh))
            goto bad;
    } else {
        /* one column: about 4:3; full width: a strip half as high as wide */
        hh = ww <= 4.5 ? ww * 0.76 : ww * 0.5;
    }
    if (*e)
        goto bad;
    if (!(ww >= 1.5 && ww <= 20 && hh >= 1.2 && hh <= 20)) {
        snprintf(err, n, "size '%s': want a width of 1.5 to 20 in and a height of 1.2 to 20 in",
                 s);
        return -1;
    }
    *w = ww;
    *h = hh;
    return 0;
bad:
    snprintf(err, n, "size '%s': want 3.3in (one column), 7in (full width) or WxH in inches "
             "(3.3inx2.2in)", s ? s : "");
    return -1;
}

int mb_plot_size_has_height(const char *s)
{
    return s && (strchr(s, 'x') || strchr(s, 'X'));
}

void mb_plot_out_set_size(mb_plot_out *o, double w, double h, int h_auto)
{
    o->fig_w = w > 0 && h > 0 ? w : 0;
    o->fig_h = w > 0 && h > 0 ? h : 0;
    o->fig_h_auto = o->fig_w > 0 && h_auto;
}

double mb_plot_grow_h(const mb_plot_out *o, int label_chars, double sin_angle)
{
    if (!(o->fig_w > 0) || !o->fig_h_auto)
        return o->fig_h;
    double line = MB_PLOT_MIN_FONT_PT * 1.3 / 72;
    int foot = (int)(strlen(o->footnote) * 0.067 / (o->fig_w - 0.1)) + 1;
    double need = (foot + 4) * line + 1.3 + 0.3 + label_chars * 0.067 * sin_angle;
    return need > o->fig_h ? need : o->fig_h;
}

int mb_plot_per_page(const mb_plot_out *o, int screen_per_page, double item_in)
{
    if (!(o->fig_w > 0))
        return screen_per_page;
    int k = (int)((o->fig_w - 0.7) / item_in);
    k = k < 1 ? 1 : k;
    return k < screen_per_page ? k : screen_per_page;
}

int mb_plot_panels_per_page(const mb_plot_out *o, int screen_per_page)
{
    if (!(o->fig_w > 0))
        return screen_per_page;
    int c = (int)((o->fig_w - 0.3) / 2.2), r = (int)((o->fig_h - 0.5) / 1.7);
    int k = (c < 1 ? 1 : c) * (r < 1 ? 1 : r);
    return k < screen_per_page ? k : screen_per_page;
}

int mb_gnuplot_available(char *err, size_t n)
{
    const char *path = getenv("PATH");
    if (path && *path) {
        const char *p = path;
        while (*p) {
            const char *c = strchr(p, ':');
            size_t len = c ? (size_t)(c - p) : strlen(p);
            char cand[4200];
            snprintf(cand, sizeof cand, "%.*s/gnuplot", (int)len, len ? p : ".");
            if (access(cand, X_OK) == 0)
                return 0;
            p += len + (c ? 1 : 0);
        }
    }
    snprintf(err, n, "gnuplot not found in PATH (install gnuplot-nox); charts need it");
    return -1;
}

const char *mb_plot_templates_dir(void)
{
    const char *env = getenv("MOEBENCH_PLOTS_DIR");
    return env && *env ? env : MOEBENCH_SOURCE_DIR "/plots";
}

int mb_plot_out_begin(mb_plot_out *o, const char *final_dir, const char *footnote, char *err,
                      size_t n)
{
    memset(o, 0, sizeof *o);
    const char *size = getenv("MOEBENCH_PLOT_SIZE");
    if (size && *size) {
        char why[200];
        if (mb_plot_parse_size(size, &o->fig_w, &o->fig_h, why, sizeof why)) {
            snprintf(err, n, "MOEBENCH_PLOT_SIZE: %s", why);
            return -1;
        }
        o->fig_h_auto = !mb_plot_size_has_height(size);
    }
    snprintf(o->final_dir, sizeof o->final_dir, "%s", final_dir);
    size_t l = strlen(o->final_dir);
    while (l > 1 && o->final_dir[l - 1] == '/')
        o->final_dir[--l] = 0;
    snprintf(o->templates, sizeof o->templates, "%s", mb_plot_templates_dir());
    snprintf(o->footnote, sizeof o->footnote, "%s", footnote ? footnote : "");
    /* the staging directory sits beside the destination so the final rename stays on one
     * file system */
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", o->final_dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        if (mb_mkdir_p(parent, err, n) != 0)
            return -1;
    }
    snprintf(o->tmp_dir, sizeof o->tmp_dir, "%s.tmp.XXXXXX", o->final_dir);
    if (!mkdtemp(o->tmp_dir)) {
        snprintf(err, n, "%s: cannot create a staging directory: %s", o->tmp_dir,
                 strerror(errno));
        o->tmp_dir[0] = 0;
        return -1;
    }
    return 0;
}

FILE *mb_plot_out_open(mb_plot_out *o, const char *name)
{
    char p[4500];
    snprintf(p, sizeof p, "%s/%s", o->tmp_dir, name);
    return fopen(p, "w");
}

void mb_plot_out_remove(mb_plot_out *o, const char *name)
{
    char p[4500];
    snprintf(p, sizeof p, "%s/%s", o->tmp_dir, name);
    unlink(p);
}

/* Single quotes: gnuplot does no backquote (`cmd`), macro (@var) or escape processing inside
 * them, so text from a results directory stays text. A quote is doubled; a line break becomes a
 * concatenated "\n" constant (it cannot end the script line); other control characters become
 * spaces. The result is at most MB_GP_QUOTED_LEN(strlen(s)) bytes; shorter buffers truncate. */
void mb_gp_quote(const char *s, char *out, size_t n)
{
    size_t k = 0;
    if (n < 3) {
        if (n)
            out[0] = 0;
        return;
    }
    out[k++] = '\'';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *put = NULL;
        char one[2] = {(char)c, 0};
        if (c == '\n')
            put = "'.\"\\n\".'";
        else if (c == '\'')
            put = "''";
        else if (c < 0x20 || c == 0x7f)
            put = " ";
        else
            put = one;
        size_t l = strlen(put);
        if (k + l + 2 > n)
            break;
        memcpy(out + k, put, l);
        k += l;
    }
    out[k++] = '\'';
    out[k] = 0;
}

void mb_gp_dat_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        fputc(c < 0x20 || c == 0x7f ? ' ' : (int)c, f);
    }
}

void mb_gp_dat_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        fputc(c == '"' ? '\'' : c == '\\' ? '/' : (c < 0x20 || c == 0x7f) ? ' ' : (int)c, f);
    }
    fputc('"', f);
}

void mb_gp_printf(mb_gp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) {
        va_end(ap2);
        return;
    }
    if (b->len + (size_t)need + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 1024) + (size_t)need;
        char *s = realloc(b->s, cap);
        if (!s) {
            va_end(ap2);
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)need;
}

void mb_gp_var_str(mb_gp_buf *b, const char *var, const char *value)
{
    size_t n = MB_GP_QUOTED_LEN(strlen(value));
    char *q = malloc(n);
    if (!q)
        return;
    mb_gp_quote(value, q, n);
    mb_gp_printf(b, "%s = %s\n", var, q);
    free(q);
}

void mb_gp_free(mb_gp_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

static char *read_text(const char *path)
{
    return mb_read_file(path, 0, NULL);
}

/* First line of gnuplot's stderr that names an error, for a one-line message. */
static void first_error(const char *log_path, char *out, size_t n)
{
    char *log = read_text(log_path);
    out[0] = 0;
    if (!log)
        return;
    char *hit = NULL;
    for (char *line = log; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (strstr(line, "rror") || strstr(line, "annot") || strstr(line, "not found")) {
            if (!hit || strstr(line, "rror"))
                hit = line;
            if (strstr(line, "rror"))
                break;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (hit)
        snprintf(out, n, "%s", hit);
    free(log);
    if (!hit) { /* no line names an error: the last non-empty line says most */
        char *again = read_text(log_path), *last = NULL;
        for (char *line = again; line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = 0;
            if (*line)
                last = line;
            line = nl ? nl + 1 : NULL;
        }
        if (last)
            snprintf(out, n, "%s", last);
        free(again);
    }
}

/* Seconds gnuplot may take for one chart: MOEBENCH_GNUPLOT_TIMEOUT, default
 * MB_GNUPLOT_TIMEOUT_S. A deadline, so a hung gnuplot (a font server, a terminal waiting for
 * input) cannot hang the run. */
static double gnuplot_limit(void)
{
    double limit = MB_GNUPLOT_TIMEOUT_S;
    const char *env = getenv("MOEBENCH_GNUPLOT_TIMEOUT");
    if (env && *env) {
        char *end;
        double v = strtod(env, &end);
        if (!*end && v > 0)
            limit = v;
    }
    return limit;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static pid_t start_gnuplot(const mb_plot_out *o, const char *script, const char *name, char *err,
                           size_t n)
{
    char log_path[4500];
    snprintf(log_path, sizeof log_path, "%s/.%s.log", o->tmp_dir, name);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, n, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        mb_child_guard(parent);   /* a killed plot leaves no gnuplot behind */
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (chdir(o->tmp_dir) != 0)
            _exit(126);
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* The outcome of a finished gnuplot: 0, or -1 with gnuplot's first error line in err. */
static int gnuplot_result(const mb_plot_out *o, const char *name, int status, char *err, size_t n)
{
    char log_path[4500];
    snprintf(log_path, sizeof log_path, "%s/.%s.log", o->tmp_dir, name);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char why[512];
        first_error(log_path, why, sizeof why);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            snprintf(why, sizeof why, "cannot execute gnuplot");
        snprintf(err, n, "gnuplot failed on %s.gp: %s", name, *why ? why : "(no message)");
        return -1;
    }
    unlink(log_path);
    return 0;
}

static int run_gnuplot(mb_plot_out *o, const char *script, const char *name, char *err, size_t n)
{
    pid_t pid = start_gnuplot(o, script, name, err, n);
    if (pid < 0)
        return -1;
    double limit = gnuplot_limit(), t0 = now_s();
    struct timespec nap = {0, 10 * 1000 * 1000};
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            snprintf(err, n, "waitpid on gnuplot: %s", strerror(errno));
            return -1;
        }
        if (now_s() - t0 > limit) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            snprintf(err, n, "gnuplot did not finish %s within %g s (MOEBENCH_GNUPLOT_TIMEOUT): "
                     "killed", script, limit);
            return -1;
        }
        nanosleep(&nap, NULL);
    }
    return gnuplot_result(o, name, status, err, n);
}

static void pump(mb_plot_out *o, int wait);
static int parallel_jobs(void);

/* Largest number of pages a chart draws: MOEBENCH_PLOT_MAX_PAGES (0 = all), default
 * MB_PLOT_MAX_PAGES. */
static int max_pages(void)
{
    const char *env = getenv("MOEBENCH_PLOT_MAX_PAGES");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (!*end && v >= 0 && v <= 1000000)
            return (int)v;
    }
    return MB_PLOT_MAX_PAGES;
}

/* text broken into lines that fit a figure's width at pt points (DejaVu Sans is about 0.6 em
 * per character); returns the number of lines. Screen charts keep the text as it is. */
static int wrap_text(const mb_plot_out *o, const char *text, double pt, char *out, size_t n)
{
    snprintf(out, n, "%s", text);
    if (!(o->fig_w > 0)) {
        int lines = 1;
        for (const char *c = out; *c; c++)
            lines += *c == '\n';
        return lines;
    }
    size_t width = (size_t)((o->fig_w - 0.1) / (pt * 0.6 / 72)), col = 0, last_space = 0;
    int lines = 1;
    for (size_t i = 0; out[i]; i++, col++) {
        if (out[i] == '\n') {
            col = 0;
            last_space = 0;
            lines++;
            continue;
        }
        if (out[i] == ' ')
            last_space = i;
        if (col >= width && last_space) {
            out[last_space] = '\n';
            col = i - last_space;
            last_space = 0;
            lines++;
        }
    }
    return lines;
}

void mb_gp_title(mb_gp_buf *b, const mb_plot_out *o, const char *title)
{
    size_t n = strlen(title) + 64;
    char *t = malloc(n);
    if (!t)
        return;
    int lines = wrap_text(o, title, 9, t, n);
    mb_gp_var_str(b, "title_text", t);
    mb_gp_printf(b, "title_lines = %d\n", lines);
    free(t);
}

/* What every chart shares, before its template: the figure's size and fonts (in points; a
 * figure in inches never goes below MB_PLOT_MIN_FONT_PT), the line type of each implementation
 * (an Okabe-Ito colour, a dash type and a point shape, so lines stay apart in grayscale and for
 * colour-blind readers; `set linetype` survives the `reset` between pages) and the tick format
 * of log axes. */
static void write_style(FILE *f, const mb_plot_out *o, int w, int h)
{
    int paper = o->fig_w > 0;
    char foot[sizeof o->footnote + 64], qfoot[MB_GP_QUOTED_LEN(sizeof o->footnote + 64)];
    int foot_lines = wrap_text(o, o->footnote, MB_PLOT_MIN_FONT_PT, foot, sizeof foot);
    mb_gp_quote(foot, qfoot, sizeof qfoot);
    fprintf(f, "footnote = %s\n", qfoot);
    if (paper)
        fprintf(f, "# figure %.2f x %.2f in: every font at least %d pt\npaper = 1\nfig_w = %.4g\n"
                   "fig_h = %.4g\nfont_pt = %d\nfont_title = \",9\"\nfont_panel = \",8\"\n"
                   "font_key = \",8\"\nfont_tic = \",8\"\nfont_label = \",8\"\n"
                   "font_note = \",8\"\n",
                o->fig_w, o->fig_h, MB_PLOT_MIN_FONT_PT, o->fig_w, o->fig_h,
                MB_PLOT_MIN_FONT_PT);
    else
        fprintf(f, "# screen chart %d x %d px (PDF at 144 px per inch)\npaper = 0\n"
                   "fig_w = %.4g\nfig_h = %.4g\nfont_pt = 11\nfont_title = \",13\"\n"
                   "font_panel = \",10\"\nfont_key = \",9\"\nfont_tic = \",8\"\n"
                   "font_label = \",9\"\nfont_note = \",8\"\n",
                w, h, w / 144.0, h / 144.0);
    fprintf(f, "line_in = font_pt * 1.3 / 72.0\nfoot_lines = %d\n", foot_lines);
    fputs("# implementations (mb_plot_impl_style): naive 1, blas 2, onednn 3, avx512 4, merged 5,"
          " torch 6,\n# others 7 and 8, drawn with line type 40 + that: Okabe-Ito colours, distinct"
          " dash types\n# and point shapes (types 1..8, which gnuplot gives plots that name none,"
          " stay as they are)\n"
          "array okabe_ito[8] = [\"#E69F00\", \"#56B4E9\", \"#009E73\", \"#F0E442\", \"#0072B2\","
          " \"#D55E00\", \"#CC79A7\", \"#000000\"]\n"
          "set linetype 41 lc rgb \"#000000\" dt 3 pt 4\n"
          "set linetype 42 lc rgb \"#0072B2\" dt 2 pt 7\n"
          "set linetype 43 lc rgb \"#009E73\" dt 4 pt 9\n"
          "set linetype 44 lc rgb \"#D55E00\" dt 1 pt 5\n"
          "set linetype 45 lc rgb \"#CC79A7\" dt 5 pt 13\n"
          "set linetype 46 lc rgb \"#E69F00\" dt (8, 3, 2, 3) pt 11\n"
          "set linetype 47 lc rgb \"#56B4E9\" dt (1, 2) pt 6\n"
          "set linetype 48 lc rgb \"#F0E442\" dt (12, 4) pt 8\n"
          "# bars: fill pattern per line type (3 = solid), so bars too differ without colour\n"
          "array implpat[8] = [3, 4, 5, 3, 1, 3, 6, 7]\n"
          "# log axes: 10^k labels when the range spans two decades or more, else plain numbers\n"
          "# (the decades autoscaling extends the range to)\n"
          "logspan(lo, hi) = ceil(log10(hi) - 1e-9) - floor(log10(lo) + 1e-9)\n"
          "logfmt(ax, lo, hi) = (lo > 0 && hi > 0 && logspan(lo, hi) >= 2) ? sprintf(\"set "
          "format %s '10^{%%T}'; set %stics 10\", ax, ax) : sprintf(\"set format %s '%%g'; "
          "set %stics autofreq\", ax, ax)\n", f);
}

int mb_plot_render_paged(mb_plot_out *o, const char *name, const char *tmpl, const char *params,
                         int w, int h, int items, int per_page, const char *what, char *err,
                         size_t n)
{
    char tpath[4300];
    snprintf(tpath, sizeof tpath, "%s/%s.gp", o->templates, tmpl);
    char *body = read_text(tpath);
    if (!body) {
        snprintf(err, n, "%s: cannot read chart template: %s", tpath, strerror(errno));
        return -1;
    }
    if (items < 1)
        items = 1;
    if (per_page < 1 || per_page > items)
        per_page = items;
    int npages = (items + per_page - 1) / per_page, maxp = max_pages();
    char script[300];
    snprintf(script, sizeof script, "%s.gp", name);
    FILE *f = mb_plot_out_open(o, script);
    if (!f) {
        snprintf(err, n, "%s/%s: cannot write: %s", o->tmp_dir, script, strerror(errno));
        free(body);
        return -1;
    }
    char qname[MB_GP_QUOTED_LEN(300)];
    mb_gp_quote(name, qname, sizeof qname);
    fprintf(f, "# Generated by moebench from %s.gp; re-draw with: gnuplot %s\n", tmpl, script);
    fprintf(f, "name = %s\n", qname);
    if (params)
        fputs(params, f);
    /* Pages: items (panels or groups) are drawn per_page at a time; the template draws items
     * first .. first + count - 1 (0-based). PNG: NAME.png, or NAME-1.png, NAME-2.png, ...;
     * PDF: one file with a page each. At most max_pages pages are drawn (`gnuplot -e
     * "max_pages=0" NAME.gp` draws them all). */
    fprintf(f, "nitems = %d\nper_page = %d\nnpages = %d\n"
               "if (!exists(\"max_pages\")) max_pages = %d\n"
               "pages = (max_pages > 0 && max_pages < npages) ? max_pages : npages\n",
            items, per_page, npages, maxp);
    write_style(f, o, w, h);
    if (o->fig_w > 0) {
        /* a figure in inches: the PDF at its size with 8 pt text; the PNG the same figure at
         * MB_PLOT_PAPER_DPI (pngcairo draws a point as 96/72 px and a line width of 1 as 1 px,
         * pdfcairo as 0.5 pt: the scales below make the PNG a raster of the PDF) */
        double d = MB_PLOT_PAPER_DPI;
        fprintf(f,
                "do for [out_i = 1:2] {\n"
                "if (out_i == 2) {\n"
                "  set terminal pdfcairo enhanced size %.2fin,%.2fin font \"Sans,%d\" linewidth 1"
                " pointscale 0.7\n"
                "  set output name.\".pdf\"\n"
                "}\n"
                "do for [page = 1:pages] {\n"
                "first = (page - 1) * per_page\n"
                "count = page < npages ? per_page : nitems - first\n"
                "if (out_i == 1) {\n"
                "  set terminal pngcairo enhanced size %d,%d font \"Sans,%d\" fontscale %.4g"
                " linewidth %.4g pointscale %.4g\n"
                "  set output (npages > 1 ? sprintf(\"%%s-%%d.png\", name, page) : name.\".png\")\n"
                "}\n"
                "set label 999 (npages > 1 ? sprintf(\"%%s | page %%d of %%d\", footnote, page,"
                " npages) : footnote) at screen 0.01, 1 - 0.5 * line_in / fig_h left front"
                " font font_note textcolor rgb \"#606060\" noenhanced\n",
                o->fig_w, o->fig_h, MB_PLOT_MIN_FONT_PT, (int)lround(o->fig_w * d),
                (int)lround(o->fig_h * d), MB_PLOT_MIN_FONT_PT, d / 96.0, d / 144.0,
                0.7 * d / 144.0);
    } else {
        /* PDF at 144 px per inch (a 1400 px chart is 9.7 in wide) with 8 pt text: about the
         * proportions of the PNG, text slightly larger for print */
        fprintf(f,
                "do for [out_i = 1:2] {\n"
                "if (out_i == 2) {\n"
                "  set terminal pdfcairo enhanced size %.2fin,%.2fin font \"Sans,8\" linewidth 0.8"
                " pointscale 0.6\n"
                "  set output name.\".pdf\"\n"
                "}\n"
                "do for [page = 1:pages] {\n"
                "first = (page - 1) * per_page\n"
                "count = page < npages ? per_page : nitems - first\n"
                "if (out_i == 1) {\n"
                "  set terminal pngcairo enhanced size %d,%d font \"Sans,11\"\n"
                "  set output (npages > 1 ? sprintf(\"%%s-%%d.png\", name, page) : name.\".png\")\n"
                "}\n"
                "set label 999 (npages > 1 ? sprintf(\"%%s | page %%d of %%d\", footnote, page,"
                " npages) : footnote) at screen 0.005,0.012 left font \",8\" textcolor rgb"
                " \"#606060\" noenhanced\n",
                w / 144.0, h / 144.0, w, h);
    }
    fputs(body, f);
    fprintf(f, "\nunset multiplot\nreset\n}\nset output\n}\n");
    free(body);
    if (fclose(f) != 0) {
        snprintf(err, n, "%s/%s: write failed", o->tmp_dir, script);
        return -1;
    }
    if (npages > 1 && maxp > 0 && maxp < npages)
        printf("moebench plot: %s: %d %s on %d pages; drew the first %d (all: "
               "MOEBENCH_PLOT_MAX_PAGES=0, or gnuplot -e max_pages=0 %s)\n",
               name, items, what ? what : "items", npages, maxp, script);
    if (o->defer) {   /* run later, in parallel with the other charts (mb_plot_out_run) */
        mb_plot_job *jobs = realloc(o->jobs, (size_t)(o->njobs + 1) * sizeof *jobs);
        if (!jobs) {
            snprintf(err, n, "out of memory");
            return -1;
        }
        o->jobs = jobs;
        mb_plot_job *j = &o->jobs[o->njobs++];
        memset(j, 0, sizeof *j);
        snprintf(j->name, sizeof j->name, "%s", name);
        pump(o, 0);   /* gnuplot draws this chart while the next one's data is written */
        return 0;
    }
    if (run_gnuplot(o, script, name, err, n))
        return -1;
    o->n_charts++;
    return 0;
}

int mb_plot_render(mb_plot_out *o, const char *name, const char *tmpl, const char *params, int w,
                   int h, char *err, size_t n)
{
    return mb_plot_render_paged(o, name, tmpl, params, w, h, 1, 1, NULL, err, n);
}

/* Gnuplot processes at once: the online CPUs, at most 4. */
static int parallel_jobs(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c < 1 ? 1 : c > 4 ? 4 : (int)c;
}

void mb_plot_out_discard(mb_plot_out *o, const char *name)
{
    const char *keep = getenv("MOEBENCH_PLOT_KEEP");
    if (keep && *keep == '1')
        return;
    DIR *d = opendir(o->tmp_dir);
    if (!d)
        return;
    size_t l = strlen(name);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *f = e->d_name;
        if (*f == '.')
            f++;   /* the log */
        if (strncmp(f, name, l) || !(f[l] == '.' || (f[l] == '-' && f[l + 1] >= '0' &&
                                                      f[l + 1] <= '9')))
            continue;
        char p[4500];
        snprintf(p, sizeof p, "%s/%s", o->tmp_dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

/* Starts queued charts while fewer than parallel_jobs() run and reaps the finished ones (killing
 * those past the deadline); with wait, until every queued chart has finished. */
static void pump(mb_plot_out *o, int wait)
{
    int par = parallel_jobs();
    double limit = gnuplot_limit();
    struct timespec nap = {0, 10 * 1000 * 1000};
    for (;;) {
        while (o->running < par && o->started < o->njobs) {
            mb_plot_job *j = &o->jobs[o->started++];
            char script[300];
            snprintf(script, sizeof script, "%s.gp", j->name);
            j->pid = start_gnuplot(o, script, j->name, j->err, sizeof j->err);
            if (j->pid < 0) {
                j->failed = 1;
                j->pid = 0;
                continue;
            }
            j->t0 = now_s();
            o->running++;
        }
        int reaped = 0;
        for (int k = 0; k < o->started; k++) {
            mb_plot_job *j = &o->jobs[k];
            if (j->pid <= 0)
                continue;
            int status = 0;
            pid_t r = waitpid(j->pid, &status, WNOHANG);
            if (r == 0 && now_s() - j->t0 > limit) {
                kill(j->pid, SIGKILL);
                while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
                    ;
                snprintf(j->err, sizeof j->err, "gnuplot did not finish %s.gp within %g s "
                         "(MOEBENCH_GNUPLOT_TIMEOUT): killed", j->name, limit);
                j->failed = 1;
            } else if (r == j->pid) {
                j->failed = gnuplot_result(o, j->name, status, j->err, sizeof j->err) != 0;
            } else if (r < 0 && errno != EINTR) {
                snprintf(j->err, sizeof j->err, "waitpid on gnuplot: %s", strerror(errno));
                j->failed = 1;
            } else {
                continue;
            }
            j->pid = 0;
            o->running--;
            reaped = 1;
        }
        if (!wait || (o->started == o->njobs && !o->running))
            return;
        if (!reaped)
            nanosleep(&nap, NULL);
    }
}

int mb_plot_out_run(mb_plot_out *o)
{
    pump(o, 1);
    int failed = 0;
    for (int k = 0; k < o->njobs; k++) {
        if (o->jobs[k].failed) {
            failed++;
            mb_plot_out_discard(o, o->jobs[k].name);
        } else {
            o->n_charts++;
        }
    }
    return failed;
}

static void remove_tree_flat(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[4500];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int mb_plot_out_commit(mb_plot_out *o, char *err, size_t n)
{
    struct stat st;
    if (stat(o->final_dir, &st) != 0) {
        if (rename(o->tmp_dir, o->final_dir) != 0) {
            snprintf(err, n, "%s: cannot create: %s", o->final_dir, strerror(errno));
            mb_plot_out_abort(o);
            return -1;
        }
        chmod(o->final_dir, 0755);
        o->tmp_dir[0] = 0;
        free(o->jobs);
        o->jobs = NULL;
        o->njobs = o->started = o->running = 0;
        return 0;
    }
    /* the destination exists (a re-plot): replace our files in it, leave the others */
    DIR *d = opendir(o->tmp_dir);
    if (!d) {
        snprintf(err, n, "%s: %s", o->tmp_dir, strerror(errno));
        mb_plot_out_abort(o);
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char from[4500], to[4500];
        snprintf(from, sizeof from, "%s/%s", o->tmp_dir, e->d_name);
        snprintf(to, sizeof to, "%s/%s", o->final_dir, e->d_name);
        if (rename(from, to) != 0) {
            snprintf(err, n, "%s: cannot move into place: %s", to, strerror(errno));
            rc = -1;
            break;
        }
    }
    closedir(d);
    remove_tree_flat(o->tmp_dir);
    o->tmp_dir[0] = 0;
    free(o->jobs);
    o->jobs = NULL;
    o->njobs = o->started = o->running = 0;
    return rc;
}

void mb_plot_out_abort(mb_plot_out *o)
{
    free(o->jobs);
    o->jobs = NULL;
    o->njobs = o->started = o->running = 0;
    /* MOEBENCH_PLOT_KEEP=1 keeps a failed staging directory for debugging a template */
    const char *keep = getenv("MOEBENCH_PLOT_KEEP");
    if (o->tmp_dir[0] && keep && *keep == '1')
        fprintf(stderr, "moebench plot: kept %s (MOEBENCH_PLOT_KEEP)\n", o->tmp_dir);
    else if (o->tmp_dir[0])
        remove_tree_flat(o->tmp_dir);
    o->tmp_dir[0] = 0;
}
