/* Naive reference of `molora` (spec Part 1): soft mixture of E LoRA experts on one linear,
 * p_t = softmax(X_t Wr^T) over all E; Y_t = X_t W^T + s sum_e p_te (X_t A_e^T) B_e^T. */
#include "ref.h"

mb_status mb_ref_molora(const mb_spec *s, const mb_weights *w, const mb_inputs *in, mb_tensor *y,
                        mb_forward_info *info, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r, E = s->E;
    mb_status st = mb_ref_check_io(s, in, y, info, err);
    if (st != MB_OK)
        return st;
    const mb_ref_mat W = mb_ref_wmat(w, "W", 2, o, h, 0, err);
    const mb_ref_mat Wr = W.base ? mb_ref_wmat(w, "Wr", 2, E, h, 0, err) : W;
    const mb_ref_mat A = Wr.base ? mb_ref_wmat(w, "A", 3, E, r, h, err) : Wr;
    const mb_ref_mat B = A.base ? mb_ref_wmat(w, "B", 3, E, o, r, err) : A;
    if (!B.base)
        return MB_EINVAL;
    const mb_ref_mat X = mb_ref_tmat(&in->X, s->h);
    float *gate_out = info ? info->gate : NULL;   /* [T, E] */
    const double sc = (double)s->alpha / (double)r;

    int failed = 0;
#pragma omp parallel if (T > 1)
    {
        double *buf = mb_alloc(sizeof(double) * (size_t)(h + r + o + E) + sizeof(float) * (size_t)E);
        if (!buf) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t t = 0; t < T; t++) {
            if (!buf)
                continue;
            double *x = buf, *z = x + h, *acc = z + r, *p = acc + o;
            float *logit = (float *)(p + E);
            mb_ref_mrow(X, t, x);
            mb_ref_mlogits(x, h, Wr, E, logit);
            mb_ref_softmax(logit, E, p);
            mb_ref_mlinear(x, h, W, o, acc);
            for (int64_t e = 0; e < E; e++)
                mb_ref_mlora_acc(x, h, mb_ref_mat_rows(A, e * r), mb_ref_mat_rows(B, e * o), r, o, sc * p[e], z, acc);
            mb_ref_store_row(y, t, acc, o);   /* Y in its dtype (bf16: rounded once) */
            if (gate_out)
                for (int64_t e = 0; e < E; e++)
                    gate_out[t * E + e] = (float)p[e];
        }
        mb_free(buf);
    }
    if (failed)
        return mb_fail(err, MB_ENOMEM, "naive molora: out of memory for row scratch");
    return MB_OK;
}
