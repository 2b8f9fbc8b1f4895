/*
 * softmax.c -- op family 'softmax': Softmax and LogSoftmax (see cam-op.h).
 *
 * Both normalise a tensor seen as outer x K x inner along K:
 *  - before opset 13 the input is coerced to 2-D at `axis` (default 1), and the
 *    whole trailing block is normalised: K = product of dims[axis..], inner = 1;
 *  - from opset 13 only the dimension `axis` (default -1) is: K = dims[axis],
 *    inner = product of the dimensions after it.
 * The forward subtracts the maximum before exponentiating and sums the
 * exponentials in double, in increasing K order, so results do not depend on
 * anything but the instance. Softmax with inner = 1 (the usual last axis) runs the
 * tested kernels cam_softmax_rows_forward (vectorised, threaded over rows) and
 * cam_softmax_backward; the strided case runs here with the
 * inner positions as independent lanes (vectorisable loops over contiguous rows).
 *  Softmax     y = exp(x - max) / sum,      gx = y * (g - sum(g * y))
 *  LogSoftmax  y = x - max - log(sum),     gx = g - exp(y) * sum(g)
 * Only float32 is implemented.
 */
#include "ops/cam-op.h"
#include "kernels/cam-kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct softmax_params {
    size_t outer, k, inner;
    int log; /* LogSoftmax */
} softmax_params;

/* The per-lane doubles of the scratch: the float scratch rounded up to 8 bytes
 * (the scratch holds one float more than needed for that). */
static double *scratch_doubles(float *scratch)
{
    uintptr_t at = ((uintptr_t)scratch + 7) & ~(uintptr_t)7;
    return (double *)at;
}

/* Scratch floats of the strided paths: maximum and log-sum per lane, one double
 * per lane, one float of alignment slack. */
static size_t softmax_scratch(size_t inner)
{
    return 4 * inner + 2;
}

static cam_status softmax_type(cam_graph *g, cam_node *node, cam_error *err, int log)
{
    const int coerce = g->opset < 13;
    int64_t axis;
    int ax;
    cam_status st;
    if ((st = cam_op_attr_int(g, node, "axis", coerce ? 1 : -1, &axis, err)) ||
        (st = cam_op_need_float(g, node, 0, err)))
        return st;
    const cam_tensor *in = cam_op_input(g, node, 0);
    if (!in)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL, "input 0 is missing");
    if ((st = cam_op_axis(g, node, axis, in->rank, "attribute 'axis'", &ax, err)))
        return st;
    softmax_params p = {0};
    p.log = log;
    p.outer = cam_dims_product(in->dims, 0, ax);
    if (coerce) {
        p.k = cam_dims_product(in->dims, ax, in->rank);
        p.inner = 1;
    } else {
        p.k = (size_t)in->dims[ax];
        p.inner = cam_dims_product(in->dims, ax + 1, in->rank);
    }
    if ((st = cam_op_set_output(g, node, 0, CAM_DTYPE_FLOAT, in->rank, in->dims, err)))
        return st;
    node->scratch = p.inner == 1 && !log ? 0 : softmax_scratch(p.inner);
    if (!node->params && !(node->params = malloc(sizeof p)))
        return cam_op_fail(g, node, err, CAM_ERROR_NO_MEMORY, "out of memory");
    memcpy(node->params, &p, sizeof p);
    return CAM_OK;
}

static cam_status softmax_type_plain(cam_graph *g, cam_node *node, cam_error *err)
{
    return softmax_type(g, node, err, 0);
}

static cam_status softmax_type_log(cam_graph *g, cam_node *node, cam_error *err)
{
    return softmax_type(g, node, err, 1);
}

/* One outer block x (K x inner) -> y: the maximum of each lane, then the sum of
 * the exponentials in increasing K order (in double), then the normalisation. */
static void softmax_block(const softmax_params *p, const float *x, float *y, float *scratch)
{
    const size_t k = p->k, inner = p->inner;
    float *mx = scratch, *lse = scratch + inner;
    double *sum = scratch_doubles(scratch + 2 * inner);
    memcpy(mx, x, inner * sizeof *mx);
    for (size_t j = 1; j < k; j++) {
        const float *xj = x + j * inner;
        for (size_t i = 0; i < inner; i++)
            mx[i] = xj[i] > mx[i] ? xj[i] : mx[i];
    }
    for (size_t i = 0; i < inner; i++)
        sum[i] = 0.0;
    if (p->log) {
        for (size_t j = 0; j < k; j++) {
            const float *xj = x + j * inner;
            for (size_t i = 0; i < inner; i++)
                sum[i] += expf(xj[i] - mx[i]);
        }
        for (size_t i = 0; i < inner; i++)
            lse[i] = (float)log(sum[i]);
        for (size_t j = 0; j < k; j++) {
            const float *xj = x + j * inner;
            float *yj = y + j * inner;
            for (size_t i = 0; i < inner; i++)
                yj[i] = (xj[i] - mx[i]) - lse[i];
        }
        return;
    }
    for (size_t j = 0; j < k; j++) {
        const float *xj = x + j * inner;
        float *yj = y + j * inner;
        for (size_t i = 0; i < inner; i++) {
            yj[i] = expf(xj[i] - mx[i]);
            sum[i] += yj[i];
        }
    }
    for (size_t i = 0; i < inner; i++)
        lse[i] = (float)(1.0 / sum[i]); /* here: the reciprocal of the sum */
    for (size_t j = 0; j < k; j++) {
        float *yj = y + j * inner;
        for (size_t i = 0; i < inner; i++)
            yj[i] *= lse[i];
    }
}

static void softmax_forward(const cam_exec *x)
{
    const softmax_params *p = x->node->params;
    const float *in = x->in[0];
    float *out = x->out[0];
    if (p->k == 0 || p->inner == 0)
        return;
    if (p->inner == 1 && !p->log) {
        cam_softmax_rows_forward((int)p->outer, (int)p->k, in, out);
        return;
    }
    const size_t block = p->k * p->inner;
    for (size_t o = 0; o < p->outer; o++)
        softmax_block(p, in + o * block, out + o * block, x->scratch);
}

/* One outer block: per lane, s = sum over K of g * y (Softmax) or of g
 * (LogSoftmax), in double in increasing K order; then gx. */
static void softmax_block_backward(const softmax_params *p, const float *y, const float *g,
                                   float *gx, float *scratch)
{
    const size_t k = p->k, inner = p->inner;
    double *s = scratch_doubles(scratch + 2 * inner);
    for (size_t i = 0; i < inner; i++)
        s[i] = 0.0;
    if (p->log) {
        for (size_t j = 0; j < k; j++) {
            const float *gj = g + j * inner;
            for (size_t i = 0; i < inner; i++)
                s[i] += gj[i];
        }
        float *sf = scratch;
        for (size_t i = 0; i < inner; i++)
            sf[i] = (float)s[i];
        for (size_t j = 0; j < k; j++) {
            const float *yj = y + j * inner, *gj = g + j * inner;
            float *gxj = gx + j * inner;
            for (size_t i = 0; i < inner; i++)
                gxj[i] = gj[i] - expf(yj[i]) * sf[i];
        }
        return;
    }
    for (size_t j = 0; j < k; j++) {
        const float *yj = y + j * inner, *gj = g + j * inner;
        for (size_t i = 0; i < inner; i++)
            s[i] += (double)gj[i] * yj[i];
    }
    for (size_t j = 0; j < k; j++) {
        const float *yj = y + j * inner, *gj = g + j * inner;
        float *gxj = gx + j * inner;
        for (size_t i = 0; i < inner; i++)
            gxj[i] = yj[i] * (float)(gj[i] - s[i]);
    }
}

static void softmax_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const softmax_params *p = x->node->params;
    const float *y = x->out[0], *g = gout[0];
    float *gx = gin[0];
    const size_t block = p->k * p->inner;
    if (!gx)
        return;
    if (!g) {
        memset(gx, 0, p->outer * block * sizeof *gx);
        return;
    }
    if (block == 0)
        return;
    if (p->inner == 1 && !p->log) {
        cam_softmax_backward((int)p->outer, (int)p->k, y, g, gx);
        return;
    }
    for (size_t o = 0; o < p->outer; o++)
        softmax_block_backward(p, y + o * block, g + o * block, gx + o * block, x->scratch);
}

#define SOFTMAX_DEF(var, op, from, to, typefn)                                                   \
    static const cam_op_def var = {                                                              \
        .name = op,                                                                              \
        .since = from,                                                                           \
        .until = to,                                                                             \
        .min_inputs = 1,                                                                         \
        .max_inputs = 1,                                                                         \
        .min_outputs = 1,                                                                        \
        .max_outputs = 1,                                                                        \
        .type = typefn,                                                                          \
        .forward = softmax_forward,                                                              \
        .backward = softmax_backward,                                                            \
    }

/* Opsets 7-12 coerce to 2-D at axis (default 1); from 13 one axis (default -1).
 * The typing reads the file's opset; two defs keep the ranges visible in listings. */
SOFTMAX_DEF(softmax_7, "Softmax", 7, 12, softmax_type_plain);
SOFTMAX_DEF(softmax_13, "Softmax", 13, 22, softmax_type_plain);
SOFTMAX_DEF(log_softmax_7, "LogSoftmax", 7, 12, softmax_type_log);
SOFTMAX_DEF(log_softmax_13, "LogSoftmax", 13, 22, softmax_type_log);

const cam_op_def *const cam_ops_softmax[] = {&softmax_7, &softmax_13, &log_softmax_7,
                                             &log_softmax_13, NULL};
