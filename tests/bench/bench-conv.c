/*
 * bench-conv.c -- the engine's convolution paths on the convolution shapes of
 * ResNet-50 (224x224), against OpenBLAS sgemm on the same GEMM shape, in one run
 * (issue 14: "a kernel of your own must beat it on the shapes where it is used").
 * Not a test: it prints a table and asserts nothing.
 *
 *     bench-conv [THREADS [resnet50 | mobilenet_v2]]     (default 1, resnet50)
 *
 * Per shape (one image): the im2col + sgemm path (cam_conv2d_forward: im2col,
 * OpenBLAS in pieces, bias), the AVX-512 direct kernel (cam_conv2d_direct_forward
 * with packed weights) where cam_conv_direct_supported() says the engine uses it,
 * and one plain OpenBLAS sgemm call of M x N x K at THREADS threads (the GEMM the
 * im2col path makes, without im2col, bias or pieces): GFLOP/s (2 x multiply-adds /
 * median time over about 0.3 s), the path the engine takes and its rate over sgemm's.
 * The engine's columns are timed before sgemm's, and at 2 threads the next shape
 * waits 0.3 s: OpenBLAS's own threads spin for about 0.1 s after a threaded sgemm,
 * and a spinning thread would take a core from the engine's.
 */
#include "camengine.h"
#include "kernels/cam-kernels.h"

#include "bench-util.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *where;
    int c, h, m, k, stride, pad;
} conv_case;

/* ResNet-50's convolutions, each shape once (input C x H x H, M outputs, k x k). */
static const conv_case resnet50_cases[] = {
    {"conv1", 3, 224, 64, 7, 2, 3},
    {"layer1 1x1 reduce", 64, 56, 64, 1, 1, 0},
    {"layer1 3x3", 64, 56, 64, 3, 1, 1},
    {"layer1 1x1 expand", 64, 56, 256, 1, 1, 0},
    {"layer1 1x1 reduce (256)", 256, 56, 64, 1, 1, 0},
    {"layer2 3x3 stride 2", 128, 56, 128, 3, 2, 1},
    {"layer2 3x3", 128, 28, 128, 3, 1, 1},
    {"layer2 1x1 expand", 128, 28, 512, 1, 1, 0},
    {"layer2 1x1 reduce", 512, 28, 128, 1, 1, 0},
    {"layer3 3x3", 256, 14, 256, 3, 1, 1},
    {"layer3 1x1 expand", 256, 14, 1024, 1, 1, 0},
    {"layer3 1x1 reduce", 1024, 14, 256, 1, 1, 0},
    {"layer4 3x3", 512, 7, 512, 3, 1, 1},
    {"layer4 1x1 expand", 512, 7, 2048, 1, 1, 0},
    {"layer4 1x1 reduce", 2048, 7, 512, 1, 1, 0},
    {NULL, 0, 0, 0, 0, 0, 0},
};

/* MobileNet V2's pointwise convolutions (the depthwise ones are another kernel). */
static const conv_case mobilenet_v2_cases[] = {
    {"block 1 project", 32, 112, 16, 1, 1, 0},
    {"block 2 expand", 16, 112, 96, 1, 1, 0},
    {"block 2 project", 96, 56, 24, 1, 1, 0},
    {"block 3 expand", 24, 56, 144, 1, 1, 0},
    {"block 3 project", 144, 56, 24, 1, 1, 0},
    {"block 4 project", 144, 28, 32, 1, 1, 0},
    {"block 5 expand", 32, 28, 192, 1, 1, 0},
    {"block 5 project", 192, 28, 32, 1, 1, 0},
    {"block 7 project", 192, 14, 64, 1, 1, 0},
    {"block 8 expand", 64, 14, 384, 1, 1, 0},
    {"block 8 project", 384, 14, 64, 1, 1, 0},
    {"block 11 project", 384, 14, 96, 1, 1, 0},
    {"block 12 expand", 96, 14, 576, 1, 1, 0},
    {"block 12 project", 576, 14, 96, 1, 1, 0},
    {"block 14 project", 576, 7, 160, 1, 1, 0},
    {"block 15 expand", 160, 7, 960, 1, 1, 0},
    {"block 15 project", 960, 7, 160, 1, 1, 0},
    {"block 17 project", 960, 7, 320, 1, 1, 0},
    {"last 1x1", 320, 7, 1280, 1, 1, 0},
    {NULL, 0, 0, 0, 0, 0, 0},
};

static void fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
}

typedef void (*run_fn)(void *arg);

/* Median seconds of fn over about 0.3 s (at least 5 runs, after one warm-up). */
static double median_seconds(run_fn fn, void *arg)
{
    double t[201];
    int n = 0;
    fn(arg);
    const double start = bench_now();
    while (n < 201 && (n < 5 || bench_now() - start < 0.3)) {
        const double t0 = bench_now();
        fn(arg);
        t[n++] = bench_now() - t0;
    }
    qsort(t, (size_t)n, sizeof *t, bench_compare_double);
    return t[n / 2];
}

typedef struct {
    const cam_conv_shape *s;
    const float *x, *w, *packed, *b;
    float *y, *scratch;
} conv_run;

/* The im2col path's GEMM alone: W (M x K) . X (K x N) with X the input itself (its
 * first K x N floats: the values do not matter to the time). */
static void run_sgemm(void *arg)
{
    const conv_run *r = arg;
    const int M = r->s->out_channels, N = r->s->out_height * r->s->out_width;
    const int K = r->s->in_channels * r->s->kernel_height * r->s->kernel_width;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, r->w, K, r->scratch, N,
                0.0f, r->y, N);
}

static void run_im2col(void *arg)
{
    const conv_run *r = arg;
    cam_conv2d_forward(r->s, 1, r->x, r->w, r->b, r->y, r->scratch);
}

static void run_direct(void *arg)
{
    const conv_run *r = arg;
    cam_conv2d_direct_forward(r->s, 1, r->x, r->packed, r->b, NULL, r->y, NULL, r->scratch);
}

int main(int argc, char **argv)
{
    const int threads = argc > 1 && atoi(argv[1]) > 0 ? atoi(argv[1]) : 1;
    const int mobilenet = argc > 2 && strcmp(argv[2], "mobilenet_v2") == 0;
    if (argc > 3 || (argc > 2 && !mobilenet && strcmp(argv[2], "resnet50") != 0)) {
        fprintf(stderr, "usage: bench-conv [THREADS [resnet50 | mobilenet_v2]]\n");
        return 2;
    }
    const conv_case *cases = mobilenet ? mobilenet_v2_cases : resnet50_cases;
    cam_parallel_set_threads(threads);
    printf("%s's convolutions, one 224x224 image, %d thread(s); GFLOP/s = 2 x "
           "multiply-adds / median time.\n\n",
           mobilenet ? "MobileNet V2" : "ResNet-50", threads);
    printf("| convolution | C x H x W -> M, k, stride | GEMM M x N x K | sgemm | im2col + sgemm "
           "| direct (AVX-512) | engine uses | engine / sgemm |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; cases[i].where; i++) {
        const conv_case *c = &cases[i];
        cam_conv_shape s = {0};
        s.in_channels = c->c;
        s.in_height = s.in_width = c->h;
        s.out_channels = c->m;
        s.kernel_height = s.kernel_width = c->k;
        s.stride_height = s.stride_width = c->stride;
        s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = c->pad;
        s.dilation_height = s.dilation_width = 1;
        s.groups = 1;
        s.out_height = s.out_width =
            cam_conv_output_size(c->h, c->k, c->stride, c->pad, c->pad, 1);
        const int N = s.out_height * s.out_width, K = c->c * c->k * c->k;
        const double flops = 2.0 * c->m * (double)N * K;
        const size_t in_n = (size_t)c->c * c->h * c->h, out_n = (size_t)c->m * N;
        const size_t w_n = (size_t)c->m * K;
        const int direct = cam_cpu_avx512() && cam_conv_direct_supported(&s);
        size_t sc = (size_t)K * N; /* also room for run_sgemm's K x N matrix */
        if (cam_conv2d_scratch_size(&s) > sc)
            sc = cam_conv2d_scratch_size(&s);
        if (direct && cam_conv_direct_scratch_size(&s) > sc)
            sc = cam_conv_direct_scratch_size(&s);
        float *x = malloc(in_n * sizeof *x), *w = malloc(w_n * sizeof *w);
        float *b = malloc((size_t)c->m * sizeof *b), *y = malloc(out_n * sizeof *y);
        float *scratch = malloc((sc ? sc : 1) * sizeof *scratch);
        float *packed = direct ? malloc(cam_conv_direct_packed_size(&s) * sizeof *packed) : NULL;
        if (!x || !w || !b || !y || !scratch || (direct && !packed)) {
            fprintf(stderr, "bench-conv: out of memory\n");
            return 1;
        }
        fill(x, in_n, 1);
        fill(w, w_n, 2);
        fill(b, (size_t)c->m, 3);
        if (direct)
            cam_conv_direct_pack(&s, w, packed);
        conv_run r = {&s, x, w, packed, b, y, scratch};
        cam_set_blas_threads(threads);
        cam_parallel_set_threads(threads);
        const double im2col = flops / median_seconds(run_im2col, &r) / 1e9;
        const double dir = direct ? flops / median_seconds(run_direct, &r) / 1e9 : NAN;
        const double gemm = flops / median_seconds(run_sgemm, &r) / 1e9;
        if (threads > 1)
            bench_sleep(0.3); /* until OpenBLAS's threads stop spinning (about 0.1 s) */
        const double used = direct ? dir : im2col;
        char dir_text[32] = "-";
        if (direct)
            snprintf(dir_text, sizeof dir_text, "%.0f", dir);
        printf("| %s | %d x %d x %d -> %d, %d, %d | %d x %d x %d | %.0f | %.0f | %s | %s | %.2f |\n",
               c->where, c->c, c->h, c->h, c->m, c->k, c->stride, c->m, N, K, gemm, im2col,
               dir_text, direct ? "direct" : "im2col", used / gemm);
        free(x);
        free(w);
        free(b);
        free(y);
        free(scratch);
        free(packed);
    }
    return 0;
}
