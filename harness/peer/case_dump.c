/* The files of `moebench dump` (see case_dump.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>
#include "case_dump.h"
#include "fileutil.h"
#include "provenance.h"
#include "moebench/quant.h"
#include "npy.h"
#include "reference_check.h"
#include "train_exec.h"
#include "moebench/moebench.h"
#include "moebench/train.h"

typedef struct {
    const char *dir;
    cJSON *list;
    mb_err err;
    int failed;
} dump_ctx;

static void add_entry(dump_ctx *c, const char *name, const char *dtype, int ndim, const int64_t *shape)
{
    cJSON *o = cJSON_CreateObject();
    char file[64];
    snprintf(file, sizeof file, "%s.npy", name);
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "file", file);
    cJSON *sh = cJSON_AddArrayToObject(o, "shape");
    for (int i = 0; i < ndim; i++)
        cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)shape[i]));
    cJSON_AddStringToObject(o, "dtype", dtype);
    cJSON_AddItemToArray(c->list, o);
}

static void path_of(const dump_ctx *c, const char *name, char *path, size_t n)
{
    snprintf(path, n, "%s/%s.npy", c->dir, name);
}

/* .npy has no bf16, int4 (and the reader no int8): a bf16 tensor is written widened to float32
 * (exact), wq levels (int8, int4) widened to int32 (exact); the entry's "stored" names the type
 * the case holds, so a reader can round back (.to(torch.bfloat16) is exact on these values). */
static mb_status widen(const mb_tensor *t, mb_tensor *out, mb_err *err)
{
    const int bf = t->dtype == MB_BF16;
    mb_status st = mb_tensor_alloc(out, bf ? MB_F32 : MB_I32, t->ndim, t->shape, err);
    if (st)
        return st;
    const int64_t n = mb_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        if (bf) {
            uint32_t u = (uint32_t)((const uint16_t *)t->data)[i] << 16;
            memcpy(mb_f32(out) + i, &u, sizeof u);
        } else {
            mb_i32(out)[i] = mb_wq_level(t->dtype, t->data, i);
        }
    }
    return MB_OK;
}

static void write_tensor(dump_ctx *c, const char *name, const mb_tensor *t)
{
    if (c->failed || !t->data)
        return;
    char path[4096];
    path_of(c, name, path, sizeof path);
    mb_tensor wide;
    memset(&wide, 0, sizeof wide);
    const int narrow = t->dtype == MB_BF16 || t->dtype == MB_I8 || t->dtype == MB_I4;
    if (narrow && widen(t, &wide, &c->err) != MB_OK) {
        c->failed = 1;
        return;
    }
    const mb_tensor *w = narrow ? &wide : t;
    if (mb_npy_write_tensor(path, w, &c->err) != MB_OK) {
        mb_tensor_free(&wide);
        c->failed = 1;
        return;
    }
    add_entry(c, name, w->dtype == MB_I32 ? "int32" : "float32", t->ndim, t->shape);
    if (narrow)
        cJSON_AddStringToObject(cJSON_GetArrayItem(c->list, cJSON_GetArraySize(c->list) - 1),
                                "stored", mb_dtype_name(t->dtype));
    mb_tensor_free(&wide);
}

static void write_raw(dump_ctx *c, const char *name, mb_npy_dtype dt, int ndim, const int64_t *shape,
                      const void *data)
{
    if (c->failed || !data)
        return;
    char path[4096];
    path_of(c, name, path, sizeof path);
    if (mb_npy_write(path, dt, ndim, shape, data, &c->err) != MB_OK) {
        c->failed = 1;
        return;
    }
    add_entry(c, name, dt == MB_NPY_F32 ? "float32" : dt == MB_NPY_I32 ? "int32" : "int64", ndim,
              shape);
}

/* The capacity's drop mask [n, k] as int32 (1 = dropped), from the routing's bytes. */
static void write_dropped(dump_ctx *c, const char *name, int64_t n, int64_t k, const uint8_t *d)
{
    int32_t *v = malloc(sizeof(int32_t) * (size_t)(n * k > 0 ? n * k : 1));
    if (!v) {
        c->failed = 1;
        mb_fail(&c->err, MB_ENOMEM, "cannot allocate the drop mask of %lld rows", (long long)n);
        return;
    }
    for (int64_t i = 0; i < n * k; i++)
        v[i] = d ? d[i] : 0;
    int64_t shape[2] = { n, k };
    write_raw(c, name, MB_NPY_I32, 2, shape, v);
    free(v);
}

/* The near-tie flags [n] as int32 (1 = the token's top-k choice hinges on logits within the
 * dtype's tolerance: compare.h, mb_routing_near_ties), so a peer excuses exactly the routing
 * differences the run excuses. NULL flags: none computed, nothing written. */
static void write_near(dump_ctx *c, const char *name, int64_t n, const uint8_t *near)
{
    if (!near)
        return;
    int32_t *v = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    if (!v) {
        c->failed = 1;
        mb_fail(&c->err, MB_ENOMEM, "cannot allocate the near-tie flags of %lld rows", (long long)n);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        v[i] = near[i];
    int64_t shape[1] = { n };
    write_raw(c, name, MB_NPY_I32, 1, shape, v);
    free(v);
}

/* Naive on `want` sampled rows of the case, with the runner's row sampler and sub-case
 * (mb_reference_build: first, last, then seeded random rows, each as a sequence of one token). */
static mb_status dump_rows(dump_ctx *c, const mb_spec *s, const mb_weights *w, const mb_inputs *in,
                           long long want, int64_t *n_out, mb_err *err)
{
    mb_reference ref;
    mb_status st = mb_reference_build(s, w, in, (int64_t)want, &ref, err);
    if (st == MB_OK) {
        int64_t n = ref.nrows;
        int64_t r1[1] = { n };
        write_raw(c, "rows", MB_NPY_I64, 1, r1, ref.rows);
        write_tensor(c, "Y_rows", &ref.y);
        if (ref.info.routing.idx) {
            int64_t nk[2] = { n, s->k };
            write_raw(c, "route_idx_rows", MB_NPY_I32, 2, nk, ref.info.routing.idx);
            write_raw(c, "route_w_rows", MB_NPY_F32, 2, nk, ref.info.routing.w);
            write_dropped(c, "route_dropped_rows", n, s->k, ref.info.routing.dropped);
            write_near(c, "route_near_ties_rows", n, ref.near);
        }
        if (c->failed)
            st = c->err.code ? c->err.code : MB_EIO;
        *n_out = n;
    }
    mb_reference_free(&ref);
    return st;
}

/* A train case (spec "Training step"): naive's step, exactly the reference `run` checks every
 * implementation against (mb_train_reference_build on the whole case): Y of forward_train, its
 * routing / gate, dY, and the gradients. Y and info are moved into *y and *info. */
static mb_status dump_train_step(dump_ctx *c, const mb_spec *s, const mb_weights *w,
                                 const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                                 cJSON *root, mb_err *err)
{
    const mb_impl *naive = mb_impl_find("naive");
    mb_reference whole;   /* not sampled: the reference step runs on the whole case */
    memset(&whole, 0, sizeof whole);
    mb_train_reference tr;
    mb_status st = mb_train_reference_build(naive, s, w, in, &whole, &tr, err);
    if (st == MB_OK) {
        *y = tr.y;
        *info = tr.info;
        memset(&tr.y, 0, sizeof tr.y);
        memset(&tr.info, 0, sizeof tr.info);
        cJSON *t = cJSON_AddObjectToObject(root, "train");
        cJSON_AddStringToObject(t, "loss", mb_variant_routed(s->variant)
                                               ? "L = sum(Y * dY) + aux * L_aux + zloss * L_z"
                                               : "L = sum(Y * dY)");
        cJSON_AddStringToObject(t, "trainable", mb_variant_trainable(s->variant));
        cJSON_AddStringToObject(t, "dY", "dY.npy");
        cJSON_AddStringToObject(t, "computed_by", "naive (the reference of `moebench run`)");
        cJSON *gl = cJSON_AddArrayToObject(t, "grads");
        write_tensor(c, "dY", &tr.dy);
        write_tensor(c, "grad_X", &tr.g.dX);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "of", "X");
        cJSON_AddStringToObject(o, "file", "grad_X.npy");
        cJSON_AddItemToArray(gl, o);
        char name[64];
        for (int i = 0; i < tr.g.dW.n; i++) {
            snprintf(name, sizeof name, "grad_%s", tr.g.dW.item[i].name);
            write_tensor(c, name, &tr.g.dW.item[i].t);
            o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "of", tr.g.dW.item[i].name);
            cJSON_AddStringToObject(o, "file", strcat(name, ".npy"));
            cJSON_AddItemToArray(gl, o);
        }
        /* opt=adamw: the trainable tensors after the one AdamW step (the weights' files keep
         * the values before it) */
        if (tr.g.upd.n) {
            cJSON *ul = cJSON_AddArrayToObject(t, "updated");
            for (int i = 0; i < tr.g.upd.n; i++) {
                snprintf(name, sizeof name, "upd_%s", tr.g.upd.item[i].name);
                write_tensor(c, name, &tr.g.upd.item[i].t);
                o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "of", tr.g.upd.item[i].name);
                cJSON_AddStringToObject(o, "file", strcat(name, ".npy"));
                cJSON_AddItemToArray(ul, o);
            }
            cJSON_AddStringToObject(t, "adamw", "lr 1e-4, betas 0.9/0.999, eps 1e-8, weight decay "
                                                "0.01, step 1, zero moments");
        }
        if (c->failed)
            st = c->err.code ? c->err.code : MB_EIO;
    }
    mb_train_reference_free(&tr);
    return st;
}

static cJSON *spec_json(const mb_spec *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "variant", mb_variant_name(s->variant));
    /* the fields this variant uses: results.csv leaves the others' columns empty */
    cJSON_AddStringToObject(o, "fields", mb_variant_fields(s->variant));
    cJSON_AddNumberToObject(o, "B", (double)s->B);
    cJSON_AddNumberToObject(o, "S", (double)s->S);
    cJSON_AddNumberToObject(o, "T", (double)mb_spec_T(s));
    cJSON_AddNumberToObject(o, "h", (double)s->h);
    cJSON_AddNumberToObject(o, "o", (double)s->o);
    cJSON_AddNumberToObject(o, "f", (double)s->f);
    cJSON_AddNumberToObject(o, "r", (double)s->r);
    cJSON_AddNumberToObject(o, "E", (double)s->E);
    cJSON_AddNumberToObject(o, "k", (double)s->k);
    cJSON_AddNumberToObject(o, "tasks", (double)s->tasks);
    cJSON_AddNumberToObject(o, "te", (double)s->te);
    cJSON_AddNumberToObject(o, "alpha", (double)s->alpha);
    cJSON_AddNumberToObject(o, "p", (double)s->p);
    cJSON_AddStringToObject(o, "act", mb_act_name(s->act));
    cJSON_AddStringToObject(o, "share", mb_share_name(s->share));
    cJSON_AddNumberToObject(o, "shard", (double)s->shard);
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, s->seed);
    /* a JSON number is a double: seeds above 2^53 would round, so a string too */
    cJSON_AddNumberToObject(o, "seed", (double)s->seed);
    cJSON_AddStringToObject(o, "seed_str", seed);
    cJSON_AddStringToObject(o, "dtype", mb_dtype_name(s->dtype));
    /* spec "Precision": the base weights' quantisation ("none": stored in dtype) */
    cJSON_AddStringToObject(o, "wq", s->wq != MB_F32 ? mb_dtype_name(s->wq) : "none");
    cJSON_AddNumberToObject(o, "out_width", (double)mb_spec_out_width(s));
    cJSON_AddStringToObject(o, "mode", mb_mode_name(s->mode));
    if (s->mode == MB_MODE_TRAIN) {
        cJSON_AddNumberToObject(o, "aux", (double)s->aux);
        cJSON_AddNumberToObject(o, "zloss", (double)s->zloss);
        cJSON_AddStringToObject(o, "opt", mb_opt_name(s->opt));
    }
    if (s->variant == MB_SPARSE_MLP)
        cJSON_AddNumberToObject(o, "expert_width", (double)mb_spec_expert_width(s));
    /* routing options (spec "Routing options"); capacity and hot_tokens as the spec derives
     * them, so a peer can check its own arithmetic */
    if (mb_variant_routed(s->variant)) {
        char route[48];
        mb_spec_route_format(s, route, sizeof route);
        cJSON_AddNumberToObject(o, "cap", s->cap);
        cJSON_AddNumberToObject(o, "shared", (double)s->shared);
        cJSON_AddNumberToObject(o, "topp", s->topp);
        cJSON_AddStringToObject(o, "route", route);
        cJSON_AddStringToObject(o, "route_kind", mb_route_kind_name(s->route));
        cJSON_AddNumberToObject(o, "route_param", s->route_param);
        cJSON_AddNumberToObject(o, "capacity", (double)mb_spec_capacity(s));
        cJSON_AddNumberToObject(o, "hot_tokens", (double)mb_spec_hot_tokens(s));
    }
    return o;
}

int mb_case_dump(void *ctx)
{
    const mb_dump_job *job = ctx;
    const char *desc = job->desc, *dir = job->dir;
    const mb_spec s = *job->s;
    const int run_forward = job->run_forward, no_output = job->no_output;
    const long long ref_rows = job->ref_rows;
    mb_err err;
    mb_err_clear(&err);
    char canon[1024];
    mb_spec_format(&s, canon, sizeof canon);
    mb_cost cost0 = mb_cost_of(&s, NULL);
    char why[1024];
    if (mb_mkdir_p(dir, why, sizeof why) != 0) {
        fprintf(stderr, "moebench dump: cannot create directory '%s': %s\n", dir, why);
        return 1;
    }

    mb_weights w;
    mb_inputs in;
    mb_tensor y;
    mb_forward_info info;
    memset(&w, 0, sizeof w);
    memset(&in, 0, sizeof in);
    memset(&y, 0, sizeof y);
    memset(&info, 0, sizeof info);
    int rc = 1;
    cJSON *root = cJSON_CreateObject();
    dump_ctx c = { .dir = dir, .list = NULL, .failed = 0 };
    mb_err_clear(&c.err);

    if (mb_weights_create(&s, &w, &err) != MB_OK || mb_inputs_create(&s, &in, &err) != MB_OK) {
        fprintf(stderr, "moebench dump: %s: %s\n", canon, err.msg);
        goto out;
    }
    const mb_impl *naive = mb_impl_find("naive");
    if (run_forward) {
        if (!naive) {
            fprintf(stderr, "moebench dump: the naive implementation is not registered\n");
            goto out;
        }
        if (s.mode != MB_MODE_TRAIN &&
            (mb_output_alloc(&s, &y, &err) != MB_OK || mb_forward_info_alloc(&s, &info, &err) != MB_OK ||
             mb_run_once(naive, &s, &w, &in, &y, &info, &err) != MB_OK)) {
            fprintf(stderr, "moebench dump: %s: naive forward failed: %s\n", canon, err.msg);
            goto out;
        }
    }

    cJSON_AddStringToObject(root, "case", canon);
    cJSON_AddStringToObject(root, "descriptor_given", desc);
    cJSON_AddItemToObject(root, "spec", spec_json(&s));
    c.list = cJSON_AddArrayToObject(root, "tensors");
    if (run_forward && s.mode == MB_MODE_TRAIN &&
        dump_train_step(&c, &s, &w, &in, &y, &info, root, &err) != MB_OK) {
        fprintf(stderr, "moebench dump: %s: naive train step failed: %s\n", canon,
                c.failed ? c.err.msg : err.msg);
        goto out;
    }

    for (int i = 0; i < w.n; i++)
        write_tensor(&c, w.item[i].name, &w.item[i].t);
    write_tensor(&c, "X", &in.X);
    write_tensor(&c, "task", &in.task);
    write_tensor(&c, "R", &in.R);
    if (!run_forward && s.mode == MB_MODE_TRAIN) {
        /* no step, but dY is cheap and lets a peer time its own step */
        mb_tensor dy;
        memset(&dy, 0, sizeof dy);
        if (mb_train_dy_create(&s, &dy, &err) != MB_OK) {
            fprintf(stderr, "moebench dump: %s: dY: %s\n", canon, err.msg);
            goto out;
        }
        write_tensor(&c, "dY", &dy);
        mb_tensor_free(&dy);
    }
    int64_t T = mb_spec_T(&s);
    if (run_forward) {
        write_tensor(&c, "Y", &y);
        if (info.routing.idx) {
            int64_t tk[2] = { T, s.k }, e1[1] = { s.E };
            write_raw(&c, "route_idx", MB_NPY_I32, 2, tk, info.routing.idx);
            write_raw(&c, "route_w", MB_NPY_F32, 2, tk, info.routing.w);
            write_raw(&c, "route_counts", MB_NPY_I64, 1, e1, info.routing.counts);
            write_dropped(&c, "route_dropped", T, s.k, info.routing.dropped);
            uint8_t *near = malloc((size_t)(T > 0 ? T : 1));
            if (!near || mb_routing_near_ties(&s, &w, &in, near, &err) != MB_OK) {
                fprintf(stderr, "moebench dump: %s: near ties: %s\n", canon,
                        near ? err.msg : "out of memory");
                free(near);
                goto out;
            }
            write_near(&c, "route_near_ties", T, near);
            free(near);
        }
        int64_t g[2];
        if (info.gate && mb_spec_gate_dims(&s, g))
            write_raw(&c, "gate", MB_NPY_F32, 2, g, info.gate);
    }
    if (c.failed) {
        fprintf(stderr, "moebench dump: %s\n", c.err.msg);
        goto out;
    }

    if (!run_forward && ref_rows > 0 && !c.failed) {
        if (!naive) {
            fprintf(stderr, "moebench dump: the naive implementation is not registered\n");
            goto out;
        }
        int64_t n_rows = 0;
        if (dump_rows(&c, &s, &w, &in, ref_rows, &n_rows, &err) != MB_OK) {
            fprintf(stderr, "moebench dump: %s: naive forward on sampled rows failed: %s\n", canon,
                    c.failed ? c.err.msg : err.msg);
            goto out;
        }
        cJSON_AddNumberToObject(root, "ref_rows", (double)n_rows);
    }

    cJSON_AddBoolToObject(root, "has_output", run_forward);
    if (!run_forward)
        cJSON_AddStringToObject(root, "output_skipped",
                                no_output ? (s.mode == MB_MODE_TRAIN ? "--no-output: no train step, no "
                                                                       "gradients" : "--no-output")
                                          : s.mode == MB_MODE_TRAIN
                                                ? "case above --ref-max-gflop: naive train step "
                                                  "not run, no gradients"
                                                : "case above --ref-max-gflop: naive forward not run");
    int routed_done = run_forward && info.routing.idx;
    if (routed_done) {
        cJSON_AddNumberToObject(root, "aux_loss", info.routing.aux_loss);
        cJSON_AddNumberToObject(root, "z_loss", info.routing.z_loss);
        cJSON_AddNumberToObject(root, "expert_load_max", mb_routing_load_max(&info.routing));
        cJSON_AddNumberToObject(root, "dropped", (double)info.routing.n_dropped);
        cJSON_AddNumberToObject(root, "experts_chosen", (double)info.routing.n_chosen);
    } else {
        cJSON_AddNullToObject(root, "aux_loss");
        cJSON_AddNullToObject(root, "z_loss");
    }
    const int64_t *hit = routed_done ? info.routing.counts : NULL;
    /* a train case's cost is the whole step's (Part 2's training FLOPs), as its rows' */
    mb_cost cost = s.mode == MB_MODE_TRAIN ? mb_cost_step(&s, "naive", hit)
                   : routed_done ? mb_cost_of(&s, hit) : cost0;
    cJSON *co = cJSON_AddObjectToObject(root, "cost");
    cJSON_AddNumberToObject(co, "flops", cost.flops);
    cJSON_AddNumberToObject(co, "bytes", cost.bytes);
    cJSON_AddNumberToObject(co, "weight_bytes", cost.weight_bytes);
    cJSON_AddStringToObject(co, "experts_hit", routed_done ? "from the naive routing" : "all (assumed)");
    cJSON_AddNumberToObject(root, "weights_bytes", (double)mb_weights_bytes(&w));
    char commit[128];
    mb_git_commit(commit, sizeof commit);
    cJSON *mv = cJSON_AddObjectToObject(root, "moebench");
    cJSON_AddStringToObject(mv, "version", "0.1.0");
    if (commit[0])
        cJSON_AddStringToObject(mv, "git_commit", commit);
    else
        cJSON_AddNullToObject(mv, "git_commit");

    char *text = cJSON_Print(root);
    char path[4096];
    snprintf(path, sizeof path, "%s/case.json", dir);
    FILE *f = text ? fopen(path, "w") : NULL;
    if (!f || fputs(text, f) < 0 || fputc('\n', f) < 0) {
        fprintf(stderr, "moebench dump: cannot write %s: %s\n", path, strerror(errno));
        if (f)
            fclose(f);
        free(text);
        goto out;
    }
    free(text);
    if (fclose(f) != 0) {
        fprintf(stderr, "moebench dump: cannot write %s: %s\n", path, strerror(errno));
        goto out;
    }
    printf("%s -> %s (%d tensors%s)\n", canon, dir, cJSON_GetArraySize(c.list),
           run_forward ? "" : ", no output: naive forward skipped");
    rc = 0;
out:
    cJSON_Delete(root);
    mb_forward_info_free(&info);
    mb_tensor_free(&y);
    mb_inputs_free(&in);
    mb_weights_free(&w);
    return rc;
}
