/* Naive train step of `lora` (spec "Training step", Part 2 §1): U = X o M (dropout), Z = U A^T,
 * Y = X W^T + s Z B^T; dB = s G^T Z, dZ = s G B, dA = dZ^T U, dX = G W + (dZ A) o M. */
#include "ref.h"

mb_status mb_ref_lora_train(const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                            mb_ref_step *st, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r;
    mb_status rc = mb_rt_check(s, in, st, err);
    if (rc)
        return rc;
    const float *W = mb_ref_weight(w, "W", 2, o, h, 0, err);
    const float *A = W ? mb_ref_weight(w, "A", 2, r, h, 0, err) : NULL;
    const float *B = A ? mb_ref_weight(w, "B", 2, o, r, 0, err) : NULL;
    if (!B)
        return MB_EINVAL;
    const mb_rt_proj pj = { W, A, B, h, o, r, (double)s->alpha / (double)r, MB_LORA_MAIN, 0 };
    mb_rt_pool P = { 0 };
    mb_rt_projsave sv = { 0 };
    double *X = mb_rt_widen(&P, mb_f32(&in->X), T * h);
    double *Y = mb_rt_new(&P, T * o);
    if (!P.failed)
        mb_rt_proj_fwd(&P, s, &pj, X, T, NULL, Y, &sv);
    if (!P.failed)
        mb_rt_finish_forward(st, Y, T * o);
    if (!P.failed && st->g) {
        double *G = mb_rt_widen(&P, st->dy, T * o);
        double *dA = mb_rt_new(&P, r * h), *dB = mb_rt_new(&P, o * r), *dX = mb_rt_new(&P, T * h);
        if (!P.failed)
            mb_rt_proj_bwd(&P, &pj, X, T, &sv, G, dA, dB, NULL, dX);
        if (!P.failed && !(rc = mb_rt_store_grad(st->g, "A", dA, r * h, err)) &&
            !(rc = mb_rt_store_grad(st->g, "B", dB, o * r, err)))
            rc = mb_rt_finish_backward(s, w, st, dX, err);
    }
    if (P.failed && !rc)
        rc = mb_fail(err, MB_ENOMEM, "naive lora train: out of memory");
    mb_rt_pool_free(&P);
    return rc;
}
