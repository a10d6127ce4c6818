/* The golden cases of tests/data/ref (tests/make_reference.py: float64 PyTorch from the spec
 * formulas, stored as .npy beside a case.txt), loaded for the reference tests of the forward
 * (test_ref_torch.c) and of the train step (test_ref_train_torch.c). */
#ifndef MOEBENCH_TEST_REF_GOLDEN_H
#define MOEBENCH_TEST_REF_GOLDEN_H

#include "moebench/moebench.h"

typedef struct {
    char desc[512], weights[512], inputs[512], outputs[512];
} golden_case_txt;

/* case.txt of dir: the descriptor, then "weights: ", "inputs: ", "outputs: " name lists. */
int golden_read_case_txt(const char *dir, golden_case_txt *ct);
/* 1 when word is one of the space-separated names of list. */
int golden_has_word(const char *list, const char *word);
/* dir/name.npy as a tensor of dtype dt; 0, or -1 with a failed check. */
int golden_load(const char *dir, const char *name, mb_dtype dt, mb_tensor *t);
/* Max over elements of |got - want| / (|want| + rms(want)) (NaN counts as worst). */
double golden_rel_err(const float *got, const float *want, int64_t n);

typedef struct {
    mb_spec s;
    mb_weights w;
    mb_inputs in;
    mb_tensor y;
    mb_forward_info info;
} golden_tcase;

void golden_tc_free(golden_tcase *c);
/* The spec, weights and inputs of a case, with Y and the forward info allocated. */
int golden_tc_load(const char *dir, const golden_case_txt *ct, golden_tcase *c);

#endif
