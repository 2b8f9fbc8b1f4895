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
 *  PNG/JPEG files and in GIMP's "R'G'B'A" formats); float samples are 0..1
 *  (preprocessing clamps them to 0..1 and rejects NaN; blending uses them as
 *  they are); alpha is straight (not premultiplied). 8-bit v means v/255,
 *  16-bit v means v/65535.
 *
 * ------------------------------------------------------------------------
 * PREPROCESSING: image -> model input (cam_preprocess)
 * ------------------------------------------------------------------------
 *  In this order, all in non-linear sRGB values 0..1 (as PIL, OpenCV and the
 *  tutorials work):
 *  1. Region. STRETCH (default, the tutorials' behaviour): the whole image is
 *     resized to the input size, ignoring the aspect ratio. CROP: the largest
 *     centred rectangle of the input's aspect ratio (integer pixels, offsets
 *     rounded down) is cut out and resized; or, when the spec has a resize
 *     size S (cam.input.resize), torchvision's Resize(S) + CenterCrop(H, W):
 *     the image is resized so that its shorter side is S and the longer
 *     int(S * long / short) (Python's truncation), then the centre H x W is
 *     taken, offsets int(round((size - crop) / 2)) with Python's round (half
 *     to even). PAD: the whole image is resized
 *     to fit inside the input keeping its aspect ratio (size rounded to the
 *     nearest pixel, at least 1), centred (offsets rounded down); the rest of
 *     the input is background (letterbox).
 *  2. Colour. 1-channel models get luminance Y = 0.299 R + 0.587 G + 0.114 B
 *     (Rec. 601 on the non-linear values, as PIL convert("L") and OpenCV do);
 *     3-channel models get RGB, a gray image replicated into R=G=B.
 *  3. Inversion (for models trained on light objects on black, or dark on
 *     white): v -> 1 - v. CAM_INVERT_AUTO inverts when the model's background
 *     is BLACK and the image's border is light (mean luminance of the opaque
 *     part of the outer ring of the region, ring width max(1, min(w,h)/16),
 *     above 0.5), or the background is WHITE and the border is dark (below
 *     0.5); never for BACKGROUND_NONE, nor when the border is fully transparent.
 *  4. Alpha. The (inverted) colour is composited onto the model's training
 *     background: v' = a v + (1 - a) b, b = 0 for BLACK and NONE, 1 for WHITE,
 *     so a transparent part of the image looks like the training background
 *     whether or not the colours were inverted. PAD fills with b too.
 *  5. Resampling, separably per axis (spec.resample, cam.input.interpolation):
 *     CAM_RESAMPLE_AREA (default): an axis that shrinks uses area
 *     averaging (each output pixel is the coverage-weighted mean of the source
 *     pixels under it, as OpenCV INTER_AREA / PIL BOX: antialiased); an axis
 *     that grows uses bilinear interpolation with pixel-centre alignment
 *     (torch interpolate align_corners=False); an equal axis is copied.
 *     CAM_RESAMPLE_BILINEAR / _BICUBIC: exactly
 *     torchvision.transforms.v2.functional.resize(float tensor, antialias=True)
 *     (= torch interpolate(mode='bilinear'|'bicubic', antialias=True,
 *     align_corners=False)): output pixel o centred at c = (o + 0.5) * s,
 *     s = in / out, reads the source pixels i with |i + 0.5 - c| < support,
 *     weighted by the filter (triangle; cubic with a = -0.5) of
 *     (i + 0.5 - c) / max(s, 1), the weights normalised to sum 1, support =
 *     max(s, 1) (bicubic: 2 max(s, 1)). For downscaling this is PIL's
 *     antialiased filter; torchvision on a uint8 tensor or a PIL image gives
 *     the same values rounded to 8 bits after the resize (up to 0.5/255 apart).
 *  6. Scaling: input[c] = (v' * 255 * scale - mean[c]) / std[c] with scale,
 *     mean, std from the model's metadata (cam.input.scale/mean/std), the
 *     channels in the model's order (spec.channel_order: BGR puts blue in
 *     plane 0, and mean[0], std[0] are blue's).
 *  The result is C x H x W float32 (planar, NCHW for one image), ready for
 *  cam_forward / cam_explain.
 *
 * ------------------------------------------------------------------------
 * RENDERING: map -> heatmap (cam_renderer)
 * ------------------------------------------------------------------------
 *  1. Upsampling of the map_w x map_h map to out_w x out_h: bilinear (default)
 *     or bicubic (A = -0.75, indices clamped at the border), exactly as
 *     torch.nn.functional.interpolate(map, size=(out_h, out_w), mode=...,
 *     align_corners=False): pixel centres aligned, no half-pixel shift. It is
 *     computed directly per output pixel from precomputed per-column and
 *     per-row weights; there is no per-channel feature upsampling.
 *  2. Optional ReLU (options.relu; the Keras Grad-CAM tutorial applies it
 *     after upsampling: use it with CAM_METHOD_GRAD_CAM_TUTORIAL).
 *  3. Normalisation to t in [0,1] (clamped): t = (v - lo) / (hi - lo) with
 *     CAM_NORMALIZE_MINMAX (default): lo, hi = min, max of the map's own values
 *       (after ReLU if enabled); independent of the output size, so a small
 *       preview has exactly the colours of the full-size render;
 *     CAM_NORMALIZE_MINMAX_OUTPUT: min, max of the upsampled map at the output
 *       size (what the tutorials do: resize, then min-max); costs one extra
 *       pass over the output size in cam_renderer_new;
 *     CAM_NORMALIZE_RANGE: lo, hi given in the options (for a fixed scale
 *       across images).
 *     hi == lo (a constant map) gives t = 0 everywhere, never NaN.
 *  4. Colormap: index = min(floor(t * 256), 255) into a 256-entry RGB8 table,
 *     as matplotlib maps a value in [0,1] (Colormap.__call__ with N = 256,
 *     bytes=True). Tables are matplotlib's (see cam_colormap).
 *  5. Output, per pixel, with k = the heat colour (0..255) and
 *     a = alpha * (options.alpha_from_map ? index / 255 : 1):
 *     CAM_OUTPUT_HEATMAP: RGB = k, A = 255 (or the colormap index with
 *       alpha_from_map; 0..255 mapped to the output type). Meant as a layer above the image with
 *       opacity `alpha` in NORMAL mode, composited in non-linear sRGB
 *       (GIMP: composite space "RGB (perceptual)"), which shows the BLEND
 *       pixels. src rows are not used (may be NULL).
 *     CAM_OUTPUT_BLEND: out = (1 - a) * image + a * k per colour channel, in
 *       non-linear sRGB values, rounded half up for integer outputs; the
 *       output alpha is the image's alpha (opaque if it has none). A gray
 *       image gives R = G = B = gray before blending. Arithmetic:
 *       8-bit -> 8-bit: out = (int)(v * (float)(1 - a) + ((float)a * k + 0.5f))
 *         in single precision (the same on the SIMD and scalar paths), within
 *         1e-4 of a level of exact rounding and exact for alpha = 0.5;
 *       16-bit -> 16-bit: 64-bit fixed point, within 1e-5 of a level;
 *       float output, or mixed types: double precision (float: no rounding).
 *     Every output type is supported: 8-bit k is written as is, 16-bit as
 *     k * 257, float as k / 255 (the 8-bit table is the single source of
 *     the colours).
 *
 *  NaN or Inf anywhere in the map (or a magnitude above 1e37, which could
 *  overflow while interpolating): cam_renderer_new fails with
 *  CAM_ERROR_NUMERIC naming the first bad position (row, column).
 *
 * PLACING THE MAP (aspect modes other than STRETCH)
 *  The map covers the model's whole input. cam_preprocess fills a
 *  cam_preprocess_info: source_rect is the part of the image the model saw
 *  (the whole image for STRETCH and PAD, the crop for CROP: with a resize
 *  size, the pixels whose centres lie inside the crop) and content_rect
 *  where that part lies in the input (the whole input except for PAD);
 *  content_window is the same in exact (fractional) input pixels. The pad
 *  of PAD is dropped; outside source_rect there is no heatmap (a CROP's
 *  heatmap leaves the rest of the image transparent).
 *  Render a heatmap of source_rect's size, with options.window set by
 *  cam_preprocess_info_map_window() (the content window in map units),
 *  and put it at source_rect's offset in the image:
 *
 *      cam_render_options ro = cam_render_options_default();
 *      cam_preprocess_info_map_window(&info, ex->map_width, ex->map_height, &ro.window, &err);
 *      cam_renderer *r;
 *      cam_renderer_new(ex->map, ex->map_width, ex->map_height, info.source_rect.width,
 *                       info.source_rect.height, &ro, &r, &err);
 *      // output pixel (x, y) belongs at image (source_rect.x + x, source_rect.y + y)
 *
 *  With a window, output pixel x samples the map at
 *  src = window.x + (x + 0.5) * window.width / out_w - 0.5 (the same formula as
 *  torch with window = the whole map, which is the default).
 *
 * STRIPS AND THREADS
 *  cam_renderer_new does everything that depends on the map only (weights,
 *  range, colour tables); cam_renderer_render_rect/rows then produce any
 *  rectangle of the output from the matching rectangle of the image, so the
 *  plug-in can stream GEGL tiles; the renderer itself holds only the map,
 *  per-column weights and map_h rows of out_w floats (the map interpolated
 *  along x), never a full-size copy. Results are identical whatever the strip
 *  or tile sizes and the number of threads (each output row is computed by the
 *  same code in one thread; options.n_threads splits a call's rows). A
 *  renderer is read-only after creation: several threads may render different
 *  rectangles at once.
 *
 * SPEED (tests/bench/bench-render.c, with PyTorch doing the same in one run)
 *  24-megapixel 8-bit RGBA, 7x7 map, bilinear + jet + blend: about 45 ms on one
 *  core, 25 ms on two (x86-64, SSE2), 17-23x faster than PyTorch.
 *
 * COLORMAPS
 *  matplotlib's tables (generated by engine/render/gen-colormaps.py from
 *  python3-matplotlib, committed as engine/render/cam-colormap-tables.c):
 *  "jet" is matplotlib's jet (OpenCV's COLORMAP_JET is a different, piecewise
 *  table; the two differ by up to a few levels), "turbo" matplotlib's turbo,
 *  "gray", "greens", "reds" are matplotlib's gray, Greens, Reds (light for
 *  low values, dark for high ones). "greens-reds" is the Fashion-MNIST
 *  tutorial's confidence rule: Greens when the class probability is above
 *  the threshold (default 0.95), else Reds.
 */
#ifndef CAMENGINE_RENDER_H
#define CAMENGINE_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "camengine.h" /* cam_status, cam_error, cam_model, CAM_API, ... */

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Pixels                                                                   */
/* ------------------------------------------------------------------------ */

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

/* Bytes per sample of a type (1, 2, 4; 0 for an invalid type). */
CAM_API size_t cam_sample_size(cam_sample_type type);

/* An integer rectangle in pixels. */
typedef struct cam_rect {
    int x, y, width, height;
} cam_rect;

/* A rectangle in continuous map coordinates (map pixel i covers [i, i+1)). */
typedef struct cam_window {
    float x, y, width, height;
} cam_window;

/* ------------------------------------------------------------------------ */
/* Preprocessing                                                            */
/* ------------------------------------------------------------------------ */

/* cam_aspect (stretch, crop, pad) is declared in camengine.h (cam_model_info uses it). */

/* Names: "stretch", "crop", "pad". Every cam_X_name / cam_X_from_name pair of
 * this header follows camengine.h's CONVENTIONS: the canonical lower-case name
 * or NULL out of range; from_name ignores case, CAM_ERROR_NOT_FOUND lists the
 * known names. */
CAM_API const char *cam_aspect_name(cam_aspect aspect);
CAM_API cam_status cam_aspect_from_name(const char *name, cam_aspect *out, cam_error *err);

typedef enum cam_invert {
    CAM_INVERT_AUTO = 0, /* decide from the image border and the model's background (see above) */
    CAM_INVERT_OFF,
    CAM_INVERT_ON,
    CAM_INVERT_COUNT
} cam_invert;

/* Names: "auto", "off", "on". */
CAM_API const char *cam_invert_name(cam_invert invert);
CAM_API cam_status cam_invert_from_name(const char *name, cam_invert *out, cam_error *err);

typedef struct cam_preprocess_options {
    size_t size;          /* sizeof (cam_preprocess_options), set by cam_preprocess_options_default */
    cam_aspect aspect;    /* default CAM_ASPECT_STRETCH */
    cam_invert invert;    /* default CAM_INVERT_AUTO */
} cam_preprocess_options;

/* The only way to make preprocessing options (see camengine.h, CONVENTIONS):
 * size set, the defaults above; then set fields. */
CAM_API cam_preprocess_options cam_preprocess_options_default(void);

/* What cam_preprocess did; needed to place the heatmap. */
typedef struct cam_preprocess_info {
    int inverted;          /* 1 if the colours were inverted */
    cam_rect source_rect;  /* the part of the image the model saw (image pixels) */
    cam_rect content_rect; /* where it lies in the model input (input pixels) */
    int input_width, input_height;
    float border_luminance;/* mean luminance of the border ring (-1 if fully transparent) */
    cam_window content_window; /* source_rect's edges in input pixels, exactly (content_rect
                                  unless a resize size made them fractional) */
} cam_preprocess_info;

/* The model-dependent part of preprocessing, as plain values. */
typedef struct cam_input_spec {
    int channels;          /* 1 (luminance) or 3 (RGB) */
    int width, height;     /* the input size */
    float scale;           /* 0..255 pixel -> pixel * scale (1/255 by default) */
    float mean[4];         /* per channel, subtracted after scaling */
    float std[4];          /* per channel, divided after the mean; nonzero */
    cam_background background;
    cam_channel_order channel_order; /* order of a 3-channel input (default rgb) */
    cam_resample resample; /* the resampling filter (default area) */
    int resize;            /* for CROP: the shorter side before the centre crop; 0 = none.
                              At least width and height. */
} cam_input_spec;

/* The spec of a loaded model (input shape and cam_model_info). Fails with
 * CAM_ERROR_UNSUPPORTED if the model's input does not have 1 or 3 channels. */
CAM_API cam_status cam_input_spec_from_model(const cam_model *model, cam_input_spec *out,
                                             cam_error *err);

/* cam_preprocess_options_default() with the model's resize policy
 * (cam.input.resize-policy) as aspect: what cam_preprocess uses for NULL options. */
CAM_API cam_preprocess_options cam_preprocess_options_for_model(const cam_model *model);

/* Preprocess an image for a model: writes cam_model_input_size(model) floats
 * (C x H x W) to input_out. opt NULL = cam_preprocess_options_for_model(model);
 * an opt whose size is too small
 * (not made by cam_preprocess_options_default) is CAM_ERROR_INVALID_ARGUMENT;
 * info_out may be NULL. */
CAM_API cam_status cam_preprocess(const cam_model *model, const cam_image *img,
                                  const cam_preprocess_options *opt, float *input_out,
                                  cam_preprocess_info *info_out, cam_error *err);

/* The same with an explicit spec (no model needed): writes
 * spec->channels * spec->height * spec->width floats. */
CAM_API cam_status cam_preprocess_spec(const cam_input_spec *spec, const cam_image *img,
                                       const cam_preprocess_options *opt, float *input_out,
                                       cam_preprocess_info *info_out, cam_error *err);

/* The content window of `info` (content_rect for an info whose content_window
 * is empty), in the coordinates of a map_w x map_h map that covers the whole
 * model input: the window to render for source_rect. */
CAM_API cam_status cam_preprocess_info_map_window(const cam_preprocess_info *info, int map_w,
                                                  int map_h, cam_window *window_out,
                                                  cam_error *err);

/* ------------------------------------------------------------------------ */
/* Colormaps                                                                */
/* ------------------------------------------------------------------------ */

typedef enum cam_colormap {
    CAM_COLORMAP_JET = 0,     /* matplotlib "jet" (not OpenCV's COLORMAP_JET) */
    CAM_COLORMAP_TURBO,
    CAM_COLORMAP_VIRIDIS,
    CAM_COLORMAP_INFERNO,
    CAM_COLORMAP_MAGMA,
    CAM_COLORMAP_PLASMA,
    CAM_COLORMAP_CIVIDIS,
    CAM_COLORMAP_GRAY,
    CAM_COLORMAP_GREENS,
    CAM_COLORMAP_REDS,
    CAM_COLORMAP_GREENS_REDS, /* Greens if probability > threshold, else Reds (Fashion-MNIST tutorial) */
    CAM_COLORMAP_COUNT
} cam_colormap;

/* Names: "jet", "turbo", "viridis", "inferno", "magma", "plasma", "cividis",
 * "gray", "greens", "reds", "greens-reds". from_name is case-insensitive and
 * also accepts "grey" and "confidence" (= greens-reds). */
CAM_API const char *cam_colormap_name(cam_colormap cmap);
CAM_API cam_status cam_colormap_from_name(const char *name, cam_colormap *out, cam_error *err);

/* The plain colormap used for a probability: GREENS_REDS -> GREENS if
 * probability > threshold else REDS; any other colormap -> itself. */
CAM_API cam_colormap cam_colormap_resolve(cam_colormap cmap, float probability, float threshold);

/* The 256-entry table, 768 bytes R,G,B,R,G,B,... (static; do not free).
 * NULL for GREENS_REDS (resolve it first) or an invalid value. */
CAM_API const uint8_t *cam_colormap_table(cam_colormap cmap);

/* The colour of a value t in [0,1] (clamped): table[min(floor(t * 256), 255)].
 * NaN gives black. GREENS_REDS or an invalid cmap gives black too. */
CAM_API void cam_colormap_lookup(cam_colormap cmap, float t, uint8_t rgb_out[3]);

/* ------------------------------------------------------------------------ */
/* Rendering                                                                */
/* ------------------------------------------------------------------------ */

typedef enum cam_upsample {
    CAM_UPSAMPLE_BILINEAR = 0, /* torch interpolate mode='bilinear', align_corners=False */
    CAM_UPSAMPLE_BICUBIC,      /* mode='bicubic' (A = -0.75), align_corners=False */
    CAM_UPSAMPLE_COUNT
} cam_upsample;

/* Names: "bilinear", "bicubic". */
CAM_API const char *cam_upsample_name(cam_upsample mode);
CAM_API cam_status cam_upsample_from_name(const char *name, cam_upsample *out, cam_error *err);

typedef enum cam_normalize {
    CAM_NORMALIZE_MINMAX = 0,   /* the map's own min/max (size-independent; default) */
    CAM_NORMALIZE_MINMAX_OUTPUT,/* min/max of the upsampled map at the output size (tutorials) */
    CAM_NORMALIZE_RANGE,        /* options.range_min .. options.range_max */
    CAM_NORMALIZE_COUNT
} cam_normalize;

/* Names: "minmax", "minmax-output", "range". */
CAM_API const char *cam_normalize_name(cam_normalize mode);
CAM_API cam_status cam_normalize_from_name(const char *name, cam_normalize *out, cam_error *err);

typedef enum cam_output {
    CAM_OUTPUT_HEATMAP = 0, /* coloured layer to put above the image with opacity alpha */
    CAM_OUTPUT_BLEND,       /* baked (1 - a) * image + a * heat */
    CAM_OUTPUT_COUNT
} cam_output;

/* Names: "heatmap", "blend". */
CAM_API const char *cam_output_name(cam_output mode);
CAM_API cam_status cam_output_from_name(const char *name, cam_output *out, cam_error *err);

typedef struct cam_render_options {
    size_t size;             /* sizeof (cam_render_options), set by the initialisers below */
    cam_upsample upsample;   /* default BILINEAR */
    cam_colormap colormap;   /* default JET */
    float probability;       /* for GREENS_REDS: the class probability (default 1) */
    float threshold;         /* for GREENS_REDS (default 0.95) */
    float alpha;             /* heatmap opacity 0..1 (default 0.5) */
    int alpha_from_map;      /* 1: per-pixel alpha = alpha * index/255, cold regions clear (default 0) */
    int relu;                /* 1: max(v, 0) after upsampling, before normalising (default 0) */
    cam_normalize normalize; /* default MINMAX */
    float range_min, range_max; /* for CAM_NORMALIZE_RANGE (range_max > range_min) */
    cam_output output;       /* default HEATMAP */
    cam_window window;       /* part of the map stretched over the output; width or
                                height <= 0 (default) = the whole map */
    int n_threads;           /* threads per render call: 0 = all online cores (default), 1 = none */
} cam_render_options;

/* The two ways to make render options (see camengine.h, CONVENTIONS): size set,
 * the defaults above; then set fields. */
CAM_API cam_render_options cam_render_options_default(void);

/* The defaults with a model's metadata (alpha, colormap, threshold) and the
 * method (relu for CAM_METHOD_GRAD_CAM_TUTORIAL); probability as given. */
CAM_API cam_render_options cam_render_options_for_model(const cam_model *model, cam_method method,
                                                        float probability);

typedef struct cam_renderer cam_renderer; /* opaque; read-only after creation */

/* A renderer for a map_w x map_h map (row-major floats, copied: the caller may
 * free `map` afterwards) to an out_w x out_h output, stored in *out (NULL on
 * failure; free it with cam_renderer_free). options NULL = defaults; options
 * whose size is too small (not made by an initialiser above) or with a value
 * out of range are CAM_ERROR_INVALID_ARGUMENT. Sizes: 1 .. 1<<20 each. NaN/Inf
 * in the map -> CAM_ERROR_NUMERIC. */
CAM_API cam_status cam_renderer_new(const float *map, int map_w, int map_h, int out_w, int out_h,
                                    const cam_render_options *options, cam_renderer **out,
                                    cam_error *err);
CAM_API void cam_renderer_free(cam_renderer *r);

/* The normalisation range in use (after ReLU if enabled). */
CAM_API void cam_renderer_get_range(const cam_renderer *r, float *lo, float *hi);
/* The plain colormap in use (GREENS_REDS resolved). */
CAM_API cam_colormap cam_renderer_get_colormap(const cam_renderer *r);

/* Render the output rectangle `rect` (inside 0..out_w x 0..out_h). dst has
 * rect's size, 3 or 4 channels, any type. For CAM_OUTPUT_BLEND, src holds the
 * image pixels of the same rectangle (rect's size, 1..4 channels, any type);
 * src and dst may be the same memory when they have the same layout. For
 * CAM_OUTPUT_HEATMAP src is ignored (may be NULL). */
CAM_API cam_status cam_renderer_render_rect(const cam_renderer *r, cam_rect rect,
                                            const cam_image *src, cam_image *dst,
                                            cam_error *err);
/* Full-width strip: rows y0 .. y0 + n_rows - 1 (src/dst are n_rows tall). */
CAM_API cam_status cam_renderer_render_rows(const cam_renderer *r, int y0, int n_rows,
                                            const cam_image *src, cam_image *dst,
                                            cam_error *err);

typedef enum cam_values {
    CAM_VALUES_RAW = 0,    /* the upsampled map (torch interpolate's output) */
    CAM_VALUES_NORMALIZED, /* t in [0,1] after ReLU and normalisation */
    CAM_VALUES_COUNT
} cam_values;

/* Float values of the upsampled map for `rect`: out[y * out_stride + x]
 * (out_stride in floats, >= rect.width). */
CAM_API cam_status cam_renderer_values_rect(const cam_renderer *r, cam_rect rect, cam_values kind,
                                            float *out, size_t out_stride, cam_error *err);

/* One shot: the whole output at dst's size (src for BLEND: the image, same size);
 * options as for cam_renderer_new. */
CAM_API cam_status cam_render_image(const float *map, int map_w, int map_h,
                                    const cam_render_options *options, const cam_image *src,
                                    cam_image *dst, cam_error *err);

/* ------------------------------------------------------------------------ */
/* Regions: thresholds and connected regions of a map                       */
/* ------------------------------------------------------------------------ */

/* The CAM paper's localisation (Zhou et al. 2016, section 3) in two steps, at any
 * resolution, so that a program can turn a map into a selection, a mask or a box:
 *
 *     cam_renderer_values_rect(r, rect, CAM_VALUES_NORMALIZED, values, w, &err);
 *     cam_mask_threshold(values, w, h, w, 0.2f, mask, w, &err);   // 20% of the range
 *     cam_region region;
 *     cam_mask_largest_region(mask, w, h, w, &region, &err);      // region.bounds
 *
 * With min-max normalisation (the default), a threshold t on the normalised values
 * keeps v >= min + t * (max - min): for maps whose minimum is 0 (Grad-CAM after its
 * ReLU) exactly "t times the map's maximum", and what the paper's code did (it
 * min-max normalised the CAM before thresholding at 20%). */

/* mask[y * mask_stride + x] = 255 if values[y * values_stride + x] >= threshold,
 * else 0 (NaN values: 0). Strides are in elements (floats, bytes). A NULL pointer,
 * a negative size, a stride below the width or a threshold that is not finite is
 * CAM_ERROR_INVALID_ARGUMENT. */
CAM_API cam_status cam_mask_threshold(const float *values, int width, int height,
                                      size_t values_stride, float threshold, uint8_t *mask,
                                      size_t mask_stride, cam_error *err);

/* A connected region of a mask. */
typedef struct cam_region {
    cam_rect bounds;   /* bounding box in mask pixels (all zero when the mask is empty) */
    size_t area;       /* number of set pixels in the region (0: the mask is empty) */
    int n_regions;     /* how many connected regions the mask has */
} cam_region;

/* The largest 8-connected region of the non-zero pixels of a mask (diagonal
 * neighbours are connected, as OpenCV's contours see a shape; the CAM paper took
 * the bounding box of the largest one). Largest = most pixels; on a tie, the region
 * whose first pixel comes first in raster order. An empty mask gives area 0,
 * n_regions 0 and CAM_OK. Memory: proportional to the number of runs of set
 * pixels in the rows, never a per-pixel label image. */
CAM_API cam_status cam_mask_largest_region(const uint8_t *mask, int width, int height,
                                           size_t stride, cam_region *out, cam_error *err);

#ifdef __cplusplus
}
#endif

#endif /* CAMENGINE_RENDER_H */
