/*
 * cam-model.c -- the cam-model tool: what gimp-cam sees in an ONNX model
 * (cam-model info) and gimp-cam's metadata written into a copy of any ONNX file
 * (cam-model set), byte-identical outside ModelProto.metadata_props. The work is
 * the engine's (cam_model_get_info, cam_model_file_set_metadata); this file only
 * parses the command line and prints.
 */
#include "cam-cli-metadata.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRAM "cam-model"

enum { EXIT_OK = 0, EXIT_USAGE = 2, EXIT_MODEL = 3, EXIT_WRITE = 4 };

static const char summary[] =
    "Show what gimp-cam sees in an ONNX image classifier, or write gimp-cam's metadata\n"
    "(preprocessing, labels, defaults) into a copy of it.\n"
    "\n"
    "Commands:\n"
    "  info MODEL              inputs, outputs, preprocessing (and what was assumed),\n"
    "                          labels, explainable layers with their shapes, default\n"
    "                          method and layer, other metadata, SHA-256 of the file\n"
    "  set MODEL -o OUT [...]  OUT = MODEL with the given metadata (cam.* keys); every\n"
    "                          byte outside ModelProto.metadata_props is kept as it is\n"
    "\n"
    "MODEL is an .onnx file or a bundled model's name (fashion-mnist, cifar10).";

static const char description[] =
    "The values given to set are checked by loading the result (a layer that cannot be\n"
    "explained, an unknown colormap, a mean with the wrong number of channels, labels that\n"
    "do not match the classes are refused, naming the option) and OUT is written only\n"
    "when complete (a temporary file renamed over it). OUT may be MODEL itself.\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  2  usage error (unknown command or option, a value that does not fit the model)\n"
    "  3  the model could not be loaded\n"
    "  4  OUT could not be written\n"
    "\n"
    "Examples:\n"
    "  cam-model info resnet50.onnx\n"
    "  cam-model set resnet50.onnx -o resnet50-cam.onnx --labels imagenet \\\n"
    "      --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --resize 256 --crop 224 \\\n"
    "      --interpolation bilinear\n"
    "  cam-model set caffe-net.onnx -o net.onnx --scale 1 --channel-order bgr \\\n"
    "      --mean 103.939,116.779,123.68\n";

static int usage_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", PROGRAM, msg, PROGRAM);
    g_free(msg);
    return EXIT_USAGE;
}

static char *file_sha256(const char *path, GError **error)
{
    char *data = NULL;
    gsize size = 0;
    if (!g_file_get_contents(path, &data, &size, error)) return NULL;
    char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *) data, size);
    g_free(data);
    return sum;
}

static const char *given(const cam_model *model, const char *key)
{
    return cam_model_get_metadata(model, key) ? "" : "  (assumed)";
}

static int cmd_info(const char *name)
{
    cam_model *model = NULL;
    cam_error err = {0};
    if (cam_model_load(name, &model, &err) != CAM_OK) {
        fprintf(stderr, "%s: cannot load model %s: %s\n", PROGRAM, name, err.message);
        return EXIT_MODEL;
    }
    const cam_model_info *info = cam_model_get_info(model);
    GError *error = NULL;
    char *sum = file_sha256(info->origin, &error);
    if (!sum) {
        fprintf(stderr, "%s: %s\n", PROGRAM, error->message);
        g_error_free(error);
        cam_model_free(model);
        return EXIT_MODEL;
    }
    const int C = cam_model_input_channels(model), H = cam_model_input_height(model),
              W = cam_model_input_width(model);
    printf("file:        %s\n", info->origin);
    printf("sha256:      %s\n", sum);
    printf("name:        %s\n", info->name);
    if (*info->description) printf("description: %s\n", info->description);
    if (info->input_nhwc)
        printf("input:       %s  N x %d x %d x %d (N x H x W x C, read through its Transpose)\n",
               info->input_name, H, W, C);
    else
        printf("input:       %s  N x %d x %d x %d (N x C x H x W)\n", info->input_name, C, H, W);
    printf("output:      %s  N x %d (class scores%s)\n", info->output_name,
           cam_model_n_classes(model),
           strcmp(info->output_name, info->logits_name) ? ", a Softmax of the logits" : "");
    if (strcmp(info->output_name, info->logits_name))
        printf("logits:      %s\n", info->logits_name);
    printf("preprocessing:\n");
    printf("  %-16s%.9g%s\n", "scale", (double) info->input_scale, given(model, "cam.input.scale"));
    const char *mean_given = cam_model_get_metadata(model, "cam.input.mean") ? "" : "  (assumed)";
    printf("  %-16s", "mean");
    for (int c = 0; c < C && c < 4; c++) printf("%s%g", c ? ", " : "", (double) info->input_mean[c]);
    printf("%s\n", mean_given);
    printf("  %-16s", "std");
    for (int c = 0; c < C && c < 4; c++) printf("%s%g", c ? ", " : "", (double) info->input_std[c]);
    printf("%s\n", given(model, "cam.input.std"));
    if (C == 3)
        printf("  %-16s%s%s\n", "channel order", cam_channel_order_name(info->channel_order),
               given(model, "cam.input.channel-order"));
    printf("  %-16s%s%s\n", "resize policy", cam_aspect_name(info->resize_policy),
           given(model, "cam.input.resize-policy"));
    if (info->resize_size > 0)
        printf("  %-16sshorter side to %d, then centre crop %dx%d\n", "resize",
               info->resize_size, W, H);
    printf("  %-16s%s%s\n", "interpolation", cam_resample_name(info->interpolation),
           given(model, "cam.input.interpolation"));
    printf("  %-16s%s\n", "background",
           info->background == CAM_BACKGROUND_BLACK   ? "black"
           : info->background == CAM_BACKGROUND_WHITE ? "white"
                                                      : "none");
    if (*info->input_notice) printf("  notice: %s\n", info->input_notice);
    const int n_classes = cam_model_n_classes(model);
    if (cam_model_get_metadata(model, "cam.labels"))
        printf("labels:      %d (%s ... %s)\n", n_classes, cam_model_class_label(model, 0),
               cam_model_class_label(model, n_classes - 1));
    else
        printf("labels:      none (classes are shown as \"class N\"; cam-model set --labels)\n");
    printf("default method: %s%s\n", cam_method_name(info->default_method),
           given(model, "cam.default.method"));
    const char *autol = cam_model_auto_layer(model);
    printf("default layer:  %s%s\n", *info->default_layer ? info->default_layer : "(none)",
           cam_model_get_metadata(model, "cam.default.layer") ? "" : "  (automatic)");
    printf("CAM structure (conv -> global average pool -> dense): %s\n",
           cam_model_supports_cam(model) ? "yes" : "no");
    printf("display:     colormap %s, alpha %g, threshold %g\n", info->default_colormap,
           (double) info->default_alpha, (double) info->colormap_threshold);
    printf("explainable layers (%d, run order; C x H x W):\n", cam_model_n_layers(model));
    for (int i = 0; i < cam_model_n_layers(model); i++) {
        cam_layer_info li;
        if (cam_model_get_layer(model, i, &li, NULL) != CAM_OK) continue;
        printf("  %-40s %-20s %dx%dx%d%s%s\n", li.name, li.op, li.channels, li.height, li.width,
               !strcmp(li.name, info->default_layer) ? "  [default]" : "",
               autol && !strcmp(li.name, autol) ? "  [auto]" : "");
    }
    /* the metadata as in the file, cam.labels shortened */
    printf("metadata (%d keys):\n", cam_model_n_metadata(model));
    for (int i = 0; i < cam_model_n_metadata(model); i++) {
        const char *key = cam_model_metadata_key(model, i);
        const char *value = cam_model_get_metadata(model, key);
        if (!strcmp(key, "cam.labels")) {
            printf("  %s = (%d labels)\n", key, n_classes);
            continue;
        }
        char *one_line = g_strdup(value);
        g_strdelimit(one_line, "\r\n\t", ' ');
        if (g_utf8_strlen(one_line, -1) > 100) {
            char *cut = g_utf8_substring(one_line, 0, 100);
            g_free(one_line);
            one_line = g_strconcat(cut, "...", NULL);
            g_free(cut);
        }
        printf("  %s = %s\n", key, one_line);
        g_free(one_line);
    }
    g_free(sum);
    cam_model_free(model);
    return EXIT_OK;
}

static int cmd_set(int argc, char **argv)
{
    /* the option values live until the process exits (as cam-heatmap's opt_*) */
    static cli_model_flags flags;
    static char *out;
    GOptionEntry out_entry[] = {
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The file to write (may be MODEL)",
         "OUT"},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("MODEL -o OUT - write gimp-cam's metadata into "
                                               "a copy of an ONNX file");
    g_option_context_add_main_entries(ctx, out_entry, NULL);
    g_option_context_add_main_entries(ctx, cli_model_flag_entries(&flags, TRUE), NULL);
    g_option_context_set_description(ctx, description);
    GError *error = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        int rc = usage_error("set: %s", error->message);
        g_error_free(error);
        g_option_context_free(ctx);
        return rc;
    }
    g_option_context_free(ctx);
    if (argc != 2) return usage_error("set: one MODEL is expected (got %d)", argc - 1);
    if (!out) return usage_error("set: --output (-o) OUT is required");
    const char *name = argv[1];
    cam_model *model = NULL;
    cam_error err = {0};
    char *path = NULL;
    if (cam_model_find(name, &path, &err) != CAM_OK ||
        cam_model_load(path, &model, &err) != CAM_OK) {
        fprintf(stderr, "%s: cannot load model %s: %s\n", PROGRAM, name, err.message);
        free(path);
        return EXIT_MODEL;
    }
    cli_edits edits;
    cli_edits_init(&edits);
    int rc = EXIT_OK;
    if (!cli_model_flags_to_edits(&flags, model, &edits, &error)) {
        rc = usage_error("%s", error->message);
        g_error_free(error);
    } else if (cli_edits_count(&edits) == 0) {
        rc = usage_error("set: nothing to set (give --labels, --mean, ..., see --help)");
    } else if (cam_model_file_set_metadata(path, out, (const char *const *) edits.keys->pdata,
                                           (const char *const *) edits.values->pdata,
                                           cli_edits_count(&edits), &err) != CAM_OK) {
        char *msg = cli_edits_describe_error(&edits, err.message);
        if (err.status == CAM_ERROR_IO || err.status == CAM_ERROR_NO_MEMORY) {
            fprintf(stderr, "%s: %s\n", PROGRAM, msg);
            rc = EXIT_WRITE;
        } else {
            rc = usage_error("%s", msg);
        }
        g_free(msg);
    }
    cli_edits_clear(&edits);
    cam_model_free(model);
    free(path);
    return rc;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C");
    if (argc >= 2 && !strcmp(argv[1], "set")) return cmd_set(argc - 1, argv + 1);
    gboolean version = FALSE;
    GOptionEntry entries[] = {
        {"version", 'V', 0, G_OPTION_ARG_NONE, &version, "Show the version and exit", NULL},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("info MODEL | set MODEL -o OUT [OPTION...]");
    g_option_context_set_summary(ctx, summary);
    g_option_context_set_description(ctx, description);
    g_option_context_add_main_entries(ctx, entries, NULL);
    /* the set options, shown by --help-all (and so in the man page) */
    static cli_model_flags help_flags;
    GOptionGroup *set = g_option_group_new("set", "Options of set:", "Show the options of set",
                                           NULL, NULL);
    static char *help_out;
    GOptionEntry out_entry[] = {
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &help_out, "The file to write (may be MODEL)",
         "OUT"},
        G_OPTION_ENTRY_NULL};
    g_option_group_add_entries(set, out_entry);
    g_option_group_add_entries(set, cli_model_flag_entries(&help_flags, TRUE));
    g_option_context_add_group(ctx, set);
    GError *error = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        int rc = usage_error("%s", error->message);
        g_error_free(error);
        g_option_context_free(ctx);
        return rc;
    }
    g_option_context_free(ctx);
    if (version) {
        printf("%s (gimp-cam) %s\n", PROGRAM, CAM_VERSION_STRING);
        printf("libcamengine %s\n", cam_version_string());
        return EXIT_OK;
    }
    if (argc < 2) return usage_error("a command is expected: info or set");
    if (!strcmp(argv[1], "info")) {
        if (argc != 3) return usage_error("info: one MODEL is expected");
        return cmd_info(argv[2]);
    }
    if (!strcmp(argv[1], "set")) return usage_error("set: options go after 'set'");
    return usage_error("unknown command '%s' (info or set)", argv[1]);
}
