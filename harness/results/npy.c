/* .npy reader/writer (see npy.h). The format: magic "\x93NUMPY", version bytes, a little-endian
 * header length (2 bytes in 1.0, 4 in 2.0/3.0), an ASCII Python dict literal with 'descr',
 * 'fortran_order' and 'shape', padded with spaces and '\n' so the data starts 64-byte aligned,
 * then the raw C-order data. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "moebench/mem.h"
#include "npy.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c reads and writes little-endian data in place: port it before using a big-endian host"
#endif

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_MAX_HEADER (1 << 20)   /* numpy itself refuses headers beyond ~10 kB by default */

static const char *const npy_descr[] = { "<f4", "<i4", "<i8" };

size_t mb_npy_dtype_size(mb_npy_dtype d)
{
    return d == MB_NPY_I64 ? 8 : 4;
}

static int shape_numel(int ndim, const int64_t *shape, int64_t *numel)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || mb_mul_i64(n, shape[i], &n) != 0)
            return -1;
    }
    *numel = n;
    return 0;
}

mb_status mb_npy_write(const char *path, mb_npy_dtype dtype, int ndim, const int64_t *shape,
                       const void *data, mb_err *err)
{
    if ((int)dtype < 0 || dtype > MB_NPY_I64)
        return mb_fail(err, MB_EINVAL, "npy %s: unknown dtype %d", path, (int)dtype);
    if (ndim < 0 || ndim > MB_NPY_MAX_DIMS)
        return mb_fail(err, MB_EINVAL, "npy %s: %d dims (max %d)", path, ndim, MB_NPY_MAX_DIMS);
    int64_t numel, bytes;
    if (shape_numel(ndim, shape, &numel) != 0 ||
        mb_mul_i64(numel, (int64_t)mb_npy_dtype_size(dtype), &bytes) != 0)
        return mb_fail(err, MB_EINVAL, "npy %s: negative or overflowing shape", path);
    if (bytes > 0 && !data)
        return mb_fail(err, MB_EINVAL, "npy %s: NULL data", path);

    char dict[64 + MB_NPY_MAX_DIMS * 24];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                       npy_descr[dtype]);
    for (int i = 0; i < ndim; i++)
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%lld%s", (long long)shape[i],
                        ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    /* Pad so that magic + version + 2-byte length + dict + '\n' is a multiple of 64. */
    int total = NPY_MAGIC_LEN + 2 + 2 + len + 1;
    int pad = (64 - total % 64) % 64;
    int hlen = len + pad + 1;

    FILE *fp = fopen(path, "wb");
    if (!fp)
        return mb_fail(err, MB_EIO, "npy %s: cannot create: %s", path, strerror(errno));
    unsigned char pre[10];
    memcpy(pre, NPY_MAGIC, NPY_MAGIC_LEN);
    pre[6] = 1;
    pre[7] = 0;
    pre[8] = (unsigned char)(hlen & 0xff);
    pre[9] = (unsigned char)(hlen >> 8);
    int ok = fwrite(pre, 1, sizeof pre, fp) == sizeof pre;
    ok = ok && fwrite(dict, 1, (size_t)len, fp) == (size_t)len;
    for (int i = 0; ok && i < pad; i++)
        ok = fputc(' ', fp) != EOF;
    ok = ok && fputc('\n', fp) != EOF;
    ok = ok && (bytes == 0 || fwrite(data, 1, (size_t)bytes, fp) == (size_t)bytes);
    if (fclose(fp) != 0)
        ok = 0;
    if (!ok)
        return mb_fail(err, MB_EIO, "npy %s: write failed: %s", path, strerror(errno));
    return MB_OK;
}

mb_status mb_npy_write_tensor(const char *path, const mb_tensor *t, mb_err *err)
{
    mb_npy_dtype d;
    if (t->dtype == MB_F32)
        d = MB_NPY_F32;
    else if (t->dtype == MB_I32)
        d = MB_NPY_I32;
    else
        return mb_fail(err, MB_EINVAL, "npy %s: cannot write a %s tensor (f32 and i32 only)", path,
                       mb_dtype_name(t->dtype));
    return mb_npy_write(path, d, t->ndim, t->shape, t->data, err);
}

/* Position just after `'key':` (optional spaces around the colon) in the header, or NULL. */
static const char *dict_value(const char *hdr, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(hdr, pat);
    if (!p) {
        snprintf(pat, sizeof pat, "\"%s\"", key);
        p = strstr(hdr, pat);
    }
    if (!p)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    if (*p != ':')
        return NULL;
    p++;
    while (*p == ' ')
        p++;
    return p;
}

static mb_status parse_header(const char *path, const char *hdr, mb_npy_array *a, mb_err *err)
{
    const char *p = dict_value(hdr, "descr");
    if (!p || (*p != '\'' && *p != '"'))
        return mb_fail(err, MB_EINVAL, "npy %s: header has no 'descr'", path);
    char q = *p++;
    const char *end = strchr(p, q);
    if (!end || end - p > 15)
        return mb_fail(err, MB_EINVAL, "npy %s: malformed 'descr'", path);
    char descr[16];
    memcpy(descr, p, (size_t)(end - p));
    descr[end - p] = '\0';
    int found = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(descr, npy_descr[i]) == 0)
            found = i;
    if (found < 0)
        return mb_fail(err, MB_EINVAL, "npy %s: unsupported dtype '%s' (want <f4, <i4 or <i8)", path,
                       descr);
    a->dtype = (mb_npy_dtype)found;

    p = dict_value(hdr, "fortran_order");
    if (!p)
        return mb_fail(err, MB_EINVAL, "npy %s: header has no 'fortran_order'", path);
    if (strncmp(p, "True", 4) == 0)
        return mb_fail(err, MB_EINVAL, "npy %s: Fortran-order arrays are not supported", path);
    if (strncmp(p, "False", 5) != 0)
        return mb_fail(err, MB_EINVAL, "npy %s: malformed 'fortran_order'", path);

    p = dict_value(hdr, "shape");
    if (!p || *p != '(')
        return mb_fail(err, MB_EINVAL, "npy %s: header has no 'shape' tuple", path);
    p++;
    a->ndim = 0;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p == ')')
            break;
        if (a->ndim == MB_NPY_MAX_DIMS)
            return mb_fail(err, MB_EINVAL, "npy %s: more than %d dims", path, MB_NPY_MAX_DIMS);
        char *num_end;
        errno = 0;
        long long v = strtoll(p, &num_end, 10);
        if (num_end == p || errno != 0 || v < 0)
            return mb_fail(err, MB_EINVAL, "npy %s: malformed 'shape'", path);
        a->shape[a->ndim++] = v;
        p = num_end;
        while (*p == ' ')
            p++;
        if (*p == ',')
            p++;
        else if (*p != ')')
            return mb_fail(err, MB_EINVAL, "npy %s: malformed 'shape'", path);
    }
    if (shape_numel(a->ndim, a->shape, &a->numel) != 0)
        return mb_fail(err, MB_EINVAL, "npy %s: shape overflows int64", path);
    return MB_OK;
}

static mb_status read_open(const char *path, mb_npy_array *a, mb_err *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return mb_fail(err, MB_EIO, "npy %s: cannot open: %s", path, strerror(errno));
    mb_status st = MB_OK;
    char *hdr = NULL;
    unsigned char pre[12];
    if (fread(pre, 1, 10, fp) != 10 || memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0) {
        st = mb_fail(err, MB_EINVAL, "npy %s: not a .npy file (bad magic or shorter than 10 bytes)",
                     path);
        goto done;
    }
    long hlen, data_at;
    if (pre[6] == 1) {
        hlen = pre[8] | (long)pre[9] << 8;
        data_at = 10 + hlen;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, fp) != 2) {
            st = mb_fail(err, MB_EINVAL, "npy %s: truncated header", path);
            goto done;
        }
        hlen = pre[8] | (long)pre[9] << 8 | (long)pre[10] << 16 | (long)pre[11] << 24;
        data_at = 12 + hlen;
    } else {
        st = mb_fail(err, MB_EINVAL, "npy %s: unsupported format version %d.%d", path, pre[6], pre[7]);
        goto done;
    }
    if (hlen <= 0 || hlen > NPY_MAX_HEADER) {
        st = mb_fail(err, MB_EINVAL, "npy %s: header length %ld out of range", path, hlen);
        goto done;
    }
    hdr = malloc((size_t)hlen + 1);
    if (!hdr) {
        st = mb_fail(err, MB_ENOMEM, "npy %s: out of memory for the header", path);
        goto done;
    }
    if (fread(hdr, 1, (size_t)hlen, fp) != (size_t)hlen) {
        st = mb_fail(err, MB_EINVAL, "npy %s: truncated header", path);
        goto done;
    }
    hdr[hlen] = '\0';
    if (strlen(hdr) != (size_t)hlen) {
        st = mb_fail(err, MB_EINVAL, "npy %s: NUL byte in the header", path);
        goto done;
    }
    st = parse_header(path, hdr, a, err);
    if (st != MB_OK)
        goto done;

    int64_t bytes;
    if (mb_mul_i64(a->numel, (int64_t)mb_npy_dtype_size(a->dtype), &bytes) != 0) {
        st = mb_fail(err, MB_EINVAL, "npy %s: data size overflows int64", path);
        goto done;
    }
    if (fseek(fp, 0, SEEK_END) != 0) {
        st = mb_fail(err, MB_EIO, "npy %s: cannot seek: %s", path, strerror(errno));
        goto done;
    }
    long size = ftell(fp);
    if (size < 0 || fseek(fp, data_at, SEEK_SET) != 0) {
        st = mb_fail(err, MB_EIO, "npy %s: cannot seek: %s", path, strerror(errno));
        goto done;
    }
    if ((int64_t)size - data_at != bytes) {
        st = mb_fail(err, MB_EINVAL, "npy %s: %s: %lld data bytes, the shape needs %lld", path,
                     (int64_t)size - data_at < bytes ? "truncated" : "trailing bytes",
                     (long long)((int64_t)size - data_at), (long long)bytes);
        goto done;
    }
    a->data = NULL;
    if (bytes > 0) {
        a->data = mb_alloc((size_t)bytes);
        if (!a->data) {
            st = mb_fail(err, MB_ENOMEM, "npy %s: out of memory for %lld bytes", path,
                         (long long)bytes);
            goto done;
        }
        if (fread(a->data, 1, (size_t)bytes, fp) != (size_t)bytes) {
            st = mb_fail(err, MB_EIO, "npy %s: read failed", path);
            goto done;
        }
    }
done:
    free(hdr);
    fclose(fp);
    return st;
}

mb_status mb_npy_read(const char *path, mb_npy_array *a, mb_err *err)
{
    memset(a, 0, sizeof *a);
    mb_status st = read_open(path, a, err);
    if (st != MB_OK)
        mb_npy_free(a);
    return st;
}

void mb_npy_free(mb_npy_array *a)
{
    if (!a)
        return;
    mb_free(a->data);
    a->data = NULL;
}

mb_status mb_npy_read_tensor(const char *path, mb_dtype want, mb_tensor *t, mb_err *err)
{
    memset(t, 0, sizeof *t);
    if (want != MB_F32 && want != MB_I32)
        return mb_fail(err, MB_EINVAL, "npy %s: can only load f32 or i32 tensors", path);
    mb_npy_array a;
    mb_status st = mb_npy_read(path, &a, err);
    if (st != MB_OK)
        return st;
    int64_t one = 1;
    int ndim = a.ndim ? a.ndim : 1;
    const int64_t *shape = a.ndim ? a.shape : &one;
    if (ndim > MB_MAX_DIMS || a.numel == 0) {
        st = mb_fail(err, MB_EINVAL, "npy %s: %d dims / %lld elements: a tensor needs 1..%d dims "
                     "and at least one element", path, a.ndim, (long long)a.numel, MB_MAX_DIMS);
        goto done;
    }
    if (want == MB_F32 && a.dtype != MB_NPY_F32) {
        st = mb_fail(err, MB_EINVAL, "npy %s: dtype %s, want <f4", path, npy_descr[a.dtype]);
        goto done;
    }
    if (want == MB_I32 && a.dtype == MB_NPY_F32) {
        st = mb_fail(err, MB_EINVAL, "npy %s: dtype <f4, want <i4 or <i8", path);
        goto done;
    }
    st = mb_tensor_alloc(t, want, ndim, shape, err);
    if (st != MB_OK)
        goto done;
    if (a.dtype == MB_NPY_I64) {
        const int64_t *src = a.data;
        int32_t *dst = mb_i32(t);
        for (int64_t i = 0; i < a.numel; i++) {
            if (src[i] < INT32_MIN || src[i] > INT32_MAX) {
                st = mb_fail(err, MB_EINVAL, "npy %s: value %lld at %lld does not fit int32", path,
                             (long long)src[i], (long long)i);
                mb_tensor_free(t);
                goto done;
            }
            dst[i] = (int32_t)src[i];
        }
    } else {
        memcpy(t->data, a.data, (size_t)a.numel * mb_npy_dtype_size(a.dtype));
    }
done:
    mb_npy_free(&a);
    return st;
}
