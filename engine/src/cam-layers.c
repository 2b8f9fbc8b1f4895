/*
 * cam-layers.c -- which tensors an explanation can be computed on.
 *
 * Candidate layers are the activations of the convolutions, as Keras shows
 * them: the output of a conv's ReLU (conv -> [BatchNorm | Identity]* -> Relu),
 * else the conv's own output. The automatic layer is the last candidate with
 * more than 1x1 pixels. The CAM head is the Zhou et al. structure
 * A -> GlobalAveragePool -> (Flatten)* -> Gemm -> logits (see cam-graph.h).
 */
#include "cam-model.h"
#include "cam-error.h"

#include <stdlib.h>
#include <string.h>

static int producer_op(const cam_graph *g, int tensor, cam_op *op)
{
    int node = tensor >= 0 ? g->tensors[tensor].producer : -1;
    if (node >= 0)
        *op = g->nodes[node].op;
    return node;
}

/* Follow a tensor back through ops that do not change values. */
static int skip_back(const cam_graph *g, int tensor, int also_flatten, int also_batchnorm)
{
    cam_op op;
    int node;
    while ((node = producer_op(g, tensor, &op)) >= 0 &&
           (op == CAM_OP_IDENTITY || (also_flatten && op == CAM_OP_FLATTEN) ||
            (also_batchnorm && op == CAM_OP_BATCHNORM)))
        tensor = g->nodes[node].input;
    return tensor;
}

/* Is tensor t a candidate explanation layer? */
static int is_candidate(const cam_graph *g, int t)
{
    const cam_tensor *tensor = &g->tensors[t];
    if (tensor->kind != CAM_TENSOR_ACTIVATION || tensor->rank != 3)
        return 0;
    cam_op op;
    int node = producer_op(g, t, &op);
    if (node < 0)
        return 0;
    if (op == CAM_OP_RELU) {
        int before = skip_back(g, g->nodes[node].input, 0, 1);
        cam_op op2;
        return producer_op(g, before, &op2) >= 0 && op2 == CAM_OP_CONV;
    }
    if (op == CAM_OP_CONV) {
        /* only when no ReLU follows (through BatchNorm / Identity) */
        int next = tensor->consumer;
        while (next >= 0 && (g->nodes[next].op == CAM_OP_BATCHNORM ||
                             g->nodes[next].op == CAM_OP_IDENTITY))
            next = g->tensors[g->nodes[next].output].consumer;
        return !(next >= 0 && g->nodes[next].op == CAM_OP_RELU);
    }
    return 0;
}

void cam_graph_find_cam_head(cam_graph *g)
{
    cam_cam_head *head = &g->cam_head;
    memset(head, 0, sizeof *head);
    head->feature_tensor = head->pool_node = head->dense_node = -1;
    cam_op op;
    int t = skip_back(g, g->logits, 1, 0);
    int dense = producer_op(g, t, &op);
    if (dense < 0 || op != CAM_OP_GEMM)
        return;
    t = skip_back(g, g->nodes[dense].input, 1, 0);
    int pool = producer_op(g, t, &op);
    if (pool < 0 || op != CAM_OP_GLOBAL_AVERAGE_POOL)
        return;
    int feature = skip_back(g, g->nodes[pool].input, 0, 0);
    if (!is_candidate(g, feature))
        return;
    const cam_node *d = &g->nodes[dense];
    if (d->in_features != g->tensors[feature].channels || d->out_features != g->n_classes)
        return;
    head->present = 1;
    head->feature_tensor = feature;
    head->pool_node = pool;
    head->dense_node = dense;
    head->n_channels = d->in_features;
    head->n_classes = d->out_features;
    head->weight = d->weight;
    head->bias = d->bias;
}

cam_status cam_model_init_layers(cam_model *model, cam_error *err)
{
    const cam_graph *g = model->graph;
    model->layers = calloc((size_t)g->n_tensors + 1, sizeof *model->layers);
    if (!model->layers)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    model->n_layers = 0;
    model->auto_layer = -1;
    /* graph order = node order */
    for (int i = 0; i < g->n_nodes; i++) {
        int t = g->nodes[i].output;
        if (is_candidate(g, t))
            model->layers[model->n_layers++] = t;
    }
    for (int i = model->n_layers - 1; i >= 0 && model->auto_layer < 0; i--) {
        const cam_tensor *t = &g->tensors[model->layers[i]];
        if (t->height * t->width > 1)
            model->auto_layer = model->layers[i];
    }
    if (model->auto_layer < 0 && model->n_layers > 0)
        model->auto_layer = model->layers[model->n_layers - 1];
    return CAM_OK;
}

int cam_model_n_layers(const cam_model *model)
{
    return model ? model->n_layers : 0;
}

cam_status cam_model_get_layer(const cam_model *model, int index, cam_layer_info *out, cam_error *err)
{
    if (!model)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "model is NULL");
    if (!out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "out is NULL");
    if (index < 0 || index >= model->n_layers)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "layer index %d is out of range (the model has %d layers)", index,
                             model->n_layers);
    const cam_graph *g = model->graph;
    const cam_tensor *t = &g->tensors[model->layers[index]];
    out->name = t->name;
    out->op = cam_op_name(g->nodes[t->producer].op);
    out->channels = t->channels;
    out->height = t->height;
    out->width = t->width;
    return CAM_OK;
}

const char *cam_model_auto_layer(const cam_model *model)
{
    if (!model || model->auto_layer < 0)
        return NULL;
    return model->graph->tensors[model->auto_layer].name;
}

int cam_model_supports_cam(const cam_model *model)
{
    return model && model->graph->cam_head.present;
}
