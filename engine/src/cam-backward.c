/*
 * cam-backward.c -- vector-Jacobian products from one class score of one image
 * back to any tensor upstream of the logits.
 *
 * The graph is one chain (cam-graph.h), so the gradient is carried by a single
 * vector that each node's backward maps from its output to its input, walking
 * from the node that produces the logits down to the node that consumes the
 * requested tensor; nothing below it is computed. Two ping-pong buffers of the
 * workspace hold the vector; IDENTITY and FLATTEN pass it through untouched.
 */
#include "cam-workspace.h"

#include "cam-error.h"

#include <string.h>

/* gy (node output gradient, image i) -> gx (node input gradient). */
static void backward_node(cam_workspace *ws, const cam_node *node, int i, const float *gy,
                          float *gx)
{
    const cam_graph *g = ws->graph;
    const cam_tensor *tx = &g->tensors[node->input];
    const cam_tensor *ty = &g->tensors[node->output];
    const float *x = ws->acts[node->input] + (size_t)i * tx->numel;
    const float *y = ws->acts[node->output] + (size_t)i * ty->numel;

    switch (node->op) {
    case CAM_OP_CONV: {
        cam_conv_shape s;
        cam_node_conv_shape(g, node, &s);
        cam_conv2d_backward(&s, 1, gy, node->weight, gx, ws->scratch);
        break;
    }
    case CAM_OP_RELU:
        cam_relu_backward(tx->numel, y, gy, gx);
        break;
    case CAM_OP_MAXPOOL: {
        cam_pool_shape s;
        cam_node_pool_shape(g, node, &s);
        cam_maxpool_backward(&s, 1, x, gy, gx);
        break;
    }
    case CAM_OP_GLOBAL_AVERAGE_POOL:
        cam_global_avgpool_backward(1, tx->channels, tx->height * tx->width, gy, gx);
        break;
    case CAM_OP_GEMM:
        cam_gemm_backward(1, node->in_features, node->out_features, 1.0f, 1, node->weight, gy, gx);
        break;
    case CAM_OP_ADD:
        cam_add_backward(1, tx->numel, gy, gx);
        break;
    case CAM_OP_BATCHNORM:
        cam_batchnorm_backward(1, tx->channels, tx->height * tx->width, node->weight, gy, gx);
        break;
    case CAM_OP_SOFTMAX:
        cam_softmax_backward(1, (int)tx->numel, y, gy, gx);
        break;
    case CAM_OP_FLATTEN:
    case CAM_OP_IDENTITY:
    case CAM_OP_COUNT:
        cam_identity_backward(tx->numel, gy, gx);
        break;
    }
}

void cam_backward_to(cam_workspace *ws, int image, int class_index, cam_score score, int t,
                     const float **grad_out)
{
    const cam_graph *g = ws->graph;
    const int k = g->n_classes;
    float *cur = ws->grad[0];

    /* The seed: d score / d logits. */
    memset(cur, 0, (size_t)k * sizeof *cur);
    if (score == CAM_SCORE_PROBABILITY) {
        /* d p_c / d z_j = p_c (delta_cj - p_j) */
        float *onehot = ws->grad[1];
        memset(onehot, 0, (size_t)k * sizeof *onehot);
        onehot[class_index] = 1.0f;
        cam_softmax_backward(1, k, cam_workspace_probabilities(ws, image), onehot, cur);
    } else {
        cur[class_index] = 1.0f;
    }

    if (t != g->logits) {
        const int first = g->tensors[t].consumer;
        for (int j = g->tensors[g->logits].producer; j >= first; j--) {
            const cam_node *node = &g->nodes[j];
            if (node->op == CAM_OP_IDENTITY || node->op == CAM_OP_FLATTEN)
                continue; /* same floats: the gradient passes through */
            float *next = cur == ws->grad[0] ? ws->grad[1] : ws->grad[0];
            backward_node(ws, node, image, cur, next);
            cur = next;
        }
    }
    *grad_out = cur;
}

/* Common checks of cam_backward / cam_get_tensor: the tensor index, or -1 with
 * *status (and err) set. */
static int check_tensor_args(cam_workspace *ws, int image, const char *tensor_name,
                             const char *function, cam_status *status, cam_error *err)
{
    *status = CAM_ERROR_INVALID_ARGUMENT;
    if (!ws) {
        cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "%s: workspace is NULL", function);
        return -1;
    }
    if (ws->n_images < 1) {
        cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                      "%s: no forward pass yet in this workspace (call cam_forward first)",
                      function);
        return -1;
    }
    if (image < 0 || image >= ws->n_images) {
        cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                      "%s: image %d is outside the last batch (0..%d)", function, image,
                      ws->n_images - 1);
        return -1;
    }
    if (!tensor_name) {
        cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "%s: tensor_name is NULL", function);
        return -1;
    }
    int t = cam_graph_find_tensor(ws->graph, tensor_name);
    if (t < 0 || ws->graph->tensors[t].kind == CAM_TENSOR_WEIGHT || !ws->acts[t]) {
        *status = cam_set_error(err, CAM_ERROR_NOT_FOUND,
                      "%s: tensor '%s' is not an activation of model '%s'", function,
                      tensor_name, ws->model->info.name ? ws->model->info.name : "?");
        return -1;
    }
    *status = CAM_OK;
    return t;
}

cam_status cam_backward(cam_workspace *ws, int image, int class_index, cam_score score,
                        const char *tensor_name, float *grad, cam_error *err)
{
    cam_status status;
    int t = check_tensor_args(ws, image, tensor_name, "cam_backward", &status, err);
    if (t < 0)
        return status;
    const cam_graph *g = ws->graph;
    if (class_index < 0 || class_index >= g->n_classes)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_backward: class_index %d is outside 0..%d", class_index,
                             g->n_classes - 1);
    if ((int)score < 0 || score >= CAM_SCORE_COUNT)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_backward: unknown score %d",
                             (int)score);
    if (!grad)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_backward: grad is NULL");
    if (!cam_tensor_reaches_logits(g, t))
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_backward: tensor '%s' does not lie before the logits '%s'",
                             tensor_name, g->tensors[g->logits].name);
    const float *src;
    cam_backward_to(ws, image, class_index, score, t, &src);
    memcpy(grad, src, g->tensors[t].numel * sizeof *grad);
    return CAM_OK;
}

cam_status cam_get_tensor(cam_workspace *ws, int image, const char *tensor_name, float *out,
                          size_t out_size, cam_error *err)
{
    cam_status status;
    int t = check_tensor_args(ws, image, tensor_name, "cam_get_tensor", &status, err);
    if (t < 0)
        return status;
    size_t numel = ws->graph->tensors[t].numel;
    if (!out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_get_tensor: out is NULL");
    if (out_size < numel)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_get_tensor: out_size %zu is smaller than tensor '%s' (%zu floats)",
                             out_size, tensor_name, numel);
    memcpy(out, ws->acts[t] + (size_t)image * numel, numel * sizeof *out);
    return CAM_OK;
}
