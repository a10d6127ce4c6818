/* The OpenBLAS core table and the "weaker than the CPU" verdict (moebench/library_isa.h), the
 * AVX2 probe against cpuid, and the footnote of a run whose OpenBLAS ran below the CPU. */
#include "check.h"
#include "moebench/cpu.h"
#include "moebench/library_isa.h"
#include "plot_results.h"

#include <cpuid.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_core_table(void)
{
    CHECK(mb_openblas_core_isa("Prescott") == MB_ISA_SSE);
    CHECK(mb_openblas_core_isa("NEHALEM") == MB_ISA_SSE);      /* case-insensitive, as OpenBLAS */
    CHECK(mb_openblas_core_isa("Sandybridge") == MB_ISA_AVX);
    CHECK(mb_openblas_core_isa("Haswell") == MB_ISA_AVX2);
    CHECK(mb_openblas_core_isa("zen") == MB_ISA_AVX2);
    CHECK(mb_openblas_core_isa("SkylakeX") == MB_ISA_AVX512);
    CHECK(mb_openblas_core_isa("Cooperlake") == MB_ISA_AVX512);
    CHECK(mb_openblas_core_isa("Generic") == MB_ISA_UNKNOWN);
    CHECK(mb_openblas_core_isa(NULL) == MB_ISA_UNKNOWN);
    CHECK(mb_openblas_core_canonical("skylakex") && !strcmp(mb_openblas_core_canonical("skylakex"), "SkylakeX"));
    CHECK(mb_openblas_core_canonical("Bogus") == NULL);
    int n = 0;
    const char *const *names = mb_openblas_core_names(&n);
    CHECK(n >= 25);
    for (int i = 0; i < n; i++)
        CHECK_MSG(mb_openblas_core_isa(names[i]) != MB_ISA_UNKNOWN, "%s", names[i]);

    /* the cases: an SSE core on AVX2 / AVX-512, an AVX2 core on AVX-512 */
    CHECK(mb_openblas_core_weaker("Prescott", MB_ISA_AVX512));
    CHECK(mb_openblas_core_weaker("Prescott", MB_ISA_AVX2));
    CHECK(mb_openblas_core_weaker("Haswell", MB_ISA_AVX512));
    CHECK(mb_openblas_core_weaker("Zen", MB_ISA_AVX512));
    CHECK(mb_openblas_core_weaker("Sandybridge", MB_ISA_AVX2));
    CHECK(!mb_openblas_core_weaker("Zen", MB_ISA_AVX2));
    CHECK(!mb_openblas_core_weaker("SkylakeX", MB_ISA_AVX512));
    CHECK(!mb_openblas_core_weaker("Prescott", MB_ISA_SSE));
    CHECK(!mb_openblas_core_weaker("Unknown", MB_ISA_AVX512));   /* unknown: no verdict */

    CHECK(!strcmp(mb_openblas_core_suggest(MB_ISA_AVX512, 1), "SkylakeX"));
    CHECK(!strcmp(mb_openblas_core_suggest(MB_ISA_AVX2, 1), "Haswell"));
    CHECK(!strcmp(mb_openblas_core_suggest(MB_ISA_AVX2, 0), "Zen"));
    CHECK(mb_openblas_core_suggest(MB_ISA_SSE, 0) == NULL);
    /* a suggestion is never weaker than the CPU it is made for */
    for (int l = MB_ISA_AVX; l <= MB_ISA_AVX512; l++)
        CHECK(!mb_openblas_core_weaker(mb_openblas_core_suggest((mb_isa_level)l, 0), (mb_isa_level)l));
}

/* The executed probes agree with cpuid on a machine where nothing is withheld (no VM here hides
 * AVX2 after advertising it), and AVX-512 implies AVX2. */
static void test_probes(void)
{
    const char *why = NULL;
    int avx2 = mb_cpu_has_avx2(&why);
    CHECK(avx2 ? why == NULL : why != NULL);
    unsigned a, b, c, d;
    int cpuid_avx2 = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_AVX2);
    CHECK_MSG(!avx2 || cpuid_avx2, "probe says AVX2 where cpuid does not");
    if (mb_cpu_has_avx512(NULL))
        CHECK(avx2);
    mb_isa_level l = mb_cpu_executed_isa();
    /* an emulated AVX-512 (the SIMDe test build) is not what the CPU, or a library, executes */
    int native512 = mb_cpu_has_avx512(NULL) && !mb_cpu_avx512_emulated();
    CHECK(l == (native512 ? MB_ISA_AVX512 : avx2 ? MB_ISA_AVX2 : MB_ISA_SSE));
#ifdef MOEBENCH_HAVE_OPENBLAS
    CHECK(mb_openblas_corename() && mb_openblas_config());
#endif
#ifdef MOEBENCH_HAVE_ONEDNN
    const char *isa = mb_onednn_isa();
    CHECK(isa && *isa && strncmp(isa, "cpu_isa_", 8));
#endif
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* The footnote leads with the warning and remedy when run.json says the core was weaker, and
 * stays as it was otherwise. */
static void test_footnote(void)
{
    char dir[] = "/tmp/mb_isa_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    char csv[300], json[300];
    snprintf(csv, sizeof csv, "%s/results.csv", dir);
    snprintf(json, sizeof json, "%s/run.json", dir);
    FILE *f = fopen(csv, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    mb_csv_write_header(f, 0, NULL);
    fclose(f);
    for (int weak = 0; weak < 2; weak++) {
        char text[1000];
        snprintf(text, sizeof text,
                 "{\"run_id\": \"R1\", \"library_dispatch\": {\"cpu_executes\": \"avx512\", "
                 "\"openblas\": {\"core\": \"Prescott\", \"core_isa\": \"sse\", "
                 "\"weaker_than_cpu\": %s, \"remedy\": \"--openblas-core SkylakeX\"}}}",
                 weak ? "true" : "false");
        write_file(json, text);
        mb_results res;
        char err[512];
        int rc = mb_results_load(dir, &res, err, sizeof err);
        CHECK_MSG(rc == 0, "%s", err);
        if (rc)
            continue;
        char foot[600];
        mb_results_footnote(&res, foot, sizeof foot);
        if (weak) {
            CHECK_MSG(strstr(foot, "WARNING: OpenBLAS ran its Prescott core (sse) on a CPU "
                                   "executing avx512") == foot, "%s", foot);
            CHECK_MSG(strstr(foot, "rerun with --openblas-core SkylakeX") != NULL, "%s", foot);
        } else {
            CHECK_MSG(!strstr(foot, "WARNING") && !strncmp(foot, "run R1", 6), "%s", foot);
        }
        mb_results_free(&res);
    }
    unlink(csv);
    unlink(json);
    rmdir(dir);
}

int main(void)
{
    test_core_table();
    test_probes();
    test_footnote();
    return mb_test_result("test_lib_isa");
}
