/*
 * test-ops.c -- the engine's ops (kernels/cam-kernels.h) against hand-computed values, a naive
 * direct convolution, and finite differences of every backward; the vectorised erf and
 * softmax against double-precision references.
 */
#include "kernels/cam-kernels.h"
#include "test-check.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures;

static void check_floats(const char *what, const float *got, const float *want, size_t n,
                         float tol)
{
    for (size_t i = 0; i < n; i++) {
        if (!(fabsf(got[i] - want[i]) <= tol)) {
            fprintf(stderr, "%s[%zu]: got %.8g, want %.8g\n", what, i, got[i], want[i]);
            failures++;
            return;
        }
    }
}

static unsigned long long rng_state = 0x9e3779b97f4a7c15ull;
static float frand(void) /* uniform in [-1, 1) */
{
    return test_uniform(&rng_state);
}
static void fill_random(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = frand();
}

/* ---- finite differences ---------------------------------------------------- */

typedef struct op_case {
    size_t in_count, out_count;
    void (*forward)(const struct op_case *c, const float *x, float *y);
    void (*backward)(const struct op_case *c, const float *x, const float *y, const float *gy,
                     float *gx);
    const void *params;
} op_case;

static double dot_forward(const op_case *c, const float *x, float *y, const float *v)
{
    c->forward(c, x, y);
    double s = 0.0;
    for (size_t i = 0; i < c->out_count; i++)
        s += (double)y[i] * v[i];
    return s;
}

/* Checks gx = J^T v against central differences of L(x) = v . f(x) at every input. */
static void check_gradient(const char *what, const op_case *c, const float *x0, float eps)
{
    float *x = malloc(c->in_count * sizeof *x);
    float *y = malloc(c->out_count * sizeof *y);
    float *v = malloc(c->out_count * sizeof *v);
    float *gx = malloc(c->in_count * sizeof *gx);
    memcpy(x, x0, c->in_count * sizeof *x);
    fill_random(v, c->out_count);
    c->forward(c, x, y);
    c->backward(c, x, y, v, gx);
    double max_g = 0.0;
    for (size_t i = 0; i < c->in_count; i++)
        if (fabs(gx[i]) > max_g)
            max_g = fabs(gx[i]);
    int bad = 0;
    for (size_t i = 0; i < c->in_count && !bad; i++) {
        float keep = x[i];
        x[i] = keep + eps;
        double lp = dot_forward(c, x, y, v);
        x[i] = keep - eps;
        double lm = dot_forward(c, x, y, v);
        x[i] = keep;
        double num = (lp - lm) / (2.0 * (double)eps);
        if (fabs(num - gx[i]) > 2e-3 * (max_g + 1.0)) {
            fprintf(stderr, "%s: d/dx[%zu]: analytic %.8g, numeric %.8g\n", what, i, gx[i], num);
            failures++;
            bad = 1;
        }
    }
    CHECK(max_g > 0.0); /* a zero gradient everywhere would prove nothing */
    free(x);
    free(y);
    free(v);
    free(gx);
}

/* ---- convolution ------------------------------------------------------------- */

typedef struct conv_params {
    cam_conv_shape s;
    int n;
    const float *w, *b;
    float *scratch;
} conv_params;

static void conv_fwd(const op_case *c, const float *x, float *y)
{
    const conv_params *p = c->params;
    cam_conv2d_forward(&p->s, p->n, x, p->w, p->b, y, p->scratch);
}
static void conv_bwd(const op_case *c, const float *x, const float *y, const float *gy, float *gx)
{
    const conv_params *p = c->params;
    cam_conv2d_backward(&p->s, p->n, gy, p->w, gx, p->scratch);
}

/* Direct convolution in double: the independent reference. */
/* ONNX Clip(v, 0, hi) as the Clip op computes it: below 0 becomes +0, above hi
 * becomes hi, anything else (-0, NaN) stays. */
static void clip_reference(size_t n, const float *y, float hi, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = y[i] < 0.0f ? 0.0f : y[i] > hi ? hi : y[i];
}

static void naive_conv(const cam_conv_shape *s, int n, const float *x, const float *w,
                       const float *b, float *y)
{
    int cg = s->in_channels / s->groups, mg = s->out_channels / s->groups;
    for (int i = 0; i < n; i++)
        for (int m = 0; m < s->out_channels; m++) {
            int g = m / mg;
            for (int oy = 0; oy < s->out_height; oy++)
                for (int ox = 0; ox < s->out_width; ox++) {
                    double acc = b ? b[m] : 0.0;
                    for (int c = 0; c < cg; c++)
                        for (int ki = 0; ki < s->kernel_height; ki++)
                            for (int kj = 0; kj < s->kernel_width; kj++) {
                                int iy = oy * s->stride_height - s->pad_top + ki * s->dilation_height;
                                int ix = ox * s->stride_width - s->pad_left + kj * s->dilation_width;
                                if (iy < 0 || ix < 0 || iy >= s->in_height || ix >= s->in_width)
                                    continue;
                                double xv = x[(((size_t)i * s->in_channels + g * cg + c) *
                                                   s->in_height + iy) * s->in_width + ix];
                                double wv = w[(((size_t)m * cg + c) * s->kernel_height + ki) *
                                                  s->kernel_width + kj];
                                acc += xv * wv;
                            }
                    y[(((size_t)i * s->out_channels + m) * s->out_height + oy) * s->out_width + ox] =
                        (float)acc;
                }
        }
}

static cam_conv_shape make_conv(int c, int h, int w, int m, int k, int stride, int pad, int dil,
                                int groups)
{
    cam_conv_shape s = {0};
    s.in_channels = c;
    s.in_height = h;
    s.in_width = w;
    s.out_channels = m;
    s.kernel_height = s.kernel_width = k;
    s.stride_height = s.stride_width = stride;
    s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = pad;
    s.dilation_height = s.dilation_width = dil;
    s.groups = groups;
    s.out_height = cam_conv_output_size(h, k, stride, pad, pad, dil);
    s.out_width = cam_conv_output_size(w, k, stride, pad, pad, dil);
    return s;
}

static void test_conv_hand(void)
{
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float y[4], scratch[256]; /* every shape below needs less: checked before each use */

    /* 2x2 kernel of ones, no padding: window sums. */
    cam_conv_shape s = make_conv(1, 3, 3, 1, 2, 1, 0, 1, 1);
    CHECK(s.out_height == 2 && s.out_width == 2);
    const float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    const float bias1[1] = {1};
    CHECK(cam_conv2d_scratch_size(&s) <= 256);
    cam_conv2d_forward(&s, 1, x, ones, bias1, y, scratch);
    const float want1[4] = {13, 17, 25, 29};
    check_floats("conv 2x2+bias", y, want1, 4, 0.0f);

    /* 3x3 ones, pad 1, stride 2: the four corner windows. */
    s = make_conv(1, 3, 3, 1, 3, 2, 1, 1, 1);
    CHECK(s.out_height == 2 && s.out_width == 2);
    CHECK(cam_conv2d_scratch_size(&s) <= 256);
    cam_conv2d_forward(&s, 1, x, ones, NULL, y, scratch);
    const float want2[4] = {12, 16, 24, 28};
    check_floats("conv pad1 stride2", y, want2, 4, 0.0f);

    /* dilation 2: 1*x00 + 2*x02 + 3*x20 + 4*x22 = 1 + 6 + 21 + 36. */
    s = make_conv(1, 3, 3, 1, 2, 1, 0, 2, 1);
    CHECK(s.out_height == 1 && s.out_width == 1);
    const float w3[4] = {1, 2, 3, 4};
    CHECK(cam_conv2d_scratch_size(&s) <= 256);
    cam_conv2d_forward(&s, 1, x, w3, NULL, y, scratch);
    CHECK(y[0] == 64.0f);

    /* groups 2, 1x1 (pointwise path): out0 = 2 x0, out1 = 3 x1. */
    const float x2[4] = {1, -2, 5, 7}; /* 2 channels of 1x2 */
    s = make_conv(2, 1, 2, 2, 1, 1, 0, 1, 2);
    const float w4[2] = {2, 3};
    float y4[4];
    CHECK(cam_conv2d_scratch_size(&s) <= 256);
    cam_conv2d_forward(&s, 1, x2, w4, NULL, y4, scratch);
    const float want4[4] = {2, -4, 15, 21};
    check_floats("conv grouped 1x1", y4, want4, 4, 0.0f);

    /* backward of the 2x2 ones conv: each input pixel gets the sum of the output
     * gradients of the windows covering it: corners 1, edges 2, centre 4 (gy = 1). */
    s = make_conv(1, 3, 3, 1, 2, 1, 0, 1, 1);
    const float gy[4] = {1, 1, 1, 1};
    float gx[9];
    CHECK(cam_conv2d_scratch_size(&s) <= 256);
    cam_conv2d_backward(&s, 1, gy, ones, gx, scratch);
    const float wantg[9] = {1, 2, 1, 2, 4, 2, 1, 2, 1};
    check_floats("conv backward", gx, wantg, 9, 0.0f);
}

static void test_conv_random(void)
{
    static const int cfg[][9] = {
        /* c, h, w, m, k, stride, pad, dil, groups */
        {1, 28, 28, 16, 3, 1, 1, 1, 1}, /* Fashion-MNIST conv2d */
        {3, 8, 8, 4, 3, 1, 0, 1, 1},    /* valid padding */
        {4, 7, 9, 6, 3, 2, 1, 1, 2},    /* stride 2, groups 2, non-square */
        {4, 9, 8, 4, 3, 1, 2, 2, 4},    /* depthwise, dilated */
        {6, 5, 5, 3, 1, 1, 0, 1, 1},    /* pointwise */
        {3, 6, 6, 3, 1, 2, 0, 1, 1},    /* 1x1 stride 2 (not pointwise) */
        {2, 5, 6, 3, 4, 3, 2, 1, 1},    /* kernel 4, stride 3, pad 2 (small output path) */
        {4, 3, 3, 6, 3, 1, 1, 1, 2},    /* 3x3 map, groups 2 (small output path) */
        {64, 3, 3, 128, 3, 1, 1, 1, 1}, /* Fashion-MNIST conv2d_3 (small output path) */
        {5, 7, 7, 3, 3, 2, 1, 2, 1},    /* dilated, strided, 3x3 output */
    };
    for (size_t t = 0; t < sizeof cfg / sizeof cfg[0]; t++) {
        const int *c = cfg[t];
        cam_conv_shape s = make_conv(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]);
        int n = 2;
        size_t in_n = (size_t)n * s.in_channels * s.in_height * s.in_width;
        size_t out_n = (size_t)n * s.out_channels * s.out_height * s.out_width;
        size_t w_n = (size_t)s.out_channels * (s.in_channels / s.groups) * s.kernel_height *
                     s.kernel_width;
        float *x = malloc(in_n * sizeof *x), *y = malloc(out_n * sizeof *y);
        float *ref = malloc(out_n * sizeof *ref), *w = malloc(w_n * sizeof *w);
        float *b = malloc((size_t)s.out_channels * sizeof *b);
        size_t sc = cam_conv2d_scratch_size(&s);
        float *scratch = malloc((sc ? sc : 1) * sizeof *scratch);
        fill_random(x, in_n);
        fill_random(w, w_n);
        fill_random(b, (size_t)s.out_channels);
        cam_conv2d_forward(&s, n, x, w, b, y, scratch);
        naive_conv(&s, n, x, w, b, ref);
        char what[64];
        snprintf(what, sizeof what, "conv config %zu vs direct", t);
        check_floats(what, y, ref, out_n, 1e-5f);

        /* The fused Conv+ReLU: the same output, bit for bit, and its ReLU. */
        float *y2 = malloc(out_n * sizeof *y2), *r2 = malloc(out_n * sizeof *r2);
        float *rref = malloc(out_n * sizeof *rref);
        cam_conv2d_fused_forward(&s, n, x, w, b, NULL, y2, r2, scratch);
        cam_relu_forward(out_n, y, rref);
        snprintf(what, sizeof what, "conv config %zu fused output", t);
        CHECK(memcmp(y2, y, out_n * sizeof *y) == 0);
        snprintf(what, sizeof what, "conv config %zu fused relu", t);
        check_floats(what, r2, rref, out_n, 0.0f);
        /* ...and as Clip(0, 0.75) (ReLU6's form): the Clip op's values, bit for bit */
        s.relu_max = 0.75f;
        cam_conv2d_fused_forward(&s, n, x, w, b, NULL, y2, r2, scratch);
        s.relu_max = 0.0f;
        clip_reference(out_n, y, 0.75f, rref);
        CHECK(memcmp(y2, y, out_n * sizeof *y) == 0);
        CHECK(memcmp(r2, rref, out_n * sizeof *r2) == 0);
        /* With a residual operand R: y + R as a separate Add makes it, bit for bit. */
        float *res = malloc(out_n * sizeof *res), *sum = malloc(out_n * sizeof *sum);
        fill_random(res, out_n);
        for (size_t i = 0; i < out_n; i++)
            sum[i] = y[i] + res[i];
        cam_relu_forward(out_n, sum, rref);
        cam_conv2d_fused_forward(&s, n, x, w, b, res, y2, r2, scratch);
        CHECK(memcmp(y2, sum, out_n * sizeof *y2) == 0);
        CHECK(memcmp(r2, rref, out_n * sizeof *r2) == 0);
        cam_conv2d_fused_forward(&s, n, x, w, NULL, res, y2, NULL, scratch);
        cam_conv2d_forward(&s, n, x, w, NULL, sum, scratch);
        for (size_t i = 0; i < out_n; i++)
            sum[i] += res[i];
        CHECK(memcmp(y2, sum, out_n * sizeof *y2) == 0);
        free(res);
        free(sum);
        free(y2);
        free(r2);
        free(rref);

        conv_params p = {s, n, w, b, scratch};
        op_case oc = {in_n, out_n, conv_fwd, conv_bwd, &p};
        snprintf(what, sizeof what, "conv config %zu gradient", t);
        check_gradient(what, &oc, x, 1e-2f); /* linear: any eps is exact up to rounding */
        free(x);
        free(y);
        free(ref);
        free(w);
        free(b);
        free(scratch);
    }
}

/* The direct convolution (AVX-512) against the direct double-precision
 * reference, with and without bias and ReLU, on blocks of 32 and 16 channels
 * and tiles of 8 and fewer pixels, padded (a zero-padded copy made on the pool)
 * and not (the input read in place). */
static void test_conv_direct(void)
{
    static const int cfg[][9] = {
        /* c, h, w, m, k, stride, pad, dil, groups */
        {64, 3, 3, 128, 3, 1, 1, 1, 1}, /* Fashion-MNIST conv2d_3: 9 pixels = 8 + 1 */
        {32, 7, 7, 64, 3, 1, 1, 1, 1},  /* Fashion-MNIST conv2d_2: 49 pixels */
        {16, 14, 14, 32, 3, 1, 1, 1, 1}, /* Fashion-MNIST conv2d_1: 196 pixels, 17 tiles */
        {40, 6, 5, 48, 3, 2, 1, 1, 1},  /* stride 2, blocks of 32 + 16, 3x3 output */
        {16, 8, 8, 16, 3, 2, 2, 2, 1},  /* dilated and strided, one block of 16, 4x4 output */
        {8, 4, 4, 32, 4, 1, 0, 1, 1},   /* kernel 4, valid padding: one pixel */
        {16, 21, 19, 32, 3, 1, 1, 1, 1}, /* 399 pixels: a 3x3 kernel on a larger map */
        {3, 40, 36, 16, 7, 2, 3, 1, 1},  /* ResNet's 7x7 stride-2 stem, 360 pixels */
        {192, 7, 7, 64, 1, 1, 0, 1, 1},  /* pointwise: the input read in place */
        {208, 10, 10, 48, 1, 1, 0, 1, 1}, /* pointwise, 100 pixels = 48 + 48 + 4 */
    };
    int tested = 0;
    for (size_t t = 0; t < sizeof cfg / sizeof cfg[0]; t++) {
        const int *c = cfg[t];
        cam_conv_shape s = make_conv(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]);
        if (!cam_conv_direct_supported(&s))
            continue;
        tested++;
        int n = 2;
        size_t in_n = (size_t)n * s.in_channels * s.in_height * s.in_width;
        size_t out_n = (size_t)n * s.out_channels * s.out_height * s.out_width;
        size_t w_n = cam_conv_direct_packed_size(&s);
        float *x = malloc(in_n * sizeof *x), *y = malloc(out_n * sizeof *y);
        float *r = malloc(out_n * sizeof *r), *ref = malloc(out_n * sizeof *ref);
        float *rref = malloc(out_n * sizeof *rref);
        float *w = malloc(w_n * sizeof *w), *packed = malloc(w_n * sizeof *packed);
        float *b = malloc((size_t)s.out_channels * sizeof *b);
        float *scratch = malloc(cam_conv_direct_scratch_size(&s) * sizeof *scratch);
        /* NaN everywhere: the padded copy must write its zero borders itself */
        memset(scratch, 0xff, cam_conv_direct_scratch_size(&s) * sizeof *scratch);
        fill_random(x, in_n);
        fill_random(w, w_n);
        fill_random(b, (size_t)s.out_channels);
        cam_conv_direct_pack(&s, w, packed);
        char what[64];
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            const float *bias = with_bias ? b : NULL;
            cam_conv2d_direct_forward(&s, n, x, packed, bias, NULL, y, r, scratch);
            naive_conv(&s, n, x, w, bias, ref);
            snprintf(what, sizeof what, "direct conv %zu (bias %d) vs direct", t, with_bias);
            check_floats(what, y, ref, out_n, 1e-5f);
            cam_relu_forward(out_n, y, rref);
            snprintf(what, sizeof what, "direct conv %zu relu", t);
            check_floats(what, r, rref, out_n, 0.0f);
            s.relu_max = 0.75f; /* Clip(0, 0.75) */
            cam_conv2d_direct_forward(&s, n, x, packed, bias, NULL, y, r, scratch);
            s.relu_max = 0.0f;
            clip_reference(out_n, y, 0.75f, rref);
            CHECK(memcmp(r, rref, out_n * sizeof *r) == 0);
            cam_conv2d_direct_forward(&s, n, x, packed, bias, NULL, y, r, scratch); /* ReLU */
        }
        /* One image alone gives the same bits as inside the batch of two. */
        cam_conv2d_direct_forward(&s, 1, x + in_n / 2, packed, b, NULL, ref, NULL, scratch);
        CHECK(memcmp(ref, y + out_n / 2, out_n / 2 * sizeof *y) == 0);
        /* ...and so do 1, 2 and 3 pool threads (y: bias, ReLU, default threads). */
        for (int threads = 1; threads <= 3; threads++) {
            cam_parallel_set_threads(threads);
            cam_conv2d_direct_forward(&s, n, x, packed, b, NULL, ref, rref, scratch);
            CHECK(memcmp(ref, y, out_n * sizeof *y) == 0);
            CHECK(memcmp(rref, r, out_n * sizeof *r) == 0);
        }
        cam_parallel_set_threads(0);
        /* A residual operand: y + res as a separate Add makes it, bit for bit. */
        float *res = malloc(out_n * sizeof *res);
        fill_random(res, out_n);
        cam_conv2d_direct_forward(&s, n, x, packed, b, res, ref, rref, scratch);
        for (size_t i = 0; i < out_n; i++)
            y[i] += res[i];
        cam_relu_forward(out_n, y, r);
        CHECK(memcmp(ref, y, out_n * sizeof *y) == 0);
        CHECK(memcmp(rref, r, out_n * sizeof *r) == 0);
        free(res);
        free(x);
        free(y);
        free(r);
        free(ref);
        free(rref);
        free(w);
        free(packed);
        free(b);
        free(scratch);
    }
    if (tested)
        printf("direct convolution: %d shapes checked\n", tested);
    else
        printf("direct convolution: not used on this CPU (no AVX-512), not tested\n");
}

/* ---- depthwise convolution (conv-depthwise.c) --------------------------------- */

static void depthwise_fwd(const op_case *c, const float *x, float *y)
{
    const conv_params *p = c->params;
    cam_depthwise_forward(&p->s, p->n, x, p->w, p->b, y, NULL);
}
static void depthwise_bwd(const op_case *c, const float *x, const float *y, const float *gy,
                          float *gx)
{
    const conv_params *p = c->params;
    cam_depthwise_backward(&p->s, p->n, gy, p->w, gx);
}

/* The depthwise kernel (AVX-512 path, AVX2 path where AVX-512 is missing or under
 * CAM_NO_AVX512=1 (test ops-avx2), portable under CAM_NO_AVX512=1 CAM_NO_AVX2=1
 * (ops-portable)) against the double-precision reference, its fused ReLU,
 * its gradient by finite differences, and the same bits with 1, 2 and 3 pool
 * threads. Widths above and below 16 (vector tails), strides 1, 2 and 3
 * (load, permute, gather), pads larger than the kernel's reach, dilation, a
 * channel multiplier of 2, kernels 3, 5 and 1. */
static void test_conv_depthwise(void)
{
    static const int cfg[][10] = {
        /* c, h, w, m, k, stride, pad, dil, groups(=c) */
        {8, 20, 37, 8, 3, 1, 1, 1, 8},   /* MobileNet 3x3, 37 = 16 + 16 + 5 */
        {6, 21, 35, 6, 3, 2, 1, 1, 6},   /* stride 2 (two loads and a permute) */
        {5, 17, 19, 5, 5, 2, 2, 1, 5},   /* EfficientNet 5x5 stride 2 */
        {4, 9, 8, 8, 3, 1, 2, 2, 4},     /* dilated, multiplier 2 */
        {3, 11, 13, 3, 3, 3, 4, 1, 3},   /* stride 3 (gather), pads beyond the image */
        {4, 7, 7, 4, 1, 1, 0, 1, 4},     /* 1x1 */
        {2, 3, 40, 2, 3, 1, 0, 1, 2},    /* valid padding, one output row */
    };
    for (size_t t = 0; t < sizeof cfg / sizeof cfg[0]; t++) {
        const int *c = cfg[t];
        cam_conv_shape s = make_conv(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]);
        CHECK(cam_depthwise_supported(&s));
        const int n = 2;
        size_t in_n = (size_t)n * s.in_channels * s.in_height * s.in_width;
        size_t out_n = (size_t)n * s.out_channels * s.out_height * s.out_width;
        size_t w_n = (size_t)s.out_channels * s.kernel_height * s.kernel_width;
        float *x = malloc(in_n * sizeof *x), *y = malloc(out_n * sizeof *y);
        float *r = malloc(out_n * sizeof *r), *ref = malloc(out_n * sizeof *ref);
        float *rref = malloc(out_n * sizeof *rref), *y3 = malloc(out_n * sizeof *y3);
        float *gx = malloc(in_n * sizeof *gx), *gx3 = malloc(in_n * sizeof *gx3);
        float *w = malloc(w_n * sizeof *w), *b = malloc((size_t)s.out_channels * sizeof *b);
        fill_random(x, in_n);
        fill_random(w, w_n);
        fill_random(b, (size_t)s.out_channels);
        char what[80];
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            const float *bias = with_bias ? b : NULL;
            cam_depthwise_forward(&s, n, x, w, bias, y, r);
            naive_conv(&s, n, x, w, bias, ref);
            snprintf(what, sizeof what, "depthwise %zu (bias %d) vs direct", t, with_bias);
            check_floats(what, y, ref, out_n, 1e-5f);
            cam_relu_forward(out_n, y, rref);
            snprintf(what, sizeof what, "depthwise %zu relu", t);
            check_floats(what, r, rref, out_n, 0.0f);
            s.relu_max = 0.75f; /* Clip(0, 0.75) */
            cam_depthwise_forward(&s, n, x, w, bias, y, r);
            s.relu_max = 0.0f;
            clip_reference(out_n, y, 0.75f, rref);
            CHECK(memcmp(r, rref, out_n * sizeof *r) == 0);
        }
        conv_params p = {s, n, w, b, NULL};
        op_case oc = {in_n, out_n, depthwise_fwd, depthwise_bwd, &p};
        snprintf(what, sizeof what, "depthwise %zu gradient", t);
        check_gradient(what, &oc, x, 1e-2f);

        /* Thread counts and batches change no bit. */
        float *gy = ref; /* any values */
        fill_random(gy, out_n);
        cam_parallel_set_threads(1);
        cam_depthwise_forward(&s, n, x, w, b, y, NULL);
        cam_depthwise_backward(&s, n, gy, w, gx);
        for (int threads = 2; threads <= 3; threads++) {
            cam_parallel_set_threads(threads);
            cam_depthwise_forward(&s, n, x, w, b, y3, NULL);
            CHECK(memcmp(y3, y, out_n * sizeof *y) == 0);
            cam_depthwise_backward(&s, n, gy, w, gx3);
            CHECK(memcmp(gx3, gx, in_n * sizeof *gx) == 0);
        }
        cam_depthwise_forward(&s, 1, x + in_n / 2, w, b, y3, NULL);
        CHECK(memcmp(y3, y + out_n / 2, out_n / 2 * sizeof *y) == 0);
        cam_parallel_set_threads(0);
        free(x);
        free(y);
        free(r);
        free(ref);
        free(rref);
        free(y3);
        free(gx);
        free(gx3);
        free(w);
        free(b);
    }
    printf("depthwise convolution (%s): %zu shapes checked\n",
           cam_cpu_avx512() ? "AVX-512" : cam_cpu_avx2() ? "AVX2" : "portable",
           sizeof cfg / sizeof cfg[0]);
}

/* im2col and col2im are transposes: <im2col(x), c> == <x, col2im(c)>. */
static void test_im2col_adjoint(void)
{
    cam_conv_shape s = make_conv(3, 7, 6, 2, 3, 2, 1, 2, 1);
    size_t xn = 3 * 7 * 6, cn = (size_t)3 * 9 * s.out_height * s.out_width;
    float *x = malloc(xn * sizeof *x), *col = malloc(cn * sizeof *col);
    float *c = malloc(cn * sizeof *c), *back = calloc(xn, sizeof *back);
    fill_random(x, xn);
    fill_random(c, cn);
    cam_im2col(&s, x, 0, 3, col, NULL);
    cam_col2im(&s, c, 0, 3, back);
    /* The padded-copy path gives the same matrix. */
    float *col2 = malloc(cn * sizeof *col2), *pad = malloc((7 + 2) * (6 + 2) * sizeof *pad);
    cam_im2col(&s, x, 0, 3, col2, pad);
    CHECK(memcmp(col, col2, cn * sizeof *col) == 0);
    free(col2);
    free(pad);
    double a = 0, b = 0;
    for (size_t i = 0; i < cn; i++)
        a += (double)col[i] * c[i];
    for (size_t i = 0; i < xn; i++)
        b += (double)x[i] * back[i];
    CHECK(fabs(a - b) < 1e-4 * (fabs(a) + 1));
    free(x);
    free(col);
    free(c);
    free(back);
}

/* ---- relu ------------------------------------------------------------------- */

static void relu_fwd(const op_case *c, const float *x, float *y) { cam_relu_forward(c->in_count, x, y); }
static void relu_bwd(const op_case *c, const float *x, const float *y, const float *gy, float *gx)
{
    cam_relu_backward(c->in_count, y, gy, gx);
}

static void test_relu(void)
{
    const float x[4] = {-1.0f, 0.0f, 2.5f, -0.0f};
    float y[4], gx[4];
    cam_relu_forward(4, x, y);
    const float want[4] = {0, 0, 2.5f, 0};
    check_floats("relu", y, want, 4, 0.0f);
    const float gy[4] = {7, 8, 9, 10};
    cam_relu_backward(4, y, gy, gx);
    const float wantg[4] = {0, 0, 9, 0};
    check_floats("relu backward", gx, wantg, 4, 0.0f);
    float nan_in = NAN, nan_out;
    cam_relu_forward(1, &nan_in, &nan_out);
    CHECK(isnan(nan_out));

    float xr[50];
    for (int i = 0; i < 50; i++) { /* keep away from the kink at 0 */
        float v = frand();
        xr[i] = v + (v >= 0 ? 0.1f : -0.1f);
    }
    op_case oc = {50, 50, relu_fwd, relu_bwd, NULL};
    check_gradient("relu gradient", &oc, xr, 1e-3f);
}

/* ---- maxpool ---------------------------------------------------------------- */

static cam_pool_shape make_pool(int c, int h, int w, int k, int stride, int pad, int ceil_mode)
{
    cam_pool_shape s = {0};
    s.channels = c;
    s.in_height = h;
    s.in_width = w;
    s.kernel_height = s.kernel_width = k;
    s.stride_height = s.stride_width = stride;
    s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = pad;
    s.dilation_height = s.dilation_width = 1;
    s.out_height = cam_pool_output_size(h, k, stride, pad, pad, 1, ceil_mode);
    s.out_width = cam_pool_output_size(w, k, stride, pad, pad, 1, ceil_mode);
    return s;
}

typedef struct pool_params {
    cam_pool_shape s;
    int n;
} pool_params;

static void pool_fwd(const op_case *c, const float *x, float *y)
{
    const pool_params *p = c->params;
    cam_maxpool_forward(&p->s, p->n, x, y);
}
static void pool_bwd(const op_case *c, const float *x, const float *y, const float *gy, float *gx)
{
    const pool_params *p = c->params;
    cam_maxpool_backward(&p->s, p->n, x, gy, gx);
}

/* got == want exactly, a NaN where want has one (counted, returned); the first
 * difference is reported */
static int check_pool_output(const char *what, const float *got, const float *want, size_t n)
{
    int nan_seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(want[i]) || isnan(got[i])) {
            CHECK(isnan(want[i]) && isnan(got[i]));
            nan_seen++;
        } else if (got[i] != want[i]) {
            fprintf(stderr, "%s: output %zu is %g, want %g\n", what, i, got[i], want[i]);
            failures++;
            break;
        }
    }
    return nan_seen;
}

static void test_maxpool(void)
{
    /* Output sizes (PyTorch's rules). */
    CHECK(cam_pool_output_size(7, 2, 2, 0, 0, 1, 0) == 3);
    CHECK(cam_pool_output_size(7, 2, 2, 0, 0, 1, 1) == 4);
    CHECK(cam_pool_output_size(5, 2, 2, 0, 0, 1, 1) == 3);
    CHECK(cam_pool_output_size(4, 2, 2, 1, 1, 1, 1) == 3);
    CHECK(cam_pool_output_size(5, 3, 2, 1, 1, 1, 1) == 3); /* (5+2-3)/2 = 2 -> 3; last starts at 4-1=3 < 6 */
    CHECK(cam_pool_output_size(6, 3, 3, 1, 1, 1, 1) == 3); /* ceil((8-3)/3)=2 -> 3; start 6 >= 6+1? no */
    CHECK(cam_pool_output_size(3, 2, 2, 1, 1, 1, 1) == 2); /* ceil(3/2)=2 -> 3; start 4 >= 4 -> 2 */

    /* 4x4 -> 2x2 with 2x2/2 (the fast path). */
    const float x[16] = {1, 5, 2, 0,
                         3, 4, 8, 7,
                         -1, -2, 6, 6,
                         -3, -4, 6, 1};
    float y[4], gx[16];
    cam_pool_shape s = make_pool(1, 4, 4, 2, 2, 0, 0);
    cam_maxpool_forward(&s, 1, x, y);
    const float want[4] = {5, 8, -1, 6};
    check_floats("maxpool 2x2", y, want, 4, 0.0f);
    /* Backward: ties (the three 6s) go to the first in row-major order. */
    const float gy[4] = {1, 2, 3, 4};
    cam_maxpool_backward(&s, 1, x, gy, gx);
    const float wantg[16] = {0, 1, 0, 0,
                             0, 0, 2, 0,
                             3, 0, 4, 0,
                             0, 0, 0, 0};
    check_floats("maxpool backward", gx, wantg, 16, 0.0f);

    /* 3x3 with ceil_mode: 2x2 output, the last windows clipped to one column/row. */
    const float x3[9] = {1, 2, 9,
                         4, 5, 6,
                         7, 3, 0};
    cam_pool_shape s3 = make_pool(1, 3, 3, 2, 2, 0, 1);
    CHECK(s3.out_height == 2 && s3.out_width == 2);
    cam_maxpool_forward(&s3, 1, x3, y);
    const float want3[4] = {5, 9, 7, 0};
    check_floats("maxpool ceil_mode", y, want3, 4, 0.0f);

    /* Padding never wins, even over negative values. */
    const float xn[4] = {-5, -6, -7, -8};
    cam_pool_shape sp = make_pool(1, 2, 2, 2, 2, 1, 0);
    CHECK(sp.out_height == 2 && sp.out_width == 2);
    cam_maxpool_forward(&sp, 1, xn, y);
    const float wantp[4] = {-5, -6, -7, -8};
    check_floats("maxpool padding", y, wantp, 4, 0.0f);

    /* The vectorised 2x2/2 path against a direct maximum, on widths that leave
     * 0 to 3 outputs after the groups of 4, odd sizes (last row/column unused) and
     * a NaN, which must win its window. */
    static const int sizes[][2] = {{28, 28}, {14, 14}, {7, 7}, {15, 13}, {9, 17}, {2, 8}, {2, 32},
                                   {6, 40}, {5, 70}}; /* wider than 32: the portable path */
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        const int H = sizes[t][0], W = sizes[t][1], C = 3;
        cam_pool_shape sv = make_pool(C, H, W, 2, 2, 0, 0);
        size_t in_n = (size_t)C * H * W, out_n = (size_t)C * sv.out_height * sv.out_width;
        float *xv = malloc(in_n * sizeof *xv), *yv = malloc(out_n * sizeof *yv);
        float *want_v = malloc(out_n * sizeof *want_v);
        fill_random(xv, in_n);
        xv[(size_t)W + 3] = NAN; /* channel 0, row 1 */
        for (int c = 0; c < C; c++)
            for (int oy = 0; oy < sv.out_height; oy++)
                for (int ox = 0; ox < sv.out_width; ox++) {
                    const float *w0 = xv + ((size_t)c * H + 2 * oy) * W + 2 * ox;
                    float v[4] = {w0[0], w0[1], w0[W], w0[W + 1]}, m = v[0];
                    for (int k = 1; k < 4; k++)
                        if (v[k] > m || isnan(v[k]))
                            m = isnan(m) ? m : v[k];
                    want_v[((size_t)c * sv.out_height + oy) * sv.out_width + ox] = m;
                }
        cam_maxpool_forward(&sv, 1, xv, yv);
        char what[80];
        snprintf(what, sizeof what, "maxpool %dx%d", H, W);
        CHECK(check_pool_output(what, yv, want_v, out_n) == 1);
        free(xv);
        free(yv);
        free(want_v);
    }

    /* The row path (windows inside the plane vertically: column maxima of the
     * window's rows, then each window along them) against the tap-by-tap maximum
     * over the in-bounds taps, with ResNet's 3x3/2 pad 1 and other shapes, widths
     * that leave 0 to 3 columns after the groups of 4, and a NaN that must win;
     * at 1-3 threads (planes in items on the pool: 112x112 makes 3 items). */
    static const int rows[][6] = {/* H, W, kernel, stride, pad, ceil */
                                  {112, 112, 3, 2, 1, 0}, {13, 13, 3, 2, 1, 1}, {9, 7, 3, 1, 1, 0},
                                  {10, 5, 2, 1, 0, 0}, {8, 14, 3, 3, 0, 1}, {11, 9, 5, 2, 2, 0}};
    for (size_t t = 0; t < sizeof rows / sizeof rows[0]; t++) {
        const int H = rows[t][0], W = rows[t][1], C = 5;
        cam_pool_shape sv = make_pool(C, H, W, rows[t][2], rows[t][3], rows[t][4], rows[t][5]);
        size_t in_n = (size_t)C * H * W, out_n = (size_t)C * sv.out_height * sv.out_width;
        float *xv = malloc(in_n * sizeof *xv), *yv = malloc(out_n * sizeof *yv);
        float *want_v = malloc(out_n * sizeof *want_v);
        fill_random(xv, in_n);
        xv[(size_t)(H / 2) * W + W / 2] = NAN; /* channel 0, the middle */
        for (int c = 0; c < C; c++)
            for (int oy = 0; oy < sv.out_height; oy++)
                for (int ox = 0; ox < sv.out_width; ox++) {
                    float m = -INFINITY;
                    for (int ki = 0; ki < sv.kernel_height; ki++)
                        for (int kj = 0; kj < sv.kernel_width; kj++) {
                            const int iy = oy * sv.stride_height - sv.pad_top + ki;
                            const int ix = ox * sv.stride_width - sv.pad_left + kj;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                continue;
                            const float v = xv[((size_t)c * H + iy) * W + ix];
                            if (isnan(v) || (!isnan(m) && v > m))
                                m = v;
                        }
                    want_v[((size_t)c * sv.out_height + oy) * sv.out_width + ox] = m;
                }
        for (int threads = 1; threads <= 3; threads++) {
            cam_parallel_set_threads(threads);
            memset(yv, 0, out_n * sizeof *yv);
            cam_maxpool_forward(&sv, 1, xv, yv);
            char what[80];
            snprintf(what, sizeof what, "maxpool %dx%d k%d s%d p%d, %d threads", H, W, rows[t][2],
                     rows[t][3], rows[t][4], threads);
            CHECK(check_pool_output(what, yv, want_v, out_n) >= 1);
        }
        cam_parallel_set_threads(0);
        free(xv);
        free(yv);
        free(want_v);
    }

    /* Gradients: distinct values so no window has a near-tie. */
    static const int cfg[][5] = {{2, 6, 6, 2, 2}, {2, 7, 5, 3, 2}, {1, 5, 5, 2, 2}};
    static const int pads[] = {0, 1, 0};
    static const int ceils[] = {0, 0, 1};
    for (int t = 0; t < 3; t++) {
        pool_params p = {make_pool(cfg[t][0], cfg[t][1], cfg[t][2], cfg[t][3], cfg[t][4], pads[t],
                                   ceils[t]),
                         2};
        size_t in_n = (size_t)2 * cfg[t][0] * cfg[t][1] * cfg[t][2];
        size_t out_n = (size_t)2 * cfg[t][0] * p.s.out_height * p.s.out_width;
        float *xr = malloc(in_n * sizeof *xr);
        for (size_t i = 0; i < in_n; i++) /* a permutation of well-separated values */
            xr[i] = (float)((i * 37) % in_n) * 0.05f - 1.0f;
        op_case oc = {in_n, out_n, pool_fwd, pool_bwd, &p};
        check_gradient("maxpool gradient", &oc, xr, 1e-3f);
        free(xr);
    }
}

/* ---- global average pool -------------------------------------------------- */

static void gap_fwd(const op_case *c, const float *x, float *y) { cam_global_avgpool_forward(2, 3, 5, x, y); }
static void gap_bwd(const op_case *c, const float *x, const float *y, const float *gy, float *gx)
{
    cam_global_avgpool_backward(2, 3, 5, gy, gx);
}

static void test_gap(void)
{
    const float x[8] = {1, 2, 3, 4, -1, -1, 5, 1};
    float y[2], gx[8];
    cam_global_avgpool_forward(1, 2, 4, x, y);
    const float want[2] = {2.5f, 1.0f};
    check_floats("gap", y, want, 2, 0.0f);
    const float gy[2] = {4, -8};
    cam_global_avgpool_backward(1, 2, 4, gy, gx);
    const float wantg[8] = {1, 1, 1, 1, -2, -2, -2, -2};
    check_floats("gap backward", gx, wantg, 8, 0.0f);

    float xr[30];
    fill_random(xr, 30);
    op_case oc = {30, 6, gap_fwd, gap_bwd, NULL};
    check_gradient("gap gradient", &oc, xr, 1e-2f);
}

/* ---- identity --------------------------------------------------------------- */

static void test_identity(void)
{
    const float x[3] = {1, -2, 3};
    float y[3], g[3];
    cam_identity_forward(3, x, y);
    check_floats("identity", y, x, 3, 0.0f);
    cam_identity_backward(3, x, g);
    check_floats("identity backward", g, x, 3, 0.0f);
}

/* ---- gemm ------------------------------------------------------------------- */

typedef struct gemm_params {
    int n, k, m, trans_b;
    float alpha, beta;
    const float *b, *c;
} gemm_params;

static void gemm_fwd(const op_case *oc, const float *x, float *y)
{
    const gemm_params *p = oc->params;
    cam_gemm_forward(p->n, p->k, p->m, p->alpha, p->beta, p->trans_b, x, p->b, p->c, p->m, y);
}
static void gemm_bwd(const op_case *oc, const float *x, const float *y, const float *gy, float *gx)
{
    const gemm_params *p = oc->params;
    cam_gemm_backward(p->n, p->k, p->m, p->alpha, p->trans_b, p->b, gy, gx);
}

static void test_gemm(void)
{
    /* x = [1, 2], B (transB, 3x2) rows [1,0],[0,1],[1,1]; alpha 2, beta 0.5, c = 1:
     * y = 2 * [1, 2, 3] + 0.5 */
    const float x[2] = {1, 2};
    const float bt[6] = {1, 0, 0, 1, 1, 1};
    const float b[6] = {1, 0, 1, 0, 1, 1}; /* the same matrix, k x m */
    const float c[3] = {1, 1, 1};
    float y[3], gx[2];
    const float want[3] = {2.5f, 4.5f, 6.5f};
    cam_gemm_forward(1, 2, 3, 2.0f, 0.5f, 1, x, bt, c, 3, y);
    check_floats("gemm transB", y, want, 3, 0.0f);
    cam_gemm_forward(1, 2, 3, 2.0f, 0.5f, 0, x, b, c, 1, y);
    check_floats("gemm", y, want, 3, 0.0f);
    const float gy[3] = {1, 10, 100};
    const float wantg[2] = {2 * 101.0f, 2 * 110.0f};
    cam_gemm_backward(1, 2, 3, 2.0f, 1, bt, gy, gx);
    check_floats("gemm transB backward", gx, wantg, 2, 0.0f);
    cam_gemm_backward(1, 2, 3, 2.0f, 0, b, gy, gx);
    check_floats("gemm backward", gx, wantg, 2, 0.0f);

    for (int tb = 0; tb < 2; tb++) {
        float w[35], cc[5], xr[21];
        fill_random(w, 35);
        fill_random(cc, 5);
        fill_random(xr, 21);
        gemm_params p = {3, 7, 5, tb, 1.5f, 0.5f, w, cc};
        op_case oc = {21, 15, gemm_fwd, gemm_bwd, &p};
        check_gradient("gemm gradient", &oc, xr, 1e-2f);
    }
}

/* ---- add -------------------------------------------------------------------- */

static void test_add(void)
{
    const float a[8] = {1, 2, 3, 4, 5, 6, 7, 8}; /* n=2 images of 2 channels x 2 */
    const float bias[2] = {10, 20};
    float y[8];
    cam_add_forward(2, 4, a, bias, 0, 2, 2, y);
    const float want[8] = {11, 12, 23, 24, 15, 16, 27, 28};
    check_floats("add per channel", y, want, 8, 0.0f);
    const float full[4] = {1, -1, 2, -2};
    cam_add_forward(2, 4, a, full, 0, 4, 1, y);
    const float want2[8] = {2, 1, 5, 2, 6, 5, 9, 6};
    check_floats("add full", y, want2, 8, 0.0f);
    cam_add_forward(1, 8, a, a, 1, 0, 0, y);
    const float want3[8] = {2, 4, 6, 8, 10, 12, 14, 16};
    check_floats("add batched", y, want3, 8, 0.0f);
    float g[8];
    cam_add_backward(2, 4, a, g);
    check_floats("add backward", g, a, 8, 0.0f);
}

/* ---- batchnorm -------------------------------------------------------------- */

static float bn_mul[3], bn_add[3];
static void bn_fwd(const op_case *c, const float *x, float *y) { cam_batchnorm_forward(2, 3, 4, bn_mul, bn_add, x, y); }
static void bn_bwd(const op_case *c, const float *x, const float *y, const float *gy, float *gx)
{
    cam_batchnorm_backward(2, 3, 4, bn_mul, gy, gx);
}

static void test_batchnorm(void)
{
    /* scale 2, bias 1, mean 3, var 3, eps 1: mul = 2/sqrt(4) = 1, add = 1 - 3 = -2. */
    const float scale[1] = {2}, bias[1] = {1}, mean[1] = {3}, var[1] = {3};
    float mul[1], add[1];
    cam_batchnorm_fold(1, scale, bias, mean, var, 1.0f, mul, add);
    CHECK(mul[0] == 1.0f && add[0] == -2.0f);
    const float x[2] = {5, -1};
    float y[2];
    cam_batchnorm_forward(1, 1, 2, mul, add, x, y);
    const float want[2] = {3, -3};
    check_floats("batchnorm", y, want, 2, 0.0f);

    const float sc[3] = {1, 2, 3}, bi[3] = {0, 1, -1}, me[3] = {0.5f, -1, 2}, va[3] = {1, 4, 0.25f};
    cam_batchnorm_fold(3, sc, bi, me, va, 1e-5f, bn_mul, bn_add);
    float xr[24];
    fill_random(xr, 24);
    op_case oc = {24, 24, bn_fwd, bn_bwd, NULL};
    check_gradient("batchnorm gradient", &oc, xr, 1e-2f);
}

/* ---- softmax ---------------------------------------------------------------- */

static void sm_fwd(const op_case *c, const float *x, float *y) { cam_softmax_forward(2, 5, x, y); }
static void sm_bwd(const op_case *c, const float *x, const float *y, const float *gy, float *gx)
{
    cam_softmax_backward(2, 5, y, gy, gx);
}

static void test_softmax(void)
{
    const float x[2] = {0.0f, logf(3.0f)};
    float y[2], gx[2];
    cam_softmax_forward(1, 2, x, y);
    const float want[2] = {0.25f, 0.75f};
    check_floats("softmax", y, want, 2, 1e-7f);
    /* d p_1 / d x = p_1 (e_1 - p) = 0.75 * [-0.25, 0.25] */
    const float gy[2] = {0, 1};
    cam_softmax_backward(1, 2, y, gy, gx);
    const float wantg[2] = {-0.1875f, 0.1875f};
    check_floats("softmax backward", gx, wantg, 2, 1e-7f);
    /* Large logits do not overflow. */
    const float big[3] = {1000, 1000, -1000};
    float yb[3];
    cam_softmax_forward(1, 3, big, yb);
    CHECK(yb[0] == 0.5f && yb[1] == 0.5f && yb[2] == 0.0f);

    float xr[10];
    fill_random(xr, 10);
    op_case oc = {10, 10, sm_fwd, sm_bwd, NULL};
    check_gradient("softmax gradient", &oc, xr, 1e-3f);
}

/* ---- vector math (vector-math.c) ---------------------------------------------- */

/* |got - ref| in units of the float spacing at ref (ref a normal float's size). */
static double ulps(float got, double ref)
{
    const float r = (float)ref;
    const double spacing = (double)nextafterf(fabsf(r), INFINITY) - fabsf(r);
    return fabs((double)got - ref) / spacing;
}

/* erf, the sigmoid (and SiLU) and the last-axis softmax on the path this run takes (AVX-512 polynomials,
 * or libm under CAM_NO_AVX512=1) against double-precision references: at most 4
 * units in the last place (the polynomial paths measure 2.3), special values as
 * libm, and the same bits with 1, 2 and 3 pool threads. */
static void test_vector_math(void)
{
    /* erf: a dense sweep of [-6, 6] (every interval and beyond), then specials */
    const size_t n = 200003;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *y2 = malloc(n * sizeof *y2);
    CHECK(x && y && y2);
    if (!x || !y || !y2)
        return;
    for (size_t i = 0; i < n; i++)
        x[i] = -6.0f + 12.0f * (float)i / (float)(n - 1);
    const float special[] = {0.0f, -0.0f, 1e-30f, -3e-39f, 1e30f, -1e30f, INFINITY, -INFINITY,
                             3.9f, -3.9f, 4.0f, 0.25f, 0.5f, 3.75f};
    const size_t ns = sizeof special / sizeof special[0];
    memcpy(x, special, sizeof special);
    x[ns] = NAN;
    cam_erf_forward(n, x, y);
    double worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == ns)
            continue;
        const double ref = erf((double)x[i]);
        const double e = fabsf((float)ref) < 1e-37f ? fabs(y[i] - ref) / 1e-45 : ulps(y[i], ref);
        if (!(e <= worst)) {
            worst = e;
            at = i;
        }
    }
    if (!(worst <= 4.0)) {
        fprintf(stderr, "erf(%.9g): got %.9g, want %.9g (%.2f ulp)\n", x[at], y[at],
                erf((double)x[at]), worst);
        failures++;
    }
    CHECK(isnan(y[ns]));
    CHECK(y[0] == 0.0f && !signbit(y[0]) && y[1] == 0.0f && signbit(y[1]));
    CHECK(y[4] == 1.0f && y[5] == -1.0f && y[6] == 1.0f && y[7] == -1.0f);
    for (int threads = 1; threads <= 3; threads++) {
        cam_parallel_set_threads(threads);
        cam_erf_forward(n, x, y2);
        CHECK(memcmp(y, y2, n * sizeof *y) == 0);
    }
    cam_parallel_set_threads(0);
    /* in place, and a length that is no multiple of 16 */
    memcpy(y2, x, 37 * sizeof *x);
    cam_erf_forward(37, y2, y2);
    CHECK(memcmp(y2, y, 37 * sizeof *y) == 0);

    /* sigmoid and SiLU: a dense sweep of [-110, 110] (down to where sigmoid leaves
     * the subnormals), then specials; s and y written together and alone, in place.
     * SiLU must be exactly the product a Mul node would compute (the fusion's promise). */
    for (size_t i = 0; i < n; i++)
        x[i] = -110.0f + 220.0f * (float)i / (float)(n - 1);
    const float sspecial[] = {0.0f, -0.0f, 1e-30f, -3e-39f, 1e30f, -1e30f, INFINITY, -INFINITY,
                              -87.5f, -103.0f, 88.7f, 16.6f};
    const size_t nss = sizeof sspecial / sizeof sspecial[0];
    memcpy(x, sspecial, sizeof sspecial);
    x[nss] = NAN;
    float *y3 = malloc(n * sizeof *y3);
    CHECK(y3 != NULL);
    if (!y3)
        return;
    cam_sigmoid_forward(n, x, y, y2);
    double worst_s = 0.0;
    size_t at_s = 0, silu_differ = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == nss || isinf(x[i]))
            continue;
        const double ref = 1.0 / (1.0 + exp(-(double)x[i]));
        /* below 1e-37 (subnormal results): in units of the smallest subnormal */
        const double es = ref < 1e-37 ? fabs(y[i] - ref) / 1.4e-45 : ulps(y[i], ref);
        if (!(es <= worst_s)) {
            worst_s = es;
            at_s = i;
        }
        /* SiLU: the float product x * sigmoid(x), as a separate Mul computes it */
        const float prod = x[i] * y[i];
        silu_differ += memcmp(&prod, &y2[i], sizeof prod) != 0;
    }
    if (!(worst_s <= 4.0) || silu_differ) {
        fprintf(stderr, "sigmoid(%.9g): got %.9g (%.2f ulp); %zu SiLU values differ from "
                "x * sigmoid(x)\n", x[at_s], y[at_s], worst_s, silu_differ);
        failures++;
    }
    CHECK(isnan(y[nss]) && isnan(y2[nss]));
    CHECK(y[0] == 0.5f && y[1] == 0.5f && y2[0] == 0.0f && y2[1] == 0.0f);
    CHECK(y[4] == 1.0f && y[5] == 0.0f && y[6] == 1.0f && y[7] == 0.0f);
    CHECK(y2[4] == 1e30f && y2[6] == INFINITY); /* x sigmoid(x) = x for large x */
    for (int threads = 1; threads <= 3; threads++) {
        cam_parallel_set_threads(threads);
        cam_sigmoid_forward(n, x, y3, NULL);
        CHECK(memcmp(y, y3, n * sizeof *y) == 0);
        cam_sigmoid_forward(n, x, NULL, y3);
        CHECK(memcmp(y2, y3, n * sizeof *y) == 0);
    }
    cam_parallel_set_threads(0);
    memcpy(y3, x, 37 * sizeof *x);
    cam_sigmoid_forward(37, y3, y3, NULL);
    CHECK(memcmp(y3, y, 37 * sizeof *y) == 0);
    memcpy(y3, x, 37 * sizeof *x);
    cam_sigmoid_forward(37, y3, NULL, y3);
    CHECK(memcmp(y3, y2, 37 * sizeof *y) == 0);
    free(y3);

    /* softmax rows: k with and without a tail of 16, logits up to +-40 */
    const int ks[] = {1, 5, 16, 17, 197};
    for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++) {
        const int k = ks[c], rows = 400;
        const size_t total = (size_t)rows * k;
        for (size_t i = 0; i < total; i++)
            x[i] = frand() * (float)(1 + (i / k) % 40);
        if (k > 3) {
            for (int j = 0; j < k; j++) /* a masked row: one finite logit */
                x[3 * k + j] = -INFINITY;
            x[3 * k + 2] = 5.0f;
            x[4 * k + 1] = NAN; /* a NaN row */
        }
        cam_softmax_rows_forward(rows, k, x, y);
        worst = 0.0;
        for (int r = 0; r < rows; r++) {
            const float *xr = x + (size_t)r * k;
            if (k > 3 && r == 4) {
                for (int j = 0; j < k; j++)
                    CHECK(isnan(y[(size_t)r * k + j]));
                continue;
            }
            /* the reference takes x - max as rounded to float, as both paths do
             * (that rounding alone moves e^(x - max) by up to 64 ulp here) */
            float mx = -INFINITY;
            double sum = 0.0;
            for (int j = 0; j < k; j++)
                mx = xr[j] > mx ? xr[j] : mx;
            for (int j = 0; j < k; j++)
                sum += exp((double)(xr[j] - mx));
            for (int j = 0; j < k; j++) {
                const double ref = exp((double)(xr[j] - mx)) / sum;
                const float got = y[(size_t)r * k + j];
                const double e = ref < 1e-30 ? (fabs(got - ref) <= 1e-35 ? 0.0 : 1e9)
                                             : ulps(got, ref);
                if (!(e <= worst)) {
                    worst = e;
                    at = (size_t)r * k + j;
                }
            }
        }
        if (!(worst <= 4.0)) {
            fprintf(stderr, "softmax k = %d [%zu]: got %.9g (%.2f ulp)\n", k, at, y[at], worst);
            failures++;
        }
        if (k > 3)
            CHECK(y[3 * k + 2] == 1.0f && y[3 * k + 3] == 0.0f);
        for (int threads = 1; threads <= 3; threads++) {
            cam_parallel_set_threads(threads);
            cam_softmax_rows_forward(rows, k, x, y2);
            CHECK(memcmp(y, y2, total * sizeof *y) == 0);
        }
        cam_parallel_set_threads(0);
    }
    free(x);
    free(y);
    free(y2);
}

/* ---- the thread pool (thread-pool.c) ------------------------------------------ */

#define POOL_TEST_ITEMS 40
typedef struct pool_test {
    int hits[POOL_TEST_ITEMS];
    int nested[POOL_TEST_ITEMS];
} pool_test;

static void pool_nested_item(void *arg, int item)
{
    (void)item;
    __atomic_add_fetch((int *)arg, 1, __ATOMIC_RELAXED); /* its item's counter */
}

static void pool_test_item(void *arg, int item)
{
    pool_test *p = arg;
    __atomic_add_fetch(&p->hits[item], 1, __ATOMIC_RELAXED);
    if (item % 7 == 3) /* a nested loop runs inline: the pool is busy */
        cam_parallel_for(2, pool_nested_item, &p->nested[item]);
}

/* Loops of 1..POOL_TEST_ITEMS items, back to back and after pauses long enough
 * for the workers to park: every item runs exactly once per loop, whichever
 * thread claims it, and a worker that wakes late takes nothing of a later loop. */
static void *pool_test_caller(void *arg)
{
    int *bad = arg;
    pool_test p;
    for (int loop = 0; loop < 600; loop++) {
        const int items = 1 + loop % POOL_TEST_ITEMS;
        memset(&p, 0, sizeof p);
        if (loop % 150 == 149) {
            struct timespec pause = {0, 5000000}; /* 5 ms: the workers park */
            nanosleep(&pause, NULL);
        }
        cam_parallel_for(items, pool_test_item, &p);
        for (int i = 0; i < POOL_TEST_ITEMS; i++) {
            const int want = i < items, nested = want && i % 7 == 3;
            if (p.hits[i] != want || p.nested[i] != (nested ? 2 : 0))
                (*bad)++;
        }
    }
    return NULL;
}

static void test_thread_pool(void)
{
    for (int threads = 1; threads <= 4; threads++) {
        cam_parallel_set_threads(threads);
        int bad = 0;
        pool_test_caller(&bad);
        if (bad)
            fprintf(stderr, "thread pool, %d threads: %d wrong item counts\n", threads, bad);
        CHECK(bad == 0);
        /* two callers at once: one has the pool, the other runs its loop inline */
        int bad2[2] = {0, 0};
        pthread_t other;
        CHECK(pthread_create(&other, NULL, pool_test_caller, &bad2[0]) == 0);
        pool_test_caller(&bad2[1]);
        pthread_join(other, NULL);
        CHECK(bad2[0] == 0 && bad2[1] == 0);
    }
    cam_parallel_set_threads(0);
    printf("thread pool: 1-4 threads, one and two callers\n");
}

int main(void)
{
    test_thread_pool();
    test_conv_hand();
    test_conv_random();
    test_conv_direct();
    test_conv_depthwise();
    test_im2col_adjoint();
    test_relu();
    test_maxpool();
    test_gap();
    test_identity();
    test_gemm();
    test_add();
    test_batchnorm();
    test_softmax();
    test_vector_math();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("all op tests passed\n");
    return 0;
}
