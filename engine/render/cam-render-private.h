/* cam-render-private.h -- shared internals of the image side (not installed). */
#ifndef CAM_RENDER_PRIVATE_H
#define CAM_RENDER_PRIVATE_H

#include "camengine.h"

/* matplotlib's rule: t in [0,1] -> min(floor(t * 256), 255); t <= 0 or NaN -> 0. */
int cam_colormap_index(float t);

/* Resampling weights along one axis: output sample o reads the source samples
 * index[o * taps + k] with weights weight[o * taps + k], k < taps. Indices are
 * clamped to 0 .. n_in - 1 (torch's border behaviour). */
typedef struct cam_axis_weights {
    int n_out;
    int taps;
    int *index;
    float *weight;
} cam_axis_weights;

/* Interpolation (torch interpolate, align_corners=False) from n_in samples to
 * n_out, over the window [win_start, win_start + win_size) of the source
 * (win_start = 0, win_size = n_in: torch exactly). taps: 2 bilinear, 4 bicubic.
 * Returns CAM_ERROR_NO_MEMORY or CAM_OK. */
cam_status cam_axis_weights_interpolate(cam_axis_weights *w, cam_upsample mode, int n_in,
                                        int n_out, float win_start, float win_size,
                                        cam_error *err);

/* Area averaging (n_out < n_in) or, when n_out > n_in, bilinear; identity when
 * equal. Taps vary per output: `taps` is the maximum, unused taps have weight 0
 * and a valid index. */
cam_status cam_axis_weights_resize(cam_axis_weights *w, int n_in, int n_out, cam_error *err);

/* Resizing n_in samples to n_resized with a preprocessing filter, keeping the
 * outputs first .. first + n_out - 1 (a crop of the resized axis): AREA as
 * cam_axis_weights_resize, BILINEAR / BICUBIC as torch interpolate with
 * antialias=True (camengine-render.h, PREPROCESSING step 5). */
cam_status cam_axis_weights_resample(cam_axis_weights *w, cam_resample mode, int n_in,
                                     int n_resized, int first, int n_out, cam_error *err);

void cam_axis_weights_clear(cam_axis_weights *w);

/* Threads for a job of `work` units (0 = all online cores), at least 1. */
int cam_render_threads(int requested, size_t work, size_t min_work_per_thread);

/* Runs fn(ctx, i) for i = 0 .. n - 1 in n threads (the calling thread runs one). Falls
 * back to running them one after another if a thread cannot be started. */
void cam_render_parallel(int n, void (*fn)(void *ctx, int i), void *ctx);

#endif /* CAM_RENDER_PRIVATE_H */
