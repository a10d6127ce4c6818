/* Fork-per-case runner (see runner.h). Protocol on the pipe: a header {type, length} then the
 * payload; START(impl index), ROW(impl index, mb_row), SAMPLES(impl index, count, ns[]). */
#define _GNU_SOURCE   /* sigabbrev_np */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child_guard.h"
#include "moebench/impl.h"
#include "timing.h"

enum { MSG_START = 1, MSG_ROW = 2, MSG_SAMPLES = 3 };

typedef struct {
    uint32_t type;
    uint32_t len;
    int32_t impl;
    int32_t rep;   /* MSG_SAMPLES: the rep index of the first sample */
} msg_hdr;

static const char *const builtin_impls[] = {"naive", "blas", "onednn", "avx512", "merged"};

const char *mb_signal_name(int sig)
{
    static char buf[32];
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev) {
        snprintf(buf, sizeof buf, "SIG%s", abbrev);
        return buf;
    }
    snprintf(buf, sizeof buf, "signal %d", sig);
    return buf;
}

static int add_impl(char out[][24], int n, int max, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(out[i], name))
            return n;
    if (n < max)
        snprintf(out[n++], 24, "%.23s", name);
    return n;
}

int mb_case_impls(const mb_case *c, const char *list, char out[][24], int max,
                  int *naive_explicit, char *bad, size_t badlen)
{
    int n = 0;
    *naive_explicit = 0;
    /* the suite's list is handled like --impl: "all" expands to every built-in
     * implementation, a name given besides it (naive) counts as explicit */
    char buf[MB_MAX_CASE_IMPLS * 25 + 8] = "";
    if (!list) {
        if (c->impl_all || c->n_impls == 0)
            snprintf(buf, sizeof buf, "all");
        for (int i = 0; !c->impl_all && i < c->n_impls; i++) {
            size_t l = strlen(buf);
            snprintf(buf + l, sizeof buf - l, "%s%s", i ? "," : "", c->impls[i]);
        }
        list = buf;
    }
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", list);
    char *save = NULL;
    for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (!strcmp(t, "all")) {
            for (size_t i = 0; i < sizeof builtin_impls / sizeof *builtin_impls; i++)
                if (mb_impl_find(builtin_impls[i]))
                    n = add_impl(out, n, max, builtin_impls[i]);
            continue;
        }
        if (!mb_impl_find(t)) {
            snprintf(bad, badlen, "%s", t);
            return -1;
        }
        n = add_impl(out, n, max, t);
        if (!strcmp(t, "naive"))
            *naive_explicit = 1;
    }
    return n;
}

int mb_kill_looks_like_oom(int64_t peak_rss, int64_t mem_total)
{
    /* the OOM killer picks the biggest process; a case that used less than 40 % of the
     * memory was more likely killed by someone else */
    return peak_rss > 0 && mem_total > 0 && (double)peak_rss >= 0.4 * (double)mem_total;
}

/* ---- child side ----------------------------------------------------------------------- */

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

typedef struct {
    int fd;
    int base;   /* index of impls[0] of this child in the case's list */
} child_ctx;

static void send_msg(int fd, uint32_t type, int32_t impl, int32_t rep, const void *payload,
                     size_t len)
{
    msg_hdr h = {type, (uint32_t)len, impl, rep};
    if (write_all(fd, &h, sizeof h) == 0 && len)
        write_all(fd, payload, len);
}

static void emit_start(void *ctx, int i)
{
    child_ctx *c = ctx;
    send_msg(c->fd, MSG_START, c->base + i, 0, NULL, 0);
}

static void emit_row(void *ctx, int i, const mb_row *row)
{
    child_ctx *c = ctx;
    send_msg(c->fd, MSG_ROW, c->base + i, 0, row, sizeof *row);
}

static void emit_samples(void *ctx, int i, int first_rep, const double *ns, size_t n)
{
    child_ctx *c = ctx;
    send_msg(c->fd, MSG_SAMPLES, c->base + i, first_rep, ns, n * sizeof *ns);
}

/* ---- parent side ---------------------------------------------------------------------- */

/* Reads n bytes from the non-blocking fd, polling until deadline (mb_now_s() clock).
 * 0 on success, -1 on EOF or error, -2 when the deadline passed. */
static int read_until(int fd, void *p, size_t n, double deadline)
{
    char *c = p;
    while (n) {
        ssize_t r = read(fd, c, n);
        if (r > 0) {
            c += r;
            n -= (size_t)r;
            continue;
        }
        if (r == 0)
            return -1;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        double left = deadline - mb_now_s();
        if (left <= 0)
            return -2;
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)fmin(left * 1000 + 1, 60000));
        if (pr < 0 && errno != EINTR)
            return -1;
    }
    return 0;
}

static int64_t mem_total_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    return pages > 0 && psize > 0 ? (int64_t)pages * psize : -1;
}

static void failed_row(const mb_case *c, const char *impl, const mb_exec_config *cfg,
                       mb_row_status status, const char *reason, int64_t rss, const mb_sink *sink)
{
    mb_row row;
    mb_row_from_case(&row, c, impl, cfg);
    /* cut to the column: a long descriptor shortens the repro, never drops the row */
    mb_row_set_status(&row, status, "%s", reason);
    row.peak_rss_bytes = rss;
    sink->row(sink->ctx, &row);
}

void mb_run_case(const mb_case *c, char impls[][24], int n, int naive_explicit,
                 const mb_exec_config *cfg, double timeout_s, const mb_sink *sink)
{
    int next = 0;   /* first implementation without a row */
    while (next < n) {
        int fds[2];
        if (pipe(fds) != 0) {
            for (; next < n; next++)
                failed_row(c, impls[next], cfg, MB_ROW_ERROR, "pipe() failed", -1, sink);
            return;
        }
        fflush(NULL);   /* nothing buffered may be written twice */
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
            close(fds[0]);
            close(fds[1]);
            for (; next < n; next++)
                failed_row(c, impls[next], cfg, MB_ROW_ERROR, "fork() failed", -1, sink);
            return;
        }
        if (pid == 0) {
            mb_child_guard(parent);
            close(fds[0]);
            signal(SIGPIPE, SIG_IGN);
            /* best effort: under memory pressure the OOM killer takes the case, not the
             * harness that records its fate */
            int oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
            if (oom >= 0) {
                if (write(oom, "1000", 4) < 0) {
                    /* not allowed: keep the default score */
                }
                close(oom);
            }
            child_ctx cc = {fds[1], next};
            mb_exec_emit emit = {emit_start, emit_row, emit_samples, &cc};
            mb_exec_case(c, impls + next, n - next, naive_explicit, cfg, &emit);
            close(fds[1]);
            _exit(0);
        }
        close(fds[1]);
        fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
        int current = -1, timed_out = 0;
        double deadline = mb_now_s() + timeout_s;
        for (;;) {
            double left = deadline - mb_now_s();
            if (left <= 0) {
                kill(pid, SIGKILL);
                timed_out = 1;
                break;
            }
            struct pollfd pfd = {fds[0], POLLIN, 0};
            int pr = poll(&pfd, 1, (int)fmin(left * 1000 + 1, 60000));
            if (pr < 0 && errno == EINTR)
                continue;
            if (pr == 0)
                continue;
            msg_hdr h;
            int rr = read_until(fds[0], &h, sizeof h, deadline);
            if (rr == -2) {
                kill(pid, SIGKILL);
                timed_out = 1;
                break;
            }
            if (rr)
                break;   /* EOF: child finished or died */
            if (h.len > (64u << 20)) {
                kill(pid, SIGKILL);
                break;
            }
            void *payload = NULL;
            if (h.len) {
                payload = malloc(h.len);
                rr = payload ? read_until(fds[0], payload, h.len, deadline) : -1;
                if (rr == -2) {
                    free(payload);
                    kill(pid, SIGKILL);
                    timed_out = 1;
                    break;
                }
                if (rr) {
                    free(payload);
                    break;
                }
            }
            if (h.type == MSG_START) {
                current = h.impl;
                deadline = mb_now_s() + timeout_s;
            } else if (h.type == MSG_ROW && h.len == sizeof(mb_row) && h.impl == next) {
                sink->row(sink->ctx, (const mb_row *)payload);
                next = h.impl + 1;
                current = -1;
                deadline = mb_now_s() + timeout_s;
            } else if (h.type == MSG_SAMPLES && sink->sample && h.impl >= 0 && h.impl < n) {
                const double *ns = payload;
                size_t cnt = h.len / sizeof(double);
                for (size_t i = 0; i < cnt; i++)
                    sink->sample(sink->ctx, c->desc, impls[h.impl], cfg->threads,
                                 cfg->cache_cold ? "cold" : "warm", h.rep + (int)i,
                                 (int64_t)llround(ns[i]));
            }
            free(payload);
        }
        close(fds[0]);
        int status = 0;
        struct rusage ru;
        memset(&ru, 0, sizeof ru);
        while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
            ;
        if (next >= n)
            break;
        int64_t rss = (int64_t)ru.ru_maxrss * 1024;
        char what[MB_REASON_LEN];
        mb_row_status st;
        /* who was running: the started implementation, or the case setup (then every
         * remaining implementation shares the fate, since a new child would repeat it) */
        int victim = current >= 0 ? current : next;
        if (timed_out) {
            st = MB_ROW_TIMEOUT;
            snprintf(what, sizeof what, "killed after the %.0f s time limit%s", timeout_s,
                     current >= 0 ? "" : " (during case setup)");
        } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
            st = MB_ROW_CRASHED;
            int64_t total = mem_total_bytes();
            if (mb_kill_looks_like_oom(rss, total))
                snprintf(what, sizeof what,
                         "killed by SIGKILL (not by the harness): likely out of memory (peak RSS "
                         "%.1f MiB of %.1f MiB)",
                         (double)rss / (1 << 20), (double)total / (1 << 20));
            else
                snprintf(what, sizeof what,
                         "killed by SIGKILL from outside (not by the harness; peak RSS %.1f MiB, "
                         "not near the memory size)", (double)rss / (1 << 20));
        } else if (WIFSIGNALED(status)) {
            st = MB_ROW_CRASHED;
            snprintf(what, sizeof what, "%s (%s)%s", mb_signal_name(WTERMSIG(status)),
                     strsignal(WTERMSIG(status)), current >= 0 ? "" : " during case setup");
        } else {
            st = MB_ROW_ERROR;
            snprintf(what, sizeof what, "child exited with status %d without a result",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        /* each row's repro names its own implementation, also when they share a fate */
        int last = current < 0 ? n - 1 : victim;
        /* --interleave: the implementations before the victim were prepared in the same child
         * and had no row yet; they share its end (sequentially, next == victim) */
        for (int i = next; i <= last; i++) {
            char repro[MB_DESC_LEN + 100], reason[MB_REASON_LEN + MB_DESC_LEN + 200];
            mb_repro_line(c, impls[i], cfg, repro, sizeof repro);
            if (i < victim)
                snprintf(reason, sizeof reason, "interleaved with %s, which ended the case's "
                         "child: %s; repro: %s", impls[victim], what, repro);
            else
                snprintf(reason, sizeof reason, "%s; repro: %s", what, repro);
            failed_row(c, impls[i], cfg, st, reason, rss, sink);
        }
        next = last + 1;
    }
}
