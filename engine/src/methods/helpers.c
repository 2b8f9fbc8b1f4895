/*
 * helpers.c -- what several explanation methods share: the layer seen as K
 * planes of H*W, gradients into such planes, weighted sums over channels (or
 * their principal component, eigen_smooth), the top eigenpair of a symmetric
 * operator, the sign rule, the ReLU and the random numbers.
 */
#include "methods/cam-method.h"

#include "cam-error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

layer_view cam_layer_view_of(const cam_layer *l)
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

void cam_layer_to_planes(const float *tensor, const layer_view *v, float *planes)
{
    for (int k = 0; k < v->channels; k++) {
        const float *src = tensor + v->base + (size_t)k * v->channel_stride;
        float *dst = planes + (size_t)k * v->spatial;
        if (v->position_stride == 1)
            memcpy(dst, src, v->spatial * sizeof *dst);
        else
            for (size_t p = 0; p < v->spatial; p++)
                dst[p] = src[p * v->position_stride];
    }
}

static const char *method_name_of(const cam_method_ctx *ctx)
{
    const char *name = cam_method_name(ctx->options->method);
    return name ? name : "?";
}

cam_status cam_method_no_memory(const cam_method_ctx *ctx, cam_error *err)
{
    return cam_set_error(err, CAM_ERROR_NO_MEMORY, "cam_explain: %s on layer '%s': out of memory",
                         method_name_of(ctx), ctx->layer_name);
}

float *cam_method_alloc_planes(const cam_method_ctx *ctx, cam_error *err)
{
    float *p = malloc(((size_t)ctx->view.channels * ctx->view.spatial + 1) * sizeof *p);
    if (!p)
        cam_method_no_memory(ctx, err);
    return p;
}

cam_status cam_method_gradient(const cam_method_ctx *ctx, cam_score score, float *planes,
                               cam_error *err)
{
    cam_status st = cam_backward_to(ctx->ws, 0, ctx->class_index, score, ctx->layer->tensor, err);
    if (st == CAM_OK)
        cam_layer_to_planes(ctx->ws->grad, &ctx->view, planes);
    return st;
}

cam_status cam_method_gradient_seed(const cam_method_ctx *ctx, const float *seed, float *planes,
                                    cam_error *err)
{
    const cam_model *m = ctx->ws->model;
    cam_status st = cam_executor_backward(ctx->ws->exec, 0, 1, &m->logits, &seed,
                                          ctx->layer->tensor, ctx->ws->grad, err);
    if (st == CAM_OK)
        cam_layer_to_planes(ctx->ws->grad, &ctx->view, planes);
    return st;
}

/* The projection of the K planes (times weight[k], weight NULL = 1) on their
 * first principal component, into map (n floats). */
static cam_status projection(const float *planes, const double *weight, int channels, size_t n,
                             float *map, const char *what, cam_error *err);

cam_status cam_method_weighted_sum(const cam_method_ctx *ctx, const float *planes,
                                   const double *weight, double offset, float *map,
                                   cam_error *err)
{
    const size_t n = ctx->view.spatial;
    if (ctx->options->eigen_smooth) {
        cam_status st = projection(planes, weight, ctx->view.channels, n, map, ctx->layer_name, err);
        if (st == CAM_OK && offset != 0.0)
            for (size_t p = 0; p < n; p++)
                map[p] = (float)(offset + map[p]);
        return st;
    }
    double *acc = ctx->ws->explain_scratch; /* H*W <= max_layer doubles */
    for (size_t p = 0; p < n; p++)
        acc[p] = offset;
    for (int k = 0; k < ctx->view.channels; k++) {
        const float *ak = planes + (size_t)k * n;
        const double wk = weight[k];
        for (size_t p = 0; p < n; p++)
            acc[p] += wk * ak[p];
    }
    for (size_t p = 0; p < n; p++)
        map[p] = (float)acc[p];
    return CAM_OK;
}

cam_status cam_method_sum_terms(const cam_method_ctx *ctx, const float *terms, float *map,
                                cam_error *err)
{
    const size_t n = ctx->view.spatial;
    if (ctx->options->eigen_smooth)
        return projection(terms, NULL, ctx->view.channels, n, map, ctx->layer_name, err);
    double *acc = ctx->ws->explain_scratch;
    for (size_t p = 0; p < n; p++)
        acc[p] = 0.0;
    for (int k = 0; k < ctx->view.channels; k++) {
        const float *tk = terms + (size_t)k * n;
        for (size_t p = 0; p < n; p++)
            acc[p] += tk[p];
    }
    for (size_t p = 0; p < n; p++)
        map[p] = (float)acc[p];
    return CAM_OK;
}

cam_status cam_principal_projection(const float *planes, int channels, size_t n, float *map,
                                    const char *what, cam_error *err)
{
    return projection(planes, NULL, channels, n, map, what, err);
}

void cam_sign_flip(double *v, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (fabs(v[i]) > fabs(v[best]))
            best = i;
    if (n > 0 && v[best] < 0.0)
        for (size_t i = 0; i < n; i++)
            v[i] = -v[i];
}

void cam_method_relu(float *map, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (map[i] <= 0.0f) /* NaN stays NaN, for the framework's finiteness check */
            map[i] = 0.0f;
}

/* ---- principal component ------------------------------------------------ */

/* X (n x K, row-major, centred): the operator x -> X^T X x on R^K. */
typedef struct gram_op {
    const double *x;
    size_t n;
    int k;
    double *tmp; /* n */
} gram_op;

static void gram_matvec(void *data, const double *in, double *out)
{
    const gram_op *g = data;
    for (size_t p = 0; p < g->n; p++) {
        const double *row = g->x + p * (size_t)g->k;
        double s = 0.0;
        for (int k = 0; k < g->k; k++)
            s += row[k] * in[k];
        g->tmp[p] = s;
    }
    for (int k = 0; k < g->k; k++)
        out[k] = 0.0;
    for (size_t p = 0; p < g->n; p++) {
        const double *row = g->x + p * (size_t)g->k;
        const double t = g->tmp[p];
        for (int k = 0; k < g->k; k++)
            out[k] += row[k] * t;
    }
}

static cam_status projection(const float *planes, const double *weight, int channels, size_t n,
                             float *map, const char *what, cam_error *err)
{
    const size_t kk = (size_t)channels;
    double *x = malloc((n * kk + 1) * sizeof *x);
    double *tmp = malloc((n + 1) * sizeof *tmp);
    double *v = malloc((kk + 1) * sizeof *v);
    double *proj = malloc((n + 1) * sizeof *proj);
    cam_status st = CAM_OK;
    if (!x || !tmp || !v || !proj) {
        st = cam_set_error(err, CAM_ERROR_NO_MEMORY,
                           "cam_explain: principal component of '%s': out of memory", what);
        goto out;
    }
    for (size_t k = 0; k < kk; k++) { /* centred columns, in double */
        const float *pk = planes + k * n;
        const double w = weight ? weight[k] : 1.0;
        double mean = 0.0;
        for (size_t p = 0; p < n; p++)
            mean += w * pk[p];
        mean /= (double)n;
        for (size_t p = 0; p < n; p++)
            x[p * kk + k] = w * pk[p] - mean;
    }
    gram_op op = {x, n, channels, tmp};
    double value = 0.0;
    st = cam_top_eigenpair(kk, gram_matvec, &op, v, &value, what, err);
    if (st != CAM_OK)
        goto out;
    for (size_t p = 0; p < n; p++) {
        const double *row = x + p * kk;
        double s = 0.0;
        for (size_t k = 0; k < kk; k++)
            s += row[k] * v[k];
        proj[p] = s;
    }
    cam_sign_flip(proj, n);
    for (size_t p = 0; p < n; p++)
        map[p] = (float)proj[p];
out:
    free(x);
    free(tmp);
    free(v);
    free(proj);
    return st;
}

/* ---- top eigenpair ------------------------------------------------------ */

/* Eigen-decomposition of a small symmetric n x n matrix a (destroyed; its
 * diagonal ends as the eigenvalues) by cyclic Jacobi rotations; vecs (n x n,
 * row-major) receives the eigenvectors as columns. */
static void jacobi_eigen(double *a, size_t n, double *vecs)
{
    for (size_t i = 0; i < n * n; i++)
        vecs[i] = 0.0;
    for (size_t i = 0; i < n; i++)
        vecs[i * n + i] = 1.0;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0, total = 0.0;
        for (size_t p = 0; p < n; p++)
            for (size_t q = 0; q < n; q++) {
                total += a[p * n + q] * a[p * n + q];
                if (p != q)
                    off += a[p * n + q] * a[p * n + q];
            }
        if (!(off > 1e-30 * total))
            break;
        for (size_t p = 0; p + 1 < n; p++) {
            for (size_t q = p + 1; q < n; q++) {
                const double apq = a[p * n + q];
                if (apq == 0.0)
                    continue;
                const double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                double t = 1.0 / (fabs(theta) + sqrt(theta * theta + 1.0));
                if (theta < 0.0)
                    t = -t;
                const double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (size_t r = 0; r < n; r++) { /* A <- A P */
                    const double arp = a[r * n + p], arq = a[r * n + q];
                    a[r * n + p] = c * arp - s * arq;
                    a[r * n + q] = s * arp + c * arq;
                }
                for (size_t r = 0; r < n; r++) { /* A <- P^T A */
                    const double apr = a[p * n + r], aqr = a[q * n + r];
                    a[p * n + r] = c * apr - s * aqr;
                    a[q * n + r] = s * apr + c * aqr;
                }
                for (size_t r = 0; r < n; r++) {
                    const double vrp = vecs[r * n + p], vrq = vecs[r * n + q];
                    vecs[r * n + p] = c * vrp - s * vrq;
                    vecs[r * n + q] = s * vrp + c * vrq;
                }
            }
        }
    }
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void normalise(double *a, size_t n)
{
    const double norm = sqrt(dot(a, a, n));
    if (norm > 0.0)
        for (size_t i = 0; i < n; i++)
            a[i] /= norm;
}

#define LANCZOS_STEPS 48
#define LANCZOS_RESTARTS 200

cam_status cam_top_eigenpair(size_t n, cam_matvec_fn matvec, void *data, double *vector,
                             double *value, const char *what, cam_error *err)
{
    if (n == 0)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_explain: principal component of '%s': no values", what);
    const size_t m = n < LANCZOS_STEPS ? n : LANCZOS_STEPS;
    double *q = malloc((m + 1) * n * sizeof *q);
    double *w = malloc(n * sizeof *w);
    double *y = malloc(n * sizeof *y);
    double *t = malloc(m * m * sizeof *t);
    double *s = malloc(m * m * sizeof *s);
    double *alpha = malloc(m * sizeof *alpha), *beta = malloc(m * sizeof *beta);
    if (!q || !w || !y || !t || !s || !alpha || !beta) {
        free(q), free(w), free(y), free(t), free(s), free(alpha), free(beta);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY,
                             "cam_explain: principal component of '%s': out of memory", what);
    }
    /* a fixed start with positive pseudo-random entries: never orthogonal to a
     * top eigenvector except by an accident of measure zero */
    uint64_t state = 0x5EEDC0DEULL;
    for (size_t i = 0; i < n; i++)
        y[i] = 0.5 + cam_random_uniform(&state);
    normalise(y, n);
    double theta = 0.0;
    for (int restart = 0; restart < LANCZOS_RESTARTS; restart++) {
        memcpy(q, y, n * sizeof *q);
        size_t k = 0;
        int invariant = 0;
        double scale = 0.0; /* estimate of the operator's norm */
        for (size_t j = 0; j < m; j++) {
            double *qj = q + j * n;
            matvec(data, qj, w);
            alpha[j] = dot(w, qj, n);
            for (int pass = 0; pass < 2; pass++) /* full reorthogonalisation */
                for (size_t i = 0; i <= j; i++) {
                    const double c = dot(w, q + i * n, n);
                    const double *qi = q + i * n;
                    for (size_t r = 0; r < n; r++)
                        w[r] -= c * qi[r];
                }
            beta[j] = sqrt(dot(w, w, n));
            k = j + 1;
            const double a = fabs(alpha[j]) + beta[j];
            if (a > scale)
                scale = a;
            if (k == m)
                break;
            if (!(beta[j] > 1e-14 * scale)) {
                invariant = 1;
                break;
            }
            double *next = q + (j + 1) * n;
            for (size_t r = 0; r < n; r++)
                next[r] = w[r] / beta[j];
        }
        for (size_t i = 0; i < k * k; i++)
            t[i] = 0.0;
        for (size_t i = 0; i < k; i++) {
            t[i * k + i] = alpha[i];
            if (i + 1 < k)
                t[i * k + i + 1] = t[(i + 1) * k + i] = beta[i];
        }
        jacobi_eigen(t, k, s);
        size_t top = 0;
        for (size_t i = 1; i < k; i++)
            if (t[i * k + i] > t[top * k + top])
                top = i;
        theta = t[top * k + top];
        for (size_t r = 0; r < n; r++)
            y[r] = 0.0;
        for (size_t i = 0; i < k; i++) {
            const double c = s[i * k + top];
            const double *qi = q + i * n;
            for (size_t r = 0; r < n; r++)
                y[r] += c * qi[r];
        }
        normalise(y, n);
        if (invariant || k == n)
            break;
        matvec(data, y, w);
        double r2 = 0.0;
        for (size_t r = 0; r < n; r++)
            r2 += (w[r] - theta * y[r]) * (w[r] - theta * y[r]);
        if (!(sqrt(r2) > 1e-12 * (scale > fabs(theta) ? scale : fabs(theta))))
            break;
    }
    memcpy(vector, y, n * sizeof *vector);
    *value = theta;
    free(q), free(w), free(y), free(t), free(s), free(alpha), free(beta);
    return CAM_OK;
}

/* ---- random numbers (camengine.h, RANDOM NUMBERS) ----------------------- */

uint64_t cam_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

double cam_random_uniform(uint64_t *state)
{
    return (double)(cam_splitmix64(state) >> 11) * 0x1.0p-53;
}

double cam_random_normal(uint64_t *state)
{
    const double u1 = cam_random_uniform(state);
    const double u2 = cam_random_uniform(state);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586476925286766559 * u2);
}

double cam_method_sum(const float *a, size_t n)
{
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    size_t p = 0;
    for (; p + 4 <= n; p += 4)
        for (int j = 0; j < 4; j++)
            s[j] += a[p + j];
    for (int j = 0; p < n; p++, j++)
        s[j] += a[p];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

double cam_method_dot(const float *a, const float *b, size_t n)
{
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    size_t p = 0;
    for (; p + 4 <= n; p += 4)
        for (int j = 0; j < 4; j++)
            s[j] += (double)a[p + j] * b[p + j];
    for (int j = 0; p < n; p++, j++)
        s[j] += (double)a[p] * b[p];
    return (s[0] + s[1]) + (s[2] + s[3]);
}
