/* The memory estimate of a case (see mem_estimate.h). Each term names the buffers it stands
 * for, so when an implementation's allocations change, the term to update is easy to find
 * (tests/test_core_mem_estimate.c checks the estimate against the measured peak RSS). */
#include <string.h>
#include "moebench/cost.h"
#include "moebench/mem.h"
#include "moebench/mem_estimate.h"
#include "moebench/routing.h"
#include "variant_shape.h"

#define MIB (1ll << 20)
/* Process baseline (the binary, libc, OpenBLAS, oneDNN, PAPI, hwloc: about 16 MiB measured)
 * and per-thread stacks and BLAS / oneDNN buffers, generously. */
#define RUNTIME_BASE (32 * MIB)
#define RUNTIME_PER_THREAD (4 * MIB)
void mb_acc_add(mb_acc *a, int64_t x)
{
    if (a->bad || x < 0 || mb_add_i64(a->v, x, &a->v))
        a->bad = 1;
}

int64_t mb_acc_mul(mb_acc *a, int64_t x, int64_t y)
{
    int64_t p = 0;
    if (a->bad || x < 0 || y < 0 || mb_mul_i64(x, y, &p)) {
        a->bad = 1;
        return 0;
    }
    return p;
}

int64_t mb_acc_plus(mb_acc *a, int64_t x, int64_t y)
{
    int64_t r = 0;
    if (a->bad || x < 0 || y < 0 || mb_add_i64(x, y, &r)) {
        a->bad = 1;
        return 0;
    }
    return r;
}

void mb_acc_add3(mb_acc *a, int64_t x, int64_t y, int64_t z)
{
    mb_acc_add(a, mb_acc_mul(a, mb_acc_mul(a, x, y), z));
}

void mb_acc_add4(mb_acc *a, int64_t x, int64_t y, int64_t z, int64_t w)
{
    mb_acc_add(a, mb_acc_mul(a, mb_acc_mul(a, mb_acc_mul(a, x, y), z), w));
}

static void dims_of(const mb_spec *s, mb_mdims *d, mb_acc *a)
{
    d->v = s->variant;
    d->T = mb_acc_mul(a, s->B, s->S);
    d->B = s->B;
    d->h = s->h;
    d->o = s->o;
    d->f = s->f;
    d->r = s->r;
    d->E = s->E;
    d->k = s->k;
    d->fe = mb_spec_expert_width(s);
    d->out = mb_spec_out_width(s);
    d->tasks = s->tasks;
    d->te = s->te;
    d->shared = s->shared;
    d->el = (int64_t)mb_dtype_size(s->dtype);
}

/* Routing of T tokens (mb_routing_alloc): idx, w and dropped [T*k], counts [E], mb_route's
 * scratch. */
static void routing_bytes(mb_acc *a, const mb_mdims *d, int64_t T)
{
    mb_acc_add3(a, T, d->k, 9);
    mb_acc_add(a, mb_acc_mul(a, d->E, 8));
    int64_t nblk = T / MB_ROUTE_BLOCK + 1;
    mb_acc_add(a, mb_acc_mul(a, nblk, mb_acc_plus(a, mb_acc_mul(a, d->E, 20), 8)));
}

/* Forward info of T tokens (mb_forward_info_alloc): the routing, or the gate (the gate column of
 * variants.def). */
static void info_bytes(mb_acc *a, const mb_mdims *d, int64_t T, int64_t B)
{
    if (mb_variant_routed(d->v)) {
        routing_bytes(a, d, T);
        return;
    }
    switch (mb_variant_desc_of(d->v)->gate) {
    case MB_GATE_NONE: break;
    case MB_GATE_SEQ_E: mb_acc_add3(a, B, d->E, 4); break;
    case MB_GATE_TOK_R: mb_acc_add3(a, T, d->r, 4); break;
    case MB_GATE_TOK_E: mb_acc_add3(a, T, d->E, 4); break;
    }
}

/* The naive implementation's own buffers on T tokens: per-thread row scratch in double (sized
 * for the widest variant: 3h + 5f + 2o + 4r + 2E + k + te), the router logits z [T, E] and the
 * moelora per-sequence gates [B, E] in double. */
static void naive_scratch(mb_acc *a, const mb_mdims *d, int64_t T, int64_t B, int threads)
{
    mb_acc row = {0, 0};
    mb_acc_add(&row, mb_acc_mul(&row, 3, d->h));
    mb_acc_add(&row, mb_acc_mul(&row, 5, d->f));
    mb_acc_add(&row, mb_acc_mul(&row, 2, d->o));
    mb_acc_add(&row, mb_acc_mul(&row, 4, d->r));
    mb_acc_add(&row, mb_acc_mul(&row, 2, d->E));
    mb_acc_add(&row, d->k);
    mb_acc_add(&row, d->te);
    if (row.bad)
        a->bad = 1;
    mb_acc_add3(a, threads, row.v, 8);
    if (mb_variant_routed(d->v))
        mb_acc_add3(a, T, d->E, 4);
    if (mb_variant_desc_of(d->v)->gate == MB_GATE_SEQ_E) {   /* moelora's task embedding */
        mb_acc_add3(a, B, d->E, 8);
        mb_acc_add(a, mb_acc_mul(a, d->te, 8));
    }
}

/* Frozen base weights of the variant (what merged replaces and what dominates a packed copy). */
static int64_t base_weight_bytes(mb_acc *a, const mb_mdims *d)
{
    return mb_variant_shape_of(d->v)->mem_base(a, d);
}

/* Router buffers of the routed variants' optimised forms (mb_vrouter_init / the avx512
 * router): logits and probabilities [T, E], the routing, token groups [T*k] x 2 and block sums. */
void mb_mem_router_ws(mb_acc *a, const mb_mdims *d)
{
    mb_acc_add3(a, 2 * 4, d->T, d->E);
    routing_bytes(a, d, d->T);
    mb_acc_add3(a, d->T, d->k, 8);
    mb_acc_add(a, mb_acc_mul(a, mb_acc_plus(a, d->E, 1), 8));
    mb_acc_add(a, mb_acc_mul(a, d->T / MB_ROUTE_BLOCK + 1, mb_acc_plus(a, mb_acc_mul(a, d->E, 16), 8)));
}

/* Forward workspace of the variant code (variants/var_...) and of the fused avx512 forms
 * (fused/...), whichever is larger, in bytes. */
static void variant_workspace(mb_acc *a, const mb_mdims *d)
{
    mb_variant_shape_of(d->v)->mem_workspace(a, d);
}

/* Weights the variant code derives in prepare (scaled / concatenated adapters and router):
 * bounded by the adapter weights. The fused avx512 forms also stack base matrices (gate and
 * up) in a temporary they pack from: `stacked`. */
static int64_t derived_bytes(mb_acc *a, const mb_mdims *d, int64_t weights, int stacked)
{
    mb_acc t = {0, 0};
    mb_acc_add(&t, weights - base_weight_bytes(a, d));
    if (stacked && mb_variant_shape_of(d->v)->mem_stacked)
        mb_variant_shape_of(d->v)->mem_stacked(&t, d);
    if (t.bad)
        a->bad = 1;
    return t.v;
}

typedef enum { K_NAIVE, K_BLAS, K_ONEDNN, K_AVX512, K_MERGED } impl_kind;

static impl_kind kind_of(const char *name)
{
    if (!strcmp(name, "naive"))
        return K_NAIVE;
    if (!strcmp(name, "blas"))
        return K_BLAS;
    if (!strcmp(name, "onednn"))
        return K_ONEDNN;
    if (!strcmp(name, "merged"))
        return K_MERGED;
    return K_AVX512;   /* avx512 and anything else: packed copies and stacked temporaries */
}

/* Merged weights and the merged forward's buffers (variants/merge_*.c, on blas); 0 for the
 * variants merged skips. */
static void merged_bytes(mb_acc *a, const mb_mdims *d)
{
    if (mb_variant_shape_of(d->v)->mem_merged)
        mb_variant_shape_of(d->v)->mem_merged(a, d);
}

/* Bytes implementation `name` adds while it runs: its output and forward info, what it
 * derives, packs or merges in prepare, its workspace; and, with --cache cold, the further
 * prepared weight copies plus the output they are checked with (*cold). */
static void impl_bytes(mb_acc *a, const mb_mdims *d, const char *name, const mb_mem_opts *o,
                       int64_t weights, int threads, int64_t *cold)
{
    impl_kind kind = kind_of(name);
    *cold = 0;
    /* merged skips the variants whose gate depends on the token or that have no adapter,
     * before allocating anything */
    if (kind == K_MERGED && !mb_variant_shape_of(d->v)->mem_merged)
        return;
    mb_acc_add3(a, d->el, d->T, d->out);
    info_bytes(a, d, d->T, d->B);
    mb_acc prep = {0, 0};   /* per prepared copy of the weights */
    switch (kind) {
    case K_NAIVE:
        naive_scratch(a, d, d->T, d->B, threads);
        break;
    case K_BLAS:
        mb_acc_add(&prep, derived_bytes(&prep, d, weights, 0));
        variant_workspace(a, d);
        break;
    case K_ONEDNN:
    case K_AVX512: {
        int64_t der = derived_bytes(&prep, d, weights, kind == K_AVX512);
        mb_acc_add(&prep, der);
        /* the packed / reordered copy of weights and derived matrices, with block padding
         * (an eighth, and 4 KiB per matrix of at most 3E + 8 matrices) */
        int64_t packed = 0;
        if (mb_add_i64(weights, der, &packed))
            prep.bad = 1;
        mb_acc_add(&prep, packed);
        mb_acc_add(&prep, packed / 8);
        mb_acc_add(&prep, mb_acc_mul(&prep, mb_acc_plus(&prep, mb_acc_mul(&prep, 3, d->E), 8), 4096));
        variant_workspace(a, d);
        break;
    }
    case K_MERGED:
        merged_bytes(&prep, d);
        break;
    }
    if (prep.bad)
        a->bad = 1;
    mb_acc_add(a, prep.v);
    if (o->cache_cold && kind != K_NAIVE) {
        int n = mb_mem_cold_copies(weights, o->llc_bytes, o->avail_bytes);
        mb_acc c = {0, 0};
        mb_acc_add(&c, mb_acc_mul(&c, n - 1, mb_acc_plus(&c, weights, prep.v)));
        mb_acc_add3(&c, d->el, d->T, d->out);
        if (c.bad)
            a->bad = 1;
        mb_acc_add(a, c.v);
        *cold = c.v;
    }
}

/* Activations the forward keeps for the backward (spec "Training step": saved_bytes): its
 * intermediates, the forward workspace kept instead of freed (f32), once per chosen expert for
 * the routed variants (each of the k experts of a token keeps its own G, U, H, Z rows), and X;
 * with dropout (p > 0) also the masked inputs of every LoRA, X [T, h] and for the MLP variants
 * H [T, f], again per chosen expert. Upper-ish: an implementation that recomputes keeps less. */
static void saved_activations(mb_acc *a, const mb_spec *s, const mb_mdims *d)
{
    if (s->mode != MB_MODE_TRAIN)
        return;   /* inference: nothing is kept */
    int64_t kk = mb_variant_routed(d->v) ? d->k : 1;
    mb_acc ws = {0, 0};
    variant_workspace(&ws, d);
    if (ws.bad)
        a->bad = 1;
    mb_acc_add(a, mb_acc_mul(a, ws.v, kk));
    mb_acc_add3(a, d->el, d->T, d->h);
    if (s->p > 0) {
        int64_t in = mb_variant_uses(d->v, "f") ? mb_acc_plus(a, d->h, d->f) : d->h;
        mb_acc_add4(a, 4, kk, d->T, in);
    }
}

/* Gradients (spec "Training step": grad_bytes): dX [T, h] and one f32 gradient per trainable
 * element; the implementation's and the naive reference's are alive together for the
 * comparison. Plus dY [T, out], the step's input. */
static void gradient_bytes(mb_acc *a, const mb_spec *s, const mb_mdims *d, int64_t trainable)
{
    if (s->mode != MB_MODE_TRAIN)
        return;
    mb_acc g = {0, 0};
    mb_acc_add3(&g, 4, d->T, d->h);
    mb_acc_add(&g, mb_acc_mul(&g, 4, trainable));
    mb_acc_add(a, mb_acc_mul(a, 2, g.v));
    if (g.bad)
        a->bad = 1;
    mb_acc_add3(a, d->el, d->T, d->out);
}

int mb_mem_cold_copies(int64_t weights_bytes, int64_t llc, int64_t avail)
{
    if (llc <= 0 || llc > (1ll << 50))   /* unknown (or nonsense): a large LLC */
        llc = 64 * MIB;
    if (weights_bytes >= 2 * llc)
        return 1;
    int64_t n = weights_bytes > 0 ? (2 * llc + weights_bytes - 1) / weights_bytes + 1 : 2;
    if (avail > 0 && weights_bytes > 0 && n > avail / 2 / weights_bytes)
        n = avail / 2 / weights_bytes;
    if (n < 2)
        n = 2;
    if (n > MB_MEM_MAX_COLD_COPIES)
        n = MB_MEM_MAX_COLD_COPIES;
    return (int)n;
}

mb_status mb_mem_estimate_case(const mb_spec *s, const mb_mem_opts *o, mb_mem_estimate *e,
                               mb_err *err)
{
    memset(e, 0, sizeof *e);
    if ((unsigned)s->variant >= MB_NUM_VARIANTS)
        return mb_fail(err, MB_EINVAL, "variant id %d is out of range", (int)s->variant);
    mb_acc a = {0, 0};
    mb_mdims d;
    dims_of(s, &d, &a);
    int threads = o->threads > 0 ? o->threads : 1;
    int64_t w = 0, io = 0;
    mb_status st = mb_spec_bytes(s, &w, &io, err);
    if (st)
        return st;
    e->runtime = RUNTIME_BASE + RUNTIME_PER_THREAD * (int64_t)threads;
    e->weights = w;

    /* X [T, h], task [B] (MB_IN_TASK: moelora), R [B, r] (MB_IN_PRIOR: mor1e) */
    mb_variant_inputs vin = mb_variant_desc_of(d.v)->inputs;
    mb_acc in = {0, 0};
    mb_acc_add3(&in, d.el, d.T, d.h);
    if (vin == MB_IN_TASK)
        mb_acc_add(&in, mb_acc_mul(&in, 4, d.B));
    if (vin == MB_IN_PRIOR)
        mb_acc_add3(&in, d.el, d.B, d.r);
    e->inputs = in.v;

    mb_acc ref = {0, 0};
    int64_t rows = o->ref_rows < d.T ? o->ref_rows : d.T;
    if (rows > 0) {
        /* sampled: a sub-case of `rows` one-token sequences, with copied inputs */
        int sampled = rows < d.T;
        int64_t rB = sampled ? rows : d.B;
        mb_acc_add3(&ref, d.el, rows, d.out);
        info_bytes(&ref, &d, rows, rB);
        naive_scratch(&ref, &d, rows, rB, threads);
        if (sampled) {
            mb_acc_add3(&ref, d.el, rows, d.h);
            mb_acc_add(&ref, mb_acc_mul(&ref, 8, rows));   /* row ids */
            if (vin == MB_IN_TASK)
                mb_acc_add(&ref, mb_acc_mul(&ref, 4, rows));
            if (vin == MB_IN_PRIOR)
                mb_acc_add3(&ref, d.el, rows, d.r);
        }
    }
    e->reference = ref.v;

    for (int i = 0; i < o->n_impls && o->impls; i++) {
        mb_acc one = {0, 0};
        int64_t cold = 0;
        impl_bytes(&one, &d, o->impls[i], o, w, threads, &cold);
        if (one.bad) {
            a.bad = 1;
            break;
        }
        if (one.v > e->impl) {
            e->impl = one.v;
            e->cold = cold;
            size_t n = strlen(o->impls[i]);
            if (n >= sizeof e->worst_impl)
                n = sizeof e->worst_impl - 1;
            memcpy(e->worst_impl, o->impls[i], n);
            e->worst_impl[n] = '\0';
        }
    }
    mb_acc tr = {0, 0};
    saved_activations(&tr, s, &d);
    e->saved = tr.v;
    int64_t trainable = s->mode == MB_MODE_TRAIN ? mb_trainable_elems(s) : 0;
    if (trainable < 0)
        tr.bad = 1;
    mb_acc g = {0, 0};
    gradient_bytes(&g, s, &d, trainable);
    e->grads = g.v;
    /* AdamW's two f32 moments per trainable element (spec "Training step") */
    if (s->mode == MB_MODE_TRAIN && s->opt == MB_OPT_ADAMW)
        e->optimizer = mb_acc_mul(&g, 2 * 4, trainable);

    mb_acc t = {0, 0};
    mb_acc_add(&t, e->runtime);
    mb_acc_add(&t, e->weights);
    mb_acc_add(&t, e->inputs);
    mb_acc_add(&t, e->reference);
    mb_acc_add(&t, e->impl);
    mb_acc_add(&t, e->saved);
    mb_acc_add(&t, e->grads);
    mb_acc_add(&t, e->optimizer);
    if (a.bad || in.bad || ref.bad || t.bad || tr.bad || g.bad)
        return mb_fail(err, MB_EINVAL, "the memory estimate of %s overflows int64 (T=%lld, h=%lld, "
                       "o=%lld, f=%lld, r=%lld, E=%lld, tasks=%lld)", mb_variant_name(s->variant),
                       (long long)d.T, (long long)s->h, (long long)s->o, (long long)s->f,
                       (long long)s->r, (long long)s->E, (long long)s->tasks);
    e->total = t.v;
    return MB_OK;
}
