/*
 * fuzz-model-load.c -- libFuzzer target for the ONNX loader.
 *
 * Feeds arbitrary bytes to cam_model_load_memory. A load must either succeed
 * (and then the model's getters must be consistent) or fail with a status and a
 * one-line message; it must never crash, leak, read out of bounds or trigger
 * undefined behaviour (built with -fsanitize=fuzzer,address,undefined).
 * The same bytes go through the metadata editor of cam-model set
 * (cam_onnx_edit_metadata): it accepts exactly the bytes the wire check accepts,
 * its output passes the wire check, and outside metadata_props (field 14) the
 * output's bytes are the input's.
 */
#include "cam-model.h"
#include "onnx/cam-onnx-private.h"

#include <stdlib.h>

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

/* The bytes of every top-level field but field 14, in order (an independent reader
 * of bytes that passed the wire check). Returns the length written to out. */
static size_t strip_metadata(const uint8_t *p, size_t n, uint8_t *out)
{
    size_t pos = 0, w = 0;
    while (pos < n) {
        size_t start = pos;
        uint64_t tag = 0, v = 0;
        for (int shift = 0; pos < n; shift += 7) {
            tag |= (uint64_t)(p[pos] & 0x7f) << shift;
            if (!(p[pos++] & 0x80))
                break;
        }
        switch (tag & 7) {
        case 1: pos += 8; break;
        case 5: pos += 4; break;
        default: /* 0 and 2 */
            for (int shift = 0; pos < n; shift += 7) {
                v |= (uint64_t)(p[pos] & 0x7f) << shift;
                if (!(p[pos++] & 0x80))
                    break;
            }
            if ((tag & 7) == 2)
                pos += (size_t)v;
        }
        if ((tag >> 3) != 14) {
            memcpy(out + w, p + start, pos - start);
            w += pos - start;
        }
    }
    return w;
}

static void fuzz_edit(const uint8_t *data, size_t size)
{
    const char *keys[3] = {"cam.name", "cam.labels", "x.new"};
    const char *values[3] = {"edited", NULL, "value"};
    unsigned char *out = NULL;
    size_t out_size = 0;
    cam_error err;
    const int well_formed = cam_onnx_wire_check(data, size, &onnx__model_proto__descriptor) == NULL;
    cam_status s = cam_onnx_edit_metadata(data, size, keys, values, 3, &out, &out_size, &err);
    if ((s == CAM_OK) != well_formed)
        __builtin_trap();
    if (s != CAM_OK) {
        if (out)
            __builtin_trap();
        return;
    }
    if (cam_onnx_wire_check(out, out_size, &onnx__model_proto__descriptor) != NULL)
        __builtin_trap();
    uint8_t *a = malloc(size + 1), *b = malloc(out_size + 1);
    if (!a || !b)
        abort();
    size_t na = strip_metadata(data, size, a), nb = strip_metadata(out, out_size, b);
    if (na != nb || memcmp(a, b, na) != 0)
        __builtin_trap();
    free(a);
    free(b);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_edit(data, size);
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
