/* Loading the golden cases of tests/data/ref (ref_golden.h). */
#include "ref_golden.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "npy.h"

int golden_read_case_txt(const char *dir, golden_case_txt *ct)
{
    char path[1100], line[512];
    snprintf(path, sizeof path, "%s/case.txt", dir);
    FILE *fp = fopen(path, "r");
    CHECK_MSG(fp != NULL, "cannot open %s", path);
    if (!fp)
        return -1;
    memset(ct, 0, sizeof *ct);
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!strncmp(line, "weights: ", 9))
            snprintf(ct->weights, sizeof ct->weights, "%s", line + 9);
        else if (!strncmp(line, "inputs: ", 8))
            snprintf(ct->inputs, sizeof ct->inputs, "%s", line + 8);
        else if (!strncmp(line, "outputs: ", 9))
            snprintf(ct->outputs, sizeof ct->outputs, "%s", line + 9);
        else if (!ct->desc[0])
            snprintf(ct->desc, sizeof ct->desc, "%s", line);
    }
    fclose(fp);
    CHECK_MSG(ct->desc[0] && ct->weights[0] && ct->inputs[0], "%s: incomplete", path);
    return ct->desc[0] ? 0 : -1;
}

int golden_has_word(const char *list, const char *word)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " "))
        if (!strcmp(tok, word))
            return 1;
    return 0;
}

int golden_load(const char *dir, const char *name, mb_dtype dt, mb_tensor *t)
{
    char path[2048];
    mb_err err = { 0 };
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    mb_status st = mb_npy_read_tensor(path, dt, t, &err);
    CHECK_MSG(st == MB_OK, "%s", err.msg);
    return st == MB_OK ? 0 : -1;
}

double golden_rel_err(const float *got, const float *want, int64_t n)
{
    double rms = 0.0, worst = 0.0;
    for (int64_t i = 0; i < n; i++)
        rms += (double)want[i] * want[i];
    rms = sqrt(rms / (double)n);
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]) / (fabs(want[i]) + rms + 1e-30);
        if (!(e <= worst))   /* also catches NaN */
            worst = e;
    }
    return worst;
}

void golden_tc_free(golden_tcase *c)
{
    mb_weights_free(&c->w);
    mb_inputs_free(&c->in);
    mb_tensor_free(&c->y);
    mb_forward_info_free(&c->info);
}

int golden_tc_load(const char *dir, const golden_case_txt *ct, golden_tcase *c)
{
    mb_err err = { 0 };
    memset(c, 0, sizeof *c);
    if (mb_spec_parse(ct->desc, &c->s, &err) != MB_OK || mb_spec_validate(&c->s, 0, &err) != MB_OK) {
        CHECK_MSG(0, "%s: %s", ct->desc, err.msg);
        return -1;
    }
    char buf[512];
    snprintf(buf, sizeof buf, "%s", ct->weights);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        mb_tensor t;
        if (golden_load(dir, tok, MB_F32, &t))
            return -1;
        if (mb_weights_add(&c->w, tok, t, &err) != MB_OK) {
            CHECK_MSG(0, "add %s: %s", tok, err.msg);
            mb_tensor_free(&t);
            return -1;
        }
    }
    if (golden_load(dir, "X", MB_F32, &c->in.X))
        return -1;
    if (golden_has_word(ct->inputs, "task") && golden_load(dir, "task", MB_I32, &c->in.task))
        return -1;
    if (golden_has_word(ct->inputs, "R") && golden_load(dir, "R", MB_F32, &c->in.R))
        return -1;
    if (mb_output_alloc(&c->s, &c->y, &err) != MB_OK || mb_forward_info_alloc(&c->s, &c->info, &err) != MB_OK) {
        CHECK_MSG(0, "%s: %s", ct->desc, err.msg);
        return -1;
    }
    return 0;
}
