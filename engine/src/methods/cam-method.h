/*
 * cam-method.h -- the contract between cam_explain (cam-explain.c, the framework)
 * and the explanation methods (internal).
 *
 * A method is one compute function and one row of the table in registry.c:
 * its enum value, display name, one-line summary, flags. The framework validates the
 * options, runs the forward pass of the input, resolves the class and the
 * layer(s), and calls compute once per (layer, augmented input); fusing layers,
 * augmentation smoothing, the finiteness check and the explanation itself are
 * its business, not the method's. The formulas are documented in camengine.h
 * (above cam_explain); the files:
 *   registry.c     the table; cam_method_display_name / _summary /
 *                  _supports_model (cam_method_name / _from_name: ../cam-method-names.c)
 *   activation.c   CAM, Eigen-CAM, KPCA-CAM, the random baseline
 *   gradient.c     Grad-CAM (paper, tutorial), HiResCAM, Grad-CAM++, XGrad-CAM,
 *                  Grad-CAM element-wise, LayerCAM, EigenGrad-CAM, Finer-CAM,
 *                  Smooth Grad-CAM++, FullGrad
 *   perturbation.c Score-CAM, SS-CAM, IS-CAM, Ablation-CAM, Recipro-CAM
 *   helpers.c      what several methods share: layer planes, gradients, weighted
 *                  sums, the principal component, random numbers
 * Adding a method: its function in the family file, its prototype below, its row
 * in registry.c (display name and summary marked N_() for the translators),
 * its name in ../cam-method-names.c, its enum value (and formula) in camengine.h.
 */
#ifndef CAM_METHOD_H
#define CAM_METHOD_H

#include "cam-model.h"
#include "cam-workspace.h"

#include <stddef.h>
#include <stdint.h>

/* Where feature k at position p of a layer lives in its tensor: NCHW maps hold
 * channel k's plane at k * HW; token tensors hold token 1 + p's C features at
 * (1 + p) * C (token 0, the class token, is left out). The value is
 * tensor[base + k * channel_stride + p * position_stride]. */
typedef struct layer_view {
    size_t base, channel_stride, position_stride;
    int channels;
    size_t spatial; /* H * W */
} layer_view;

layer_view cam_layer_view_of(const cam_layer *l);

typedef struct cam_method_ctx {
    cam_workspace *ws;          /* forward of `input` already done, image 0 */
    const float *input;         /* the model input, C x H x W (as fed to cam_forward) */
    const cam_layer *layer;     /* the explained layer (cam-model.h) */
    int class_index;            /* resolved class (never -1 here) */
    cam_score score;            /* CAM_SCORE_LOGIT or CAM_SCORE_PROBABILITY: what "the class score" is */
    const cam_explain_options *options;
    const float *activations;   /* the layer's values for image 0 (tensor layout: see layer_view) */
    /* added to the contract */
    layer_view view;            /* of `layer` */
    const float *planes;        /* the same activations as K planes of H*W floats
                                   (channel-major, whatever the layer's layout) */
    const char *layer_name;     /* the layer's tensor name (for messages) */
    int n_classes;
    const float *logits;        /* of `input` (n_classes; copies: stay valid when a
                                   method runs more forward passes) */
    const float *probabilities; /* of `input` (n_classes) */
} cam_method_ctx;

/* Writes the layer's H*W map. ctx->activations and ctx->planes point into
 * memory that a method running cam_forward again (on a perturbed or noisy
 * input) overwrites or keeps: such a method copies what it needs first, and has
 * CAM_METHOD_RUNS_FORWARD in its flags so the framework reruns the forward pass
 * before it needs the workspace again. A non-finite map is refused by the
 * framework (CAM_ERROR_NUMERIC). */
typedef cam_status (*cam_method_fn)(const cam_method_ctx *ctx, float *map /* layer H*W */,
                                    cam_error *err);

typedef struct cam_method_def {
    cam_method method;    /* its name: cam_method_name (cam-method-names.c) */
    const char *display_name; /* "Grad-CAM++": for menus and layer names (N_()) */
    const char *summary;  /* one line: what it computes, what it costs (N_()) */
    unsigned flags;
    cam_method_fn compute;
} cam_method_def;

enum {
    CAM_METHOD_NEEDS_GRADIENT = 1u, /* runs backward passes to the layer */
    CAM_METHOD_NEEDS_CAM_HEAD = 2u, /* only on the CAM feature tensor (CAM) */
    CAM_METHOD_PERTURBS = 4u,       /* runs the network on perturbed inputs or features */
    CAM_METHOD_RUNS_FORWARD = 8u,   /* runs cam_forward itself (the workspace no longer
                                       holds the forward of ctx->input afterwards) */
    CAM_METHOD_USES_SCORE = 16u,    /* depends on ctx->score */
    CAM_METHOD_COMPARES_CLASSES = 32u, /* compares the class with others: needs 2 classes */
    CAM_METHOD_WHOLE_NETWORK = 64u, /* uses every layer, its map is at the input's
                                       resolution: the options' layers are ignored, and
                                       ctx->layer is the model input (FullGrad); the
                                       workspace must keep the backward to the input */
};

/* The row of m, or NULL for a value out of range. */
const cam_method_def *cam_method_def_of(cam_method m);

/* ---- helpers (helpers.c) ----------------------------------------------- */

/* Sets CAM_ERROR_NO_MEMORY naming the method and layer; returns it. */
cam_status cam_method_no_memory(const cam_method_ctx *ctx, cam_error *err);

/* malloc'ed K*HW floats / doubles, or NULL with CAM_ERROR_NO_MEMORY set in err. */
float *cam_method_alloc_planes(const cam_method_ctx *ctx, cam_error *err);

/* A tensor of the layer's layout (one image) as K planes of H*W: planes[k*HW + p]. */
void cam_layer_to_planes(const float *tensor, const layer_view *v, float *planes);

/* d y_c / d A (y_c: the class score `score` of ctx->class_index) for the forward
 * the workspace holds, as K planes of H*W. */
cam_status cam_method_gradient(const cam_method_ctx *ctx, cam_score score, float *planes,
                               cam_error *err);

/* The same for any d y / d logits (seed: n_classes floats). */
cam_status cam_method_gradient_seed(const cam_method_ctx *ctx, const float *seed, float *planes,
                                    cam_error *err);

/* map = offset + sum_k weight[k] planes_k (in double, k in order), or with
 * eigen_smooth, offset + the principal-component projection of the terms
 * weight[k] planes_k. */
cam_status cam_method_weighted_sum(const cam_method_ctx *ctx, const float *planes,
                                   const double *weight, double offset, float *map,
                                   cam_error *err);

/* map = sum_k terms_k (in double, k in order), or with eigen_smooth the
 * principal-component projection of terms. terms: K planes of H*W. */
cam_status cam_method_sum_terms(const cam_method_ctx *ctx, const float *terms, float *map,
                                cam_error *err);

/* The projection of K planes of n positions on their first principal component,
 * with the sign rule of camengine.h (PRINCIPAL COMPONENT); `what` names it in
 * errors. */
cam_status cam_principal_projection(const float *planes, int channels, size_t n, float *map,
                                    const char *what, cam_error *err);

/* The top eigenpair of a symmetric n x n operator given by y = M x (restarted
 * Lanczos with full reorthogonalisation, in double): vector (n, unit norm) and
 * value. The eigenvector's sign is not fixed here. */
typedef void (*cam_matvec_fn)(void *data, const double *x, double *y);
cam_status cam_top_eigenpair(size_t n, cam_matvec_fn matvec, void *data, double *vector,
                             double *value, const char *what, cam_error *err);

/* Flips v (n values) so that its entry of largest magnitude (the first on ties)
 * is positive. */
void cam_sign_flip(double *v, size_t n);

void cam_method_relu(float *map, size_t n);

/* sum_p a[p] and sum_p a[p] b[p] in double, in a fixed order: four partial sums
 * (p mod 4) added as (s0 + s1) + (s2 + s3) -- independent additions, so the loop
 * is not one long chain of dependent ones (4x faster on a channel's positions),
 * and the same result every time. */
double cam_method_sum(const float *a, size_t n);
double cam_method_dot(const float *a, const float *b, size_t n);

/* The random numbers of camengine.h (RANDOM NUMBERS). */
uint64_t cam_splitmix64(uint64_t *state);
double cam_random_uniform(uint64_t *state);
double cam_random_normal(uint64_t *state);

/* ---- the methods, one block per family file ----------------------------- */

/* activation.c */
cam_status cam_method_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_eigen_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_kpca_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_random(const cam_method_ctx *ctx, float *map, cam_error *err);

/* gradient.c */
cam_status cam_method_grad_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_grad_cam_tutorial(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_hires_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_grad_cam_plus_plus(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_xgrad_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_grad_cam_elementwise(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_layer_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_eigen_grad_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_finer_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_smooth_grad_cam_plus_plus(const cam_method_ctx *ctx, float *map,
                                                cam_error *err);
/* FullGrad (CAM_METHOD_WHOLE_NETWORK): ctx->layer is the input, map its H*W. */
cam_status cam_method_full_grad(const cam_method_ctx *ctx, float *map, cam_error *err);

/* perturbation.c: forward passes on perturbed copies of the input or the layer, run
 * max_batch at a time with cam_executor_forward_replacing (graph/cam-executor.h),
 * with the workspace's method scratch (cam_workspace_method_scratch) */
cam_status cam_method_score_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_ss_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_is_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_ablation_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_recipro_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
/* torch-cam's defaults */
#define CAM_SS_CAM_SAMPLES 35
#define CAM_SS_CAM_STD 2.0f
#define CAM_IS_CAM_STEPS 10
/* SS-CAM and IS-CAM with other parameters (tests): samples >= 1, std >= 0, steps >= 1. */
cam_status cam_method_ss_cam_with(const cam_method_ctx *ctx, int samples, float std, float *map,
                                  cam_error *err);
cam_status cam_method_is_cam_with(const cam_method_ctx *ctx, int steps, float *map,
                                  cam_error *err);

#endif /* CAM_METHOD_H */
