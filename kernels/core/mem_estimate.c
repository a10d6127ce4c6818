/* The memory estimate of a case (see mem_estimate.h). Each term names the buffers it stands
 * for, so when an implementation's allocations change, the term to update is easy to find
 * (tests/test_core_mem_estimate.c checks the estimate against the measured peak RSS). */
#include <string.h>
#include "moebench/mem.h"
#include "moebench/mem_estimate.h"
#include "moebench/routing.h"

#define MIB (1ll << 20)
/* Process baseline (the binary, libc, OpenBLAS, oneDNN, PAPI, hwloc: about 16 MiB measured)
 * and per-thread stacks and BLAS / oneDNN buffers, generously. */
#define RUNTIME_BASE (32 * MIB)
#define RUNTIME_PER_THREAD (4 * MIB)
/* Row padding of packed / fused buffers (avx512 GLU rows, oneDNN blocking), per token. */
#define ROW_PAD_FLOATS 128

/* Checked accumulator: once an operation overflows (or sees a negative operand), it stays bad. */
typedef struct {
    int64_t v;
    int bad;
} acc;

static void add(acc *a, int64_t x)
{
    if (a->bad || x < 0 || mb_add_i64(a->v, x, &a->v))
        a->bad = 1;
}

static int64_t mul(acc *a, int64_t x, int64_t y)
{
    int64_t p = 0;
    if (a->bad || x < 0 || y < 0 || mb_mul_i64(x, y, &p)) {
        a->bad = 1;
        return 0;
    }
    return p;
}

/* x + y, checked */
static int64_t plus(acc *a, int64_t x, int64_t y)
{
    int64_t r = 0;
    if (a->bad || x < 0 || y < 0 || mb_add_i64(x, y, &r)) {
        a->bad = 1;
        return 0;
    }
    return r;
}

/* a += x * y * z */
static void add3(acc *a, int64_t x, int64_t y, int64_t z) { add(a, mul(a, mul(a, x, y), z)); }
/* a += x * y * z * w */
static void add4(acc *a, int64_t x, int64_t y, int64_t z, int64_t w)
{
    add(a, mul(a, mul(a, mul(a, x, y), z), w));
}

typedef struct {
    int64_t T, B, h, o, f, r, E, k, fe, out, tasks, te;
    /* bytes per element of the case's dtype: X, Y, R and the weights are stored in it (spec
     * "Precision"); workspace and scratch stay f32 / double (4 and 8 below) */
    int64_t el;
    mb_variant_id v;
} dims;

static void dims_of(const mb_spec *s, dims *d, acc *a)
{
    d->v = s->variant;
    d->T = mul(a, s->B, s->S);
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
    d->el = (int64_t)mb_dtype_size(s->dtype);
}

/* Routing of T tokens (mb_routing_alloc): idx and w [T*k], counts [E], mb_route's scratch. */
static void routing_bytes(acc *a, const dims *d, int64_t T)
{
    add3(a, T, d->k, 8);
    add(a, mul(a, d->E, 8));
    int64_t nblk = T / MB_ROUTE_BLOCK + 1;
    add(a, mul(a, nblk, plus(a, mul(a, d->E, 20), 8)));
}

/* Forward info of T tokens (mb_forward_info_alloc): the routing, or the gate. */
static void info_bytes(acc *a, const dims *d, int64_t T, int64_t B)
{
    if (mb_variant_routed(d->v))
        routing_bytes(a, d, T);
    else if (d->v == MB_MOELORA)
        add3(a, B, d->E, 4);
    else if (d->v == MB_MOR1E)
        add3(a, T, d->r, 4);
    else if (d->v == MB_MOLORA)
        add3(a, T, d->E, 4);
}

/* The naive implementation's own buffers on T tokens: per-thread row scratch in double (sized
 * for the widest variant: 3h + 5f + 2o + 4r + 2E + k + te), the router logits z [T, E] and the
 * moelora per-sequence gates [B, E] in double. */
static void naive_scratch(acc *a, const dims *d, int64_t T, int64_t B, int threads)
{
    acc row = {0, 0};
    add(&row, mul(&row, 3, d->h));
    add(&row, mul(&row, 5, d->f));
    add(&row, mul(&row, 2, d->o));
    add(&row, mul(&row, 4, d->r));
    add(&row, mul(&row, 2, d->E));
    add(&row, d->k);
    add(&row, d->te);
    if (row.bad)
        a->bad = 1;
    add3(a, threads, row.v, 8);
    if (mb_variant_routed(d->v))
        add3(a, T, d->E, 4);
    if (d->v == MB_MOELORA) {
        add3(a, B, d->E, 8);
        add(a, mul(a, d->te, 8));
    }
}

/* Frozen base weights of the variant (what merged replaces and what dominates a packed copy). */
static int64_t base_weight_bytes(acc *a, const dims *d)
{
    switch (d->v) {
    case MB_LORA:
    case MB_MOLORA:
    case MB_MOELORA:
    case MB_MOR1E: return mul(a, mul(a, d->o, d->h), d->el);
    case MB_MLP_LORA:
    case MB_MIXLORA: return mul(a, mul(a, 3 * d->el, d->h), d->f);
    case MB_SPARSE_MLP: return mul(a, mul(a, mul(a, 3 * d->el, d->E), d->fe), d->h);
    case MB_ROUTER:
    case MB_VARIANT_COUNT: return 0;
    }
    return 0;
}

/* Router buffers of the routed variants' optimised forms (mb_vrouter_init / the avx512
 * router): logits and probabilities [T, E], the routing, token groups [T*k] x 2 and block sums. */
static void router_ws(acc *a, const dims *d)
{
    add3(a, 2 * 4, d->T, d->E);
    routing_bytes(a, d, d->T);
    add3(a, d->T, d->k, 8);
    add(a, mul(a, plus(a, d->E, 1), 8));
    add(a, mul(a, d->T / MB_ROUTE_BLOCK + 1, plus(a, mul(a, d->E, 16), 8)));
}

/* Forward workspace of the variant code (variants/var_...) and of the fused avx512 forms
 * (fused/...), whichever is larger, in bytes. */
static void variant_workspace(acc *a, const dims *d)
{
    const int64_t T = d->T, h = d->h, f = d->f, r = d->r, E = d->E, fe = d->fe;
    switch (d->v) {
    case MB_LORA:       /* Z [T, r] */
        add3(a, 4, T, r);
        break;
    case MB_MOLORA:     /* Z [T, E*r + E], P [T, E] */
        add3(a, 4, T, mul(a, E, plus(a, r, 2)));
        break;
    case MB_MOELORA:    /* Z [T, r], G [B, E], logits [E] */
        add3(a, 4, T, r);
        add3(a, 4, d->B, E);
        add(a, mul(a, 4, E));
        break;
    case MB_MOR1E:      /* Z [T, 2, r], Gt [T, r] */
        add3(a, 4 * 3, T, r);
        break;
    case MB_MLP_LORA:   /* fused: GU [T, 2f + pad], H [T, f], Z [T, 3r] (variant: G, U, Z) */
        add3(a, 4, T, plus(a, plus(a, mul(a, 3, f), mul(a, 3, r)), ROW_PAD_FLOATS));
        break;
    case MB_MIXLORA:    /* variant: G0 U0 Hs Ge Ue [T, f], Xe Ye [T, h], Ze [T, r]; fused: GU0
                         * GUe [T, 2f + pad], Hs He [T, f], Z Zd [T, 3r], ws [T]; both bounded */
        add3(a, 4, T, plus(a, plus(a, mul(a, 6, f), mul(a, 2, h)), plus(a, mul(a, 3, r), 1 + 2 * ROW_PAD_FLOATS)));
        router_ws(a, d);
        break;
    case MB_SPARSE_MLP: /* variant: Xe Ye [T, h], Ge Ue [T, fe]; fused: buf [T, 2fe + pad],
                         * H [T, fe], ws [T] */
        add3(a, 4, T, plus(a, plus(a, mul(a, 2, h), mul(a, 3, fe)), 1 + ROW_PAD_FLOATS));
        router_ws(a, d);
        break;
    case MB_ROUTER:
        router_ws(a, d);
        break;
    case MB_VARIANT_COUNT:
        break;
    }
}

/* Weights the variant code derives in prepare (scaled / concatenated adapters and router):
 * bounded by the adapter weights. The fused avx512 forms also stack base matrices (gate and
 * up) in a temporary they pack from: `stacked`. */
static int64_t derived_bytes(acc *a, const dims *d, int64_t weights, int stacked)
{
    acc t = {0, 0};
    add(&t, weights - base_weight_bytes(a, d));
    if (stacked && (d->v == MB_MLP_LORA || d->v == MB_MIXLORA))
        add3(&t, 2 * d->el, d->f, d->h);
    else if (stacked && d->v == MB_SPARSE_MLP)
        add3(&t, 2 * d->el, d->fe, d->h);
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
static void merged_bytes(acc *a, const dims *d)
{
    const int64_t T = d->T, h = d->h, o = d->o, f = d->f, r = d->r, E = d->E;
    switch (d->v) {
    case MB_LORA:       /* W' [o, h], A^T scratch [h, r] */
        add3(a, 4, o, h);
        add3(a, 4, h, r);
        break;
    case MB_MLP_LORA:   /* three W', G U [T, f], A^T scratch */
        add3(a, 3 * 4, h, f);
        add3(a, 2 * 4, T, f);
        add3(a, 4, f > h ? f : h, r);
        break;
    case MB_MOELORA: {  /* one W' per task (tasks + 1), gates, grouped X and Y, Bc, As, A^T */
        add4(a, 4, plus(a, d->tasks, 1), o, h);
        add3(a, 4, plus(a, d->tasks, 1), E);
        add3(a, 4, T, plus(a, h, o));
        add3(a, 4, o, r);
        add3(a, 2 * 4, r, h);
        add(a, mul(a, 4, d->B));
        break;
    }
    case MB_MIXLORA: {  /* E full expert MLPs, run as a sparse_mlp of width f */
        add4(a, 3 * 4, E, h, f);
        add3(a, 4, h > f ? h : f, r);
        dims sp = *d;
        sp.v = MB_SPARSE_MLP;
        sp.fe = f;
        variant_workspace(a, &sp);
        break;
    }
    case MB_MOLORA:     /* no merged form (the merge column of variants.def) */
    case MB_MOR1E:
    case MB_SPARSE_MLP:
    case MB_ROUTER:
    case MB_VARIANT_COUNT:
        break;
    }
}

/* Bytes implementation `name` adds while it runs: its output and forward info, what it
 * derives, packs or merges in prepare, its workspace; and, with --cache cold, the further
 * prepared weight copies plus the output they are checked with (*cold). */
static void impl_bytes(acc *a, const dims *d, const char *name, const mb_mem_opts *o,
                       int64_t weights, int threads, int64_t *cold)
{
    impl_kind kind = kind_of(name);
    *cold = 0;
    /* merged skips the variants whose gate depends on the token or that have no adapter,
     * before allocating anything */
    if (kind == K_MERGED && d->v != MB_LORA && d->v != MB_MLP_LORA && d->v != MB_MOELORA &&
        d->v != MB_MIXLORA)
        return;
    add3(a, d->el, d->T, d->out);
    info_bytes(a, d, d->T, d->B);
    acc prep = {0, 0};   /* per prepared copy of the weights */
    switch (kind) {
    case K_NAIVE:
        naive_scratch(a, d, d->T, d->B, threads);
        break;
    case K_BLAS:
        add(&prep, derived_bytes(&prep, d, weights, 0));
        variant_workspace(a, d);
        break;
    case K_ONEDNN:
    case K_AVX512: {
        int64_t der = derived_bytes(&prep, d, weights, kind == K_AVX512);
        add(&prep, der);
        /* the packed / reordered copy of weights and derived matrices, with block padding
         * (an eighth, and 4 KiB per matrix of at most 3E + 8 matrices) */
        int64_t packed = 0;
        if (mb_add_i64(weights, der, &packed))
            prep.bad = 1;
        add(&prep, packed);
        add(&prep, packed / 8);
        add(&prep, mul(&prep, plus(&prep, mul(&prep, 3, d->E), 8), 4096));
        variant_workspace(a, d);
        break;
    }
    case K_MERGED:
        merged_bytes(&prep, d);
        break;
    }
    if (prep.bad)
        a->bad = 1;
    add(a, prep.v);
    if (o->cache_cold && kind != K_NAIVE) {
        int n = mb_mem_cold_copies(weights, o->llc_bytes, o->avail_bytes);
        acc c = {0, 0};
        add(&c, mul(&c, n - 1, plus(&c, weights, prep.v)));
        add3(&c, d->el, d->T, d->out);
        if (c.bad)
            a->bad = 1;
        add(a, c.v);
        *cold = c.v;
    }
}

/* Activations the forward keeps for the backward (spec "Training step": saved_bytes). Only
 * forward mode exists today; train mode adds its terms here. */
static int64_t saved_activations(const mb_spec *s)
{
    switch (s->mode) {
    case MB_MODE_FORWARD: return 0;   /* inference: nothing is kept */
    case MB_MODE_TRAIN:               /* not implemented yet: every implementation skips it */
    case MB_MODE_COUNT: return 0;
    }
    return 0;
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
    acc a = {0, 0};
    dims d;
    dims_of(s, &d, &a);
    int threads = o->threads > 0 ? o->threads : 1;
    int64_t w = 0, io = 0;
    mb_status st = mb_spec_bytes(s, &w, &io, err);
    if (st)
        return st;
    e->runtime = RUNTIME_BASE + RUNTIME_PER_THREAD * (int64_t)threads;
    e->weights = w;

    acc in = {0, 0};   /* X [T, h], task [B] (moelora), R [B, r] (mor1e) */
    add3(&in, d.el, d.T, d.h);
    if (d.v == MB_MOELORA)
        add(&in, mul(&in, 4, d.B));
    if (d.v == MB_MOR1E)
        add3(&in, d.el, d.B, d.r);
    e->inputs = in.v;

    acc ref = {0, 0};
    int64_t rows = o->ref_rows < d.T ? o->ref_rows : d.T;
    if (rows > 0) {
        /* sampled: a sub-case of `rows` one-token sequences, with copied inputs */
        int sampled = rows < d.T;
        int64_t rB = sampled ? rows : d.B;
        add3(&ref, d.el, rows, d.out);
        info_bytes(&ref, &d, rows, rB);
        naive_scratch(&ref, &d, rows, rB, threads);
        if (sampled) {
            add3(&ref, d.el, rows, d.h);
            add(&ref, mul(&ref, 8, rows));   /* row ids */
            if (d.v == MB_MOELORA)
                add(&ref, mul(&ref, 4, rows));
            if (d.v == MB_MOR1E)
                add3(&ref, d.el, rows, d.r);
        }
    }
    e->reference = ref.v;

    for (int i = 0; i < o->n_impls && o->impls; i++) {
        acc one = {0, 0};
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
    e->saved = saved_activations(s);

    acc t = {0, 0};
    add(&t, e->runtime);
    add(&t, e->weights);
    add(&t, e->inputs);
    add(&t, e->reference);
    add(&t, e->impl);
    add(&t, e->saved);
    if (a.bad || in.bad || ref.bad || t.bad)
        return mb_fail(err, MB_EINVAL, "the memory estimate of %s overflows int64 (T=%lld, h=%lld, "
                       "o=%lld, f=%lld, r=%lld, E=%lld, tasks=%lld)", mb_variant_name(s->variant),
                       (long long)d.T, (long long)s->h, (long long)s->o, (long long)s->f,
                       (long long)s->r, (long long)s->E, (long long)s->tasks);
    e->total = t.v;
    return MB_OK;
}
