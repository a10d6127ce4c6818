/* oneDNN GEMM provider (oneDNN 2.x v2 C API: dnnl_matmul_desc_init + dnnl_primitive_desc_create).
 * In weight_prepare a matmul primitive is created for the expected row count (m_hint) with
 * weights in format "any", and W is reordered ONCE into the layout it prefers (on this machine
 * BA16a64b for the brgemm kernels; 60-78 % of peak against much less with plain weights).
 * Other row counts (per-expert GEMMs of the MoE variants, whose counts follow the routing):
 * primitives are cached per (M, lda, ldc, beta) over the same reordered weights, created at the
 * first call with that shape. Why a cache and not DNNL_RUNTIME_DIM_VAL: oneDNN 2.6's brgemm
 * matmul does not take runtime dimensions, and a runtime-M primitive over the blocked weights
 * falls back to the reference kernel ("ref:any", tens of times slower). The first forward (the
 * harness's correctness pass and warm-up) fills the cache, so timed forwards never create
 * primitives. When the cache is full (MB_DNNL_CACHE shapes), a runtime-M primitive over the
 * caller's plain W (oneDNN's jit sgemm) serves the rest. beta is a sum post-op (beta 0 and 1;
 * other betas scale C first); alpha != 1 is a runtime output scale on a runtime-M primitive
 * over plain W created at first use (variants never need it: they fold scalings into weights,
 * and a scale attribute steers oneDNN 2.6 away from brgemm).
 *
 * Memory accounting: every primitive runs in dnnl_scratchpad_mode_user, on ONE process-wide
 * scratchpad allocated with mb_alloc (so the harness counts it as workspace), grown to the
 * largest scratchpad any primitive asks for when that primitive is created and freed with the
 * last prepared weight (oneDNN's default library mode also shares one scratchpad per thread).
 * Cache misses happen inside gemm(): the first forward with a new per-expert row count creates
 * its primitive there (and may grow the scratchpad). The harness's correctness pass and warm-up
 * forwards see the same routing as the timed ones, so they fill the cache first and timed
 * forwards do not create primitives. The primitives' own small objects (kernel code, descriptors)
 * live in oneDNN's allocator and are not counted; the reordered weights (wbuf) and the
 * scratchpad are. One caller at a time per process (the scratchpad is shared). */
#include "moebench/gemm.h"
#include "moebench/mem.h"

#ifdef MOEBENCH_HAVE_ONEDNN
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#define MB_DNNL_CACHE 48

static dnnl_engine_t g_engine;
static dnnl_stream_t g_stream;
static dnnl_status_t g_init = dnnl_success;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* One engine and stream for the process (creation costs, and primitives are tied to it). */
static void init_engine(void)
{
    g_init = dnnl_engine_create(&g_engine, dnnl_cpu, 0);
    if (g_init == dnnl_success) g_init = dnnl_stream_create(&g_stream, g_engine,
                                                            dnnl_stream_default_flags);
}

/* The shared user scratchpad (see the header comment). */
static pthread_mutex_t g_scr_mu = PTHREAD_MUTEX_INITIALIZER;
static void *g_scr;
static size_t g_scr_bytes;
static int g_scr_refs;

static int scratch_grow(size_t bytes)
{
    int rc = 0;
    pthread_mutex_lock(&g_scr_mu);
    if (bytes > g_scr_bytes) {
        void *m = mb_alloc(bytes);
        if (!m) {
            rc = -1;
        } else {
            mb_free(g_scr);
            g_scr = m;
            g_scr_bytes = bytes;
        }
    }
    pthread_mutex_unlock(&g_scr_mu);
    return rc;
}

static void scratch_ref(int delta)
{
    pthread_mutex_lock(&g_scr_mu);
    g_scr_refs += delta;
    if (g_scr_refs <= 0) {
        g_scr_refs = 0;
        mb_free(g_scr);
        g_scr = NULL;
        g_scr_bytes = 0;
    }
    pthread_mutex_unlock(&g_scr_mu);
}

/* A primitive and the memory object of its scratchpad (NULL when it needs none). */
typedef struct {
    dnnl_primitive_t p;
    dnnl_memory_t scr;
} prim_t;

static void prim_destroy(prim_t *p)
{
    if (p->p) dnnl_primitive_destroy(p->p);
    if (p->scr) dnnl_memory_destroy(p->scr);
    p->p = NULL;
    p->scr = NULL;
}

typedef struct {
    int64_t M, lda, ldc;
    int sum;
    prim_t p;
    dnnl_memory_t src, dst;   /* made once for this shape; data handles set per call */
} prim_entry;

struct mb_gemm_weight {
    int64_t N, K, m_hint, ldw;
    const float *W;                  /* caller's plain W [N, K] (ldw) */
    dnnl_memory_desc_t wmd;          /* layout chosen for m_hint */
    dnnl_memory_desc_t pmd;          /* the caller's plain layout */
    void *wbuf;                      /* reordered weights (NULL when plain was preferred) */
    int64_t wbytes;
    dnnl_memory_t wmem, wplain, scale_mem;
    prim_entry cache[MB_DNNL_CACHE];
    int ncache, cache_full;
    prim_t rt[2];                    /* runtime M over plain W, [beta == 1], alpha = 1 */
    prim_t rts[2];                   /* same with a runtime alpha */
    prim_t rtn[2];                   /* training: C = A W (runtime M, plain W viewed [N, K]) */
    dnnl_memory_desc_t nmd;          /* that view */
    dnnl_memory_t wnn;
    float scale;
    int scr_ref;                     /* holds a reference on the shared scratchpad */
};

static const char *onednn_unavailable(void)
{
    pthread_once(&g_once, init_engine);
    return g_init == dnnl_success ? NULL : "oneDNN CPU engine could not be created";
}

static void md_2d(dnnl_memory_desc_t *md, int64_t d0, int64_t d1, int64_t s0, int64_t s1)
{
    const dnnl_dims_t dims = { d0, d1 }, strides = { s0, s1 };
    dnnl_memory_desc_init_by_strides(md, 2, dims, dnnl_f32, strides);
}

/* Matmul primitive: src [M, K] (lda), weights wmd (NULL: "any"), dst [M, N] (ldc); M and the
 * leading dimensions may be DNNL_RUNTIME_DIM_VAL. Writes the chosen weights md to wmd_out and
 * whether oneDNN picked its reference kernel to is_ref. */
static dnnl_status_t make_matmul(int64_t M, int64_t lda, int64_t ldc, int64_t K, int64_t N,
                                 const dnnl_memory_desc_t *wmd, int sum, int scaled,
                                 prim_t *prim, dnnl_memory_desc_t *wmd_out, int *is_ref)
{
    dnnl_memory_desc_t src, dst, wany;
    md_2d(&src, M, K, lda, 1);
    md_2d(&dst, M, N, ldc, 1);
    if (!wmd) {
        const dnnl_dims_t wd = { K, N };
        dnnl_memory_desc_init_by_tag(&wany, 2, wd, dnnl_f32, dnnl_format_tag_any);
        wmd = &wany;
    }
    dnnl_matmul_desc_t desc;
    dnnl_status_t st = dnnl_matmul_desc_init(&desc, &src, wmd, NULL, &dst);
    if (st != dnnl_success) return st;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success && scaled) {
        const float rt_scale = DNNL_RUNTIME_F32_VAL;
        st = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &rt_scale);
    }
    if (st == dnnl_success && sum) {
        st = dnnl_post_ops_create(&po);
        if (st == dnnl_success) st = dnnl_post_ops_append_sum(po, 1.0f);
        if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    dnnl_primitive_desc_t pd = NULL;
    if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &desc, attr, g_engine, NULL);
    if (st == dnnl_success && wmd_out)
        *wmd_out = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    if (st == dnnl_success && is_ref) {
        const char *impl = NULL;
        *is_ref = dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl)
                      == dnnl_success && impl && !strncmp(impl, "ref", 3);
    }
    prim->p = NULL;
    prim->scr = NULL;
    if (st == dnnl_success) {
        const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        size_t sb = smd ? dnnl_memory_desc_get_size(smd) : 0;
        if (sb > 0) {
            if (scratch_grow(sb) != 0) st = dnnl_out_of_memory;
            if (st == dnnl_success)
                st = dnnl_memory_create(&prim->scr, smd, g_engine, DNNL_MEMORY_NONE);
        }
    }
    if (st == dnnl_success) st = dnnl_primitive_create(&prim->p, pd);
    if (st != dnnl_success) prim_destroy(prim);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

static void onednn_release(mb_gemm_weight *w)
{
    if (!w) return;
    for (int i = 0; i < w->ncache; i++) {
        prim_destroy(&w->cache[i].p);
        if (w->cache[i].src) dnnl_memory_destroy(w->cache[i].src);
        if (w->cache[i].dst) dnnl_memory_destroy(w->cache[i].dst);
    }
    for (int i = 0; i < 2; i++) {
        prim_destroy(&w->rt[i]);
        prim_destroy(&w->rts[i]);
        prim_destroy(&w->rtn[i]);
    }
    dnnl_memory_t mems[] = { w->wmem, w->wplain, w->scale_mem, w->wnn };
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    mb_free(w->wbuf);
    if (w->scr_ref) scratch_ref(-1);
    mb_free(w);
}

/* Reorders the caller's plain W into w->wmd (or points at W when that is the same layout). */
static dnnl_status_t reorder_weights(mb_gemm_weight *w)
{
    dnnl_status_t st;
    if (dnnl_memory_desc_equal(&w->pmd, &w->wmd))
        return dnnl_memory_create(&w->wmem, &w->wmd, g_engine, (void *)w->W);
    w->wbytes = (int64_t)dnnl_memory_desc_get_size(&w->wmd);
    w->wbuf = mb_alloc((size_t)w->wbytes);
    if (!w->wbuf) return dnnl_out_of_memory;
    st = dnnl_memory_create(&w->wmem, &w->wmd, g_engine, w->wbuf);
    dnnl_memory_t src = NULL;
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t rp = NULL;
    if (st == dnnl_success) st = dnnl_memory_create(&src, &w->pmd, g_engine, (void *)w->W);
    if (st == dnnl_success)
        st = dnnl_reorder_primitive_desc_create(&rpd, &w->pmd, g_engine, &w->wmd, g_engine, NULL);
    if (st == dnnl_success) st = dnnl_primitive_create(&rp, rpd);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[2] = { { DNNL_ARG_FROM, src }, { DNNL_ARG_TO, w->wmem } };
        st = dnnl_primitive_execute(rp, g_stream, 2, args);
        if (st == dnnl_success) st = dnnl_stream_wait(g_stream);
    }
    if (rp) dnnl_primitive_destroy(rp);
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    if (src) dnnl_memory_destroy(src);
    return st;
}

/* The cached primitive over the reordered weights for this shape, creating it on a miss;
 * NULL when the cache is full or oneDNN would only offer its reference kernel. */
static int add_entry(mb_gemm_weight *w, int64_t M, int64_t lda, int64_t ldc, int sum, prim_t p)
{
    prim_entry *e = &w->cache[w->ncache];
    dnnl_memory_desc_t smd, dmd;
    md_2d(&smd, M, w->K, lda, 1);
    md_2d(&dmd, M, w->N, ldc, 1);
    *e = (prim_entry){ M, lda, ldc, sum, p, NULL, NULL };
    if (dnnl_memory_create(&e->src, &smd, g_engine, DNNL_MEMORY_NONE) != dnnl_success ||
        dnnl_memory_create(&e->dst, &dmd, g_engine, DNNL_MEMORY_NONE) != dnnl_success) {
        if (e->src) dnnl_memory_destroy(e->src);
        prim_destroy(&p);
        return -1;
    }
    w->ncache++;
    return 0;
}

static prim_entry *cached(mb_gemm_weight *w, int64_t M, int64_t lda, int64_t ldc, int sum)
{
    for (int i = 0; i < w->ncache; i++) {
        prim_entry *e = &w->cache[i];
        if (e->M == M && e->lda == lda && e->ldc == ldc && e->sum == sum) return e;
    }
    if (w->ncache == MB_DNNL_CACHE) {
        w->cache_full = 1;
        return NULL;
    }
    prim_t p;
    int is_ref = 0;
    if (make_matmul(M, lda, ldc, w->K, w->N, &w->wmd, sum, 0, &p, NULL, &is_ref) != dnnl_success)
        return NULL;
    if (is_ref) {
        prim_destroy(&p);
        return NULL;
    }
    return add_entry(w, M, lda, ldc, sum, p) == 0 ? &w->cache[w->ncache - 1] : NULL;
}

static mb_status onednn_prepare(const void *W, int64_t N, int64_t K, int64_t ldw, int64_t m_hint,
                                mb_gemm_weight **out, mb_err *err)
{
    *out = NULL;
    const char *why = onednn_unavailable();
    if (why) return mb_fail(err, MB_EUNSUPPORTED, "%s", why);
    if (!W || N < 1 || K < 1 || ldw < K)
        return mb_fail(err, MB_EINVAL, "gemm onednn: bad weight (N=%lld K=%lld ldw=%lld)",
                       (long long)N, (long long)K, (long long)ldw);
    mb_gemm_weight *w = mb_alloc(sizeof *w);
    if (!w) return mb_fail(err, MB_ENOMEM, "gemm onednn: out of memory");
    w->N = N; w->K = K; w->ldw = ldw; w->W = W; w->m_hint = m_hint < 1 ? 1 : m_hint;
    scratch_ref(+1);
    w->scr_ref = 1;
    const int64_t RT = DNNL_RUNTIME_DIM_VAL;
    dnnl_memory_desc_t scale_md;
    md_2d(&w->pmd, K, N, 1, ldw);   /* weights [K, N] viewed on W [N, K] */
    prim_t p0;
    /* one row: the plain W is a little faster than the blocked layout with oneDNN 2.6 (brgemm
     * either way; 5.9 vs 6.3 ms at 4096 x 4096, one core; "ab" 7.0) and needs no copy */
    dnnl_status_t st = make_matmul(w->m_hint, K, N, K, N, w->m_hint == 1 ? &w->pmd : NULL, 0, 0,
                                   &p0, &w->wmd, NULL);
    if (st == dnnl_success) {
        st = add_entry(w, w->m_hint, K, N, 0, p0) == 0 ? dnnl_success : dnnl_out_of_memory;
        if (st == dnnl_success) st = reorder_weights(w);
    }
    /* the beta = 1 twin; if oneDNN declines it, calls fall back to the runtime-M primitive */
    if (st == dnnl_success) (void)cached(w, w->m_hint, K, N, 1);
    if (st == dnnl_success) st = make_matmul(RT, RT, RT, K, N, &w->pmd, 0, 0, &w->rt[0], NULL, NULL);
    if (st == dnnl_success) st = make_matmul(RT, RT, RT, K, N, &w->pmd, 1, 0, &w->rt[1], NULL, NULL);
    if (st == dnnl_success) st = dnnl_memory_create(&w->wplain, &w->pmd, g_engine, (void *)W);
    const dnnl_dims_t one = { 1 };
    dnnl_memory_desc_init_by_tag(&scale_md, 1, one, dnnl_f32, dnnl_a);
    if (st == dnnl_success) st = dnnl_memory_create(&w->scale_mem, &scale_md, g_engine, &w->scale);
    if (st != dnnl_success) {
        onednn_release(w);
        return mb_fail(err, st == dnnl_out_of_memory ? MB_ENOMEM : MB_EINTERNAL,
                       "oneDNN matmul N=%lld K=%lld M=%lld: status %d", (long long)N,
                       (long long)K, (long long)m_hint, (int)st);
    }
    *out = w;
    return MB_OK;
}

static mb_status onednn_gemm(const mb_gemm_weight *cw, int64_t M, const void *A, int64_t lda,
                             float alpha, float beta, void *Cv, int64_t ldc, mb_err *err)
{
    float *C = Cv;
    mb_gemm_weight *w = (mb_gemm_weight *)cw;   /* cache and scale cell; one caller at a time */
    if (M < 0 || lda < w->K || ldc < w->N)
        return mb_fail(err, MB_EINVAL, "gemm onednn: bad call (M=%lld lda=%lld ldc=%lld)",
                       (long long)M, (long long)lda, (long long)ldc);
    if (M == 0) return MB_OK;
    if (beta != 0.0f && beta != 1.0f) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < w->N; j++) C[i * ldc + j] *= beta;
        beta = 1.0f;
    }
    const int sum = beta == 1.0f;
    dnnl_status_t st = dnnl_success;
    const prim_t *prim = NULL;
    dnnl_memory_t wmem = w->wmem, src = NULL, dst = NULL;
    prim_entry *e = NULL;
    int nargs = 3;
    if (alpha != 1.0f) {
        if (!w->rts[sum].p) {
            const int64_t RT = DNNL_RUNTIME_DIM_VAL;
            st = make_matmul(RT, RT, RT, w->K, w->N, &w->pmd, sum, 1, &w->rts[sum], NULL, NULL);
            if (st != dnnl_success)
                return mb_fail(err, MB_EINTERNAL, "oneDNN matmul with alpha: status %d", (int)st);
        }
        prim = &w->rts[sum];
        wmem = w->wplain;
        w->scale = alpha;
        nargs = 4;
    } else {
        e = cached(w, M, lda, ldc, sum);
        if (e) {
            prim = &e->p;
        } else {
            prim = &w->rt[sum];
            wmem = w->wplain;
        }
    }
    if (e) {
        src = e->src;
        dst = e->dst;
        st = dnnl_memory_set_data_handle(src, (void *)A);
        if (st == dnnl_success) st = dnnl_memory_set_data_handle(dst, C);
    } else {
        dnnl_memory_desc_t smd, dmd;
        md_2d(&smd, M, w->K, lda, 1);
        md_2d(&dmd, M, w->N, ldc, 1);
        st = dnnl_memory_create(&src, &smd, g_engine, (void *)A);
        if (st == dnnl_success) st = dnnl_memory_create(&dst, &dmd, g_engine, C);
    }
    if (st == dnnl_success && prim->scr)
        st = dnnl_memory_set_data_handle(prim->scr, g_scr);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[5] = { { DNNL_ARG_SRC, src }, { DNNL_ARG_WEIGHTS, wmem },
                                    { DNNL_ARG_DST, dst }, { DNNL_ARG_SCRATCHPAD, prim->scr },
                                    { DNNL_ARG_ATTR_OUTPUT_SCALES, w->scale_mem } };
        if (!prim->scr) {   /* no scratchpad: drop that argument */
            args[3] = args[4];
        } else {
            nargs++;
        }
        st = dnnl_primitive_execute(prim->p, g_stream, nargs, args);
        if (st == dnnl_success) st = dnnl_stream_wait(g_stream);
    }
    if (!e && src) dnnl_memory_destroy(src);
    if (!e && dst) dnnl_memory_destroy(dst);
    if (st != dnnl_success)
        return mb_fail(err, MB_EINTERNAL, "oneDNN matmul execution failed: status %d", (int)st);
    return MB_OK;
}

/* The training direction: two runtime-M matmul primitives (beta 0 and 1) whose weights are the
 * caller's plain W [N, K] read as the [N, K] operand of C = A W (oneDNN's jit sgemm, no copy).
 * Why not the reordered buffer: its blocking is for the other transpose. */
static mb_status onednn_weight_train(mb_gemm_weight *w, mb_err *err)
{
    if (w->rtn[0].p) return MB_OK;
    const int64_t RT = DNNL_RUNTIME_DIM_VAL;
    md_2d(&w->nmd, w->N, w->K, w->ldw, 1);
    dnnl_status_t st = make_matmul(RT, RT, RT, w->N, w->K, &w->nmd, 0, 0, &w->rtn[0], NULL, NULL);
    if (st == dnnl_success)
        st = make_matmul(RT, RT, RT, w->N, w->K, &w->nmd, 1, 0, &w->rtn[1], NULL, NULL);
    if (st == dnnl_success) st = dnnl_memory_create(&w->wnn, &w->nmd, g_engine, (void *)w->W);
    if (st != dnnl_success)
        return mb_fail(err, MB_EINTERNAL, "oneDNN matmul (training direction) N=%lld K=%lld: "
                       "status %d", (long long)w->N, (long long)w->K, (int)st);
    return MB_OK;
}

static mb_status onednn_gemm_nn(const mb_gemm_weight *cw, int64_t M, const void *A, int64_t lda,
                                float alpha, float beta, void *Cv, int64_t ldc, mb_err *err)
{
    float *C = Cv;
    mb_gemm_weight *w = (mb_gemm_weight *)cw;
    if (M < 0 || lda < w->N || ldc < w->K)
        return mb_fail(err, MB_EINVAL, "gemm onednn nn: bad call (M=%lld lda=%lld ldc=%lld)",
                       (long long)M, (long long)lda, (long long)ldc);
    if (!w->rtn[0].p)
        return mb_fail(err, MB_EINVAL, "gemm onednn nn: weight not prepared for training");
    if (M == 0) return MB_OK;
    if (beta != 0.0f && beta != 1.0f) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < w->K; j++) C[i * ldc + j] *= beta;
        beta = 1.0f;
    }
    if (alpha != 1.0f)   /* variants fold scalings elsewhere; keep the primitive scale-free */
        return mb_fail(err, MB_EINVAL, "gemm onednn nn: alpha must be 1");
    const prim_t *prim = &w->rtn[beta == 1.0f];
    dnnl_memory_desc_t smd, dmd;
    dnnl_memory_t src = NULL, dst = NULL;
    md_2d(&smd, M, w->N, lda, 1);
    md_2d(&dmd, M, w->K, ldc, 1);
    dnnl_status_t st = dnnl_memory_create(&src, &smd, g_engine, (void *)A);
    if (st == dnnl_success) st = dnnl_memory_create(&dst, &dmd, g_engine, C);
    if (st == dnnl_success && prim->scr) st = dnnl_memory_set_data_handle(prim->scr, g_scr);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[4] = { { DNNL_ARG_SRC, src }, { DNNL_ARG_WEIGHTS, w->wnn },
                                    { DNNL_ARG_DST, dst }, { DNNL_ARG_SCRATCHPAD, prim->scr } };
        st = dnnl_primitive_execute(prim->p, g_stream, prim->scr ? 4 : 3, args);
        if (st == dnnl_success) st = dnnl_stream_wait(g_stream);
    }
    if (src) dnnl_memory_destroy(src);
    if (dst) dnnl_memory_destroy(dst);
    if (st != dnnl_success)
        return mb_fail(err, MB_EINTERNAL, "oneDNN matmul (nn) execution failed: status %d",
                       (int)st);
    return MB_OK;
}

/* Products of two activations (weight gradients) or of weights that change every step:
 * oneDNN's row-major dnnl_sgemm (its jit sgemm; its packing buffers are oneDNN's own
 * allocations, not counted by mb_mem). */
static mb_status onednn_gemm_plain(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                                   const void *A, int64_t lda, const void *B, int64_t ldb,
                                   float beta, void *C, int64_t ldc, mb_err *err)
{
    dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb,
                                  beta, C, ldc);
    if (st != dnnl_success)
        return mb_fail(err, MB_EINTERNAL, "oneDNN sgemm M=%lld N=%lld K=%lld: status %d",
                       (long long)M, (long long)N, (long long)K, (int)st);
    return MB_OK;
}

static int64_t onednn_bytes(const mb_gemm_weight *w) { return w ? w->wbytes : 0; }
static void onednn_dims(const mb_gemm_weight *w, int64_t *N, int64_t *K) { *N = w->N; *K = w->K; }

/* bf16: whether oneDNN has a bf16 matmul here, asked the way a prepare would (src, weights
 * and dst bf16, weights "any"): on a CPU without avx512_core oneDNN 2.6 answers unimplemented.
 * wq: oneDNN 2.6's matmul takes s8 weights only with u8/s8 sources (int8 inference after
 * quantising the activations too); weights decompression (int8/int4 weights under f32/bf16
 * sources) came with oneDNN 3.x, and the 2.6 headers have no attribute for it. */
static const char *onednn_dtype_unavailable(mb_dtype dt)
{
    static _Thread_local char why[320];
    const char *isa = dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa());
    if (isa && !strncmp(isa, "cpu_isa_", 8)) isa += 8;
    if (dt == MB_I8 || dt == MB_I4) {
        snprintf(why, sizeof why, "unsupported wq=%s: oneDNN %d.%d matmul has no weight-only %s "
                 "(s8 weights need u8/s8 activations: activation quantisation, not this layer)",
                 mb_dtype_name(dt), DNNL_VERSION_MAJOR, DNNL_VERSION_MINOR, mb_dtype_name(dt));
        return why;
    }
    if (dt != MB_BF16) return NULL;
    if (onednn_unavailable()) return onednn_unavailable();
    dnnl_memory_desc_t src, wei, dst;
    const dnnl_dims_t sd = { 16, 64 }, wd = { 64, 64 }, dd = { 16, 64 };
    dnnl_matmul_desc_t desc;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&src, 2, sd, dnnl_bf16, dnnl_ab);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&wei, 2, wd, dnnl_bf16, dnnl_format_tag_any);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&dst, 2, dd, dnnl_bf16, dnnl_ab);
    if (st == dnnl_success) st = dnnl_matmul_desc_init(&desc, &src, &wei, NULL, &dst);
    if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &desc, NULL, g_engine, NULL);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (st == dnnl_success) return NULL;
    snprintf(why, sizeof why, "oneDNN %d.%d has no bf16 matmul on this CPU (effective ISA %s): "
             "dnnl_primitive_desc_create says %s", DNNL_VERSION_MAJOR, DNNL_VERSION_MINOR,
             isa ? isa : "?", dnnl_status2str(st));
    return why;
}

const mb_gemm_provider mb_gemm_onednn = {
    .name = "onednn",
    .unavailable = onednn_unavailable,
    .dtype_unavailable = onednn_dtype_unavailable,
    .ops[MB_F32] = {onednn_prepare, onednn_release, onednn_gemm, onednn_bytes, onednn_dims,
                onednn_weight_train, onednn_gemm_nn, onednn_gemm_plain, NULL, NULL, NULL},
};

#else /* !MOEBENCH_HAVE_ONEDNN */

static const char *onednn_unavailable(void) { return "built without oneDNN"; }
static mb_status onednn_prepare(const void *W, int64_t N, int64_t K, int64_t ldw, int64_t m_hint,
                                mb_gemm_weight **out, mb_err *err)
{
    (void)W; (void)N; (void)K; (void)ldw; (void)m_hint;
    *out = NULL;
    return mb_fail(err, MB_EUNSUPPORTED, "built without oneDNN");
}
static void onednn_release(mb_gemm_weight *w) { (void)w; }
static mb_status onednn_gemm(const mb_gemm_weight *w, int64_t M, const void *A, int64_t lda,
                             float alpha, float beta, void *C, int64_t ldc, mb_err *err)
{
    (void)w; (void)M; (void)A; (void)lda; (void)alpha; (void)beta; (void)C; (void)ldc;
    return mb_fail(err, MB_EUNSUPPORTED, "built without oneDNN");
}
static int64_t onednn_bytes(const mb_gemm_weight *w) { (void)w; return 0; }
const mb_gemm_provider mb_gemm_onednn = {
    .name = "onednn",
    .unavailable = onednn_unavailable,
    .ops[MB_F32] = {onednn_prepare, onednn_release, onednn_gemm, onednn_bytes, NULL, NULL, NULL,
                    NULL, NULL, NULL, NULL},
};
#endif
