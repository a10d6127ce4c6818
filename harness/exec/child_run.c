/* One command's work in a child process (see child_run.h). */
#define _GNU_SOURCE
#include "child_run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner.h"

int mb_run_in_child(const char *cmd, int (*fn)(void *ctx), void *ctx)
{
    fflush(NULL);   /* nothing buffered may be written twice */
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "moebench %s: cannot start the child process: %s\n", cmd, strerror(errno));
        return 1;
    }
    if (pid == 0) {
        /* no orphan keeps computing after moebench is killed */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        /* under memory pressure the OOM killer takes the work, not the process that reports */
        int oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (oom >= 0) {
            if (write(oom, "1000", 4) < 0) {
                /* not allowed: keep the default score */
            }
            close(oom);
        }
        int rc = fn(ctx);
        fflush(NULL);
        _exit(rc);
    }
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "moebench %s: lost the child process: %s\n", cmd, strerror(errno));
            return 1;
        }
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    int64_t rss = (int64_t)ru.ru_maxrss * 1024;
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    int64_t total = pages > 0 && psize > 0 ? (int64_t)pages * psize : -1;
    if (sig == SIGKILL && mb_kill_looks_like_oom(rss, total))
        fprintf(stderr, "moebench %s: the case's process was killed by SIGKILL: likely out of "
                "memory (peak RSS %.1f MiB of %.1f MiB)\n", cmd, (double)rss / (1 << 20),
                (double)total / (1 << 20));
    else if (sig)
        fprintf(stderr, "moebench %s: the case's process died from %s (%s; peak RSS %.1f MiB)\n",
                cmd, mb_signal_name(sig), strsignal(sig), (double)rss / (1 << 20));
    else
        fprintf(stderr, "moebench %s: the case's process ended abnormally (status %d)\n", cmd,
                status);
    return 1;
}
