/* Runs one command's work in a forked child, as the runner runs cases (runner.h): a crash or an
 * out-of-memory kill of the work becomes a clear message and a non-zero exit of the command,
 * not a dead moebench. Used by `moebench case` and `moebench dump`. */
#ifndef MOEBENCH_CHILD_RUN_H
#define MOEBENCH_CHILD_RUN_H

/* Runs fn(ctx) in a child (stdout and stderr shared; the child volunteers for the OOM killer
 * and dies with the parent) and returns fn's return value as the child's exit status. When
 * the child dies from a signal, prints "moebench CMD: ..." naming the signal (and, for a
 * SIGKILL at a large peak RSS, "likely out of memory") on stderr and returns 1; when fork
 * fails, prints why and returns 1. */
int mb_run_in_child(const char *cmd, int (*fn)(void *ctx), void *ctx);

#endif
