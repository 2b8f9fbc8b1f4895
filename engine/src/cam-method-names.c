/*
 * cam-method-names.c -- the names of the explanation methods (camengine.h),
 * apart from their table (methods/registry.c) so that the model loader, which
 * reads a model's default method, needs no method code.
 */
#include "cam-error.h"
#include "camengine.h"

static const char *const method_names[CAM_METHOD_COUNT] = {
    [CAM_METHOD_CAM] = "cam",
    [CAM_METHOD_GRAD_CAM] = "grad-cam",
    [CAM_METHOD_GRAD_CAM_TUTORIAL] = "grad-cam-tutorial",
    [CAM_METHOD_HIRES_CAM] = "hires-cam",
    [CAM_METHOD_GRAD_CAM_PLUS_PLUS] = "grad-cam++",
    [CAM_METHOD_XGRAD_CAM] = "xgrad-cam",
    [CAM_METHOD_GRAD_CAM_ELEMENTWISE] = "grad-cam-elementwise",
    [CAM_METHOD_LAYER_CAM] = "layer-cam",
    [CAM_METHOD_EIGEN_CAM] = "eigen-cam",
    [CAM_METHOD_EIGEN_GRAD_CAM] = "eigen-grad-cam",
    [CAM_METHOD_KPCA_CAM] = "kpca-cam",
    [CAM_METHOD_FINER_CAM] = "finer-cam",
    [CAM_METHOD_SMOOTH_GRAD_CAM_PLUS_PLUS] = "smooth-grad-cam++",
    [CAM_METHOD_RANDOM] = "random",
    [CAM_METHOD_SCORE_CAM] = "score-cam",
    [CAM_METHOD_SS_CAM] = "ss-cam",
    [CAM_METHOD_IS_CAM] = "is-cam",
    [CAM_METHOD_ABLATION_CAM] = "ablation-cam",
    [CAM_METHOD_RECIPRO_CAM] = "recipro-cam",
    [CAM_METHOD_FULL_GRAD] = "fullgrad",
};

const char *cam_method_name(cam_method method)
{
    return (unsigned)method < CAM_METHOD_COUNT ? method_names[method] : NULL;
}

cam_status cam_method_from_name(const char *name, cam_method *out, cam_error *err)
{
    int v = 0;
    cam_status st = cam_enum_from_name("cam_method_from_name", "method", method_names,
                                       CAM_METHOD_COUNT, name, out ? &v : NULL, err);
    if (st == CAM_OK)
        *out = (cam_method)v;
    return st;
}
