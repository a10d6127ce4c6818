/* The wq quantiser on hand values (spec "Precision"): scales, round half to even, clamping,
 * int4 groups and nibble packing, all-zero rows; the wq key's parsing and refusals; the weights
 * a wq case creates. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"
#include "moebench/quant.h"

static void test_int8_rows(void)
{
    /* row 0: max 127 -> scale exactly 1, so W / scale is W and the ties are visible:
     *   0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> -0, -2.5 -> -2, 126.5 -> 126, -3.5 -> -4
     * row 1: all zero -> scale 0 and q 0 (never 0/0)
     * row 2: max 254 -> scale 2: 3 -> 1.5 -> 2, 5 -> 2.5 -> 2, -254 -> -127 */
    const float W[3][8] = {
        {127.0f, 0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 126.5f, -3.5f},
        {0, 0, 0, 0, 0, 0, 0, 0},
        {254.0f, 3.0f, 5.0f, -254.0f, 1.0f, 0, 0, 0},
    };
    int8_t q[24];
    float sc[3];
    mb_err err = { 0 };
    CHECK(mb_quantize(MB_I8, &W[0][0], 3, 8, q, sc, &err) == MB_OK);
    CHECK(sc[0] == 1.0f && sc[1] == 0.0f && sc[2] == 2.0f);
    const int want0[8] = {127, 0, 2, 2, 0, -2, 126, -4};
    const int want2[8] = {127, 2, 2, -127, 0, 0, 0, 0};   /* 1 / 2 = 0.5 -> 0 */
    for (int j = 0; j < 8; j++) {
        CHECK_MSG(q[j] == want0[j], "row 0 q[%d] = %d, want %d", j, q[j], want0[j]);
        CHECK_MSG(q[8 + j] == 0, "zero row q[%d] = %d", j, q[8 + j]);
        CHECK_MSG(q[16 + j] == want2[j], "row 2 q[%d] = %d, want %d", j, q[16 + j], want2[j]);
        CHECK(!isnan((double)q[8 + j] * sc[1]));
    }
    /* the scale is max / 127 rounded once to f32 */
    const float W3[2] = {1.0f, -0.3f};
    CHECK(mb_quantize(MB_I8, W3, 1, 2, q, sc, &err) == MB_OK);
    CHECK(sc[0] == (float)(1.0 / 127.0));
    CHECK(q[0] == 127 && q[1] == (int8_t)rint(-0.3 / (double)sc[0]) && q[1] == -38);
}

static void test_int4_groups(void)
{
    /* two groups of 64 per row: group 0 max 7 (scale 1), group 1 max 14 (scale 2) */
    float W[128];
    memset(W, 0, sizeof W);
    W[0] = 7.0f; W[1] = 0.5f; W[2] = 1.5f; W[3] = -2.5f; W[4] = 6.5f; W[5] = -7.0f;
    W[64] = -14.0f; W[65] = 3.0f; W[66] = 5.0f; W[67] = 13.0f;
    uint8_t q[64];
    memset(q, 0, sizeof q);
    float sc[2];
    mb_err err = { 0 };
    CHECK(mb_wq_groups(MB_I4, 128) == 2 && mb_wq_groups(MB_I4, 96) == -1 &&
          mb_wq_groups(MB_I8, 96) == 1);
    CHECK(mb_quantize(MB_I4, W, 1, 128, q, sc, &err) == MB_OK);
    CHECK(sc[0] == 1.0f && sc[1] == 2.0f);
    const int want[] = {7, 0, 2, -2, 6, -7};
    for (int j = 0; j < 6; j++)
        CHECK_MSG(mb_wq_level(MB_I4, q, j) == want[j], "q[%d] = %d, want %d", j,
                  mb_wq_level(MB_I4, q, j), want[j]);
    /* -14/2 = -7, 1.5 -> 2, 2.5 -> 2, 6.5 -> 6 */
    CHECK(mb_wq_level(MB_I4, q, 64) == -7 && mb_wq_level(MB_I4, q, 65) == 2 &&
          mb_wq_level(MB_I4, q, 66) == 2 && mb_wq_level(MB_I4, q, 67) == 6);
    /* packing: element 0 in the low nibble of byte 0, element 1 in its high nibble */
    CHECK(q[0] == (uint8_t)((7 & 0xf) | (0 << 4)));
    CHECK((q[2] & 0xf) == 6 && (q[2] >> 4) == (uint8_t)(-7 & 0xf));
    /* int4 without whole groups, and a type that is not wq, are refused with the reason */
    CHECK(mb_quantize(MB_I4, W, 1, 96, q, sc, &err) == MB_EINVAL && strstr(err.msg, "64"));
    CHECK(mb_quantize(MB_BF16, W, 1, 64, q, sc, &err) == MB_EINVAL);
}

static mb_status validate(const char *desc, mb_err *err)
{
    mb_spec s;
    mb_status st = mb_spec_parse(desc, &s, err);
    return st ? st : mb_spec_validate(&s, 0, err);
}

static void test_spec(void)
{
    mb_err err = { 0 };
    mb_spec s;
    CHECK(mb_spec_parse("lora:T=2,h=64,wq=int8", &s, &err) == MB_OK && s.wq == MB_I8);
    char buf[256];
    mb_spec_format(&s, buf, sizeof buf);
    CHECK_MSG(strstr(buf, ",wq=int8"), "%s", buf);
    CHECK(mb_spec_parse("lora:T=2,h=64,wq=none", &s, &err) == MB_OK && s.wq == MB_F32);
    CHECK(mb_spec_parse("lora:T=2,h=64,wq=int3", &s, &err) == MB_EINVAL &&
          strstr(err.msg, "wq='int3'"));
    CHECK(mb_spec_parse("lora:T=2,h=64,wq=bf16", &s, &err) == MB_EINVAL);
    /* the router has no frozen base weight */
    CHECK(validate("router:T=2,h=64,E=4,k=2,wq=int8", &err) == MB_EINVAL &&
          strstr(err.msg, "router has no frozen base weight"));
    /* int4 groups of 64 along every base weight's input: h for W, f for mlp_lora's Wd */
    CHECK(validate("lora:T=2,h=96,wq=int4", &err) == MB_EINVAL && strstr(err.msg, "W has input "
                                                                        "width 96"));
    CHECK(validate("lora:T=2,h=96,wq=int8", &err) == MB_OK);
    CHECK(validate("mlp_lora:T=2,h=64,f=96,r=4,wq=int4", &err) == MB_EINVAL &&
          strstr(err.msg, "Wd has input width 96"));
    CHECK(validate("mlp_lora:T=2,h=64,f=128,r=4,wq=int4", &err) == MB_OK);
    /* moelora's Wg (the task gate) is not a base weight: te=8 does not trouble int4 */
    CHECK(validate("moelora:T=2,h=64,r=4,E=2,te=8,wq=int4", &err) == MB_OK);
}

/* A wq case stores each base weight's levels and its scales; the rest stays in the dtype. */
static void test_weights(void)
{
    mb_err err = { 0 };
    mb_spec s;
    mb_weights w;
    CHECK(mb_spec_parse("sparse_mlp:T=2,h=64,f=128,E=2,k=1,shared=1,dtype=bf16,wq=int4", &s,
                        &err) == MB_OK);
    CHECK(mb_weights_create(&s, &w, &err) == MB_OK);
    const char *base[] = {"Wg", "Wu", "Wd", "Wgs", "Wus", "Wds"};
    for (int i = 0; i < 6; i++) {
        const mb_tensor *t = mb_weights_get(&w, base[i]);
        char sn[32];
        snprintf(sn, sizeof sn, "%s_scale", base[i]);
        const mb_tensor *sc = mb_weights_get(&w, sn);
        CHECK_MSG(t && t->dtype == MB_I4, "%s", base[i]);
        CHECK_MSG(sc && sc->dtype == MB_F32 && sc->ndim == 3 &&
                  sc->shape[2] == t->shape[2] / 64, "%s", sn);
    }
    const mb_tensor *wr = mb_weights_get(&w, "Wr");
    CHECK(wr && wr->dtype == MB_BF16);
    /* the levels and scales are the quantiser's on the f32 draw of the same seed */
    mb_spec f = s;
    f.dtype = MB_F32;
    f.wq = MB_F32;
    mb_weights wf;
    CHECK(mb_weights_create(&f, &wf, &err) == MB_OK);
    const mb_tensor *wg = mb_weights_get(&wf, "Wg");
    uint8_t *q = calloc((size_t)mb_tensor_numel(wg), 1);
    float *sc = malloc(sizeof(float) * (size_t)mb_tensor_numel(wg) / 64);
    CHECK(mb_quantize(MB_I4, mb_f32(wg), mb_tensor_numel(wg) / 64, 64, q, sc, &err) == MB_OK);
    CHECK(!memcmp(q, mb_weights_get(&w, "Wg")->data, (size_t)mb_tensor_numel(wg) / 2));
    CHECK(!memcmp(sc, mb_weights_get(&w, "Wg_scale")->data,
                  sizeof(float) * (size_t)mb_tensor_numel(wg) / 64));
    free(q);
    free(sc);
    mb_weights_free(&wf);
    mb_weights_free(&w);
}

int main(void)
{
    test_int8_rows();
    test_int4_groups();
    test_spec();
    test_weights();
    return mb_test_result("test_core_quant");
}
