/*
 * bench-methods-engine.c -- the engine's side of tests/bench/bench_methods.py (issue 13,
 * item 5: the cost of every explanation method on top of the forward pass). Not a test:
 * it prints RESULT lines and asserts nothing.
 *
 *     bench-methods-engine MODEL.onnx THREADS SECONDS [METHOD,METHOD,...]
 *
 * With cam_set_blas_threads(THREADS), on a fixed pseudo-random input (speed does not
 * depend on the values), the model's default layer, the top class:
 *   forward_ms     cam_forward of one image
 *   backward_ms    cam_backward from the top class's logit to the layer (after one
 *                  forward): the one backward pass the gradient methods may cost
 *   head_ms        one pass of the nodes after the layer, as Ablation-CAM and
 *                  Recipro-CAM run them (the executor's replacing forward with the
 *                  layer's own values put back, reusing what the forward left)
 *   method NAME MS OVERHEAD PASSES COMPUTE: cam_explain (forward included), its
 *                  overhead over cam_forward (paired_ms below), the number of
 *                  forward passes it runs on top of its input's (Score-CAM family: the
 *                  channels whose upsampled map is not constant x samples; Ablation-
 *                  CAM: the channels; Recipro-CAM: the positions; 0 otherwise), and,
 *                  for the methods that run no forward pass of their own, the time of
 *                  the method's compute function alone on the forward the workspace
 *                  holds (internal: methods/cam-method.h; the backward and the map,
 *                  without cam_explain's own work and without the forward's noise),
 *                  else nan
 * Each time is the best of repeated calls after one warm-up call: as many as fit in
 * SECONDS per measure (8 to 200 calls); a call slower than SECONDS is timed once
 * (that first call is the measure, no warm-up). A method's overhead is its best
 * time minus the forward's best time, both over the same pairs of calls (a forward,
 * then the method), so that a drift of the host's speed hits both alike.
 */
#include "bench-util.h"
#include "camengine.h"

#include "cam-workspace.h"
#include "graph/cam-executor.h"
#include "graph/cam-graph.h"
#include "methods/cam-method.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CALLS 200
#define MIN_CALLS 8

typedef int (*call_fn)(void *data);

/* Best (smallest) ms of fn: one warm-up call, then calls until `seconds` are used
 * (MIN_CALLS..MAX_CALLS); the first call alone when it takes longer than `seconds`.
 * NAN when a call fails. The best, not the median: on a shared host the noise only
 * ever adds time. */
static double best_ms(call_fn fn, void *data, double seconds, int *calls)
{
    double best = INFINITY, start, t0;
    int n = 0;
    t0 = bench_now();
    if (fn(data) != 0)
        return NAN;
    double first = bench_now() - t0;
    if (first > seconds) { /* slow: the one call is the measure */
        *calls = 1;
        return 1e3 * first;
    }
    start = bench_now();
    while (n < MAX_CALLS && (n < MIN_CALLS || bench_now() - start < seconds)) {
        t0 = bench_now();
        if (fn(data) != 0)
            return NAN;
        t0 = bench_now() - t0;
        best = t0 < best ? t0 : best;
        n++;
    }
    *calls = n;
    return 1e3 * best;
}

typedef struct bench {
    const cam_model *model;
    cam_workspace *ws;
    const float *x;
    const char *layer;
    int tensor, top;
    float *grad, *saved;
    size_t numel;
    cam_explain_options opt;
    cam_layer layer_def;   /* the layer, for call_compute */
    float *planes, *logits, *probs, *map;
} bench;

static int call_forward(void *data)
{
    bench *b = data;
    cam_error err;
    if (cam_forward(b->ws, b->x, 1, NULL, NULL, &err) != CAM_OK) {
        fprintf(stderr, "bench-methods-engine: forward: %s\n", err.message);
        return 1;
    }
    return 0;
}

static int call_backward(void *data)
{
    bench *b = data;
    cam_error err;
    if (cam_backward(b->ws, 0, b->top, CAM_SCORE_LOGIT, b->layer, b->grad, &err) != CAM_OK) {
        fprintf(stderr, "bench-methods-engine: backward: %s\n", err.message);
        return 1;
    }
    return 0;
}

static void fill_saved(void *user, int instance, float *values)
{
    const bench *b = user;
    (void)instance;
    memcpy(values, b->saved, b->numel * sizeof *values);
}

static int call_head(void *data)
{
    bench *b = data;
    cam_error err;
    const cam_graph *g = b->ws->graph;
    const float *inputs[64] = {0};
    for (int i = 0; i < g->n_inputs && i < 64; i++)
        if (g->inputs[i] == b->model->input)
            inputs[i] = b->x;
    if (cam_executor_forward_replacing(b->ws->exec, inputs, b->tensor, 1, fill_saved, b, &err) !=
        CAM_OK) {
        fprintf(stderr, "bench-methods-engine: head: %s\n", err.message);
        return 1;
    }
    return 0;
}

static int call_explain(void *data)
{
    bench *b = data;
    cam_error err;
    cam_explanation *ex = NULL;
    cam_status s = cam_explain(b->ws, b->x, &b->opt, &ex, &err);
    cam_explanation_free(ex);
    if (s != CAM_OK) {
        fprintf(stderr, "bench-methods-engine: %s: %s\n", cam_method_name(b->opt.method),
                err.message);
        return 1;
    }
    return 0;
}

/* The method's compute function alone, on the forward the workspace holds (as
 * cam-explain.c's layer_map calls it; methods without CAM_METHOD_RUNS_FORWARD leave
 * the forward in place, so it can be called again). */
static int call_compute(void *data)
{
    bench *b = data;
    cam_error err;
    cam_method_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.ws = b->ws;
    ctx.input = b->x;
    ctx.layer = &b->layer_def;
    ctx.class_index = b->top;
    ctx.score = b->opt.target_score;
    ctx.options = &b->opt;
    ctx.activations = cam_executor_value(b->ws->exec, b->tensor, 0);
    ctx.view = cam_layer_view_of(&b->layer_def);
    ctx.planes = b->planes;
    ctx.layer_name = b->layer;
    ctx.n_classes = cam_model_n_classes(b->model);
    ctx.logits = b->logits;
    ctx.probabilities = b->probs;
    cam_layer_to_planes(ctx.activations, &ctx.view, b->planes);
    if (cam_method_def_of(b->opt.method)->compute(&ctx, b->map, &err) != CAM_OK) {
        fprintf(stderr, "bench-methods-engine: %s: %s\n", cam_method_name(b->opt.method),
                err.message);
        return 1;
    }
    return 0;
}

/* A method's total and its overhead over the forward pass, in ms: one warm-up call,
 * then pairs (a forward, then the method) for `seconds` (MIN_CALLS..MAX_CALLS pairs);
 * total = the method's best time, overhead = total - the forward's best time in the
 * same pairs. A first call slower than `seconds` is the measure by itself, its
 * overhead taken against forward_ms. Returns the number of timed calls (0: failed). */
static int paired_ms(call_fn method, call_fn forward, void *data, double seconds,
                     double forward_ms, double *total, double *overhead)
{
    double best_m = INFINITY, best_f = INFINITY, t0, t1, start;
    int n = 0;
    t0 = bench_now();
    if (method(data) != 0)
        return 0;
    double first = bench_now() - t0;
    if (first > seconds) {
        *total = 1e3 * first;
        *overhead = *total - forward_ms;
        return 1;
    }
    start = bench_now();
    while (n < MAX_CALLS && (n < MIN_CALLS || bench_now() - start < seconds)) {
        t0 = bench_now();
        if (forward(data) != 0)
            return 0;
        t1 = bench_now();
        if (method(data) != 0)
            return 0;
        const double tm = bench_now() - t1, tf = t1 - t0;
        best_m = tm < best_m ? tm : best_m;
        best_f = tf < best_f ? tf : best_f;
        n++;
    }
    *total = 1e3 * best_m;
    *overhead = 1e3 * (best_m - best_f);
    return n;
}

/* Channels whose bilinear upsampling to the input (align_corners false) is not
 * constant: those of a plane that is not constant (upsampling by a factor >= 1
 * interpolates between neighbouring values; a constant plane stays constant). */
static int nonconstant_channels(const float *a, int channels, size_t hw)
{
    int n = 0;
    for (int k = 0; k < channels; k++) {
        const float *p = a + (size_t)k * hw;
        for (size_t q = 1; q < hw; q++)
            if (p[q] != p[0]) {
                n++;
                break;
            }
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL.onnx THREADS SECONDS [METHOD,...]\n", argv[0]);
        return 2;
    }
    const double seconds = atof(argv[3]);
    cam_error err;
    cam_model *model = NULL;
    if (cam_model_load(argv[1], &model, &err) != CAM_OK) {
        fprintf(stderr, "bench-methods-engine: %s\n", err.message);
        return 1;
    }
    cam_set_blas_threads(atoi(argv[2]));
    bench b;
    memset(&b, 0, sizeof b);
    b.model = model;
    const cam_model_info *info = cam_model_get_info(model);
    b.layer = info->default_layer && *info->default_layer ? info->default_layer
                                                          : cam_model_auto_layer(model);
    b.opt = cam_explain_options_default(model);
    b.opt.class_index = -1;
    /* every activation kept (cam_workspace_new): Ablation-CAM and Recipro-CAM reuse
     * the layers before theirs; one image, as cam-heatmap (the perturbation passes run
     * one at a time whatever the batch: methods/perturbation.c). */
    if (!b.layer || cam_workspace_new(model, 1, &b.ws, &err) != CAM_OK) {
        fprintf(stderr, "bench-methods-engine: %s\n", b.layer ? err.message : "no layer");
        return 1;
    }
    size_t in_size = cam_model_input_size(model);
    float *x = malloc(in_size * sizeof *x);
    unsigned s = 12345;
    for (size_t i = 0; i < in_size; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)((s >> 16) & 0x7fff) / 32768.0f;
    }
    b.x = x;
    b.tensor = cam_graph_find_tensor(b.ws->graph, b.layer);
    const cam_tensor *lt = &b.ws->graph->tensors[b.tensor];
    b.numel = lt->numel;
    const int height = (int)lt->dims[lt->rank - 2], width = (int)lt->dims[lt->rank - 1];
    const size_t hw = (size_t)height * width;
    const int channels = (int)(b.numel / hw);
    int n_classes = cam_model_n_classes(model);
    float *logits = malloc(sizeof(float) * (size_t)n_classes);
    b.grad = malloc(b.numel * sizeof(float));
    b.saved = malloc(b.numel * sizeof(float));
    b.planes = malloc(b.numel * sizeof(float));
    b.map = malloc(hw * sizeof(float));
    b.logits = logits;
    b.probs = malloc(sizeof(float) * (size_t)n_classes);
    if (!cam_model_layer_of(model, b.tensor, &b.layer_def)) {
        fprintf(stderr, "bench-methods-engine: %s is not an explainable layer\n", b.layer);
        return 1;
    }
    if (cam_forward(b.ws, x, 1, b.probs, logits, &err) != CAM_OK ||
        cam_get_tensor(b.ws, 0, b.layer, b.saved, b.numel, &err) != CAM_OK) {
        fprintf(stderr, "bench-methods-engine: %s\n", err.message);
        return 1;
    }
    for (int c = 1; c < n_classes; c++)
        if (logits[c] > logits[b.top])
            b.top = c;
    const int nonconstant = nonconstant_channels(b.saved, channels, hw);
    printf("RESULT layer %s %d %d %d\n", b.layer, channels, height, width);
    printf("RESULT nonconstant %d\n", nonconstant);
    int calls = 0;
    const double forward_ms = best_ms(call_forward, &b, seconds, &calls);
    printf("RESULT forward_ms %.4f\n", forward_ms);
    /* the backward after a forward (the forward is not timed) */
    call_forward(&b);
    printf("RESULT backward_ms %.4f\n", best_ms(call_backward, &b, seconds, &calls));
    call_forward(&b);
    printf("RESULT head_ms %.4f\n", best_ms(call_head, &b, seconds, &calls));
    fflush(stdout);

    const char *only = argc > 4 ? argv[4] : NULL;
    for (int m = 0; m < CAM_METHOD_COUNT; m++) {
        const char *name = cam_method_name((cam_method)m);
        if (only) {
            size_t len = strlen(name);
            const char *p = only;
            int found = 0;
            while (p && *p) {
                if (strncmp(p, name, len) == 0 && (p[len] == ',' || p[len] == '\0'))
                    found = 1;
                p = strchr(p, ',');
                p = p ? p + 1 : NULL;
            }
            if (!found)
                continue;
        }
        b.opt.method = (cam_method)m;
        b.opt.layer = m == CAM_METHOD_CAM ? NULL : b.layer;
        if (m == CAM_METHOD_CAM && !cam_model_supports_cam(model))
            continue;
        long passes = 0;
        switch (m) {
        case CAM_METHOD_SCORE_CAM: passes = nonconstant; break;
        case CAM_METHOD_SS_CAM: passes = 35L * nonconstant; break;
        case CAM_METHOD_IS_CAM: passes = 10L * nonconstant; break;
        case CAM_METHOD_ABLATION_CAM: passes = channels; break;
        case CAM_METHOD_RECIPRO_CAM: passes = (long)hw; break;
        case CAM_METHOD_SMOOTH_GRAD_CAM_PLUS_PLUS: passes = 4; break;
        default: passes = 0;
        }
        double total = NAN, overhead = NAN, compute = NAN;
        calls = paired_ms(call_explain, call_forward, &b, seconds, forward_ms, &total, &overhead);
        if (calls > 0 && !(cam_method_def_of((cam_method)m)->flags & CAM_METHOD_RUNS_FORWARD)) {
            call_forward(&b);
            compute = best_ms(call_compute, &b, seconds, &calls);
        }
        printf("RESULT method %s %.4f %.4f %ld %.4f\n", name, total, overhead, passes, compute);
        fflush(stdout);
    }
    free(logits);
    free(b.probs);
    free(b.planes);
    free(b.map);
    free(b.grad);
    free(b.saved);
    free(x);
    cam_workspace_free(b.ws);
    cam_model_free(model);
    return 0;
}
