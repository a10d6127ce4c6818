/* libFuzzer target: the run.json readers. The input is a run.json next to a fixed valid
 * results.csv, read by the loader of `plot` and `compare` (mb_results_load; on success the
 * provenance lookups of the chart footnotes and the roofline ceilings it holds) and by --resume's
 * identity check (mb_resume_check_run). The roofline "source" file named in run.json is not
 * opened here: that would read whatever path the input names. */
#include "fuzz_util.h"
#include "plot_results.h"
#include "resume.h"
#include "roofline.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char *csv = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&csv, &n);
    fz_require(f != NULL, "open_memstream");
    mb_csv_write_header(f, 0, NULL);
    mb_row r;
    mb_row_init(&r);
    snprintf(r.run_id, sizeof r.run_id, "fuzz");
    snprintf(r.variant, sizeof r.variant, "lora");
    snprintf(r.impl, sizeof r.impl, "naive");
    snprintf(r.status, sizeof r.status, "ok");
    snprintf(r.dtype, sizeof r.dtype, "f32");
    snprintf(r.cache, sizeof r.cache, "warm");
    snprintf(r.case_desc, sizeof r.case_desc, "lora:T=16,h=64,o=64,r=8");
    r.threads = 1;
    r.B = 1, r.S = 16, r.T = 16, r.h = 64, r.o = 64, r.r = 8;
    r.samples = 5;
    r.time_us_median = r.time_us_min = r.time_us_p95 = 10.0;
    r.flops = 1e6, r.bytes = 1e5, r.gflops = 0.1;
    mb_csv_write_row(f, &r, 0);
    fclose(f);
    fz_write("results.csv", csv, n);
    free(csv);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_write("run.json", data, size);
    char err[MB_PLOT_ERR_LEN];

    mb_results res;
    if (mb_results_load(fz_dir(), &res, err, sizeof err) == 0) {
        static const char *const paths[] = {"run_id", "machine.cpu_model", "machine.hostname",
                                            "build.compiler", "git.commit", "settings.reps",
                                            "roofline.peak_gflops", "a.b.c.d.e", ".", ""};
        char buf[512], foot[1024];
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
            (void)mb_results_prov(&res, paths[i], buf, sizeof buf);
        mb_results_footnote(&res, foot, sizeof foot);
        const cJSON *rl = cJSON_GetObjectItemCaseSensitive(res.run, "roofline");
        if (cJSON_IsObject(rl)) {
            mb_ceilings c;
            (void)mb_ceilings_from_json(rl, 0, &c);
            (void)mb_ceilings_from_json(rl, 1, &c);
            mb_roof roof;
            mb_roof_from_json(rl, &roof);
        }
        mb_results_free(&res);
    } else {
        fz_require(err[0] != '\0', "mb_results_load failed without a message");
    }

    static cJSON *now;   /* what a resuming run compares the input with; made once */
    if (!now)
        now = cJSON_Parse("{\"settings\": {\"mode\": \"run\", \"threads_option\": 2, "
                          "\"cache_option\": \"cold\", \"reps\": 3, \"min_time_s\": 0.1, "
                          "\"timeout_s\": 300, \"impl_filter\": \"\", \"variant_filter\": "
                          "\"\", \"regex_filter\": \"\", \"suite_hash\": "
                          "\"0123456789abcdef\"}, \"git\": {\"commit\": \"abc\"}}");
    fz_require(now != NULL, "the comparison run.json does not parse");
    (void)mb_resume_check_run(fz_dir(), now, err, sizeof err);
    return 0;
}
