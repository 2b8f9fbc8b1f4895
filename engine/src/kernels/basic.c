/*
 * basic.c -- the element-wise, pooling, dense and softmax ops, each as a
 * forward/backward pair. Convolution is in kernels/conv-im2col.c. See cam-kernels.h.
 */
#include "kernels/cam-kernels.h"

/* GCC's -O2 vectorises only loops whose trip count is a multiple of the vector
 * width ("very cheap" cost model); these element-wise loops have arbitrary
 * lengths. Vectorising them changes no result (no reduction is reordered). */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__OPTIMIZE_SIZE__)
#pragma GCC optimize("vect-cost-model=cheap")
#endif

#include <math.h>
#include <string.h>

/* ---- Relu: y = max(x, 0) ---------------------------------------------------- */

void cam_relu_forward(size_t count, const float *x, float *y)
{
    /* !(v <= 0) is true for v > 0 and for NaN: one comparison, so it vectorises. */
    for (size_t i = 0; i < count; i++) {
        float v = x[i];
        y[i] = !(v <= 0.0f) ? v : 0.0f;
    }
}

void cam_relu_max_forward(size_t count, const float *x, float *y, float relu_max)
{
    if (!(relu_max > 0.0f)) {
        cam_relu_forward(count, x, y);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        float v = x[i];
        v = v < 0.0f ? 0.0f : v;
        y[i] = v > relu_max ? relu_max : v;
    }
}

void cam_relu_backward(size_t count, const float *y, const float *grad_y, float *grad_x)
{
    for (size_t i = 0; i < count; i++)
        grad_x[i] = y[i] > 0.0f ? grad_y[i] : 0.0f;
}

/* ---- MaxPool ---------------------------------------------------------------- */

int cam_pool_output_size(int in, int kernel, int stride, int pad_begin, int pad_end, int dilation,
                         int ceil_mode)
{
    long span = (long)dilation * (kernel - 1) + 1;
    long avail = (long)in + pad_begin + pad_end - span;
    if (avail < 0 || stride <= 0)
        return 0;
    long out = (ceil_mode ? (avail + stride - 1) / stride : avail / stride) + 1;
    /* PyTorch/ONNX: the last window must start inside the input or the left padding. */
    if (ceil_mode && (out - 1) * stride >= (long)in + pad_begin)
        out--;
    return (int)out;
}

/* Index (in the C x H x W plane of channel c) of the maximum of window (oy, ox), or -1
 * when the window lies entirely in the padding. First maximum wins; NaN wins. */
static long pool_argmax(const cam_pool_shape *s, const float *plane, int oy, int ox)
{
    const int H = s->in_height, W = s->in_width;
    const int y0 = oy * s->stride_height - s->pad_top;
    const int x0 = ox * s->stride_width - s->pad_left;
    long best = -1;
    float bestv = -INFINITY;
    for (int ki = 0; ki < s->kernel_height; ki++) {
        int iy = y0 + ki * s->dilation_height;
        if (iy < 0 || iy >= H)
            continue;
        for (int kj = 0; kj < s->kernel_width; kj++) {
            int ix = x0 + kj * s->dilation_width;
            if (ix < 0 || ix >= W)
                continue;
            long idx = (long)iy * W + ix;
            float v = plane[idx];
            if (best < 0 || v > bestv || isnan(v)) {
                best = idx;
                bestv = v;
            }
        }
    }
    return best;
}

/* The running maximum m updated with v as PyTorch does: v replaces m when v > m or
 * v is NaN (so the first maximum stays on ties, and a NaN wins). Branch-free. */
static inline float max_first(float m, float v)
{
    return (v > m) | (v != v) ? v : m;
}

/* The same on 4 lanes (GCC/clang vector extensions: SSE on x86-64, NEON on arm64,
 * plain scalar code elsewhere). */
typedef float cam_v4 __attribute__((vector_size(16)));
typedef int cam_v4i __attribute__((vector_size(16)));

static inline cam_v4 max_first_v4(cam_v4 m, cam_v4 v)
{
    cam_v4i take = (v > m) | (v != v);
    return (cam_v4)((take & (cam_v4i)v) | (~take & (cam_v4i)m));
}

#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define CAM_V4_SHUFFLE(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
#define CAM_V4_SHUFFLE(a, b, i, j, k, l) __builtin_shuffle(a, b, (cam_v4i){i, j, k, l})
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* max_first on 16 lanes. */
__attribute__((target("avx512f"))) static inline __m512 max_first_v16(__m512 m, __m512 v)
{
    __mmask16 take = _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    return _mm512_mask_mov_ps(m, take, v);
}

/* The 2x2/2 pool of one plane whose rows are at most 32 floats wide: per output
 * row, the vertical maxima of the two input rows (masked loads), then the even
 * and odd lanes' maxima (two permutes), one masked store. The same comparisons,
 * in the same order, as the portable path. */
__attribute__((target("avx512f"))) static void maxpool2x2_plane_avx512(const float *plane,
                                                                       int W, int OH, int OW,
                                                                       float *out)
{
    const int lo = W < 16 ? W : 16, hi = W - lo;
    const __mmask16 mlo = (__mmask16)((1u << lo) - 1), mhi = (__mmask16)((1u << hi) - 1);
    const __mmask16 mout = (__mmask16)((1u << OW) - 1);
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    for (int oy = 0; oy < OH; oy++) {
        const float *r0 = plane + (size_t)(2 * oy) * W, *r1 = r0 + W;
        __m512 a = max_first_v16(_mm512_maskz_loadu_ps(mlo, r0), _mm512_maskz_loadu_ps(mlo, r1));
        __m512 b = max_first_v16(_mm512_maskz_loadu_ps(mhi, r0 + lo),
                                 _mm512_maskz_loadu_ps(mhi, r1 + lo));
        __m512 m = max_first_v16(_mm512_permutex2var_ps(a, even, b),
                                 _mm512_permutex2var_ps(a, odd, b));
        _mm512_mask_storeu_ps(out + (size_t)oy * OW, mout, m);
    }
}
#define CAM_POOL_AVX512 1
#endif

/* One output row of a max pool whose windows lie inside the plane vertically
 * (rows y0, y0 + dh, ...): first the maximum of those input rows, column by
 * column (4 columns at a time), then each window's maximum along that row; windows
 * that reach into the left or right padding take pool_argmax's path. The same
 * maximum as the tap-by-tap loop (NaN winning); only which of two equal zeros or
 * several NaNs is kept can differ, as for the 2x2 path. */
#define POOL_ROW_MAX 4096
static void maxpool_row(const cam_pool_shape *s, const float *plane, int y0, float *out)
{
    const int W = s->in_width, kh = s->kernel_height, kw = s->kernel_width;
    const int dw = s->dilation_width;
    const float *top = plane + (size_t)y0 * W;
    const size_t step = (size_t)s->dilation_height * W;
    float col[POOL_ROW_MAX];
    int x = 0;
    for (; x + 4 <= W; x += 4) {
        cam_v4 m, v;
        memcpy(&m, top + x, sizeof m);
        for (int ki = 1; ki < kh; ki++) {
            memcpy(&v, top + ki * step + x, sizeof v);
            m = max_first_v4(m, v);
        }
        memcpy(col + x, &m, sizeof m);
    }
    for (; x < W; x++) {
        float m = top[x];
        for (int ki = 1; ki < kh; ki++)
            m = max_first(m, top[ki * step + x]);
        col[x] = m;
    }
    const int oy = (y0 + s->pad_top) / s->stride_height;
    for (int ox = 0; ox < s->out_width; ox++) {
        const int x0 = ox * s->stride_width - s->pad_left;
        if (x0 >= 0 && x0 + (kw - 1) * dw < W) {
            float m = col[x0];
            for (int kj = 1; kj < kw; kj++)
                m = max_first(m, col[x0 + kj * dw]);
            out[ox] = m;
        } else {
            long idx = pool_argmax(s, plane, oy, ox);
            out[ox] = idx < 0 ? -INFINITY : plane[idx];
        }
    }
}

/* Planes per work item of the max pool: at least MAXPOOL_ITEM_VALUES input values. */
#define MAXPOOL_ITEM_VALUES 16384

typedef struct maxpool_job {
    const cam_pool_shape *s;
    size_t planes, per_item;
    int fast; /* the common 2x2/2 pool without padding */
    const float *x;
    float *y;
} maxpool_job;

static void maxpool_plane(const cam_pool_shape *s, int fast, const float *plane, float *out)
{
#ifdef CAM_POOL_AVX512
    if (fast && s->in_width <= 32 && cam_cpu_avx512()) {
        maxpool2x2_plane_avx512(plane, s->in_width, s->out_height, s->out_width, out);
        return;
    }
#endif
    if (fast) {
        /* The common 2x2/2 pool without padding: same comparisons, same order. */
        /* The maximum of 4 values does not depend on the order they are compared
         * in (only which of several NaNs wins, and the backward's tie-breaking, do;
         * the backward recomputes the argmax in PyTorch's order). So: first the
         * vertical maxima of the row pair (vectorises), then the horizontal pairs. */
        const int W = s->in_width, OW = s->out_width;
        for (int oy = 0; oy < s->out_height; oy++) {
            const float *r0 = plane + (size_t)(2 * oy) * W;
            const float *r1 = r0 + W;
            float *o = out + (size_t)oy * OW;
            int ox = 0;
            for (; ox + 4 <= OW; ox += 4) { /* 4 outputs from 2 x 8 inputs */
                cam_v4 a0, a1, b0, b1;
                memcpy(&a0, r0 + 2 * ox, sizeof a0);
                memcpy(&a1, r0 + 2 * ox + 4, sizeof a1);
                memcpy(&b0, r1 + 2 * ox, sizeof b0);
                memcpy(&b1, r1 + 2 * ox + 4, sizeof b1);
                cam_v4 v0 = max_first_v4(a0, b0), v1 = max_first_v4(a1, b1);
                cam_v4 m = max_first_v4(CAM_V4_SHUFFLE(v0, v1, 0, 2, 4, 6),
                                        CAM_V4_SHUFFLE(v0, v1, 1, 3, 5, 7));
                memcpy(o + ox, &m, sizeof m);
            }
            for (; ox < OW; ox++)
                o[ox] = max_first(max_first(r0[2 * ox], r1[2 * ox]),
                                  max_first(r0[2 * ox + 1], r1[2 * ox + 1]));
        }
        return;
    }
    for (int oy = 0; oy < s->out_height; oy++) {
        const int y0 = oy * s->stride_height - s->pad_top;
        const int row_inside =
            y0 >= 0 && y0 + (s->kernel_height - 1) * s->dilation_height < s->in_height;
        if (row_inside && s->in_width <= POOL_ROW_MAX) {
            maxpool_row(s, plane, y0, out + (size_t)oy * s->out_width);
            continue;
        }
        for (int ox = 0; ox < s->out_width; ox++) {
            const int x0 = ox * s->stride_width - s->pad_left;
            float *o = out + (size_t)oy * s->out_width + ox;
            if (row_inside && x0 >= 0 &&
                x0 + (s->kernel_width - 1) * s->dilation_width < s->in_width) {
                /* a window inside the plane: the taps in pool_argmax's order,
                 * without its bounds checks (the same maximum, NaN winning) */
                const float *w = plane + (size_t)y0 * s->in_width + x0;
                float m = w[0];
                for (int ki = 0; ki < s->kernel_height; ki++) {
                    const float *r = w + (size_t)ki * s->dilation_height * s->in_width;
                    for (int kj = ki ? 0 : 1; kj < s->kernel_width; kj++)
                        m = max_first(m, r[kj * s->dilation_width]);
                }
                *o = m;
            } else {
                long idx = pool_argmax(s, plane, oy, ox);
                *o = idx < 0 ? -INFINITY : plane[idx];
            }
        }
    }
}

static void maxpool_item(void *arg, int item)
{
    const maxpool_job *j = arg;
    const cam_pool_shape *s = j->s;
    const size_t hw = (size_t)s->in_height * s->in_width;
    const size_t ohw = (size_t)s->out_height * s->out_width;
    const size_t p0 = (size_t)item * j->per_item;
    const size_t p1 = p0 + j->per_item < j->planes ? p0 + j->per_item : j->planes;
    for (size_t p = p0; p < p1; p++)
        maxpool_plane(s, j->fast, j->x + p * hw, j->y + p * ohw);
}

/* Planes on the pool, in items of whole planes: each output is computed the same
 * way whichever thread takes it. */
void cam_maxpool_forward(const cam_pool_shape *s, int n, const float *x, float *y)
{
    const size_t hw = (size_t)s->in_height * s->in_width;
    maxpool_job j = {.s = s, .planes = (size_t)n * s->channels, .x = x, .y = y};
    j.fast = s->kernel_height == 2 && s->kernel_width == 2 && s->stride_height == 2 &&
             s->stride_width == 2 && s->pad_top == 0 && s->pad_left == 0 &&
             s->dilation_height == 1 && s->dilation_width == 1 &&
             2 * s->out_height <= s->in_height && 2 * s->out_width <= s->in_width;
    j.per_item = hw > 0 ? (MAXPOOL_ITEM_VALUES + hw - 1) / hw : 1;
    cam_parallel_for((int)((j.planes + j.per_item - 1) / j.per_item), maxpool_item, &j);
}

void cam_maxpool_backward(const cam_pool_shape *s, int n, const float *x, const float *grad_y,
                          float *grad_x)
{
    const size_t hw = (size_t)s->in_height * s->in_width;
    const size_t ohw = (size_t)s->out_height * s->out_width;
    const size_t planes = (size_t)n * s->channels;
    memset(grad_x, 0, planes * hw * sizeof *grad_x);
    for (size_t p = 0; p < planes; p++) {
        const float *plane = x + p * hw;
        const float *gy = grad_y + p * ohw;
        float *gx = grad_x + p * hw;
        for (int oy = 0; oy < s->out_height; oy++)
            for (int ox = 0; ox < s->out_width; ox++) {
                long idx = pool_argmax(s, plane, oy, ox);
                if (idx >= 0)
                    gx[idx] += gy[(size_t)oy * s->out_width + ox];
            }
    }
}

/* ---- GlobalAveragePool ------------------------------------------------------ */

/* Planes per work item: at least GAP_ITEM_VALUES values in all. */
#define GAP_ITEM_VALUES 32768
#define GAP_LANES 8

typedef struct gap_job {
    size_t planes, per_item;
    int spatial;
    const float *x;
    float *y;
} gap_job;

/* Each plane's sum in double over GAP_LANES interleaved partial sums (lane j takes
 * the values i = j mod GAP_LANES; one accumulator would wait on each addition's
 * latency), combined pairwise in a fixed order: the same bits whatever the items. */
static void gap_item(void *arg, int item)
{
    const gap_job *j = arg;
    const size_t p0 = (size_t)item * j->per_item;
    const size_t p1 = p0 + j->per_item < j->planes ? p0 + j->per_item : j->planes;
    const int spatial = j->spatial, full = spatial - spatial % GAP_LANES;
    for (size_t p = p0; p < p1; p++) {
        const float *plane = j->x + p * (size_t)spatial;
        double acc[GAP_LANES] = {0.0};
        for (int i = 0; i < full; i += GAP_LANES)
            for (int l = 0; l < GAP_LANES; l++)
                acc[l] += plane[i + l];
        for (int i = full; i < spatial; i++)
            acc[i - full] += plane[i];
        const double sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                           ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        j->y[p] = (float)(sum / spatial);
    }
}

void cam_global_avgpool_forward(int n, int channels, int spatial, const float *x, float *y)
{
    gap_job j = {.planes = (size_t)n * channels, .spatial = spatial, .x = x, .y = y};
    j.per_item = spatial > 0 ? (GAP_ITEM_VALUES + (size_t)spatial - 1) / (size_t)spatial : 1;
    cam_parallel_for((int)((j.planes + j.per_item - 1) / j.per_item), gap_item, &j);
}

void cam_global_avgpool_backward(int n, int channels, int spatial, const float *grad_y,
                                 float *grad_x)
{
    const size_t planes = (size_t)n * channels;
    for (size_t p = 0; p < planes; p++) {
        float g = grad_y[p] / (float)spatial;
        float *plane = grad_x + p * (size_t)spatial;
        for (int i = 0; i < spatial; i++)
            plane[i] = g;
    }
}

/* ---- Identity --------------------------------------------------------------- */

void cam_identity_forward(size_t count, const float *x, float *y)
{
    if (y != x)
        memmove(y, x, count * sizeof *y);
}

void cam_identity_backward(size_t count, const float *grad_y, float *grad_x)
{
    if (grad_x != grad_y)
        memmove(grad_x, grad_y, count * sizeof *grad_x);
}

/* ---- Gemm ------------------------------------------------------------------- */

void cam_gemm_forward(int n, int k, int m, float alpha, float beta, int trans_b, const float *x,
                      const float *b, const float *c, int c_size, float *y)
{
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * k;
        float *yi = y + (size_t)i * m;
        if (c && beta != 0.0f) {
            for (int j = 0; j < m; j++)
                yi[j] = beta * c[c_size == 1 ? 0 : j];
        } else {
            memset(yi, 0, (size_t)m * sizeof *yi);
        }
        if (trans_b) /* B m x k: y = alpha B x + y */
            cam_sgemv(0, m, k, alpha, b, k, xi, 1.0f, yi);
        else /* B k x m: y = alpha B^T x + y */
            cam_sgemv(1, k, m, alpha, b, m, xi, 1.0f, yi);
    }
}

void cam_gemm_backward(int n, int k, int m, float alpha, int trans_b, const float *b,
                       const float *grad_y, float *grad_x)
{
    for (int i = 0; i < n; i++) {
        const float *gy = grad_y + (size_t)i * m;
        float *gx = grad_x + (size_t)i * k;
        if (trans_b) /* B m x k: gx = alpha B^T gy */
            cam_sgemv(1, m, k, alpha, b, k, gy, 0.0f, gx);
        else /* B k x m: gx = alpha B gy */
            cam_sgemv(0, k, m, alpha, b, m, gy, 0.0f, gx);
    }
}

/* ---- Add -------------------------------------------------------------------- */

void cam_add_forward(int n, size_t size, const float *a, const float *b, int b_batched,
                     size_t b_size, size_t b_inner, float *y)
{
    if (b_batched) {
        const size_t count = (size_t)n * size;
        for (size_t j = 0; j < count; j++)
            y[j] = a[j] + b[j];
        return;
    }
    if (b_inner == 0)
        b_inner = 1;
    for (int i = 0; i < n; i++) {
        const float *ai = a + (size_t)i * size;
        float *yi = y + (size_t)i * size;
        for (size_t j = 0; j < size; j++)
            yi[j] = ai[j] + b[(j / b_inner) % b_size];
    }
}

void cam_add_backward(int n, size_t size, const float *grad_y, float *grad_a)
{
    if (grad_a != grad_y)
        memmove(grad_a, grad_y, (size_t)n * size * sizeof *grad_a);
}

/* ---- BatchNormalization ---------------------------------------------------- */

void cam_batchnorm_fold(int channels, const float *scale, const float *bias, const float *mean,
                        const float *var, float epsilon, float *mul, float *add)
{
    for (int c = 0; c < channels; c++) {
        double mc = (double)scale[c] / sqrt((double)var[c] + (double)epsilon);
        mul[c] = (float)mc;
        add[c] = (float)((double)bias[c] - (double)mean[c] * mc);
    }
}

void cam_batchnorm_forward(int n, int channels, int spatial, const float *mul, const float *add,
                           const float *x, float *y)
{
    for (int i = 0; i < n; i++)
        for (int c = 0; c < channels; c++) {
            size_t off = ((size_t)i * channels + c) * spatial;
            for (int p = 0; p < spatial; p++)
                y[off + p] = x[off + p] * mul[c] + add[c];
        }
}

void cam_batchnorm_backward(int n, int channels, int spatial, const float *mul,
                            const float *grad_y, float *grad_x)
{
    for (int i = 0; i < n; i++)
        for (int c = 0; c < channels; c++) {
            size_t off = ((size_t)i * channels + c) * spatial;
            for (int p = 0; p < spatial; p++)
                grad_x[off + p] = grad_y[off + p] * mul[c];
        }
}

/* ---- Softmax ---------------------------------------------------------------- */

void cam_softmax_forward(int n, int k, const float *x, float *y)
{
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * k;
        float *yi = y + (size_t)i * k;
        float mx = xi[0];
        for (int j = 1; j < k; j++)
            if (xi[j] > mx)
                mx = xi[j];
        double sum = 0.0;
        for (int j = 0; j < k; j++) {
            yi[j] = expf(xi[j] - mx);
            sum += yi[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < k; j++)
            yi[j] *= inv;
    }
}

void cam_softmax_backward(int n, int k, const float *y, const float *grad_y, float *grad_x)
{
    for (int i = 0; i < n; i++) {
        const float *yi = y + (size_t)i * k;
        const float *gy = grad_y + (size_t)i * k;
        float *gx = grad_x + (size_t)i * k;
        double dot = 0.0;
        for (int j = 0; j < k; j++)
            dot += (double)gy[j] * yi[j];
        for (int j = 0; j < k; j++)
            gx[j] = yi[j] * (float)(gy[j] - dot);
    }
}
