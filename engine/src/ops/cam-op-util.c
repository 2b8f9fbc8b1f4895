/*
 * cam-op-util.c -- helpers for the ops' `type` hooks (see cam-op.h): attributes
 * with type checks, inputs, output shapes, axes, broadcasting, error messages
 * that name the node and its op.
 */
#include "ops/cam-op.h"

#include "cam-error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cam_status cam_op_fail(const cam_graph *g, const cam_node *node, cam_error *err, cam_status status,
                       const char *format, ...)
{
    char message[CAM_ERROR_MESSAGE_SIZE];
    va_list ap;
    va_start(ap, format);
    if (vsnprintf(message, sizeof message, format, ap) < 0)
        message[0] = '\0';
    va_end(ap);
    return cam_set_error(err, status, "node '%s' (%s): %s", node->name, node->op_type, message);
}

static const char *attr_type_name(cam_attr_type type)
{
    switch (type) {
    case CAM_ATTR_FLOAT: return "FLOAT";
    case CAM_ATTR_INT: return "INT";
    case CAM_ATTR_STRING: return "STRING";
    case CAM_ATTR_TENSOR: return "TENSOR";
    case CAM_ATTR_FLOATS: return "FLOATS";
    case CAM_ATTR_INTS: return "INTS";
    case CAM_ATTR_STRINGS: return "STRINGS";
    case CAM_ATTR_OTHER: break;
    }
    return "another type";
}

/* The attribute `name` of the wanted type (marked used), NULL when absent;
 * *status is set on a type mismatch. */
static cam_attr *get_attr(const cam_graph *g, cam_node *node, const char *name, cam_attr_type want,
                          cam_status *status, cam_error *err)
{
    *status = CAM_OK;
    cam_attr *a = cam_node_attr(node, name);
    if (!a)
        return NULL;
    a->used = 1;
    if (a->type != want) {
        *status = cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                              "attribute '%s' is %s, %s expected", name, attr_type_name(a->type),
                              attr_type_name(want));
        return NULL;
    }
    return a;
}

cam_status cam_op_attr_int(const cam_graph *g, cam_node *node, const char *name, int64_t fallback,
                           int64_t *out, cam_error *err)
{
    cam_status s;
    cam_attr *a = get_attr(g, node, name, CAM_ATTR_INT, &s, err);
    *out = a ? a->i : fallback;
    return s;
}

cam_status cam_op_attr_float(const cam_graph *g, cam_node *node, const char *name, float fallback,
                             float *out, cam_error *err)
{
    cam_status s;
    cam_attr *a = get_attr(g, node, name, CAM_ATTR_FLOAT, &s, err);
    *out = a ? a->f : fallback;
    return s;
}

cam_status cam_op_attr_string(const cam_graph *g, cam_node *node, const char *name,
                              const char *fallback, const char **out, cam_error *err)
{
    cam_status s;
    cam_attr *a = get_attr(g, node, name, CAM_ATTR_STRING, &s, err);
    *out = a ? a->s : fallback;
    return s;
}

cam_status cam_op_attr_ints(const cam_graph *g, cam_node *node, const char *name,
                            const int64_t **out, size_t *n, cam_error *err)
{
    cam_status s;
    cam_attr *a = get_attr(g, node, name, CAM_ATTR_INTS, &s, err);
    *out = a ? a->ints : NULL;
    *n = a ? a->n : 0;
    return s;
}

cam_status cam_op_attr_ints_n(const cam_graph *g, cam_node *node, const char *name, size_t count,
                              int64_t fallback, int64_t *out, cam_error *err)
{
    const int64_t *v;
    size_t n;
    cam_status s = cam_op_attr_ints(g, node, name, &v, &n, err);
    if (s != CAM_OK)
        return s;
    if (v && n != count)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute '%s' has %zu values, %zu expected", name, n, count);
    for (size_t i = 0; i < count; i++)
        out[i] = v ? v[i] : fallback;
    return CAM_OK;
}

void cam_op_attr_ignore(cam_node *node, const char *name)
{
    cam_attr *a = cam_node_attr(node, name);
    if (a)
        a->used = 1;
}

const cam_tensor *cam_op_input(const cam_graph *g, const cam_node *node, int i)
{
    if (i < 0 || i >= node->n_inputs || node->inputs[i] < 0)
        return NULL;
    return &g->tensors[node->inputs[i]];
}

cam_tensor *cam_op_output(cam_graph *g, const cam_node *node, int j)
{
    if (j < 0 || j >= node->n_outputs || node->outputs[j] < 0)
        return NULL;
    return &g->tensors[node->outputs[j]];
}

cam_status cam_op_need_float(const cam_graph *g, const cam_node *node, int i, cam_error *err)
{
    const cam_tensor *t = cam_op_input(g, node, i);
    if (t && t->dtype != CAM_DTYPE_FLOAT)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input %d ('%s') is %s; float32 is supported", i, t->name,
                           cam_dtype_name(t->dtype));
    return CAM_OK;
}

cam_status cam_op_need_constant(const cam_graph *g, const cam_node *node, int i, const char *what,
                                cam_error *err)
{
    const cam_tensor *t = cam_op_input(g, node, i);
    if (!t)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL, "input %d (%s) is missing", i,
                           what);
    if (t->kind != CAM_TENSOR_CONSTANT)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input %d (%s, '%s') must be known at load time (a constant or a "
                           "shape computation); it is computed from the image",
                           i, what, t->name);
    return CAM_OK;
}

cam_status cam_op_constant_ints(const cam_graph *g, const cam_node *node, int i, const char *what,
                                int64_t *out, size_t max, size_t *n, cam_error *err)
{
    cam_status s = cam_op_need_constant(g, node, i, what, err);
    if (s != CAM_OK)
        return s;
    const cam_tensor *t = cam_op_input(g, node, i);
    if (t->rank > 1 || t->numel > max)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input %d (%s, '%s') must be a list of at most %zu integers", i, what,
                           t->name, max);
    for (size_t k = 0; k < t->numel; k++) {
        switch (t->dtype) {
        case CAM_DTYPE_INT64: out[k] = ((const int64_t *)t->data)[k]; break;
        case CAM_DTYPE_FLOAT: out[k] = (int64_t)((const float *)t->data)[k]; break;
        case CAM_DTYPE_BOOL: out[k] = ((const uint8_t *)t->data)[k]; break;
        }
    }
    *n = t->numel;
    return CAM_OK;
}

cam_status cam_op_set_output(cam_graph *g, const cam_node *node, int j, cam_dtype dtype, int rank,
                             const int64_t *dims, cam_error *err)
{
    cam_tensor *t = cam_op_output(g, node, j);
    if (!t)
        return CAM_OK;
    if (rank < 0 || rank > CAM_MAX_RANK)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "output '%s' would have rank %d; at most %d is supported", t->name, rank,
                           CAM_MAX_RANK);
    size_t numel = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || dims[i] > CAM_GRAPH_MAX_DIM)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "output '%s' would have dimension %d = %lld", t->name, i,
                               (long long)dims[i]);
        numel *= (size_t)dims[i];
        if (numel > CAM_GRAPH_MAX_NUMEL)
            return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                               "output '%s' would have more than %zu elements", t->name,
                               (size_t)CAM_GRAPH_MAX_NUMEL);
    }
    cam_tensor_set_shape(t, dtype, rank, dims);
    return CAM_OK;
}

cam_status cam_op_axis(const cam_graph *g, const cam_node *node, int64_t axis, int rank,
                       const char *what, int *out, cam_error *err)
{
    int lo = rank > 0 ? -rank : -1, hi = rank > 0 ? rank - 1 : 0;
    if (axis < lo || axis > hi)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "%s %lld is outside %d..%d for a rank-%d input", what, (long long)axis,
                           lo, hi, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return CAM_OK;
}

cam_status cam_op_broadcast(const cam_graph *g, const cam_node *node, const cam_tensor *a,
                            const cam_tensor *b, int *out_rank, int64_t *out, cam_error *err)
{
    int rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < rank; i++) {
        int ia = i - (rank - a->rank), ib = i - (rank - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char sa[96], sb[96];
            cam_tensor_shape_string(a, sa, sizeof sa);
            cam_tensor_shape_string(b, sb, sizeof sb);
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "shapes %s ('%s') and %s ('%s') cannot be broadcast together", sa,
                               a->name, sb, b->name);
        }
        out[i] = da == 1 ? db : da;
    }
    *out_rank = rank;
    return CAM_OK;
}

cam_status cam_op_auto_pad(const cam_graph *g, const cam_node *node, const char *auto_pad,
                           int *mode, cam_error *err)
{
    static const char *const names[] = {"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"};
    for (int i = 0; i < 4; i++)
        if (strcmp(auto_pad, names[i]) == 0) {
            *mode = i;
            return CAM_OK;
        }
    return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                       "attribute 'auto_pad' = '%s' is not one of NOTSET, VALID, SAME_UPPER, "
                       "SAME_LOWER", auto_pad);
}

size_t cam_dims_product(const int64_t *dims, int from, int to)
{
    size_t p = 1;
    for (int i = from; i < to; i++)
        p *= (size_t)dims[i];
    return p;
}
