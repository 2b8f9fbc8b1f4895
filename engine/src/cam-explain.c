/*
 * cam-explain.c -- class activation maps: CAM, Grad-CAM (paper) and Grad-CAM
 * (tutorial), and the map normalisation helper.
 *
 * For one image x, class c and feature tensor A (K x H x W) of the chosen layer:
 *   CAM                map = sum_k W[k,c] A_k               (W: the dense layer after the
 *                                                            global average pool)
 *   GRAD_CAM           alpha_k = mean_hw d z_c / d A_k      (z_c: the logit)
 *                      map = ReLU(sum_k alpha_k A_k)
 *   GRAD_CAM_TUTORIAL  alpha_k = mean_hw d p_c / d A_k      (p_c: the softmax probability)
 *                      map = 1 + sum_k alpha_k A_k          (no ReLU: the tutorial applies it
 *                                                            after resizing to the image)
 * Which ReLU belongs where: the paper's ReLU is part of Grad-CAM and is applied here,
 * at feature resolution. The tutorial's ReLU comes after the bilinear resize, and
 * ReLU does not commute with resizing, so it belongs to the renderer
 * (camengine-render.h): the map returned for GRAD_CAM_TUTORIAL is signed.
 * CAM has no ReLU at all (the renderer min-max normalises the signed map).
 * Sums over k are accumulated in double in a fixed order.
 */
#include "cam-workspace.h"

#include "cam-error.h"
#include "kernels/cam-kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_names[CAM_METHOD_COUNT] = {
    [CAM_METHOD_CAM] = "cam",
    [CAM_METHOD_GRAD_CAM] = "grad-cam",
    [CAM_METHOD_GRAD_CAM_TUTORIAL] = "grad-cam-tutorial",
};

const char *cam_method_name(cam_method method)
{
    return (unsigned)method < CAM_METHOD_COUNT ? method_names[method] : NULL;
}

cam_status cam_method_from_name(const char *name, cam_method *out, cam_error *err)
{
    int v = 0;
    cam_status st = cam_enum_from_name("cam_method_from_name", "method", method_names,
                                       CAM_METHOD_COUNT, name, out ? &v : NULL, err);
    if (st == CAM_OK)
        *out = (cam_method)v;
    return st;
}

cam_explain_options cam_explain_options_default(const cam_model *model)
{
    cam_explain_options opt;
    memset(&opt, 0, sizeof opt);
    opt.size = sizeof opt;
    opt.method = model ? cam_model_get_info(model)->default_method : CAM_METHOD_GRAD_CAM;
    opt.class_index = -1;
    opt.layer = NULL;
    return opt;
}

void cam_explanation_free(cam_explanation *ex)
{
    if (!ex)
        return;
    free(ex->probabilities);
    free(ex->layer);
    free(ex->map);
    free(ex);
}

/* The layer of the explanation into *l, or 0 with *status/err set. */
static int resolve_layer(const cam_workspace *ws, const cam_explain_options *opt, cam_layer *l,
                         cam_status *status, cam_error *err)
{
    const cam_graph *g = ws->graph;
    const cam_model *model = ws->model;
    const char *model_name = model->info.name ? model->info.name : "?";
    const char *name = opt->layer && opt->layer[0] ? opt->layer : NULL;
    *status = CAM_OK;

    if (opt->method == CAM_METHOD_CAM) {
        if (!model->cam_head.present) {
            *status = cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                                    "cam_explain: model '%s' has no last conv -> global average "
                                    "pool -> dense structure, so CAM is undefined for it; use "
                                    "method grad-cam",
                                    model_name);
            return 0;
        }
        int t = model->cam_head.feature_tensor;
        if (name && strcmp(name, g->tensors[t].name) != 0) {
            *status = cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                                    "cam_explain: CAM is defined only on tensor '%s' (the input of "
                                    "the global average pool), not on layer '%s'; use grad-cam "
                                    "for other layers",
                                    g->tensors[t].name, name);
            return 0;
        }
        if (!cam_model_layer_of(model, t, l)) {
            *status = cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                                    "cam_explain: tensor '%s' cannot be explained",
                                    g->tensors[t].name);
            return 0;
        }
        return 1;
    }
    if (!name)
        name = model->info.default_layer;
    if (!name || !*name) {
        *status = cam_set_error(err, CAM_ERROR_NOT_FOUND,
                                "cam_explain: model '%s' has no layer to explain (no C x H x W "
                                "activation before the logits)",
                                model_name);
        return 0;
    }
    int t = cam_graph_find_tensor(g, name);
    if (t < 0) {
        *status = cam_set_error(err, CAM_ERROR_NOT_FOUND,
                                "cam_explain: layer '%s' is not a tensor of model '%s'", name,
                                model_name);
        return 0;
    }
    if (!cam_model_layer_of(model, t, l)) {
        *status = cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                                "cam_explain: layer '%s' is not a C x H x W activation (or "
                                "transformer tokens) before the logits of model '%s'",
                                name, model_name);
        return 0;
    }
    return 1;
}

/* Where feature k at position p of a layer lives in its tensor: NCHW maps hold
 * channel k's plane at k * HW; token tensors hold token 1 + p's C features at
 * (1 + p) * C (token 0, the class token, is left out). */
typedef struct layer_view {
    size_t base, channel_stride, position_stride;
    int channels;
    size_t spatial;
} layer_view;

static layer_view view_of(const cam_layer *l)
{
    layer_view v;
    v.channels = l->channels;
    v.spatial = (size_t)l->height * l->width;
    if (l->tokens) {
        v.base = (size_t)l->channels;
        v.channel_stride = 1;
        v.position_stride = (size_t)l->channels;
    } else {
        v.base = 0;
        v.channel_stride = v.spatial;
        v.position_stride = 1;
    }
    return v;
}

/* map (H*W) = offset + sum_k weight[k] * A_k, in double, k in order. */
static void weighted_sum(const float *a, const layer_view *v, const double *weight, double offset,
                         float *map, double *acc)
{
    for (size_t p = 0; p < v->spatial; p++)
        acc[p] = offset;
    for (int k = 0; k < v->channels; k++) {
        const float *ak = a + v->base + (size_t)k * v->channel_stride;
        const double wk = weight[k];
        for (size_t p = 0; p < v->spatial; p++)
            acc[p] += wk * ak[p * v->position_stride];
    }
    for (size_t p = 0; p < v->spatial; p++)
        map[p] = (float)acc[p];
}

cam_status cam_explain(cam_workspace *ws, const float *input, const cam_explain_options *options,
                       cam_explanation **out, cam_error *err)
{
    if (out)
        *out = NULL;
    if (!ws)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_explain: workspace is NULL");
    if (!out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_explain: out is NULL");
    if (!input)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_explain: input is NULL");
    if (options && cam_check_options_size("cam_explain", "cam_explain_options",
                                          "cam_explain_options_default", options->size,
                                          sizeof *options, err) != CAM_OK)
        return CAM_ERROR_INVALID_ARGUMENT;
    cam_explain_options opt =
        options ? *options : cam_explain_options_default(ws->model);
    if ((unsigned)opt.method >= CAM_METHOD_COUNT)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_explain: unknown method %d",
                             (int)opt.method);
    const cam_model *model = ws->model;
    const cam_graph *g = ws->graph;
    const int n_classes = model->n_classes;
    if (opt.class_index < -1 || opt.class_index >= n_classes)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_explain: class_index %d is outside -1..%d (-1 = top prediction)",
                             opt.class_index, n_classes - 1);
    cam_status status = CAM_ERROR_INVALID_ARGUMENT;
    cam_layer layer_storage;
    if (!resolve_layer(ws, &opt, &layer_storage, &status, err))
        return status;
    const cam_layer *layer = &layer_storage;

    status = cam_forward(ws, input, 1, NULL, NULL, err);
    if (status != CAM_OK)
        return status;
    const float *probs = cam_workspace_probabilities(ws, 0);
    int c = opt.class_index;
    if (c < 0) { /* top-1; the first on ties */
        c = 0;
        for (int j = 1; j < n_classes; j++)
            if (probs[j] > probs[c])
                c = j;
    }

    const layer_view v = view_of(layer);
    const float *a = cam_executor_value(ws->exec, layer->tensor, 0);
    cam_explanation *ex = calloc(1, sizeof *ex);
    if (ex) {
        ex->probabilities = malloc((size_t)n_classes * sizeof *ex->probabilities);
        ex->map = malloc(v.spatial * sizeof *ex->map);
        ex->layer = strdup(g->tensors[layer->tensor].name);
    }
    double *acc = ws->explain_scratch;                    /* spatial <= max_layer */
    double *weight = ws->explain_scratch + ws->max_layer; /* channels <= max_layer */
    if (!ex || !ex->probabilities || !ex->map || !ex->layer) {
        cam_explanation_free(ex);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "cam_explain: out of memory");
    }

    if (opt.method == CAM_METHOD_CAM) {
        const float *w = model->cam_head.weight + (size_t)c * model->cam_head.n_channels;
        for (int k = 0; k < v.channels; k++)
            weight[k] = w[k];
        weighted_sum(a, &v, weight, 0.0, ex->map, acc);
    } else {
        const cam_score score =
            opt.method == CAM_METHOD_GRAD_CAM ? CAM_SCORE_LOGIT : CAM_SCORE_PROBABILITY;
        status = cam_backward_to(ws, 0, c, score, layer->tensor, err);
        if (status != CAM_OK) {
            cam_explanation_free(ex);
            return status;
        }
        const float *grad = ws->grad;
        for (int k = 0; k < v.channels; k++) { /* alpha_k: spatial mean of the gradient */
            const float *gk = grad + v.base + (size_t)k * v.channel_stride;
            double sum = 0.0;
            for (size_t p = 0; p < v.spatial; p++)
                sum += gk[p * v.position_stride];
            weight[k] = sum / (double)v.spatial;
        }
        if (opt.method == CAM_METHOD_GRAD_CAM) {
            weighted_sum(a, &v, weight, 0.0, ex->map, acc);
            cam_relu_forward(v.spatial, ex->map, ex->map);
        } else {
            weighted_sum(a, &v, weight, 1.0, ex->map, acc);
        }
    }
    memcpy(ex->probabilities, probs, (size_t)n_classes * sizeof *probs);
    ex->class_index = c;
    ex->probability = probs[c];
    ex->n_classes = n_classes;
    ex->method = opt.method;
    ex->map_height = layer->height;
    ex->map_width = layer->width;
    *out = ex;
    return CAM_OK;
}

cam_status cam_map_normalize(const float *map, size_t n, float *out, cam_error *err)
{
    if ((!map || !out) && n > 0)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_map_normalize: %s is NULL", map ? "out" : "map");
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(map[i])) {
            size_t bad = i;
            float value = map[i];
            for (size_t j = 0; j < n; j++)
                out[j] = 0.0f;
            return cam_set_error(err, CAM_ERROR_NUMERIC,
                                 "cam_map_normalize: map[%zu] is %s (output set to zeros)", bad,
                                 isnan(value) ? "NaN" : "infinite");
        }
        if (map[i] < lo)
            lo = map[i];
        if (map[i] > hi)
            hi = map[i];
    }
    const double range = hi - lo; /* in double: no overflow for any finite floats */
    for (size_t i = 0; i < n; i++) {
        if (!(range > 0.0)) {
            out[i] = 0.0f;
        } else {
            double v = ((double)map[i] - lo) / range;
            out[i] = (float)(v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v);
        }
    }
    return CAM_OK;
}
