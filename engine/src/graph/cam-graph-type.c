/*
 * cam-graph-type.c -- typing a graph: which nodes run, in which order, with
 * which shapes; constant subgraphs folded (see cam-graph.h).
 *
 *  1. keep only the nodes some graph output needs;
 *  2. sort them topologically (Kahn; a cycle is an error naming a node on it);
 *  3. for each node in that order: find its op for the file's opset, check the
 *     input and output counts, let the op type it (ops/cam-op.h), refuse any
 *     attribute the op did not read, and fold it when all its inputs are
 *     constant (forward runs once here) or when the op made its outputs
 *     constant itself (Shape);
 *  4. the run order is what is left; run-time values must be float32.
 */
#include "graph/cam-graph.h"
#include "ops/cam-op.h"

#include "cam-error.h"

#include <stdlib.h>
#include <string.h>

/* Marks the nodes that no graph output needs as dead. */
static int prune(cam_graph *g)
{
    char *needed = calloc((size_t)g->n_nodes + 1, 1);
    int *stack = malloc(((size_t)g->n_tensors + 1) * sizeof *stack);
    char *seen = calloc((size_t)g->n_tensors + 1, 1);
    if (!needed || !stack || !seen) {
        free(needed);
        free(stack);
        free(seen);
        return -1;
    }
    int top = 0;
    for (int i = 0; i < g->n_outputs; i++)
        if (!seen[g->outputs[i]]) {
            seen[g->outputs[i]] = 1;
            stack[top++] = g->outputs[i];
        }
    while (top > 0) {
        int t = stack[--top];
        int p = g->tensors[t].producer;
        if (p < 0 || needed[p])
            continue;
        needed[p] = 1;
        const cam_node *n = &g->nodes[p];
        for (int k = 0; k < n->n_inputs; k++) {
            int in = n->inputs[k];
            if (in >= 0 && !seen[in]) {
                seen[in] = 1;
                stack[top++] = in;
            }
        }
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (!needed[i])
            g->nodes[i].dead = 1;
    free(needed);
    free(stack);
    free(seen);
    return cam_graph_link(g);
}

/* g->order = the live nodes in topological order (stable: file order among ready nodes). */
static cam_status sort_nodes(cam_graph *g, cam_error *err)
{
    int *indegree = calloc((size_t)g->n_nodes + 1, sizeof *indegree);
    int *queue = malloc(((size_t)g->n_nodes + 1) * sizeof *queue);
    free(g->order);
    g->order = malloc(((size_t)g->n_nodes + 1) * sizeof *g->order);
    g->n_order = 0;
    if (!indegree || !queue || !g->order) {
        free(indegree);
        free(queue);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory while sorting the graph");
    }
    int live = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const cam_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        live++;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0 && g->tensors[n->inputs[k]].producer >= 0)
                indegree[i]++;
    }
    /* A min-heap would keep file order exactly; a FIFO seeded in file order is enough. */
    int head = 0, tail = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && indegree[i] == 0)
            queue[tail++] = i;
    while (head < tail) {
        int i = queue[head++];
        g->order[g->n_order++] = i;
        const cam_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_outputs; k++) {
            if (n->outputs[k] < 0)
                continue;
            const cam_tensor *t = &g->tensors[n->outputs[k]];
            for (int c = 0; c < t->n_consumers; c++)
                if (--indegree[t->consumers[c]] == 0)
                    queue[tail++] = t->consumers[c];
        }
    }
    cam_status s = CAM_OK;
    if (g->n_order != live) {
        const char *name = "?";
        for (int i = 0; i < g->n_nodes; i++)
            if (!g->nodes[i].dead && indegree[i] > 0) {
                name = g->nodes[i].name;
                break;
            }
        s = cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                          "the graph has a cycle (through node '%s')", name);
    }
    free(indegree);
    free(queue);
    return s;
}

/* Runs a node whose inputs are all constant; its outputs become constants. */
static cam_status fold(cam_graph *g, cam_node *n, cam_error *err)
{
    const void *in[64];
    void *out[64];
    float *scratch = NULL;
    cam_status s = CAM_OK;
    if (n->n_inputs > 64 || n->n_outputs > 64)
        return cam_op_fail(g, n, err, CAM_ERROR_UNSUPPORTED, "too many inputs to fold");
    for (int k = 0; k < n->n_inputs; k++)
        in[k] = n->inputs[k] >= 0 ? g->tensors[n->inputs[k]].data : NULL;
    for (int k = 0; k < n->n_outputs; k++) {
        out[k] = NULL;
        cam_tensor *t = cam_op_output(g, n, k);
        if (!t || t->kind == CAM_TENSOR_CONSTANT)
            continue;
        out[k] = calloc(t->numel ? t->numel : 1, cam_dtype_size(t->dtype));
        if (!out[k])
            s = CAM_ERROR_NO_MEMORY;
    }
    if (s == CAM_OK && n->scratch && !(scratch = malloc(n->scratch * sizeof *scratch)))
        s = CAM_ERROR_NO_MEMORY;
    if (s == CAM_OK) {
        if (n->def->flags & CAM_OP_VIEW) {
            const cam_tensor *x = &g->tensors[n->inputs[0]];
            memcpy(out[0], in[0], x->numel * cam_dtype_size(x->dtype));
        } else {
            cam_exec x = {g, n, in, out, scratch};
            n->def->forward(&x);
        }
    }
    free(scratch);
    for (int k = 0; k < n->n_outputs; k++) {
        cam_tensor *t = cam_op_output(g, n, k);
        if (!out[k])
            continue;
        if (s == CAM_OK)
            cam_tensor_set_constant(t, out[k]);
        else
            free(out[k]);
    }
    if (s != CAM_OK)
        return cam_op_fail(g, n, err, s, "out of memory while folding constants");
    n->dead = 1;
    return CAM_OK;
}

static cam_status type_node(cam_graph *g, cam_node *n, cam_error *err)
{
    int other = 0;
    const cam_op_def *def = cam_op_find(n->op_type, g->opset, &other);
    if (!def) {
        if (other)
            return cam_op_fail(g, n, err, CAM_ERROR_UNSUPPORTED,
                               "op '%s' is not supported at opset %lld (the engine implements "
                               "other versions of it)", n->op_type, g->opset);
        return cam_op_fail(g, n, err, CAM_ERROR_UNSUPPORTED, "op '%s' is not supported",
                           n->op_type);
    }
    n->def = def;
    int present = 0;
    for (int k = 0; k < n->n_inputs; k++)
        present += n->inputs[k] >= 0;
    if (n->n_inputs < def->min_inputs || n->n_inputs > def->max_inputs)
        return cam_op_fail(g, n, err, CAM_ERROR_INVALID_MODEL, "has %d inputs; %d to %d expected",
                           n->n_inputs, def->min_inputs, def->max_inputs);
    for (int k = 0; k < def->min_inputs; k++)
        if (n->inputs[k] < 0) /* an empty name: only optional inputs may be left out */
            return cam_op_fail(g, n, err, CAM_ERROR_INVALID_MODEL,
                               "input %d is required but its name is empty", k);
    if (n->n_outputs < def->min_outputs || n->n_outputs > def->max_outputs)
        return cam_op_fail(g, n, err, CAM_ERROR_INVALID_MODEL, "has %d outputs; %d to %d expected",
                           n->n_outputs, def->min_outputs, def->max_outputs);
    int all_constant = present > 0;
    for (int k = 0; k < n->n_inputs; k++) {
        if (n->inputs[k] < 0)
            continue;
        const cam_tensor *t = &g->tensors[n->inputs[k]];
        if (!t->typed)
            return cam_op_fail(g, n, err, CAM_ERROR_INVALID_MODEL,
                               "input '%s' has no known shape", t->name);
        if (t->kind != CAM_TENSOR_CONSTANT)
            all_constant = 0;
    }
    cam_status s = def->type(g, n, err);
    if (s != CAM_OK)
        return s;
    for (int k = 0; k < n->n_attrs; k++)
        if (!n->attrs[k].used)
            return cam_op_fail(g, n, err, CAM_ERROR_UNSUPPORTED,
                               "attribute '%s' is not supported", n->attrs[k].name);
    int outputs_constant = 1;
    for (int k = 0; k < n->n_outputs; k++) {
        cam_tensor *t = cam_op_output(g, n, k);
        if (!t)
            continue;
        if (!t->typed)
            return cam_op_fail(g, n, err, CAM_ERROR_INVALID_MODEL,
                               "the op gave no shape for output '%s'", t->name);
        if (t->kind != CAM_TENSOR_CONSTANT)
            outputs_constant = 0;
    }
    if (outputs_constant) {
        n->dead = 1;
        return CAM_OK;
    }
    if (all_constant)
        return fold(g, n, err);
    for (int k = 0; k < n->n_outputs; k++) {
        const cam_tensor *t = cam_op_output(g, n, k);
        if (t && t->kind != CAM_TENSOR_CONSTANT && t->dtype != CAM_DTYPE_FLOAT)
            return cam_op_fail(g, n, err, CAM_ERROR_UNSUPPORTED,
                               "output '%s' would be %s computed from the image; only float32 "
                               "values are supported at run time", t->name,
                               cam_dtype_name(t->dtype));
    }
    return CAM_OK;
}

cam_status cam_graph_type(cam_graph *g, cam_error *err)
{
    if (cam_graph_link(g) != 0 || prune(g) != 0)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory while typing the graph");
    cam_status s = sort_nodes(g, err);
    if (s != CAM_OK)
        return s;
    for (int i = 0; i < g->n_inputs; i++) {
        const cam_tensor *t = &g->tensors[g->inputs[i]];
        if (!t->typed)
            return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                                 "graph input '%s' has no declared shape", t->name);
        if (t->kind == CAM_TENSOR_INPUT && t->dtype != CAM_DTYPE_FLOAT)
            return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                                 "graph input '%s' is %s; float32 is needed", t->name,
                                 cam_dtype_name(t->dtype));
    }
    for (int k = 0; k < g->n_order; k++) {
        s = type_node(g, &g->nodes[g->order[k]], err);
        if (s != CAM_OK)
            return s;
    }
    if (cam_graph_link(g) != 0)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory while typing the graph");
    return sort_nodes(g, err);
}
