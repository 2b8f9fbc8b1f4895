/*
 * activation.c -- the methods that read the activations only (no backward pass):
 * CAM, Eigen-CAM, KPCA-CAM and the random baseline. Formulas: camengine.h,
 * above cam_explain.
 */
#include "methods/cam-method.h"

#include "cam-error.h"

#include <math.h>
#include <stdlib.h>

/* CAM: map = sum_k W[k,c] A_k (signed, no ReLU). */
cam_status cam_method_cam(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    const cam_model *model = ctx->ws->model;
    const float *w = model->cam_head.weight + (size_t)ctx->class_index * model->cam_head.n_channels;
    double *weight = ctx->ws->explain_scratch + ctx->ws->max_layer; /* K <= max_layer */
    for (int k = 0; k < ctx->view.channels; k++)
        weight[k] = w[k];
    return cam_method_weighted_sum(ctx, ctx->planes, weight, 0.0, map, err);
}

/* Eigen-CAM: ReLU(projection of A on its first principal component). */
cam_status cam_method_eigen_cam(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    cam_status st = cam_principal_projection(ctx->planes, ctx->view.channels, ctx->view.spatial,
                                             map, ctx->layer_name, err);
    if (st == CAM_OK)
        cam_method_relu(map, ctx->view.spatial);
    return st;
}

/* KPCA-CAM: scikit-learn's KernelPCA(n_components=1, kernel='sigmoid', gamma=1/K,
 * coef0=1) of the centred features of the positions; ReLU. */
#define KPCA_MAX_POSITIONS 4096

typedef struct dense_op {
    const double *a;
    size_t n;
} dense_op;

static void dense_matvec(void *data, const double *x, double *y)
{
    const dense_op *d = data;
    for (size_t i = 0; i < d->n; i++) {
        const double *row = d->a + i * d->n;
        double s = 0.0;
        for (size_t j = 0; j < d->n; j++)
            s += row[j] * x[j];
        y[i] = s;
    }
}

cam_status cam_method_kpca_cam(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    const size_t n = ctx->view.spatial, kk = (size_t)ctx->view.channels;
    if (n > KPCA_MAX_POSITIONS)
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                             "cam_explain: kpca-cam on layer '%s': %zu positions (%d x %d) need a "
                             "%zu x %zu kernel matrix; at most %d positions are supported, pick a "
                             "later layer",
                             ctx->layer_name, n, ctx->layer->height, ctx->layer->width, n, n,
                             KPCA_MAX_POSITIONS);
    double *x = malloc((n * kk + 1) * sizeof *x);
    double *kern = malloc((n * n + 1) * sizeof *kern);
    double *rowmean = malloc((n + 1) * sizeof *rowmean);
    double *u = malloc((n + 1) * sizeof *u);
    cam_status st = CAM_OK;
    if (!x || !kern || !rowmean || !u) {
        st = cam_method_no_memory(ctx, err);
        goto out;
    }
    for (size_t k = 0; k < kk; k++) { /* x_p: features of position p minus their mean */
        const float *pk = ctx->planes + k * n;
        double mean = 0.0;
        for (size_t p = 0; p < n; p++)
            mean += pk[p];
        mean /= (double)n;
        for (size_t p = 0; p < n; p++)
            x[p * kk + k] = pk[p] - mean;
    }
    const double gamma = 1.0 / (double)kk, coef0 = 1.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++) {
            const double *xi = x + i * kk, *xj = x + j * kk;
            double d = 0.0;
            for (size_t k = 0; k < kk; k++)
                d += xi[k] * xj[k];
            kern[i * n + j] = kern[j * n + i] = tanh(gamma * d + coef0);
        }
    double total = 0.0; /* double centring: K - 1K - K1 + 1K1 */
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < n; j++)
            s += kern[i * n + j];
        rowmean[i] = s / (double)n;
        total += s;
    }
    total /= (double)n * (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            kern[i * n + j] += total - rowmean[i] - rowmean[j];
    dense_op op = {kern, n};
    double value = 0.0;
    st = cam_top_eigenpair(n, dense_matvec, &op, u, &value, ctx->layer_name, err);
    if (st != CAM_OK)
        goto out;
    cam_sign_flip(u, n);
    const double scale = value > 0.0 ? sqrt(value) : 0.0;
    for (size_t p = 0; p < n; p++)
        map[p] = (float)(scale * u[p]);
    cam_method_relu(map, n);
out:
    free(x);
    free(kern);
    free(rowmean);
    free(u);
    return st;
}

/* Random: H x W uniform numbers in [0, 1) from the seeded stream, row-major. */
cam_status cam_method_random(const cam_method_ctx *ctx, float *map, cam_error *err)
{
    (void)err;
    uint64_t state = ctx->options->seed;
    for (size_t p = 0; p < ctx->view.spatial; p++)
        map[p] = (float)cam_random_uniform(&state);
    return CAM_OK;
}
