/*
 * cam-executor.c -- forward and backward passes over a typed graph (see
 * cam-executor.h).
 *
 * Memory: every run-time tensor (graph input or node output) gets a buffer of
 * max_batch instances, except the outputs of VIEW ops (Reshape, Flatten, ...),
 * which share the buffer of their input ("root" below): their forward is free
 * and their gradient is their input's gradient. Gradients exist for one
 * instance: one buffer per root, written when first reached (the op's backward
 * overwrites it) and summed into afterwards (through a temporary), so a tensor
 * read by several nodes gets the sum of their contributions.
 *
 * Order: forward runs each image through all nodes (one instance per op call,
 * so an image's numbers do not depend on the batch); backward walks the active
 * nodes -- those with an input reachable from the target and an output leading
 * to a seed -- in reverse topological order.
 */
#include "graph/cam-executor.h"
#include "ops/cam-op.h"

#include "cam-error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct cam_executor {
    const cam_graph *graph;
    int max_batch;
    int n_images;
    int *root;            /* per tensor: the tensor whose buffer it uses */
    float **value;        /* per root tensor: max_batch x numel, else NULL */
    float **grad;         /* per root tensor: numel (one instance) */
    float *storage;       /* behind value[] */
    float *grad_storage;  /* behind grad[] */
    float *scratch;
    size_t scratch_size;
    char *has_grad;       /* per tensor, during backward */
    char *from_target;    /* per tensor, during backward */
    char *to_seed;        /* per tensor, during backward */
    float *temp;          /* gradient contributions to add: max_temp floats */
    size_t max_temp;
    size_t max_numel;
};

static int is_runtime(const cam_tensor *t)
{
    return t->kind != CAM_TENSOR_CONSTANT;
}

void cam_executor_free(cam_executor *x)
{
    if (!x)
        return;
    free(x->root);
    free(x->value);
    free(x->grad);
    free(x->storage);
    free(x->grad_storage);
    free(x->scratch);
    free(x->has_grad);
    free(x->from_target);
    free(x->to_seed);
    free(x->temp);
    free(x);
}

cam_executor *cam_executor_new(const cam_graph *g, int max_batch, cam_error *err)
{
    if (max_batch < 1 || max_batch > 1 << 20) {
        cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "max_batch %d is outside 1..%d", max_batch,
                      1 << 20);
        return NULL;
    }
    cam_executor *x = calloc(1, sizeof *x);
    if (!x)
        goto no_memory;
    x->graph = g;
    x->max_batch = max_batch;
    size_t nt = (size_t)g->n_tensors + 1;
    x->root = malloc(nt * sizeof *x->root);
    x->value = calloc(nt, sizeof *x->value);
    x->grad = calloc(nt, sizeof *x->grad);
    x->has_grad = calloc(nt, 1);
    x->from_target = calloc(nt, 1);
    x->to_seed = calloc(nt, 1);
    if (!x->root || !x->value || !x->grad || !x->has_grad || !x->from_target || !x->to_seed)
        goto no_memory;
    for (int t = 0; t < g->n_tensors; t++)
        x->root[t] = t;
    size_t scratch = 1;
    for (int k = 0; k < g->n_order; k++) {
        const cam_node *n = &g->nodes[g->order[k]];
        if ((n->def->flags & CAM_OP_VIEW) && n->outputs[0] >= 0 &&
            is_runtime(&g->tensors[n->inputs[0]]))
            x->root[n->outputs[0]] = x->root[n->inputs[0]];
        if (n->scratch > scratch)
            scratch = n->scratch;
    }
    size_t total = 0, max_numel = 1;
    for (int t = 0; t < g->n_tensors; t++) {
        const cam_tensor *tensor = &g->tensors[t];
        if (!is_runtime(tensor))
            continue;
        if (tensor->numel > max_numel)
            max_numel = tensor->numel;
        if (x->root[t] == t)
            total += tensor->numel;
    }
    if (total > SIZE_MAX / sizeof(float) / (size_t)max_batch)
        goto no_memory;
    x->storage = malloc((total ? total : 1) * (size_t)max_batch * sizeof(float));
    x->grad_storage = malloc((total ? total : 1) * sizeof(float));
    x->scratch = malloc(scratch * sizeof(float));
    if (!x->storage || !x->grad_storage || !x->scratch)
        goto no_memory;
    x->scratch_size = scratch;
    x->max_numel = max_numel;
    float *next = x->storage, *gnext = x->grad_storage;
    for (int t = 0; t < g->n_tensors; t++) {
        const cam_tensor *tensor = &g->tensors[t];
        if (!is_runtime(tensor) || x->root[t] != t)
            continue;
        x->value[t] = next;
        x->grad[t] = gnext;
        next += tensor->numel * (size_t)max_batch;
        gnext += tensor->numel;
    }
    for (int t = 0; t < g->n_tensors; t++)
        if (is_runtime(&g->tensors[t]) && x->root[t] != t) {
            x->value[t] = x->value[x->root[t]];
            x->grad[t] = x->grad[x->root[t]];
        }
    return x;

no_memory:
    cam_executor_free(x);
    cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory for the activations of %d image(s)",
                  max_batch);
    return NULL;
}

/* Pointers to instance i of each input and output of node n. */
static void node_pointers(const cam_executor *x, const cam_node *n, int i, const void **in,
                          void **out)
{
    const cam_graph *g = x->graph;
    for (int k = 0; k < n->n_inputs; k++) {
        int t = n->inputs[k];
        if (t < 0)
            in[k] = NULL;
        else if (!is_runtime(&g->tensors[t]))
            in[k] = g->tensors[t].data;
        else
            in[k] = x->value[t] + (size_t)i * g->tensors[t].numel;
    }
    for (int k = 0; k < n->n_outputs; k++) {
        int t = n->outputs[k];
        out[k] = t < 0 ? NULL : x->value[t] + (size_t)i * g->tensors[t].numel;
    }
}

#define MAX_NODE_IO 4096

cam_status cam_executor_forward(cam_executor *x, const float *const *inputs, int n, cam_error *err)
{
    const cam_graph *g = x->graph;
    if (n < 1 || n > x->max_batch)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "n = %d images, the workspace holds 1..%d", n, x->max_batch);
    x->n_images = 0;
    for (int k = 0; k < g->n_inputs; k++) {
        int t = g->inputs[k];
        if (!is_runtime(&g->tensors[t]))
            continue;
        if (!inputs[k])
            return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "input '%s' is NULL",
                                 g->tensors[t].name);
        memcpy(x->value[t], inputs[k], (size_t)n * g->tensors[t].numel * sizeof(float));
    }
    const void **in = malloc(MAX_NODE_IO * sizeof *in);
    void **out = malloc(MAX_NODE_IO * sizeof *out);
    if (!in || !out) {
        free(in);
        free(out);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->n_order; k++) {
            const cam_node *node = &g->nodes[g->order[k]];
            if ((node->def->flags & CAM_OP_VIEW) || node->fused_into >= 0)
                continue; /* shares its input's buffer / computed by its host */
            node_pointers(x, node, i, in, out);
            cam_exec e = {g, node, in, out, x->scratch};
            node->def->forward(&e);
        }
    free(in);
    free(out);
    x->n_images = n;
    return CAM_OK;
}

const void *cam_executor_value(const cam_executor *x, int t, int image)
{
    const cam_tensor *tensor = &x->graph->tensors[t];
    if (!is_runtime(tensor))
        return tensor->data;
    return x->value[t] + (size_t)image * tensor->numel;
}

/* Is node n differentiable w.r.t. input k (a run-time float input)? */
static int passes_gradient(const cam_graph *g, const cam_node *n, int k)
{
    int t = n->inputs[k];
    return t >= 0 && is_runtime(&g->tensors[t]) && g->tensors[t].dtype == CAM_DTYPE_FLOAT &&
           (n->def->backward || (n->def->flags & CAM_OP_VIEW));
}

/* from_target[t] = t is reachable from `target` through differentiable edges. */
static void mark_from(const cam_graph *g, int target, char *mark)
{
    memset(mark, 0, (size_t)g->n_tensors);
    mark[target] = 1;
    for (int k = 0; k < g->n_order; k++) {
        const cam_node *n = &g->nodes[g->order[k]];
        int hit = 0;
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] >= 0 && mark[n->inputs[j]] && passes_gradient(g, n, j))
                hit = 1;
        if (hit)
            for (int j = 0; j < n->n_outputs; j++)
                if (n->outputs[j] >= 0)
                    mark[n->outputs[j]] = 1;
    }
}

int cam_graph_reaches(const cam_graph *g, int from, int to)
{
    if (from < 0 || to < 0 || from >= g->n_tensors || to >= g->n_tensors ||
        !is_runtime(&g->tensors[from]))
        return 0;
    char *mark = malloc((size_t)g->n_tensors + 1);
    if (!mark)
        return 0;
    mark_from(g, from, mark);
    int r = mark[to];
    free(mark);
    return r;
}

static void add_into(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] += src[i];
}

cam_status cam_executor_backward(cam_executor *x, int image, int n_seeds, const int *seed_tensors,
                                 const float *const *seeds, int target, float *grad,
                                 cam_error *err)
{
    const cam_graph *g = x->graph;
    if (x->n_images < 1 || image < 0 || image >= x->n_images)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "image %d is not in the last forward pass (%d images)", image,
                             x->n_images);
    if (target < 0 || target >= g->n_tensors || !is_runtime(&g->tensors[target]))
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "the target is not a value computed from the input");
    /* Which tensors lead to a seed. */
    memset(x->to_seed, 0, (size_t)g->n_tensors);
    for (int s = 0; s < n_seeds; s++)
        x->to_seed[seed_tensors[s]] = 1;
    for (int k = g->n_order - 1; k >= 0; k--) {
        const cam_node *n = &g->nodes[g->order[k]];
        int hit = 0;
        for (int j = 0; j < n->n_outputs; j++)
            if (n->outputs[j] >= 0 && x->to_seed[n->outputs[j]])
                hit = 1;
        if (hit)
            for (int j = 0; j < n->n_inputs; j++)
                if (n->inputs[j] >= 0)
                    x->to_seed[n->inputs[j]] = 1;
    }
    mark_from(g, target, x->from_target);
    int reaches = 0;
    for (int s = 0; s < n_seeds; s++)
        reaches |= x->from_target[seed_tensors[s]];
    if (!reaches)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "tensor '%s' does not lead to the scores (no gradient flows from them "
                             "to it)", g->tensors[target].name);
    /* Refuse before computing anything when an active node has no backward. */
    for (int k = 0; k < g->n_order; k++) {
        const cam_node *n = &g->nodes[g->order[k]];
        if (n->def->backward || (n->def->flags & CAM_OP_VIEW))
            continue;
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] >= 0 && x->from_target[n->inputs[j]] && x->to_seed[n->inputs[j]])
                return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                                     "node '%s' (%s) has no gradient, so the map cannot be "
                                     "computed on tensor '%s' before it", n->name, n->op_type,
                                     g->tensors[target].name);
    }
    memset(x->has_grad, 0, (size_t)g->n_tensors);
    for (int s = 0; s < n_seeds; s++) {
        int t = seed_tensors[s], r = x->root[t];
        size_t numel = g->tensors[t].numel;
        if (x->has_grad[r])
            add_into(x->grad[r], seeds[s], numel);
        else
            memcpy(x->grad[r], seeds[s], numel * sizeof(float));
        x->has_grad[r] = 1;
    }

    const void *in[MAX_NODE_IO];
    void *out[MAX_NODE_IO];
    const float *gout[64];
    float *gin[MAX_NODE_IO];
    size_t temp_at[MAX_NODE_IO];
    cam_status status = CAM_OK;
    for (int k = g->n_order - 1; k >= 0 && status == CAM_OK; k--) {
        const cam_node *n = &g->nodes[g->order[k]];
        if (n->def->flags & CAM_OP_VIEW)
            continue; /* shares its input's gradient buffer */
        if (n->n_inputs > MAX_NODE_IO || n->n_outputs > 64)
            continue;
        int any_out = 0, any_in = 0;
        for (int j = 0; j < n->n_outputs; j++) {
            int t = n->outputs[j];
            /* an output that a fused node owns gets its gradient through that node */
            int owned = t >= 0 && g->tensors[t].producer == g->order[k];
            gout[j] = owned && x->has_grad[x->root[t]] ? x->grad[x->root[t]] : NULL;
            any_out |= gout[j] != NULL;
        }
        if (!any_out)
            continue;
        /* Inputs that want a gradient: fresh ones get their buffer, others a temporary. */
        size_t temp_need = 0;
        for (int j = 0; j < n->n_inputs; j++) {
            int t = n->inputs[j];
            gin[j] = NULL;
            temp_at[j] = SIZE_MAX;
            if (t < 0 || !x->from_target[t] || !passes_gradient(g, n, j))
                continue;
            any_in = 1;
            int r = x->root[t];
            int taken = x->has_grad[r];
            for (int i = 0; i < j; i++)
                if (gin[i] && n->inputs[i] >= 0 && x->root[n->inputs[i]] == r)
                    taken = 1;
            if (!taken) {
                gin[j] = x->grad[r];
            } else {
                temp_at[j] = temp_need;
                temp_need += g->tensors[t].numel;
            }
        }
        if (!any_in)
            continue;
        if (temp_need > x->max_temp) {
            float *t = realloc(x->temp, temp_need * sizeof *t);
            if (!t) {
                status = cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory in the backward pass");
                break;
            }
            x->temp = t;
            x->max_temp = temp_need;
        }
        for (int j = 0; j < n->n_inputs; j++)
            if (temp_at[j] != SIZE_MAX)
                gin[j] = x->temp + temp_at[j];
        node_pointers(x, n, image, in, out);
        cam_exec e = {g, n, in, out, x->scratch};
        n->def->backward(&e, gout, gin);
        for (int j = 0; j < n->n_inputs; j++) {
            if (!gin[j])
                continue;
            int r = x->root[n->inputs[j]];
            if (temp_at[j] != SIZE_MAX)
                add_into(x->grad[r], gin[j], g->tensors[n->inputs[j]].numel);
            x->has_grad[r] = 1;
        }
    }
    if (status != CAM_OK)
        return status;
    size_t numel = g->tensors[target].numel;
    int r = x->root[target];
    if (x->has_grad[r])
        memcpy(grad, x->grad[r], numel * sizeof *grad);
    else
        memset(grad, 0, numel * sizeof *grad);
    return CAM_OK;
}

cam_status cam_graph_run(const cam_graph *g, const float *const *inputs, float **outputs,
                         cam_error *err)
{
    for (int k = 0; k < g->n_outputs; k++)
        outputs[k] = NULL;
    cam_executor *x = cam_executor_new(g, 1, err);
    if (!x)
        return err ? err->status : CAM_ERROR_NO_MEMORY;
    cam_status s = cam_executor_forward(x, inputs, 1, err);
    for (int k = 0; k < g->n_outputs && s == CAM_OK; k++) {
        const cam_tensor *t = &g->tensors[g->outputs[k]];
        size_t bytes = t->numel * cam_dtype_size(t->dtype);
        outputs[k] = malloc(bytes ? bytes : 1);
        if (!outputs[k]) {
            s = cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
            break;
        }
        memcpy(outputs[k], cam_executor_value(x, g->outputs[k], 0), bytes);
    }
    cam_executor_free(x);
    return s;
}
