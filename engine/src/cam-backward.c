/*
 * cam-backward.c -- vector-Jacobian products from one class score of one image
 * back to any tensor upstream of the logits.
 *
 * The seed is d score / d logits (a one-hot vector for the logit; for the
 * probability, the softmax's Jacobian row p_c (delta_cj - p_j)); the executor
 * (graph/cam-executor.c) carries it back through the nodes between the tensor
 * and the logits, summing where a tensor feeds several nodes.
 */
#include "cam-workspace.h"

#include "cam-error.h"
#include "kernels/cam-kernels.h"

#include <string.h>

void cam_score_seed(cam_workspace *ws, int image, int class_index, cam_score score, float *seed)
{
    const int k = ws->model->n_classes;
    memset(seed, 0, (size_t)k * sizeof *seed);
    if (score == CAM_SCORE_PROBABILITY) {
        float *onehot = ws->grad; /* k <= max_layer floats */
        memset(onehot, 0, (size_t)k * sizeof *onehot);
        onehot[class_index] = 1.0f;
        cam_softmax_backward(1, k, cam_workspace_probabilities(ws, image), onehot, seed);
    } else {
        seed[class_index] = 1.0f;
    }
}

cam_status cam_backward_to(cam_workspace *ws, int image, int class_index, cam_score score, int t,
                           cam_error *err)
{
    const cam_model *m = ws->model;
    const int k = m->n_classes;
    float *seed = ws->seed;
    cam_score_seed(ws, image, class_index, score, seed);
    if (t == m->logits) {
        memcpy(ws->grad, seed, (size_t)k * sizeof *seed);
        return CAM_OK;
    }
    return cam_executor_backward(ws->exec, image, 1, &m->logits, (const float *const *)&seed, t,
                                 ws->grad, err);
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
    if (t < 0 || ws->graph->tensors[t].kind == CAM_TENSOR_CONSTANT ||
        ws->graph->tensors[t].dtype != CAM_DTYPE_FLOAT) {
        *status = cam_set_error(err, CAM_ERROR_NOT_FOUND,
                      "%s: tensor '%s' is not an activation of model '%s'", function,
                      tensor_name, ws->model->info.name ? ws->model->info.name : "?");
        return -1;
    }
    *status = CAM_OK;
    return t;
}

static cam_status backward(cam_workspace *ws, int image, int class_index, cam_score score,
                           const char *tensor_name, float *grad, cam_error *err)
{
    cam_status status;
    int t = check_tensor_args(ws, image, tensor_name, "cam_backward", &status, err);
    if (t < 0)
        return status;
    const cam_graph *g = ws->graph;
    const cam_model *m = ws->model;
    if (class_index < 0 || class_index >= m->n_classes)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_backward: class_index %d is outside 0..%d", class_index,
                             m->n_classes - 1);
    if ((int)score < 0 || score >= CAM_SCORE_COUNT)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_backward: unknown score %d",
                             (int)score);
    if (!grad)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_backward: grad is NULL");
    if (t != m->logits && !cam_graph_reaches(g, t, m->logits))
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_backward: tensor '%s' does not lie before the logits '%s'",
                             tensor_name, g->tensors[m->logits].name);
    const size_t numel = g->tensors[t].numel;
    if (numel <= ws->max_layer) {
        status = cam_backward_to(ws, image, class_index, score, t, err);
        if (status == CAM_OK)
            memcpy(grad, ws->grad, numel * sizeof *grad);
        return status;
    }
    /* a tensor larger than every layer: the executor writes straight into grad */
    float *seed = ws->seed;
    status = cam_backward_to(ws, image, class_index, score, m->logits, err);
    if (status != CAM_OK)
        return status;
    memcpy(seed, ws->grad, (size_t)m->n_classes * sizeof *seed);
    return cam_executor_backward(ws->exec, image, 1, &m->logits, (const float *const *)&seed, t,
                                 grad, err);
}

cam_status cam_backward(cam_workspace *ws, int image, int class_index, cam_score score,
                        const char *tensor_name, float *grad, cam_error *err)
{
    if (!ws)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_backward: workspace is NULL");
    cam_progress_begin(ws);
    return cam_progress_end(ws, backward(ws, image, class_index, score, tensor_name, grad, err),
                            "cam_backward", err);
}

cam_status cam_get_tensor(cam_workspace *ws, int image, const char *tensor_name, float *out,
                          size_t out_size, cam_error *err)
{
    cam_status status;
    int t = check_tensor_args(ws, image, tensor_name, "cam_get_tensor", &status, err);
    if (t < 0)
        return status;
    if (!cam_executor_resident(ws->exec, t))
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_get_tensor: tensor '%s' is not kept by this workspace (name it "
                             "in cam_workspace_new_for_layers)", tensor_name);
    size_t numel = ws->graph->tensors[t].numel;
    if (!out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_get_tensor: out is NULL");
    if (out_size < numel)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_get_tensor: out_size %zu is smaller than tensor '%s' (%zu floats)",
                             out_size, tensor_name, numel);
    memcpy(out, cam_executor_value(ws->exec, t, image), numel * sizeof *out);
    return CAM_OK;
}
