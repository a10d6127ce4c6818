/* ep=N cases across the MPI ranks (see ep_exec.h). */
#include "ep_exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moebench/ep.h"
#include "moebench/moebench.h"
#include "mpi_env.h"
#include "stats.h"
#include "timing.h"

#ifdef MOEBENCH_HAVE_MPI
#include <mpi.h>
#endif

#define MAX_REPS 2000

static void emit(const mb_sink *sink, const mb_row *row)
{
    if (mb_mpi_rank() == 0 && sink && sink->row)
        sink->row(sink->ctx, row);
}

#ifndef MOEBENCH_HAVE_MPI
void mb_ep_run_case(const mb_case *c, char impls[][24], int n, const mb_exec_config *cfg,
                    const mb_sink *sink)
{
    for (int i = 0; i < n; i++) {
        mb_row row;
        mb_row_from_case(&row, c, impls[i], cfg);
        row.ep = c->spec.ep;
        mb_row_set_status(&row, MB_ROW_SKIPPED, "ep=%d: %s", c->spec.ep, mb_mpi_unavailable());
        emit(sink, &row);
    }
}
#else

/* The buffers and state of one implementation on one rank. A dispatched row is win floats (the
 * segments of fin, contiguous), a returned row wout floats (fout); the grouped rows and the
 * combine's sums are kept as one plane per segment (moebench/ep.h). */
typedef struct {
    int rank, nranks, experts;     /* experts: 0 for the router (dispatch only) */
    int64_t T, Tl, h, E, k, ne, e0, max_recv, win, wout;
    mb_ep_rowfmt fin, fout;
    int64_t oin[MB_EP_MAX_SEG], oout[MB_EP_MAX_SEG];   /* segment offsets in a row */
    mb_ep_part *part;
    const float *Xl;               /* this rank's tokens [Tl, h] */
    float *acc;                    /* [Tl, wout] as planes: acc[0] = Y [Tl, h], ... */
    float *accp[MB_EP_MAX_SEG];
    MPI_Datatype rowin, rowout;    /* win, wout floats */
    int *sc, *sd, *rc, *rd;        /* send / receive counts and displacements, in rows */
    int *sc2, *sd2, *rc2, *rd2;    /* the same for the (token, expert) pairs, in ints */
    int32_t *meta_s, *meta_r;      /* [rows][2]: local token, global expert */
    float *Xs, *Ys;                /* [Tl*k, win], [Tl*k, wout] in send order */
    float *Xr, *Yr;                /* [max_recv, win], [max_recv, wout]: received, to return */
    float *Xg, *Yg;                /* the same grouped by expert, as planes */
    const float *Xgp[MB_EP_MAX_SEG];
    float *Ygp[MB_EP_MAX_SEG];
    int64_t *pos;                  /* received row i -> its place in the grouped planes */
    int64_t *cnt, *cntE;           /* [ne], [E+1] */
    const mb_routing *rt;
    double phase[4];               /* route dispatch expert combine, seconds */
    int64_t sent_bytes;            /* payload sent to other ranks, both all-to-alls */
} ep_ctx;

static void ctx_free(ep_ctx *x)
{
    mb_ep_release(x->part);
    free(x->acc);
    free(x->sc); free(x->sd); free(x->rc); free(x->rd);
    free(x->sc2); free(x->sd2); free(x->rc2); free(x->rd2);
    free(x->meta_s); free(x->meta_r);
    free(x->Xs); free(x->Ys); free(x->Xr); free(x->Yr); free(x->Xg); free(x->Yg);
    free(x->pos); free(x->cnt); free(x->cntE);
    if (x->rowin != MPI_DATATYPE_NULL)
        MPI_Type_free(&x->rowin);
    if (x->rowout != MPI_DATATYPE_NULL)
        MPI_Type_free(&x->rowout);
}

/* Offsets of a format's segments in a row; the row's width. */
static int64_t seg_offsets(const mb_ep_rowfmt *f, int64_t *off)
{
    int64_t w = 0;
    for (int q = 0; q < f->n; q++) {
        off[q] = w;
        w += f->w[q];
    }
    return w;
}

static int ctx_alloc(ep_ctx *x, const mb_spec *s)
{
    size_t N = (size_t)x->nranks, rows_s = (size_t)(x->Tl * x->k);
    mb_ep_formats(s, &x->fin, &x->fout);
    x->win = seg_offsets(&x->fin, x->oin);
    x->wout = seg_offsets(&x->fout, x->oout);
    x->experts = mb_ep_has_experts(s);
    /* a token picks an expert at most once: a rank receives at most T rows per expert it owns,
     * and at most T*k in all */
    int64_t per = x->k < x->ne ? x->k : x->ne;
    x->max_recv = x->T * per;
    size_t rr = (size_t)x->max_recv, win = (size_t)x->win, wout = (size_t)x->wout;
    x->acc = malloc(sizeof(float) * (size_t)x->Tl * wout);
    x->sc = calloc(N, sizeof(int)); x->sd = calloc(N, sizeof(int));
    x->rc = calloc(N, sizeof(int)); x->rd = calloc(N, sizeof(int));
    x->sc2 = calloc(N, sizeof(int)); x->sd2 = calloc(N, sizeof(int));
    x->rc2 = calloc(N, sizeof(int)); x->rd2 = calloc(N, sizeof(int));
    x->meta_s = malloc(sizeof(int32_t) * 2 * rows_s);
    x->meta_r = malloc(sizeof(int32_t) * 2 * rr);
    x->Xs = malloc(sizeof(float) * rows_s * win);
    x->Ys = malloc(sizeof(float) * rows_s * wout);
    x->Xr = malloc(sizeof(float) * rr * win);
    if (x->experts) {   /* the router sends the received rows back as they are */
        x->Yr = malloc(sizeof(float) * rr * wout);
        x->Xg = malloc(sizeof(float) * rr * win);
        x->Yg = malloc(sizeof(float) * rr * wout);
    }
    x->pos = malloc(sizeof(int64_t) * rr);
    x->cnt = calloc((size_t)x->ne, sizeof(int64_t));
    x->cntE = calloc((size_t)x->E + 1, sizeof(int64_t));
    MPI_Type_contiguous((int)x->win, MPI_FLOAT, &x->rowin);
    MPI_Type_commit(&x->rowin);
    MPI_Type_contiguous((int)x->wout, MPI_FLOAT, &x->rowout);
    MPI_Type_commit(&x->rowout);
    int ok = x->acc && x->sc && x->sd && x->rc && x->rd && x->sc2 && x->sd2 && x->rc2 && x->rd2 &&
             x->meta_s && x->meta_r && x->Xs && x->Ys && x->Xr && x->pos && x->cnt && x->cntE &&
             (!x->experts || (x->Yr && x->Xg && x->Yg));
    if (!ok)
        return -1;
    for (int q = 0; q < x->fout.n; q++)
        x->accp[q] = x->acc + (size_t)x->Tl * (size_t)x->oout[q];
    for (int q = 0; x->experts && q < x->fin.n; q++)
        x->Xgp[q] = x->Xg + rr * (size_t)x->oin[q];
    for (int q = 0; x->experts && q < x->fout.n; q++)
        x->Ygp[q] = x->Yg + rr * (size_t)x->oout[q];
    return 0;
}

/* A failure on any rank fails the step on every rank (the calls stay in lockstep). */
static int step_failed(mb_status st, const char *what, mb_err *err)
{
    int bad = st != MB_OK;
    MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (bad && st == MB_OK)
        mb_fail(err, MB_EINVAL, "%s failed on another rank", what);
    return bad;
}

/* One step of the layer (ep_exec.h); the same calls on every rank. */
static int ep_step(ep_ctx *x, mb_err *err)
{
    const int64_t k = x->k, Tl = x->Tl, E = x->E, ne = x->ne, win = x->win, wout = x->wout;
    const int N = x->nranks;
    double t0 = mb_now_s();
    /* route: this rank's tokens over all E experts */
    mb_status st = mb_ep_route(x->part, x->Xl, &x->rt, err);
    if (step_failed(st, "routing", err))
        return -1;
    double t1 = mb_now_s();
    /* the token owner's compute before dispatch (mixlora's base gate and up rows): counted in
     * the expert phase */
    const float *seg[MB_EP_MAX_SEG];
    st = mb_ep_local(x->part, x->Xl, seg, err);
    if (step_failed(st, "the tokens' base projections", err))
        return -1;
    double t_local = mb_now_s() - t1;
    /* dispatch: rows in ascending expert order (so grouped by owner rank), tokens ascending
     * within an expert: a counting sort by expert */
    memset(x->cntE, 0, sizeof(int64_t) * (size_t)(E + 1));
    for (int64_t i = 0; i < Tl * k; i++)
        x->cntE[x->rt->idx[i] + 1]++;
    for (int64_t e = 0; e < E; e++)
        x->cntE[e + 1] += x->cntE[e];
    for (int64_t t = 0; t < Tl; t++)
        for (int64_t j = 0; j < k; j++) {
            int32_t e = x->rt->idx[t * k + j];
            int64_t p = x->cntE[e]++;
            for (int q = 0; q < x->fin.n; q++)
                memcpy(x->Xs + p * win + x->oin[q], seg[q] + t * x->fin.w[q],
                       sizeof(float) * (size_t)x->fin.w[q]);
            x->meta_s[2 * p] = (int32_t)t;
            x->meta_s[2 * p + 1] = e;
        }
    /* cntE[e] is now the end of expert e's rows */
    for (int d = 0; d < N; d++) {
        int64_t end = x->cntE[(d + 1) * ne - 1], begin = d ? x->cntE[d * ne - 1] : 0;
        x->sc[d] = (int)(end - begin);
        x->sd[d] = (int)begin;
    }
    MPI_Alltoall(x->sc, 1, MPI_INT, x->rc, 1, MPI_INT, MPI_COMM_WORLD);
    int64_t nrecv = 0;
    for (int d = 0; d < N; d++) {
        x->rd[d] = (int)nrecv;
        nrecv += x->rc[d];
        x->sc2[d] = 2 * x->sc[d];
        x->sd2[d] = 2 * x->sd[d];
        x->rc2[d] = 2 * x->rc[d];
        x->rd2[d] = 2 * x->rd[d];
    }
    if (nrecv > x->max_recv) {
        mb_fail(err, MB_EINVAL, "rank %d receives %lld rows, more than %lld", x->rank,
                (long long)nrecv, (long long)x->max_recv);
        return -1;   /* cannot happen: a token picks an expert once */
    }
    MPI_Alltoallv(x->Xs, x->sc, x->sd, x->rowin, x->Xr, x->rc, x->rd, x->rowin, MPI_COMM_WORLD);
    MPI_Alltoallv(x->meta_s, x->sc2, x->sd2, MPI_INT32_T, x->meta_r, x->rc2, x->rd2,
                  MPI_INT32_T, MPI_COMM_WORLD);
    double t2 = mb_now_s();
    /* experts: the received rows grouped by local expert (source rank, then token order
     * within an expert: the order the forward gathers them in), one plane per segment */
    const float *back = x->Xr;   /* the router returns the rows as they came */
    if (x->experts) {
        memset(x->cnt, 0, sizeof(int64_t) * (size_t)ne);
        for (int64_t i = 0; i < nrecv; i++)
            x->cnt[x->meta_r[2 * i + 1] - x->e0]++;
        int64_t *next = x->cntE;   /* reused: ne + 1 <= E + 1 */
        next[0] = 0;
        for (int64_t e = 0; e < ne; e++)
            next[e + 1] = next[e] + x->cnt[e];
        for (int64_t i = 0; i < nrecv; i++) {
            int64_t p = next[x->meta_r[2 * i + 1] - x->e0]++;
            x->pos[i] = p;
            for (int q = 0; q < x->fin.n; q++)
                memcpy((float *)x->Xgp[q] + p * x->fin.w[q], x->Xr + i * win + x->oin[q],
                       sizeof(float) * (size_t)x->fin.w[q]);
        }
        st = mb_ep_experts(x->part, x->Xgp, x->cnt, x->Ygp, err);
        for (int64_t i = 0; st == MB_OK && i < nrecv; i++)
            for (int q = 0; q < x->fout.n; q++)
                memcpy(x->Yr + i * wout + x->oout[q], x->Ygp[q] + x->pos[i] * x->fout.w[q],
                       sizeof(float) * (size_t)x->fout.w[q]);
        if (step_failed(st, "the experts", err))
            return -1;
        back = x->Yr;
    }
    double t3 = mb_now_s();
    /* combine: the rows come back in send order, ascending expert per token; each segment is
     * summed with the routing weight the token's owner kept */
    MPI_Alltoallv(back, x->rc, x->rd, x->rowout, x->Ys, x->sc, x->sd, x->rowout, MPI_COMM_WORLD);
    memset(x->acc, 0, sizeof(float) * (size_t)(Tl * wout));
    int64_t nsend = Tl * k;
    for (int64_t p = 0; p < nsend; p++) {
        int64_t t = x->meta_s[2 * p];
        int32_t e = x->meta_s[2 * p + 1];
        float wt = 0;
        for (int64_t j = 0; j < k; j++)
            if (x->rt->idx[t * k + j] == e)
                wt = x->rt->w[t * k + j];
        for (int q = 0; q < x->fout.n; q++) {
            const int64_t d = x->fout.w[q];
            float *y = x->accp[q] + t * d;
            const float *src = x->Ys + p * wout + x->oout[q];
            for (int64_t c = 0; c < d; c++)
                y[c] += wt * src[c];
        }
    }
    double t4 = mb_now_s();
    /* the token owner's compute after combine (mixlora share=all's down projection): counted
     * in the expert phase */
    st = mb_ep_finish(x->part, x->accp, err);
    if (step_failed(st, "the tokens' down projection", err))
        return -1;
    double t_finish = mb_now_s() - t4;
    x->phase[0] = t1 - t0;
    x->phase[1] = t2 - t1 - t_local;
    x->phase[2] = t3 - t2 + t_local + t_finish;   /* 0 for the router: no experts */
    x->phase[3] = t4 - t3;
    int64_t floats_out = 0;
    for (int d = 0; d < N; d++)
        if (d != x->rank)
            floats_out += x->sc[d] * win + x->rc[d] * wout;
    x->sent_bytes = floats_out * (int64_t)sizeof(float);
    return 0;
}

/* Whether any rank says yes. */
static int any(int v)
{
    MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return v;
}

/* Rank 0: the single-process forward of the same implementation on all T tokens, against the
 * gathered Y and routing. Fills the error and routing columns; 1 when they agree. */
static int check_single(const mb_case *c, const char *impl_name, const mb_spec *one,
                        const mb_weights *w, const mb_inputs *in, const float *Y,
                        const int32_t *idx, const float *wts, mb_row *row)
{
    const mb_impl *impl = mb_impl_find(impl_name);
    mb_err err;
    mb_err_clear(&err);
    mb_tensor y1 = {0}, yep = {0};
    mb_forward_info info = {0};
    mb_state *st = NULL;
    int ok = 0;
    if (mb_output_alloc(one, &y1, &err) || mb_output_alloc(one, &yep, &err) ||
        mb_forward_info_alloc(one, &info, &err) || impl->prepare(one, w, &st, &err) ||
        impl->forward(st, in, &y1, &info, &err)) {
        mb_row_set_status(row, MB_ROW_ERROR, "the single-process forward to check against: %s",
                          err.msg);
        goto done;
    }
    row->expert_load_max = mb_routing_load_max(&info.routing);
    row->aux_loss = info.routing.aux_loss;
    mb_cost cost = mb_cost_of(one, info.routing.counts);
    row->flops = cost.flops;
    row->bytes = cost.bytes;
    memcpy(mb_f32(&yep), Y, sizeof(float) * (size_t)mb_tensor_numel(&yep));
    mb_routing got = info.routing;
    got.idx = (int32_t *)idx;
    got.w = (float *)wts;
    int64_t bad_tok = -1;
    if (mb_routing_equal(&got, &info.routing, &bad_tok)) {
        mb_row_set_status(row, MB_ROW_MISMATCH, "ep routing differs from one process at token "
                          "%lld; repro: moebench case '%s' --impl %s", (long long)bad_tok,
                          c->desc, impl_name);
        goto done;
    }
    mb_cmp cmp = mb_compare(one, &yep, &y1);
    row->max_abs_err = cmp.max_abs_err;
    row->max_rel_err = cmp.max_rel_err;
    if (!cmp.pass) {
        mb_row_set_status(row, MB_ROW_MISMATCH, "ep output differs from one process: max abs "
                          "err %.3g > tol (atol %.3g, rtol %.3g) at element %lld",
                          cmp.max_abs_err, cmp.atol, cmp.rtol, (long long)cmp.first_bad);
        goto done;
    }
    ok = 1;
done:
    if (st)
        impl->release(st);
    mb_tensor_free(&y1);
    mb_tensor_free(&yep);
    mb_forward_info_free(&info);
    return ok;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_dbl);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void run_impl(const mb_case *c, const char *impl, const mb_exec_config *cfg,
                     const mb_weights *w, const mb_inputs *in, const mb_sink *sink)
{
    const mb_spec *s = &c->spec;
    mb_spec one = *s;
    one.ep = 1;
    mb_row row;
    mb_row_from_case(&row, c, impl, cfg);
    row.ep = s->ep;
    ep_ctx x;
    memset(&x, 0, sizeof x);
    x.rowin = x.rowout = MPI_DATATYPE_NULL;
    x.rank = mb_mpi_rank();
    x.nranks = mb_mpi_size();
    x.T = mb_spec_T(s);
    x.Tl = x.T / x.nranks;
    x.h = s->h;
    x.E = s->E;
    x.k = s->k;
    x.ne = s->E / x.nranks;
    x.e0 = x.rank * x.ne;
    x.Xl = mb_f32(&in->X) + x.rank * x.Tl * x.h;
    mb_err err;
    mb_err_clear(&err);
    const char *why = mb_ep_unsupported(impl, s);
    if (any(why != NULL)) {
        mb_row_set_status(&row, MB_ROW_SKIPPED, "%s", why ? why : "unsupported on another rank");
        emit(sink, &row);
        return;
    }
    double tp = mb_now_s();
    mb_status st = mb_ep_prepare(impl, s, w, x.Tl, x.e0, x.ne, &x.part, &err);
    row.prepare_us = (mb_now_s() - tp) * 1e6;
    if (any(st != MB_OK || ctx_alloc(&x, s) != 0)) {
        mb_row_set_status(&row, st == MB_EUNSUPPORTED ? MB_ROW_SKIPPED : MB_ROW_ERROR,
                          "prepare: %s", st != MB_OK ? err.msg : "failed on another rank or "
                          "out of memory");
        emit(sink, &row);
        ctx_free(&x);
        return;
    }
    /* correctness first: one step, Y and routing gathered on rank 0 */
    int ok = ep_step(&x, &err) == 0;
    /* the router's rows must come back exactly as they were sent (nothing computes on them) */
    int lost = ok && !x.experts &&
               memcmp(x.Xs, x.Ys, sizeof(float) * (size_t)(x.Tl * x.k * x.win)) != 0;
    int failed = any(!ok), lost_rank = failed ? 0 : any(lost ? x.rank + 1 : 0);
    if (lost_rank) {
        mb_row_set_status(&row, MB_ROW_MISMATCH, "ep: the dispatched rows came back altered or "
                          "out of order on rank %d; repro: moebench case '%s' --impl %s",
                          lost_rank - 1, c->desc, impl);
        ok = 0;
    } else if (!failed) {
        const int64_t ow = x.experts ? x.h : x.E;   /* the output's width: Y, or the router's */
        float *Y = x.rank == 0 ? calloc((size_t)(x.T * ow), sizeof(float)) : NULL;
        int32_t *idx = x.rank == 0 ? malloc(sizeof(int32_t) * (size_t)(x.T * x.k)) : NULL;
        float *wts = x.rank == 0 ? malloc(sizeof(float) * (size_t)(x.T * x.k)) : NULL;
        int n_idx = (int)(x.Tl * x.k);
        if (x.experts)
            MPI_Gather(x.accp[0], (int)(x.Tl * x.h), MPI_FLOAT, Y, (int)(x.Tl * x.h), MPI_FLOAT, 0,
                       MPI_COMM_WORLD);
        MPI_Gather(x.rt->idx, n_idx, MPI_INT32_T, idx, n_idx, MPI_INT32_T, 0, MPI_COMM_WORLD);
        MPI_Gather(x.rt->w, n_idx, MPI_FLOAT, wts, n_idx, MPI_FLOAT, 0, MPI_COMM_WORLD);
        if (x.rank == 0) {
            /* the router's output is its routing: the dense combine matrix [T, E] */
            for (int64_t t = 0; Y && idx && wts && !x.experts && t < x.T; t++)
                for (int64_t j = 0; j < x.k; j++)
                    Y[t * x.E + idx[t * x.k + j]] = wts[t * x.k + j];
            ok = Y && idx && wts && check_single(c, impl, &one, w, in, Y, idx, wts, &row);
            if (ok)
                snprintf(row.status, sizeof row.status, "ok");
            if (!Y || !idx || !wts)
                mb_row_set_status(&row, MB_ROW_ERROR, "out of memory gathering Y");
        }
        free(Y);
        free(idx);
        free(wts);
        MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    } else {
        mb_row_set_status(&row, MB_ROW_ERROR, "ep step: %s", err.msg);
        ok = 0;
    }
    int64_t bytes = x.sent_bytes;
    MPI_Allreduce(MPI_IN_PLACE, &bytes, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
    row.comm_bytes = bytes;
    if (!ok || cfg->dry_run || cfg->check_only) {
        emit(sink, &row);
        ctx_free(&x);
        return;
    }
    /* timing: a warm-up, then at least reps steps and min_time seconds, the same count on
     * every rank; each step's time is the slowest rank's */
    double tw = mb_now_s();
    ok = ep_step(&x, &err) == 0;
    tw = mb_now_s() - tw;
    MPI_Allreduce(MPI_IN_PLACE, &tw, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    int reps = cfg->reps > 0 ? cfg->reps : 10;
    if (tw > 0 && cfg->min_time / tw > reps)
        reps = (int)ceil(cfg->min_time / tw);
    if (reps > MAX_REPS)
        reps = MAX_REPS;
    double *tot = calloc((size_t)reps, sizeof *tot);
    double *ph = calloc((size_t)reps * 4, sizeof *ph);
    for (int r = 0; ok && tot && ph && r < reps; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = mb_now_s();
        if (ep_step(&x, &err) != 0) {
            ok = 0;
            break;
        }
        double v[5] = {mb_now_s() - t0, x.phase[0], x.phase[1], x.phase[2], x.phase[3]};
        MPI_Allreduce(MPI_IN_PLACE, v, 5, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        tot[r] = v[0] * 1e9;
        for (int q = 0; q < 4; q++)
            ph[q * reps + r] = v[q + 1] * 1e6;
    }
    if (!ok || !tot || !ph) {
        mb_row_set_status(&row, MB_ROW_ERROR, "while timing: %s", ok ? "out of memory" : err.msg);
    } else {
        if (x.rank == 0 && sink && sink->sample)
            for (int r = 0; r < reps; r++)
                sink->sample(sink->ctx, c->desc, impl, cfg->threads,
                             cfg->cache_cold ? "cold" : "warm", r, (int64_t)tot[r]);
        mb_summary sm;
        mb_summarize(tot, (size_t)reps, &sm);
        row.samples = reps;
        row.iters_per_sample = 1;
        row.time_us_median = sm.median / 1e3;
        row.time_us_min = sm.min / 1e3;
        row.time_us_p95 = sm.p95 / 1e3;
        row.time_us_mad = sm.mad / 1e3;
        row.time_us_ci_lo = sm.ci_lo / 1e3;
        row.time_us_ci_hi = sm.ci_hi / 1e3;
        row.route_us = median_of(ph, reps);
        row.dispatch_us = median_of(ph + reps, reps);
        row.expert_us = x.experts ? median_of(ph + 2 * reps, reps) : NAN;   /* none to run */
        row.combine_us = median_of(ph + 3 * reps, reps);
        if (sm.median > 0) {
            row.gflops = row.flops / (sm.median * 1e-9) / 1e9;
            row.gbps = row.bytes / (sm.median * 1e-9) / 1e9;
        }
    }
    free(tot);
    free(ph);
    emit(sink, &row);
    ctx_free(&x);
}

void mb_ep_run_case(const mb_case *c, char impls[][24], int n, const mb_exec_config *cfg,
                    const mb_sink *sink)
{
    mb_spec one = c->spec;
    one.ep = 1;
    if (cfg->threads > 0)
        mb_set_threads(cfg->threads);
    mb_weights w;
    mb_inputs in;
    mb_err err;
    mb_err_clear(&err);
    memset(&w, 0, sizeof w);
    memset(&in, 0, sizeof in);
    int bad = mb_mpi_size() != c->spec.ep;
    if (!bad)
        bad = mb_weights_create(&one, &w, &err) != MB_OK || mb_inputs_create(&one, &in, &err) != MB_OK;
    /* every rank builds the same seeded weights and inputs and uses its share of them */
    if (any(bad)) {
        for (int i = 0; i < n; i++) {
            mb_row row;
            mb_row_from_case(&row, c, impls[i], cfg);
            row.ep = c->spec.ep;
            if (mb_mpi_size() != c->spec.ep)
                mb_row_set_status(&row, MB_ROW_SKIPPED, "ep=%d needs %d MPI ranks, the job has "
                                  "%d", c->spec.ep, c->spec.ep, mb_mpi_size());
            else
                mb_row_set_status(&row, MB_ROW_ERROR, "weights or inputs: %s",
                                  err.msg[0] ? err.msg : "failed on another rank");
            emit(sink, &row);
        }
    } else {
        for (int i = 0; i < n; i++)
            run_impl(c, impls[i], cfg, &w, &in, sink);
    }
    mb_weights_free(&w);
    mb_inputs_free(&in);
}
#endif
