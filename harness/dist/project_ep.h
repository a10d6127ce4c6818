/* `moebench project-ep`: expert-parallel step time of a case on N nodes, predicted per phase
 * from this machine's measured compute and a network (given, or fitted by mpi-bench). The model
 * (README "Projecting expert parallelism"), per rank r (T/N tokens, E/N experts) under the case's
 * own routing, b_in / b_out bytes per dispatched / returned row (moebench/ep.h):
 *   R = T k / N rows r routes, S of them to its own experts, V rows its experts get,
 *   W = max(R - S, V - S) rows on the wire
 *   route    = c_route T / N
 *   dispatch = (N-1) alpha + W b_in beta + c_copy b_in (R + S + V)
 *   expert   = c_local T / N + sum of its experts' t_e (each measured on its own rows)
 *   combine  = (N-1) alpha + W b_out beta + c_copy b_out (V + S + 1.5 R)
 * each phase the busiest rank's; balanced routing when T % N or E % N != 0. alpha = link
 * latency, beta = 1 / link bandwidth. Compute terms are multiplied by `share` (default 1). To
 * check the model against runs of N ranks on this one machine, the compute is measured with N
 * processes computing at once (mb_ep_measure_case's `concurrent`). */
#ifndef MOEBENCH_PROJECT_EP_H
#define MOEBENCH_PROJECT_EP_H

#include <stddef.h>
#include "moebench/spec.h"

#define MB_PROJECT_MAX_E 1024

typedef struct {
    mb_spec spec;
    char impl[24];
    int threads;
    int concurrent;                     /* processes computing at once while measured */
    double route_s_per_token;
    double local_s_per_token;           /* the token owner's compute (mixlora's base GEMMs) */
    int64_t rows_per_expert;            /* T k / E */
    int64_t counts[MB_PROJECT_MAX_E];   /* rows of expert e under the case's own routing */
    double expert_s[MB_PROJECT_MAX_E];  /* expert e on its counts[e] rows */
    double expert_bal_s[MB_PROJECT_MAX_E];   /* expert e on rows_per_expert rows */
    int64_t win, wout;                  /* floats per dispatched and per returned row */
    int32_t *idx;                       /* [T k]: the case's routing (mb_ep_measure_free) */
    double copy_s_per_byte;
} mb_ep_measure;

typedef struct {
    double route, dispatch, expert, combine, total;   /* seconds */
    double bytes_per_pair;
    int routed;   /* 1: from the case's routing (T % N == 0, E % N == 0), 0: balanced */
} mb_ep_pred;

/* Measures s's router and each expert with implementation impl on `threads` threads, while
 * concurrent - 1 other processes compute the same experts (the other ranks of a run on this
 * machine; 1 = alone, as one rank per node). 0, or 2 (the case cannot be projected) / 1 (a
 * failure) with err. */
int mb_ep_measure_case(const mb_spec *s, const char *impl, int threads, int concurrent,
                       mb_ep_measure *m, char *err, size_t errlen);
void mb_ep_measure_free(mb_ep_measure *m);
void mb_ep_predict(const mb_ep_measure *m, int nodes, double alpha_s, double beta_s_per_byte,
                   double share, mb_ep_pred *p);

#endif
