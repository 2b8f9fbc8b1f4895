/*
 * cam-heatmap-render.c -- one output image (the blend or the heatmap alone) from an image
 * and its explanation, through the engine's renderer with the plug-in's defaults
 * (cam_render_options_for_model) and what the command line overrides. Shared by the
 * per-image outputs (cam-heatmap.c) and the gallery tiles (cam-heatmap-gallery.c), so a
 * tile is exactly the image that -o would write.
 */
#include "cam-heatmap.h"

#include <string.h>

cam_render_options cli_render_options(const cam_model *model, cam_method method,
                                      const cli_render_settings *settings, float probability)
{
    cam_render_options ro = cam_render_options_for_model(model, method, probability);
    if (settings->alpha >= 0) ro.alpha = settings->alpha;
    if (settings->colormap_given) ro.colormap = settings->colormap;
    ro.upsample = settings->upsample;
    ro.alpha_from_map = settings->alpha_from_map;
    ro.output = settings->output_kind;
    ro.n_threads = settings->threads;
    return ro;
}

gboolean cli_render_output(const cam_model *model, cam_method method,
                           const cli_render_settings *settings, const cli_image *image,
                           const cam_preprocess_info *info, const cam_explanation *ex,
                           cli_image *out, const char *name, GError **error)
{
    cam_error err = {0};
    memset(out, 0, sizeof *out);
    cam_render_options ro = cli_render_options(model, method, settings, ex->probability);
    if (cam_preprocess_info_map_window(info, ex->map_width, ex->map_height, &ro.window, &err) !=
        CAM_OK)
        goto engine_error;
    const cam_rect sr = info->source_rect;
    cam_renderer *r;
    if (cam_renderer_new(ex->map, ex->map_width, ex->map_height, sr.width, sr.height, &ro, &r,
                         &err) != CAM_OK)
        goto engine_error;

    gboolean partial = sr.x != 0 || sr.y != 0 || sr.width != image->width ||
                       sr.height != image->height;
    if (settings->output_kind == CAM_OUTPUT_BLEND) {
        /* blend in place on a copy; RGB stays RGB, RGBA keeps its alpha */
        out->channels = image->channels == 2 || image->channels == 4 ? 4 : 3;
    } else {
        out->channels = (settings->alpha_from_map || partial) ? 4 : 3;
    }
    out->width = image->width;
    out->height = image->height;
    out->stride = (size_t) out->width * out->channels;
    out->pixels = g_try_malloc0(out->stride * (size_t) out->height);
    if (!out->pixels) {
        cam_renderer_free(r);
        memset(out, 0, sizeof *out);
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "%s: out of memory", name);
        return FALSE;
    }
    if (settings->output_kind == CAM_OUTPUT_BLEND) {
        for (int y = 0; y < image->height; y++) {
            const guint8 *s = image->pixels + (size_t) y * image->stride;
            guint8 *d = out->pixels + (size_t) y * out->stride;
            for (int x = 0; x < image->width; x++, s += image->channels, d += out->channels) {
                if (image->channels >= 3) {
                    d[0] = s[0];
                    d[1] = s[1];
                    d[2] = s[2];
                } else {
                    d[0] = d[1] = d[2] = s[0];
                }
                if (out->channels == 4) d[3] = s[image->channels - 1];
            }
        }
    }
    cam_image view = {0};
    view.pixels = out->pixels + (size_t) sr.y * out->stride + (size_t) sr.x * out->channels;
    view.width = sr.width;
    view.height = sr.height;
    view.channels = out->channels;
    view.type = CAM_SAMPLE_U8;
    view.stride = out->stride;
    cam_rect all = {0, 0, sr.width, sr.height};
    cam_status st = cam_renderer_render_rect(
        r, all, settings->output_kind == CAM_OUTPUT_BLEND ? &view : NULL, &view, &err);
    cam_renderer_free(r);
    if (st != CAM_OK) {
        cli_image_clear(out);
        goto engine_error;
    }
    return TRUE;

engine_error:
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: rendering failed: %s", name,
                err.message);
    return FALSE;
}
