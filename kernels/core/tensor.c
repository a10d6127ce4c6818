/* Dense row-major tensors: allocation, sizes, checksum and sum. */
#include <math.h>
#include <string.h>
#include "moebench/mem.h"
#include "moebench/tensor.h"

mb_status mb_tensor_alloc(mb_tensor *t, mb_dtype dtype, int ndim, const int64_t *shape, mb_err *err)
{
    memset(t, 0, sizeof *t);
    if (ndim < 1 || ndim > MB_MAX_DIMS)
        return mb_fail(err, MB_EINVAL, "tensor rank %d outside 1..%d", ndim, MB_MAX_DIMS);
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 1)
            return mb_fail(err, MB_EINVAL, "tensor dimension %d is %lld, must be >= 1", d,
                           (long long)shape[d]);
        if (mb_mul_i64(n, shape[d], &n))
            return mb_fail(err, MB_EINVAL, "tensor element count overflows int64");
    }
    if ((unsigned)dtype >= MB_DTYPE_COUNT)
        return mb_fail(err, MB_EINVAL, "tensor dtype %d is not an mb_dtype", (int)dtype);
    int64_t bytes = mb_dtype_bytes(dtype, n);
    if (bytes < 0)
        return mb_fail(err, MB_EINVAL, "tensor byte count overflows int64");
    void *data = mb_alloc((size_t)bytes);
    if (!data)
        return mb_fail(err, MB_ENOMEM, "cannot allocate %lld bytes for a tensor", (long long)bytes);
    t->dtype = dtype;
    t->ndim = ndim;
    int64_t stride = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        t->shape[d] = shape[d];
        t->stride[d] = stride;
        stride *= shape[d];
    }
    t->data = data;
    return MB_OK;
}

void mb_tensor_free(mb_tensor *t)
{
    if (!t)
        return;
    mb_free(t->data);
    t->data = NULL;
    t->ndim = 0;
}

int64_t mb_tensor_numel(const mb_tensor *t)
{
    if (!t->data || t->ndim < 1)
        return 0;
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

int64_t mb_tensor_bytes(const mb_tensor *t)
{
    return mb_dtype_bytes(t->dtype, mb_tensor_numel(t));
}

uint64_t mb_tensor_hash(const mb_tensor *t)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const unsigned char *p = t->data;
    int64_t n = mb_tensor_bytes(t);
    for (int64_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static float bf16_to_f32(uint16_t v)
{
    uint32_t u = (uint32_t)v << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

double mb_tensor_sum(const mb_tensor *t)
{
    int64_t n = mb_tensor_numel(t);
    double s = 0.0;
    switch (t->dtype) {
    case MB_F32: {
        const float *x = t->data;
        for (int64_t i = 0; i < n; i++)
            s += x[i];
        return s;
    }
    case MB_I32: {
        const int32_t *x = t->data;
        for (int64_t i = 0; i < n; i++)
            s += x[i];
        return s;
    }
    case MB_BF16: {
        const uint16_t *x = t->data;
        for (int64_t i = 0; i < n; i++)
            s += bf16_to_f32(x[i]);
        return s;
    }
    case MB_I8: {
        const int8_t *x = t->data;
        for (int64_t i = 0; i < n; i++)
            s += x[i];
        return s;
    }
    case MB_F16:   /* no converter yet (issue 15): not a number rather than a wrong one */
    case MB_I4:
    case MB_DTYPE_COUNT:
        break;
    }
    return n > 0 ? NAN : 0.0;
}
