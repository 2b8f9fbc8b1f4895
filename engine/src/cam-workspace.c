/*
 * cam-workspace.c -- per-thread memory for forward and backward passes.
 * See cam-workspace.h for what it holds and why.
 */
#include "cam-workspace.h"

#include "cam-error.h"

#include <stdlib.h>
#include <string.h>

const float *cam_workspace_probabilities(const cam_workspace *ws, int image)
{
    return ws->probs + (size_t)image * ws->model->n_classes;
}

void *cam_workspace_method_scratch(cam_workspace *ws, size_t bytes, cam_error *err)
{
    if (bytes <= ws->method_scratch_size && ws->method_scratch)
        return ws->method_scratch;
    size_t size = (bytes + 63) / 64 * 64;
    void *p = size >= bytes ? aligned_alloc(64, size ? size : 64) : NULL;
    if (!p) {
        cam_set_error(err, CAM_ERROR_NO_MEMORY,
                      "out of memory for %zu bytes of explanation memory", bytes);
        return NULL;
    }
    free(ws->method_scratch);
    ws->method_scratch = p;
    ws->method_scratch_size = size;
    return p;
}

/* plan NULL: every activation kept (cam_workspace_new). *out is set on success only. */
static cam_status workspace_new(const cam_model *model, int max_batch,
                                const cam_executor_plan *plan, const char *function,
                                cam_workspace **out, cam_error *err)
{
    cam_workspace *ws = calloc(1, sizeof *ws);
    if (!ws)
        goto no_memory;
    ws->model = model;
    ws->graph = model->graph;
    ws->max_batch = max_batch;
    cam_error local;
    cam_error *e = err ? err : &local;
    e->status = CAM_OK;
    ws->exec = cam_executor_new_planned(model->graph, max_batch, plan, e);
    if (!ws->exec) {
        cam_workspace_free(ws);
        cam_error_prefix(e, "%s", function);
        return e->status != CAM_OK ? e->status : CAM_ERROR_NO_MEMORY;
    }
    /* any explainable tensor (also those the layer list leaves out) fits: every
     * kept one (a tensor that is not kept can be neither read nor explained) */
    size_t max_layer = (size_t)model->n_classes;
    for (int t = 0; t < model->graph->n_tensors; t++) {
        const cam_tensor *tensor = &model->graph->tensors[t];
        if (tensor->kind != CAM_TENSOR_CONSTANT && tensor->numel > max_layer &&
            cam_executor_resident(ws->exec, t))
            max_layer = tensor->numel;
    }
    ws->max_layer = max_layer;
    ws->backward_to_input = plan == NULL;
    for (int i = 0; plan && i < plan->n_targets; i++)
        if (plan->targets[i] == model->input)
            ws->backward_to_input = 1;
    ws->probs = malloc((size_t)max_batch * (size_t)model->n_classes * sizeof(float));
    ws->seed = malloc((size_t)model->n_classes * sizeof(float));
    ws->grad = malloc(max_layer * sizeof(float));
    ws->explain_scratch = malloc(2 * max_layer * sizeof(double));
    if (!ws->probs || !ws->seed || !ws->grad || !ws->explain_scratch)
        goto no_memory;
    *out = ws;
    return CAM_OK;

no_memory:
    cam_workspace_free(ws);
    return cam_set_error(err, CAM_ERROR_NO_MEMORY,
                         "%s: out of memory for a workspace of %d image(s)", function, max_batch);
}

/* Sets *out to NULL first (when out is not NULL). */
static cam_status check_args(const cam_model *model, int max_batch, cam_workspace **out,
                             const char *function, cam_error *err)
{
    if (out)
        *out = NULL;
    if (!out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "%s: out is NULL", function);
    if (!model)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "%s: model is NULL", function);
    if (max_batch < 1 || max_batch > 1 << 20)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "%s: max_batch %d is outside 1..%d",
                             function, max_batch, 1 << 20);
    return CAM_OK;
}

cam_status cam_workspace_new(const cam_model *model, int max_batch, cam_workspace **out,
                             cam_error *err)
{
    cam_status st = check_args(model, max_batch, out, "cam_workspace_new", err);
    if (st != CAM_OK)
        return st;
    return workspace_new(model, max_batch, NULL, "cam_workspace_new", out, err);
}

cam_status cam_workspace_new_for_layers(const cam_model *model, int max_batch,
                                        const char *const *layers, cam_workspace **out,
                                        cam_error *err)
{
    static const char function[] = "cam_workspace_new_for_layers";
    cam_status st = check_args(model, max_batch, out, function, err);
    if (st != CAM_OK)
        return st;
    const cam_graph *g = model->graph;
    int n_layers = 0;
    while (layers && layers[n_layers])
        n_layers++;
    /* the listed layers, the default layer and the CAM feature tensor */
    int *targets = malloc(((size_t)n_layers + 2) * sizeof *targets);
    if (!targets)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "%s: out of memory", function);
    int n_targets = 0;
    for (int i = 0; i < n_layers; i++) {
        int t = cam_graph_find_tensor(g, layers[i]);
        if (t < 0 || g->tensors[t].kind == CAM_TENSOR_CONSTANT ||
            g->tensors[t].dtype != CAM_DTYPE_FLOAT) {
            free(targets);
            return cam_set_error(err, CAM_ERROR_NOT_FOUND,
                                 "%s: tensor '%s' is not an activation of model '%s'", function,
                                 layers[i], model->info.name ? model->info.name : "?");
        }
        targets[n_targets++] = t;
    }
    if (model->info.default_layer && model->info.default_layer[0]) {
        int t = cam_graph_find_tensor(g, model->info.default_layer);
        if (t >= 0 && g->tensors[t].kind != CAM_TENSOR_CONSTANT)
            targets[n_targets++] = t;
    }
    if (model->cam_head.present)
        targets[n_targets++] = model->cam_head.feature_tensor;
    int keep[2], n_keep = 0;
    keep[n_keep++] = model->logits;
    if (model->probabilities >= 0)
        keep[n_keep++] = model->probabilities;
    cam_executor_plan plan = {keep, n_keep, targets, n_targets, &model->logits, 1};
    st = workspace_new(model, max_batch, &plan, function, out, err);
    free(targets);
    return st;
}

cam_status cam_workspace_new_for_explain(const cam_model *model, int max_batch,
                                         const cam_explain_options *options, cam_workspace **out,
                                         cam_error *err)
{
    static const char function[] = "cam_workspace_new_for_explain";
    cam_status st = check_args(model, max_batch, out, function, err);
    if (st != CAM_OK)
        return st;
    if (options && cam_check_options_size(function, "cam_explain_options",
                                          "cam_explain_options_default", options->size,
                                          sizeof *options, err) != CAM_OK)
        return CAM_ERROR_INVALID_ARGUMENT;
    /* The options' layer and layer list; a name that is not an activation is
     * left to cam_explain to report. FullGrad: the input (its backward passes
     * run to it through every node). */
    int n = 1;
    while (options && options->layers && options->layers[n - 1])
        n++;
    const char **layers = calloc((size_t)n + 2, sizeof *layers);
    if (!layers)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "%s: out of memory", function);
    int k = 0;
    for (int i = 0; i < n; i++) {
        const char *name = i == 0 ? (options ? options->layer : NULL) : options->layers[i - 1];
        if (!name || !name[0])
            continue;
        int t = cam_graph_find_tensor(model->graph, name);
        if (t >= 0 && model->graph->tensors[t].kind != CAM_TENSOR_CONSTANT &&
            model->graph->tensors[t].dtype == CAM_DTYPE_FLOAT)
            layers[k++] = name;
    }
    if (options && options->method == CAM_METHOD_FULL_GRAD)
        layers[k++] = model->graph->tensors[model->input].name;
    st = cam_workspace_new_for_layers(model, max_batch, layers, out, err);
    free(layers);
    if (st != CAM_OK)
        cam_error_prefix(err, "%s", function);
    return st;
}

int cam_workspace_keeps_tensor(const cam_workspace *ws, const char *tensor_name)
{
    if (!ws || !tensor_name)
        return 0;
    int t = cam_graph_find_tensor(ws->graph, tensor_name);
    return t >= 0 && ws->graph->tensors[t].kind != CAM_TENSOR_CONSTANT &&
           cam_executor_resident(ws->exec, t);
}

/* ---- progress -------------------------------------------------------------- */

static int progress_step(void *user, long done, long total)
{
    cam_workspace *ws = user;
    cam_progress *p = &ws->progress;
    if (p->cancelled)
        return 1;
    double f = done >= total ? p->part_hi
                             : p->part_lo + (p->part_hi - p->part_lo) * (double)done / (double)total;
    if (f < p->reported)
        f = p->reported;
    if (f > 1.0)
        f = 1.0;
    p->reported = f;
    if (p->fn(f, p->user)) {
        p->cancelled = 1;
        return 1;
    }
    return 0;
}

void cam_workspace_set_progress(cam_workspace *ws, cam_progress_fn fn, void *user_data)
{
    if (!ws)
        return;
    ws->progress.fn = fn;
    ws->progress.user = fn ? user_data : NULL;
    cam_executor_set_step(ws->exec, fn ? progress_step : NULL, ws);
}

void cam_progress_stage(cam_workspace *ws, double lo, double hi)
{
    cam_progress *p = &ws->progress;
    p->stage_lo = p->part_lo = lo;
    p->stage_hi = p->part_hi = hi;
}

void cam_progress_part(cam_workspace *ws, double from, double to)
{
    cam_progress *p = &ws->progress;
    const double span = p->stage_hi - p->stage_lo;
    p->part_lo = p->stage_lo + span * from;
    p->part_hi = to >= 1.0 ? p->stage_hi : p->stage_lo + span * to;
}

void cam_progress_begin(cam_workspace *ws)
{
    cam_progress *p = &ws->progress;
    if (p->depth++ > 0)
        return;
    p->cancelled = 0;
    p->reported = 0.0;
    cam_progress_stage(ws, 0.0, 1.0);
}

cam_status cam_progress_end(cam_workspace *ws, cam_status status, const char *function,
                            cam_error *err)
{
    cam_progress *p = &ws->progress;
    if (--p->depth > 0)
        return status;
    if (status == CAM_OK && p->fn && !p->cancelled && p->reported < 1.0) {
        p->reported = 1.0;
        if (p->fn(1.0, p->user))
            p->cancelled = 1;
    }
    if (p->cancelled && (status == CAM_OK || status == CAM_STATUS_CANCELLED))
        status = cam_set_error(err, CAM_STATUS_CANCELLED,
                               "%s: cancelled by the progress callback at %.0f%% of the work",
                               function, 100.0 * p->reported);
    return status;
}

void cam_workspace_free(cam_workspace *ws)
{
    if (!ws)
        return;
    cam_executor_free(ws->exec);
    free(ws->probs);
    free(ws->seed);
    free(ws->grad);
    free(ws->explain_scratch);
    free(ws->method_scratch);
    free(ws);
}
