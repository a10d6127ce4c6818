/* `moebench dump CASE DIR` (app/cmd_dump.c parses it): every tensor of one case as .npy files
 * plus DIR/case.json, for the PyTorch peer (peers/pytorch) and for users who want to check
 * their own code against moebench's numbers.
 *
 * Written: one <name>.npy per weight (names and layouts of moebench/weights.h), X.npy, task.npy
 * (moelora), R.npy (mor1e), and, unless the forward is skipped, Y.npy (naive reference output),
 * route_idx.npy [T,k] int32 / route_w.npy [T,k] f32 / route_counts.npy [E] int64 (routed
 * variants) and gate.npy (moelora [B,E], mor1e [T,r], molora [T,E]). case.json holds the
 * canonical descriptor, every spec field, the tensor list (file, shape, dtype), aux/z loss, the
 * cost model and the moebench version.
 *
 * mode=train: naive's train step instead of the forward (mb_train_reference_build on the whole
 * case, the reference `run` checks against): Y of forward_train, dY.npy, grad_X.npy and
 * grad_<name>.npy per trainable tensor (same name, shape and layout as the weight's file), with
 * opt=adamw upd_<name>.npy; case.json's "train" lists them and the cost is the step's.
 *
 * --no-output skips the naive forward (big cases: naive is scalar loops); --ref-max-gflop G skips
 * it only when the case costs more than G GFLOP. A case above 20 GFLOP that does run the naive
 * forward gets a warning on stderr. When the full forward is skipped, --ref-rows N still runs
 * naive on N sampled rows, chosen as the runner chooses them (reference_check.h mb_reference_build:
 * first, last, then seeded random rows; every variant is row-wise given its per-sequence inputs: the
 * rows become N sequences of one token, each with its sequence's task / R): rows.npy [N] int64,
 * Y_rows.npy [N,out], and route_idx_rows / route_w_rows for routed variants.
 * The command checks the memory estimate first and runs mb_case_dump in a child (child_run.h). */
#ifndef MOEBENCH_CASE_DUMP_H
#define MOEBENCH_CASE_DUMP_H

#include "moebench/spec.h"

typedef struct {
    const char *desc, *dir;
    const mb_spec *s;        /* validated */
    int run_forward;         /* the whole naive forward (Y, routing, gate) */
    int no_output;           /* --no-output: no forward at all, not even sampled rows */
    long long ref_rows;      /* when !run_forward: naive on this many sampled rows (0: none) */
} mb_dump_job;

/* Weights, inputs, the naive forward and the files: the part that allocates, meant for
 * mb_run_in_child (ctx is an mb_dump_job). Messages on stderr, one summary line on stdout;
 * returns the exit code. */
int mb_case_dump(void *ctx);

#endif
