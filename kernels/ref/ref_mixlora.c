/* Naive reference of `mixlora` (spec Part 1): E LoRA experts sharing one frozen gated MLP, top-k
 * router. For e in top-k(t): G_e = X_t Wg^T + s(X_t Age^T)Bge^T, U_e likewise,
 * H_e = act(G_e) * U_e, Y_e = H_e Wd^T + s(H_e Ade^T)Bde^T; Y_t = sum_e w_te Y_e.
 * The three `share` modes are implemented literally, each with its own order of operations, so
 * that their agreement is a real test of the linearity argument:
 *   none:    every expert recomputes X Wg^T, X Wu^T and H_e Wd^T;
 *   gate_up: X Wg^T and X Wu^T once per token, the down projection per expert;
 *   all:     also the down projection once, on sum_e w_e H_e; only LoRA terms per expert.
 * Doing "once" per token instead of once for all tokens changes nothing: rows are independent. */
#include <stdio.h>
#include <string.h>
#include "ref.h"

/* The expert LoRA factors: the E routed experts, or the n shared ones (shared=n, spec
 * "Routing options": LoRA experts over the same base MLP, weight 1). */
typedef struct {
    mb_ref_mat Ag, Bg, Au, Bu, Ad, Bd;
} lora_set;

typedef struct {
    mb_ref_mat Wg, Wu, Wd, Wr;
    lora_set ex, sh;
} mixlora_w;

/* The six factors named Ag<sfx> .. Bd<sfx> of n experts. */
static mb_status get_lora_set(const mb_spec *s, const mb_weights *w, const char *sfx, int64_t n,
                              lora_set *l, mb_err *err)
{
    const int64_t h = s->h, f = s->f, r = s->r;
    char nm[6][8];
    const char *base[6] = {"Ag", "Bg", "Au", "Bu", "Ad", "Bd"};
    for (int i = 0; i < 6; i++)
        snprintf(nm[i], sizeof nm[i], "%s%s", base[i], sfx);
    l->Ag = mb_ref_wmat(w, nm[0], 3, n, r, h, err);
    l->Bg = l->Ag.base ? mb_ref_wmat(w, nm[1], 3, n, f, r, err) : l->Ag;
    l->Au = l->Bg.base ? mb_ref_wmat(w, nm[2], 3, n, r, h, err) : l->Bg;
    l->Bu = l->Au.base ? mb_ref_wmat(w, nm[3], 3, n, f, r, err) : l->Au;
    l->Ad = l->Bu.base ? mb_ref_wmat(w, nm[4], 3, n, r, f, err) : l->Bu;
    l->Bd = l->Ad.base ? mb_ref_wmat(w, nm[5], 3, n, h, r, err) : l->Ad;
    return l->Bd.base ? MB_OK : MB_EINVAL;
}

static mb_status get_weights(const mb_spec *s, const mb_weights *w, mixlora_w *m, mb_err *err)
{
    const int64_t h = s->h, f = s->f, E = s->E;
    m->Wg = mb_ref_wmat(w, "Wg", 2, f, h, 0, err);
    m->Wu = m->Wg.base ? mb_ref_wmat(w, "Wu", 2, f, h, 0, err) : m->Wg;
    m->Wd = m->Wu.base ? mb_ref_wmat(w, "Wd", 2, h, f, 0, err) : m->Wu;
    m->Wr = m->Wd.base ? mb_ref_wmat(w, "Wr", 2, E, h, 0, err) : m->Wd;
    if (!m->Wr.base || get_lora_set(s, w, "", E, &m->ex, err) != MB_OK)
        return MB_EINVAL;
    memset(&m->sh, 0, sizeof m->sh);
    if (s->shared > 0 && get_lora_set(s, w, "s", s->shared, &m->sh, err) != MB_OK)
        return MB_EINVAL;
    return MB_OK;
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
static void expert_hidden(const mb_spec *s, const mixlora_w *m, const lora_set *l, int64_t e,
                          int recompute_base, double sc, mixlora_row *b)
{
    const int64_t h = s->h, f = s->f, r = s->r;
    if (recompute_base) {
        mb_ref_mlinear(b->x, h, m->Wg, f, b->g);
        mb_ref_mlinear(b->x, h, m->Wu, f, b->u);
    } else {
        memcpy(b->g, b->gb, sizeof(double) * (size_t)f);
        memcpy(b->u, b->ub, sizeof(double) * (size_t)f);
    }
    mb_ref_mlora_acc(b->x, h, mb_ref_mat_rows(l->Ag, e * r), mb_ref_mat_rows(l->Bg, e * f), r, f, sc, b->z, b->g);
    mb_ref_mlora_acc(b->x, h, mb_ref_mat_rows(l->Au, e * r), mb_ref_mat_rows(l->Bu, e * f), r, f, sc, b->z, b->u);
    for (int64_t j = 0; j < f; j++)
        b->g[j] = mb_act_apply(s->act, b->g[j]) * b->u[j];
}

static void row_forward(const mb_spec *s, const mixlora_w *m, const mb_routing *rt, int64_t t,
                        double sc, mixlora_row *b)
{
    const int64_t h = s->h, f = s->f, r = s->r;
    const int share_base = s->share != MB_SHARE_NONE;
    const int64_t n = mb_ref_sorted_choice(rt, t, b->esel, b->wsel);
    for (int64_t i = 0; i < h; i++)
        b->acc[i] = 0.0;
    if (share_base) {
        mb_ref_mlinear(b->x, h, m->Wg, f, b->gb);
        mb_ref_mlinear(b->x, h, m->Wu, f, b->ub);
    }
    if (s->share == MB_SHARE_ALL)
        for (int64_t j = 0; j < f; j++)
            b->hsum[j] = 0.0;
    /* the routed experts (ascending index), then the shared ones with weight 1 */
    for (int64_t j = 0; j < n + s->shared; j++) {
        const int routed = j < n;
        const lora_set *l = routed ? &m->ex : &m->sh;
        const int64_t e = routed ? b->esel[j] : j - n;
        const double we = routed ? b->wsel[j] : 1.0;
        expert_hidden(s, m, l, e, !share_base, sc, b);
        const mb_ref_mat Ad = mb_ref_mat_rows(l->Ad, e * r), Bd = mb_ref_mat_rows(l->Bd, e * h);
        if (s->share == MB_SHARE_ALL) {
            for (int64_t q = 0; q < f; q++)
                b->hsum[q] += we * b->g[q];
            mb_ref_mlora_acc(b->g, f, Ad, Bd, r, h, we * sc, b->z, b->acc);
        } else {
            mb_ref_mlinear(b->g, f, m->Wd, h, b->ye);              /* H_e Wd^T */
            mb_ref_mlora_acc(b->g, f, Ad, Bd, r, h, sc, b->z, b->ye);
            for (int64_t i = 0; i < h; i++)
                b->acc[i] += we * b->ye[i];
        }
    }
    if (s->share == MB_SHARE_ALL)
        mb_ref_mlinear_acc(b->hsum, f, m->Wd, h, 1.0, b->acc);   /* (sum_e w_e H_e) Wd^T */
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
    const mb_ref_mat X = mb_ref_tmat(&in->X, s->h);
    mb_routing rt;
    int owned = 0;
    st = mb_ref_mroute(s, X, m.Wr, info, &rt, &owned, err);
    if (st != MB_OK)
        return st;

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
            mb_ref_mrow(X, t, b.x);
            row_forward(s, &m, &rt, t, sc, &b);
            mb_ref_store_row(y, t, b.acc, h);   /* Y in its dtype (bf16: rounded once) */
        }
        mb_free(mem);
    }
    if (owned)
        mb_ref_routing_release(&rt);
    if (failed)
        return mb_fail(err, MB_ENOMEM, "naive mixlora: out of memory for row scratch");
    return MB_OK;
}
