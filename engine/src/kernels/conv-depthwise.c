/*
 * conv-depthwise.c -- depthwise convolution (group == C, any channel multiplier),
 * forward and input gradient (see cam-kernels.h, "Depthwise convolution").
 *
 * An im2col GEMM per group would have one row: all overhead. Here each output
 * channel m reads input channel m / mult (mult = M / C) and is computed on its
 * own:
 *  - portable: the bias, then the taps added in (ki, kj) order, tap by tap over
 *    the output rows (each tap clipped to the rows and columns it reaches);
 *  - AVX-512 (cam_cpu_avx512(), kernel width <= DW_MAX_KW): 16 output pixels of a
 *    row at a time, accumulator = bias, then one fused multiply-add per tap in
 *    (ki, kj) order, with masked loads giving 0 outside the image (stride 1: one
 *    load; stride 2: two loads and a permute; other strides: a gather);
 *  - AVX2 + FMA (cam_cpu_avx2(), where AVX-512 is missing or turned off): the same
 *    on 8 output pixels at a time, with the same results.
 * Channels are independent work items for the thread pool (cam_parallel_for), so
 * an output does not depend on the thread count or the batch. The two paths
 * differ in the last bits (fused multiply-adds, zero taps added), as the direct
 * and im2col convolutions do.
 *
 * The input gradient is the transposed loop, item by item over input channels:
 * channel c sums the scattered taps of its output channels c*mult .. in order.
 */
#include "kernels/cam-kernels.h"
#include "kernels/cam-simd.h"

/* GCC's -O2 vectorises only loops whose trip count is a multiple of the vector
 * width ("very cheap" cost model); the row loops here have arbitrary lengths.
 * Vectorising them changes no result (each output's sum keeps its order). */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__OPTIMIZE_SIZE__)
#pragma GCC optimize("vect-cost-model=cheap")
#endif

#include <stddef.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define CAM_DEPTHWISE_X86 1
#include <immintrin.h>
#endif

#define DW_MAX_KW 16  /* widest kernel of the AVX-512 path (masks kept per column tap) */
#define DW_ITEM_WORK 32768 /* multiply-adds per work item at least (thread overhead) */

/* The range [*lo, *hi) of output positions o whose input position o*stride + offset
 * lies in [0, in) (clipped to [0, out)). */
static void tap_range(int out, int in, int stride, int offset, int *lo, int *hi)
{
    long a = 0, b = 0;
    if (offset < 0)
        a = (-(long)offset + stride - 1) / stride;
    if ((long)in - offset > 0)
        b = ((long)in - offset + stride - 1) / stride;
    if (b > out)
        b = out;
    if (a > b)
        a = b;
    *lo = (int)a;
    *hi = (int)b;
}

/* One output channel, portable: out (OH x OW) from plane (H x W) and wm (kh x kw). */
static void channel_forward(const cam_conv_shape *s, const float *plane, const float *wm,
                            float b, float *out)
{
    const int H = s->in_height, W = s->in_width, OH = s->out_height, OW = s->out_width;
    const int kh = s->kernel_height, kw = s->kernel_width;
    const int sh = s->stride_height, sw = s->stride_width;
    const size_t ohw = (size_t)OH * OW;
    for (size_t p = 0; p < ohw; p++)
        out[p] = b;
    for (int ki = 0; ki < kh; ki++) {
        const int yoff = ki * s->dilation_height - s->pad_top;
        int ylo, yhi;
        tap_range(OH, H, sh, yoff, &ylo, &yhi);
        for (int kj = 0; kj < kw; kj++) {
            const int xoff = kj * s->dilation_width - s->pad_left;
            int xlo, xhi;
            tap_range(OW, W, sw, xoff, &xlo, &xhi);
            const float wt = wm[ki * kw + kj];
            for (int oy = ylo; oy < yhi; oy++) {
                const float *src = plane + (ptrdiff_t)(oy * sh + yoff) * W + xoff;
                float *dst = out + (size_t)oy * OW;
                if (sw == 1) {
                    for (int ox = xlo; ox < xhi; ox++)
                        dst[ox] += wt * src[ox];
                } else {
                    for (int ox = xlo; ox < xhi; ox++)
                        dst[ox] += wt * src[(ptrdiff_t)ox * sw];
                }
            }
        }
    }
}

#ifdef CAM_DEPTHWISE_X86

/* Lanes j of the 16 starting at input column ix0 + j*step that lie in [0, W),
 * j < lanes. */
__attribute__((target("avx512f"))) static inline __mmask16 column_mask(int ix0, int step, int W,
                                                                       int lanes)
{
    const __m512i j = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i idx = _mm512_add_epi32(_mm512_set1_epi32(ix0),
                                         _mm512_mullo_epi32(j, _mm512_set1_epi32(step)));
    __mmask16 m = _mm512_cmpge_epi32_mask(idx, _mm512_setzero_si512()) &
                  _mm512_cmplt_epi32_mask(idx, _mm512_set1_epi32(W));
    return m & (__mmask16)((1u << lanes) - 1);
}

/* One output channel with AVX-512: see the file comment. */
__attribute__((target("avx512f"))) static void channel_forward_avx512(const cam_conv_shape *s,
                                                                     const float *plane,
                                                                     const float *wm, float b,
                                                                     float *out, float *relu)
{
    const int H = s->in_height, W = s->in_width, OH = s->out_height, OW = s->out_width;
    const int kh = s->kernel_height, kw = s->kernel_width;
    const int sh = s->stride_height, sw = s->stride_width;
    const int dh = s->dilation_height, dw = s->dilation_width;
    const __m512i evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4,
                                           2, 0);
    const __m512i step = _mm512_mullo_epi32(
        _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
        _mm512_set1_epi32(sw));
    const __m512 zero = _mm512_setzero_ps();
    __mmask16 lo_mask[DW_MAX_KW], hi_mask[DW_MAX_KW];
    for (int ox0 = 0; ox0 < OW; ox0 += 16) {
        const int lanes = OW - ox0 < 16 ? OW - ox0 : 16;
        const __mmask16 store = (__mmask16)((1u << lanes) - 1);
        for (int kj = 0; kj < kw; kj++) {
            const int ix0 = ox0 * sw + kj * dw - s->pad_left;
            if (sw == 2) { /* input columns ix0 .. ix0 + 31, as two vectors */
                lo_mask[kj] = column_mask(ix0, 1, W, 16);
                hi_mask[kj] = column_mask(ix0 + 16, 1, W, 16);
            } else {
                lo_mask[kj] = column_mask(ix0, sw, W, lanes);
            }
        }
        for (int oy = 0; oy < OH; oy++) {
            __m512 acc = _mm512_set1_ps(b);
            for (int ki = 0; ki < kh; ki++) {
                const int iy = oy * sh + ki * dh - s->pad_top;
                if (iy < 0 || iy >= H)
                    continue;
                const float *row = plane + (size_t)iy * W;
                for (int kj = 0; kj < kw; kj++) {
                    const ptrdiff_t ix0 = (ptrdiff_t)ox0 * sw + kj * dw - s->pad_left;
                    __m512 v;
                    if (sw == 1) {
                        v = _mm512_maskz_loadu_ps(lo_mask[kj], row + ix0);
                    } else if (sw == 2) {
                        const __m512 a = _mm512_maskz_loadu_ps(lo_mask[kj], row + ix0);
                        const __m512 c = _mm512_maskz_loadu_ps(hi_mask[kj], row + ix0 + 16);
                        v = _mm512_permutex2var_ps(a, evens, c);
                    } else {
                        v = _mm512_mask_i32gather_ps(zero, lo_mask[kj], step, row + ix0, 4);
                    }
                    acc = _mm512_fmadd_ps(_mm512_set1_ps(wm[ki * kw + kj]), v, acc);
                }
            }
            float *dst = out + (size_t)oy * OW + ox0;
            _mm512_mask_storeu_ps(dst, store, acc);
            if (relu)
                _mm512_mask_storeu_ps(relu + (size_t)oy * OW + ox0, store,
                                      cam_relu_max16(acc, s->relu_max));
        }
    }
}


/* The AVX2 lanes j < lanes of the 8 starting at input column ix0 + j*step that lie
 * in [0, W), as a lane mask (all ones / zeros). */
__attribute__((target("avx2,fma"))) static inline __m256i column_mask8(int ix0, int step, int W,
                                                                      int lanes)
{
    const __m256i j = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(ix0),
                                         _mm256_mullo_epi32(j, _mm256_set1_epi32(step)));
    const __m256i inside = _mm256_and_si256(
        _mm256_cmpgt_epi32(idx, _mm256_set1_epi32(-1)),
        _mm256_cmpgt_epi32(_mm256_set1_epi32(W), idx));
    return _mm256_and_si256(inside, _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), j));
}

/* One output channel with AVX2 and FMA: the AVX-512 kernel's algorithm on 8 output
 * pixels at a time (masked loads giving 0 outside the image; stride 2: two loads,
 * a shuffle and a permute; other strides: a gather). Every lane does the AVX-512
 * lane's operations in the same order (accumulator = bias, one fused multiply-add
 * per tap in (ki, kj) order), so the two give the same bits. */
__attribute__((target("avx2,fma"))) static void channel_forward_avx2(const cam_conv_shape *s,
                                                                    const float *plane,
                                                                    const float *wm, float b,
                                                                    float *out, float *relu)
{
    const int H = s->in_height, W = s->in_width, OH = s->out_height, OW = s->out_width;
    const int kh = s->kernel_height, kw = s->kernel_width;
    const int sh = s->stride_height, sw = s->stride_width;
    const int dh = s->dilation_height, dw = s->dilation_width;
    const __m256i step = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                            _mm256_set1_epi32(sw));
    const __m256 zero = _mm256_setzero_ps();
    __m256i lo_mask[DW_MAX_KW], hi_mask[DW_MAX_KW];
    int full[DW_MAX_KW]; /* every lane inside the image: plain loads (masked ones are slow on AMD) */
    for (int ox0 = 0; ox0 < OW; ox0 += 8) {
        const int lanes = OW - ox0 < 8 ? OW - ox0 : 8;
        for (int kj = 0; kj < kw; kj++) {
            const int ix0 = ox0 * sw + kj * dw - s->pad_left;
            if (sw == 2) { /* input columns ix0 .. ix0 + 15, as two vectors */
                lo_mask[kj] = column_mask8(ix0, 1, W, 8);
                hi_mask[kj] = column_mask8(ix0 + 8, 1, W, 8);
                full[kj] = ix0 >= 0 && ix0 + 16 <= W;
            } else {
                lo_mask[kj] = column_mask8(ix0, sw, W, lanes);
                full[kj] = lanes == 8 && ix0 >= 0 && ix0 + 7 * sw < W;
            }
        }
        for (int oy = 0; oy < OH; oy++) {
            __m256 acc = _mm256_set1_ps(b);
            for (int ki = 0; ki < kh; ki++) {
                const int iy = oy * sh + ki * dh - s->pad_top;
                if (iy < 0 || iy >= H)
                    continue;
                const float *row = plane + (size_t)iy * W;
                for (int kj = 0; kj < kw; kj++) {
                    const ptrdiff_t ix0 = (ptrdiff_t)ox0 * sw + kj * dw - s->pad_left;
                    __m256 v;
                    if (sw == 1) {
                        v = full[kj] ? _mm256_loadu_ps(row + ix0)
                                     : _mm256_maskload_ps(row + ix0, lo_mask[kj]);
                    } else if (sw == 2) {
                        const __m256 a = full[kj] ? _mm256_loadu_ps(row + ix0)
                                                  : _mm256_maskload_ps(row + ix0, lo_mask[kj]);
                        const __m256 c = full[kj]
                                             ? _mm256_loadu_ps(row + ix0 + 8)
                                             : _mm256_maskload_ps(row + ix0 + 8, hi_mask[kj]);
                        /* a0 a2 c0 c2 | a4 a6 c4 c6 -> a0 a2 a4 a6 c0 c2 c4 c6 */
                        const __m256 e = _mm256_shuffle_ps(a, c, _MM_SHUFFLE(2, 0, 2, 0));
                        v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e),
                                                                   _MM_SHUFFLE(3, 1, 2, 0)));
                    } else {
                        v = _mm256_mask_i32gather_ps(zero, row + ix0, step,
                                                     _mm256_castsi256_ps(lo_mask[kj]), 4);
                    }
                    acc = _mm256_fmadd_ps(_mm256_set1_ps(wm[ki * kw + kj]), v, acc);
                }
            }
            const __m256 r = cam_relu_max8(acc, s->relu_max);
            float *dst = out + (size_t)oy * OW + ox0;
            float *rdst = relu ? relu + (size_t)oy * OW + ox0 : NULL;
            if (lanes == 8) {
                _mm256_storeu_ps(dst, acc);
                if (rdst)
                    _mm256_storeu_ps(rdst, r);
            } else { /* the row's tail: no masked store (slow on AMD) */
                float t[16];
                _mm256_storeu_ps(t, acc);
                _mm256_storeu_ps(t + 8, r);
                for (int j = 0; j < lanes; j++) {
                    dst[j] = t[j];
                    if (rdst)
                        rdst[j] = t[8 + j];
                }
            }
        }
    }
}

#endif

/* ---- forward ------------------------------------------------------------------ */

typedef struct depthwise_job {
    const cam_conv_shape *s;
    const float *x, *w, *bias;
    float *y, *relu;
    int per_item; /* output channels per item */
    int items_per_image;
    int avx512, avx2;
} depthwise_job;

static void forward_item(void *arg, int item)
{
    const depthwise_job *job = arg;
    const cam_conv_shape *s = job->s;
    const int M = s->out_channels, mult = M / s->in_channels;
    const int i = item / job->items_per_image;
    const int m0 = (item % job->items_per_image) * job->per_item;
    const int m1 = m0 + job->per_item < M ? m0 + job->per_item : M;
    const size_t hw = (size_t)s->in_height * s->in_width;
    const size_t ohw = (size_t)s->out_height * s->out_width;
    const float *x = job->x + (size_t)i * s->in_channels * hw;
    float *y = job->y + (size_t)i * M * ohw;
    float *r = job->relu ? job->relu + (size_t)i * M * ohw : NULL;
    for (int m = m0; m < m1; m++) {
        const float *plane = x + (size_t)(m / mult) * hw;
        const float *wm = job->w + (size_t)m * s->kernel_height * s->kernel_width;
        const float b = job->bias ? job->bias[m] : 0.0f;
        float *out = y + (size_t)m * ohw;
#ifdef CAM_DEPTHWISE_X86
        if (job->avx512) {
            channel_forward_avx512(s, plane, wm, b, out, r ? r + (size_t)m * ohw : NULL);
            continue;
        }
        if (job->avx2) {
            channel_forward_avx2(s, plane, wm, b, out, r ? r + (size_t)m * ohw : NULL);
            continue;
        }
#endif
        channel_forward(s, plane, wm, b, out);
        if (r)
            cam_relu_max_forward(ohw, out, r + (size_t)m * ohw, s->relu_max);
    }
}

/* Channels per work item, so that an item has at least DW_ITEM_WORK multiply-adds. */
static int channels_per_item(const cam_conv_shape *s, int channels)
{
    const size_t work = (size_t)s->out_height * s->out_width * s->kernel_height *
                        s->kernel_width;
    size_t per = work ? (DW_ITEM_WORK + work - 1) / work : 1;
    if (per < 1)
        per = 1;
    return per > (size_t)channels ? channels : (int)per;
}

int cam_depthwise_supported(const cam_conv_shape *s)
{
    return s->groups == s->in_channels && s->in_channels > 1;
}

void cam_depthwise_forward(const cam_conv_shape *s, int n, const float *input,
                           const float *weight, const float *bias, float *output, float *relu)
{
    const int M = s->out_channels;
    depthwise_job job = {.s = s, .x = input, .w = weight, .bias = bias, .y = output,
                         .relu = relu, .per_item = channels_per_item(s, M)};
    job.items_per_image = (M + job.per_item - 1) / job.per_item;
#ifdef CAM_DEPTHWISE_X86
    job.avx512 = cam_cpu_avx512() && s->kernel_width <= DW_MAX_KW;
    job.avx2 = !job.avx512 && cam_cpu_avx2() && s->kernel_width <= DW_MAX_KW;
#endif
    cam_parallel_for(n * job.items_per_image, forward_item, &job);
}

/* ---- backward ----------------------------------------------------------------- */

/* Input channel c of one image: gx plane (H x W) = sum over its output channels
 * m = c*mult .. (in order) of the taps of gy[m] scattered back (overwritten). */
static void channel_backward(const cam_conv_shape *s, int c, const float *gy, const float *w,
                             float *plane)
{
    const int H = s->in_height, W = s->in_width, OH = s->out_height, OW = s->out_width;
    const int kh = s->kernel_height, kw = s->kernel_width;
    const int sh = s->stride_height, sw = s->stride_width;
    const int mult = s->out_channels / s->in_channels;
    const size_t ohw = (size_t)OH * OW;
    memset(plane, 0, (size_t)H * W * sizeof *plane);
    for (int m = c * mult; m < (c + 1) * mult; m++) {
        const float *wm = w + (size_t)m * kh * kw;
        const float *g = gy + (size_t)m * ohw;
        for (int ki = 0; ki < kh; ki++) {
            const int yoff = ki * s->dilation_height - s->pad_top;
            int ylo, yhi;
            tap_range(OH, H, sh, yoff, &ylo, &yhi);
            for (int kj = 0; kj < kw; kj++) {
                const int xoff = kj * s->dilation_width - s->pad_left;
                int xlo, xhi;
                tap_range(OW, W, sw, xoff, &xlo, &xhi);
                const float wt = wm[ki * kw + kj];
                for (int oy = ylo; oy < yhi; oy++) {
                    float *dst = plane + (ptrdiff_t)(oy * sh + yoff) * W + xoff;
                    const float *src = g + (size_t)oy * OW;
                    if (sw == 1) {
                        for (int ox = xlo; ox < xhi; ox++)
                            dst[ox] += wt * src[ox];
                    } else {
                        for (int ox = xlo; ox < xhi; ox++)
                            dst[(ptrdiff_t)ox * sw] += wt * src[ox];
                    }
                }
            }
        }
    }
}

typedef struct depthwise_back_job {
    const cam_conv_shape *s;
    const float *gy, *w;
    float *gx;
    int per_item; /* input channels per item */
    int items_per_image;
} depthwise_back_job;

static void backward_item(void *arg, int item)
{
    const depthwise_back_job *job = arg;
    const cam_conv_shape *s = job->s;
    const int C = s->in_channels;
    const int i = item / job->items_per_image;
    const int c0 = (item % job->items_per_image) * job->per_item;
    const int c1 = c0 + job->per_item < C ? c0 + job->per_item : C;
    const size_t hw = (size_t)s->in_height * s->in_width;
    const size_t out_size = (size_t)s->out_channels * s->out_height * s->out_width;
    for (int c = c0; c < c1; c++)
        channel_backward(s, c, job->gy + (size_t)i * out_size, job->w,
                         job->gx + ((size_t)i * C + c) * hw);
}

void cam_depthwise_backward(const cam_conv_shape *s, int n, const float *grad_output,
                            const float *weight, float *grad_input)
{
    const int C = s->in_channels;
    depthwise_back_job job = {.s = s, .gy = grad_output, .w = weight, .gx = grad_input,
                              .per_item = channels_per_item(s, C)};
    job.items_per_image = (C + job.per_item - 1) / job.per_item;
    cam_parallel_for(n * job.items_per_image, backward_item, &job);
}
