/*
 * cam-op.h -- the op registry: what every ONNX op the engine runs must provide.
 *
 * One file per op family (ops/conv.c, ops/pool.c, ops/elementwise.c, ...) defines
 * a `const cam_op_def` per op and lists it in its family table; ops/registry.c
 * lists the families. Adding an op touches its family file (and the table there).
 * Nothing outside ops/ knows what an op means: the typing, the passes, the
 * forward and backward passes only call these hooks.
 *
 * THE HOOKS
 *  type      at load, in topological order, with the node's input tensors typed
 *            (constant inputs carry their data): read and check the attributes
 *            (cam_op_attr_* below mark them used; an attribute left unused is
 *            refused by the caller as "not implemented"), check the inputs'
 *            ranks, shapes and dtypes, set every output's shape and dtype
 *            (cam_tensor_set_shape), store parsed parameters in node->params
 *            (malloc'ed; freed with free(), or def->free) and the scratch floats one
 *            forward or backward call needs in node->scratch. Errors through
 *            cam_op_fail() name the node, its op and the attribute or input.
 *            After it returns, when every input is CONSTANT, the node is folded:
 *            forward runs once at load and the outputs become constants.
 *  forward   one instance: reads x->in[i] (NULL for an omitted optional input),
 *            writes x->out[j] (NULL for an unused output). Runtime values are
 *            float32; when folding, inputs may be int64 or bool: an op that
 *            accepts those in `type` must handle them in forward.
 *  backward  one instance, after the forward of the same instance (x->in and
 *            x->out hold its values): from gout[j] (d score / d output j; NULL
 *            when no gradient flows into that output: treat it as zeros)
 *            compute gin[i] = d score / d input i, OVERWRITING gin[i]. gin[i] is
 *            NULL where no gradient is wanted (constants, inputs off the path).
 *            Only vector-Jacobian products with respect to inputs: weights are
 *            frozen. NULL backward: the op is not differentiable (refused when a
 *            backward pass would cross it).
 *  absorb    optional, for the fusion pass: try to merge the single consumer
 *            `next` of node's output 0 into node (Conv absorbs BatchNormalization
 *            and Relu, MatMul absorbs Add). Return 1 when merged, 0 when not, -1
 *            on no memory. Either node takes next's output as its output 0 (next
 *            is then removed), or it adds next's output as an extra output that
 *            its forward computes too (Conv + Relu): next then stays for the
 *            backward pass (fused_into set), and node's backward receives NULL
 *            for that extra output's gradient (next's backward handles it).
 *  finish    optional, after the passes, once: prepare run-time data (packed
 *            weights). Return 0, or -1 on no memory.
 *  bias      optional, after the passes: the constant this node adds to its
 *            output 0 per channel (axis 1) after everything else, i.e. output 0 =
 *            h(inputs) + bias[c]; *channels set to their count. Conv: its B (after
 *            absorbing a BatchNormalization, the folded bias); BatchNormalization:
 *            its implicit bias B - mean scale / sqrt(var + epsilon). NULL (hook
 *            absent, or returning NULL) when the node adds none. Read by FullGrad
 *            (methods/gradient.c).
 *
 * FLAGS
 *  CAM_OP_VIEW      output 0 holds exactly the bytes of input 0 (Reshape, Flatten,
 *                   Squeeze, Unsqueeze, Identity, Dropout): the workspace shares the
 *                   buffer, forward is never called at run time (it still folds
 *                   constants by copying), and the gradient passes through.
 *  CAM_OP_IDENTITY  a VIEW whose output has input 0's shape too: removed by the passes.
 */
#ifndef CAM_OP_H
#define CAM_OP_H

#include "graph/cam-graph.h"

#include <stddef.h>
#include <stdint.h>

enum {
    CAM_OP_VIEW = 1 << 0,
    CAM_OP_IDENTITY = 1 << 1,
};

typedef struct cam_exec {
    const cam_graph *graph;
    const cam_node *node;
    const void *const *in;   /* node->n_inputs pointers (one instance) */
    void *const *out;        /* node->n_outputs pointers */
    float *scratch;          /* node->scratch floats */
} cam_exec;

typedef struct cam_op_def {
    const char *name;        /* ONNX op_type */
    int since, until;        /* default-domain opset versions served, inclusive */
    int min_inputs, max_inputs; /* the first min_inputs are required: the typing refuses
                                   an empty name there, so `type` may rely on them */
    int min_outputs, max_outputs;
    unsigned flags;
    cam_status (*type)(cam_graph *g, cam_node *node, cam_error *err);
    void (*forward)(const cam_exec *x);
    void (*backward)(const cam_exec *x, const float *const *gout, float *const *gin);
    int (*absorb)(cam_graph *g, cam_node *node, cam_node *next);
    int (*finish)(cam_graph *g, cam_node *node);
    void (*free)(void *params);
    const float *(*bias)(const cam_graph *g, const cam_node *node, int *channels);
} cam_op_def;

/* A family: a NULL-terminated list of defs (each family file exports one). */
extern const cam_op_def *const cam_ops_conv[];
extern const cam_op_def *const cam_ops_pool[];
extern const cam_op_def *const cam_ops_elementwise[];
extern const cam_op_def *const cam_ops_norm[];
extern const cam_op_def *const cam_ops_shape[];
extern const cam_op_def *const cam_ops_matmul[];
extern const cam_op_def *const cam_ops_softmax[];
extern const cam_op_def *const cam_ops_reduce[];

/* The def serving op_type at opset, or NULL. *other_version (may be NULL) is set
 * to 1 when the op exists for other opsets only. */
const cam_op_def *cam_op_find(const char *op_type, long long opset, int *other_version);
/* Every def, for listings (NULL-terminated, static). */
const cam_op_def *const *cam_op_all(void);

/* ---- helpers for the `type` hooks (ops/cam-op-util.c) --------------------- */

/* Formats "node 'NAME' (OP): <message>" into err; returns status. */
cam_status cam_op_fail(const cam_graph *g, const cam_node *node, cam_error *err, cam_status status,
                       const char *format, ...) __attribute__((format(printf, 5, 6)));

/* Attributes: the default when absent; an attribute of the wrong type is an error.
 * Each marks the attribute used. */
cam_status cam_op_attr_int(const cam_graph *g, cam_node *node, const char *name, int64_t fallback,
                           int64_t *out, cam_error *err);
cam_status cam_op_attr_float(const cam_graph *g, cam_node *node, const char *name, float fallback,
                             float *out, cam_error *err);
/* A string attribute; *out points into the node (fallback when absent). */
cam_status cam_op_attr_string(const cam_graph *g, cam_node *node, const char *name,
                              const char *fallback, const char **out, cam_error *err);
/* An INTS attribute: *n = its count (0 and *out = NULL when absent); *out points into the node. */
cam_status cam_op_attr_ints(const cam_graph *g, cam_node *node, const char *name,
                            const int64_t **out, size_t *n, cam_error *err);
/* An INTS attribute of exactly `count` values copied into out (fallback value for
 * each when absent). */
cam_status cam_op_attr_ints_n(const cam_graph *g, cam_node *node, const char *name, size_t count,
                              int64_t fallback, int64_t *out, cam_error *err);
/* Marks an attribute used without reading it (accepted and ignored, e.g. Dropout's seed). */
void cam_op_attr_ignore(cam_node *node, const char *name);

/* Input i's tensor (NULL when omitted or out of range). */
const cam_tensor *cam_op_input(const cam_graph *g, const cam_node *node, int i);
/* Output j's tensor (NULL when unused). */
cam_tensor *cam_op_output(cam_graph *g, const cam_node *node, int j);
/* Refuses a non-float32 input i (or a present one, for optional inputs) with a message. */
cam_status cam_op_need_float(const cam_graph *g, const cam_node *node, int i, cam_error *err);
/* Input i must be CONSTANT (a weight, or a shape folded at load). */
cam_status cam_op_need_constant(const cam_graph *g, const cam_node *node, int i, const char *what,
                                cam_error *err);
/* The values of a constant int64 (or float, truncated) input of rank 0 or 1 as int64;
 * *n its numel. */
cam_status cam_op_constant_ints(const cam_graph *g, const cam_node *node, int i, const char *what,
                                int64_t *out, size_t max, size_t *n, cam_error *err);
/* Sets output j's shape; refuses dims < 0, dims > CAM_GRAPH_MAX_DIM or numel too large. */
cam_status cam_op_set_output(cam_graph *g, const cam_node *node, int j, cam_dtype dtype, int rank,
                             const int64_t *dims, cam_error *err);
/* Normalises a possibly negative axis against rank (axis in [-rank, rank-1]). */
cam_status cam_op_axis(const cam_graph *g, const cam_node *node, int64_t axis, int rank,
                       const char *what, int *out, cam_error *err);
/* numpy broadcast of two shapes into out (rank *out_rank); error names both shapes. */
cam_status cam_op_broadcast(const cam_graph *g, const cam_node *node, const cam_tensor *a,
                            const cam_tensor *b, int *out_rank, int64_t *out, cam_error *err);
/* ONNX auto_pad of Conv and the pools: *mode = 0 NOTSET, 1 VALID, 2 SAME_UPPER,
 * 3 SAME_LOWER; another value is an error naming it. */
cam_status cam_op_auto_pad(const cam_graph *g, const cam_node *node, const char *auto_pad,
                           int *mode, cam_error *err);
/* Product of dims[from..to). */
size_t cam_dims_product(const int64_t *dims, int from, int to);

#endif /* CAM_OP_H */
