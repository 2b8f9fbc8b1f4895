/*
 * cam-cli-metadata.c -- model-describing flags -> cam.* metadata edits (see
 * cam-cli-metadata.h). Values are checked here where a flag-specific message
 * helps (counts against the model, names); everything is checked again by the
 * engine when the edited model loads.
 */
#include "cam-cli-metadata.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cli_edits_init(cli_edits *e)
{
    e->keys = g_ptr_array_new_with_free_func(g_free);
    e->values = g_ptr_array_new_with_free_func(g_free);
    e->flags = g_ptr_array_new_with_free_func(g_free);
}

void cli_edits_clear(cli_edits *e)
{
    if (e->keys) g_ptr_array_unref(e->keys);
    if (e->values) g_ptr_array_unref(e->values);
    if (e->flags) g_ptr_array_unref(e->flags);
    e->keys = e->values = e->flags = NULL;
}

int cli_edits_count(const cli_edits *e)
{
    return e->keys ? (int) e->keys->len : 0;
}

static void add(cli_edits *e, const char *key, const char *value, const char *flag)
{
    g_ptr_array_add(e->keys, g_strdup(key));
    g_ptr_array_add(e->values, g_strdup(value));
    g_ptr_array_add(e->flags, g_strdup(flag));
}

GOptionEntry *cli_model_flag_entries(cli_model_flags *f, gboolean with_display)
{
    static GOptionEntry entries[32];
    int n = 0;
#define ENTRY(long_name, field, desc, arg)                                                     \
    entries[n++] = (GOptionEntry){long_name, 0, 0, G_OPTION_ARG_STRING, &f->field, desc, arg}
    ENTRY("labels", labels,
          "Class labels: a text file with one label per line (as many as the model has "
          "classes), or imagenet (the 1000 ImageNet-1k classes shipped with gimp-cam)",
          "FILE|imagenet");
    ENTRY("mean", mean,
          "Per-channel mean subtracted after scaling, in the model's channel order "
          "(0.485,0.456,0.406 for torchvision's ImageNet models)", "A[,B,C]");
    ENTRY("std", std, "Per-channel standard deviation divided after the mean", "A[,B,C]");
    ENTRY("scale", scale,
          "Factor from 0..255 pixel values to the model's range: 1/255 for 0..1 (the default), "
          "1 for 0..255 (Caffe)", "X|1/255");
    ENTRY("channel-order", channel_order,
          "Order of the input's colour channels: rgb or bgr (Caffe-converted models)", "ORDER");
    ENTRY("resize", resize,
          "Resize the image's shorter side to S, then centre-crop to the input size "
          "(torchvision's Resize(S) + CenterCrop); implies --resize-policy crop", "S");
    ENTRY("crop", crop, "The centre crop (must be the model's input size): C or HxW; implies "
                        "--resize-policy crop", "C|HxW");
    ENTRY("resize-policy", resize_policy,
          "How an image is fitted to the input: stretch, crop or pad (letterbox)", "POLICY");
    ENTRY("interpolation", interpolation,
          "Resampling filter: area (area average when shrinking), bilinear or bicubic "
          "(torchvision's antialiased resize)", "FILTER");
    if (with_display) {
        ENTRY("background", background,
              "Training background: none, black (light objects on black) or white", "BG");
        ENTRY("layout", layout, "The graph input's layout as a check: nchw or nhwc", "LAYOUT");
        ENTRY("layer", layer,
              "Default layer to explain (a tensor name from cam-model info), or auto", "NAME");
        ENTRY("method", method, "Default method: cam, grad-cam or grad-cam-tutorial", "METHOD");
        ENTRY("colormap", colormap,
              "Default colormap: jet, turbo, viridis, inferno, magma, plasma, cividis, gray, "
              "greens, reds or greens-reds", "NAME");
        ENTRY("alpha", alpha, "Default heatmap opacity 0..1", "ALPHA");
        ENTRY("threshold", threshold, "Probability threshold of greens-reds, 0..1", "P");
        ENTRY("name", name, "Short model name", "NAME");
        ENTRY("description", description, "One line describing the model", "TEXT");
        entries[n++] = (GOptionEntry){"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &f->set,
                                      "Set any metadata key (repeatable)", "KEY=VALUE"};
        entries[n++] = (GOptionEntry){"remove", 0, 0, G_OPTION_ARG_STRING_ARRAY, &f->remove,
                                      "Remove a metadata key (repeatable)", "KEY"};
    }
#undef ENTRY
    entries[n] = (GOptionEntry){NULL, 0, 0, 0, NULL, NULL, NULL};
    return entries;
}

/* "a,b,c": 1 or `channels` finite numbers (positive when `positive`). */
static gboolean check_channels(const char *flag, const char *text, int channels,
                               gboolean positive, GError **error)
{
    char **parts = g_strsplit(text, ",", -1);
    int n = (int) g_strv_length(parts);
    gboolean ok = TRUE;
    for (int i = 0; i < n && ok; i++) {
        char *end = NULL;
        const char *p = g_strstrip(parts[i]);
        double v = g_ascii_strtod(p, &end);
        if (!*p || *end || !isfinite(v) || (positive && !(v > 0))) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--%s %s: '%s' is not a %snumber", flag, text, p,
                        positive ? "positive " : "");
            ok = FALSE;
        }
    }
    if (ok && n != 1 && n != channels) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--%s %s: %d values, but the model's input has %d channel%s (give 1 or %d)",
                    flag, text, n, channels, channels == 1 ? "" : "s", channels);
        ok = FALSE;
    }
    g_strfreev(parts);
    return ok;
}

/* "0.5", "1/255": a positive finite number, as text the engine reads back. */
static char *scale_value(const char *text, GError **error)
{
    const char *slash = strchr(text, '/');
    char *end = NULL;
    double v;
    if (slash) {
        char *num = g_strndup(text, (gsize) (slash - text));
        double a = g_ascii_strtod(num, &end);
        gboolean ok = *num && !*end;
        g_free(num);
        double b = g_ascii_strtod(slash + 1, &end);
        ok = ok && slash[1] && !*end && b != 0;
        v = ok ? a / b : NAN;
    } else {
        v = g_ascii_strtod(text, &end);
        if (!*text || *end) v = NAN;
    }
    if (!isfinite(v) || !(v > 0)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--scale %s: a positive number or fraction (1/255) is expected", text);
        return NULL;
    }
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    return g_strdup(g_ascii_formatd(buf, sizeof buf, "%.17g", v));
}

static gboolean check_name(const char *flag, const char *value, cam_status st,
                           const cam_error *err, GError **error)
{
    if (st == CAM_OK) return TRUE;
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--%s %s: %s", flag, value,
                err->message);
    return FALSE;
}

gboolean cli_model_flags_to_edits(const cli_model_flags *f, const cam_model *model,
                                  cli_edits *e, GError **error)
{
    cam_error err = {0};
    const int channels = cam_model_input_channels(model);
    if (f->labels) {
        char *labels = NULL;
        int count = 0;
        if (cam_labels_read(f->labels, &labels, &count, &err) != CAM_OK) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--labels %s: %s",
                        f->labels, err.message);
            return FALSE;
        }
        if (count != cam_model_n_classes(model)) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--labels %s: %d labels, but the model has %d classes (outputs)",
                        f->labels, count, cam_model_n_classes(model));
            free(labels);
            return FALSE;
        }
        add(e, "cam.labels", labels, "labels");
        free(labels);
    }
    if (f->scale) {
        char *v = scale_value(f->scale, error);
        if (!v) return FALSE;
        add(e, "cam.input.scale", v, "scale");
        g_free(v);
    }
    if (f->mean) {
        if (!check_channels("mean", f->mean, channels, FALSE, error)) return FALSE;
        add(e, "cam.input.mean", f->mean, "mean");
    }
    if (f->std) {
        if (!check_channels("std", f->std, channels, TRUE, error)) return FALSE;
        add(e, "cam.input.std", f->std, "std");
    }
    if (f->channel_order) {
        cam_channel_order o;
        if (!check_name("channel-order", f->channel_order,
                        cam_channel_order_from_name(f->channel_order, &o, &err), &err, error))
            return FALSE;
        add(e, "cam.input.channel-order", cam_channel_order_name(o), "channel-order");
    }
    const char *policy = NULL;
    if (f->resize_policy) {
        cam_aspect a;
        if (!check_name("resize-policy", f->resize_policy,
                        cam_aspect_from_name(f->resize_policy, &a, &err), &err, error))
            return FALSE;
        policy = cam_aspect_name(a);
    }
    if ((f->resize || f->crop) && !policy) policy = "crop";
    if (policy) add(e, "cam.input.resize-policy", policy, f->resize_policy ? "resize-policy" :
                                                          f->resize ? "resize" : "crop");
    if (f->resize) add(e, "cam.input.resize", f->resize, "resize");
    if (f->crop) add(e, "cam.input.crop", f->crop, "crop");
    if (f->interpolation) {
        cam_resample r;
        if (!check_name("interpolation", f->interpolation,
                        cam_resample_from_name(f->interpolation, &r, &err), &err, error))
            return FALSE;
        add(e, "cam.input.interpolation", cam_resample_name(r), "interpolation");
    }
    if (f->background) add(e, "cam.input.background", f->background, "background");
    if (f->layout) add(e, "cam.input.layout", f->layout, "layout");
    if (f->layer) {
        if (!strcmp(f->layer, "auto")) add(e, "cam.default.layer", NULL, "layer");
        else add(e, "cam.default.layer", f->layer, "layer");
    }
    if (f->method) {
        cam_method m;
        if (!check_name("method", f->method, cam_method_from_name(f->method, &m, &err), &err,
                        error))
            return FALSE;
        add(e, "cam.default.method", cam_method_name(m), "method");
    }
    if (f->colormap) {
        cam_colormap c;
        if (!check_name("colormap", f->colormap, cam_colormap_from_name(f->colormap, &c, &err),
                        &err, error))
            return FALSE;
        add(e, "cam.display.colormap", cam_colormap_name(c), "colormap");
    }
    if (f->alpha) add(e, "cam.display.alpha", f->alpha, "alpha");
    if (f->threshold) add(e, "cam.display.threshold", f->threshold, "threshold");
    if (f->name) add(e, "cam.name", f->name, "name");
    if (f->description) add(e, "cam.description", f->description, "description");
    for (int i = 0; f->set && f->set[i]; i++) {
        const char *eq = strchr(f->set[i], '=');
        if (!eq || eq == f->set[i]) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--set %s: KEY=VALUE is expected", f->set[i]);
            return FALSE;
        }
        char *key = g_strndup(f->set[i], (gsize) (eq - f->set[i]));
        add(e, key, eq + 1, "set");
        g_free(key);
    }
    for (int i = 0; f->remove && f->remove[i]; i++) {
        if (!*f->remove[i]) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--remove: empty key");
            return FALSE;
        }
        add(e, f->remove[i], NULL, "remove");
    }
    return TRUE;
}

char *cli_edits_describe_error(const cli_edits *e, const char *message)
{
    for (int i = (int) e->keys->len - 1; i >= 0; i--) {
        char *needle = g_strdup_printf("metadata '%s'", (const char *) e->keys->pdata[i]);
        gboolean hit = strstr(message, needle) != NULL;
        g_free(needle);
        if (hit) {
            const char *v = e->values->pdata[i];
            const char *flag = e->flags->pdata[i];
            if (!strcmp(flag, "labels") || !v)
                return g_strdup_printf("--%s: %s", flag, message);
            return g_strdup_printf("--%s %s: %s", flag, v, message);
        }
    }
    return g_strdup(message);
}
