/*
 * cli-engine-render.c -- the engine called directly, without any of cam-heatmap's code,
 * for the CLI tests to compare with: raw 8-bit pixels in, explanation (JSON on stdout)
 * and rendered pixels (raw file) out.
 *
 *   cli-engine-render MODEL PIXELS.raw WIDTH HEIGHT CHANNELS METHOD|default CLASS|-1
 *                     blend|heatmap OUT.raw [ALPHA|default] [COLORMAP|default]
 *
 * OUT.raw: the full-size render, 3 channels (4 for a blend of an image with alpha).
 */
#include <camengine.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const cam_error *err)
{
    fprintf(stderr, "cli-engine-render: %s: %s\n", what, err ? err->message : "");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 10) {
        fprintf(stderr, "usage: %s MODEL PIXELS W H C METHOD CLASS KIND OUT [ALPHA] [CMAP]\n",
                argv[0]);
        return 2;
    }
    int w = atoi(argv[3]), h = atoi(argv[4]), c = atoi(argv[5]);
    cam_error err = {0};
    cam_model *model = NULL;
    if (cam_model_load(argv[1], &model, &err) != CAM_OK) return fail("model", &err);
    size_t n = (size_t) w * h * c;
    unsigned char *pixels = malloc(n);
    FILE *f = fopen(argv[2], "rb");
    if (!f || fread(pixels, 1, n, f) != n) return fail("reading the pixels", NULL);
    fclose(f);
    cam_image img = {pixels, w, h, c, CAM_SAMPLE_U8, (size_t) w * c};

    float *input = malloc(cam_model_input_size(model) * sizeof *input);
    if (cam_preprocess(model, &img, NULL, input, NULL, &err) != CAM_OK)
        return fail("preprocess", &err);
    cam_workspace *ws = NULL;
    if (cam_workspace_new(model, 1, &ws, &err) != CAM_OK) return fail("workspace", &err);
    cam_explain_options eo = cam_explain_options_default(model);
    if (strcmp(argv[6], "default") != 0 && cam_method_from_name(argv[6], &eo.method, &err))
        return fail("method", &err);
    eo.class_index = atoi(argv[7]);
    cam_explanation *ex = NULL;
    if (cam_explain(ws, input, &eo, &ex, &err) != CAM_OK) return fail("explain", &err);

    printf("{\"class\": %d, \"probability\": %.9g, \"method\": \"%s\", \"layer\": \"%s\", "
           "\"probabilities\": [",
           ex->class_index, ex->probability, cam_method_name(eo.method), ex->layer);
    for (int i = 0; i < ex->n_classes; i++) printf("%s%.9g", i ? ", " : "", ex->probabilities[i]);
    printf("], \"map_height\": %d, \"map_width\": %d, \"map\": [", ex->map_height, ex->map_width);
    for (int i = 0; i < ex->map_height * ex->map_width; i++)
        printf("%s%.9g", i ? ", " : "", ex->map[i]);
    printf("]}\n");

    cam_render_options ro = cam_render_options_for_model(model, eo.method, ex->probability);
    ro.output = strcmp(argv[8], "blend") == 0 ? CAM_OUTPUT_BLEND : CAM_OUTPUT_HEATMAP;
    if (argc > 10 && strcmp(argv[10], "default") != 0) ro.alpha = (float) atof(argv[10]);
    if (argc > 11 && strcmp(argv[11], "default") != 0 &&
        cam_colormap_from_name(argv[11], &ro.colormap, &err) != CAM_OK)
        return fail("colormap", &err);
    int oc = (ro.output == CAM_OUTPUT_BLEND && (c == 2 || c == 4)) ? 4 : 3;
    unsigned char *out = calloc((size_t) w * h * oc, 1);
    cam_image dst = {out, w, h, oc, CAM_SAMPLE_U8, (size_t) w * oc};
    if (cam_render_image(ex->map, ex->map_width, ex->map_height, &ro, &img, &dst, &err) != CAM_OK)
        return fail("render", &err);
    f = fopen(argv[9], "wb");
    if (!f || fwrite(out, 1, (size_t) w * h * oc, f) != (size_t) w * h * oc || fclose(f))
        return fail("writing the output", NULL);

    free(out);
    free(input);
    free(pixels);
    cam_explanation_free(ex);
    cam_workspace_free(ws);
    cam_model_free(model);
    return 0;
}
