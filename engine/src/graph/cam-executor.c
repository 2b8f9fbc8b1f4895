/*
 * cam-executor.c -- forward and backward passes over a typed graph (see
 * cam-executor.h).
 *
 * Memory: every run-time tensor (graph input or node output) has a place in
 * each image's activation arena, except the outputs of VIEW ops (Reshape,
 * Flatten, ...), which share the place of their input ("root" below): their
 * forward is free and their gradient is their input's gradient. Places are
 * planned at creation by liveness (pack() below): two roots share memory only
 * when no forward step needs both, and resident roots live to the end. Gradients
 * exist for one instance: one place per root in the gradient arena, planned per
 * backward by reverse liveness, written when first reached (the op's backward
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
#include "kernels/cam-kernels.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Places are multiples of 16 floats (64 bytes). */
#define ALIGN_FLOATS 16
/* Most inputs (and outputs) of one node. */
#define MAX_NODE_IO 4096

/* An item to place: a root tensor live over steps [first, last]. */
typedef struct pack_item {
    int id;
    int first, last;
    size_t size;          /* floats, a multiple of ALIGN_FLOATS */
} pack_item;

typedef struct pack_span {
    size_t begin, end;
} pack_span;

struct cam_executor {
    const cam_graph *graph;
    int max_batch;
    int n_images;
    int planned;          /* 0: every tensor resident */
    int *root;            /* per tensor: the tensor whose place it uses */
    size_t *offset;       /* per root tensor: floats from the start of an image's arena */
    char *resident;       /* per tensor: its value survives the forward */
    float *storage;       /* max_batch arenas of `stride` floats */
    size_t stride;
    size_t unplanned;     /* floats of one place per root, one image */
    float *scratch;
    size_t scratch_size;
    /* backward */
    char *has_grad;       /* per tensor, during backward */
    char *from_target;    /* per tensor, during backward */
    char *to_seed;        /* per tensor, during backward */
    float *temp;          /* gradient contributions to add: max_temp floats */
    size_t max_temp;
    float *grad_arena;    /* grad_cap floats */
    size_t grad_cap;
    size_t *grad_offset;  /* per root: its gradient's place in grad_arena (cached plan) */
    int *gfirst, *glast;  /* per root: planning */
    int no_grad_reuse;    /* tests: one gradient place per root (no reuse) */
    int cached;           /* the gradient plan is for cache_target and cache_seeds */
    int cache_target, cache_n_seeds;
    int *cache_seeds;
    /* pack() work: one per root */
    pack_item *items;
    pack_span *spans;
    /* a node's argument pointers, MAX_NODE_IO each */
    const void **io_in;
    void **io_out;
    /* replacing forwards: the analysis of rep_tensor (-1: none yet) */
    int rep_tensor;
    int rep_reusable;     /* a reuse run is possible for rep_tensor */
    int rep_fill_after;   /* full run: t is written after this order index (-1: before all) */
    char *rep_dep;        /* per tensor: depends on t (views follow their root) */
    char *rep_lead;       /* per tensor: leads to a graph output */
    char *rep_shared;     /* per root: read from image 0 in a reuse run */
    char *rep_run_reuse;  /* per order index: runs in a reuse run */
    char *rep_run_full;   /* per order index: runs in a full run */
    int rep_upstream_for; /* image 0 still holds the values upstream of this tensor after
                             replacing forwards of it (-1: none) */
    int no_replace_reuse; /* tests: always the full run */
    /* lanes of replacing forwards run side by side (lane 0: storage, scratch,
     * io_in / io_out; lanes 1..n_lanes-1 below) */
    int n_lanes;
    float **lane_scratch; /* per lane, scratch_size floats (lane 0: x->scratch) */
    const void ***lane_in;
    void ***lane_out;
    float *extra;         /* arenas of images max_batch .. max_batch + n_extra - 1 */
    int n_extra;
    int replaced_nodes;   /* nodes per instance of the last replacing forward, -1 */
    /* progress: called after every node (cam-executor.h, PROGRESS) */
    cam_executor_step_fn step;
    void *step_user;
    long bw_nodes;        /* nodes the cached backward plan runs */
};

static int is_runtime(const cam_tensor *t)
{
    return t->kind != CAM_TENSOR_CONSTANT;
}

static size_t aligned(size_t numel)
{
    return (numel + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

static int cmp_items(const void *pa, const void *pb)
{
    const pack_item *a = pa, *b = pb;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    if (a->first != b->first)
        return a->first < b->first ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int cmp_spans(const void *pa, const void *pb)
{
    const pack_span *a = pa, *b = pb;
    return a->begin < b->begin ? -1 : a->begin > b->begin;
}

/* Places n items (largest first, each at the lowest offset free over its live
 * steps) so that items whose live ranges intersect do not overlap. Writes
 * offset[item.id]; returns the floats needed. spans: n work entries. */
static size_t pack(pack_item *items, int n, pack_span *spans, size_t *offset)
{
    qsort(items, (size_t)n, sizeof *items, cmp_items);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        pack_item *it = &items[i];
        int n_spans = 0;
        for (int j = 0; j < i; j++) {
            const pack_item *o = &items[j];
            if (o->size == 0 || o->last < it->first || it->last < o->first)
                continue;
            spans[n_spans].begin = offset[o->id];
            spans[n_spans].end = offset[o->id] + o->size;
            n_spans++;
        }
        qsort(spans, (size_t)n_spans, sizeof *spans, cmp_spans);
        size_t at = 0;
        for (int j = 0; j < n_spans; j++) {
            if (at + it->size <= spans[j].begin)
                break;
            if (spans[j].end > at)
                at = spans[j].end;
        }
        offset[it->id] = at;
        if (at + it->size > total)
            total = at + it->size;
    }
    return total;
}

void cam_executor_free(cam_executor *x)
{
    if (!x)
        return;
    free(x->root);
    free(x->offset);
    free(x->resident);
    free(x->storage);
    free(x->scratch);
    free(x->has_grad);
    free(x->from_target);
    free(x->to_seed);
    free(x->temp);
    free(x->grad_arena);
    free(x->grad_offset);
    free(x->gfirst);
    free(x->glast);
    free(x->cache_seeds);
    free(x->items);
    free(x->spans);
    free(x->io_in);
    free(x->io_out);
    for (int l = 1; l < x->n_lanes; l++) {
        free(x->lane_scratch[l]);
        free(x->lane_in[l]);
        free(x->lane_out[l]);
    }
    free(x->lane_scratch);
    free(x->lane_in);
    free(x->lane_out);
    free(x->extra);
    free(x->rep_dep);
    free(x->rep_lead);
    free(x->rep_shared);
    free(x->rep_run_reuse);
    free(x->rep_run_full);
    free(x);
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

/* to_seed[t] = t leads to one of the seeds (any edge). */
static void mark_to(const cam_graph *g, int n_seeds, const int *seeds, char *mark)
{
    memset(mark, 0, (size_t)g->n_tensors);
    for (int s = 0; s < n_seeds; s++)
        mark[seeds[s]] = 1;
    for (int k = g->n_order - 1; k >= 0; k--) {
        const cam_node *n = &g->nodes[g->order[k]];
        int hit = 0;
        for (int j = 0; j < n->n_outputs; j++)
            if (n->outputs[j] >= 0 && mark[n->outputs[j]])
                hit = 1;
        if (hit)
            for (int j = 0; j < n->n_inputs; j++)
                if (n->inputs[j] >= 0)
                    mark[n->inputs[j]] = 1;
    }
}

static int valid_tensor(const cam_graph *g, int t)
{
    return t >= 0 && t < g->n_tensors && is_runtime(&g->tensors[t]);
}

/* Marks (by root) the resident tensors of a plan into x->resident. */
static void mark_resident(cam_executor *x, const cam_executor_plan *plan)
{
    const cam_graph *g = x->graph;
    char *keep = x->resident;
    memset(keep, 0, (size_t)g->n_tensors);
    for (int k = 0; k < g->n_outputs; k++)
        if (valid_tensor(g, g->outputs[k]))
            keep[x->root[g->outputs[k]]] = 1;
    for (int k = 0; k < plan->n_keep; k++)
        if (valid_tensor(g, plan->keep[k]))
            keep[x->root[plan->keep[k]]] = 1;
    int n_seeds = 0;
    for (int s = 0; s < plan->n_seeds; s++)
        n_seeds += valid_tensor(g, plan->seeds[s]);
    if (n_seeds > 0)
        mark_to(g, plan->n_seeds, plan->seeds, x->to_seed);
    for (int k = 0; k < plan->n_targets; k++) {
        int target = plan->targets[k];
        if (!valid_tensor(g, target))
            continue;
        keep[x->root[target]] = 1;
        if (n_seeds == 0)
            continue;
        /* every node a backward from the seeds to the target may run: all of its
         * run-time inputs and outputs (its backward hook receives them all) */
        mark_from(g, target, x->from_target);
        for (int i = 0; i < g->n_order; i++) {
            const cam_node *n = &g->nodes[g->order[i]];
            if ((n->def->flags & CAM_OP_VIEW) || !n->def->backward)
                continue;
            int in = 0, out = 0;
            for (int j = 0; j < n->n_inputs; j++)
                if (n->inputs[j] >= 0 && x->from_target[n->inputs[j]] && passes_gradient(g, n, j))
                    in = 1;
            for (int j = 0; j < n->n_outputs; j++)
                if (n->outputs[j] >= 0 && x->to_seed[n->outputs[j]])
                    out = 1;
            if (!in || !out)
                continue;
            for (int j = 0; j < n->n_inputs; j++)
                if (valid_tensor(g, n->inputs[j]))
                    keep[x->root[n->inputs[j]]] = 1;
            for (int j = 0; j < n->n_outputs; j++)
                if (valid_tensor(g, n->outputs[j]))
                    keep[x->root[n->outputs[j]]] = 1;
        }
    }
    /* aliases follow their root (roots precede their aliases' marks above) */
    for (int t = 0; t < g->n_tensors; t++)
        keep[t] = is_runtime(&g->tensors[t]) ? keep[x->root[t]] : 1;
}

/* Live ranges of the roots over the forward steps (0: the inputs are copied in;
 * k + 1: the k-th node of the run order; end = n_order + 1: after the forward),
 * then their places. Returns the floats of one image's arena. */
static size_t plan_forward(cam_executor *x)
{
    const cam_graph *g = x->graph;
    const int end = g->n_order + 1;
    int *first = x->gfirst, *last = x->glast; /* borrowed: unused until a backward */
    int *step = malloc(((size_t)g->n_nodes + 1) * sizeof *step);
    if (!step)
        return SIZE_MAX;
    for (int i = 0; i < g->n_nodes; i++)
        step[i] = 0;
    for (int k = 0; k < g->n_order; k++)
        step[g->order[k]] = k + 1;
    for (int t = 0; t < g->n_tensors; t++) {
        first[t] = INT_MAX;
        last[t] = -1;
    }
    for (int k = 0; k < g->n_inputs; k++) {
        int t = g->inputs[k];
        if (valid_tensor(g, t))
            first[x->root[t]] = 0;
    }
    for (int k = 0; k < g->n_order; k++) {
        const cam_node *n = &g->nodes[g->order[k]];
        if (n->def->flags & CAM_OP_VIEW)
            continue; /* no work: its output is its input's place */
        /* a fused node's outputs are written by its host's forward */
        int write = n->fused_into >= 0 ? step[n->fused_into] : k + 1;
        for (int j = 0; j < n->n_outputs; j++) {
            int t = n->outputs[j];
            if (!valid_tensor(g, t))
                continue;
            int r = x->root[t];
            if (write < first[r])
                first[r] = write;
            if (k + 1 > last[r])
                last[r] = k + 1;
        }
        for (int j = 0; j < n->n_inputs; j++) {
            int t = n->inputs[j];
            if (!valid_tensor(g, t))
                continue;
            int r = x->root[t];
            if (k + 1 > last[r])
                last[r] = k + 1;
        }
    }
    free(step);
    int n_items = 0;
    size_t total = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        if (!is_runtime(&g->tensors[t]) || x->root[t] != t)
            continue;
        size_t size = aligned(g->tensors[t].numel);
        x->unplanned += g->tensors[t].numel;
        if (first[t] == INT_MAX) /* never written (a tensor no node computes) */
            first[t] = 0;
        if (last[t] < first[t])
            last[t] = first[t];
        if (x->resident[t])
            last[t] = end;
        if (!x->planned) { /* everything lives to the end: one place after the other */
            x->offset[t] = total;
            total += size;
            continue;
        }
        x->items[n_items].id = t;
        x->items[n_items].first = first[t];
        x->items[n_items].last = last[t];
        x->items[n_items].size = size;
        n_items++;
    }
    if (x->planned)
        total = pack(x->items, n_items, x->spans, x->offset);
    return total;
}

static cam_status plan_backward(cam_executor *x, int n_seeds, const int *seed_tensors, int target,
                                cam_error *err);

cam_executor *cam_executor_new_planned(const cam_graph *g, int max_batch,
                                       const cam_executor_plan *plan, cam_error *err)
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
    x->planned = plan != NULL;
    x->cache_target = -1;
    x->rep_tensor = -1;
    x->rep_upstream_for = -1;
    x->replaced_nodes = -1;
    size_t nt = (size_t)g->n_tensors + 1;
    x->root = malloc(nt * sizeof *x->root);
    x->offset = calloc(nt, sizeof *x->offset);
    x->resident = calloc(nt, 1);
    x->grad_offset = calloc(nt, sizeof *x->grad_offset);
    x->gfirst = malloc(nt * sizeof *x->gfirst);
    x->glast = malloc(nt * sizeof *x->glast);
    x->items = malloc(nt * sizeof *x->items);
    x->spans = malloc(nt * sizeof *x->spans);
    x->has_grad = calloc(nt, 1);
    x->from_target = calloc(nt, 1);
    x->to_seed = calloc(nt, 1);
    x->io_in = malloc(MAX_NODE_IO * sizeof *x->io_in);
    x->io_out = malloc(MAX_NODE_IO * sizeof *x->io_out);
    x->rep_dep = calloc(nt, 1);
    x->rep_lead = calloc(nt, 1);
    x->rep_shared = calloc(nt, 1);
    x->rep_run_reuse = calloc((size_t)g->n_order + 1, 1);
    x->rep_run_full = calloc((size_t)g->n_order + 1, 1);
    if (!x->root || !x->offset || !x->resident || !x->grad_offset || !x->gfirst || !x->glast ||
        !x->items || !x->spans || !x->has_grad || !x->from_target || !x->to_seed || !x->io_in ||
        !x->io_out || !x->rep_dep || !x->rep_lead || !x->rep_shared || !x->rep_run_reuse ||
        !x->rep_run_full)
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
    if (plan)
        mark_resident(x, plan);
    else
        memset(x->resident, 1, (size_t)g->n_tensors);
    size_t stride = plan_forward(x);
    if (stride == SIZE_MAX || stride > SIZE_MAX / sizeof(float) / (size_t)max_batch)
        goto no_memory;
    x->stride = stride;
    x->storage = malloc((stride ? stride : 1) * (size_t)max_batch * sizeof(float));
    x->scratch = malloc(scratch * sizeof(float));
    if (!x->storage || !x->scratch)
        goto no_memory;
    x->scratch_size = scratch;
    for (int t = 0; t < g->n_tensors; t++)
        if (is_runtime(&g->tensors[t]) && x->root[t] != t)
            x->offset[t] = x->offset[x->root[t]];
    /* size the gradient memory for the planned backward passes now (the last
     * one's places stay cached) */
    if (plan && plan->n_seeds > 0)
        for (int k = 0; k < plan->n_targets; k++) {
            int target = plan->targets[k];
            if (!valid_tensor(g, target))
                continue;
            cam_status s = plan_backward(x, plan->n_seeds, plan->seeds, target, NULL);
            if (s == CAM_ERROR_NO_MEMORY)
                goto no_memory;
        }
    return x;

no_memory:
    cam_executor_free(x);
    cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory for the activations of %d image(s)",
                  max_batch);
    return NULL;
}

cam_executor *cam_executor_new(const cam_graph *g, int max_batch, cam_error *err)
{
    return cam_executor_new_planned(g, max_batch, NULL, err);
}

static float *value_at(const cam_executor *x, int t, int image)
{
    if (image >= x->max_batch) /* the lanes' extra arenas */
        return x->extra + (size_t)(image - x->max_batch) * x->stride + x->offset[t];
    return x->storage + (size_t)image * x->stride + x->offset[t];
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
            in[k] = value_at(x, t, i);
    }
    for (int k = 0; k < n->n_outputs; k++) {
        int t = n->outputs[k];
        out[k] = t < 0 ? NULL : value_at(x, t, i);
    }
}

void cam_executor_set_step(cam_executor *x, cam_executor_step_fn step, void *user)
{
    x->step = step;
    x->step_user = user;
}

static cam_status cancelled(cam_error *err)
{
    return cam_set_error(err, CAM_STATUS_CANCELLED, "cancelled by the progress callback");
}

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
    }
    const void **in = x->io_in;
    void **out = x->io_out;
    x->rep_upstream_for = -1;
    long per_image = 0, done = 0;
    if (x->step)
        for (int k = 0; k < g->n_order; k++) {
            const cam_node *node = &g->nodes[g->order[k]];
            per_image += !((node->def->flags & CAM_OP_VIEW) || node->fused_into >= 0);
        }
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < g->n_inputs; k++) {
            int t = g->inputs[k];
            if (!is_runtime(&g->tensors[t]))
                continue;
            size_t numel = g->tensors[t].numel;
            memcpy(value_at(x, t, i), inputs[k] + (size_t)i * numel, numel * sizeof(float));
        }
        for (int k = 0; k < g->n_order; k++) {
            const cam_node *node = &g->nodes[g->order[k]];
            if ((node->def->flags & CAM_OP_VIEW) || node->fused_into >= 0)
                continue; /* shares its input's buffer / computed by its host */
            node_pointers(x, node, i, in, out);
            cam_exec e = {g, node, in, out, x->scratch};
            node->def->forward(&e);
            if (x->step && x->step(x->step_user, ++done, per_image * n))
                return cancelled(err);
        }
    }
    x->n_images = n;
    return CAM_OK;
}

/* ---- replacing a tensor (cam-executor.h) ------------------------------------ */

/* Is tensor a (an alias of t's root) t itself or a view of it? */
static int derived_from(const cam_graph *g, int a, int t)
{
    while (a != t) {
        int p = g->tensors[a].producer;
        if (p < 0 || !(g->nodes[p].def->flags & CAM_OP_VIEW) || g->nodes[p].n_inputs < 1)
            return 0;
        a = g->nodes[p].inputs[0];
        if (a < 0)
            return 0;
    }
    return 1;
}

/* Do the places of roots a and b in an image's arena overlap? */
static int places_overlap(const cam_executor *x, int a, int b)
{
    const cam_graph *g = x->graph;
    size_t a0 = x->offset[a], a1 = a0 + aligned(g->tensors[a].numel);
    size_t b0 = x->offset[b], b1 = b0 + aligned(g->tensors[b].numel);
    return a0 < b1 && b0 < a1;
}

/* The analysis of replacing tensor t (cached until another tensor is replaced):
 * what depends on t, what leads to a graph output, the nodes of a reuse run and
 * of a full run, and whether a reuse run is possible with this plan. */
static cam_status analyse_replacing(cam_executor *x, int t, cam_error *err)
{
    if (x->rep_tensor == t)
        return CAM_OK;
    const cam_graph *g = x->graph;
    x->rep_tensor = -1;
    const int rt = x->root[t];
    /* t shares its root's memory: nodes must not read that memory except through t */
    for (int a = 0; a < g->n_tensors; a++) {
        if (a == t || !is_runtime(&g->tensors[a]) || x->root[a] != rt || derived_from(g, a, t))
            continue;
        const cam_tensor *ta = &g->tensors[a];
        for (int c = 0; c < ta->n_consumers; c++)
            if (!(g->nodes[ta->consumers[c]].def->flags & CAM_OP_VIEW))
                return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                                     "tensor '%s' cannot be replaced: it is a view of tensor '%s', "
                                     "which node '%s' reads as well",
                                     g->tensors[t].name, ta->name,
                                     g->nodes[ta->consumers[c]].name);
    }
    /* what depends on t (by root: views share it) */
    char *dep = x->rep_dep;
    memset(dep, 0, (size_t)g->n_tensors);
    dep[rt] = 1;
    for (int k = 0; k < g->n_order; k++) {
        const cam_node *n = &g->nodes[g->order[k]];
        if (n->def->flags & CAM_OP_VIEW)
            continue;
        int hit = 0;
        for (int j = 0; j < n->n_inputs; j++)
            if (valid_tensor(g, n->inputs[j]) && dep[x->root[n->inputs[j]]])
                hit = 1;
        for (int j = 0; hit && j < n->n_outputs; j++)
            if (valid_tensor(g, n->outputs[j]))
                dep[x->root[n->outputs[j]]] = 1;
    }
    for (int a = 0; a < g->n_tensors; a++)
        if (is_runtime(&g->tensors[a]))
            dep[a] = dep[x->root[a]];
    /* what leads to a graph output */
    mark_to(g, g->n_outputs, g->outputs, x->rep_lead);
    const char *lead = x->rep_lead;
    /* the node that writes t's root (a fused node's host), -1 for a graph input */
    int writer = g->tensors[rt].producer;
    if (writer >= 0 && g->nodes[writer].fused_into >= 0)
        writer = g->nodes[writer].fused_into;
    x->rep_fill_after = -1;
    for (int k = 0; k < g->n_order; k++)
        if (g->order[k] == writer)
            x->rep_fill_after = k;
    if (writer >= 0 && x->rep_fill_after < 0)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "tensor '%s' cannot be replaced: no node of the run order writes it",
                             g->tensors[t].name);
    /* the runs. A node depends on t when one of its inputs does; a fused node is
     * computed by its host, unless the host does not depend on t (t is the host's
     * output and the fused node reads it): then it runs by itself. */
    int reusable = !x->no_replace_reuse;
    memset(x->rep_shared, 0, (size_t)g->n_tensors);
    for (int k = 0; k < g->n_order; k++) {
        const cam_node *n = &g->nodes[g->order[k]];
        int in_dep = 0, out_lead = 0, host_dep = 0;
        for (int j = 0; j < n->n_inputs; j++)
            if (valid_tensor(g, n->inputs[j]) && dep[n->inputs[j]])
                in_dep = 1;
        for (int j = 0; j < n->n_outputs; j++)
            if (n->outputs[j] >= 0 && lead[n->outputs[j]])
                out_lead = 1;
        if (n->fused_into >= 0) {
            const cam_node *h = &g->nodes[n->fused_into];
            for (int j = 0; j < h->n_inputs; j++)
                if (valid_tensor(g, h->inputs[j]) && dep[h->inputs[j]])
                    host_dep = 1;
        }
        if (n->def->flags & CAM_OP_VIEW) {
            x->rep_run_full[k] = x->rep_run_reuse[k] = 0;
            continue;
        }
        if (n->fused_into >= 0) {
            x->rep_run_full[k] = in_dep && !host_dep;
            /* a host that depends on t runs in a reuse run when it leads to an output;
             * the fused node leading to one makes its host lead too */
            x->rep_run_reuse[k] = in_dep && !host_dep && out_lead;
        } else {
            x->rep_run_full[k] = 1;
            x->rep_run_reuse[k] = in_dep && out_lead;
        }
        if (!x->rep_run_reuse[k])
            continue;
        for (int j = 0; j < n->n_inputs; j++) { /* upstream values, read from image 0 */
            int u = n->inputs[j];
            if (!valid_tensor(g, u) || dep[u])
                continue;
            if (!x->resident[x->root[u]])
                reusable = 0;
            x->rep_shared[x->root[u]] = 1;
        }
    }
    /* image 0's upstream values must survive image 0's own run: no value written in
     * a reuse run may share their place */
    for (int a = 0; reusable && a < g->n_tensors; a++) {
        if (!x->rep_shared[a])
            continue;
        if (places_overlap(x, a, rt))
            reusable = 0;
        for (int k = 0; reusable && k < g->n_order; k++) {
            if (!x->rep_run_reuse[k])
                continue;
            const cam_node *n = &g->nodes[g->order[k]];
            for (int j = 0; j < n->n_outputs; j++)
                if (valid_tensor(g, n->outputs[j]) &&
                    places_overlap(x, a, x->root[n->outputs[j]]))
                    reusable = 0;
        }
    }
    x->rep_reusable = reusable;
    x->rep_tensor = t;
    return CAM_OK;
}

/* Lanes 0..lanes-1 (scratch and argument arrays each) and `arenas` image arenas. */
static cam_status reserve_lanes(cam_executor *x, int lanes, int arenas, cam_error *err)
{
    if (lanes > x->n_lanes) {
        float **sc = realloc(x->lane_scratch, (size_t)lanes * sizeof *sc);
        if (sc)
            x->lane_scratch = sc;
        const void ***li = sc ? realloc(x->lane_in, (size_t)lanes * sizeof *li) : NULL;
        if (li)
            x->lane_in = li;
        void ***lo = li ? realloc(x->lane_out, (size_t)lanes * sizeof *lo) : NULL;
        if (lo)
            x->lane_out = lo;
        if (!lo)
            return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory for %d lanes", lanes);
        if (x->n_lanes == 0) {
            x->lane_scratch[0] = x->scratch;
            x->lane_in[0] = x->io_in;
            x->lane_out[0] = x->io_out;
            x->n_lanes = 1;
        }
        while (x->n_lanes < lanes) {
            const int l = x->n_lanes;
            x->lane_scratch[l] = malloc(x->scratch_size * sizeof(float));
            x->lane_in[l] = malloc(MAX_NODE_IO * sizeof *x->lane_in[l]);
            x->lane_out[l] = malloc(MAX_NODE_IO * sizeof *x->lane_out[l]);
            if (!x->lane_scratch[l] || !x->lane_in[l] || !x->lane_out[l]) {
                free(x->lane_scratch[l]);
                free(x->lane_in[l]);
                free(x->lane_out[l]);
                return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory for %d lanes",
                                     lanes);
            }
            x->n_lanes++;
        }
    }
    if (arenas > x->max_batch + x->n_extra) {
        const size_t extra = (size_t)(arenas - x->max_batch);
        if (x->stride > SIZE_MAX / sizeof(float) / extra)
            return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory for %d images", arenas);
        float *e = realloc(x->extra, (x->stride ? x->stride : 1) * extra * sizeof(float));
        if (!e)
            return cam_set_error(err, CAM_ERROR_NO_MEMORY,
                                 "out of memory for %d images of %zu bytes", arenas,
                                 x->stride * sizeof(float));
        x->extra = e;
        x->n_extra = (int)extra;
    }
    return CAM_OK;
}

/* One replacing forward in progress, shared by its lanes. */
typedef struct replace_job {
    cam_executor *x;
    const float *const *inputs;
    int t, count;
    int arena_per_instance;   /* 1: instance i in image i; 0: in image `lane` */
    cam_executor_fill_fn fill;
    cam_executor_collect_fn collect;
    void *user;
    const char *run;
    int reuse;
    long total;               /* node runs of the whole call */
    pthread_t caller;         /* the only thread that reports progress */
    int next;                 /* the next instance (atomic) */
    long done;                /* node runs done (atomic) */
    long reported;            /* the last `done` the caller reported */
    int stop;                 /* set when the progress callback cancels (atomic) */
} replace_job;

/* One lane: takes instances until none is left, each one a whole pass. */
static void replace_lane(void *arg, int lane)
{
    replace_job *j = arg;
    cam_executor *x = j->x;
    const cam_graph *g = x->graph;
    const int rt = x->root[j->t];
    const void **in = x->lane_in ? x->lane_in[lane] : x->io_in;
    void **out = x->lane_out ? x->lane_out[lane] : x->io_out;
    float *scratch = x->lane_scratch ? x->lane_scratch[lane] : x->scratch;
    const int reports = x->step && pthread_equal(pthread_self(), j->caller);
    for (;;) {
        if (__atomic_load_n(&j->stop, __ATOMIC_RELAXED))
            return;
        const int i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->count)
            return;
        const int img = j->arena_per_instance ? i : lane;
        if (!j->reuse)
            for (int k = 0; k < g->n_inputs; k++) {
                int u = g->inputs[k];
                if (!is_runtime(&g->tensors[u]) || x->root[u] == rt)
                    continue;
                size_t numel = g->tensors[u].numel;
                memcpy(value_at(x, u, img), j->inputs[k], numel * sizeof(float));
            }
        if (j->reuse || x->rep_fill_after < 0)
            j->fill(j->user, i, value_at(x, j->t, img));
        for (int k = 0; k < g->n_order; k++) {
            if (j->run[k]) {
                const cam_node *node = &g->nodes[g->order[k]];
                node_pointers(x, node, img, in, out);
                if (j->reuse) /* upstream values: image 0's */
                    for (int q = 0; q < node->n_inputs; q++) {
                        int u = node->inputs[q];
                        if (valid_tensor(g, u) && x->rep_shared[x->root[u]])
                            in[q] = value_at(x, u, 0);
                    }
                cam_exec e = {g, node, in, out, scratch};
                node->def->forward(&e);
                const long d = __atomic_add_fetch(&j->done, 1, __ATOMIC_RELAXED);
                if (reports) {
                    j->reported = d;
                    if (x->step(x->step_user, d, j->total)) {
                        __atomic_store_n(&j->stop, 1, __ATOMIC_RELAXED);
                        return;
                    }
                } else if (__atomic_load_n(&j->stop, __ATOMIC_RELAXED)) {
                    return;
                }
            }
            if (!j->reuse && k == x->rep_fill_after)
                j->fill(j->user, i, value_at(x, j->t, img));
        }
        if (j->collect)
            j->collect(j->user, i, img);
    }
}

static cam_status replace_run(cam_executor *x, const float *const *inputs, int t, int count,
                              int lanes, int arena_per_instance, cam_executor_fill_fn fill,
                              cam_executor_collect_fn collect, void *user, cam_error *err)
{
    const cam_graph *g = x->graph;
    if (!valid_tensor(g, t) || g->tensors[t].dtype != CAM_DTYPE_FLOAT)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "only a float tensor computed at run time can be replaced");
    if (!fill)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "no fill function");
    cam_status s = analyse_replacing(x, t, err);
    if (s != CAM_OK)
        return s;
    const int rt = x->root[t];
    const int reuse = x->rep_reusable && (x->n_images >= 1 || x->rep_upstream_for == t);
    if (!reuse) {
        for (int k = 0; k < g->n_inputs; k++) {
            int u = g->inputs[k];
            if (is_runtime(&g->tensors[u]) && x->root[u] != rt && (!inputs || !inputs[k]))
                return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                                     "input '%s' is needed to replace tensor '%s' but is NULL",
                                     g->tensors[u].name, g->tensors[t].name);
        }
    }
    if (lanes > count)
        lanes = count;
    if (lanes > 1) {
        s = reserve_lanes(x, lanes, arena_per_instance ? count : lanes, err);
        if (s != CAM_OK)
            return s;
    }
    replace_job j = {.x = x, .inputs = inputs, .t = t, .count = count,
                     .arena_per_instance = arena_per_instance, .fill = fill,
                     .collect = collect, .user = user,
                     .run = reuse ? x->rep_run_reuse : x->rep_run_full, .reuse = reuse,
                     .caller = pthread_self()};
    int n_run = 0;
    for (int k = 0; k < g->n_order; k++)
        n_run += j.run[k] != 0;
    j.total = (long)n_run * count;
    x->n_images = 0;
    x->rep_upstream_for = -1;
    cam_parallel_lanes(lanes, replace_lane, &j);
    /* the last node runs may have been another lane's: the caller reports them */
    if (!j.stop && x->step && j.reported < j.total &&
        x->step(x->step_user, j.total, j.total))
        j.stop = 1;
    if (j.stop)
        return cancelled(err);
    if (reuse)
        x->rep_upstream_for = t;
    x->replaced_nodes = n_run;
    return CAM_OK;
}

cam_status cam_executor_forward_replacing(cam_executor *x, const float *const *inputs, int t,
                                          int n, cam_executor_fill_fn fill, void *user,
                                          cam_error *err)
{
    if (n < 1 || n > x->max_batch)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "n = %d images, the workspace holds 1..%d", n, x->max_batch);
    return replace_run(x, inputs, t, n, 1, 1, fill, NULL, user, err);
}

cam_status cam_executor_forward_replacing_lanes(cam_executor *x, const float *const *inputs,
                                                int t, int count, int lanes,
                                                cam_executor_fill_fn fill,
                                                cam_executor_collect_fn collect, void *user,
                                                cam_error *err)
{
    if (count < 1)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "%d instances", count);
    if (lanes < 1 || lanes > 64)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "%d lanes, expected 1..64", lanes);
    if (!collect)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "no collect function");
    return replace_run(x, inputs, t, count, lanes, 0, fill, collect, user, err);
}

int cam_executor_replaced_nodes(const cam_executor *x)
{
    return x->replaced_nodes;
}

void cam_executor_set_replace_reuse(cam_executor *x, int on)
{
    x->no_replace_reuse = !on;
    x->rep_tensor = -1;
}

const void *cam_executor_value(const cam_executor *x, int t, int image)
{
    const cam_tensor *tensor = &x->graph->tensors[t];
    if (!is_runtime(tensor))
        return tensor->data;
    return value_at(x, t, image);
}

int cam_executor_resident(const cam_executor *x, int t)
{
    return t >= 0 && t < x->graph->n_tensors && x->resident[t];
}

void cam_executor_memory_use(const cam_executor *x, cam_executor_memory *out)
{
    memset(out, 0, sizeof *out);
    if (!x)
        return;
    size_t batch = (size_t)x->max_batch;
    out->activations = x->stride * batch * sizeof(float);
    out->activations_unplanned = x->unplanned * batch * sizeof(float);
    out->gradients = x->grad_cap * sizeof(float);
    out->gradients_unplanned = x->unplanned * sizeof(float);
    out->activations += x->stride * (size_t)x->n_extra * sizeof(float);
    out->activations_unplanned += x->unplanned * (size_t)x->n_extra * sizeof(float);
    out->other = (x->scratch_size * (size_t)(x->n_lanes > 1 ? x->n_lanes : 1) + x->max_temp) *
                 sizeof(float);
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

/* The gradient places for a backward from these seeds to this target: checks
 * what the backward needs (reach, differentiable nodes, resident values), then
 * the live range of each root's gradient over the reverse walk (0: the seeds
 * are written; n_order - k: the k-th node of the run order; the target's lives
 * to the end) and their places. Cached for the next call with the same key. */
static cam_status plan_backward(cam_executor *x, int n_seeds, const int *seed_tensors, int target,
                                cam_error *err)
{
    const cam_graph *g = x->graph;
    x->cached = 0;
    /* Which tensors lead to a seed. */
    mark_to(g, n_seeds, seed_tensors, x->to_seed);
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
    if (!x->resident[target])
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "tensor '%s' was not planned for a backward pass in this workspace: "
                             "it is not kept (name the layer when creating the workspace)",
                             g->tensors[target].name);
    /* The walk of cam_executor_backward, without the arithmetic. */
    const int end = g->n_order + 1;
    int *first = x->gfirst, *last = x->glast;
    for (int t = 0; t < g->n_tensors; t++)
        first[t] = last[t] = -1;
    memset(x->has_grad, 0, (size_t)g->n_tensors);
    x->bw_nodes = 0;
    for (int s = 0; s < n_seeds; s++) {
        int r = x->root[seed_tensors[s]];
        x->has_grad[r] = 1;
        first[r] = 0;
        last[r] = 0;
    }
    for (int k = g->n_order - 1; k >= 0; k--) {
        const cam_node *n = &g->nodes[g->order[k]];
        const int step = g->n_order - k;
        if ((n->def->flags & CAM_OP_VIEW) || n->n_inputs > MAX_NODE_IO || n->n_outputs > 64)
            continue;
        int any_out = 0, any_in = 0;
        for (int j = 0; j < n->n_outputs; j++) {
            int t = n->outputs[j];
            if (t >= 0 && g->tensors[t].producer == g->order[k] && x->has_grad[x->root[t]])
                any_out = 1;
        }
        for (int j = 0; j < n->n_inputs; j++) {
            int t = n->inputs[j];
            if (t >= 0 && x->from_target[t] && passes_gradient(g, n, j))
                any_in = 1;
        }
        if (!any_out || !any_in)
            continue;
        x->bw_nodes++;
        /* the node runs: its backward reads all its inputs and outputs */
        for (int j = 0; j < n->n_inputs + n->n_outputs; j++) {
            int t = j < n->n_inputs ? n->inputs[j] : n->outputs[j - n->n_inputs];
            if (t >= 0 && !x->resident[t])
                return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                                     "tensor '%s' was not planned for a backward pass in this "
                                     "workspace: node '%s' (%s) needs tensor '%s', which it "
                                     "does not keep (name the layer when creating the workspace)",
                                     g->tensors[target].name, n->name, n->op_type,
                                     g->tensors[t].name);
        }
        for (int j = 0; j < n->n_outputs; j++) { /* gradients consumed here */
            int t = n->outputs[j];
            if (t >= 0 && g->tensors[t].producer == g->order[k] && x->has_grad[x->root[t]])
                last[x->root[t]] = step;
        }
        for (int j = 0; j < n->n_inputs; j++) { /* gradients written here */
            int t = n->inputs[j];
            if (t < 0 || !x->from_target[t] || !passes_gradient(g, n, j))
                continue;
            int r = x->root[t];
            if (first[r] < 0)
                first[r] = step;
            last[r] = step;
            x->has_grad[r] = 1;
        }
    }
    if (first[x->root[target]] >= 0)
        last[x->root[target]] = end;
    if (x->no_grad_reuse)
        for (int t = 0; t < g->n_tensors; t++)
            if (first[t] >= 0) {
                first[t] = 0;
                last[t] = end;
            }
    int n_items = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        if (first[t] < 0)
            continue;
        x->items[n_items].id = t;
        x->items[n_items].first = first[t];
        x->items[n_items].last = last[t];
        x->items[n_items].size = aligned(g->tensors[t].numel);
        n_items++;
    }
    size_t need = pack(x->items, n_items, x->spans, x->grad_offset);
    if (need > x->grad_cap) {
        if (need > SIZE_MAX / sizeof(float))
            return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory in the backward pass");
        float *arena = malloc(need * sizeof *arena);
        if (!arena)
            return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory in the backward pass");
        free(x->grad_arena);
        x->grad_arena = arena;
        x->grad_cap = need;
    }
    if (n_seeds > x->cache_n_seeds || !x->cache_seeds) {
        int *seeds = malloc((size_t)n_seeds * sizeof *seeds + sizeof *seeds);
        if (!seeds)
            return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory in the backward pass");
        free(x->cache_seeds);
        x->cache_seeds = seeds;
    }
    memcpy(x->cache_seeds, seed_tensors, (size_t)n_seeds * sizeof *seed_tensors);
    x->cache_n_seeds = n_seeds;
    x->cache_target = target;
    x->cached = 1;
    return CAM_OK;
}

void cam_executor_set_gradient_reuse(cam_executor *x, int on)
{
    x->no_grad_reuse = !on;
    x->cached = 0;
}

static int plan_cached(const cam_executor *x, int n_seeds, const int *seed_tensors, int target)
{
    if (!x->cached || x->cache_target != target || x->cache_n_seeds != n_seeds)
        return 0;
    for (int s = 0; s < n_seeds; s++)
        if (x->cache_seeds[s] != seed_tensors[s])
            return 0;
    return 1;
}

static float *grad_of(const cam_executor *x, int root)
{
    return x->grad_arena + x->grad_offset[root];
}

cam_status cam_executor_backward(cam_executor *x, int image, int n_seeds, const int *seed_tensors,
                                 const float *const *seeds, int target, float *grad,
                                 cam_error *err)
{
    return cam_executor_backward_visiting(x, image, n_seeds, seed_tensors, seeds, target, grad,
                                          NULL, NULL, err);
}

cam_status cam_executor_backward_visiting(cam_executor *x, int image, int n_seeds,
                                          const int *seed_tensors, const float *const *seeds,
                                          int target, float *grad, cam_executor_visit_fn visit,
                                          void *user, cam_error *err)
{
    const cam_graph *g = x->graph;
    if (x->n_images < 1 || image < 0 || image >= x->n_images)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "image %d is not in the last forward pass (%d images)", image,
                             x->n_images);
    if (target < 0 || target >= g->n_tensors || !is_runtime(&g->tensors[target]))
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "the target is not a value computed from the input");
    if (n_seeds < 1)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "no seed gradient");
    for (int s = 0; s < n_seeds; s++)
        if (!valid_tensor(g, seed_tensors[s]))
            return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                                 "seed %d is not a value computed from the input", s);
    if (!plan_cached(x, n_seeds, seed_tensors, target)) {
        cam_status s = plan_backward(x, n_seeds, seed_tensors, target, err);
        if (s != CAM_OK)
            return s;
    } /* else from_target still holds the cached plan's marks (only plan_backward writes it) */
    memset(x->has_grad, 0, (size_t)g->n_tensors);
    for (int s = 0; s < n_seeds; s++) {
        int t = seed_tensors[s], r = x->root[t];
        size_t numel = g->tensors[t].numel;
        if (x->has_grad[r])
            add_into(grad_of(x, r), seeds[s], numel);
        else
            memcpy(grad_of(x, r), seeds[s], numel * sizeof(float));
        x->has_grad[r] = 1;
    }

    const void *in[MAX_NODE_IO];
    void *out[MAX_NODE_IO];
    const float *gout[64];
    float *gin[MAX_NODE_IO];
    size_t temp_at[MAX_NODE_IO];
    cam_status status = CAM_OK;
    long done = 0;
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
            gout[j] = owned && x->has_grad[x->root[t]] ? grad_of(x, x->root[t]) : NULL;
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
                gin[j] = grad_of(x, r);
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
        if (visit)
            visit(user, n, gout);
        node_pointers(x, n, image, in, out);
        cam_exec e = {g, n, in, out, x->scratch};
        n->def->backward(&e, gout, gin);
        for (int j = 0; j < n->n_inputs; j++) {
            if (!gin[j])
                continue;
            int r = x->root[n->inputs[j]];
            if (temp_at[j] != SIZE_MAX)
                add_into(grad_of(x, r), gin[j], g->tensors[n->inputs[j]].numel);
            x->has_grad[r] = 1;
        }
        if (x->step && x->step(x->step_user, ++done, x->bw_nodes))
            return cancelled(err);
    }
    if (status != CAM_OK)
        return status;
    size_t numel = g->tensors[target].numel;
    int r = x->root[target];
    if (x->has_grad[r])
        memcpy(grad, grad_of(x, r), numel * sizeof *grad);
    else
        memset(grad, 0, numel * sizeof *grad);
    return CAM_OK;
}

cam_status cam_graph_run(const cam_graph *g, const float *const *inputs, float **outputs,
                         cam_error *err)
{
    for (int k = 0; k < g->n_outputs; k++)
        outputs[k] = NULL;
    /* only the outputs are read back: everything else may be reused */
    static const cam_executor_plan outputs_only = {NULL, 0, NULL, 0, NULL, 0};
    cam_executor *x = cam_executor_new_planned(g, 1, &outputs_only, err);
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
