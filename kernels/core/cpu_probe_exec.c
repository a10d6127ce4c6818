/* One SIGILL-guarded execution for every CPU probe (cpu_probe_exec.h). Compiled without any
 * -m flag: only the sample, in its probe's own file, uses the instructions under test. */
#include "cpu_probe_exec.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sigjmp_buf probe_jmp;

static void on_sigill(int sig)
{
    (void)sig;
    siglongjmp(probe_jmp, 1);
}

mb_probe_result mb_probe_execute(int (*sample)(volatile float *in))
{
    pthread_mutex_lock(&lock);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigill;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGILL, &sa, &old) != 0) {
        pthread_mutex_unlock(&lock);
        return MB_PROBE_NO_HANDLER;
    }
    volatile float in[2] = {3.0f, 2.0f};
    volatile mb_probe_result res = MB_PROBE_SIGILL;
    if (sigsetjmp(probe_jmp, 1) == 0)
        res = sample(in) ? MB_PROBE_EXECUTED : MB_PROBE_WRONG;
    sigaction(SIGILL, &old, NULL);
    pthread_mutex_unlock(&lock);
    return res;
}
