/*
 * cam-workspace.c -- per-thread memory for forward and backward passes.
 * See cam-workspace.h for what it holds and why.
 */
#include "cam-workspace.h"

#include "cam-error.h"

#include <stdlib.h>
#include <string.h>

const float *cam_workspace_probabilities(const cam_workspace *ws, int image)
{
    return ws->probs + (size_t)image * ws->model->n_classes;
}

cam_workspace *cam_workspace_new(const cam_model *model, int max_batch, cam_error *err)
{
    if (!model) {
        cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_workspace_new: model is NULL");
        return NULL;
    }
    if (max_batch < 1 || max_batch > 1 << 20) {
        cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                      "cam_workspace_new: max_batch %d is outside 1..%d", max_batch, 1 << 20);
        return NULL;
    }
    cam_workspace *ws = calloc(1, sizeof *ws);
    if (!ws)
        goto no_memory;
    ws->model = model;
    ws->graph = model->graph;
    ws->max_batch = max_batch;
    ws->exec = cam_executor_new(model->graph, max_batch, err);
    if (!ws->exec) {
        cam_workspace_free(ws);
        if (err)
            cam_error_prefix(err, "cam_workspace_new");
        return NULL;
    }
    /* any explainable tensor (also those the layer list leaves out) fits */
    size_t max_layer = (size_t)model->n_classes;
    for (int t = 0; t < model->graph->n_tensors; t++) {
        const cam_tensor *tensor = &model->graph->tensors[t];
        if (tensor->kind != CAM_TENSOR_CONSTANT && tensor->numel > max_layer)
            max_layer = tensor->numel;
    }
    ws->max_layer = max_layer;
    ws->probs = malloc((size_t)max_batch * (size_t)model->n_classes * sizeof(float));
    ws->seed = malloc((size_t)model->n_classes * sizeof(float));
    ws->grad = malloc(max_layer * sizeof(float));
    ws->explain_scratch = malloc(2 * max_layer * sizeof(double));
    if (!ws->probs || !ws->seed || !ws->grad || !ws->explain_scratch)
        goto no_memory;
    return ws;

no_memory:
    cam_workspace_free(ws);
    cam_set_error(err, CAM_ERROR_NO_MEMORY,
                  "cam_workspace_new: out of memory for a workspace of %d image(s)", max_batch);
    return NULL;
}

void cam_workspace_free(cam_workspace *ws)
{
    if (!ws)
        return;
    cam_executor_free(ws->exec);
    free(ws->probs);
    free(ws->seed);
    free(ws->grad);
    free(ws->explain_scratch);
    free(ws);
}
