/*
 * cam-model.c -- a loaded model: its graph plus what the metadata says.
 *
 * Reads the file (cam_model_load), hands the bytes to the ONNX reader (onnx/),
 * types and optimises the graph (graph/), finds the classifier structure
 * (cam-layers.c), then reads the cam.* metadata keys documented in camengine.h,
 * with their defaults.
 */
#include "cam-model.h"
#include "cam-error.h"
#include "camengine-render.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#if defined(__unix__) || defined(__APPLE__)
#define CAM_HAVE_MMAP 1
#include <sys/mman.h>
#include <unistd.h>
#endif

#define MAX_MODEL_FILE_SIZE ((size_t)INT32_MAX)


const char *cam_model_get_metadata(const cam_model *model, const char *key)
{
    if (!model || !key)
        return NULL;
    for (int i = 0; i < model->n_metadata; i++)
        if (strcmp(model->metadata[i].key, key) == 0)
            return model->metadata[i].value;
    return NULL;
}

int cam_model_n_metadata(const cam_model *model)
{
    return model ? model->n_metadata : 0;
}

const char *cam_model_metadata_key(const cam_model *model, int index)
{
    if (!model || index < 0 || index >= model->n_metadata)
        return NULL;
    return model->metadata[index].key;
}

/* ------------------------------------------------------------------------ */
/* Metadata values                                                          */
/* ------------------------------------------------------------------------ */

/* A decimal number ("0.5", "-1e-3", "1/255" is not one), whatever the C locale says
 * about decimal commas (GIMP plug-ins run with the user's locale). */
static int parse_float(const char *text, float *out)
{
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    int negative = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    double mantissa = 0;
    int exponent = 0, digits = 0;
    for (; isdigit((unsigned char)*p); p++, digits++) {
        if (mantissa < 1e17)
            mantissa = mantissa * 10 + (*p - '0');
        else
            exponent++;
    }
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++, digits++)
            if (mantissa < 1e17) {
                mantissa = mantissa * 10 + (*p - '0');
                exponent--;
            }
    if (digits == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        int sign = *p == '-' ? -1 : 1;
        if (*p == '-' || *p == '+')
            p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        int e = 0;
        for (; isdigit((unsigned char)*p); p++)
            if (e < 10000)
                e = e * 10 + (*p - '0');
        exponent += sign * e;
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p || exponent > 400 || exponent < -400)
        return 0;
    double v = exponent >= 0 ? mantissa * pow(10.0, exponent) : mantissa / pow(10.0, -exponent);
    if (negative)
        v = -v;
    if (!isfinite(v) || fabs(v) > 3.4e38)
        return 0;
    *out = (float)v;
    return 1;
}

static cam_status metadata_float(cam_model *model, const char *key, float fallback, float lo,
                                 float hi, int lo_open, float *out, cam_error *err)
{
    const char *text = cam_model_get_metadata(model, key);
    *out = fallback;
    if (!text)
        return CAM_OK;
    float v;
    if (!parse_float(text, &v) || v > hi || v < lo || (lo_open && v == lo))
        return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                             "metadata '%s' is '%.40s'; a number in %s%g, %g] is expected", key,
                             text, lo_open ? "(" : "[", lo, hi);
    *out = v;
    return CAM_OK;
}

/* "0.5" or "0.49,0.48,0.45": one value, or one per input channel (at most 4). */
static cam_status metadata_channels(cam_model *model, const char *key, float fallback, int positive,
                                    float out[4], cam_error *err)
{
    for (int i = 0; i < 4; i++)
        out[i] = fallback;
    const char *text = cam_model_get_metadata(model, key);
    if (!text)
        return CAM_OK;
    int channels = model->channels;
    float values[4];
    int count = 0;
    const char *p = text;
    for (;;) {
        char item[64];
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (count >= 4 || n >= sizeof item)
            goto bad;
        memcpy(item, p, n);
        item[n] = '\0';
        if (!parse_float(item, &values[count]) || (positive && !(values[count] > 0)))
            goto bad;
        count++;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (count != 1 && count != channels)
        goto bad;
    for (int i = 0; i < 4; i++)
        out[i] = values[count == 1 ? 0 : (i < count ? i : count - 1)];
    return CAM_OK;
bad:
    return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                         "metadata '%s' is '%.60s'; one %snumber or one per input channel (%d) "
                         "separated by commas is expected", key, text, positive ? "positive " : "",
                         channels);
}

/* The scaling must give a finite input for every pixel value 0..255: the image side
 * computes v * (255 * scale / std) + (-mean / std) in float for v in 0..1 (the
 * extremes 0 and 1 bound every other value), so those are checked the same way. */
static cam_status check_input_range(cam_model *model, cam_error *err)
{
    const cam_model_info *info = &model->info;
    int channels = model->channels < 4 ? model->channels : 4;
    for (int c = 0; c < channels; c++) {
        const float mul = 255.0f * info->input_scale / info->input_std[c];
        const float add = -info->input_mean[c] / info->input_std[c];
        if (isfinite(mul) && isfinite(add) && isfinite(mul + add))
            continue;
        const char *std = cam_model_get_metadata(model, "cam.input.std");
        const char *mean = cam_model_get_metadata(model, "cam.input.mean");
        const char *scale = cam_model_get_metadata(model, "cam.input.scale");
        return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                             "metadata 'cam.input.std' is '%.40s', 'cam.input.mean' '%.40s' and "
                             "'cam.input.scale' '%.40s': the input of channel %d is not finite "
                             "for pixel values 0..255 ((255 * scale - mean) / std must be finite)",
                             std ? std : "1 (default)", mean ? mean : "0 (default)",
                             scale ? scale : "1/255 (default)", c);
    }
    return CAM_OK;
}

static cam_status read_labels(cam_model *model, cam_error *err)
{
    int n = model->n_classes;
    model->labels = calloc((size_t)n, sizeof *model->labels);
    if (!model->labels)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    const char *text = cam_model_get_metadata(model, "cam.labels");
    if (!text) {
        for (int i = 0; i < n; i++) {
            char label[32];
            snprintf(label, sizeof label, "class %d", i);
            if (!(model->labels[i] = cam_strdup(label)))
                return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
        }
        return CAM_OK;
    }
    int count = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        size_t shown = len;
        if (shown > 0 && p[shown - 1] == '\r')
            shown--;
        if (count >= n) {
            count++;
        } else {
            if (shown == 0)
                return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                     "metadata 'cam.labels': label %d is empty", count);
            char *label = malloc(shown + 1);
            if (!label)
                return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
            memcpy(label, p, shown);
            label[shown] = '\0';
            model->labels[count++] = label;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    if (count != n)
        return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                             "metadata 'cam.labels' has %d labels but the model has %d classes",
                             count, n);
    return CAM_OK;
}

static const char *stem_of(const char *origin, char *buf, size_t size)
{
    const char *base = strrchr(origin, '/');
    base = base ? base + 1 : origin;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".onnx") == 0)
        n -= 5;
    if (n >= size)
        n = size - 1;
    memcpy(buf, base, n);
    buf[n] = '\0';
    return buf;
}

/* A whole number in lo..hi ("256"), or 0. */
static int parse_int(const char *text, int lo, int hi, int *out)
{
    float v;
    if (!parse_float(text, &v) || v != floorf(v) || v < (float)lo || v > (float)hi)
        return 0;
    *out = (int)v;
    return 1;
}

/* cam.input.channel-order, resize-policy, resize, crop, interpolation, layout, and
 * what was assumed for the keys that are missing. */
static cam_status read_input_geometry(cam_model *model, cam_error *err)
{
    cam_model_info *info = &model->info;
    const char *order = cam_model_get_metadata(model, "cam.input.channel-order");
    info->channel_order = CAM_CHANNEL_ORDER_RGB;
    if (order && (cam_channel_order_from_name(order, &info->channel_order, NULL) != CAM_OK ||
                  (info->channel_order == CAM_CHANNEL_ORDER_BGR && model->channels != 3)))
        return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                             "metadata 'cam.input.channel-order' is '%.40s'; rgb or bgr (for a "
                             "3-channel input; this one has %d) is expected",
                             order, model->channels);

    const char *policy = cam_model_get_metadata(model, "cam.input.resize-policy");
    info->resize_policy = CAM_ASPECT_STRETCH;
    if (policy && cam_aspect_from_name(policy, &info->resize_policy, NULL) != CAM_OK)
        return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                             "metadata 'cam.input.resize-policy' is '%.40s'; stretch, crop or pad "
                             "is expected", policy);

    const int largest = model->width > model->height ? model->width : model->height;
    const char *resize = cam_model_get_metadata(model, "cam.input.resize");
    info->resize_size = 0;
    if (resize) {
        if (!parse_int(resize, largest, 65536, &info->resize_size))
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "metadata 'cam.input.resize' is '%.40s'; a whole number from the "
                                 "input's larger side (%d) to 65536 is expected",
                                 resize, largest);
        if (info->resize_policy != CAM_ASPECT_CROP)
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "metadata 'cam.input.resize' is '%.40s' but "
                                 "'cam.input.resize-policy' is %s; the resize size is the shorter "
                                 "side before a centre crop (resize-policy crop)",
                                 resize, cam_aspect_name(info->resize_policy));
    }
    const char *crop = cam_model_get_metadata(model, "cam.input.crop");
    if (crop) {
        int h = 0, w = 0;
        const char *x = strchr(crop, 'x');
        int ok;
        if (x) {
            char first[32];
            size_t n = (size_t)(x - crop);
            ok = n < sizeof first;
            if (ok) {
                memcpy(first, crop, n);
                first[n] = '\0';
                ok = parse_int(first, 1, 65536, &h) && parse_int(x + 1, 1, 65536, &w);
            }
        } else {
            ok = parse_int(crop, 1, 65536, &h);
            w = h;
        }
        if (!ok || h != model->height || w != model->width)
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "metadata 'cam.input.crop' is '%.40s' but the model's input is "
                                 "%dx%d (height x width); the crop must be the input size",
                                 crop, model->height, model->width);
    }
    const char *interpolation = cam_model_get_metadata(model, "cam.input.interpolation");
    info->interpolation = CAM_RESAMPLE_AREA;
    if (interpolation &&
        cam_resample_from_name(interpolation, &info->interpolation, NULL) != CAM_OK)
        return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                             "metadata 'cam.input.interpolation' is '%.40s'; area, bilinear or "
                             "bicubic is expected", interpolation);
    const char *layout = cam_model_get_metadata(model, "cam.input.layout");
    if (layout) {
        int nhwc = strcasecmp(layout, "nhwc") == 0;
        if ((!nhwc && strcasecmp(layout, "nchw") != 0) || nhwc != info->input_nhwc)
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "metadata 'cam.input.layout' is '%.40s' but the graph's input is "
                                 "%s", layout, info->input_nhwc ? "nhwc (read through a Transpose)"
                                                                 : "nchw");
    }

    info->input_assumed = 0;
    int described = 0;
    if (!cam_model_get_metadata(model, "cam.input.scale"))
        info->input_assumed |= CAM_ASSUMED_SCALE;
    else
        described = 1;
    if (!cam_model_get_metadata(model, "cam.input.mean") &&
        !cam_model_get_metadata(model, "cam.input.std"))
        info->input_assumed |= CAM_ASSUMED_MEAN_STD;
    else
        described = 1;
    if (!order && model->channels == 3)
        info->input_assumed |= CAM_ASSUMED_CHANNEL_ORDER;
    if (!policy)
        info->input_assumed |= CAM_ASSUMED_RESIZE_POLICY;
    info->input_notice = "";
    if (!described) {
        char notice[320];
        snprintf(notice, sizeof notice,
                 "model %s has no preprocessing metadata (cam.input.scale, mean, std): assumed "
                 "pixels scaled by 1/255 (0..1), mean 0, std 1, %s, the image %s to %dx%d with "
                 "%s resampling (cam-model set can record the real values)",
                 model->name, model->channels == 3 ? "RGB order"
                              : model->channels == 1 ? "luminance" : "an unusable channel count",
                 info->resize_policy == CAM_ASPECT_STRETCH ? "stretched"
                 : info->resize_policy == CAM_ASPECT_CROP  ? "centre-cropped"
                                                           : "padded",
                 model->width, model->height, cam_resample_name(info->interpolation));
        if (!(model->input_notice = cam_strdup(notice)))
            return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
        info->input_notice = model->input_notice;
    }
    return CAM_OK;
}

static cam_status read_info(cam_model *model, cam_error *err)
{
    cam_model_info *info = &model->info;
    const char *name = cam_model_get_metadata(model, "cam.name");
    char stem[256];
    model->name = cam_strdup(name && *name ? name : stem_of(model->origin, stem, sizeof stem));
    if (!model->name)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    info->name = model->name;
    info->origin = model->origin;
    const char *description = cam_model_get_metadata(model, "cam.description");
    info->description = description ? description : "";

    cam_status s;
    if ((s = metadata_float(model, "cam.input.scale", 1.0f / 255.0f, 0.0f, 1e30f, 1,
                            &info->input_scale, err)) != CAM_OK)
        return s;
    if ((s = metadata_channels(model, "cam.input.mean", 0.0f, 0, info->input_mean, err)) != CAM_OK)
        return s;
    if ((s = metadata_channels(model, "cam.input.std", 1.0f, 1, info->input_std, err)) != CAM_OK)
        return s;
    if ((s = check_input_range(model, err)) != CAM_OK)
        return s;

    const char *background = cam_model_get_metadata(model, "cam.input.background");
    info->background = CAM_BACKGROUND_NONE;
    if (background) {
        if (strcmp(background, "none") == 0)
            info->background = CAM_BACKGROUND_NONE;
        else if (strcmp(background, "black") == 0)
            info->background = CAM_BACKGROUND_BLACK;
        else if (strcmp(background, "white") == 0)
            info->background = CAM_BACKGROUND_WHITE;
        else
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "metadata 'cam.input.background' is '%.40s'; none, black or white "
                                 "is expected", background);
    }

    if ((s = read_input_geometry(model, err)) != CAM_OK)
        return s;

    int has_cam = model->cam_head.present;
    const char *method = cam_model_get_metadata(model, "cam.default.method");
    info->default_method = has_cam ? CAM_METHOD_CAM : CAM_METHOD_GRAD_CAM;
    if (method) {
        if (strcmp(method, "cam") == 0)
            info->default_method = CAM_METHOD_CAM;
        else if (strcmp(method, "grad-cam") == 0)
            info->default_method = CAM_METHOD_GRAD_CAM;
        else if (strcmp(method, "grad-cam-tutorial") == 0)
            info->default_method = CAM_METHOD_GRAD_CAM_TUTORIAL;
        else
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "metadata 'cam.default.method' is '%.40s'; cam, grad-cam or "
                                 "grad-cam-tutorial is expected", method);
        if (info->default_method == CAM_METHOD_CAM && !has_cam)
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "metadata 'cam.default.method' is 'cam' but the model has no "
                                 "conv -> global average pool -> dense structure");
    }

    const char *layer = cam_model_get_metadata(model, "cam.default.layer");
    if (layer) {
        int t = cam_graph_find_tensor(model->graph, layer);
        cam_layer l;
        if (t < 0 || !cam_model_layer_of(model, t, &l))
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "metadata 'cam.default.layer' names '%.80s', which is not a "
                                 "layer one can explain (see cam_model_get_layer)", layer);
        info->default_layer = model->graph->tensors[t].name;
    } else {
        const char *automatic = cam_model_auto_layer(model);
        info->default_layer = automatic ? automatic : "";
    }

    if ((s = metadata_float(model, "cam.display.alpha", 0.5f, 0.0f, 1.0f, 0, &info->default_alpha,
                            err)) != CAM_OK)
        return s;
    if ((s = metadata_float(model, "cam.display.threshold", 0.95f, 0.0f, 1.0f, 0,
                            &info->colormap_threshold, err)) != CAM_OK)
        return s;
    const char *colormap = cam_model_get_metadata(model, "cam.display.colormap");
    cam_colormap cmap;
    if (colormap && cam_colormap_from_name(colormap, &cmap, NULL) != CAM_OK)
        return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                             "metadata 'cam.display.colormap' is '%.40s'; one of jet, turbo, "
                             "viridis, inferno, magma, plasma, cividis, gray, greens, reds or "
                             "greens-reds is expected", colormap);
    info->default_colormap = colormap ? colormap : "jet";
    return CAM_OK;
}

/* cam.input.layout nhwc on an N x H x W x C input that is not read by a lone
 * Transpose to NCHW (the case cam-layers.c handles), e.g. one normalised in NHWC
 * before its Transpose: a Transpose NCHW -> NHWC is put in front of it, so images
 * are given as NCHW like for any other model. Sets *original to the input tensor
 * of the file (or -1 when nothing was done). */
static cam_status insert_nhwc_transpose(cam_graph *g, const cam_metadata_entry *md, int n_md,
                                        int *original, cam_error *err)
{
    *original = -1;
    int nhwc = 0;
    for (int i = 0; i < n_md && !nhwc; i++)
        nhwc = strcmp(md[i].key, "cam.input.layout") == 0 && strcasecmp(md[i].value, "nhwc") == 0;
    int k = -1;
    for (int i = 0; i < g->n_inputs && nhwc; i++)
        if (g->tensors[g->inputs[i]].kind == CAM_TENSOR_INPUT)
            k = k == -1 ? i : -2;
    if (!nhwc || k < 0)
        return CAM_OK; /* no image input, or several: init_structure reports it */
    const int t = g->inputs[k];
    if (cam_graph_link(g) != 0)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    const cam_tensor *in = &g->tensors[t];
    if (in->rank != 4 || (in->dims[3] != 1 && in->dims[3] != 3))
        return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                             "metadata 'cam.input.layout' is 'nhwc' but the graph input '%s' is "
                             "not N x H x W x C with 1 or 3 channels last (rank %d, last "
                             "dimension %lld)", in->name, in->rank,
                             in->rank > 0 ? (long long)in->dims[in->rank - 1] : 0LL);
    if (in->n_consumers == 1) {
        const cam_node *n = &g->nodes[in->consumers[0]];
        const cam_attr *perm = cam_node_attr(n, "perm");
        static const int64_t to_nchw[4] = {0, 3, 1, 2};
        if (strcmp(n->op_type, "Transpose") == 0 && perm && perm->type == CAM_ATTR_INTS &&
            perm->n == 4 && memcmp(perm->ints, to_nchw, sizeof to_nchw) == 0)
            return CAM_OK;
    }
    size_t len = strlen(in->name);
    char *name = malloc(len + 16);
    if (!name)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    snprintf(name, len + 16, "%s:nchw", in->name);
    for (int i = 2; cam_graph_find_tensor(g, name) >= 0; i++)
        snprintf(name, len + 16, "%s:nchw%d", g->tensors[t].name, i);
    const int64_t dims[4] = {in->dims[0], in->dims[3], in->dims[1], in->dims[2]};
    const cam_dtype dtype = in->dtype;
    int nt = cam_graph_add_tensor(g, name, CAM_TENSOR_INPUT); /* may move g->tensors */
    free(name);
    if (nt < 0)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    cam_tensor_set_shape(&g->tensors[nt], dtype, 4, dims);
    g->tensors[t].kind = CAM_TENSOR_VALUE;
    g->tensors[t].typed = 0;
    int ni = cam_graph_add_node(g, "cam.input.layout:nhwc", "Transpose", &nt, 1, &t, 1);
    if (ni < 0)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    cam_node *n = &g->nodes[ni];
    n->attrs = calloc(1, sizeof *n->attrs);
    int64_t *ints = malloc(4 * sizeof *ints);
    char *perm_name = cam_strdup("perm");
    if (!n->attrs || !ints || !perm_name) {
        free(ints);
        free(perm_name);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    }
    static const int64_t to_nhwc[4] = {0, 2, 3, 1};
    memcpy(ints, to_nhwc, sizeof to_nhwc);
    n->attrs[0] = (cam_attr){.name = perm_name, .type = CAM_ATTR_INTS, .ints = ints, .n = 4,
                             .tensor = -1};
    n->n_attrs = 1;
    g->inputs[k] = nt;
    if (cam_graph_link(g) != 0)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    *original = t;
    return CAM_OK;
}

/* Types, optimises and wraps a graph read from a file (takes ownership of graph
 * and metadata, also on failure). */
static cam_status model_create(cam_graph *graph, cam_metadata_entry *metadata, int n_metadata,
                               const char *origin, cam_model **out, cam_error *err)
{
    cam_model *model = calloc(1, sizeof *model);
    if (!model) {
        cam_graph_free(graph);
        cam_metadata_free(metadata, n_metadata);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    }
    model->graph = graph;
    model->metadata = metadata;
    model->n_metadata = n_metadata;
    model->auto_layer = -1;
    cam_status s = CAM_OK;
    model->origin = cam_strdup(origin ? origin : "(memory)");
    if (!model->origin)
        s = cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    if (s == CAM_OK && graph->n_outputs > 1)
        graph->n_outputs = 1; /* a classifier: the first output; the others are pruned */
    int nhwc_input = -1;
    if (s == CAM_OK)
        s = insert_nhwc_transpose(graph, metadata, n_metadata, &nhwc_input, err);
    if (s == CAM_OK)
        s = cam_graph_type(graph, err);
    if (s == CAM_OK)
        s = cam_graph_optimize(graph, err);
    if (s == CAM_OK)
        s = cam_model_init_structure(model, err);
    if (s == CAM_OK && nhwc_input >= 0) {
        model->info.input_nhwc = 1;
        model->info.input_name = graph->tensors[nhwc_input].name;
    }
    if (s == CAM_OK)
        s = read_labels(model, err);
    if (s == CAM_OK)
        s = read_info(model, err);
    if (s != CAM_OK) {
        if (model->origin)
            cam_error_prefix(err, "%s", model->origin);
        cam_model_free(model);
        return s;
    }
    *out = model;
    return CAM_OK;
}

void cam_model_free(cam_model *model)
{
    if (!model)
        return;
    cam_graph_free(model->graph);
    cam_metadata_free(model->metadata, model->n_metadata);
    free(model->cam_head.weight);
    if (model->labels)
        for (int i = 0; i < model->n_classes; i++)
            free(model->labels[i]);
    free(model->labels);
    free(model->layers);
    free(model->name);
    free(model->origin);
    free(model->input_notice);
    free(model);
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                  */
/* ------------------------------------------------------------------------ */

static cam_status load_bytes(const void *data, size_t size, const char *origin,
                             cam_onnx_release_fn release, void *release_data, cam_model **out,
                             cam_error *err);

cam_status cam_model_load_memory(const void *data, size_t size, const char *origin, cam_model **out,
                                 cam_error *err)
{
    return load_bytes(data, size, origin, NULL, NULL, out, err);
}

static cam_status load_bytes(const void *data, size_t size, const char *origin,
                             cam_onnx_release_fn release, void *release_data, cam_model **out,
                             cam_error *err)
{
    if (!out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (!data && size > 0)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "data is NULL");
    cam_graph *graph;
    cam_metadata_entry *metadata;
    int n_metadata;
    cam_status s = cam_onnx_read_release(data, size, origin, release, release_data, &graph,
                                         &metadata, &n_metadata, err);
    if (s != CAM_OK)
        return s;
    s = model_create(graph, metadata, n_metadata, origin, out, err);
    if (s == CAM_OK)
        cam_clear_error(err);
    return s;
}

/* A model file in memory: mapped read-only where the system allows it (its
 * pages are then dropped as the weights are decoded: release_pages), else read
 * into a buffer. */
typedef struct file_bytes {
    unsigned char *data;
    size_t size;
    int mapped;
} file_bytes;

static cam_status read_file(const char *path, file_bytes *fb, cam_error *err)
{
    memset(fb, 0, sizeof *fb);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        char reason[128] = "";
        if (strerror_r(e, reason, sizeof reason) != 0)
            snprintf(reason, sizeof reason, "error %d", e);
        return cam_set_error(err, e == ENOENT ? CAM_ERROR_NOT_FOUND : CAM_ERROR_IO,
                             "cannot open '%s': %s", path, reason);
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return cam_set_error(err, CAM_ERROR_IO, "'%s' is not a regular file", path);
    }
    if ((uint64_t)st.st_size > MAX_MODEL_FILE_SIZE) {
        fclose(f);
        return cam_set_error(err, CAM_ERROR_IO, "'%s' is larger than 2 GiB", path);
    }
    size_t size = (size_t)st.st_size;
#ifdef CAM_HAVE_MMAP
    if (size > 0) {
        void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fileno(f), 0);
        if (m != MAP_FAILED) {
            fclose(f);
            fb->data = m;
            fb->size = size;
            fb->mapped = 1;
            return CAM_OK;
        }
    }
#endif
    unsigned char *data = malloc(size ? size : 1);
    if (!data) {
        fclose(f);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory reading '%s'", path);
    }
    size_t got = fread(data, 1, size, f);
    int failed = ferror(f) || got != size;
    fclose(f);
    if (failed) {
        free(data);
        return cam_set_error(err, CAM_ERROR_IO, "cannot read '%s'", path);
    }
    fb->data = data;
    fb->size = size;
    return CAM_OK;
}

static void file_bytes_free(file_bytes *fb)
{
#ifdef CAM_HAVE_MMAP
    if (fb->mapped) {
        munmap(fb->data, fb->size);
        return;
    }
#endif
    free(fb->data);
}

cam_status cam_model_read_file(const char *path, unsigned char **data_out, size_t *size_out,
                               cam_error *err)
{
    file_bytes fb;
    cam_status s = read_file(path, &fb, err);
    if (s != CAM_OK)
        return s;
    if (!fb.mapped) {
        *data_out = fb.data;
        *size_out = fb.size;
        return CAM_OK;
    }
    unsigned char *copy = malloc(fb.size ? fb.size : 1);
    if (copy)
        memcpy(copy, fb.data, fb.size);
    file_bytes_free(&fb);
    if (!copy)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory reading '%s'", path);
    *data_out = copy;
    *size_out = fb.size;
    return CAM_OK;
}

#ifdef CAM_HAVE_MMAP
/* The whole pages inside bytes[0, n) of a mapped file are no longer needed:
 * dropped from memory (read again from the file if ever touched). */
static void release_pages(void *unused, const void *bytes, size_t n)
{
    (void)unused;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t begin = ((uintptr_t)bytes + page - 1) / page * page;
    uintptr_t end = ((uintptr_t)bytes + n) / page * page;
    if (end > begin)
        madvise((void *)begin, end - begin, MADV_DONTNEED);
}
#endif

cam_status cam_model_load(const char *name_or_path, cam_model **out, cam_error *err)
{
    if (!out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    char *path = NULL;
    cam_status s = cam_model_find(name_or_path, &path, err);
    if (s != CAM_OK)
        return s;
    file_bytes fb;
    s = read_file(path, &fb, err);
    if (s == CAM_OK) {
        cam_onnx_release_fn release = NULL;
#ifdef CAM_HAVE_MMAP
        if (fb.mapped)
            release = release_pages;
#endif
        s = load_bytes(fb.data, fb.size, path, release, NULL, out, err);
        file_bytes_free(&fb);
    }
    free(path);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Getters                                                                  */
/* ------------------------------------------------------------------------ */

int cam_model_input_channels(const cam_model *model)
{
    return model ? model->channels : 0;
}

int cam_model_input_height(const cam_model *model)
{
    return model ? model->height : 0;
}

int cam_model_input_width(const cam_model *model)
{
    return model ? model->width : 0;
}

size_t cam_model_input_size(const cam_model *model)
{
    return model ? (size_t)model->channels * model->height * model->width : 0;
}

int cam_model_n_classes(const cam_model *model)
{
    return model ? model->n_classes : 0;
}

const char *cam_model_class_label(const cam_model *model, int class_index)
{
    if (!model || class_index < 0 || class_index >= model->n_classes)
        return NULL;
    return model->labels[class_index];
}

const cam_model_info *cam_model_get_info(const cam_model *model)
{
    return model ? &model->info : NULL;
}

cam_status cam_model_find_class(const cam_model *model, const char *index_or_label, int *class_index,
                                cam_error *err)
{
    if (!model)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "model is NULL");
    if (!index_or_label || !*index_or_label)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "the class is empty");
    if (!class_index)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "class_index is NULL");
    /* exact label first: a label may itself be a number */
    for (int i = 0; i < model->n_classes; i++)
        if (strcmp(model->labels[i], index_or_label) == 0) {
            *class_index = i;
            return CAM_OK;
        }
    const char *p = index_or_label;
    while (isdigit((unsigned char)*p))
        p++;
    if (!*p && p - index_or_label <= 9) {
        long index = strtol(index_or_label, NULL, 10);
        if (index >= model->n_classes)
            return cam_set_error(err, CAM_ERROR_NOT_FOUND,
                                 "class index %ld is out of range (the model has %d classes, 0 to %d)",
                                 index, model->n_classes, model->n_classes - 1);
        *class_index = (int)index;
        return CAM_OK;
    }
    for (int i = 0; i < model->n_classes; i++)
        if (strcasecmp(model->labels[i], index_or_label) == 0) {
            *class_index = i;
            return CAM_OK;
        }
    return cam_set_error(err, CAM_ERROR_NOT_FOUND,
                         "class '%.100s' not found; the model's classes are '%.40s' ... '%.40s' "
                         "(or an index 0 to %d)", index_or_label, model->labels[0],
                         model->labels[model->n_classes - 1], model->n_classes - 1);
}
