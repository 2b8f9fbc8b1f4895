/* cam-colormap-names.c -- colormap names (cam_colormap_name, cam_colormap_from_name).
 *
 * Part of the core, not of render/: the model loader checks a model's
 * cam.display.colormap against the same names the renderer accepts, and the loader
 * (which the fuzzer builds alone) must not need the render sources. The tables and
 * the lookup are in render/cam-colormap.c. */
#include "camengine-render.h"
#include "cam-error.h"

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
