/* `moebench dump CASE DIR [--no-output] [--ref-max-gflop G] [--ref-rows N]`: the command line
 * of peer/case_dump.h. As `case`: the memory estimate is checked before anything is allocated
 * or written, and the work runs in a child (child_run.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case_dump.h"
#include "case_fits.h"
#include "child_run.h"
#include "commands.h"
#include "moebench/moebench.h"

#define DUMP_WARN_GFLOP 20.0

static void usage(FILE *f)
{
    fprintf(f,
            "usage: moebench dump CASE DIR [--no-output] [--ref-max-gflop G] [--ref-rows N]\n"
            "  Writes every weight and input of CASE (names as in weights.h), the naive\n"
            "  reference output Y, routing and gate as DIR/<name>.npy, and DIR/case.json.\n"
            "  mode=train: naive's step instead: also dY, grad_X and grad_<name> per trainable\n"
            "  tensor (upd_<name> with opt=adamw); without the step (--no-output) only dY.\n"
            "  --no-output        skip the naive forward (no Y, routing, gate)\n"
            "  --ref-max-gflop G  skip the naive forward when the case costs more than G GFLOP\n"
            "  --ref-rows N       when the forward is skipped, run naive on N sampled rows\n"
            "                     (rows.npy, Y_rows.npy, route_*_rows.npy) for a cheaper check\n");
}

int mb_cmd_dump(int argc, char **argv)
{
    const char *desc = NULL, *dir = NULL;
    int no_output = 0;
    double max_gflop = -1;   /* < 0: no limit */
    long long ref_rows = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--no-output")) {
            no_output = 1;
        } else if (!strcmp(argv[i], "--ref-max-gflop")) {
            char *end = NULL;
            if (i + 1 >= argc || (max_gflop = strtod(argv[i + 1], &end), *end) || max_gflop < 0) {
                fprintf(stderr, "moebench dump: --ref-max-gflop needs a non-negative number\n");
                return 2;
            }
            i++;
        } else if (!strcmp(argv[i], "--ref-rows")) {
            char *end = NULL;
            if (i + 1 >= argc || (ref_rows = strtoll(argv[i + 1], &end, 10), *end) || ref_rows < 0) {
                fprintf(stderr, "moebench dump: --ref-rows needs a non-negative integer\n");
                return 2;
            }
            i++;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "moebench dump: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!desc) {
            desc = argv[i];
        } else if (!dir) {
            dir = argv[i];
        } else {
            fprintf(stderr, "moebench dump: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!desc || !dir) {
        usage(stderr);
        return 2;
    }

    mb_spec s;
    mb_err err;
    mb_err_clear(&err);
    if (mb_spec_parse(desc, &s, &err) != MB_OK || mb_spec_validate(&s, 0, &err) != MB_OK) {
        fprintf(stderr, "moebench dump: invalid case '%s': %s\n", desc, err.msg);
        return 2;
    }
    /* the dump is the naive reference's tensors: a spec naive cannot compute (a dtype it
     * does not implement) has nothing honest to write */
    const mb_impl *naive = mb_impl_find("naive");
    const char *no_ref = naive && naive->unsupported ? naive->unsupported(&s) : NULL;
    if (no_ref) {
        fprintf(stderr, "moebench dump: cannot dump '%s': %s\n", desc, no_ref);
        return 2;
    }
    char canon[1024];
    mb_spec_format(&s, canon, sizeof canon);

    mb_cost cost0 = mb_cost_of(&s, NULL);
    double gflop = cost0.flops / 1e9;
    int run_forward = !no_output && !(max_gflop >= 0 && gflop > max_gflop);

    /* valid means "can run here": weights, inputs and the naive forward (whole or sampled)
     * against the available memory, before anything is allocated */
    int64_t T = mb_spec_T(&s);
    int64_t rows = run_forward ? T : ref_rows > 0 ? (ref_rows < T ? ref_rows : T) : 0;
    char why[1024];
    if (mb_spec_memory_check(&s, NULL, 0, rows, mb_cpus_allowed(), 0, why, sizeof why)) {
        fprintf(stderr, "moebench dump: %s\n", why);
        return 2;
    }
    if (run_forward && gflop > DUMP_WARN_GFLOP)
        fprintf(stderr, "moebench dump: warning: %s costs %.1f GFLOP; the naive reference is scalar "
                "loops and may take minutes (--no-output skips it)\n", canon, gflop);
    mb_dump_job job = {desc, dir, &s, run_forward, no_output, ref_rows};
    /* in a child, as the runner's cases: a crash or an out-of-memory kill is reported */
    return mb_run_in_child("dump", mb_case_dump, &job);
}
