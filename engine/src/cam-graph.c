/* cam-graph.c -- helpers on the internal graph (see cam-graph.h). */
#include "cam-graph.h"

#include <stdlib.h>
#include <string.h>

const char *cam_op_name(cam_op op)
{
    switch (op) {
    case CAM_OP_CONV: return "Conv";
    case CAM_OP_RELU: return "Relu";
    case CAM_OP_MAXPOOL: return "MaxPool";
    case CAM_OP_GLOBAL_AVERAGE_POOL: return "GlobalAveragePool";
    case CAM_OP_FLATTEN: return "Flatten";
    case CAM_OP_GEMM: return "Gemm";
    case CAM_OP_ADD: return "Add";
    case CAM_OP_BATCHNORM: return "BatchNormalization";
    case CAM_OP_SOFTMAX: return "Softmax";
    case CAM_OP_IDENTITY: return "Identity";
    case CAM_OP_COUNT: break;
    }
    return "?";
}

int cam_graph_find_tensor(const cam_graph *graph, const char *name)
{
    if (!graph || !name)
        return -1;
    for (int i = 0; i < graph->n_tensors; i++)
        if (strcmp(graph->tensors[i].name, name) == 0)
            return i;
    return -1;
}

size_t cam_graph_activation_numel(const cam_graph *graph)
{
    size_t total = 0;
    if (!graph)
        return 0;
    for (int i = 0; i < graph->n_tensors; i++)
        if (graph->tensors[i].kind != CAM_TENSOR_WEIGHT)
            total += graph->tensors[i].numel;
    return total;
}

void cam_node_conv_shape(const cam_graph *graph, const cam_node *node, cam_conv_shape *s)
{
    const cam_tensor *x = &graph->tensors[node->input];
    const cam_tensor *y = &graph->tensors[node->output];
    memset(s, 0, sizeof *s);
    s->in_channels = x->channels;
    s->in_height = x->height;
    s->in_width = x->width;
    s->out_channels = y->channels;
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
    s->dilation_height = node->dilation_h;
    s->dilation_width = node->dilation_w;
    s->groups = node->group > 0 ? node->group : 1;
}

int cam_graph_pack_convolutions(cam_graph *graph)
{
    for (int i = 0; i < graph->n_nodes; i++) {
        cam_node *node = &graph->nodes[i];
        if (node->op != CAM_OP_CONV || node->packed)
            continue;
        cam_conv_shape s;
        cam_node_conv_shape(graph, node, &s);
        if (!cam_conv_direct_supported(&s))
            continue;
        node->packed = malloc(cam_conv_direct_packed_size(&s) * sizeof *node->packed);
        if (!node->packed)
            return -1;
        cam_conv_direct_pack(&s, node->weight, node->packed);
    }
    return 0;
}

void cam_graph_free(cam_graph *graph)
{
    if (!graph)
        return;
    for (int i = 0; i < graph->n_tensors; i++)
        free(graph->tensors[i].name);
    for (int i = 0; i < graph->n_nodes; i++) {
        free(graph->nodes[i].name);
        free(graph->nodes[i].op_type);
        free(graph->nodes[i].packed);
    }
    free(graph->tensors);
    free(graph->nodes);
    free(graph->weights);
    free(graph);
}
