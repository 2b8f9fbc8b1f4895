/*
 * test-hand-network.c -- CAM, Grad-CAM and the other methods on tiny networks, worked
 * out by hand.
 *
 * The PyTorch cross-check (tests/reference) could pass with a mistake shared by the
 * engine and the Python reference (a transposed weight, a misread formula). Here the
 * expected values are computed by hand below, so such a mistake cannot pass.
 * The ONNX files are written by this test with a minimal protobuf encoder (field
 * numbers from onnx.proto), independently of the engine's generated parser.
 *
 *     test-hand-network [--write DIR]   (--write also saves the two .onnx files)
 *
 * THE NETWORKS. Input x, 1 channel, 3x3:
 *
 *       x = | 1 2 0 |
 *           | 0 1 3 |
 *           | 2 0 1 |
 *
 * Conv "conv": 2 filters 2x2, stride 1, no padding -> 2 x 2x2:
 *   filter 0 = |1 0|  bias  0:  z0(i,j) = x(i,j) + x(i+1,j+1)
 *              |0 1|
 *              z0 = | 1+1  2+3 | = | 2 5 |
 *                   | 0+0  1+1 |   | 0 2 |
 *   filter 1 = | 0 1|  bias -1: z1(i,j) = x(i,j+1) - x(i+1,j) - 1
 *              |-1 0|
 *              z1 = | 2-0-1  0-1-1 | = |  1 -2 |
 *                   | 1-2-1  3-0-1 |   | -2  2 |
 * Relu "relu" (the explanation layer A):
 *              A0 = | 2 5 |   A1 = | 1 0 |
 *                   | 0 2 |        | 0 2 |
 *
 * NETWORK 1 ("hand-gap", has the CAM structure): GlobalAveragePool -> Flatten ->
 * Gemm (transB=1, B = |1 -1|, C = (0, 0.5)) -> Softmax.
 *                     |-1  2|
 *   GAP: m = (9/4, 3/4) = (2.25, 0.75)
 *   logits: l0 = 2.25 - 0.75 + 0 = 1.5;  l1 = -2.25 + 1.5 + 0.5 = -0.25
 *   softmax: p0 = 1 / (1 + e^-1.75) = 0.8519528,  p1 = 1 - p0 = 0.1480472
 *   CAM_c = sum_k W[k,c] A_k with W[k,c] = B[c,k] (Keras layout):
 *     CAM_0 = A0 - A1    = | 1  5 |     CAM_1 = -A0 + 2 A1 = | 0 -5 |
 *                          | 0  0 |                          | 0  2 |
 *   Grad-CAM (paper): d l_c / d A_k(x,y) = B[c,k] / 4 at every (x,y) (the GAP), so
 *   alpha_k = B[c,k] / 4 and the map is ReLU(CAM_c / 4):
 *     GC_0 = | 0.25 1.25 |    GC_1 = ReLU | 0 -1.25 | = | 0 0   |
 *            | 0    0    |                | 0  0.5  |   | 0 0.5 |
 *   Gradients: d l0 / d relu = 0.25 (channel 0), -0.25 (channel 1) everywhere;
 *   d l0 / d conv = the same where z > 0, else 0 (z0(1,0) = 0 exactly: ReLU'(0) = 0):
 *     channel 0: | .25 .25 |   channel 1: | -.25  0   |
 *                | 0   .25 |              |  0   -.25 |
 *   Grad-CAM (tutorial): score p_c; d p0 / d l_j = p0 (delta_0j - p_j), so
 *   d p0 / d A_k = p0 p1 (B[0,k] - B[1,k]) / 4: alpha_0 = p0 p1 (1+1)/4 = p0 p1 / 2,
 *   alpha_1 = p0 p1 (-1-2)/4 = -3 p0 p1 / 4; map = 1 + p0 p1 (A0/2 - 3 A1/4)
 *     = 1 + p0 p1 | 0.25 2.5 |  ,  and for class 1 (p1 = 1 - p0): 1 - p0 p1 | 0.25 2.5 |
 *                 | 0   -0.5 |                                              | 0   -0.5 |
 *   with p0 p1 = 0.1261292.
 *
 * NETWORK 2 ("hand-maxpool", no CAM structure): MaxPool 2x2 -> Flatten -> the same
 * Gemm -> Softmax.
 *   MaxPool: (max A0, max A1) = (5 at (0,1), 2 at (1,1))
 *   logits: l0 = 5 - 2 = 3;  l1 = -5 + 4 + 0.5 = -0.5;  p0 = 1 / (1 + e^-3.5)
 *   d l0 / d A0 = 1 at (0,1), else 0;  d l0 / d A1 = -1 at (1,1), else 0
 *   alpha = (1/4, -1/4) -> GC_0 = ReLU((A0 - A1)/4) = | 0.25 1.25 |
 *                                                     | 0    0    |
 *   class 1: alpha = (-1/4, 2/4) -> GC_1 = ReLU((-A0 + 2 A1)/4) = | 0 0   |
 *                                                                 | 0 0.5 |
 *   CAM must be refused (no global average pool): an error, not a map.
 *
 * THE OTHER METHODS (camengine.h has the formulas). Positions p0..p3 = (0,0), (0,1),
 * (1,0), (1,1): A0 = (2 5 0 2), A1 = (1 0 0 2), S_k = sum A_k: S0 = 9, S1 = 3.
 * Gradients g_k = d l_c / d A_k: hand-gap: B[c,k] / 4 everywhere (class 0: 0.25,
 * -0.25; class 1: -0.25, 0.5); hand-maxpool: B[c,k] at the argmax (A0: p1, A1: p3),
 * else 0 (class 0: g0 = (0 1 0 0), g1 = (0 0 0 -1); class 1: g0 = (0 -1 0 0),
 * g1 = (0 0 0 2)).
 *   HiResCAM ReLU(sum_k g_k A_k): maxpool class 0: (0 5 0 0) + (0 0 0 -2) -> (0 5 0 0);
 *     class 1: (0 -5 0 0) + (0 0 0 4) -> (0 0 0 4); gap class 0: (A0 - A1)/4 = (.25 1.25 0 0).
 *   Element-wise ReLU(sum_k ReLU(g_k A_k)): gap class 0: ReLU(A0/4) + ReLU(-A1/4) = A0/4
 *     = (.5 1.25 0 .5).
 *   LayerCAM ReLU(sum_k ReLU(g_k) A_k): gap class 0: A0/4 = (.5 1.25 0 .5); class 1: A1/2
 *     = (.5 0 0 1); maxpool class 0: (0 5 0 0).
 *   Grad-CAM++ a = g^2 / (2 g^2 + S_k g^3), w_k = sum a ReLU(g):
 *     maxpool class 0: channel 0 at p1 (g = 1): a = 1/(2 + 9) = 1/11, w0 = 1/11; channel 1:
 *     g = -1 (a = 1/(2-3) = -1, but ReLU(g) = 0): w1 = 0 -> map = A0/11 = (2 5 0 2)/11.
 *     class 1: w0 = 0; channel 1 at p3 (g = 2): a = 4/(8 + 3*8) = 1/8, w1 = 2/8 -> A1/4
 *     = (.25 0 0 .5). gap class 0: channel 0 (g = 1/4 at 4 positions): a = (1/16) /
 *     (2/16 + 9/64) = 4/17, w0 = 4 * 4/17 * 1/4 = 4/17; w1 = 0 -> 4 A0/17 = (8 20 0 8)/17.
 *   XGrad-CAM w_k = sum g_k A_k / S_k: maxpool class 0: w = (5/9, -2/3) -> ReLU(5/9 A0 -
 *     2/3 A1) = ReLU(4/9, 25/9, 0, -2/9) = (4/9 25/9 0 0); class 1: w = (-5/9, 4/3) ->
 *     ReLU(2/9, -25/9, 0, 14/9) = (2/9 0 0 14/9).
 *   Eigen-CAM: rows (A0, A1) per position, centred by (9/4, 3/4): (-.25 .25), (2.75 -.75),
 *     (-2.25 -.75), (-.25 1.25); X^T X = |12.75 -.75|, top eigenvalue l = 7.75 +
 *                                        |-.75  2.75|
 *     sqrt(25 + .5625) = 12.8059, eigenvector v ~ (.75, 12.75 - l) = (1, -.07458); the
 *     projection X v / |v| = (-.2679 2.7982 -2.1880 -.3423): largest magnitude positive, no
 *     flip; ReLU -> (0 2.7982 0 0).
 *   Grad-CAM with eigen_smooth, gap class 0: the terms A0/4, -A1/4 are X scaled by
 *     diag(1/4, -1/4): the projection is the Eigen-CAM one over 4 -> (0 .69954 0 0).
 *   EigenGrad-CAM, maxpool class 0: terms g0 A0 = (0 5 0 0), g1 A1 = (0 0 0 -2), centred
 *     rows (-1.25 .5), (3.75 .5), (-1.25 .5), (-1.25 -1.5); X^T X = |18.75 2.5|, l = 10.875 +
 *                                                                   |2.5   3  |
 *     sqrt(7.875^2 + 6.25), v ~ (1, t), t = (l - 18.75) / 2.5; p1 = (3.75 + .5 t) / |v| is the
 *     largest magnitude, the rest negative -> (0 p1 0 0).
 *   KPCA-CAM: kernel tanh(x_p . x_q / 2 + 1) of the centred rows above, double-centred;
 *     its top eigenvector is found here by plain power iteration (not the engine's
 *     Lanczos), map = ReLU(sqrt(l) u) with u's largest magnitude positive.
 *   Finer-CAM, 2 classes: J = {the other class}; y = p_j (z_c - z_j) / (p_j + 1e-9);
 *     d y / d z_m = r (delta_cm - delta_jm) + (z_c - z_j) e / (p_j + e)^2 p_j (delta_jm - p_m),
 *     r = p_j / (p_j + e), e = 1e-9; then Grad-CAM with d y / d A_k = sum_m (dy/dz_m) B[m,k]
 *     at the argmax (maxpool).
 *   Smooth Grad-CAM++ on hand-gap: the gradient is B[c,k]/4 whatever the input, so the 4
 *     noisy samples agree and the map is Grad-CAM++'s: class 0 (8 20 0 8)/17.
 *   Random, seed 0: splitmix64's first outputs from 0 are 0xE220A8397B1DCDAF,
 *     0x6E789E6AA1B965F4, 0x06C45D188009454F, 0xF88BB8A8724C81EC (its published test
 *     values); the map is (v >> 11) * 2^-53 of each.
 *   FullGrad (input resolution, 3x3; psi(v) = (|v| - min) / (max - min + 1e-7) per
 *     channel, U the bilinear 2x2 -> 3x3 resize, which maps rows/columns (r0, r1) to
 *     (r0, (r0 + r1)/2, r1)); the only bias is the conv's (0, -1), the Gemm's has no
 *     positions. gap class 0: bias terms |g_k b_k|: channel 0 all 0, channel 1
 *     (.25 0 0 .25) -> psi = (k 0 0 k), k = .25 / (.25 + 1e-7); U -> | k k/2 0 ; k/2 k/2
 *     k/2 ; 0 k/2 k |. Input gradient (the conv's transpose of the conv gradients above):
 *     filter 0 sends g0(a,b) to x(a,b) and x(a+1,b+1), filter 1 sends g1(a,b) to
 *     x(a,b+1) and -g1(a,b) to x(a+1,b): dx = | .25 0 0 ; .25 .5 0 ; 0 .25 .25 |,
 *     |dx X| = | .25 0 0 ; 0 .5 0 ; 0 0 .25 |, psi divides by .5 + 1e-7. The sum S, then
 *     S / max S (min S = 0). maxpool class 0: conv gradients g0 = (0 1 0 0), g1 = (0 0 0
 *     -1) (z > 0 there); bias terms: channel 1 (0 0 0 1) -> psi (0 0 0 k'), k' = 1 / (1 +
 *     1e-7), U -> | 0 0 0 ; 0 k'/4 k'/2 ; 0 k'/2 k' |; dx = | 0 1 0 ; 0 0 0 ; 0 1 0 |
 *     (x(1,2) gets 1 - 1), |dx X| = (0 2 0 0 0 0 0 0 0), psi divides by 2 + 1e-7.
 *   Layers "relu" and "conv" fused, Grad-CAM gap class 0: relu's map (.25 1.25 0 0) ->
 *     (.2 1 0 0); conv's: alpha = (.75/4, -.5/4) from the conv gradients above, map =
 *     ReLU(.1875 z0 - .125 z1) = (.25 1.1875 .25 .125) -> (2/17 1 2/17 0); mean, normalised:
 *     ((.2 + 2/17)/2, 1, 1/17, 0).
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camengine.h"

#define TOLERANCE 1e-6

static int failures;
static int checks;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
fail(const char *fmt, ...)
{
    va_list ap;
    failures++;
    printf("FAIL: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* ---------------------------------------------------------------------- */
/* A minimal protobuf writer                                              */
/* ---------------------------------------------------------------------- */

typedef struct pb {
    unsigned char *data;
    size_t size, capacity;
} pb;

static void
pb_raw(pb *b, const void *p, size_t n)
{
    if (b->size + n > b->capacity) {
        size_t cap = b->capacity ? b->capacity * 2 : 256;
        while (cap < b->size + n)
            cap *= 2;
        b->data = realloc(b->data, cap);
        if (!b->data) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        b->capacity = cap;
    }
    memcpy(b->data + b->size, p, n);
    b->size += n;
}

static void
pb_varint(pb *b, uint64_t v)
{
    unsigned char c;
    do {
        c = v & 0x7f;
        v >>= 7;
        if (v)
            c |= 0x80;
        pb_raw(b, &c, 1);
    } while (v);
}

static void
pb_key(pb *b, int field, int wire)
{
    pb_varint(b, (uint64_t) field << 3 | (uint64_t) wire);
}

static void
pb_int(pb *b, int field, int64_t v)
{
    pb_key(b, field, 0);
    pb_varint(b, (uint64_t) v);
}

static void
pb_float(pb *b, int field, float v)
{
    unsigned char le[4];
    uint32_t u;
    memcpy(&u, &v, 4);
    for (int i = 0; i < 4; i++)
        le[i] = (unsigned char) (u >> (8 * i));
    pb_key(b, field, 5);
    pb_raw(b, le, 4);
}

static void
pb_bytes(pb *b, int field, const void *p, size_t n)
{
    pb_key(b, field, 2);
    pb_varint(b, n);
    pb_raw(b, p, n);
}

static void
pb_string(pb *b, int field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}

/* Appends sub as a length-delimited field and frees it. */
static void
pb_message(pb *b, int field, pb *sub)
{
    pb_bytes(b, field, sub->data, sub->size);
    free(sub->data);
    memset(sub, 0, sizeof *sub);
}

/* ONNX pieces (field numbers from onnx.proto). */

static void
onnx_initializer(pb *graph, const char *name, const int64_t *dims, int ndim, const float *values)
{
    pb t = {0};
    size_t n = 1;
    unsigned char *raw;
    for (int i = 0; i < ndim; i++) {
        pb_int(&t, 1, dims[i]); /* dims */
        n *= (size_t) dims[i];
    }
    pb_int(&t, 2, 1); /* data_type FLOAT */
    pb_string(&t, 8, name);
    raw = malloc(4 * n);
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &values[i], 4);
        for (int k = 0; k < 4; k++)
            raw[4 * i + k] = (unsigned char) (u >> (8 * k));
    }
    pb_bytes(&t, 9, raw, 4 * n); /* raw_data, little-endian */
    free(raw);
    pb_message(graph, 5, &t);
}

/* A float tensor value_info; dims[i] < 0 means the symbolic batch dimension. */
static void
onnx_value_info(pb *graph, int field, const char *name, const int64_t *dims, int ndim)
{
    pb vi = {0}, type = {0}, tensor = {0}, shape = {0};
    for (int i = 0; i < ndim; i++) {
        pb dim = {0};
        if (dims[i] < 0)
            pb_string(&dim, 2, "batch"); /* dim_param */
        else
            pb_int(&dim, 1, dims[i]); /* dim_value */
        pb_message(&shape, 1, &dim);
    }
    pb_int(&tensor, 1, 1); /* elem_type FLOAT */
    pb_message(&tensor, 2, &shape);
    pb_message(&type, 1, &tensor); /* tensor_type */
    pb_string(&vi, 1, name);
    pb_message(&vi, 2, &type);
    pb_message(graph, field, &vi);
}

typedef struct attr {
    const char *name;
    int type;          /* 1 FLOAT, 2 INT, 7 INTS */
    float f;
    int64_t i;
    int64_t ints[4];
    int n_ints;
} attr;

static void
onnx_node(pb *graph, const char *op, const char *name, const char *const *inputs, int n_in,
          const char *output, const attr *attrs, int n_attrs)
{
    pb node = {0};
    for (int i = 0; i < n_in; i++)
        pb_string(&node, 1, inputs[i]);
    pb_string(&node, 2, output);
    pb_string(&node, 3, name);
    pb_string(&node, 4, op);
    for (int a = 0; a < n_attrs; a++) {
        pb at = {0};
        pb_string(&at, 1, attrs[a].name);
        if (attrs[a].type == 1)
            pb_float(&at, 2, attrs[a].f);
        else if (attrs[a].type == 2)
            pb_int(&at, 3, attrs[a].i);
        else
            for (int k = 0; k < attrs[a].n_ints; k++)
                pb_int(&at, 8, attrs[a].ints[k]);
        pb_int(&at, 20, attrs[a].type);
        pb_message(&node, 5, &at);
    }
    pb_message(graph, 1, &node);
}

/* The hand networks: with_gap = 1 -> network 1, else network 2 (MaxPool). */
static pb
build_hand_network(int with_gap)
{
    static const float conv_w[8] = {1, 0, 0, 1, /* filter 0 */ 0, 1, -1, 0 /* filter 1 */};
    static const float conv_b[2] = {0, -1};
    static const float dense_b[4] = {1, -1, -1, 2}; /* B[class][k] */
    static const float dense_c[2] = {0, 0.5f};
    const int64_t w_dims[4] = {2, 1, 2, 2}, b_dims[1] = {2}, d_dims[2] = {2, 2};
    const int64_t in_dims[4] = {-1, 1, 3, 3}, out_dims[2] = {-1, 2};
    pb model = {0}, graph = {0}, opset = {0}, meta = {0};
    const char *conv_in[3] = {"input", "conv.weight", "conv.bias"};
    const char *relu_in[1] = {"conv"};
    const char *pool_in[1] = {"relu"};
    const char *flat_in[1] = {"pool"};
    const char *gemm_in[3] = {"flat", "dense.weight", "dense.bias"};
    const char *soft_in[1] = {"logits"};
    attr conv_attrs[2] = {{.name = "kernel_shape", .type = 7, .ints = {2, 2}, .n_ints = 2},
                          {.name = "strides", .type = 7, .ints = {1, 1}, .n_ints = 2}};
    attr pool_attrs[2] = {{.name = "kernel_shape", .type = 7, .ints = {2, 2}, .n_ints = 2},
                          {.name = "strides", .type = 7, .ints = {2, 2}, .n_ints = 2}};
    attr flat_attr = {.name = "axis", .type = 2, .i = 1};
    attr gemm_attr = {.name = "transB", .type = 2, .i = 1};
    attr soft_attr = {.name = "axis", .type = 2, .i = 1};

    onnx_node(&graph, "Conv", "conv_node", conv_in, 3, "conv", conv_attrs, 2);
    onnx_node(&graph, "Relu", "relu_node", relu_in, 1, "relu", NULL, 0);
    if (with_gap)
        onnx_node(&graph, "GlobalAveragePool", "pool_node", pool_in, 1, "pool", NULL, 0);
    else
        onnx_node(&graph, "MaxPool", "pool_node", pool_in, 1, "pool", pool_attrs, 2);
    onnx_node(&graph, "Flatten", "flatten_node", flat_in, 1, "flat", &flat_attr, 1);
    onnx_node(&graph, "Gemm", "dense_node", gemm_in, 3, "logits", &gemm_attr, 1);
    onnx_node(&graph, "Softmax", "softmax_node", soft_in, 1, "probabilities", &soft_attr, 1);
    pb_string(&graph, 2, with_gap ? "hand-gap" : "hand-maxpool");
    onnx_initializer(&graph, "conv.weight", w_dims, 4, conv_w);
    onnx_initializer(&graph, "conv.bias", b_dims, 1, conv_b);
    onnx_initializer(&graph, "dense.weight", d_dims, 2, dense_b);
    onnx_initializer(&graph, "dense.bias", b_dims, 1, dense_c);
    onnx_value_info(&graph, 11, "input", in_dims, 4);
    onnx_value_info(&graph, 12, "probabilities", out_dims, 2);

    pb_int(&model, 1, 7); /* ir_version */
    pb_string(&model, 2, "gimp-cam tests/engine/test-hand-network.c");
    pb_message(&model, 7, &graph);
    pb_string(&opset, 1, "");
    pb_int(&opset, 2, 13);
    pb_message(&model, 8, &opset);
    pb_string(&meta, 1, "cam.labels");
    pb_string(&meta, 2, "left\nright");
    pb_message(&model, 14, &meta);
    return model;
}

/* ---------------------------------------------------------------------- */
/* Checks                                                                 */
/* ---------------------------------------------------------------------- */

static const float X[9] = {1, 2, 0, 0, 1, 3, 2, 0, 1};

static void
expect_values(const char *what, const float *got, const float *want, int n)
{
    checks++;
    for (int i = 0; i < n; i++) {
        if (!(fabs((double) got[i] - (double) want[i]) <= TOLERANCE)) {
            printf("FAIL: %s: element %d is %.9g, expected %.9g\n  got:     ", what, i,
                   (double) got[i], (double) want[i]);
            for (int k = 0; k < n; k++)
                printf(" %.7g", (double) got[k]);
            printf("\n  expected:");
            for (int k = 0; k < n; k++)
                printf(" %.7g", (double) want[k]);
            printf("\n");
            failures++;
            return;
        }
    }
}

static void
expect_map(cam_workspace *ws, cam_method method, int class_index, int expected_class,
           const float want[4], const char *what)
{
    cam_explain_options opt = cam_explain_options_default(NULL);
    opt.method = method;
    opt.class_index = class_index;
    opt.layer = "relu";
    cam_explanation *ex = NULL;
    cam_error err;
    checks++;
    if (cam_explain(ws, X, &opt, &ex, &err) != CAM_OK) {
        fail("%s: cam_explain: %s", what, err.message);
        return;
    }
    if (ex->map_height != 2 || ex->map_width != 2 || !ex->map)
        fail("%s: map is %dx%d, expected 2x2", what, ex->map_height, ex->map_width);
    else if (ex->class_index != expected_class)
        fail("%s: explained class %d, expected %d", what, ex->class_index, expected_class);
    else if (strcmp(ex->layer, "relu") != 0)
        fail("%s: explained layer %s, expected relu", what, ex->layer);
    else
        expect_values(what, ex->map, want, 4);
    cam_explanation_free(ex);
}

/* cam_explain with opt (layer "relu" unless set) must give want (4 values). */
static void
expect_map_options(cam_workspace *ws, cam_explain_options opt, int expected_class,
                   const float want[4], const char *what)
{
    cam_explanation *ex = NULL;
    cam_error err;
    if (!opt.layer && !opt.layers)
        opt.layer = "relu";
    checks++;
    if (cam_explain(ws, X, &opt, &ex, &err) != CAM_OK) {
        fail("%s: cam_explain: %s", what, err.message);
        return;
    }
    if (ex->map_height != 2 || ex->map_width != 2 || !ex->map)
        fail("%s: map is %dx%d, expected 2x2", what, ex->map_height, ex->map_width);
    else if (ex->class_index != expected_class)
        fail("%s: explained class %d, expected %d", what, ex->class_index, expected_class);
    else if (ex->constant_map)
        fail("%s: reported constant", what);
    else
        expect_values(what, ex->map, want, 4);
    cam_explanation_free(ex);
}

static void
expect_method(cam_workspace *ws, cam_method method, int class_index, const float want[4],
              const char *what)
{
    cam_explain_options opt = cam_explain_options_default(NULL);
    opt.method = method;
    opt.class_index = class_index;
    expect_map_options(ws, opt, class_index, want, what);
}

/* The methods of the comment above, on both networks. */
static void
check_methods(cam_model *gap, cam_model *maxpool)
{
    cam_workspace *wg = NULL, *wm = NULL;
    cam_error err;
    if (cam_workspace_new(gap, 1, &wg, &err) != CAM_OK
        || cam_workspace_new(maxpool, 1, &wm, &err) != CAM_OK) {
        fail("methods: cam_workspace_new: %s", err.message);
        cam_workspace_free(wg);
        return;
    }
    const float hires_m0[4] = {0, 5, 0, 0}, hires_m1[4] = {0, 0, 0, 4};
    const float hires_g0[4] = {.25f, 1.25f, 0, 0};
    const float quarter_a0[4] = {.5f, 1.25f, 0, .5f}, half_a1[4] = {.5f, 0, 0, 1};
    expect_method(wm, CAM_METHOD_HIRES_CAM, 0, hires_m0, "hand-maxpool HiResCAM class 0");
    expect_method(wm, CAM_METHOD_HIRES_CAM, 1, hires_m1, "hand-maxpool HiResCAM class 1");
    expect_method(wg, CAM_METHOD_HIRES_CAM, 0, hires_g0, "hand-gap HiResCAM class 0");
    expect_method(wg, CAM_METHOD_GRAD_CAM_ELEMENTWISE, 0, quarter_a0,
                  "hand-gap Grad-CAM element-wise class 0");
    expect_method(wg, CAM_METHOD_LAYER_CAM, 0, quarter_a0, "hand-gap LayerCAM class 0");
    expect_method(wg, CAM_METHOD_LAYER_CAM, 1, half_a1, "hand-gap LayerCAM class 1");
    expect_method(wm, CAM_METHOD_LAYER_CAM, 0, hires_m0, "hand-maxpool LayerCAM class 0");

    const float pp_m0[4] = {2.f / 11, 5.f / 11, 0, 2.f / 11}, pp_m1[4] = {.25f, 0, 0, .5f};
    const float pp_g0[4] = {8.f / 17, 20.f / 17, 0, 8.f / 17};
    expect_method(wm, CAM_METHOD_GRAD_CAM_PLUS_PLUS, 0, pp_m0, "hand-maxpool Grad-CAM++ class 0");
    expect_method(wm, CAM_METHOD_GRAD_CAM_PLUS_PLUS, 1, pp_m1, "hand-maxpool Grad-CAM++ class 1");
    expect_method(wg, CAM_METHOD_GRAD_CAM_PLUS_PLUS, 0, pp_g0, "hand-gap Grad-CAM++ class 0");
    expect_method(wg, CAM_METHOD_SMOOTH_GRAD_CAM_PLUS_PLUS, 0, pp_g0,
                  "hand-gap Smooth Grad-CAM++ class 0");

    const float x_m0[4] = {4.f / 9, 25.f / 9, 0, 0}, x_m1[4] = {2.f / 9, 0, 0, 14.f / 9};
    expect_method(wm, CAM_METHOD_XGRAD_CAM, 0, x_m0, "hand-maxpool XGrad-CAM class 0");
    expect_method(wm, CAM_METHOD_XGRAD_CAM, 1, x_m1, "hand-maxpool XGrad-CAM class 1");

    /* Eigen-CAM and Grad-CAM with eigen_smooth */
    const double rows[4][2] = {{-.25, .25}, {2.75, -.75}, {-2.25, -.75}, {-.25, 1.25}};
    {
        const double l = 7.75 + sqrt(25.5625), v0 = .75, v1 = 12.75 - l;
        const double norm = sqrt(v0 * v0 + v1 * v1);
        const float p1 = (float) ((rows[1][0] * v0 + rows[1][1] * v1) / norm);
        const float eigen[4] = {0, p1, 0, 0}, smooth[4] = {0, p1 / 4, 0, 0};
        expect_method(wg, CAM_METHOD_EIGEN_CAM, 0, eigen, "hand-gap Eigen-CAM");
        expect_method(wm, CAM_METHOD_EIGEN_CAM, 1, eigen, "hand-maxpool Eigen-CAM");
        cam_explain_options opt = cam_explain_options_default(NULL);
        opt.method = CAM_METHOD_GRAD_CAM;
        opt.class_index = 0;
        opt.eigen_smooth = 1;
        expect_map_options(wg, opt, 0, smooth, "hand-gap Grad-CAM eigen_smooth class 0");
    }
    {
        const double l = 10.875 + sqrt(7.875 * 7.875 + 6.25), t = (l - 18.75) / 2.5;
        const float p1 = (float) ((3.75 + .5 * t) / sqrt(1 + t * t));
        const float want[4] = {0, p1, 0, 0};
        expect_method(wm, CAM_METHOD_EIGEN_GRAD_CAM, 0, want, "hand-maxpool EigenGrad-CAM class 0");
    }
    { /* KPCA-CAM: the kernel written out, power iteration */
        double k[4][4], c[4][4], u[4] = {1, 0.5, 0.25, 0.125}, row[4], total = 0, lam = 0;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                k[i][j] = tanh((rows[i][0] * rows[j][0] + rows[i][1] * rows[j][1]) / 2 + 1);
        for (int i = 0; i < 4; i++) {
            row[i] = (k[i][0] + k[i][1] + k[i][2] + k[i][3]) / 4;
            total += row[i] / 4;
        }
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                c[i][j] = k[i][j] - row[i] - row[j] + total;
        for (int it = 0; it < 5000; it++) {
            double next[4] = {0}, norm = 0;
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    next[i] += c[i][j] * u[j];
            for (int i = 0; i < 4; i++)
                norm += next[i] * next[i];
            norm = sqrt(norm);
            lam = 0;
            for (int i = 0; i < 4; i++)
                lam += u[i] * next[i]; /* Rayleigh quotient (|u| = 1 after the first step) */
            for (int i = 0; i < 4; i++)
                u[i] = next[i] / norm;
        }
        int big = 0;
        for (int i = 1; i < 4; i++)
            if (fabs(u[i]) > fabs(u[big]))
                big = i;
        float want[4];
        for (int i = 0; i < 4; i++) {
            double v = sqrt(lam) * u[i] * (u[big] < 0 ? -1 : 1);
            want[i] = (float) (v > 0 ? v : 0);
        }
        printf("hand KPCA-CAM: eigenvalue %.9g, map %.7g %.7g %.7g %.7g\n", lam, (double) want[0],
               (double) want[1], (double) want[2], (double) want[3]);
        expect_method(wg, CAM_METHOD_KPCA_CAM, 0, want, "hand-gap KPCA-CAM");
    }
    { /* Finer-CAM, maxpool, class 0 (j = 1) and class 1 (j = 0) */
        const double z[2] = {3.0, -0.5}, e = 1e-9;
        const double p[2] = {1.0 / (1.0 + exp(-3.5)), 1.0 - 1.0 / (1.0 + exp(-3.5))};
        static const double B[2][2] = {{1, -1}, {-1, 2}};
        for (int cls = 0; cls < 2; cls++) {
            const int j = 1 - cls;
            const double r = p[j] / (p[j] + e);
            double dy[2], alpha[2];
            for (int m = 0; m < 2; m++)
                dy[m] = r * ((m == cls) - (m == j))
                        + (z[cls] - z[j]) * e / ((p[j] + e) * (p[j] + e)) * p[j] * ((m == j) - p[m]);
            for (int kk = 0; kk < 2; kk++) /* one position per channel carries the gradient */
                alpha[kk] = (dy[0] * B[0][kk] + dy[1] * B[1][kk]) / 4;
            const float a0[4] = {2, 5, 0, 2}, a1[4] = {1, 0, 0, 2};
            float want[4];
            for (int i = 0; i < 4; i++) {
                double v = alpha[0] * a0[i] + alpha[1] * a1[i];
                want[i] = (float) (v > 0 ? v : 0);
            }
            expect_method(wm, CAM_METHOD_FINER_CAM, cls, want,
                          cls ? "hand-maxpool Finer-CAM class 1" : "hand-maxpool Finer-CAM class 0");
        }
    }
    { /* the random baseline, seed 0 */
        static const uint64_t v[4] = {0xE220A8397B1DCDAFull, 0x6E789E6AA1B965F4ull,
                                      0x06C45D188009454Full, 0xF88BB8A8724C81ECull};
        float want[4];
        for (int i = 0; i < 4; i++)
            want[i] = (float) ((double) (v[i] >> 11) * 0x1.0p-53);
        expect_method(wg, CAM_METHOD_RANDOM, 1, want, "hand-gap random map, seed 0");

        /* aug_smooth with that map: it does not depend on the image, so every view's
         * normalised map is R = (want - min) / (max - min), and what is checked is the
         * mapping back (camengine.h, AUGMENTATION SMOOTHING). On a 2 x 2 map cell y reads
         * the view's map at 0.5 + s (y - 0.5): s = 1.1 gives -0.05 and 1.05, inside the
         * view's image and clamped to the cells 0 and 1 (R itself); s = 0.9 gives 0.05 and
         * 0.95 (0.95 of the cell's own row and column, 0.05 of the other). Each flipped
         * view is mapped back to Rf(y, x) = R(y, 1 - x) likewise, every view sees every
         * cell, so E(y, x) = (2.95 (R(y, x) + R(y, 1 - x)) + 0.05 (R(1 - y, x) +
         * R(1 - y, 1 - x))) / 6. Brightness: (3 R + 3 Rf) / 6. */
        float lo = want[0], hi = want[0], r[4], scales[4], brightness[4];
        for (int i = 1; i < 4; i++) {
            lo = want[i] < lo ? want[i] : lo;
            hi = want[i] > hi ? want[i] : hi;
        }
        for (int i = 0; i < 4; i++)
            r[i] = (float) (((double) want[i] - lo) / ((double) hi - lo));
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 2; x++) {
                const double same = (double) r[y * 2 + x] + r[y * 2 + 1 - x];
                const double other = (double) r[(1 - y) * 2 + x] + r[(1 - y) * 2 + 1 - x];
                scales[y * 2 + x] = (float) ((2.95 * same + 0.05 * other) / 6);
                brightness[y * 2 + x] = (float) (same / 2);
            }
        cam_explain_options opt = cam_explain_options_default(NULL);
        opt.method = CAM_METHOD_RANDOM;
        opt.class_index = 1;
        opt.aug_smooth = CAM_AUG_SMOOTH_SCALES;
        expect_map_options(wg, opt, 1, scales, "hand-gap random map, aug_smooth scales");
        opt.aug_smooth = CAM_AUG_SMOOTH_BRIGHTNESS;
        expect_map_options(wg, opt, 1, brightness, "hand-gap random map, aug_smooth brightness");
    }
    { /* fused layers */
        const char *const layers[] = {"relu", "conv", NULL};
        const float want[4] = {(float) ((.2 + 2.0 / 17) / 2), 1, (float) (1.0 / 17), 0};
        cam_explain_options opt = cam_explain_options_default(NULL);
        opt.method = CAM_METHOD_GRAD_CAM;
        opt.class_index = 0;
        opt.layers = layers;
        expect_map_options(wg, opt, 0, want, "hand-gap Grad-CAM of relu and conv fused");
        cam_explanation *ex = NULL;
        checks++;
        if (cam_explain(wg, X, &opt, &ex, &err) != CAM_OK)
            fail("fused: %s", err.message);
        else if (strcmp(ex->layer, "relu,conv") != 0 || ex->n_layers != 2
                 || strcmp(ex->layers[1], "conv") != 0)
            fail("fused: layer \"%s\", %d layers", ex->layer, ex->n_layers);
        cam_explanation_free(ex);
    }
    /* A black input: A = ReLU(0, -1) = 0 everywhere, so every method's map is all zeros
     * (no NaN from the 0/0 of XGrad-CAM's sum A, Grad-CAM++'s S_k or a principal
     * component of nothing), reported as constant; fused and smoothed too. */
    {
        const float black[9] = {0};
        for (int m = 0; m < CAM_METHOD_COUNT; m++)
            for (int variant = 0; variant < 3; variant++) {
                const char *const layers[] = {"relu", "conv", NULL};
                cam_explain_options opt = cam_explain_options_default(NULL);
                cam_explanation *ex = NULL;
                opt.method = (cam_method) m;
                opt.layer = "relu";
                opt.eigen_smooth = variant == 1;
                opt.aug_smooth = variant == 2;
                if (variant == 2 && m != CAM_METHOD_CAM)
                    opt.layers = layers;
                checks++;
                cam_status st = cam_explain(wg, black, &opt, &ex, &err);
                if (st != CAM_OK) {
                    fail("black input, %s variant %d: %s", cam_method_name(opt.method), variant,
                         err.message);
                    continue;
                }
                int zero = 1; /* random: no dependence on the image, nothing to check */
                for (int i = 0; i < ex->map_height * ex->map_width; i++)
                    zero &= ex->map[i] == 0.0f || m == CAM_METHOD_RANDOM
                            || (m == CAM_METHOD_GRAD_CAM_TUTORIAL && variant < 2
                                && ex->map[i] == 1.0f)
                            /* the raw score, the same at every position (no ReLU) */
                            || (m == CAM_METHOD_RECIPRO_CAM && variant < 2
                                && ex->map[i] == ex->map[0]);
                if (!zero || (!ex->constant_map && m != CAM_METHOD_RANDOM))
                    fail("black input, %s variant %d: map %g %g %g %g, constant_map %d",
                         cam_method_name(opt.method), variant, (double) ex->map[0],
                         (double) ex->map[1], (double) ex->map[2], (double) ex->map[3],
                         ex->constant_map);
                cam_explanation_free(ex);
            }
    }
    cam_workspace_free(wg);
    cam_workspace_free(wm);
}

static cam_model *
load(pb *onnx, const char *origin, const char *write_dir)
{
    cam_model *model = NULL;
    cam_error err;
    if (write_dir) {
        char path[1024];
        FILE *f;
        snprintf(path, sizeof path, "%s/%s.onnx", write_dir, origin);
        f = fopen(path, "wb");
        if (!f || fwrite(onnx->data, 1, onnx->size, f) != onnx->size)
            fail("cannot write %s", path);
        if (f)
            fclose(f);
    }
    if (cam_model_load_memory(onnx->data, onnx->size, origin, &model, &err) != CAM_OK) {
        fail("%s: cam_model_load_memory: %s", origin, err.message);
        return NULL;
    }
    return model;
}

static void
check_common(cam_model *model, const char *name)
{
    cam_layer_info layer;
    cam_error err;
    const char *auto_layer = cam_model_auto_layer(model);
    checks++;
    if (cam_model_input_channels(model) != 1 || cam_model_input_height(model) != 3
        || cam_model_input_width(model) != 3 || cam_model_input_size(model) != 9)
        fail("%s: input %dx%dx%d, expected 1x3x3", name, cam_model_input_channels(model),
             cam_model_input_height(model), cam_model_input_width(model));
    if (cam_model_n_classes(model) != 2)
        fail("%s: %d classes, expected 2", name, cam_model_n_classes(model));
    else if (strcmp(cam_model_class_label(model, 1), "right") != 0)
        fail("%s: label of class 1 is %s, expected right", name, cam_model_class_label(model, 1));
    if (cam_model_n_layers(model) != 1)
        fail("%s: %d explanation layers, expected 1 (relu)", name, cam_model_n_layers(model));
    else if (cam_model_get_layer(model, 0, &layer, &err) != CAM_OK)
        fail("%s: cam_model_get_layer: %s", name, err.message);
    else if (strcmp(layer.name, "relu") != 0 || layer.channels != 2 || layer.height != 2
             || layer.width != 2)
        fail("%s: layer 0 is %s %dx%dx%d, expected relu 2x2x2", name, layer.name, layer.channels,
             layer.height, layer.width);
    if (!auto_layer || strcmp(auto_layer, "relu") != 0)
        fail("%s: automatic layer %s, expected relu", name, auto_layer ? auto_layer : "(null)");
}

static void
check_gap_network(cam_model *model)
{
    cam_error err;
    cam_workspace *ws = NULL;
    cam_workspace_new(model, 2, &ws, &err);
    const double p0 = 1.0 / (1.0 + exp(-1.75)), p1 = 1.0 - p0, pp = p0 * p1;
    float probs[4], logits[4], t[8], x2[18];
    const float want_logits[2] = {1.5f, -0.25f};
    const float want_probs[2] = {(float) p0, (float) p1};
    const float want_conv[8] = {2, 5, 0, 2, 1, -2, -2, 2};
    const float want_relu[8] = {2, 5, 0, 2, 1, 0, 0, 2};
    const float want_grad_relu[8] = {.25f, .25f, .25f, .25f, -.25f, -.25f, -.25f, -.25f};
    const float want_grad_conv[8] = {.25f, .25f, 0, .25f, -.25f, 0, 0, -.25f};
    const float cam0[4] = {1, 5, 0, 0}, cam1[4] = {0, -5, 0, 2};
    const float gc0[4] = {.25f, 1.25f, 0, 0}, gc1[4] = {0, 0, 0, .5f};
    const float tut0[4] = {(float) (1 + pp * .25), (float) (1 + pp * 2.5), 1, (float) (1 - pp * .5)};
    const float tut1[4] = {(float) (1 - pp * .25), (float) (1 - pp * 2.5), 1, (float) (1 + pp * .5)};
    float want_grad_prob[8];

    check_common(model, "hand-gap");
    checks++;
    if (!cam_model_supports_cam(model))
        fail("hand-gap: the CAM structure (conv -> relu -> GAP -> flatten -> dense) not detected");
    if (!ws) {
        fail("hand-gap: cam_workspace_new: %s", err.message);
        return;
    }
    /* A batch of two: the image, and the image again: both must give the hand values. */
    memcpy(x2, X, sizeof X);
    memcpy(x2 + 9, X, sizeof X);
    if (cam_forward(ws, x2, 2, probs, logits, &err) != CAM_OK) {
        fail("hand-gap: cam_forward: %s", err.message);
        cam_workspace_free(ws);
        return;
    }
    expect_values("hand-gap logits", logits, want_logits, 2);
    expect_values("hand-gap probabilities", probs, want_probs, 2);
    expect_values("hand-gap logits (image 2)", logits + 2, want_logits, 2);
    if (cam_get_tensor(ws, 1, "conv", t, 8, &err) != CAM_OK)
        fail("hand-gap: cam_get_tensor(conv): %s", err.message);
    else
        expect_values("hand-gap conv output", t, want_conv, 8);
    if (cam_get_tensor(ws, 0, "relu", t, 8, &err) != CAM_OK)
        fail("hand-gap: cam_get_tensor(relu): %s", err.message);
    else
        expect_values("hand-gap relu output", t, want_relu, 8);
    if (cam_backward(ws, 0, 0, CAM_SCORE_LOGIT, "relu", t, &err) != CAM_OK)
        fail("hand-gap: cam_backward(relu): %s", err.message);
    else
        expect_values("hand-gap d logit0 / d relu", t, want_grad_relu, 8);
    if (cam_backward(ws, 1, 0, CAM_SCORE_LOGIT, "conv", t, &err) != CAM_OK)
        fail("hand-gap: cam_backward(conv): %s", err.message);
    else
        expect_values("hand-gap d logit0 / d conv", t, want_grad_conv, 8);
    /* d p1 / d relu = p0 p1 (B[1,k] - B[0,k]) / 4: channel 0 -p0p1/2, channel 1 +3p0p1/4 */
    for (int i = 0; i < 4; i++) {
        want_grad_prob[i] = (float) (-pp / 2);
        want_grad_prob[4 + i] = (float) (3 * pp / 4);
    }
    if (cam_backward(ws, 0, 1, CAM_SCORE_PROBABILITY, "relu", t, &err) != CAM_OK)
        fail("hand-gap: cam_backward(probability, relu): %s", err.message);
    else
        expect_values("hand-gap d p1 / d relu", t, want_grad_prob, 8);

    expect_map(ws, CAM_METHOD_CAM, 0, 0, cam0, "hand-gap CAM class 0");
    expect_map(ws, CAM_METHOD_CAM, 1, 1, cam1, "hand-gap CAM class 1");
    expect_map(ws, CAM_METHOD_CAM, -1, 0, cam0, "hand-gap CAM top class");
    expect_map(ws, CAM_METHOD_GRAD_CAM, 0, 0, gc0, "hand-gap Grad-CAM class 0");
    expect_map(ws, CAM_METHOD_GRAD_CAM, 1, 1, gc1, "hand-gap Grad-CAM class 1");
    expect_map(ws, CAM_METHOD_GRAD_CAM_TUTORIAL, 0, 0, tut0, "hand-gap tutorial Grad-CAM class 0");
    expect_map(ws, CAM_METHOD_GRAD_CAM_TUTORIAL, 1, 1, tut1, "hand-gap tutorial Grad-CAM class 1");

    /* The explanation also reports the probability of the explained class. */
    {
        cam_explain_options opt = cam_explain_options_default(NULL);
        opt.method = CAM_METHOD_CAM;
        opt.class_index = 1;
        cam_explanation *ex = NULL;
        checks++;
        if (cam_explain(ws, X, &opt, &ex, &err) != CAM_OK)
            fail("hand-gap: cam_explain(default layer): %s", err.message);
        else if (!(fabs(ex->probability - p1) <= TOLERANCE) || ex->n_classes != 2 || !ex->probabilities
                 || !(fabs(ex->probabilities[0] - p0) <= TOLERANCE) || strcmp(ex->layer, "relu") != 0)
            fail("hand-gap: explanation of class 1: probability %.7f (expected %.7f), layer %s",
                 (double) ex->probability, p1, ex->layer);
        cam_explanation_free(ex);
    }
    /* Normalisation: CAM_0 = (1 5 0 0) -> (0.2 1 0 0); a constant map -> zeros, not NaN. */
    {
        const float constant[4] = {3, 3, 3, 3}, zeros[4] = {0, 0, 0, 0};
        const float norm0[4] = {0.2f, 1, 0, 0};
        float out[4];
        if (cam_map_normalize(cam0, 4, out, &err) != CAM_OK)
            fail("cam_map_normalize: %s", err.message);
        else
            expect_values("normalised CAM class 0", out, norm0, 4);
        if (cam_map_normalize(constant, 4, out, &err) != CAM_OK)
            fail("cam_map_normalize(constant): %s", err.message);
        else
            expect_values("normalised constant map", out, zeros, 4);
    }
    cam_workspace_free(ws);
}

static void
check_maxpool_network(cam_model *model)
{
    cam_error err = {0};
    cam_workspace *ws = NULL;
    cam_workspace_new(model, 1, &ws, &err);
    const double p0 = 1.0 / (1.0 + exp(-3.5));
    float probs[2], logits[2], t[8];
    const float want_logits[2] = {3.0f, -0.5f};
    const float want_probs[2] = {(float) p0, (float) (1.0 - p0)};
    const float want_grad_relu[8] = {0, 1, 0, 0, 0, 0, 0, -1};
    const float gc0[4] = {.25f, 1.25f, 0, 0}, gc1[4] = {0, 0, 0, .5f};
    cam_explain_options opt = cam_explain_options_default(NULL);
    cam_explanation *ex = NULL;

    opt.method = CAM_METHOD_CAM;
    check_common(model, "hand-maxpool");
    checks++;
    if (cam_model_supports_cam(model))
        fail("hand-maxpool: claims the CAM structure, but has no global average pool");
    if (!ws) {
        fail("hand-maxpool: cam_workspace_new: %s", err.message);
        return;
    }
    if (cam_forward(ws, X, 1, probs, logits, &err) != CAM_OK) {
        fail("hand-maxpool: cam_forward: %s", err.message);
        cam_workspace_free(ws);
        return;
    }
    expect_values("hand-maxpool logits", logits, want_logits, 2);
    expect_values("hand-maxpool probabilities", probs, want_probs, 2);
    if (cam_backward(ws, 0, 0, CAM_SCORE_LOGIT, "relu", t, &err) != CAM_OK)
        fail("hand-maxpool: cam_backward(relu): %s", err.message);
    else
        expect_values("hand-maxpool d logit0 / d relu", t, want_grad_relu, 8);
    expect_map(ws, CAM_METHOD_GRAD_CAM, 0, 0, gc0, "hand-maxpool Grad-CAM class 0");
    expect_map(ws, CAM_METHOD_GRAD_CAM, 1, 1, gc1, "hand-maxpool Grad-CAM class 1");
    checks++;
    memset(&err, 0, sizeof err);
    if (cam_explain(ws, X, &opt, &ex, &err) == CAM_OK)
        fail("hand-maxpool: CAM without a global average pool gave a map");
    else if (err.message[0] == '\0')
        fail("hand-maxpool: CAM refused without a message");
    else
        printf("hand-maxpool: CAM refused: %s\n", err.message);
    cam_explanation_free(ex);
    cam_workspace_free(ws);
}

/* FullGrad (the comment above): a 3x3 map at the input, whatever layer is named. */
static void
expect_full_grad(cam_model *model, int cls, const double S[9], const char *what)
{
    double hi = 0;
    float want[9];
    for (int i = 0; i < 9; i++)
        hi = S[i] > hi ? S[i] : hi;
    for (int i = 0; i < 9; i++)
        want[i] = (float) (S[i] / hi);
    const char *const layers[] = {"relu", "conv", NULL};
    const char *const planned[] = {"relu", NULL};
    for (int variant = 0; variant < 4; variant++) {
        cam_workspace *ws = NULL;
        cam_explanation *ex = NULL;
        cam_error err;
        cam_explain_options opt = cam_explain_options_default(NULL);
        opt.method = CAM_METHOD_FULL_GRAD;
        opt.class_index = cls;
        if (variant == 1)
            opt.layer = "relu"; /* ignored */
        if (variant == 2)
            opt.layers = layers; /* ignored */
        /* variant 3: a workspace planned for relu only (cam_explain makes its own) */
        cam_status st = variant == 3 ? cam_workspace_new_for_layers(model, 1, planned, &ws, &err)
                                     : cam_workspace_new_for_explain(model, 1, &opt, &ws, &err);
        checks++;
        if (st != CAM_OK) {
            fail("%s variant %d: workspace: %s", what, variant, err.message);
            continue;
        }
        if (cam_explain(ws, X, &opt, &ex, &err) != CAM_OK)
            fail("%s variant %d: cam_explain: %s", what, variant, err.message);
        else if (ex->map_height != 3 || ex->map_width != 3 || strcmp(ex->layer, "input") != 0
                 || ex->n_layers != 1 || ex->class_index != cls || ex->constant_map)
            fail("%s variant %d: map %dx%d of layer %s (%d layers), class %d, constant %d", what,
                 variant, ex->map_height, ex->map_width, ex->layer, ex->n_layers,
                 ex->class_index, ex->constant_map);
        else
            expect_values(what, ex->map, want, 9);
        cam_explanation_free(ex);
        cam_workspace_free(ws);
    }
}

static void
check_full_grad(cam_model *gap, cam_model *maxpool)
{
    const double e = 1e-7, k = .25 / (.25 + e), k1 = 1.0 / (1.0 + e), d = .5 + e, d1 = 2 + e;
    const double gap0[9] = {.25 / d + k, k / 2, 0, k / 2, .5 / d + k / 2, k / 2,
                            0,           k / 2, .25 / d + k};
    const double max0[9] = {0, 2 / d1, 0, 0, k1 / 4, k1 / 2, 0, k1 / 2, k1};
    expect_full_grad(gap, 0, gap0, "hand-gap FullGrad class 0");
    expect_full_grad(maxpool, 0, max0, "hand-maxpool FullGrad class 0");
}

int
main(int argc, char **argv)
{
    const char *write_dir = argc == 3 && strcmp(argv[1], "--write") == 0 ? argv[2] : NULL;
    pb gap = build_hand_network(1), maxpool = build_hand_network(0);
    cam_model *m1 = load(&gap, "hand-gap", write_dir);
    cam_model *m2 = load(&maxpool, "hand-maxpool", write_dir);
    if (m1)
        check_gap_network(m1);
    if (m2)
        check_maxpool_network(m2);
    if (m1 && m2) {
        check_methods(m1, m2);
        check_full_grad(m1, m2);
    }
    cam_model_free(m1);
    cam_model_free(m2);
    free(gap.data);
    free(maxpool.data);
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
