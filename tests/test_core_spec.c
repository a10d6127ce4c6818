/* Spec parsing, canonical descriptors and validation reasons. */
#include <stdint.h>
#include <math.h>
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"

static int same_spec(const mb_spec *a, const mb_spec *b)
{
    return a->variant == b->variant && a->B == b->B && a->S == b->S && a->h == b->h &&
           a->o == b->o && a->f == b->f && a->r == b->r && a->E == b->E && a->k == b->k &&
           a->tasks == b->tasks && a->te == b->te && a->alpha == b->alpha && a->p == b->p &&
           a->act == b->act && a->share == b->share && a->shard == b->shard &&
           a->seed == b->seed && a->dtype == b->dtype && a->mode == b->mode &&
           a->aux == b->aux && a->zloss == b->zloss && a->opt == b->opt;
}

static void round_trip(const char *desc)
{
    mb_spec a, b;
    mb_err err;
    mb_err_clear(&err);
    CHECK_MSG(mb_spec_parse(desc, &a, &err) == MB_OK, "%s: %s", desc, err.msg);
    char buf[512];
    int n = mb_spec_format(&a, buf, sizeof buf);
    CHECK(n > 0 && n < (int)sizeof buf);
    CHECK_MSG(mb_spec_parse(buf, &b, &err) == MB_OK, "%s -> %s: %s", desc, buf, err.msg);
    CHECK_MSG(same_spec(&a, &b), "%s -> %s does not parse back to the same spec", desc, buf);
    char buf2[512];
    mb_spec_format(&b, buf2, sizeof buf2);
    CHECK_MSG(!strcmp(buf, buf2), "format is not canonical: %s vs %s", buf, buf2);
}

/* Parse + validate; checks refusal and that the reason contains `needle`. */
static void refused(const char *desc, int64_t budget, const char *needle)
{
    mb_spec s;
    mb_err err;
    mb_err_clear(&err);
    mb_status st = mb_spec_parse(desc, &s, &err);
    if (st == MB_OK)
        st = mb_spec_validate(&s, budget, &err);
    CHECK_MSG(st != MB_OK, "'%s' was accepted", desc);
    CHECK_MSG(strstr(err.msg, needle) != NULL, "'%s': reason '%s' lacks '%s'", desc, err.msg,
              needle);
}

static void accepted(const char *desc)
{
    mb_spec s;
    mb_err err;
    mb_err_clear(&err);
    mb_status st = mb_spec_parse(desc, &s, &err);
    if (st == MB_OK)
        st = mb_spec_validate(&s, 0, &err);
    CHECK_MSG(st == MB_OK, "'%s' refused: %s", desc, err.msg);
}

static mb_spec parsed(const char *desc)
{
    mb_spec s;
    mb_err err;
    mb_status st = mb_spec_parse(desc, &s, &err);
    CHECK_MSG(st == MB_OK, "'%s': %s", desc, err.msg);
    return s;
}

static void test_defaults_and_derived(void)
{
    mb_spec s = parsed("mixlora");
    CHECK(s.variant == MB_MIXLORA && s.h == 4096 && s.f == 11008 && s.r == 16 && s.E == 8 &&
          s.k == 2 && s.alpha == 32.0f && s.B == 1 && s.S == 1 && s.seed == 42 &&
          s.share == MB_SHARE_ALL && s.act == MB_ACT_SILU && s.dtype == MB_F32);
    s = parsed("lora:r=8");
    CHECK(s.alpha == 16.0f);                       /* alpha follows r unless given */
    s = parsed("lora:alpha=5,r=8");
    CHECK(s.alpha == 5.0f && s.r == 8);
    s = parsed("lora:h=64");
    CHECK(s.o == 64);                              /* o follows h unless given */
    s = parsed("lora:o=32,h=64");
    CHECK(s.o == 32 && s.h == 64);
    s = parsed("lora:T=128");
    CHECK(s.B == 1 && s.S == 128 && mb_spec_T(&s) == 128);
    s = parsed("moelora:T=128,B=4");
    CHECK(s.B == 4 && s.S == 32);
    s = parsed("moelora:B=4,T=128");
    CHECK(s.B == 4 && s.S == 32);
    s = parsed("moelora:B=4,S=8");
    CHECK(s.B == 4 && s.S == 8 && mb_spec_T(&s) == 32);
    s = parsed("sparse_mlp:f=64,E=4,shard=1");
    CHECK(mb_spec_expert_width(&s) == 16 && mb_spec_out_width(&s) == s.h);
    s = parsed("router:E=6");
    CHECK(mb_spec_out_width(&s) == 6);
    s = parsed("lora:o=7");
    CHECK(mb_spec_out_width(&s) == 7);
}

static void test_round_trips(void)
{
    for (int v = 0; v < MB_NUM_VARIANTS; v++) {
        mb_variant_id id;
        CHECK(mb_variant_parse(mb_variant_name((mb_variant_id)v), &id) == 0 && (int)id == v);
        CHECK(strlen(mb_variant_fields((mb_variant_id)v)) > 0);
        CHECK(strlen(mb_variant_summary((mb_variant_id)v)) > 0);
        round_trip(mb_variant_name((mb_variant_id)v));
    }
    round_trip("lora:T=16,h=64,o=32,r=4,alpha=3.25,seed=7");
    round_trip("mlp_lora:B=2,S=5,h=64,f=96,r=8,act=gelu");
    round_trip("molora:T=3,h=48,r=2,E=5,alpha=0.1");
    round_trip("moelora:B=3,S=4,h=32,o=16,r=8,E=4,tasks=5,te=12");
    round_trip("mixlora:T=9,h=32,f=48,r=4,E=4,k=3,share=none,act=relu");
    round_trip("mixlora:T=9,h=32,f=48,r=4,E=4,k=1,share=gate_up,alpha=32");
    round_trip("mor1e:B=2,S=3,h=16,o=24,r=4,seed=18446744073709551615");
    round_trip("sparse_mlp:T=5,h=16,f=32,E=4,k=2,shard=1");
    round_trip("router:T=100,h=16,E=16,k=4,dtype=bf16");
    round_trip("lora:p=0.5");   /* invalid later, but still describable */
    round_trip("lora:T=4,h=32,r=4,p=0.25,mode=train,opt=adamw");
    round_trip("mixlora:T=4,h=32,f=48,r=4,E=4,k=2,p=0.1,mode=train,aux=0.5,zloss=0.001");
    round_trip("router:T=4,h=16,E=4,k=2,mode=train,aux=0,zloss=1");
    round_trip("sparse_mlp:T=4,h=16,f=32,E=4,k=2,mode=train,aux=0.01");
    /* floats print as the shortest decimal that reads back the same (not 0.100000001) */
    mb_spec f;
    mb_err err;
    char buf[512];
    CHECK(mb_spec_parse("lora:T=4,h=32,r=4,alpha=0.3,p=0.1,mode=train", &f, &err) == MB_OK);
    mb_spec_format(&f, buf, sizeof buf);
    CHECK_MSG(strstr(buf, ",alpha=0.3,") && strstr(buf, ",p=0.1,"), "%s", buf);
    round_trip("lora:T=4,h=32,r=4,alpha=0.30000001,mode=train");
}

/* The train keys (spec "Training step"): defaults, canonical form, what forward refuses. */
static void test_train_keys(void)
{
    mb_spec s = parsed("mixlora:T=4,h=32,f=48,r=4,E=4,k=2,mode=train");
    CHECK(s.aux == 0.01f && s.zloss == 0.0f && s.opt == MB_OPT_NONE && s.p == 0.0f);
    s = parsed("lora:T=4,h=32,r=4");
    CHECK(s.aux == 0.0f && s.zloss == 0.0f && s.opt == MB_OPT_NONE);
    s = parsed("router:T=4,h=16,E=4,k=2,mode=train,aux=0.25,zloss=0.5,opt=adamw,p=0");
    CHECK(s.aux == 0.25f && s.zloss == 0.5f && s.opt == MB_OPT_ADAMW && s.mode == MB_MODE_TRAIN);
    char buf[256];
    mb_spec_format(&s, buf, sizeof buf);
    CHECK_MSG(strstr(buf, ",aux=0.25,zloss=0.5,opt=adamw") != NULL, "format: %s", buf);
    s = parsed("router:T=4,h=16,E=4,k=2,mode=train,aux=0.01");   /* the default is not written */
    mb_spec_format(&s, buf, sizeof buf);
    CHECK_MSG(!strstr(buf, "aux") && !strstr(buf, "opt"), "format: %s", buf);
    CHECK(!strcmp(mb_opt_name(MB_OPT_ADAMW), "adamw") && !strcmp(mb_opt_name(MB_OPT_NONE), "none"));

    accepted("lora:T=4,h=32,r=4,mode=train,p=0.1,opt=adamw");
    accepted("mixlora:T=4,h=32,f=48,r=4,E=4,k=2,mode=train,p=0.5,aux=0,zloss=0.001");
    accepted("router:T=4,h=16,E=4,k=2,mode=train,aux=1,zloss=1");
    accepted("lora:T=4,h=32,r=4,mode=train,p=0.999");
    refused("lora:T=4,h=32,r=4,p=0.1", 0, "only applies to mode=train");
    refused("lora:T=4,h=32,r=4,mode=train,p=1", 0, "p=1: dropout must be in [0, 1)");
    refused("lora:T=4,h=32,r=4,mode=train,p=1.5", 0, "must be in [0, 1)");
    refused("lora:T=4,h=32,r=4,mode=train,p=-0.1", 0, "must be in [0, 1)");
    refused("sparse_mlp:T=4,h=16,f=32,E=4,k=2,mode=train,p=0.1", 0, "no LoRA");
    refused("router:T=4,h=16,E=4,k=2,mode=train,p=0.1", 0, "no LoRA");
    refused("router:T=4,h=16,E=4,k=2,mode=train,aux=-1", 0, "aux=-1");
    refused("mixlora:T=4,h=32,f=48,r=4,E=4,k=2,mode=train,zloss=-0.5", 0, "zloss=-0.5");
    refused("router:T=4,h=16,E=4,k=2,aux=0.1", 0, "aux only applies to mode=train");
    refused("router:T=4,h=16,E=4,k=2,zloss=0.1", 0, "zloss only applies to mode=train");
    refused("lora:T=4,h=32,r=4,opt=adamw", 0, "opt only applies to mode=train");
    refused("lora:T=4,h=32,r=4,mode=train,opt=sgd", 0, "opt='sgd': expected one of none, adamw");
    refused("lora:T=4,h=32,r=4,mode=train,aux=0.1", 0, "lora does not use 'aux'");
    refused("mor1e:T=4,h=32,r=4,mode=train,zloss=0.1", 0, "does not use 'zloss'");
    refused("router:T=4,h=16,E=4,k=2,mode=train,aux=nan", 0, "aux=nan");
}

static void test_refusals(void)
{
    refused("router:E=8,k=9", 0, "k=9 > E=8");
    refused("mixlora:E=2,k=3,h=64,f=64,r=4", 0, "k=3");
    refused("router:k=0", 0, "k=0");
    refused("moelora:r=10,E=4,h=64", 0, "r=10");
    refused("sparse_mlp:f=30,E=4,shard=1,h=16", 0, "f=30");
    refused("lora:h=0", 0, "h=0");
    refused("lora:T=0", 0, "T=0");
    refused("lora:B=0", 0, "B=0");
    refused("lora:o=0", 0, "o=0");
    refused("lora:r=0", 0, "r=0");
    refused("molora:E=0", 0, "E=0");
    refused("moelora:tasks=0", 0, "tasks=0");
    refused("moelora:te=0", 0, "te=0");
    refused("lora:h=-4", 0, "h=-4");
    refused("lora:h=12x", 0, "h='12x'");
    refused("lora:h=", 0, "h=''");
    refused("lora:h=1.5", 0, "h='1.5'");
    refused("lora:h=99999999999999999999", 0, "h=99999999999999999999");
    refused("lora:alpha=abc", 0, "alpha='abc'");
    refused("lora:alpha=inf", 0, "alpha=inf");
    refused("lora:seed=-1", 0, "seed='-1'");
    refused("lora:h=1099511627776", 0, "overflow");          /* h = 2^40: h*h*4 bytes */
    refused("lora:B=4294967296,S=4294967296", 0, "overflow");
    refused("lora:r=65,h=64", 0, "r=65");
    refused("lora:r=33,h=64,o=32", 0, "o=32");
    refused("mlp_lora:r=40,h=64,f=32", 0, "f=32");
    refused("mixlora:r=40,h=32,f=64,E=2,k=1", 0, "h=32");
    refused("lora:p=0.1", 0, "dropout must be 0");
    /* bf16 is a valid case that no implementation computes in yet: each implementation skips
     * it with its reason (test_core_dtype.c), validation does not refuse it (issue 11) */
    accepted("lora:T=4,h=32,r=4,dtype=bf16");
    refused("lora:dtype=f16", 0, "dtype='f16': expected f32|bf16");
    refused("lora:dtype=i32", 0, "dtype='i32'");
    refused("lora:dtype=int8", 0, "dtype='int8'");   /* int8 is a wq type, not a case dtype */
    refused("lora:act=tanh", 0, "act='tanh'");
    refused("mixlora:share=some", 0, "share='some'");
    refused("sparse_mlp:shard=2", 0, "shard='2'");
    refused("lora:q=3", 0, "unknown key 'q'");
    refused("lora:h", 0, "'h'");
    refused("lora:h=4,,r=2", 0, "empty item");
    refused("lorax:h=4", 0, "unknown variant 'lorax'");
    refused("moelora:T=10,B=4", 0, "T=10");
    refused("lora:h=4096", 1000000, "budget");
    /* A key the variant does not use is refused whatever its value (issue 12, item 6). */
    refused("sparse_mlp:T=2,h=16,f=32,E=4,k=2,r=0", 0, "sparse_mlp does not use 'r'");
    refused("mor1e:T=2,h=16,o=16,r=4,k=4294967296,f=99999999999", 0, "mor1e does not use 'k'");
    refused("mor1e:T=2,h=16,r=4,alpha=3", 0, "does not use 'alpha'");
    refused("router:h=16,E=4,k=2,o=4", 0, "router does not use 'o'");
    /* A key given twice is refused, not "last one wins" (item 6). */
    refused("lora:T=4,h=16,r=2,T=8", 0, "'T' is given twice");
    refused("lora:seed=1,seed=2", 0, "'seed' is given twice");
    accepted("router:T=3,h=8,E=4,k=4");
    accepted("moelora:B=2,S=2,h=16,r=8,E=8,tasks=3,te=4");
    accepted("lora:h=64,r=64");
}

static void test_bytes(void)
{
    mb_spec s = parsed("lora:T=2,h=3,o=5,r=1");
    int64_t w = 0, io = 0;
    mb_err err;
    CHECK(mb_spec_bytes(&s, &w, &io, &err) == MB_OK);
    CHECK(w == 4 * (15 + 3 + 5));
    CHECK(io == 4 * (2 * 3 + 2 * 5));
    s = parsed("moelora:B=2,S=1,h=4,o=4,r=2,E=2,tasks=3,te=5");
    CHECK(mb_spec_bytes(&s, &w, &io, &err) == MB_OK);
    CHECK(w == 4 * (16 + 8 + 8 + 4 * 5 + 2 * 5));
    CHECK(io == 4 * (2 * 4 + 2 * 4 + 2));
    /* Exactly at the budget passes, one byte less refuses. */
    s = parsed("lora:T=2,h=3,o=5,r=1");
    CHECK(mb_spec_validate(&s, 4 * (23 + 16), &err) == MB_OK);
    CHECK(mb_spec_validate(&s, 4 * (23 + 16) - 1, &err) == MB_ENOMEM);
}

/* Fuzzed descriptors that were undefined behaviour (UBSan aborted; issue 12, item 5): every
 * size is checked int64 arithmetic before use. */
static void test_overflow_is_an_error(void)
{
    mb_spec s;
    mb_err err;
    mb_err_clear(&err);
    /* alpha = 2r was computed as int64 2 * r */
    CHECK(mb_spec_parse("lora:r=9223372036854775807", &s, &err) == MB_OK);
    CHECK_MSG(s.alpha == (float)(2.0 * 9223372036854775807.0), "alpha = %g", (double)s.alpha);
    CHECK(mb_spec_validate(&s, 0, &err) == MB_EINVAL && strstr(err.msg, "r=9223372036854775807"));
    refused("lora:r=9223372036854775807", 0, "r=9223372036854775807");
    char buf[512];
    CHECK(mb_spec_format(&s, buf, sizeof buf) > 0 && !strstr(buf, "alpha"));
    /* p=-0 (found by fuzz_descriptor): it is p=0, so the canonical form (which omits p=0)
     * parses back to the same spec, bit for bit */
    CHECK(mb_spec_parse("sparse_mlp:p=-0", &s, &err) == MB_OK);
    CHECK_MSG(!signbit(s.p), "p=-0 kept its sign");
    /* B given again after B and S: the old code multiplied B * S first */
    refused("lora:B=4294967296,S=4294967296,B=2", 0, "'B' is given twice");
    mb_spec_default(&s, MB_LORA);
    CHECK(mb_spec_set(&s, "B", "4294967296", &err) == MB_OK);
    CHECK(mb_spec_set(&s, "S", "4294967296", &err) == MB_OK);
    CHECK(mb_spec_set(&s, "B", "2", &err) == MB_OK && s.B == 2);
    /* T, then S: B = T / S; then B = 2^32 while S = 2^32 (T = 2^64); a later S reads T */
    mb_spec_default(&s, MB_LORA);
    CHECK(mb_spec_set(&s, "T", "8", &err) == MB_OK);
    s.B = 4294967296;   /* as a sequence of sets could leave it */
    s.S = 4294967296;
    mb_err_clear(&err);
    CHECK(mb_spec_set(&s, "S", "2", &err) == MB_EINVAL && strstr(err.msg, "overflows"));
    CHECK(mb_spec_T(&s) == INT64_MAX);   /* saturated, never wrapped */
    refused("lora:B=4294967296,S=4294967296", 0, "overflow");
    /* every byte count is checked: 3 * E and tasks + 1 overflowed before validation bounds them */
    int64_t w, io;
    mb_spec_default(&s, MB_MIXLORA);
    s.E = INT64_MAX / 2;
    CHECK(mb_spec_bytes(&s, &w, &io, &err) == MB_EINVAL && strstr(err.msg, "overflow"));
    mb_spec_default(&s, MB_SPARSE_MLP);
    s.E = INT64_MAX / 2;
    CHECK(mb_spec_bytes(&s, &w, &io, &err) == MB_EINVAL);
    mb_spec_default(&s, MB_MOELORA);
    s.tasks = INT64_MAX;
    CHECK(mb_spec_bytes(&s, &w, &io, &err) == MB_EINVAL);
    refused("moelora:tasks=9223372036854775807", 0, "tasks=9223372036854775807");
}

int main(void)
{
    test_overflow_is_an_error();
    test_defaults_and_derived();
    test_round_trips();
    test_refusals();
    test_train_keys();
    test_bytes();
    return mb_test_result("test_core_spec");
}
