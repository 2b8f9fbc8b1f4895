/* cam-preprocess.c -- any image to a model's input tensor: region (stretch,
 * crop, pad), colour conversion, inversion, alpha compositing, antialiased
 * resampling and the model's scaling. The model-free core; cam_preprocess()
 * (cam-preprocess-model.c) fills a cam_input_spec from a model and calls it. */
#include "cam-error.h"
#include "cam-render-private.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CAM_PREPROCESS_MAX_INPUT (1 << 16)

static const char *const invert_names[CAM_INVERT_COUNT] = {"auto", "off", "on"};

const char *cam_invert_name(cam_invert invert)
{
    return (unsigned)invert < CAM_INVERT_COUNT ? invert_names[invert] : NULL;
}

cam_status cam_invert_from_name(const char *name, cam_invert *out, cam_error *err)
{
    int v = 0;
    cam_status st = cam_enum_from_name("cam_invert_from_name", "invert mode", invert_names,
                                       CAM_INVERT_COUNT, name, out ? &v : NULL, err);
    if (st == CAM_OK)
        *out = (cam_invert)v;
    return st;
}

cam_preprocess_options cam_preprocess_options_default(void)
{
    cam_preprocess_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.aspect = CAM_ASPECT_STRETCH;
    o.invert = CAM_INVERT_AUTO;
    return o;
}

/* ------------------------------------------------------------------------ */
/* Pixels                                                                   */
/* ------------------------------------------------------------------------ */

/* Sample i of a row as 0..1; float samples clamped (NaN checked separately). */
static inline float sample01(const void *row, cam_sample_type type, size_t i)
{
    switch (type) {
    case CAM_SAMPLE_U8: return (float)((const uint8_t *)row)[i] * (1.0f / 255.0f);
    case CAM_SAMPLE_U16: return (float)((const uint16_t *)row)[i] * (1.0f / 65535.0f);
    default: {
        float v = ((const float *)row)[i];
        return v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
    }
    }
}

/* Luminance (or gray) and alpha of pixel x of a row. */
static inline void pixel_luma(const void *row, const cam_image *img, int x, float *y, float *a)
{
    const size_t i = (size_t)img->channels * (size_t)x;
    if (img->channels >= 3)
        *y = 0.299f * sample01(row, img->type, i) + 0.587f * sample01(row, img->type, i + 1) +
             0.114f * sample01(row, img->type, i + 2);
    else
        *y = sample01(row, img->type, i);
    *a = (img->channels == 2 || img->channels == 4) ? sample01(row, img->type, i + img->channels - 1)
                                                   : 1.0f;
}

static cam_status check_row_finite(const cam_image *img, const void *row, int y, int x0, int w,
                                   cam_error *err)
{
    if (img->type != CAM_SAMPLE_F32)
        return CAM_OK;
    const float *f = (const float *)row;
    for (size_t i = (size_t)x0 * img->channels; i < (size_t)(x0 + w) * img->channels; i++) {
        if (isnan(f[i]))
            return cam_set_error(err, CAM_ERROR_NUMERIC,
                                 "image pixel (%d,%d) channel %d is NaN", (int)(i / img->channels),
                                 y, (int)(i % img->channels));
    }
    return CAM_OK;
}

/* Mean luminance of the opaque part of the outer ring of rect; -1 if transparent. */
static float border_luminance(const cam_image *img, cam_rect rect)
{
    int ring = (rect.width < rect.height ? rect.width : rect.height) / 16;
    if (ring < 1)
        ring = 1;
    double sum = 0.0, weight = 0.0;
    for (int y = 0; y < rect.height; y++) {
        const void *row = (const char *)img->pixels + img->stride * (size_t)(rect.y + y);
        const int full = y < ring || y >= rect.height - ring;
        for (int x = 0; x < rect.width; x++) {
            if (!full && x == ring && rect.width - ring > ring)
                x = rect.width - ring; /* skip the inside */
            float l, a;
            pixel_luma(row, img, rect.x + x, &l, &a);
            if (isnan(l) || isnan(a))
                continue;
            sum += (double)l * a;
            weight += a;
        }
    }
    return weight > 0.0 ? (float)(sum / weight) : -1.0f;
}

/* ------------------------------------------------------------------------ */
/* Geometry                                                                 */
/* ------------------------------------------------------------------------ */

static long long round_div(long long a, long long b)
{
    return (a + b / 2) / b;
}

/* Where the pixels go. The image's `read` rectangle is resampled to `resized`
 * samples per axis, of which the `content` rectangle of the input keeps
 * resized_x0 .. resized_x0 + content.width - 1 (a centre crop; 0 and the whole
 * resized size otherwise). `source` is the part of the image the heatmap covers
 * and `window` where its edges lie in the input, in input pixels. */
typedef struct layout {
    cam_rect read, source, content;
    int resized_w, resized_h, resized_x0, resized_y0;
    cam_window window;
} layout;

/* Python's int(round(x / 2)) for a whole x >= 0 (round half to even). */
static int python_round_half(int x)
{
    int k = x / 2;
    return (x % 2 == 0 || k % 2 == 0) ? k : k + 1;
}

/* First and one-past-last image pixel whose centre lies in [lo, hi) (image units). */
static void pixels_centred_in(double lo, double hi, int n, int *first, int *count)
{
    int a = (int)ceil(lo - 0.5), b = (int)ceil(hi - 0.5);
    a = a < 0 ? 0 : a > n - 1 ? n - 1 : a;
    b = b > n ? n : b;
    if (b <= a)
        b = a + 1;
    *first = a;
    *count = b - a;
}

static void geometry(const cam_input_spec *spec, const cam_image *img, cam_aspect aspect,
                     layout *l)
{
    const long long iw = img->width, ih = img->height, W = spec->width, H = spec->height;
    cam_rect *source = &l->source, *content = &l->content;
    *source = (cam_rect){0, 0, img->width, img->height};
    *content = (cam_rect){0, 0, spec->width, spec->height};
    if (aspect == CAM_ASPECT_CROP && spec->resize > 0) {
        /* torchvision: Resize(S) (shorter side S, longer int(S * long / short)), then
         * CenterCrop(H, W) */
        const long long S = spec->resize;
        if (iw <= ih) {
            l->resized_w = (int)S;
            l->resized_h = (int)((double)(S * ih) / (double)iw);
        } else {
            l->resized_h = (int)S;
            l->resized_w = (int)((double)(S * iw) / (double)ih);
        }
        l->resized_x0 = python_round_half(l->resized_w - (int)W);
        l->resized_y0 = python_round_half(l->resized_h - (int)H);
        l->read = *source;
        const double sx = (double)iw / l->resized_w, sy = (double)ih / l->resized_h;
        pixels_centred_in(l->resized_x0 * sx, (l->resized_x0 + W) * sx, img->width, &source->x,
                          &source->width);
        pixels_centred_in(l->resized_y0 * sy, (l->resized_y0 + H) * sy, img->height, &source->y,
                          &source->height);
        l->window = (cam_window){(float)(source->x / sx - l->resized_x0),
                                 (float)(source->y / sy - l->resized_y0),
                                 (float)(source->width / sx), (float)(source->height / sy)};
        return;
    }
    if (aspect == CAM_ASPECT_CROP) {
        if (iw * H > ih * W) { /* wider than the input: cut the sides */
            long long w = round_div(ih * W, H);
            w = w < 1 ? 1 : w > iw ? iw : w;
            source->width = (int)w;
            source->x = (int)((iw - w) / 2);
        } else if (iw * H < ih * W) {
            long long h = round_div(iw * H, W);
            h = h < 1 ? 1 : h > ih ? ih : h;
            source->height = (int)h;
            source->y = (int)((ih - h) / 2);
        }
    } else if (aspect == CAM_ASPECT_PAD) {
        if (iw * H > ih * W) {
            long long h = round_div(ih * W, iw);
            h = h < 1 ? 1 : h > H ? H : h;
            content->height = (int)h;
            content->y = (int)((H - h) / 2);
        } else if (iw * H < ih * W) {
            long long w = round_div(iw * H, ih);
            w = w < 1 ? 1 : w > W ? W : w;
            content->width = (int)w;
            content->x = (int)((W - w) / 2);
        }
    }
    l->read = *source;
    l->resized_w = content->width;
    l->resized_h = content->height;
    l->resized_x0 = l->resized_y0 = 0;
    l->window = (cam_window){(float)content->x, (float)content->y, (float)content->width,
                             (float)content->height};
}

/* ------------------------------------------------------------------------ */
/* The core                                                                 */
/* ------------------------------------------------------------------------ */

static cam_status check_spec(const cam_input_spec *spec, cam_error *err)
{
    if (!spec)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "preprocess: spec is NULL");
    if (spec->channels != 1 && spec->channels != 3)
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                             "preprocess: the model input has %d channels (supported: 1 or 3)",
                             spec->channels);
    if (spec->width < 1 || spec->height < 1 || spec->width > CAM_PREPROCESS_MAX_INPUT ||
        spec->height > CAM_PREPROCESS_MAX_INPUT)
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                             "preprocess: model input size %dx%d is not supported", spec->width,
                             spec->height);
    if (!isfinite(spec->scale))
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "preprocess: input scale is not finite");
    for (int c = 0; c < spec->channels; c++) {
        if (!isfinite(spec->mean[c]) || !isfinite(spec->std[c]) || spec->std[c] == 0.0f)
            return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                                 "preprocess: channel %d has mean %g, std %g (need finite, std != 0)",
                                 c, (double)spec->mean[c], (double)spec->std[c]);
    }
    if ((unsigned)spec->background >= CAM_BACKGROUND_COUNT)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "preprocess: invalid background %d",
                             (int)spec->background);
    if ((unsigned)spec->channel_order >= CAM_CHANNEL_ORDER_COUNT ||
        (unsigned)spec->resample >= CAM_RESAMPLE_COUNT)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "preprocess: invalid channel order %d or resampling %d",
                             (int)spec->channel_order, (int)spec->resample);
    if (spec->resize != 0 && (spec->resize < spec->width || spec->resize < spec->height ||
                              spec->resize > CAM_PREPROCESS_MAX_INPUT))
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "preprocess: resize size %d is smaller than the input %dx%d (or "
                             "above %d)", spec->resize, spec->width, spec->height,
                             CAM_PREPROCESS_MAX_INPUT);
    return CAM_OK;
}

static cam_status check_image(const cam_image *img, cam_error *err)
{
    if (!img || !img->pixels)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "preprocess: image is NULL");
    if (img->width < 1 || img->height < 1)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "preprocess: image size %dx%d",
                             img->width, img->height);
    if (img->channels < 1 || img->channels > 4)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "preprocess: image has %d channels (need 1..4)", img->channels);
    size_t ss = cam_sample_size(img->type);
    if (ss == 0)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "preprocess: invalid sample type %d",
                             (int)img->type);
    if (img->stride < ss * (size_t)img->channels * (size_t)img->width)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "preprocess: stride %zu is smaller than a row (%zu bytes)",
                             img->stride, ss * (size_t)img->channels * (size_t)img->width);
    return CAM_OK;
}

/* The conversion loop below for the common case, 8-bit RGB(A) rows, without the
 * per-sample type switch: the same arithmetic in the same order, so the same
 * floats. C is the model's channels (1: luminance, else RGB), ch the image's (3, 4);
 * lut[i] = sample01 of the 8-bit sample i. */
static void convert_row_u8(const uint8_t *p, int ch, int C, int width, int inverted, float bg,
                           const float lut[256], float *line)
{
    for (int x = 0; x < width; x++, p += ch) {
        const float a = ch == 4 ? lut[p[3]] : 1.0f;
        const float r = lut[p[0]], g = lut[p[1]], b = lut[p[2]];
        if (C == 1) {
            const float l = 0.299f * r + 0.587f * g + 0.114f * b;
            const float u = inverted ? 1.0f - l : l;
            line[x] = a * u + (1.0f - a) * bg;
        } else {
            const float ur = inverted ? 1.0f - r : r, ug = inverted ? 1.0f - g : g,
                        ub = inverted ? 1.0f - b : b;
            line[x] = a * ur + (1.0f - a) * bg;
            line[(size_t)width + x] = a * ug + (1.0f - a) * bg;
            line[2 * (size_t)width + x] = a * ub + (1.0f - a) * bg;
        }
    }
}

cam_status cam_preprocess_spec(const cam_input_spec *spec, const cam_image *img,
                               const cam_preprocess_options *options, float *input_out,
                               cam_preprocess_info *info_out, cam_error *err)
{
    cam_status st;
    if ((st = check_spec(spec, err)) != CAM_OK || (st = check_image(img, err)) != CAM_OK)
        return st;
    if (!input_out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "preprocess: input_out is NULL");
    if (options && cam_check_options_size("cam_preprocess_spec", "cam_preprocess_options",
                                          "cam_preprocess_options_default", options->size,
                                          sizeof *options, err) != CAM_OK)
        return CAM_ERROR_INVALID_ARGUMENT;
    cam_preprocess_options opt = options ? *options : cam_preprocess_options_default();
    if ((unsigned)opt.aspect >= CAM_ASPECT_COUNT || (unsigned)opt.invert >= CAM_INVERT_COUNT)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "preprocess options: aspect %d / invert %d is invalid",
                             (int)opt.aspect, (int)opt.invert);

    const int C = spec->channels, W = spec->width, H = spec->height;
    layout lay;
    geometry(spec, img, opt.aspect, &lay);
    const cam_rect src = lay.read, content = lay.content;

    for (int y = 0; y < src.height; y++) {
        const void *row = (const char *)img->pixels + img->stride * (size_t)(src.y + y);
        if ((st = check_row_finite(img, row, src.y + y, src.x, src.width, err)) != CAM_OK)
            return st;
    }

    /* Inversion. */
    const float border = border_luminance(img, lay.source);
    int inverted = 0;
    if (opt.invert == CAM_INVERT_ON)
        inverted = 1;
    else if (opt.invert == CAM_INVERT_AUTO && border >= 0.0f)
        inverted = spec->background == CAM_BACKGROUND_BLACK   ? border > 0.5f
                   : spec->background == CAM_BACKGROUND_WHITE ? border < 0.5f
                                                              : 0;
    const float bg = spec->background == CAM_BACKGROUND_WHITE ? 1.0f : 0.0f;

    /* Resampling weights: source rect -> content rect. */
    cam_axis_weights cols = {0}, rows = {0};
    int *row_start = NULL, *row_out = NULL;
    float *row_weight = NULL, *acc = NULL, *line = NULL, *hline = NULL;
    if ((st = cam_axis_weights_resample(&cols, spec->resample, src.width, lay.resized_w,
                                        lay.resized_x0, content.width, err)) != CAM_OK ||
        (st = cam_axis_weights_resample(&rows, spec->resample, src.height, lay.resized_h,
                                        lay.resized_y0, content.height, err)) != CAM_OK)
        goto done;
    /* Invert the row weights: for each source row, the output rows it feeds. */
    const size_t n_taps = (size_t)rows.n_out * rows.taps;
    row_start = calloc((size_t)src.height + 1, sizeof *row_start);
    row_out = malloc(n_taps * sizeof *row_out);
    row_weight = malloc(n_taps * sizeof *row_weight);
    acc = calloc((size_t)C * content.height * content.width, sizeof *acc);
    line = malloc((size_t)C * src.width * sizeof *line);
    hline = malloc((size_t)C * content.width * sizeof *hline);
    if (!row_start || !row_out || !row_weight || !acc || !line || !hline) {
        st = cam_set_error(err, CAM_ERROR_NO_MEMORY, "preprocess: buffers for a %dx%d region",
                           src.width, src.height);
        goto done;
    }
    for (size_t k = 0; k < n_taps; k++)
        if (rows.weight[k] != 0.0f)
            row_start[rows.index[k] + 1]++;
    for (int y = 0; y < src.height; y++)
        row_start[y + 1] += row_start[y];
    {
        int *fill = calloc((size_t)src.height, sizeof *fill);
        if (!fill) {
            st = cam_set_error(err, CAM_ERROR_NO_MEMORY, "preprocess: row table");
            goto done;
        }
        for (size_t k = 0; k < n_taps; k++) {
            if (rows.weight[k] == 0.0f)
                continue;
            int y = rows.index[k];
            int at = row_start[y] + fill[y]++;
            row_out[at] = (int)(k / (size_t)rows.taps);
            row_weight[at] = rows.weight[k];
        }
        free(fill);
    }

    float lut_u8[256];
    for (int i = 0; i < 256; i++)
        lut_u8[i] = sample01(&(uint8_t){(uint8_t)i}, CAM_SAMPLE_U8, 0);
    for (int y = 0; y < src.height; y++) {
        if (row_start[y] == row_start[y + 1])
            continue;
        const void *row = (const char *)img->pixels + img->stride * (size_t)(src.y + y);
        /* Colour, inversion, compositing: line[c * src.width + x]. */
        if (img->type == CAM_SAMPLE_U8 && img->channels >= 3 && (C == 1 || C == 3)) {
            convert_row_u8((const uint8_t *)row + (size_t)img->channels * src.x, img->channels,
                           C, src.width, inverted, bg, lut_u8, line);
        } else
        for (int x = 0; x < src.width; x++) {
            const size_t i = (size_t)img->channels * (size_t)(src.x + x);
            float a = (img->channels == 2 || img->channels == 4)
                          ? sample01(row, img->type, i + img->channels - 1)
                          : 1.0f;
            float v[3];
            if (C == 1) {
                float l;
                pixel_luma(row, img, src.x + x, &l, &a);
                v[0] = l;
            } else if (img->channels >= 3) {
                v[0] = sample01(row, img->type, i);
                v[1] = sample01(row, img->type, i + 1);
                v[2] = sample01(row, img->type, i + 2);
            } else {
                v[0] = v[1] = v[2] = sample01(row, img->type, i);
            }
            for (int c = 0; c < C; c++) {
                float u = inverted ? 1.0f - v[c] : v[c];
                line[(size_t)c * src.width + x] = a * u + (1.0f - a) * bg;
            }
        }
        /* Horizontal resampling. */
        for (int c = 0; c < C; c++) {
            const float *l = line + (size_t)c * src.width;
            float *h = hline + (size_t)c * content.width;
            for (int o = 0; o < content.width; o++) {
                const int *ix = cols.index + (size_t)o * cols.taps;
                const float *wx = cols.weight + (size_t)o * cols.taps;
                /* Four partial sums (taps k = 0, 1, 2, 3 mod 4): a shrinking image has
                 * hundreds of taps per output, and one running sum would wait on
                 * every addition. Fixed order: the same result on every run. */
                float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
                int k = 0;
                for (; k + 4 <= cols.taps; k += 4) {
                    s0 += wx[k] * l[ix[k]];
                    s1 += wx[k + 1] * l[ix[k + 1]];
                    s2 += wx[k + 2] * l[ix[k + 2]];
                    s3 += wx[k + 3] * l[ix[k + 3]];
                }
                for (; k < cols.taps; k++)
                    s0 += wx[k] * l[ix[k]];
                h[o] = (s0 + s1) + (s2 + s3);
            }
        }
        /* Vertical: add to every output row this source row feeds. */
        for (int k = row_start[y]; k < row_start[y + 1]; k++) {
            const int o = row_out[k];
            const float w = row_weight[k];
            for (int c = 0; c < C; c++) {
                float *a = acc + ((size_t)c * content.height + o) * content.width;
                const float *h = hline + (size_t)c * content.width;
                for (int x = 0; x < content.width; x++)
                    a[x] += w * h[x];
            }
        }
    }

    /* Place in the input (plane c of the model's channel order holds colour k),
     * fill the rest with the background, scale. */
    for (int c = 0; c < C; c++) {
        const float mul = 255.0f * spec->scale / spec->std[c];
        const float add = -spec->mean[c] / spec->std[c];
        const int k = (C == 3 && spec->channel_order == CAM_CHANNEL_ORDER_BGR) ? 2 - c : c;
        float *plane = input_out + (size_t)c * W * H;
        const float fill = bg * mul + add;
        for (int y = 0; y < H; y++) {
            float *o = plane + (size_t)y * W;
            const int in_rows = y >= content.y && y < content.y + content.height;
            for (int x = 0; x < W; x++) {
                if (in_rows && x >= content.x && x < content.x + content.width) {
                    float v = acc[((size_t)k * content.height + (y - content.y)) * content.width +
                                  (x - content.x)];
                    o[x] = v * mul + add;
                } else {
                    o[x] = fill;
                }
            }
        }
    }
    if (info_out) {
        info_out->inverted = inverted;
        info_out->source_rect = lay.source;
        info_out->content_rect = content;
        info_out->content_window = lay.window;
        info_out->input_width = W;
        info_out->input_height = H;
        info_out->border_luminance = border;
    }
    st = CAM_OK;
done:
    cam_axis_weights_clear(&cols);
    cam_axis_weights_clear(&rows);
    free(row_start);
    free(row_out);
    free(row_weight);
    free(acc);
    free(line);
    free(hline);
    return st;
}

cam_status cam_preprocess_info_map_window(const cam_preprocess_info *info, int map_w, int map_h,
                                          cam_window *window_out, cam_error *err)
{
    if (!info || !window_out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_preprocess_info_map_window: NULL argument");
    if (map_w < 1 || map_h < 1 || info->input_width < 1 || info->input_height < 1)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_preprocess_info_map_window: map %dx%d, input %dx%d", map_w,
                             map_h, info->input_width, info->input_height);
    const double sx = (double)map_w / info->input_width, sy = (double)map_h / info->input_height;
    /* content_window when set (an info filled by this library), else content_rect */
    cam_window cw = info->content_window;
    if (!(cw.width > 0.0f && cw.height > 0.0f))
        cw = (cam_window){(float)info->content_rect.x, (float)info->content_rect.y,
                          (float)info->content_rect.width, (float)info->content_rect.height};
    window_out->x = (float)(cw.x * sx);
    window_out->y = (float)(cw.y * sy);
    window_out->width = (float)(cw.width * sx);
    window_out->height = (float)(cw.height * sy);
    return CAM_OK;
}
