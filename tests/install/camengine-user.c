/*
 * camengine-user.c -- a program as a user writes it against an installed libcamengine
 * (tests/install/install-check.sh compiles it with `pkg-config --cflags --libs
 * camengine` only, outside the source and build trees).
 *
 *   camengine-user MODEL EXPECTED_VERSION
 *
 * Loads MODEL by name (the installed bundled models), explains a synthetic image with
 * the model's defaults and prints
 *   model: <path the name resolved to>
 *   version: <cam_version_string()>
 *   class: <index> <label> <probability>
 * Exit status 0 when everything worked and the library's version is EXPECTED_VERSION
 * (the header and the library that was loaded must come from the same install).
 */
#include <camengine.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: camengine-user MODEL EXPECTED_VERSION\n");
        return 2;
    }
    const char *name = argv[1];
    cam_error err;
    if (strcmp(cam_version_string(), argv[2]) != 0 || strcmp(CAM_VERSION_STRING, argv[2]) != 0) {
        fprintf(stderr, "version: library %s, header %s, expected %s\n", cam_version_string(),
                CAM_VERSION_STRING, argv[2]);
        return 1;
    }
    char *path = NULL;
    if (cam_model_find(name, &path, &err) != CAM_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("model: %s\nversion: %s\n", path, cam_version_string());
    free(path);

    cam_model *model = NULL;
    if (cam_model_load(name, &model, &err) != CAM_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    cam_workspace *ws = NULL;
    if (cam_workspace_new(model, 1, &ws, &err) != CAM_OK) {
        fprintf(stderr, "%s\n", err.message);
        cam_model_free(model);
        return 1;
    }
    /* a 48x40 RGB image: a bright disc on a dark gradient */
    enum { W = 48, H = 40 };
    static unsigned char pixels[H][W][3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int dx = x - 30, dy = y - 18, in = dx * dx + dy * dy < 100;
            pixels[y][x][0] = (unsigned char)(in ? 230 : 3 * x);
            pixels[y][x][1] = (unsigned char)(in ? 200 : 4 * y);
            pixels[y][x][2] = (unsigned char)(in ? 40 : 90);
        }
    cam_image image = {pixels, W, H, 3, CAM_SAMPLE_U8, sizeof pixels[0]};
    float *input = malloc(cam_model_input_size(model) * sizeof *input);
    cam_explanation *ex = NULL;
    cam_explain_options opt = cam_explain_options_default(model);
    int ok = input && cam_preprocess(model, &image, NULL, input, NULL, &err) == CAM_OK &&
             cam_explain(ws, input, &opt, &ex, &err) == CAM_OK;
    if (!ok)
        fprintf(stderr, "%s\n", input ? err.message : "out of memory");
    else if (ex->class_index < 0 || ex->class_index >= cam_model_n_classes(model) || !ex->map ||
             ex->map_width < 1 || ex->map_height < 1 ||
             !(ex->probability > 0 && ex->probability <= 1)) {
        fprintf(stderr, "implausible explanation: class %d, p %g, map %dx%d\n", ex->class_index,
                (double)ex->probability, ex->map_width, ex->map_height);
        ok = 0;
    } else
        printf("class: %d %s %.4f\n", ex->class_index,
               cam_model_class_label(model, ex->class_index), (double)ex->probability);
    cam_explanation_free(ex);
    free(input);
    cam_workspace_free(ws);
    cam_model_free(model);
    return ok ? 0 : 1;
}
