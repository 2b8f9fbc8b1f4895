/*
 * reduce.c -- op family 'reduce': ReduceMean, ReduceSum, ReduceMax, ReduceMin,
 * ReduceL2, ReduceL1, ReduceSumSquare (see cam-op.h).
 *
 * axes come from the attribute `axes` (ReduceSum before opset 13, the others
 * before 18) or from the constant input 1 (from then on, with the attribute
 * noop_with_empty_axes); no axes means every axis, or with noop_with_empty_axes
 * = 1 the identity. keepdims (default 1) keeps the reduced dimensions as 1.
 *
 * The typing collapses the shape into alternating groups of kept and reduced
 * dimensions (dimensions of 1 dropped, neighbours of the same kind merged: the
 * ViT LayerNorm's mean over the last axis is one group of rows, a mean over
 * H and W is C kept x H*W reduced). The forward walks the input once in memory
 * order, innermost group as a contiguous loop; each output accumulates its
 * elements in that order, in double (scratch), so results depend on nothing but
 * the instance. ReduceMax/Min keep the first extremum (a NaN wins, as in
 * PyTorch), and their backward routes each gradient to that first extremum.
 *  ReduceSum       y = sum x          gx = g
 *  ReduceMean      y = sum x / n      gx = g / n
 *  ReduceSumSquare y = sum x^2        gx = 2 x g
 *  ReduceL1        y = sum |x|        gx = sign(x) g (0 at x = 0, as PyTorch)
 *  ReduceL2        y = sqrt(sum x^2)  gx = g x / y (0 where y = 0, as PyTorch's norm)
 *  ReduceMax/Min   y = max/min x      gx = g at the first extremum, 0 elsewhere
 * An empty reduction gives 0 (Sum, SumSquare, L1, L2), NaN (Mean), -inf (Max) and
 * +inf (Min), as ONNX.
 * Run-time values are float32. For constant folding, ReduceSum, ReduceMax and
 * ReduceMin also take a constant int64 input, and from opset 20 ReduceMax and
 * ReduceMin a constant bool one (exact, so in any order).
 */
#include "ops/cam-op.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum reduce_kind {
    REDUCE_SUM,
    REDUCE_MEAN,
    REDUCE_SUM_SQUARE,
    REDUCE_L1,
    REDUCE_L2,
    REDUCE_MAX,
    REDUCE_MIN,
} reduce_kind;

typedef struct reduce_params {
    reduce_kind kind;
    cam_dtype dtype;                   /* float32; int64 or bool when folding */
    int noop;                          /* no axes and noop_with_empty_axes: y = x */
    int nd;                            /* collapsed groups (>= 1) */
    int64_t dims[CAM_MAX_RANK];        /* their sizes */
    size_t out_stride[CAM_MAX_RANK];   /* output step per step of the group; 0: reduced */
    size_t in_numel, out_numel;
    size_t count;                      /* input elements per output */
} reduce_params;

/* The doubles of the scratch: the float scratch rounded up to 8 bytes (the
 * scratch holds one float more than needed for that). */
static double *scratch_doubles(float *scratch)
{
    uintptr_t at = ((uintptr_t)scratch + 7) & ~(uintptr_t)7;
    return (double *)at;
}

static cam_status reduce_type(cam_graph *g, cam_node *node, cam_error *err, reduce_kind kind,
                              int axes_input)
{
    reduce_params p = {0};
    int64_t keepdims, noop = 0;
    int64_t axes_buf[CAM_MAX_RANK];
    const int64_t *axes = NULL;
    size_t n_axes = 0;
    cam_status st;
    p.kind = kind;
    if ((st = cam_op_attr_int(g, node, "keepdims", 1, &keepdims, err)))
        return st;
    if (keepdims != 0 && keepdims != 1)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute 'keepdims' = %lld must be 0 or 1", (long long)keepdims);
    if (axes_input) {
        if ((st = cam_op_attr_int(g, node, "noop_with_empty_axes", 0, &noop, err)))
            return st;
        if (noop != 0 && noop != 1)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "attribute 'noop_with_empty_axes' = %lld must be 0 or 1",
                               (long long)noop);
        if (cam_op_input(g, node, 1)) {
            if ((st = cam_op_need_constant(g, node, 1, "axes", err)) ||
                (st = cam_op_constant_ints(g, node, 1, "axes", axes_buf, CAM_MAX_RANK, &n_axes,
                                           err)))
                return st;
            axes = axes_buf;
        }
    } else if ((st = cam_op_attr_ints(g, node, "axes", &axes, &n_axes, err))) {
        return st;
    }
    const cam_tensor *in = cam_op_input(g, node, 0);
    if (!in)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL, "input 0 (data) is missing");
    /* int64 (Sum, Max, Min) and bool (Max, Min from opset 20) only as constants. */
    const int extremum = kind == REDUCE_MAX || kind == REDUCE_MIN;
    const int foldable = in->kind == CAM_TENSOR_CONSTANT &&
                         ((in->dtype == CAM_DTYPE_INT64 && (extremum || kind == REDUCE_SUM)) ||
                          (in->dtype == CAM_DTYPE_BOOL && extremum && g->opset >= 20));
    if (!foldable && (st = cam_op_need_float(g, node, 0, err)))
        return st;
    p.dtype = in->dtype;
    const int rank = in->rank;
    if (n_axes > (size_t)rank)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "%zu axes given for an input of rank %d", n_axes, rank);

    /* Which dimensions are reduced. */
    int reduced[CAM_MAX_RANK] = {0};
    for (size_t i = 0; i < n_axes; i++) {
        int ax;
        if ((st = cam_op_axis(g, node, axes[i], rank, "axes", &ax, err)))
            return st;
        if (reduced[ax])
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "axis %lld appears twice in 'axes'", (long long)axes[i]);
        reduced[ax] = 1;
    }
    if (n_axes == 0) {
        if (noop)
            p.noop = 1;
        else
            for (int d = 0; d < rank; d++)
                reduced[d] = 1;
    }

    /* Output shape. */
    int64_t dims[CAM_MAX_RANK];
    int out_rank = 0;
    for (int d = 0; d < rank; d++) {
        if (!reduced[d])
            dims[out_rank++] = in->dims[d];
        else if (keepdims)
            dims[out_rank++] = 1;
    }
    p.in_numel = in->numel;
    p.out_numel = cam_dims_product(dims, 0, out_rank);
    p.count = 1;
    for (int d = 0; d < rank; d++)
        if (reduced[d])
            p.count *= (size_t)in->dims[d];

    /* Collapse: drop dimensions of 1, merge neighbours of the same kind. */
    int red[CAM_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        if (in->dims[d] == 1)
            continue;
        if (p.nd > 0 && red[p.nd - 1] == reduced[d]) {
            p.dims[p.nd - 1] *= in->dims[d];
        } else {
            p.dims[p.nd] = in->dims[d];
            red[p.nd++] = reduced[d];
        }
    }
    if (p.nd == 0) { /* one element */
        p.dims[0] = 1;
        red[0] = 0;
        p.nd = 1;
    }
    size_t stride = 1;
    for (int d = p.nd - 1; d >= 0; d--) {
        p.out_stride[d] = red[d] ? 0 : stride;
        if (!red[d])
            stride *= (size_t)p.dims[d];
    }

    if ((st = cam_op_set_output(g, node, 0, p.dtype, out_rank, dims, err)))
        return st;
    if (p.noop)
        node->scratch = 0;
    else if (kind == REDUCE_MAX || kind == REDUCE_MIN)
        node->scratch = p.out_numel; /* the backward's "routed" flags */
    else
        node->scratch = 2 * p.out_numel + 1; /* the double accumulators */
    if (!node->params && !(node->params = malloc(sizeof p)))
        return cam_op_fail(g, node, err, CAM_ERROR_NO_MEMORY, "out of memory");
    memcpy(node->params, &p, sizeof p);
    return CAM_OK;
}

/* Advances the odometer idx over the groups before the innermost one by one
 * row, moving the output offset *o along. */
static inline void reduce_next(const reduce_params *p, int64_t *idx, size_t *o)
{
    for (int d = p->nd - 2; d >= 0; d--) {
        *o += p->out_stride[d];
        if (++idx[d] < p->dims[d])
            return;
        *o -= p->out_stride[d] * (size_t)p->dims[d];
        idx[d] = 0;
    }
}

/* The running maximum m updated with v as PyTorch does: v replaces m when v > m or
 * v is NaN (the first maximum stays on ties; the first NaN wins and stays). */
static inline float max_first(float m, float v)
{
    return (v > m) | (v != v) ? v : m;
}

/* The same for the minimum. */
static inline float min_first(float m, float v)
{
    return (v < m) | (v != v) ? v : m;
}

/* The first extremum of each output, in memory order (Max, Min). */
static void reduce_extremum(const reduce_params *p, const float *in, float *y, size_t inner,
                            int inner_reduced, size_t rows)
{
    const int is_max = p->kind == REDUCE_MAX;
    int64_t idx[CAM_MAX_RANK] = {0};
    size_t o = 0;
    for (size_t i = 0; i < p->out_numel; i++)
        y[i] = is_max ? -INFINITY : INFINITY;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = in + r * inner;
        if (inner_reduced) {
            float m = y[o];
            if (is_max)
                for (size_t c = 0; c < inner; c++)
                    m = max_first(m, xr[c]);
            else
                for (size_t c = 0; c < inner; c++)
                    m = min_first(m, xr[c]);
            y[o] = m;
        } else {
            float *yo = y + o;
            if (is_max)
                for (size_t c = 0; c < inner; c++)
                    yo[c] = max_first(yo[c], xr[c]);
            else
                for (size_t c = 0; c < inner; c++)
                    yo[c] = min_first(yo[c], xr[c]);
        }
        reduce_next(p, idx, &o);
    }
}

/* Constant folding of int64 (Sum, Max, Min) and bool (Max, Min) tensors. */
static void reduce_fold_integers(const reduce_params *p, const void *in, void *out,
                                 size_t inner, size_t rows, size_t ostep)
{
    int64_t idx[CAM_MAX_RANK] = {0};
    size_t o = 0;
    if (p->dtype == CAM_DTYPE_BOOL) { /* max: any, min: all; empty: false, true */
        const uint8_t *x = in;
        uint8_t *y = out, init = p->kind == REDUCE_MIN;
        for (size_t i = 0; i < p->out_numel; i++)
            y[i] = init;
        for (size_t r = 0; r < rows; r++) {
            for (size_t c = 0; c < inner; c++) {
                uint8_t v = x[r * inner + c] != 0, *yo = y + o + c * ostep;
                *yo = p->kind == REDUCE_MAX ? (*yo | v) : (*yo & v);
            }
            reduce_next(p, idx, &o);
        }
        return;
    }
    const int64_t *x = in;
    int64_t *y = out;
    const int64_t init = p->kind == REDUCE_MAX ? INT64_MIN : p->kind == REDUCE_MIN ? INT64_MAX : 0;
    for (size_t i = 0; i < p->out_numel; i++)
        y[i] = init;
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < inner; c++) {
            int64_t v = x[r * inner + c], *yo = y + o + c * ostep;
            if (p->kind == REDUCE_MAX)
                *yo = v > *yo ? v : *yo;
            else if (p->kind == REDUCE_MIN)
                *yo = v < *yo ? v : *yo;
            else /* wraps around like numpy's int64 sum, without undefined behaviour */
                *yo = (int64_t)((uint64_t)*yo + (uint64_t)v);
        }
        reduce_next(p, idx, &o);
    }
}

static void reduce_forward(const cam_exec *x)
{
    const reduce_params *p = x->node->params;
    const float *in = x->in[0];
    float *y = x->out[0];
    if (p->noop) {
        if ((const void *)y != (const void *)in)
            memcpy(y, in, p->in_numel * cam_dtype_size(p->dtype));
        return;
    }
    const size_t inner = (size_t)p->dims[p->nd - 1];
    const int inner_reduced = p->out_stride[p->nd - 1] == 0;
    const size_t rows = p->in_numel == 0 ? 0 : p->in_numel / inner;
    if (p->dtype != CAM_DTYPE_FLOAT) {
        reduce_fold_integers(p, in, y, inner, rows, inner_reduced ? 0 : 1);
        return;
    }
    int64_t idx[CAM_MAX_RANK] = {0};
    size_t o = 0;

    if (p->kind == REDUCE_MAX || p->kind == REDUCE_MIN) {
        reduce_extremum(p, in, y, inner, inner_reduced, rows);
        return;
    }

    /* Sums of x, x^2 or |x|: one double accumulator per output. */
    double *acc = scratch_doubles(x->scratch);
    const int square = p->kind == REDUCE_L2 || p->kind == REDUCE_SUM_SQUARE;
    const int absolute = p->kind == REDUCE_L1;
    for (size_t i = 0; i < p->out_numel; i++)
        acc[i] = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = in + r * inner;
        if (inner_reduced) {
            double s = acc[o];
            if (square)
                for (size_t c = 0; c < inner; c++)
                    s += (double)xr[c] * xr[c];
            else if (absolute)
                for (size_t c = 0; c < inner; c++)
                    s += fabsf(xr[c]);
            else
                for (size_t c = 0; c < inner; c++)
                    s += xr[c];
            acc[o] = s;
        } else {
            double *ao = acc + o;
            if (square)
                for (size_t c = 0; c < inner; c++)
                    ao[c] += (double)xr[c] * xr[c];
            else if (absolute)
                for (size_t c = 0; c < inner; c++)
                    ao[c] += fabsf(xr[c]);
            else
                for (size_t c = 0; c < inner; c++)
                    ao[c] += xr[c];
        }
        reduce_next(p, idx, &o);
    }
    switch (p->kind) {
    case REDUCE_MEAN:
        for (size_t i = 0; i < p->out_numel; i++)
            y[i] = (float)(acc[i] / (double)p->count); /* 0 / 0: NaN, as ONNX */
        break;
    case REDUCE_L2:
        for (size_t i = 0; i < p->out_numel; i++)
            y[i] = (float)sqrt(acc[i]);
        break;
    default:
        for (size_t i = 0; i < p->out_numel; i++)
            y[i] = (float)acc[i];
        break;
    }
}

static void reduce_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const reduce_params *p = x->node->params;
    const float *in = x->in[0], *y = x->out[0], *g = gout[0];
    float *gx = gin[0];
    if (!gx)
        return;
    if (!g) {
        memset(gx, 0, p->in_numel * sizeof *gx);
        return;
    }
    if (p->noop) {
        if (gx != g)
            memcpy(gx, g, p->in_numel * sizeof *gx);
        return;
    }
    const size_t inner = (size_t)p->dims[p->nd - 1];
    const int inner_reduced = p->out_stride[p->nd - 1] == 0;
    const size_t rows = p->in_numel == 0 ? 0 : p->in_numel / inner;
    const size_t ostep = inner_reduced ? 0 : 1; /* output step per inner element */
    int64_t idx[CAM_MAX_RANK] = {0};
    size_t o = 0;

    switch (p->kind) {
    case REDUCE_MAX:
    case REDUCE_MIN: {
        /* The first element equal to the output (the first NaN when it is NaN) in
         * memory order takes the gradient; flags mark the outputs already routed. */
        float *routed = x->scratch;
        memset(routed, 0, p->out_numel * sizeof *routed);
        for (size_t r = 0; r < rows; r++) {
            const float *xr = in + r * inner;
            float *gxr = gx + r * inner;
            for (size_t c = 0; c < inner; c++) {
                const size_t oc = o + c * ostep;
                const float v = xr[c], m = y[oc];
                const int hit = routed[oc] == 0.0f && (v == m || (v != v && m != m));
                gxr[c] = hit ? g[oc] : 0.0f;
                if (hit)
                    routed[oc] = 1.0f;
            }
            reduce_next(p, idx, &o);
        }
        break;
    }
    case REDUCE_L2:
    case REDUCE_L1:
    case REDUCE_SUM_SQUARE:
        for (size_t r = 0; r < rows; r++) {
            const float *xr = in + r * inner;
            float *gxr = gx + r * inner;
            if (p->kind == REDUCE_L2)
                for (size_t c = 0; c < inner; c++) {
                    const size_t oc = o + c * ostep;
                    gxr[c] = y[oc] == 0.0f ? 0.0f : g[oc] * xr[c] / y[oc];
                }
            else if (p->kind == REDUCE_L1)
                for (size_t c = 0; c < inner; c++) {
                    const float v = xr[c], gc = g[o + c * ostep];
                    gxr[c] = v > 0.0f ? gc : v < 0.0f ? -gc : 0.0f;
                }
            else
                for (size_t c = 0; c < inner; c++)
                    gxr[c] = 2.0f * xr[c] * g[o + c * ostep];
            reduce_next(p, idx, &o);
        }
        break;
    default: {
        /* Sum: the gradient broadcast back; Mean: divided by the count. */
        const int mean = p->kind == REDUCE_MEAN;
        const float n = (float)p->count;
        for (size_t r = 0; r < rows; r++) {
            float *gxr = gx + r * inner;
            if (inner_reduced) {
                const float v = mean ? g[o] / n : g[o];
                for (size_t c = 0; c < inner; c++)
                    gxr[c] = v;
            } else if (mean) {
                for (size_t c = 0; c < inner; c++)
                    gxr[c] = g[o + c] / n;
            } else {
                memcpy(gxr, g + o, inner * sizeof *gxr);
            }
            reduce_next(p, idx, &o);
        }
        break;
    }
    }
}

/* One type hook per op and axes source. */
#define REDUCE_TYPE(fn, kind, axes_input)                                                        \
    static cam_status fn(cam_graph *g, cam_node *node, cam_error *err)                           \
    {                                                                                            \
        return reduce_type(g, node, err, kind, axes_input);                                      \
    }

REDUCE_TYPE(mean_attr_type, REDUCE_MEAN, 0)
REDUCE_TYPE(mean_input_type, REDUCE_MEAN, 1)
REDUCE_TYPE(sum_attr_type, REDUCE_SUM, 0)
REDUCE_TYPE(sum_input_type, REDUCE_SUM, 1)
REDUCE_TYPE(max_attr_type, REDUCE_MAX, 0)
REDUCE_TYPE(max_input_type, REDUCE_MAX, 1)
REDUCE_TYPE(l2_attr_type, REDUCE_L2, 0)
REDUCE_TYPE(l2_input_type, REDUCE_L2, 1)
REDUCE_TYPE(min_attr_type, REDUCE_MIN, 0)
REDUCE_TYPE(min_input_type, REDUCE_MIN, 1)
REDUCE_TYPE(l1_attr_type, REDUCE_L1, 0)
REDUCE_TYPE(l1_input_type, REDUCE_L1, 1)
REDUCE_TYPE(sum_square_attr_type, REDUCE_SUM_SQUARE, 0)
REDUCE_TYPE(sum_square_input_type, REDUCE_SUM_SQUARE, 1)

/* axes_input: the versions with the optional constant input `axes`. */
#define REDUCE_DEF(var, op, from, to, typefn, axes_input)                                        \
    static const cam_op_def var = {                                                              \
        .name = op,                                                                              \
        .since = from,                                                                           \
        .until = to,                                                                             \
        .min_inputs = 1,                                                                         \
        .max_inputs = 1 + (axes_input),                                                          \
        .min_outputs = 1,                                                                        \
        .max_outputs = 1,                                                                        \
        .type = typefn,                                                                          \
        .forward = reduce_forward,                                                               \
        .backward = reduce_backward,                                                             \
    }

REDUCE_DEF(reduce_mean_7, "ReduceMean", 7, 17, mean_attr_type, 0);
REDUCE_DEF(reduce_mean_18, "ReduceMean", 18, 22, mean_input_type, 1);
REDUCE_DEF(reduce_sum_7, "ReduceSum", 7, 12, sum_attr_type, 0);
REDUCE_DEF(reduce_sum_13, "ReduceSum", 13, 22, sum_input_type, 1);
REDUCE_DEF(reduce_max_7, "ReduceMax", 7, 17, max_attr_type, 0);
REDUCE_DEF(reduce_max_18, "ReduceMax", 18, 22, max_input_type, 1);
REDUCE_DEF(reduce_l2_7, "ReduceL2", 7, 17, l2_attr_type, 0);
REDUCE_DEF(reduce_l2_18, "ReduceL2", 18, 22, l2_input_type, 1);
REDUCE_DEF(reduce_min_7, "ReduceMin", 7, 17, min_attr_type, 0);
REDUCE_DEF(reduce_min_18, "ReduceMin", 18, 22, min_input_type, 1);
REDUCE_DEF(reduce_l1_7, "ReduceL1", 7, 17, l1_attr_type, 0);
REDUCE_DEF(reduce_l1_18, "ReduceL1", 18, 22, l1_input_type, 1);
REDUCE_DEF(reduce_sum_square_7, "ReduceSumSquare", 7, 17, sum_square_attr_type, 0);
REDUCE_DEF(reduce_sum_square_18, "ReduceSumSquare", 18, 22, sum_square_input_type, 1);

const cam_op_def *const cam_ops_reduce[] = {
    &reduce_mean_7, &reduce_mean_18, &reduce_sum_7,        &reduce_sum_13,
    &reduce_max_7,  &reduce_max_18,  &reduce_min_7,        &reduce_min_18,
    &reduce_l2_7,   &reduce_l2_18,   &reduce_l1_7,         &reduce_l1_18,
    &reduce_sum_square_7, &reduce_sum_square_18, NULL,
};
