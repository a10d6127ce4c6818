/* The variant table is complete at run time too: every row has its descriptor columns, its
 * name parses back to its id, its gate and output widths follow its columns, and its reference
 * and provider form run (the dispatch tables are generated from the same rows, so a NULL entry
 * would crash here). And the direction axis: mode parses, formats and validates, and a train
 * case is unsupported everywhere with the one reason, never a silent forward. */
#include <string.h>
#include "check.h"
#include "moebench/moebench.h"
#include "../kernels/core/variant_shape.h"

static void test_rows(void)
{
    CHECK(mb_variant_desc_of(MB_VARIANT_COUNT) == NULL);
    char names[256];
    CHECK(mb_variant_names(names, sizeof names, " ") < (int)sizeof names);
    for (int i = 0; i < MB_VARIANT_COUNT; i++) {
        mb_variant_id v = (mb_variant_id)i, back;
        const mb_variant_desc *d = mb_variant_desc_of(v);
        CHECK_MSG(d && d->name && *d->name && d->fields && *d->fields && d->summary &&
                      *d->summary, "variant %d has an empty row", i);
        if (!d || !d->name)
            continue;
        CHECK_MSG(mb_variant_parse(d->name, &back) == 0 && back == v, "%s does not parse back",
                  d->name);
        CHECK_MSG(strstr(names, d->name) != NULL, "%s not in the names list", d->name);
        CHECK(mb_variant_routed(v) == d->routed);
        /* routed variants report a routing, not a gate */
        CHECK_MSG(!(d->routed && d->gate != MB_GATE_NONE), "%s: routed with a gate", d->name);
        mb_spec s;
        mb_spec_default(&s, v);
        int64_t g[2];
        CHECK(mb_spec_gate_dims(&s, g) == (d->gate != MB_GATE_NONE));
        /* the inputs column matches the fields that feed them */
        if (d->inputs == MB_IN_TASK)
            CHECK_MSG(mb_variant_uses(v, "tasks"), "%s: task ids without tasks", d->name);
    }
}

/* A tiny case of every variant through naive and blas (when built): the reference and the
 * provider-form dispatch of each row. */
static void test_dispatch(void)
{
    static const char *const tiny = "T=4,h=16,o=8,f=16,r=4,E=4,k=2,tasks=2,te=4";
    for (int i = 0; i < MB_VARIANT_COUNT; i++) {
        const mb_variant_desc *d = mb_variant_desc_of((mb_variant_id)i);
        char desc[256] = "";
        /* only the keys this variant uses */
        int n = snprintf(desc, sizeof desc, "%s:", d->name);
        char keys[128];
        snprintf(keys, sizeof keys, "%s", tiny);
        int first = 1;
        for (char *kv = strtok(keys, ","); kv; kv = strtok(NULL, ",")) {
            char key[16];
            snprintf(key, sizeof key, "%.*s", (int)(strchr(kv, '=') - kv), kv);
            if (mb_variant_uses((mb_variant_id)i, key)) {
                n += snprintf(desc + n, sizeof desc - (size_t)n, "%s%s", first ? "" : ",", kv);
                first = 0;
            }
        }
        mb_spec s;
        mb_err err;
        mb_err_clear(&err);
        CHECK_MSG(mb_spec_parse(desc, &s, &err) == MB_OK, "%s: %s", desc, err.msg);
        if (i == MB_MOELORA)
            s.r = 4;   /* r % E == 0 */
        CHECK_MSG(mb_spec_validate(&s, 0, &err) == MB_OK, "%s: %s", desc, err.msg);
        mb_weights w;
        mb_inputs in;
        mb_tensor y = {0};
        mb_forward_info info;
        CHECK(mb_weights_create(&s, &w, &err) == MB_OK);
        CHECK(mb_inputs_create(&s, &in, &err) == MB_OK);
        CHECK(mb_output_alloc(&s, &y, &err) == MB_OK);
        CHECK(mb_forward_info_alloc(&s, &info, &err) == MB_OK);
        CHECK_MSG((info.gate != NULL) == (d->gate != MB_GATE_NONE), "%s: gate", d->name);
        /* the shape column: its element count is its layout's, and it has a merged cost and
         * merged buffers exactly when the merge column gives a rule */
        const mb_variant_shape *sh = mb_variant_shape_of((mb_variant_id)i);
        int64_t wbytes = -1;
        CHECK(mb_spec_bytes(&s, &wbytes, NULL, &err) == MB_OK);
        CHECK_MSG(wbytes == mb_weights_bytes(&w), "%s: element count %lld bytes, layout %lld",
                  d->name, (long long)wbytes, (long long)mb_weights_bytes(&w));
        CHECK_MSG((sh->merged_cost != NULL) == (sh->mem_merged != NULL), "%s: merged", d->name);
        const mb_impl *merged = mb_impl_find("merged");
        if (merged && mb_impl_find("blas") && !mb_impl_find("blas")->unsupported(&s))
            CHECK_MSG((merged->unsupported(&s) == NULL) == (sh->merged_cost != NULL),
                      "%s: merge column and merged cost disagree", d->name);
        const char *impls[] = {"naive", "blas", "onednn"};
        for (int k = 0; k < 3; k++) {
            const mb_impl *impl = mb_impl_find(impls[k]);
            if (!impl || impl->unsupported(&s))
                continue;   /* built without it */
            mb_status st = mb_run_once(impl, &s, &w, &in, &y, &info, &err);
            CHECK_MSG(st == MB_OK, "%s %s: %s", desc, impls[k], err.msg);
        }
        mb_forward_info_free(&info);
        mb_tensor_free(&y);
        mb_inputs_free(&in);
        mb_weights_free(&w);
    }
}

static void test_mode(void)
{
    mb_spec s;
    mb_err err;
    mb_err_clear(&err);
    CHECK(mb_spec_parse("lora:T=4,h=16,r=2", &s, &err) == MB_OK && s.mode == MB_MODE_FORWARD);
    CHECK(mb_spec_parse("lora:T=4,h=16,r=2,mode=forward", &s, &err) == MB_OK &&
          s.mode == MB_MODE_FORWARD);
    char buf[256];
    mb_spec_format(&s, buf, sizeof buf);
    CHECK_MSG(!strstr(buf, "mode"), "forward is the default, not written: %s", buf);
    CHECK(mb_spec_parse("router:T=4,h=16,E=4,k=2,mode=train", &s, &err) == MB_OK &&
          s.mode == MB_MODE_TRAIN);
    mb_spec_format(&s, buf, sizeof buf);
    CHECK_MSG(strstr(buf, ",mode=train"), "%s", buf);
    mb_spec back;
    CHECK(mb_spec_parse(buf, &back, &err) == MB_OK && back.mode == MB_MODE_TRAIN);
    CHECK(mb_spec_validate(&s, 0, &err) == MB_OK);   /* valid: skipped, not refused */
    CHECK(mb_spec_parse("lora:T=4,mode=backward", &s, &err) == MB_EINVAL &&
          strstr(err.msg, "forward, train"));
    CHECK(!strcmp(mb_mode_name(MB_MODE_TRAIN), "train"));
    CHECK(!strcmp(mb_mode_name(MB_MODE_FORWARD), "forward"));

    /* every implementation with the train hooks (naive, and blas, onednn, avx512 through the
     * provider: test_lib_train checks them) is supported; merged says why it cannot train; any
     * other is unsupported with the one reason; and mb_run_once (one forward) refuses a train
     * case */
    CHECK(mb_spec_parse("lora:T=4,h=16,r=2,mode=train", &s, &err) == MB_OK);
    CHECK(mb_impl_naive.forward_train && mb_impl_naive.backward);
    for (int i = 0; i < mb_impl_count(); i++) {
        const mb_impl *impl = mb_impl_at(i);
        if (impl->forward_train && impl->backward) {
            CHECK(mb_impl_mode_unsupported(impl, &s) == NULL);
            continue;
        }
        const char *why = impl->unsupported(&s);
        if (!strcmp(impl->name, "merged")) {
            CHECK(why && !strcmp(why, "merged weights have no adapter to train"));
            continue;
        }
        CHECK_MSG(why && (strstr(why, MB_MODE_TRAIN_TODO) ||
                          (mb_spec_parse("lora:T=4,h=16,r=2", &back, &err) == MB_OK &&
                           impl->unsupported(&back))),
                  "%s: train case not refused with the reason (%s)", impl->name,
                  why ? why : "supported");
        CHECK(!strcmp(mb_impl_mode_unsupported(impl, &s), MB_MODE_TRAIN_TODO));
    }
    CHECK(mb_impl_naive.unsupported(&s) == NULL);
    CHECK(mb_impl_naive.forward_train && mb_impl_naive.backward);
    mb_weights w;
    mb_inputs in;
    mb_tensor y = {0};
    CHECK(mb_weights_create(&s, &w, &err) == MB_OK && mb_inputs_create(&s, &in, &err) == MB_OK &&
          mb_output_alloc(&s, &y, &err) == MB_OK);
    CHECK(mb_run_once(&mb_impl_naive, &s, &w, &in, &y, NULL, &err) == MB_EUNSUPPORTED &&
          strstr(err.msg, "mode=train is a train step"));
    mb_tensor_free(&y);
    mb_inputs_free(&in);
    mb_weights_free(&w);
}

int main(void)
{
    test_rows();
    test_dispatch();
    test_mode();
    return mb_test_result("test_registry_coverage");
}
