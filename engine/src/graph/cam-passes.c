/*
 * cam-passes.c -- rewrites of a typed graph, each a separate pass that checks
 * consumer counts (never array positions):
 *   - identity removal: nodes whose op is CAM_OP_IDENTITY (Identity, Dropout)
 *     disappear and their readers read the input instead, unless the output is
 *     a graph output;
 *   - absorption: an op with an `absorb` hook may merge the single reader of its
 *     output 0 (Conv takes BatchNormalization, MatMul takes the Add of a bias);
 *     repeated while it succeeds. When the reader's output became one of the
 *     node's extra outputs (Conv computing its Relu in the same pass), the reader
 *     stays in the graph with fused_into set: its forward is skipped, its
 *     backward still runs, so every tensor keeps its gradient. When the node now
 *     reads a tensor computed after it (Conv taking a residual Add's other
 *     operand), it moves to the reader's place in the run order: its inputs are
 *     all computed by then, and its outputs are read only after (a hook that
 *     adds inputs absorbs only into a node whose outputs nobody else reads);
 *   - finish: the ops' `finish` hooks (packed weights).
 */
#include "graph/cam-graph.h"
#include "ops/cam-op.h"

#include "cam-error.h"

#include <stdlib.h>

static int is_graph_output(const cam_graph *g, int t)
{
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == t)
            return 1;
    return 0;
}

static void remove_identities(cam_graph *g)
{
    for (int k = 0; k < g->n_order; k++) {
        cam_node *n = &g->nodes[g->order[k]];
        if (n->dead || !(n->def->flags & CAM_OP_IDENTITY) || n->n_inputs < 1 || n->inputs[0] < 0)
            continue;
        int out = n->outputs[0], in = n->inputs[0];
        if (out < 0 || is_graph_output(g, out))
            continue;
        int used_elsewhere = 0; /* another output of the node (Dropout's mask) is read */
        for (int j = 1; j < n->n_outputs; j++)
            if (n->outputs[j] >= 0 && g->tensors[n->outputs[j]].n_consumers > 0)
                used_elsewhere = 1;
        if (used_elsewhere)
            continue;
        const cam_tensor *t = &g->tensors[out];
        for (int c = 0; c < t->n_consumers; c++) {
            cam_node *reader = &g->nodes[t->consumers[c]];
            for (int j = 0; j < reader->n_inputs; j++)
                if (reader->inputs[j] == out)
                    reader->inputs[j] = in;
        }
        n->dead = 1;
    }
}

/* Position of node index `node` in the run order, or -1. */
static int order_position(const cam_graph *g, int node)
{
    for (int k = 0; k < g->n_order; k++)
        if (g->order[k] == node)
            return k;
    return -1;
}

/* After node n (at run position k) absorbed the node at position `at` > k: when
 * one of n's inputs is now computed after position k, moves n to position `at`
 * (the nodes between shift up by one). Returns 1 when moved. */
static int move_if_needed(cam_graph *g, int k, int at)
{
    if (at <= k)
        return 0;
    const cam_node *n = &g->nodes[g->order[k]];
    int later = 0;
    for (int j = 0; j < n->n_inputs && !later; j++) {
        int t = n->inputs[j];
        int p = t >= 0 ? g->tensors[t].producer : -1;
        later = p >= 0 && order_position(g, p) > k;
    }
    if (!later)
        return 0;
    const int moving = g->order[k];
    for (int i = k; i < at; i++)
        g->order[i] = g->order[i + 1];
    g->order[at] = moving;
    return 1;
}

static cam_status absorb_all(cam_graph *g, cam_error *err)
{
    for (int k = 0; k < g->n_order; k++) {
        cam_node *n = &g->nodes[g->order[k]];
        if (n->dead || !n->def->absorb)
            continue;
        for (;;) {
            int out = n->outputs[0];
            if (out < 0 || is_graph_output(g, out) || g->tensors[out].n_consumers != 1)
                break;
            cam_node *next = &g->nodes[g->tensors[out].consumers[0]];
            if (next->dead)
                break;
            const int next_at = order_position(g, (int)(next - g->nodes));
            int r = n->def->absorb(g, n, next);
            if (r < 0)
                return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory while optimising");
            if (r == 0)
                break;
            int computed_here = 0; /* next's output is now an extra output of n */
            for (int j = 1; j < n->n_outputs; j++)
                for (int o = 0; o < next->n_outputs; o++)
                    if (n->outputs[j] >= 0 && n->outputs[j] == next->outputs[o])
                        computed_here = 1;
            if (computed_here)
                next->fused_into = (int)(n - g->nodes);
            else
                next->dead = 1;
            if (cam_graph_link(g) != 0)
                return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory while optimising");
            if (computed_here)
                break;
            if (move_if_needed(g, k, next_at)) {
                k--; /* position k holds the next node now; n goes on at its new place */
                break;
            }
        }
    }
    return CAM_OK;
}

/* The run order without the dead nodes. */
static void compact_order(cam_graph *g)
{
    int m = 0;
    for (int k = 0; k < g->n_order; k++)
        if (!g->nodes[g->order[k]].dead)
            g->order[m++] = g->order[k];
    g->n_order = m;
}

cam_status cam_graph_optimize(cam_graph *g, cam_error *err)
{
    remove_identities(g);
    if (cam_graph_link(g) != 0)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory while optimising");
    compact_order(g);
    cam_status s = absorb_all(g, err);
    if (s != CAM_OK)
        return s;
    compact_order(g);
    for (int k = 0; k < g->n_order; k++) {
        cam_node *n = &g->nodes[g->order[k]];
        if (n->def->finish && n->def->finish(g, n) != 0)
            return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory while packing weights");
    }
    return CAM_OK;
}
