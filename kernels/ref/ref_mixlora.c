/* Naive reference of `mixlora` (spec Part 1): E LoRA experts sharing one frozen gated MLP, top-k
 * router. For e in top-k(t): G_e = X_t Wg^T + s(X_t Age^T)Bge^T, U_e likewise,
 * H_e = act(G_e) * U_e, Y_e = H_e Wd^T + s(H_e Ade^T)Bde^T; Y_t = sum_e w_te Y_e.
 * The three `share` modes are implemented literally, each with its own order of operations, so
 * that their agreement is a real test of the linearity argument:
 *   none:    every expert recomputes X Wg^T, X Wu^T and H_e Wd^T;
 *   gate_up: X Wg^T and X Wu^T once per token, the down projection per expert;
 *   all:     also the down projection once, on sum_e w_e H_e; only LoRA terms per expert.
 * Doing "once" per token instead of once for all tokens changes nothing: rows are independent. */
#include <string.h>
#include "ref.h"

typedef struct {
    const float *Wg, *Wu, *Wd, *Wr, *Ag, *Bg, *Au, *Bu, *Ad, *Bd;
} mixlora_w;

static mb_status get_weights(const mb_spec *s, const mb_weights *w, mixlora_w *m, mb_err *err)
{
    const int64_t h = s->h, f = s->f, r = s->r, E = s->E;
    m->Wg = mb_ref_weight(w, "Wg", 2, f, h, 0, err);
    m->Wu = m->Wg ? mb_ref_weight(w, "Wu", 2, f, h, 0, err) : NULL;
    m->Wd = m->Wu ? mb_ref_weight(w, "Wd", 2, h, f, 0, err) : NULL;
    m->Wr = m->Wd ? mb_ref_weight(w, "Wr", 2, E, h, 0, err) : NULL;
    m->Ag = m->Wr ? mb_ref_weight(w, "Ag", 3, E, r, h, err) : NULL;
    m->Bg = m->Ag ? mb_ref_weight(w, "Bg", 3, E, f, r, err) : NULL;
    m->Au = m->Bg ? mb_ref_weight(w, "Au", 3, E, r, h, err) : NULL;
    m->Bu = m->Au ? mb_ref_weight(w, "Bu", 3, E, f, r, err) : NULL;
    m->Ad = m->Bu ? mb_ref_weight(w, "Ad", 3, E, r, f, err) : NULL;
    m->Bd = m->Ad ? mb_ref_weight(w, "Bd", 3, E, h, r, err) : NULL;
    return m->Bd ? MB_OK : MB_EINVAL;
}

/* Scratch of one row: x[h] gb[f] ub[f] g[f] u[f] hsum[f] z[r] ye[h] acc[h] wsel[k] | esel[k]. */
typedef struct {
    double *x, *gb, *ub, *g, *u, *hsum, *z, *ye, *acc, *wsel;
    int32_t *esel;
} mixlora_row;

static void *row_alloc(const mb_spec *s, mixlora_row *b)
{
    const int64_t h = s->h, f = s->f, r = s->r, k = s->k;
    double *p = mb_alloc(sizeof(double) * (size_t)(3 * h + 5 * f + r + k) + sizeof(int32_t) * (size_t)k);
    if (!p)
        return NULL;
    b->x = p;
    b->gb = b->x + h;
    b->ub = b->gb + f;
    b->g = b->ub + f;
    b->u = b->g + f;
    b->hsum = b->u + f;
    b->z = b->hsum + f;
    b->ye = b->z + r;
    b->acc = b->ye + h;
    b->wsel = b->acc + h;
    b->esel = (int32_t *)(b->wsel + k);
    return p;
}

/* H_e = act(G_e) * U_e into b->g, with G_e, U_e = base (recomputed or shared) + expert LoRA. */
static void expert_hidden(const mb_spec *s, const mixlora_w *m, int64_t e, int recompute_base,
                          double sc, mixlora_row *b)
{
    const int64_t h = s->h, f = s->f, r = s->r;
    if (recompute_base) {
        mb_ref_linear(b->x, h, m->Wg, f, b->g);
        mb_ref_linear(b->x, h, m->Wu, f, b->u);
    } else {
        memcpy(b->g, b->gb, sizeof(double) * (size_t)f);
        memcpy(b->u, b->ub, sizeof(double) * (size_t)f);
    }
    mb_ref_lora_acc(b->x, h, m->Ag + e * r * h, m->Bg + e * f * r, r, f, sc, b->z, b->g);
    mb_ref_lora_acc(b->x, h, m->Au + e * r * h, m->Bu + e * f * r, r, f, sc, b->z, b->u);
    for (int64_t j = 0; j < f; j++)
        b->g[j] = mb_act_apply(s->act, b->g[j]) * b->u[j];
}

static void row_forward(const mb_spec *s, const mixlora_w *m, const mb_routing *rt, int64_t t,
                        double sc, mixlora_row *b)
{
    const int64_t h = s->h, f = s->f, r = s->r, k = s->k;
    const int share_base = s->share != MB_SHARE_NONE;
    mb_ref_sorted_choice(rt, t, b->esel, b->wsel);
    for (int64_t i = 0; i < h; i++)
        b->acc[i] = 0.0;
    if (share_base) {
        mb_ref_linear(b->x, h, m->Wg, f, b->gb);
        mb_ref_linear(b->x, h, m->Wu, f, b->ub);
    }
    if (s->share == MB_SHARE_ALL)
        for (int64_t j = 0; j < f; j++)
            b->hsum[j] = 0.0;
    for (int64_t j = 0; j < k; j++) {
        const int64_t e = b->esel[j];
        const double we = b->wsel[j];
        expert_hidden(s, m, e, !share_base, sc, b);
        const float *Ad = m->Ad + e * r * f, *Bd = m->Bd + e * h * r;
        if (s->share == MB_SHARE_ALL) {
            for (int64_t q = 0; q < f; q++)
                b->hsum[q] += we * b->g[q];
            mb_ref_lora_acc(b->g, f, Ad, Bd, r, h, we * sc, b->z, b->acc);
        } else {
            mb_ref_linear(b->g, f, m->Wd, h, b->ye);              /* H_e Wd^T */
            mb_ref_lora_acc(b->g, f, Ad, Bd, r, h, sc, b->z, b->ye);
            for (int64_t i = 0; i < h; i++)
                b->acc[i] += we * b->ye[i];
        }
    }
    if (s->share == MB_SHARE_ALL)
        mb_ref_linear_acc(b->hsum, f, m->Wd, h, 1.0, b->acc);   /* (sum_e w_e H_e) Wd^T */
}

mb_status mb_ref_mixlora(const mb_spec *s, const mb_weights *w, const mb_inputs *in, mb_tensor *y,
                         mb_forward_info *info, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h;
    mb_status st = mb_ref_check_io(s, in, y, info, err);
    if (st != MB_OK)
        return st;
    if (s->share != MB_SHARE_NONE && s->share != MB_SHARE_GATE_UP && s->share != MB_SHARE_ALL)
        return mb_fail(err, MB_EINVAL, "naive mixlora: unknown share mode %d", (int)s->share);
    mixlora_w m;
    if (get_weights(s, w, &m, err) != MB_OK)
        return MB_EINVAL;
    const float *X = mb_f32(&in->X);
    mb_routing rt;
    int owned = 0;
    st = mb_ref_route(s, X, m.Wr, info, &rt, &owned, err);
    if (st != MB_OK)
        return st;

    float *Y = mb_f32(y);
    const double sc = (double)s->alpha / (double)s->r;
    int failed = 0;
#pragma omp parallel if (T > 1)
    {
        mixlora_row b = { 0 };
        void *mem = row_alloc(s, &b);
        if (!mem) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t t = 0; t < T; t++) {
            if (!mem)
                continue;
            mb_ref_row(X + t * h, h, b.x);
            row_forward(s, &m, &rt, t, sc, &b);
            for (int64_t i = 0; i < h; i++)
                Y[t * h + i] = (float)b.acc[i];
        }
        mb_free(mem);
    }
    if (owned)
        mb_ref_routing_release(&rt);
    if (failed)
        return mb_fail(err, MB_ENOMEM, "naive mixlora: out of memory for row scratch");
    return MB_OK;
}
