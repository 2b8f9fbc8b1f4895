/*
 * cam-heatmap-json.c -- the JSON documents cam-heatmap writes (--json), by hand with GString.
 *
 * Images mode, format "cam-heatmap", version CLI_JSON_FORMAT_VERSION (see
 * engine/cli/README-fragment.md for every field):
 *
 *   {"format": "cam-heatmap", "version": 1, "program": "cam-heatmap 0.1.0",
 *    "model": {"name", "path", "input": {"channels", "height", "width", "scale", "mean",
 *              "std", "channel_order", "resize_policy", "resize", "interpolation",
 *              "assumed": [what the metadata did not say: "scale", "mean_std",
 *              "channel_order", "resize_policy"]}, "classes": [labels]},
 *    "settings": {"method", "class", "layer", "colormap", "alpha", "output_kind", "aspect",
 *                 "invert", "upsample", "layers": [names] | null, "eigen_smooth",
 *                 "aug_smooth", "aug_smooth_mode": "scales" | "brightness" | null,
 *                 "target_score": "logit" | "probability"},
 *    "images": [
 *      {"file", "status": "ok", "width", "height",
 *       "predictions": [{"index", "label", "probability"}, ...top N],
 *       "class": {"index", "label", "probability"},
 *       "method", "layer" (names joined by ',' with --layers), "constant_map",
 *       "map": {"height", "width", "values": [row-major raw map], "min", "max", "mean"},
 *       "output": "path" | null},
 *      {"file", "status": "error", "error": "message"}, ...]}
 *
 * Floats are written with 9 significant digits, which reads back to the same float32.
 */
#include "cam-heatmap.h"

#include <math.h>
#include <string.h>

void cli_json_string(GString *out, const char *text)
{
    g_string_append_c(out, '"');
    const char *p = text ? text : "";
    const char *end = p + strlen(p);
    while (p < end) {
        gunichar c = g_utf8_get_char_validated(p, end - p);
        if (c == (gunichar) -1 || c == (gunichar) -2) {
            g_string_append(out, "\\ufffd");
            p++;
            continue;
        }
        switch (c) {
        case '"': g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\b': g_string_append(out, "\\b"); break;
        case '\f': g_string_append(out, "\\f"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\r': g_string_append(out, "\\r"); break;
        case '\t': g_string_append(out, "\\t"); break;
        default:
            if (c < 0x20 || c == 0x7f)
                g_string_append_printf(out, "\\u%04x", (unsigned) c);
            else
                g_string_append_len(out, p, g_utf8_next_char(p) - p);
        }
        p = g_utf8_next_char(p);
    }
    g_string_append_c(out, '"');
}

void cli_json_float(GString *out, double value)
{
    if (!isfinite(value)) {
        g_string_append(out, "null");
        return;
    }
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    /* locale-independent ("." as decimal point whatever LC_NUMERIC says) */
    g_ascii_formatd(buf, sizeof buf, "%.9g", value);
    g_string_append(out, buf);
}

void cli_result_clear(cli_result *r)
{
    g_free(r->file);
    g_free(r->error);
    g_free(r->warning);
    g_free(r->top);
    g_free(r->output);
    cam_explanation_free(r->ex);
    memset(r, 0, sizeof *r);
}

static void json_class(GString *out, const cam_model *model, int index, float probability)
{
    g_string_append_printf(out, "{\"index\": %d, \"label\": ", index);
    cli_json_string(out, cam_model_class_label(model, index));
    g_string_append(out, ", \"probability\": ");
    cli_json_float(out, probability);
    g_string_append_c(out, '}');
}

static void json_image(GString *out, const cam_model *model, const cli_result *r)
{
    g_string_append(out, "    {\"file\": ");
    cli_json_string(out, r->file);
    if (!r->ok) {
        g_string_append(out, ", \"status\": \"error\", \"error\": ");
        cli_json_string(out, r->error);
        g_string_append(out, "}");
        return;
    }
    g_string_append(out, ", \"status\": \"ok\", ");
    if (r->warning) {
        g_string_append(out, "\"warning\": ");
        cli_json_string(out, r->warning);
        g_string_append(out, ", ");
    }
    g_string_append_printf(out, "\"width\": %d, \"height\": %d, \"inverted\": %s,\n",
                           r->width, r->height, r->inverted ? "true" : "false");
    g_string_append(out, "     \"predictions\": [");
    for (int i = 0; i < r->n_top; i++) {
        if (i) g_string_append(out, ", ");
        json_class(out, model, r->top[i].class_index, r->top[i].probability);
    }
    g_string_append(out, "],\n     \"class\": ");
    json_class(out, model, r->ex->class_index, r->ex->probability);
    g_string_append(out, ",\n     \"method\": ");
    cli_json_string(out, cam_method_name(r->method));
    g_string_append(out, ", \"layer\": ");
    cli_json_string(out, r->ex->layer);
    g_string_append_printf(out, ", \"constant_map\": %s",
                           r->ex->constant_map ? "true" : "false");
    g_string_append(out, ", \"colormap\": ");
    cli_json_string(out, r->colormap);
    g_string_append_printf(out, ",\n     \"map\": {\"height\": %d, \"width\": %d, \"values\": [",
                           r->ex->map_height, r->ex->map_width);
    size_t n = (size_t) r->ex->map_height * r->ex->map_width;
    for (size_t i = 0; i < n; i++) {
        if (i) g_string_append(out, ", ");
        cli_json_float(out, r->ex->map[i]);
    }
    g_string_append(out, "], \"min\": ");
    cli_json_float(out, r->map_min);
    g_string_append(out, ", \"max\": ");
    cli_json_float(out, r->map_max);
    g_string_append(out, ", \"mean\": ");
    cli_json_float(out, r->map_mean);
    g_string_append(out, "},\n     \"output\": ");
    if (r->output)
        cli_json_string(out, r->output);
    else
        g_string_append(out, "null");
    g_string_append(out, "}");
}

void cli_json_model(GString *out, const cam_model *model, const char *indent)
{
    const cam_model_info *info = cam_model_get_info(model);
    g_string_append(out, "{\"name\": ");
    cli_json_string(out, info->name);
    g_string_append(out, ", \"path\": ");
    cli_json_string(out, info->origin);
    const int channels = cam_model_input_channels(model);
    g_string_append_printf(out,
                           ",\n%s \"input\": {\"channels\": %d, \"height\": %d, \"width\": %d, "
                           "\"scale\": ",
                           indent, channels, cam_model_input_height(model),
                           cam_model_input_width(model));
    cli_json_float(out, info->input_scale);
    for (int k = 0; k < 2; k++) {
        g_string_append(out, k ? ", \"std\": [" : ", \"mean\": [");
        for (int c = 0; c < channels && c < 4; c++) {
            if (c) g_string_append(out, ", ");
            cli_json_float(out, k ? info->input_std[c] : info->input_mean[c]);
        }
        g_string_append(out, "]");
    }
    g_string_append(out, ", \"channel_order\": ");
    cli_json_string(out, cam_channel_order_name(info->channel_order));
    g_string_append(out, ", \"resize_policy\": ");
    cli_json_string(out, cam_aspect_name(info->resize_policy));
    g_string_append_printf(out, ", \"resize\": %d, \"interpolation\": ", info->resize_size);
    cli_json_string(out, cam_resample_name(info->interpolation));
    /* what the metadata did not say (the engine's defaults were used) */
    static const struct { unsigned bit; const char *name; } assumed[] = {
        {CAM_ASSUMED_SCALE, "scale"}, {CAM_ASSUMED_MEAN_STD, "mean_std"},
        {CAM_ASSUMED_CHANNEL_ORDER, "channel_order"}, {CAM_ASSUMED_RESIZE_POLICY, "resize_policy"}};
    g_string_append(out, ", \"assumed\": [");
    gboolean first = TRUE;
    for (size_t i = 0; i < G_N_ELEMENTS(assumed); i++) {
        if (!(info->input_assumed & assumed[i].bit)) continue;
        if (!first) g_string_append(out, ", ");
        cli_json_string(out, assumed[i].name);
        first = FALSE;
    }
    g_string_append_printf(out, "]},\n%s \"classes\": [", indent);
    for (int c = 0; c < cam_model_n_classes(model); c++) {
        if (c) g_string_append(out, ", ");
        cli_json_string(out, cam_model_class_label(model, c));
    }
    g_string_append(out, "]}");
}

void cli_json_images(GString *out, const cam_model *model, const cli_settings *settings,
                     const cli_result *results, int n_results)
{
    g_string_append_printf(out, "{\"format\": \"cam-heatmap\", \"version\": %d, \"program\": ",
                           CLI_JSON_FORMAT_VERSION);
    cli_json_string(out, "cam-heatmap " CAM_VERSION_STRING);
    g_string_append(out, ",\n \"model\": ");
    cli_json_model(out, model, "");
    g_string_append(out, ",\n \"settings\": {\"method\": ");
    cli_json_string(out, settings->method);
    g_string_append(out, ", \"class\": ");
    cli_json_string(out, settings->class_spec);
    g_string_append(out, ", \"layer\": ");
    cli_json_string(out, settings->layer);
    g_string_append(out, ", \"colormap\": ");
    cli_json_string(out, settings->colormap);
    g_string_append(out, ", \"alpha\": ");
    if (settings->alpha >= 0)
        cli_json_float(out, settings->alpha);
    else
        g_string_append(out, "null");
    g_string_append(out, ", \"output_kind\": ");
    cli_json_string(out, settings->output_kind);
    g_string_append(out, ", \"aspect\": ");
    cli_json_string(out, settings->aspect);
    g_string_append(out, ", \"invert\": ");
    cli_json_string(out, settings->invert);
    g_string_append(out, ", \"upsample\": ");
    cli_json_string(out, settings->upsample);
    g_string_append(out, ",\n              \"layers\": ");
    if (settings->layers) {
        g_string_append(out, "[");
        for (int i = 0; settings->layers[i]; i++) {
            if (i) g_string_append(out, ", ");
            cli_json_string(out, settings->layers[i]);
        }
        g_string_append(out, "]");
    } else {
        g_string_append(out, "null");
    }
    g_string_append_printf(out,
                           ", \"eigen_smooth\": %s, \"aug_smooth\": %s, \"aug_smooth_mode\": %s, "
                           "\"target_score\": ",
                           settings->eigen_smooth ? "true" : "false",
                           settings->aug_smooth ? "true" : "false",
                           settings->aug_smooth == CAM_AUG_SMOOTH_BRIGHTNESS ? "\"brightness\""
                           : settings->aug_smooth                         ? "\"scales\""
                                                                          : "null");
    cli_json_string(out, settings->target_score ? settings->target_score : "logit");
    g_string_append(out, "},\n \"images\": [\n");
    for (int i = 0; i < n_results; i++) {
        if (i) g_string_append(out, ",\n");
        json_image(out, model, &results[i]);
    }
    g_string_append(out, "\n ]}\n");
}
