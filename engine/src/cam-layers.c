/*
 * cam-layers.c -- a typed graph seen as an image classifier: its image input,
 * logits and softmax, the CAM head, the tensors one can explain and the
 * automatic explanation layer.
 *
 *  - Logits: the graph output, unless it is (through reshapes) the output of a
 *    Softmax or LogSoftmax: then that op's input.
 *  - Layers: every run-time tensor from which gradients reach the logits and
 *    that is 1 x C x H x W, or 1 x (1 + g*g) x C (the tokens of a vision
 *    transformer: the class token is dropped and the rest laid out g x g, as
 *    pytorch-grad-cam's vit_reshape_transform does), in run order.
 *  - The automatic layer of a CNN: the last layer with more than 1 x 1 positions
 *    and more than one channel that every path from the input to the logits
 *    passes through (a dominator: for a ResNet the output of the last block,
 *    not a tensor inside a residual branch).
 *  - Of a transformer: the last token tensor of the stream's width on which
 *    Grad-CAM is not identically zero. After the last attention only the class
 *    token feeds the head and every op is token-wise, so the patch tokens get
 *    no gradient there; that leaves the last block's first LayerNorm output
 *    (the attention's input), as pytorch-grad-cam recommends. Dominators do not
 *    work here: the residual stream bypasses that LayerNorm. The gradients are
 *    probed by one forward pass on a fixed input and one backward pass per
 *    candidate at load time, from the last back to the structural guess (the
 *    last LayerNorm before the last attention's Softmax), which is taken when
 *    no later tensor qualifies or the head does not depend on a candidate at
 *    all (an untrained model with a zero head). The probe's executor keeps only
 *    what those backward passes need.
 *  - CAM head: A -> GlobalAveragePool | ReduceMean(2,3) -> reshapes -> Gemm |
 *    MatMul(+bias) with constant weights -> logits.
 */
#include "cam-model.h"
#include "cam-error.h"
#include "graph/cam-executor.h"
#include "ops/cam-op.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Follows a tensor back through VIEW ops (reshapes). */
static int skip_views(const cam_graph *g, int t)
{
    for (;;) {
        int p = g->tensors[t].producer;
        if (p < 0 || !(g->nodes[p].def->flags & CAM_OP_VIEW))
            return t;
        t = g->nodes[p].inputs[0];
    }
}

static int producer_is(const cam_graph *g, int t, const char *op_type)
{
    int p = g->tensors[t].producer;
    return p >= 0 && strcmp(g->nodes[p].op_type, op_type) == 0;
}

static int attr_int(const cam_node *n, const char *name, int fallback)
{
    const cam_attr *a = cam_node_attr(n, name);
    return a && a->type == CAM_ATTR_INT ? (int)a->i : fallback;
}

static float attr_float(const cam_node *n, const char *name, float fallback)
{
    const cam_attr *a = cam_node_attr(n, name);
    return a && a->type == CAM_ATTR_FLOAT ? a->f : fallback;
}

/* Is tensor t (the pooled features) a global average of a 1 x K x H x W tensor?
 * Returns that tensor, or -1. */
static int global_average_of(const cam_graph *g, int t)
{
    t = skip_views(g, t);
    int p = g->tensors[t].producer;
    if (p < 0)
        return -1;
    const cam_node *n = &g->nodes[p];
    int a = n->inputs[0];
    if (a < 0 || g->tensors[a].rank != 4)
        return -1;
    if (strcmp(n->op_type, "GlobalAveragePool") == 0)
        return a;
    if (strcmp(n->op_type, "ReduceMean") == 0) {
        const cam_attr *axes = cam_node_attr(n, "axes");
        const int64_t *v = NULL;
        size_t count = 0;
        if (axes && axes->type == CAM_ATTR_INTS) {
            v = axes->ints;
            count = axes->n;
        } else if (n->n_inputs > 1 && n->inputs[1] >= 0 &&
                   g->tensors[n->inputs[1]].kind == CAM_TENSOR_CONSTANT &&
                   g->tensors[n->inputs[1]].dtype == CAM_DTYPE_INT64) {
            v = g->tensors[n->inputs[1]].data;
            count = g->tensors[n->inputs[1]].numel;
        }
        int has2 = 0, has3 = 0;
        for (size_t i = 0; i < count; i++) {
            has2 |= v[i] == 2 || v[i] == -2;
            has3 |= v[i] == 3 || v[i] == -1;
        }
        if (count == 2 && has2 && has3)
            return a;
    }
    return -1;
}

static cam_status find_cam_head(cam_model *m, cam_error *err)
{
    const cam_graph *g = m->graph;
    cam_cam_head *head = &m->cam_head;
    memset(head, 0, sizeof *head);
    head->feature_tensor = -1;
    int t = skip_views(g, m->logits);
    int p = g->tensors[t].producer;
    if (p < 0)
        return CAM_OK;
    const cam_node *d = &g->nodes[p];
    int is_gemm = strcmp(d->op_type, "Gemm") == 0, is_matmul = strcmp(d->op_type, "MatMul") == 0;
    if (!is_gemm && !is_matmul)
        return CAM_OK;
    if (d->n_inputs < 2 || d->inputs[1] < 0)
        return CAM_OK;
    const cam_tensor *b = &g->tensors[d->inputs[1]];
    if (b->kind != CAM_TENSOR_CONSTANT || b->dtype != CAM_DTYPE_FLOAT || b->rank != 2 ||
        !b->data) /* (a weight an op packed and freed) */
        return CAM_OK;
    if (is_gemm && (attr_int(d, "transA", 0) != 0))
        return CAM_OK;
    int feature = global_average_of(g, d->inputs[0]);
    if (feature < 0)
        return CAM_OK;
    const cam_tensor *a = &g->tensors[feature];
    int trans_b = is_gemm ? attr_int(d, "transB", 0) : 0;
    float alpha = is_gemm ? attr_float(d, "alpha", 1.0f) : 1.0f;
    int64_t k = a->dims[1], classes = m->n_classes;
    int64_t rows = trans_b ? classes : k, cols = trans_b ? k : classes;
    if (b->dims[0] != rows || b->dims[1] != cols)
        return CAM_OK;
    head->weight = malloc((size_t)(k * classes) * sizeof *head->weight);
    if (!head->weight)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    const float *w = b->data;
    for (int64_t c = 0; c < classes; c++)
        for (int64_t j = 0; j < k; j++)
            head->weight[c * k + j] = alpha * (trans_b ? w[c * k + j] : w[j * classes + c]);
    head->present = 1;
    head->feature_tensor = feature;
    head->n_channels = (int)k;
    return CAM_OK;
}

/* Can tensor t be explained? Fills *l. */
static int layer_shape(const cam_graph *g, int t, cam_layer *l)
{
    const cam_tensor *x = &g->tensors[t];
    if (x->kind == CAM_TENSOR_CONSTANT || x->dtype != CAM_DTYPE_FLOAT || x->dims[0] != 1)
        return 0;
    memset(l, 0, sizeof *l);
    l->tensor = t;
    if (x->rank == 4) {
        l->channels = (int)x->dims[1];
        l->height = (int)x->dims[2];
        l->width = (int)x->dims[3];
        return 1;
    }
    if (x->rank == 3 && x->dims[1] >= 5) {
        int64_t grid = (int64_t)llround(sqrt((double)(x->dims[1] - 1)));
        if (grid * grid + 1 != x->dims[1])
            return 0;
        l->tokens = 1;
        l->channels = (int)x->dims[2];
        l->height = l->width = (int)grid;
        return 1;
    }
    return 0;
}

/* Does every path from the input to the logits pass through tensor t? */
static int dominates(const cam_graph *g, int input, int logits, int t, char *mark)
{
    if (t == input || t == logits)
        return 1;
    memset(mark, 0, (size_t)g->n_tensors);
    mark[input] = 1;
    for (int k = 0; k < g->n_order; k++) {
        const cam_node *n = &g->nodes[g->order[k]];
        int hit = 0;
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] >= 0 && n->inputs[j] != t && mark[n->inputs[j]])
                hit = 1;
        if (hit)
            for (int j = 0; j < n->n_outputs; j++)
                if (n->outputs[j] >= 0)
                    mark[n->outputs[j]] = 1;
    }
    return !mark[logits];
}

/* For token tensors: the gradient of the summed logits for a fixed input:
 * 2 when it is non-zero on some patch token, 1 when only on the class token,
 * 0 when it is zero everywhere (or the pass failed): then the head does not
 * depend on the tensor for this input -- an untrained model whose head weights
 * are still zero, as torchvision initialises ViT's -- and probing earlier
 * tensors would only repeat ever longer backward passes. */
static int tokens_get_gradient(const cam_model *m, cam_executor *x, int t)
{
    const cam_graph *g = m->graph;
    const cam_tensor *tensor = &g->tensors[t];
    const cam_tensor *logits = &g->tensors[m->logits];
    float *seed = calloc(logits->numel, sizeof *seed);
    float *grad = malloc(tensor->numel * sizeof *grad);
    int result = 0;
    if (seed && grad) {
        for (size_t i = 0; i < logits->numel; i++)
            seed[i] = 1.0f;
        if (cam_executor_backward(x, 0, 1, &m->logits, (const float *const *)&seed, t, grad,
                                  NULL) == CAM_OK) {
            size_t channels = (size_t)tensor->dims[2];
            for (size_t i = 0; i < tensor->numel && result < 2; i++)
                if (grad[i] != 0.0f)
                    result = i < channels ? 1 : 2;
        }
    }
    free(seed);
    free(grad);
    return result;
}

/* When the probe cannot tell (a zero head): by structure, the last stream-wide
 * token layer made by a LayerNormalization that runs before the last Softmax
 * of the token stream (the attention's), i.e. the last block's first LayerNorm
 * in a pre-norm transformer; -1 when there is none. */
static int pre_attention_norm(const cam_model *m, int width)
{
    const cam_graph *g = m->graph;
    int last_softmax = -1;
    for (int k = 0; k < g->n_order; k++) {
        const cam_node *n = &g->nodes[g->order[k]];
        if (strcmp(n->def->name, "Softmax") == 0 && n->outputs[0] != m->probabilities)
            last_softmax = k;
    }
    int best = -1;
    for (int i = 0; i < m->n_layers; i++) {
        const cam_layer *l = &m->layers[i];
        int producer = g->tensors[l->tensor].producer;
        if (!l->tokens || l->channels != width || producer < 0 ||
            strcmp(g->nodes[producer].def->name, "LayerNormalization") != 0)
            continue;
        for (int k = 0; k < last_softmax; k++)
            if (g->order[k] == producer)
                best = i;
    }
    return best;
}

/* An executor holding one forward pass on a fixed pseudo-random input, planned
 * so that backward passes from the logits reach the layers from `first` on
 * (the activations of earlier tensors are not kept). */
static cam_status probe_forward(const cam_model *m, int first, cam_executor **out, cam_error *err)
{
    const cam_graph *g = m->graph;
    *out = NULL;
    int *targets = malloc(((size_t)m->n_layers + 1) * sizeof *targets);
    if (!targets)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    int n_targets = 0;
    for (int i = first; i < m->n_layers; i++)
        targets[n_targets++] = m->layers[i].tensor;
    cam_executor_plan plan = {&m->logits, 1, targets, n_targets, &m->logits, 1};
    cam_executor *x = cam_executor_new_planned(g, 1, &plan, err);
    free(targets);
    if (!x)
        return err ? err->status : CAM_ERROR_NO_MEMORY;
    size_t n = g->tensors[m->input].numel;
    float *probe = malloc(n * sizeof *probe);
    if (!probe) {
        cam_executor_free(x);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    }
    uint32_t s = 12345;
    for (size_t p = 0; p < n; p++) {
        s = s * 1664525u + 1013904223u;
        probe[p] = (float)(s >> 8) / 16777216.0f - 0.5f;
    }
    const float *inputs[64] = {0};
    for (int i = 0; i < g->n_inputs && i < 64; i++)
        if (g->inputs[i] == m->input)
            inputs[i] = probe;
    cam_status st = cam_executor_forward(x, inputs, 1, err);
    free(probe);
    if (st != CAM_OK) {
        cam_executor_free(x);
        return st;
    }
    *out = x;
    return CAM_OK;
}

static cam_status find_layers(cam_model *m, cam_error *err)
{
    const cam_graph *g = m->graph;
    m->layers = calloc((size_t)g->n_tensors + 1, sizeof *m->layers);
    char *to_logits = calloc((size_t)g->n_tensors + 1, 1);
    char *mark = calloc((size_t)g->n_tensors + 1, 1);
    if (!m->layers || !to_logits || !mark) {
        free(to_logits);
        free(mark);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    }
    /* tensors from which a gradient reaches the logits */
    to_logits[m->logits] = 1;
    for (int k = g->n_order - 1; k >= 0; k--) {
        const cam_node *n = &g->nodes[g->order[k]];
        int hit = 0;
        for (int j = 0; j < n->n_outputs; j++)
            if (n->outputs[j] >= 0 && to_logits[n->outputs[j]])
                hit = 1;
        if (!hit || !(n->def->backward || (n->def->flags & CAM_OP_VIEW)))
            continue;
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] >= 0 && g->tensors[n->inputs[j]].kind != CAM_TENSOR_CONSTANT)
                to_logits[n->inputs[j]] = 1;
    }
    m->n_layers = 0;
    for (int k = 0; k < g->n_order; k++) {
        const cam_node *n = &g->nodes[g->order[k]];
        for (int j = 0; j < n->n_outputs; j++) {
            int t = n->outputs[j];
            cam_layer l;
            if (t < 0 || g->tensors[t].producer != g->order[k] || t == m->logits ||
                !to_logits[t] || !layer_shape(g, t, &l) || l.height * l.width <= 1)
                continue;
            /* the pre-activation output of a node that computes its activation too
             * (Conv + Relu): explain the activation (Keras' convention) */
            const cam_tensor *x = &g->tensors[t];
            if (x->n_consumers == 1 && g->nodes[x->consumers[0]].fused_into == g->order[k])
                continue;
            m->layers[m->n_layers++] = l;
        }
    }
    free(to_logits);

    /* the automatic layer */
    m->auto_layer = -1;
    int width = -1; /* a transformer: the width of its token stream (the last token layer's) */
    for (int i = m->n_layers - 1; i >= 0 && width < 0; i--)
        if (m->layers[i].tokens)
            width = m->layers[i].channels;
    cam_executor *x = NULL;
    /* the probe's backward passes go back to the structural guess at most */
    const int guess = width >= 0 ? pre_attention_norm(m, width) : -1;
    for (int i = m->n_layers - 1; i >= 0 && m->auto_layer < 0; i--) {
        const cam_layer *l = &m->layers[i];
        if (width < 0) {
            /* CNN: a dominator with a spatial extent and more than one channel (not,
             * say, an N x 1 x 1 x F tensor of a head's channels-last LayerNorm) */
            if (l->height * l->width > 1 && l->channels > 1 &&
                dominates(g, m->input, m->logits, l->tensor, mark))
                m->auto_layer = i;
            continue;
        }
        /* transformer: the last stream-wide token tensor whose patch tokens get a
         * gradient (the residual stream itself carries none to them after the last
         * attention; the attention's inner tensors are narrower or wider) */
        if (!l->tokens || l->channels != width)
            continue;
        if (!x) {
            cam_status st = probe_forward(m, guess >= 0 ? guess : 0, &x, err);
            if (st != CAM_OK) {
                free(mark);
                return st;
            }
        }
        int got = tokens_get_gradient(m, x, l->tensor);
        if (got == 2)
            m->auto_layer = i;
        else if (got == 0 || i <= guess) {
            m->auto_layer = guess;
            break;
        }
    }
    cam_executor_free(x);
    free(mark);
    if (m->auto_layer < 0 && m->n_layers > 0)
        m->auto_layer = m->n_layers - 1;

    return CAM_OK;
}

/* An NHWC input read only by a Transpose to NCHW (TensorFlow converters): the
 * Transpose's output becomes the graph input, so images are given as NCHW like
 * for any other model. Returns -1 on no memory. */
static int take_nchw_input(cam_graph *g, int k)
{
    int in = g->inputs[k];
    const cam_tensor *t = &g->tensors[in];
    if (t->rank != 4 || t->n_consumers != 1)
        return 0;
    cam_node *n = &g->nodes[t->consumers[0]];
    if (strcmp(n->op_type, "Transpose") != 0 || n->n_outputs != 1 || n->outputs[0] < 0)
        return 0;
    const cam_attr *perm = cam_node_attr(n, "perm");
    static const int64_t nhwc_to_nchw[4] = {0, 3, 1, 2};
    if (!perm || perm->type != CAM_ATTR_INTS || perm->n != 4 ||
        memcmp(perm->ints, nhwc_to_nchw, sizeof nhwc_to_nchw) != 0)
        return 0;
    int out = n->outputs[0];
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == out)
            return 0;
    g->tensors[out].kind = CAM_TENSOR_INPUT;
    g->tensors[out].producer = -1;
    g->inputs[k] = out;
    n->dead = 1;
    int m = 0;
    for (int i = 0; i < g->n_order; i++)
        if (!g->nodes[g->order[i]].dead)
            g->order[m++] = g->order[i];
    g->n_order = m;
    return cam_graph_link(g);
}

cam_status cam_model_init_structure(cam_model *m, cam_error *err)
{
    cam_graph *g = m->graph;
    for (int i = 0; i < g->n_inputs; i++) {
        if (g->tensors[g->inputs[i]].kind == CAM_TENSOR_CONSTANT)
            continue;
        int before = g->inputs[i];
        m->info.input_name = g->tensors[before].name;
        if (take_nchw_input(g, i) != 0)
            return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
        if (g->inputs[i] != before)
            m->info.input_nhwc = 1;
    }
    /* the image input */
    m->input = -1;
    for (int i = 0; i < g->n_inputs; i++) {
        if (g->tensors[g->inputs[i]].kind == CAM_TENSOR_CONSTANT)
            continue;
        if (m->input >= 0)
            return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                                 "the network has several inputs ('%s' and '%s'); one image input "
                                 "is supported", g->tensors[m->input].name,
                                 g->tensors[g->inputs[i]].name);
        m->input = g->inputs[i];
    }
    if (m->input < 0)
        return cam_set_error(err, CAM_ERROR_INVALID_MODEL, "the graph has no input");
    const cam_tensor *in = &g->tensors[m->input];
    if (in->rank != 4 || in->dims[0] != 1)
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                             "graph input '%s' must have shape N x C x H x W with N = 1 or symbolic",
                             in->name);
    m->channels = (int)in->dims[1];
    m->height = (int)in->dims[2];
    m->width = (int)in->dims[3];

    /* logits */
    m->output = g->outputs[0];
    const cam_tensor *out = &g->tensors[m->output];
    if (out->kind == CAM_TENSOR_CONSTANT)
        return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                             "the output '%s' does not depend on the input", out->name);
    m->probabilities = -1;
    m->logits = m->output;
    int s = skip_views(g, m->output);
    if (producer_is(g, s, "Softmax") || producer_is(g, s, "LogSoftmax")) {
        const cam_node *sm = &g->nodes[g->tensors[s].producer];
        if (g->tensors[sm->inputs[0]].numel == out->numel) {
            if (strcmp(sm->op_type, "Softmax") == 0)
                m->probabilities = m->output;
            m->logits = sm->inputs[0];
        }
    }
    const cam_tensor *lt = &g->tensors[m->logits];
    int ok = lt->rank >= 1 && lt->numel >= 1 && lt->numel <= (1 << 24);
    for (int i = 0; i < lt->rank && ok; i++)
        if ((i == 0 && lt->rank > 1 && lt->dims[0] != 1) || (i >= 2 && lt->dims[i] != 1))
            ok = 0;
    if (!ok) {
        char shape[96];
        cam_tensor_shape_string(lt, shape, sizeof shape);
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                             "the output '%s' is %s per image; a classifier's output must be "
                             "N x classes", lt->name, shape);
    }
    m->n_classes = (int)lt->numel;
    m->info.output_name = out->name;
    m->info.logits_name = lt->name;
    cam_status st = find_cam_head(m, err);
    if (st != CAM_OK)
        return st;
    return find_layers(m, err);
}

int cam_model_layer_of(const cam_model *model, int t, cam_layer *out)
{
    for (int i = 0; i < model->n_layers; i++)
        if (model->layers[i].tensor == t) {
            *out = model->layers[i];
            return 1;
        }
    const cam_graph *g = model->graph;
    if (t < 0 || t >= g->n_tensors || t == model->logits || !layer_shape(g, t, out))
        return 0;
    return cam_graph_reaches(g, t, model->logits);
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
    const cam_layer *l = &model->layers[index];
    const cam_tensor *t = &g->tensors[l->tensor];
    out->name = t->name;
    out->op = t->producer >= 0 ? g->nodes[t->producer].op_type : "input";
    out->channels = l->channels;
    out->height = l->height;
    out->width = l->width;
    return CAM_OK;
}

const char *cam_model_auto_layer(const cam_model *model)
{
    if (!model || model->auto_layer < 0)
        return NULL;
    return model->graph->tensors[model->layers[model->auto_layer].tensor].name;
}

int cam_model_supports_cam(const cam_model *model)
{
    return model && model->cam_head.present;
}
