/* libFuzzer target: the results.csv readers. The input is a results.csv, read by the plain CSV
 * reader (mb_csv_read), by the loader of `plot` and `compare` (mb_results_load, with a fixed
 * valid run.json next to it; on success every per-row lookup the charts make) and by --resume
 * (mb_resume_load, against the header this build writes). */
#include "fuzz_util.h"
#include "plot_results.h"
#include "resume.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *header;   /* the results.csv header of a run without counters */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    size_t n = 0;
    FILE *f = open_memstream(&header, &n);
    fz_require(f != NULL, "open_memstream");
    mb_csv_write_header(f, 0, NULL);
    fclose(f);
    static const char run_json[] = "{\"run_id\": \"fuzz\", \"machine\": {\"cpu_model\": \"x\"}}\n";
    fz_write("run.json", run_json, sizeof run_json - 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_write("results.csv", data, size);
    char path[1024], err[MB_PLOT_ERR_LEN];
    fz_path("results.csv", path, sizeof path);

    mb_csv_table t;
    if (mb_csv_read(path, &t) == 0) {
        for (size_t i = 0; i < t.nrows; i++)
            for (size_t j = 0; j < t.ncols; j++)
                fz_require(mb_csv_cell(&t, i, j) != NULL, "row %zu column %zu is NULL", i, j);
        (void)mb_csv_get(&t, t.nrows, "impl");
        mb_csv_free(&t);
    }

    mb_results res;
    if (mb_results_load(fz_dir(), &res, err, sizeof err) == 0) {
        char a[1024], b[1024], c[1024];
        for (size_t i = 0; i < mb_results_nrows(&res) && i < 256; i++) {
            mb_results_case(&res, i, a, sizeof a);
            mb_results_panel(&res, i, b, sizeof b);
            mb_results_match_key(&res, i, c, sizeof c);
            (void)mb_results_ok(&res, i);
            (void)mb_results_num(&res, i, res.c.gflops);
        }
        mb_results_footnote(&res, a, sizeof a);
        mb_results_free(&res);
    } else {
        fz_require(err[0] != '\0', "mb_results_load failed without a message");
    }

    mb_resume r;
    if (mb_resume_load(path, header, &r, err, sizeof err) == 0) {
        (void)mb_resume_done(&r, "lora:T=16,h=64,o=64,r=8", "naive", 1, "warm");
        mb_resume_free(&r);
    }
    return 0;
}
