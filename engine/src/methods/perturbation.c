/*
 * perturbation.c -- Score-CAM, SS-CAM, IS-CAM, Ablation-CAM and Recipro-CAM:
 * maps made of forward passes on perturbed copies (formulas and choices in
 * camengine.h, above cam_explain).
 *
 * Each method is a list of instances -- a masked input, the layer with a
 * channel zeroed, the layer masked around a position -- each one forward pass,
 * run through cam_executor_forward_replacing_lanes(): the tensor that differs
 * (the input, or the layer) is written in place by a fill function, and for the
 * layer only the nodes after it run. The passes run side by side, one lane per
 * thread of the engine's pool (cam_parallel_threads(): one per core unless
 * cam_set_blas_threads says otherwise), each pass on one core -- the cores are
 * busier with whole passes than with one pass's GEMMs split over them. Never
 * merged into one batch GEMM (OpenBLAS does not give bit-identical columns for
 * different widths: camengine.h, cam_set_blas_threads). The score of each
 * instance is kept in instance order and every sum runs in a fixed order, so a
 * map does not depend on the thread count or the workspace's batch size.
 */
#include "methods/cam-method.h"

#include "cam-error.h"
#include "cam-workspace.h"
#include "kernels/cam-kernels.h"
/* the renderer's torch-exact resampling weights (the same library: render/) */
#include "../../render/cam-render-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Where feature k at position p of the layer lives in its tensor. */
static size_t at(const layer_view *v, int k, size_t p)
{
    return v->base + (size_t)k * v->channel_stride + p * v->position_stride;
}

typedef enum score_kind { SCORE_PLAIN, SCORE_NOISY, SCORE_INTEGRATED } score_kind;

/* One explanation in progress. */
typedef struct perturb {
    const cam_method_ctx *ctx;
    cam_workspace *ws;
    const cam_model *model;
    const char *method;          /* for messages */
    layer_view v;
    int height, width;           /* the layer's grid */
    size_t numel;                /* floats of the layer tensor, one image */
    float *a;                    /* copy of the layer tensor of image 0 */
    const float *planes;         /* the layer as K planes of H*W (the framework's copy) */
    double *scores;              /* per instance */
    double *weight;              /* per channel */
    float *probs;                /* lanes x n_classes: a softmax of the logits, per lane */
    int lanes;                   /* passes side by side */
    /* the Score-CAM family */
    score_kind kind;
    cam_axis_weights wy, wx;     /* the layer's grid -> the input's H x W */
    float *lo, *range;           /* per channel: min, max - min of the upsampled map */
    int *channels;               /* channels with a mask, in order */
    int n_channels;
    int samples;                 /* instances per channel */
    float std;
    uint64_t seed;
} perturb;

/* Carves the scratch (the workspace's, reused from call to call): the layer copy,
 * `instances` scores, the weights, the probabilities, and (score family)
 * per-channel bounds and the channel list. */
static cam_status perturb_begin(perturb *p, const cam_method_ctx *ctx, const char *method,
                                size_t instances, cam_error *err)
{
    memset(p, 0, sizeof *p);
    if (!ctx->input || !ctx->activations || !ctx->planes || !ctx->layer || !ctx->options)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_explain: %s: missing input",
                             method);
    p->ctx = ctx;
    p->ws = ctx->ws;
    p->model = ctx->ws->model;
    p->method = method;
    p->v = ctx->view;
    p->planes = ctx->planes;
    p->height = ctx->layer->height;
    p->width = ctx->layer->width;
    p->numel = p->ws->graph->tensors[ctx->layer->tensor].numel;
    const size_t k = (size_t)p->v.channels;
    const size_t classes = (size_t)p->model->n_classes;
    p->lanes = cam_parallel_threads();
    if ((size_t)p->lanes > instances)
        p->lanes = instances > 0 ? (int)instances : 1;
    /* doubles first (8-byte aligned), then floats, then ints */
    size_t n_double = instances + k;
    size_t n_float = p->numel + classes * (size_t)p->lanes + 2 * k;
    size_t bytes = n_double * sizeof(double) + n_float * sizeof(float) + k * sizeof(int);
    char *mem = cam_workspace_method_scratch(p->ws, bytes, err);
    if (!mem) {
        cam_error_prefix(err, "cam_explain: %s", method);
        return CAM_ERROR_NO_MEMORY;
    }
    p->scores = (double *)mem;
    p->weight = p->scores + instances;
    p->a = (float *)(p->weight + k);
    p->probs = p->a + p->numel;
    p->lo = p->probs + classes * (size_t)p->lanes;
    p->range = p->lo + k;
    p->channels = (int *)(p->range + k);
    memcpy(p->a, ctx->activations, p->numel * sizeof *p->a);
    return CAM_OK;
}

/* The workspace's image 0 no longer holds the forward pass of the input. */
static void perturb_end(perturb *p)
{
    p->ws->n_images = 0;
    cam_axis_weights_clear(&p->wy);
    cam_axis_weights_clear(&p->wx);
}

/* Right after instance i's pass, in executor image `image` (on its lane's
 * thread): s(.) into p->scores[i]. The lane's softmax goes to its own row of
 * p->probs (lanes use images 0..lanes-1, one each). */
static void collect_score(void *user, int i, int image)
{
    perturb *p = user;
    const cam_model *m = p->model;
    const cam_executor *x = p->ws->exec;
    const int c = p->ctx->class_index;
    const float *z = cam_executor_value(x, m->logits, image);
    if (p->ctx->score == CAM_SCORE_LOGIT) {
        p->scores[i] = z[c];
    } else if (m->probabilities >= 0) {
        p->scores[i] = ((const float *)cam_executor_value(x, m->probabilities, image))[c];
    } else {
        float *probs = p->probs + (size_t)image * (size_t)m->n_classes;
        cam_softmax_forward(1, m->n_classes, z, probs);
        p->scores[i] = probs[c];
    }
}

/* The score of the input's own forward pass: the workspace's, read before any
 * replacing pass (not ctx->logits, which are the unaugmented input's with
 * aug_smooth, while ctx->input is the augmented one). */
static double original_score(const perturb *p)
{
    const int c = p->ctx->class_index;
    if (p->ctx->score == CAM_SCORE_LOGIT)
        return ((const float *)cam_executor_value(p->ws->exec, p->model->logits, 0))[c];
    return cam_workspace_probabilities(p->ws, 0)[c];
}

/* Runs `count` instances of tensor t written by fill, side by side on p->lanes
 * lanes, into p->scores. */
static cam_status run_instances(perturb *p, int t, int count, cam_executor_fill_fn fill,
                                cam_error *err)
{
    const cam_graph *g = p->ws->graph;
    const float *inputs[64] = {0};
    if (g->n_inputs > 64)
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED, "cam_explain: %s: more than 64 inputs",
                             p->method);
    if (count < 1)
        return CAM_OK;
    for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] == p->model->input)
            inputs[i] = p->ctx->input;
    cam_progress_part(p->ws, 0.0, 1.0);
    cam_status s = cam_executor_forward_replacing_lanes(p->ws->exec, inputs, t, count, p->lanes,
                                                        fill, collect_score, p, err);
    if (s != CAM_OK)
        cam_error_prefix(err, "cam_explain: %s on layer '%s'", p->method,
                         p->ctx->layer_name ? p->ctx->layer_name : "?");
    return s;
}

/* map = ReLU(sum_k weight[k] A_k) (in double, k in order; eigen_smooth: the
 * principal component of the terms). The framework checks that it is finite. */
static cam_status weighted_map(perturb *p, float *map, cam_error *err)
{
    cam_status s = cam_method_weighted_sum(p->ctx, p->planes, p->weight, 0.0, map, err);
    if (s == CAM_OK)
        cam_method_relu(map, p->v.spatial);
    return s;
}

/* ---- the Score-CAM family ------------------------------------------------------ */

/* The normal number m of the stream of RANDOM NUMBERS (camengine.h) started from
 * seed: splitmix64 is a counter (its n-th output mixes seed + (n + 1) gamma), so
 * the stream is read at any place: the normal number m takes outputs 2m, 2m + 1. */
static double stream_normal(uint64_t seed, uint64_t m)
{
    uint64_t state = seed + 2 * m * UINT64_C(0x9E3779B97F4A7C15);
    return cam_random_normal(&state);
}

/* U_k at input pixel (y, x): the bilinear interpolation of channel k. */
static float upsampled(const perturb *p, int k, int y, int x)
{
    const int *iy = p->wy.index + 2 * (size_t)y, *ix = p->wx.index + 2 * (size_t)x;
    const float *ly = p->wy.weight + 2 * (size_t)y, *lx = p->wx.weight + 2 * (size_t)x;
    const size_t w = (size_t)p->width;
    const float *a = p->planes + (size_t)k * p->v.spatial;
    const float a00 = a[(size_t)iy[0] * w + ix[0]], a01 = a[(size_t)iy[0] * w + ix[1]];
    const float a10 = a[(size_t)iy[1] * w + ix[0]], a11 = a[(size_t)iy[1] * w + ix[1]];
    return ly[0] * (lx[0] * a00 + lx[1] * a01) + ly[1] * (lx[0] * a10 + lx[1] * a11);
}

/* Instance j = (j / samples)-th masked channel, sample j % samples: the input
 * times its mask. */
static void fill_masked_input(void *user, int j, float *values)
{
    const perturb *p = user;
    const int k = p->channels[j / p->samples], i = j % p->samples;
    const int c_in = p->model->channels, h_in = p->model->height, w_in = p->model->width;
    const size_t hw = (size_t)h_in * w_in;
    const float *x = p->ctx->input;
    const float lo = p->lo[k], range = p->range[k];
    /* IS-CAM: c_i = (i + 1)(i + 2) / (2 N) for the i-th step (0-based) */
    const float coeff =
        p->kind == SCORE_INTEGRATED
            ? (float)((double)(i + 1) * (double)(i + 2) / (2.0 * (double)p->samples))
            : 1.0f;
    const uint64_t base = ((uint64_t)k * (uint64_t)p->samples + (uint64_t)i) * hw;
    for (int y = 0; y < h_in; y++)
        for (int xx = 0; xx < w_in; xx++) {
            const size_t q = (size_t)y * w_in + xx;
            float m = (upsampled(p, k, y, xx) - lo) / range;
            if (p->kind == SCORE_NOISY)
                m += (float)(p->std * stream_normal(p->seed, base + q));
            for (int c = 0; c < c_in; c++) {
                float v = x[(size_t)c * hw + q] * m;
                values[(size_t)c * hw + q] = p->kind == SCORE_INTEGRATED ? coeff * v : v;
            }
        }
}

static cam_status score_family(const cam_method_ctx *ctx, score_kind kind, int samples,
                               float std, const char *method, float *map, cam_error *err)
{
    if (samples < 1 || !(std >= 0.0f) || !isfinite(std))
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_explain: %s: %d samples, standard deviation %g", method,
                             samples, (double)std);
    const int k_all = ctx->layer->channels;
    perturb p;
    cam_status s =
        perturb_begin(&p, ctx, method, (size_t)k_all * (size_t)samples, err);
    if (s != CAM_OK)
        return s;
    p.kind = kind;
    p.samples = samples;
    p.std = std;
    p.seed = ctx->options->seed;
    const cam_model *m = p.model;
    s = cam_axis_weights_interpolate(&p.wy, CAM_UPSAMPLE_BILINEAR, p.height, m->height, 0.0f,
                                     (float)p.height, err);
    if (s == CAM_OK)
        s = cam_axis_weights_interpolate(&p.wx, CAM_UPSAMPLE_BILINEAR, p.width, m->width, 0.0f,
                                         (float)p.width, err);
    if (s != CAM_OK) {
        cam_error_prefix(err, "cam_explain: %s", method);
        perturb_end(&p);
        return s;
    }
    /* each channel's range over the upsampled map; constant ones get no mask */
    p.n_channels = 0;
    for (int k = 0; k < k_all; k++) {
        float lo = INFINITY, hi = -INFINITY;
        for (int y = 0; y < m->height; y++)
            for (int x = 0; x < m->width; x++) {
                float u = upsampled(&p, k, y, x);
                lo = u < lo ? u : lo;
                hi = u > hi ? u : hi;
            }
        p.lo[k] = lo;
        p.range[k] = hi - lo;
        if (p.range[k] > 0.0f && isfinite(p.range[k]))
            p.channels[p.n_channels++] = k;
    }
    s = run_instances(&p, m->input, p.n_channels * samples, fill_masked_input, err);
    if (s == CAM_OK) {
        for (int k = 0; k < k_all; k++)
            p.weight[k] = 0.0;
        for (int j = 0; j < p.n_channels; j++) {
            double sum = 0.0;
            for (int i = 0; i < samples; i++)
                sum += p.scores[(size_t)j * samples + i];
            p.weight[p.channels[j]] = sum / samples;
        }
        s = weighted_map(&p, map, err);
    }
    perturb_end(&p);
    return s;
}

cam_status cam_method_score_cam(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    return score_family(ctx, SCORE_PLAIN, 1, 0.0f, "score-cam", map, err);
}

cam_status cam_method_ss_cam_with(const cam_method_ctx *ctx, int samples, float std, float *map,
                                  cam_error *err)
{
    return score_family(ctx, SCORE_NOISY, samples, std, "ss-cam", map, err);
}

cam_status cam_method_ss_cam(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    return cam_method_ss_cam_with(ctx, CAM_SS_CAM_SAMPLES, CAM_SS_CAM_STD, map, err);
}

cam_status cam_method_is_cam_with(const cam_method_ctx *ctx, int steps, float *map,
                                  cam_error *err)
{
    return score_family(ctx, SCORE_INTEGRATED, steps, 0.0f, "is-cam", map, err);
}

cam_status cam_method_is_cam(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    return cam_method_is_cam_with(ctx, CAM_IS_CAM_STEPS, map, err);
}

/* ---- Ablation-CAM ---------------------------------------------------------------- */

/* Instance k: the layer with channel k set to zero. */
static void fill_ablated(void *user, int k, float *values)
{
    const perturb *p = user;
    memcpy(values, p->a, p->numel * sizeof *values);
    for (size_t q = 0; q < p->v.spatial; q++)
        values[at(&p->v, k, q)] = 0.0f;
}

cam_status cam_method_ablation_cam(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    perturb p;
    cam_status s = perturb_begin(&p, ctx, "ablation-cam", (size_t)ctx->layer->channels, err);
    if (s != CAM_OK)
        return s;
    const double y = original_score(&p);
    s = run_instances(&p, ctx->layer->tensor, p.v.channels, fill_ablated, err);
    if (s == CAM_OK) {
        for (int k = 0; k < p.v.channels; k++)
            p.weight[k] = y != 0.0 ? (y - p.scores[k]) / y : y - p.scores[k];
        s = weighted_map(&p, map, err);
    }
    perturb_end(&p);
    return s;
}

/* ---- Recipro-CAM ----------------------------------------------------------------- */

/* Instance q: the layer masked around position q (one-hot; tokens: the 3 x 3
 * Gaussian kernel, class token kept). */
static void fill_recipro(void *user, int instance, float *values)
{
    static const float gauss[3][3] = {{1.0f / 16, 1.0f / 8, 1.0f / 16},
                                      {1.0f / 8, 1.0f / 4, 1.0f / 8},
                                      {1.0f / 16, 1.0f / 8, 1.0f / 16}};
    const perturb *p = user;
    const layer_view *v = &p->v;
    const size_t q = (size_t)instance;
    memset(values, 0, p->numel * sizeof *values);
    if (!p->ctx->layer->tokens) {
        for (int k = 0; k < v->channels; k++)
            values[at(v, k, q)] = p->a[at(v, k, q)];
        return;
    }
    memcpy(values, p->a, v->base * sizeof *values); /* the class token */
    const int y0 = (int)(q / (size_t)p->width), x0 = (int)(q % (size_t)p->width);
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            int y = y0 + dy, x = x0 + dx;
            if (y < 0 || y >= p->height || x < 0 || x >= p->width)
                continue;
            const size_t r = (size_t)y * p->width + x;
            const float g = gauss[dy + 1][dx + 1];
            for (int k = 0; k < v->channels; k++)
                values[at(v, k, r)] = g * p->a[at(v, k, r)];
        }
}

cam_status cam_method_recipro_cam(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    perturb p;
    size_t hw = (size_t)ctx->layer->height * ctx->layer->width;
    cam_status s = perturb_begin(&p, ctx, "recipro-cam", hw, err);
    if (s != CAM_OK)
        return s;
    s = run_instances(&p, ctx->layer->tensor, (int)hw, fill_recipro, err);
    for (size_t q = 0; s == CAM_OK && q < hw; q++)
        map[q] = (float)p.scores[q];
    perturb_end(&p);
    return s;
}
