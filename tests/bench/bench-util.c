/* bench-util.c -- see bench-util.h. */
#include "bench-util.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void bench_sleep(double seconds)
{
    struct timespec t = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&t, &t) != 0) {
    }
}

int bench_compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_sgemm_gflops(int m, int n, int k, int threads)
{
    float *a = malloc(sizeof(float) * (size_t)m * k), *b = malloc(sizeof(float) * (size_t)k * n);
    float *c = malloc(sizeof(float) * (size_t)m * n);
    double best = INFINITY;
    if (!a || !b || !c)
        goto out;
    for (size_t i = 0; i < (size_t)m * k; i++)
        a[i] = (float)(i % 17) * 0.01f;
    for (size_t i = 0; i < (size_t)k * n; i++)
        b[i] = (float)(i % 13) * 0.01f;
    openblas_set_num_threads(threads);
    for (int i = 0; i < 5; i++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
    const double start = bench_now();
    while (bench_now() - start < 0.3) {
        double t0 = bench_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        t0 = bench_now() - t0;
        if (t0 < best)
            best = t0;
    }
out:
    free(a);
    free(b);
    free(c);
    return isinf(best) ? NAN : 2.0 * m * n * k / best / 1e9;
}
