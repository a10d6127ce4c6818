/* Test-only train implementations of lora (p = 0), written from spec Part 2 section 1, so the
 * harness's train path (train_exec.c) is tested independently of the real implementations:
 * test_train (right: its gradients are the formulas' in double), test_train_wrong (dA off by
 * 1 %: the check must name A). Registered only by test programs. */
#ifndef MB_TEST_TRAIN_IMPL_H
#define MB_TEST_TRAIN_IMPL_H

void mb_test_register_train_impls(void);

#endif
