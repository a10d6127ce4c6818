/* libFuzzer target: the descriptor parser with validation, and the format round trip. The input
 * is one descriptor ("lora:T=16,r=8"). When it parses and validates, its canonical form
 * (mb_spec_format) must parse and validate again to the same spec (every field the variant
 * uses, plus p, seed, dtype, mode, aux, zloss and opt) and format to the same text; a mismatch
 * aborts. */
#include "fuzz_util.h"
#include "moebench/mem_estimate.h"
#include "moebench/spec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int uses(const mb_spec *s, const char *field)
{
    const char *list = mb_variant_fields(s->variant);
    size_t n = strlen(field);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && !strncmp(p, field, n))
            return 1;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* The first field where a and b differ as the variant sees them, or NULL. */
static const char *differs(const mb_spec *a, const mb_spec *b)
{
    if (a->variant != b->variant)
        return "variant";
    if (a->B != b->B || a->S != b->S)
        return "B/S";
    if (a->h != b->h)
        return "h";
#define USED_INT(field, name) \
    if (uses(a, name) && a->field != b->field) \
        return name;
    USED_INT(o, "o")
    USED_INT(f, "f")
    USED_INT(r, "r")
    USED_INT(E, "E")
    USED_INT(k, "k")
    USED_INT(tasks, "tasks")
    USED_INT(te, "te")
    USED_INT(act, "act")
    USED_INT(share, "share")
    USED_INT(shard, "shard")
#undef USED_INT
    if (uses(a, "alpha") && memcmp(&a->alpha, &b->alpha, sizeof a->alpha) != 0)
        return "alpha";
    if (memcmp(&a->p, &b->p, sizeof a->p) != 0)
        return "p";
    if (a->seed != b->seed)
        return "seed";
    if (a->dtype != b->dtype)
        return "dtype";
    if (a->mode != b->mode)
        return "mode";
    if (memcmp(&a->aux, &b->aux, sizeof a->aux) != 0)
        return "aux";
    if (memcmp(&a->zloss, &b->zloss, sizeof a->zloss) != 0)
        return "zloss";
    if (a->opt != b->opt)
        return "opt";
    return NULL;
}

/* The memory estimate is size arithmetic on the same fields (checked int64, valid spec or
 * not): it must answer without undefined behaviour, and its parts must add up. */
static void check_estimate(const mb_spec *s, const char *desc)
{
    static const char *const impls[] = {"naive", "blas", "onednn", "avx512", "merged"};
    int64_t T = mb_spec_T(s);
    mb_mem_opts o = {.ref_rows = T > 0 ? T : 0, .impls = impls, .n_impls = 5, .threads = 2,
                     .cache_cold = 1, .llc_bytes = 32 << 20, .avail_bytes = (int64_t)1 << 34};
    mb_mem_estimate e;
    mb_err err = {0};
    if (mb_mem_estimate_case(s, &o, &e, &err) != MB_OK) {
        fz_require(err.msg[0] != '\0', "'%s': estimate refused without a reason", desc);
        return;
    }
    fz_require(e.runtime >= 0 && e.weights >= 0 && e.inputs >= 0 && e.reference >= 0 &&
                   e.impl >= 0 && e.saved >= 0 && e.grads >= 0 && e.optimizer >= 0 &&
                   e.cold >= 0 && e.cold <= e.impl,
               "'%s': a negative part in the estimate", desc);
    uint64_t sum = (uint64_t)e.runtime + (uint64_t)e.weights + (uint64_t)e.inputs +
                   (uint64_t)e.reference + (uint64_t)e.impl + (uint64_t)e.saved +
                   (uint64_t)e.grads + (uint64_t)e.optimizer;
    fz_require((uint64_t)e.total == sum,
               "'%s': the estimate's parts do not add up to its total", desc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *desc = malloc(size + 1);
    fz_require(desc != NULL, "out of memory");
    memcpy(desc, data, size);
    desc[size] = '\0';

    mb_spec s, back;
    mb_err err = {0};
    int parsed = mb_spec_parse(desc, &s, &err) == MB_OK;
    if (parsed)
        check_estimate(&s, desc);
    if (!parsed || mb_spec_validate(&s, 0, &err) != MB_OK) {
        fz_require(err.msg[0] != '\0', "'%s' refused without a reason", desc);
        free(desc);
        return 0;
    }
    char canon[512], again[512];
    int len = mb_spec_format(&s, canon, sizeof canon);
    fz_require(len > 0 && (size_t)len < sizeof canon, "'%s': canonical form truncated", desc);
    fz_require(mb_spec_parse(canon, &back, &err) == MB_OK, "'%s' -> '%s' does not parse: %s",
               desc, canon, err.msg);
    fz_require(mb_spec_validate(&back, 0, &err) == MB_OK, "'%s' -> '%s' is not valid: %s", desc,
               canon, err.msg);
    const char *field = differs(&s, &back);
    fz_require(field == NULL, "'%s' -> '%s' parses back with another %s", desc, canon,
               field ? field : "");
    mb_spec_format(&back, again, sizeof again);
    fz_require(!strcmp(canon, again), "'%s' -> '%s' -> '%s'", desc, canon, again);
    free(desc);
    return 0;
}
