/* Settings the libraries read once, when they are loaded: OPENBLAS_CORETYPE (OpenBLAS picks its
 * core in a constructor, before main) and OMP_PROC_BIND / OMP_PLACES (libgomp parses them at
 * load). An option that changes them can only take effect in a new process image, so
 * mb_load_env_apply sets them and re-executes the program once (/proc/self/exe with the
 * original command line); a guard variable stops a second re-exec and tells the new image which
 * values came from the options. Values already in the environment are kept and recorded as
 * such; nothing is ever set without an option asking for it. */
#ifndef MOEBENCH_LOAD_ENV_H
#define MOEBENCH_LOAD_ENV_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* The guard: the names of the variables the options set, comma-separated. */
#define MB_LOAD_ENV_GUARD "MOEBENCH_LOAD_ENV_SET"

typedef struct {
    const char *openblas_core;   /* --openblas-core NAME, NULL when not given */
    int pin;                     /* --pin */
} mb_load_request;

/* Validates the request (a core OpenBLAS knows, one this CPU can execute; OpenBLAS present),
 * then either returns 0 (everything asked for is in effect: the environment had it, or this is
 * the re-executed image), or re-executes (does not return), or returns 2 with a message in err
 * (bad name, a core above the CPU, a conflict with the environment) or 1 (exec failed). */
int mb_load_env_apply(const mb_load_request *req, char *err, size_t errlen);

/* Where a variable's value came from: "option" (set by --openblas-core / --pin and
 * re-executed), "environment" (there before moebench started), or NULL (unset). Valid after
 * mb_load_env_apply. */
const char *mb_load_env_source(const char *var);

/* Parses "--openblas-core NAME" / "--openblas-core=NAME" / "--pin" at argv[*i] (advancing *i
 * past a separate value) into req. Returns 1 when it took the argument, 0 when it is another
 * one, -1 with a message in err when the value is missing. For commands with their own
 * option loops. */
int mb_load_env_parse_arg(int argc, char **argv, int *i, mb_load_request *req, char *err,
                          size_t errlen);

/* The usage lines of the two options, for the commands' --help. */
extern const char mb_load_env_usage[];

#endif
