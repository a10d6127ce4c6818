/* Expert parallelism without MPI: the ranks' parts (moebench/ep.h) run one after another in one
 * process, with the messages of harness/dist/ep_exec.c done as copies, must give the
 * single-process forward's routing and Y (sparse_mlp, mixlora in each share mode, the router's
 * rows coming back unchanged); and the projection's formulas on a hand-made measurement
 * (harness/dist/project_ep.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "moebench/ep.h"
#include "moebench/moebench.h"
#include "project_ep.h"

#define NR 2

/* One step over NR parts; Y [T, h] (or the router's dense [T, E]) and idx [T k] out. */
static int emulate(const mb_spec *s, const mb_weights *w, const mb_inputs *in, float *Y,
                   int32_t *idx)
{
    const int64_t T = mb_spec_T(s), h = s->h, E = s->E, k = s->k, Tl = T / NR, ne = E / NR;
    mb_ep_rowfmt fi, fo;
    mb_ep_formats(s, &fi, &fo);
    int64_t win = 0, wout = 0;
    for (int q = 0; q < fi.n; q++) win += fi.w[q];
    for (int q = 0; q < fo.n; q++) wout += fo.w[q];
    const float *X = mb_f32(&in->X);
    mb_ep_part *part[NR] = {NULL};
    const mb_routing *rt[NR];
    const float *seg[NR][MB_EP_MAX_SEG];
    mb_err err;
    mb_err_clear(&err);
    int rc = 0;
    for (int r = 0; r < NR && !rc; r++)
        rc = mb_ep_prepare("blas", s, w, Tl, r * ne, ne, &part[r], &err) ||
             mb_ep_route(part[r], X + r * Tl * h, &rt[r], &err) ||
             mb_ep_local(part[r], X + r * Tl * h, seg[r], &err);
    CHECK_MSG(!rc, "prepare/route/local: %s", err.msg);
    /* every assignment's returned row, [T k, wout], indexed by the sender's slot */
    float *back = calloc((size_t)(T * k * wout), sizeof(float));
    float *in_p = calloc((size_t)(T * k * win), sizeof(float));
    float *out_p = calloc((size_t)(T * k * wout), sizeof(float));
    int64_t *slot_of = calloc((size_t)(T * k), sizeof(int64_t));
    for (int o = 0; o < NR && !rc; o++) {
        /* owner o's rows: its experts ascending, each from rank 0.., tokens ascending */
        int64_t counts[64] = {0}, n = 0;
        int64_t off_out[MB_EP_MAX_SEG];
        for (int64_t e = o * ne; e < (o + 1) * ne; e++)
            for (int r = 0; r < NR; r++)
                for (int64_t t = 0; t < Tl; t++)
                    for (int64_t j = 0; j < k; j++)
                        if (rt[r]->idx[t * k + j] == e) {
                            counts[e - o * ne]++;
                            slot_of[n++] = (r * Tl + t) * k + j;
                        }
        const float *ip[MB_EP_MAX_SEG];
        float *op[MB_EP_MAX_SEG];
        int64_t a = 0;
        for (int q = 0; q < fi.n; a += fi.w[q], q++)
            ip[q] = in_p + n * a;
        a = 0;
        for (int q = 0; q < fo.n; a += fo.w[q], q++) {
            off_out[q] = a;
            op[q] = out_p + n * a;
        }
        for (int64_t i = 0; i < n; i++) {
            int64_t g = slot_of[i] / k, r = g / Tl, t = g % Tl;
            for (int q = 0; q < fi.n; q++)
                memcpy((float *)ip[q] + i * fi.w[q], seg[r][q] + t * fi.w[q],
                       sizeof(float) * (size_t)fi.w[q]);
        }
        if (!mb_ep_has_experts(s)) {   /* the rows come back as they went */
            for (int64_t i = 0; i < n; i++)
                memcpy(back + slot_of[i] * wout, ip[0] + i * h, sizeof(float) * (size_t)h);
            continue;
        }
        rc = mb_ep_experts(part[o], ip, counts, op, &err);
        CHECK_MSG(!rc, "experts: %s", err.msg);
        for (int64_t i = 0; i < n && !rc; i++)
            for (int q = 0; q < fo.n; q++)
                memcpy(back + slot_of[i] * wout + off_out[q], op[q] + i * fo.w[q],
                       sizeof(float) * (size_t)fo.w[q]);
    }
    for (int r = 0; r < NR && !rc; r++) {
        /* the token's owner: ascending expert order, its routing weights */
        float *acc = calloc((size_t)(Tl * wout), sizeof(float));
        float *accp[MB_EP_MAX_SEG];
        int64_t a = 0;
        for (int q = 0; q < fo.n; a += fo.w[q], q++)
            accp[q] = acc + Tl * a;
        for (int64_t t = 0; t < Tl; t++)
            for (int64_t e = 0; e < E; e++)
                for (int64_t j = 0; j < k; j++) {
                    const int64_t sl = (r * Tl + t) * k + j;
                    if (rt[r]->idx[t * k + j] != e) continue;
                    const float wt = rt[r]->w[t * k + j];
                    int64_t o2 = 0;
                    for (int q = 0; q < fo.n; o2 += fo.w[q], q++)
                        for (int64_t c = 0; c < fo.w[q]; c++)
                            accp[q][t * fo.w[q] + c] += wt * back[sl * wout + o2 + c];
                }
        rc = mb_ep_finish(part[r], accp, &err);
        CHECK_MSG(!rc, "finish: %s", err.msg);
        memcpy(idx + r * Tl * k, rt[r]->idx, sizeof(int32_t) * (size_t)(Tl * k));
        if (mb_ep_has_experts(s)) {
            memcpy(Y + r * Tl * h, accp[0], sizeof(float) * (size_t)(Tl * h));
        } else {
            /* the router: the combined rows are x (weights sum to 1); Y is its routing */
            for (int64_t t = 0; t < Tl * h; t++)
                CHECK_NEAR(accp[0][t], X[r * Tl * h + t], 1e-5 * (1 + fabs(X[r * Tl * h + t])));
            for (int64_t t = 0; t < Tl; t++)
                for (int64_t j = 0; j < k; j++)
                    Y[(r * Tl + t) * E + rt[r]->idx[t * k + j]] = rt[r]->w[t * k + j];
        }
        free(acc);
    }
    for (int r = 0; r < NR; r++) mb_ep_release(part[r]);
    free(back);
    free(in_p);
    free(out_p);
    free(slot_of);
    return rc;
}

static void same_as_one_process(const char *desc)
{
    mb_spec s;
    mb_err err;
    mb_err_clear(&err);
    CHECK_MSG(!mb_spec_parse(desc, &s, &err) && !mb_spec_validate(&s, 0, &err), "%s: %s", desc,
              err.msg);
    mb_weights w;
    mb_inputs in;
    mb_tensor y1 = {0}, yep = {0};
    mb_forward_info info = {0};
    mb_state *st = NULL;
    const mb_impl *impl = mb_impl_find("blas");
    memset(&w, 0, sizeof w);
    memset(&in, 0, sizeof in);
    int ok = !mb_weights_create(&s, &w, &err) && !mb_inputs_create(&s, &in, &err) &&
             !mb_output_alloc(&s, &y1, &err) && !mb_output_alloc(&s, &yep, &err) &&
             !mb_forward_info_alloc(&s, &info, &err) && !impl->prepare(&s, &w, &st, &err) &&
             !impl->forward(st, &in, &y1, &info, &err);
    CHECK_MSG(ok, "%s: one process: %s", desc, err.msg);
    int32_t *idx = calloc((size_t)(mb_spec_T(&s) * s.k), sizeof(int32_t));
    memset(mb_f32(&yep), 0, sizeof(float) * (size_t)mb_tensor_numel(&yep));
    if (ok && emulate(&s, &w, &in, mb_f32(&yep), idx) == 0) {
        CHECK_MSG(!memcmp(idx, info.routing.idx, sizeof(int32_t) * (size_t)(mb_spec_T(&s) * s.k)),
                  "%s: routing differs", desc);
        mb_cmp cmp = mb_compare(&s, &yep, &y1);
        CHECK_MSG(cmp.pass, "%s: max abs err %g", desc, cmp.max_abs_err);
    }
    free(idx);
    if (st) impl->release(st);
    mb_tensor_free(&y1);
    mb_tensor_free(&yep);
    mb_forward_info_free(&info);
    mb_weights_free(&w);
    mb_inputs_free(&in);
}

/* The model on a measurement made by hand: T=4 tokens, k=1, E=2 experts, N=2. */
static void model(void)
{
    mb_ep_measure m;
    memset(&m, 0, sizeof m);
    mb_err err;
    CHECK(!mb_spec_parse("sparse_mlp:T=4,h=2,f=4,E=2,k=1", &m.spec, &err));
    int32_t idx[4] = {0, 1, 1, 1};   /* rank 0: tokens 0 1, rank 1: tokens 2 3 */
    m.idx = idx;
    m.counts[0] = 1;
    m.counts[1] = 3;
    m.expert_s[0] = 1;
    m.expert_s[1] = 3;
    m.route_s_per_token = 0.5;
    m.copy_s_per_byte = 0.01;
    m.win = m.wout = 2;   /* h floats: 8 bytes a row */
    mb_ep_pred p;
    mb_ep_predict(&m, 2, 0.1, 0.001, 1, &p);
    CHECK(p.routed == 1);
    CHECK_NEAR(p.route, 0.5 * 2, 1e-12);
    /* rank 0: R 2, S 1 (token 0 to expert 0), V 1, wire max(1, 0) = 1; rank 1: R 2, S 2, V 3,
     * wire max(0, 1) = 1; copies 0.01 * 8 * (R + S + V): rank 0 0.32, rank 1 0.56 */
    CHECK_NEAR(p.dispatch, 0.1 + 8 * 0.001 + 0.56, 1e-12);
    /* combine copies 0.01 * 8 * (V + S + 1.5 R): rank 0 0.4, rank 1 0.64 */
    CHECK_NEAR(p.combine, 0.1 + 8 * 0.001 + 0.64, 1e-12);
    CHECK_NEAR(p.expert, 3, 1e-12);   /* the busiest rank's experts */
    CHECK_NEAR(p.total, p.route + p.dispatch + p.expert + p.combine, 1e-12);
    /* 4 nodes for 2 experts: balanced, an expert over two ranks */
    m.expert_bal_s[0] = m.expert_bal_s[1] = 2;
    mb_ep_predict(&m, 4, 0.1, 0.001, 1, &p);
    CHECK(p.routed == 0);
    CHECK_NEAR(p.expert, 4.0 / 4, 1e-12);
    /* the router: no experts, no grouping copies */
    CHECK(!mb_spec_parse("router:T=4,h=2,E=2,k=1", &m.spec, &err));
    mb_ep_predict(&m, 2, 0.1, 0.001, 1, &p);
    CHECK_NEAR(p.expert, 0, 0);
    CHECK_NEAR(p.dispatch, 0.1 + 8 * 0.001 + 0.01 * 8 * (2 + 2), 1e-12);   /* rank 1: R + S */
}

int main(void)
{
    mb_set_threads(1);
    same_as_one_process("sparse_mlp:T=16,h=32,f=48,E=4,k=2");
    same_as_one_process("sparse_mlp:T=8,h=32,f=64,E=4,k=1,shard=1,act=gelu");
    same_as_one_process("mixlora:T=16,h=32,f=48,r=4,E=4,k=2,share=none");
    same_as_one_process("mixlora:T=16,h=32,f=48,r=4,E=4,k=2,share=gate_up");
    same_as_one_process("mixlora:T=16,h=32,f=48,r=4,E=4,k=2,share=all,act=gelu");
    same_as_one_process("router:T=16,h=32,E=4,k=2");
    model();
    return mb_test_result("test_dist_ep");
}
