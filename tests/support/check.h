/* Minimal assertion helpers for ctest executables: a failing CHECK prints file:line and the
 * expression, and the test's main returns mb_test_result() (non-zero if anything failed). */
#ifndef MB_TEST_CHECK_H
#define MB_TEST_CHECK_H

#include <stdio.h>
#include <math.h>

extern int mb_test_failures;
extern int mb_test_checks;

#define CHECK(cond) do { mb_test_checks++; if (!(cond)) { mb_test_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_MSG(cond, ...) do { mb_test_checks++; if (!(cond)) { mb_test_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define CHECK_NEAR(a, b, tol) do { double _a = (a), _b = (b); mb_test_checks++; \
    if (!(fabs(_a - _b) <= (tol))) { mb_test_failures++; \
    fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.9g vs %s = %.9g (tol %g)\n", \
            __FILE__, __LINE__, #a, _a, #b, _b, (double)(tol)); } } while (0)

/* Prints "N checks, M failed" and returns the exit code. */
int mb_test_result(const char *name);

#endif
