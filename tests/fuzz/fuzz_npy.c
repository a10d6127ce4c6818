/* libFuzzer target: the .npy reader (harness/results/npy.c). The input is a .npy file, read as an array
 * and as f32 and i32 tensors. An array that reads must write back and read again unchanged
 * (dtype, shape, data). */
#include "fuzz_util.h"
#include "npy.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_write("in.npy", data, size);
    char in[1024], out[1024];
    fz_path("in.npy", in, sizeof in);
    fz_path("out.npy", out, sizeof out);

    mb_err err = {0};
    mb_npy_array a;
    if (mb_npy_read(in, &a, &err) == MB_OK) {
        fz_require(a.ndim >= 0 && a.ndim <= MB_NPY_MAX_DIMS, "ndim %d", a.ndim);
        size_t bytes = (size_t)a.numel * mb_npy_dtype_size(a.dtype);
        fz_require(mb_npy_write(out, a.dtype, a.ndim, a.shape, a.data, &err) == MB_OK,
                   "an array that reads does not write: %s", err.msg);
        mb_npy_array b;
        fz_require(mb_npy_read(out, &b, &err) == MB_OK, "a written array does not read: %s",
                   err.msg);
        fz_require(b.dtype == a.dtype && b.ndim == a.ndim && b.numel == a.numel &&
                       !memcmp(b.shape, a.shape, sizeof a.shape[0] * (size_t)a.ndim) &&
                       (bytes == 0 || !memcmp(a.data, b.data, bytes)),
                   "the array changed in a write/read round trip");
        mb_npy_free(&b);
        mb_npy_free(&a);
    } else {
        fz_require(err.msg[0] != '\0', "mb_npy_read failed without a message");
    }

    mb_tensor t;
    if (mb_npy_read_tensor(in, MB_F32, &t, &err) == MB_OK)
        mb_tensor_free(&t);
    if (mb_npy_read_tensor(in, MB_I32, &t, &err) == MB_OK)
        mb_tensor_free(&t);
    return 0;
}
