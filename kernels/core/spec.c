/* Case specifications: names, defaults, descriptor parsing and the canonical descriptor. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "moebench/mem.h"
#include "moebench/spec.h"

/* The variant table's descriptor columns, indexed by the enum (designated initialisers) so a
 * row out of place is caught by the count check below and the NULL check of
 * test_registry_coverage. */
static const mb_variant_desc variants[] = {
#define MB_VARIANT(ID, name, fields, summary, routed, inputs, gate, out, ...) \
    [MB_##ID] = {name, fields, summary, routed, inputs, gate, out},
#include "moebench/variants.def"
#undef MB_VARIANT
};
_Static_assert(sizeof variants / sizeof variants[0] == MB_VARIANT_COUNT,
               "variants.def and the descriptor table disagree on the number of variants");

static const char *act_names[] = {"silu", "gelu", "relu"};
static const char *share_names[] = {"none", "gate_up", "all"};
static const char *const route_names[] = {[MB_ROUTE_LEARNED] = "learned",
                                          [MB_ROUTE_BALANCED] = "balanced",
                                          [MB_ROUTE_ZIPF] = "zipf", [MB_ROUTE_HOT] = "hot"};
_Static_assert(sizeof route_names / sizeof route_names[0] == MB_ROUTE_COUNT, "a route without a name");
static const char *const opt_names[] = {[MB_OPT_NONE] = "none", [MB_OPT_ADAMW] = "adamw"};
_Static_assert(sizeof opt_names / sizeof opt_names[0] == MB_OPT_COUNT, "an optimiser without a name");
static const char *const mode_names[] = {[MB_MODE_FORWARD] = "forward", [MB_MODE_TRAIN] = "train"};
_Static_assert(sizeof mode_names / sizeof mode_names[0] == MB_MODE_COUNT, "a mode without a name");

const mb_variant_desc *mb_variant_desc_of(mb_variant_id v)
{
    return (unsigned)v < MB_VARIANT_COUNT ? &variants[v] : NULL;
}

int mb_variant_routed(mb_variant_id v)
{
    return (unsigned)v < MB_VARIANT_COUNT && variants[v].routed;
}

const char *mb_variant_name(mb_variant_id v)
{
    return (unsigned)v < MB_NUM_VARIANTS ? variants[v].name : "?";
}

int mb_variant_parse(const char *name, mb_variant_id *out)
{
    for (int v = 0; v < MB_NUM_VARIANTS; v++)
        if (!strcmp(name, variants[v].name)) {
            *out = (mb_variant_id)v;
            return 0;
        }
    return -1;
}

int mb_variant_names(char *buf, size_t n, const char *sep)
{
    int len = 0;
    for (int v = 0; v < MB_VARIANT_COUNT; v++) {
        size_t at = (size_t)len < n ? (size_t)len : n;
        len += snprintf(buf + at, n - at, "%s%s", v ? sep : "", variants[v].name);
    }
    if (n && MB_VARIANT_COUNT == 0)
        buf[0] = '\0';
    return len;
}

const char *mb_act_name(mb_act a) { return (unsigned)a < 3 ? act_names[a] : "?"; }
const char *mb_share_name(mb_share s) { return (unsigned)s < 3 ? share_names[s] : "?"; }
const char *mb_route_kind_name(mb_route_kind r)
{
    return (unsigned)r < MB_ROUTE_COUNT ? route_names[r] : "?";
}

/* The shortest of %.15g / %.17g that reads back as x, so 0.9 prints as 0.9. */
static int fmt_double(char *buf, size_t n, double x)
{
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%.15g", x);
    if (strtod(tmp, NULL) != x)
        snprintf(tmp, sizeof tmp, "%.17g", x);
    return snprintf(buf, n, "%s", tmp);
}

/* The shortest decimal that reads back as the same float: p=0.1, not %.9g's 0.100000001. */
static int fmt_float(char *buf, size_t n, float x)
{
    char tmp[40];
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(tmp, sizeof tmp, "%.*g", digits, (double)x);
        if (strtof(tmp, NULL) == x)
            break;
    }
    return snprintf(buf, n, "%s", tmp);
}

int mb_spec_route_format(const mb_spec *s, char *buf, size_t n)
{
    if (s->route == MB_ROUTE_ZIPF || s->route == MB_ROUTE_HOT) {
        char v[40];
        fmt_double(v, sizeof v, s->route_param);
        return snprintf(buf, n, "%s:%s", mb_route_kind_name(s->route), v);
    }
    return snprintf(buf, n, "%s", mb_route_kind_name(s->route));
}

int64_t mb_spec_capacity(const mb_spec *s)
{
    if (!(s->cap > 0) || s->E < 1)
        return 0;
    double c = ceil(s->cap * (double)s->k * (double)mb_spec_T(s) / (double)s->E);
    return c >= 9.0e18 ? INT64_MAX : (int64_t)c;
}

int64_t mb_spec_hot_tokens(const mb_spec *s)
{
    if (s->route != MB_ROUTE_HOT)
        return 0;
    double n = ceil(s->route_param * (double)mb_spec_T(s));
    int64_t T = mb_spec_T(s);
    return n >= (double)T ? T : (n < 0 ? 0 : (int64_t)n);
}

const char *mb_opt_name(mb_opt o)
{
    return (unsigned)o < MB_OPT_COUNT ? opt_names[o] : "?";
}
const char *mb_mode_name(mb_mode m)
{
    return (unsigned)m < MB_MODE_COUNT ? mode_names[m] : "?";
}

const char *mb_variant_fields(mb_variant_id v)
{
    return (unsigned)v < MB_NUM_VARIANTS ? variants[v].fields : "";
}

/* Whole-name match in the variant's comma-separated field list. */
static int in_fields(mb_variant_id v, const char *field)
{
    if ((unsigned)v >= MB_NUM_VARIANTS)
        return 0;
    const char *list = variants[v].fields;
    size_t n = strlen(field);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, field, n))
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

static int uses(const mb_spec *s, const char *field)
{
    return in_fields(s->variant, field);
}

int mb_variant_uses(mb_variant_id v, const char *key)
{
    /* p, seed, dtype, mode and opt are not shapes: every variant has them (p, opt: train mode
     * only, checked by validation); the loss terms aux and zloss exist where a router does */
    if ((unsigned)v < MB_NUM_VARIANTS && (!strcmp(key, "p") || !strcmp(key, "seed") ||
                                          !strcmp(key, "dtype") || !strcmp(key, "wq") ||
                                          !strcmp(key, "mode") ||
                                          !strcmp(key, "opt")))
        return 1;
    if ((unsigned)v < MB_NUM_VARIANTS && (!strcmp(key, "aux") || !strcmp(key, "zloss")))
        return variants[v].routed;
    return in_fields(v, key);
}

const char *mb_routing_key_refusal(mb_variant_id v, const char *key)
{
    static const char *const keys[] = {"cap", "shared", "topp", "route"};
    int routing_key = 0;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        routing_key |= !strcmp(key, keys[i]);
    if (!routing_key || (unsigned)v >= MB_NUM_VARIANTS || in_fields(v, key))
        return NULL;
    if (!strcmp(key, "shared"))
        return variants[v].routed ? "the router alone has no expert outputs to add shared "
                                    "experts to (shared applies to mixlora and sparse_mlp)"
                                  : "shared experts need a variant with experts (mixlora, "
                                    "sparse_mlp)";
    return "routing options apply to the top-k routed variants only (mixlora, sparse_mlp, "
           "router)";
}

const char *mb_variant_summary(mb_variant_id v)
{
    return (unsigned)v < MB_NUM_VARIANTS ? variants[v].summary : "";
}

int64_t mb_spec_out_width(const mb_spec *s)
{
    const mb_variant_desc *d = mb_variant_desc_of(s->variant);
    if (!d)
        return s->o;
    switch (d->out) {
    case MB_OUT_O: return s->o;
    case MB_OUT_H: return s->h;
    case MB_OUT_E: return s->E;
    }
    return s->o;
}

int mb_spec_gate_dims(const mb_spec *s, int64_t dims[2])
{
    const mb_variant_desc *d = mb_variant_desc_of(s->variant);
    dims[0] = dims[1] = 0;
    switch (d ? d->gate : MB_GATE_NONE) {
    case MB_GATE_NONE: return 0;
    case MB_GATE_SEQ_E: dims[0] = s->B; dims[1] = s->E; return 1;
    case MB_GATE_TOK_R: dims[0] = mb_spec_T(s); dims[1] = s->r; return 1;
    case MB_GATE_TOK_E: dims[0] = mb_spec_T(s); dims[1] = s->E; return 1;
    }
    return 0;
}

int64_t mb_spec_expert_width(const mb_spec *s)
{
    return s->shard && s->E > 0 ? s->f / s->E : s->f;
}

float mb_default_aux(mb_variant_id v)
{
    return mb_variant_routed(v) ? 0.01f : 0.0f;
}

void mb_spec_default(mb_spec *s, mb_variant_id v)
{
    memset(s, 0, sizeof *s);
    s->variant = v;
    s->B = 1;
    s->S = 1;
    s->h = 4096;
    s->o = 4096;
    s->f = 11008;
    s->r = 16;
    s->E = 8;
    s->k = 2;
    s->tasks = 8;
    s->te = 64;
    s->alpha = 32.0f;
    s->p = 0.0f;
    s->act = MB_ACT_SILU;
    s->share = MB_SHARE_ALL;
    s->shard = 0;
    s->seed = 42;
    s->dtype = MB_F32;
    s->wq = MB_F32;   /* no weight quantisation */
    s->mode = MB_MODE_FORWARD;
    s->ep = 1;
    s->aux = mb_default_aux(v);
    s->zloss = 0.0f;
    s->opt = MB_OPT_NONE;
}

/* Strict decimal integer: digits only (an optional leading '+'), no trailing text, no overflow.
 * Signs are refused here because no integer key has a meaningful negative value. */
static mb_status parse_int(const char *key, const char *v, int64_t *out, mb_err *err)
{
    const char *p = v;
    if (*p == '+')
        p++;
    if (*p == '\0')
        return mb_fail(err, MB_EINVAL, "%s='%s': empty number", key, v);
    if (*p == '-')
        return mb_fail(err, MB_EINVAL, "%s=%s: must not be negative", key, v);
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return mb_fail(err, MB_EINVAL, "%s='%s': not a decimal integer", key, v);
    errno = 0;
    unsigned long long x = strtoull(p, NULL, 10);
    if (errno == ERANGE || x > (unsigned long long)INT64_MAX)
        return mb_fail(err, MB_EINVAL, "%s=%s: too large (overflows int64)", key, v);
    *out = (int64_t)x;
    return MB_OK;
}

static mb_status parse_u64(const char *key, const char *v, uint64_t *out, mb_err *err)
{
    if (*v == '\0')
        return mb_fail(err, MB_EINVAL, "%s='%s': empty number", key, v);
    for (const char *q = v; *q; q++)
        if (*q < '0' || *q > '9')
            return mb_fail(err, MB_EINVAL, "%s='%s': not a non-negative decimal integer", key, v);
    errno = 0;
    unsigned long long x = strtoull(v, NULL, 10);
    if (errno == ERANGE)
        return mb_fail(err, MB_EINVAL, "%s=%s: too large (overflows uint64)", key, v);
    *out = (uint64_t)x;
    return MB_OK;
}

static mb_status parse_float(const char *key, const char *v, float *out, mb_err *err)
{
    if (*v == '\0')
        return mb_fail(err, MB_EINVAL, "%s='%s': empty number", key, v);
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (*end != '\0' || end == v || v[0] == ' ' || v[0] == '\t')
        return mb_fail(err, MB_EINVAL, "%s='%s': not a number", key, v);
    if (errno == ERANGE || !isfinite(x) || fabs(x) > 3.4e38)
        return mb_fail(err, MB_EINVAL, "%s=%s: not a finite float", key, v);
    *out = (float)x;
    return MB_OK;
}

/* A finite decimal double (routing options: their ceil() must see the value written). */
static mb_status parse_double(const char *key, const char *v, double *out, mb_err *err)
{
    if (*v == '\0')
        return mb_fail(err, MB_EINVAL, "%s='%s': empty number", key, v);
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (*end != '\0' || end == v || v[0] == ' ' || v[0] == '\t')
        return mb_fail(err, MB_EINVAL, "%s='%s': not a number", key, v);
    if (errno == ERANGE || !isfinite(x))
        return mb_fail(err, MB_EINVAL, "%s=%s: not a finite number", key, v);
    *out = x == 0.0 ? 0.0 : x;   /* -0 is 0 */
    return MB_OK;
}

/* route=learned|balanced|zipf:S|hot:F, each parameter checked against its range. */
static mb_status parse_route(const char *v, mb_spec *s, mb_err *err)
{
    const char *colon = strchr(v, ':');
    size_t n = colon ? (size_t)(colon - v) : strlen(v);
    int kind = -1;
    for (int i = 0; i < MB_ROUTE_COUNT; i++)
        if (strlen(route_names[i]) == n && !strncmp(v, route_names[i], n))
            kind = i;
    if (kind < 0)
        return mb_fail(err, MB_EINVAL, "route='%s': expected learned, balanced, zipf:S or hot:F",
                       v);
    int want_param = kind == MB_ROUTE_ZIPF || kind == MB_ROUTE_HOT;
    if (!want_param) {
        if (colon)
            return mb_fail(err, MB_EINVAL, "route='%s': %s takes no parameter", v,
                           route_names[kind]);
        s->route = (mb_route_kind)kind;
        s->route_param = 0.0;
        return MB_OK;
    }
    if (!colon)
        return mb_fail(err, MB_EINVAL, "route='%s': %s needs its parameter (%s)", v,
                       route_names[kind], kind == MB_ROUTE_ZIPF ? "zipf:S, S > 0" : "hot:F, 0 < F <= 1");
    double x;
    mb_status st = parse_double("route", colon + 1, &x, err);
    if (st)
        return st;
    if (kind == MB_ROUTE_ZIPF && !(x > 0))
        return mb_fail(err, MB_EINVAL, "route=%s: the Zipf exponent S must be > 0", v);
    if (kind == MB_ROUTE_HOT && !(x > 0 && x <= 1))
        return mb_fail(err, MB_EINVAL, "route=%s: the hot fraction F must be in (0, 1]", v);
    s->route = (mb_route_kind)kind;
    s->route_param = x;
    return MB_OK;
}

static mb_status pick(const char *key, const char *v, const char *const *names, int n, int *out,
                      mb_err *err)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i])) {
            *out = i;
            return MB_OK;
        }
    char list[128] = "";
    for (int i = 0; i < n; i++) {
        strcat(list, i ? ", " : "");
        strcat(list, names[i]);
    }
    return mb_fail(err, MB_EINVAL, "%s='%s': expected one of %s", key, v, list);
}

/* alpha = 2r unless given; in double, as r may be any int64 before validation. */
static float default_alpha(int64_t r)
{
    return (float)(2.0 * (double)r);
}

/* T = B * S: whichever of the three was given last is reconciled with the ones given before,
 * so "T=128,B=4" and "B=4,T=128" both mean 4 sequences of 32 tokens. */
static mb_status set_tokens(mb_spec *s, char which, int64_t x, mb_err *err)
{
    /* B and S may each be huge while neither was checked against the other: multiply checked,
     * and only where T is read (B or S given after T divides it) */
    int64_t T = 0;
    unsigned m = s->set_mask;
    if (which != 'T' && (m & MB_SET_T) && !(m & (which == 'B' ? MB_SET_S : MB_SET_B)) &&
        mb_mul_i64(s->B, s->S, &T))
        return mb_fail(err, MB_EINVAL, "%c=%lld: T = B*S overflows int64 (B=%lld, S=%lld)",
                       which, (long long)x, (long long)s->B, (long long)s->S);
    if (which == 'T') {
        if (m & MB_SET_B) {
            if (s->B < 1 || x % s->B)
                return mb_fail(err, MB_EINVAL, "T=%lld is not a multiple of B=%lld", (long long)x,
                               (long long)s->B);
            s->S = x / s->B;
        } else if (m & MB_SET_S) {
            if (s->S < 1 || x % s->S)
                return mb_fail(err, MB_EINVAL, "T=%lld is not a multiple of S=%lld", (long long)x,
                               (long long)s->S);
            s->B = x / s->S;
        } else {
            s->B = 1;
            s->S = x;
        }
        s->set_mask |= MB_SET_T;
    } else if (which == 'B') {
        if ((m & MB_SET_T) && !(m & MB_SET_S)) {
            if (x < 1 || T % x)
                return mb_fail(err, MB_EINVAL, "B=%lld does not divide T=%lld", (long long)x,
                               (long long)T);
            s->S = T / x;
        }
        s->B = x;
        s->set_mask |= MB_SET_B;
    } else {
        if ((m & MB_SET_T) && !(m & MB_SET_B)) {
            if (x < 1 || T % x)
                return mb_fail(err, MB_EINVAL, "S=%lld does not divide T=%lld", (long long)x,
                               (long long)T);
            s->B = T / x;
        }
        s->S = x;
        s->set_mask |= MB_SET_S;
    }
    return MB_OK;
}

mb_status mb_spec_set(mb_spec *s, const char *key, const char *value, mb_err *err)
{
    mb_status st;
    int64_t x = 0;
    int i;
#define INT_KEY(name, field) \
    if (!strcmp(key, name)) { \
        if ((st = parse_int(key, value, &x, err))) return st; \
        s->field = x; \
        return MB_OK; \
    }
    if (!strcmp(key, "T") || !strcmp(key, "B") || !strcmp(key, "S")) {
        if ((st = parse_int(key, value, &x, err)))
            return st;
        return set_tokens(s, key[0], x, err);
    }
    if (!strcmp(key, "h")) {
        if ((st = parse_int(key, value, &x, err)))
            return st;
        s->h = x;
        if (!(s->set_mask & MB_SET_O))
            s->o = x;
        return MB_OK;
    }
    if (!strcmp(key, "o")) {
        if ((st = parse_int(key, value, &x, err)))
            return st;
        s->o = x;
        s->set_mask |= MB_SET_O;
        return MB_OK;
    }
    if (!strcmp(key, "r")) {
        if ((st = parse_int(key, value, &x, err)))
            return st;
        s->r = x;
        if (!(s->set_mask & MB_SET_ALPHA))
            s->alpha = default_alpha(x);
        return MB_OK;
    }
    INT_KEY("f", f)
    if (!strcmp(key, "E")) {
        if ((st = parse_int(key, value, &x, err)))
            return st;
        s->E = x;
        if ((s->set_mask & MB_SET_TOPP) && !(s->set_mask & MB_SET_K))
            s->k = x;   /* top-p without k: the set may hold every expert */
        return MB_OK;
    }
    if (!strcmp(key, "k")) {
        if ((st = parse_int(key, value, &x, err)))
            return st;
        s->k = x;
        s->set_mask |= MB_SET_K;
        return MB_OK;
    }
    INT_KEY("shared", shared)
    INT_KEY("tasks", tasks)
    if (!strcmp(key, "ep")) {
        if ((st = parse_int(key, value, &x, err)))
            return st;
        if (x < 1 || x > MB_MAX_EP)
            return mb_fail(err, MB_EINVAL, "ep=%s: expected 1..%d ranks", value, MB_MAX_EP);
        s->ep = (int)x;
        return MB_OK;
    }
    INT_KEY("te", te)
#undef INT_KEY
    if (!strcmp(key, "alpha")) {
        if ((st = parse_float(key, value, &s->alpha, err)))
            return st;
        s->set_mask |= MB_SET_ALPHA;
        return MB_OK;
    }
    if (!strcmp(key, "p")) {
        if ((st = parse_float(key, value, &s->p, err)))
            return st;
        /* p=-0 is p=0: the canonical form omits p=0, so -0 must not survive to differ from it */
        if (s->p == 0.0f)
            s->p = 0.0f;
        return MB_OK;
    }
    if (!strcmp(key, "aux") || !strcmp(key, "zloss")) {
        float *dst = key[0] == 'a' ? &s->aux : &s->zloss;
        if ((st = parse_float(key, value, dst, err)))
            return st;
        if (*dst == 0.0f)   /* -0 is 0, as for p */
            *dst = 0.0f;
        return MB_OK;
    }
    if (!strcmp(key, "opt")) {
        if ((st = pick(key, value, opt_names, MB_OPT_COUNT, &i, err)))
            return st;
        s->opt = (mb_opt)i;
        return MB_OK;
    }
    if (!strcmp(key, "seed"))
        return parse_u64(key, value, &s->seed, err);
    if (!strcmp(key, "cap")) {
        double c;
        if ((st = parse_double(key, value, &c, err)))
            return st;
        if (c < 0)
            return mb_fail(err, MB_EINVAL, "cap=%s: the capacity factor must be >= 0 (0 = "
                           "dropless)", value);
        s->cap = c;
        return MB_OK;
    }
    if (!strcmp(key, "topp")) {
        double P;
        if ((st = parse_double(key, value, &P, err)))
            return st;
        if (!(P > 0 && P <= 1))
            return mb_fail(err, MB_EINVAL, "topp=%s: the top-p threshold must be in (0, 1]",
                           value);
        s->topp = P;
        s->set_mask |= MB_SET_TOPP;
        if (!(s->set_mask & MB_SET_K))
            s->k = s->E;   /* k only bounds the set: default E (spec) */
        return MB_OK;
    }
    if (!strcmp(key, "route"))
        return parse_route(value, s, err);
    if (!strcmp(key, "act")) {
        if ((st = pick(key, value, act_names, 3, &i, err)))
            return st;
        s->act = (mb_act)i;
        return MB_OK;
    }
    if (!strcmp(key, "share")) {
        if ((st = pick(key, value, share_names, 3, &i, err)))
            return st;
        s->share = (mb_share)i;
        return MB_OK;
    }
    if (!strcmp(key, "shard")) {
        static const char *const shard_names[] = {"0", "1"};
        if ((st = pick(key, value, shard_names, 2, &i, err)))
            return st;
        s->shard = i;
        return MB_OK;
    }
    if (!strcmp(key, "dtype")) {
        mb_dtype d;
        if (mb_dtype_parse(value, &d) || !(mb_dtype_roles(d) & MB_DTYPE_ROLE_CASE))
            return mb_fail(err, MB_EINVAL, "dtype='%s': expected %s", value,
                           mb_dtype_role_names(MB_DTYPE_ROLE_CASE));
        s->dtype = d;
        return MB_OK;
    }
    if (!strcmp(key, "wq")) {
        mb_dtype d;
        if (!strcmp(value, "none")) {
            s->wq = MB_F32;   /* no quantisation */
            return MB_OK;
        }
        if (mb_dtype_parse(value, &d) || !(mb_dtype_roles(d) & MB_DTYPE_ROLE_WQ))
            return mb_fail(err, MB_EINVAL, "wq='%s': expected none|%s", value,
                           mb_dtype_role_names(MB_DTYPE_ROLE_WQ));
        s->wq = d;
        return MB_OK;
    }
    if (!strcmp(key, "mode")) {
        if ((st = pick(key, value, mode_names, MB_MODE_COUNT, &i, err)))
            return st;
        s->mode = (mb_mode)i;
        return MB_OK;
    }
    return mb_fail(err, MB_EINVAL,
                   "unknown key '%s' (keys: T B S h o f r E k alpha p act tasks te share shard seed "
                   "dtype wq mode aux zloss opt ep cap shared topp route)", key);
}

mb_status mb_spec_parse(const char *desc, mb_spec *s, mb_err *err)
{
    char buf[1024];
    if (!desc || strlen(desc) >= sizeof buf)
        return mb_fail(err, MB_EINVAL, "descriptor missing or longer than %zu characters",
                       sizeof buf - 1);
    strcpy(buf, desc);
    char *colon = strchr(buf, ':');
    if (colon)
        *colon = '\0';
    mb_variant_id v;
    if (mb_variant_parse(buf, &v)) {
        char names[256];
        mb_variant_names(names, sizeof names, ", ");
        return mb_fail(err, MB_EINVAL, "unknown variant '%s' (variants: %s)", buf, names);
    }
    mb_spec_default(s, v);
    if (!colon || colon[1] == '\0')
        return MB_OK;
    char *item = colon + 1;
    const char *seen[32];   /* keys given so far: there are 27 keys, so a 28th item repeats one */
    int n_seen = 0;
    for (;;) {
        char *comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        char *eq = strchr(item, '=');
        if (*item == '\0')
            return mb_fail(err, MB_EINVAL, "empty item in '%s' (stray comma?)", desc);
        if (!eq)
            return mb_fail(err, MB_EINVAL, "item '%s' is not key=value", item);
        *eq = '\0';
        /* a second value would silently replace the first */
        for (int i = 0; i < n_seen; i++)
            if (!strcmp(seen[i], item))
                return mb_fail(err, MB_EINVAL, "%s=%s: key '%s' is given twice in the descriptor",
                               item, eq + 1, item);
        mb_status st = mb_spec_set(s, item, eq + 1, err);
        if (st)
            return st;
        /* known but meaningless here: refuse rather than accept any value unchecked */
        const char *why = mb_routing_key_refusal(v, item);
        if (why)
            return mb_fail(err, MB_EINVAL, "%s=%s: %s", item, eq + 1, why);
        if (!mb_variant_uses(v, item))
            return mb_fail(err, MB_EINVAL, "%s=%s: %s does not use '%s' (its keys: %s,p,seed,"
                           "dtype,wq,mode,opt%s)", item, eq + 1, variants[v].name, item,
                           variants[v].fields, variants[v].routed ? ",aux,zloss" : "");
        if (n_seen < (int)(sizeof seen / sizeof *seen))
            seen[n_seen++] = item;
        if (!comma)
            break;
        item = comma + 1;
    }
    return MB_OK;
}

int mb_spec_format(const mb_spec *s, char *buf, size_t n)
{
    char out[512];
    int len = 0;
#define PUT(...) len += snprintf(out + len, sizeof out - (size_t)len, __VA_ARGS__)
    PUT("%s:", mb_variant_name(s->variant));
    /* Sequences matter (per-sequence gates) only when there is more than one. */
    if (s->B == 1)
        PUT("T=%lld", (long long)s->S);
    else
        PUT("B=%lld,S=%lld", (long long)s->B, (long long)s->S);
    PUT(",h=%lld", (long long)s->h);
    if (uses(s, "o"))
        PUT(",o=%lld", (long long)s->o);
    if (uses(s, "f"))
        PUT(",f=%lld", (long long)s->f);
    if (uses(s, "r"))
        PUT(",r=%lld", (long long)s->r);
    if (uses(s, "E"))
        PUT(",E=%lld", (long long)s->E);
    if (uses(s, "k"))
        PUT(",k=%lld", (long long)s->k);
    if (uses(s, "tasks"))
        PUT(",tasks=%lld,te=%lld", (long long)s->tasks, (long long)s->te);
    char fv[40];
    if (uses(s, "alpha") && s->alpha != default_alpha(s->r)) {
        fmt_float(fv, sizeof fv, s->alpha);
        PUT(",alpha=%s", fv);
    }
    if (s->p != 0.0f) {
        fmt_float(fv, sizeof fv, s->p);
        PUT(",p=%s", fv);
    }
    if (uses(s, "act") && s->act != MB_ACT_SILU)
        PUT(",act=%s", mb_act_name(s->act));
    if (uses(s, "share") && s->share != MB_SHARE_ALL)
        PUT(",share=%s", mb_share_name(s->share));
    if (uses(s, "shard") && s->shard)
        PUT(",shard=%d", s->shard);
    if (uses(s, "ep") && s->ep > 1)
        PUT(",ep=%d", s->ep);
    if (s->seed != 42)
        PUT(",seed=%" PRIu64, s->seed);
    if (s->dtype != MB_F32)
        PUT(",dtype=%s", mb_dtype_name(s->dtype));
    if (s->wq != MB_F32)
        PUT(",wq=%s", mb_dtype_name(s->wq));
    if (s->mode != MB_MODE_FORWARD)
        PUT(",mode=%s", mb_mode_name(s->mode));
    if (uses(s, "cap") && s->cap != 0) {
        char v[40];
        fmt_double(v, sizeof v, s->cap);
        PUT(",cap=%s", v);
    }
    if (uses(s, "shared") && s->shared)
        PUT(",shared=%lld", (long long)s->shared);
    if (uses(s, "topp") && s->topp != 0) {
        char v[40];
        fmt_double(v, sizeof v, s->topp);
        PUT(",topp=%s", v);
    }
    if (uses(s, "route") && s->route != MB_ROUTE_LEARNED) {
        char v[48];
        mb_spec_route_format(s, v, sizeof v);
        PUT(",route=%s", v);
    }
    if (mb_variant_routed(s->variant) && s->aux != mb_default_aux(s->variant))
        PUT(",aux=%.9g", (double)s->aux);
    if (mb_variant_routed(s->variant) && s->zloss != 0.0f)
        PUT(",zloss=%.9g", (double)s->zloss);
    if (s->opt != MB_OPT_NONE)
        PUT(",opt=%s", mb_opt_name(s->opt));
#undef PUT
    return snprintf(buf, n, "%s", out);
}
