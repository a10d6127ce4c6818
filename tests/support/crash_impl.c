/* Misbehaving implementations for runner tests (see crash_impl.h). */
#include "crash_impl.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "moebench/moebench.h"

struct mb_state {
    int dummy;
};

static const char *always_supported(const mb_spec *s)
{
    (void)s;
    return NULL;
}

static mb_status prep(const mb_spec *s, const mb_weights *w, mb_state **st, mb_err *err)
{
    (void)s;
    (void)w;
    *st = mb_alloc(sizeof **st);
    return *st ? MB_OK : mb_fail(err, MB_ENOMEM, "no memory");
}

static void rel(mb_state *st)
{
    mb_free(st);
}

/* abort(), not a segfault: sanitizers intercept SIGSEGV and would turn it into an exit code */
static mb_status fwd_crash(mb_state *st, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                           mb_err *err)
{
    (void)st, (void)in, (void)y, (void)info, (void)err;
    abort();
}

static mb_status fwd_hang(mb_state *st, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                          mb_err *err)
{
    (void)st, (void)in, (void)y, (void)info, (void)err;
    for (;;)
        pause();
    return MB_OK;
}

static mb_status fwd_oom(mb_state *st, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                         mb_err *err)
{
    (void)st, (void)in, (void)y, (void)info, (void)err;
    kill(getpid(), SIGKILL);
    return MB_OK;
}

static mb_status fwd_wrong(mb_state *st, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                           mb_err *err)
{
    (void)st, (void)in, (void)info, (void)err;
    float *p = mb_f32(y);
    for (int64_t i = 0; i < mb_tensor_numel(y); i++)
        p[i] = 1.0f;
    return MB_OK;
}

static const mb_impl test_crash = {"test_crash", always_supported, prep, fwd_crash, rel, NULL, NULL};
static const mb_impl test_hang = {"test_hang", always_supported, prep, fwd_hang, rel, NULL, NULL};
static const mb_impl test_oom = {"test_oom", always_supported, prep, fwd_oom, rel, NULL, NULL};
static const mb_impl test_wrong = {"test_wrong", always_supported, prep, fwd_wrong, rel, NULL, NULL};

void mb_test_register_crash_impls(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    mb_impl_register_extra(&test_crash);
    mb_impl_register_extra(&test_hang);
    mb_impl_register_extra(&test_oom);
    mb_impl_register_extra(&test_wrong);
}
