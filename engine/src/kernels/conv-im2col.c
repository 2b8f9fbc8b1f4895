/*
 * kernels/conv-im2col.c -- convolution forward/backward as im2col + sgemm (gemm.c).
 * See cam-kernels.h for the shapes and conventions.
 */
#include "kernels/cam-kernels.h"

/* GCC's -O2 vectorises only loops whose trip count is a multiple of the vector
 * width ("very cheap" cost model); these element-wise loops have arbitrary
 * lengths. Vectorising them changes no result (no reduction is reordered). */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__OPTIMIZE_SIZE__)
#pragma GCC optimize("vect-cost-model=cheap")
/* ...and the rows copied here are short (3 to 30 floats): a library memcpy call
 * per row costs more than the copy, so copy loops stay loops. */
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

#include <cblas.h>
#include <stddef.h>
#include <string.h>

int cam_conv_output_size(int in, int kernel, int stride, int pad_begin, int pad_end, int dilation)
{
    long span = (long)dilation * (kernel - 1) + 1;
    long avail = (long)in + pad_begin + pad_end - span;
    if (avail < 0 || stride <= 0)
        return 0;
    return (int)(avail / stride + 1);
}

/* A 1x1, stride-1, unpadded, undilated conv: the image already is the column matrix. */
static int conv_is_pointwise(const cam_conv_shape *s)
{
    return s->kernel_height == 1 && s->kernel_width == 1 && s->stride_height == 1 &&
           s->stride_width == 1 && s->pad_top == 0 && s->pad_left == 0 && s->pad_bottom == 0 &&
           s->pad_right == 0 && s->out_height == s->in_height && s->out_width == s->in_width;
}

/* Floats of the zero-padded channel copy that follows the column matrix in scratch. */
static size_t padded_plane_size(const cam_conv_shape *s)
{
    return (size_t)(s->in_height + s->pad_top + s->pad_bottom) *
           (size_t)(s->in_width + s->pad_left + s->pad_right);
}

static size_t col_size(const cam_conv_shape *s)
{
    size_t cg = (size_t)(s->in_channels / s->groups);
    return cg * (size_t)s->kernel_height * (size_t)s->kernel_width * (size_t)s->out_height *
           (size_t)s->out_width;
}

/* Below this many output pixels per image, OpenBLAS does better with the
 * transposed product (the pixels as the rows of C): see conv_forward_small. */
#define SMALL_OUTPUT 16

static int conv_is_small(const cam_conv_shape *s)
{
    return s->out_height * s->out_width < SMALL_OUTPUT;
}

size_t cam_conv2d_scratch_size(const cam_conv_shape *s)
{
    if (conv_is_pointwise(s))
        return 0;
    size_t need = col_size(s) + padded_plane_size(s);
    if (conv_is_small(s)) {
        size_t small = col_size(s) +
                       (size_t)s->out_height * s->out_width * (size_t)(s->out_channels / s->groups) +
                       (size_t)(s->in_channels / s->groups) * padded_plane_size(s);
        if (small > need)
            need = small;
    }
    return need;
}

/* The range [*lo, *hi) of output positions o whose input position o*stride + offset
 * lies in [0, in). */
static void valid_range(int out, int in, int stride, int offset, int *lo, int *hi)
{
    int a = 0;
    if (offset < 0)
        a = (-offset + stride - 1) / stride;
    int b = 0;
    if (in - offset > 0)
        b = (in - offset + stride - 1) / stride; /* o*stride + offset < in */
    if (b > out)
        b = out;
    if (a > b)
        a = b;
    *lo = a;
    *hi = b;
}

/* The valid ranges of every kernel row and column: they do not depend on the
 * channel, so they are computed once per call (integer divisions are not cheap
 * next to the few floats a small layer copies per row). */
#define RANGE_CACHE 32

typedef struct conv_ranges {
    int yoff[RANGE_CACHE], ylo[RANGE_CACHE], yhi[RANGE_CACHE];
    int xoff[RANGE_CACHE], xlo[RANGE_CACHE], xhi[RANGE_CACHE];
    int cached;
} conv_ranges;

static void ranges_init(const cam_conv_shape *s, conv_ranges *r)
{
    r->cached = s->kernel_height <= RANGE_CACHE && s->kernel_width <= RANGE_CACHE;
    if (!r->cached)
        return;
    for (int ki = 0; ki < s->kernel_height; ki++) {
        r->yoff[ki] = ki * s->dilation_height - s->pad_top;
        valid_range(s->out_height, s->in_height, s->stride_height, r->yoff[ki], &r->ylo[ki],
                    &r->yhi[ki]);
    }
    for (int kj = 0; kj < s->kernel_width; kj++) {
        r->xoff[kj] = kj * s->dilation_width - s->pad_left;
        valid_range(s->out_width, s->in_width, s->stride_width, r->xoff[kj], &r->xlo[kj],
                    &r->xhi[kj]);
    }
}

static void ranges_get(const cam_conv_shape *s, const conv_ranges *r, int ki, int kj, int *yoff,
                       int *ylo, int *yhi, int *xoff, int *xlo, int *xhi)
{
    if (r->cached) {
        *yoff = r->yoff[ki], *ylo = r->ylo[ki], *yhi = r->yhi[ki];
        *xoff = r->xoff[kj], *xlo = r->xlo[kj], *xhi = r->xhi[kj];
        return;
    }
    *yoff = ki * s->dilation_height - s->pad_top;
    valid_range(s->out_height, s->in_height, s->stride_height, *yoff, ylo, yhi);
    *xoff = kj * s->dilation_width - s->pad_left;
    valid_range(s->out_width, s->in_width, s->stride_width, *xoff, xlo, xhi);
}

/* im2col with a bounds check per kernel row and column (no extra memory). */
static void im2col_checked(const cam_conv_shape *s, const float *image, int c0, int cg, float *col)
{
    const int H = s->in_height, W = s->in_width, OH = s->out_height, OW = s->out_width;
    const int kh = s->kernel_height, kw = s->kernel_width;
    const int sh = s->stride_height, sw = s->stride_width;
    const size_t ohw = (size_t)OH * OW;
    conv_ranges r;
    ranges_init(s, &r);
    for (int c = 0; c < cg; c++) {
        const float *plane = image + (size_t)(c0 + c) * H * W;
        for (int ki = 0; ki < kh; ki++) {
            for (int kj = 0; kj < kw; kj++) {
                int yoff, ylo, yhi, xoff, xlo, xhi;
                ranges_get(s, &r, ki, kj, &yoff, &ylo, &yhi, &xoff, &xlo, &xhi);
                float *row = col + ((size_t)(c * kh + ki) * kw + kj) * ohw;
                for (size_t p = 0; p < (size_t)ylo * OW; p++)
                    row[p] = 0.0f;
                for (int oy = ylo; oy < yhi; oy++) {
                    float *dst = row + (size_t)oy * OW;
                    const float *src = plane + (ptrdiff_t)(oy * sh + yoff) * W + xoff;
                    for (int ox = 0; ox < xlo; ox++)
                        dst[ox] = 0.0f;
                    if (sw == 1) {
                        for (int ox = xlo; ox < xhi; ox++)
                            dst[ox] = src[ox];
                    } else {
                        for (int ox = xlo; ox < xhi; ox++)
                            dst[ox] = src[(ptrdiff_t)ox * sw];
                    }
                    for (int ox = xhi; ox < OW; ox++)
                        dst[ox] = 0.0f;
                }
                for (size_t p = (size_t)yhi * OW; p < ohw; p++)
                    row[p] = 0.0f;
            }
        }
    }
}

static inline void copy_floats(float *restrict dst, const float *restrict src, int n)
{
    for (int i = 0; i < n; i++)
        dst[i] = src[i];
}

/* im2col through a zero-padded copy of each channel: no bounds checks in the
 * copy loops, which matters for the short rows of small feature maps. */
static void im2col_padded(const cam_conv_shape *s, const float *image, int c0, int cg, float *col,
                          float *padded)
{
    const int H = s->in_height, W = s->in_width, OH = s->out_height, OW = s->out_width;
    const int kh = s->kernel_height, kw = s->kernel_width;
    const int sh = s->stride_height, sw = s->stride_width;
    const int pt = s->pad_top, pl = s->pad_left;
    const int Hp = H + pt + s->pad_bottom, Wp = W + pl + s->pad_right;
    const size_t ohw = (size_t)OH * OW;
    const int unpadded = Hp == H && Wp == W;
    if (!unpadded)
        memset(padded, 0, (size_t)Hp * Wp * sizeof *padded); /* borders stay zero */
    for (int c = 0; c < cg; c++) {
        const float *plane = image + (size_t)(c0 + c) * H * W;
        const float *src_plane = plane;
        if (!unpadded) {
            for (int y = 0; y < H; y++)
                copy_floats(padded + (size_t)(y + pt) * Wp + pl, plane + (size_t)y * W, W);
            src_plane = padded;
        }
        for (int ki = 0; ki < kh; ki++) {
            for (int kj = 0; kj < kw; kj++) {
                float *row = col + ((size_t)(c * kh + ki) * kw + kj) * ohw;
                const float *base =
                    src_plane + (size_t)ki * s->dilation_height * Wp + (size_t)kj * s->dilation_width;
                for (int oy = 0; oy < OH; oy++) {
                    const float *src = base + (size_t)oy * sh * Wp;
                    float *dst = row + (size_t)oy * OW;
                    if (sw == 1) {
                        copy_floats(dst, src, OW);
                    } else {
                        for (int ox = 0; ox < OW; ox++)
                            dst[ox] = src[(size_t)ox * sw];
                    }
                }
            }
        }
    }
}

/* image C x H x W, channels [c0, c0+cg) -> col (cg*kh*kw) x (OH*OW):
 * col[((c-c0)*kh + ki)*kw + kj][oy*OW + ox] = image[c][oy*sh - pt + ki*dh][ox*sw - pl + kj*dw]
 * (0 outside the image). */
void cam_im2col(const cam_conv_shape *s, const float *image, int c0, int cg, float *col,
                float *padded)
{
    if (padded)
        im2col_padded(s, image, c0, cg, col, padded);
    else
        im2col_checked(s, image, c0, cg, col);
}

/* The columns [p0, p1) of cam_im2col's matrix (output pixels p0 .. p1-1 of the
 * channels [c0, c0+cg)), as a (cg*kh*kw) x (p1-p0) matrix: what one piece of the
 * forward's GEMM multiplies (conv_piece). Any stride, pad and dilation; the
 * taps outside the image are zeros, each output row's valid span one copy. */
static void im2col_range(const cam_conv_shape *s, const conv_ranges *r, const float *image,
                         int c0, int cg, int p0, int p1, float *col)
{
    const int H = s->in_height, W = s->in_width, OW = s->out_width;
    const int kh = s->kernel_height, kw = s->kernel_width;
    const int sh = s->stride_height, sw = s->stride_width;
    const size_t len = (size_t)(p1 - p0);
    for (int c = 0; c < cg; c++) {
        const float *plane = image + (size_t)(c0 + c) * H * W;
        for (int ki = 0; ki < kh; ki++) {
            for (int kj = 0; kj < kw; kj++) {
                int yoff, ylo, yhi, xoff, xlo, xhi;
                ranges_get(s, r, ki, kj, &yoff, &ylo, &yhi, &xoff, &xlo, &xhi);
                float *row = col + ((size_t)(c * kh + ki) * kw + kj) * len - p0;
                for (int p = p0; p < p1;) {
                    const int oy = p / OW, ox0 = p % OW;
                    const int ox1 = OW - ox0 < p1 - p ? OW : ox0 + (p1 - p);
                    float *dst = row + p - ox0; /* dst[ox] is pixel (oy, ox) */
                    p += ox1 - ox0;
                    if (oy < ylo || oy >= yhi) {
                        memset(dst + ox0, 0, (size_t)(ox1 - ox0) * sizeof *dst);
                        continue;
                    }
                    const int a = xlo > ox0 ? xlo : ox0;
                    const int b = xhi < ox1 ? xhi : ox1;
                    const float *src = plane + (ptrdiff_t)(oy * sh + yoff) * W + xoff;
                    if (b <= a) {
                        memset(dst + ox0, 0, (size_t)(ox1 - ox0) * sizeof *dst);
                        continue;
                    }
                    if (a > ox0)
                        memset(dst + ox0, 0, (size_t)(a - ox0) * sizeof *dst);
                    if (sw == 1) {
                        memcpy(dst + a, src + a, (size_t)(b - a) * sizeof *dst);
                    } else {
                        for (int ox = a; ox < b; ox++)
                            dst[ox] = src[(ptrdiff_t)ox * sw];
                    }
                    if (ox1 > b)
                        memset(dst + b, 0, (size_t)(ox1 - b) * sizeof *dst);
                }
            }
        }
    }
}

/* The transpose of cam_im2col: adds every column entry onto its input pixel. */
void cam_col2im(const cam_conv_shape *s, const float *col, int c0, int cg, float *image)
{
    const int H = s->in_height, W = s->in_width, OW = s->out_width;
    const int kh = s->kernel_height, kw = s->kernel_width;
    const int sh = s->stride_height, sw = s->stride_width;
    const size_t ohw = (size_t)s->out_height * OW;
    conv_ranges r;
    ranges_init(s, &r);
    for (int c = 0; c < cg; c++) {
        float *plane = image + (size_t)(c0 + c) * H * W;
        for (int ki = 0; ki < kh; ki++) {
            for (int kj = 0; kj < kw; kj++) {
                int yoff, ylo, yhi, xoff, xlo, xhi;
                ranges_get(s, &r, ki, kj, &yoff, &ylo, &yhi, &xoff, &xlo, &xhi);
                const float *row = col + ((size_t)(c * kh + ki) * kw + kj) * ohw;
                for (int oy = ylo; oy < yhi; oy++) {
                    const float *src = row + (size_t)oy * OW;
                    float *dst = plane + (ptrdiff_t)(oy * sh + yoff) * W + xoff;
                    if (sw == 1) {
                        for (int ox = xlo; ox < xhi; ox++)
                            dst[ox] += src[ox];
                    } else {
                        for (int ox = xlo; ox < xhi; ox++)
                            dst[(ptrdiff_t)ox * sw] += src[ox];
                    }
                }
            }
        }
    }
}

/* One image, small output (N = OH*OW < SMALL_OUTPUT), per group g:
 *   rows (N x K)      rows[p][(c*kh + ki)*kw + kj] = input pixel under tap (ki,kj) of pixel p
 *   t (N x Mg)        = rows . W_g^T
 *   out_g[m][p]       = t[p][m] + bias[m]
 * With N as the rows of the product, OpenBLAS's kernels are not starved by a
 * 3x3 feature map (about 1.7x faster for the 3x3 layers of the reference nets). */
static void conv_forward_small(const cam_conv_shape *s, const float *x, const float *weight,
                               const float *bias, const float *res, float *y, float *relu,
                               float *scratch)
{
    const int G = s->groups;
    const int cg = s->in_channels / G, mg = s->out_channels / G;
    const int kh = s->kernel_height, kw = s->kernel_width;
    const int H = s->in_height, W = s->in_width, OW = s->out_width;
    const int K = cg * kh * kw;
    const int N = s->out_height * OW;
    const int Hp = H + s->pad_top + s->pad_bottom, Wp = W + s->pad_left + s->pad_right;
    const size_t hwp = (size_t)Hp * Wp;
    float *rows = scratch;
    float *t = scratch + (size_t)N * K;
    float *padded = t + (size_t)N * mg; /* cg zero-padded channels */
    const int dense3x3 = kh == 3 && kw == 3 && s->dilation_height == 1 && s->dilation_width == 1;
    memset(padded, 0, (size_t)cg * hwp * sizeof *padded);
    for (int g = 0; g < G; g++) {
        for (int c = 0; c < cg; c++) {
            const float *plane = x + (size_t)(g * cg + c) * H * W;
            for (int iy = 0; iy < H; iy++)
                copy_floats(padded + c * hwp + (size_t)(iy + s->pad_top) * Wp + s->pad_left,
                            plane + (size_t)iy * W, W);
        }
        for (int p = 0; p < N; p++) {
            const int oy = p / OW, ox = p % OW;
            float *r = rows + (size_t)p * K;
            const float *corner = padded + (size_t)oy * s->stride_height * Wp +
                                  (size_t)ox * s->stride_width;
            if (dense3x3) { /* the common case, unrolled */
                for (int c = 0; c < cg; c++, r += 9) {
                    const float *a = corner + c * hwp, *b = a + Wp, *d = b + Wp;
                    r[0] = a[0], r[1] = a[1], r[2] = a[2];
                    r[3] = b[0], r[4] = b[1], r[5] = b[2];
                    r[6] = d[0], r[7] = d[1], r[8] = d[2];
                }
                continue;
            }
            for (int c = 0; c < cg; c++) {
                for (int ki = 0; ki < kh; ki++) {
                    const float *src = corner + c * hwp + (size_t)ki * s->dilation_height * Wp;
                    for (int kj = 0; kj < kw; kj++)
                        *r++ = src[(size_t)kj * s->dilation_width];
                }
            }
        }
        cam_sgemm(0, 1, N, mg, K, 1.0f, rows, K, weight + (size_t)g * mg * K, K, 0.0f, t, mg);
        for (int m = 0; m < mg; m++) {
            float *dst = y + (size_t)(g * mg + m) * N;
            const float b = bias ? bias[g * mg + m] : 0.0f;
            for (int p = 0; p < N; p++)
                dst[p] = t[(size_t)p * mg + m] + b;
            if (res) {
                const float *r = res + (size_t)(g * mg + m) * N;
                for (int p = 0; p < N; p++)
                    dst[p] += r[p];
            }
            if (relu)
                cam_relu_max_forward((size_t)N, dst, relu + (size_t)(g * mg + m) * N,
                                     s->relu_max);
        }
    }
}

/* One row of the epilogue in a single pass: v = row[p] (+ b when has_bias: no addition
 * without a bias, so a -0 stays -0) (+ res[p] when res), stored back, and into out
 * its ReLU (has_out 1) as cam_relu_forward does (!(v <= 0): v > 0 and NaN are kept)
 * or its Clip(0, hi) (has_out 2) as cam_relu_max_forward. Inlined with constant flags,
 * so that each case is one vectorised loop. */
static inline __attribute__((always_inline)) void epilogue_row(float *row, float *out, float b,
                                                               const float *res, int n, float hi,
                                                               const int has_bias,
                                                               const int has_res,
                                                               const int has_out)
{
    for (int p = 0; p < n; p++) {
        float v = row[p];
        if (has_bias)
            v += b;
        if (has_res)
            v += res[p];
        row[p] = v;
        if (has_out == 1)
            out[p] = !(v <= 0.0f) ? v : 0.0f;
        if (has_out == 2) {
            const float c = v < 0.0f ? 0.0f : v;
            out[p] = c > hi ? hi : c;
        }
    }
}

/* The epilogue of the GEMM path, while the rows are in cache: y[m][p] += bias[m],
 * then += res[m][p] (a residual connection's other operand), then the ReLU (or the
 * Clip to [0, relu_max] when relu_max > 0) into relu, each if asked for (NULL: not);
 * rows of n floats, ld apart (also in res and relu). */
static void epilogue(float *y, float *relu, const float *bias, const float *res, int rows, int n,
                     int ld, float relu_max)
{
    const int act = !relu ? 0 : relu_max > 0.0f ? 2 : 1;
    const int which = (bias != NULL) << 3 | (res != NULL) << 2 | act;
    const float hi = relu_max;
    for (int m = 0; m < rows; m++) {
        float *row = y + (size_t)m * ld;
        float *out = relu ? relu + (size_t)m * ld : NULL;
        const float *r = res ? res + (size_t)m * ld : NULL;
        const float b = bias ? bias[m] : 0.0f;
        switch (which) {
        case 1: epilogue_row(row, out, b, r, n, hi, 0, 0, 1); break;
        case 2: epilogue_row(row, out, b, r, n, hi, 0, 0, 2); break;
        case 4: epilogue_row(row, out, b, r, n, hi, 0, 1, 0); break;
        case 5: epilogue_row(row, out, b, r, n, hi, 0, 1, 1); break;
        case 6: epilogue_row(row, out, b, r, n, hi, 0, 1, 2); break;
        case 8: epilogue_row(row, out, b, r, n, hi, 1, 0, 0); break;
        case 9: epilogue_row(row, out, b, r, n, hi, 1, 0, 1); break;
        case 10: epilogue_row(row, out, b, r, n, hi, 1, 0, 2); break;
        case 12: epilogue_row(row, out, b, r, n, hi, 1, 1, 0); break;
        case 13: epilogue_row(row, out, b, r, n, hi, 1, 1, 1); break;
        case 14: epilogue_row(row, out, b, r, n, hi, 1, 1, 2); break;
        default: break; /* nothing to add */
        }
    }
}

/* One image and group of the forward, cut into the pieces of its GEMM
 * (cam_gemm_plan, gemm.c): out_g (Mg x N) = W_g (Mg x K) . col (K x N), then + bias
 * (and + the residual, and the ReLU into relu_g).
 *  - pieces of columns (N >= Mg, the large feature maps): each piece builds its own
 *    columns of col (im2col_range, at col + K*p0), multiplies them and finishes
 *    its columns of the output while they are in cache;
 *  - pieces of rows (Mg > N): col is built first (split over channels), then each
 *    piece multiplies its rows of W_g and finishes those rows.
 * A pointwise convolution's col is the input itself. */
typedef struct conv_job {
    const cam_conv_shape *s;
    conv_ranges ranges;
    cam_gemm_split sp;
    int K, N, mg, cg, c0, pointwise;
    const float *x, *w, *bias, *res;
    float *y, *relu, *col;
} conv_job;

static void conv_piece(void *arg, int piece)
{
    const conv_job *j = arg;
    const int K = j->K, N = j->N;
    int lo, hi;
    cam_gemm_piece(&j->sp, piece, &lo, &hi);
    if (hi <= lo)
        return;
    if (j->sp.along_n) {
        const float *cols = j->x + lo; /* pointwise: the input's columns, row stride N */
        int ldb = N;
        if (!j->pointwise) {
            float *own = j->col + (size_t)K * lo;
            im2col_range(j->s, &j->ranges, j->x, j->c0, j->cg, lo, hi, own);
            cols = own;
            ldb = hi - lo;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->mg, hi - lo, K, 1.0f, j->w, K,
                    cols, ldb, 0.0f, j->y + lo, N);
        epilogue(j->y + lo, j->relu ? j->relu + lo : NULL, j->bias, j->res ? j->res + lo : NULL,
                 j->mg, hi - lo, N, j->s->relu_max);
    } else {
        const float *cols = j->pointwise ? j->x : j->col;
        float *y = j->y + (size_t)lo * N;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, hi - lo, N, K, 1.0f,
                    j->w + (size_t)lo * K, K, cols, N, 0.0f, y, N);
        epilogue(y, j->relu ? j->relu + (size_t)lo * N : NULL, j->bias ? j->bias + lo : NULL,
                 j->res ? j->res + (size_t)lo * N : NULL, hi - lo, N, N, j->s->relu_max);
    }
}

/* im2col of channels [4*item, 4*item + 4) for the pieces of rows */
#define IM2COL_CHANNELS 4
static void im2col_item(void *arg, int item)
{
    const conv_job *j = arg;
    const int c = item * IM2COL_CHANNELS;
    const int cn = j->cg - c < IM2COL_CHANNELS ? j->cg - c : IM2COL_CHANNELS;
    const size_t taps = (size_t)j->s->kernel_height * j->s->kernel_width;
    im2col_range(j->s, &j->ranges, j->x, j->c0 + c, cn, 0, j->N, j->col + c * taps * j->N);
}

static void conv_forward(const cam_conv_shape *s, int n, const float *input, const float *weight,
                         const float *bias, const float *residual, float *output, float *relu,
                         float *scratch)
{
    const int G = s->groups;
    const int cg = s->in_channels / G, mg = s->out_channels / G;
    const int K = cg * s->kernel_height * s->kernel_width;
    const int N = s->out_height * s->out_width;
    const size_t in_size = (size_t)s->in_channels * s->in_height * s->in_width;
    const size_t out_size = (size_t)s->out_channels * N;
    conv_job job = {.s = s, .sp = cam_gemm_plan(mg, N, K), .K = K, .N = N, .mg = mg, .cg = cg,
                    .pointwise = conv_is_pointwise(s), .col = scratch};
    ranges_init(s, &job.ranges);

    for (int i = 0; i < n; i++) {
        const float *x = input + (size_t)i * in_size;
        float *y = output + (size_t)i * out_size;
        float *r = relu ? relu + (size_t)i * out_size : NULL;
        const float *res = residual ? residual + (size_t)i * out_size : NULL;
        if (!job.pointwise && conv_is_small(s)) {
            conv_forward_small(s, x, weight, bias, res, y, r, scratch);
            continue;
        }
        for (int g = 0; g < G; g++) {
            job.c0 = g * cg;
            job.x = job.pointwise ? x + (size_t)g * cg * N : x;
            job.w = weight + (size_t)g * mg * K;
            job.bias = bias ? bias + (size_t)g * mg : NULL;
            job.y = y + (size_t)g * mg * N;
            job.relu = r ? r + (size_t)g * mg * N : NULL;
            job.res = res ? res + (size_t)g * mg * N : NULL;
            if (!job.sp.along_n && !job.pointwise)
                cam_parallel_for((cg + IM2COL_CHANNELS - 1) / IM2COL_CHANNELS, im2col_item, &job);
            cam_parallel_blas(job.sp.pieces, conv_piece, &job);
        }
    }
}

void cam_conv2d_forward(const cam_conv_shape *s, int n, const float *input, const float *weight,
                        const float *bias, float *output, float *scratch)
{
    conv_forward(s, n, input, weight, bias, NULL, output, NULL, scratch);
}

void cam_conv2d_fused_forward(const cam_conv_shape *s, int n, const float *input,
                              const float *weight, const float *bias, const float *residual,
                              float *output, float *relu, float *scratch)
{
    conv_forward(s, n, input, weight, bias, residual, output, relu, scratch);
}

/* Per image and group:
 *   dcol (K x N)   = W_g^T (K x Mg) . dout_i,g (Mg x N)
 *   dinput_i      += col2im(dcol)       (dinput_i zeroed first) */
void cam_conv2d_backward(const cam_conv_shape *s, int n, const float *grad_output,
                         const float *weight, float *grad_input, float *scratch)
{
    const int G = s->groups;
    const int cg = s->in_channels / G, mg = s->out_channels / G;
    const int K = cg * s->kernel_height * s->kernel_width;
    const int N = s->out_height * s->out_width;
    const size_t hw = (size_t)s->in_height * s->in_width;
    const size_t in_size = (size_t)s->in_channels * hw;
    const size_t out_size = (size_t)s->out_channels * N;
    const int pointwise = conv_is_pointwise(s);

    for (int i = 0; i < n; i++) {
        const float *dy = grad_output + (size_t)i * out_size;
        float *dx = grad_input + (size_t)i * in_size;
        if (!pointwise)
            memset(dx, 0, in_size * sizeof *dx);
        for (int g = 0; g < G; g++) {
            float *dcol = pointwise ? dx + (size_t)g * cg * hw : scratch;
            cam_sgemm(1, 0, K, N, mg, 1.0f, weight + (size_t)g * mg * K, K,
                      dy + (size_t)g * mg * N, N, 0.0f, dcol, N);
            if (!pointwise)
                cam_col2im(s, dcol, g * cg, cg, dx);
        }
    }
}

void cam_conv2d_backward_packed(const cam_conv_shape *s, int n, const float *grad_output,
                                const float *packed, float *grad_input, float *scratch)
{
    const int M = s->out_channels;
    const int K = s->in_channels * s->kernel_height * s->kernel_width;
    const int N = s->out_height * s->out_width;
    const size_t in_size = (size_t)s->in_channels * s->in_height * s->in_width;
    const size_t out_size = (size_t)M * N;
    const int pointwise = conv_is_pointwise(s);

    for (int i = 0; i < n; i++) {
        const float *dy = grad_output + (size_t)i * out_size;
        float *dx = grad_input + (size_t)i * in_size;
        float *dcol = pointwise ? dx : scratch;
        /* dcol (K x N) = sum over blocks of W_block^T (K x bm, packed row-major) x dy_block */
        for (int m0 = 0; m0 < M; m0 += CAM_CONV_DIRECT_BLOCK) {
            const int bm = M - m0 >= CAM_CONV_DIRECT_BLOCK ? CAM_CONV_DIRECT_BLOCK : M - m0;
            cam_sgemm(0, 0, K, N, bm, 1.0f, packed + (size_t)m0 * K, bm, dy + (size_t)m0 * N, N,
                      m0 ? 1.0f : 0.0f, dcol, N);
        }
        if (!pointwise) {
            memset(dx, 0, in_size * sizeof *dx);
            cam_col2im(s, dcol, 0, s->in_channels, dx);
        }
    }
}
