/*
 * norm.c -- op family 'norm' (see cam-op.h): BatchNormalization (inference) and
 * LayerNormalization.
 *
 * BatchNormalization: y = x * mul[c] + add[c] along axis 1 of a tensor of rank
 * >= 2, mul and add folded at load from the constant scale, bias, mean and
 * variance (cam_batchnorm_fold, in double). A convolution usually absorbs it
 * (ops/conv.c); this is the unfused case (after a Concat in DenseNet). Training
 * mode is refused, so are the optional statistics outputs when anything reads
 * them; opsets 7 and 8 need spatial = 1. momentum only matters in training and
 * is ignored.
 *
 * LayerNormalization (opset 17): over the axes [axis, rank), per row of the
 * tensor seen as rows x cols, mean and variance in double (fixed order);
 * y = (x - mean) / sqrt(var + epsilon) * scale + bias. Scale and bias have the
 * normalised shape (or one element); constants or run-time values. The Mean and
 * InvStdDev outputs are computed when present and differentiated exactly, so
 * ONNX's node tests (which read all three) run. stash_type must be 1 (float32).
 * The backward is the full Jacobian: with g = gout * scale and xhat the
 * normalised x,  dx = (g - mean(g) - xhat mean(g xhat)) / sigma, plus
 * dMean / cols and -dInvStdDev xhat / (sigma^2 cols) for the extra outputs;
 * d/dscale = sum over rows of gout xhat, d/dbias = sum of gout, when wanted.
 */
#include "ops/cam-op.h"

#include "kernels/cam-kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Is output j present and read by a node or the graph's caller? */
static int output_read(const cam_graph *g, const cam_node *node, int j)
{
    if (j >= node->n_outputs || node->outputs[j] < 0)
        return 0;
    const int t = node->outputs[j];
    if (g->tensors[t].n_consumers > 0)
        return 1;
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == t)
            return 1;
    return 0;
}

/* Input i (named what): present, float32. */
static cam_status norm_input(const cam_graph *g, const cam_node *node, int i, const char *what,
                             const cam_tensor **out, cam_error *err)
{
    *out = cam_op_input(g, node, i);
    if (!*out)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL, "input %d (%s) is missing", i,
                           what);
    if ((*out)->dtype != CAM_DTYPE_FLOAT)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input %s has dtype %s; %s supports float32", what,
                           cam_dtype_name((*out)->dtype), node->op_type);
    return CAM_OK;
}

/* ---- BatchNormalization ------------------------------------------------------- */

typedef struct bn_params {
    int batch, channels, spatial; /* X as batch x channels x spatial */
    /* channels each: multipliers, addends, then the mean and variance given (for
     * statistics outputs that are present but unread) */
    float mul[];
} bn_params;

static cam_status batchnorm_type(cam_graph *g, cam_node *node, cam_error *err)
{
    static const char *const names[] = {"X", "scale", "B", "input_mean", "input_var"};
    static const char *const outputs[] = {"Y", "running_mean / mean", "running_var / var",
                                          "saved_mean", "saved_var"};
    const cam_tensor *t[5];
    float epsilon, momentum;
    int64_t spatial = 1, training = 0;
    cam_status st;

    if ((st = cam_op_attr_float(g, node, "epsilon", 1e-5f, &epsilon, err)) != CAM_OK ||
        (st = cam_op_attr_float(g, node, "momentum", 0.9f, &momentum, err)) != CAM_OK)
        return st;
    if (g->opset < 9 && (st = cam_op_attr_int(g, node, "spatial", 1, &spatial, err)) != CAM_OK)
        return st;
    if (g->opset >= 14 &&
        (st = cam_op_attr_int(g, node, "training_mode", 0, &training, err)) != CAM_OK)
        return st;
    if (spatial != 1)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "attribute 'spatial' = %lld is not supported (only 1: statistics per "
                           "channel)",
                           (long long)spatial);
    if (training != 0)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "attribute 'training_mode' = %lld is not supported (inference only)",
                           (long long)training);
    if (!(epsilon >= 0.0f))
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute 'epsilon' = %g is not >= 0", (double)epsilon);
    for (int j = 1; j < node->n_outputs; j++)
        if (output_read(g, node, j))
            return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                               "output %d (%s) is read; only Y is supported (inference)", j,
                               outputs[j < 5 ? j : 4]);

    for (int i = 0; i < 5; i++)
        if ((st = norm_input(g, node, i, names[i], &t[i], err)) != CAM_OK)
            return st;
    const cam_tensor *x = t[0];
    if (x->rank < 2) {
        char shape[96];
        cam_tensor_shape_string(x, shape, sizeof shape);
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "input X has shape %s; BatchNormalization needs N x C x ...", shape);
    }
    const int64_t channels = x->dims[1];
    for (int i = 1; i < 5; i++) {
        if ((st = cam_op_need_constant(g, node, i, names[i], err)) != CAM_OK)
            return st;
        if (t[i]->rank != 1 || t[i]->dims[0] != channels) {
            char shape[96];
            cam_tensor_shape_string(t[i], shape, sizeof shape);
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "input %s has shape %s; expected %lld (X's channels)", names[i],
                               shape, (long long)channels);
        }
    }
    if ((st = cam_op_set_output(g, node, 0, CAM_DTYPE_FLOAT, x->rank, x->dims, err)) != CAM_OK)
        return st;
    for (int j = 1; j < node->n_outputs && j < 5; j++) /* present but unread */
        if (cam_op_output(g, node, j) &&
            (st = cam_op_set_output(g, node, j, CAM_DTYPE_FLOAT, 1, &channels, err)) != CAM_OK)
            return st;

    bn_params *p = malloc(sizeof *p + 4 * (size_t)channels * sizeof(float));
    if (!p)
        return cam_op_fail(g, node, err, CAM_ERROR_NO_MEMORY, "out of memory");
    free(node->params);
    node->params = p;
    p->batch = (int)x->dims[0];
    p->channels = (int)channels;
    p->spatial = (int)cam_dims_product(x->dims, 2, x->rank);
    memcpy(p->mul + 2 * channels, t[3]->data, (size_t)channels * sizeof(float));
    memcpy(p->mul + 3 * channels, t[4]->data, (size_t)channels * sizeof(float));
    cam_batchnorm_fold(p->channels, t[1]->data, t[2]->data, t[3]->data, t[4]->data, epsilon,
                       p->mul, p->mul + p->channels);
    return CAM_OK;
}

static void batchnorm_forward(const cam_exec *x)
{
    const bn_params *p = x->node->params;
    cam_batchnorm_forward(p->batch, p->channels, p->spatial, p->mul, p->mul + p->channels,
                          x->in[0], x->out[0]);
    /* Unread statistics outputs: in inference they are the given statistics. */
    for (int j = 1; j < x->node->n_outputs && j < 5; j++)
        if (x->out[j])
            memcpy(x->out[j], p->mul + (size_t)(j % 2 ? 2 : 3) * p->channels,
                   (size_t)p->channels * sizeof(float));
}

static void batchnorm_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const bn_params *p = x->node->params;
    if (!gin[0])
        return;
    if (!gout[0])
        memset(gin[0], 0, (size_t)p->batch * p->channels * p->spatial * sizeof(float));
    else
        cam_batchnorm_backward(p->batch, p->channels, p->spatial, p->mul, gout[0], gin[0]);
}

/* The implicit bias B - mean scale / sqrt(var + epsilon): the addends. */
static const float *batchnorm_bias(const cam_graph *g, const cam_node *node, int *channels)
{
    (void)g;
    const bn_params *p = node->params;
    *channels = p->channels;
    return p->mul + p->channels;
}

/* ---- LayerNormalization ------------------------------------------------------- */

typedef struct ln_params {
    size_t rows, cols;      /* X as rows x cols, normalised along cols */
    double epsilon;
    int scale_step, bias_step; /* 1: one value per column; 0: one value (bias_step -1: none) */
} ln_params;

/* Scale or bias t (named what) against X normalised from axis: one element, or the
 * normalised shape (leading 1s allowed). Returns the step (1 or 0) in *step. */
static cam_status ln_affine(const cam_graph *g, const cam_node *node, const cam_tensor *t,
                            const cam_tensor *x, int axis, const char *what, int *step,
                            cam_error *err)
{
    const size_t cols = cam_dims_product(x->dims, axis, x->rank);
    int ok = t->rank <= x->rank && t->numel == 1;
    if (!ok && t->rank <= x->rank && t->numel == cols) {
        ok = 1;
        for (int i = 0; i < t->rank && ok; i++) {
            const int xi = x->rank - t->rank + i; /* the X axis it aligns with */
            ok = xi >= axis ? t->dims[i] == x->dims[xi] : t->dims[i] == 1;
        }
    }
    if (!ok) {
        char ts[96], xs[96];
        cam_tensor_shape_string(t, ts, sizeof ts);
        cam_tensor_shape_string(x, xs, sizeof xs);
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input %s has shape %s; with X %s and axis %d it must have the "
                           "normalised shape or be a single value",
                           what, ts, xs, axis);
    }
    *step = t->numel == 1 && cols != 1 ? 0 : 1;
    return CAM_OK;
}

static cam_status layernorm_type(cam_graph *g, cam_node *node, cam_error *err)
{
    const cam_tensor *x, *scale, *bias = NULL;
    int64_t axis, stash;
    float epsilon;
    int ax;
    cam_status st;

    if ((st = cam_op_attr_int(g, node, "axis", -1, &axis, err)) != CAM_OK ||
        (st = cam_op_attr_float(g, node, "epsilon", 1e-5f, &epsilon, err)) != CAM_OK ||
        (st = cam_op_attr_int(g, node, "stash_type", 1, &stash, err)) != CAM_OK)
        return st;
    if (stash != 1)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "attribute 'stash_type' = %lld is not supported (only 1: float32)",
                           (long long)stash);
    if (!(epsilon >= 0.0f))
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute 'epsilon' = %g is not >= 0", (double)epsilon);
    if ((st = norm_input(g, node, 0, "X", &x, err)) != CAM_OK ||
        (st = norm_input(g, node, 1, "Scale", &scale, err)) != CAM_OK)
        return st;
    if (cam_op_input(g, node, 2) && (st = norm_input(g, node, 2, "B", &bias, err)) != CAM_OK)
        return st;
    if (x->rank < 1)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "input X is a scalar; LayerNormalization needs rank >= 1");
    if ((st = cam_op_axis(g, node, axis, x->rank, "axis", &ax, err)) != CAM_OK)
        return st;

    ln_params *p = calloc(1, sizeof *p);
    if (!p)
        return cam_op_fail(g, node, err, CAM_ERROR_NO_MEMORY, "out of memory");
    free(node->params);
    node->params = p;
    p->rows = cam_dims_product(x->dims, 0, ax);
    p->cols = cam_dims_product(x->dims, ax, x->rank);
    p->epsilon = epsilon;
    p->bias_step = -1;
    if ((st = ln_affine(g, node, scale, x, ax, "Scale", &p->scale_step, err)) != CAM_OK ||
        (bias && (st = ln_affine(g, node, bias, x, ax, "B", &p->bias_step, err)) != CAM_OK))
        return st;

    /* Y as X; Mean and InvStdDev X's shape with 1 from axis on. */
    int64_t dims[CAM_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = i < ax ? x->dims[i] : 1;
    if ((st = cam_op_set_output(g, node, 0, CAM_DTYPE_FLOAT, x->rank, x->dims, err)) != CAM_OK)
        return st;
    for (int j = 1; j < node->n_outputs && j < 3; j++)
        if (cam_op_output(g, node, j) &&
            (st = cam_op_set_output(g, node, j, CAM_DTYPE_FLOAT, x->rank, dims, err)) != CAM_OK)
            return st;
    return CAM_OK;
}

/* Mean and 1 / sqrt(var + epsilon) of one row, in double, in index order. */
static void ln_row_stats(const float *x, size_t cols, double epsilon, double *mean, double *inv)
{
    double sum = 0.0, ss = 0.0;
    for (size_t j = 0; j < cols; j++)
        sum += x[j];
    const double mu = cols ? sum / (double)cols : 0.0;
    for (size_t j = 0; j < cols; j++) {
        const double d = x[j] - mu;
        ss += d * d;
    }
    *mean = mu;
    *inv = 1.0 / sqrt((cols ? ss / (double)cols : 0.0) + epsilon);
}

static void layernorm_forward(const cam_exec *x)
{
    const ln_params *p = x->node->params;
    const float *X = x->in[0], *S = x->in[1];
    const float *B = p->bias_step >= 0 ? x->in[2] : NULL;
    float *Y = x->out[0];
    float *M = x->node->n_outputs > 1 ? x->out[1] : NULL;
    float *I = x->node->n_outputs > 2 ? x->out[2] : NULL;
    const size_t ss = (size_t)p->scale_step, bs = B ? (size_t)p->bias_step : 0;
    for (size_t r = 0; r < p->rows; r++) {
        const float *xr = X + r * p->cols;
        double mu, inv;
        ln_row_stats(xr, p->cols, p->epsilon, &mu, &inv);
        if (Y) {
            float *yr = Y + r * p->cols;
            for (size_t j = 0; j < p->cols; j++) {
                const float xhat = (float)((xr[j] - mu) * inv);
                yr[j] = B ? xhat * S[j * ss] + B[j * bs] : xhat * S[j * ss];
            }
        }
        if (M)
            M[r] = (float)mu;
        if (I)
            I[r] = (float)inv;
    }
}

static void layernorm_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const ln_params *p = x->node->params;
    const float *X = x->in[0], *S = x->in[1];
    const float *GY = gout[0];
    const float *GM = x->node->n_outputs > 1 ? gout[1] : NULL;
    const float *GI = x->node->n_outputs > 2 ? gout[2] : NULL;
    float *GX = gin[0];
    float *GS = x->node->n_inputs > 1 ? gin[1] : NULL;
    float *GB = x->node->n_inputs > 2 && p->bias_step >= 0 ? gin[2] : NULL;
    const size_t ss = (size_t)p->scale_step, cols = p->cols;
    const double n = (double)cols;

    /* Scale and bias (when run-time values on the path): sums over the rows. */
    if (GS)
        memset(GS, 0, (ss ? cols : 1) * sizeof *GS);
    if (GB)
        memset(GB, 0, (p->bias_step ? cols : 1) * sizeof *GB);

    for (size_t r = 0; r < p->rows; r++) {
        const float *xr = X + r * cols;
        const float *gy = GY ? GY + r * cols : NULL;
        double mu, inv;
        ln_row_stats(xr, cols, p->epsilon, &mu, &inv);

        if (gy && (GS || GB))
            for (size_t j = 0; j < cols; j++) {
                if (GS)
                    GS[j * ss] += (float)((xr[j] - mu) * inv) * gy[j];
                if (GB)
                    GB[j * (size_t)p->bias_step] += gy[j];
            }
        if (!GX)
            continue;
        float *gx = GX + r * cols;
        /* mean(g) and mean(g xhat), g = gout * scale. */
        double mg = 0.0, mgx = 0.0;
        if (gy) {
            for (size_t j = 0; j < cols; j++) {
                const double gj = (double)gy[j] * S[j * ss];
                mg += gj;
                mgx += gj * ((xr[j] - mu) * inv);
            }
            mg /= n;
            mgx /= n;
        }
        const double dmean = GM ? GM[r] / n : 0.0;
        const double dinv = GI ? -(double)GI[r] * inv * inv / n : 0.0;
        for (size_t j = 0; j < cols; j++) {
            const double xhat = (xr[j] - mu) * inv;
            double d = dmean + dinv * xhat;
            if (gy)
                d += inv * ((double)gy[j] * S[j * ss] - mg - xhat * mgx);
            gx[j] = (float)d;
        }
    }
}

/* ---- the family ------------------------------------------------------------------ */

static const cam_op_def op_batchnorm7 = {
    .name = "BatchNormalization",
    .since = 7,
    .until = 8,
    .min_inputs = 5,
    .max_inputs = 5,
    .min_outputs = 1,
    .max_outputs = 5,
    .type = batchnorm_type,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .bias = batchnorm_bias,
};

static const cam_op_def op_batchnorm9 = {
    .name = "BatchNormalization",
    .since = 9,
    .until = 13,
    .min_inputs = 5,
    .max_inputs = 5,
    .min_outputs = 1,
    .max_outputs = 5,
    .type = batchnorm_type,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .bias = batchnorm_bias,
};

static const cam_op_def op_batchnorm14 = {
    .name = "BatchNormalization",
    .since = 14,
    .until = 22,
    .min_inputs = 5,
    .max_inputs = 5,
    .min_outputs = 1,
    .max_outputs = 3,
    .type = batchnorm_type,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .bias = batchnorm_bias,
};

static const cam_op_def op_layernorm = {
    .name = "LayerNormalization",
    .since = 17,
    .until = 22,
    .min_inputs = 2,
    .max_inputs = 3,
    .min_outputs = 1,
    .max_outputs = 3,
    .type = layernorm_type,
    .forward = layernorm_forward,
    .backward = layernorm_backward,
};

const cam_op_def *const cam_ops_norm[] = {
    &op_batchnorm7, &op_batchnorm9, &op_batchnorm14, &op_layernorm, NULL,
};
