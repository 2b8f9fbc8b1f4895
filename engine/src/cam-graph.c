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

void cam_graph_free(cam_graph *graph)
{
    if (!graph)
        return;
    for (int i = 0; i < graph->n_tensors; i++)
        free(graph->tensors[i].name);
    for (int i = 0; i < graph->n_nodes; i++) {
        free(graph->nodes[i].name);
        free(graph->nodes[i].op_type);
    }
    free(graph->tensors);
    free(graph->nodes);
    free(graph->weights);
    free(graph);
}
