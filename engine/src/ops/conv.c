/*
 * conv.c -- op family 'conv' (see cam-op.h): Conv.
 *
 * Conv is 2-D only (input N x C x H x W), with any group count, strides,
 * dilations, explicit (also asymmetric) pads and auto_pad. The weights W (and
 * the bias B) must be constants: the engine explains a frozen model, and the
 * kernels take the weight matrix as it is laid out in the file.
 *
 * Paths (kernels/cam-kernels.h):
 *  - depthwise (group == C, C > 1, any channel multiplier): the depthwise kernel
 *    (kernels/conv-depthwise.c; an im2col GEMM with one row per group would be
 *    mostly overhead);
 *  - otherwise im2col + sgemm (cam_conv2d_forward), or, when `finish` packed the
 *    weights (cam_conv_direct_supported() on an AVX-512 CPU), the direct kernel.
 *  The backward (w.r.t. X only) is col2im of the transposed GEMM, or the
 *  depthwise kernel's transpose.
 *
 * Fusions (the `absorb` hook, called by the passes on the single consumer of
 * the conv's output):
 *  - BatchNormalization in inference form: the weights and the bias are folded
 *    into NEW constant tensors (W' = W * s, B' = (B - mean) * s + beta with
 *    s = scale / sqrt(var + eps), in double); the conv then writes the BN's output.
 *  - Add of a run-time tensor R of the output's shape (a residual connection):
 *    R becomes a fourth input (after B, which may be absent), the conv writes the
 *    Add's output y + R in the same pass over the output (the sum of the same two
 *    floats: bit-identical), and its backward also gives R's gradient (a copy of
 *    the output's). The Add node goes; the conv takes its place in the run order
 *    when R is computed after the conv (the passes move it). A Relu after the Add
 *    is then absorbed as below.
 *  - Relu: the conv gets a second output, relu(y), computed in the same pass
 *    over the output (output 0 stays y). The backward adds a gradient given on
 *    output 1 through the mask y > 0 to the one on output 0. (The passes keep
 *    the Relu node, fused_into the conv: its forward is skipped but its own
 *    backward runs, so the executor passes gout[1] = NULL and the sum reduces
 *    to gout[0].)
 *  - Clip with constant bounds 0 and hi > 0 (ReLU6, MobileNet's activation): as
 *    Relu, output 1 = Clip(y, 0, hi) (shape.relu_max = hi; the kernels compute it
 *    as the Clip op does, bit for bit), the mask 0 <= y <= hi.
 *
 * Choices: when auto_pad is SAME_* or VALID the pads attribute is ignored (as
 * ONNX Runtime does). A file's Conv has one output; two are refused at typing.
 */
#include "ops/cam-op.h"

#include "kernels/cam-kernels.h"

/* GCC's -O2 vectorises only loops whose trip count is a multiple of the vector
 * width ("very cheap" cost model); the row loops here have arbitrary lengths.
 * Vectorising them changes no result (each output's sum keeps its order). */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__OPTIMIZE_SIZE__)
#pragma GCC optimize("vect-cost-model=cheap")
#endif

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest scratch (floats) a conv may ask for: 4 GiB of column matrix. */
#define CONV_MAX_SCRATCH ((size_t)1 << 30)

typedef struct conv_params {
    cam_conv_shape shape; /* one image */
    int images;           /* X's dims[0]: images per instance */
    int depthwise;        /* group == C > 1: the loops below */
    float *packed;        /* direct-kernel weights (finish), or NULL */
} conv_params;

static void conv_free(void *p)
{
    conv_params *params = p;
    if (params)
        free(params->packed);
    free(params);
}

/* Floats of one instance's output. */
static size_t conv_out_numel(const conv_params *p)
{
    const cam_conv_shape *s = &p->shape;
    return (size_t)p->images * s->out_channels * s->out_height * s->out_width;
}

/* Scratch of one call: with a fused Relu (relu != 0), first room for one output
 * (the combined gradient in the backward; y in the forward when output 0 is not
 * kept), then what the kernels need: im2col for the forward and the backward,
 * the direct kernel's when the weights are packed. */
static size_t conv_scratch(const conv_params *p, int relu)
{
    size_t need = 0;
    if (!p->depthwise) {
        need = cam_conv2d_scratch_size(&p->shape);
        if (p->packed) {
            size_t direct = cam_conv_direct_scratch_size(&p->shape);
            if (direct > need)
                need = direct;
        }
    }
    if (relu)
        need += conv_out_numel(p);
    return need;
}

/* ---- type -------------------------------------------------------------------- */

/* Output size and pads of one spatial axis. auto_pad: 0 NOTSET (pads as given),
 * 1 VALID, 2 SAME_UPPER, 3 SAME_LOWER. Returns 0, or -1 when the (dilated)
 * kernel does not fit in the padded input. */
static int conv_axis(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int auto_pad,
                     int64_t *pad_begin, int64_t *pad_end, int64_t *out)
{
    const int64_t span = dilation * (kernel - 1) + 1;
    if (auto_pad == 1) {
        *pad_begin = *pad_end = 0;
    } else if (auto_pad >= 2) {
        /* ONNX: the output is ceil(in / stride); the pads needed for it (never
         * negative) are split with the odd one at the end (UPPER) or start (LOWER). */
        int64_t o = (in + stride - 1) / stride;
        int64_t total = (o - 1) * stride + span - in;
        if (total < 0)
            total = 0;
        *pad_begin = auto_pad == 2 ? total / 2 : total - total / 2;
        *pad_end = total - *pad_begin;
        *out = o;
        return 0;
    }
    const int64_t avail = in + *pad_begin + *pad_end - span;
    if (avail < 0)
        return -1;
    *out = avail / stride + 1;
    return 0;
}

static cam_status conv_type(cam_graph *g, cam_node *node, cam_error *err)
{
    cam_status st;
    if (node->n_outputs != 1)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "Conv has one output, the node lists %d", node->n_outputs);
    const cam_tensor *x = cam_op_input(g, node, 0);
    const cam_tensor *w = cam_op_input(g, node, 1);
    const cam_tensor *b = cam_op_input(g, node, 2);
    if (!x || !w)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "inputs X and W are required");
    if ((st = cam_op_need_float(g, node, 0, err)) != CAM_OK)
        return st;
    char shape[96];
    if (x->rank != 4) {
        cam_tensor_shape_string(x, shape, sizeof shape);
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input X '%s' has shape %s (rank %d): only 2-D convolution "
                           "(N x C x H x W, rank 4) is supported",
                           x->name, shape, x->rank);
    }
    if (w->kind != CAM_TENSOR_CONSTANT)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input W '%s' is computed at run time: weights must be constant "
                           "initializers",
                           w->name);
    if ((st = cam_op_need_float(g, node, 1, err)) != CAM_OK)
        return st;
    if (w->rank != 4) {
        cam_tensor_shape_string(w, shape, sizeof shape);
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "weights W '%s' have shape %s; a 2-D convolution needs "
                           "M x C/group x kH x kW",
                           w->name, shape);
    }
    const int64_t C = x->dims[1], M = w->dims[0];
    if (b) {
        if (b->kind != CAM_TENSOR_CONSTANT)
            return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                               "input B '%s' is computed at run time: the bias must be a "
                               "constant initializer",
                               b->name);
        if ((st = cam_op_need_float(g, node, 2, err)) != CAM_OK)
            return st;
        if (b->rank != 1 || b->dims[0] != M) {
            cam_tensor_shape_string(b, shape, sizeof shape);
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "bias B '%s' has shape %s; expected %lld values (one per output "
                               "channel)",
                               b->name, shape, (long long)M);
        }
    }

    int64_t group, kernel[2], strides[2], dilations[2], pads[4];
    const char *auto_pad;
    const int64_t *kernel_attr;
    size_t n_kernel;
    if ((st = cam_op_attr_string(g, node, "auto_pad", "NOTSET", &auto_pad, err)) != CAM_OK ||
        (st = cam_op_attr_int(g, node, "group", 1, &group, err)) != CAM_OK ||
        (st = cam_op_attr_ints(g, node, "kernel_shape", &kernel_attr, &n_kernel, err)) != CAM_OK ||
        (st = cam_op_attr_ints_n(g, node, "strides", 2, 1, strides, err)) != CAM_OK ||
        (st = cam_op_attr_ints_n(g, node, "dilations", 2, 1, dilations, err)) != CAM_OK ||
        (st = cam_op_attr_ints_n(g, node, "pads", 4, 0, pads, err)) != CAM_OK)
        return st;

    int pad_mode;
    if ((st = cam_op_auto_pad(g, node, auto_pad, &pad_mode, err)) != CAM_OK)
        return st;

    kernel[0] = w->dims[2];
    kernel[1] = w->dims[3];
    if (n_kernel != 0 && (n_kernel != 2 || kernel_attr[0] != kernel[0] ||
                          kernel_attr[1] != kernel[1]))
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute 'kernel_shape' (%zu values, first %lld) does not match "
                           "the weights' %lld x %lld",
                           n_kernel, n_kernel ? (long long)kernel_attr[0] : 0LL,
                           (long long)kernel[0], (long long)kernel[1]);
    if (group < 1 || group > C || C % group != 0 || M % group != 0)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute 'group' = %lld does not divide the %lld input and %lld "
                           "output channels",
                           (long long)group, (long long)C, (long long)M);
    if (w->dims[1] * group != C)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "weights W '%s' take %lld channels per group, but X has %lld "
                           "channels in %lld group(s)",
                           w->name, (long long)w->dims[1], (long long)C, (long long)group);
    if (M < 1 || kernel[0] < 1 || kernel[1] < 1 || x->dims[0] < 1 || x->dims[2] < 1 ||
        x->dims[3] < 1) {
        cam_tensor_shape_string(w, shape, sizeof shape);
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "empty convolution (weights W '%s' of shape %s)", w->name, shape);
    }
    for (int i = 0; i < 2; i++) {
        if (strides[i] < 1 || strides[i] > CAM_GRAPH_MAX_DIM)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "attribute 'strides' has the value %lld", (long long)strides[i]);
        if (dilations[i] < 1 || dilations[i] > CAM_GRAPH_MAX_DIM)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "attribute 'dilations' has the value %lld",
                               (long long)dilations[i]);
    }
    if (pad_mode == 0)
        for (int i = 0; i < 4; i++) {
            if (pads[i] < 0)
                return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                                   "attribute 'pads' = %lld: negative pads are not supported",
                                   (long long)pads[i]);
            if (pads[i] > CAM_GRAPH_MAX_DIM)
                return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                                   "attribute 'pads' has the value %lld", (long long)pads[i]);
        }

    /* ONNX pads: [H_begin, W_begin, H_end, W_end]. */
    int64_t out[2], pb[2] = {pads[0], pads[1]}, pe[2] = {pads[2], pads[3]};
    for (int i = 0; i < 2; i++)
        if (conv_axis(x->dims[2 + i], kernel[i], strides[i], dilations[i], pad_mode, &pb[i],
                      &pe[i], &out[i]) != 0)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "the kernel (%lld with dilation %lld) is larger than the padded "
                               "input (%lld + %lld + %lld) along the %s",
                               (long long)kernel[i], (long long)dilations[i],
                               (long long)x->dims[2 + i], (long long)pb[i], (long long)pe[i],
                               i == 0 ? "height" : "width");

    for (int i = 0; i < 2; i++)
        if (pb[i] > CAM_GRAPH_MAX_DIM || pe[i] > CAM_GRAPH_MAX_DIM)
            return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                               "auto_pad '%s' needs pads of %lld and %lld along the %s "
                               "(at most %lld)",
                               auto_pad, (long long)pb[i], (long long)pe[i],
                               i == 0 ? "height" : "width", (long long)CAM_GRAPH_MAX_DIM);

    int64_t dims[4] = {x->dims[0], M, out[0], out[1]};
    if ((st = cam_op_set_output(g, node, 0, CAM_DTYPE_FLOAT, 4, dims, err)) != CAM_OK)
        return st;

    conv_params *p = calloc(1, sizeof *p);
    if (!p)
        return cam_op_fail(g, node, err, CAM_ERROR_NO_MEMORY, "out of memory");
    cam_conv_shape *s = &p->shape;
    s->in_channels = (int)C;
    s->in_height = (int)x->dims[2];
    s->in_width = (int)x->dims[3];
    s->out_channels = (int)M;
    s->out_height = (int)out[0];
    s->out_width = (int)out[1];
    s->kernel_height = (int)kernel[0];
    s->kernel_width = (int)kernel[1];
    s->stride_height = (int)strides[0];
    s->stride_width = (int)strides[1];
    s->pad_top = (int)pb[0];
    s->pad_left = (int)pb[1];
    s->pad_bottom = (int)pe[0];
    s->pad_right = (int)pe[1];
    s->dilation_height = (int)dilations[0];
    s->dilation_width = (int)dilations[1];
    s->groups = (int)group;
    p->images = (int)x->dims[0];
    p->depthwise = cam_depthwise_supported(s);
    size_t scratch = conv_scratch(p, 0);
    if (scratch > CONV_MAX_SCRATCH) {
        free(p);
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "this convolution needs %zu MiB of scratch memory (at most %zu)",
                           scratch / (1 << 18), CONV_MAX_SCRATCH / (1 << 18));
    }
    if (node->def && node->def->free && node->params)
        node->def->free(node->params);
    else
        free(node->params);
    node->params = p;
    node->scratch = scratch;
    return CAM_OK;
}

/* ---- forward / backward ------------------------------------------------------- */

static void conv_forward(const cam_exec *x)
{
    const conv_params *p = x->node->params;
    const cam_conv_shape *s = &p->shape;
    const float *in = x->in[0], *w = x->in[1];
    const float *bias = x->node->n_inputs > 2 ? x->in[2] : NULL;
    const float *residual = x->node->n_inputs > 3 ? x->in[3] : NULL;
    const int fused = x->node->n_outputs == 2 && x->out[1];
    float *y = x->out[0], *relu = fused ? x->out[1] : NULL;
    float *scratch = x->scratch;
    if (x->node->n_outputs == 2) {
        /* The first conv_out_numel floats of scratch are y's room when output 0
         * is not kept. */
        if (!y)
            y = scratch;
        scratch += conv_out_numel(p);
    }
    if (!y)
        return;
    if (p->depthwise) {
        cam_depthwise_forward(s, p->images, in, w, bias, y, relu);
    } else if (p->packed) {
        cam_conv2d_direct_forward(s, p->images, in, p->packed, bias, residual, y, relu, scratch);
    } else if (relu || residual) {
        cam_conv2d_fused_forward(s, p->images, in, w, bias, residual, y, relu, scratch);
    } else {
        cam_conv2d_forward(s, p->images, in, w, bias, y, scratch);
    }
}

static void conv_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const conv_params *p = x->node->params;
    const cam_conv_shape *s = &p->shape;
    const float *w = x->in[1];
    float *gx = gin[0];
    float *gres = x->node->n_inputs > 3 ? gin[3] : NULL; /* an absorbed Add's other operand */
    float *scratch = x->scratch;
    if (!gx && !gres)
        return;
    const size_t count = conv_out_numel(p);
    const float *gy = gout[0];
    if (x->node->n_outputs == 2) {
        /* Fused Relu: d/dy = gout0 + (y > 0 ? gout1 : 0); fused Clip: the mask
         * 0 <= y <= hi (the Clip op's). */
        const float hi = s->relu_max, *y = x->out[0];
        const float *g1 = y ? gout[1] : NULL;
        float *sum = scratch;
        scratch += count;
        if (g1) {
            const float *g0 = gout[0];
            for (size_t i = 0; i < count; i++) {
                const int pass = hi > 0.0f ? y[i] >= 0.0f && y[i] <= hi : y[i] > 0.0f;
                sum[i] = (g0 ? g0[i] : 0.0f) + (pass ? g1[i] : 0.0f);
            }
            gy = sum;
        }
    }
    if (gres) {
        if (gy)
            memcpy(gres, gy, count * sizeof *gres);
        else
            memset(gres, 0, count * sizeof *gres);
    }
    if (!gx)
        return;
    if (!gy) {
        memset(gx, 0, (size_t)p->images * s->in_channels * s->in_height * s->in_width *
                          sizeof *gx);
        return;
    }
    if (p->depthwise) {
        cam_depthwise_backward(s, p->images, gy, w, gx);
    } else if (p->packed) {
        cam_conv2d_backward_packed(s, p->images, gy, p->packed, gx, scratch);
    } else {
        cam_conv2d_backward(s, p->images, gy, w, gx, scratch);
    }
}

/* ---- absorb / finish ---------------------------------------------------------- */

/* Does tensor t feed node `consumer` only (once), and is it no graph output? */
static int feeds_only(const cam_graph *g, int t, int consumer)
{
    if (t < 0)
        return 0;
    const cam_tensor *tensor = &g->tensors[t];
    if (tensor->n_consumers != 1 || tensor->consumers[0] != consumer)
        return 0;
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == t)
            return 0;
    return 1;
}

/* Is output j (j >= 1) of node unused: absent, or nobody reads it? */
static int output_unused(const cam_graph *g, const cam_node *node, int j)
{
    if (j >= node->n_outputs || node->outputs[j] < 0)
        return 1;
    const int t = node->outputs[j];
    if (g->tensors[t].n_consumers > 0)
        return 0;
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == t)
            return 0;
    return 1;
}

/* A constant float tensor of exactly n values, or NULL. */
static const float *constant_vector(const cam_graph *g, const cam_node *node, int i, int64_t n)
{
    const cam_tensor *t = cam_op_input(g, node, i);
    if (!t || t->kind != CAM_TENSOR_CONSTANT || t->dtype != CAM_DTYPE_FLOAT || !t->data ||
        t->numel != (size_t)n || t->rank != 1)
        return NULL;
    return t->data;
}

/* Adds a new typed float constant named "<base><suffix>" (made unique) holding
 * data (taken over). Returns its index, or -1 (no memory; data freed). */
static int add_constant(cam_graph *g, const char *base, const char *suffix, int rank,
                        const int64_t *dims, float *data)
{
    const size_t size = strlen(base) + strlen(suffix) + 24;
    char *name = malloc(size);
    if (!name) {
        free(data);
        return -1;
    }
    snprintf(name, size, "%s%s", base, suffix);
    for (int k = 2; cam_graph_find_tensor(g, name) >= 0; k++)
        snprintf(name, size, "%s%s.%d", base, suffix, k);
    int t = cam_graph_add_tensor(g, name, CAM_TENSOR_CONSTANT);
    free(name);
    if (t < 0) {
        free(data);
        return -1;
    }
    cam_tensor_set_shape(&g->tensors[t], CAM_DTYPE_FLOAT, rank, dims);
    cam_tensor_set_constant(&g->tensors[t], data);
    return t;
}

/* Conv + BatchNormalization (inference) -> Conv with folded weights. */
static int absorb_batchnorm(cam_graph *g, cam_node *node, cam_node *bn)
{
    conv_params *p = node->params;
    const int64_t M = p->shape.out_channels;
    if (bn->n_inputs != 5 || bn->inputs[0] != node->outputs[0] || bn->n_outputs < 1 ||
        bn->outputs[0] < 0 || node->n_inputs > 3) /* not after an absorbed Add */
        return 0;
    for (int j = 1; j < bn->n_outputs; j++) /* training outputs (mean, var, ...) */
        if (!output_unused(g, bn, j))
            return 0;
    const cam_attr *a = cam_node_attr(bn, "training_mode");
    if (a && a->i != 0)
        return 0;
    a = cam_node_attr(bn, "spatial"); /* opsets < 9: 0 = statistics per activation */
    if (a && a->i != 1)
        return 0;
    a = cam_node_attr(bn, "epsilon");
    const double eps = a ? (double)a->f : 1e-5;

    const float *scale = constant_vector(g, bn, 1, M), *beta = constant_vector(g, bn, 2, M);
    const float *mean = constant_vector(g, bn, 3, M), *var = constant_vector(g, bn, 4, M);
    const float *bias = node->n_inputs > 2 ? constant_vector(g, node, 2, M) : NULL;
    const cam_tensor *wt = cam_op_input(g, node, 1);
    if (!scale || !beta || !mean || !var || (node->n_inputs > 2 && node->inputs[2] >= 0 && !bias))
        return 0;
    const float *w = wt->data;
    const size_t per = wt->numel / (size_t)M; /* C/group * kH * kW */

    float *nw = malloc(wt->numel * sizeof *nw);
    float *nb = malloc((size_t)M * sizeof *nb);
    if (!nw || !nb) {
        free(nw);
        free(nb);
        return -1;
    }
    for (int64_t m = 0; m < M; m++) {
        const double s = (double)scale[m] / sqrt((double)var[m] + eps);
        const double bm = ((bias ? (double)bias[m] : 0.0) - (double)mean[m]) * s + (double)beta[m];
        nb[m] = (float)bm;
        int ok = isfinite(nb[m]);
        for (size_t k = 0; k < per; k++) {
            nw[m * per + k] = (float)((double)w[m * per + k] * s);
            ok &= isfinite(nw[m * per + k]);
        }
        if (!ok) { /* var + eps <= 0, or an overflow: leave the BN as it is */
            free(nw);
            free(nb);
            return 0;
        }
    }

    /* Room for the bias input first, so that nothing fails after the graph grew. */
    if (node->n_inputs < 3) {
        int *inputs = realloc(node->inputs, 3 * sizeof *inputs);
        if (!inputs) {
            free(nw);
            free(nb);
            return -1;
        }
        for (int i = node->n_inputs; i < 3; i++)
            inputs[i] = -1;
        node->inputs = inputs;
        node->n_inputs = 3;
    }
    int64_t wdims[CAM_MAX_RANK];
    memcpy(wdims, wt->dims, sizeof wdims);
    const int wrank = wt->rank;
    const int tw = add_constant(g, node->name, "/folded_W", wrank, wdims, nw);
    if (tw < 0) {
        free(nb);
        return -1;
    }
    const int tb = add_constant(g, node->name, "/folded_B", 1, &M, nb);
    if (tb < 0)
        return -1;
    node->inputs[1] = tw;
    node->inputs[2] = tb;
    node->outputs[0] = bn->outputs[0];
    return 1;
}

/* Conv + Add(y, R) -> Conv with R as a fourth input, writing the Add's output. */
static int absorb_add(cam_graph *g, cam_node *node, cam_node *add)
{
    const conv_params *p = node->params;
    if (p->depthwise || add->n_inputs != 2 || add->n_outputs != 1 || add->outputs[0] < 0 ||
        node->n_inputs > 3)
        return 0;
    const int y = node->outputs[0];
    const int r = add->inputs[0] == y ? add->inputs[1] : add->inputs[0];
    if (r < 0 || r == y || r == node->inputs[0])
        return 0;
    const cam_tensor *rt = &g->tensors[r], *yt = &g->tensors[y];
    const cam_tensor *out = &g->tensors[add->outputs[0]];
    if (rt->kind == CAM_TENSOR_CONSTANT || rt->dtype != CAM_DTYPE_FLOAT || rt->rank != yt->rank ||
        out->rank != yt->rank || out->dtype != CAM_DTYPE_FLOAT)
        return 0;
    for (int d = 0; d < yt->rank; d++)
        if (rt->dims[d] != yt->dims[d] || out->dims[d] != yt->dims[d])
            return 0;
    int *inputs = realloc(node->inputs, 4 * sizeof *inputs);
    if (!inputs)
        return -1;
    for (int i = node->n_inputs; i < 3; i++)
        inputs[i] = -1;
    inputs[3] = r;
    node->inputs = inputs;
    node->n_inputs = 4;
    node->outputs[0] = add->outputs[0];
    return 1;
}

/* A Clip's bound i (1: min, 2: max): the attribute before opset 11, else a constant
 * scalar input; 0 when it is neither (absent, or computed at run time). */
static int clip_bound(const cam_graph *g, const cam_node *clip, int i, float *value)
{
    const cam_attr *a = cam_node_attr(clip, i == 1 ? "min" : "max");
    if (a) {
        *value = a->f;
        return 1;
    }
    const cam_tensor *t = cam_op_input(g, clip, i);
    if (!t || t->kind != CAM_TENSOR_CONSTANT || t->dtype != CAM_DTYPE_FLOAT || !t->data ||
        t->numel != 1)
        return 0;
    *value = *(const float *)t->data;
    return 1;
}

/* Conv + Relu -> Conv with a second output relu(y); Conv + Clip(0, hi) (hi > 0
 * and finite) -> the same with relu_max = hi. */
static int absorb_relu(cam_graph *g, cam_node *node, cam_node *relu)
{
    conv_params *p = node->params;
    float hi = 0.0f;
    if (relu->inputs[0] != node->outputs[0] || relu->n_outputs != 1 || relu->outputs[0] < 0)
        return 0;
    if (strcmp(relu->def->name, "Clip") == 0) {
        float lo;
        if (!clip_bound(g, relu, 1, &lo) || !clip_bound(g, relu, 2, &hi) || lo != 0.0f ||
            signbit(lo) || !(hi > 0.0f) || !isfinite(hi))
            return 0;
    } else if (relu->n_inputs != 1) {
        return 0;
    }
    int *outputs = realloc(node->outputs, 2 * sizeof *outputs);
    if (!outputs)
        return -1;
    outputs[1] = relu->outputs[0];
    node->outputs = outputs;
    node->n_outputs = 2;
    node->scratch = conv_scratch(p, 1);
    p->shape.relu_max = hi;
    return 1;
}

static int conv_absorb(cam_graph *g, cam_node *node, cam_node *next)
{
    /* Only a plain conv (not yet fused with a Relu) whose output 0 feeds `next` alone. */
    if (!node->params || node->n_outputs != 1 || node->outputs[0] < 0 || !next->def ||
        !feeds_only(g, node->outputs[0], (int)(next - g->nodes)))
        return 0;
    if (strcmp(next->def->name, "BatchNormalization") == 0)
        return absorb_batchnorm(g, node, next);
    if (strcmp(next->def->name, "Add") == 0)
        return absorb_add(g, node, next);
    if (strcmp(next->def->name, "Relu") == 0 || strcmp(next->def->name, "Clip") == 0)
        return absorb_relu(g, node, next);
    return 0;
}

/* Packs the weights for the direct kernel where it applies (AVX-512, small maps)
 * and frees the unpacked ones when nothing else reads them. */
static int conv_finish(cam_graph *g, cam_node *node)
{
    conv_params *p = node->params;
    if (!p || p->depthwise || p->packed || !cam_cpu_avx512() ||
        !cam_conv_direct_supported(&p->shape))
        return 0;
    const cam_tensor *wt = cam_op_input(g, node, 1);
    if (!wt || !wt->data || wt->dtype != CAM_DTYPE_FLOAT)
        return 0;
    p->packed = malloc(cam_conv_direct_packed_size(&p->shape) * sizeof *p->packed);
    if (!p->packed)
        return -1;
    cam_conv_direct_pack(&p->shape, wt->data, p->packed);
    node->scratch = conv_scratch(p, node->n_outputs == 2);
    /* The weights are held once: the packed copy serves the forward and the
     * backward, so an initializer that only this node reads is freed. */
    if (wt->kind == CAM_TENSOR_CONSTANT && wt->n_consumers == 1) {
        cam_tensor *owned = &g->tensors[node->inputs[1]];
        free(owned->data);
        owned->data = NULL;
    }
    return 0;
}

/* The bias B (folded from an absorbed BatchNormalization, when there was one). */
static const float *conv_bias(const cam_graph *g, const cam_node *node, int *channels)
{
    const conv_params *p = node->params;
    if (node->n_inputs < 3 || node->inputs[2] < 0)
        return NULL;
    const cam_tensor *b = &g->tensors[node->inputs[2]];
    if (b->kind != CAM_TENSOR_CONSTANT || !b->data || b->numel != (size_t)p->shape.out_channels)
        return NULL;
    *channels = (int)p->shape.out_channels;
    return b->data;
}

static const cam_op_def op_conv = {
    .name = "Conv",
    .since = 1,
    .until = 22,
    .min_inputs = 2,
    .max_inputs = 3, /* a fourth only through absorb (an Add's other operand) */
    .min_outputs = 1,
    .max_outputs = 2, /* the second only through absorb (a fused Relu) */
    .type = conv_type,
    .forward = conv_forward,
    .backward = conv_backward,
    .absorb = conv_absorb,
    .finish = conv_finish,
    .free = conv_free,
    .bias = conv_bias,
};

const cam_op_def *const cam_ops_conv[] = {&op_conv, NULL};
