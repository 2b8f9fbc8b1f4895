/* cam-colormap.c -- colormap tables and lookup (tables: cam-colormap-tables.c; the names
 * are in the core, src/cam-colormap-names.c). */
#include "cam-colormap-tables.h"
#include "cam-render-private.h"

#include <math.h>

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
