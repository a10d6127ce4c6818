/* npy reader/writer: round trips of float32 / int32 / int64 arrays, compatibility with files
 * numpy wrote (tests/data/ref), and refusal with a message of truncated, wrong-dtype, Fortran-
 * order, bad-magic and missing files (no crash, no partial result). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "moebench/moebench.h"
#include "npy.h"

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
    return buf;
}

static long file_size(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fclose(fp);
    return n;
}

/* Writes raw bytes: a hand-made header followed by `data_bytes` zero bytes. */
static void write_raw(const char *path, const char *dict, long data_bytes)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return;
    size_t len = strlen(dict);
    unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(len + 1), 0 };
    fwrite(pre, 1, 10, fp);
    fwrite(dict, 1, len, fp);
    fputc('\n', fp);
    for (long i = 0; i < data_bytes; i++)
        fputc(0, fp);
    fclose(fp);
}

static void expect_reject(const char *path, const char *what, const char *needle)
{
    mb_npy_array a;
    mb_err err = { 0 };
    mb_status st = mb_npy_read(path, &a, &err);
    CHECK_MSG(st != MB_OK, "%s accepted", what);
    CHECK_MSG(a.data == NULL, "%s: data left allocated", what);
    CHECK_MSG(strstr(err.msg, needle) != NULL, "%s: message '%s' lacks '%s'", what, err.msg, needle);
}

static void test_round_trip(void)
{
    mb_err err = { 0 };
    const int64_t shf[3] = { 2, 3, 5 };
    float f[30];
    for (int i = 0; i < 30; i++)
        f[i] = (float)i * 0.37f - 4.0f;
    CHECK(mb_npy_write(tmp_path("f.npy"), MB_NPY_F32, 3, shf, f, &err) == MB_OK);
    /* The data starts 64-byte aligned, as numpy writes it. */
    CHECK(file_size(tmp_path("f.npy")) - 30 * 4 > 0 && (file_size(tmp_path("f.npy")) - 30 * 4) % 64 == 0);
    mb_npy_array a;
    if (mb_npy_read(tmp_path("f.npy"), &a, &err) == MB_OK) {
        CHECK(a.dtype == MB_NPY_F32 && a.ndim == 3 && a.numel == 30);
        CHECK(a.shape[0] == 2 && a.shape[1] == 3 && a.shape[2] == 5);
        CHECK(memcmp(a.data, f, sizeof f) == 0);
        mb_npy_free(&a);
    } else {
        CHECK_MSG(0, "read f.npy: %s", err.msg);
    }

    const int64_t shi[1] = { 4 };
    const int32_t i32[4] = { -7, 0, 123456, INT32_MAX };
    CHECK(mb_npy_write(tmp_path("i.npy"), MB_NPY_I32, 1, shi, i32, &err) == MB_OK);
    mb_tensor t = { 0 };
    CHECK(mb_npy_read_tensor(tmp_path("i.npy"), MB_I32, &t, &err) == MB_OK);
    CHECK(t.ndim == 1 && t.shape[0] == 4 && t.data && memcmp(t.data, i32, sizeof i32) == 0);
    mb_tensor_free(&t);

    const int64_t shl[2] = { 2, 2 };
    const int64_t i64[4] = { 1, -2, 3, 40000 };
    CHECK(mb_npy_write(tmp_path("l.npy"), MB_NPY_I64, 2, shl, i64, &err) == MB_OK);
    if (mb_npy_read(tmp_path("l.npy"), &a, &err) == MB_OK) {
        CHECK(a.dtype == MB_NPY_I64 && a.ndim == 2 && memcmp(a.data, i64, sizeof i64) == 0);
        mb_npy_free(&a);
    }
    /* int64 narrows to an i32 tensor when every value fits... */
    CHECK(mb_npy_read_tensor(tmp_path("l.npy"), MB_I32, &t, &err) == MB_OK);
    CHECK(t.data && mb_i32(&t)[1] == -2 && mb_i32(&t)[3] == 40000 && t.ndim == 2);
    mb_tensor_free(&t);
    /* ...and is refused when one does not. */
    const int64_t big[2] = { 1, (int64_t)1 << 40 };
    const int64_t sh2[1] = { 2 };
    CHECK(mb_npy_write(tmp_path("big.npy"), MB_NPY_I64, 1, sh2, big, &err) == MB_OK);
    CHECK(mb_npy_read_tensor(tmp_path("big.npy"), MB_I32, &t, &err) == MB_EINVAL);
    CHECK(t.data == NULL && strstr(err.msg, "int32") != NULL);

    /* A tensor round trip, and a scalar (shape ()) array read as a [1] tensor. */
    const int64_t shm[2] = { 3, 2 };
    mb_tensor m = { 0 };
    if (mb_tensor_alloc(&m, MB_F32, 2, shm, &err) == MB_OK) {
        for (int i = 0; i < 6; i++)
            mb_f32(&m)[i] = 1.0f / (float)(i + 1);
        CHECK(mb_npy_write_tensor(tmp_path("m.npy"), &m, &err) == MB_OK);
        CHECK(mb_npy_read_tensor(tmp_path("m.npy"), MB_F32, &t, &err) == MB_OK);
        CHECK(t.data && t.ndim == 2 && t.shape[0] == 3 && memcmp(t.data, m.data, 24) == 0);
        mb_tensor_free(&t);
        mb_tensor_free(&m);
    }
    const float one = 2.5f;
    CHECK(mb_npy_write(tmp_path("s.npy"), MB_NPY_F32, 0, NULL, &one, &err) == MB_OK);
    CHECK(mb_npy_read_tensor(tmp_path("s.npy"), MB_F32, &t, &err) == MB_OK);
    CHECK(t.data && t.ndim == 1 && t.shape[0] == 1 && mb_f32(&t)[0] == 2.5f);
    mb_tensor_free(&t);
}

/* Files numpy wrote: shape and dtype as the generator says (lora_small: W [4,4] f32, and
 * moelora_3seq: task [3] i32 = [2, 0, 3]). */
static void test_numpy_files(void)
{
    mb_err err = { 0 };
    char path[1024];
    mb_tensor t = { 0 };
    snprintf(path, sizeof path, "%s/ref/lora_small/W.npy", MB_TEST_DATA_DIR);
    CHECK_MSG(mb_npy_read_tensor(path, MB_F32, &t, &err) == MB_OK, "%s", err.msg);
    CHECK(t.ndim == 2 && t.shape[0] == 4 && t.shape[1] == 4);
    mb_tensor_free(&t);
    snprintf(path, sizeof path, "%s/ref/moelora_3seq/task.npy", MB_TEST_DATA_DIR);
    CHECK_MSG(mb_npy_read_tensor(path, MB_I32, &t, &err) == MB_OK, "%s", err.msg);
    CHECK(t.ndim == 1 && t.shape[0] == 3 && t.data && mb_i32(&t)[0] == 2 && mb_i32(&t)[2] == 3);
    mb_tensor_free(&t);
}

static void test_rejects(void)
{
    mb_err err = { 0 };
    const int64_t sh[2] = { 4, 8 };
    float f[32] = { 0 };
    CHECK(mb_npy_write(tmp_path("ok.npy"), MB_NPY_F32, 2, sh, f, &err) == MB_OK);

    /* Truncated: drop the last 4 bytes; also a header cut in the middle. */
    FILE *in = fopen(tmp_path("ok.npy"), "rb");
    unsigned char buf[1024];
    size_t n = in ? fread(buf, 1, sizeof buf, in) : 0;
    if (in)
        fclose(in);
    CHECK(n > 64);
    FILE *out = fopen(tmp_path("trunc.npy"), "wb");
    if (out) {
        fwrite(buf, 1, n - 4, out);
        fclose(out);
    }
    expect_reject(tmp_path("trunc.npy"), "truncated data", "truncated");
    out = fopen(tmp_path("trunc_hdr.npy"), "wb");
    if (out) {
        fwrite(buf, 1, 30, out);
        fclose(out);
    }
    expect_reject(tmp_path("trunc_hdr.npy"), "truncated header", "truncated");
    out = fopen(tmp_path("long.npy"), "wb");
    if (out) {
        fwrite(buf, 1, n, out);
        fputc(0, out);
        fclose(out);
    }
    expect_reject(tmp_path("long.npy"), "trailing bytes", "trailing");

    write_raw(tmp_path("f8.npy"), "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16);
    expect_reject(tmp_path("f8.npy"), "float64", "unsupported dtype '<f8'");
    write_raw(tmp_path("be.npy"), "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8);
    expect_reject(tmp_path("be.npy"), "big-endian", "unsupported dtype");
    write_raw(tmp_path("fo.npy"), "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16);
    expect_reject(tmp_path("fo.npy"), "Fortran order", "Fortran");
    write_raw(tmp_path("noshape.npy"), "{'descr': '<f4', 'fortran_order': False, }", 0);
    expect_reject(tmp_path("noshape.npy"), "no shape", "shape");
    write_raw(tmp_path("badshape.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", 8);
    expect_reject(tmp_path("badshape.npy"), "bad shape", "shape");
    write_raw(tmp_path("negshape.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 0);
    expect_reject(tmp_path("negshape.npy"), "negative shape", "shape");
    write_raw(tmp_path("huge.npy"),
              "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8), }", 0);
    expect_reject(tmp_path("huge.npy"), "overflowing shape", "overflow");

    out = fopen(tmp_path("magic.npy"), "wb");
    if (out) {
        fputs("not an npy file at all", out);
        fclose(out);
    }
    expect_reject(tmp_path("magic.npy"), "bad magic", "magic");
    expect_reject(tmp_path("does_not_exist.npy"), "missing file", "cannot open");

    /* The right file with the wrong dtype for the caller. */
    mb_tensor t = { 0 };
    CHECK(mb_npy_read_tensor(tmp_path("ok.npy"), MB_I32, &t, &err) == MB_EINVAL);
    CHECK(t.data == NULL && strstr(err.msg, "<f4") != NULL);
    const int32_t iv[2] = { 1, 2 };
    const int64_t sh1[1] = { 2 };
    CHECK(mb_npy_write(tmp_path("iv.npy"), MB_NPY_I32, 1, sh1, iv, &err) == MB_OK);
    CHECK(mb_npy_read_tensor(tmp_path("iv.npy"), MB_F32, &t, &err) == MB_EINVAL);
    CHECK(t.data == NULL && strstr(err.msg, "want <f4") != NULL);
    /* Writing where no directory exists fails with MB_EIO. */
    CHECK(mb_npy_write("/nonexistent-dir/x.npy", MB_NPY_F32, 2, sh, f, &err) == MB_EIO);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mb_npy_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "test_npy: mkdtemp failed\n");
        return 1;
    }
    test_round_trip();
    test_numpy_files();
    test_rejects();
    static const char *const files[] = { "f.npy", "i.npy", "l.npy", "big.npy", "m.npy", "s.npy",
                                         "ok.npy", "trunc.npy", "trunc_hdr.npy", "long.npy", "f8.npy",
                                         "be.npy", "fo.npy", "noshape.npy", "badshape.npy",
                                         "negshape.npy", "huge.npy", "magic.npy", "iv.npy" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(tmp_path(files[i]));
    rmdir(tmpdir);
    return mb_test_result("test_npy");
}
