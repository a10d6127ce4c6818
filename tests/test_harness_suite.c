/* Suite files: sweeps, defaults, include, and malformed files that must name file:line and
 * yield no cases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
                 "nope.ini': cannot open (No such file");
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


/* "a, b, c" of the integers lo..hi */
static void int_list(char *buf, size_t n, int lo, int hi)
{
    buf[0] = '\0';
    for (int i = lo; i <= hi; i++)
        snprintf(buf + strlen(buf), n - strlen(buf), "%s%d", i > lo ? "," : "", i);
}

/* Issue 12, item 3: the size of a section is known before it is expanded, and identical
 * combinations are merged through a hash (they were built one by one and compared with every
 * case: 102,400 cases took minutes just to reach the limit). */
static void test_bounded_expansion(void)
{
    char t[256], o[256], seed[256], text[2048];
    int_list(t, sizeof t, 1, 64);
    int_list(o, sizeof o, 8, 47);
    int_list(seed, sizeof seed, 1, 40);
    snprintf(text, sizeof text, "[a]\nvariant=lora\nh=64\nr=1\nT=%s\no=%s\nseed=%s\n", t, o, seed);
    /* refused with the count, before any case is built */
    expect_error("over_limit.ini", text, 1, "expands to 102400 cases (lists: T 64 x o 40 x seed 40)");
    /* the limit counts the sections before too */
    snprintf(text, sizeof text, "[a]\nvariant=lora\nh=64\nr=1\nT=%s\no=%s\nseed=1,2,3\n"
             "[b]\nvariant=lora\nh=64\nr=1\nT=%s\no=%s\nseed=4,5,6,7,8,9,10,11,12,13,14,15,16,17,"
             "18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40\n", t, o, t, o);
    expect_error("over_limit2.ini", text, 8, "over the limit of 100000 cases");

    /* a value listed twice is the same case twice: an error, not a silent merge (64 copies in
     * four lists were 16.7 million combinations) */
    expect_error("twice.ini", "[a]\nvariant = lora\nh = 64\nr = 4\nT = 1, 16, 1\n", 5,
                 "value '1' is listed twice for 'T'");

    /* lists of keys a variant does not use (from [defaults]) are not multiplied in: 64^3 would
     * be over the limit, yet lora has one case and molora one per E */
    char e[256], k[256], tasks[256];
    int_list(e, sizeof e, 1, 64);
    int_list(k, sizeof k, 1, 64);
    int_list(tasks, sizeof tasks, 1, 64);
    snprintf(text, sizeof text, "[defaults]\nh=64\nr=1\nE=%s\nk=%s\ntasks=%s\n"
             "[a]\nvariant=lora\n[b]\nvariant=molora\n", e, k, tasks);
    write_file("unused_lists.ini", text);
    mb_suite s;
    char err[1024];
    int n = load("unused_lists.ini", &s, err, sizeof err);
    CHECK_MSG(n == 65, "expected 1 lora + 64 molora cases, got %d (%s)", n, err);
    if (n == 65) {
        CHECK(s.cases[0].spec.variant == MB_LORA && s.cases[0].spec.E == 1);
        CHECK(s.cases[64].spec.variant == MB_MOLORA && s.cases[64].spec.E == 64);
    }
    mb_suite_free(&s);

    /* a variant list keeps the order of the lists (the last one varies fastest) */
    write_file("order.ini", "[defaults]\nh = 64\nr = 1\nE = 2, 4\n[a]\nvariant = lora, molora\n");
    n = load("order.ini", &s, err, sizeof err);
    CHECK_MSG(n == 3, "lora, molora E=2, molora E=4: got %d (%s)", n, err);
    if (n == 3)
        CHECK(s.cases[0].spec.variant == MB_LORA && s.cases[1].spec.E == 2 &&
              s.cases[2].spec.variant == MB_MOLORA && s.cases[2].spec.E == 4);
    mb_suite_free(&s);

    /* overlapping sections: the union, each shared case once with both implementations */
    char t1[256], t2[256], o1[256], o2[256];
    int_list(t1, sizeof t1, 1, 60);
    int_list(o1, sizeof o1, 1, 60);
    int_list(t2, sizeof t2, 31, 90);
    int_list(o2, sizeof o2, 31, 90);
    snprintf(text, sizeof text, "[defaults]\nvariant=lora\nh=64\nr=1\n[a]\nT=%s\no=%s\nimpl=blas\n"
             "[b]\nT=%s\no=%s\nimpl=merged\n", t1, o1, t2, o2);
    write_file("union.ini", text);
    n = load("union.ini", &s, err, sizeof err);
    CHECK_MSG(n == 3600 + 3600 - 900, "expected 6300 cases, got %d (%s)", n, err);
    int both = 0;
    for (int i = 0; i < n; i++) {
        int64_t T = mb_spec_T(&s.cases[i].spec), O = s.cases[i].spec.o;
        int shared = T >= 31 && T <= 60 && O >= 31 && O <= 60;
        both += s.cases[i].n_impls == 2;
        if (shared != (s.cases[i].n_impls == 2)) {
            CHECK_MSG(0, "case %s: %d implementations", s.cases[i].desc, s.cases[i].n_impls);
            break;
        }
    }
    CHECK_MSG(both == 900, "%d cases with both implementations", both);
    mb_suite_free(&s);

    /* a second suite merges into the cases of the first */
    write_file("first.ini", "[a]\nvariant = lora\nh = 64\nr = 4\nT = 1, 8\nimpl = blas\n");
    write_file("second.ini", "[b]\nvariant = lora\nh = 64\nr = 4\nT = 8, 16\nimpl = merged\n");
    char p1[256], p2[256];
    snprintf(p1, sizeof p1, "%s/first.ini", dir);
    snprintf(p2, sizeof p2, "%s/second.ini", dir);
    memset(&s, 0, sizeof s);
    CHECK(mb_suite_load(p1, &s, err, sizeof err) == 0);
    CHECK_MSG(mb_suite_load(p2, &s, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(s.n == 3 && s.cases[1].n_impls == 2, "%zu cases", s.n);
    mb_suite_free(&s);
}

/* Errors about a file named on the command line: "path: reason", no cases. */
static void expect_file_error(const char *path, const char *needle)
{
    mb_suite s;
    memset(&s, 0, sizeof s);
    char err[1024] = "";
    int rc = mb_suite_load(path, &s, err, sizeof err);
    CHECK_MSG(rc == -1 && s.n == 0, "%s: loaded %zu cases", path, s.n);
    CHECK_MSG(strstr(err, path) == err, "%s: error '%s' does not start with the path", path, err);
    CHECK_MSG(strstr(err, needle) != NULL, "%s: error '%s' lacks '%s'", path, err, needle);
    mb_suite_free(&s);
}

/* Issue 12, items 3 and 8: only regular files of at most 1 MiB are read (a FIFO blocked
 * forever, /dev/zero was read 2 GiB deep); a file that includes itself is a cycle. */
static void test_include_files(void)
{
    char fifo[256], big[256], text[512];
    snprintf(fifo, sizeof fifo, "%s/fifo.ini", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    expect_error("inc_fifo.ini", "[a]\nvariant = lora\ninclude = fifo.ini\n", 3, "is a FIFO");
    expect_file_error(fifo, "is a FIFO");
    expect_error("inc_zero.ini", "[a]\nvariant = lora\ninclude = /dev/zero\n", 3,
                 "'/dev/zero': is a character device");
    expect_error("inc_dir.ini", "[a]\nvariant = lora\ninclude = .\n", 3, "is a directory");
    expect_file_error(dir, "is a directory");

    snprintf(big, sizeof big, "%s/big.ini", dir);
    FILE *f = fopen(big, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("[a]\nvariant = lora\n", f);
        for (int i = 0; i < (1 << 20) / 8; i++)
            fputs("; ......\n", f);   /* comments: valid, just too many */
        fclose(f);
    }
    expect_file_error(big, "larger than 1048576 bytes");
    expect_error("inc_big.ini", "[a]\nvariant = lora\ninclude = big.ini\n", 3, "larger than");

    expect_error("self.ini", "[a]\nvariant = lora\ninclude = self.ini\n", 3,
                 "include cycle: ");
    snprintf(text, sizeof text, "%s/cyc_a.ini -> %s/cyc_b.ini -> %s/cyc_a.ini", dir, dir, dir);
    write_file("cyc_b.ini", "[defaults]\nh = 64\ninclude = cyc_a.ini\n");
    write_file("cyc_a.ini", "[a]\nvariant = lora\ninclude = cyc_b.ini\n");
    mb_suite s;
    char err[1024];
    int n = load("cyc_a.ini", &s, err, sizeof err);
    CHECK_MSG(n == -1 && strstr(err, "cyc_b.ini:3: include cycle: ") && strstr(err, text),
              "cycle not named at the include that closes it: %s", err);
    mb_suite_free(&s);
    /* including one file twice is no cycle */
    write_file("shared2.ini", "[defaults]\nr = 4\n");
    write_file("twice_inc.ini", "[a]\nvariant = lora\nh = 64\ninclude = shared2.ini\n"
                                "[b]\nvariant = mlp_lora\nh = 64\nf = 96\ninclude = shared2.ini\n");
    n = load("twice_inc.ini", &s, err, sizeof err);
    CHECK_MSG(n == 2, "the same include in two sections: %d (%s)", n, err);
    mb_suite_free(&s);

    /* a NUL byte is not text: named at its line */
    char nul[] = "[a]\nvariant = lora\nh = 6\0004\n";
    snprintf(text, sizeof text, "%s/nul.ini", dir);
    f = fopen(text, "w");
    CHECK(f != NULL);
    if (f) {
        fwrite(nul, 1, sizeof nul - 1, f);
        fclose(f);
    }
    n = load("nul.ini", &s, err, sizeof err);
    CHECK_MSG(n == -1 && strstr(err, "nul.ini:3: NUL byte"), "NUL byte: %d (%s)", n, err);
    mb_suite_free(&s);
}

/* Issue 12, item 6: nothing given in a suite is silently dropped or replaced. */
static void test_no_silent_overrides(void)
{
    expect_error("dup_key.ini", "[a]\nvariant = lora\nh = 64\nr = 4\nT = 1, 16\nT = 512\n", 6,
                 "'T' is given twice in [a] (first at");
    expect_error("dup_default.ini", "[defaults]\nh = 64\n[default]\nh = 32\n[a]\nvariant = lora\n",
                 4, "'h' is given twice in [defaults]");
    /* inih's multiline mode appended an indented line to the key before it (T became 16) */
    expect_error("continued.ini", "[a]\nvariant = lora\nh = 64\nr = 4\nT = 1, 2\n  16\n", 6,
                 "continuation of 'T'");
    expect_error("continued_key.ini", "[a]\nvariant = lora\nh = 64\n\n\tr = 4\n", 5,
                 "continuation of 'h'");
    /* indentation right after a header, and indented comments, are fine */
    mb_suite s;
    char err[1024];
    write_file("indented.ini", "[a]\n  variant = lora\nh = 64\n  ; a comment\nr = 4\n");
    int n = load("indented.ini", &s, err, sizeof err);
    CHECK_MSG(n == 1, "indented first key: %d (%s)", n, err);
    mb_suite_free(&s);

    /* keys the variant does not use: an error in the section, fine from [defaults] */
    expect_error("unused.ini", "[a]\nvariant = mor1e\nh = 64\nr = 4\nk = 4294967296\n"
                               "f = 99999999999\n", 5, "'k' is not used by mor1e");
    expect_error("unused2.ini", "[a]\nvariant = lora, mlp_lora\nh = 64\nr = 4\nE = 4\n", 5,
                 "'E' is not used by lora nor mlp_lora");
    write_file("unused_ok.ini", "[defaults]\nh = 64\nr = 4\nf = 96\nE = 4\nk = 2\n"
                                "[a]\nvariant = lora\n[b]\nvariant = lora, mlp_lora\nf = 128\n");
    n = load("unused_ok.ini", &s, err, sizeof err);
    CHECK_MSG(n == 2, "keys from [defaults], or used by one variant of the list: %d (%s)", n, err);
    mb_suite_free(&s);

    /* an empty section, in the middle or at the end */
    expect_error("empty.ini", "[a]\nvariant = lora\nh = 64\nr = 4\n[empty]\n; nothing\n"
                              "[b]\nvariant = lora\nh = 32\nr = 4\n", 5, "section [empty] is empty");
    expect_error("empty_end.ini", "[a]\nvariant = lora\nh = 64\nr = 4\n\n[last]\n", 6,
                 "section [last] is empty");

    /* names inih would cut at 49 characters were reported as "duplicate section" */
    expect_error("long_name.ini",
                 "[aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeee1]\nvariant = lora\nh = 64\n"
                 "[aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeee2]\nvariant = lora\nh = 32\n",
                 1, "longer than 49 characters");
    write_file("name49.ini", "[aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeee]\nvariant = lora\n"
                             "h = 64\nr = 4\n");
    n = load("name49.ini", &s, err, sizeof err);
    CHECK_MSG(n == 1, "49-character name: %d (%s)", n, err);
    mb_suite_free(&s);

    /* a key the section sets wins over an included default, before or after the include;
     * two includes giving one key to a section is a duplicate */
    write_file("inc_h.ini", "[defaults]\nh = 64\nr = 4\n");
    write_file("inc_h2.ini", "[defaults]\nh = 128\n");
    write_file("own_wins.ini", "[a]\nvariant = lora\nh = 32\ninclude = inc_h.ini\n"
                               "[b]\nvariant = mlp_lora\ninclude = inc_h.ini\nh = 16\nf = 96\n");
    n = load("own_wins.ini", &s, err, sizeof err);
    CHECK_MSG(n == 2, "own_wins.ini: %d (%s)", n, err);
    if (n == 2)
        CHECK_MSG(s.cases[0].spec.h == 32 && s.cases[1].spec.h == 16,
                  "h = %lld and %lld", (long long)s.cases[0].spec.h, (long long)s.cases[1].spec.h);
    mb_suite_free(&s);
    write_file("two_incs.ini", "[a]\nvariant = lora\ninclude = inc_h.ini\ninclude = inc_h2.ini\n");
    n = load("two_incs.ini", &s, err, sizeof err);
    CHECK_MSG(n == -1 && strstr(err, "inc_h2.ini:2: 'h' is given twice in [a] (first at ") &&
              strstr(err, "inc_h.ini:2)"), "two includes giving h: %s", err);
    mb_suite_free(&s);
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
    test_bounded_expansion();
    test_include_files();
    test_no_silent_overrides();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return mb_test_result("test_harness_suite");
}
