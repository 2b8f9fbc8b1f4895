/*
 * test-net.h -- small networks built directly in the engine's IR (cam-graph.h),
 * without ONNX, for the compute tests.
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
#include "cam-graph.h"

typedef struct test_layer {
    cam_op op;
    int size;          /* CONV: out channels; GEMM: out features */
    int kernel;        /* CONV / MAXPOOL: square kernel */
    int stride;        /* CONV / MAXPOOL */
    int pad;           /* CONV / MAXPOOL: all four sides */
    int group;         /* CONV (0 = 1) */
    int ceil_mode;     /* MAXPOOL */
} test_layer;

/* Builds the graph; NULL on a bad spec. Every weight is uniform in
 * [-scale, scale] with scale = sqrt(3 / fan_in) (unit variance for unit input).
 * fixed: when not NULL, a list of all weights in layer order (conv: weight then
 * bias; gemm: weight [out][in] then bias; batchnorm: mul then add; add: the full
 * bias), used instead of random ones. */
cam_graph *test_net_build(int channels, int height, int width, const test_layer *layers,
                          int n_layers, unsigned seed, int layer_offset, const float *fixed);

/* Wraps a graph in a model (cam_model_create); aborts the test on failure. */
cam_model *test_net_model(cam_graph *graph);

/* Shape of the output of layer j (for building tails). */
void test_net_shape_after(int channels, int height, int width, const test_layer *layers, int j,
                          int *c_out, int *h_out, int *w_out);

#endif /* TEST_NET_H */
