/* Naive reference of `mlp_lora` (spec Part 1): LLaMA gated MLP with LoRA on gate, up and down:
 * G = X Wg^T + s(X Ag^T)Bg^T; U = X Wu^T + s(X Au^T)Bu^T; H = act(G) * U;
 * Y = H Wd^T + s(H Ad^T)Bd^T. */
#include "ref.h"

mb_status mb_ref_mlp_lora(const mb_spec *s, const mb_weights *w, const mb_inputs *in, mb_tensor *y,
                          mb_forward_info *info, mb_err *err)
{
    (void)info;   /* no gate, no routing */
    const int64_t T = mb_spec_T(s), h = s->h, f = s->f, r = s->r;
    mb_status st = mb_ref_check_io(s, in, y, info, err);
    if (st != MB_OK)
        return st;
    const mb_ref_mat Wg = mb_ref_wmat(w, "Wg", 2, f, h, 0, err);
    const mb_ref_mat Wu = Wg.base ? mb_ref_wmat(w, "Wu", 2, f, h, 0, err) : Wg;
    const mb_ref_mat Wd = Wu.base ? mb_ref_wmat(w, "Wd", 2, h, f, 0, err) : Wu;
    const mb_ref_mat Ag = Wd.base ? mb_ref_wmat(w, "Ag", 2, r, h, 0, err) : Wd;
    const mb_ref_mat Bg = Ag.base ? mb_ref_wmat(w, "Bg", 2, f, r, 0, err) : Ag;
    const mb_ref_mat Au = Bg.base ? mb_ref_wmat(w, "Au", 2, r, h, 0, err) : Bg;
    const mb_ref_mat Bu = Au.base ? mb_ref_wmat(w, "Bu", 2, f, r, 0, err) : Au;
    const mb_ref_mat Ad = Bu.base ? mb_ref_wmat(w, "Ad", 2, r, f, 0, err) : Bu;
    const mb_ref_mat Bd = Ad.base ? mb_ref_wmat(w, "Bd", 2, h, r, 0, err) : Ad;
    if (!Bd.base)
        return MB_EINVAL;
    const mb_ref_mat X = mb_ref_tmat(&in->X, s->h);
    const double sc = (double)s->alpha / (double)r;

    int failed = 0;
#pragma omp parallel if (T > 1)
    {
        double *buf = mb_alloc(sizeof(double) * (size_t)(2 * h + 2 * f + r));
        if (!buf) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t t = 0; t < T; t++) {
            if (!buf)
                continue;
            double *x = buf, *g = x + h, *u = g + f, *z = u + f, *acc = z + r;
            mb_ref_mrow(X, t, x);
            mb_ref_mlinear(x, h, Wg, f, g);
            mb_ref_mlora_acc(x, h, Ag, Bg, r, f, sc, z, g);
            mb_ref_mlinear(x, h, Wu, f, u);
            mb_ref_mlora_acc(x, h, Au, Bu, r, f, sc, z, u);
            for (int64_t j = 0; j < f; j++)   /* H = act(G) * U, stored over G */
                g[j] = mb_act_apply(s->act, g[j]) * u[j];
            mb_ref_mlinear(g, f, Wd, h, acc);
            mb_ref_mlora_acc(g, f, Ad, Bd, r, h, sc, z, acc);
            mb_ref_store_row(y, t, acc, h);   /* Y in its dtype (bf16: rounded once) */
        }
        mb_free(buf);
    }
    if (failed)
        return mb_fail(err, MB_ENOMEM, "naive mlp_lora: out of memory for row scratch");
    return MB_OK;
}
