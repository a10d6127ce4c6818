/* Children die with the harness (see child_guard.h). */
#include "child_guard.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

void mb_child_guard(pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        return;   /* not Linux-like: nothing better to do than go on */
    /* the parent may have died between fork() and prctl(): then the child was reparented and
     * no death signal will ever come */
    if (getppid() != parent)
        _exit(1);
}
