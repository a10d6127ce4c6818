/* Running an ep=N case (expert parallelism) in the MPI ranks themselves: every rank of the job
 * calls mb_ep_run_case for the same case at the same time (lockstep, the same case order on
 * every rank); rank 0 hands the rows to the sink. Not in a forked child: a child cannot use
 * MPI. So a crash in an ep case ends the whole job; the rows written before it are on disk
 * (each row is fsync'd as it arrives).
 *
 * One step of the layer, per rank: route its T/N tokens (route_us); send each routed row, with
 * its token and expert id, to the rank owning the expert (counts with MPI_Alltoall, rows with
 * MPI_Alltoallv: dispatch_us); run the rank's E/N experts on the rows it received, grouped by
 * expert, with the implementation's own expert code (kernels/variants/var_sparse_mlp.c,
 * var_mixlora.c; expert_us, which also holds the token owner's own compute: mixlora's base
 * GEMMs computed once per token); send the results back (MPI_Alltoallv) and add them, times the
 * routing weight kept by the token's owner, into Y in ascending expert order (combine_us) — the
 * forward's order, so Y is the single-process Y. A row is a list of segments
 * (moebench/ep.h: mixlora's carry its base gate and up rows out and, share=all, H_e back); the
 * router is the dispatch alone (its rows come back unchanged, checked bit for bit; its output
 * is its routing). Before timing, rank 0 gathers Y and the routing and
 * compares them with the single-process forward of the same implementation (routing exactly,
 * values within the dtype's tolerance); a mismatch is never timed. */
#ifndef MOEBENCH_EP_EXEC_H
#define MOEBENCH_EP_EXEC_H

#include "case_exec.h"
#include "runner.h"

/* Rows of impls[0..n) of case c (c->spec.ep > 1) to sink on rank 0. Without MPI, or when the
 * job's rank count is not ep, every row is skipped with the reason. */
void mb_ep_run_case(const mb_case *c, char impls[][24], int n, const mb_exec_config *cfg,
                    const mb_sink *sink);

#endif
