/* Test-only implementations that misbehave on purpose, to test the runner's isolation:
 * test_crash (abort in forward), test_hang (never returns), test_oom (killed by SIGKILL like
 * the out-of-memory killer), test_wrong (wrong output). Registered only by test programs,
 * never by the moebench binary. */
#ifndef MB_TEST_CRASH_IMPL_H
#define MB_TEST_CRASH_IMPL_H

void mb_test_register_crash_impls(void);

#endif
