/* Naive train step of `mor1e` (spec "Training step"): U = X o M, Z = U A^T, q = softmax(X Wr^T)
 * (fp32 logits), gate = q w 32 + R_b (1 - w) 4 with w = sigmoid(100 w_omega), Q = Z o gate,
 * Y = X W^T + beta Q B^T with beta = sigmoid(100 w_beta). Backward: dB = beta G^T Q,
 * dQ = beta G B, dZ = dQ o gate, dgate = dQ o Z, dA = dZ^T U, dX = G W + (dZ A) o M + dlogit Wr;
 * dbeta = sum <G, Q B^T>; dq = 32 w dgate; domega = sum dgate o (32 q - 4 R);
 * dlogit = q o (dq - <q, dq>), dWr = dlogit^T X; d w_* = 100 sigma (1 - sigma) d*. */
#include <math.h>
#include "ref.h"

static double sigmoid(double v) { return 1.0 / (1.0 + exp(-v)); }

mb_status mb_ref_mor1e_train(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                             mb_ref_step *st, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r, S = s->S;
    mb_status rc = mb_rt_check(s, in, st, err);
    if (rc)
        return rc;
    const float *W = mb_ref_weight(w, "W", 2, o, h, 0, err);
    const float *A = W ? mb_ref_weight(w, "A", 2, r, h, 0, err) : NULL;
    const float *B = A ? mb_ref_weight(w, "B", 2, o, r, 0, err) : NULL;
    const float *Wr = B ? mb_ref_weight(w, "Wr", 2, r, h, 0, err) : NULL;
    const float *wom = Wr ? mb_ref_weight(w, "w_omega", 1, 1, 0, 0, err) : NULL;
    const float *wbe = wom ? mb_ref_weight(w, "w_beta", 1, 1, 0, 0, err) : NULL;
    if (!wbe)
        return MB_EINVAL;
    const mb_tensor *Rt = &in->R;
    if (!Rt->data || Rt->dtype != MB_F32 || mb_tensor_numel(Rt) != s->B * r)
        return mb_fail(err, MB_EINVAL, "naive mor1e train: input R must be f32 [%lld, %lld]",
                       (long long)s->B, (long long)r);
    const float *R = mb_f32(Rt);
    const double om = sigmoid(100.0 * (double)wom[0]), be = sigmoid(100.0 * (double)wbe[0]);
    mb_rt_pool P = { 0 };
    double *X = mb_rt_widen(&P, mb_f32(&in->X), T * h);
    double *Y = mb_rt_new(&P, T * o), *q = mb_rt_new(&P, T * r), *gate = mb_rt_new(&P, T * r);
    double *Q = mb_rt_new(&P, T * r), *lg = mb_rt_new(&P, r);
    mb_rt_projsave sv = { 0 };
    if (!P.failed) {
        for (int64_t t = 0; t < T; t++) {
            mb_ref_logits(X + t * h, h, Wr, r, (float *)lg);
            mb_ref_softmax((float *)lg, r, q + t * r);
            for (int64_t j = 0; j < r; j++)
                gate[t * r + j] =
                    q[t * r + j] * om * 32.0 + (double)R[(t / S) * r + j] * (1.0 - om) * 4.0;
        }
        if (st->info && st->info->gate)
            for (int64_t i = 0; i < T * r; i++)
                st->info->gate[i] = (float)gate[i];
        sv.U = mb_rt_new(&P, T * h);
        sv.M = mb_rt_new(&P, T * h);
        sv.Z = mb_rt_new(&P, T * r);
    }
    if (!P.failed) {
        for (int64_t t = 0; t < T; t++)
            for (int64_t k = 0; k < h; k++) {
                const double m = (double)mb_dropout_scale(s->seed, MB_LORA_MAIN, 0, t, k, s->p);
                sv.M[t * h + k] = m;
                sv.U[t * h + k] = X[t * h + k] * m;
            }
        mb_rt_mm_nt(sv.U, T, h, A, r, 1.0, 0, sv.Z);
        for (int64_t i = 0; i < T * r; i++)
            Q[i] = sv.Z[i] * gate[i];
        mb_rt_mm_nt(X, T, h, W, o, 1.0, 0, Y);
        mb_rt_mm_nt(Q, T, r, B, o, be, 1, Y);
        mb_rt_finish_forward(st, Y, T * o);
    }
    if (!P.failed && st->g) {
        double *G = mb_rt_widen(&P, st->dy, T * o), *dX = mb_rt_new(&P, T * h);
        double *dQ = mb_rt_new(&P, T * r), *dZ = mb_rt_new(&P, T * r), *dl = mb_rt_new(&P, T * r);
        double *dU = mb_rt_new(&P, T * h), *dA = mb_rt_new(&P, r * h), *dB = mb_rt_new(&P, o * r);
        double *dWr = mb_rt_new(&P, r * h), *QB = mb_rt_new(&P, T * o);
        double dwo = 0.0, dwb = 0.0;
        if (!P.failed) {
            mb_rt_mm_nn(G, T, o, W, h, 1.0, dX);
            mb_rt_mm_tn(G, T, o, Q, r, be, dB);        /* dB = beta G^T Q */
            mb_rt_mm_nn(G, T, o, B, r, be, dQ);        /* dQ = beta G B */
            mb_rt_mm_nt(Q, T, r, B, o, 1.0, 0, QB);    /* Q B^T, for dbeta */
            double dbeta = 0.0, domega = 0.0;
            for (int64_t i = 0; i < T * o; i++)
                dbeta += G[i] * QB[i];
            for (int64_t t = 0; t < T; t++) {
                double qdq = 0.0;
                for (int64_t j = 0; j < r; j++) {
                    const int64_t i = t * r + j;
                    const double dgate = dQ[i] * sv.Z[i];
                    dZ[i] = dQ[i] * gate[i];
                    domega += dgate * (32.0 * q[i] - 4.0 * (double)R[(t / S) * r + j]);
                    dl[i] = dgate * om * 32.0;   /* dq, turned into dlogit below */
                    qdq += q[i] * dl[i];
                }
                for (int64_t j = 0; j < r; j++)
                    dl[t * r + j] = q[t * r + j] * (dl[t * r + j] - qdq);
            }
            dwb = dbeta * 100.0 * be * (1.0 - be);
            dwo = domega * 100.0 * om * (1.0 - om);
            mb_rt_mm_tn(dZ, T, r, sv.U, h, 1.0, dA);   /* dA = dZ^T U */
            mb_rt_mm_nn(dZ, T, r, A, h, 1.0, dU);      /* dU = dZ A */
            for (int64_t i = 0; i < T * h; i++)
                dX[i] += dU[i] * sv.M[i];
            mb_rt_mm_tn(dl, T, r, X, h, 1.0, dWr);
            mb_rt_mm_nn(dl, T, r, Wr, h, 1.0, dX);
        }
        if (!P.failed && !(rc = mb_rt_store_grad(st->g, "A", dA, r * h, err)) &&
            !(rc = mb_rt_store_grad(st->g, "B", dB, o * r, err)) &&
            !(rc = mb_rt_store_grad(st->g, "Wr", dWr, r * h, err)) &&
            !(rc = mb_rt_store_grad(st->g, "w_omega", &dwo, 1, err)) &&
            !(rc = mb_rt_store_grad(st->g, "w_beta", &dwb, 1, err)))
            rc = mb_rt_finish_backward(s, w, st, dX, err);
    }
    if (P.failed && !rc)
        rc = mb_fail(err, MB_ENOMEM, "naive mor1e train: out of memory");
    mb_rt_pool_free(&P);
    return rc;
}
