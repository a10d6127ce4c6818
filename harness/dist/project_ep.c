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
static int start_load(mb_ep_part *part, const float *X, const int64_t *counts, float *Yg,
                      int concurrent, pid_t *pids)
{
    int n = 0;
    for (int i = 1; i < concurrent; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            mb_err e;
            for (;;)
                mb_ep_experts(part, X, counts, Yg, &e);
        }
        if (pid < 0)
            break;
        pids[n++] = pid;
    }
    return n;
}

static void stop_load(pid_t *pids, int n)
{
    for (int i = 0; i < n; i++)
        kill(pids[i], SIGKILL);
    for (int i = 0; i < n; i++)
        waitpid(pids[i], NULL, 0);
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
    const int64_t T = mb_spec_T(&s), h = s.h, E = s.E, k = s.k;
    if (E > MB_PROJECT_MAX_E) {
        snprintf(err, errlen, "E=%lld: at most %d experts", (long long)E, MB_PROJECT_MAX_E);
        return 2;
    }
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
    float *Yg = malloc(sizeof(float) * (size_t)(m_rows * h));
    float *copy = malloc(sizeof(float) * (size_t)(m_rows * h));
    int64_t *counts = calloc((size_t)E, sizeof *counts);
    if (!Yg || !copy || !counts || mb_weights_create(&s, &w, &e) || mb_inputs_create(&s, &in, &e) ||
        mb_ep_prepare(impl, &s, &w, T, 0, E, &part, &e)) {
        snprintf(err, errlen, "%s", e.msg[0] ? e.msg : "out of memory");
        goto done;
    }
    const float *X = mb_f32(&in.X);
    const mb_routing *rt;
    double t;
    if (concurrent > 1) {
        for (int64_t x = 0; x < E; x++)
            counts[x] = m_rows;   /* the loaders run every expert */
        nload = start_load(part, X, counts, Yg, concurrent > 64 ? 64 : concurrent, pids);
    }
    mb_ep_route(part, X, &rt, &e);   /* warm */
    TIME_MEDIAN(t, 5, mb_ep_route(part, X, &rt, &e));
    m->route_s_per_token = t / (double)T;
    for (int64_t x = 0; x < E; x++) {
        memset(counts, 0, sizeof *counts * (size_t)E);
        counts[x] = m_rows;
        if (mb_ep_experts(part, X, counts, Yg, &e)) {   /* warm, and the check it runs */
            snprintf(err, errlen, "expert %lld: %s", (long long)x, e.msg);
            goto done;
        }
        TIME_MEDIAN(m->expert_s[x], 3, mb_ep_experts(part, X, counts, Yg, &e));
    }
    size_t bytes = sizeof(float) * (size_t)(m_rows * h);
    memcpy(copy, X, bytes);
    TIME_MEDIAN(t, 9, memcpy(copy, Yg, bytes); memcpy(Yg, copy, bytes));
    m->copy_s_per_byte = t / (2.0 * (double)bytes);
    rc = 0;
done:
    if (nload)
        stop_load(pids, nload);
    mb_ep_release(part);
    mb_weights_free(&w);
    mb_inputs_free(&in);
    free(Yg);
    free(copy);
    free(counts);
    return rc;
}

void mb_ep_predict(const mb_ep_measure *m, int N, double alpha, double beta, double share,
                   mb_ep_pred *p)
{
    const mb_spec *s = &m->spec;
    const double T = (double)mb_spec_T(s), h = (double)s->h, k = (double)s->k;
    const int64_t E = s->E;
    double R = T * k / N;
    p->bytes_per_pair = R / N * h * 4;
    p->route = share * m->route_s_per_token * T / N;
    double comm = (N - 1) * alpha + (N - 1) * p->bytes_per_pair * beta;
    double copy = share * 2 * m->copy_s_per_byte * R * h * 4;
    p->dispatch = comm + copy;
    p->combine = comm + copy;
    double ex = 0;
    if (E % N == 0) {
        for (int64_t r = 0; r < N; r++) {
            double sum = 0;
            for (int64_t e = r * (E / N); e < (r + 1) * (E / N); e++)
                sum += m->expert_s[e];
            if (sum > ex)
                ex = sum;
        }
    } else {
        for (int64_t e = 0; e < E; e++)
            ex += m->expert_s[e];
        ex /= N;
    }
    p->expert = share * ex;
    p->total = p->route + p->dispatch + p->expert + p->combine;
}
