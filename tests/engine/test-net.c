/* test-net.c -- see test-net.h. */
#include "test-net.h"

#include "kernels/cam-kernels.h"
#include "onnx.pb-c.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shape {
    int rank, c, h, w;
} shape;

static size_t numel(shape s) { return (size_t)s.c * s.h * s.w; }

static shape layer_output(shape in, const test_layer *l)
{
    shape out = in;
    switch (l->op) {
    case TEST_CONV:
        out.c = l->size;
        out.h = cam_conv_output_size(in.h, l->kernel, l->stride, l->pad, l->pad, 1);
        out.w = cam_conv_output_size(in.w, l->kernel, l->stride, l->pad, l->pad, 1);
        break;
    case TEST_MAXPOOL:
        out.h = cam_pool_output_size(in.h, l->kernel, l->stride, l->pad, l->pad, 1, l->ceil_mode);
        out.w = cam_pool_output_size(in.w, l->kernel, l->stride, l->pad, l->pad, 1, l->ceil_mode);
        break;
    case TEST_GLOBAL_AVERAGE_POOL:
        out.h = out.w = 1;
        break;
    case TEST_FLATTEN:
        out.rank = 1;
        out.c = (int)numel(in);
        out.h = out.w = 1;
        break;
    case TEST_GEMM:
        out.rank = 1;
        out.c = l->size;
        out.h = out.w = 1;
        break;
    default:
        break;
    }
    return out;
}

static size_t layer_weights(shape in, const test_layer *l)
{
    int g = l->group > 0 ? l->group : 1;
    switch (l->op) {
    case TEST_CONV:
        return (size_t)l->size * (in.c / g) * l->kernel * l->kernel + (size_t)l->size;
    case TEST_GEMM:
        return (size_t)l->size * numel(in) + (size_t)l->size;
    case TEST_BATCHNORM:
        return 2 * (size_t)in.c;
    case TEST_ADD:
        return numel(in);
    default:
        return 0;
    }
}

void test_net_shape_after(int channels, int height, int width, const test_layer *layers, int j,
                          int *c_out, int *h_out, int *w_out)
{
    shape s = {3, channels, height, width};
    for (int i = 0; i <= j; i++)
        s = layer_output(s, &layers[i]);
    *c_out = s.c;
    *h_out = s.h;
    *w_out = s.w;
}

static unsigned long long rng;
static float uniform(void) /* [-1, 1) */
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}

static const char *op_type(test_op op)
{
    switch (op) {
    case TEST_CONV: return "Conv";
    case TEST_RELU: return "Relu";
    case TEST_MAXPOOL: return "MaxPool";
    case TEST_GLOBAL_AVERAGE_POOL: return "GlobalAveragePool";
    case TEST_FLATTEN: return "Flatten";
    case TEST_GEMM: return "Gemm";
    case TEST_ADD: return "Add";
    case TEST_BATCHNORM: return "BatchNormalization";
    case TEST_SOFTMAX: return "Softmax";
    case TEST_IDENTITY: return "Identity";
    }
    return "?";
}

static char tensor_prefix[256];

void test_net_set_tensor_prefix(const char *prefix)
{
    snprintf(tensor_prefix, sizeof tensor_prefix, "%s", prefix ? prefix : "");
}

void test_net_tensor_name(const test_layer *layers, int j, int layer_offset, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s_%d", tensor_prefix, op_type(layers[j].op), j + layer_offset);
}

/* ---- a minimal ONNX writer on the generated protobuf-c structs ---------------- */

#define MAX_ITEMS 256

typedef struct writer {
    Onnx__NodeProto nodes[MAX_ITEMS], *node_ptrs[MAX_ITEMS];
    Onnx__TensorProto inits[MAX_ITEMS], *init_ptrs[MAX_ITEMS];
    Onnx__AttributeProto attrs[MAX_ITEMS], *attr_ptrs[MAX_ITEMS];
    char *strings[4 * MAX_ITEMS];
    int n_nodes, n_inits, n_attrs, n_strings;
} writer;

static char *keep(writer *w, const char *text)
{
    char *copy = strdup(text);
    w->strings[w->n_strings++] = copy;
    return copy;
}

/* A float initializer named "<prefix>.<what>" with the given dims. */
static char *initializer(writer *w, const char *prefix, const char *what, const float *data,
                         int n_dims, const int64_t *dims)
{
    char name[96];
    snprintf(name, sizeof name, "%s.%s", prefix, what);
    Onnx__TensorProto *t = &w->inits[w->n_inits];
    onnx__tensor_proto__init(t);
    t->name = keep(w, name);
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    size_t n = 1;
    for (int i = 0; i < n_dims; i++)
        n *= (size_t)dims[i];
    t->n_dims = (size_t)n_dims;
    t->dims = (int64_t *)dims;
    t->n_float_data = n;
    t->float_data = (float *)data;
    w->init_ptrs[w->n_inits] = t;
    w->n_inits++;
    return t->name;
}

static Onnx__AttributeProto *attr_ints(writer *w, const char *name, int n, const int64_t *v)
{
    Onnx__AttributeProto *a = &w->attrs[w->n_attrs];
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    a->n_ints = (size_t)n;
    a->ints = (int64_t *)v;
    w->attr_ptrs[w->n_attrs] = a;
    w->n_attrs++;
    return a;
}

static Onnx__AttributeProto *attr_int(writer *w, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = &w->attrs[w->n_attrs];
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = v;
    w->attr_ptrs[w->n_attrs] = a;
    w->n_attrs++;
    return a;
}

static Onnx__AttributeProto *attr_float(writer *w, const char *name, float v)
{
    Onnx__AttributeProto *a = &w->attrs[w->n_attrs];
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    a->has_f = 1;
    a->f = v;
    w->attr_ptrs[w->n_attrs] = a;
    w->n_attrs++;
    return a;
}

cam_model *test_net_model(int channels, int height, int width, const test_layer *layers,
                          int n_layers, unsigned seed, int layer_offset, const float *fixed)
{
    writer *w = calloc(1, sizeof *w);
    /* weights, one allocation per layer kept until packing */
    float *weights[64] = {0};
    int64_t *dims_store = calloc(64 * 16, sizeof *dims_store);
    int64_t *ints_store = calloc(64 * 16, sizeof *ints_store);
    char *inputs_store[64][8];
    char *outputs_store[64][1];
    shape s = {3, channels, height, width};
    const float *fp = fixed;
    char prev[320] = "input";
    char *flat_in[1], *flat_out[1];
    if (n_layers > 0 && (layers[0].op == TEST_GEMM || layers[0].op == TEST_SOFTMAX)) {
        /* a tail that starts after the Flatten: the model input stays N x C x H x W */
        Onnx__NodeProto *node = &w->nodes[w->n_nodes];
        onnx__node_proto__init(node);
        node->name = keep(w, "Flatten#input");
        node->op_type = "Flatten";
        flat_in[0] = keep(w, "input");
        flat_out[0] = keep(w, "input.flat");
        node->n_input = node->n_output = 1;
        node->input = flat_in;
        node->output = flat_out;
        w->node_ptrs[w->n_nodes++] = node;
        snprintf(prev, sizeof prev, "input.flat");
    }
    for (int j = 0; j < n_layers; j++) {
        const test_layer *l = &layers[j];
        shape out = layer_output(s, l);
        size_t nw = layer_weights(s, l);
        rng = 0x2545f4914f6cdd1dull ^ ((unsigned long long)seed * 1000003ull +
                                       (unsigned long long)(j + layer_offset) * 7919ull);
        for (int warm = 0; warm < 4; warm++)
            (void)uniform();
        float *wp = weights[j] = calloc(nw + 1, sizeof *wp);
        if (fp) {
            memcpy(wp, fp, nw * sizeof *wp);
            fp += nw;
        }
        char node_name[64], out_name[320];
        snprintf(node_name, sizeof node_name, "%s#%d", op_type(l->op), j + layer_offset);
        test_net_tensor_name(layers, j, layer_offset, out_name, sizeof out_name);
        Onnx__NodeProto *node = &w->nodes[w->n_nodes];
        onnx__node_proto__init(node);
        node->name = keep(w, node_name);
        node->op_type = (char *)op_type(l->op);
        char **ins = inputs_store[j];
        ins[0] = keep(w, prev);
        node->n_input = 1;
        node->input = ins;
        outputs_store[j][0] = keep(w, out_name);
        node->n_output = 1;
        node->output = outputs_store[j];
        int64_t *dims = dims_store + 16 * j;
        int64_t *ints = ints_store + 16 * j;
        size_t first_attr = (size_t)w->n_attrs;
        switch (l->op) {
        case TEST_CONV: {
            int grp = l->group > 0 ? l->group : 1;
            size_t fan_in = (size_t)(s.c / grp) * l->kernel * l->kernel;
            size_t nweight = (size_t)l->size * fan_in;
            if (!fp) {
                float scale = sqrtf(3.0f / (float)fan_in);
                for (size_t i = 0; i < nweight; i++)
                    wp[i] = uniform() * scale;
                for (int i = 0; i < l->size; i++)
                    wp[nweight + i] = 0.1f * uniform();
            }
            dims[0] = l->size;
            dims[1] = s.c / grp;
            dims[2] = dims[3] = l->kernel;
            dims[4] = l->size;
            ins[1] = initializer(w, node_name, "weight", wp, 4, dims);
            ins[2] = initializer(w, node_name, "bias", wp + nweight, 1, dims + 4);
            node->n_input = 3;
            ints[0] = ints[1] = l->kernel;
            ints[2] = ints[3] = l->stride;
            ints[4] = ints[5] = ints[6] = ints[7] = l->pad;
            attr_ints(w, "kernel_shape", 2, ints);
            attr_ints(w, "strides", 2, ints + 2);
            attr_ints(w, "pads", 4, ints + 4);
            attr_int(w, "group", grp);
            break;
        }
        case TEST_MAXPOOL:
            ints[0] = ints[1] = l->kernel;
            ints[2] = ints[3] = l->stride;
            ints[4] = ints[5] = ints[6] = ints[7] = l->pad;
            attr_ints(w, "kernel_shape", 2, ints);
            attr_ints(w, "strides", 2, ints + 2);
            attr_ints(w, "pads", 4, ints + 4);
            attr_int(w, "ceil_mode", l->ceil_mode);
            break;
        case TEST_GEMM: {
            size_t in = numel(s);
            size_t nweight = (size_t)l->size * in;
            if (!fp) {
                float scale = sqrtf(3.0f / (float)in);
                for (size_t i = 0; i < nweight; i++)
                    wp[i] = uniform() * scale;
                for (int i = 0; i < l->size; i++)
                    wp[nweight + i] = 0.1f * uniform();
            }
            dims[0] = l->size;
            dims[1] = (int64_t)in;
            dims[2] = l->size;
            ins[1] = initializer(w, node_name, "weight", wp, 2, dims);
            ins[2] = initializer(w, node_name, "bias", wp + nweight, 1, dims + 2);
            node->n_input = 3;
            attr_int(w, "transB", 1);
            break;
        }
        case TEST_BATCHNORM: {
            if (!fp)
                for (int i = 0; i < s.c; i++) {
                    wp[i] = 1.0f + 0.5f * uniform();
                    wp[s.c + i] = 0.5f * uniform();
                }
            float *stats = calloc(2 * (size_t)s.c, sizeof *stats);
            for (int i = 0; i < s.c; i++)
                stats[s.c + i] = 1.0f;
            weights[32 + j] = stats;
            dims[0] = s.c;
            ins[1] = initializer(w, node_name, "scale", wp, 1, dims);
            ins[2] = initializer(w, node_name, "B", wp + s.c, 1, dims);
            ins[3] = initializer(w, node_name, "mean", stats, 1, dims);
            ins[4] = initializer(w, node_name, "var", stats + s.c, 1, dims);
            node->n_input = 5;
            attr_float(w, "epsilon", 0.0f);
            break;
        }
        case TEST_ADD:
            if (!fp)
                for (size_t i = 0; i < nw; i++)
                    wp[i] = 0.5f * uniform();
            dims[0] = 1;
            dims[1] = s.c;
            dims[2] = s.h;
            dims[3] = s.w;
            ins[1] = initializer(w, node_name, "addend", wp, s.rank == 3 ? 4 : 2, dims);
            if (s.rank != 3)
                dims[1] = (int64_t)numel(s);
            node->n_input = 2;
            break;
        case TEST_FLATTEN:
            attr_int(w, "axis", 1);
            break;
        default:
            break;
        }
        node->n_attribute = (size_t)w->n_attrs - first_attr;
        node->attribute = w->attr_ptrs + first_attr;
        w->node_ptrs[w->n_nodes] = node;
        w->n_nodes++;
        snprintf(prev, sizeof prev, "%s", out_name);
        s = out;
    }

    cam_model *m = test_net_load_graph("test-net", w->node_ptrs, (size_t)w->n_nodes,
                                       w->init_ptrs, (size_t)w->n_inits, channels, height, width,
                                       prev);
    if (!m)
        exit(1);
    for (int i = 0; i < 64; i++)
        free(weights[i]);
    for (int i = 0; i < w->n_strings; i++)
        free(w->strings[i]);
    free(dims_store);
    free(ints_store);
    free(w);
    return m;
}

cam_model *test_net_load_graph(const char *name, Onnx__NodeProto **nodes, size_t n_nodes,
                               Onnx__TensorProto **inits, size_t n_inits, int channels,
                               int height, int width, const char *output)
{
    Onnx__TensorShapeProto__Dimension d[4], *dp[4];
    int64_t dims[4] = {0, channels, height, width};
    for (int i = 0; i < 4; i++) {
        onnx__tensor_shape_proto__dimension__init(&d[i]);
        dp[i] = &d[i];
        if (i == 0) {
            d[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d[i].dim_param = "N";
        } else {
            d[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d[i].dim_value = dims[i];
        }
    }
    Onnx__TensorShapeProto shp;
    onnx__tensor_shape_proto__init(&shp);
    shp.n_dim = 4;
    shp.dim = dp;
    Onnx__TypeProto__Tensor tt;
    onnx__type_proto__tensor__init(&tt);
    tt.has_elem_type = 1;
    tt.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt.shape = &shp;
    Onnx__TypeProto type;
    onnx__type_proto__init(&type);
    type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type.tensor_type = &tt;
    Onnx__ValueInfoProto in, out;
    onnx__value_info_proto__init(&in);
    onnx__value_info_proto__init(&out);
    in.name = "input";
    in.type = &type;
    out.name = (char *)output;
    Onnx__ValueInfoProto *inp[1] = {&in}, *outp[1] = {&out};
    Onnx__GraphProto graph;
    onnx__graph_proto__init(&graph);
    graph.name = (char *)name;
    graph.n_node = n_nodes;
    graph.node = nodes;
    graph.n_initializer = n_inits;
    graph.initializer = inits;
    graph.n_input = 1;
    graph.input = inp;
    graph.n_output = 1;
    graph.output = outp;
    Onnx__OperatorSetIdProto opset;
    onnx__operator_set_id_proto__init(&opset);
    opset.domain = "";
    opset.has_version = 1;
    opset.version = 17;
    Onnx__OperatorSetIdProto *opsets[1] = {&opset};
    Onnx__ModelProto model;
    onnx__model_proto__init(&model);
    model.has_ir_version = 1;
    model.ir_version = 8;
    model.graph = &graph;
    model.n_opset_import = 1;
    model.opset_import = opsets;

    size_t size = onnx__model_proto__get_packed_size(&model);
    uint8_t *bytes = malloc(size);
    if (!bytes) {
        fprintf(stderr, "%s: out of memory packing the network\n", name);
        return NULL;
    }
    onnx__model_proto__pack(&model, bytes);
    cam_model *m = NULL;
    cam_error err = {0};
    if (cam_model_load_memory(bytes, size, name, &m, &err) != CAM_OK) {
        fprintf(stderr, "%s: loading the network failed: %s\n", name, err.message);
        m = NULL;
    }
    free(bytes);
    return m;
}
