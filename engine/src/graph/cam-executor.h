/*
 * cam-executor.h -- running a typed graph: forward over a batch, backward from
 * seed gradients to any tensor (graph/cam-executor.c).
 *
 * An executor holds the memory of one thread: activation buffers for up to
 * max_batch instances, planned at creation, the gradient buffers of one
 * instance, and the op scratch. The graph is only read.
 *
 * ACTIVATION MEMORY (the plan)
 *  Every run-time root tensor (graph input or node output; the outputs of VIEW
 *  ops share their input's buffer) is live from the step that writes it to its
 *  last reader in the forward order, or to the end of the forward when it must
 *  stay RESIDENT. Tensors whose live ranges do not intersect share memory
 *  (offsets packed once, at creation; an op's outputs never share memory with
 *  its inputs or with each other). Each image has an arena of its own laid out
 *  by the same plan, so images are independent whatever the batch.
 *  - plan NULL (cam_executor_new): every tensor is resident -- nothing is
 *    reused, and cam_executor_value / cam_executor_backward work on any tensor
 *    of the last forward.
 *  - a plan: resident are the graph outputs, plan->keep, plan->targets and, for
 *    a backward from plan->seeds to each target, every run-time input and output
 *    of every node that backward may run (op backward hooks receive all of a
 *    node's inputs and outputs, so all are kept: conservative). Everything else
 *    is reused as soon as its last forward reader has run.
 *  cam_executor_resident() says whether a tensor's value survives the forward;
 *  cam_executor_value() of a tensor that is not resident points at memory that
 *  later tensors overwrote (callers check cam_executor_resident first).
 *
 * GRADIENT MEMORY
 *  Backward from seed gradients on some tensors of one instance of the last
 *  forward walks the nodes that lie between the target tensor and the seeds in
 *  reverse topological order; gradients are summed where a tensor feeds several
 *  nodes; nothing outside that set is computed. A gradient buffer is live from
 *  its first write (a seed, or the backward of its first consumer in the reverse
 *  walk) to the backward of its producer, which consumes it (the target's lives
 *  to the end); buffers with disjoint live ranges share memory. The offsets are
 *  planned per (target, seeds) and cached for the next call with the same ones;
 *  the arena grows to the largest plan seen. A backward that would run a node
 *  whose inputs or outputs are not resident is refused (CAM_ERROR_INVALID_ARGUMENT,
 *  naming the tensor) before anything is computed.
 *
 * Results do not depend on the plan: the same kernels run in the same order on
 * the same values, and every gradient is overwritten by its first contribution
 * and summed with the next ones in the same order.
 */
#ifndef CAM_EXECUTOR_H
#define CAM_EXECUTOR_H

#include "graph/cam-graph.h"

#include <stddef.h>

typedef struct cam_executor cam_executor;

/* What a planned executor must keep (tensor indices; arrays may be NULL when
 * their count is 0). */
typedef struct cam_executor_plan {
    const int *keep;      /* values needed after the forward (graph outputs always are) */
    int n_keep;
    const int *targets;   /* tensors a backward may target (their values are kept too) */
    int n_targets;
    const int *seeds;     /* tensors a backward starts from (the logits) */
    int n_seeds;
} cam_executor_plan;

/* Everything resident (no reuse of activations). */
cam_executor *cam_executor_new(const cam_graph *graph, int max_batch, cam_error *err);
/* plan NULL: as cam_executor_new. */
cam_executor *cam_executor_new_planned(const cam_graph *graph, int max_batch,
                                       const cam_executor_plan *plan, cam_error *err);
void cam_executor_free(cam_executor *x);

/* inputs: one pointer per graph input (graph->inputs order), each n instances
 * one after another; CONSTANT inputs are skipped (pass NULL). */
cam_status cam_executor_forward(cam_executor *x, const float *const *inputs, int n, cam_error *err);

/* REPLACING A TENSOR (the perturbation methods, explain/ and methods/)
 *  cam_executor_forward_replacing() runs n instances of the graph in which the
 *  run-time tensor t does not hold what its producer computes but the values
 *  fill(user, i, values) writes for instance i (t's numel floats, written in
 *  place). Everything t does not depend on is computed from `inputs` (one
 *  instance of each graph input, as cam_executor_forward with n = 1 takes
 *  them). t may be the graph input itself (then fill writes the whole input).
 *  What runs:
 *  - REUSE, when image 0 of the executor holds a forward pass of `inputs`
 *    (the caller's promise: the last cam_executor_forward had them as image 0,
 *    possibly followed by replacing forwards of the same t) and every value the
 *    nodes downstream of t read from upstream of t is resident in image 0 and
 *    lies where no downstream value is written: only the nodes that depend on t
 *    and lead to a graph output run, reading the upstream values of image 0
 *    (for every instance). A Relu fused into the conv that writes t runs by
 *    itself there (its input is the replaced t).
 *  - else the whole graph runs for each instance from `inputs`, t replaced
 *    right after the node that writes it.
 *  Both give the same numbers (the same kernels on the same values), whatever
 *  n, the batch and the plan. Afterwards the graph outputs and every tensor
 *  computed from t are those of instances 0..n-1; the executor holds no
 *  forward pass any more (n_images = 0: backward refused until the next
 *  cam_executor_forward), and image 0's values of t and of what depends on it
 *  are overwritten (callers copy what they need first).
 *  Errors: t not a run-time float tensor, or sharing its memory (a view) with
 *  a tensor that nodes read without going through t (CAM_ERROR_UNSUPPORTED,
 *  naming both); n outside 1..max_batch; `inputs` needed but NULL. */
typedef void (*cam_executor_fill_fn)(void *user, int instance, float *values);

cam_status cam_executor_forward_replacing(cam_executor *x, const float *const *inputs, int t,
                                          int n, cam_executor_fill_fn fill, void *user,
                                          cam_error *err);

/* LANES: cam_executor_forward_replacing_lanes() runs `count` instances as
 * cam_executor_forward_replacing does, but side by side on `lanes` threads
 * (cam_parallel_lanes: lanes > 1 sets OpenBLAS to one thread meanwhile), each
 * lane with an image arena (lane 0: image 0; lanes beyond max_batch get arenas
 * of their own, allocated on first use and kept), op scratch and argument arrays
 * of its own. Lanes take the next instance from a shared counter; right after
 * instance i's pass, collect(user, i, image) runs on that lane's thread, where
 * cam_executor_value(x, tensor, image) holds instance i's graph outputs until
 * that lane's next instance starts. fill and collect run on several threads at
 * once (for different instances): they must only write what belongs to their
 * instance. Every instance is computed by the same kernels on the same values as
 * with one lane (the kernels' own threading is off inside a lane), so results
 * are bit-identical whatever `lanes`. Progress steps come from the calling
 * thread only: done is the count of node runs of all lanes so far (monotone),
 * and a step reporting the whole total ends a call that was not cancelled. On
 * cancel, the lanes stop after their current node. Afterwards the executor
 * holds no forward pass, as after cam_executor_forward_replacing.
 * lanes: 1..64 (more lanes than instances are not started). */
typedef void (*cam_executor_collect_fn)(void *user, int instance, int image);

cam_status cam_executor_forward_replacing_lanes(cam_executor *x, const float *const *inputs,
                                                int t, int count, int lanes,
                                                cam_executor_fill_fn fill,
                                                cam_executor_collect_fn collect, void *user,
                                                cam_error *err);

/* Nodes that the last cam_executor_forward_replacing ran per instance (tests:
 * reuse runs fewer than the whole graph), -1 before any. */
int cam_executor_replaced_nodes(const cam_executor *x);

/* Tests: on = 0 forbids reuse (every replacing forward runs the whole graph);
 * 1, the default, reuses when it can. */
void cam_executor_set_replace_reuse(cam_executor *x, int on);

/* Tensor t of instance `image` of the last forward (constants: their data; any dtype).
 * Valid only when cam_executor_resident(x, t). */
const void *cam_executor_value(const cam_executor *x, int t, int image);

/* Does tensor t's value survive the forward (constants: always)? */
int cam_executor_resident(const cam_executor *x, int t);

/* d(sum_s <seed_s, tensor_s>) / d target for instance `image`: n_seeds pairs of
 * (tensor index, gradient of that tensor's numel floats). The result (target's
 * numel floats) is written to grad. CAM_ERROR_INVALID_ARGUMENT when the target
 * does not lead to any seed, or when the plan did not keep what this backward
 * needs; CAM_ERROR_UNSUPPORTED when a node on the way has no backward (names it). */
cam_status cam_executor_backward(cam_executor *x, int image, int n_seeds, const int *seed_tensors,
                                 const float *const *seeds, int target, float *grad,
                                 cam_error *err);

/* PROGRESS: step(user, done, total) is called after each node that a forward, a
 * replacing forward or a backward runs (per instance: done counts the node runs
 * of this call, 1..total, total the node runs the call makes). A non-zero return
 * stops the call at once: it returns CAM_STATUS_CANCELLED. A cancelled forward
 * leaves the executor with no forward pass (n_images = 0), as a replacing
 * forward does; a cancelled backward leaves the forward and the cached plan as
 * they were. step NULL (the default): no calls. */
typedef int (*cam_executor_step_fn)(void *user, long done, long total);
void cam_executor_set_step(cam_executor *x, cam_executor_step_fn step, void *user);

/* cam_executor_backward that also shows the gradients on the way: just before
 * the backward of each node it runs, visit(user, node, gout) receives the node
 * and gout[j], the complete d(sum_s <seed_s, tensor_s>) / d output j of the node
 * (NULL where no gradient flows into it, or where the output belongs to a node
 * fused into this one), valid during the call only. Nodes that the backward
 * does not run (off the way between target and seeds) are not visited. */
typedef void (*cam_executor_visit_fn)(void *user, const cam_node *node,
                                      const float *const *gout);

cam_status cam_executor_backward_visiting(cam_executor *x, int image, int n_seeds,
                                          const int *seed_tensors, const float *const *seeds,
                                          int target, float *grad, cam_executor_visit_fn visit,
                                          void *user, cam_error *err);

/* Memory held by an executor, in bytes. */
typedef struct cam_executor_memory {
    size_t activations;          /* the activation arenas (max_batch images) */
    size_t activations_unplanned; /* one buffer per root tensor, max_batch images */
    size_t gradients;            /* the gradient arena (the largest backward so far) */
    size_t gradients_unplanned;  /* one gradient buffer per root tensor */
    size_t other;                /* op scratch and the backward's temporary */
} cam_executor_memory;

void cam_executor_memory_use(const cam_executor *x, cam_executor_memory *out);

/* Tests: on = 0 gives every gradient a place of its own (the reference the
 * reuse is checked against); 1 (the default) reuses by reverse liveness. */
void cam_executor_set_gradient_reuse(cam_executor *x, int on);

/* Do gradients flow from tensor `from` to tensor `to` (is there a path of float
 * runtime values with differentiable nodes)? */
int cam_graph_reaches(const cam_graph *graph, int from, int to);

#endif /* CAM_EXECUTOR_H */
