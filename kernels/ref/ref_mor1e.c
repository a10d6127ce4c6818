/* Naive reference of `mor1e` (spec Part 1, MoR1E "rank1" mode): r rank-1 experts,
 * gate_t = softmax(X_t Wr^T) * omega * 32 + R_{b(t)} * (1 - omega) * 4,
 * Y_t = X_t W^T + beta ((X_t A^T) * gate_t) B^T, omega = sigmoid(100 w_omega),
 * beta = sigmoid(100 w_beta); no alpha/r scaling (upstream disables it in this mode). */
#include <math.h>
#include "ref.h"

static double sigmoid(double v) { return 1.0 / (1.0 + exp(-v)); }

mb_status mb_ref_mor1e(const mb_spec *s, const mb_weights *w, const mb_inputs *in, mb_tensor *y,
                       mb_forward_info *info, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r, S = s->S;
    mb_status st = mb_ref_check_io(s, in, y, info, err);
    if (st != MB_OK)
        return st;
    const mb_ref_mat W = mb_ref_wmat(w, "W", 2, o, h, 0, err);
    const mb_ref_mat A = W.base ? mb_ref_wmat(w, "A", 2, r, h, 0, err) : W;
    const mb_ref_mat B = A.base ? mb_ref_wmat(w, "B", 2, o, r, 0, err) : A;
    const mb_ref_mat Wr = B.base ? mb_ref_wmat(w, "Wr", 2, r, h, 0, err) : B;
    const mb_ref_mat wom = Wr.base ? mb_ref_wmat(w, "w_omega", 1, 1, 0, 0, err) : Wr;
    const mb_ref_mat wbe = wom.base ? mb_ref_wmat(w, "w_beta", 1, 1, 0, 0, err) : wom;
    if (!wbe.base)
        return MB_EINVAL;
    const mb_tensor *Rt = &in->R;
    if (!Rt->data || Rt->dtype != s->dtype || Rt->ndim != 2 || Rt->shape[0] != s->B ||
        Rt->shape[1] != r)
        return mb_fail(err, MB_EINVAL, "naive mor1e: input R must be %s [%lld, %lld]",
                       mb_dtype_name(s->dtype), (long long)s->B, (long long)r);
    const mb_ref_mat R = mb_ref_tmat(Rt, r);
    double wv[2];
    mb_ref_mrow(wom, 0, wv);
    mb_ref_mrow(wbe, 0, wv + 1);
    const double omega = sigmoid(100.0 * wv[0]);
    const double beta = sigmoid(100.0 * wv[1]);
    const mb_ref_mat X = mb_ref_tmat(&in->X, s->h);
    float *gate_out = info ? info->gate : NULL;   /* [T, r] */

    int failed = 0;
#pragma omp parallel if (T > 1)
    {
        double *buf = mb_alloc(sizeof(double) * (size_t)(h + 3 * r + o) + sizeof(float) * (size_t)r);
        if (!buf) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t t = 0; t < T; t++) {
            if (!buf)
                continue;
            double *x = buf, *gate = x + h, *z = gate + r, *Rb = z + r, *acc = Rb + r;
            float *logit = (float *)(acc + o);
            mb_ref_mrow(R, t / S, Rb);
            mb_ref_mrow(X, t, x);
            mb_ref_mlogits(x, h, Wr, r, logit);
            mb_ref_softmax(logit, r, gate);
            for (int64_t j = 0; j < r; j++)
                gate[j] = gate[j] * omega * 32.0 + Rb[j] * (1.0 - omega) * 4.0;
            mb_ref_mlinear(x, h, A, r, z);         /* X_t A^T */
            for (int64_t j = 0; j < r; j++)
                z[j] *= gate[j];
            mb_ref_mlinear(x, h, W, o, acc);
            mb_ref_mlinear_acc(z, r, B, o, beta, acc);
            mb_ref_store_row(y, t, acc, o);   /* Y in its dtype (bf16: rounded once) */
            if (gate_out)
                for (int64_t j = 0; j < r; j++)
                    gate_out[t * r + j] = (float)gate[j];
        }
        mb_free(buf);
    }
    if (failed)
        return mb_fail(err, MB_ENOMEM, "naive mor1e: out of memory for row scratch");
    return MB_OK;
}
