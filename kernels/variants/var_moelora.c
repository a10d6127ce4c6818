/* moelora in the fused form: A [E, r/E, h] already is Acat [r, h]; B [E, o, r/E] is rearranged
 * to Bcat [o, r] in prepare (s = alpha / r with the total r folded in). Forward: per-sequence
 * gate g_b = softmax(Emb[task_b] Wg^T) (tiny, scalar loops), Z = X Acat^T, Z scaled per expert
 * block by its sequence's gate, Y = X W^T + Z Bcat^T. */
#include "variants.h"
#include "moebench/work.h"
#include <string.h>

typedef struct {
    const mb_gemm_provider *gp;
    int64_t T, S, B, h, o, r, E, tasks, te;
    const float *Emb, *Wg;   /* caller's [tasks+1, te], [E, te] */
    mb_gemm_weight *W, *A, *Bw;
    float *Bc;   /* s * Bcat [o, r] */
    float *Z;    /* [T, r] */
    float *G;    /* [B, E] gates */
    float *zl;   /* [E] logits scratch */
} moelora_st;

static void moelora_release(void *p)
{
    moelora_st *st = p;
    if (!st) return;
    mb_vrelease(st->gp, &st->W);
    mb_vrelease(st->gp, &st->A);
    mb_vrelease(st->gp, &st->Bw);
    mb_free(st->Bc);
    mb_free(st->Z);
    mb_free(st->G);
    mb_free(st->zl);
    mb_free(st);
}

static mb_status moelora_prepare(const mb_gemm_provider *gp, const mb_spec *s,
                                 const mb_weights *w, void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r, E = s->E;
    if (E < 1 || r % E != 0) return mb_fail(err, MB_EINVAL, "moelora needs r %% E == 0");
    const int64_t re = r / E;
    const float *A = mb_vw(w, "A", r * h, err);
    const float *B = A ? mb_vw(w, "B", E * o * re, err) : NULL;
    const float *Emb = B ? mb_vw(w, "Emb", (s->tasks + 1) * s->te, err) : NULL;
    const float *Wg = Emb ? mb_vw(w, "Wg", E * s->te, err) : NULL;
    if (!Wg) return err ? err->code : MB_EINVAL;
    moelora_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->T = T; st->S = s->S; st->B = s->B; st->h = h; st->o = o; st->r = r;
    st->E = E; st->tasks = s->tasks; st->te = s->te; st->Emb = Emb; st->Wg = Wg;
    mb_status rc = mb_vbcat(B, E, o, re, s->alpha / (float)r, &st->Bc, err);
    if (rc == MB_OK) rc = mb_vprep_base(gp, s, w, "W", 1, 0, o, h, T, &st->W, err);
    if (rc == MB_OK) rc = mb_vprep(gp, A, r, h, T, &st->A, err);
    if (rc == MB_OK) rc = mb_vprep(gp, st->Bc, o, r, T, &st->Bw, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Z, T, r, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->G, s->B, E, err);
    if (rc == MB_OK) rc = mb_valloc(&st->zl, E, err);
    if (rc != MB_OK) { moelora_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

/* g = softmax(Emb[task] Wg^T) over E (shared with merged moelora). */
void mb_moelora_gate(const float *Emb, const float *Wg, int64_t te, int64_t E, int32_t task,
                     float *zl, float *g)
{
    const float *em = Emb + (int64_t)task * te;
    /* the cost model's gate term: one embedding row (once per task present) and Wg read */
    mb_work_add(MB_WORK_FLOPS, 2 * te * E);
    mb_work_weight(em, te * (int64_t)sizeof(float));
    mb_work_weight(Wg, E * te * (int64_t)sizeof(float));
    for (int64_t e = 0; e < E; e++) {
        double acc = 0.0;
        for (int64_t i = 0; i < te; i++) acc += (double)em[i] * Wg[e * te + i];
        zl[e] = (float)acc;
    }
    mb_softmax(zl, E, g);
}

static mb_status moelora_forward(void *p, const mb_inputs *in, mb_tensor *y,
                                 mb_forward_info *info, mb_err *err)
{
    moelora_st *st = p;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    const int64_t T = st->T, E = st->E, r = st->r, re = r / E;
    /* task ids: shape and range (0..tasks) checked by mb_check_io in mb_variant_forward */
    const int32_t *task = mb_i32(&in->task);
    for (int64_t b = 0; b < st->B; b++) {
        mb_moelora_gate(st->Emb, st->Wg, st->te, E, task[b], st->zl, st->G + b * E);
    }
    if (info && info->gate) memcpy(info->gate, st->G, sizeof(float) * (size_t)(st->B * E));
    mb_status rc = mb_vgemm(st->gp, st->W, T, st->h, X, 0.0f, Y, st->o, err);
    if (rc == MB_OK) rc = mb_vgemm(st->gp, st->A, T, st->h, X, 0.0f, st->Z, r, err);
    if (rc != MB_OK) return rc;
    #pragma omp parallel for schedule(static) if (T * r > 32768)
    for (int64_t t = 0; t < T; t++) {
        mb_vgate_blocks(st->Z + t * r, st->G + (t / st->S) * E, E, re);
    }
    return mb_vgemm(st->gp, st->Bw, T, r, st->Z, 1.0f, Y, st->o, err);
}

const mb_variant_ops mb_var_moelora = { moelora_prepare, moelora_forward, moelora_release };

/* ---- shape (core/variant_shape.h): weights layout, element count, cost, memory ---------- */

static int moelora_layout(const mb_spec *s, mb_wdesc *d)
{
    int64_t h = s->h, o = s->o, r = s->r, E = s->E;
    int n = 0;
    MB_W2B("W", o, h); MB_W3("A", E, r / E, h); MB_W3("B", E, o, r / E);
    MB_W2("Emb", s->tasks + 1, s->te); MB_W2("Wg", E, s->te);
    return n;
}

static int moelora_elems(const mb_spec *s, int64_t *n)
{
    int64_t h = s->h, o = s->o, r = s->r, E = s->E, emb_rows;
    /* Emb has tasks+1 rows; this runs before validation bounds tasks */
    if (mb_add_i64(s->tasks, 1, &emb_rows))
        return -1;
    /* W[o,h] A[E,r/E,h] B[E,o,r/E] Emb[tasks+1,te] Wg[E,te] */
    return mb_madd(n, o, h) || mb_madd(n, r, h) || mb_madd(n, o, r) ||
                   mb_madd(n, emb_rows, s->te) || mb_madd(n, E, s->te)
               ? -1 : 0;
}

static void moelora_cost(const mb_spec *s, const int64_t *counts, mb_cost_terms *c)
{
    double T = (double)mb_spec_T(s), B = (double)s->B, h = (double)s->h, o = (double)s->o,
           r = (double)s->r, E = (double)s->E;
    (void)counts;
    /* 2Tho base + 2Tr(h+o) (total rank r) + gate 2*B*te*E once per sequence */
    double te = (double)s->te;
    c->flops = 2 * T * h * o + 2 * T * r * (h + o) + 2 * B * te * E;
    c->frozen = 2 * T * h * o;
    /* Emb: only the looked-up rows are read, one per distinct task in the batch. The task
     * ids are not an input of the cost model, so this counts min(B, tasks+1): an upper
     * bound on the rows read (exact when every sequence has a different task). */
    double rows = B < (double)(s->tasks + 1) ? B : (double)(s->tasks + 1);
    c->wb = o * h;
    c->wr = r * (h + o) + rows * te + E * te;
}

static void moelora_merged_cost(const mb_spec *s, const int64_t *counts, mb_cost_terms *c)
{
    double T = (double)mb_spec_T(s), B = (double)s->B, h = (double)s->h, o = (double)s->o;
    (void)counts;
    /* one GEMM per row with its task's W'_task; one W' per distinct task in the batch,
     * at most min(B, tasks+1) (task ids are not an input of the cost model) */
    double tasks = B < (double)(s->tasks + 1) ? B : (double)(s->tasks + 1);
    c->flops = 2 * T * h * o;
    c->wb = tasks * o * h;
}

static int64_t moelora_mem_base(mb_acc *a, const mb_mdims *d)
{
    return mb_acc_mul(a, mb_acc_mul(a, d->o, d->h), d->el);
}

static void moelora_mem_workspace(mb_acc *a, const mb_mdims *d)
{
    /* Z [T, r], G [B, E], logits [E] */
    mb_acc_add3(a, 4, d->T, d->r);
    mb_acc_add3(a, 4, d->B, d->E);
    mb_acc_add(a, mb_acc_mul(a, 4, d->E));
}

static void moelora_mem_merged(mb_acc *a, const mb_mdims *d)
{
    const int64_t T = d->T, h = d->h, o = d->o, r = d->r, E = d->E;
    /* one W' per task (tasks + 1), gates, grouped X and Y, Bc, As, A^T */
    mb_acc_add4(a, 4, mb_acc_plus(a, d->tasks, 1), o, h);
    mb_acc_add3(a, 4, mb_acc_plus(a, d->tasks, 1), E);
    mb_acc_add3(a, 4, T, mb_acc_plus(a, h, o));
    mb_acc_add3(a, 4, o, r);
    mb_acc_add3(a, 2 * 4, r, h);
    mb_acc_add(a, mb_acc_mul(a, 4, d->B));
}

static mb_status moelora_validate(const mb_spec *s, mb_err *err)
{
    if (s->tasks < 1)
        return mb_fail(err, MB_EINVAL, "tasks=%lld: must be at least 1", (long long)s->tasks);
    if (s->te < 1)
        return mb_fail(err, MB_EINVAL, "te=%lld: must be at least 1", (long long)s->te);
    if (s->tasks >= INT32_MAX)
        return mb_fail(err, MB_EINVAL, "tasks=%lld: task ids are int32", (long long)s->tasks);
    if (s->r % s->E)
        return mb_fail(err, MB_EINVAL, "r=%lld %% E=%lld != 0: moelora splits the total rank "
                       "evenly over the experts", (long long)s->r, (long long)s->E);
    return MB_OK;
}

const mb_variant_shape mb_shape_moelora = {
    moelora_layout,   moelora_elems,         moelora_cost, moelora_merged_cost,
    moelora_mem_base, moelora_mem_workspace, NULL,         moelora_mem_merged,
    moelora_validate, NULL};
