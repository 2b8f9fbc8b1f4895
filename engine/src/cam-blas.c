/*
 * cam-blas.c -- the OpenBLAS thread policy (see cam_set_blas_threads in camengine.h).
 *
 * The library does not choose OpenBLAS's thread count by itself: until a caller
 * calls cam_set_blas_threads, OpenBLAS's own default applies (OPENBLAS_NUM_THREADS,
 * else one thread per core). The setting is process-wide, and the engine's own
 * intra-op thread pool (kernels/thread-pool.c) uses the same count: the engine's
 * matrix products run as pieces on that pool with OpenBLAS on one thread
 * (kernels/gemm.c), so OpenBLAS's own threads only serve other callers.
 */
#include "camengine.h"

#include "kernels/cam-kernels.h"

#include <cblas.h>

int cam_set_blas_threads(int n)
{
    int previous = openblas_get_num_threads();
    if (n <= 0)
        n = openblas_get_num_procs();
    if (n < 1)
        n = 1;
    openblas_set_num_threads(n);
    cam_parallel_set_threads(n); /* the engine's own kernels follow (thread-pool.c) */
    return previous;
}
