/*
 * cam-workspace.c -- per-thread memory for forward and backward passes.
 * See cam-workspace.h for what it holds and why.
 */
#include "cam-workspace.h"

#include "cam-error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void cam_node_pool_shape(const cam_graph *graph, const cam_node *node, cam_pool_shape *s)
{
    const cam_tensor *x = &graph->tensors[node->input];
    const cam_tensor *y = &graph->tensors[node->output];
    memset(s, 0, sizeof *s);
    s->channels = x->channels;
    s->in_height = x->height;
    s->in_width = x->width;
    s->out_height = y->height;
    s->out_width = y->width;
    s->kernel_height = node->kernel_h;
    s->kernel_width = node->kernel_w;
    s->stride_height = node->stride_h;
    s->stride_width = node->stride_w;
    s->pad_top = node->pad_top;
    s->pad_left = node->pad_left;
    s->pad_bottom = node->pad_bottom;
    s->pad_right = node->pad_right;
    s->dilation_height = node->dilation_h > 0 ? node->dilation_h : 1;
    s->dilation_width = node->dilation_w > 0 ? node->dilation_w : 1;
}

int cam_tensor_reaches_logits(const cam_graph *graph, int t)
{
    if (t < 0 || t >= graph->n_tensors || graph->tensors[t].kind == CAM_TENSOR_WEIGHT)
        return 0;
    if (t == graph->logits)
        return 1;
    int last = graph->tensors[graph->logits].producer;
    int first = graph->tensors[t].consumer;
    return last >= 0 && first >= 0 && first <= last;
}

const float *cam_workspace_probabilities(const cam_workspace *ws, int image)
{
    return ws->probs + (size_t)image * ws->graph->n_classes;
}

/* IDENTITY and FLATTEN produce the same floats as their input: share the buffer. */
static int node_aliases_input(const cam_node *node)
{
    return node->op == CAM_OP_IDENTITY || node->op == CAM_OP_FLATTEN;
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
    const cam_graph *g = cam_model_graph(model);
    cam_workspace *ws = calloc(1, sizeof *ws);
    if (!ws)
        goto no_memory;
    ws->model = model;
    ws->graph = g;
    ws->max_batch = max_batch;

    /* Sizes: activations (aliases excluded), largest tensor, largest im2col. */
    size_t total = 0, max_numel = (size_t)g->n_classes, scratch = 1;
    for (int t = 0; t < g->n_tensors; t++) {
        const cam_tensor *tensor = &g->tensors[t];
        if (tensor->kind == CAM_TENSOR_WEIGHT)
            continue;
        if (tensor->numel > max_numel)
            max_numel = tensor->numel;
        if (tensor->producer >= 0 && node_aliases_input(&g->nodes[tensor->producer]))
            continue;
        total += tensor->numel;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op != CAM_OP_CONV)
            continue;
        cam_conv_shape s;
        cam_node_conv_shape(g, &g->nodes[i], &s);
        size_t need = g->nodes[i].packed ? cam_conv_direct_scratch_size(&s)
                                         : cam_conv2d_scratch_size(&s);
        if (need > scratch)
            scratch = need;
        need = cam_conv2d_scratch_size(&s); /* the backward's im2col */
        if (need > scratch)
            scratch = need;
    }
    if (total > SIZE_MAX / sizeof(float) / (size_t)max_batch)
        goto no_memory;

    ws->acts = calloc((size_t)g->n_tensors, sizeof *ws->acts);
    ws->act_storage = malloc(total * (size_t)max_batch * sizeof(float));
    ws->probs = malloc((size_t)max_batch * (size_t)g->n_classes * sizeof(float));
    ws->grad[0] = malloc(max_numel * sizeof(float));
    ws->grad[1] = malloc(max_numel * sizeof(float));
    ws->explain_scratch = malloc(2 * max_numel * sizeof(double));
    ws->scratch = malloc(scratch * sizeof(float));
    if (!ws->acts || !ws->act_storage || !ws->probs || !ws->grad[0] || !ws->grad[1] ||
        !ws->explain_scratch || !ws->scratch)
        goto no_memory;
    ws->max_numel = max_numel;
    ws->scratch_size = scratch;

    /* Carve the buffers: the input first, then each node's output in order. */
    float *next = ws->act_storage;
    ws->acts[g->input] = next;
    next += g->tensors[g->input].numel * (size_t)max_batch;
    for (int i = 0; i < g->n_nodes; i++) {
        const cam_node *node = &g->nodes[i];
        if (node_aliases_input(node)) {
            ws->acts[node->output] = ws->acts[node->input];
        } else {
            ws->acts[node->output] = next;
            next += g->tensors[node->output].numel * (size_t)max_batch;
        }
    }
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
    free(ws->acts);
    free(ws->act_storage);
    free(ws->probs);
    free(ws->grad[0]);
    free(ws->grad[1]);
    free(ws->explain_scratch);
    free(ws->scratch);
    free(ws);
}
