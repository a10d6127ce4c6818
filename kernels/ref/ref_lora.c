/* Naive reference of `lora` (spec Part 1): Y = X W^T + s (X A^T) B^T, s = alpha / r. */
#include "ref.h"

mb_status mb_ref_lora(const mb_spec *s, const mb_weights *w, const mb_inputs *in, mb_tensor *y,
                      mb_forward_info *info, mb_err *err)
{
    (void)info;   /* lora has no gate and no routing */
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r;
    mb_status st = mb_ref_check_io(s, in, y, info, err);
    if (st != MB_OK)
        return st;
    const mb_ref_mat W = mb_ref_wmat(w, "W", 2, o, h, 0, err);
    const mb_ref_mat A = W.base ? mb_ref_wmat(w, "A", 2, r, h, 0, err) : W;
    const mb_ref_mat B = A.base ? mb_ref_wmat(w, "B", 2, o, r, 0, err) : A;
    if (!B.base)
        return MB_EINVAL;
    const mb_ref_mat X = mb_ref_tmat(&in->X, s->h);
    const double sc = (double)s->alpha / (double)r;

    int failed = 0;
#pragma omp parallel if (T > 1)
    {
        double *buf = mb_alloc(sizeof(double) * (size_t)(h + r + o));
        if (!buf) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t t = 0; t < T; t++) {
            if (!buf)
                continue;
            double *x = buf, *z = x + h, *acc = z + r;
            mb_ref_mrow(X, t, x);
            mb_ref_mlinear(x, h, W, o, acc);               /* X_t W^T */
            mb_ref_mlora_acc(x, h, A, B, r, o, sc, z, acc); /* + s (X_t A^T) B^T */
            mb_ref_store_row(y, t, acc, o);   /* Y in its dtype (bf16: rounded once) */
        }
        mb_free(buf);
    }
    if (failed)
        return mb_fail(err, MB_ENOMEM, "naive lora: out of memory for row scratch");
    return MB_OK;
}
