/*
 * test-check.h -- what the engine tests check with: CHECK and CHECK_OK count a
 * failure in the including file's `static int failures` (CHECK_OK prints the
 * message of the `cam_error err` in scope), a repeatable uniform generator, and
 * a comparison of float results with double references. Header-only: each test
 * program keeps its own counter and its own seed.
 */
#ifndef TEST_CHECK_H
#define TEST_CHECK_H

#include <math.h>
#include <stdio.h>

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

#define CHECK_OK(expr)                                                                   \
    do {                                                                                 \
        if ((expr) != CAM_OK) {                                                          \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, err.message); \
            failures++;                                                                  \
        }                                                                                \
    } while (0)

/* Uniform in [-1, 1), from a 64-bit LCG whose state the caller keeps. */
static inline float test_uniform(unsigned long long *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*state >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}

/* 0 when every |got - want| <= tol; else prints the first that is not (or is
 * NaN) as "what[i]: got, want" and returns 1. */
static inline int test_compare(const char *what, const float *got, const double *want, size_t n,
                               double tol)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= tol)) {
            fprintf(stderr, "%s[%zu]: got %.9g, want %.9g\n", what, i, got[i], want[i]);
            return 1;
        }
    return 0;
}

#endif /* TEST_CHECK_H */
