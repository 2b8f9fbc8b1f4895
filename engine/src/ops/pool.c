/*
 * pool.c -- op family 'pool' (see cam-op.h): MaxPool, AveragePool,
 * GlobalAveragePool, GlobalMaxPool, LRN.
 *
 * MaxPool and AveragePool take 1, 2 or 3 spatial axes (input rank 3 to 5).
 * The 2-D (and 1-D, as a 1 x W image) MaxPool runs on the tested kernels of
 * kernels/cam-kernels.h; the rest uses the window loops below, which treat every
 * pool as 3-D (missing leading axes have size, kernel and stride 1).
 *
 * Choices, all as ONNX's reference implementation and ONNX Runtime:
 *  - ceil_mode: a window that would start in the right padding is dropped
 *    (cam_pool_output_size); with auto_pad SAME_* / VALID the output size is the
 *    auto_pad formula, pads given in the file are ignored, and so is ceil_mode.
 *  - AveragePool divisor: count_include_pad = 0: the input positions in the
 *    window; = 1: the whole kernel (a ceil_mode window running past the end pads
 *    with zeros that count, as the ONNX reference and ONNX Runtime do; PyTorch
 *    would not count those).
 *  - Max-type ops: the first maximum in row-major window order gets the
 *    gradient; a NaN wins (PyTorch's rule, as cam_maxpool_*).
 *  - MaxPool's optional output Indices is refused when it is used; storage_order
 *    (which only changes Indices) is then accepted as 0 or 1.
 *  - LRN: square sums over channels c - floor((size-1)/2) .. c + ceil((size-1)/2)
 *    (clipped to the tensor), y = x / (bias + alpha/size * sum)^beta; the
 *    backward includes the effect of x on its neighbours' denominators.
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
#include <stdlib.h>
#include <string.h>

/* ---- shared: windows over up to 3 spatial axes ------------------------------- */

typedef struct pool_axis {
    int in, out;
    int kernel, stride, dilation;
    int pad_begin, pad_end;
} pool_axis;

typedef struct pool_params {
    size_t planes;          /* N * C */
    pool_axis axis[3];      /* spatial axes; missing leading ones are unit axes */
    int count_include_pad;  /* AveragePool */
    int use_kernel;         /* MaxPool on rank 3 or 4: cam_maxpool_* with `shape` */
    cam_pool_shape shape;   /* one image, when use_kernel */
    int images;             /* N */
} pool_params;

/* The window of output position o along one axis: first input position `start`
 * (may be negative), and the kernel taps [lo, hi) that fall inside the input. */
static void axis_window(const pool_axis *a, int o, long *start, int *lo, int *hi)
{
    const long st = (long)o * a->stride - a->pad_begin;
    long l = 0, h = 0;
    if (st < 0)
        l = (-st + a->dilation - 1) / a->dilation;
    if (st <= (long)a->in - 1)
        h = ((long)a->in - 1 - st) / a->dilation + 1;
    if (h > a->kernel)
        h = a->kernel;
    if (l > h)
        l = h;
    *start = st;
    *lo = (int)l;
    *hi = (int)h;
}

/* Index in the plane of the maximum of window (o0, o1, o2), or -1 when the window
 * lies in the padding only. First maximum wins, a NaN wins. */
static long window_argmax(const pool_params *p, const float *plane, int o0, int o1, int o2)
{
    const pool_axis *a = p->axis;
    long s0, s1, s2;
    int l0, h0, l1, h1, l2, h2;
    axis_window(&a[0], o0, &s0, &l0, &h0);
    axis_window(&a[1], o1, &s1, &l1, &h1);
    axis_window(&a[2], o2, &s2, &l2, &h2);
    long best = -1;
    float bestv = -INFINITY;
    for (int k0 = l0; k0 < h0; k0++) {
        const long i0 = s0 + (long)k0 * a[0].dilation;
        for (int k1 = l1; k1 < h1; k1++) {
            const long row = (i0 * a[1].in + s1 + (long)k1 * a[1].dilation) * a[2].in;
            for (int k2 = l2; k2 < h2; k2++) {
                const long idx = row + s2 + (long)k2 * a[2].dilation;
                const float v = plane[idx];
                if (best < 0 || v > bestv || isnan(v)) {
                    best = idx;
                    bestv = v;
                }
            }
        }
    }
    return best;
}

static size_t plane_in(const pool_params *p)
{
    return (size_t)p->axis[0].in * p->axis[1].in * p->axis[2].in;
}

static size_t plane_out(const pool_params *p)
{
    return (size_t)p->axis[0].out * p->axis[1].out * p->axis[2].out;
}

/* Output size and pads along one axis. auto_pad: 0 NOTSET, 1 VALID, 2 SAME_UPPER,
 * 3 SAME_LOWER. Returns 0, or -1 when the window does not fit the padded input. */
static int pool_axis_size(pool_axis *a, int auto_pad, int ceil_mode)
{
    const long span = (long)a->dilation * (a->kernel - 1) + 1;
    if (auto_pad >= 2) {
        /* out = ceil(in / stride); the pads that need (never negative), the odd
         * one at the end (UPPER) or the start (LOWER). */
        const long o = ((long)a->in + a->stride - 1) / a->stride;
        long total = (o - 1) * a->stride + span - a->in;
        if (total < 0)
            total = 0;
        a->pad_begin = (int)(auto_pad == 2 ? total / 2 : total - total / 2);
        a->pad_end = (int)(total - a->pad_begin);
        a->out = (int)o;
        return 0;
    }
    if (auto_pad == 1) {
        a->pad_begin = a->pad_end = 0;
        ceil_mode = 0;
    }
    if ((long)a->in + a->pad_begin + a->pad_end < span)
        return -1;
    a->out = cam_pool_output_size(a->in, a->kernel, a->stride, a->pad_begin, a->pad_end,
                                  a->dilation, ceil_mode);
    return a->out >= 1 ? 0 : -1;
}

/* Reads and checks the attributes of MaxPool (is_max) or AveragePool, sets the
 * output shape and node->params. */
static cam_status pool_type(cam_graph *g, cam_node *node, int is_max, cam_error *err)
{
    cam_status st;
    const cam_tensor *x = cam_op_input(g, node, 0);
    if ((st = cam_op_need_float(g, node, 0, err)) != CAM_OK)
        return st;
    if (x->rank < 3 || x->rank > 5) {
        char shape[96];
        cam_tensor_shape_string(x, shape, sizeof shape);
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input X '%s' has shape %s: pooling over 1, 2 or 3 spatial axes "
                           "(rank 3 to 5) is supported",
                           x->name, shape);
    }
    if (is_max && node->n_outputs > 1 && node->outputs[1] >= 0)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "the optional output Indices ('%s') is not supported",
                           g->tensors[node->outputs[1]].name);
    const int nd = x->rank - 2;

    const char *auto_pad;
    const int64_t *kernel;
    size_t n_kernel;
    int64_t strides[3], pads[6], dilations[3] = {1, 1, 1};
    int64_t ceil_mode = 0, count_include_pad = 0, storage_order = 0;
    if ((st = cam_op_attr_string(g, node, "auto_pad", "NOTSET", &auto_pad, err)) != CAM_OK ||
        (st = cam_op_attr_ints(g, node, "kernel_shape", &kernel, &n_kernel, err)) != CAM_OK ||
        (st = cam_op_attr_ints_n(g, node, "strides", (size_t)nd, 1, strides, err)) != CAM_OK ||
        (st = cam_op_attr_ints_n(g, node, "pads", 2 * (size_t)nd, 0, pads, err)) != CAM_OK)
        return st;
    /* Attributes that appeared in later opsets are read from there on only (an
     * older file that has them is refused as using an unknown attribute). */
    if (is_max) {
        if (g->opset >= 8 &&
            (st = cam_op_attr_int(g, node, "storage_order", 0, &storage_order, err)) != CAM_OK)
            return st;
        if (g->opset >= 10 &&
            ((st = cam_op_attr_int(g, node, "ceil_mode", 0, &ceil_mode, err)) != CAM_OK ||
             (st = cam_op_attr_ints_n(g, node, "dilations", (size_t)nd, 1, dilations, err)) !=
                 CAM_OK))
            return st;
    } else {
        if ((st = cam_op_attr_int(g, node, "count_include_pad", 0, &count_include_pad, err)) !=
            CAM_OK)
            return st;
        if (g->opset >= 10 &&
            (st = cam_op_attr_int(g, node, "ceil_mode", 0, &ceil_mode, err)) != CAM_OK)
            return st;
        if (g->opset >= 19 &&
            (st = cam_op_attr_ints_n(g, node, "dilations", (size_t)nd, 1, dilations, err)) !=
                CAM_OK)
            return st;
    }

    int pad_mode;
    if ((st = cam_op_auto_pad(g, node, auto_pad, &pad_mode, err)) != CAM_OK)
        return st;
    if (n_kernel != (size_t)nd)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute 'kernel_shape' has %zu values; the input has %d spatial "
                           "axes",
                           n_kernel, nd);
    if (ceil_mode != 0 && ceil_mode != 1)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute 'ceil_mode' = %lld (0 or 1)", (long long)ceil_mode);
    if (count_include_pad != 0 && count_include_pad != 1)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute 'count_include_pad' = %lld (0 or 1)",
                           (long long)count_include_pad);
    if (storage_order != 0 && storage_order != 1)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute 'storage_order' = %lld (0 or 1)", (long long)storage_order);
    for (int i = 0; i < nd; i++) {
        if (kernel[i] < 1 || kernel[i] > CAM_GRAPH_MAX_DIM)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "attribute 'kernel_shape' has the value %lld", (long long)kernel[i]);
        if (strides[i] < 1 || strides[i] > CAM_GRAPH_MAX_DIM)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "attribute 'strides' has the value %lld", (long long)strides[i]);
        if (dilations[i] < 1 || dilations[i] > CAM_GRAPH_MAX_DIM)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "attribute 'dilations' has the value %lld",
                               (long long)dilations[i]);
        if (pad_mode == 0)
            for (int e = 0; e < 2; e++) {
                const int64_t v = pads[i + e * nd];
                if (v < 0)
                    return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                                       "attribute 'pads' = %lld: negative pads are not "
                                       "supported",
                                       (long long)v);
                if (v > CAM_GRAPH_MAX_DIM)
                    return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                                       "attribute 'pads' has the value %lld", (long long)v);
            }
        if (x->dims[2 + i] < 1)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "input X '%s' is empty along spatial axis %d", x->name, i);
    }

    pool_params *p = calloc(1, sizeof *p);
    if (!p)
        return cam_op_fail(g, node, err, CAM_ERROR_NO_MEMORY, "out of memory");
    p->images = (int)x->dims[0];
    p->planes = (size_t)x->dims[0] * (size_t)x->dims[1];
    p->count_include_pad = (int)count_include_pad;
    int64_t dims[5] = {x->dims[0], x->dims[1], 1, 1, 1};
    for (int j = 0; j < 3; j++) {
        pool_axis *a = &p->axis[j];
        const int i = j - (3 - nd); /* the file's spatial axis, or < 0 for a unit axis */
        if (i < 0) {
            *a = (pool_axis){.in = 1, .out = 1, .kernel = 1, .stride = 1, .dilation = 1};
            continue;
        }
        a->in = (int)x->dims[2 + i];
        a->kernel = (int)kernel[i];
        a->stride = (int)strides[i];
        a->dilation = (int)dilations[i];
        a->pad_begin = pad_mode == 0 ? (int)pads[i] : 0;
        a->pad_end = pad_mode == 0 ? (int)pads[i + nd] : 0;
        if ((long)a->dilation * (a->kernel - 1) + 1 > 3 * CAM_GRAPH_MAX_DIM ||
            pool_axis_size(a, pad_mode, (int)ceil_mode) != 0) {
            const long long pb = a->pad_begin, pe = a->pad_end;
            free(p);
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "the window (kernel %lld, dilation %lld) is larger than the "
                               "padded input (%lld + %lld + %lld) along spatial axis %d",
                               (long long)kernel[i], (long long)dilations[i],
                               (long long)x->dims[2 + i], pb, pe, i);
        }
        dims[2 + i] = a->out;
    }
    if ((st = cam_op_set_output(g, node, 0, CAM_DTYPE_FLOAT, x->rank, dims, err)) != CAM_OK) {
        free(p);
        return st;
    }
    if (is_max && nd <= 2) {
        const pool_axis *h = &p->axis[1], *w = &p->axis[2];
        cam_pool_shape *s = &p->shape;
        p->use_kernel = 1;
        s->channels = (int)x->dims[1];
        s->in_height = h->in, s->in_width = w->in;
        s->out_height = h->out, s->out_width = w->out;
        s->kernel_height = h->kernel, s->kernel_width = w->kernel;
        s->stride_height = h->stride, s->stride_width = w->stride;
        s->pad_top = h->pad_begin, s->pad_left = w->pad_begin;
        s->pad_bottom = h->pad_end, s->pad_right = w->pad_end;
        s->dilation_height = h->dilation, s->dilation_width = w->dilation;
    }
    free(node->params);
    node->params = p;
    node->scratch = 0;
    return CAM_OK;
}

/* ---- MaxPool ------------------------------------------------------------------ */

static cam_status maxpool_type(cam_graph *g, cam_node *node, cam_error *err)
{
    return pool_type(g, node, 1, err);
}

static void maxpool_forward(const cam_exec *x)
{
    const pool_params *p = x->node->params;
    const float *in = x->in[0];
    float *y = x->out[0];
    if (p->use_kernel) {
        cam_maxpool_forward(&p->shape, p->images, in, y);
        return;
    }
    const size_t hw = plane_in(p), ohw = plane_out(p);
    for (size_t c = 0; c < p->planes; c++) {
        const float *plane = in + c * hw;
        float *out = y + c * ohw;
        for (int o0 = 0; o0 < p->axis[0].out; o0++)
            for (int o1 = 0; o1 < p->axis[1].out; o1++)
                for (int o2 = 0; o2 < p->axis[2].out; o2++) {
                    const long idx = window_argmax(p, plane, o0, o1, o2);
                    *out++ = idx < 0 ? -INFINITY : plane[idx];
                }
    }
}

static void maxpool_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const pool_params *p = x->node->params;
    const float *in = x->in[0], *gy = gout[0];
    float *gx = gin[0];
    const size_t hw = plane_in(p), ohw = plane_out(p);
    if (!gx)
        return;
    if (!gy) {
        memset(gx, 0, p->planes * hw * sizeof *gx);
        return;
    }
    if (p->use_kernel) {
        cam_maxpool_backward(&p->shape, p->images, in, gy, gx);
        return;
    }
    memset(gx, 0, p->planes * hw * sizeof *gx);
    for (size_t c = 0; c < p->planes; c++) {
        const float *plane = in + c * hw;
        const float *g = gy + c * ohw;
        float *gp = gx + c * hw;
        for (int o0 = 0; o0 < p->axis[0].out; o0++)
            for (int o1 = 0; o1 < p->axis[1].out; o1++)
                for (int o2 = 0; o2 < p->axis[2].out; o2++, g++) {
                    const long idx = window_argmax(p, plane, o0, o1, o2);
                    if (idx >= 0)
                        gp[idx] += *g;
                }
    }
}

/* ---- AveragePool -------------------------------------------------------------- */

static cam_status avgpool_type(cam_graph *g, cam_node *node, cam_error *err)
{
    return pool_type(g, node, 0, err);
}

/* One AveragePool window: per axis its start and valid taps [lo, hi), and the
 * divisor (the same in the forward and the backward). */
typedef struct avg_window {
    long s[3];
    int lo[3], hi[3];
    float divisor;
} avg_window;

static void avg_window_get(const pool_params *p, int o0, int o1, int o2, avg_window *w)
{
    const int o[3] = {o0, o1, o2};
    long count = 1, full = 1;
    for (int j = 0; j < 3; j++) {
        axis_window(&p->axis[j], o[j], &w->s[j], &w->lo[j], &w->hi[j]);
        count *= w->hi[j] - w->lo[j];
        full *= p->axis[j].kernel;
    }
    w->divisor = (float)(p->count_include_pad ? full : count);
}

static void avgpool_forward(const cam_exec *x)
{
    const pool_params *p = x->node->params;
    const pool_axis *a = p->axis;
    const float *in = x->in[0];
    float *y = x->out[0];
    const size_t hw = plane_in(p), ohw = plane_out(p);
    for (size_t c = 0; c < p->planes; c++) {
        const float *plane = in + c * hw;
        float *out = y + c * ohw;
        for (int o0 = 0; o0 < a[0].out; o0++)
            for (int o1 = 0; o1 < a[1].out; o1++)
                for (int o2 = 0; o2 < a[2].out; o2++) {
                    avg_window w;
                    avg_window_get(p, o0, o1, o2, &w);
                    double sum = 0.0;
                    for (int k0 = w.lo[0]; k0 < w.hi[0]; k0++) {
                        const long i0 = w.s[0] + (long)k0 * a[0].dilation;
                        for (int k1 = w.lo[1]; k1 < w.hi[1]; k1++) {
                            const long row =
                                (i0 * a[1].in + w.s[1] + (long)k1 * a[1].dilation) * a[2].in +
                                w.s[2];
                            for (int k2 = w.lo[2]; k2 < w.hi[2]; k2++)
                                sum += plane[row + (long)k2 * a[2].dilation];
                        }
                    }
                    /* A window in the padding only (count 0) gives 0. */
                    *out++ = w.divisor > 0.0f ? (float)(sum / w.divisor) : 0.0f;
                }
    }
}

/* Each output's gradient, divided by the forward's divisor, is added to every
 * input position of its window. */
static void avgpool_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const pool_params *p = x->node->params;
    const pool_axis *a = p->axis;
    const float *gy = gout[0];
    float *gx = gin[0];
    const size_t hw = plane_in(p), ohw = plane_out(p);
    if (!gx)
        return;
    memset(gx, 0, p->planes * hw * sizeof *gx);
    if (!gy)
        return;
    for (size_t c = 0; c < p->planes; c++) {
        float *plane = gx + c * hw;
        const float *g = gy + c * ohw;
        for (int o0 = 0; o0 < a[0].out; o0++)
            for (int o1 = 0; o1 < a[1].out; o1++)
                for (int o2 = 0; o2 < a[2].out; o2++, g++) {
                    avg_window w;
                    avg_window_get(p, o0, o1, o2, &w);
                    if (!(w.divisor > 0.0f))
                        continue;
                    const float v = *g / w.divisor;
                    for (int k0 = w.lo[0]; k0 < w.hi[0]; k0++) {
                        const long i0 = w.s[0] + (long)k0 * a[0].dilation;
                        for (int k1 = w.lo[1]; k1 < w.hi[1]; k1++) {
                            const long row =
                                (i0 * a[1].in + w.s[1] + (long)k1 * a[1].dilation) * a[2].in +
                                w.s[2];
                            for (int k2 = w.lo[2]; k2 < w.hi[2]; k2++)
                                plane[row + (long)k2 * a[2].dilation] += v;
                        }
                    }
                }
    }
}

/* ---- GlobalAveragePool / GlobalMaxPool ------------------------------------------ */

typedef struct global_params {
    int images, channels;
    int spatial; /* product of the spatial dims */
} global_params;

static cam_status global_type(cam_graph *g, cam_node *node, cam_error *err)
{
    cam_status st;
    const cam_tensor *x = cam_op_input(g, node, 0);
    if ((st = cam_op_need_float(g, node, 0, err)) != CAM_OK)
        return st;
    if (x->rank < 3) {
        char shape[96];
        cam_tensor_shape_string(x, shape, sizeof shape);
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "input X '%s' has shape %s; expected N x C x D1 x ... (rank >= 3)",
                           x->name, shape);
    }
    const size_t spatial = cam_dims_product(x->dims, 2, x->rank);
    if (spatial == 0 || x->dims[0] < 1 || x->dims[1] < 1)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL, "input X '%s' is empty",
                           x->name);
    int64_t dims[CAM_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int i = 2; i < x->rank; i++)
        dims[i] = 1;
    if ((st = cam_op_set_output(g, node, 0, CAM_DTYPE_FLOAT, x->rank, dims, err)) != CAM_OK)
        return st;
    global_params *p = malloc(sizeof *p);
    if (!p)
        return cam_op_fail(g, node, err, CAM_ERROR_NO_MEMORY, "out of memory");
    p->images = (int)x->dims[0];
    p->channels = (int)x->dims[1];
    p->spatial = (int)spatial;
    free(node->params);
    node->params = p;
    node->scratch = 0;
    return CAM_OK;
}

static void gap_forward(const cam_exec *x)
{
    const global_params *p = x->node->params;
    cam_global_avgpool_forward(p->images, p->channels, p->spatial, x->in[0], x->out[0]);
}

static void gap_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const global_params *p = x->node->params;
    if (!gin[0])
        return;
    if (!gout[0]) {
        memset(gin[0], 0, (size_t)p->images * p->channels * p->spatial * sizeof *gin[0]);
        return;
    }
    cam_global_avgpool_backward(p->images, p->channels, p->spatial, gout[0], gin[0]);
}

/* Index of the first maximum of n values (a NaN wins, as in window_argmax). */
static size_t first_argmax(const float *v, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[best] || isnan(v[i]))
            best = i;
    return best;
}

static void gmp_forward(const cam_exec *x)
{
    const global_params *p = x->node->params;
    const float *in = x->in[0];
    float *y = x->out[0];
    const size_t planes = (size_t)p->images * p->channels, n = (size_t)p->spatial;
    for (size_t c = 0; c < planes; c++)
        y[c] = in[c * n + first_argmax(in + c * n, n)];
}

static void gmp_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const global_params *p = x->node->params;
    const float *in = x->in[0], *gy = gout[0];
    float *gx = gin[0];
    const size_t planes = (size_t)p->images * p->channels, n = (size_t)p->spatial;
    if (!gx)
        return;
    memset(gx, 0, planes * n * sizeof *gx);
    if (!gy)
        return;
    for (size_t c = 0; c < planes; c++)
        gx[c * n + first_argmax(in + c * n, n)] = gy[c];
}

/* ---- LRN ------------------------------------------------------------------------ */

typedef struct lrn_params {
    int images, channels;
    size_t inner;      /* product of the dims after the channel axis */
    int before, after; /* the window: channels c - before .. c + after */
    float coef;        /* alpha / size */
    float beta, bias;
} lrn_params;

static cam_status lrn_type(cam_graph *g, cam_node *node, cam_error *err)
{
    cam_status st;
    const cam_tensor *x = cam_op_input(g, node, 0);
    if ((st = cam_op_need_float(g, node, 0, err)) != CAM_OK)
        return st;
    float alpha, beta, bias;
    int64_t size;
    if (!cam_node_attr(node, "size"))
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "the required attribute 'size' is missing");
    if ((st = cam_op_attr_int(g, node, "size", 1, &size, err)) != CAM_OK ||
        (st = cam_op_attr_float(g, node, "alpha", 1e-4f, &alpha, err)) != CAM_OK ||
        (st = cam_op_attr_float(g, node, "beta", 0.75f, &beta, err)) != CAM_OK ||
        (st = cam_op_attr_float(g, node, "bias", 1.0f, &bias, err)) != CAM_OK)
        return st;
    if (size < 1 || size > CAM_GRAPH_MAX_DIM)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute 'size' = %lld (must be positive)", (long long)size);
    if (x->rank < 2) {
        char shape[96];
        cam_tensor_shape_string(x, shape, sizeof shape);
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "input X '%s' has shape %s; expected N x C x ... (rank >= 2)", x->name,
                           shape);
    }
    if ((st = cam_op_set_output(g, node, 0, CAM_DTYPE_FLOAT, x->rank, x->dims, err)) != CAM_OK)
        return st;
    lrn_params *p = malloc(sizeof *p);
    if (!p)
        return cam_op_fail(g, node, err, CAM_ERROR_NO_MEMORY, "out of memory");
    p->images = (int)x->dims[0];
    p->channels = (int)x->dims[1];
    p->inner = cam_dims_product(x->dims, 2, x->rank);
    p->before = (int)((size - 1) / 2);
    p->after = (int)(size - 1 - (size - 1) / 2);
    p->coef = (float)((double)alpha / (double)size);
    p->beta = beta;
    p->bias = bias;
    free(node->params);
    node->params = p;
    /* forward: one row of square sums; backward: that row and C rows of
     * g * x / d^(beta+1). */
    node->scratch = ((size_t)p->channels + 1) * p->inner;
    return CAM_OK;
}

/* sum (inner floats) = bias + coef * (sum of x[j]^2 over the window of channel c). */
static void lrn_denominator(const lrn_params *p, const float *x, int c, float *sum)
{
    const size_t inner = p->inner;
    const int j0 = c - p->before < 0 ? 0 : c - p->before;
    const int j1 = c + p->after >= p->channels ? p->channels - 1 : c + p->after;
    memset(sum, 0, inner * sizeof *sum);
    for (int j = j0; j <= j1; j++) {
        const float *row = x + (size_t)j * inner;
        for (size_t q = 0; q < inner; q++)
            sum[q] += row[q] * row[q];
    }
    for (size_t q = 0; q < inner; q++)
        sum[q] = p->bias + p->coef * sum[q];
}

static void lrn_forward(const cam_exec *x)
{
    const lrn_params *p = x->node->params;
    const size_t inner = p->inner, image = (size_t)p->channels * inner;
    float *d = x->scratch;
    for (int i = 0; i < p->images; i++) {
        const float *in = (const float *)x->in[0] + i * image;
        float *y = (float *)x->out[0] + i * image;
        for (int c = 0; c < p->channels; c++) {
            lrn_denominator(p, in, c, d);
            const float *xc = in + (size_t)c * inner;
            float *yc = y + (size_t)c * inner;
            for (size_t q = 0; q < inner; q++)
                yc[q] = xc[q] / powf(d[q], p->beta);
        }
    }
}

/* With d_i = bias + coef * sum_{j in W(i)} x_j^2 and y_i = x_i d_i^-beta:
 *   gx_k = g_k d_k^-beta - 2 beta coef x_k sum_{i : k in W(i)} g_i x_i d_i^(-beta-1)
 * where k in W(i) <=> i - before <= k <= i + after <=> k - after <= i <= k + before. */
static void lrn_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const lrn_params *p = x->node->params;
    const size_t inner = p->inner, image = (size_t)p->channels * inner;
    const float *gy = gout[0];
    float *gx = gin[0];
    if (!gx)
        return;
    if (!gy) {
        memset(gx, 0, (size_t)p->images * image * sizeof *gx);
        return;
    }
    float *d = x->scratch, *t = x->scratch + inner;
    const float k2 = 2.0f * p->beta * p->coef;
    for (int i = 0; i < p->images; i++) {
        const float *in = (const float *)x->in[0] + i * image;
        const float *g = gy + i * image;
        float *gi = gx + i * image;
        for (int c = 0; c < p->channels; c++) { /* first term, and t */
            lrn_denominator(p, in, c, d);
            const size_t off = (size_t)c * inner;
            for (size_t q = 0; q < inner; q++) {
                const float dp = powf(d[q], p->beta);
                gi[off + q] = g[off + q] / dp;
                t[off + q] = g[off + q] * in[off + q] / (dp * d[q]);
            }
        }
        for (int k = 0; k < p->channels; k++) { /* the neighbours' terms */
            const int i0 = k - p->after < 0 ? 0 : k - p->after;
            const int i1 = k + p->before >= p->channels ? p->channels - 1 : k + p->before;
            memset(d, 0, inner * sizeof *d);
            for (int j = i0; j <= i1; j++) {
                const float *tj = t + (size_t)j * inner;
                for (size_t q = 0; q < inner; q++)
                    d[q] += tj[q];
            }
            const size_t off = (size_t)k * inner;
            for (size_t q = 0; q < inner; q++)
                gi[off + q] -= k2 * in[off + q] * d[q];
        }
    }
}

/* ---- the family ------------------------------------------------------------------ */

static const cam_op_def op_maxpool = {
    .name = "MaxPool",
    .since = 1,
    .until = 22,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 2, /* Indices: refused when used */
    .type = maxpool_type,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
};

static const cam_op_def op_avgpool = {
    .name = "AveragePool",
    .since = 1,
    .until = 22,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .type = avgpool_type,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
};

static const cam_op_def op_global_avgpool = {
    .name = "GlobalAveragePool",
    .since = 1,
    .until = 22,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .type = global_type,
    .forward = gap_forward,
    .backward = gap_backward,
};

static const cam_op_def op_global_maxpool = {
    .name = "GlobalMaxPool",
    .since = 1,
    .until = 22,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .type = global_type,
    .forward = gmp_forward,
    .backward = gmp_backward,
};

static const cam_op_def op_lrn = {
    .name = "LRN",
    .since = 1,
    .until = 22,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .type = lrn_type,
    .forward = lrn_forward,
    .backward = lrn_backward,
};

const cam_op_def *const cam_ops_pool[] = {
    &op_maxpool, &op_avgpool, &op_global_avgpool, &op_global_maxpool, &op_lrn, NULL,
};
