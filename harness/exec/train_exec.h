/* mode=train inside a case's child (spec "Training step"): the reference gradients (naive's),
 * the check of an implementation's step against them, and the timed step with its forward and
 * backward phases clocked apart. case_exec.c calls in here for train cases.
 *
 * Large cases (the naive reference on sampled rows, reference_check.h): sampled rows are not
 * enough for weight gradients, which sum over every token. What is exact and cheap: the
 * implementation runs the same step on the SUB-CASE of the sampled rows (each a one-token
 * sequence with its inputs, and its rows of dY), where naive's gradients are affordable, and
 * every gradient, Y and the routing are compared there; on the full case, the sampled rows of
 * Y (when p == 0: the dropout mask is keyed by the row index) and of dX (when a row of dX
 * depends on its own token only: no dropout, and no aux / z-loss, whose gradients couple the
 * tokens through F_e and 1/T) are compared with the sub-case's, and every gradient must be
 * finite. So the full case's blocking is checked on rows, and the weight-gradient kernels on
 * the sub-case's T. */
#ifndef MOEBENCH_TRAIN_EXEC_H
#define MOEBENCH_TRAIN_EXEC_H

#include "case_exec.h"
#include "csv.h"
#include "reference_check.h"
#include "moebench/moebench.h"
#include "moebench/train.h"

typedef struct {
    int sub;                /* 1: the gradients are the sampled sub-case's */
    mb_spec spec;           /* the spec of the reference step (the case, or the sub-case) */
    mb_inputs in;           /* the sub-case's inputs (sub only) */
    mb_tensor dy;           /* dY of the case */
    mb_tensor dy_sub;       /* sub: the sampled rows of dY */
    mb_tensor y;            /* the reference's Y of forward_train (of spec) */
    mb_forward_info info;   /* its routing / gate */
    mb_grads g;             /* the reference's gradients (of spec) */
    int dx_rows;            /* sub: the full case's dX rows are comparable */
    int y_rows;             /* sub: the full case's Y rows are comparable */
} mb_train_reference;

/* Builds the reference step of s with ref_impl (naive in runs; tests may pass another) on the
 * rows of ref (sampled or whole). */
mb_status mb_train_reference_build(const mb_impl *ref_impl, const mb_spec *s, const mb_weights *w,
                                   const mb_inputs *in, const mb_reference *ref,
                                   mb_train_reference *tr, mb_err *err);
void mb_train_reference_free(mb_train_reference *tr);

/* One implementation's step state: what forward_train and backward work on, and the last
 * step's phase times. */
typedef struct {
    const mb_impl *impl;
    mb_state *st;
    const mb_spec *spec;
    const mb_inputs *in;
    const mb_tensor *dy;
    mb_tensor y;
    mb_forward_info info;
    mb_saved saved;
    mb_grads g;
    double fwd_ns, bwd_ns;          /* the last step's phases */
    double sum_fwd, sum_bwd;        /* since the last batch (timing's on_batch) */
    double *fwd_samples, *bwd_samples;
    size_t n_samples, cap_samples;
    mb_err err;
} mb_train_step;

/* Allocates Y, the forward info and the gradients for spec s (st already prepared). */
mb_status mb_train_step_init(mb_train_step *t, const mb_impl *impl, mb_state *st,
                             const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                             const mb_tensor *dy, mb_err *err);
/* forward_train then backward (the AdamW update inside backward), each phase clocked; 0 ok,
 * else non-zero with t->err set. */
int mb_train_step_run(mb_train_step *t);
void mb_train_step_free(mb_train_step *t);

/* The verdict of an implementation's step against the reference: routing, Y, then dX and every
 * trainable gradient per tensor (mb_compare_grad), on the whole case or (tr->sub) as described
 * above, preparing impl again on the sub-case. step is the full case's step, already run once.
 * Returns check->ok; check->what names the first failing tensor. */
int mb_train_check(const mb_impl *impl, const mb_spec *s, const mb_weights *w,
                   const mb_train_step *step, const mb_reference *ref,
                   const mb_train_reference *tr, mb_check *check);

/* Everything of a train row after prepare: the step, the check, the timing of the step with
 * fwd_us and bwd_us (medians of the phases within the same samples), saved / grad / optimizer
 * bytes, flops / bytes of the step (mb_cost_step). Returns 1 when the row was timed. */
typedef struct {
    double min_time;
    int reps;
    int untimed;            /* dry run / check only: check, no timing */
    const char *untimed_why;
    const char *repro;
    const mb_exec_config *cfg;   /* the ceilings: each row against its own level's (mb_exec_roof) */
    void (*samples)(void *ctx, int idx, int first_rep, const double *ns, size_t n);
    void *samples_ctx;
    int idx;
} mb_train_opts;

void mb_train_row(const mb_impl *impl, mb_state *st, const mb_spec *s, const mb_weights *w,
                  const mb_inputs *in, const mb_reference *ref, const mb_train_reference *tr,
                  const mb_train_opts *o, mb_row *row);

#endif
