/*
 * gradient.c -- the methods built on g = d y_c / d A, the gradient of the class
 * score at the layer: Grad-CAM (paper and Keras tutorial), HiResCAM, Grad-CAM++,
 * XGrad-CAM, Grad-CAM element-wise, LayerCAM, EigenGrad-CAM, Finer-CAM and
 * Smooth Grad-CAM++; and FullGrad, on the gradients at the input and at every
 * layer with a bias. Formulas and papers: camengine.h, above cam_explain.
 * Reductions over positions and channels run in double, in a fixed order.
 */
#include "methods/cam-method.h"

#include "cam-error.h"
#include "ops/cam-op.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The per-channel weights (K doubles) live in the second half of the
 * workspace's explanation scratch; the first half is the weighted sum's. */
static double *channel_weights(const cam_method_ctx *ctx)
{
    return ctx->ws->explain_scratch + ctx->ws->max_layer;
}

/* Grad-CAM's formula on a gradient: map = offset + sum_k mean_hw(g_k) A_k. */
static cam_status mean_gradient_map(const cam_method_ctx *ctx, const float *grad, double offset,
                                    float *map, cam_error *err)
{
    const size_t n = ctx->view.spatial;
    double *weight = channel_weights(ctx);
    for (int k = 0; k < ctx->view.channels; k++)
        weight[k] = cam_method_sum(grad + (size_t)k * n, n) / (double)n;
    return cam_method_weighted_sum(ctx, ctx->planes, weight, offset, map, err);
}

/* The gradient of ctx->score into a new buffer (NULL on error, err set). */
static float *gradient_planes(const cam_method_ctx *ctx, cam_score score, cam_error *err)
{
    float *g = cam_method_alloc_planes(ctx, err);
    if (g && cam_method_gradient(ctx, score, g, err) != CAM_OK) {
        free(g);
        return NULL;
    }
    return g;
}

cam_status cam_method_grad_cam(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    float *g = gradient_planes(ctx, ctx->score, err);
    if (!g)
        return err ? err->status : CAM_ERROR_NO_MEMORY;
    cam_status st = mean_gradient_map(ctx, g, 0.0, map, err);
    if (st == CAM_OK)
        cam_method_relu(map, ctx->view.spatial);
    free(g);
    return st;
}

cam_status cam_method_grad_cam_tutorial(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    float *g = gradient_planes(ctx, CAM_SCORE_PROBABILITY, err);
    if (!g)
        return err ? err->status : CAM_ERROR_NO_MEMORY;
    cam_status st = mean_gradient_map(ctx, g, 1.0, map, err); /* signed: ReLU after resizing */
    free(g);
    return st;
}

/* The element-wise family: terms_k(p) = f(g_k(p), A_k(p)), map = ReLU(sum_k terms_k). */
typedef enum elementwise_kind { HIRES, ELEMENTWISE, LAYER, EIGEN_GRAD } elementwise_kind;

static cam_status elementwise_map(const cam_method_ctx *ctx, elementwise_kind kind, float *map,
                                  cam_error *err)
{
    float *g = gradient_planes(ctx, ctx->score, err);
    if (!g)
        return err ? err->status : CAM_ERROR_NO_MEMORY;
    const size_t total = (size_t)ctx->view.channels * ctx->view.spatial;
    const float *a = ctx->planes;
    for (size_t i = 0; i < total; i++) { /* terms in place of g */
        switch (kind) {
        case HIRES:
        case EIGEN_GRAD:
            g[i] = g[i] * a[i];
            break;
        case ELEMENTWISE:
            g[i] = fmaxf(g[i] * a[i], 0.0f);
            break;
        case LAYER:
            g[i] = fmaxf(g[i], 0.0f) * a[i];
            break;
        }
    }
    cam_status st = kind == EIGEN_GRAD
                        ? cam_principal_projection(g, ctx->view.channels, ctx->view.spatial, map,
                                                   ctx->layer_name, err)
                        : cam_method_sum_terms(ctx, g, map, err);
    if (st == CAM_OK)
        cam_method_relu(map, ctx->view.spatial);
    free(g);
    return st;
}

cam_status cam_method_hires_cam(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    return elementwise_map(ctx, HIRES, map, err);
}

cam_status cam_method_grad_cam_elementwise(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    return elementwise_map(ctx, ELEMENTWISE, map, err);
}

cam_status cam_method_layer_cam(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    return elementwise_map(ctx, LAYER, map, err);
}

cam_status cam_method_eigen_grad_cam(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    return elementwise_map(ctx, EIGEN_GRAD, map, err);
}

/* Grad-CAM++ weights from the first derivative d1 and the powers d2, d3 (the
 * same gradient's square and cube, or Smooth Grad-CAM++'s averages):
 * a = d2 / (2 d2 + S_k d3) (0 where the denominator is 0), w_k = sum a ReLU(d1). */
typedef struct plus_plus_terms {
    const float *d1;        /* K planes */
    const double *d2, *d3;  /* K planes, or NULL: d1^2 and d1^3 */
} plus_plus_terms;

static void plus_plus_weights(const cam_method_ctx *ctx, const plus_plus_terms *t, double *weight)
{
    const size_t n = ctx->view.spatial;
    for (int k = 0; k < ctx->view.channels; k++) {
        const size_t base = (size_t)k * n;
        const double s = cam_method_sum(ctx->planes + base, n);
        double w = 0.0;
        for (size_t p = 0; p < n; p++) {
            const double g = t->d1[base + p];
            const double g2 = t->d2 ? t->d2[base + p] : g * g;
            const double g3 = t->d3 ? t->d3[base + p] : g * g * g;
            const double den = 2.0 * g2 + s * g3;
            const double alpha = den != 0.0 ? g2 / den : 0.0;
            if (g > 0.0)
                w += alpha * g;
        }
        weight[k] = w;
    }
}

cam_status cam_method_grad_cam_plus_plus(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    float *g = gradient_planes(ctx, ctx->score, err);
    if (!g)
        return err ? err->status : CAM_ERROR_NO_MEMORY;
    double *weight = channel_weights(ctx);
    plus_plus_terms t = {g, NULL, NULL};
    plus_plus_weights(ctx, &t, weight);
    cam_status st = cam_method_weighted_sum(ctx, ctx->planes, weight, 0.0, map, err);
    if (st == CAM_OK)
        cam_method_relu(map, ctx->view.spatial);
    free(g);
    return st;
}

cam_status cam_method_xgrad_cam(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    float *g = gradient_planes(ctx, ctx->score, err);
    if (!g)
        return err ? err->status : CAM_ERROR_NO_MEMORY;
    const size_t n = ctx->view.spatial;
    double *weight = channel_weights(ctx);
    for (int k = 0; k < ctx->view.channels; k++) {
        const float *ak = ctx->planes + (size_t)k * n, *gk = g + (size_t)k * n;
        const double s = cam_method_sum(ak, n), ga = cam_method_dot(gk, ak, n);
        weight[k] = s != 0.0 ? ga / s : 0.0;
    }
    cam_status st = cam_method_weighted_sum(ctx, ctx->planes, weight, 0.0, map, err);
    if (st == CAM_OK)
        cam_method_relu(map, n);
    free(g);
    return st;
}

/* Finer-CAM: y = sum_{j in J} p_j (z_c - z_j) / (sum_{j in J} p_j + 1e-9), J the 3
 * classes closest to c in logit; d y / d z written to seed. */
#define FINER_COMPARED 3

static void finer_seed(const cam_method_ctx *ctx, float *seed)
{
    const int nc = ctx->n_classes, c = ctx->class_index;
    const float *z = ctx->logits;
    int chosen[FINER_COMPARED];
    int n_chosen = 0;
    while (n_chosen < FINER_COMPARED && n_chosen < nc - 1) { /* |z_j - z_c| ascending */
        int best = -1;
        for (int j = 0; j < nc; j++) {
            int taken = j == c;
            for (int i = 0; i < n_chosen && !taken; i++)
                taken = chosen[i] == j;
            if (taken)
                continue;
            if (best < 0 || fabs((double)z[j] - z[c]) < fabs((double)z[best] - z[c]))
                best = j;
        }
        chosen[n_chosen++] = best;
    }
    double zmax = z[0], sum = 0.0;
    for (int j = 1; j < nc; j++)
        if (z[j] > zmax)
            zmax = z[j];
    double *p = ctx->ws->explain_scratch; /* n_classes <= max_layer */
    for (int j = 0; j < nc; j++) {
        p[j] = exp((double)z[j] - zmax);
        sum += p[j];
    }
    for (int j = 0; j < nc; j++)
        p[j] /= sum;
    double d0 = 0.0, num = 0.0;
    for (int i = 0; i < n_chosen; i++) {
        const int j = chosen[i];
        d0 += p[j];
        num += p[j] * ((double)z[c] - z[j]);
    }
    const double den = d0 + 1e-9;
    for (int m = 0; m < nc; m++) {
        int in_j = 0;
        for (int i = 0; i < n_chosen; i++)
            in_j |= chosen[i] == m;
        /* dp_j/dz_m = p_j (delta_jm - p_m) */
        double dnum = -p[m] * num + (m == c ? d0 : 0.0);
        double dden = -p[m] * d0;
        if (in_j) {
            dnum += p[m] * ((double)z[c] - z[m]) - p[m];
            dden += p[m];
        }
        seed[m] = (float)((dnum * den - num * dden) / (den * den));
    }
}

cam_status cam_method_finer_cam(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    if (ctx->options->target_score != CAM_SCORE_LOGIT)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_explain: finer-cam compares logits; target_score 'probability' "
                             "is not defined for it");
    if (ctx->n_classes < 2)
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                             "cam_explain: finer-cam compares the class with others; the model "
                             "has only one class");
    float *seed = malloc((size_t)ctx->n_classes * sizeof *seed);
    float *g = cam_method_alloc_planes(ctx, err);
    cam_status st = CAM_OK;
    if (!seed || !g) {
        st = cam_method_no_memory(ctx, err);
        goto out;
    }
    finer_seed(ctx, seed);
    st = cam_method_gradient_seed(ctx, seed, g, err);
    if (st == CAM_OK)
        st = mean_gradient_map(ctx, g, 0.0, map, err);
    if (st == CAM_OK)
        cam_method_relu(map, ctx->view.spatial);
out:
    free(seed);
    free(g);
    return st;
}

/* Smooth Grad-CAM++: torch-cam's defaults. */
#define SMOOTH_SAMPLES 4
#define SMOOTH_STD 0.3

cam_status cam_method_smooth_grad_cam_plus_plus(const cam_method_ctx *ctx, float *map,
                                                cam_error *err)
{
    const size_t total = (size_t)ctx->view.channels * ctx->view.spatial;
    const size_t in_size = cam_model_input_size(ctx->ws->model);
    float *noisy = malloc(in_size * sizeof *noisy);
    float *g = cam_method_alloc_planes(ctx, err);
    float *d1 = cam_method_alloc_planes(ctx, err);
    double *d2 = malloc((total + 1) * sizeof *d2), *d3 = malloc((total + 1) * sizeof *d3);
    double *s1 = malloc((total + 1) * sizeof *s1);
    cam_status st = CAM_OK;
    if (!noisy || !g || !d1 || !d2 || !d3 || !s1) {
        st = cam_method_no_memory(ctx, err);
        goto out;
    }
    for (size_t i = 0; i < total; i++)
        s1[i] = d2[i] = d3[i] = 0.0;
    uint64_t state = ctx->options->seed;
    for (int m = 0; m < SMOOTH_SAMPLES; m++) {
        for (size_t i = 0; i < in_size; i++)
            noisy[i] = (float)((double)ctx->input[i] + SMOOTH_STD * cam_random_normal(&state));
        cam_progress_part(ctx->ws, m / (double)SMOOTH_SAMPLES, (m + 0.4) / SMOOTH_SAMPLES);
        st = cam_forward(ctx->ws, noisy, 1, NULL, NULL, err);
        cam_progress_part(ctx->ws, (m + 0.4) / SMOOTH_SAMPLES, (m + 1.0) / SMOOTH_SAMPLES);
        if (st == CAM_OK)
            st = cam_method_gradient(ctx, ctx->score, g, err);
        if (st != CAM_OK)
            goto out;
        for (size_t i = 0; i < total; i++) {
            const double v = g[i];
            s1[i] += v;
            d2[i] += v * v;
            d3[i] += v * v * v;
        }
    }
    for (size_t i = 0; i < total; i++) {
        d1[i] = (float)(s1[i] / SMOOTH_SAMPLES);
        d2[i] /= SMOOTH_SAMPLES;
        d3[i] /= SMOOTH_SAMPLES;
    }
    double *weight = channel_weights(ctx);
    plus_plus_terms t = {d1, d2, d3};
    plus_plus_weights(ctx, &t, weight);
    st = cam_method_weighted_sum(ctx, ctx->planes, weight, 0.0, map, err);
    if (st == CAM_OK)
        cam_method_relu(map, ctx->view.spatial);
out:
    free(noisy);
    free(g);
    free(d1);
    free(d2);
    free(d3);
    free(s1);
    return st;
}

/* ---- FullGrad -------------------------------------------------------------- */

/* pytorch-grad-cam's scale_cam_image: (v - min) / (max - min + 1e-7) */
#define FULL_GRAD_EPS 1e-7

/* The per-channel bias node n adds to an N=1 x C x h x w output 0, or NULL. */
static const float *spatial_bias(const cam_graph *g, const cam_node *n, int *h, int *w)
{
    if (!n->def->bias || n->n_outputs < 1 || n->outputs[0] < 0)
        return NULL;
    int channels = 0;
    const float *b = n->def->bias(g, n, &channels);
    const cam_tensor *t = &g->tensors[n->outputs[0]];
    if (!b || t->rank != 4 || t->dims[0] != 1 || t->dims[1] != channels)
        return NULL;
    *h = (int)t->dims[2];
    *w = (int)t->dims[3];
    return b;
}

/* sum += psi of one channel: v = |g x| (x NULL: |g b|) rescaled to
 * (v - min v) / (max v - min v + 1e-7), in double. */
static void add_rescaled(const float *g, const float *x, double b, size_t n, double *sum)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t p = 0; p < n; p++) {
        const double v = fabs((double)g[p] * (x ? (double)x[p] : b));
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    const double den = (hi - lo) + FULL_GRAD_EPS;
    for (size_t p = 0; p < n; p++)
        sum[p] += (fabs((double)g[p] * (x ? (double)x[p] : b)) - lo) / den;
}

/* out (H x W) += the h x w map resized bilinearly (torch's interpolate with
 * align_corners=False, OpenCV's INTER_LINEAR: half-pixel centres, borders clamped). */
static void add_resized_doubles(const double *map, int h, int w, int H, int W, double *out)
{
    for (int oy = 0; oy < H; oy++) {
        double sy = ((double)oy + 0.5) * ((double)h / H) - 0.5;
        sy = sy < 0.0 ? 0.0 : sy;
        const int y0 = (int)sy, y1 = y0 + (y0 < h - 1);
        const double ly = sy - y0;
        for (int ox = 0; ox < W; ox++) {
            double sx = ((double)ox + 0.5) * ((double)w / W) - 0.5;
            sx = sx < 0.0 ? 0.0 : sx;
            const int x0 = (int)sx, x1 = x0 + (x0 < w - 1);
            const double lx = sx - x0;
            const double top = (1.0 - lx) * map[(size_t)y0 * w + x0] + lx * map[(size_t)y0 * w + x1];
            const double bot = (1.0 - lx) * map[(size_t)y1 * w + x0] + lx * map[(size_t)y1 * w + x1];
            out[(size_t)oy * W + ox] += (1.0 - ly) * top + ly * bot;
        }
    }
}

typedef struct full_grad_run {
    const cam_graph *g;
    int H, W;      /* the input's */
    double *sum;   /* H x W: the terms so far */
    double *layer; /* one layer's channel terms (the largest h x w) */
} full_grad_run;

/* The backward's visit of each node: a bias-bearing layer's term. The resize is
 * linear, so the layer's channels are summed before it (one resize per layer). */
static void full_grad_visit(void *user, const cam_node *node, const float *const *gout)
{
    full_grad_run *r = user;
    int h = 0, w = 0;
    const float *b = spatial_bias(r->g, node, &h, &w);
    if (!b || !gout[0]) /* no gradient: every term 0 */
        return;
    const size_t n = (size_t)h * w;
    const int channels = (int)r->g->tensors[node->outputs[0]].dims[1];
    memset(r->layer, 0, n * sizeof *r->layer);
    for (int c = 0; c < channels; c++)
        add_rescaled(gout[0] + (size_t)c * n, NULL, b[c], n, r->layer);
    add_resized_doubles(r->layer, h, w, r->H, r->W, r->sum);
}

cam_status cam_method_full_grad(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    cam_workspace *ws = ctx->ws;
    const cam_model *m = ws->model;
    const cam_graph *g = ws->graph;
    const int H = ctx->layer->height, W = ctx->layer->width, C = ctx->view.channels;
    const size_t n = (size_t)H * W;
    size_t largest = 1;
    for (int k = 0; k < g->n_order; k++) {
        int h = 0, w = 0;
        if (spatial_bias(g, &g->nodes[g->order[k]], &h, &w) && (size_t)h * w > largest)
            largest = (size_t)h * w;
    }
    full_grad_run r = {g, H, W, calloc(n, sizeof(double)), malloc(largest * sizeof(double))};
    float *seed = malloc((size_t)m->n_classes * sizeof *seed);
    float *gin = malloc((C * n + 1) * sizeof *gin);
    cam_status st = CAM_OK;
    if (!r.sum || !r.layer || !seed || !gin) {
        st = cam_method_no_memory(ctx, err);
        goto out;
    }
    cam_score_seed(ws, 0, ctx->class_index, ctx->score, seed);
    const float *seeds[1] = {seed};
    st = cam_executor_backward_visiting(ws->exec, 0, 1, &m->logits, seeds, m->input, gin,
                                        full_grad_visit, &r, err);
    if (st != CAM_OK)
        goto out;
    for (int c = 0; c < C; c++) /* the input term: |dy/dx x| per input channel */
        add_rescaled(gin + (size_t)c * n, ctx->planes + (size_t)c * n, 0.0, n, r.sum);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t p = 0; p < n; p++) {
        lo = r.sum[p] < lo ? r.sum[p] : lo;
        hi = r.sum[p] > hi ? r.sum[p] : hi;
    }
    for (size_t p = 0; p < n; p++) /* finite terms: a constant sum gives zeros */
        map[p] = hi > lo ? (float)((r.sum[p] - lo) / (hi - lo)) : 0.0f;
out:
    free(r.sum);
    free(r.layer);
    free(seed);
    free(gin);
    return st;
}
