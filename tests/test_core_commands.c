/* `moebench list` and `moebench case` (harness/app/cmd_list.c, cmd_case.c), called in-process with
 * stdout and stderr captured to temporary files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "case_exec.h"
#include "commands.h"
#include "memory.h"
#include "moebench/moebench.h"

static char out_buf[1 << 16], err_buf[1 << 12];

static void slurp(FILE *f, char *buf, size_t n)
{
    rewind(f);
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = '\0';
    fclose(f);
}

/* Runs fn(argc, argv) with fds 1 and 2 redirected; fills out_buf and err_buf. */
static int run(int (*fn)(int, char **), int argc, char **argv)
{
    FILE *o = tmpfile(), *e = tmpfile();
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fileno(o), 1);
    dup2(fileno(e), 2);
    int rc = fn(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    slurp(o, out_buf, sizeof out_buf);
    slurp(e, err_buf, sizeof err_buf);
    return rc;
}

static void test_list(void)
{
    char *argv[] = {"list", NULL};
    CHECK(run(mb_cmd_list, 1, argv) == 0);
    for (int v = 0; v < MB_NUM_VARIANTS; v++) {
        char head[64];
        snprintf(head, sizeof head, "\n%s: ", mb_variant_name((mb_variant_id)v));
        CHECK_MSG(strstr(out_buf, head) != NULL, "list lacks variant %s",
                  mb_variant_name((mb_variant_id)v));
    }
    static const char *impls[] = {"naive", "blas", "onednn", "avx512", "merged"};
    for (int i = 0; i < 5; i++) {
        char cell[32];
        snprintf(cell, sizeof cell, "  %-8s ", impls[i]);
        CHECK_MSG(strstr(out_buf, cell) != NULL, "list lacks implementation %s", impls[i]);
    }
    /* Every cell says ok or unavailable with a reason: count them. */
    int cells = 0;
    for (const char *p = out_buf; (p = strstr(p, "\n  ")); p++) {
        const char *word = p + 3;
        while (*word && *word != ' ')
            word++;
        while (*word == ' ')
            word++;
        if (!strncmp(word, "ok\n", 3) || !strncmp(word, "unavailable: ", 13))
            cells++;
    }
    CHECK_MSG(cells == MB_NUM_VARIANTS * mb_impl_count(), "%d cells", cells);
    char *bad[] = {"list", "--bogus", NULL};
    CHECK(run(mb_cmd_list, 2, bad) == 2);
}

static void test_case_invalid(void)
{
    char *argv[] = {"case", "router:T=4,h=16,E=8,k=9", NULL};
    CHECK(run(mb_cmd_case, 2, argv) == 2);
    CHECK_MSG(!strcmp(err_buf, "moebench: invalid case 'router:T=4,h=16,E=8,k=9': k=9 > E=8: "
                               "cannot choose more experts than exist\n"), "stderr: %s", err_buf);
    CHECK(out_buf[0] == '\0');
    char *argv2[] = {"case", "lora:h=12x", NULL};
    CHECK(run(mb_cmd_case, 2, argv2) == 2);
    CHECK(strstr(err_buf, "h='12x'") != NULL);
    char *argv3[] = {"case", "lora:T=2,h=8,r=2", "--impl", "nonesuch", NULL};
    CHECK(run(mb_cmd_case, 4, argv3) == 2);
    CHECK(strstr(err_buf, "nonesuch") != NULL);
    char *argv4[] = {"case", NULL};
    CHECK(run(mb_cmd_case, 1, argv4) == 2);
}

static void test_case_runs(void)
{
    char *argv[] = {"case", "router:h=16,T=6,E=4,k=2", "--impl", "all", NULL};
    int rc = run(mb_cmd_case, 4, argv);
    CHECK_MSG(rc == 0, "rc %d, stdout:\n%s\nstderr:\n%s", rc, out_buf, err_buf);
    CHECK(strstr(out_buf, "case: router:T=6,h=16,E=4,k=2\n") != NULL);
    CHECK(strstr(out_buf, "output: [6, 4] f32\n") != NULL);
    CHECK(strstr(out_buf, "checksum: ") && strstr(out_buf, "counts: ") &&
          strstr(out_buf, "aux_loss: ") && strstr(out_buf, "z_loss: ") &&
          strstr(out_buf, "load_max: "));
    /* Counts add up to T*k. */
    long c[4];
    const char *p = strstr(out_buf, "counts: ");
    CHECK(p && sscanf(p, "counts: %ld %ld %ld %ld", &c[0], &c[1], &c[2], &c[3]) == 4 &&
          c[0] + c[1] + c[2] + c[3] == 12);
    /* Each other implementation reports a verdict or skipped with a reason. */
    for (int i = 1; i < mb_impl_count(); i++) {
        char line[64];
        snprintf(line, sizeof line, "\n%s: ", mb_impl_at(i)->name);
        CHECK_MSG(strstr(out_buf, line) != NULL, "no line for %s", mb_impl_at(i)->name);
    }
    /* Same case twice, same checksum; another seed, another checksum. */
    char first[32] = "";
    sscanf(strstr(out_buf, "checksum: "), "checksum: %31s", first);
    char *again[] = {"case", "router:T=6,h=16,E=4,k=2", NULL};
    CHECK(run(mb_cmd_case, 2, again) == 0);
    char second[32] = "";
    sscanf(strstr(out_buf, "checksum: "), "checksum: %31s", second);
    CHECK(first[0] && !strcmp(first, second));
    char *seeded[] = {"case", "router:T=6,h=16,E=4,k=2,seed=1", NULL};
    CHECK(run(mb_cmd_case, 2, seeded) == 0);
    sscanf(strstr(out_buf, "checksum: "), "checksum: %31s", second);
    CHECK(strcmp(first, second) != 0);
    char *lora[] = {"case", "lora:T=3,h=8,r=2", NULL};
    CHECK(run(mb_cmd_case, 2, lora) == 0);
    CHECK(strstr(out_buf, "output: [3, 8] f32\n") && !strstr(out_buf, "counts:"));
}

/* The runner's sampled-row check, forced small (--ref-rows), and --threads: same verdicts. */
static void test_case_sampled(void)
{
    char *argv[] = {"case", "mixlora:T=40,h=16,r=2,E=4,k=2", "--impl", "all", "--threads", "1",
                    "--ref-rows", "5", NULL};
    int rc = run(mb_cmd_case, 8, argv);
    CHECK_MSG(rc == 0, "rc %d, stdout:\n%s\nstderr:\n%s", rc, out_buf, err_buf);
    CHECK(strstr(out_buf, "reference: naive on 5 sampled rows of 40") != NULL);
    CHECK(strstr(out_buf, "output: [5, 16] f32\n") != NULL);   /* the sampled rows */
    /* routing of the 5 rows: counts add up to 5*k */
    long c[4];
    const char *p = strstr(out_buf, "counts: ");
    CHECK(p && sscanf(p, "counts: %ld %ld %ld %ld", &c[0], &c[1], &c[2], &c[3]) == 4 &&
          c[0] + c[1] + c[2] + c[3] == 10);
    CHECK(strstr(out_buf, "pass (checked on 5 sampled rows)") != NULL);
    CHECK(strstr(out_buf, " fail") == NULL);
    /* the sampled rows are a deterministic function of the case: same checksum twice */
    char first[32] = "", second[32] = "";
    sscanf(strstr(out_buf, "checksum: "), "checksum: %31s", first);
    CHECK(run(mb_cmd_case, 8, argv) == 0);
    sscanf(strstr(out_buf, "checksum: "), "checksum: %31s", second);
    CHECK(first[0] && !strcmp(first, second));
    /* sampling every row gives the whole output: same checksum as the unsampled reference */
    char *all_rows[] = {"case", "lora:T=3,h=8,r=2", "--ref-rows", "3", NULL};
    CHECK(run(mb_cmd_case, 4, all_rows) == 0);
    sscanf(strstr(out_buf, "checksum: "), "checksum: %31s", first);
    char *whole[] = {"case", "lora:T=3,h=8,r=2", NULL};
    CHECK(run(mb_cmd_case, 2, whole) == 0);
    sscanf(strstr(out_buf, "checksum: "), "checksum: %31s", second);
    CHECK(first[0] && !strcmp(first, second));
    char *bad_threads[] = {"case", "lora:T=3,h=8,r=2", "--threads", "0", NULL};
    CHECK(run(mb_cmd_case, 4, bad_threads) == 2);
    CHECK(strstr(err_buf, "--threads") != NULL);
    char *bad_rows[] = {"case", "lora:T=3,h=8,r=2", "--ref-rows", "x", NULL};
    CHECK(run(mb_cmd_case, 4, bad_rows) == 2);
}

/* The one comparison routine (reference_check.h) that the runner, `case` and `dump` share: sampled
 * rows, a perturbed value in a sampled row, a perturbed routing in a sampled row, and a
 * perturbation outside the sample (not seen: that is what sampling means). */
static void test_reference_check(void)
{
    mb_spec s;
    mb_err err;
    mb_err_clear(&err);
    CHECK(mb_spec_parse("mixlora:T=40,h=16,r=2,E=4,k=2", &s, &err) == MB_OK);
    mb_weights w;
    mb_inputs in;
    CHECK(mb_weights_create(&s, &w, &err) == MB_OK);
    CHECK(mb_inputs_create(&s, &in, &err) == MB_OK);
    mb_reference full, smp;
    CHECK(mb_reference_build(&s, &w, &in, 0, &full, &err) == MB_OK);
    CHECK(!full.sampled && full.nrows == 40);
    CHECK(mb_reference_build(&s, &w, &in, 6, &smp, &err) == MB_OK);
    CHECK(smp.sampled && smp.nrows == 6 && smp.rows[0] == 0 && smp.rows[5] == 39);
    for (int64_t i = 1; i < smp.nrows; i++)
        CHECK(smp.rows[i] > smp.rows[i - 1]);
    CHECK(!mb_reference_sampled_by_default(&s));   /* tiny: whole output by the runner's rule */
    /* sampled reference rows equal the full reference's rows (row-wise variant) */
    int64_t wd = full.y.shape[1];
    for (int64_t i = 0; i < smp.nrows; i++)
        CHECK(memcmp(mb_f32(&smp.y) + i * wd, mb_f32(&full.y) + smp.rows[i] * wd,
                     (size_t)wd * sizeof(float)) == 0);
    /* the implementation's output: a copy of the reference (so the two can differ) */
    mb_tensor y;
    CHECK(mb_output_alloc(&s, &y, &err) == MB_OK);
    memcpy(y.data, full.y.data, (size_t)mb_tensor_bytes(&y));
    mb_check ck;
    CHECK(mb_reference_check(&s, &y, &full.info, &smp, &ck) == 1 && ck.max_abs_err == 0);
    CHECK(mb_reference_check(&s, &y, &full.info, &full, &ck) == 1);
    /* a row outside the sample may be anything */
    int64_t outside = -1;
    for (int64_t t = 0; t < 40 && outside < 0; t++) {
        int in_sample = 0;
        for (int64_t i = 0; i < smp.nrows; i++)
            in_sample |= smp.rows[i] == t;
        if (!in_sample)
            outside = t;
    }
    float keep = mb_f32(&y)[outside * wd];
    mb_f32(&y)[outside * wd] += 1000;
    CHECK(mb_reference_check(&s, &y, &full.info, &smp, &ck) == 1);
    CHECK(mb_reference_check(&s, &y, &full.info, &full, &ck) == 0 &&
          ck.status == MB_ROW_MISMATCH && strstr(ck.what, "max_abs_err"));
    mb_f32(&y)[outside * wd] = keep;
    /* a value in a sampled row */
    int64_t t3 = smp.rows[3];
    keep = mb_f32(&y)[t3 * wd + 1];
    mb_f32(&y)[t3 * wd + 1] += 1000;
    CHECK(mb_reference_check(&s, &y, &full.info, &smp, &ck) == 0);
    CHECK(ck.status == MB_ROW_MISMATCH && strstr(ck.what, "of the sampled rows"));
    mb_f32(&y)[t3 * wd + 1] = keep;
    /* routing of a sampled row: named by its token in the case */
    int32_t e0 = full.info.routing.idx[t3 * s.k];
    full.info.routing.idx[t3 * s.k] = (e0 + 1) % (int32_t)s.E == full.info.routing.idx[t3 * s.k + 1]
                                          ? (e0 + 2) % (int32_t)s.E : (e0 + 1) % (int32_t)s.E;
    CHECK(mb_reference_check(&s, &y, &full.info, &smp, &ck) == 0);
    CHECK(ck.status == MB_ROW_MISMATCH && strstr(ck.what, "routing") && ck.bad_token == t3);
    full.info.routing.idx[t3 * s.k] = e0;
    mb_tensor_free(&y);
    mb_reference_free(&smp);
    mb_reference_free(&full);
    mb_inputs_free(&in);
    mb_weights_free(&w);
}

/* Per-implementation peak RSS: after a reset, VmHWM no longer remembers an earlier peak. */
static void test_peak_rss_reset(void)
{
    size_t big = 256u << 20;
    char *p = malloc(big);
    CHECK(p != NULL);
    if (!p)
        return;
    volatile char *vp = p;   /* touch every page; volatile so it is not optimised away */
    for (size_t i = 0; i < big; i += 4096)
        vp[i] = 1;
    int64_t hwm_before = mb_hwm_bytes();
    free(p);
    if (mb_peak_rss_reset() != 0) {
        printf("note: /proc/self/clear_refs not writable here; peak RSS reset untested\n");
        return;
    }
    int64_t hwm_after = mb_hwm_bytes();
    CHECK(hwm_before > (int64_t)big);
    CHECK_MSG(hwm_after > 0 && hwm_after < hwm_before - (int64_t)(big / 2),
              "VmHWM %lld before the reset, %lld after", (long long)hwm_before,
              (long long)hwm_after);
    CHECK(mb_llc_bytes() == mb_llc_bytes());   /* cached */
}

int main(void)
{
    test_list();
    test_case_invalid();
    test_case_runs();
    test_case_sampled();
    test_reference_check();
    test_peak_rss_reset();
    return mb_test_result("test_core_commands");
}
