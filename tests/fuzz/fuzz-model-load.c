/*
 * fuzz-model-load.c -- libFuzzer target for the ONNX loader.
 *
 * Feeds arbitrary bytes to cam_model_load_memory. A load must either succeed
 * (and then the model's getters must be consistent) or fail with a status and a
 * one-line message; it must never crash, leak, read out of bounds or trigger
 * undefined behaviour (built with -fsanitize=fuzzer,address,undefined).
 */
#include "cam-model.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cam_model *model = NULL;
    cam_error err;
    cam_status status = cam_model_load_memory(data, size, "fuzz", &model, &err);
    if (status != CAM_OK) {
        if (model || err.status != status || !memchr(err.message, '\0', sizeof err.message) ||
            strchr(err.message, '\n'))
            __builtin_trap();
        return 0;
    }
    /* touch everything a caller can reach */
    const cam_graph *g = model->graph;
    size_t total = cam_model_input_size(model);
    for (int i = 0; i < cam_model_n_classes(model); i++)
        total += strlen(cam_model_class_label(model, i));
    for (int i = 0; i < cam_model_n_layers(model); i++) {
        cam_layer_info layer;
        if (cam_model_get_layer(model, i, &layer, &err) != CAM_OK)
            __builtin_trap();
        total += strlen(layer.name) + (size_t)layer.channels * (size_t)layer.height;
    }
    const cam_model_info *info = cam_model_get_info(model);
    total += strlen(info->name) + strlen(info->default_layer) + strlen(info->default_colormap);
    for (int k = 0; k < g->n_order; k++) {
        const cam_node *n = &g->nodes[g->order[k]];
        if (!n->def || n->dead)
            __builtin_trap();
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] < -1 || n->inputs[j] >= g->n_tensors)
                __builtin_trap();
        for (int j = 0; j < n->n_outputs; j++)
            if (n->outputs[j] < -1 || n->outputs[j] >= g->n_tensors)
                __builtin_trap();
    }
    for (int t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].kind == CAM_TENSOR_CONSTANT && g->tensors[t].numel > 0 &&
            g->tensors[t].dtype == CAM_DTYPE_FLOAT)
            total += ((const float *)g->tensors[t].data)[0] != 0.0f;
    int c;
    cam_model_find_class(model, "0", &c, &err);
    sink = total;
    cam_model_free(model);
    return 0;
}
