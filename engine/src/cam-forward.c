/*
 * cam-forward.c -- the public forward pass over a batch of images: the
 * executor (graph/cam-executor.c) runs the graph, then the probabilities are
 * the graph's softmax, or a softmax of the logits.
 */
#include "cam-workspace.h"

#include "cam-error.h"
#include "kernels/cam-kernels.h"

#include <math.h>
#include <string.h>

static cam_status forward(cam_workspace *ws, const float *input, int n, float *probs,
                          float *logits, cam_error *err)
{
    if (!input)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_forward: input is NULL");
    if (n < 1 || n > ws->max_batch)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_forward: n = %d images, the workspace holds 1..%d", n,
                             ws->max_batch);
    const cam_model *m = ws->model;
    const cam_graph *g = ws->graph;
    const size_t in_numel = cam_model_input_size(m);
    const int k = m->n_classes;
    ws->n_images = 0;
    for (size_t j = 0; j < (size_t)n * in_numel; j++) {
        if (!isfinite(input[j]))
            return cam_set_error(err, CAM_ERROR_NUMERIC,
                                 "cam_forward: input of image %d holds a non-finite value at %zu",
                                 (int)(j / in_numel), j % in_numel);
    }
    const float *inputs[64] = {0};
    for (int i = 0; i < g->n_inputs && i < 64; i++)
        if (g->inputs[i] == m->input)
            inputs[i] = input;
    cam_status s = cam_executor_forward(ws->exec, inputs, n, err);
    if (s != CAM_OK)
        return s;
    for (int i = 0; i < n; i++) {
        float *p = ws->probs + (size_t)i * k;
        const float *z = cam_executor_value(ws->exec, m->logits, i);
        if (m->probabilities >= 0)
            memcpy(p, cam_executor_value(ws->exec, m->probabilities, i), (size_t)k * sizeof *p);
        else
            cam_softmax_forward(1, k, z, p);
        if (logits)
            memcpy(logits + (size_t)i * k, z, (size_t)k * sizeof *logits);
    }
    ws->n_images = n;
    if (probs)
        memcpy(probs, ws->probs, (size_t)n * k * sizeof *probs);
    return CAM_OK;
}

cam_status cam_forward(cam_workspace *ws, const float *input, int n, float *probs, float *logits,
                       cam_error *err)
{
    if (!ws)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_forward: workspace is NULL");
    cam_progress_begin(ws);
    cam_status s = cam_progress_end(ws, forward(ws, input, n, probs, logits, err), "cam_forward",
                                    err);
    if (s == CAM_STATUS_CANCELLED)
        ws->n_images = 0; /* also when cancelled by the last report */
    return s;
}
