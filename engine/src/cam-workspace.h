/*
 * cam-workspace.h -- what a cam_workspace holds (internal).
 *
 * A workspace is the per-thread memory of the computation, allocated once by
 * cam_workspace_new for up to max_batch images and never resized: the
 * executor's activations and gradients (graph/cam-executor.h), the softmax
 * probabilities of every image, and the buffers of an explanation. The model
 * is only read.
 *
 * cam_workspace_new keeps every activation (the executor without a plan);
 * cam_workspace_new_for_layers plans the executor (graph/cam-executor.h) with
 * keep = {logits, probabilities}, seeds = {logits} and targets = the listed
 * layers, the default layer and the CAM feature tensor, so that the forward
 * reuses every other activation's memory. max_layer then counts only the kept
 * tensors: a tensor that is not kept can be neither read nor explained (the
 * executor refuses the backward pass before writing ws->grad).
 */
#ifndef CAM_WORKSPACE_H
#define CAM_WORKSPACE_H

#include "cam-model.h"
#include "graph/cam-executor.h"

/* Progress (camengine.h, PROGRESS AND CANCELLING). The outermost public call
 * (cam_forward, cam_backward, cam_explain) opens a report with
 * cam_progress_begin and closes it with cam_progress_end; the calls it makes
 * of the others nest (depth) and only add their nodes. The executor's steps
 * (graph/cam-executor.h) are placed in the current part of the current stage:
 * a call's fraction goes from part_lo to part_hi over its node runs. */
typedef struct cam_progress {
    cam_progress_fn fn;   /* NULL: no reports, and the executor has no step hook */
    void *user;
    int depth;            /* public calls open: 0 outside the engine */
    int cancelled;        /* fn returned non-zero in this report */
    double reported;      /* the last fraction given to fn (never decreases) */
    double stage_lo, stage_hi;
    double part_lo, part_hi;
} cam_progress;

struct cam_workspace {
    const cam_model *model;
    const cam_graph *graph;
    cam_executor *exec;
    int max_batch;
    int n_images;         /* images of the last successful cam_forward; 0 before */
    float *probs;         /* max_batch x n_classes */
    float *seed;          /* n_classes: d score / d logits */
    float *grad;          /* the largest layer, one image */
    double *explain_scratch; /* explanations: 2 x max_layer doubles */
    size_t max_layer;     /* floats of the largest kept run-time tensor (and n_classes) */
    void *method_scratch; /* explanation methods' memory (methods/): grown, never shrunk */
    size_t method_scratch_size; /* bytes */
    cam_progress progress;
    int backward_to_input; /* the executor keeps what a backward from the logits to the
                              model's input needs (FullGrad) */
};

/* Probabilities of image i of the last forward (n_classes floats). */
const float *cam_workspace_probabilities(const cam_workspace *ws, int image);

/* Memory for an explanation method: at least `bytes` (64-byte aligned), kept by
 * the workspace and grown to the largest request seen, so that a method
 * allocates only on its first call for a given size. The contents are not kept
 * from one call to the next. NULL with CAM_ERROR_NO_MEMORY when it cannot grow. */
void *cam_workspace_method_scratch(cam_workspace *ws, size_t bytes, cam_error *err);

/* cam-backward.c: d score[class] / d logits for one image of the last forward
 * into seed (n_classes floats; uses ws->grad as scratch). */
void cam_score_seed(cam_workspace *ws, int image, int class_index, cam_score score, float *seed);

/* cam-backward.c: d score[class] / d tensor t for one image of the last forward,
 * into ws->grad. Arguments are assumed valid (checked by the public functions). */
cam_status cam_backward_to(cam_workspace *ws, int image, int class_index, cam_score score, int t,
                           cam_error *err);

/* Progress: begin at the start of a public call's work; end returns its status,
 * after the report of 1 when it succeeded (which may still cancel it), with the
 * message of CAM_STATUS_CANCELLED naming `function` (outermost call only). */
void cam_progress_begin(cam_workspace *ws);
cam_status cam_progress_end(cam_workspace *ws, cam_status status, const char *function,
                            cam_error *err);
/* The fraction range [lo, hi] of the outermost call that the next passes fill
 * (cam_explain: a layer's forward pass, its method). Resets the part to it. */
void cam_progress_stage(cam_workspace *ws, double lo, double hi);
/* A part of the stage, from..to in [0, 1] of it: a method that runs several
 * passes gives each its part (perturbation.c: each batch of instances), so that
 * the fraction advances across them. */
void cam_progress_part(cam_workspace *ws, double from, double to);

#endif /* CAM_WORKSPACE_H */
