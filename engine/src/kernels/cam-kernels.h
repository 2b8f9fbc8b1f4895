/*
 * cam-kernels.h -- the numerical operators of the engine, each a forward/backward pair.
 *
 * Every op works on raw float arrays, NCHW, row-major, for a batch of n images
 * laid out one after another. The forward computes the op; the backward is the
 * vector-Jacobian product with respect to the op's *input* only: the weights of a
 * loaded model are frozen, so no weight or bias gradients are computed.
 *
 * Conventions shared by all ops:
 *  - Shapes are in the comment above each pair; "per image" sizes are C*H*W.
 *  - Backward functions OVERWRITE grad_input (they do not accumulate), except
 *    where the comment says "accumulates"; the graph code adds branches itself.
 *  - Nothing here allocates, prints or fails: shapes are validated by the loader
 *    (cam-layers.c). Scratch memory is passed in by the caller (cam-workspace.c);
 *    its size comes from the *_scratch_size() helpers.
 *  - Determinism: every image is computed by its own calls with the same shapes,
 *    so an image's result does not depend on the batch it was part of. Reductions
 *    run in a fixed order.
 *
 * Convolution is im2col + cblas_sgemm (as in darknet): the input patches of one
 * image and one group become the columns of a (Cg*kh*kw) x (oh*ow) matrix, and the
 * output is W_g (Mg x Cg*kh*kw) times that matrix. Its input gradient is the
 * transposed GEMM followed by col2im (which scatters each column entry back onto
 * the input pixel it came from, summing overlaps).
 */
#ifndef CAM_OPS_H
#define CAM_OPS_H

#include <stddef.h>

/* ---- Conv (ONNX Conv: pads, strides, dilations, group; bias optional) ---- */

typedef struct cam_conv_shape {
    int in_channels, in_height, in_width;    /* C, H, W of one input image */
    int out_channels, out_height, out_width; /* M, OH, OW of one output image */
    int kernel_height, kernel_width;         /* kh, kw */
    int stride_height, stride_width;
    int pad_top, pad_left, pad_bottom, pad_right;
    int dilation_height, dilation_width;
    int groups;                              /* C and M are multiples of groups */
    float relu_max; /* the activation the fused forwards write to `relu`: 0 = ReLU,
                     * > 0 = Clip(v, 0, relu_max) (ReLU6: 6; cam_relu_max_forward) */
} cam_conv_shape;

/* Output size along one axis: floor((in + pads - dilation*(k-1) - 1) / stride) + 1. */
int cam_conv_output_size(int in, int kernel, int stride, int pad_begin, int pad_end, int dilation);

/* Floats of scratch memory conv forward/backward need: the column matrix of one
 * group plus one zero-padded input channel (0 for a 1x1, stride-1, unpadded conv). */
size_t cam_conv2d_scratch_size(const cam_conv_shape *s);

/* input  n x C x H x W
 * weight M x (C/groups) x kh x kw
 * bias   M, or NULL
 * output n x M x OH x OW
 * scratch cam_conv2d_scratch_size(s) floats */
void cam_conv2d_forward(const cam_conv_shape *s, int n, const float *input, const float *weight,
                        const float *bias, float *output, float *scratch);
/* The same convolution with the elementwise ops that follow it in a residual
 * block, in one pass over the output while it is in cache:
 *   output = cam_conv2d_forward(...) + residual   (residual n x M x OH x OW, or NULL;
 *            the sum of the bias-added value and residual, bit-identical to a
 *            separate Add)
 *   relu   = cam_relu_forward(output)            (or NULL; not aliasing output) */
void cam_conv2d_fused_forward(const cam_conv_shape *s, int n, const float *input,
                              const float *weight, const float *bias, const float *residual,
                              float *output, float *relu, float *scratch);
/* (relu as cam_relu_max_forward(output, s->relu_max): ReLU6 is Clip(0, 6).)
 * grad_output n x M x OH x OW  ->  grad_input n x C x H x W (overwritten) */
void cam_conv2d_backward(const cam_conv_shape *s, int n, const float *grad_output,
                         const float *weight, float *grad_input, float *scratch);

/* The two halves of the convolution, exposed for tests.
 * im2col: one image (C x H x W), channels [c0, c0+cg) -> col (cg*kh*kw) x (OH*OW).
 *   padded: NULL (bounds checks per row), or room for one zero-padded channel,
 *   (H + pad_top + pad_bottom) x (W + pad_left + pad_right) floats (faster).
 * col2im: the transpose; ADDS into image (which the caller zeroes). */
void cam_im2col(const cam_conv_shape *s, const float *image, int c0, int cg, float *col,
                float *padded);
void cam_col2im(const cam_conv_shape *s, const float *col, int c0, int cg, float *image);

/* ---- Intra-op threads (thread-pool.c) ---------------------------------------
 * A process-wide pool of pthreads, spinning for a moment after each loop, then
 * parked until the next.
 * cam_parallel_for runs fn(arg, item) for every item in [0, items), spread over
 * cam_parallel_threads() threads (the caller included), and returns when all are
 * done. Items must be independent and each computed by the same operations
 * whichever thread runs it, so that results do not depend on the thread count.
 * When the pool is busy (another caller thread, or a call from inside an item)
 * the loop runs inline on the calling thread. */
typedef void (*cam_parallel_fn)(void *arg, int item);
void cam_parallel_for(int items, cam_parallel_fn fn, void *arg);
/* The thread count: the last cam_parallel_set_threads(n > 0) (cam_set_blas_threads
 * sets it to OpenBLAS's count), else OpenBLAS's own thread count; at most 64.
 * n <= 0 goes back to following OpenBLAS. 1: no pool, kernels run inline. */
int cam_parallel_threads(void);
void cam_parallel_set_threads(int n);
/* fn(arg, lane) for lane in [0, lanes), each lane on a thread of its own when the
 * pool is free (lanes <= cam_parallel_threads() is the caller's business), for
 * whole passes run side by side (the perturbation methods): while they run on
 * the pool, OpenBLAS is set to one thread (restored afterwards: its count is
 * process-wide, so another thread calling OpenBLAS meanwhile gets one thread too)
 * and the kernels' own cam_parallel_for calls run inline. When the pool is busy
 * (another caller thread) the lanes run one after the other on the calling
 * thread, OpenBLAS untouched. */
void cam_parallel_lanes(int lanes, cam_parallel_fn fn, void *arg);
/* cam_parallel_for for items that call OpenBLAS (gemm.c's pieces): OpenBLAS is set
 * to one thread while they run, as for the lanes, also when the pool has a
 * single thread, so OpenBLAS's own threads never wake (restored afterwards).
 * Each thread runs one contiguous range of the items (neighbouring pieces of a
 * product share cache lines at their seams). When the pool is busy the items
 * run inline, OpenBLAS untouched. */
void cam_parallel_blas(int items, cam_parallel_fn fn, void *arg);

/* ---- Matrix products (gemm.c) ----------------------------------------------
 * Every sgemm of the engine: C (m x n, row-major, ldc) = op(A) op(B) + beta C,
 * op = transpose when trans_* is set, cut by cam_gemm_plan into pieces along n
 * (when n >= m) or m, which the pool runs with OpenBLAS on one thread each. The
 * pieces depend on (m, n, k) only, so results do not depend on the thread count.
 * Kernels that do more per piece (conv-im2col.c: im2col, bias, ReLU) use the plan
 * and cam_gemm_piece themselves. */
typedef struct cam_gemm_split {
    int pieces;  /* 1, 2, 4 or 8 */
    int along_n; /* 1: pieces of columns, 0: pieces of rows */
    int length;  /* n or m */
} cam_gemm_split;
cam_gemm_split cam_gemm_plan(int m, int n, int k);
/* piece i's range [lo, hi) of columns or rows (boundaries on multiples of 16) */
void cam_gemm_piece(const cam_gemm_split *sp, int piece, int *lo, int *hi);
void cam_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc);
/* y = alpha op(A) x + beta y, A m x n row-major (cblas_sgemv), in one piece */
void cam_sgemv(int trans, int m, int n, float alpha, const float *a, int lda, const float *x,
               float beta, float *y);

/* ---- AVX-512 --------------------------------------------------------------
 * 1 when this x86-64 CPU has AVX-512F and CAM_NO_AVX512 is unset or "0" (read once,
 * before the first model is loaded: set it to compare with the portable paths).
 * The direct convolution and the 2x2 max pool use it; results stay the same
 * whatever the thread count or batch, but differ in the last bits from the
 * portable paths (another GEMM kernel). */
int cam_cpu_avx512(void);
/* 1 when this x86-64 CPU has AVX2 and FMA and CAM_NO_AVX2 is unset or "0" (read
 * once, as above). The depthwise convolution has an AVX2 path for CPUs without
 * AVX-512 (or with it turned off), giving the AVX-512 path's results;
 * CAM_NO_AVX512=1 CAM_NO_AVX2=1 gives the portable paths everywhere. */
int cam_cpu_avx2(void);

/* ---- Direct convolution (conv-direct.c) ----------------------------
 * On CPUs with AVX-512, for one group, M a multiple of 16, K = C*kh*kw >= 64 and at
 * most 256 output pixels for a 1x1 kernel (above, OpenBLAS on the input itself is
 * faster), 65536 for a larger one (there im2col's column matrix costs more than the
 * kernel saves: tests/bench/bench-conv): weights packed once (at model load), the
 * input read in place (one zero-padded copy), each output one FMA chain over k. The loader packs the
 * weights of the convolutions for which cam_conv_direct_supported() is true, and
 * the forward pass then uses cam_conv2d_direct_forward instead of
 * cam_conv2d_forward. */
int cam_conv_direct_supported(const cam_conv_shape *s);
size_t cam_conv_direct_packed_size(const cam_conv_shape *s);   /* floats */
/* The packed layout: output channels in blocks of CAM_CONV_DIRECT_BLOCK (the
 * last block may be smaller), block m0 holding the K x bm matrix
 * packed[m0*K + k*bm + l] = weight[(m0 + l)*K + k]. */
#define CAM_CONV_DIRECT_BLOCK 32
void cam_conv_direct_pack(const cam_conv_shape *s, const float *weight, float *packed);
/* cam_conv2d_backward (one group) from the packed weights, so that a packed
 * convolution needs no other copy of its weights: the gradient of the column
 * matrix is summed block by block of output channels (blocks in order), then
 * scattered back as cam_conv2d_backward does. scratch: cam_conv2d_scratch_size. */
void cam_conv2d_backward_packed(const cam_conv_shape *s, int n, const float *grad_output,
                                const float *packed, float *grad_input, float *scratch);
size_t cam_conv_direct_scratch_size(const cam_conv_shape *s);  /* floats */
/* output (n x M x OH x OW) = conv(input) + bias (+ residual, or NULL); relu (or
 * NULL) = its ReLU (or Clip, s->relu_max): as cam_conv2d_fused_forward. */
void cam_conv2d_direct_forward(const cam_conv_shape *s, int n, const float *input,
                               const float *packed, const float *bias, const float *residual,
                               float *output, float *relu, float *scratch);

/* ---- Depthwise convolution (conv-depthwise.c) --------------------------------
 * groups == C > 1, any channel multiplier M / C, strides, pads, dilations: each
 * output channel on its own (threaded over channels with cam_parallel_for), with
 * AVX-512 or AVX2 on CPUs that have them (cam_cpu_avx512(), cam_cpu_avx2(): the
 * same results; fused multiply-adds, so the last bits differ from the portable
 * path), no scratch memory. */
int cam_depthwise_supported(const cam_conv_shape *s);
/* input n x C x H x W, weight M x 1 x kh x kw, bias M or NULL -> output n x M x OH x OW;
 * relu (or NULL; not aliasing output) = cam_relu_max_forward(output, s->relu_max). */
void cam_depthwise_forward(const cam_conv_shape *s, int n, const float *input,
                           const float *weight, const float *bias, float *output, float *relu);
/* grad_output n x M x OH x OW -> grad_input n x C x H x W (overwritten). */
void cam_depthwise_backward(const cam_conv_shape *s, int n, const float *grad_output,
                            const float *weight, float *grad_input);

/* ---- Relu ---------------------------------------------------------------- */

/* x, y: count floats (whole batch). y may equal x. y = x > 0 ? x : 0; a NaN
 * propagates (as in PyTorch). */
void cam_relu_forward(size_t count, const float *x, float *y);
/* grad_x = grad_y where y > 0, else 0 (PyTorch's threshold_backward on the output).
 * grad_x may equal grad_y. */
void cam_relu_backward(size_t count, const float *y, const float *grad_y, float *grad_x);
/* relu_max == 0: cam_relu_forward; relu_max > 0: y = min(max(x, 0), relu_max) as ONNX
 * Clip computes it (v < 0 gives +0, a -0 stays -0, a NaN stays NaN). y may equal x. */
void cam_relu_max_forward(size_t count, const float *x, float *y, float relu_max);

/* ---- MaxPool (ONNX MaxPool: kernel_shape, strides, pads, dilations, ceil_mode) ---- */

typedef struct cam_pool_shape {
    int channels, in_height, in_width;
    int out_height, out_width;
    int kernel_height, kernel_width;
    int stride_height, stride_width;
    int pad_top, pad_left, pad_bottom, pad_right;
    int dilation_height, dilation_width;
} cam_pool_shape;

/* Output size along one axis with ONNX/PyTorch ceil_mode rules: with ceil_mode a
 * last window that would start in the right padding is dropped. */
int cam_pool_output_size(int in, int kernel, int stride, int pad_begin, int pad_end, int dilation,
                         int ceil_mode);

/* x n x C x H x W -> y n x C x OH x OW. Padding never wins (acts as -inf). */
void cam_maxpool_forward(const cam_pool_shape *s, int n, const float *x, float *y);
/* Routes each grad_y to the position of its window's maximum in x (the first one
 * on ties, in row-major window order, as PyTorch; a NaN wins as in PyTorch).
 * grad_x n x C x H x W is overwritten. */
void cam_maxpool_backward(const cam_pool_shape *s, int n, const float *x, const float *grad_y,
                          float *grad_x);

/* ---- GlobalAveragePool / ReduceMean over H, W ----------------------------- */

/* x n x C x H x W -> y n x C (x 1 x 1). Each plane's sum in double, as 8 interleaved
 * partial sums added in a fixed order, then divided; planes spread over the pool. */
void cam_global_avgpool_forward(int n, int channels, int spatial, const float *x, float *y);
/* grad_x[c, p] = grad_y[c] / spatial */
void cam_global_avgpool_backward(int n, int channels, int spatial, const float *grad_y,
                                 float *grad_x);

/* ---- Identity / Flatten / Reshape / Dropout (memory layout unchanged) ------ */

/* y = x (count floats; no-op when y == x). The backward is the same copy. */
void cam_identity_forward(size_t count, const float *x, float *y);
void cam_identity_backward(size_t count, const float *grad_y, float *grad_x);

/* ---- Gemm (ONNX Gemm with the activation as A, transA = 0) / MatMul -------- */

/* For each image i:  y_i (m) = alpha * x_i (k) . op(B) + beta * c
 * B: transB ? m x k : k x m.  c: NULL, or c_size floats broadcast over the m
 * outputs (c_size == 1 or c_size == m). One matrix-vector product per image, so the
 * result of an image does not depend on the batch. */
void cam_gemm_forward(int n, int k, int m, float alpha, float beta, int trans_b, const float *x,
                      const float *b, const float *c, int c_size, float *y);
/* grad_x_i (k) = alpha * op(B) . grad_y_i (m); overwritten. */
void cam_gemm_backward(int n, int k, int m, float alpha, int trans_b, const float *b,
                       const float *grad_y, float *grad_x);

/* ---- Add ------------------------------------------------------------------ */

/* y (n x size) = a (n x size) + b broadcast. b is either another batch tensor
 * (b_batched != 0: n x size, same shape as a), or a constant of b_size floats used
 * as b[(j / b_inner) % b_size] for element j of an image: a per-channel bias is
 * b_size = C, b_inner = H*W; a trailing vector b_size = W, b_inner = 1; a scalar
 * b_size = 1. y may equal a. */
void cam_add_forward(int n, size_t size, const float *a, const float *b, int b_batched,
                     size_t b_size, size_t b_inner, float *y);
/* The gradient of each addend is grad_y itself (the constant addend needs none). */
void cam_add_backward(int n, size_t size, const float *grad_y, float *grad_a);

/* ---- BatchNormalization (inference) ---------------------------------------- */

/* Folds scale, bias, mean, var, epsilon into y = x * mul[c] + add[c], with
 * mul = scale / sqrt(var + eps), add = bias - mean * mul (computed in double). */
void cam_batchnorm_fold(int channels, const float *scale, const float *bias, const float *mean,
                        const float *var, float epsilon, float *mul, float *add);
/* x, y n x C x spatial; y may equal x. */
void cam_batchnorm_forward(int n, int channels, int spatial, const float *mul, const float *add,
                           const float *x, float *y);
/* grad_x = grad_y * mul[c]; grad_x may equal grad_y. */
void cam_batchnorm_backward(int n, int channels, int spatial, const float *mul,
                            const float *grad_y, float *grad_x);

/* ---- Softmax over the last axis -------------------------------------------- */

/* x, y n x k; y = exp(x - max) / sum. y may equal x. */
void cam_softmax_forward(int n, int k, const float *x, float *y);
/* grad_x = y * (grad_y - sum_j grad_y[j] y[j]); grad_x may equal grad_y. */
void cam_softmax_backward(int n, int k, const float *y, const float *grad_y, float *grad_x);

/* ---- Vector math (vector-math.c) --------------------------------------------
 * AVX-512 polynomial paths where cam_cpu_avx512() (a few units in the last place
 * from the correctly rounded result), libm / cam_softmax_forward otherwise; the work
 * is split over the thread pool in fixed items, so results do not depend on the
 * thread count. y may equal x. */

/* y[i] = erf(x[i]), i < n. */
void cam_erf_forward(size_t n, const float *x, float *y);
/* s[i] = sigmoid(x[i]) = 1 / (1 + e^-x[i]) and y[i] = x[i] s[i] (SiLU), i < n, each
 * when not NULL (s and y may equal x, not each other). */
void cam_sigmoid_forward(size_t n, const float *x, float *s, float *y);
/* As cam_softmax_forward: rows of x, y n x k; y = exp(x - max) / sum. */
void cam_softmax_rows_forward(int n, int k, const float *x, float *y);

#endif /* CAM_OPS_H */
