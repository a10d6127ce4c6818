/* A forked child must not outlive the harness: killed with it (kill -9, the OOM killer), a
 * case would otherwise go on using the machine unwatched, with nobody to record its row. */
#ifndef MOEBENCH_CHILD_GUARD_H
#define MOEBENCH_CHILD_GUARD_H

#include <sys/types.h>

/* Call in the child right after fork(), with getpid() of the parent taken before the fork:
 * asks for SIGKILL when the parent dies (PR_SET_PDEATHSIG, kept across exec), and exits at once
 * when the parent died already, before that request could cover it. */
void mb_child_guard(pid_t parent);

#endif
