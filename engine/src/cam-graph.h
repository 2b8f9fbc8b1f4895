/*
 * cam-graph.h -- the engine's internal model: a validated, read-only network.
 *
 * cam-onnx.c turns an ONNX file into a cam_graph; everything after loading
 * (workspace, forward, backward, explanations) reads only this structure and
 * never sees ONNX or protobuf. Once built, a graph is never modified, so one
 * graph may be shared by any number of threads.
 *
 * WHAT THE LOADER GUARANTEES (so the compute code need not re-check)
 *  - Every op in `nodes` is one of enum cam_op, with its attributes checked and
 *    normalised (see each op's comment below). ONNX ops that are no-ops at
 *    inference time (Identity, Dropout in inference mode) become CAM_OP_IDENTITY.
 *    Constant nodes, Identity nodes of constants (torch.onnx.export shares equal
 *    initializers that way), Reshape shapes and ReduceMean axes are consumed at
 *    load time and do not appear. A MatMul followed by the Add of its bias becomes
 *    one CAM_OP_GEMM named "<matmul>+<add>", whose output tensor is the Add's.
 *  - The nodes form ONE CHAIN in execution order:
 *        nodes[0].input == graph->input
 *        nodes[i].input == nodes[i-1].output          (i >= 1)
 *        nodes[n_nodes-1].output == graph->output
 *    Nodes that do not contribute to the graph's (first) output are dropped.
 *    Every node has exactly one activation input and one output, and every
 *    activation tensor is used by at most one node (no fan-out), so gradients
 *    never need to be accumulated. n_nodes >= 1.
 *  - Shapes are known per image (the batch dimension N is not stored): an
 *    activation is either rank 3 (C x H x W, NCHW) or rank 1 (F features,
 *    i.e. an N x F matrix). For both, channels/height/width are filled in
 *    (rank 1: channels = F, height = width = 1) and numel = C * H * W, so a
 *    batch of n images of tensor t is n * t->numel floats, image after image.
 *    Every numel is >= 1 and <= CAM_GRAPH_MAX_NUMEL (2^28) and every dimension
 *    <= CAM_GRAPH_MAX_DIM. For a conv, the im2col matrix of one image
 *    (in_channels/group * kernel_h * kernel_w * H_out * W_out) is also
 *    <= CAM_GRAPH_MAX_NUMEL, so sizes computed in size_t never overflow.
 *  - Weights (ONNX initializers and Constant nodes) are float32, finite (no
 *    NaN/Inf), and live in ONE allocation (graph->weights) owned by the graph.
 *    The per-op pointers below (weight, bias) point into that allocation; some
 *    are derived at load time (BatchNormalization folded to scale/shift, Gemm
 *    weights transposed to [out][in] with alpha/beta folded in, Add constants
 *    broadcast to the full per-image shape).
 *
 * THE OPS (x = the node's input, y = its output, per image)
 *  CAM_OP_CONV         2-D convolution (ONNX Conv), also grouped/dilated/strided.
 *                      x: C_in x H x W, y: C_out x H_out x W_out
 *                      weight: [C_out][C_in/group][kernel_h][kernel_w], bias: [C_out] or NULL.
 *                      pads are explicit (auto_pad resolved at load time).
 *                      H_out = (H + pad_top + pad_bottom - dilation_h*(kernel_h-1) - 1) / stride_h + 1.
 *  CAM_OP_RELU         y = max(x, 0), any rank.
 *  CAM_OP_MAXPOOL      2-D max pooling (ONNX MaxPool). Padding counts as -infinity.
 *                      With ceil_mode, the last window may extend past the padded
 *                      input: clip it (the output size in y's dims is authoritative;
 *                      as in PyTorch, a window that would start in the bottom/right
 *                      padding is dropped, e.g. 5x5, k2 s2 pad 1 -> 3x3).
 *                      Every window contains at least one real input pixel.
 *  CAM_OP_GLOBAL_AVERAGE_POOL
 *                      y[c] = mean over H x W of x[c]. (ONNX GlobalAveragePool, and
 *                      ReduceMean over axes {2,3}.) y is C x 1 x 1 (rank 3) or C (rank 1,
 *                      ReduceMean keepdims=0): the same numbers either way.
 *  CAM_OP_FLATTEN      y = x (same floats, same order); y is rank 1 with F = x->numel.
 *                      (ONNX Flatten with axis 1, and Reshape to [N, -1].)
 *  CAM_OP_GEMM         fully connected: y[m] = sum_k x[k] * weight[m * in_features + k] + bias[m]
 *                      x: rank 1, in_features; y: rank 1, out_features.
 *                      weight: [out_features][in_features] (PyTorch Linear layout, row m
 *                      holds the weights of output m, whatever the ONNX transB was),
 *                      bias: [out_features] or NULL. alpha and beta are already folded in.
 *                      (ONNX Gemm with transA=0, and MatMul with a constant right operand,
 *                      fused with a following Add of a constant bias when possible.)
 *  CAM_OP_ADD          y = x + bias, where bias has x->numel floats (the same for every
 *                      image; broadcast at load time). (ONNX Add with one constant operand.)
 *  CAM_OP_BATCHNORM    inference-mode BatchNormalization, folded:
 *                      y[c,h,w] = x[c,h,w] * weight[c] + bias[c], weight = scale/sqrt(var+eps),
 *                      bias = B - mean * weight (computed in double, stored as float).
 *                      x: rank 3 (C x H x W) or rank 1 (C).
 *  CAM_OP_SOFTMAX      softmax over the F features of a rank-1 x.
 *  CAM_OP_IDENTITY     y = x (ONNX Identity, Dropout).
 *
 * SPECIAL TENSORS
 *  graph->input         the network input (C x H x W), from the ONNX graph input.
 *  graph->output        the ONNX graph output (its first one).
 *  graph->probabilities the output of the last Softmax when only identity-like nodes
 *                       (IDENTITY, FLATTEN) follow it, else -1.
 *  graph->logits        the input of that Softmax, else graph->output. n_classes is its numel.
 *                       softmax_node is that Softmax's node index, or -1.
 *
 * CAM HEAD (graph->cam_head, valid when cam_head.present)
 *  The Zhou et al. structure: feature map A (a conv or conv+ReLU output, K x H x W)
 *  -> GLOBAL_AVERAGE_POOL -> (FLATTEN | IDENTITY)* -> GEMM -> (IDENTITY | FLATTEN)*
 *  -> logits. Then logit_c = sum_k W[k,c] * mean(A_k) + b_c, and the class
 *  activation map is cam_c(h,w) = sum_k W[k,c] * A_k(h,w), with
 *      W[k,c] = cam_head.weight[c * cam_head.n_channels + k]
 *  (the dense layer's [out][in] layout; cam_head.weight == the GEMM node's weight).
 */
#ifndef CAM_GRAPH_H
#define CAM_GRAPH_H

#include <stddef.h>

#include "cam-ops.h" /* cam_conv_shape */

/* Largest accepted dimension of any tensor (and of a kernel, stride, pad...). */
#define CAM_GRAPH_MAX_DIM 65536
/* Largest accepted number of elements of one tensor (per image). */
#define CAM_GRAPH_MAX_NUMEL ((size_t)1 << 28)
/* Largest accepted size of graph->weights, in floats (512 MiB). */
#define CAM_GRAPH_MAX_WEIGHTS ((size_t)1 << 27)

typedef enum cam_op {
    CAM_OP_CONV = 0,
    CAM_OP_RELU,
    CAM_OP_MAXPOOL,
    CAM_OP_GLOBAL_AVERAGE_POOL,
    CAM_OP_FLATTEN,
    CAM_OP_GEMM,
    CAM_OP_ADD,
    CAM_OP_BATCHNORM,
    CAM_OP_SOFTMAX,
    CAM_OP_IDENTITY,
    CAM_OP_COUNT
} cam_op;

typedef enum cam_tensor_kind {
    CAM_TENSOR_INPUT = 0,  /* the network input */
    CAM_TENSOR_ACTIVATION, /* produced by a node */
    CAM_TENSOR_WEIGHT,     /* a constant (initializer), data != NULL */
    CAM_TENSOR_KIND_COUNT
} cam_tensor_kind;

typedef struct cam_tensor {
    char *name;           /* as in the ONNX graph (never NULL; unique) */
    cam_tensor_kind kind;
    int rank;             /* activations: 3 (C,H,W) or 1 (F), batch dim excluded;
                             weights: the ONNX rank (0..4), every dim included */
    int dims[4];          /* the first `rank` entries are meaningful */
    int channels, height, width; /* activations: C,H,W (rank 1: F,1,1); weights: 0 */
    size_t numel;         /* activations: per image; weights: total */
    const float *data;    /* weights: numel floats inside graph->weights; else NULL */
    int producer;         /* index of the node that writes it, or -1 */
    int consumer;         /* index of the node that reads it (activations), or -1 */
} cam_tensor;

typedef struct cam_node {
    cam_op op;
    char *name;           /* ONNX node name, or "<op_type>#<index>" when it had none */
    char *op_type;        /* ONNX op_type ("Conv", "Dropout", "ReduceMean", ...) */
    int input;            /* activation input tensor index */
    int output;           /* output tensor index */
    int params[3];        /* weight tensor indices of the ONNX inputs (informative), -1 if none */

    /* CONV, GEMM, BATCHNORM, ADD: see the op list above. Point into graph->weights. */
    const float *weight;
    const float *bias;
    /* CONV: the weights packed for cam_conv2d_direct_forward (owned), or NULL
     * when the layer uses im2col + GEMM (cam-ops.h, "Direct convolution"). */
    float *packed;

    /* CONV and MAXPOOL */
    int kernel_h, kernel_w;
    int stride_h, stride_w;
    int dilation_h, dilation_w;
    int pad_top, pad_left, pad_bottom, pad_right;
    int group;            /* CONV: in_channels and out_channels are multiples of it */
    int ceil_mode;        /* MAXPOOL */

    /* CONV: channels; GEMM: features */
    int in_channels, out_channels;
    int in_features, out_features;
} cam_node;

typedef struct cam_cam_head {
    int present;          /* 1 when the CAM structure was found */
    int feature_tensor;   /* A: K x H x W */
    int pool_node;        /* the GLOBAL_AVERAGE_POOL node */
    int dense_node;       /* the GEMM node */
    int n_channels;       /* K */
    int n_classes;        /* number of dense outputs (== graph n_classes) */
    const float *weight;  /* [n_classes][n_channels]: W[k,c] = weight[c * n_channels + k] */
    const float *bias;    /* [n_classes] or NULL */
} cam_cam_head;

typedef struct cam_graph {
    cam_tensor *tensors;
    int n_tensors;
    cam_node *nodes;      /* execution order, one chain (see above) */
    int n_nodes;

    int input;            /* tensor index of the network input */
    int output;           /* tensor index of the graph output */
    int logits;           /* tensor index of the pre-softmax scores */
    int probabilities;    /* tensor index of the softmax output, or -1 */
    int softmax_node;     /* node index of that softmax, or -1 */
    int n_classes;        /* tensors[logits].numel */

    cam_cam_head cam_head;

    float *weights;       /* the one allocation holding every constant */
    size_t n_weights;     /* floats in it */
    long long opset;      /* the default-domain opset version of the file */
} cam_graph;

/* "Conv", "Relu", ... (the IR op, not the ONNX op_type). */
const char *cam_op_name(cam_op op);

/* Index of the tensor with that name, or -1. */
int cam_graph_find_tensor(const cam_graph *graph, const char *name);

/* Activation bytes for a batch: sum of numel over all non-weight tensors (per image). */
size_t cam_graph_activation_numel(const cam_graph *graph);

/* The conv geometry of a CONV node. */
void cam_node_conv_shape(const cam_graph *graph, const cam_node *node, cam_conv_shape *s);

/* Packs the weights of every convolution that the direct kernel takes (node
 * packed, see cam-ops.h "Direct convolution"); called once by the loader. Returns
 * 0, or -1 when out of memory. */
int cam_graph_pack_convolutions(cam_graph *graph);

/* Frees everything the graph owns and the graph itself. NULL is fine. */
void cam_graph_free(cam_graph *graph);

#endif /* CAM_GRAPH_H */
