/*
 * cam-executor.h -- running a typed graph: forward over a batch, backward from
 * seed gradients to any tensor (graph/cam-executor.c).
 *
 * An executor holds the memory of one thread: activation buffers for up to
 * max_batch instances, planned at creation (views share their input's buffer),
 * the gradient buffers of one instance, and the op scratch. The graph is only read.
 *
 * Backward: from seed gradients on some tensors of one instance of the last
 * forward, walk the nodes that lie between the target tensor and the seeds in
 * reverse topological order; gradients are summed where a tensor feeds several
 * nodes; nothing outside that set is computed.
 */
#ifndef CAM_EXECUTOR_H
#define CAM_EXECUTOR_H

#include "graph/cam-graph.h"

typedef struct cam_executor cam_executor;

cam_executor *cam_executor_new(const cam_graph *graph, int max_batch, cam_error *err);
void cam_executor_free(cam_executor *x);

/* inputs: one pointer per graph input (graph->inputs order), each n instances
 * one after another; CONSTANT inputs are skipped (pass NULL). */
cam_status cam_executor_forward(cam_executor *x, const float *const *inputs, int n, cam_error *err);

/* Tensor t of instance `image` of the last forward (constants: their data; any dtype). */
const void *cam_executor_value(const cam_executor *x, int t, int image);

/* d(sum_s <seed_s, tensor_s>) / d target for instance `image`: n_seeds pairs of
 * (tensor index, gradient of that tensor's numel floats). The result (target's
 * numel floats) is written to grad. CAM_ERROR_INVALID_ARGUMENT when the target
 * does not lead to any seed, or when a node on the way has no backward (names it). */
cam_status cam_executor_backward(cam_executor *x, int image, int n_seeds, const int *seed_tensors,
                                 const float *const *seeds, int target, float *grad,
                                 cam_error *err);

/* Do gradients flow from tensor `from` to tensor `to` (is there a path of float
 * runtime values with differentiable nodes)? */
int cam_graph_reaches(const cam_graph *graph, int from, int to);

#endif /* CAM_EXECUTOR_H */
