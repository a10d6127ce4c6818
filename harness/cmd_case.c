/* `moebench case DESCRIPTOR [--impl LIST]`: one case, thin and self-contained: the naive
 * reference's output summary (shape, checksum, sum, routing statistics) and, for each listed
 * implementation, its error against naive and pass/fail. The full runner lives in cmd_run.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "moebench/moebench.h"

/* MemAvailable in bytes (0 when unknown: no budget). */
static int64_t mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[256];
    long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return (int64_t)kb * 1024;
}

static int is_routed(mb_variant_id v)
{
    return v == MB_MIXLORA || v == MB_SPARSE_MLP || v == MB_ROUTER;
}

static void print_routing(const mb_routing *r)
{
    printf("counts:");
    for (int64_t e = 0; e < r->E; e++)
        printf(" %" PRId64, r->counts[e]);
    printf("\nload_max: %.6g\naux_loss: %.9g\nz_loss: %.9g\n", mb_routing_load_max(r), r->aux_loss,
           r->z_loss);
}

/* Runs impl, compares with the reference; returns 0 on pass or skip, 1 on failure. */
static int check_impl(const mb_impl *impl, const char *desc, const mb_spec *s, const mb_weights *w,
                      const mb_inputs *in, const mb_tensor *ref, const mb_forward_info *ref_info)
{
    const char *why = impl->unsupported ? impl->unsupported(s) : "no unsupported() hook";
    if (why) {
        printf("%s: skipped: %s\n", impl->name, why);
        return 0;
    }
    mb_err err;
    mb_err_clear(&err);
    mb_tensor y = {0};
    mb_forward_info info;
    int bad = 1;
    if (mb_output_alloc(s, &y, &err) || mb_forward_info_alloc(s, &info, &err)) {
        printf("%s: error: %s\n", impl->name, err.msg);
        mb_tensor_free(&y);
        return 1;
    }
    mb_status st = mb_run_once(impl, s, w, in, &y, &info, &err);
    int64_t bad_token = -1;
    if (st == MB_EUNSUPPORTED) {
        printf("%s: skipped: %s\n", impl->name, err.msg);
        bad = 0;
    } else if (st) {
        printf("%s: error: %s: %s\n", impl->name, mb_status_name(st), err.msg);
    } else if (is_routed(s->variant) && mb_routing_equal(&info.routing, &ref_info->routing,
                                                         &bad_token)) {
        printf("%s: fail: routing differs from naive at token %" PRId64 "\n", impl->name,
               bad_token);
    } else {
        mb_cmp c = mb_compare(s, &y, ref);
        printf("%s: max_abs_err %.3g max_rel_err %.3g (atol %.3g rtol %.3g) %s", impl->name,
               c.max_abs_err, c.max_rel_err, c.atol, c.rtol, c.pass ? "pass" : "fail");
        if (!c.pass)
            printf(" (first bad element %" PRId64 ")", c.first_bad);
        printf("\n");
        bad = !c.pass;
    }
    if (bad)
        printf("repro: moebench case '%s' --impl %s\n", desc, impl->name);
    mb_forward_info_free(&info);
    mb_tensor_free(&y);
    return bad;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: moebench case DESCRIPTOR [--impl LIST]\n"
                 "  DESCRIPTOR  variant:key=value,...  e.g. 'lora:T=16,h=4096'\n"
                 "  --impl LIST comma-separated implementations to check against naive "
                 "(or 'all')\n");
}

int mb_cmd_case(int argc, char **argv)
{
    const char *desc = NULL, *impls = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--impl") && i + 1 < argc) {
            impls = argv[++i];
        } else if (!strncmp(argv[i], "--impl=", 7)) {
            impls = argv[i] + 7;
        } else if (argv[i][0] != '-' && !desc) {
            desc = argv[i];
        } else {
            fprintf(stderr, "moebench case: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!desc) {
        usage(stderr);
        return 2;
    }
    mb_spec s;
    mb_err err;
    mb_err_clear(&err);
    if (mb_spec_parse(desc, &s, &err) || mb_spec_validate(&s, mem_available(), &err)) {
        fprintf(stderr, "moebench: invalid case '%s': %s\n", desc, err.msg);
        return 2;
    }
    /* Check the --impl names before the (possibly long) reference run. */
    char list[512] = "";
    if (impls) {
        if (!strcmp(impls, "all")) {
            for (int i = 0; i < mb_impl_count(); i++)
                if (strcmp(mb_impl_at(i)->name, "naive")) {
                    strcat(list, *list ? "," : "");
                    strncat(list, mb_impl_at(i)->name, sizeof list - strlen(list) - 2);
                }
        } else {
            snprintf(list, sizeof list, "%s", impls);
        }
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", list);
        for (char *tok = strtok(tmp, ","); tok; tok = strtok(NULL, ","))
            if (!mb_impl_find(tok)) {
                fprintf(stderr, "moebench case: unknown implementation '%s' (see moebench list)\n",
                        tok);
                return 2;
            }
    }
    char canon[512];
    mb_spec_format(&s, canon, sizeof canon);

    mb_weights w;
    mb_inputs in;
    mb_tensor y = {0};
    mb_forward_info info;
    memset(&info, 0, sizeof info);
    int rc = 1;
    if (mb_weights_create(&s, &w, &err)) {
        fprintf(stderr, "moebench case: weights: %s\n", err.msg);
        return 1;
    }
    if (mb_inputs_create(&s, &in, &err) || mb_output_alloc(&s, &y, &err) ||
        mb_forward_info_alloc(&s, &info, &err)) {
        fprintf(stderr, "moebench case: %s\n", err.msg);
        goto out;
    }
    const mb_impl *naive = mb_impl_find("naive");
    if (!naive || mb_run_once(naive, &s, &w, &in, &y, &info, &err)) {
        fprintf(stderr, "moebench case: naive reference failed: %s\n",
                naive ? err.msg : "not registered");
        goto out;
    }
    printf("case: %s\n", canon);
    printf("output: [%" PRId64 ", %" PRId64 "] %s\n", y.shape[0], y.shape[1],
           mb_dtype_name(y.dtype));
    printf("checksum: %016" PRIx64 "\n", mb_tensor_hash(&y));
    printf("sum: %.9g\n", mb_tensor_sum(&y));
    if (is_routed(s.variant))
        print_routing(&info.routing);
    rc = 0;
    if (*list)
        for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
            if (strcmp(tok, "naive"))
                rc |= check_impl(mb_impl_find(tok), canon, &s, &w, &in, &y, &info);
out:
    mb_forward_info_free(&info);
    mb_tensor_free(&y);
    mb_inputs_free(&in);
    mb_weights_free(&w);
    return rc;
}
