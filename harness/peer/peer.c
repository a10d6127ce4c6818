/* Runs the PyTorch peer over a results directory (contract in peer.h). */
#include "peer.h"

#include <errno.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child_guard.h"

#ifndef MOEBENCH_SOURCE_DIR
#define MOEBENCH_SOURCE_DIR "."
#endif

const char *mb_peer_torch_script(void)
{
    static char path[4096];
    const char *src = getenv("MOEBENCH_SOURCE_DIR");
    if (!src || !*src)
        src = MOEBENCH_SOURCE_DIR;
    snprintf(path, sizeof path, "%s/peers/pytorch/moebench_peer.py", src);
    return path;
}

double mb_peer_timeout_s(void)
{
    const char *v = getenv("MOEBENCH_PEER_TIMEOUT");
    if (v && *v) {
        char *end;
        double t = strtod(v, &end);
        if (end != v && !*end && t > 0)
            return t;
    }
    return MB_PEER_DEFAULT_TIMEOUT_S;
}

int mb_peer_torch_run(const char *moebench_exe, const char *results_dir, int threads)
{
    if (!moebench_exe || !results_dir) {
        fprintf(stderr, "moebench: torch peer: no moebench executable or results directory\n");
        return 2;
    }
    const char *python = getenv("MOEBENCH_PYTHON");
    if (!python || !*python)
        python = "/usr/bin/python3";
    const char *script = mb_peer_torch_script();
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "moebench: torch peer: cannot read %s: %s\n", script, strerror(errno));
        return 2;
    }
    if (access(python, X_OK) != 0) {
        fprintf(stderr, "moebench: torch peer: cannot run %s: %s\n", python, strerror(errno));
        return 2;
    }
    char thr[32];
    snprintf(thr, sizeof thr, "%d", threads > 0 ? threads : 0);
    char *const args[] = { (char *)python, (char *)script, "run-suite", (char *)results_dir,
                           "--moebench", (char *)moebench_exe, "--threads", thr, NULL };
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "moebench: torch peer: fork failed: %s\n", strerror(errno));
        return 2;
    }
    if (pid == 0) {
        mb_child_guard(parent);
        execv(python, args);
        fprintf(stderr, "moebench: torch peer: cannot exec %s: %s\n", python, strerror(errno));
        _exit(127);
    }
    int status = 0;
    double limit = mb_peer_timeout_s();
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            fprintf(stderr, "moebench: torch peer: waitpid failed: %s\n", strerror(errno));
            return 2;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (double)(now.tv_sec - t0.tv_sec) + 1e-9 * (double)(now.tv_nsec - t0.tv_nsec);
        if (el > limit) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            fprintf(stderr, "moebench: torch peer: still running after %.0f s "
                            "(MOEBENCH_PEER_TIMEOUT): killed; the rows it wrote are kept\n", limit);
            return 2;
        }
        struct timespec nap = {0, 50 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    if (WIFEXITED(status)) {
        int code = WEXITSTATUS(status);
        if (code == 0 || code == 1)
            return code;
        fprintf(stderr, "moebench: torch peer: %s exited with %d\n", script, code);
        return 2;
    }
    fprintf(stderr, "moebench: torch peer: killed by signal %d\n",
            WIFSIGNALED(status) ? WTERMSIG(status) : -1);
    return 2;
}
