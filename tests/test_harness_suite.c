/* Suite files: sweeps, defaults, include, and malformed files that must name file:line and
 * yield no cases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "runner.h"
#include "suite.h"

static char dir[] = "/tmp/mb_suite_testXXXXXX";

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Loads name; returns the number of cases or -1 with the error in err. */
static int load(const char *name, mb_suite *s, char *err, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    memset(s, 0, sizeof *s);
    err[0] = '\0';
    if (mb_suite_load(path, s, err, n))
        return -1;
    return (int)s->n;
}

static void expect_error(const char *name, const char *text, int line, const char *needle)
{
    write_file(name, text);
    mb_suite s;
    char err[1024];
    int n = load(name, &s, err, sizeof err);
    CHECK_MSG(n == -1, "%s: expected an error, got %d cases", name, n);
    CHECK_MSG(s.n == 0, "%s: cases returned despite the error", name);
    char where[300];
    snprintf(where, sizeof where, "%s/%s:%d:", dir, name, line);
    CHECK_MSG(strstr(err, where) != NULL, "%s: error '%s' does not name %s", name, err, where);
    CHECK_MSG(strstr(err, needle) != NULL, "%s: error '%s' lacks '%s'", name, err, needle);
    mb_suite_free(&s);
}

static void test_valid(void)
{
    write_file("shared.ini", "[defaults]\nh = 64\nr = 4\nreps = 3\n");
    write_file("good.ini",
               "; comment\n"
               "[defaults]\n"
               "include = shared.ini\n"
               "T = 1, 8\n"
               "min_time = 0.01\n"
               "\n"
               "[lora]\n"
               "variant = lora\n"
               "o = 32, 48\n"
               "impl = naive, blas\n"
               "\n"
               "[mix]\n"
               "variant = mixlora\n"
               "f = 96\n"
               "E = 4\n"
               "k = 2\n"
               "share = none, all\n"
               "cache = cold\n"
               "timeout = 5\n");
    mb_suite s;
    char err[1024];
    int n = load("good.ini", &s, err, sizeof err);
    CHECK_MSG(n == 8, "expected 2x2 lora + 2x2 mixlora cases, got %d (%s)", n, err);
    if (n == 8) {
        const mb_case *c = &s.cases[0];
        CHECK(c->spec.variant == MB_LORA);
        CHECK(c->spec.h == 64 && c->spec.r == 4);   /* from the included defaults */
        CHECK(c->reps == 3);
        CHECK_NEAR(c->min_time, 0.01, 1e-12);
        CHECK(!c->impl_all && c->n_impls == 2 && !strcmp(c->impls[1], "blas"));
        int seen_o48_T8 = 0;
        for (int i = 0; i < 4; i++)
            seen_o48_T8 |= s.cases[i].spec.o == 48 && mb_spec_T(&s.cases[i].spec) == 8;
        CHECK(seen_o48_T8);
        const mb_case *m = &s.cases[7];
        CHECK(m->spec.variant == MB_MIXLORA && m->spec.E == 4 && m->spec.k == 2);
        CHECK(m->impl_all);
        CHECK(m->cache == 2);
        CHECK_NEAR(m->timeout, 5, 0);
        CHECK(strstr(m->origin, "good.ini:12") != NULL);
        CHECK(strncmp(m->desc, "mixlora:", 8) == 0);
        CHECK(s.n_files == 2);   /* the include is recorded for run.json */
        /* distinct descriptors: the sweep produced distinct cases */
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                CHECK(strcmp(s.cases[i].desc, s.cases[j].desc) != 0);
    }
    mb_suite_free(&s);
}

static void test_overlap(void)
{
    /* the same shapes in two sections: one case, the union of their implementations */
    write_file("overlap.ini",
               "[defaults]\nvariant = lora\nh = 64\nr = 4\n"
               "[a]\nT = 1, 8\nimpl = naive, blas\n"
               "[b]\nT = 8, 16\nimpl = blas, merged\n");
    mb_suite s;
    char err[1024];
    int n = load("overlap.ini", &s, err, sizeof err);
    CHECK_MSG(n == 3, "expected T = 1, 8, 16, got %d (%s)", n, err);
    for (int i = 0; i < n; i++)
        if (mb_spec_T(&s.cases[i].spec) == 8) {
            CHECK(s.cases[i].n_impls == 3);
            CHECK(!strcmp(s.cases[i].impls[2], "merged"));
        } else {
            CHECK(s.cases[i].n_impls == 2);
        }
    mb_suite_free(&s);
}

/* threads and cache are sweep keys: each value is a case of its own, never merged away */
static void test_harness_sweeps(void)
{
    mb_suite s;
    char err[1024];
    write_file("threads.ini", "[a]\nvariant = lora\nh = 64\nr = 4\nT = 8\nthreads = 1, 2\n");
    int n = load("threads.ini", &s, err, sizeof err);
    CHECK_MSG(n == 2, "threads = 1, 2: expected 2 cases, got %d (%s)", n, err);
    if (n == 2) {
        CHECK(!strcmp(s.cases[0].desc, s.cases[1].desc));
        CHECK(s.cases[0].threads + s.cases[1].threads == 3);
    }
    mb_suite_free(&s);

    write_file("cache2.ini", "[defaults]\nvariant = lora\nh = 64\nr = 4\nT = 8\n"
                             "[warm]\ncache = warm\nimpl = blas\n[cold]\ncache = cold\nimpl = blas\n");
    n = load("cache2.ini", &s, err, sizeof err);
    CHECK_MSG(n == 2, "same shape, cache warm and cold: expected 2 cases, got %d (%s)", n, err);
    if (n == 2)
        CHECK(s.cases[0].cache == 1 && s.cases[1].cache == 2);
    mb_suite_free(&s);

    write_file("cache_sweep.ini", "[a]\nvariant = lora\nh = 64\nr = 4\nT = 1, 8\ncache = warm, cold\n");
    n = load("cache_sweep.ini", &s, err, sizeof err);
    CHECK_MSG(n == 4, "T x cache: expected 4 cases, got %d (%s)", n, err);
    mb_suite_free(&s);

    /* identical settings and shape: one case, union of the implementations */
    write_file("same.ini", "[defaults]\nvariant = lora\nh = 64\nr = 4\nT = 8\nthreads = 2\nreps = 3\n"
                           "[a]\nimpl = blas\n[b]\nimpl = merged\n");
    n = load("same.ini", &s, err, sizeof err);
    CHECK_MSG(n == 1, "identical settings: expected 1 case, got %d (%s)", n, err);
    if (n == 1)
        CHECK(s.cases[0].n_impls == 2 && !strcmp(s.cases[0].impls[1], "merged"));
    mb_suite_free(&s);

    /* impl = all, naive: every implementation, naive explicit (as --impl all,naive) */
    write_file("all_naive.ini", "[a]\nvariant = lora\nh = 64\nr = 4\nT = 8\nimpl = all, naive\n");
    n = load("all_naive.ini", &s, err, sizeof err);
    CHECK_MSG(n == 1, "impl = all, naive: %d cases (%s)", n, err);
    if (n == 1) {
        char from_suite[16][24], from_cli[16][24], bad[64];
        int ne_suite = 0, ne_cli = 0;
        int a = mb_case_impls(&s.cases[0], NULL, from_suite, 16, &ne_suite, bad, sizeof bad);
        int b = mb_case_impls(&s.cases[0], "all,naive", from_cli, 16, &ne_cli, bad, sizeof bad);
        CHECK_MSG(a == b && a >= 2, "suite gives %d implementations, --impl %d", a, b);
        CHECK(ne_suite == 1 && ne_cli == 1);
        int naive = 0;
        for (int i = 0; i < a && i < 16; i++) {
            naive += !strcmp(from_suite[i], "naive");
            if (i < b)
                CHECK(!strcmp(from_suite[i], from_cli[i]));
        }
        CHECK_MSG(naive == 1, "naive listed %d times", naive);
    }
    mb_suite_free(&s);

    /* conflicting reps / min_time / timeout for the same case */
    expect_error("conflict.ini", "[defaults]\nvariant = lora\nh = 64\nr = 4\nT = 8\n"
                                 "[a]\nreps = 3\n\n[b]\nreps = 5\n", 9, "conflict.ini:6");
    expect_error("conflict_t.ini", "[defaults]\nvariant = lora\nh = 64\nr = 4\nT = 8\n"
                                   "[a]\ntimeout = 3\n[b]\ntimeout = 5\n", 8, "timeout");
    /* duplicate section names, consecutive (inih reports one name) or not */
    expect_error("dup.ini", "[a]\nvariant = lora\nh = 64\nr = 4\n[a]\nT = 8\n", 5,
                 "duplicate section [a]");
    expect_error("dup2.ini", "[a]\nvariant = lora\nh = 64\nr = 4\n[b]\nvariant = lora\nh = 32\nr = 4\n"
                             "[a]\nvariant = lora\n", 9, "duplicate section [a]");
    /* more than 16 implementations: an error, not a silent cut */
    expect_error("many_impls.ini", "[a]\nvariant = lora\nh = 64\nr = 4\n"
                 "impl = naive,blas,onednn,avx512,merged,naive,blas,onednn,avx512,merged,"
                 "naive,blas,onednn,avx512,merged,naive,blas\n", 5, "more than 16");
}

static void test_malformed(void)
{
    expect_error("unknown_key.ini", "[a]\nvariant = lora\nh = 64\nbogus = 3\n", 4, "unknown key 'bogus'");
    expect_error("unknown_variant.ini", "[defaults]\nh = 64\n[a]\nvariant = lorra\n", 4,
                 "unknown variant 'lorra'");
    expect_error("bad_number.ini", "[a]\nvariant = lora\nh = 6x4\n", 3, "h");
    expect_error("bad_reps.ini", "[a]\nvariant = lora\nreps = -2\n", 3, "reps");
    expect_error("empty_sweep.ini", "[a]\nvariant = lora\nT = 1,,4\n", 3, "empty value");
    expect_error("empty_value.ini", "[a]\nvariant = lora\nT =\n", 3, "empty value");
    /* r > min(h, o) is impossible: reported at the section header */
    expect_error("impossible.ini", "[defaults]\nh = 16\n\n[big_rank]\nvariant = lora\nr = 64\n", 4,
                 "impossible case");
    expect_error("bad_impl.ini", "[a]\nvariant = lora\nimpl = naive, cuda\n", 3,
                 "unknown implementation 'cuda'");
    expect_error("no_variant.ini", "[a]\nh = 64\n", 1, "no 'variant'");
    expect_error("missing_include.ini", "[a]\nvariant = lora\ninclude = nope.ini\n", 3,
                 "cannot open included file");
    expect_error("syntax.ini", "[a]\nvariant = lora\nthis line has no equals sign\n", 3, "syntax error");
    char longline[600];
    snprintf(longline, sizeof longline, "[a]\nvariant = lora\nh = 64\nT = 1");
    for (int i = 2; i < 120; i++)
        snprintf(longline + strlen(longline), sizeof longline - strlen(longline), ",%d", i);
    strcat(longline, "\nr = 2\n");
    expect_error("long_line.ini", longline, 4, "line longer than");
    /* a later error in a second section still returns no cases at all */
    expect_error("second_bad.ini", "[ok]\nvariant = lora\nh = 64\n[bad]\nvariant = lora\nE = x\n", 6, "E");
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_valid();
    test_overlap();
    test_harness_sweeps();
    test_malformed();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return mb_test_result("test_harness_suite");
}
