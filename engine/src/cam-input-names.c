/* cam-input-names.c -- names of the input-description enums: cam_aspect,
 * cam_channel_order, cam_resample.
 *
 * Part of the core, not of render/: the model loader reads them from a model's
 * cam.input.* metadata, and the loader (which the fuzzer builds alone) must not
 * need the render sources. */
#include "camengine.h"
#include "cam-error.h"

static const char *const aspect_names[CAM_ASPECT_COUNT] = {"stretch", "crop", "pad"};
static const char *const channel_order_names[CAM_CHANNEL_ORDER_COUNT] = {"rgb", "bgr"};
static const char *const resample_names[CAM_RESAMPLE_COUNT] = {"area", "bilinear", "bicubic"};

const char *cam_aspect_name(cam_aspect aspect)
{
    return (unsigned)aspect < CAM_ASPECT_COUNT ? aspect_names[aspect] : NULL;
}

cam_status cam_aspect_from_name(const char *name, cam_aspect *out, cam_error *err)
{
    int v = 0;
    cam_status st = cam_enum_from_name("cam_aspect_from_name", "aspect mode", aspect_names,
                                       CAM_ASPECT_COUNT, name, out ? &v : NULL, err);
    if (st == CAM_OK)
        *out = (cam_aspect)v;
    return st;
}

const char *cam_channel_order_name(cam_channel_order order)
{
    return (unsigned)order < CAM_CHANNEL_ORDER_COUNT ? channel_order_names[order] : NULL;
}

cam_status cam_channel_order_from_name(const char *name, cam_channel_order *out, cam_error *err)
{
    int v = 0;
    cam_status st = cam_enum_from_name("cam_channel_order_from_name", "channel order",
                                       channel_order_names, CAM_CHANNEL_ORDER_COUNT, name,
                                       out ? &v : NULL, err);
    if (st == CAM_OK)
        *out = (cam_channel_order)v;
    return st;
}

const char *cam_resample_name(cam_resample resample)
{
    return (unsigned)resample < CAM_RESAMPLE_COUNT ? resample_names[resample] : NULL;
}

cam_status cam_resample_from_name(const char *name, cam_resample *out, cam_error *err)
{
    int v = 0;
    cam_status st = cam_enum_from_name("cam_resample_from_name", "interpolation", resample_names,
                                       CAM_RESAMPLE_COUNT, name, out ? &v : NULL, err);
    if (st == CAM_OK)
        *out = (cam_resample)v;
    return st;
}
