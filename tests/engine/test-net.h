/*
 * test-net.h -- small networks written as ONNX files in memory (protobuf-c, the
 * engine's generated onnx.proto code) and loaded with cam_model_load_memory, for
 * the compute tests.
 *
 * A network is a list of layers applied in a chain to a C x H x W input. The
 * weights of layer j are drawn from a generator seeded by (seed, j), so the
 * network built from layers[j..] with layer_offset j (and the input shape of
 * layer j) has exactly the same weights as the tail of the full network: the
 * tests use this to check gradients at intermediate tensors by finite differences.
 */
#ifndef TEST_NET_H
#define TEST_NET_H

#include "camengine.h"
#include "onnx.pb-c.h"

typedef enum test_op {
    TEST_CONV,        /* Conv with weights and bias */
    TEST_RELU,
    TEST_MAXPOOL,
    TEST_GLOBAL_AVERAGE_POOL,
    TEST_FLATTEN,
    TEST_GEMM,        /* Gemm, transB = 1, weights [out][in] and bias */
    TEST_ADD,         /* Add of a constant of the per-image shape */
    TEST_BATCHNORM,   /* BatchNormalization with mean 0, var 1, epsilon 0: x * mul + add */
    TEST_SOFTMAX,
    TEST_IDENTITY,
} test_op;

typedef struct test_layer {
    test_op op;
    int size;          /* CONV: out channels; GEMM: out features */
    int kernel;        /* CONV / MAXPOOL: square kernel */
    int stride;        /* CONV / MAXPOOL */
    int pad;           /* CONV / MAXPOOL: all four sides */
    int group;         /* CONV (0 = 1) */
    int ceil_mode;     /* MAXPOOL */
} test_layer;

/* Builds the network as ONNX bytes and loads it (the test fails and exits on error). Every weight is uniform in
 * [-scale, scale] with scale = sqrt(3 / fan_in) (unit variance for unit input).
 * fixed: when not NULL, a list of all weights in layer order (conv: weight then
 * bias; gemm: weight [out][in] then bias; batchnorm: mul then add; add: the full
 * bias), used instead of random ones. */
cam_model *test_net_model(int channels, int height, int width, const test_layer *layers,
                          int n_layers, unsigned seed, int layer_offset, const float *fixed);

/* The name of the output tensor of layer j: "<prefix><Op>_<j + layer_offset>" ("Relu_1"). */
void test_net_tensor_name(const test_layer *layers, int j, int layer_offset, char *buf,
                          size_t size);

/* The prefix of the tensor names of the networks built from now on (NULL or "" =
 * none, the default; at most 255 bytes kept), for tests of long tensor names. */
void test_net_set_tensor_prefix(const char *prefix);

/* Shape of the output of layer j (for building tails). */
void test_net_shape_after(int channels, int height, int width, const test_layer *layers, int j,
                          int *c_out, int *h_out, int *w_out);

/* Wraps nodes and initializers (protobuf-c structs, as test-planner.c builds them)
 * into an opset-17 model with one input "input" of shape N x C x H x W (N symbolic)
 * and the one output `output`, packs it and loads it with cam_model_load_memory.
 * NULL, with the engine's message on stderr, when the engine refuses it. */
cam_model *test_net_load_graph(const char *name, Onnx__NodeProto **nodes, size_t n_nodes,
                               Onnx__TensorProto **inits, size_t n_inits, int channels,
                               int height, int width, const char *output);

#endif /* TEST_NET_H */
