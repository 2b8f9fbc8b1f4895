/* test-net.c -- see test-net.h. */
#include "test-net.h"

#include "cam-model.h"
#include "cam-ops.h"

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
    case CAM_OP_CONV:
        out.c = l->size;
        out.h = cam_conv_output_size(in.h, l->kernel, l->stride, l->pad, l->pad, 1);
        out.w = cam_conv_output_size(in.w, l->kernel, l->stride, l->pad, l->pad, 1);
        break;
    case CAM_OP_MAXPOOL:
        out.h = cam_pool_output_size(in.h, l->kernel, l->stride, l->pad, l->pad, 1, l->ceil_mode);
        out.w = cam_pool_output_size(in.w, l->kernel, l->stride, l->pad, l->pad, 1, l->ceil_mode);
        break;
    case CAM_OP_GLOBAL_AVERAGE_POOL:
        out.h = out.w = 1;
        break;
    case CAM_OP_FLATTEN:
        out.rank = 1;
        out.c = (int)numel(in);
        out.h = out.w = 1;
        break;
    case CAM_OP_GEMM:
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
    case CAM_OP_CONV:
        return (size_t)l->size * (in.c / g) * l->kernel * l->kernel + (size_t)l->size;
    case CAM_OP_GEMM:
        return (size_t)l->size * numel(in) + (size_t)l->size;
    case CAM_OP_BATCHNORM:
        return 2 * (size_t)in.c;
    case CAM_OP_ADD:
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

/* "<op>#<j>" (nodes) or "<op>_<j>" (tensors) */
static char *make_name(const char *op, char sep, int j)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s%c%d", op, sep, j);
    return strdup(buf);
}

cam_graph *test_net_build(int channels, int height, int width, const test_layer *layers,
                          int n_layers, unsigned seed, int layer_offset, const float *fixed)
{
    cam_graph *g = calloc(1, sizeof *g);
    g->n_nodes = n_layers;
    g->n_tensors = n_layers + 1;
    g->nodes = calloc((size_t)n_layers, sizeof *g->nodes);
    g->tensors = calloc((size_t)n_layers + 1, sizeof *g->tensors);

    /* Shapes and the weight allocation. */
    shape s = {3, channels, height, width};
    size_t total = 0;
    for (int j = 0; j < n_layers; j++) {
        total += layer_weights(s, &layers[j]);
        s = layer_output(s, &layers[j]);
    }
    g->weights = calloc(total ? total : 1, sizeof *g->weights);
    g->n_weights = total;

    s = (shape){3, channels, height, width};
    cam_tensor *t = &g->tensors[0];
    t->name = strdup("input");
    t->kind = CAM_TENSOR_INPUT;
    t->rank = 3;
    t->dims[0] = t->channels = channels;
    t->dims[1] = t->height = height;
    t->dims[2] = t->width = width;
    t->numel = numel(s);
    t->producer = -1;
    t->consumer = 0;
    g->input = 0;

    float *wp = g->weights;
    const float *fp = fixed;
    for (int j = 0; j < n_layers; j++) {
        const test_layer *l = &layers[j];
        cam_node *node = &g->nodes[j];
        shape out = layer_output(s, l);
        node->op = l->op;
        node->name = make_name(cam_op_name(l->op), '#', j + layer_offset);
        node->op_type = strdup(cam_op_name(l->op));
        node->input = j;
        node->output = j + 1;
        node->params[0] = node->params[1] = node->params[2] = -1;

        size_t nw = layer_weights(s, l);
        rng = 0x2545f4914f6cdd1dull ^ ((unsigned long long)seed * 1000003ull +
                                       (unsigned long long)(j + layer_offset) * 7919ull);
        for (int warm = 0; warm < 4; warm++)
            (void)uniform();
        if (fp) {
            memcpy(wp, fp, nw * sizeof *wp);
            fp += nw;
        }
        switch (l->op) {
        case CAM_OP_CONV: {
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
            node->weight = wp;
            node->bias = wp + nweight;
            node->kernel_h = node->kernel_w = l->kernel;
            node->stride_h = node->stride_w = l->stride;
            node->dilation_h = node->dilation_w = 1;
            node->pad_top = node->pad_left = node->pad_bottom = node->pad_right = l->pad;
            node->group = grp;
            node->in_channels = s.c;
            node->out_channels = l->size;
            break;
        }
        case CAM_OP_MAXPOOL:
            node->kernel_h = node->kernel_w = l->kernel;
            node->stride_h = node->stride_w = l->stride;
            node->dilation_h = node->dilation_w = 1;
            node->pad_top = node->pad_left = node->pad_bottom = node->pad_right = l->pad;
            node->ceil_mode = l->ceil_mode;
            break;
        case CAM_OP_GEMM: {
            size_t in = numel(s);
            size_t nweight = (size_t)l->size * in;
            if (!fp) {
                float scale = sqrtf(3.0f / (float)in);
                for (size_t i = 0; i < nweight; i++)
                    wp[i] = uniform() * scale;
                for (int i = 0; i < l->size; i++)
                    wp[nweight + i] = 0.1f * uniform();
            }
            node->weight = wp;
            node->bias = wp + nweight;
            node->in_features = (int)in;
            node->out_features = l->size;
            break;
        }
        case CAM_OP_BATCHNORM:
            if (!fp)
                for (int i = 0; i < s.c; i++) {
                    wp[i] = 1.0f + 0.5f * uniform();
                    wp[s.c + i] = 0.5f * uniform();
                }
            node->weight = wp;
            node->bias = wp + s.c;
            break;
        case CAM_OP_ADD:
            if (!fp)
                for (size_t i = 0; i < nw; i++)
                    wp[i] = 0.5f * uniform();
            node->bias = wp;
            break;
        default:
            break;
        }
        wp += nw;

        t = &g->tensors[j + 1];
        t->name = make_name(cam_op_name(l->op), '_', j + layer_offset);
        t->kind = CAM_TENSOR_ACTIVATION;
        t->rank = out.rank;
        t->dims[0] = t->channels = out.c;
        t->dims[1] = t->height = out.h;
        t->dims[2] = t->width = out.w;
        if (out.rank == 1)
            t->dims[1] = t->dims[2] = 0;
        t->numel = numel(out);
        t->producer = j;
        t->consumer = j + 1 < n_layers ? j + 1 : -1;
        s = out;
    }
    g->output = n_layers;
    if (layers[n_layers - 1].op == CAM_OP_SOFTMAX) {
        g->probabilities = n_layers;
        g->logits = n_layers - 1;
        g->softmax_node = n_layers - 1;
    } else {
        g->probabilities = -1;
        g->logits = n_layers;
        g->softmax_node = -1;
    }
    g->n_classes = (int)g->tensors[g->logits].numel;
    g->opset = 17;
    return g;
}

cam_model *test_net_model(cam_graph *graph)
{
    cam_model *model = NULL;
    cam_error err = {0};
    cam_graph_find_cam_head(graph);
    if (cam_model_create(graph, NULL, 0, "test-net", &model, &err) != CAM_OK) {
        fprintf(stderr, "cam_model_create: %s\n", err.message);
        exit(1);
    }
    return model;
}
