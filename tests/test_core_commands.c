/* `moebench list` and `moebench case` (harness/cmd_list.c, cmd_case.c), called in-process with
 * stdout and stderr captured to temporary files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "commands.h"
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

int main(void)
{
    test_list();
    test_case_invalid();
    test_case_runs();
    return mb_test_result("test_core_commands");
}
