/*
 * gemm.c -- the engine's matrix products: OpenBLAS's sgemm, cut into pieces that
 * the engine's own thread pool runs side by side (see cam-kernels.h, "Matrix
 * products").
 *
 * Why not OpenBLAS's own threads: after a threaded sgemm, OpenBLAS's idle threads
 * spin (sched_yield) for about 0.1 s before they sleep, and a spinner holds a
 * core that the engine's pool wants for the next layer's kernels (measured:
 * 17-19% of a ResNet's 2-thread forward; tests/bench/RESULTS.md). Here OpenBLAS runs
 * on one thread per piece, so its threads never wake; and a convolution's im2col
 * and bias/ReLU epilogue run per piece too, on the same thread, while the piece's
 * columns are in cache.
 *
 * Determinism: the pieces depend on the product's shape only (cam_gemm_split),
 * never on the thread count: one thread computes the same pieces one after the
 * other, so every output element is computed by the same sgemm call whatever the
 * thread count, and results are bit-identical.
 */
#include "kernels/cam-kernels.h"

#include <cblas.h>

/* A piece holds at least this many multiply-adds, and there are at most
 * GEMM_MAX_PIECES of them (a power of two, so 2 and 4 threads share them evenly). */
#define GEMM_PIECE_WORK (1 << 20)
#define GEMM_MAX_PIECES 8
#define GEMM_MIN_COLUMNS 64 /* a piece along n is at least this wide */
#define GEMM_MIN_ROWS 16    /* a piece along m at least this tall */

cam_gemm_split cam_gemm_plan(int m, int n, int k)
{
    cam_gemm_split sp = {.pieces = 1, .along_n = n >= m, .length = n >= m ? n : m};
    const double work = (double)m * n * k;
    const int shortest = sp.along_n ? GEMM_MIN_COLUMNS : GEMM_MIN_ROWS;
    while (sp.pieces < GEMM_MAX_PIECES && work >= 2.0 * sp.pieces * GEMM_PIECE_WORK &&
           sp.length >= 2 * sp.pieces * shortest)
        sp.pieces *= 2;
    return sp;
}

void cam_gemm_piece(const cam_gemm_split *sp, int piece, int *lo, int *hi)
{
    /* near-equal pieces with boundaries on multiples of 16 (whole cache lines of C
     * when cutting along n), the last one taking the rest */
    const long len = sp->length;
    long a = len * piece / sp->pieces, b = len * (piece + 1) / sp->pieces;
    a = piece == 0 ? 0 : a & ~15L;
    b = piece == sp->pieces - 1 ? len : b & ~15L;
    *lo = (int)a;
    *hi = (int)(b > a ? b : a);
}

typedef struct gemm_job {
    cam_gemm_split sp;
    int trans_a, trans_b, m, n, k, lda, ldb, ldc;
    const float *a, *b;
    float alpha, beta, *c;
} gemm_job;

static void gemm_item(void *arg, int piece)
{
    const gemm_job *j = arg;
    int lo, hi;
    cam_gemm_piece(&j->sp, piece, &lo, &hi);
    if (hi <= lo)
        return;
    const float *a = j->a, *b = j->b;
    float *c = j->c;
    int m = j->m, n = j->n;
    if (j->sp.along_n) {
        /* columns lo..hi of B (row-major K x N, or N x K when transposed) and C */
        b += j->trans_b ? (size_t)lo * j->ldb : (size_t)lo;
        c += lo;
        n = hi - lo;
    } else {
        a += j->trans_a ? (size_t)lo : (size_t)lo * j->lda;
        c += (size_t)lo * j->ldc;
        m = hi - lo;
    }
    cblas_sgemm(CblasRowMajor, j->trans_a ? CblasTrans : CblasNoTrans,
                j->trans_b ? CblasTrans : CblasNoTrans, m, n, j->k, j->alpha, a, j->lda, b, j->ldb,
                j->beta, c, j->ldc);
}

void cam_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    gemm_job job = {.sp = cam_gemm_plan(m, n, k), .trans_a = trans_a, .trans_b = trans_b,
                    .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc,
                    .a = a, .b = b, .alpha = alpha, .beta = beta, .c = c};
    cam_parallel_blas(job.sp.pieces, gemm_item, &job);
}

typedef struct gemv_job {
    int trans, m, n, lda;
    float alpha, beta;
    const float *a, *x;
    float *y;
} gemv_job;

static void gemv_item(void *arg, int item)
{
    const gemv_job *j = arg;
    (void)item;
    cblas_sgemv(CblasRowMajor, j->trans ? CblasTrans : CblasNoTrans, j->m, j->n, j->alpha, j->a,
                j->lda, j->x, 1, j->beta, j->y, 1);
}

void cam_sgemv(int trans, int m, int n, float alpha, const float *a, int lda, const float *x,
               float beta, float *y)
{
    gemv_job job = {.trans = trans, .m = m, .n = n, .lda = lda, .alpha = alpha, .beta = beta,
                    .a = a, .x = x, .y = y};
    cam_parallel_blas(1, gemv_item, &job); /* one piece: only to keep OpenBLAS on one thread */
}
