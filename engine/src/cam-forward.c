/*
 * cam-forward.c -- the forward pass over a batch of images.
 *
 * Images are run one after another through the whole chain of nodes (better
 * cache reuse than node-by-node over the batch), each with its own GEMM calls
 * of the same shapes, so an image's numbers do not depend on the batch it came
 * in. Nothing is allocated here: every buffer lives in the workspace.
 */
#include "cam-workspace.h"

#include "cam-error.h"

#include <math.h>
#include <string.h>

/* A convolution of one image: the direct kernel when the loader packed its weights,
 * else im2col + GEMM; relu (or NULL) receives its ReLU as well. */
static void forward_conv(cam_workspace *ws, const cam_node *node, const float *x, float *y,
                         float *relu)
{
    cam_conv_shape s;
    cam_node_conv_shape(ws->graph, node, &s);
    if (node->packed)
        cam_conv2d_direct_forward(&s, 1, x, node->packed, node->bias, y, relu, ws->scratch);
    else if (relu)
        cam_conv2d_relu_forward(&s, 1, x, node->weight, node->bias, y, relu, ws->scratch);
    else
        cam_conv2d_forward(&s, 1, x, node->weight, node->bias, y, ws->scratch);
}

/* Runs node `node` on image i (pointers into the workspace buffers). */
static void forward_node(cam_workspace *ws, const cam_node *node, int i)
{
    const cam_graph *g = ws->graph;
    const cam_tensor *tx = &g->tensors[node->input];
    const cam_tensor *ty = &g->tensors[node->output];
    const float *x = ws->acts[node->input] + (size_t)i * tx->numel;
    float *y = ws->acts[node->output] + (size_t)i * ty->numel;

    switch (node->op) {
    case CAM_OP_CONV:
        forward_conv(ws, node, x, y, NULL);
        break;
    case CAM_OP_RELU:
        cam_relu_forward(tx->numel, x, y);
        break;
    case CAM_OP_MAXPOOL: {
        cam_pool_shape s;
        cam_node_pool_shape(g, node, &s);
        cam_maxpool_forward(&s, 1, x, y);
        break;
    }
    case CAM_OP_GLOBAL_AVERAGE_POOL:
        cam_global_avgpool_forward(1, tx->channels, tx->height * tx->width, x, y);
        break;
    case CAM_OP_GEMM:
        cam_gemm_forward(1, node->in_features, node->out_features, 1.0f, 1.0f, 1, x, node->weight,
                         node->bias, node->bias ? node->out_features : 0, y);
        break;
    case CAM_OP_ADD:
        cam_add_forward(1, tx->numel, x, node->bias, 0, tx->numel, 1, y);
        break;
    case CAM_OP_BATCHNORM:
        cam_batchnorm_forward(1, tx->channels, tx->height * tx->width, node->weight, node->bias, x,
                              y);
        break;
    case CAM_OP_SOFTMAX:
        cam_softmax_forward(1, (int)tx->numel, x, y);
        break;
    case CAM_OP_FLATTEN:
    case CAM_OP_IDENTITY:
    case CAM_OP_COUNT:
        cam_identity_forward(tx->numel, x, y); /* aliased: no copy */
        break;
    }
}

/* A Conv whose output feeds the next node, a ReLU, is run with that ReLU in its
 * epilogue (cam_conv2d_relu_forward): the same numbers, one pass fewer. */
static int conv_relu_pair(const cam_graph *g, int j)
{
    return j + 1 < g->n_nodes && g->nodes[j].op == CAM_OP_CONV &&
           g->nodes[j + 1].op == CAM_OP_RELU && g->nodes[j + 1].input == g->nodes[j].output &&
           g->nodes[j + 1].output != g->nodes[j].output;
}

static void forward_conv_relu(cam_workspace *ws, const cam_node *conv, const cam_node *relu, int i)
{
    const cam_graph *g = ws->graph;
    const size_t in = g->tensors[conv->input].numel, out = g->tensors[conv->output].numel;
    forward_conv(ws, conv, ws->acts[conv->input] + (size_t)i * in,
                 ws->acts[conv->output] + (size_t)i * out, ws->acts[relu->output] + (size_t)i * out);
}

cam_status cam_forward(cam_workspace *ws, const float *input, int n, float *probs, float *logits,
                       cam_error *err)
{
    if (!ws)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_forward: workspace is NULL");
    if (!input)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_forward: input is NULL");
    if (n < 1 || n > ws->max_batch)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_forward: n = %d images, the workspace holds 1..%d", n,
                             ws->max_batch);
    const cam_graph *g = ws->graph;
    const size_t in_numel = g->tensors[g->input].numel;
    const int k = g->n_classes;
    ws->n_images = 0;

    for (size_t j = 0; j < (size_t)n * in_numel; j++) {
        if (!isfinite(input[j]))
            return cam_set_error(err, CAM_ERROR_NUMERIC,
                                 "cam_forward: input of image %d holds a non-finite value at %zu",
                                 (int)(j / in_numel), j % in_numel);
    }
    memcpy(ws->acts[g->input], input, (size_t)n * in_numel * sizeof *input);

    for (int i = 0; i < n; i++) {
        for (int j = 0; j < g->n_nodes; j++) {
            if (conv_relu_pair(g, j)) {
                forward_conv_relu(ws, &g->nodes[j], &g->nodes[j + 1], i);
                j++;
            } else {
                forward_node(ws, &g->nodes[j], i);
            }
        }
        /* Probabilities: the graph's softmax, else a softmax of the logits. */
        float *p = ws->probs + (size_t)i * k;
        if (g->probabilities >= 0)
            memcpy(p, ws->acts[g->probabilities] + (size_t)i * k, (size_t)k * sizeof *p);
        else
            cam_softmax_forward(1, k, ws->acts[g->logits] + (size_t)i * k, p);
    }
    ws->n_images = n;
    if (probs)
        memcpy(probs, ws->probs, (size_t)n * k * sizeof *probs);
    if (logits)
        memcpy(logits, ws->acts[g->logits], (size_t)n * k * sizeof *logits);
    return CAM_OK;
}
