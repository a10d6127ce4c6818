/* Load-time library settings and the one re-exec (see load_env.h). */
#include "load_env.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "moebench/library_isa.h"

const char mb_load_env_usage[] =
    "  --openblas-core NAME  run OpenBLAS's NAME core (OPENBLAS_CORETYPE; the program re-executes\n"
    "                      itself so OpenBLAS reads it at load), e.g. SkylakeX on AVX-512, Haswell\n"
    "                      or Zen on AVX2; refused when NAME is no OpenBLAS core or needs an ISA\n"
    "                      this CPU does not execute. An OPENBLAS_CORETYPE already in the\n"
    "                      environment is kept (a different NAME is refused)\n"
    "  --pin               bind OpenMP threads (ours, OpenBLAS's and oneDNN's) to cores:\n"
    "                      OMP_PROC_BIND=close OMP_PLACES=cores, set before load (re-exec);\n"
    "                      values already in the environment are kept\n";

/* Variables the options of this image set (read from the guard once). */
static char set_by_option[256];
static int guard_read;

static void read_guard(void)
{
    if (guard_read)
        return;
    guard_read = 1;
    const char *g = getenv(MB_LOAD_ENV_GUARD);
    if (g)
        snprintf(set_by_option, sizeof set_by_option, ",%s,", g);
    /* the guard is moebench's own: children (the peer, a nested moebench) do not see it */
    unsetenv(MB_LOAD_ENV_GUARD);
}

static int was_set_by_option(const char *var)
{
    char key[80];
    snprintf(key, sizeof key, ",%s,", var);
    return strstr(set_by_option, key) != NULL;
}

const char *mb_load_env_source(const char *var)
{
    read_guard();
    if (was_set_by_option(var))
        return "option";
    const char *v = getenv(var);
    return v && *v ? "environment" : NULL;
}

/* The command line this process was started with (/proc/self/cmdline), as a NULL-terminated
 * vector into buf; NULL when it cannot be read. */
static char **original_argv(char *buf, size_t cap)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t len = 0;
    ssize_t got;
    while (len < cap - 1 && (got = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)got;
    close(fd);
    if (len == 0 || len >= cap - 1)
        return NULL;   /* empty or cut: exec'ing a truncated command line would be wrong */
    buf[len] = '\0';
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += buf[i] == '\0';
    char **v = calloc(n + 2, sizeof *v);
    if (!v)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
        v[k++] = buf + i;
    v[k] = NULL;
    return v;
}

static int check_core(const char *name, char *err, size_t errlen)
{
    if (!mb_openblas_corename()) {
        snprintf(err, errlen, "--openblas-core %s: this moebench is built without OpenBLAS", name);
        return 2;
    }
    const char *canon = mb_openblas_core_canonical(name);
    if (!canon) {
        int n;
        const char *const *names = mb_openblas_core_names(&n);
        size_t l = (size_t)snprintf(err, errlen, "--openblas-core '%s': OpenBLAS has no such core "
                                                 "(DYNAMIC_ARCH x86-64 cores:", name);
        for (int i = 0; i < n && l < errlen; i++)
            l += (size_t)snprintf(err + l, errlen - l, " %s", names[i]);
        if (l < errlen)
            snprintf(err + l, errlen - l, ")");
        return 2;
    }
    mb_isa_level need = mb_openblas_core_isa(canon), have = mb_cpu_executed_isa();
    if (need > have) {
        /* OpenBLAS 0.3.21 takes such a request as it is and dies of SIGILL in the first GEMM */
        snprintf(err, errlen, "--openblas-core %s: its kernels need %s, this CPU executes %s "
                              "only (they would die of SIGILL)", canon, mb_isa_level_name(need),
                 mb_isa_level_name(have));
        return 2;
    }
    return 0;
}

int mb_load_env_apply(const mb_load_request *req, char *err, size_t errlen)
{
    read_guard();
    int reexec_done = set_by_option[0] != '\0';
    char to_set[256] = "";
    const char *core = NULL;
    if (req->openblas_core) {
        int rc = check_core(req->openblas_core, err, errlen);
        if (rc)
            return rc;
        core = mb_openblas_core_canonical(req->openblas_core);
        const char *env = getenv("OPENBLAS_CORETYPE");
        if (env && *env && !was_set_by_option("OPENBLAS_CORETYPE") && strcasecmp(env, core)) {
            snprintf(err, errlen, "--openblas-core %s: the environment sets OPENBLAS_CORETYPE=%s; "
                                  "unset it or give the same core", core, env);
            return 2;
        }
        if (!env || !*env)
            snprintf(to_set + strlen(to_set), sizeof to_set - strlen(to_set), "%sOPENBLAS_CORETYPE",
                     to_set[0] ? "," : "");
    }
    static const char *const pin_vars[][2] = {{"OMP_PROC_BIND", "close"}, {"OMP_PLACES", "cores"}};
    if (req->pin)
        for (int i = 0; i < 2; i++) {
            const char *env = getenv(pin_vars[i][0]);
            if (!env || !*env)
                snprintf(to_set + strlen(to_set), sizeof to_set - strlen(to_set), "%s%s",
                         to_set[0] ? "," : "", pin_vars[i][0]);
        }
    if (!to_set[0])
        return 0;
    if (reexec_done) {
        /* the re-executed image lacks a value its options set: something cleared it */
        snprintf(err, errlen, "after re-executing to set them, %s is still unset (cleared by "
                              "the environment's startup?)", to_set);
        return 1;
    }

    char buf[65536];
    char **argv = original_argv(buf, sizeof buf);
    if (!argv) {
        snprintf(err, errlen, "cannot re-execute with %s: /proc/self/cmdline unreadable", to_set);
        return 1;
    }
    if (core && !getenv("OPENBLAS_CORETYPE"))
        setenv("OPENBLAS_CORETYPE", core, 1);
    if (req->pin)
        for (int i = 0; i < 2; i++)
            if (!getenv(pin_vars[i][0]) || !*getenv(pin_vars[i][0]))
                setenv(pin_vars[i][0], pin_vars[i][1], 1);
    setenv(MB_LOAD_ENV_GUARD, to_set, 1);
    fflush(stdout);
    fflush(stderr);
    execv("/proc/self/exe", argv);
    snprintf(err, errlen, "cannot re-execute /proc/self/exe with %s: %s", to_set, strerror(errno));
    free(argv);
    return 1;
}

int mb_load_env_parse_arg(int argc, char **argv, int *i, mb_load_request *req, char *err,
                          size_t errlen)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--pin")) {
        req->pin = 1;
        return 1;
    }
    if (!strncmp(a, "--openblas-core=", 16)) {
        req->openblas_core = a + 16;
    } else if (!strcmp(a, "--openblas-core")) {
        if (*i + 1 >= argc) {
            snprintf(err, errlen, "option --openblas-core needs a value");
            return -1;
        }
        req->openblas_core = argv[++*i];
    } else {
        return 0;
    }
    if (!*req->openblas_core) {
        snprintf(err, errlen, "option --openblas-core needs a value");
        return -1;
    }
    return 1;
}
