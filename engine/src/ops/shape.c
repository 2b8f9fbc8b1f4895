/*
 * shape.c -- op family 'shape' (see cam-op.h): ops that move elements or compute
 * shapes, never arithmetic on float values.
 *
 *   views      Reshape, Flatten, Squeeze, Unsqueeze (CAM_OP_VIEW);
 *              Identity, Dropout (CAM_OP_VIEW | CAM_OP_IDENTITY)
 *   copies     Transpose, Concat, Split, Slice, Gather, Expand, Pad ('constant' mode)
 *   shapes     Shape, Size, ConstantOfShape, Range, Cast
 *
 * Choices made here:
 *  - Every op moves elements of any size: float32 at run time, and int64 or bool
 *    (uint8) too when a node is folded at load (all inputs constant), so the
 *    forward passes copy bytes of the input's element size.
 *  - Inputs that give a shape (Reshape's shape, Slice's starts/ends/axes/steps,
 *    Squeeze/Unsqueeze axes, Expand's shape, Pad's pads, Split's split,
 *    ConstantOfShape's input, Range's inputs, Gather's indices) must be
 *    constants: the graph is typed once, for fixed shapes.
 *  - Shape and Size give a constant even when their input is computed at run
 *    time (only its typed shape matters): their `type` hook stores the output's
 *    values with cam_tensor_set_constant(), so the shape subgraph after them
 *    folds although the node itself is not "all inputs constant". When the
 *    input is a constant the node folds the ordinary way, through forward.
 *  - Transpose, Slice, Expand and Pad are each one strided copy of a "box"
 *    (copy_box below) planned at load, with unit dimensions dropped and
 *    neighbours that are contiguous in both source and destination merged:
 *    contiguous inner runs go through memcpy, a 2-D transpose is done in tiles.
 *  - Negative axes and indices are accepted in every opset, as ONNX Runtime does.
 *  - Gradients that sum (Gather with repeated indices, Expand) add in the order
 *    of the output elements: the result does not depend on threads or batches.
 *  - Dropout is inference only: training_mode must be absent or a constant
 *    false (or true with a constant ratio of 0, which drops nothing); its
 *    optional mask output is then a constant of ones.
 *  - Cast: targets float32, int64 and bool. A runtime value (float32) may only
 *    be cast to float32 (a copy, gradient passed through); the other
 *    conversions happen when folding constants. Float to int64 truncates toward
 *    zero and saturates (NaN gives 0).
 */
#include "ops/cam-op.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRY(call)                                                                                  \
    do {                                                                                           \
        cam_status try_status_ = (call);                                                           \
        if (try_status_ != CAM_OK)                                                                 \
            return try_status_;                                                                    \
    } while (0)

/* ---- helpers for the typing ------------------------------------------------- */

/* Replaces the node's parameters (a node typed again frees its old ones). */
static void set_params(cam_node *node, void *params)
{
    free(node->params);
    node->params = params;
}

static cam_status no_memory(const cam_graph *g, const cam_node *node, cam_error *err)
{
    return cam_op_fail(g, node, err, CAM_ERROR_NO_MEMORY, "out of memory");
}

/* "[1, -1, 768]" into buf (cut with "...]" when too long; size >= 8). */
static const char *ints_string(char *buf, size_t size, const int64_t *v, size_t n)
{
    size_t used = 0;
    buf[used++] = '[';
    /* Invariant: used + 5 <= size, so "...]" or "]" always fits. */
    for (size_t i = 0; i < n; i++) {
        char item[32];
        const int len = snprintf(item, sizeof item, "%s%lld", i ? ", " : "", (long long)v[i]);
        if (used + (size_t)len + 5 > size) {
            memcpy(buf + used, "...]", 5);
            return buf;
        }
        memcpy(buf + used, item, (size_t)len);
        used += (size_t)len;
    }
    memcpy(buf + used, "]", 2);
    return buf;
}

/* Input i, which must be present. */
static cam_status need_input(const cam_graph *g, const cam_node *node, int i, const char *what,
                             const cam_tensor **out, cam_error *err)
{
    *out = cam_op_input(g, node, i);
    if (!*out)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL, "input %d (%s) is missing", i,
                           what);
    return CAM_OK;
}

/* An integer attribute that ONNX requires. */
static cam_status attr_int_required(const cam_graph *g, cam_node *node, const char *name,
                                    int64_t *out, cam_error *err)
{
    if (!cam_node_attr(node, name))
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL, "attribute '%s' is required",
                           name);
    return cam_op_attr_int(g, node, name, 0, out, err);
}

/* The values of a shape-giving input i (int64, 0-D or 1-D, at most max values),
 * which must be a constant. */
static cam_status shape_ints(const cam_graph *g, const cam_node *node, int i, const char *what,
                             int64_t *out, size_t max, size_t *n, cam_error *err)
{
    const cam_tensor *t;
    TRY(need_input(g, node, i, what, &t, err));
    if (t->kind != CAM_TENSOR_CONSTANT)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input %d (%s) '%s' is computed at run time: the shape must be known "
                           "at load time",
                           i, what, t->name);
    if (t->dtype != CAM_DTYPE_INT64)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "input %d (%s) '%s' is %s, not int64", i, what, t->name,
                           cam_dtype_name(t->dtype));
    if (t->rank > 1)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "input %d (%s) '%s' has rank %d, not 1", i, what, t->name, t->rank);
    if (t->numel > max)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "input %d (%s) '%s' has %zu values, more than the %zu possible here", i,
                           what, t->name, t->numel, max);
    return cam_op_constant_ints(g, node, i, what, out, max, n, err);
}

/* Normalised, distinct axes (each in [-rank, rank-1]) into out. */
static cam_status distinct_axes(const cam_graph *g, const cam_node *node, const int64_t *axes,
                                size_t n, int rank, const char *what, int *out, cam_error *err)
{
    int seen[CAM_MAX_RANK] = {0};
    char buf[160];
    for (size_t i = 0; i < n; i++) {
        TRY(cam_op_axis(g, node, axes[i], rank, what, &out[i], err));
        if (seen[out[i]]++)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "%s %s names axis %d twice", what,
                               ints_string(buf, sizeof buf, axes, n), out[i]);
    }
    return CAM_OK;
}

static void contiguous_strides(int rank, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int k = rank - 1; k >= 0; k--) {
        strides[k] = s;
        s *= dims[k];
    }
}

/* ---- helpers for forward and backward ---------------------------------------- */

static const cam_tensor *input_tensor(const cam_exec *x, int i)
{
    return &x->graph->tensors[x->node->inputs[i]];
}

static const cam_tensor *output_tensor(const cam_exec *x, int j)
{
    return &x->graph->tensors[x->node->outputs[j]];
}

/* Zero gradients for the inputs from `first` on (shape inputs, Dropout's ratio). */
static void zero_gradients_from(const cam_exec *x, float *const *gin, int first)
{
    for (int i = first; i < x->node->n_inputs; i++)
        if (gin[i] && x->node->inputs[i] >= 0)
            memset(gin[i], 0, input_tensor(x, i)->numel * sizeof(float));
}

/* count elements of esize bytes, each equal to value. */
static void fill_elements(void *dst, size_t count, const unsigned char *value, size_t esize)
{
    int zero = 1;
    for (size_t b = 0; b < esize; b++)
        zero &= value[b] == 0;
    if (zero || esize == 1) {
        memset(dst, zero ? 0 : value[0], count * esize);
        return;
    }
    unsigned char *d = dst;
    if (esize == 4) {
        uint32_t v;
        memcpy(&v, value, 4);
        for (size_t i = 0; i < count; i++)
            memcpy(d + 4 * i, &v, 4);
    } else if (esize == 8) {
        uint64_t v;
        memcpy(&v, value, 8);
        for (size_t i = 0; i < count; i++)
            memcpy(d + 8 * i, &v, 8);
    } else {
        for (size_t i = 0; i < count; i++)
            memcpy(d + esize * i, value, esize);
    }
}

/* ---- strided copies of a box ----------------------------------------------------
 * A box is a rank-r block of elements: element (i_0 .. i_r-1) goes from
 * src[src_offset + sum i_k src_stride[k]] to dst[dst_offset + sum i_k dst_stride[k]].
 * Strides and offsets count elements; source strides may be negative (Slice with
 * negative steps) or 0 (Expand). Transpose, Slice, Expand and Pad plan one box
 * for forward and one for backward at load. */

typedef struct copy_box {
    int rank;                         /* -1: empty (a zero dimension) */
    int64_t dims[CAM_MAX_RANK];
    int64_t dst_stride[CAM_MAX_RANK];
    int64_t src_stride[CAM_MAX_RANK];
    int64_t dst_offset, src_offset;
} copy_box;

/* Drops unit dimensions and merges neighbours that are contiguous in both source
 * and destination. Keeps the order in which elements are visited. */
static void box_simplify(copy_box *b)
{
    int r = 0;
    for (int k = 0; k < b->rank; k++) {
        if (b->dims[k] == 0) {
            b->rank = -1;
            return;
        }
        if (b->dims[k] == 1)
            continue;
        if (r > 0 && b->dst_stride[r - 1] == b->dst_stride[k] * b->dims[k] &&
            b->src_stride[r - 1] == b->src_stride[k] * b->dims[k]) {
            b->dims[r - 1] *= b->dims[k];
            b->dst_stride[r - 1] = b->dst_stride[k];
            b->src_stride[r - 1] = b->src_stride[k];
            continue;
        }
        b->dims[r] = b->dims[k];
        b->dst_stride[r] = b->dst_stride[k];
        b->src_stride[r] = b->src_stride[k];
        r++;
    }
    b->rank = r;
}

/* Advances idx over the first n dimensions of the box (last fastest), moving both
 * offsets. Returns 0 after the last position. */
static int box_next(const copy_box *b, int n, int64_t *idx, int64_t *dst, int64_t *src)
{
    for (int k = n - 1; k >= 0; k--) {
        *dst += b->dst_stride[k];
        *src += b->src_stride[k];
        if (++idx[k] < b->dims[k])
            return 1;
        *dst -= b->dst_stride[k] * b->dims[k];
        *src -= b->src_stride[k] * b->dims[k];
        idx[k] = 0;
    }
    return 0;
}

/* n elements from src (stride ss elements) to dst (stride ds elements). Element
 * types are the buffers' own (float32, int64, bool): their data is allocated,
 * so aligned for them. */
#define COPY_LINE(T)                                                                               \
    static void copy_line_##T(T *dst, int64_t ds, const T *src, int64_t ss, int64_t n)             \
    {                                                                                              \
        if (ss == 0) {                                                                             \
            const T v = src[0];                                                                    \
            for (int64_t i = 0; i < n; i++)                                                        \
                dst[i * ds] = v;                                                                   \
        } else {                                                                                   \
            for (int64_t i = 0; i < n; i++)                                                        \
                dst[i * ds] = src[i * ss];                                                         \
        }                                                                                          \
    }
COPY_LINE(uint8_t)
COPY_LINE(uint32_t)
COPY_LINE(uint64_t)
#undef COPY_LINE

static void copy_line(unsigned char *dst, int64_t ds, const unsigned char *src, int64_t ss,
                      int64_t n, size_t esize)
{
    if (ds == 1 && ss == 1) {
        memcpy(dst, src, (size_t)n * esize);
        return;
    }
    switch (esize) {
    case 1: copy_line_uint8_t(dst, ds, src, ss, n); break;
    case 4:
        copy_line_uint32_t((uint32_t *)(void *)dst, ds, (const uint32_t *)(const void *)src, ss, n);
        break;
    case 8:
        copy_line_uint64_t((uint64_t *)(void *)dst, ds, (const uint64_t *)(const void *)src, ss, n);
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(dst + i * ds * (int64_t)esize, src + i * ss * (int64_t)esize, esize);
    }
}

/* dst[r * dst_row + c] = src[r + c * src_col] for r < rows, c < cols, in square
 * tiles so that both sides stay in cache. Element types are the buffers' own
 * (float32, int64, bool): their data is allocated, so aligned for them. */
#define TRANSPOSE_TILE 32
#define TRANSPOSE_2D(T)                                                                            \
    static void transpose_2d_##T(T *dst, int64_t dst_row, const T *src, int64_t src_col,           \
                                 int64_t rows, int64_t cols)                                       \
    {                                                                                              \
        for (int64_t r0 = 0; r0 < rows; r0 += TRANSPOSE_TILE) {                                    \
            const int64_t r1 = r0 + TRANSPOSE_TILE < rows ? r0 + TRANSPOSE_TILE : rows;            \
            for (int64_t c0 = 0; c0 < cols; c0 += TRANSPOSE_TILE) {                                \
                const int64_t c1 = c0 + TRANSPOSE_TILE < cols ? c0 + TRANSPOSE_TILE : cols;        \
                for (int64_t r = r0; r < r1; r++)                                                  \
                    for (int64_t c = c0; c < c1; c++)                                              \
                        dst[r * dst_row + c] = src[r + c * src_col];                               \
            }                                                                                      \
        }                                                                                          \
    }
TRANSPOSE_2D(uint8_t)
TRANSPOSE_2D(uint32_t)
TRANSPOSE_2D(uint64_t)
#undef TRANSPOSE_2D

static void transpose_2d(unsigned char *dst, int64_t dst_row, const unsigned char *src,
                         int64_t src_col, int64_t rows, int64_t cols, size_t esize)
{
    switch (esize) {
    case 1: transpose_2d_uint8_t(dst, dst_row, src, src_col, rows, cols); break;
    case 4:
        transpose_2d_uint32_t((uint32_t *)(void *)dst, dst_row, (const uint32_t *)(const void *)src,
                              src_col, rows, cols);
        break;
    case 8:
        transpose_2d_uint64_t((uint64_t *)(void *)dst, dst_row, (const uint64_t *)(const void *)src,
                              src_col, rows, cols);
        break;
    default:
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++)
                memcpy(dst + (r * dst_row + c) * (int64_t)esize,
                       src + (r + c * src_col) * (int64_t)esize, esize);
    }
}

static void box_copy(const copy_box *b, void *dst, const void *src, size_t esize)
{
    if (b->rank < 0)
        return;
    const int64_t e = (int64_t)esize;
    unsigned char *d = (unsigned char *)dst + b->dst_offset * e;
    const unsigned char *s = (const unsigned char *)src + b->src_offset * e;
    if (b->rank == 0) {
        memcpy(d, s, esize);
        return;
    }
    const int last = b->rank - 1;
    /* A transpose of the last two dimensions: the destination is contiguous
     * along the last one, the source along the one before. */
    const int tiled = last >= 1 && b->dst_stride[last] == 1 && b->src_stride[last] != 1 &&
                      b->src_stride[last - 1] == 1;
    const int outer = tiled ? last - 1 : last;
    int64_t idx[CAM_MAX_RANK] = {0}, doff = 0, soff = 0;
    do {
        if (tiled)
            transpose_2d(d + doff * e, b->dst_stride[last - 1], s + soff * e, b->src_stride[last],
                         b->dims[last - 1], b->dims[last], esize);
        else
            copy_line(d + doff * e, b->dst_stride[last], s + soff * e, b->src_stride[last],
                      b->dims[last], esize);
    } while (box_next(b, outer, idx, &doff, &soff));
}

/* acc[source positions] += g[destination positions] over the box, in the order of
 * its elements (Expand's backward: the box of its forward, read in reverse). */
static void box_accumulate(const copy_box *b, float *acc, const float *g)
{
    if (b->rank < 0)
        return;
    acc += b->src_offset;
    g += b->dst_offset;
    if (b->rank == 0) {
        acc[0] += g[0];
        return;
    }
    const int last = b->rank - 1;
    const int64_t n = b->dims[last], ds = b->dst_stride[last], ss = b->src_stride[last];
    int64_t idx[CAM_MAX_RANK] = {0}, doff = 0, soff = 0;
    do {
        float *a = acc + soff;
        const float *v = g + doff;
        if (ss == 0) {
            float sum = a[0];
            for (int64_t i = 0; i < n; i++)
                sum += v[i * ds];
            a[0] = sum;
        } else if (ss == 1 && ds == 1) {
            for (int64_t i = 0; i < n; i++)
                a[i] += v[i];
        } else {
            for (int64_t i = 0; i < n; i++)
                a[i * ss] += v[i * ds];
        }
    } while (box_next(b, last, idx, &doff, &soff));
}

/* Parameters of the ops that are one box copy (Transpose, Slice, Expand, Pad). */
typedef struct box_params {
    size_t esize;              /* bytes of one element */
    unsigned char value[8];    /* Pad: the fill value, one element */
    copy_box forward;          /* input -> output */
    copy_box backward;         /* output gradient -> input gradient (Expand: forward's, summed) */
} box_params;

static box_params *box_params_new(const cam_tensor *data)
{
    box_params *p = calloc(1, sizeof *p);
    if (p)
        p->esize = cam_dtype_size(data->dtype);
    return p;
}

/* ---- views: Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout -------------
 * Output 0 holds input 0's bytes. Forward only runs when folding constants; at
 * run time the buffer is shared. The gradient passes through unchanged. */

static void view_forward(const cam_exec *x)
{
    const cam_tensor *t = input_tensor(x, 0);
    const size_t bytes = t->numel * cam_dtype_size(t->dtype);
    if (bytes && x->out[0] != x->in[0])
        memmove(x->out[0], x->in[0], bytes);
}

static void view_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    if (gin[0]) {
        const size_t n = input_tensor(x, 0)->numel;
        if (!gout[0])
            memset(gin[0], 0, n * sizeof(float));
        else if (gin[0] != gout[0])
            memmove(gin[0], gout[0], n * sizeof(float));
    }
    zero_gradients_from(x, gin, 1);
}

/* Reshape: output dims from the constant shape input; 0 copies the input's dim
 * (unless allowzero = 1, opset 14+), -1 is inferred from the element count. */
static cam_status reshape_type_common(cam_graph *g, cam_node *node, cam_error *err,
                                      int has_allowzero)
{
    int64_t allowzero = 0;
    if (has_allowzero) {
        TRY(cam_op_attr_int(g, node, "allowzero", 0, &allowzero, err));
        if (allowzero != 0 && allowzero != 1)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "attribute 'allowzero' = %lld is not 0 or 1", (long long)allowzero);
    }
    const cam_tensor *data;
    TRY(need_input(g, node, 0, "data", &data, err));
    int64_t shape[CAM_MAX_RANK], dims[CAM_MAX_RANK];
    size_t n = 0;
    const cam_tensor *st;
    TRY(need_input(g, node, 1, "shape", &st, err));
    if (st->kind == CAM_TENSOR_CONSTANT && st->numel > CAM_MAX_RANK)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input 1 (shape) has %zu values: tensors of rank above %d are not "
                           "supported",
                           st->numel, CAM_MAX_RANK);
    TRY(shape_ints(g, node, 1, "shape", shape, CAM_MAX_RANK, &n, err));

    char buf[160];
    int infer = -1, has_zero = 0;
    size_t known = 1;
    for (size_t k = 0; k < n; k++) {
        int64_t v = shape[k];
        if (v == 0 && !allowzero) {
            if ((int)k >= data->rank)
                return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                                   "shape %s: entry %zu is 0 (copy the input's dimension) but "
                                   "the input %s has rank %d",
                                   ints_string(buf, sizeof buf, shape, n), k, data->name,
                                   data->rank);
            v = data->dims[k];
        } else if (v == -1) {
            if (infer >= 0)
                return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                                   "shape %s has more than one -1",
                                   ints_string(buf, sizeof buf, shape, n));
            infer = (int)k;
            dims[k] = -1;
            continue;
        } else if (v < 0 || v > CAM_GRAPH_MAX_DIM) {
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "shape %s: entry %zu = %lld is not a valid dimension",
                               ints_string(buf, sizeof buf, shape, n), k, (long long)v);
        }
        if (v == 0)
            has_zero = 1;
        dims[k] = v;
        /* Stop the product early once it exceeds any possible element count. */
        known = known > CAM_GRAPH_MAX_NUMEL ? known : known * (size_t)v;
    }
    if (infer >= 0) {
        if (has_zero || known == 0)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "shape %s: -1 cannot be inferred next to a 0 dimension",
                               ints_string(buf, sizeof buf, shape, n));
        if (data->numel % known != 0)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "shape %s does not divide the %zu elements of input '%s'",
                               ints_string(buf, sizeof buf, shape, n), data->numel, data->name);
        dims[infer] = (int64_t)(data->numel / known);
        known = data->numel;
    }
    if (known != data->numel) {
        char in_shape[96];
        cam_tensor_shape_string(data, in_shape, sizeof in_shape);
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "shape %s does not hold the %zu elements of input '%s' (%s)",
                           ints_string(buf, sizeof buf, shape, n), data->numel, data->name,
                           in_shape);
    }
    return cam_op_set_output(g, node, 0, data->dtype, (int)n, dims, err);
}

static cam_status reshape_type_v5(cam_graph *g, cam_node *node, cam_error *err)
{
    return reshape_type_common(g, node, err, 0);
}

static cam_status reshape_type_v14(cam_graph *g, cam_node *node, cam_error *err)
{
    return reshape_type_common(g, node, err, 1);
}

/* Flatten: 2-D (product of dims before axis, product of the rest); axis in [-r, r]. */
static cam_status flatten_type(cam_graph *g, cam_node *node, cam_error *err)
{
    const cam_tensor *data;
    int64_t axis;
    TRY(cam_op_attr_int(g, node, "axis", 1, &axis, err));
    TRY(need_input(g, node, 0, "input", &data, err));
    if (axis < -data->rank || axis > data->rank)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute 'axis' = %lld is outside [%d, %d] for input '%s'",
                           (long long)axis, -data->rank, data->rank, data->name);
    if (axis < 0)
        axis += data->rank;
    const int64_t dims[2] = {(int64_t)cam_dims_product(data->dims, 0, (int)axis),
                             (int64_t)cam_dims_product(data->dims, (int)axis, data->rank)};
    return cam_op_set_output(g, node, 0, data->dtype, 2, dims, err);
}

/* Squeeze: removes the listed axes (each of size 1), or every size-1 axis. */
static cam_status squeeze_common(cam_graph *g, cam_node *node, const int64_t *axes, size_t n,
                                 cam_error *err)
{
    const cam_tensor *data;
    TRY(need_input(g, node, 0, "data", &data, err));
    int drop[CAM_MAX_RANK] = {0}, ax[CAM_MAX_RANK];
    if (n > (size_t)data->rank)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "%zu axes given for input '%s' of rank %d", n, data->name, data->rank);
    TRY(distinct_axes(g, node, axes, n, data->rank, "axes", ax, err));
    for (size_t i = 0; i < n; i++) {
        if (data->dims[ax[i]] != 1) {
            char in_shape[96];
            cam_tensor_shape_string(data, in_shape, sizeof in_shape);
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "axis %d of input '%s' (%s) has size %lld, not 1", ax[i],
                               data->name, in_shape, (long long)data->dims[ax[i]]);
        }
        drop[ax[i]] = 1;
    }
    if (n == 0)
        for (int k = 0; k < data->rank; k++)
            drop[k] = data->dims[k] == 1;
    int64_t dims[CAM_MAX_RANK];
    int r = 0;
    for (int k = 0; k < data->rank; k++)
        if (!drop[k])
            dims[r++] = data->dims[k];
    return cam_op_set_output(g, node, 0, data->dtype, r, dims, err);
}

/* Squeeze-1/11: axes attribute (optional). */
static cam_status squeeze_type_v1(cam_graph *g, cam_node *node, cam_error *err)
{
    const int64_t *axes;
    size_t n;
    TRY(cam_op_attr_ints(g, node, "axes", &axes, &n, err));
    return squeeze_common(g, node, axes, n, err);
}

/* Squeeze-13: axes input (optional; empty means all size-1 axes). */
static cam_status squeeze_type_v13(cam_graph *g, cam_node *node, cam_error *err)
{
    int64_t axes[CAM_MAX_RANK];
    size_t n = 0;
    if (cam_op_input(g, node, 1))
        TRY(shape_ints(g, node, 1, "axes", axes, CAM_MAX_RANK, &n, err));
    return squeeze_common(g, node, axes, n, err);
}

/* Unsqueeze: inserts size-1 axes at the listed positions of the output. */
static cam_status unsqueeze_common(cam_graph *g, cam_node *node, const int64_t *axes, size_t n,
                                   cam_error *err)
{
    const cam_tensor *data;
    TRY(need_input(g, node, 0, "data", &data, err));
    if (n == 0)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL, "no axes given");
    if ((size_t)data->rank + n > CAM_MAX_RANK)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "the output would have rank %zu: tensors of rank above %d are not "
                           "supported",
                           (size_t)data->rank + n, CAM_MAX_RANK);
    const int rank = data->rank + (int)n;
    int ax[CAM_MAX_RANK], insert[CAM_MAX_RANK] = {0};
    TRY(distinct_axes(g, node, axes, n, rank, "axes", ax, err));
    for (size_t i = 0; i < n; i++)
        insert[ax[i]] = 1;
    int64_t dims[CAM_MAX_RANK];
    for (int k = 0, j = 0; k < rank; k++)
        dims[k] = insert[k] ? 1 : data->dims[j++];
    return cam_op_set_output(g, node, 0, data->dtype, rank, dims, err);
}

/* Unsqueeze-1/11: axes attribute (required). */
static cam_status unsqueeze_type_v1(cam_graph *g, cam_node *node, cam_error *err)
{
    const int64_t *axes;
    size_t n;
    TRY(cam_op_attr_ints(g, node, "axes", &axes, &n, err));
    if (!axes)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute 'axes' is required");
    return unsqueeze_common(g, node, axes, n, err);
}

/* Unsqueeze-13: axes input (required). */
static cam_status unsqueeze_type_v13(cam_graph *g, cam_node *node, cam_error *err)
{
    int64_t axes[CAM_MAX_RANK];
    size_t n = 0;
    TRY(shape_ints(g, node, 1, "axes", axes, CAM_MAX_RANK, &n, err));
    return unsqueeze_common(g, node, axes, n, err);
}

static cam_status identity_type(cam_graph *g, cam_node *node, cam_error *err)
{
    const cam_tensor *data;
    TRY(need_input(g, node, 0, "input", &data, err));
    return cam_op_set_output(g, node, 0, data->dtype, data->rank, data->dims, err);
}

/* Dropout in inference: output 0 = input 0. The optional mask output is all
 * ones (true) in inference, whatever the input: it is made a constant here, so
 * it may even be read, and nothing of it runs. */
static cam_status dropout_common(cam_graph *g, cam_node *node, cam_dtype mask_dtype,
                                 cam_error *err)
{
    const cam_tensor *data;
    TRY(need_input(g, node, 0, "data", &data, err));
    TRY(cam_op_set_output(g, node, 0, data->dtype, data->rank, data->dims, err));
    cam_tensor *mask = cam_op_output(g, node, 1);
    if (!mask)
        return CAM_OK;
    TRY(cam_op_set_output(g, node, 1, mask_dtype, data->rank, data->dims, err));
    const size_t esize = cam_dtype_size(mask_dtype);
    void *ones = malloc((mask->numel ? mask->numel : 1) * esize);
    if (!ones)
        return no_memory(g, node, err);
    unsigned char one[8] = {1};
    if (mask_dtype == CAM_DTYPE_FLOAT) {
        const float one_f = 1.0f;
        memcpy(one, &one_f, sizeof one_f);
    }
    fill_elements(ones, mask->numel, one, esize);
    cam_tensor_set_constant(mask, ones);
    return CAM_OK;
}

/* Dropout-7: ratio attribute (is_test of older files accepted and ignored);
 * mask of the input's type. */
static cam_status dropout_type_v7(cam_graph *g, cam_node *node, cam_error *err)
{
    float ratio;
    TRY(cam_op_attr_float(g, node, "ratio", 0.5f, &ratio, err));
    cam_op_attr_ignore(node, "is_test");
    const cam_tensor *data = cam_op_input(g, node, 0);
    return dropout_common(g, node, data ? data->dtype : CAM_DTYPE_FLOAT, err);
}

/* Dropout-10: ratio attribute; bool mask. */
static cam_status dropout_type_v10(cam_graph *g, cam_node *node, cam_error *err)
{
    float ratio;
    TRY(cam_op_attr_float(g, node, "ratio", 0.5f, &ratio, err));
    return dropout_common(g, node, CAM_DTYPE_BOOL, err);
}

/* Dropout-12: ratio and training_mode inputs, seed attribute; bool mask. */
static cam_status dropout_type_v12(cam_graph *g, cam_node *node, cam_error *err)
{
    cam_op_attr_ignore(node, "seed");
    const cam_tensor *training = cam_op_input(g, node, 2);
    if (training) {
        if (training->kind != CAM_TENSOR_CONSTANT)
            return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                               "input 2 (training_mode) '%s' is computed at run time: only "
                               "inference (a constant false) is supported",
                               training->name);
        if (training->dtype != CAM_DTYPE_BOOL || training->numel != 1)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "input 2 (training_mode) '%s' is not one bool", training->name);
        /* Training with a constant ratio of 0 drops nothing: still the identity. */
        const cam_tensor *ratio = cam_op_input(g, node, 1);
        const int no_drop = ratio && ratio->kind == CAM_TENSOR_CONSTANT && ratio->numel == 1 &&
                            ratio->dtype == CAM_DTYPE_FLOAT && *(const float *)ratio->data == 0.0f;
        if (((const uint8_t *)training->data)[0] && !no_drop)
            return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                               "input 2 (training_mode) = true is not supported (inference "
                               "only, or a constant ratio of 0)");
    }
    return dropout_common(g, node, CAM_DTYPE_BOOL, err);
}

/* ---- Transpose -------------------------------------------------------------------- */

static cam_status transpose_type(cam_graph *g, cam_node *node, cam_error *err)
{
    const int64_t *perm_attr;
    size_t n;
    TRY(cam_op_attr_ints(g, node, "perm", &perm_attr, &n, err));
    const cam_tensor *data;
    TRY(need_input(g, node, 0, "data", &data, err));
    const int r = data->rank;
    int perm[CAM_MAX_RANK], inverse[CAM_MAX_RANK];
    for (int k = 0; k < r; k++)
        inverse[k] = -1;
    char buf[160];
    if (perm_attr && n != (size_t)r)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute 'perm' = %s has %zu values for input '%s' of rank %d",
                           ints_string(buf, sizeof buf, perm_attr, n), n, data->name, r);
    for (int k = 0; k < r; k++) {
        int64_t v = perm_attr ? perm_attr[k] : r - 1 - k;
        if (v < 0 || v >= r || inverse[v] >= 0)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "attribute 'perm' = %s is not a permutation of 0..%d",
                               ints_string(buf, sizeof buf, perm_attr, n), r - 1);
        perm[k] = (int)v;
        inverse[v] = k;
    }
    int64_t dims[CAM_MAX_RANK], in_strides[CAM_MAX_RANK], out_strides[CAM_MAX_RANK];
    for (int k = 0; k < r; k++)
        dims[k] = data->dims[perm[k]];
    TRY(cam_op_set_output(g, node, 0, data->dtype, r, dims, err));

    box_params *p = box_params_new(data);
    if (!p)
        return no_memory(g, node, err);
    contiguous_strides(r, data->dims, in_strides);
    contiguous_strides(r, dims, out_strides);
    /* Forward walks the output in order; backward walks the input gradient in order. */
    p->forward.rank = p->backward.rank = r;
    for (int k = 0; k < r; k++) {
        p->forward.dims[k] = dims[k];
        p->forward.dst_stride[k] = out_strides[k];
        p->forward.src_stride[k] = in_strides[perm[k]];
        p->backward.dims[k] = data->dims[k];
        p->backward.dst_stride[k] = in_strides[k];
        p->backward.src_stride[k] = out_strides[inverse[k]];
    }
    box_simplify(&p->forward);
    box_simplify(&p->backward);
    set_params(node, p);
    return CAM_OK;
}

/* Transpose, Slice and Expand: one box copy. */
static void box_forward(const cam_exec *x)
{
    const box_params *p = x->node->params;
    box_copy(&p->forward, x->out[0], x->in[0], p->esize);
}

static void transpose_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const box_params *p = x->node->params;
    if (!gin[0])
        return;
    if (gout[0])
        box_copy(&p->backward, gin[0], gout[0], sizeof(float));
    else
        memset(gin[0], 0, input_tensor(x, 0)->numel * sizeof(float));
}

/* ---- Concat and Split: runs of whole rows --------------------------------------
 * With outer = product of the dims before axis, input i (output j for Split)
 * is outer runs of run[i] elements; the concatenation interleaves them. */

typedef struct runs_params {
    size_t esize;
    size_t outer;
    size_t total;      /* sum of run[] */
    int n;
    size_t run[];      /* elements per outer step, per input (Concat) or output (Split) */
} runs_params;

static cam_status concat_type(cam_graph *g, cam_node *node, cam_error *err)
{
    int64_t axis_attr;
    int axis;
    TRY(attr_int_required(g, node, "axis", &axis_attr, err));
    const cam_tensor *first;
    TRY(need_input(g, node, 0, "inputs", &first, err));
    if (first->rank == 0)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "input 0 '%s' is a scalar: Concat needs rank 1 or more", first->name);
    TRY(cam_op_axis(g, node, axis_attr, first->rank, "attribute 'axis'", &axis, err));

    const int n = node->n_inputs;
    runs_params *p = calloc(1, sizeof *p + (size_t)n * sizeof p->run[0]);
    if (!p)
        return no_memory(g, node, err);
    p->esize = cam_dtype_size(first->dtype);
    p->outer = cam_dims_product(first->dims, 0, axis);
    p->n = n;
    int64_t dims[CAM_MAX_RANK];
    memcpy(dims, first->dims, sizeof dims);
    dims[axis] = 0;
    const size_t inner = cam_dims_product(first->dims, axis + 1, first->rank);
    for (int i = 0; i < n; i++) {
        const cam_tensor *t = cam_op_input(g, node, i);
        int same = t && t->rank == first->rank;
        for (int k = 0; same && k < first->rank; k++)
            same = k == axis || t->dims[k] == first->dims[k];
        if (!same || t->dtype != first->dtype) {
            char a[96] = "missing", b[96];
            if (t)
                cam_tensor_shape_string(t, a, sizeof a);
            cam_tensor_shape_string(first, b, sizeof b);
            cam_status s = cam_op_fail(
                g, node, err, CAM_ERROR_INVALID_MODEL,
                "input %d '%s' (%s %s) does not match input 0 '%s' (%s %s) outside axis %d", i,
                t ? t->name : "", t ? cam_dtype_name(t->dtype) : "", a, first->name,
                cam_dtype_name(first->dtype), b, axis);
            free(p);
            return s;
        }
        dims[axis] += t->dims[axis];
        p->run[i] = (size_t)t->dims[axis] * inner;
        p->total += p->run[i];
    }
    cam_status s = cam_op_set_output(g, node, 0, first->dtype, first->rank, dims, err);
    if (s != CAM_OK) {
        free(p);
        return s;
    }
    set_params(node, p);
    return CAM_OK;
}

static void concat_forward(const cam_exec *x)
{
    const runs_params *p = x->node->params;
    unsigned char *out = x->out[0];
    for (size_t o = 0; o < p->outer; o++)
        for (int i = 0; i < p->n; i++) {
            const size_t bytes = p->run[i] * p->esize;
            if (bytes) {
                memcpy(out, (const unsigned char *)x->in[i] + o * bytes, bytes);
                out += bytes;
            }
        }
}

static void concat_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const runs_params *p = x->node->params;
    size_t start = 0;
    for (int i = 0; i < p->n; start += p->run[i], i++) {
        if (!gin[i] || !p->run[i])
            continue;
        if (!gout[0]) {
            memset(gin[i], 0, p->outer * p->run[i] * sizeof(float));
            continue;
        }
        for (size_t o = 0; o < p->outer; o++)
            memcpy(gin[i] + o * p->run[i], gout[0] + o * p->total + start,
                   p->run[i] * sizeof(float));
    }
}

/* Split: split gives the sizes along axis (NULL: equal parts; ceil_parts: the
 * opset-18 rule, ceil(dim / n) each and the remainder last). */
static cam_status split_common(cam_graph *g, cam_node *node, const int64_t *split, size_t n_split,
                               int ceil_parts, cam_error *err)
{
    int64_t axis_attr;
    int axis;
    TRY(cam_op_attr_int(g, node, "axis", 0, &axis_attr, err));
    const cam_tensor *data;
    TRY(need_input(g, node, 0, "input", &data, err));
    if (data->rank == 0)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "input '%s' is a scalar: Split needs rank 1 or more", data->name);
    TRY(cam_op_axis(g, node, axis_attr, data->rank, "attribute 'axis'", &axis, err));
    const int n = node->n_outputs;
    const int64_t dim = data->dims[axis];
    char buf[160];

    runs_params *p = calloc(1, sizeof *p + (size_t)n * sizeof p->run[0]);
    if (!p)
        return no_memory(g, node, err);
    int64_t *sizes = malloc((size_t)n * sizeof *sizes);
    if (!sizes) {
        free(p);
        return no_memory(g, node, err);
    }
    cam_status s = CAM_OK;
    if (split) {
        int64_t sum = 0;
        int ok = n_split == (size_t)n;
        for (size_t j = 0; ok && j < n_split; j++) {
            ok = split[j] >= 0 && split[j] <= dim;
            sum += ok ? split[j] : 0;
            sizes[j] = split[j];
        }
        if (!ok || sum != dim)
            s = cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                            "split %s does not cut axis %d (size %lld) into %d outputs",
                            ints_string(buf, sizeof buf, split, n_split), axis, (long long)dim, n);
    } else if (ceil_parts) {
        const int64_t part = (dim + n - 1) / n;
        for (int j = 0; j < n; j++)
            sizes[j] = part;
        sizes[n - 1] = dim - part * (n - 1);
        if (sizes[n - 1] < 0)
            s = cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                            "axis %d (size %lld) cannot be split into %d parts of %lld", axis,
                            (long long)dim, n, (long long)part);
    } else {
        for (int j = 0; j < n; j++)
            sizes[j] = dim / n;
        if (dim % n != 0)
            s = cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                            "axis %d (size %lld) cannot be split into %d equal parts", axis,
                            (long long)dim, n);
    }
    const size_t inner = cam_dims_product(data->dims, axis + 1, data->rank);
    for (int j = 0; s == CAM_OK && j < n; j++) {
        int64_t dims[CAM_MAX_RANK];
        memcpy(dims, data->dims, sizeof dims);
        dims[axis] = sizes[j];
        p->run[j] = (size_t)sizes[j] * inner;
        p->total += p->run[j];
        if (cam_op_output(g, node, j))
            s = cam_op_set_output(g, node, j, data->dtype, data->rank, dims, err);
    }
    free(sizes);
    if (s != CAM_OK) {
        free(p);
        return s;
    }
    p->esize = cam_dtype_size(data->dtype);
    p->outer = cam_dims_product(data->dims, 0, axis);
    p->n = n;
    set_params(node, p);
    return CAM_OK;
}

/* Split-2/11: split attribute. */
static cam_status split_type_v2(cam_graph *g, cam_node *node, cam_error *err)
{
    const int64_t *split;
    size_t n;
    TRY(cam_op_attr_ints(g, node, "split", &split, &n, err));
    return split_common(g, node, split, n, 0, err);
}

/* The split input of Split-13 and later (absent or empty: none). */
static cam_status split_input(cam_graph *g, cam_node *node, int64_t **split, size_t *n,
                              cam_error *err)
{
    *split = NULL;
    *n = 0;
    const cam_tensor *t = cam_op_input(g, node, 1);
    if (!t || (t->kind == CAM_TENSOR_CONSTANT && t->numel == 0))
        return CAM_OK;
    const size_t max = t->numel ? t->numel : 1;
    *split = malloc(max * sizeof **split);
    if (!*split)
        return no_memory(g, node, err);
    cam_status s = shape_ints(g, node, 1, "split", *split, max, n, err);
    if (s != CAM_OK) {
        free(*split);
        *split = NULL;
    }
    return s;
}

static cam_status split_type_v13(cam_graph *g, cam_node *node, cam_error *err)
{
    int64_t *split;
    size_t n;
    TRY(split_input(g, node, &split, &n, err));
    cam_status s = split_common(g, node, split, n, 0, err);
    free(split);
    return s;
}

/* Split-18: split input or num_outputs attribute (uneven parts allowed). */
static cam_status split_type_v18(cam_graph *g, cam_node *node, cam_error *err)
{
    int64_t num_outputs;
    TRY(cam_op_attr_int(g, node, "num_outputs", 0, &num_outputs, err));
    int64_t *split;
    size_t n;
    TRY(split_input(g, node, &split, &n, err));
    cam_status s;
    if (split && cam_node_attr(node, "num_outputs"))
        s = cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                        "both input 'split' and attribute 'num_outputs' are given");
    else if (cam_node_attr(node, "num_outputs") && num_outputs != node->n_outputs)
        s = cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                        "attribute 'num_outputs' = %lld but the node has %d outputs",
                        (long long)num_outputs, node->n_outputs);
    else
        s = split_common(g, node, split, n, 1, err);
    free(split);
    return s;
}

static void split_forward(const cam_exec *x)
{
    const runs_params *p = x->node->params;
    const size_t row = p->total * p->esize;
    for (size_t o = 0; o < p->outer; o++) {
        const unsigned char *in = (const unsigned char *)x->in[0] + o * row;
        for (int j = 0; j < p->n; j++) {
            const size_t bytes = p->run[j] * p->esize;
            if (bytes && x->node->outputs[j] >= 0 && x->out[j])
                memcpy((unsigned char *)x->out[j] + o * bytes, in, bytes);
            in += bytes;
        }
    }
}

static void split_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const runs_params *p = x->node->params;
    if (!gin[0])
        return;
    float *g = gin[0];
    for (size_t o = 0; o < p->outer; o++)
        for (int j = 0; j < p->n; j++) {
            const size_t n = p->run[j];
            if (gout[j])
                memcpy(g, gout[j] + o * n, n * sizeof(float));
            else
                memset(g, 0, n * sizeof(float));
            g += n;
        }
}

/* ---- Slice ------------------------------------------------------------------------- */

/* Plans the slice given n (start, end, axis, step) quadruples (axes NULL: 0..n-1,
 * steps NULL: 1), with ONNX's clamping of out-of-range starts and ends. */
static cam_status slice_common(cam_graph *g, cam_node *node, const int64_t *starts,
                               const int64_t *ends, size_t n, const int64_t *axes,
                               const int64_t *steps, cam_error *err)
{
    const cam_tensor *data;
    TRY(need_input(g, node, 0, "data", &data, err));
    const int r = data->rank;
    if (n > (size_t)r)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "%zu starts/ends given for input '%s' of rank %d", n, data->name, r);
    int64_t default_axes[CAM_MAX_RANK];
    for (size_t i = 0; i < n; i++)
        default_axes[i] = (int64_t)i;
    int ax[CAM_MAX_RANK];
    TRY(distinct_axes(g, node, axes ? axes : default_axes, n, r, "axes", ax, err));

    int64_t begin[CAM_MAX_RANK], step[CAM_MAX_RANK], dims[CAM_MAX_RANK];
    for (int k = 0; k < r; k++) {
        begin[k] = 0;
        step[k] = 1;
        dims[k] = data->dims[k];
    }
    for (size_t i = 0; i < n; i++) {
        const int a = ax[i];
        const int64_t d = data->dims[a];
        int64_t st = starts[i], en = ends[i], sp = steps ? steps[i] : 1, len;
        if (sp == 0)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL, "step %zu is 0", i);
        if (st < 0)
            st += d;
        if (en < 0)
            en += d;
        /* A step longer than the axis takes one element, as that axis' length does
         * (and keeps the stride products below from overflowing). */
        if (sp > d)
            sp = d > 0 ? d : 1;
        if (sp < -d)
            sp = d > 0 ? -d : -1;
        if (d == 0) {
            st = 0;
            len = 0;
        } else if (sp > 0) {
            st = st < 0 ? 0 : st > d ? d : st;
            en = en < 0 ? 0 : en > d ? d : en;
            len = en > st ? (en - st - 1) / sp + 1 : 0;
        } else {
            st = st < 0 ? 0 : st > d - 1 ? d - 1 : st;
            en = en < -1 ? -1 : en > d - 1 ? d - 1 : en;
            len = st > en ? (st - en - 1) / -sp + 1 : 0;
        }
        begin[a] = len ? st : 0;
        step[a] = sp;
        dims[a] = len;
    }
    TRY(cam_op_set_output(g, node, 0, data->dtype, r, dims, err));

    box_params *p = box_params_new(data);
    if (!p)
        return no_memory(g, node, err);
    int64_t in_strides[CAM_MAX_RANK], out_strides[CAM_MAX_RANK];
    contiguous_strides(r, data->dims, in_strides);
    contiguous_strides(r, dims, out_strides);
    p->forward.rank = p->backward.rank = r;
    for (int k = 0; k < r; k++) {
        p->forward.dims[k] = p->backward.dims[k] = dims[k];
        p->forward.dst_stride[k] = p->backward.src_stride[k] = out_strides[k];
        p->forward.src_stride[k] = p->backward.dst_stride[k] = in_strides[k] * step[k];
        p->forward.src_offset += begin[k] * in_strides[k];
    }
    p->backward.dst_offset = p->forward.src_offset;
    box_simplify(&p->forward);
    box_simplify(&p->backward);
    set_params(node, p);
    return CAM_OK;
}

/* Slice-1: starts, ends, axes attributes. */
static cam_status slice_type_v1(cam_graph *g, cam_node *node, cam_error *err)
{
    const int64_t *starts, *ends, *axes;
    size_t n_starts, n_ends, n_axes;
    TRY(cam_op_attr_ints(g, node, "starts", &starts, &n_starts, err));
    TRY(cam_op_attr_ints(g, node, "ends", &ends, &n_ends, err));
    TRY(cam_op_attr_ints(g, node, "axes", &axes, &n_axes, err));
    if (!starts || !ends)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attributes 'starts' and 'ends' are required");
    if (n_ends != n_starts || (axes && n_axes != n_starts))
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attributes 'starts' (%zu values), 'ends' (%zu) and 'axes' (%zu) "
                           "differ in length",
                           n_starts, n_ends, axes ? n_axes : n_starts);
    return slice_common(g, node, starts, ends, n_starts, axes, NULL, err);
}

/* Slice-10: starts, ends, axes, steps inputs (axes and steps optional). */
static cam_status slice_type_v10(cam_graph *g, cam_node *node, cam_error *err)
{
    int64_t starts[CAM_MAX_RANK], ends[CAM_MAX_RANK], axes[CAM_MAX_RANK], steps[CAM_MAX_RANK];
    size_t n_starts, n_ends, n_axes = 0, n_steps = 0;
    TRY(shape_ints(g, node, 1, "starts", starts, CAM_MAX_RANK, &n_starts, err));
    TRY(shape_ints(g, node, 2, "ends", ends, CAM_MAX_RANK, &n_ends, err));
    const int has_axes = cam_op_input(g, node, 3) != NULL;
    const int has_steps = cam_op_input(g, node, 4) != NULL;
    if (has_axes)
        TRY(shape_ints(g, node, 3, "axes", axes, CAM_MAX_RANK, &n_axes, err));
    if (has_steps)
        TRY(shape_ints(g, node, 4, "steps", steps, CAM_MAX_RANK, &n_steps, err));
    if (n_ends != n_starts || (has_axes && n_axes != n_starts) ||
        (has_steps && n_steps != n_starts))
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "inputs starts (%zu values), ends (%zu), axes (%zu) and steps (%zu) "
                           "differ in length",
                           n_starts, n_ends, has_axes ? n_axes : n_starts,
                           has_steps ? n_steps : n_starts);
    return slice_common(g, node, starts, ends, n_starts, has_axes ? axes : NULL,
                        has_steps ? steps : NULL, err);
}

static void slice_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const box_params *p = x->node->params;
    zero_gradients_from(x, gin, 1);
    if (!gin[0])
        return;
    memset(gin[0], 0, input_tensor(x, 0)->numel * sizeof(float));
    if (gout[0])
        box_copy(&p->backward, gin[0], gout[0], sizeof(float));
}

/* ---- Gather ----------------------------------------------------------------------- */

typedef struct gather_params {
    size_t esize;
    size_t outer;        /* product of data dims before axis */
    size_t dim;          /* data dims[axis] */
    size_t inner;        /* product of data dims after axis */
    size_t count;        /* number of indices */
    int64_t index[];     /* normalised to [0, dim) */
} gather_params;

static cam_status gather_type(cam_graph *g, cam_node *node, cam_error *err)
{
    int64_t axis_attr;
    int axis;
    TRY(cam_op_attr_int(g, node, "axis", 0, &axis_attr, err));
    const cam_tensor *data, *indices;
    TRY(need_input(g, node, 0, "data", &data, err));
    TRY(need_input(g, node, 1, "indices", &indices, err));
    if (data->rank == 0)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "input 0 (data) '%s' is a scalar: Gather needs rank 1 or more",
                           data->name);
    TRY(cam_op_axis(g, node, axis_attr, data->rank, "attribute 'axis'", &axis, err));
    if (indices->kind != CAM_TENSOR_CONSTANT)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input 1 (indices) '%s' is computed at run time: the indices must be "
                           "known at load time",
                           indices->name);
    if (indices->dtype != CAM_DTYPE_INT64)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "input 1 (indices) '%s' is %s, not int32 or int64", indices->name,
                           cam_dtype_name(indices->dtype));
    const int rank = data->rank - 1 + indices->rank;
    if (rank > CAM_MAX_RANK)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "the output would have rank %d: tensors of rank above %d are not "
                           "supported",
                           rank, CAM_MAX_RANK);

    gather_params *p = calloc(1, sizeof *p + indices->numel * sizeof p->index[0]);
    if (!p)
        return no_memory(g, node, err);
    /* Read directly: indices may have any rank (cam_op_constant_ints takes lists). */
    const size_t count = indices->numel;
    if (count)
        memcpy(p->index, indices->data, count * sizeof p->index[0]);
    cam_status s = CAM_OK;
    const int64_t dim = data->dims[axis];
    for (size_t k = 0; s == CAM_OK && k < count; k++) {
        int64_t v = p->index[k];
        if (v < -dim || v >= dim)
            s = cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                            "index %lld (at %zu in '%s') is outside [%lld, %lld] for axis %d",
                            (long long)v, k, indices->name, (long long)-dim, (long long)dim - 1,
                            axis);
        p->index[k] = v < 0 ? v + dim : v;
    }
    int64_t dims[CAM_MAX_RANK];
    int r = 0;
    for (int k = 0; k < axis; k++)
        dims[r++] = data->dims[k];
    for (int k = 0; k < indices->rank; k++)
        dims[r++] = indices->dims[k];
    for (int k = axis + 1; k < data->rank; k++)
        dims[r++] = data->dims[k];
    if (s == CAM_OK)
        s = cam_op_set_output(g, node, 0, data->dtype, rank, dims, err);
    if (s != CAM_OK) {
        free(p);
        return s;
    }
    p->esize = cam_dtype_size(data->dtype);
    p->outer = cam_dims_product(data->dims, 0, axis);
    p->dim = (size_t)dim;
    p->inner = cam_dims_product(data->dims, axis + 1, data->rank);
    p->count = count;
    set_params(node, p);
    return CAM_OK;
}

static void gather_forward(const cam_exec *x)
{
    const gather_params *p = x->node->params;
    const size_t bytes = p->inner * p->esize;
    if (!bytes)
        return;
    const unsigned char *in = x->in[0];
    unsigned char *out = x->out[0];
    for (size_t o = 0; o < p->outer; o++)
        for (size_t k = 0; k < p->count; k++, out += bytes)
            memcpy(out, in + (o * p->dim + (size_t)p->index[k]) * bytes, bytes);
}

/* Scatter-add into zeros; repeated indices add in index order. */
static void gather_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const gather_params *p = x->node->params;
    zero_gradients_from(x, gin, 1);
    if (!gin[0])
        return;
    memset(gin[0], 0, p->outer * p->dim * p->inner * sizeof(float));
    if (!gout[0])
        return;
    const float *g = gout[0];
    for (size_t o = 0; o < p->outer; o++)
        for (size_t k = 0; k < p->count; k++, g += p->inner) {
            float *dst = gin[0] + (o * p->dim + (size_t)p->index[k]) * p->inner;
            for (size_t i = 0; i < p->inner; i++)
                dst[i] += g[i];
        }
}

/* ---- Expand ----------------------------------------------------------------------- */

/* Bidirectional broadcast of the input with the shape input: the output has the
 * larger rank; a dim of 1 on either side takes the other side's. */
static cam_status expand_type(cam_graph *g, cam_node *node, cam_error *err)
{
    const cam_tensor *data;
    TRY(need_input(g, node, 0, "input", &data, err));
    int64_t shape[CAM_MAX_RANK];
    size_t n = 0;
    const cam_tensor *st;
    TRY(need_input(g, node, 1, "shape", &st, err));
    if (st->kind == CAM_TENSOR_CONSTANT && st->numel > CAM_MAX_RANK)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input 1 (shape) has %zu values: tensors of rank above %d are not "
                           "supported",
                           st->numel, CAM_MAX_RANK);
    TRY(shape_ints(g, node, 1, "shape", shape, CAM_MAX_RANK, &n, err));
    const int r = data->rank > (int)n ? data->rank : (int)n;
    const int data_lead = r - data->rank, shape_lead = r - (int)n;
    int64_t dims[CAM_MAX_RANK], in_strides[CAM_MAX_RANK], out_strides[CAM_MAX_RANK];
    int64_t src_strides[CAM_MAX_RANK];
    contiguous_strides(data->rank, data->dims, in_strides);
    char buf[160], in_shape[96];
    for (int k = 0; k < r; k++) {
        const int64_t a = k < data_lead ? 1 : data->dims[k - data_lead];
        const int64_t b = k < shape_lead ? 1 : shape[k - shape_lead];
        if (b < 0 || (a != b && a != 1 && b != 1)) {
            cam_tensor_shape_string(data, in_shape, sizeof in_shape);
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "input '%s' (%s) cannot be expanded to shape %s", data->name,
                               in_shape, ints_string(buf, sizeof buf, shape, n));
        }
        dims[k] = a == 1 ? b : a;
        src_strides[k] = k < data_lead || (a == 1 && dims[k] != 1) ? 0
                                                                   : in_strides[k - data_lead];
    }
    TRY(cam_op_set_output(g, node, 0, data->dtype, r, dims, err));
    box_params *p = box_params_new(data);
    if (!p)
        return no_memory(g, node, err);
    contiguous_strides(r, dims, out_strides);
    p->forward.rank = r;
    for (int k = 0; k < r; k++) {
        p->forward.dims[k] = dims[k];
        p->forward.dst_stride[k] = out_strides[k];
        p->forward.src_stride[k] = src_strides[k];
    }
    box_simplify(&p->forward);
    set_params(node, p);
    return CAM_OK;
}

/* Sums the gradient over the expanded axes, in the order of the output elements. */
static void expand_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const box_params *p = x->node->params;
    zero_gradients_from(x, gin, 1);
    if (!gin[0])
        return;
    memset(gin[0], 0, input_tensor(x, 0)->numel * sizeof(float));
    if (gout[0])
        box_accumulate(&p->forward, gin[0], gout[0]);
}

/* ---- Pad ---------------------------------------------------------------------------- */

/* pads: begin values then end values, for the listed axes (axes NULL: all, in
 * order). Negative pads crop. value: one element of the data's type. */
static cam_status pad_common(cam_graph *g, cam_node *node, const char *mode, const int64_t *pads,
                             size_t n_pads, const int64_t *axes, size_t n_axes,
                             const unsigned char *value, cam_error *err)
{
    if (strcmp(mode, "constant") != 0)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "attribute 'mode' = '%s' is not supported (only 'constant' padding)",
                           mode);
    const cam_tensor *data;
    TRY(need_input(g, node, 0, "data", &data, err));
    const int r = data->rank;
    int64_t all_axes[CAM_MAX_RANK];
    for (int k = 0; k < r; k++)
        all_axes[k] = k;
    if (!axes) {
        axes = all_axes;
        n_axes = (size_t)r;
    }
    char buf[160];
    if (n_axes > (size_t)r || n_pads != 2 * n_axes)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "pads %s has %zu values; %zu expected (begin and end for %zu axes)",
                           ints_string(buf, sizeof buf, pads, n_pads), n_pads, 2 * n_axes,
                           n_axes);
    int ax[CAM_MAX_RANK];
    TRY(distinct_axes(g, node, axes, n_axes, r, "axes", ax, err));
    int64_t before[CAM_MAX_RANK] = {0}, after[CAM_MAX_RANK] = {0}, dims[CAM_MAX_RANK];
    for (size_t i = 0; i < n_axes; i++) {
        before[ax[i]] = pads[i];
        after[ax[i]] = pads[i + n_axes];
    }
    for (int k = 0; k < r; k++) {
        const int64_t lim = CAM_GRAPH_MAX_DIM;
        if (before[k] < -lim || before[k] > lim || after[k] < -lim || after[k] > lim ||
            data->dims[k] + before[k] + after[k] < 0)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "pads %s do not fit axis %d (size %lld) of input '%s'",
                               ints_string(buf, sizeof buf, pads, n_pads), k,
                               (long long)data->dims[k], data->name);
        dims[k] = data->dims[k] + before[k] + after[k];
    }
    TRY(cam_op_set_output(g, node, 0, data->dtype, r, dims, err));

    box_params *p = box_params_new(data);
    if (!p)
        return no_memory(g, node, err);
    memcpy(p->value, value, p->esize);
    int64_t in_strides[CAM_MAX_RANK], out_strides[CAM_MAX_RANK];
    contiguous_strides(r, data->dims, in_strides);
    contiguous_strides(r, dims, out_strides);
    /* The part of the input that survives the crops, and where it lands. */
    p->forward.rank = p->backward.rank = r;
    for (int k = 0; k < r; k++) {
        const int64_t in_start = before[k] < 0 ? -before[k] : 0;
        const int64_t out_start = before[k] > 0 ? before[k] : 0;
        int64_t len = data->dims[k] - in_start - (after[k] < 0 ? -after[k] : 0);
        len = len < 0 ? 0 : len;
        p->forward.dims[k] = p->backward.dims[k] = len;
        p->forward.src_stride[k] = p->backward.dst_stride[k] = in_strides[k];
        p->forward.dst_stride[k] = p->backward.src_stride[k] = out_strides[k];
        p->forward.src_offset += in_start * in_strides[k];
        p->forward.dst_offset += out_start * out_strides[k];
    }
    p->backward.dst_offset = p->forward.src_offset;
    p->backward.src_offset = p->forward.dst_offset;
    box_simplify(&p->forward);
    box_simplify(&p->backward);
    set_params(node, p);
    return CAM_OK;
}

/* One float converted to an element of dtype (Pad-2's value attribute). */
static void value_of_float(float f, cam_dtype dtype, unsigned char *out)
{
    memset(out, 0, 8);
    if (dtype == CAM_DTYPE_FLOAT) {
        memcpy(out, &f, sizeof f);
    } else if (dtype == CAM_DTYPE_INT64) {
        const int64_t v = isfinite(f) && fabsf(f) < 9.2e18f ? (int64_t)f : 0;
        memcpy(out, &v, sizeof v);
    } else {
        out[0] = f != 0.0f;
    }
}

/* Pad-2: mode, pads and value attributes. */
static cam_status pad_type_v2(cam_graph *g, cam_node *node, cam_error *err)
{
    const char *mode;
    const int64_t *pads;
    size_t n;
    float value;
    TRY(cam_op_attr_string(g, node, "mode", "constant", &mode, err));
    TRY(cam_op_attr_ints(g, node, "pads", &pads, &n, err));
    TRY(cam_op_attr_float(g, node, "value", 0.0f, &value, err));
    if (!pads)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute 'pads' is required");
    const cam_tensor *data;
    TRY(need_input(g, node, 0, "data", &data, err));
    unsigned char v[8];
    value_of_float(value, data->dtype, v);
    return pad_common(g, node, mode, pads, n, NULL, 0, v, err);
}

/* Pad-11 and Pad-18: pads, constant_value and (18) axes inputs. */
static cam_status pad_type_inputs(cam_graph *g, cam_node *node, int has_axes, cam_error *err)
{
    const char *mode;
    TRY(cam_op_attr_string(g, node, "mode", "constant", &mode, err));
    if (strcmp(mode, "constant") != 0)
        return pad_common(g, node, mode, NULL, 0, NULL, 0, NULL, err);
    const cam_tensor *data;
    TRY(need_input(g, node, 0, "data", &data, err));
    int64_t pads[2 * CAM_MAX_RANK], axes[CAM_MAX_RANK];
    size_t n_pads = 0, n_axes = 0;
    TRY(shape_ints(g, node, 1, "pads", pads, 2 * CAM_MAX_RANK, &n_pads, err));
    const int use_axes = has_axes && cam_op_input(g, node, 3);
    if (use_axes)
        TRY(shape_ints(g, node, 3, "axes", axes, CAM_MAX_RANK, &n_axes, err));
    unsigned char v[8] = {0};
    const cam_tensor *cv = cam_op_input(g, node, 2);
    if (cv) {
        if (cv->kind != CAM_TENSOR_CONSTANT)
            return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                               "input 2 (constant_value) '%s' is computed at run time: it must "
                               "be known at load time",
                               cv->name);
        if (cv->dtype != data->dtype || cv->numel != 1)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "input 2 (constant_value) '%s' is not one %s value", cv->name,
                               cam_dtype_name(data->dtype));
        memcpy(v, cv->data, cam_dtype_size(cv->dtype));
    }
    return pad_common(g, node, mode, pads, n_pads, use_axes ? axes : NULL, n_axes, v, err);
}

static cam_status pad_type_v11(cam_graph *g, cam_node *node, cam_error *err)
{
    return pad_type_inputs(g, node, 0, err);
}

static cam_status pad_type_v18(cam_graph *g, cam_node *node, cam_error *err)
{
    return pad_type_inputs(g, node, 1, err);
}

static void pad_forward(const cam_exec *x)
{
    const box_params *p = x->node->params;
    fill_elements(x->out[0], output_tensor(x, 0)->numel, p->value, p->esize);
    box_copy(&p->forward, x->out[0], x->in[0], p->esize);
}

/* The gradient of the kept part of the input; cropped elements get zero. */
static void pad_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const box_params *p = x->node->params;
    zero_gradients_from(x, gin, 1);
    if (!gin[0])
        return;
    memset(gin[0], 0, input_tensor(x, 0)->numel * sizeof(float));
    if (gout[0])
        box_copy(&p->backward, gin[0], gout[0], sizeof(float));
}

/* ---- Shape and Size: constants computed from the input's typed shape ---------------
 * The params hold the values; `type` also makes the output a constant right away
 * when the input is computed at run time (see the header of this file), and
 * forward copies them when the node is folded the ordinary way. */

typedef struct values_params {
    size_t count;
    int64_t values[];
} values_params;

static cam_status constant_output(cam_graph *g, cam_node *node, int rank, const int64_t *dims,
                                  const int64_t *values, size_t count, cam_error *err)
{
    const cam_tensor *in = cam_op_input(g, node, 0);
    TRY(cam_op_set_output(g, node, 0, CAM_DTYPE_INT64, rank, dims, err));
    values_params *p = malloc(sizeof *p + (count ? count : 1) * sizeof p->values[0]);
    if (!p)
        return no_memory(g, node, err);
    p->count = count;
    if (count)
        memcpy(p->values, values, count * sizeof values[0]);
    cam_tensor *out = cam_op_output(g, node, 0);
    if (out && in->kind != CAM_TENSOR_CONSTANT) {
        int64_t *data = malloc((count ? count : 1) * sizeof *data);
        if (!data) {
            free(p);
            return no_memory(g, node, err);
        }
        if (count)
            memcpy(data, values, count * sizeof *data);
        cam_tensor_set_constant(out, data);
    }
    set_params(node, p);
    return CAM_OK;
}

/* Shape: the input's dims as a 1-D int64; start and end (opset 15) select a
 * range of axes, negative counting from the end, clamped to [0, rank]. */
static cam_status shape_type_common(cam_graph *g, cam_node *node, int has_range, cam_error *err)
{
    int64_t start = 0, end = CAM_MAX_RANK;
    if (has_range) {
        TRY(cam_op_attr_int(g, node, "start", 0, &start, err));
        TRY(cam_op_attr_int(g, node, "end", INT64_MAX, &end, err));
    }
    const cam_tensor *data;
    TRY(need_input(g, node, 0, "data", &data, err));
    const int64_t r = data->rank;
    if (start < 0)
        start += r;
    if (end < 0)
        end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    const int64_t n = end > start ? end - start : 0;
    return constant_output(g, node, 1, &n, data->dims + start, (size_t)n, err);
}

static cam_status shape_type_v1(cam_graph *g, cam_node *node, cam_error *err)
{
    return shape_type_common(g, node, 0, err);
}

static cam_status shape_type_v15(cam_graph *g, cam_node *node, cam_error *err)
{
    return shape_type_common(g, node, 1, err);
}

/* Size: the input's element count as an int64 scalar. */
static cam_status size_type(cam_graph *g, cam_node *node, cam_error *err)
{
    const cam_tensor *data;
    TRY(need_input(g, node, 0, "data", &data, err));
    const int64_t numel = (int64_t)data->numel;
    return constant_output(g, node, 0, NULL, &numel, 1, err);
}

static void values_forward(const cam_exec *x)
{
    const values_params *p = x->node->params;
    if (p->count && x->out[0])
        memcpy(x->out[0], p->values, p->count * sizeof p->values[0]);
}

/* The output does not depend on the input's values. */
static void zero_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    zero_gradients_from(x, gin, 0);
}

/* ---- ConstantOfShape ---------------------------------------------------------------- */

typedef struct fill_params {
    size_t esize;
    unsigned char value[8];
} fill_params;

static cam_status constant_of_shape_type(cam_graph *g, cam_node *node, cam_error *err)
{
    cam_dtype dtype = CAM_DTYPE_FLOAT;
    unsigned char value[8] = {0};
    cam_attr *a = cam_node_attr(node, "value");
    if (a) {
        a->used = 1;
        if (a->type != CAM_ATTR_TENSOR)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "attribute 'value' is not a tensor");
        if (a->tensor < 0 || a->tensor >= g->n_tensors)
            return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                               "attribute 'value' has a data type that is not supported "
                               "(float32, int64 and bool only)");
        const cam_tensor *t = &g->tensors[a->tensor];
        if (t->numel != 1 || !t->data)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "attribute 'value' has %zu elements, not 1", t->numel);
        dtype = t->dtype;
        memcpy(value, t->data, cam_dtype_size(dtype));
    }
    int64_t dims[CAM_MAX_RANK];
    size_t n = 0;
    const cam_tensor *st;
    TRY(need_input(g, node, 0, "input", &st, err));
    if (st->kind == CAM_TENSOR_CONSTANT && st->numel > CAM_MAX_RANK)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input 0 (shape) has %zu values: tensors of rank above %d are not "
                           "supported",
                           st->numel, CAM_MAX_RANK);
    TRY(shape_ints(g, node, 0, "shape", dims, CAM_MAX_RANK, &n, err));
    TRY(cam_op_set_output(g, node, 0, dtype, (int)n, dims, err));
    fill_params *p = malloc(sizeof *p);
    if (!p)
        return no_memory(g, node, err);
    p->esize = cam_dtype_size(dtype);
    memcpy(p->value, value, sizeof value);
    set_params(node, p);
    return CAM_OK;
}

static void constant_of_shape_forward(const cam_exec *x)
{
    const fill_params *p = x->node->params;
    const size_t n = output_tensor(x, 0)->numel;
    if (n && x->out[0])
        fill_elements(x->out[0], n, p->value, p->esize);
}

/* ---- Range ---------------------------------------------------------------------------- */

/* start, limit and delta: constant scalars of one type (int64 or float32); the
 * output holds max(ceil((limit - start) / delta), 0) values start + i * delta. */
static cam_status range_type(cam_graph *g, cam_node *node, cam_error *err)
{
    static const char *const names[3] = {"start", "limit", "delta"};
    const cam_tensor *t[3];
    for (int i = 0; i < 3; i++) {
        TRY(need_input(g, node, i, names[i], &t[i], err));
        if (t[i]->kind != CAM_TENSOR_CONSTANT)
            return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                               "input %d (%s) '%s' is computed at run time: the shape must be "
                               "known at load time",
                               i, names[i], t[i]->name);
        if (t[i]->numel != 1 || t[i]->rank > 1 || t[i]->dtype != t[0]->dtype ||
            t[i]->dtype == CAM_DTYPE_BOOL)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "input %d (%s) '%s' is not a scalar of the type of input 0 "
                               "(int64 or float32)",
                               i, names[i], t[i]->name);
    }
    double count;
    if (t[0]->dtype == CAM_DTYPE_INT64) {
        const int64_t start = *(const int64_t *)t[0]->data, limit = *(const int64_t *)t[1]->data,
                      delta = *(const int64_t *)t[2]->data;
        if (delta == 0)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL, "input 2 (delta) is 0");
        /* Distances in unsigned arithmetic: they may not fit an int64. */
        if (delta > 0)
            count = limit > start ? (double)(((uint64_t)limit - (uint64_t)start - 1) /
                                             (uint64_t)delta) + 1.0
                                  : 0.0;
        else
            count = start > limit ? (double)(((uint64_t)start - (uint64_t)limit - 1) /
                                             (0 - (uint64_t)delta)) + 1.0
                                  : 0.0;
    } else {
        const float start = *(const float *)t[0]->data, limit = *(const float *)t[1]->data,
                    delta = *(const float *)t[2]->data;
        if (!isfinite(start) || !isfinite(limit) || !isfinite(delta) || delta == 0.0f)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "start %g, limit %g, delta %g do not make a range", start, limit,
                               delta);
        count = ceil(((double)limit - (double)start) / (double)delta);
        count = count < 0.0 ? 0.0 : count;
    }
    if (count > (double)CAM_GRAPH_MAX_NUMEL)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "the range has %.0f values: too many", count);
    const int64_t n = (int64_t)count;
    return cam_op_set_output(g, node, 0, t[0]->dtype, 1, &n, err);
}

static void range_forward(const cam_exec *x)
{
    const cam_tensor *out = output_tensor(x, 0);
    const size_t n = out->numel;
    if (out->dtype == CAM_DTYPE_INT64) {
        const int64_t start = *(const int64_t *)x->in[0], delta = *(const int64_t *)x->in[2];
        int64_t *y = x->out[0];
        for (size_t i = 0; i < n; i++)
            y[i] = (int64_t)((uint64_t)start + (uint64_t)i * (uint64_t)delta);
    } else {
        const float start = *(const float *)x->in[0], delta = *(const float *)x->in[2];
        float *y = x->out[0];
        for (size_t i = 0; i < n; i++)
            y[i] = start + (float)i * delta;
    }
}

/* ---- Cast ------------------------------------------------------------------------------ */

/* The name of an ONNX TensorProto data type, for messages. */
static const char *onnx_type_name(int64_t to)
{
    static const char *const names[] = {
        "undefined", "float",    "uint8",      "int8",        "uint16",   "int16",
        "int32",     "int64",    "string",     "bool",        "float16",  "double",
        "uint32",    "uint64",   "complex64",  "complex128",  "bfloat16", "float8e4m3fn",
        "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz", "uint4", "int4", "float4e2m1",
    };
    return to >= 0 && to < (int64_t)(sizeof names / sizeof names[0]) ? names[to] : "unknown";
}

typedef struct cast_params {
    cam_dtype from, to;
} cast_params;

static cam_status cast_type_common(cam_graph *g, cam_node *node, int has_saturate,
                                   cam_error *err)
{
    int64_t to, saturate;
    TRY(attr_int_required(g, node, "to", &to, err));
    if (has_saturate) /* only changes float8 results: no such type here */
        TRY(cam_op_attr_int(g, node, "saturate", 1, &saturate, err));
    if (to != CAM_DTYPE_FLOAT && to != CAM_DTYPE_INT64 && to != CAM_DTYPE_BOOL)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "attribute 'to' = %lld (%s) is not supported (float32, int64 and bool "
                           "only)",
                           (long long)to, onnx_type_name(to));
    const cam_tensor *data;
    TRY(need_input(g, node, 0, "input", &data, err));
    if (data->kind != CAM_TENSOR_CONSTANT && to != CAM_DTYPE_FLOAT)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input '%s' is computed at run time and cannot be cast to %s: only "
                           "values known at load time may be int64 or bool",
                           data->name, cam_dtype_name((cam_dtype)to));
    TRY(cam_op_set_output(g, node, 0, (cam_dtype)to, data->rank, data->dims, err));
    cast_params *p = malloc(sizeof *p);
    if (!p)
        return no_memory(g, node, err);
    p->from = data->dtype;
    p->to = (cam_dtype)to;
    set_params(node, p);
    return CAM_OK;
}

static cam_status cast_type_v6(cam_graph *g, cam_node *node, cam_error *err)
{
    return cast_type_common(g, node, 0, err);
}

static cam_status cast_type_v19(cam_graph *g, cam_node *node, cam_error *err)
{
    return cast_type_common(g, node, 1, err);
}

/* Float to int64, truncated toward zero, saturated; NaN gives 0. */
static int64_t float_to_int64(float v)
{
    if (v != v)
        return 0;
    if (v >= 9.2233720368547758e18f)
        return INT64_MAX;
    if (v <= -9.2233720368547758e18f)
        return INT64_MIN;
    return (int64_t)v;
}

static void cast_forward(const cam_exec *x)
{
    const cast_params *p = x->node->params;
    const size_t n = input_tensor(x, 0)->numel;
    if (!n)
        return;
    if (p->from == p->to) {
        if (x->out[0] != x->in[0])
            memcpy(x->out[0], x->in[0], n * cam_dtype_size(p->from));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        /* Read as double (exact for float, bool, and int64 up to 2^53), except for
         * int64 to bool and int64 to int64, done on the integers. */
        int64_t iv = 0;
        double dv = 0.0;
        switch (p->from) {
        case CAM_DTYPE_FLOAT: dv = ((const float *)x->in[0])[i]; break;
        case CAM_DTYPE_INT64:
            iv = ((const int64_t *)x->in[0])[i];
            dv = (double)iv;
            break;
        case CAM_DTYPE_BOOL:
            iv = ((const uint8_t *)x->in[0])[i] != 0;
            dv = (double)iv;
            break;
        }
        switch (p->to) {
        case CAM_DTYPE_FLOAT:
            ((float *)x->out[0])[i] = p->from == CAM_DTYPE_INT64 ? (float)iv : (float)dv;
            break;
        case CAM_DTYPE_INT64:
            ((int64_t *)x->out[0])[i] = p->from == CAM_DTYPE_FLOAT ? float_to_int64((float)dv) : iv;
            break;
        case CAM_DTYPE_BOOL:
            ((uint8_t *)x->out[0])[i] = p->from == CAM_DTYPE_FLOAT ? dv != 0.0 : iv != 0;
            break;
        }
    }
}

/* Only float32 to float32 runs with gradients: the gradient passes through. */
static void cast_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    view_backward(x, gout, gin);
}

/* ---- the family table ----------------------------------------------------------------- */

static const cam_op_def reshape_v5 = {
    .name = "Reshape", .since = 7, .until = 13, .min_inputs = 2, .max_inputs = 2,
    .min_outputs = 1, .max_outputs = 1, .flags = CAM_OP_VIEW, .type = reshape_type_v5,
    .forward = view_forward, .backward = view_backward,
};
static const cam_op_def reshape_v14 = {
    .name = "Reshape", .since = 14, .until = 22, .min_inputs = 2, .max_inputs = 2,
    .min_outputs = 1, .max_outputs = 1, .flags = CAM_OP_VIEW, .type = reshape_type_v14,
    .forward = view_forward, .backward = view_backward,
};
static const cam_op_def flatten = {
    .name = "Flatten", .since = 7, .until = 22, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1, .flags = CAM_OP_VIEW, .type = flatten_type,
    .forward = view_forward, .backward = view_backward,
};
static const cam_op_def squeeze_v1 = {
    .name = "Squeeze", .since = 7, .until = 12, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1, .flags = CAM_OP_VIEW, .type = squeeze_type_v1,
    .forward = view_forward, .backward = view_backward,
};
static const cam_op_def squeeze_v13 = {
    .name = "Squeeze", .since = 13, .until = 22, .min_inputs = 1, .max_inputs = 2,
    .min_outputs = 1, .max_outputs = 1, .flags = CAM_OP_VIEW, .type = squeeze_type_v13,
    .forward = view_forward, .backward = view_backward,
};
static const cam_op_def unsqueeze_v1 = {
    .name = "Unsqueeze", .since = 7, .until = 12, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1, .flags = CAM_OP_VIEW, .type = unsqueeze_type_v1,
    .forward = view_forward, .backward = view_backward,
};
static const cam_op_def unsqueeze_v13 = {
    .name = "Unsqueeze", .since = 13, .until = 22, .min_inputs = 2, .max_inputs = 2,
    .min_outputs = 1, .max_outputs = 1, .flags = CAM_OP_VIEW, .type = unsqueeze_type_v13,
    .forward = view_forward, .backward = view_backward,
};
static const cam_op_def identity = {
    .name = "Identity", .since = 7, .until = 22, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1, .flags = CAM_OP_VIEW | CAM_OP_IDENTITY,
    .type = identity_type, .forward = view_forward, .backward = view_backward,
};
static const cam_op_def dropout_v7 = {
    .name = "Dropout", .since = 7, .until = 9, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 2, .flags = CAM_OP_VIEW | CAM_OP_IDENTITY,
    .type = dropout_type_v7, .forward = view_forward, .backward = view_backward,
};
static const cam_op_def dropout_v10 = {
    .name = "Dropout", .since = 10, .until = 11, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 2, .flags = CAM_OP_VIEW | CAM_OP_IDENTITY,
    .type = dropout_type_v10, .forward = view_forward, .backward = view_backward,
};
static const cam_op_def dropout_v12 = {
    .name = "Dropout", .since = 12, .until = 22, .min_inputs = 1, .max_inputs = 3,
    .min_outputs = 1, .max_outputs = 2, .flags = CAM_OP_VIEW | CAM_OP_IDENTITY,
    .type = dropout_type_v12, .forward = view_forward, .backward = view_backward,
};
static const cam_op_def transpose = {
    .name = "Transpose", .since = 7, .until = 22, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1, .type = transpose_type, .forward = box_forward,
    .backward = transpose_backward,
};
static const cam_op_def concat = {
    .name = "Concat", .since = 7, .until = 22, .min_inputs = 1, .max_inputs = INT_MAX,
    .min_outputs = 1, .max_outputs = 1, .type = concat_type, .forward = concat_forward,
    .backward = concat_backward,
};
static const cam_op_def split_v2 = {
    .name = "Split", .since = 7, .until = 12, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = INT_MAX, .type = split_type_v2, .forward = split_forward,
    .backward = split_backward,
};
static const cam_op_def split_v13 = {
    .name = "Split", .since = 13, .until = 17, .min_inputs = 1, .max_inputs = 2,
    .min_outputs = 1, .max_outputs = INT_MAX, .type = split_type_v13, .forward = split_forward,
    .backward = split_backward,
};
static const cam_op_def split_v18 = {
    .name = "Split", .since = 18, .until = 22, .min_inputs = 1, .max_inputs = 2,
    .min_outputs = 1, .max_outputs = INT_MAX, .type = split_type_v18, .forward = split_forward,
    .backward = split_backward,
};
static const cam_op_def slice_v1 = {
    .name = "Slice", .since = 7, .until = 9, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1, .type = slice_type_v1, .forward = box_forward,
    .backward = slice_backward,
};
static const cam_op_def slice_v10 = {
    .name = "Slice", .since = 10, .until = 22, .min_inputs = 3, .max_inputs = 5,
    .min_outputs = 1, .max_outputs = 1, .type = slice_type_v10, .forward = box_forward,
    .backward = slice_backward,
};
static const cam_op_def gather = {
    .name = "Gather", .since = 7, .until = 22, .min_inputs = 2, .max_inputs = 2,
    .min_outputs = 1, .max_outputs = 1, .type = gather_type, .forward = gather_forward,
    .backward = gather_backward,
};
static const cam_op_def expand = {
    .name = "Expand", .since = 8, .until = 22, .min_inputs = 2, .max_inputs = 2,
    .min_outputs = 1, .max_outputs = 1, .type = expand_type, .forward = box_forward,
    .backward = expand_backward,
};
static const cam_op_def pad_v2 = {
    .name = "Pad", .since = 7, .until = 10, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1, .type = pad_type_v2, .forward = pad_forward,
    .backward = pad_backward,
};
static const cam_op_def pad_v11 = {
    .name = "Pad", .since = 11, .until = 17, .min_inputs = 2, .max_inputs = 3,
    .min_outputs = 1, .max_outputs = 1, .type = pad_type_v11, .forward = pad_forward,
    .backward = pad_backward,
};
static const cam_op_def pad_v18 = {
    .name = "Pad", .since = 18, .until = 22, .min_inputs = 2, .max_inputs = 4,
    .min_outputs = 1, .max_outputs = 1, .type = pad_type_v18, .forward = pad_forward,
    .backward = pad_backward,
};
static const cam_op_def shape_v1 = {
    .name = "Shape", .since = 7, .until = 14, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1, .type = shape_type_v1, .forward = values_forward,
    .backward = zero_backward,
};
static const cam_op_def shape_v15 = {
    .name = "Shape", .since = 15, .until = 22, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1, .type = shape_type_v15, .forward = values_forward,
    .backward = zero_backward,
};
static const cam_op_def size = {
    .name = "Size", .since = 7, .until = 22, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1, .type = size_type, .forward = values_forward,
    .backward = zero_backward,
};
static const cam_op_def constant_of_shape = {
    .name = "ConstantOfShape", .since = 9, .until = 22, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1, .type = constant_of_shape_type,
    .forward = constant_of_shape_forward,
};
static const cam_op_def range = {
    .name = "Range", .since = 11, .until = 22, .min_inputs = 3, .max_inputs = 3,
    .min_outputs = 1, .max_outputs = 1, .type = range_type, .forward = range_forward,
};
static const cam_op_def cast_v6 = {
    .name = "Cast", .since = 7, .until = 18, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1, .type = cast_type_v6, .forward = cast_forward,
    .backward = cast_backward,
};
static const cam_op_def cast_v19 = {
    .name = "Cast", .since = 19, .until = 22, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1, .type = cast_type_v19, .forward = cast_forward,
    .backward = cast_backward,
};

const cam_op_def *const cam_ops_shape[] = {
    &reshape_v5, &reshape_v14, &flatten,   &squeeze_v1,  &squeeze_v13, &unsqueeze_v1,
    &unsqueeze_v13, &identity, &dropout_v7, &dropout_v10, &dropout_v12, &transpose,
    &concat,     &split_v2,    &split_v13, &split_v18,   &slice_v1,    &slice_v10,
    &gather,     &expand,      &pad_v2,    &pad_v11,     &pad_v18,     &shape_v1,
    &shape_v15,  &size,        &constant_of_shape, &range, &cast_v6,   &cast_v19,
    NULL,
};
