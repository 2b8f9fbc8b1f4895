/* test-renderer.c -- the renderer against hand-computed values: blend formula
 * and rounding, heatmap layer, per-pixel alpha, 16-bit/float/gray, ranges and
 * ReLU, strips and tiles equal one shot (any threads), edge sizes, windows,
 * NaN/Inf and argument errors. (torch/matplotlib comparisons:
 * test-render-torch.py.) */
#include "camengine.h"
#include "render-test.h"

#include <stdlib.h>
#include <string.h>

static cam_image image(void *pixels, int w, int h, int channels, cam_sample_type type)
{
    size_t ss = type == CAM_SAMPLE_U8 ? 1 : type == CAM_SAMPLE_U16 ? 2 : 4;
    return (cam_image){pixels, w, h, channels, type, ss * (size_t)channels * (size_t)w};
}

static void test_blend_hand(void)
{
    cam_error err = {0};
    /* 2x1 map [0, 1], output 2x1: no resampling; t = 0 and 1 -> jet index 0
     * (0,0,127) and 255 (127,0,0). */
    const float map[2] = {0.0f, 1.0f};
    uint8_t src[8] = {255, 255, 255, 10, 200, 100, 50, 77};
    uint8_t dst[8];
    cam_image s = image(src, 2, 1, 4, CAM_SAMPLE_U8), d = image(dst, 2, 1, 4, CAM_SAMPLE_U8);
    cam_render_options o = cam_render_options_default();
    o.output = CAM_OUTPUT_BLEND;
    o.alpha = 0.5f;
    CHECK_STATUS(cam_render_image(map, 2, 1, &o, &s, &d, &err), CAM_OK);
    /* 0.5*255 + 0.5*0 = 127.5 -> 128 (half up); 0.5*255 + 0.5*127 = 191. */
    CHECK(dst[0] == 128 && dst[1] == 128 && dst[2] == 191 && dst[3] == 10,
          "blend pixel 0: %d %d %d %d, expected 128 128 191 10", dst[0], dst[1], dst[2], dst[3]);
    /* 0.5*200 + 0.5*127 = 163.5 -> 164; 0.5*100 = 50; 0.5*50 = 25. */
    CHECK(dst[4] == 164 && dst[5] == 50 && dst[6] == 25 && dst[7] == 77,
          "blend pixel 1: %d %d %d %d, expected 164 50 25 77", dst[4], dst[5], dst[6], dst[7]);

    /* The tutorial's 0.6 * image + 0.4 * heatmap. */
    o.alpha = 0.4f;
    CHECK_STATUS(cam_render_image(map, 2, 1, &o, &s, &d, &err), CAM_OK);
    /* 0.6*255 = 153; 0.6*255 + 0.4*127 = 203.8 -> 204; 0.6*200+0.4*127 = 170.8 -> 171;
     * 0.6*100 = 60; 0.6*50 = 30. */
    CHECK(dst[0] == 153 && dst[1] == 153 && dst[2] == 204, "0.4 pixel 0: %d %d %d", dst[0], dst[1], dst[2]);
    CHECK(dst[4] == 171 && dst[5] == 60 && dst[6] == 30, "0.4 pixel 1: %d %d %d", dst[4], dst[5], dst[6]);

    /* Per-pixel alpha: index 0 -> a = 0 (image unchanged), 255 -> a = alpha. */
    o.alpha = 0.5f;
    o.alpha_from_map = 1;
    CHECK_STATUS(cam_render_image(map, 2, 1, &o, &s, &d, &err), CAM_OK);
    CHECK(memcmp(dst, src, 3) == 0 && dst[3] == 10, "cold pixel stays clear: %d %d %d", dst[0], dst[1], dst[2]);
    CHECK(dst[4] == 164 && dst[5] == 50 && dst[6] == 25, "hot pixel: %d %d %d", dst[4], dst[5], dst[6]);

    /* Heatmap layer: colour and alpha 255 (or the index with alpha_from_map). */
    o.output = CAM_OUTPUT_HEATMAP;
    o.alpha_from_map = 0;
    CHECK_STATUS(cam_render_image(map, 2, 1, &o, NULL, &d, &err), CAM_OK);
    CHECK(dst[0] == 0 && dst[1] == 0 && dst[2] == 127 && dst[3] == 255 && dst[4] == 127 &&
              dst[5] == 0 && dst[6] == 0 && dst[7] == 255,
          "heatmap: %d %d %d %d / %d %d %d %d", dst[0], dst[1], dst[2], dst[3], dst[4], dst[5],
          dst[6], dst[7]);
    o.alpha_from_map = 1;
    CHECK_STATUS(cam_render_image(map, 2, 1, &o, NULL, &d, &err), CAM_OK);
    CHECK(dst[3] == 0 && dst[7] == 255, "heatmap alpha from map: %d %d", dst[3], dst[7]);

    /* RGB output of an RGBA heatmap; gray source blended into RGB. */
    uint8_t rgb[6];
    cam_image d3 = image(rgb, 2, 1, 3, CAM_SAMPLE_U8);
    uint8_t gray[2] = {100, 255};
    cam_image g = image(gray, 2, 1, 1, CAM_SAMPLE_U8);
    o.output = CAM_OUTPUT_BLEND;
    o.alpha_from_map = 0;
    CHECK_STATUS(cam_render_image(map, 2, 1, &o, &g, &d3, &err), CAM_OK);
    /* (100+0)/2 = 50, 50, (100+127)/2 = 113.5 -> 114; (255+127)/2 = 191, 127.5 -> 128, 128. */
    CHECK(rgb[0] == 50 && rgb[1] == 50 && rgb[2] == 114 && rgb[3] == 191 && rgb[4] == 128 &&
              rgb[5] == 128,
          "gray blend: %d %d %d / %d %d %d", rgb[0], rgb[1], rgb[2], rgb[3], rgb[4], rgb[5]);

    /* 16-bit: out = round(0.5 * img + 0.5 * k * 257). */
    uint16_t s16[6] = {65535, 0, 1000, 3, 5, 7}, d16[8];
    cam_image s16i = image(s16, 2, 1, 3, CAM_SAMPLE_U16), d16i = image(d16, 2, 1, 4, CAM_SAMPLE_U16);
    CHECK_STATUS(cam_render_image(map, 2, 1, &o, &s16i, &d16i, &err), CAM_OK);
    /* pixel 0 (index 0, k = 0,0,127): 32767.5 -> 32768, 0, 500 + 16319.5 = 16819.5 -> 16820;
     * pixel 1 (k = 127,0,0): 1.5 + 16319.5 = 16321, 2.5 -> 3, 3.5 -> 4; alpha 65535. */
    CHECK(d16[0] == 32768 && d16[1] == 0 && d16[2] == 16820 && d16[3] == 65535,
          "16-bit pixel 0: %d %d %d %d", d16[0], d16[1], d16[2], d16[3]);
    CHECK(d16[4] == 16321 && d16[5] == 3 && d16[6] == 4 && d16[7] == 65535,
          "16-bit pixel 1: %d %d %d %d", d16[4], d16[5], d16[6], d16[7]);

    /* Float: out = 0.5 * img + 0.5 * k / 255, alpha copied. */
    float sf[8] = {1.0f, 0.5f, 0.25f, 0.3f, 0.0f, 0.0f, 0.0f, 1.0f}, df[8];
    cam_image sfi = image(sf, 2, 1, 4, CAM_SAMPLE_F32), dfi = image(df, 2, 1, 4, CAM_SAMPLE_F32);
    CHECK_STATUS(cam_render_image(map, 2, 1, &o, &sfi, &dfi, &err), CAM_OK);
    CHECK_NEAR(df[0], 0.5, 1e-6, "float r0");
    CHECK_NEAR(df[1], 0.25, 1e-6, "float g0");
    CHECK_NEAR(df[2], 0.125 + 0.5 * 127 / 255.0, 1e-6, "float b0");
    CHECK(df[3] == sf[3], "float alpha copied: %g", (double)df[3]);
    CHECK_NEAR(df[4], 0.5 * 127 / 255.0, 1e-6, "float r1");
    CHECK_NEAR(df[7], 1.0, 0, "float a1");
    /* Float heatmap layer: k / 255. */
    o.output = CAM_OUTPUT_HEATMAP;
    CHECK_STATUS(cam_render_image(map, 2, 1, &o, NULL, &dfi, &err), CAM_OK);
    CHECK_NEAR(df[2], 127 / 255.0, 1e-7, "float heatmap b0");
    CHECK_NEAR(df[3], 1.0, 0, "float heatmap a0");
    /* In place: src == dst. */
    o.output = CAM_OUTPUT_BLEND;
    uint8_t inplace[8];
    memcpy(inplace, src, 8);
    cam_image ip = image(inplace, 2, 1, 4, CAM_SAMPLE_U8);
    CHECK_STATUS(cam_render_image(map, 2, 1, &o, &ip, &ip, &err), CAM_OK);
    CHECK(inplace[0] == 128 && inplace[2] == 191 && inplace[4] == 164 && inplace[7] == 77,
          "in place: %d %d %d %d", inplace[0], inplace[2], inplace[4], inplace[7]);
}

static void test_ranges(void)
{
    cam_error err = {0};
    cam_render_options o = cam_render_options_default();
    /* [0, 1, 0] upsampled 3 -> 4 (torch): 0, 0.625, 0.625, 0; the output range
     * is 0..0.625, the map's own range 0..1. */
    const float map[3] = {0.0f, 1.0f, 0.0f};
    float vals[4];
    cam_renderer *r = new_renderer(map, 3, 1, 4, 1, &o, &err);
    CHECK(r != NULL, "renderer: %s", err.message);
    CHECK_STATUS(cam_renderer_values_rect(r, (cam_rect){0, 0, 4, 1}, CAM_VALUES_RAW, vals, 4, &err), CAM_OK);
    CHECK_NEAR(vals[0], 0.0, 1e-7, "v0");
    CHECK_NEAR(vals[1], 0.625, 1e-7, "v1");
    CHECK_NEAR(vals[2], 0.625, 1e-7, "v2");
    CHECK_NEAR(vals[3], 0.0, 1e-7, "v3");
    float lo, hi;
    cam_renderer_get_range(r, &lo, &hi);
    CHECK(lo == 0.0f && hi == 1.0f, "minmax range %g..%g", (double)lo, (double)hi);
    cam_renderer_free(r);
    o.normalize = CAM_NORMALIZE_MINMAX_OUTPUT;
    r = new_renderer(map, 3, 1, 4, 1, &o, &err);
    cam_renderer_get_range(r, &lo, &hi);
    CHECK(lo == 0.0f && fabsf(hi - 0.625f) < 1e-7f, "output range %g..%g", (double)lo, (double)hi);
    CHECK_STATUS(cam_renderer_values_rect(r, (cam_rect){0, 0, 4, 1}, CAM_VALUES_NORMALIZED, vals, 4, &err), CAM_OK);
    CHECK_NEAR(vals[1], 1.0, 1e-6, "normalised max");
    cam_renderer_free(r);

    /* ReLU: [-1, 0, 2] -> range 0..2, t = 0, 0, 1. */
    const float neg[3] = {-1.0f, 0.0f, 2.0f};
    o = cam_render_options_default();
    o.relu = 1;
    r = new_renderer(neg, 3, 1, 3, 1, &o, &err);
    cam_renderer_get_range(r, &lo, &hi);
    CHECK(lo == 0.0f && hi == 2.0f, "relu range %g..%g", (double)lo, (double)hi);
    CHECK_STATUS(cam_renderer_values_rect(r, (cam_rect){0, 0, 3, 1}, CAM_VALUES_NORMALIZED, vals, 3, &err), CAM_OK);
    CHECK(vals[0] == 0.0f && vals[1] == 0.0f && vals[2] == 1.0f, "relu t %g %g %g", (double)vals[0],
          (double)vals[1], (double)vals[2]);
    cam_renderer_free(r);
    /* Without ReLU: t = 0, 1/3, 1. */
    o.relu = 0;
    r = new_renderer(neg, 3, 1, 3, 1, &o, &err);
    CHECK_STATUS(cam_renderer_values_rect(r, (cam_rect){0, 0, 3, 1}, CAM_VALUES_NORMALIZED, vals, 3, &err), CAM_OK);
    CHECK_NEAR(vals[1], 1.0 / 3.0, 1e-7, "no relu t1");
    cam_renderer_free(r);
    /* ReLU with an explicit range reaching below 0: v < 0 becomes 0 -> t = 0.5. */
    o.relu = 1;
    o.normalize = CAM_NORMALIZE_RANGE;
    o.range_min = -2.0f;
    o.range_max = 2.0f;
    r = new_renderer(neg, 3, 1, 3, 1, &o, &err);
    CHECK_STATUS(cam_renderer_values_rect(r, (cam_rect){0, 0, 3, 1}, CAM_VALUES_NORMALIZED, vals, 3, &err), CAM_OK);
    CHECK(vals[0] == 0.5f && vals[1] == 0.5f && vals[2] == 1.0f, "relu+range t %g %g %g",
          (double)vals[0], (double)vals[1], (double)vals[2]);
    uint8_t px[9];
    cam_image d = image(px, 3, 1, 3, CAM_SAMPLE_U8);
    o.colormap = CAM_COLORMAP_GRAY;
    cam_renderer_free(r);
    r = new_renderer(neg, 3, 1, 3, 1, &o, &err);
    CHECK_STATUS(cam_renderer_render_rows(r, 0, 1, NULL, &d, &err), CAM_OK);
    /* gray index 128 for t = 0.5 -> matplotlib gray(128/255) = 128. */
    const uint8_t *gt = cam_colormap_table(CAM_COLORMAP_GRAY);
    CHECK(px[0] == gt[3 * 128] && px[3] == gt[3 * 128] && px[6] == 255, "relu+range colours %d %d %d",
          px[0], px[3], px[6]);
    cam_renderer_free(r);

    /* A constant map: t = 0 everywhere, never NaN. */
    const float flat[4] = {3.0f, 3.0f, 3.0f, 3.0f};
    o = cam_render_options_default();
    r = new_renderer(flat, 2, 2, 5, 5, &o, &err);
    float v25[25];
    CHECK_STATUS(cam_renderer_values_rect(r, (cam_rect){0, 0, 5, 5}, CAM_VALUES_NORMALIZED, v25, 5, &err), CAM_OK);
    int zeros = 0;
    for (int i = 0; i < 25; i++)
        zeros += v25[i] == 0.0f;
    CHECK(zeros == 25, "constant map: %d of 25 zeros", zeros);
    cam_renderer_free(r);
}

static int render_all(const float *map, int mw, int mh, int ow, int oh, const cam_render_options *o,
                      const uint8_t *src, uint8_t *dst, int strip, int tile)
{
    cam_error err = {0};
    cam_renderer *r = new_renderer(map, mw, mh, ow, oh, o, &err);
    if (!r)
        return 0;
    int okay = 1;
    const size_t stride = 4 * (size_t)ow;
    for (int y = 0; y < oh && okay; y += strip) {
        int h = oh - y < strip ? oh - y : strip;
        for (int x = 0; x < ow && okay; x += tile) {
            int w = ow - x < tile ? ow - x : tile;
            cam_image s = {(void *)(src + stride * y + 4 * (size_t)x), w, h, 4, CAM_SAMPLE_U8, stride};
            cam_image d = {dst + stride * y + 4 * (size_t)x, w, h, 4, CAM_SAMPLE_U8, stride};
            okay = cam_renderer_render_rect(r, (cam_rect){x, y, w, h}, &s, &d, &err) == CAM_OK;
        }
    }
    cam_renderer_free(r);
    return okay;
}

static void test_strips(void)
{
    const int mw = 5, mh = 4, ow = 613, oh = 409;
    float map[20];
    for (int i = 0; i < 20; i++)
        map[i] = (float)((i * 7919) % 23) - 9.5f;
    size_t n = 4 * (size_t)ow * oh;
    uint8_t *src = malloc(n), *one = malloc(n), *other = malloc(n);
    for (size_t i = 0; i < n; i++)
        src[i] = (uint8_t)((i * 2654435761u) >> 13);
    for (int mode = 0; mode < CAM_UPSAMPLE_COUNT; mode++) {
        cam_render_options o = cam_render_options_default();
        o.output = CAM_OUTPUT_BLEND;
        o.upsample = (cam_upsample)mode;
        o.alpha_from_map = mode;
        o.n_threads = 1;
        CHECK(render_all(map, mw, mh, ow, oh, &o, src, one, oh, ow), "one shot");
        const int strips[][3] = {{1, 613, 4}, {3, 613, 0}, {17, 613, 2}, {64, 64, 0}, {100, 37, 3}, {409, 1, 2}};
        for (size_t k = 0; k < sizeof strips / sizeof strips[0]; k++) {
            o.n_threads = strips[k][2];
            memset(other, 0xAB, n);
            CHECK(render_all(map, mw, mh, ow, oh, &o, src, other, strips[k][0], strips[k][1]), "strips");
            CHECK(memcmp(one, other, n) == 0, "%s: %dx%d tiles with %d threads differ from one shot",
                  cam_upsample_name(o.upsample), strips[k][1], strips[k][0], strips[k][2]);
        }
    }
    free(src);
    free(one);
    free(other);
}

/* Large outputs (>= 32 MB per call) take the streaming-store path; it must
 * give the same bytes as strips, also when dst is not 16-byte aligned. */
static void test_large(void)
{
    const int ow = 4099, oh = 2100;
    const float map[6] = {0.1f, 0.9f, 0.3f, -0.2f, 0.5f, 0.0f};
    const size_t n = 4 * (size_t)ow * oh;
    uint8_t *src = malloc(n), *one = malloc(n + 8), *strips = malloc(n);
    for (size_t i = 0; i < n; i++)
        src[i] = (uint8_t)((i * 2654435761u) >> 11);
    for (int output = 0; output < CAM_OUTPUT_COUNT; output++) {
        for (int offset = 0; offset <= 4; offset += 4) {
            cam_render_options o = cam_render_options_default();
            o.output = (cam_output)output;
            CHECK(render_all(map, 3, 2, ow, oh, &o, src, strips, 64, ow), "strips");
            uint8_t *d = one + offset;
            cam_error err = {0};
            cam_image s = {src, ow, oh, 4, CAM_SAMPLE_U8, 4 * (size_t)ow};
            cam_image di = {d, ow, oh, 4, CAM_SAMPLE_U8, 4 * (size_t)ow};
            CHECK_STATUS(cam_render_image(map, 3, 2, &o, &s, &di, &err), CAM_OK);
            CHECK(memcmp(d, strips, n) == 0, "large %s (dst offset %d) differs from strips",
                  cam_output_name(o.output), offset);
        }
    }
    free(src);
    free(one);
    free(strips);
}

static void test_edges_and_errors(void)
{
    cam_error err = {0};
    cam_render_options o = cam_render_options_default();
    /* 1x1 map to 30000x20: constant, index 0 (jet 0,0,127). */
    const float one = 4.0f;
    uint8_t *wide = malloc(4 * 30000 * 20);
    cam_image w = image(wide, 30000, 20, 4, CAM_SAMPLE_U8);
    CHECK_STATUS(cam_render_image(&one, 1, 1, &o, NULL, &w, &err), CAM_OK);
    int good = 1;
    for (int i = 0; i < 30000 * 20; i++)
        good &= wide[4 * i] == 0 && wide[4 * i + 1] == 0 && wide[4 * i + 2] == 127 && wide[4 * i + 3] == 255;
    CHECK(good, "1x1 map -> 30000x20 heatmap is uniform jet(0)");
    /* 1xN map to 30000x20: monotonic map -> non-decreasing index along x. */
    const float ramp[4] = {0.0f, 1.0f, 2.0f, 3.0f};
    float *vals = malloc(sizeof(float) * 30000 * 20);
    cam_renderer *r = new_renderer(ramp, 4, 1, 30000, 20, &o, &err);
    CHECK(r != NULL, "1x4 map: %s", err.message);
    CHECK_STATUS(cam_renderer_values_rect(r, (cam_rect){0, 0, 30000, 20}, CAM_VALUES_RAW, vals, 30000, &err), CAM_OK);
    int mono = 1;
    for (int y = 0; y < 20; y++)
        for (int x = 1; x < 30000; x++)
            mono &= vals[y * 30000 + x] >= vals[y * 30000 + x - 1] && vals[y * 30000 + x] == vals[x];
    CHECK(mono, "1x4 ramp: rows equal and non-decreasing");
    CHECK(vals[0] == 0.0f && vals[29999] == 3.0f, "ramp ends %g %g", (double)vals[0], (double)vals[29999]);
    /* torch: x = 14999 -> src = (14999.5) * 4/30000 - 0.5 = 1.49993.. */
    CHECK_NEAR(vals[14999], 14999.5 * 4.0 / 30000.0 - 0.5, 1e-5, "ramp middle");
    cam_renderer_free(r);
    /* Output 1x1 from a 3x3 map: torch samples the centre. */
    const float m9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float v1;
    r = new_renderer(m9, 3, 3, 1, 1, &o, &err);
    CHECK_STATUS(cam_renderer_values_rect(r, (cam_rect){0, 0, 1, 1}, CAM_VALUES_RAW, &v1, 1, &err), CAM_OK);
    CHECK_NEAR(v1, 5.0, 1e-6, "3x3 -> 1x1");
    cam_renderer_free(r);
    /* The default window equals the whole map given explicitly. */
    float a[12], b[12];
    r = new_renderer(m9, 3, 3, 4, 3, &o, &err);
    cam_renderer_values_rect(r, (cam_rect){0, 0, 4, 3}, CAM_VALUES_RAW, a, 4, &err);
    cam_renderer_free(r);
    o.window = (cam_window){0.0f, 0.0f, 3.0f, 3.0f};
    r = new_renderer(m9, 3, 3, 4, 3, &o, &err);
    cam_renderer_values_rect(r, (cam_rect){0, 0, 4, 3}, CAM_VALUES_RAW, b, 4, &err);
    cam_renderer_free(r);
    CHECK(memcmp(a, b, sizeof a) == 0, "explicit whole window == default");
    /* A window of the map's middle column stretched over 2 pixels: samples at
     * src = 1 + (x + 0.5) * 0.5 - 0.5 = 0.75, 1.25 -> 4.75, 5.25 on the middle row. */
    o.window = (cam_window){1.0f, 1.0f, 1.0f, 1.0f};
    r = new_renderer(m9, 3, 3, 2, 1, &o, &err);
    float wv[2];
    cam_renderer_values_rect(r, (cam_rect){0, 0, 2, 1}, CAM_VALUES_RAW, wv, 2, &err);
    CHECK_NEAR(wv[0], 4.75, 1e-6, "window x0");
    CHECK_NEAR(wv[1], 5.25, 1e-6, "window x1");
    cam_renderer_free(r);
    o = cam_render_options_default();

    /* NaN / Inf in the map: a clear error naming the position. */
    float bad[6] = {0, 1, 2, 3, 4, 5};
    bad[4] = NAN;
    err.status = CAM_OK;
    CHECK(new_renderer(bad, 3, 2, 10, 10, &o, &err) == NULL, "NaN map accepted");
    CHECK(err.status == CAM_ERROR_NUMERIC && strstr(err.message, "row 1, column 1") &&
              strstr(err.message, "NaN"),
          "NaN message: %s", err.message);
    bad[4] = 4;
    bad[0] = -INFINITY;
    CHECK(new_renderer(bad, 3, 2, 10, 10, &o, &err) == NULL, "Inf map accepted");
    CHECK(err.status == CAM_ERROR_NUMERIC && strstr(err.message, "row 0, column 0") &&
              strstr(err.message, "Inf"),
          "Inf message: %s", err.message);
    bad[0] = 2e37f;
    CHECK(new_renderer(bad, 3, 2, 10, 10, &o, &err) == NULL, "huge map value accepted");
    CHECK(err.status == CAM_ERROR_NUMERIC && strstr(err.message, "row 0, column 0"), "huge: %s",
          err.message);
    bad[0] = -INFINITY;
    uint8_t px[4 * 100];
    cam_image d = image(px, 10, 10, 4, CAM_SAMPLE_U8);
    CHECK_STATUS(cam_render_image(bad, 3, 2, &o, NULL, &d, &err), CAM_ERROR_NUMERIC);
    CHECK_STATUS(cam_render_image(bad, 3, 2, &o, NULL, &d, NULL), CAM_ERROR_NUMERIC);

    /* Argument errors. */
    CHECK(new_renderer(m9, 0, 3, 10, 10, &o, &err) == NULL && err.status == CAM_ERROR_INVALID_ARGUMENT,
          "map width 0");
    CHECK(new_renderer(m9, 3, 3, 10, 0, &o, &err) == NULL && err.status == CAM_ERROR_INVALID_ARGUMENT,
          "output height 0");
    o.alpha = 1.5f;
    CHECK(new_renderer(m9, 3, 3, 10, 10, &o, &err) == NULL && strstr(err.message, "alpha"),
          "alpha 1.5: %s", err.message);
    o = cam_render_options_default();
    o.normalize = CAM_NORMALIZE_RANGE;
    o.range_min = o.range_max = 1.0f;
    CHECK(new_renderer(m9, 3, 3, 10, 10, &o, &err) == NULL && strstr(err.message, "range"),
          "empty range: %s", err.message);
    o = cam_render_options_default();
    o.colormap = CAM_COLORMAP_COUNT;
    CHECK(new_renderer(m9, 3, 3, 10, 10, &o, &err) == NULL && strstr(err.message, "colormap"),
          "bad colormap: %s", err.message);
    o = cam_render_options_default();
    r = new_renderer(m9, 3, 3, 10, 10, &o, &err);
    CHECK_STATUS(cam_renderer_render_rect(r, (cam_rect){5, 5, 6, 5}, NULL, &d, &err),
                 CAM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "not inside") != NULL, "rect message: %s", err.message);
    CHECK_STATUS(cam_renderer_render_rows(r, 0, 9, NULL, &d, &err), CAM_ERROR_INVALID_ARGUMENT);
    cam_image two = image(px, 10, 10, 2, CAM_SAMPLE_U8);
    CHECK_STATUS(cam_renderer_render_rows(r, 0, 10, NULL, &two, &err), CAM_ERROR_INVALID_ARGUMENT);
    cam_renderer_free(r);
    o.output = CAM_OUTPUT_BLEND;
    r = new_renderer(m9, 3, 3, 10, 10, &o, &err);
    CHECK_STATUS(cam_renderer_render_rows(r, 0, 10, NULL, &d, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "source") != NULL, "missing source: %s", err.message);
    cam_image narrow = d;
    narrow.stride = 8;
    CHECK_STATUS(cam_renderer_render_rows(r, 0, 10, &narrow, &d, &err), CAM_ERROR_INVALID_ARGUMENT);
    cam_renderer_free(r);
    cam_renderer_free(NULL);
    free(wide);
    free(vals);
}

/* Construction returns a status and stores the renderer through its out
 * argument, NULL on failure; options carry their size and a struct not made
 * by cam_render_options_default (or _for_model) is refused, saying so. */
static void test_construction_and_options_size(void)
{
    cam_error err = {0};
    const float m4[4] = {0, 1, 2, 3};
    cam_render_options o = cam_render_options_default();
    CHECK(o.size == sizeof(cam_render_options), "default size %zu", o.size);
    CHECK(cam_render_options_for_model(NULL, CAM_METHOD_GRAD_CAM, 1.0f).size ==
              sizeof(cam_render_options),
          "for_model size");
    cam_renderer *r = NULL;
    CHECK_STATUS(cam_renderer_new(m4, 2, 2, 4, 4, &o, &r, &err), CAM_OK);
    CHECK(r != NULL, "renderer");
    cam_renderer_free(r);
    CHECK_STATUS(cam_renderer_new(m4, 2, 2, 4, 4, NULL, &r, &err), CAM_OK); /* NULL = defaults */
    CHECK(r != NULL, "renderer with NULL options");
    cam_renderer_free(r);
    CHECK_STATUS(cam_renderer_new(m4, 2, 2, 4, 4, &o, NULL, &err), CAM_ERROR_INVALID_ARGUMENT);
    r = new_renderer(NULL, 2, 2, 4, 4, &o, &err); /* a failure sets *out to NULL */
    CHECK(r == NULL && err.status == CAM_ERROR_INVALID_ARGUMENT, "NULL map");
    CHECK(new_renderer(NULL, 2, 2, 4, 4, &o, NULL) == NULL, "NULL map, NULL err");

    /* A zero-initialised struct (or one filled positionally): refused. */
    cam_render_options zero;
    memset(&zero, 0, sizeof zero);
    zero.alpha = 0.5f;
    CHECK(new_renderer(m4, 2, 2, 4, 4, &zero, &err) == NULL, "zeroed options accepted");
    CHECK(err.status == CAM_ERROR_INVALID_ARGUMENT && strstr(err.message, "cam_renderer_new") &&
              strstr(err.message, "cam_render_options.size") &&
              strstr(err.message, "cam_render_options_default()"),
          "zeroed options message: %s", err.message);
    uint8_t px[4 * 16];
    cam_image d = image(px, 4, 4, 4, CAM_SAMPLE_U8);
    CHECK_STATUS(cam_render_image(m4, 2, 2, &zero, NULL, &d, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "cam_render_image") && strstr(err.message, "cam_render_options_default"),
          "cam_render_image message: %s", err.message);
    zero = cam_render_options_default();
    zero.size = sizeof zero - 1; /* an older, smaller struct */
    CHECK(new_renderer(m4, 2, 2, 4, 4, &zero, &err) == NULL, "short options accepted");
    /* Larger (a newer header, fields this library does not know): accepted. */
    struct {
        cam_render_options o;
        int later_field;
    } newer;
    memset(&newer, 0, sizeof newer);
    newer.o = cam_render_options_default();
    newer.o.size = sizeof newer;
    newer.later_field = 7;
    r = new_renderer(m4, 2, 2, 4, 4, &newer.o, &err);
    CHECK(r != NULL, "larger options refused: %s", err.message);
    cam_renderer_free(r);
}

int main(void)
{
    test_blend_hand();
    test_ranges();
    test_strips();
    test_large();
    test_edges_and_errors();
    test_construction_and_options_size();
    return test_summary("test-renderer");
}
