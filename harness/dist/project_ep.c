/* The expert-parallel projection (see project_ep.h). */
#include "project_ep.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "moebench/ep.h"
#include "moebench/moebench.h"
#include "timing.h"

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of reps calls of fn. */
#define TIME_MEDIAN(out, reps, call)                               \
    do {                                                           \
        double t_[15];                                             \
        for (int r_ = 0; r_ < (reps); r_++) {                      \
            double t0_ = mb_now_s();                               \
            call;                                                  \
            t_[r_] = mb_now_s() - t0_;                             \
        }                                                          \
        qsort(t_, (size_t)(reps), sizeof(double), cmp_dbl);        \
        (out) = t_[(reps) / 2];                                    \
    } while (0)

/* concurrent - 1 children running the experts in a loop until killed: the load of the other
 * ranks of a run on this machine, which share its cores, caches and memory bandwidth */
static int start_load(mb_ep_part *part, int experts, const float *const *in, int64_t *counts,
                      int64_t E, int64_t rows, float *const *out, int concurrent, pid_t *pids)
{
    int n = 0;
    for (int i = 1; i < concurrent; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* one expert at a time on `rows` rows: the planes hold T rows, not every expert's
             * (the router has no experts: its load is its routing) */
            mb_err e;
            const mb_routing *rt;
            for (int64_t x = 0;; x = (x + 1) % E) {
                if (!experts) {
                    mb_ep_route(part, in[0], &rt, &e);
                    continue;
                }
                memset(counts, 0, sizeof *counts * (size_t)E);
                counts[x] = rows;
                if (mb_ep_experts(part, in, counts, out, &e))
                    _exit(3);
            }
        }
        if (pid < 0)
            break;
        pids[n++] = pid;
    }
    return n;
}

/* Stops the load; 0 when every process ran until killed (a load that died early measured
 * nothing). */
static int stop_load(pid_t *pids, int n)
{
    int died = 0;
    for (int i = 0; i < n; i++)
        kill(pids[i], SIGKILL);
    for (int i = 0; i < n; i++) {
        int status = 0;
        waitpid(pids[i], &status, 0);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            died = 1;
    }
    return died;
}

void mb_ep_measure_free(mb_ep_measure *m)
{
    free(m->idx);
    m->idx = NULL;
}

/* Expert x alone on n rows of the planes: the median of 3 after a warm-up. */
static int time_expert(mb_ep_part *part, int64_t E, int64_t x, int64_t n, const float *const *in,
                       float *const *out, int64_t *counts, double *t, mb_err *e)
{
    memset(counts, 0, sizeof *counts * (size_t)E);
    counts[x] = n;
    *t = 0;
    if (n == 0)
        return 0;
    if (mb_ep_experts(part, in, counts, out, e))   /* warm, and the check it runs */
        return -1;
    TIME_MEDIAN(*t, 3, mb_ep_experts(part, in, counts, out, e));
    return 0;
}

int mb_ep_measure_case(const mb_spec *s_in, const char *impl, int threads, int concurrent,
                       mb_ep_measure *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    mb_spec s = *s_in;
    s.ep = 1;
    m->spec = s;
    snprintf(m->impl, sizeof m->impl, "%s", impl);
    m->threads = threads;
    m->concurrent = concurrent;
    const char *why = mb_ep_unsupported(impl, &s);
    if (why) {
        snprintf(err, errlen, "%s", why);
        return 2;
    }
    const int64_t T = mb_spec_T(&s), E = s.E, k = s.k;
    if (E > MB_PROJECT_MAX_E) {
        snprintf(err, errlen, "E=%lld: at most %d experts", (long long)E, MB_PROJECT_MAX_E);
        return 2;
    }
    mb_ep_rowfmt fin, fout;
    mb_ep_formats(&s, &fin, &fout);
    for (int q = 0; q < fin.n; q++)
        m->win += fin.w[q];
    for (int q = 0; q < fout.n; q++)
        m->wout += fout.w[q];
    const int experts = mb_ep_has_experts(&s);
    mb_set_threads(threads);
    mb_weights w;
    mb_inputs in;
    mb_err e;
    mb_err_clear(&e);
    memset(&w, 0, sizeof w);
    memset(&in, 0, sizeof in);
    mb_ep_part *part = NULL;
    int rc = 1;
    pid_t pids[64];
    int nload = 0;
    int64_t m_rows = (T * k + E - 1) / E;
    if (m_rows > T)
        m_rows = T;
    m->rows_per_expert = m_rows;
    /* an expert gets at most T rows: planes of T rows hold any expert's */
    float *Yg = malloc(sizeof(float) * (size_t)(T * m->wout));
    /* the copy speed at the size a step copies: the rows two ranks would each pack (T k / 2
     * rows of win floats), not a block that stays in cache */
    const size_t copy_floats = (size_t)((T * k + 1) / 2) * (size_t)m->win;
    float *copy = malloc(sizeof(float) * copy_floats * 2);
    int64_t *counts = calloc((size_t)E, sizeof *counts);
    m->idx = malloc(sizeof(int32_t) * (size_t)(T * k));
    if (!Yg || !copy || !counts || !m->idx || mb_weights_create(&s, &w, &e) ||
        mb_inputs_create(&s, &in, &e) || mb_ep_prepare(impl, &s, &w, T, 0, E, &part, &e)) {
        snprintf(err, errlen, "%s", e.msg[0] ? e.msg : "out of memory");
        goto done;
    }
    const float *X = mb_f32(&in.X);
    const mb_routing *rt;
    const float *seg[MB_EP_MAX_SEG];
    float *outp[MB_EP_MAX_SEG];
    for (int q = 0, o = 0; q < fout.n; o += (int)fout.w[q], q++)
        outp[q] = Yg + (size_t)T * (size_t)o;
    double t;
    /* the case's own routing: the one every rank count routes too (per token) */
    if (mb_ep_route(part, X, &rt, &e) || mb_ep_local(part, X, seg, &e)) {
        snprintf(err, errlen, "%s", e.msg);
        goto done;
    }
    memcpy(m->idx, rt->idx, sizeof(int32_t) * (size_t)(T * k));
    for (int64_t i = 0; i < T * k; i++)
        m->counts[m->idx[i]]++;
    if (concurrent > 1)
        nload = start_load(part, experts, seg, counts, E, m_rows, outp, concurrent > 64 ? 64 : concurrent,
                           pids);
    TIME_MEDIAN(t, 5, mb_ep_route(part, X, &rt, &e));
    m->route_s_per_token = t / (double)T;
    TIME_MEDIAN(t, 3, mb_ep_local(part, X, seg, &e));
    m->local_s_per_token = t / (double)T;
    for (int64_t x = 0; experts && x < E; x++)
        if (time_expert(part, E, x, m->counts[x], seg, outp, counts, &m->expert_s[x], &e) ||
            time_expert(part, E, x, m_rows, seg, outp, counts, &m->expert_bal_s[x], &e)) {
            snprintf(err, errlen, "expert %lld: %s", (long long)x, e.msg);
            goto done;
        }
    size_t bytes = sizeof(float) * copy_floats;
    memset(copy, 0, bytes * 2);
    TIME_MEDIAN(t, 9, memcpy(copy + copy_floats, copy, bytes); memcpy(copy, copy + copy_floats, bytes));
    m->copy_s_per_byte = t / (2.0 * (double)bytes);
    rc = 0;
done:
    if (nload && stop_load(pids, nload) && rc == 0) {
        snprintf(err, errlen, "a process computing beside the measurement died");
        rc = 1;
    }
    if (rc)
        mb_ep_measure_free(m);
    mb_ep_release(part);
    mb_weights_free(&w);
    mb_inputs_free(&in);
    free(Yg);
    free(copy);
    free(counts);
    return rc;
}

/* The phases of N ranks from the case's routing: rank r holds tokens r T/N .. and experts
 * r E/N ..; each phase is its busiest rank's. */
static void predict_routed(const mb_ep_measure *m, int N, double alpha, double beta,
                           double share, mb_ep_pred *p)
{
    const mb_spec *s = &m->spec;
    const int64_t T = mb_spec_T(s), E = s->E, k = s->k, Tl = T / N, ne = E / N;
    const int experts = mb_ep_has_experts(s);
    const double bin = 4.0 * (double)m->win, bout = 4.0 * (double)m->wout, cc = m->copy_s_per_byte;
    double busiest_out = 0;
    p->route = share * m->route_s_per_token * (double)Tl;
    p->dispatch = p->expert = p->combine = 0;
    for (int r = 0; r < N; r++) {
        int64_t own = 0, recv_all = 0, recv_remote;
        for (int64_t t = r * Tl; t < (r + 1) * Tl; t++)
            for (int64_t j = 0; j < k; j++)
                own += m->idx[t * k + j] / ne == r;
        double ex = share * m->local_s_per_token * (double)Tl;
        for (int64_t e = r * ne; e < (r + 1) * ne; e++) {
            recv_all += m->counts[e];
            ex += share * m->expert_s[e];
        }
        recv_remote = recv_all - own;
        const double R = (double)(Tl * k), S = (double)own, V = (double)recv_all;
        const double sent = (double)(Tl * k - own), got = (double)recv_remote;
        const double wire = sent > got ? sent : got;   /* rows in or out of the rank */
        /* copies: pack R rows, MPI's copy of the S rows a rank sends itself, group the V rows
         * received (the router returns them as they came: no grouping); combine: ungroup V,
         * the self copy, and the weighted sum of R rows (read y and the row, write y: 1.5
         * copies) */
        double d = (N - 1) * alpha + wire * bin * beta +
                   share * cc * bin * (R + S + (experts ? V : 0));
        double c = (N - 1) * alpha + wire * bout * beta +
                   share * cc * bout * ((experts ? V : 0) + S + 1.5 * R);
        if (d > p->dispatch) p->dispatch = d;
        if (c > p->combine) p->combine = c;
        if (experts && ex > p->expert) p->expert = ex;
        if (wire > busiest_out) busiest_out = wire;
    }
    p->bytes_per_pair = busiest_out * bin / (N > 1 ? N - 1 : 1);
    p->routed = 1;
}

void mb_ep_predict(const mb_ep_measure *m, int N, double alpha, double beta, double share,
                   mb_ep_pred *p)
{
    const mb_spec *s = &m->spec;
    const double T = (double)mb_spec_T(s), k = (double)s->k;
    const int64_t E = s->E;
    memset(p, 0, sizeof *p);
    if (m->idx && mb_spec_T(s) % N == 0 && E % N == 0) {
        predict_routed(m, N, alpha, beta, share, p);
    } else {
        /* balanced routing: every rank routes R rows, 1/N of them to each rank */
        const int experts = mb_ep_has_experts(s);
        double R = T * k / N;
        p->bytes_per_pair = R / N * 4.0 * (double)m->win;
        p->route = share * m->route_s_per_token * T / N;
        double wire = R * (N - 1) / N;
        double cc = share * m->copy_s_per_byte * 4.0 * R;
        p->dispatch = (N - 1) * alpha + wire * 4.0 * (double)m->win * beta +
                      cc * (double)m->win * (experts ? 2.0 + 1.0 / N : 1.0 + 1.0 / N);
        p->combine = (N - 1) * alpha + wire * 4.0 * (double)m->wout * beta +
                     cc * (double)m->wout * (experts ? 2.5 + 1.0 / N : 1.5 + 1.0 / N);
        double ex = 0;
        for (int64_t e = 0; experts && e < E; e++)
            ex += m->expert_bal_s[e];
        p->expert = experts ? share * (ex / N + m->local_s_per_token * T / N) : 0;
    }
    p->total = p->route + p->dispatch + p->expert + p->combine;
}
