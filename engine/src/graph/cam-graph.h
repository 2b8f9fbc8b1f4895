/*
 * cam-graph.h -- the engine's internal model: a typed, validated dataflow graph.
 *
 * The ONNX reader (onnx/) builds a cam_graph: tensors and nodes with any number
 * of inputs and outputs, attributes kept as ONNX gave them. cam_graph_type()
 * (graph/cam-graph-type.c) then, in topological order, asks each node's op
 * (ops/cam-op.h) to check its attributes and inputs and to give its output
 * shapes, and folds every node whose inputs are all constants into a constant
 * (shape-only subgraphs of dynamic-batch exports vanish this way). Passes
 * (graph/cam-passes.c) then rewrite the typed graph (BatchNorm into Conv,
 * activation into Conv, MatMul + Add into Gemm, Identity and Dropout removal).
 * After that a graph is never modified, so one graph may be shared by threads.
 *
 * SHAPES AND BATCHES
 *  A graph is typed for ONE instance: the graph inputs' symbolic dimensions are
 *  set to 1 (a classifier's N x C x H x W input becomes 1 x C x H x W). A batch
 *  of n images is n such instances laid out one after another: image i of
 *  tensor t starts at i * t->numel. Every op computes one instance per call, so
 *  an image's numbers never depend on the batch it came in (the engine's
 *  bit-identity promise), and shape computations inside the graph (Shape ->
 *  Gather -> Concat -> Reshape) fold to constants once, at load.
 *
 * TENSORS
 *  kind CONSTANT: initializers, Constant nodes and folded subgraphs; data holds
 *  numel values of dtype (float32, int64 or bool as uint8). kind INPUT / VALUE:
 *  computed at run time; dtype float32 only (the typing refuses others).
 *  Every tensor knows its producer (node index or -1) and all its consumers.
 */
#ifndef CAM_GRAPH_H
#define CAM_GRAPH_H

#include "camengine.h"

#include <stddef.h>
#include <stdint.h>

#define CAM_MAX_RANK 8
/* Largest accepted dimension of any tensor (and of a kernel, stride, pad...). */
#define CAM_GRAPH_MAX_DIM ((int64_t)1 << 24)
/* Largest accepted number of elements of one tensor (one instance). */
#define CAM_GRAPH_MAX_NUMEL ((size_t)1 << 28)
/* Largest accepted total of constant data, in bytes (2 GiB). */
#define CAM_GRAPH_MAX_CONSTANT_BYTES ((size_t)1 << 31)

/* ONNX TensorProto.DataType codes of the types the engine holds. */
typedef enum cam_dtype {
    CAM_DTYPE_FLOAT = 1,
    CAM_DTYPE_BOOL = 9,  /* stored as uint8_t 0/1 */
    CAM_DTYPE_INT64 = 7,
} cam_dtype;

/* Bytes of one element. */
size_t cam_dtype_size(cam_dtype dtype);
/* "float32", "int64", "bool". */
const char *cam_dtype_name(cam_dtype dtype);
/* A malloc'ed copy of s, or NULL when out of memory. */
char *cam_strdup(const char *s);

typedef enum cam_tensor_kind {
    CAM_TENSOR_INPUT = 0, /* a graph input */
    CAM_TENSOR_VALUE,     /* produced by a node at run time */
    CAM_TENSOR_CONSTANT,  /* known at load: data != NULL */
} cam_tensor_kind;

typedef struct cam_tensor {
    char *name;           /* as in the ONNX graph (never NULL; unique) */
    cam_tensor_kind kind;
    cam_dtype dtype;
    int rank;             /* 0 .. CAM_MAX_RANK */
    int64_t dims[CAM_MAX_RANK];
    size_t numel;         /* product of dims (1 for rank 0); may be 0 for constants */
    void *data;           /* CONSTANT: numel elements (owned by the graph), else NULL */
    int typed;            /* shape and dtype known */
    int producer;         /* node index, or -1 */
    int *consumers;       /* node indices (a node reading it twice is listed twice) */
    int n_consumers;
} cam_tensor;

/* An attribute as ONNX wrote it (AttributeProto types). */
typedef enum cam_attr_type {
    CAM_ATTR_FLOAT = 1,
    CAM_ATTR_INT = 2,
    CAM_ATTR_STRING = 3,
    CAM_ATTR_TENSOR = 4,
    CAM_ATTR_FLOATS = 6,
    CAM_ATTR_INTS = 7,
    CAM_ATTR_STRINGS = 8,
    CAM_ATTR_OTHER = 0,   /* graphs, sparse tensors, type protos: no op takes them */
} cam_attr_type;

typedef struct cam_attr {
    char *name;
    cam_attr_type type;
    int64_t i;
    float f;
    char *s;              /* STRING (NUL-terminated copy) */
    int64_t *ints;        /* INTS */
    float *floats;        /* FLOATS */
    size_t n;             /* count of ints / floats / strings */
    char **strings;       /* STRINGS */
    int tensor;           /* TENSOR: index of a CONSTANT tensor holding it, else -1 */
    int used;             /* set by the op's typing when it reads it (unknown ones are refused) */
} cam_attr;

struct cam_op_def;

typedef struct cam_node {
    const struct cam_op_def *def; /* the op (ops/cam-op.h); NULL until typed */
    char *name;           /* ONNX node name, or "<op_type>#<index>" when it had none */
    char *op_type;        /* ONNX op_type */
    int *inputs;          /* tensor indices; -1 for an omitted optional input */
    int n_inputs;
    int *outputs;         /* tensor indices; -1 for an unused optional output */
    int n_outputs;
    cam_attr *attrs;
    int n_attrs;
    void *params;         /* the op's parsed attributes (owned; freed by def->free or free) */
    size_t scratch;       /* floats of scratch one forward/backward call needs */
    int dead;             /* removed by a pass or folded: never run */
    int fused_into;       /* -1, or the node whose forward also computes this node's
                             outputs (a Relu computed in its Conv's epilogue): its
                             forward is skipped, its backward runs as usual */
} cam_node;

typedef struct cam_graph {
    cam_tensor *tensors;
    int n_tensors, cap_tensors;
    cam_node *nodes;      /* ONNX order until typed; after typing `order` is the run order */
    int n_nodes, cap_nodes;
    int *order;           /* live nodes in topological order */
    int n_order;
    int *inputs;          /* graph inputs (tensor indices), as in the file */
    int n_inputs;
    int *outputs;         /* graph outputs */
    int n_outputs;
    long long opset;      /* default-domain opset of the file */
    int *hash;            /* tensor names: open addressing, -1 = empty (internal) */
    size_t hash_size;
} cam_graph;

/* ---- building (onnx/ and the passes) ------------------------------------ */

cam_graph *cam_graph_new(void);
void cam_graph_free(cam_graph *graph);
/* Adds a tensor (name copied; must not exist yet). Returns its index or -1 (no memory). */
int cam_graph_add_tensor(cam_graph *graph, const char *name, cam_tensor_kind kind);
/* Adds a node; inputs/outputs copied. Returns its index or -1. Consumers and producers
 * are linked by cam_graph_link(). */
int cam_graph_add_node(cam_graph *graph, const char *name, const char *op_type,
                       const int *inputs, int n_inputs, const int *outputs, int n_outputs);
/* Recomputes producer and consumers of every tensor from the live nodes. -1 on no memory. */
int cam_graph_link(cam_graph *graph);
/* Index of the tensor with that name, or -1. */
int cam_graph_find_tensor(const cam_graph *graph, const char *name);
/* Sets a tensor's type. */
void cam_tensor_set_shape(cam_tensor *t, cam_dtype dtype, int rank, const int64_t *dims);
/* Makes t a CONSTANT holding `data` (taken over; malloc'ed). */
void cam_tensor_set_constant(cam_tensor *t, void *data);
/* "1x64x56x56" (or "scalar"). */
void cam_tensor_shape_string(const cam_tensor *t, char *buf, size_t size);
/* The attribute of a node by name, or NULL. */
cam_attr *cam_node_attr(const cam_node *node, const char *name);

/* ---- typing (graph/cam-graph-type.c) ------------------------------------- */

/* Types the graph: input shapes from the file with symbolic dims set to 1 (or
 * from input_dims when not NULL: n_inputs arrays of the ranks in the file),
 * then every node in topological order, folding constant nodes. Drops nodes
 * that no graph output needs. Errors name the node, its op and the attribute
 * or input at fault. */
cam_status cam_graph_type(cam_graph *graph, cam_error *err);

/* Runs the rewrite passes (graph/cam-passes.c). keep: tensors that must stay
 * observable (NULL-terminated list of indices, or NULL). */
cam_status cam_graph_optimize(cam_graph *graph, cam_error *err);

/* ---- running without a model (graph/cam-graph-run.c) --------------------- */

/* One instance of a typed graph on given inputs, with buffers allocated here:
 * used by the conformance tests and by constant folding. inputs: one float
 * pointer per graph input; outputs: receives malloc'ed arrays (free()). */
cam_status cam_graph_run(const cam_graph *graph, const float *const *inputs, float **outputs,
                         cam_error *err);

#endif /* CAM_GRAPH_H */
