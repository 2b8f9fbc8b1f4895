/* test-preprocess.c -- cam_preprocess_spec against hand-computed values: area
 * averaging, luminance, alpha compositing, inversion (auto on a white border),
 * 16-bit and float inputs, scaling, crop and pad geometry and the map window,
 * errors. Exact-coverage averaging and bilinear upscaling on random images are
 * compared with numpy/torch in test-render-torch.py. */
#include "camengine.h"
#include "render-test.h"

#include <stdlib.h>
#include <string.h>

static cam_input_spec spec_of(int channels, int w, int h, cam_background bg)
{
    cam_input_spec s;
    memset(&s, 0, sizeof s);
    s.channels = channels;
    s.width = w;
    s.height = h;
    s.scale = 1.0f / 255.0f;
    for (int c = 0; c < 4; c++)
        s.std[c] = 1.0f;
    s.background = bg;
    return s;
}

static cam_image u8_image(uint8_t *p, int w, int h, int c)
{
    return (cam_image){p, w, h, c, CAM_SAMPLE_U8, (size_t)w * c};
}

static cam_preprocess_options opts(cam_aspect aspect, cam_invert invert)
{
    cam_preprocess_options o = cam_preprocess_options_default();
    o.aspect = aspect;
    o.invert = invert;
    return o;
}

static void test_area(void)
{
    cam_error err = {0};
    float out[4];
    /* 4x2 gray -> 2x1: 2x2 blocks. */
    uint8_t px[8] = {0, 255, 255, 255, 0, 0, 0, 255};
    cam_image img = u8_image(px, 4, 2, 1);
    cam_input_spec s = spec_of(1, 2, 1, CAM_BACKGROUND_NONE);
    CHECK_STATUS(cam_preprocess_spec(&s, &img, NULL, out, NULL, &err), CAM_OK);
    CHECK_NEAR(out[0], 0.25, 1e-6, "block [0 255; 0 0]");
    CHECK_NEAR(out[1], 0.75, 1e-6, "block [255 255; 0 255]");
    /* 3 -> 2 (non-integer ratio): [0 255 0]: each output covers 1.5 pixels,
     * (0 * 1 + 255 * 0.5) / 1.5 = 85 -> 1/3, and the mirror image. */
    uint8_t px3[3] = {0, 255, 0};
    img = u8_image(px3, 3, 1, 1);
    s = spec_of(1, 2, 1, CAM_BACKGROUND_NONE);
    CHECK_STATUS(cam_preprocess_spec(&s, &img, NULL, out, NULL, &err), CAM_OK);
    CHECK_NEAR(out[0], 1.0 / 3.0, 1e-6, "3->2 left");
    CHECK_NEAR(out[1], 1.0 / 3.0, 1e-6, "3->2 right");
    /* 5 -> 2: [255 0 0 0 255]: covers 2.5: (255 + 0 + 0*0.5)/2.5 = 0.4. */
    uint8_t px5[5] = {255, 0, 0, 0, 255};
    img = u8_image(px5, 5, 1, 1);
    CHECK_STATUS(cam_preprocess_spec(&s, &img, NULL, out, NULL, &err), CAM_OK);
    CHECK_NEAR(out[0], 0.4, 1e-6, "5->2 left");
    CHECK_NEAR(out[1], 0.4, 1e-6, "5->2 right");
    /* Upscale 2 -> 4 along x (bilinear, torch): [0, 255] -> 0, 0.25, 0.75, 1. */
    uint8_t px2[2] = {0, 255};
    img = u8_image(px2, 2, 1, 1);
    s = spec_of(1, 4, 1, CAM_BACKGROUND_NONE);
    CHECK_STATUS(cam_preprocess_spec(&s, &img, NULL, out, NULL, &err), CAM_OK);
    CHECK(fabsf(out[0]) < 1e-6f && fabsf(out[1] - 0.25f) < 1e-6f && fabsf(out[2] - 0.75f) < 1e-6f &&
              fabsf(out[3] - 1.0f) < 1e-6f,
          "2->4 bilinear: %g %g %g %g", (double)out[0], (double)out[1], (double)out[2], (double)out[3]);
}

static void test_colour(void)
{
    cam_error err = {0};
    float out[3];
    /* Luminance (Rec. 601): pure red, green, blue. */
    uint8_t rgb[9] = {255, 0, 0, 0, 255, 0, 0, 0, 255};
    const double want[3] = {0.299, 0.587, 0.114};
    cam_input_spec s = spec_of(1, 1, 1, CAM_BACKGROUND_NONE);
    for (int i = 0; i < 3; i++) {
        cam_image img = u8_image(rgb + 3 * i, 1, 1, 3);
        CHECK_STATUS(cam_preprocess_spec(&s, &img, NULL, out, NULL, &err), CAM_OK);
        CHECK_NEAR(out[0], want[i], 1e-6, "luminance");
    }
    /* Gray replicated for an RGB model. */
    uint8_t g = 51;
    cam_image gi = u8_image(&g, 1, 1, 1);
    s = spec_of(3, 1, 1, CAM_BACKGROUND_NONE);
    CHECK_STATUS(cam_preprocess_spec(&s, &gi, NULL, out, NULL, &err), CAM_OK);
    CHECK(fabsf(out[0] - 0.2f) < 1e-6f && fabsf(out[1] - 0.2f) < 1e-6f && fabsf(out[2] - 0.2f) < 1e-6f,
          "gray -> RGB: %g %g %g", (double)out[0], (double)out[1], (double)out[2]);
    /* Scaling: (v * 255 * scale - mean) / std with v = 0.2 (51): scale 1/255,
     * mean 0.5, std 0.25 -> (0.2 - 0.5) / 0.25 = -1.2; channel 2 mean 0 std 2 -> 0.1. */
    s.mean[0] = 0.5f;
    s.std[0] = 0.25f;
    s.mean[2] = 0.0f;
    s.std[2] = 2.0f;
    CHECK_STATUS(cam_preprocess_spec(&s, &gi, NULL, out, NULL, &err), CAM_OK);
    CHECK_NEAR(out[0], -1.2, 1e-6, "mean/std channel 0");
    CHECK_NEAR(out[2], 0.1, 1e-6, "mean/std channel 2");
    /* scale 1 (models fed 0..255): 51. */
    s = spec_of(1, 1, 1, CAM_BACKGROUND_NONE);
    s.scale = 1.0f;
    CHECK_STATUS(cam_preprocess_spec(&s, &gi, NULL, out, NULL, &err), CAM_OK);
    CHECK_NEAR(out[0], 51.0, 1e-4, "scale 1");

    /* Alpha compositing onto the training background: white at alpha 128/255. */
    uint8_t rgba[4] = {255, 255, 255, 128};
    cam_image ai = u8_image(rgba, 1, 1, 4);
    const double a = 128.0 / 255.0;
    cam_preprocess_options off = opts(CAM_ASPECT_STRETCH, CAM_INVERT_OFF);
    s = spec_of(1, 1, 1, CAM_BACKGROUND_BLACK);
    CHECK_STATUS(cam_preprocess_spec(&s, &ai, &off, out, NULL, &err), CAM_OK);
    CHECK_NEAR(out[0], a, 1e-6, "alpha onto black");
    s.background = CAM_BACKGROUND_WHITE;
    CHECK_STATUS(cam_preprocess_spec(&s, &ai, &off, out, NULL, &err), CAM_OK);
    CHECK_NEAR(out[0], 1.0, 1e-6, "alpha onto white");
    s.background = CAM_BACKGROUND_NONE;
    CHECK_STATUS(cam_preprocess_spec(&s, &ai, &off, out, NULL, &err), CAM_OK);
    CHECK_NEAR(out[0], a, 1e-6, "alpha onto black (none)");
    /* Inverted colours still composite onto the background: a transparent pixel of
     * an inverted image is black for a BLACK model; half-transparent white -> 0. */
    cam_preprocess_options on = opts(CAM_ASPECT_STRETCH, CAM_INVERT_ON);
    s.background = CAM_BACKGROUND_BLACK;
    CHECK_STATUS(cam_preprocess_spec(&s, &ai, &on, out, NULL, &err), CAM_OK);
    CHECK_NEAR(out[0], 0.0, 1e-6, "inverted white at alpha 0.5 onto black");
    uint8_t black_half[4] = {0, 0, 0, 128};
    ai.pixels = black_half;
    CHECK_STATUS(cam_preprocess_spec(&s, &ai, &on, out, NULL, &err), CAM_OK);
    CHECK_NEAR(out[0], a, 1e-6, "inverted black at alpha 0.5 onto black");

    /* 16-bit and float inputs. */
    uint16_t p16[3] = {65535, 0, 13107}; /* 13107 / 65535 = 0.2 */
    cam_image i16 = {p16, 1, 1, 3, CAM_SAMPLE_U16, 6};
    s = spec_of(3, 1, 1, CAM_BACKGROUND_NONE);
    CHECK_STATUS(cam_preprocess_spec(&s, &i16, NULL, out, NULL, &err), CAM_OK);
    CHECK(fabsf(out[0] - 1.0f) < 1e-6f && out[1] == 0.0f && fabsf(out[2] - 0.2f) < 1e-6f,
          "16-bit: %g %g %g", (double)out[0], (double)out[1], (double)out[2]);
    float pf[3] = {0.25f, 2.0f, -1.0f}; /* clamped to 0..1 */
    cam_image iff = {pf, 1, 1, 3, CAM_SAMPLE_F32, 12};
    CHECK_STATUS(cam_preprocess_spec(&s, &iff, NULL, out, NULL, &err), CAM_OK);
    CHECK(out[0] == 0.25f && out[1] == 1.0f && out[2] == 0.0f, "float: %g %g %g", (double)out[0],
          (double)out[1], (double)out[2]);
    pf[1] = NAN;
    CHECK_STATUS(cam_preprocess_spec(&s, &iff, NULL, out, NULL, &err), CAM_ERROR_NUMERIC);
    CHECK(strstr(err.message, "NaN") != NULL, "NaN message: %s", err.message);
}

/* A w x h gray image: border colour, a centred square of the other colour. */
static uint8_t *framed(int w, int h, uint8_t border, uint8_t inside)
{
    uint8_t *p = malloc((size_t)w * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            p[y * w + x] = (x >= w / 4 && x < 3 * w / 4 && y >= h / 4 && y < 3 * h / 4) ? inside : border;
    return p;
}

static void test_invert(void)
{
    cam_error err = {0};
    float out[28 * 28];
    cam_preprocess_info info;
    /* A dark object on white (a shoe photographed on white): a BLACK model inverts. */
    uint8_t *shoe = framed(56, 56, 255, 0);
    cam_image img = u8_image(shoe, 56, 56, 1);
    cam_input_spec s = spec_of(1, 28, 28, CAM_BACKGROUND_BLACK);
    CHECK_STATUS(cam_preprocess_spec(&s, &img, NULL, out, &info, &err), CAM_OK);
    CHECK(info.inverted == 1, "white border not inverted (border %g)", (double)info.border_luminance);
    CHECK_NEAR(info.border_luminance, 1.0, 1e-6, "border luminance");
    CHECK_NEAR(out[0], 0.0, 1e-6, "inverted corner");
    CHECK_NEAR(out[14 * 28 + 14], 1.0, 1e-6, "inverted centre");
    /* OFF keeps it. */
    cam_preprocess_options off = opts(CAM_ASPECT_STRETCH, CAM_INVERT_OFF);
    CHECK_STATUS(cam_preprocess_spec(&s, &img, &off, out, &info, &err), CAM_OK);
    CHECK(info.inverted == 0 && fabsf(out[0] - 1.0f) < 1e-6f, "invert off");
    /* Natural-image models never invert automatically. */
    s.background = CAM_BACKGROUND_NONE;
    CHECK_STATUS(cam_preprocess_spec(&s, &img, NULL, out, &info, &err), CAM_OK);
    CHECK(info.inverted == 0, "background none inverted");
    /* A WHITE model inverts a dark border. */
    uint8_t *dark = framed(56, 56, 0, 255);
    img.pixels = dark;
    s.background = CAM_BACKGROUND_WHITE;
    CHECK_STATUS(cam_preprocess_spec(&s, &img, NULL, out, &info, &err), CAM_OK);
    CHECK(info.inverted == 1, "white model, dark border");
    /* A BLACK model keeps a dark border (Fashion-MNIST's own images). */
    s.background = CAM_BACKGROUND_BLACK;
    CHECK_STATUS(cam_preprocess_spec(&s, &img, NULL, out, &info, &err), CAM_OK);
    CHECK(info.inverted == 0 && fabsf(out[14 * 28 + 14] - 1.0f) < 1e-6f, "black model, dark border");
    /* Fully transparent border: no decision, no inversion; border reported as -1. */
    uint8_t *ga = malloc(56 * 56 * 2);
    for (int i = 0; i < 56 * 56; i++) {
        ga[2 * i] = 255;
        ga[2 * i + 1] = shoe[i] == 255 ? 0 : 255; /* the frame is transparent */
    }
    cam_image gai = u8_image(ga, 56, 56, 2);
    CHECK_STATUS(cam_preprocess_spec(&s, &gai, NULL, out, &info, &err), CAM_OK);
    CHECK(info.inverted == 0 && info.border_luminance == -1.0f, "transparent border: inverted %d border %g",
          info.inverted, (double)info.border_luminance);
    free(ga);
    free(shoe);
    free(dark);
}

static void test_geometry(void)
{
    cam_error err = {0};
    cam_preprocess_info info;
    /* 100x50 image, 28x28 input. */
    uint8_t *p = malloc(100 * 50);
    for (int y = 0; y < 50; y++)
        for (int x = 0; x < 100; x++)
            p[y * 100 + x] = (x >= 25 && x < 75) ? 255 : 0; /* white middle square */
    cam_image img = u8_image(p, 100, 50, 1);
    cam_input_spec s = spec_of(1, 28, 28, CAM_BACKGROUND_NONE);
    float out[28 * 28];
    cam_preprocess_options o = opts(CAM_ASPECT_CROP, CAM_INVERT_AUTO);
    CHECK_STATUS(cam_preprocess_spec(&s, &img, &o, out, &info, &err), CAM_OK);
    CHECK(info.source_rect.x == 25 && info.source_rect.y == 0 && info.source_rect.width == 50 &&
              info.source_rect.height == 50,
          "crop rect %d,%d %dx%d", info.source_rect.x, info.source_rect.y, info.source_rect.width,
          info.source_rect.height);
    CHECK(info.content_rect.width == 28 && info.content_rect.height == 28, "crop content");
    int white = 1;
    for (int i = 0; i < 28 * 28; i++)
        white &= fabsf(out[i] - 1.0f) < 1e-6f;
    CHECK(white, "the crop sees only the white square");
    /* PAD: fits to 28x14 at y = 7; rows 0..6 and 21..27 are background (0). */
    o.aspect = CAM_ASPECT_PAD;
    CHECK_STATUS(cam_preprocess_spec(&s, &img, &o, out, &info, &err), CAM_OK);
    CHECK(info.content_rect.x == 0 && info.content_rect.y == 7 && info.content_rect.width == 28 &&
              info.content_rect.height == 14,
          "pad content %d,%d %dx%d", info.content_rect.x, info.content_rect.y,
          info.content_rect.width, info.content_rect.height);
    CHECK(info.source_rect.width == 100 && info.source_rect.height == 50, "pad source");
    CHECK(out[0] == 0.0f && out[6 * 28 + 14] == 0.0f && fabsf(out[7 * 28 + 14] - 1.0f) < 1e-6f &&
              out[21 * 28 + 14] == 0.0f,
          "pad fill");
    /* The map window of that placement: a 7x7 map -> (0, 1.75, 7, 3.5). */
    cam_window w;
    CHECK_STATUS(cam_preprocess_info_map_window(&info, 7, 7, &w, &err), CAM_OK);
    CHECK(w.x == 0.0f && w.y == 1.75f && w.width == 7.0f && w.height == 3.5f, "window %g %g %g %g",
          (double)w.x, (double)w.y, (double)w.width, (double)w.height);
    /* Padding a WHITE model fills with white (1). */
    s.background = CAM_BACKGROUND_WHITE;
    cam_preprocess_options po = opts(CAM_ASPECT_PAD, CAM_INVERT_OFF);
    CHECK_STATUS(cam_preprocess_spec(&s, &img, &po, out, &info, &err), CAM_OK);
    CHECK(out[0] == 1.0f, "pad with white: %g", (double)out[0]);
    /* A tall image: crop cuts top and bottom, pad fills left and right. */
    cam_image tall = u8_image(p, 50, 100, 1);
    s.background = CAM_BACKGROUND_NONE;
    o.aspect = CAM_ASPECT_CROP;
    CHECK_STATUS(cam_preprocess_spec(&s, &tall, &o, out, &info, &err), CAM_OK);
    CHECK(info.source_rect.x == 0 && info.source_rect.y == 25 && info.source_rect.height == 50, "tall crop");
    o.aspect = CAM_ASPECT_PAD;
    CHECK_STATUS(cam_preprocess_spec(&s, &tall, &o, out, &info, &err), CAM_OK);
    CHECK(info.content_rect.x == 7 && info.content_rect.width == 14 && info.content_rect.height == 28,
          "tall pad");
    /* STRETCH: whole image, whole input, window = the whole map. */
    o.aspect = CAM_ASPECT_STRETCH;
    CHECK_STATUS(cam_preprocess_spec(&s, &img, &o, out, &info, &err), CAM_OK);
    CHECK_STATUS(cam_preprocess_info_map_window(&info, 3, 3, &w, &err), CAM_OK);
    CHECK(w.x == 0.0f && w.y == 0.0f && w.width == 3.0f && w.height == 3.0f, "stretch window");
    /* 1x1 image and a 1xN image. */
    uint8_t one = 255;
    cam_image i1 = u8_image(&one, 1, 1, 1);
    CHECK_STATUS(cam_preprocess_spec(&s, &i1, NULL, out, &info, &err), CAM_OK);
    CHECK(out[0] == 1.0f && out[28 * 28 - 1] == 1.0f, "1x1 image");
    cam_image row = u8_image(p, 100, 1, 1);
    o.aspect = CAM_ASPECT_PAD;
    CHECK_STATUS(cam_preprocess_spec(&s, &row, &o, out, &info, &err), CAM_OK);
    CHECK(info.content_rect.height == 1 && info.content_rect.width == 28, "1xN pad keeps one row");
    free(p);
}

static void test_errors(void)
{
    cam_error err = {0};
    uint8_t px[4] = {0};
    float out[4];
    cam_image img = u8_image(px, 2, 2, 1);
    cam_input_spec s = spec_of(2, 2, 2, CAM_BACKGROUND_NONE);
    CHECK_STATUS(cam_preprocess_spec(&s, &img, NULL, out, NULL, &err), CAM_ERROR_UNSUPPORTED);
    s = spec_of(1, 2, 2, CAM_BACKGROUND_NONE);
    s.std[0] = 0.0f;
    CHECK_STATUS(cam_preprocess_spec(&s, &img, NULL, out, NULL, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "std") != NULL, "%s", err.message);
    s = spec_of(1, 2, 2, CAM_BACKGROUND_NONE);
    img.channels = 5;
    CHECK_STATUS(cam_preprocess_spec(&s, &img, NULL, out, NULL, &err), CAM_ERROR_INVALID_ARGUMENT);
    img.channels = 1;
    img.stride = 1;
    CHECK_STATUS(cam_preprocess_spec(&s, &img, NULL, out, NULL, &err), CAM_ERROR_INVALID_ARGUMENT);
    img.stride = 2;
    CHECK_STATUS(cam_preprocess_spec(&s, &img, NULL, NULL, NULL, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(cam_preprocess_spec(&s, NULL, NULL, out, NULL, &err), CAM_ERROR_INVALID_ARGUMENT);
    cam_preprocess_options o = opts(CAM_ASPECT_COUNT, CAM_INVERT_AUTO);
    CHECK_STATUS(cam_preprocess_spec(&s, &img, &o, out, NULL, NULL), CAM_ERROR_INVALID_ARGUMENT);
    cam_aspect a;
    CHECK_STATUS(cam_aspect_from_name("letterbox", &a, &err), CAM_ERROR_NOT_FOUND);
    CHECK(strstr(err.message, "letterbox") != NULL, "%s", err.message);
    /* Options not made by cam_preprocess_options_default: refused, saying how. */
    CHECK(cam_preprocess_options_default().size == sizeof(cam_preprocess_options), "default size");
    cam_preprocess_options zero;
    memset(&zero, 0, sizeof zero);
    CHECK_STATUS(cam_preprocess_spec(&s, &img, &zero, out, NULL, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "cam_preprocess_spec") && strstr(err.message, "cam_preprocess_options") &&
              strstr(err.message, "cam_preprocess_options_default()"),
          "zeroed options: %s", err.message);
}

int main(void)
{
    test_area();
    test_colour();
    test_invert();
    test_geometry();
    test_errors();
    return test_summary("test-preprocess");
}
