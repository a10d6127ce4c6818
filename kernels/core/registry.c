/* The registry of implementations (fixed order, then test-only extras) and the helpers that
 * run one of them end to end. */
#include <string.h>
#include "moebench/impl.h"
#include "moebench/mem.h"

#define MB_MAX_EXTRA 8

static const mb_impl *const builtin[] = {
    &mb_impl_naive, &mb_impl_blas, &mb_impl_onednn, &mb_impl_avx512, &mb_impl_merged,
};
#define NBUILTIN ((int)(sizeof builtin / sizeof builtin[0]))

static const mb_impl *extra[MB_MAX_EXTRA];
static int nextra;

int mb_impl_count(void) { return NBUILTIN + nextra; }

const mb_impl *mb_impl_at(int i)
{
    if (i < 0 || i >= mb_impl_count())
        return NULL;
    return i < NBUILTIN ? builtin[i] : extra[i - NBUILTIN];
}

const mb_impl *mb_impl_find(const char *name)
{
    for (int i = 0; i < mb_impl_count(); i++)
        if (!strcmp(mb_impl_at(i)->name, name))
            return mb_impl_at(i);
    return NULL;
}

void mb_impl_register_extra(const mb_impl *impl)
{
    for (int i = 0; i < nextra; i++)
        if (extra[i] == impl)
            return;
    if (nextra < MB_MAX_EXTRA)
        extra[nextra++] = impl;
}

const char *mb_impl_mode_unsupported(const mb_impl *impl, const mb_spec *s)
{
    /* an ep=N case runs in the MPI ranks (harness/dist/ep_exec.c), never as one forward */
    if (s->ep > 1)
        return "ep=N: expert parallelism runs across MPI ranks (mpirun -np N moebench run --mpi)";
    switch (s->mode) {
    case MB_MODE_FORWARD: return NULL;
    case MB_MODE_TRAIN:
        return impl && impl->forward_train && impl->backward ? NULL : MB_MODE_TRAIN_TODO;
    case MB_MODE_COUNT: break;
    }
    return "mode is not forward or train";
}

mb_status mb_run_once(const mb_impl *impl, const mb_spec *s, const mb_weights *w,
                      const mb_inputs *in, mb_tensor *y, mb_forward_info *info, mb_err *err)
{
    const char *why = impl->unsupported ? impl->unsupported(s) : "no unsupported() hook";
    if (why)
        return mb_fail(err, MB_EUNSUPPORTED, "%s", why);
    if (!impl->prepare || !impl->forward || !impl->release)
        return mb_fail(err, MB_EUNSUPPORTED, "%s: not implemented", impl->name);
    /* one forward is not a train step: never a silent forward for a train case */
    if (s->mode != MB_MODE_FORWARD)
        return mb_fail(err, MB_EUNSUPPORTED, "%s: mode=%s is a train step (forward_train and "
                       "backward), not one forward", impl->name, mb_mode_name(s->mode));
    mb_state *st = NULL;
    mb_status rc = impl->prepare(s, w, &st, err);
    if (rc)
        return rc;
    rc = impl->forward(st, in, y, info, err);
    impl->release(st);
    return rc;
}

mb_status mb_forward_info_alloc(const mb_spec *s, mb_forward_info *info, mb_err *err)
{
    memset(info, 0, sizeof *info);
    int64_t T = mb_spec_T(s), n = 0, g[2];
    if (mb_variant_routed(s->variant))
        return mb_routing_alloc(&info->routing, T, s->E, s->k, err);
    int bad = 0;   /* a valid spec bounds T*h, not T*E: the gate's size is checked here */
    if (mb_spec_gate_dims(s, g))
        bad = mb_mul_i64(g[0], g[1], &n);
    int64_t bytes;
    if (bad || mb_mul_i64(n, (int64_t)sizeof *info->gate, &bytes))
        return mb_fail(err, MB_ENOMEM, "the gate of %s (T=%lld, E=%lld, r=%lld) overflows int64 "
                       "bytes", mb_variant_name(s->variant), (long long)T, (long long)s->E,
                       (long long)s->r);
    if (n > 0) {
        info->gate = mb_alloc((size_t)bytes);
        if (!info->gate)
            return mb_fail(err, MB_ENOMEM, "cannot allocate a gate of %lld floats", (long long)n);
    }
    return MB_OK;
}

void mb_forward_info_free(mb_forward_info *info)
{
    if (!info)
        return;
    mb_routing_free(&info->routing);
    mb_free(info->gate);
    info->gate = NULL;
}
