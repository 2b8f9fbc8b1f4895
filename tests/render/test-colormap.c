/* test-colormap.c -- colormap names, matplotlib's index rule, hand-checked
 * table entries (the full tables are compared with matplotlib in
 * test-render-torch.py) and the greens-reds rule. */
#include "camengine.h"
#include "render-test.h"

#include <string.h>

static void check_rgb(cam_colormap c, float t, int r, int g, int b)
{
    uint8_t rgb[3];
    cam_colormap_lookup(c, t, rgb);
    CHECK(rgb[0] == r && rgb[1] == g && rgb[2] == b, "%s(%g) = %d,%d,%d, expected %d,%d,%d",
          cam_colormap_name(c), (double)t, rgb[0], rgb[1], rgb[2], r, g, b);
}

int main(void)
{
    cam_error err = {0};
    /* Names round-trip, case-insensitive, aliases, unknown. */
    for (int i = 0; i < CAM_COLORMAP_COUNT; i++) {
        cam_colormap c = CAM_COLORMAP_COUNT;
        const char *name = cam_colormap_name((cam_colormap)i);
        CHECK(name != NULL, "colormap %d has no name", i);
        CHECK_STATUS(cam_colormap_from_name(name, &c, &err), CAM_OK);
        CHECK(c == (cam_colormap)i, "%s -> %d", name, (int)c);
        CHECK((cam_colormap_table((cam_colormap)i) != NULL) == (i != CAM_COLORMAP_GREENS_REDS),
              "table of %s", name);
    }
    cam_colormap c;
    CHECK_STATUS(cam_colormap_from_name("Viridis", &c, &err), CAM_OK);
    CHECK(c == CAM_COLORMAP_VIRIDIS, "Viridis");
    CHECK_STATUS(cam_colormap_from_name("Greens", &c, &err), CAM_OK);
    CHECK(c == CAM_COLORMAP_GREENS, "Greens");
    CHECK_STATUS(cam_colormap_from_name("grey", &c, &err), CAM_OK);
    CHECK(c == CAM_COLORMAP_GRAY, "grey");
    CHECK_STATUS(cam_colormap_from_name("confidence", &c, &err), CAM_OK);
    CHECK(c == CAM_COLORMAP_GREENS_REDS, "confidence");
    CHECK_STATUS(cam_colormap_from_name("rainbow", &c, &err), CAM_ERROR_NOT_FOUND);
    CHECK(strstr(err.message, "rainbow") != NULL, "message names the colormap: %s", err.message);
    CHECK(cam_colormap_name(CAM_COLORMAP_COUNT) == NULL, "name of COUNT");
    CHECK(cam_colormap_table(CAM_COLORMAP_COUNT) == NULL, "table of COUNT");

    /* Other enums' names round-trip. */
    for (int i = 0; i < CAM_UPSAMPLE_COUNT; i++) {
        cam_upsample u;
        CHECK_STATUS(cam_upsample_from_name(cam_upsample_name((cam_upsample)i), &u, &err), CAM_OK);
        CHECK(u == (cam_upsample)i, "upsample %d", i);
    }
    for (int i = 0; i < CAM_NORMALIZE_COUNT; i++) {
        cam_normalize u;
        CHECK_STATUS(cam_normalize_from_name(cam_normalize_name((cam_normalize)i), &u, &err), CAM_OK);
        CHECK(u == (cam_normalize)i, "normalize %d", i);
    }
    for (int i = 0; i < CAM_OUTPUT_COUNT; i++) {
        cam_output u;
        CHECK_STATUS(cam_output_from_name(cam_output_name((cam_output)i), &u, &err), CAM_OK);
        CHECK(u == (cam_output)i, "output %d", i);
    }
    for (int i = 0; i < CAM_ASPECT_COUNT; i++) {
        cam_aspect u;
        CHECK_STATUS(cam_aspect_from_name(cam_aspect_name((cam_aspect)i), &u, &err), CAM_OK);
        CHECK(u == (cam_aspect)i, "aspect %d", i);
    }
    for (int i = 0; i < CAM_INVERT_COUNT; i++) {
        cam_invert u;
        CHECK_STATUS(cam_invert_from_name(cam_invert_name((cam_invert)i), &u, &err), CAM_OK);
        CHECK(u == (cam_invert)i, "invert %d", i);
    }
    cam_upsample u;
    CHECK_STATUS(cam_upsample_from_name("nearest", &u, &err), CAM_ERROR_NOT_FOUND);
    CHECK(strstr(err.message, "nearest") && strstr(err.message, "bicubic"), "%s", err.message);

    /* One rule for every enum (camengine.h, CONVENTIONS): the name of a value out
     * of range is NULL, names are lower case, from_name ignores case, NULL
     * arguments are INVALID_ARGUMENT, an unknown name NOT_FOUND listing every
     * known name, and the output is left alone on error. */
    CHECK(cam_upsample_name(CAM_UPSAMPLE_COUNT) == NULL && cam_upsample_name((cam_upsample)-1) == NULL,
          "upsample out of range");
    CHECK(cam_normalize_name(CAM_NORMALIZE_COUNT) == NULL, "normalize out of range");
    CHECK(cam_output_name(CAM_OUTPUT_COUNT) == NULL, "output out of range");
    CHECK(cam_aspect_name(CAM_ASPECT_COUNT) == NULL, "aspect out of range");
    CHECK(cam_invert_name(CAM_INVERT_COUNT) == NULL, "invert out of range");
    CHECK(cam_colormap_name((cam_colormap)-1) == NULL, "colormap -1");
    CHECK(cam_method_name(CAM_METHOD_COUNT) == NULL, "method out of range");
    CHECK(cam_status_name(CAM_STATUS_COUNT) == NULL, "status out of range");
    for (int i = 0; i < CAM_COLORMAP_COUNT; i++)
        for (const char *p = cam_colormap_name((cam_colormap)i); *p; p++)
            CHECK(!(*p >= 'A' && *p <= 'Z'), "colormap name %s is not lower case",
                  cam_colormap_name((cam_colormap)i));
    CHECK_STATUS(cam_upsample_from_name("BiCubic", &u, &err), CAM_OK);
    CHECK(u == CAM_UPSAMPLE_BICUBIC, "BiCubic");
    cam_normalize nm = CAM_NORMALIZE_MINMAX;
    CHECK_STATUS(cam_normalize_from_name("MinMax-Output", &nm, &err), CAM_OK);
    CHECK(nm == CAM_NORMALIZE_MINMAX_OUTPUT, "MinMax-Output");
    cam_output ou = CAM_OUTPUT_HEATMAP;
    CHECK_STATUS(cam_output_from_name("BLEND", &ou, &err), CAM_OK);
    CHECK(ou == CAM_OUTPUT_BLEND, "BLEND");
    cam_aspect as = CAM_ASPECT_STRETCH;
    CHECK_STATUS(cam_aspect_from_name("Pad", &as, &err), CAM_OK);
    CHECK(as == CAM_ASPECT_PAD, "Pad");
    cam_invert iv = CAM_INVERT_AUTO;
    CHECK_STATUS(cam_invert_from_name("ON", &iv, &err), CAM_OK);
    CHECK(iv == CAM_INVERT_ON, "ON");
    cam_method me = CAM_METHOD_CAM;
    CHECK_STATUS(cam_method_from_name("Grad-Cam", &me, &err), CAM_OK);
    CHECK(me == CAM_METHOD_GRAD_CAM, "Grad-Cam");
    CHECK_STATUS(cam_colormap_from_name("GREENS-REDS", &c, &err), CAM_OK);
    CHECK(c == CAM_COLORMAP_GREENS_REDS, "GREENS-REDS");
#define CHECK_UNKNOWN(call, known)                                                          \
    do {                                                                                    \
        CHECK_STATUS(call, CAM_ERROR_NOT_FOUND);                                            \
        CHECK(strstr(err.message, "\"x\"") && strstr(err.message, "known: " known),          \
              "%s: message %s", #call, err.message);                                        \
    } while (0)
    CHECK_UNKNOWN(cam_upsample_from_name("x", &u, &err), "bilinear, bicubic");
    CHECK_UNKNOWN(cam_normalize_from_name("x", &nm, &err), "minmax, minmax-output, range");
    CHECK_UNKNOWN(cam_output_from_name("x", &ou, &err), "heatmap, blend");
    CHECK_UNKNOWN(cam_aspect_from_name("x", &as, &err), "stretch, crop, pad");
    CHECK_UNKNOWN(cam_invert_from_name("x", &iv, &err), "auto, off, on");
    CHECK_UNKNOWN(cam_method_from_name("x", &me, &err), "cam, grad-cam, grad-cam-tutorial");
    CHECK_UNKNOWN(cam_colormap_from_name("x", &c, &err),
                  "jet, turbo, viridis, inferno, magma, plasma, cividis, gray, greens, reds, "
                  "greens-reds");
    CHECK(u == CAM_UPSAMPLE_BICUBIC && nm == CAM_NORMALIZE_MINMAX_OUTPUT && ou == CAM_OUTPUT_BLEND &&
              as == CAM_ASPECT_PAD && iv == CAM_INVERT_ON && me == CAM_METHOD_GRAD_CAM &&
              c == CAM_COLORMAP_GREENS_REDS,
          "an unknown name changed the output");
    CHECK_STATUS(cam_upsample_from_name(NULL, &u, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(cam_upsample_from_name("bilinear", NULL, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(cam_normalize_from_name(NULL, &nm, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(cam_output_from_name(NULL, &ou, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(cam_aspect_from_name(NULL, &as, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(cam_aspect_from_name("pad", NULL, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(cam_invert_from_name(NULL, &iv, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(cam_method_from_name(NULL, &me, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(cam_colormap_from_name(NULL, &c, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(cam_colormap_from_name("grey", NULL, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "cam_colormap_from_name") != NULL, "NULL message: %s", err.message);
    CHECK_STATUS(cam_invert_from_name("x", &iv, NULL), CAM_ERROR_NOT_FOUND);

    /* matplotlib's jet: 0 -> (0, 0, 0.5) -> 127 (bytes truncate), 1 -> (0.5, 0, 0). */
    check_rgb(CAM_COLORMAP_JET, 0.0f, 0, 0, 127);
    check_rgb(CAM_COLORMAP_JET, 1.0f, 127, 0, 0);
    /* matplotlib's gray: index 255 is white, 0 black. */
    check_rgb(CAM_COLORMAP_GRAY, 0.0f, 0, 0, 0);
    check_rgb(CAM_COLORMAP_GRAY, 1.0f, 255, 255, 255);
    /* Greens/Reds (colorbrewer): light (247,252,245) / (255,245,240) at 0, dark at 1. */
    check_rgb(CAM_COLORMAP_GREENS, 0.0f, 247, 252, 245);
    check_rgb(CAM_COLORMAP_GREENS, 1.0f, 0, 68, 27);
    check_rgb(CAM_COLORMAP_REDS, 0.0f, 255, 245, 240);
    /* Reds ends at #67000d = (103,0,13); matplotlib's bytes=True truncates
     * 13/255*255 = 12.99.. to 12, and so do we. */
    check_rgb(CAM_COLORMAP_REDS, 1.0f, 103, 0, 12);
    /* viridis ends: #440154 and #fde725 (0x25 = 37 -> 36 after truncation). */
    check_rgb(CAM_COLORMAP_VIRIDIS, 0.0f, 0x44, 0x01, 0x54);
    check_rgb(CAM_COLORMAP_VIRIDIS, 1.0f, 0xfd, 0xe7, 0x24);

    /* The index rule: min(floor(t * 256), 255), out-of-range clamped, NaN black. */
    const uint8_t *jet = cam_colormap_table(CAM_COLORMAP_JET);
    struct { float t; int index; } rule[] = {
        {0.0f, 0}, {-3.0f, 0}, {0.5f / 256, 0}, {1.0f / 256, 1}, {0.5f, 128},
        {127.99f / 256, 127}, {255.0f / 256, 255}, {0.999f, 255}, {1.0f, 255}, {7.0f, 255},
    };
    for (size_t i = 0; i < sizeof rule / sizeof rule[0]; i++) {
        const uint8_t *e = jet + 3 * rule[i].index;
        check_rgb(CAM_COLORMAP_JET, rule[i].t, e[0], e[1], e[2]);
    }
    check_rgb(CAM_COLORMAP_JET, NAN, 0, 0, 0);
    check_rgb(CAM_COLORMAP_GREENS_REDS, 0.5f, 0, 0, 0);

    /* The Fashion-MNIST rule: greens when probability > threshold. */
    CHECK(cam_colormap_resolve(CAM_COLORMAP_GREENS_REDS, 0.96f, 0.95f) == CAM_COLORMAP_GREENS, "0.96");
    CHECK(cam_colormap_resolve(CAM_COLORMAP_GREENS_REDS, 0.95f, 0.95f) == CAM_COLORMAP_REDS, "0.95");
    CHECK(cam_colormap_resolve(CAM_COLORMAP_GREENS_REDS, 0.2f, 0.95f) == CAM_COLORMAP_REDS, "0.2");
    CHECK(cam_colormap_resolve(CAM_COLORMAP_JET, 0.2f, 0.95f) == CAM_COLORMAP_JET, "jet");

    return test_summary("test-colormap");
}
