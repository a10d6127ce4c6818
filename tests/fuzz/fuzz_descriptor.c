/* libFuzzer target: the descriptor parser with validation, and the format round trip. The input
 * is one descriptor ("lora:T=16,r=8"). When it parses and validates, its canonical form
 * (mb_spec_format) must parse and validate again to the same spec (every field the variant
 * uses, plus p, seed and dtype) and format to the same text; a mismatch aborts. */
#include "fuzz_util.h"
#include "moebench/spec.h"

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
    return NULL;
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
    if (mb_spec_parse(desc, &s, &err) != MB_OK || mb_spec_validate(&s, 0, &err) != MB_OK) {
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
