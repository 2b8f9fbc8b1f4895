/* test-region.c -- thresholds and the largest connected region (cam-region.c):
 * hand-drawn masks (diagonal connection, a U whose arms meet only at the bottom,
 * a spiral, ties, empty and full masks, strides), random masks against a flood
 * fill written here, the threshold rule on a rendered map, and argument errors. */
#include "camengine.h"
#include "render-test.h"

#include <stdlib.h>
#include <string.h>

/* A mask from a picture: '#' set, anything else clear; rows of equal length. */
static uint8_t *from_picture(const char *const *rows, int *w, int *h)
{
    *h = 0;
    while (rows[*h])
        (*h)++;
    *w = (int)strlen(rows[0]);
    uint8_t *m = calloc((size_t)*w * *h, 1);
    for (int y = 0; y < *h; y++)
        for (int x = 0; x < *w; x++)
            m[y * *w + x] = rows[y][x] == '#' ? 255 : 0;
    return m;
}

static cam_region largest(const char *const *rows)
{
    int w, h;
    cam_error err = {0};
    cam_region r;
    uint8_t *m = from_picture(rows, &w, &h);
    CHECK_STATUS(cam_mask_largest_region(m, w, h, (size_t)w, &r, &err), CAM_OK);
    free(m);
    return r;
}

static void check_region(cam_region r, int x, int y, int w, int h, size_t area, int n,
                         const char *what)
{
    CHECK(r.bounds.x == x && r.bounds.y == y && r.bounds.width == w && r.bounds.height == h &&
              r.area == area && r.n_regions == n,
          "%s: bounds %d,%d %dx%d area %zu regions %d; expected %d,%d %dx%d area %zu regions %d",
          what, r.bounds.x, r.bounds.y, r.bounds.width, r.bounds.height, r.area, r.n_regions, x, y,
          w, h, area, n);
}

static void test_hand(void)
{
    static const char *const two_blobs[] = {
        "##......",
        "##...###",
        ".....###",
        "......##",
        NULL};
    check_region(largest(two_blobs), 5, 1, 3, 3, 8, 2, "two blobs: the larger");

    static const char *const diagonal[] = {
        "#...",
        ".#..",
        "..#.",
        "...#",
        NULL};
    check_region(largest(diagonal), 0, 0, 4, 4, 4, 1, "diagonal pixels are one region");

    static const char *const anti_diagonal[] = {
        "...#",
        "..#.",
        ".#..",
        "#...",
        NULL};
    check_region(largest(anti_diagonal), 0, 0, 4, 4, 4, 1, "anti-diagonal pixels are one region");

    /* The arms are separate runs until the bottom row joins them (union of two roots). */
    static const char *const u_shape[] = {
        "#...#..##",
        "#...#..##",
        "#...#....",
        "#####....",
        NULL};
    check_region(largest(u_shape), 0, 0, 5, 4, 11, 2, "U joined at the bottom");

    /* Several merges through one long run, then a region that grows again. */
    static const char *const comb[] = {
        "#.#.#.#.....",
        "#######.....",
        ".......#....",
        "........####",
        NULL};
    check_region(largest(comb), 0, 0, 12, 4, 16, 1, "comb joined diagonally to a tail");

    static const char *const spiral[] = {
        "#######",
        "......#",
        "#####.#",
        "#...#.#",
        "#.###.#",
        "#.....#",
        "#######",
        NULL};
    check_region(largest(spiral), 0, 0, 7, 7, 31, 1, "spiral");

    static const char *const tie[] = {
        "..##....",
        "........",
        "##......",
        NULL};
    check_region(largest(tie), 2, 0, 2, 1, 2, 2, "tie: the first in raster order");

    static const char *const empty[] = {"....", "....", NULL};
    check_region(largest(empty), 0, 0, 0, 0, 0, 0, "empty mask");

    static const char *const full[] = {"###", "###", NULL};
    check_region(largest(full), 0, 0, 3, 2, 6, 1, "full mask");

    /* A stride larger than the width: the padding bytes are set and must be ignored. */
    cam_error err = {0};
    uint8_t padded[3 * 5] = {
        0, 255, 0, 255, 255,
        0, 255, 0, 255, 255,
        0, 0, 0, 255, 255};
    cam_region r;
    CHECK_STATUS(cam_mask_largest_region(padded, 3, 3, 5, &r, &err), CAM_OK);
    check_region(r, 1, 0, 1, 2, 2, 1, "stride: padding ignored");
    CHECK_STATUS(cam_mask_largest_region(padded, 0, 0, 0, &r, &err), CAM_OK);
    check_region(r, 0, 0, 0, 0, 0, 0, "0 x 0 mask");
}

/* The reference: flood fill, 8 neighbours. */
static void reference(const uint8_t *m, int w, int h, cam_region *out)
{
    int *seen = calloc((size_t)w * h, sizeof *seen);
    int *stack = malloc((size_t)w * h * sizeof *stack);
    memset(out, 0, sizeof *out);
    for (int start = 0; start < w * h; start++) {
        if (!m[start] || seen[start])
            continue;
        int n = 0, top = 0, x0 = w, y0 = h, x1 = -1, y1 = -1;
        stack[top++] = start;
        seen[start] = 1;
        while (top) {
            int i = stack[--top], x = i % w, y = i / w;
            n++;
            x0 = x < x0 ? x : x0;
            y0 = y < y0 ? y : y0;
            x1 = x > x1 ? x : x1;
            y1 = y > y1 ? y : y1;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int nx = x + dx, ny = y + dy;
                    if (nx < 0 || ny < 0 || nx >= w || ny >= h)
                        continue;
                    int j = ny * w + nx;
                    if (m[j] && !seen[j]) {
                        seen[j] = 1;
                        stack[top++] = j;
                    }
                }
        }
        out->n_regions++;
        if ((size_t)n > out->area) {
            out->area = (size_t)n;
            out->bounds = (cam_rect){x0, y0, x1 - x0 + 1, y1 - y0 + 1};
        }
    }
    free(seen);
    free(stack);
}

static void test_random(void)
{
    cam_error err = {0};
    unsigned seed = 12345;
    for (int trial = 0; trial < 300; trial++) {
        int w = 1 + trial % 37, h = 1 + (trial * 7) % 29;
        int density = 20 + trial % 60; /* percent */
        uint8_t *m = malloc((size_t)w * h);
        for (int i = 0; i < w * h; i++) {
            seed = seed * 1103515245u + 12345u;
            m[i] = (int)((seed >> 16) % 100) < density ? 1 + (seed >> 8) % 255 : 0;
        }
        cam_region got, want;
        CHECK_STATUS(cam_mask_largest_region(m, w, h, (size_t)w, &got, &err), CAM_OK);
        reference(m, w, h, &want);
        char what[64];
        snprintf(what, sizeof what, "random mask %d (%dx%d, %d%%)", trial, w, h, density);
        check_region(got, want.bounds.x, want.bounds.y, want.bounds.width, want.bounds.height,
                     want.area, want.n_regions, what);
        free(m);
    }
}

static void test_threshold(void)
{
    cam_error err = {0};
    const float v[2 * 4] = {0.0f, 0.19f, 0.2f, 0.9f, /* row 1 */ 1.0f, -1.0f, NAN, 0.2000001f};
    uint8_t m[2 * 5];
    memset(m, 7, sizeof m);
    CHECK_STATUS(cam_mask_threshold(v, 4, 2, 4, 0.2f, m, 5, &err), CAM_OK);
    const uint8_t want[2 * 5] = {0, 0, 255, 255, 7, 255, 0, 0, 255, 7};
    CHECK(memcmp(m, want, sizeof want) == 0,
          "threshold 0.2: %d %d %d %d (%d) / %d %d %d %d (%d)", m[0], m[1], m[2], m[3], m[4],
          m[5], m[6], m[7], m[8], m[9]);

    /* On a rendered map: normalised values of a 2x2 map 0, 1, 2, 10 at 8x8; the mask is
     * t >= 0.2, i.e. v >= 0 + 0.2 * 10 = 2 on the upsampled values. */
    const float map[4] = {0, 1, 2, 10};
    cam_render_options o = cam_render_options_default();
    cam_renderer *r = new_renderer(map, 2, 2, 8, 8, &o, &err);
    float t[64], raw[64];
    uint8_t mask[64];
    if (r) {
        CHECK_STATUS(cam_renderer_values_rect(r, (cam_rect){0, 0, 8, 8}, CAM_VALUES_NORMALIZED,
                                              t, 8, &err), CAM_OK);
        CHECK_STATUS(cam_renderer_values_rect(r, (cam_rect){0, 0, 8, 8}, CAM_VALUES_RAW, raw, 8,
                                              &err), CAM_OK);
        CHECK_STATUS(cam_mask_threshold(t, 8, 8, 8, 0.2f, mask, 8, &err), CAM_OK);
        int mismatches = 0, set = 0;
        for (int i = 0; i < 64; i++) {
            /* float rounding of (v - lo) / (hi - lo) may move a value exactly at the
             * level; none of these samples is within 1e-5 of it */
            if (fabsf(raw[i] - 2.0f) > 1e-4f && (mask[i] != 0) != (raw[i] >= 2.0f))
                mismatches++;
            set += mask[i] != 0;
        }
        CHECK(mismatches == 0, "threshold on normalised values = 20%% of the range (%d differ)",
              mismatches);
        CHECK(set > 0 && set < 64, "some but not all pixels set (%d)", set);
        CHECK(mask[63] == 255 && mask[0] == 0, "the hot corner is set, the cold one is not");
        cam_region region;
        CHECK_STATUS(cam_mask_largest_region(mask, 8, 8, 8, &region, &err), CAM_OK);
        CHECK(region.n_regions == 1 && region.bounds.x + region.bounds.width == 8 &&
                  region.bounds.y + region.bounds.height == 8,
              "one region in the hot corner (%d regions, %d,%d %dx%d)", region.n_regions,
              region.bounds.x, region.bounds.y, region.bounds.width, region.bounds.height);
        cam_renderer_free(r);
    }

    /* Errors name the problem. */
    CHECK_STATUS(cam_mask_threshold(NULL, 4, 2, 4, 0.2f, m, 5, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "values") != NULL, "message names values: %s", err.message);
    CHECK_STATUS(cam_mask_threshold(v, 4, 2, 3, 0.2f, m, 5, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "stride") != NULL, "message names the stride: %s", err.message);
    CHECK_STATUS(cam_mask_threshold(v, 4, 2, 4, NAN, m, 5, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "threshold") != NULL, "message names the threshold: %s",
          err.message);
    cam_region region;
    CHECK_STATUS(cam_mask_largest_region(NULL, 4, 2, 4, &region, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "mask") != NULL, "message names the mask: %s", err.message);
    CHECK_STATUS(cam_mask_largest_region(m, 5, 2, 4, &region, &err), CAM_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(cam_mask_largest_region(m, -1, 2, 4, &region, &err), CAM_ERROR_INVALID_ARGUMENT);
}

int main(void)
{
    test_hand();
    test_random();
    test_threshold();
    return test_summary("region");
}
