/* test-preprocess-model.c -- the model-dependent part of the image side with
 * real loaded models: cam_input_spec_from_model, cam_preprocess (equal to
 * cam_preprocess_spec, hand-checked values with the fixture's mean/std and
 * black background) and cam_render_options_for_model. Uses the loader fixture
 * tests/engine/data/tiny-cam.onnx (1x6x6, mean 0.5, std 0.25, background
 * black, greens-reds, alpha 0.5) and, when present, the bundled models. */
#include "camengine.h"
#include "render-test.h"

#include <stdlib.h>
#include <string.h>

static cam_model *load(const char *dir, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    cam_model *m = NULL;
    cam_error err = {0};
    if (cam_model_load(path, &m, &err) != CAM_OK) {
        printf("cannot load %s: %s\n", path, err.message);
        return NULL;
    }
    return m;
}

static void test_fixture(cam_model *m)
{
    cam_error err = {0};
    cam_input_spec spec;
    CHECK_STATUS(cam_input_spec_from_model(m, &spec, &err), CAM_OK);
    CHECK(spec.channels == 1 && spec.width == 6 && spec.height == 6, "spec shape %dx%dx%d",
          spec.channels, spec.height, spec.width);
    CHECK_NEAR(spec.scale, 1.0 / 255.0, 1e-9, "scale");
    CHECK_NEAR(spec.mean[0], 0.5, 0, "mean");
    CHECK_NEAR(spec.std[0], 0.25, 0, "std");
    CHECK(spec.background == CAM_BACKGROUND_BLACK, "background %d", (int)spec.background);

    /* A 12x12 photo of a dark square on white: auto-inverted for this black-background
     * model. Corners: white -> inverted 0 -> (0 - 0.5) / 0.25 = -2; centre: black ->
     * 1 -> 2. */
    uint8_t px[12 * 12 * 3];
    for (int y = 0; y < 12; y++)
        for (int x = 0; x < 12; x++)
            memset(px + 3 * (y * 12 + x), (x >= 4 && x < 8 && y >= 4 && y < 8) ? 0 : 255, 3);
    cam_image img = {px, 12, 12, 3, CAM_SAMPLE_U8, 36};
    float a[36], b[36];
    cam_preprocess_info info;
    CHECK(cam_model_input_size(m) == 36, "input size %zu", cam_model_input_size(m));
    CHECK_STATUS(cam_preprocess(m, &img, NULL, a, &info, &err), CAM_OK);
    CHECK(info.inverted == 1, "not inverted");
    CHECK_NEAR(a[0], -2.0, 1e-5, "corner");
    CHECK_NEAR(a[2 * 6 + 2], 2.0, 1e-5, "centre");
    CHECK_STATUS(cam_preprocess_spec(&spec, &img, NULL, b, NULL, &err), CAM_OK);
    CHECK(memcmp(a, b, sizeof a) == 0, "cam_preprocess != cam_preprocess_spec");
    cam_preprocess_options zero;
    memset(&zero, 0, sizeof zero);
    CHECK_STATUS(cam_preprocess(m, &img, &zero, a, &info, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "cam_preprocess:") && strstr(err.message, "cam_preprocess_options_default()"),
          "zeroed options: %s", err.message);

    /* The preprocessed input runs through the model. */
    cam_workspace *ws = NULL;
    CHECK_STATUS(cam_workspace_new(m, 1, &ws, &err), CAM_OK);
    if (ws) {
        cam_explain_options eo = cam_explain_options_default(m);
        cam_explanation *ex = NULL;
        CHECK_STATUS(cam_explain(ws, a, &eo, &ex, &err), CAM_OK);
        if (ex) {
            cam_render_options ro = cam_render_options_for_model(m, eo.method, ex->probability);
            uint8_t out[12 * 12 * 4];
            cam_image dst = {out, 12, 12, 4, CAM_SAMPLE_U8, 48};
            CHECK_STATUS(cam_render_image(ex->map, ex->map_width, ex->map_height, &ro, NULL, &dst, &err),
                         CAM_OK);
        }
        cam_explanation_free(ex);
        cam_workspace_free(ws);
    }

    /* Render defaults from the metadata. */
    cam_render_options o = cam_render_options_for_model(m, CAM_METHOD_GRAD_CAM_TUTORIAL, 0.97f);
    CHECK(o.colormap == CAM_COLORMAP_GREENS_REDS, "colormap %d", (int)o.colormap);
    CHECK_NEAR(o.alpha, 0.5, 0, "alpha");
    CHECK_NEAR(o.threshold, 0.95, 1e-7, "threshold");
    CHECK(o.relu == 1, "relu for the tutorial method");
    CHECK(cam_colormap_resolve(o.colormap, o.probability, o.threshold) == CAM_COLORMAP_GREENS, "greens");
    o = cam_render_options_for_model(m, CAM_METHOD_CAM, 0.5f);
    CHECK(o.relu == 0, "no relu for CAM");
}

static void test_bundled(const char *dir)
{
    cam_error err = {0};
    cam_model *f = load(dir, "weights/fashion-mnist.onnx");
    if (f) {
        cam_input_spec s;
        CHECK_STATUS(cam_input_spec_from_model(f, &s, &err), CAM_OK);
        CHECK(s.channels == 1 && s.width == 28 && s.height == 28 && s.background == CAM_BACKGROUND_BLACK,
              "fashion-mnist spec %dx%dx%d bg %d", s.channels, s.height, s.width, (int)s.background);
        cam_model_free(f);
    } else {
        printf("note: weights/fashion-mnist.onnx not loadable; skipped\n");
    }
    cam_model *c = load(dir, "weights/cifar10.onnx");
    if (c) {
        cam_input_spec s;
        CHECK_STATUS(cam_input_spec_from_model(c, &s, &err), CAM_OK);
        CHECK(s.channels == 3 && s.width == 32 && s.height == 32 && s.background == CAM_BACKGROUND_NONE,
              "cifar10 spec %dx%dx%d bg %d", s.channels, s.height, s.width, (int)s.background);
        cam_render_options o = cam_render_options_for_model(c, CAM_METHOD_GRAD_CAM, 0.9f);
        CHECK(o.colormap == CAM_COLORMAP_JET, "cifar10 colormap %d", (int)o.colormap);
        cam_model_free(c);
    } else {
        printf("note: weights/cifar10.onnx not loadable; skipped\n");
    }
}

int main(void)
{
    const char *dir = getenv("CAM_SOURCE_DIR");
    if (!dir) {
        printf("SKIP: CAM_SOURCE_DIR is not set (run through meson test)\n");
        return 77;
    }
    cam_model *m = load(dir, "tests/engine/data/tiny-cam.onnx");
    CHECK(m != NULL, "fixture tests/engine/data/tiny-cam.onnx");
    if (m) {
        test_fixture(m);
        cam_model_free(m);
    }
    test_bundled(dir);
    cam_error err = {0};
    cam_input_spec s;
    CHECK_STATUS(cam_input_spec_from_model(NULL, &s, &err), CAM_ERROR_INVALID_ARGUMENT);
    return test_summary("test-preprocess-model");
}
