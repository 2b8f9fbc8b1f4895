/* cam-resample.c -- per-axis resampling weights: torch-exact interpolation
 * (bilinear, bicubic; align_corners=False) and area averaging. */
#include "cam-error.h"
#include "cam-render-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cam_axis_weights_clear(cam_axis_weights *w)
{
    if (!w)
        return;
    free(w->index);
    free(w->weight);
    w->index = NULL;
    w->weight = NULL;
    w->n_out = w->taps = 0;
}

static cam_status axis_alloc(cam_axis_weights *w, int n_out, int taps, cam_error *err)
{
    w->n_out = n_out;
    w->taps = taps;
    w->index = calloc((size_t)n_out * (size_t)taps, sizeof *w->index);
    w->weight = calloc((size_t)n_out * (size_t)taps, sizeof *w->weight);
    if (!w->index || !w->weight) {
        cam_axis_weights_clear(w);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "resampling weights for %d samples", n_out);
    }
    return CAM_OK;
}

static int clamp_index(long i, int n)
{
    return i < 0 ? 0 : i >= n ? n - 1 : (int)i;
}

/* PyTorch's cubic convolution (A = -0.75), aten/src/ATen/native/UpSample.h. */
static float cubic1(float x, float a)
{
    return ((a + 2.0f) * x - (a + 3.0f)) * x * x + 1.0f;
}

static float cubic2(float x, float a)
{
    return ((a * x - 5.0f * a) * x + 8.0f * a) * x - 4.0f * a;
}

cam_status cam_axis_weights_interpolate(cam_axis_weights *w, cam_upsample mode, int n_in,
                                        int n_out, float win_start, float win_size,
                                        cam_error *err)
{
    int taps = mode == CAM_UPSAMPLE_BICUBIC ? 4 : 2;
    cam_status st = axis_alloc(w, n_out, taps, err);
    if (st != CAM_OK)
        return st;
    /* torch: scale = input_size / output_size (float), source index
     * = scale * (dst + 0.5) - 0.5, in float. */
    const float scale = win_size / (float)n_out;
    for (int o = 0; o < n_out; o++) {
        float real = scale * ((float)o + 0.5f) - 0.5f + win_start;
        int *idx = w->index + (size_t)o * taps;
        float *wt = w->weight + (size_t)o * taps;
        if (mode == CAM_UPSAMPLE_BICUBIC) {
            float f = floorf(real);
            float t = real - f;
            long i = (long)f;
            const float a = -0.75f;
            wt[0] = cubic2(t + 1.0f, a);
            wt[1] = cubic1(t, a);
            wt[2] = cubic1(1.0f - t, a);
            wt[3] = cubic2(2.0f - t, a);
            for (int k = 0; k < 4; k++)
                idx[k] = clamp_index(i - 1 + k, n_in);
        } else {
            if (real < 0.0f)
                real = 0.0f;
            long i = (long)real;
            float l1 = real - (float)i;
            if (i >= n_in - 1) { /* only reachable with a window beyond the map */
                i = n_in - 1;
                l1 = 0.0f;
            }
            if (l1 > 1.0f)
                l1 = 1.0f;
            idx[0] = (int)i;
            idx[1] = i < n_in - 1 ? (int)i + 1 : (int)i;
            wt[0] = 1.0f - l1;
            wt[1] = l1;
        }
    }
    return CAM_OK;
}

cam_status cam_axis_weights_resize(cam_axis_weights *w, int n_in, int n_out, cam_error *err)
{
    if (n_out >= n_in)
        return cam_axis_weights_interpolate(w, CAM_UPSAMPLE_BILINEAR, n_in, n_out, 0.0f,
                                            (float)n_in, err);
    /* Area averaging: output o covers [o s, (o + 1) s) of the source, s = n_in / n_out;
     * source pixel i covers [i, i + 1); weight = overlap / s. */
    const double s = (double)n_in / (double)n_out;
    int taps = (int)ceil(s) + 1;
    cam_status st = axis_alloc(w, n_out, taps, err);
    if (st != CAM_OK)
        return st;
    for (int o = 0; o < n_out; o++) {
        double start = o * s, end = (o + 1) * s;
        if (o == n_out - 1)
            end = n_in;
        int first = (int)floor(start);
        int *idx = w->index + (size_t)o * taps;
        float *wt = w->weight + (size_t)o * taps;
        for (int k = 0; k < taps; k++) {
            int i = first + k;
            double lo = fmax(start, (double)i), hi = fmin(end, (double)i + 1.0);
            idx[k] = clamp_index(i, n_in);
            wt[k] = hi > lo ? (float)((hi - lo) / s) : 0.0f;
        }
    }
    return CAM_OK;
}

/* torch's antialiasing filters (aten/src/ATen/native/cpu/UpSampleKernel.cpp): the
 * triangle for bilinear, Keys' cubic with a = -0.5 for bicubic. */
static float aa_filter(cam_resample mode, float x)
{
    x = fabsf(x);
    if (mode == CAM_RESAMPLE_BICUBIC) {
        const float a = -0.5f;
        if (x < 1.0f)
            return cubic1(x, a);
        if (x < 2.0f)
            return cubic2(x, a);
        return 0.0f;
    }
    return x < 1.0f ? (float)(1.0 - x) : 0.0f;
}

/* torch interpolate(antialias=True, align_corners=False) weights from n_in samples
 * to n_resized, for the outputs first .. first + n_out - 1. The arithmetic follows
 * torch's float kernel: scale = n_in / n_resized in float, centre and filter
 * arguments rounded to float where torch stores them in float. */
static cam_status axis_weights_antialias(cam_axis_weights *w, cam_resample mode, int n_in,
                                         int n_resized, int first, int n_out, cam_error *err)
{
    const float scale = (float)n_in / (float)n_resized;
    const float interp_size = mode == CAM_RESAMPLE_BICUBIC ? 4.0f : 2.0f;
    const float support = scale >= 1.0f ? (float)(interp_size * 0.5 * scale)
                                        : (float)(interp_size * 0.5);
    const int taps = (int)ceilf(support) * 2 + 1;
    cam_status st = axis_alloc(w, n_out, taps, err);
    if (st != CAM_OK)
        return st;
    const float invscale = scale >= 1.0f ? (float)(1.0 / scale) : 1.0f;
    for (int o = 0; o < n_out; o++) {
        const long i = (long)first + o;
        const float center = (float)(scale * ((double)i + 0.5));
        long xmin = (long)((double)(center - support) + 0.5);
        if (xmin < 0)
            xmin = 0;
        long xmax = (long)((double)(center + support) + 0.5);
        if (xmax > n_in)
            xmax = n_in;
        long xsize = xmax - xmin;
        if (xsize < 0)
            xsize = 0;
        if (xsize > taps)
            xsize = taps;
        int *idx = w->index + (size_t)o * taps;
        float *wt = w->weight + (size_t)o * taps;
        float total = 0.0f;
        for (long j = 0; j < xsize; j++) {
            const float d = (float)(j + xmin) - center;
            wt[j] = aa_filter(mode, (float)(((double)d + 0.5) * invscale));
            idx[j] = (int)(xmin + j);
            total += wt[j];
        }
        if (total != 0.0f)
            for (long j = 0; j < xsize; j++)
                wt[j] /= total;
        for (long j = xsize; j < taps; j++) {
            wt[j] = 0.0f;
            idx[j] = clamp_index(xmin, n_in);
        }
    }
    return CAM_OK;
}

cam_status cam_axis_weights_resample(cam_axis_weights *w, cam_resample mode, int n_in,
                                     int n_resized, int first, int n_out, cam_error *err)
{
    if (mode == CAM_RESAMPLE_BILINEAR || mode == CAM_RESAMPLE_BICUBIC)
        return axis_weights_antialias(w, mode, n_in, n_resized, first, n_out, err);
    cam_status st = cam_axis_weights_resize(w, n_in, n_resized, err);
    if (st != CAM_OK || (first == 0 && n_out == n_resized))
        return st;
    /* keep the rows of outputs first .. first + n_out - 1 */
    const size_t taps = (size_t)w->taps;
    memmove(w->index, w->index + (size_t)first * taps, (size_t)n_out * taps * sizeof *w->index);
    memmove(w->weight, w->weight + (size_t)first * taps, (size_t)n_out * taps * sizeof *w->weight);
    w->n_out = n_out;
    return CAM_OK;
}
