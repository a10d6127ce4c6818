/* mor1e (rank-1 experts with an intuition prior): one GEMM X [A; Wr]^T gives the rank-r
 * activations and the router logits together; gate_t = softmax(z_t) w 32 + R_b (1 - w) 4 scales
 * the activations; Y = X W^T + (Z .* gate) (beta B)^T, beta folded into a copy of B. */
#include "variants.h"
#include <string.h>

typedef struct {
    const mb_gemm_provider *gp;
    int64_t T, S, B, h, o, r;
    float omega;
    mb_gemm_weight *W, *AW, *Bw;
    float *AWr;   /* [A; Wr] [2r, h] */
    float *Bs;    /* beta * B [o, r] */
    float *Z;     /* [T, 2r] */
    float *Gt;    /* [T, r] gates */
} mor1e_st;

static void mor1e_release(void *p)
{
    mor1e_st *st = p;
    if (!st) return;
    mb_vrelease(st->gp, &st->W);
    mb_vrelease(st->gp, &st->AW);
    mb_vrelease(st->gp, &st->Bw);
    mb_free(st->AWr);
    mb_free(st->Bs);
    mb_free(st->Z);
    mb_free(st->Gt);
    mb_free(st);
}

static mb_status mor1e_prepare(const mb_gemm_provider *gp, const mb_spec *s, const mb_weights *w,
                               void **priv, mb_err *err)
{
    const int64_t T = mb_spec_T(s), h = s->h, o = s->o, r = s->r;
    const float *A = mb_vw(w, "A", r * h, err);
    const float *B = A ? mb_vw(w, "B", o * r, err) : NULL;
    const float *Wr = B ? mb_vw(w, "Wr", r * h, err) : NULL;
    const float *wo = Wr ? mb_vw(w, "w_omega", 1, err) : NULL;
    const float *wb = wo ? mb_vw(w, "w_beta", 1, err) : NULL;
    if (!wb) return err ? err->code : MB_EINVAL;
    mor1e_st *st = mb_alloc(sizeof *st);
    if (!st) return mb_fail(err, MB_ENOMEM, "out of memory");
    st->gp = gp; st->T = T; st->S = s->S; st->B = s->B; st->h = h; st->o = o; st->r = r;
    st->omega = mb_sigmoid100(wo[0]);
    mb_status rc = mb_vstack_rows(A, r, Wr, r, h, &st->AWr, err);
    if (rc == MB_OK) rc = mb_vscaled_copy(B, o * r, mb_sigmoid100(wb[0]), &st->Bs, err);
    if (rc == MB_OK) rc = mb_vprep_base(gp, s, w, "W", 1, 0, o, h, T, &st->W, err);
    if (rc == MB_OK) rc = mb_vprep(gp, st->AWr, 2 * r, h, T, &st->AW, err);
    if (rc == MB_OK) rc = mb_vprep(gp, st->Bs, o, r, T, &st->Bw, err);
    if (rc == MB_OK) rc = mb_valloc3(&st->Z, T, 2, r, err);
    if (rc == MB_OK) rc = mb_valloc2(&st->Gt, T, r, err);
    if (rc != MB_OK) { mor1e_release(st); return rc; }
    *priv = st;
    return MB_OK;
}

static mb_status mor1e_forward(void *p, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                               mb_err *err)
{
    mor1e_st *st = p;
    const float *X = mb_f32(&in->X);
    float *Y = mb_f32(y);
    const int64_t T = st->T, r = st->r;
    const float *R = mb_f32(&in->R);
    const float wt = st->omega * 32.0f, wr = (1.0f - st->omega) * 4.0f;
    float *gate_out = info ? info->gate : NULL;
    mb_status rc = mb_vgemm(st->gp, st->W, T, st->h, X, 0.0f, Y, st->o, err);
    if (rc == MB_OK) rc = mb_vgemm(st->gp, st->AW, T, st->h, X, 0.0f, st->Z, 2 * r, err);
    if (rc != MB_OK) return rc;
    #pragma omp parallel for schedule(static) if (T * r > 16384)
    for (int64_t t = 0; t < T; t++) {
        float *z = st->Z + t * 2 * r;
        mb_vgate_mor1e(z, z + r, R + (t / st->S) * r, wt, wr, r, st->Gt + t * r);
    }
    if (gate_out) memcpy(gate_out, st->Gt, sizeof(float) * (size_t)(T * r));
    return mb_gemm(st->gp, MB_F32, st->Bw, T, st->Z, 2 * r, 1.0f, 1.0f, Y, st->o, err);
}

const mb_variant_ops mb_var_mor1e = { mor1e_prepare, mor1e_forward, mor1e_release };

/* ---- shape (core/variant_shape.h): weights layout, element count, cost, memory ---------- */

static int mor1e_layout(const mb_spec *s, mb_wdesc *d)
{
    int64_t h = s->h, o = s->o, r = s->r;
    int n = 0;
    MB_W2B("W", o, h); MB_W2("A", r, h); MB_W2("B", o, r); MB_W2("Wr", r, h);
    d[n++] = (mb_wdesc){"w_omega", 1, {1, 0, 0}, 0, 0};
    d[n++] = (mb_wdesc){"w_beta", 1, {1, 0, 0}, 0, 0};
    return n;
}

static int mor1e_elems(const mb_spec *s, int64_t *n)
{
    int64_t h = s->h, o = s->o, r = s->r;
    /* W[o,h] A[r,h] B[o,r] Wr[r,h] w_omega w_beta */
    return mb_madd(n, o, h) || mb_madd3(n, 2, r, h) || mb_madd(n, o, r) || mb_madd(n, 2, 1)
               ? -1 : 0;
}

static void mor1e_cost(const mb_spec *s, const int64_t *counts, mb_cost_terms *c)
{
    double T = (double)mb_spec_T(s), h = (double)s->h, o = (double)s->o, r = (double)s->r;
    (void)counts;
    /* 2Tho base + 2Thr router + 2Thr (X A^T) + 2Tor (B); no alpha scaling */
    c->flops = 2 * T * h * o + 2 * T * h * r + 2 * T * h * r + 2 * T * o * r;
    c->frozen = 2 * T * h * o;
    c->wb = o * h;
    c->wr = 2 * r * h + o * r + 2;
}

static int64_t mor1e_mem_base(mb_acc *a, const mb_mdims *d)
{
    return mb_acc_mul(a, mb_acc_mul(a, d->o, d->h), d->el);
}

static void mor1e_mem_workspace(mb_acc *a, const mb_mdims *d)
{
    /* Z [T, 2, r], Gt [T, r] */
    mb_acc_add3(a, 4 * 3, d->T, d->r);
}

/* no merged form (the merge column of variants.def): no merged cost or buffers */
const mb_variant_shape mb_shape_mor1e = {mor1e_layout, mor1e_elems, mor1e_cost, NULL,
                                         mor1e_mem_base, mor1e_mem_workspace, NULL, NULL,
                                         NULL, NULL};
