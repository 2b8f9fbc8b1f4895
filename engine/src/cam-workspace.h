/*
 * cam-workspace.h -- what a cam_workspace holds (internal).
 *
 * A workspace is the per-thread memory of the computation, allocated once by
 * cam_workspace_new for up to max_batch images and never resized:
 *  - one activation buffer per tensor of the graph (max_batch x numel floats);
 *    IDENTITY and FLATTEN outputs alias their input's buffer (same floats);
 *  - the softmax probabilities of every image (max_batch x n_classes);
 *  - two ping-pong gradient buffers for ONE image (the largest tensor);
 *  - the im2col scratch of the largest convolution (one image, one group);
 *  - the double-precision sums of an explanation.
 * The model is only read. Nothing is allocated by cam_forward / cam_backward.
 */
#ifndef CAM_WORKSPACE_H
#define CAM_WORKSPACE_H

#include "cam-graph.h"
#include "cam-model.h"
#include "cam-ops.h"

struct cam_workspace {
    const cam_model *model;
    const cam_graph *graph;
    int max_batch;
    int n_images;         /* images of the last successful cam_forward; 0 before */

    float **acts;         /* per tensor index: activation buffer, NULL for weights */
    float *act_storage;   /* the one allocation behind acts[] */
    float *probs;         /* max_batch x n_classes */
    float *grad[2];       /* one image, max_numel floats each */
    size_t max_numel;
    float *scratch;       /* im2col, scratch_size floats (>= 1) */
    size_t scratch_size;
    double *explain_scratch; /* explanations: 2 x max_numel doubles (sums, channel weights) */
};

/* The pool geometry of a node (cam-workspace.c; the conv geometry: cam-graph.h). */
void cam_node_pool_shape(const cam_graph *graph, const cam_node *node, cam_pool_shape *s);

/* Probabilities of image i of the last forward (n_classes floats). */
const float *cam_workspace_probabilities(const cam_workspace *ws, int image);

/* Is tensor t an activation (or the input) from which the logits can be reached,
 * i.e. may it be the target of a backward pass? */
int cam_tensor_reaches_logits(const cam_graph *graph, int t);

/* cam-backward.c: d score[class] / d tensor t for one image of the last forward;
 * *grad_out points into the workspace (valid until the next call). Arguments are
 * assumed valid (checked by the public functions). */
void cam_backward_to(cam_workspace *ws, int image, int class_index, cam_score score, int t,
                     const float **grad_out);

#endif /* CAM_WORKSPACE_H */
