/*
 * cam-method.h -- the internal contract of an explanation method (PROVISIONAL:
 * the copy of the contract agreed with the method framework, branch issue-13a,
 * so that methods/perturbation.c builds before the framework lands; the
 * framework's file replaces this one).
 */
#ifndef CAM_METHOD_H
#define CAM_METHOD_H

#include "cam-model.h"

typedef struct cam_method_ctx {
    cam_workspace *ws;          /* forward of `input` already done, image 0 */
    const float *input;         /* the model input, C x H x W */
    const cam_layer *layer;     /* the explained layer (cam-model.h) */
    int class_index;            /* resolved class */
    cam_score score;            /* CAM_SCORE_LOGIT or CAM_SCORE_PROBABILITY */
    const cam_explain_options *options;
    const float *activations;   /* the layer's values for image 0 */
} cam_method_ctx;

typedef cam_status (*cam_method_fn)(const cam_method_ctx *ctx, float *map /* layer H*W */,
                                    cam_error *err);

#endif /* CAM_METHOD_H */
