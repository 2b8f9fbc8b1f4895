/*
 * conv-direct.c -- a direct convolution for layers with small feature
 * maps, on x86-64 CPUs with AVX-512 (see cam-kernels.h, "Direct convolution").
 *
 * Why: a 7x7 or 3x3 feature map makes the im2col GEMM short and wide (N = 49 or 9
 * columns, K = hundreds), a shape on which OpenBLAS spends much of its time
 * packing: the weights are repacked on every call and the column matrix is copied
 * twice (im2col, then packing). Here the weights are packed once, when the model
 * is loaded, and the input is read in place ("implicit im2col").
 *
 * How: output channels are taken in blocks of 32 (two 16-float vectors; a last
 * block of 16 uses one), pixels in tiles of up to TILE_PIXELS. For one block and
 * one tile, every (output channel, pixel) pair has its own accumulator lane:
 *
 *     for k in 0 .. K-1  (k = (c*kh + ki)*kw + kj, the im2col row order)
 *         acc[j] = fma(packed[k][0..31], x_padded[c][oy_j*sh + ki*dh][ox_j*sw + kj*dw], acc[j])
 *
 * in slices of K_SLICE taps whose sums are added up in order (blocked summation,
 * as GEMM kernels block K), so each output is computed by the same operations in
 * the same order: its value does not depend on the tile, the block, the batch or
 * the thread it was computed in. The tile is then written out as NCHW with the bias (and the ReLU).
 * Results differ from the im2col + OpenBLAS path in the last bits (another
 * summation order), as any two GEMM kernels do; a machine uses one of the two
 * paths for a layer, always the same.
 */
#include "kernels/cam-kernels.h"
#include "kernels/cam-simd.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define CAM_DIRECT_X86 1
#include <immintrin.h>
#endif

#define BLOCK CAM_CONV_DIRECT_BLOCK /* output channels per block: 32 */
#define TILE_PIXELS 12 /* pixels per tile at most: 2 x 12 accumulators of 16 floats */
/* Output pixels: a 1x1 convolution up to DIRECT_MAX_PIXELS_1X1 (above, OpenBLAS on the
 * input itself is faster), a larger kernel up to DIRECT_MAX_PIXELS (im2col's column
 * matrix costs more than the direct kernel saves: tests/bench/bench-conv). */
#define DIRECT_MAX_PIXELS_1X1 256
#define DIRECT_MAX_PIXELS 65536
#define DIRECT_MIN_K 64
#define DIRECT_MIN_K_1X1 192 /* below, OpenBLAS on the input itself is faster (bench-conv mobilenet_v2) */
#define K_SLICE 64     /* taps summed in registers before being added to the tile */

/* 1 when the environment variable is set to something other than "0" */
static int env_off(const char *name)
{
    const char *off = getenv(name);
    return off && *off && strcmp(off, "0") != 0;
}

int cam_cpu_avx512(void)
{
#ifdef CAM_DIRECT_X86
    /* Computed once; threads that race here all store the same value (atomics, so
     * it is not a data race either). CAM_NO_AVX512: for tests and comparisons. */
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        v = !env_off("CAM_NO_AVX512") && __builtin_cpu_supports("avx512f");
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
#else
    return 0;
#endif
}

int cam_cpu_avx2(void)
{
#ifdef CAM_DIRECT_X86
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        v = !env_off("CAM_NO_AVX2") && __builtin_cpu_supports("avx2") &&
            __builtin_cpu_supports("fma");
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
#else
    return 0;
#endif
}

static size_t padded_input_size(const cam_conv_shape *s)
{
    return (size_t)s->in_channels * (s->in_height + s->pad_top + s->pad_bottom) *
           (s->in_width + s->pad_left + s->pad_right);
}

static int has_padding(const cam_conv_shape *s)
{
    return s->pad_top || s->pad_bottom || s->pad_left || s->pad_right;
}

/* Floats of scratch for the zero-padded copy of the input: none without padding
 * (the kernel then reads the input in place). */
static size_t padded_copy_size(const cam_conv_shape *s)
{
    return has_padding(s) ? padded_input_size(s) : 0;
}

int cam_conv_direct_supported(const cam_conv_shape *s)
{
    const int K = s->in_channels * s->kernel_height * s->kernel_width;
    const long pixels = (long)s->out_height * s->out_width;
    const int pointwise = s->kernel_height == 1 && s->kernel_width == 1;
    return s->groups == 1 && s->out_channels % 16 == 0 &&
           pixels <= (pointwise ? DIRECT_MAX_PIXELS_1X1 : DIRECT_MAX_PIXELS) &&
           K >= (pointwise ? DIRECT_MIN_K_1X1 : DIRECT_MIN_K) &&
           padded_input_size(s) < INT_MAX / 2 && cam_cpu_avx512();
}

size_t cam_conv_direct_packed_size(const cam_conv_shape *s)
{
    return (size_t)s->out_channels * s->in_channels * s->kernel_height * s->kernel_width;
}

/* packed: per block of bm (32, or 16 for the last) channels starting at m0, the
 * K x bm matrix packed[m0*K + k*bm + l] = weight[(m0 + l)*K + k]. */
void cam_conv_direct_pack(const cam_conv_shape *s, const float *weight, float *packed)
{
    const int M = s->out_channels;
    const size_t K = (size_t)s->in_channels * s->kernel_height * s->kernel_width;
    for (int m0 = 0; m0 < M; m0 += BLOCK) {
        const int bm = M - m0 >= BLOCK ? BLOCK : M - m0;
        float *dst = packed + (size_t)m0 * K;
        for (size_t k = 0; k < K; k++)
            for (int l = 0; l < bm; l++)
                dst[k * bm + l] = weight[(size_t)(m0 + l) * K + k];
    }
}

size_t cam_conv_direct_scratch_size(const cam_conv_shape *s)
{
    const size_t K = (size_t)s->in_channels * s->kernel_height * s->kernel_width;
    const size_t N = (size_t)s->out_height * s->out_width;
    /* padded input (if any), (unused) room for a tile, then K + N ints (a float and
     * an int have the same size on every platform with AVX-512; elsewhere this is
     * never called for real). Each thread keeps its tile on its stack. */
    return padded_copy_size(s) + (size_t)BLOCK * TILE_PIXELS + K + N + 16;
}

#ifdef CAM_DIRECT_X86

/* One block of 32 (nv = 2) or 16 (nv = 1) channels times P pixels: t[j*16*nv + l]
 * = sum over k of w[k*16*nv + l] * in[base[j] + off[k]]. The sum runs in slices
 * of K_SLICE taps, each a fused multiply-add chain in k order, added to t in
 * slice order (blocked summation: the rounding error grows with K_SLICE + K /
 * K_SLICE terms rather than K). Inlined with constant nv and P (the switch
 * below), so the accumulators live in registers. */
__attribute__((target("avx512f"), always_inline)) static inline void
tile(int K, const int *restrict off, const float *restrict w, const float *restrict in,
     const int *restrict base, float *restrict t, const int nv, const int P)
{
    __m512 a0[TILE_PIXELS], a1[TILE_PIXELS];
    const float *src[TILE_PIXELS];
    #pragma GCC unroll 12
    for (int j = 0; j < P; j++)
        src[j] = in + base[j];
    for (int k0 = 0; k0 < K; k0 += K_SLICE) {
        const int k1 = K - k0 > K_SLICE ? k0 + K_SLICE : K;
        #pragma GCC unroll 12
        for (int j = 0; j < P; j++) {
            a0[j] = _mm512_setzero_ps();
            a1[j] = _mm512_setzero_ps();
        }
        if (nv == 2) {
            for (int k = k0; k < k1; k++) {
                const __m512 w0 = _mm512_loadu_ps(w + (size_t)k * 32);
                const __m512 w1 = _mm512_loadu_ps(w + (size_t)k * 32 + 16);
                const int o = off[k];
                #pragma GCC unroll 12
                for (int j = 0; j < P; j++) {
                    const __m512 b = _mm512_set1_ps(src[j][o]);
                    a0[j] = _mm512_fmadd_ps(w0, b, a0[j]);
                    a1[j] = _mm512_fmadd_ps(w1, b, a1[j]);
                }
            }
            #pragma GCC unroll 12
            for (int j = 0; j < P; j++) {
                float *tj = t + (size_t)j * 32;
                if (k0) {
                    a0[j] = _mm512_add_ps(_mm512_loadu_ps(tj), a0[j]);
                    a1[j] = _mm512_add_ps(_mm512_loadu_ps(tj + 16), a1[j]);
                }
                _mm512_storeu_ps(tj, a0[j]);
                _mm512_storeu_ps(tj + 16, a1[j]);
            }
        } else {
            for (int k = k0; k < k1; k++) {
                const __m512 w0 = _mm512_loadu_ps(w + (size_t)k * 16);
                const int o = off[k];
                #pragma GCC unroll 12
                for (int j = 0; j < P; j++)
                    a0[j] = _mm512_fmadd_ps(w0, _mm512_set1_ps(src[j][o]), a0[j]);
            }
            #pragma GCC unroll 12
            for (int j = 0; j < P; j++) {
                float *tj = t + (size_t)j * 16;
                if (k0)
                    a0[j] = _mm512_add_ps(_mm512_loadu_ps(tj), a0[j]);
                _mm512_storeu_ps(tj, a0[j]);
            }
        }
    }
}

#define TILE_CASES(nv)                                         \
    case 1: tile(K, off, w, in, base, t, nv, 1); break;        \
    case 2: tile(K, off, w, in, base, t, nv, 2); break;        \
    case 3: tile(K, off, w, in, base, t, nv, 3); break;        \
    case 4: tile(K, off, w, in, base, t, nv, 4); break;        \
    case 5: tile(K, off, w, in, base, t, nv, 5); break;        \
    case 6: tile(K, off, w, in, base, t, nv, 6); break;        \
    case 7: tile(K, off, w, in, base, t, nv, 7); break;        \
    case 8: tile(K, off, w, in, base, t, nv, 8); break;        \
    case 9: tile(K, off, w, in, base, t, nv, 9); break;        \
    case 10: tile(K, off, w, in, base, t, nv, 10); break;      \
    case 11: tile(K, off, w, in, base, t, nv, 11); break;      \
    default: tile(K, off, w, in, base, t, nv, 12); break;

__attribute__((target("avx512f"))) static void
run_tile(int K, const int *off, const float *w, const float *in, const int *base, float *t,
         int nv, int P)
{
    if (nv == 2) {
        switch (P) { TILE_CASES(2) }
    } else {
        switch (P) { TILE_CASES(1) }
    }
}

/* Writes the tile t (P pixels x bm channels, pixel-major) to the NCHW rows
 * y[l*N .. l*N + P) (+ bias[l], then + res[l*N ..], each unless NULL), and their
 * ReLU to r (NULL: none): one strided gather per channel, then vector adds,
 * compares and masked stores. */
__attribute__((target("avx512f"))) static void tile_store(const float *t, int bm, int P,
                                                          const float *bias, const float *res,
                                                          float *y, float *r, int N,
                                                          float relu_max)
{
    const __mmask16 lanes = (__mmask16)((1u << P) - 1);
    const __m512i index = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6,
                                                              5, 4, 3, 2, 1, 0),
                                             _mm512_set1_epi32(bm));
    const __m512 zero = _mm512_setzero_ps();
    for (int l = 0; l < bm; l++) {
        __m512 v = _mm512_mask_i32gather_ps(zero, lanes, index, t + l, 4);
        if (bias)
            v = _mm512_add_ps(v, _mm512_set1_ps(bias[l]));
        if (res)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(lanes, res + (size_t)l * N));
        _mm512_mask_storeu_ps(y + (size_t)l * N, lanes, v);
        if (r)
            _mm512_mask_storeu_ps(r + (size_t)l * N, lanes, cam_relu_max16(v, relu_max));
    }
}

/* One image's work, shared by the threads of cam_parallel_for: each item is one
 * block b of output channels times the TILES_PER_ITEM pixel tiles of chunk c.
 * On one thread block-major (item b*chunks + c: a block's K x 32 weights stay in
 * cache over its tiles); on more, chunk-major (item c*blocks + b: the blocks of
 * one chunk read the same input, which the threads then share in cache): ResNet's
 * 56x56 3x3 layer scales 1.05x to 2 threads block-major and 1.4x chunk-major,
 * which costs 1-4% on one thread (bench-conv, bench-ab-cpu). The items are the
 * same pairs either way, so the order changes no result. Chunks of several tiles,
 * so that two threads rarely write the two ends of one cache line of an output
 * row. */
#define TILES_PER_ITEM 4
#define CHUNK_PIXELS (TILES_PER_ITEM * TILE_PIXELS) /* 48: three cache lines of a row */
typedef struct direct_job {
    int K, N, M, tiles, blocks, chunks, chunk_major;
    const int *off, *base;
    const float *padded, *packed, *bias, *res;
    float *y, *r;
    float relu_max;
    int tile_start[DIRECT_MAX_PIXELS / TILE_PIXELS + 2]; /* tile q: [start[q], start[q+1]) */
} direct_job;

__attribute__((target("avx512f"))) static void direct_item(void *arg, int item)
{
    const direct_job *job = arg;
    const int b = job->chunk_major ? item % job->blocks : item / job->chunks;
    const int c = job->chunk_major ? item / job->blocks : item % job->chunks;
    const int m0 = b * BLOCK, M = job->M, N = job->N;
    const int bm = M - m0 >= BLOCK ? BLOCK : M - m0;
    const int q_end = (c + 1) * TILES_PER_ITEM < job->tiles ? (c + 1) * TILES_PER_ITEM : job->tiles;
    float t[BLOCK * TILE_PIXELS] __attribute__((aligned(64)));
    for (int q = c * TILES_PER_ITEM; q < q_end; q++) {
        const int pstart = job->tile_start[q], P = job->tile_start[q + 1] - pstart;
        run_tile(job->K, job->off, job->packed + (size_t)m0 * job->K, job->padded,
                 job->base + pstart, t, bm / 16, P);
        const size_t at = (size_t)m0 * N + pstart;
        tile_store(t, bm, P, job->bias ? job->bias + m0 : NULL, job->res ? job->res + at : NULL,
                   job->y + at, job->r ? job->r + at : NULL, N, job->relu_max);
    }
}

/* The zero-padded copy of one image's input, channels [PAD_CHANNELS*item, ...)
 * per item: each item writes every float of its channels' planes (borders zero,
 * rows copied), so no memset goes before it. */
#define PAD_CHANNELS 8
typedef struct pad_job {
    const cam_conv_shape *s;
    const float *x;
    float *padded;
} pad_job;

static void pad_item(void *arg, int item)
{
    const pad_job *j = arg;
    const cam_conv_shape *s = j->s;
    const int C = s->in_channels, H = s->in_height, W = s->in_width;
    const int Hp = H + s->pad_top + s->pad_bottom, Wp = W + s->pad_left + s->pad_right;
    const int c1 = (item + 1) * PAD_CHANNELS < C ? (item + 1) * PAD_CHANNELS : C;
    for (int c = item * PAD_CHANNELS; c < c1; c++) {
        float *plane = j->padded + (size_t)c * Hp * Wp;
        const float *in = j->x + (size_t)c * H * W;
        memset(plane, 0, (size_t)s->pad_top * Wp * sizeof *plane);
        for (int iy = 0; iy < H; iy++) {
            float *row = plane + (size_t)(iy + s->pad_top) * Wp;
            memset(row, 0, (size_t)s->pad_left * sizeof *row);
            memcpy(row + s->pad_left, in + (size_t)iy * W, (size_t)W * sizeof *row);
            memset(row + s->pad_left + W, 0, (size_t)s->pad_right * sizeof *row);
        }
        memset(plane + (size_t)(s->pad_top + H) * Wp, 0,
               (size_t)s->pad_bottom * Wp * sizeof *plane);
    }
}

void cam_conv2d_direct_forward(const cam_conv_shape *s, int n, const float *input,
                               const float *packed, const float *bias, const float *residual,
                               float *output, float *relu, float *scratch)
{
    const int C = s->in_channels, H = s->in_height, W = s->in_width, M = s->out_channels;
    const int kh = s->kernel_height, kw = s->kernel_width, OW = s->out_width;
    const int Hp = H + s->pad_top + s->pad_bottom, Wp = W + s->pad_left + s->pad_right;
    const int K = C * kh * kw, N = s->out_height * OW;
    const size_t hwp = (size_t)Hp * Wp;
    /* Without padding (a pointwise convolution, most often) the kernel reads the
     * input where it is; else from a zero-padded copy in scratch. */
    const int padding = has_padding(s);
    float *padded = scratch;
    float *t = padded + padded_copy_size(s);
    int *off = (int *)(t + (size_t)BLOCK * TILE_PIXELS);
    int *base = off + K;

    for (int c = 0, k = 0; c < C; c++)
        for (int ki = 0; ki < kh; ki++)
            for (int kj = 0; kj < kw; kj++)
                off[k++] = (int)(c * hwp) + ki * s->dilation_height * Wp + kj * s->dilation_width;
    for (int p = 0; p < N; p++)
        base[p] = (p / OW) * s->stride_height * Wp + (p % OW) * s->stride_width;

    /* Chunks of CHUNK_PIXELS pixels (TILES_PER_ITEM full tiles), so that the chunks
     * two threads finish side by side meet on a cache-line boundary of every output
     * row (when N is a multiple of 16); the last chunk's pixels in near-equal tiles
     * (a tile of one or two pixels would leave the FMA units waiting on its short
     * chains). ceil(N / TILE_PIXELS) tiles in all. */
    const int blocks = (M + BLOCK - 1) / BLOCK;
    const int chunks = (N + CHUNK_PIXELS - 1) / CHUNK_PIXELS;
    const int last = N - (chunks - 1) * CHUNK_PIXELS;
    const int last_tiles = (last + TILE_PIXELS - 1) / TILE_PIXELS;
    const int tiles = (chunks - 1) * TILES_PER_ITEM + last_tiles;
    direct_job job = {.K = K, .N = N, .M = M, .tiles = tiles, .blocks = blocks,
                      .chunks = chunks, .chunk_major = cam_parallel_threads() > 1, .off = off,
                      .base = base, .packed = packed, .bias = bias,
                      .relu_max = s->relu_max};
    for (int q = 0; q < (chunks - 1) * TILES_PER_ITEM; q++)
        job.tile_start[q] = q * TILE_PIXELS;
    for (int q = 0, p0 = (chunks - 1) * CHUNK_PIXELS; q <= last_tiles; q++) {
        job.tile_start[(chunks - 1) * TILES_PER_ITEM + q] = p0;
        if (q < last_tiles)
            p0 += (N - p0) / (last_tiles - q);
    }
    for (int i = 0; i < n; i++) {
        const float *x = input + (size_t)i * C * H * W;
        job.y = output + (size_t)i * M * N;
        job.r = relu ? relu + (size_t)i * M * N : NULL;
        job.res = residual ? residual + (size_t)i * M * N : NULL;
        if (padding) {
            pad_job pj = {s, x, padded};
            cam_parallel_for((C + PAD_CHANNELS - 1) / PAD_CHANNELS, pad_item, &pj);
        }
        job.padded = padding ? padded : x;
        /* every (block, tile) pair is computed by the same operations whichever
         * thread takes it: the result does not depend on the thread count */
        cam_parallel_for(blocks * chunks, direct_item, &job);
    }
}

#else /* no x86-64 AVX-512 support in this build: cam_conv_direct_supported() is 0 */

void cam_conv2d_direct_forward(const cam_conv_shape *s, int n, const float *input,
                               const float *packed, const float *bias, const float *residual,
                               float *output, float *relu, float *scratch)
{
    (void)s, (void)n, (void)input, (void)packed, (void)bias, (void)residual, (void)output,
        (void)relu, (void)scratch;
}

#endif
