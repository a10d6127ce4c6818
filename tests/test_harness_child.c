/* The case's child process volunteers for the OOM killer (oom_score_adj = 1000) so that under
 * memory pressure the case dies, not the harness that records its fate. A test implementation
 * reports the value it sees through its error message. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "moebench/moebench.h"
#include "runner.h"

struct mb_state {
    int dummy;
};

static const char *always(const mb_spec *s)
{
    (void)s;
    return NULL;
}

static mb_status prep(const mb_spec *s, const mb_weights *w, mb_state **st, mb_err *err)
{
    (void)s, (void)w;
    *st = mb_alloc(sizeof **st);
    return *st ? MB_OK : mb_fail(err, MB_ENOMEM, "no memory");
}

static void rel(mb_state *st)
{
    mb_free(st);
}

static mb_status fwd_report(mb_state *st, const mb_inputs *in, mb_tensor *y, mb_forward_info *info,
                            mb_err *err)
{
    (void)st, (void)in, (void)y, (void)info;
    char v[32] = "unreadable";
    FILE *f = fopen("/proc/self/oom_score_adj", "r");
    if (f) {
        if (!fgets(v, sizeof v, f))
            snprintf(v, sizeof v, "empty");
        fclose(f);
        v[strcspn(v, "\n")] = '\0';
    }
    return mb_fail(err, MB_EINTERNAL, "oom_score_adj=%s", v);
}

static const mb_impl test_oomadj = {"test_oomadj", always, prep, fwd_report, rel, NULL, NULL};

typedef struct {
    mb_row row;
    int n;
} got_t;

static void on_row(void *ctx, const mb_row *r)
{
    got_t *g = ctx;
    g->row = *r;
    g->n++;
}

static void read_adj(char *v, size_t n)
{
    v[0] = '\0';
    FILE *f = fopen("/proc/self/oom_score_adj", "r");
    if (f) {
        if (!fgets(v, (int)n, f))
            v[0] = '\0';
        fclose(f);
    }
}

int main(void)
{
    mb_impl_register_extra(&test_oomadj);
    char before[32];
    read_adj(before, sizeof before);
    mb_case c;
    memset(&c, 0, sizeof c);
    mb_err err;
    CHECK(mb_spec_parse("lora:T=2,h=16,o=16,r=2", &c.spec, &err) == MB_OK);
    mb_spec_format(&c.spec, c.desc, sizeof c.desc);
    char impls[1][24] = {"test_oomadj"};
    mb_exec_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.min_time = 0.01;
    cfg.reps = 3;
    cfg.threads = 1;
    cfg.run_id = "t";
    got_t g;
    memset(&g, 0, sizeof g);
    mb_sink sink = {on_row, NULL, &g};
    mb_run_case(&c, impls, 1, 0, &cfg, 60.0, &sink);
    CHECK(g.n == 1);
    CHECK_MSG(strstr(g.row.reason, "oom_score_adj=1000") != NULL, "status %s, reason: %s",
              g.row.status, g.row.reason);
    /* the parent keeps its own score */
    char after[32];
    read_adj(after, sizeof after);
    CHECK_MSG(!strcmp(before, after), "parent's oom_score_adj changed from %s to %s", before, after);
    return mb_test_result("test_harness_child");
}
