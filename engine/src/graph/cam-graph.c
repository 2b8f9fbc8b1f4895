/*
 * cam-graph.c -- building and querying the IR (see cam-graph.h).
 */
#include "graph/cam-graph.h"
#include "ops/cam-op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t cam_dtype_size(cam_dtype dtype)
{
    switch (dtype) {
    case CAM_DTYPE_FLOAT: return 4;
    case CAM_DTYPE_INT64: return 8;
    case CAM_DTYPE_BOOL: return 1;
    }
    return 4;
}

const char *cam_dtype_name(cam_dtype dtype)
{
    switch (dtype) {
    case CAM_DTYPE_FLOAT: return "float32";
    case CAM_DTYPE_INT64: return "int64";
    case CAM_DTYPE_BOOL: return "bool";
    }
    return "?";
}

cam_graph *cam_graph_new(void)
{
    return calloc(1, sizeof(cam_graph));
}

static void free_attr(cam_attr *a)
{
    free(a->name);
    free(a->s);
    free(a->ints);
    free(a->floats);
    if (a->strings)
        for (size_t i = 0; i < a->n; i++)
            free(a->strings[i]);
    free(a->strings);
}

void cam_graph_free(cam_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_tensors; i++) {
        free(g->tensors[i].name);
        free(g->tensors[i].data);
        free(g->tensors[i].consumers);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        cam_node *n = &g->nodes[i];
        free(n->name);
        free(n->op_type);
        free(n->inputs);
        free(n->outputs);
        for (int k = 0; k < n->n_attrs; k++)
            free_attr(&n->attrs[k]);
        free(n->attrs);
        if (n->def && n->def->free)
            n->def->free(n->params);
        else
            free(n->params);
    }
    free(g->tensors);
    free(g->nodes);
    free(g->order);
    free(g->inputs);
    free(g->outputs);
    free(g->hash);
    free(g);
}

static size_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

/* Grows the name table to hold at least `want` names (rebuilding it). */
static int hash_reserve(cam_graph *g, size_t want)
{
    if (g->hash_size >= 2 * want + 16)
        return 0;
    size_t size = 64;
    while (size < 4 * want + 16)
        size *= 2;
    int *h = malloc(size * sizeof *h);
    if (!h)
        return -1;
    memset(h, 0xff, size * sizeof *h);
    for (int t = 0; t < g->n_tensors; t++) {
        size_t i = hash_name(g->tensors[t].name) & (size - 1);
        while (h[i] >= 0)
            i = (i + 1) & (size - 1);
        h[i] = t;
    }
    free(g->hash);
    g->hash = h;
    g->hash_size = size;
    return 0;
}

int cam_graph_find_tensor(const cam_graph *g, const char *name)
{
    if (!g || !name || !g->hash)
        return -1;
    size_t mask = g->hash_size - 1;
    for (size_t i = hash_name(name) & mask; g->hash[i] >= 0; i = (i + 1) & mask)
        if (strcmp(g->tensors[g->hash[i]].name, name) == 0)
            return g->hash[i];
    return -1;
}

int cam_graph_add_tensor(cam_graph *g, const char *name, cam_tensor_kind kind)
{
    if (g->n_tensors >= INT32_MAX / 4 || hash_reserve(g, (size_t)g->n_tensors + 1) != 0)
        return -1;
    if (g->n_tensors == g->cap_tensors) {
        int cap = g->cap_tensors ? 2 * g->cap_tensors : 64;
        cam_tensor *t = realloc(g->tensors, (size_t)cap * sizeof *t);
        if (!t)
            return -1;
        g->tensors = t;
        g->cap_tensors = cap;
    }
    size_t len = strlen(name) + 1;
    char *copy = malloc(len);
    if (!copy)
        return -1;
    memcpy(copy, name, len);
    int index = g->n_tensors++;
    cam_tensor *t = &g->tensors[index];
    memset(t, 0, sizeof *t);
    t->name = copy;
    t->kind = kind;
    t->dtype = CAM_DTYPE_FLOAT;
    t->producer = -1;
    t->numel = 1;
    size_t mask = g->hash_size - 1;
    size_t i = hash_name(copy) & mask;
    while (g->hash[i] >= 0)
        i = (i + 1) & mask;
    g->hash[i] = index;
    return index;
}

static int *copy_ints(const int *v, int n)
{
    int *copy = malloc(((size_t)n + 1) * sizeof *copy);
    if (copy && n > 0)
        memcpy(copy, v, (size_t)n * sizeof *copy);
    return copy;
}

char *cam_strdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *copy = malloc(len);
    if (copy)
        memcpy(copy, s, len);
    return copy;
}

int cam_graph_add_node(cam_graph *g, const char *name, const char *op_type, const int *inputs,
                       int n_inputs, const int *outputs, int n_outputs)
{
    if (g->n_nodes >= INT32_MAX / 4)
        return -1;
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? 2 * g->cap_nodes : 64;
        cam_node *n = realloc(g->nodes, (size_t)cap * sizeof *n);
        if (!n)
            return -1;
        g->nodes = n;
        g->cap_nodes = cap;
    }
    cam_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->name = cam_strdup(name);
    n->op_type = cam_strdup(op_type);
    n->inputs = copy_ints(inputs, n_inputs);
    n->outputs = copy_ints(outputs, n_outputs);
    if (!n->name || !n->op_type || !n->inputs || !n->outputs) {
        free(n->name);
        free(n->op_type);
        free(n->inputs);
        free(n->outputs);
        return -1;
    }
    n->n_inputs = n_inputs;
    n->n_outputs = n_outputs;
    n->fused_into = -1;
    return g->n_nodes++;
}

int cam_graph_link(cam_graph *g)
{
    for (int t = 0; t < g->n_tensors; t++) {
        g->tensors[t].producer = -1;
        g->tensors[t].n_consumers = 0;
    }
    int *count = calloc((size_t)g->n_tensors + 1, sizeof *count);
    if (!count)
        return -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const cam_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0)
                count[n->inputs[k]]++;
        for (int k = 0; k < n->n_outputs; k++)
            if (n->outputs[k] >= 0)
                g->tensors[n->outputs[k]].producer = i;
    }
    /* a fused node stays the producer of its outputs (its host computes them too) */
    for (int i = 0; i < g->n_nodes; i++) {
        const cam_node *n = &g->nodes[i];
        if (!n->dead && n->fused_into >= 0)
            for (int k = 0; k < n->n_outputs; k++)
                if (n->outputs[k] >= 0)
                    g->tensors[n->outputs[k]].producer = i;
    }
    for (int t = 0; t < g->n_tensors; t++) {
        free(g->tensors[t].consumers);
        g->tensors[t].consumers = malloc(((size_t)count[t] + 1) * sizeof(int));
        if (!g->tensors[t].consumers) {
            free(count);
            return -1;
        }
    }
    free(count);
    for (int i = 0; i < g->n_nodes; i++) {
        const cam_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) {
                cam_tensor *t = &g->tensors[n->inputs[k]];
                t->consumers[t->n_consumers++] = i;
            }
    }
    return 0;
}

void cam_tensor_set_shape(cam_tensor *t, cam_dtype dtype, int rank, const int64_t *dims)
{
    t->dtype = dtype;
    t->rank = rank;
    size_t numel = 1;
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        numel *= (size_t)dims[i];
    }
    for (int i = rank; i < CAM_MAX_RANK; i++)
        t->dims[i] = 1;
    t->numel = numel;
    t->typed = 1;
}

void cam_tensor_set_constant(cam_tensor *t, void *data)
{
    if (t->data != data)
        free(t->data);
    t->data = data;
    t->kind = CAM_TENSOR_CONSTANT;
}

void cam_tensor_shape_string(const cam_tensor *t, char *buf, size_t size)
{
    if (!size)
        return;
    if (t->rank == 0) {
        snprintf(buf, size, "scalar");
        return;
    }
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->rank && at < size; i++) {
        int n = snprintf(buf + at, size - at, "%s%lld", i ? "x" : "", (long long)t->dims[i]);
        if (n < 0)
            break;
        at += (size_t)n;
    }
}

cam_attr *cam_node_attr(const cam_node *node, const char *name)
{
    for (int i = 0; i < node->n_attrs; i++)
        if (strcmp(node->attrs[i].name, name) == 0)
            return &node->attrs[i];
    return NULL;
}
