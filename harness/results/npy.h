/* A small reader/writer of NumPy .npy files (format 1.0; 2.0/3.0 headers are read too) for
 * C-order little-endian float32, int32 and int64 arrays: the exchange format of `moebench dump`
 * and of the PyTorch reference data under tests/data/ref. Never prints: errors come back as
 * MB_EIO (file) or MB_EINVAL (content) with a message. */
#ifndef MOEBENCH_NPY_H
#define MOEBENCH_NPY_H

#include <stdint.h>
#include "moebench/error.h"
#include "moebench/tensor.h"

#define MB_NPY_MAX_DIMS 8

typedef enum { MB_NPY_F32 = 0, MB_NPY_I32 = 1, MB_NPY_I64 = 2 } mb_npy_dtype;

typedef struct {
    mb_npy_dtype dtype;
    int ndim;                          /* 0 for a scalar array (shape ()) */
    int64_t shape[MB_NPY_MAX_DIMS];
    int64_t numel;
    void *data;                        /* mb_alloc'd; release with mb_npy_free */
} mb_npy_array;

size_t mb_npy_dtype_size(mb_npy_dtype d);

/* Writes data (numel = product of shape, C order) as a version 1.0 .npy file. */
mb_status mb_npy_write(const char *path, mb_npy_dtype dtype, int ndim, const int64_t *shape,
                       const void *data, mb_err *err);
/* Writes an f32 or i32 tensor. */
mb_status mb_npy_write_tensor(const char *path, const mb_tensor *t, mb_err *err);

/* Reads a whole file. Rejects a bad magic, an unsupported dtype or byte order, Fortran order, a
 * malformed header, and a data section that is shorter or longer than the shape says. */
mb_status mb_npy_read(const char *path, mb_npy_array *a, mb_err *err);
void mb_npy_free(mb_npy_array *a);

/* Reads a file into a new tensor of dtype want (MB_F32 from float32; MB_I32 from int32, or from
 * int64 when every value fits). A scalar array becomes shape [1]; more than 4 dims is refused. */
mb_status mb_npy_read_tensor(const char *path, mb_dtype want, mb_tensor *t, mb_err *err);

#endif
