/* The shared LoRA dropout mask (moebench/dropout.h) and the AdamW step (moebench/adamw.h):
 * values only 0 or 1/(1-p), exactly 1 at p = 0, the drop rate p, the row helpers equal to the
 * element function, every key changes the mask, and fixed known answers so that a change of
 * the hash (which tests/make_reference.py ports to python) cannot go unnoticed. */
#include <math.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"

static void test_values_and_rate(void)
{
    const float p = 0.25f, kept = 1.0f / (1.0f - p);
    int64_t dropped = 0, n = 0;
    for (int64_t row = 0; row < 64; row++)
        for (int64_t f = 0; f < 1024; f++) {
            float m = mb_dropout_scale(42, MB_LORA_MAIN, 0, row, f, p);
            CHECK_MSG(m == 0.0f || m == kept, "mask value %g", (double)m);
            dropped += m == 0.0f;
            n++;
            CHECK(mb_dropout_scale(42, MB_LORA_MAIN, 0, row, f, 0.0f) == 1.0f);
        }
    /* 65536 Bernoulli(0.25) draws: sd 0.0017; 0.01 is six sd */
    double rate = (double)dropped / (double)n;
    CHECK_MSG(fabs(rate - p) < 0.01, "drop rate %.4f for p=%g", rate, (double)p);
    /* p just above 0 drops (almost) nothing, p close to 1 (almost) everything */
    int64_t d_small = 0, d_big = 0;
    for (int64_t f = 0; f < 4096; f++) {
        d_small += mb_dropout_scale(7, MB_LORA_UP, 3, 5, f, 1e-6f) == 0.0f;
        d_big += mb_dropout_scale(7, MB_LORA_UP, 3, 5, f, 0.999f) == 0.0f;
    }
    CHECK_MSG(d_small <= 2 && d_big >= 4080, "p=1e-6 dropped %lld, p=0.999 dropped %lld",
              (long long)d_small, (long long)d_big);
}

static void test_rows_equal_elements(void)
{
    float row[300], x[300], y[300];
    for (int i = 0; i < 300; i++)
        x[i] = (float)i - 150.0f;
    const float ps[] = {0.0f, 0.1f, 0.5f};
    for (int k = 0; k < 3; k++) {
        mb_dropout_row(9, MB_LORA_DOWN, 2, 17, 100, 300, ps[k], row);
        mb_dropout_apply_row(9, MB_LORA_DOWN, 2, 17, 100, 300, ps[k], x, y);
        for (int i = 0; i < 300; i++) {
            float m = mb_dropout_scale(9, MB_LORA_DOWN, 2, 17, 100 + i, ps[k]);
            CHECK(row[i] == m);
            CHECK(y[i] == x[i] * m);
        }
    }
    /* in place */
    memcpy(y, x, sizeof y);
    mb_dropout_apply_row(9, MB_LORA_DOWN, 2, 17, 100, 300, 0.5f, y, y);
    for (int i = 0; i < 300; i++)
        CHECK(y[i] == x[i] * row[i]);
}

/* How many of 256 features differ between two keys (a fair mask differs in ~3/8 at p = 0.25,
 * ~1/2 at p = 0.5). */
static int differ(uint64_t s1, uint32_t l1, uint32_t e1, int64_t r1, uint64_t s2, uint32_t l2,
                  uint32_t e2, int64_t r2)
{
    int n = 0;
    for (int64_t f = 0; f < 256; f++)
        n += mb_dropout_scale(s1, l1, e1, r1, f, 0.5f) != mb_dropout_scale(s2, l2, e2, r2, f, 0.5f);
    return n;
}

static void test_every_key_matters(void)
{
    CHECK(differ(42, 0, 0, 0, 42, 0, 0, 0) == 0);
    CHECK(differ(42, 0, 0, 0, 43, 0, 0, 0) > 80);   /* seed */
    CHECK(differ(42, 0, 0, 0, 42, 1, 0, 0) > 80);   /* which LoRA */
    CHECK(differ(42, 1, 0, 0, 42, 1, 1, 0) > 80);   /* expert */
    CHECK(differ(42, 1, 0, 0, 42, 1, 0, 1) > 80);   /* row */
    CHECK(differ(42, 1, 0, 0, 42, 0, 1, 0) > 80);   /* lora and expert are not interchangeable */
}

/* Known answers: the first features of two rows (1 = kept), printed once from this C code and
 * the same answers as the python port in tests/make_reference.py (dropout_keep). */
static void test_known_answers(void)
{
    static const char *const want[] = {"1101111100111100", "0111001111011011"};
    const uint64_t seeds[] = {42, 7};
    const uint32_t loras[] = {MB_LORA_MAIN, MB_LORA_DOWN};
    const uint32_t experts[] = {0, 3};
    const int64_t rows[] = {0, 11};
    for (int k = 0; k < 2; k++) {
        char got[17];
        for (int f = 0; f < 16; f++)
            got[f] = mb_dropout_scale(seeds[k], loras[k], experts[k], rows[k], f, 0.3f) ? '1' : '0';
        got[16] = '\0';
        CHECK_MSG(!strcmp(got, want[k]), "mask %d: %s, want %s", k, got, want[k]);
    }
}

static void test_adamw(void)
{
    /* step 1 from zero moments: w' = w (1 - lr wd) - lr g / (|g| + eps') with eps' = eps sqrt(1-b2)
     * scaled back: the update is lr * sign(g) for |g| >> eps */
    float w[4] = {1.0f, -2.0f, 0.5f, 3.0f};
    const float g[4] = {0.5f, -1e-3f, 0.0f, 1e-9f};
    float m[4], v[4], w2[4];
    mb_adamw_step_to(w, w2, g, m, v, 4);
    for (int i = 0; i < 4; i++) {
        double gi = g[i];
        double mi = 0.1 * gi, vi = 0.001 * gi * gi;
        double want = w[i] * (1.0 - 1e-6) - (1e-4 / 0.1) * mi / (sqrt(vi) / sqrt(0.001) + 1e-8);
        CHECK_MSG(fabs(w2[i] - want) <= 1e-7 * fabs(want), "w'[%d] = %.9g, want %.9g", i,
                  (double)w2[i], want);
        CHECK(fabs(m[i] - mi) <= 1e-7 * fabs(mi) && fabs(v[i] - vi) <= 1e-7 * fabs(vi));
    }
    CHECK(fabs(w2[0] - (1.0 - 1e-6 - 1e-4)) < 1e-7);   /* |g| >> eps: a step of lr */
    CHECK(w2[2] == (float)(0.5 * (1.0 - 1e-6)));      /* g = 0: decay only */
    CHECK(w[0] == 1.0f);                                /* the source is unchanged */
    mb_adamw_step(w, g, m, v, 4);
    CHECK(!memcmp(w, w2, sizeof w));
}

int main(void)
{
    test_values_and_rate();
    test_rows_equal_elements();
    test_every_key_matters();
    test_known_answers();
    test_adamw();
    return mb_test_result("test_core_dropout");
}
