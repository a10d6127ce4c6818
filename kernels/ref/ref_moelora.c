/* Naive reference of `moelora` (spec Part 1): task-gated mixture, total rank r split into E
 * experts of rank r/E. g_b = softmax(Emb[task_b] Wg^T) once per sequence b;
 * Y_t = X_t W^T + s sum_e g_{b(t)e} (X_t A_e^T) B_e^T with s = alpha / r (the total r). */
#include "ref.h"

mb_status mb_ref_moelora(const mb_spec *s, const mb_weights *w, const mb_inputs *in, mb_tensor *y,
                         mb_forward_info *info, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r, E = s->E;
    const int64_t nb = s->B, S = s->S, te = s->te, ntask = s->tasks;
    mb_status st = mb_ref_check_io(s, in, y, info, err);
    if (st != MB_OK)
        return st;
    if (E < 1 || r % E != 0)
        return mb_fail(err, MB_EINVAL, "naive moelora: r=%lld not divisible by E=%lld",
                       (long long)r, (long long)E);
    const int64_t re = r / E;
    const mb_ref_mat W = mb_ref_wmat(w, "W", 2, o, h, 0, err);
    const mb_ref_mat A = W.base ? mb_ref_wmat(w, "A", 3, E, re, h, err) : W;
    const mb_ref_mat B = A.base ? mb_ref_wmat(w, "B", 3, E, o, re, err) : A;
    const mb_ref_mat Emb = B.base ? mb_ref_wmat(w, "Emb", 2, ntask + 1, te, 0, err) : B;
    const mb_ref_mat Wg = Emb.base ? mb_ref_wmat(w, "Wg", 2, E, te, 0, err) : Emb;
    if (!Wg.base)
        return MB_EINVAL;
    /* task is i32 [B] with ids in 0..tasks: checked by mb_ref_check_io */
    const int32_t *tid = mb_i32(&in->task);

    /* Per-sequence gates first: they are tiny and shared by the S rows of the sequence. */
    double *g = mb_alloc(sizeof(double) * (size_t)(nb * E + te) + sizeof(float) * (size_t)E);
    if (!g)
        return mb_fail(err, MB_ENOMEM, "naive moelora: out of memory for gates");
    double *emb = g + nb * E;
    float *logit = (float *)(emb + te);
    for (int64_t b = 0; b < nb; b++) {
        mb_ref_mrow(Emb, tid[b], emb);
        mb_ref_mlogits(emb, te, Wg, E, logit);
        mb_ref_softmax(logit, E, g + b * E);
        if (info && info->gate)
            for (int64_t e = 0; e < E; e++)
                info->gate[b * E + e] = (float)g[b * E + e];
    }

    const mb_ref_mat X = mb_ref_tmat(&in->X, s->h);
    const double sc = (double)s->alpha / (double)r;
    int failed = 0;
#pragma omp parallel if (T > 1)
    {
        double *buf = mb_alloc(sizeof(double) * (size_t)(h + re + o));
        if (!buf) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t t = 0; t < T; t++) {
            if (!buf)
                continue;
            double *x = buf, *z = x + h, *acc = z + re;
            const double *gb = g + (t / S) * E;
            mb_ref_mrow(X, t, x);
            mb_ref_mlinear(x, h, W, o, acc);
            for (int64_t e = 0; e < E; e++)
                mb_ref_mlora_acc(x, h, mb_ref_mat_rows(A, e * re), mb_ref_mat_rows(B, e * o), re, o, sc * gb[e], z, acc);
            mb_ref_store_row(y, t, acc, o);   /* Y in its dtype (bf16: rounded once) */
        }
        mb_free(buf);
    }
    mb_free(g);
    if (failed)
        return mb_fail(err, MB_ENOMEM, "naive moelora: out of memory for row scratch");
    return MB_OK;
}
