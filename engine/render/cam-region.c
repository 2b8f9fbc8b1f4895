/*
 * cam-region.c -- from a map to regions: thresholding and the largest connected
 * region (the CAM paper's localisation rule, Zhou et al. 2016, section 3:
 * "segment the regions of which the value is above 20% of the max value of the
 * CAM, then take the bounding box that covers the largest connected component").
 *
 * cam_mask_threshold     float values -> 0/255 mask (v >= threshold)
 * cam_mask_largest_region  8-connected components of a mask, by runs: each row's
 *                        runs of set pixels are joined (union-find) with the runs
 *                        of the row above that touch them, diagonals included, as
 *                        OpenCV's findContours sees a shape. Memory grows with the
 *                        number of runs, not with the number of pixels.
 */
#include "camengine.h"
#include "cam-error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

cam_status cam_mask_threshold(const float *values, int width, int height, size_t values_stride,
                              float threshold, uint8_t *mask, size_t mask_stride, cam_error *err)
{
    if (!values || !mask)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_mask_threshold: %s is NULL",
                             values ? "mask" : "values");
    if (width < 0 || height < 0 || (size_t)width > values_stride || (size_t)width > mask_stride)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_mask_threshold: width %d, height %d, strides %zu and %zu "
                             "(a stride must be at least the width)",
                             width, height, values_stride, mask_stride);
    if (!isfinite(threshold))
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_mask_threshold: the threshold is not a finite number");
    for (int y = 0; y < height; y++) {
        const float *v = values + (size_t)y * values_stride;
        uint8_t *m = mask + (size_t)y * mask_stride;
        for (int x = 0; x < width; x++)
            m[x] = v[x] >= threshold ? 255 : 0; /* NaN compares false: never set */
    }
    return CAM_OK;
}

typedef struct run {
    int x0, x1;   /* [x0, x1) */
    int y;
    int parent;   /* union-find */
} run;

typedef struct run_list {
    run *runs;
    size_t n, room;
} run_list;

static int find_root(run *runs, int i)
{
    while (runs[i].parent != i) {
        runs[i].parent = runs[runs[i].parent].parent; /* path halving */
        i = runs[i].parent;
    }
    return i;
}

static void join(run *runs, int a, int b)
{
    a = find_root(runs, a);
    b = find_root(runs, b);
    if (a == b)
        return;
    /* the older run stays the root: roots are found in raster order */
    if (a < b)
        runs[b].parent = a;
    else
        runs[a].parent = b;
}

static int push_run(run_list *l, int x0, int x1, int y)
{
    if (l->n == l->room) {
        size_t room = l->room ? l->room * 2 : 256;
        run *grown = realloc(l->runs, room * sizeof *grown);
        if (!grown)
            return 0;
        l->runs = grown;
        l->room = room;
    }
    l->runs[l->n] = (run){x0, x1, y, (int)l->n};
    l->n++;
    return 1;
}

cam_status cam_mask_largest_region(const uint8_t *mask, int width, int height, size_t stride,
                                   cam_region *out, cam_error *err)
{
    if (!mask || !out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_mask_largest_region: %s is NULL", mask ? "out" : "mask");
    memset(out, 0, sizeof *out);
    if (width < 0 || height < 0 || (size_t)width > stride)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_mask_largest_region: width %d, height %d, stride %zu "
                             "(the stride must be at least the width)", width, height, stride);

    run_list l = {0};
    size_t prev_start = 0, prev_end = 0; /* runs of the row above: [prev_start, prev_end) */
    for (int y = 0; y < height; y++) {
        const uint8_t *row = mask + (size_t)y * stride;
        size_t start = l.n;
        size_t p = prev_start;
        for (int x = 0; x < width;) {
            if (!row[x]) {
                x++;
                continue;
            }
            int x0 = x;
            while (x < width && row[x])
                x++;
            if (l.n >= (size_t)INT32_MAX || !push_run(&l, x0, x, y)) {
                free(l.runs);
                return cam_set_error(err, CAM_ERROR_NO_MEMORY,
                                     "cam_mask_largest_region: out of memory");
            }
            int me = (int)(l.n - 1);
            /* Runs above that touch [x0 - 1, x) (8-connectivity): they start before x + 1
             * and end after x0 - 1. Both rows' runs are sorted, so p only moves forward. */
            while (p < prev_end && l.runs[p].x1 < x0)
                p++;
            for (size_t q = p; q < prev_end && l.runs[q].x0 <= x; q++)
                join(l.runs, me, (int)q);
        }
        prev_start = start;
        prev_end = l.n;
    }

    /* Per root: area and bounds. Roots are the first run of their component in raster
     * order, so the first largest component wins ties. */
    size_t *area = calloc(l.n ? l.n : 1, sizeof *area);
    cam_rect *box = malloc((l.n ? l.n : 1) * sizeof *box);
    if (!area || !box) {
        free(area);
        free(box);
        free(l.runs);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "cam_mask_largest_region: out of memory");
    }
    for (size_t i = 0; i < l.n; i++) {
        int r = find_root(l.runs, (int)i);
        const run *u = &l.runs[i];
        if (area[r] == 0) {
            box[r] = (cam_rect){u->x0, u->y, u->x1 - u->x0, 1};
        } else {
            int bx1 = box[r].x + box[r].width, by1 = box[r].y + box[r].height;
            int nx0 = u->x0 < box[r].x ? u->x0 : box[r].x;
            int nx1 = u->x1 > bx1 ? u->x1 : bx1;
            int ny1 = u->y + 1 > by1 ? u->y + 1 : by1;
            box[r] = (cam_rect){nx0, box[r].y, nx1 - nx0, ny1 - box[r].y};
        }
        area[r] += (size_t)(u->x1 - u->x0);
    }
    int best = -1, n_regions = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (l.runs[i].parent != (int)i)
            continue;
        n_regions++;
        if (best < 0 || area[i] > area[best])
            best = (int)i;
    }
    if (best >= 0) {
        out->bounds = box[best];
        out->area = area[best];
    }
    out->n_regions = n_regions;
    free(area);
    free(box);
    free(l.runs);
    return CAM_OK;
}
