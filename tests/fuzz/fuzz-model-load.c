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
    const cam_graph *g = cam_model_graph(model);
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
    for (int i = 0; i < g->n_nodes; i++) {
        const cam_node *n = &g->nodes[i];
        if (n->input < 0 || n->input >= g->n_tensors || n->output < 0 || n->output >= g->n_tensors)
            __builtin_trap();
        if (n->weight)
            total += n->weight[0] > 0.0f;
    }
    for (size_t i = 0; i < g->n_weights; i++)
        total += (size_t)(g->weights[i] != 0);
    int c;
    cam_model_find_class(model, "0", &c, &err);
    sink = total;
    cam_model_free(model);
    return 0;
}
