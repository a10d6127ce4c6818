#include "check.h"

int mb_test_failures = 0;
int mb_test_checks = 0;

int mb_test_result(const char *name)
{
    /* A test that checked nothing proves nothing: count it as a failure. */
    if (mb_test_checks == 0) {
        fprintf(stderr, "%s: no checks ran\n", name);
        return 1;
    }
    printf("%s: %d checks, %d failed\n", name, mb_test_checks, mb_test_failures);
    return mb_test_failures ? 1 : 0;
}
