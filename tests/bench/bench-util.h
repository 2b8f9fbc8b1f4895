/* bench-util.h -- what the benchmark programs of tests/bench share. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

/* Seconds on the monotonic clock. */
double bench_now(void);
/* Sleep that many seconds. */
void bench_sleep(double seconds);
/* qsort comparison of doubles, ascending. */
int bench_compare_double(const void *a, const void *b);
/* OpenBLAS sgemm GFLOP/s of C[m x n] = A[m x k] B[k x n] with `threads`
 * OpenBLAS threads: the best of repeated runs over about 0.3 s (NAN when out
 * of memory). Leaves OpenBLAS at `threads` threads. */
double bench_sgemm_gflops(int m, int n, int k, int threads);

#endif
