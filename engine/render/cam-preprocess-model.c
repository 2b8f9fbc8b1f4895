/* cam-preprocess-model.c -- the model-dependent part of the image side: a
 * cam_input_spec and render defaults from a loaded model's shape and metadata. */
#include "cam-error.h"
#include "cam-render-private.h"

#include <string.h>

cam_status cam_input_spec_from_model(const cam_model *model, cam_input_spec *out, cam_error *err)
{
    if (!model || !out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_input_spec_from_model: NULL argument");
    const cam_model_info *info = cam_model_get_info(model);
    memset(out, 0, sizeof *out);
    out->channels = cam_model_input_channels(model);
    out->width = cam_model_input_width(model);
    out->height = cam_model_input_height(model);
    if (out->channels != 1 && out->channels != 3)
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                             "model %s: input has %d channels (images need 1 or 3)%s",
                             info && info->name ? info->name : "(unnamed)", out->channels,
                             out->width == 1 || out->width == 3
                                 ? "; if it is N x H x W x C, set its metadata "
                                   "cam.input.layout to nhwc (cam-model set --layout nhwc)"
                                 : "");
    out->scale = info ? info->input_scale : 1.0f / 255.0f;
    for (int c = 0; c < 4; c++) {
        out->mean[c] = info ? info->input_mean[c] : 0.0f;
        out->std[c] = info ? info->input_std[c] : 1.0f;
    }
    out->background = info ? info->background : CAM_BACKGROUND_NONE;
    out->channel_order = info ? info->channel_order : CAM_CHANNEL_ORDER_RGB;
    out->resample = info ? info->interpolation : CAM_RESAMPLE_AREA;
    out->resize = info ? info->resize_size : 0;
    return CAM_OK;
}

cam_preprocess_options cam_preprocess_options_for_model(const cam_model *model)
{
    cam_preprocess_options o = cam_preprocess_options_default();
    const cam_model_info *info = model ? cam_model_get_info(model) : NULL;
    if (info)
        o.aspect = info->resize_policy;
    return o;
}

cam_status cam_preprocess(const cam_model *model, const cam_image *img,
                          const cam_preprocess_options *opt, float *input_out,
                          cam_preprocess_info *info_out, cam_error *err)
{
    if (opt && cam_check_options_size("cam_preprocess", "cam_preprocess_options",
                                      "cam_preprocess_options_default", opt->size, sizeof *opt,
                                      err) != CAM_OK)
        return CAM_ERROR_INVALID_ARGUMENT;
    cam_input_spec spec;
    cam_status st = cam_input_spec_from_model(model, &spec, err);
    if (st != CAM_OK)
        return st;
    cam_preprocess_options model_opt = cam_preprocess_options_for_model(model);
    return cam_preprocess_spec(&spec, img, opt ? opt : &model_opt, input_out, info_out, err);
}

cam_render_options cam_render_options_for_model(const cam_model *model, cam_method method,
                                                float probability)
{
    cam_render_options o = cam_render_options_default();
    o.probability = probability;
    o.relu = method == CAM_METHOD_GRAD_CAM_TUTORIAL;
    const cam_model_info *info = model ? cam_model_get_info(model) : NULL;
    if (!info)
        return o;
    if (info->default_alpha >= 0.0f && info->default_alpha <= 1.0f)
        o.alpha = info->default_alpha;
    cam_colormap cmap;
    if (info->default_colormap && cam_colormap_from_name(info->default_colormap, &cmap, NULL) == CAM_OK)
        o.colormap = cmap;
    if (info->colormap_threshold == info->colormap_threshold) /* not NaN */
        o.threshold = info->colormap_threshold;
    return o;
}
