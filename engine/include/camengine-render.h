/*
 * camengine-render.h -- the image side of libcamengine (included by camengine.h).
 *
 * From any image to the network's input (cam_preprocess), and from the
 * feature-resolution map back to a full-size coloured heatmap (cam_renderer):
 * upsampling, normalisation, colormaps and blending, in strips so that a
 * 24-megapixel image never needs a full-size float copy.
 *
 * PIXELS
 *  A cam_image describes pixels the caller owns: 1 (gray), 2 (gray+alpha),
 *  3 (RGB) or 4 (RGBA) channels of 8-bit, 16-bit or float samples, interleaved,
 *  rows `stride` bytes apart. Colour values are non-linear sRGB (as stored in
 *  PNG/JPEG files and in GIMP's "R'G'B'A" formats); float samples are 0..1;
 *  alpha is straight (not premultiplied).
 *
 * BLENDING CONVENTION
 *  out = (1 - alpha) * image + alpha * heatmap, per channel, on non-linear sRGB
 *  values (as the tutorials blend). A heatmap layer with opacity alpha in NORMAL
 *  mode, composited in non-linear (perceptual) space over the image, gives the
 *  same pixels as the baked blend.
 *
 * STATUS: draft contract; the render owner completes and documents it.
 */
#ifndef CAMENGINE_RENDER_H
#define CAMENGINE_RENDER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cam_sample_type {
    CAM_SAMPLE_U8 = 0,
    CAM_SAMPLE_U16,
    CAM_SAMPLE_F32,
    CAM_SAMPLE_TYPE_COUNT
} cam_sample_type;

typedef struct cam_image {
    void *pixels;         /* first row */
    int width, height;
    int channels;         /* 1, 2, 3 or 4 (2 and 4 have alpha last) */
    cam_sample_type type;
    size_t stride;        /* bytes from one row to the next */
} cam_image;

#ifdef __cplusplus
}
#endif

#endif /* CAMENGINE_RENDER_H */
