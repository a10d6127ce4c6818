/* Every chart type rendered from tests/data/results_a: each PNG is a valid image of the size
 * the chart declares, each PDF is a complete PDF, the .gp and .dat stay beside them, re-plotting
 * into an existing directory works, and a run without ceilings says so in the roofline title. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "plot.h"
#include "plot_series.h"

static char tmp[256];

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    if (!a || !b) {
        if (a)
            fclose(a);
        if (b)
            fclose(b);
        return -1;
    }
    char buf[1 << 14];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        fwrite(buf, 1, n, b);
    fclose(a);
    return fclose(b);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    *len = s ? fread(s, 1, (size_t)n, f) : 0;
    if (s)
        s[*len] = 0;
    fclose(f);
    return s;
}

/* PNG signature, then the IHDR chunk: width and height big-endian at bytes 16..23. */
static int png_size(const char *path, uint32_t *w, uint32_t *h)
{
    size_t len = 0;
    unsigned char *p = (unsigned char *)read_all(path, &len);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    int ok = p && len > 33 && !memcmp(p, sig, 8) && !memcmp(p + 12, "IHDR", 4);
    if (ok) {
        *w = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 | (uint32_t)p[18] << 8 | p[19];
        *h = (uint32_t)p[20] << 24 | (uint32_t)p[21] << 16 | (uint32_t)p[22] << 8 | p[23];
        /* the last chunk of a complete PNG is IEND */
        ok = !memcmp(p + len - 8, "IEND", 4);
    }
    free(p);
    return ok ? 0 : -1;
}

static int pdf_ok(const char *path)
{
    size_t len = 0;
    char *p = read_all(path, &len);
    int ok = p && len > 100 && !memcmp(p, "%PDF-", 5);
    if (ok) {
        /* %%EOF within the last bytes */
        size_t from = len > 64 ? len - 64 : 0;
        ok = 0;
        for (size_t i = from; i + 5 <= len; i++)
            ok |= !memcmp(p + i, "%%EOF", 5);
    }
    free(p);
    return ok;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void check_chart(const char *dir, const char *name, uint32_t w, uint32_t h)
{
    char p[512];
    uint32_t pw = 0, ph = 0;
    snprintf(p, sizeof p, "%s/%s.png", dir, name);
    CHECK_MSG(png_size(p, &pw, &ph) == 0, "%s is not a complete PNG", p);
    CHECK_MSG(pw == w && ph == h, "%s is %ux%u, expected %ux%u", p, pw, ph, w, h);
    snprintf(p, sizeof p, "%s/%s.pdf", dir, name);
    CHECK_MSG(pdf_ok(p), "%s is not a complete PDF", p);
    snprintf(p, sizeof p, "%s/%s.gp", dir, name);
    CHECK_MSG(exists(p), "%s missing", p);
    snprintf(p, sizeof p, "%s/%s.dat", dir, name);
    CHECK_MSG(exists(p), "%s missing", p);
}

static void check_all(const char *charts)
{
    check_chart(charts, "latency", MB_CHART_W, MB_CHART_H);
    check_chart(charts, "speedup_over_naive", MB_CHART_W, MB_CHART_H);
    check_chart(charts, "speedup_over_blas", MB_CHART_W, MB_CHART_H);
    check_chart(charts, "roofline", MB_ROOFLINE_W, MB_ROOFLINE_H);
    check_chart(charts, "memory", MB_CHART_W, MB_CHART_H);
    check_chart(charts, "expert_load", MB_CHART_W, MB_CHART_H);
    check_chart(charts, "counters", MB_CHART_W, MB_CHART_H);
}

static int file_contains(const char *path, const char *needle)
{
    size_t len;
    char *s = read_all(path, &len);
    int hit = s && strstr(s, needle) != NULL;
    free(s);
    return hit;
}

static void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/mb_test_plot_charts_XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    char run[300], from[700], to[1200], charts[500];
    snprintf(run, sizeof run, "%s/results_a", tmp);
    mkdir(run, 0755);
    const char *files[] = {"results.csv", "run.json", "samples.csv"};
    for (int i = 0; i < 3; i++) {
        snprintf(from, sizeof from, "%s/results_a/%s", MB_TEST_DATA_DIR, files[i]);
        snprintf(to, sizeof to, "%s/%s", run, files[i]);
        CHECK(copy_file(from, to) == 0);
    }

    /* default destination RESULTS/charts, then a re-plot into the existing directory */
    CHECK(mb_plot_results(run) == 0);
    snprintf(charts, sizeof charts, "%s/charts", run);
    check_all(charts);
    snprintf(to, sizeof to, "%s/roofline.gp", charts);
    CHECK_MSG(file_contains(to, "ceilings from run.json"), "roofline title names its ceilings");
    snprintf(to, sizeof to, "%s/latency.gp", charts);
    CHECK_MSG(file_contains(to, "default-20261123T220000Z"), "footnote carries the run id");
    /* memory: merged vs unmerged memory as a "prepared" bar (prepare_bytes), beside weights,
     * workspace and peak RSS; zero prepared (naive, blas) cannot show on the log axis: said so */
    snprintf(to, sizeof to, "%s/memory.dat", charts);
    CHECK_MSG(file_contains(to, "\"mixlora T=128 merged\" 4306 16.1289 3767.75 4327.85\n"),
              "memory.dat lacks the merged row's prepared MiB");
    CHECK(file_contains(to, "\"lora threads=2 T=16 naive\" 64.5 0.253906 0 70.476\n"));
    snprintf(to, sizeof to, "%s/memory.gp", charts);
    CHECK(file_contains(to, "title \"prepared\""));
    CHECK_MSG(file_contains(to, "(log axis: zero prepared not drawn)"), "memory title");
    CHECK(!file_contains(to, "zero workspace"));   /* every workspace of results_a is > 0 */
    /* counters: units on the y axis, per forward */
    snprintf(to, sizeof to, "%s/counters.gp", charts);
    CHECK(file_contains(to, "unit[1] = 'ns per forward'"));
    CHECK(file_contains(to, "unit[2] = 'page faults per forward'"));
    CHECK(!strcmp(mb_counter_unit("ctr_perf__context_switches"), "switches per forward"));
    CHECK(!strcmp(mb_counter_unit("ctr_perf__cpu_migrations"), "migrations per forward"));
    CHECK(!strcmp(mb_counter_unit("ctr_papi_tot_cyc"), "cycles per forward"));
    CHECK(!strcmp(mb_counter_unit("ctr_papi_l1_dcm"), "misses per forward"));
    CHECK(!strcmp(mb_counter_unit("ctr_something_else"), "count per forward"));
    CHECK(!strcmp(mb_counter_unit("ctr_moebench_flops"), "FLOPs per forward"));
    CHECK(!strcmp(mb_counter_unit("ctr_moebench_weight_bytes_streamed"), "bytes per forward"));
    CHECK(!strcmp(mb_counter_unit("ctr_moebench_rows_routed"), "rows per forward"));
    CHECK(!strcmp(mb_counter_unit("ctr_moebench_experts_hit"), "experts per forward"));
    CHECK(mb_plot_results(run) == 0);
    check_all(charts);

    /* the footnote's data: 5 panels x 5 implementations in latency.dat; lora also ran at
     * threads=1 (naive, blas), so threads varies and each panel names its setting */
    snprintf(to, sizeof to, "%s/latency.dat", charts);
    CHECK(file_contains(to, "# panel 5 (router:h=4096,E=8,k=2 threads=2) impl merged"));
    CHECK(file_contains(to, "# panel 2 (lora:h=4096,o=4096,r=16 threads=1) impl blas"));

    /* no ceilings anywhere: points only, said so in the title */
    snprintf(to, sizeof to, "%s/run.json", run);
    FILE *f = fopen(to, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("{\"run_id\": \"no-ceilings\", \"compiler\": \"GNU 12.2.0\"}\n", f);
        fclose(f);
    }
    setenv("MOEBENCH_ROOFLINE", "/nonexistent/roofline.json", 1);
    snprintf(charts, sizeof charts, "%s/other/charts", tmp);
    CHECK(mb_plot_results_to(run, charts) == 0);
    check_all(charts);
    snprintf(to, sizeof to, "%s/roofline.gp", charts);
    CHECK_MSG(file_contains(to, "no ceilings"), "roofline title says there are no ceilings");
    CHECK(file_contains(to, "has_ceilings = 0"));

    /* nothing staged is left behind */
    snprintf(to, sizeof to, "ls -d %s/other/charts.tmp.* %s/charts.tmp.* >/dev/null 2>&1", tmp,
             run);
    CHECK_MSG(system(to) != 0, "a staging directory was left behind");

    rm_rf(tmp);
    return mb_test_result("test_plot_charts");
}
