/* cam-colormap.c -- colormap names, tables and lookup (tables: cam-colormap-tables.c). */
#include "cam-colormap-tables.h"
#include "cam-error.h"
#include "cam-render-private.h"

#include <math.h>
#include <strings.h>

static const char *const colormap_names[CAM_COLORMAP_COUNT] = {
    [CAM_COLORMAP_JET] = "jet",
    [CAM_COLORMAP_TURBO] = "turbo",
    [CAM_COLORMAP_VIRIDIS] = "viridis",
    [CAM_COLORMAP_INFERNO] = "inferno",
    [CAM_COLORMAP_MAGMA] = "magma",
    [CAM_COLORMAP_PLASMA] = "plasma",
    [CAM_COLORMAP_CIVIDIS] = "cividis",
    [CAM_COLORMAP_GRAY] = "gray",
    [CAM_COLORMAP_GREENS] = "greens",
    [CAM_COLORMAP_REDS] = "reds",
    [CAM_COLORMAP_GREENS_REDS] = "greens-reds",
};

const char *cam_colormap_name(cam_colormap cmap)
{
    if ((unsigned)cmap >= CAM_COLORMAP_COUNT)
        return NULL;
    return colormap_names[cmap];
}

cam_status cam_colormap_from_name(const char *name, cam_colormap *out, cam_error *err)
{
    /* Aliases first; everything else (NULL arguments, canonical names, the
     * message for an unknown name) is the shared rule. */
    if (name && out) {
        if (strcasecmp(name, "grey") == 0) {
            *out = CAM_COLORMAP_GRAY;
            return CAM_OK;
        }
        if (strcasecmp(name, "confidence") == 0 || strcasecmp(name, "greens_reds") == 0) {
            *out = CAM_COLORMAP_GREENS_REDS;
            return CAM_OK;
        }
    }
    int v = 0;
    cam_status st = cam_enum_from_name("cam_colormap_from_name", "colormap", colormap_names,
                                       CAM_COLORMAP_COUNT, name, out ? &v : NULL, err);
    if (st == CAM_OK)
        *out = (cam_colormap)v;
    return st;
}

cam_colormap cam_colormap_resolve(cam_colormap cmap, float probability, float threshold)
{
    if (cmap == CAM_COLORMAP_GREENS_REDS)
        return probability > threshold ? CAM_COLORMAP_GREENS : CAM_COLORMAP_REDS;
    return cmap;
}

const uint8_t *cam_colormap_table(cam_colormap cmap)
{
    if ((unsigned)cmap >= CAM_COLORMAP_N_TABLES)
        return NULL;
    return cam_colormap_tables[cmap];
}

int cam_colormap_index(float t)
{
    if (!(t > 0.0f)) /* also NaN */
        return 0;
    if (t >= 1.0f)
        return 255;
    int i = (int)(t * 256.0f);
    return i > 255 ? 255 : i;
}

void cam_colormap_lookup(cam_colormap cmap, float t, uint8_t rgb_out[3])
{
    const uint8_t *table = cam_colormap_table(cmap);
    if (!table || isnan(t)) {
        rgb_out[0] = rgb_out[1] = rgb_out[2] = 0;
        return;
    }
    const uint8_t *c = table + 3 * cam_colormap_index(t);
    rgb_out[0] = c[0];
    rgb_out[1] = c[1];
    rgb_out[2] = c[2];
}
