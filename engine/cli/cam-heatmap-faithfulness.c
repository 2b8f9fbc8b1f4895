/*
 * cam-heatmap-faithfulness.c -- ROAD's noisy linear imputation (Rong, Leemann, Borisov,
 * Kasneci, Kasneci, "A Consistent and Efficient Evaluation Strategy for Attribution
 * Methods", ICML 2022), the "remove" step of RemOve And Debias, for --evaluate.
 *
 * Removing pixels by setting them to black tells the model *where* they were (the shape
 * of the mask leaks the class); ROAD instead fills each removed pixel with the weighted
 * mean of its 8 neighbours, direct neighbours weight 1/6 and diagonal ones 1/12 (the
 * paper's weights; neighbours outside the image are left out and the mean is taken over
 * the weights that remain), where a neighbour that is itself removed is an unknown too.
 * For the n removed pixels that is the linear system M x = b with
 *     M_ii = s_i = sum of the weights of pixel i's neighbours inside the image,
 *     M_ij = -w_ij for a removed neighbour j,
 *     b_i  = sum over kept neighbours j of w_ij u_j          (one right-hand side per channel).
 * M is symmetric (w(offset) = w(-offset)) and, when at least one pixel is kept,
 * positive definite (weakly diagonally dominant, strictly on every connected group of
 * removed pixels, which touches a kept pixel): solved here exactly (up to rounding) by a
 * banded Cholesky factorisation in double precision, the unknowns numbered in row-major
 * order so that the band is at most W + 1 wide (n (W+1)^2 / 2 operations, about 0.5 M
 * for a 32 x 32 image). The paper's code solves the same system with scipy's spsolve.
 * Then each imputed value gets independent Gaussian noise N(0, sigma^2) (the paper's
 * "noisy" imputation, sigma = 0.01 for images scaled to 0..1), so that the imputed
 * values are not an exact linear function of their neighbours that a model could detect.
 *
 * Noise: reproducible. Normal variates come from splitmix64 (the random-map baseline's
 * generator) started at `noise_seed`; for each removed pixel in row-major pixel order and
 * for each channel, two draws a, b give u1 = ((a >> 11) + 1) / 2^53 in (0, 1],
 * u2 = (b >> 11) / 2^53 in [0, 1) and z = sqrt(-2 ln u1) cos(2 pi u2) (Box-Muller, the
 * sine half unused).
 */
#include "cam-heatmap.h"

#include <gio/gio.h>

#include <math.h>
#include <string.h>

static const struct {
    int dy, dx;
    double weight;
} neighbours[8] = {
    {-1, -1, 1.0 / 12}, {-1, 0, 1.0 / 6}, {-1, 1, 1.0 / 12}, {0, -1, 1.0 / 6},
    {0, 1, 1.0 / 6},    {1, -1, 1.0 / 12}, {1, 0, 1.0 / 6},  {1, 1, 1.0 / 12},
};

static guint64 road_splitmix64(guint64 *state)
{
    guint64 z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double road_normal(guint64 *state)
{
    double u1 = (double) ((road_splitmix64(state) >> 11) + 1) * (1.0 / 9007199254740992.0);
    double u2 = (double) (road_splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * G_PI * u2);
}

gboolean cli_road_impute(const float *pixels, int channels, int height, int width,
                         const guint8 *removed, double noise_sigma, guint64 noise_seed,
                         float *out, GError **error)
{
    int P = height * width;
    int *unknown = g_new(int, P); /* pixel -> unknown number, -1 if kept */
    int n = 0;
    for (int p = 0; p < P; p++) unknown[p] = removed[p] ? n++ : -1;
    memcpy(out, pixels, (size_t) channels * P * sizeof *out);
    if (n == 0) {
        g_free(unknown);
        return TRUE;
    }
    if (n == P) {
        g_free(unknown);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "ROAD imputation: every pixel is removed (nothing to impute from)");
        return FALSE;
    }
    /* the band: unknown i couples with unknowns i - bw .. i */
    int bw = 0;
    for (int p = 0; p < P; p++) {
        if (unknown[p] < 0) continue;
        int y = p / width, x = p % width;
        for (int k = 0; k < 8; k++) {
            int yy = y + neighbours[k].dy, xx = x + neighbours[k].dx;
            if (yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
            int j = unknown[yy * width + xx];
            if (j >= 0 && unknown[p] - j > bw) bw = unknown[p] - j;
        }
    }
    int stride = bw + 1;
    /* L[i * stride + (i - j)]: lower band, column offset i - j in 0..bw */
    double *L = g_new0(double, (size_t) n * stride);
    double *b = g_new0(double, (size_t) n * channels); /* b[i * channels + ch] */
    for (int p = 0; p < P; p++) {
        int i = unknown[p];
        if (i < 0) continue;
        int y = p / width, x = p % width;
        double s = 0;
        for (int k = 0; k < 8; k++) {
            int yy = y + neighbours[k].dy, xx = x + neighbours[k].dx;
            if (yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
            double wk = neighbours[k].weight;
            int q = yy * width + xx, j = unknown[q];
            s += wk;
            if (j < 0) {
                for (int ch = 0; ch < channels; ch++)
                    b[(size_t) i * channels + ch] += wk * pixels[(size_t) ch * P + q];
            } else if (j < i) {
                L[(size_t) i * stride + (i - j)] = -wk;
            }
        }
        L[(size_t) i * stride] = s;
    }
    /* Cholesky in place: M = L L^T */
    gboolean ok = TRUE;
    for (int i = 0; i < n && ok; i++) {
        int j0 = MAX(0, i - bw);
        for (int j = j0; j <= i; j++) {
            double v = L[(size_t) i * stride + (i - j)];
            int k0 = MAX(j0, j - bw);
            for (int k = k0; k < j; k++)
                v -= L[(size_t) i * stride + (i - k)] * L[(size_t) j * stride + (j - k)];
            if (j == i) {
                if (!(v > 0)) {
                    ok = FALSE;
                    break;
                }
                L[(size_t) i * stride] = sqrt(v);
            } else {
                L[(size_t) i * stride + (i - j)] = v / L[(size_t) j * stride];
            }
        }
    }
    if (ok) {
        /* forward: L y = b; backward: L^T x = y (x over b) */
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < channels; ch++) {
                double v = b[(size_t) i * channels + ch];
                for (int k = MAX(0, i - bw); k < i; k++)
                    v -= L[(size_t) i * stride + (i - k)] * b[(size_t) k * channels + ch];
                b[(size_t) i * channels + ch] = v / L[(size_t) i * stride];
            }
        }
        for (int i = n - 1; i >= 0; i--) {
            for (int ch = 0; ch < channels; ch++) {
                double v = b[(size_t) i * channels + ch];
                for (int k = i + 1; k <= MIN(n - 1, i + bw); k++)
                    v -= L[(size_t) k * stride + (k - i)] * b[(size_t) k * channels + ch];
                b[(size_t) i * channels + ch] = v / L[(size_t) i * stride];
            }
        }
        guint64 state = noise_seed;
        for (int p = 0; p < P; p++) {
            int i = unknown[p];
            if (i < 0) continue;
            for (int ch = 0; ch < channels; ch++) {
                double v = b[(size_t) i * channels + ch];
                if (noise_sigma > 0) v += noise_sigma * road_normal(&state);
                out[(size_t) ch * P + p] = (float) v;
            }
        }
    } else {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "ROAD imputation: the linear system is singular");
    }
    g_free(L);
    g_free(b);
    g_free(unknown);
    return ok;
}
