/*
 * test-planner.c -- the activation planner (graph/cam-executor.h): a workspace
 * from cam_workspace_new_for_layers (activations reused by liveness) gives
 * bit-identical probabilities, logits, gradients, kept tensors and maps to one
 * from cam_workspace_new (everything kept), with less activation memory, on the
 * bundled networks and on networks with branches built here (residual Add,
 * Concat of parallel branches, Split, a gate Mul, a tensor read by several
 * nodes, a BatchNormalization after Mul, a Reshape view); backward passes to
 * tensors the plan does not keep are refused; gradient memory is reused. Also
 * the binary ops' spans over the pool against a plain loop (check_broadcast_spans).
 *
 *   test-planner [MODEL.onnx ...]   also checks and measures these files
 */
#include "camengine.h"
#include "cam-workspace.h"
#include "graph/cam-executor.h"
#include "test-check.h"
#include "test-net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static unsigned long long rng_state = 0x9e3779b97f4a7c15ull;
static float frand(void) /* [-1, 1) */
{
    return test_uniform(&rng_state);
}

static void same_floats(const char *model, const char *what, const float *a, const float *b,
                        size_t n)
{
    if (memcmp(a, b, n * sizeof *a) != 0) {
        size_t i = 0;
        while (i < n && memcmp(&a[i], &b[i], sizeof *a) == 0)
            i++;
        fprintf(stderr, "%s: %s differs at %zu of %zu: %.9g vs %.9g (reference)\n",
                model, what, i, n, a[i], b[i]);
        failures++;
    }
}

/* cam_executor_fill_fn: instance i of the values from user (numel floats each) */
static size_t fill_numel;
static void fill_values(void *user, int instance, float *values)
{
    memcpy(values, (const float *)user + (size_t)instance * fill_numel,
           fill_numel * sizeof *values);
}

/* ---- a minimal ONNX graph writer (any DAG of nodes) ------------------------ */

#define MAX_N 64

typedef struct net {
    Onnx__NodeProto nodes[MAX_N], *node_ptrs[MAX_N];
    Onnx__TensorProto inits[MAX_N], *init_ptrs[MAX_N];
    Onnx__AttributeProto attrs[4 * MAX_N], *attr_ptrs[4 * MAX_N];
    char *names[16 * MAX_N];
    char **lists[2 * MAX_N];
    void *data[4 * MAX_N];
    int n_nodes, n_inits, n_attrs, n_names, n_lists, n_data;
} net;

static char *keep_name(net *b, const char *s)
{
    return b->names[b->n_names++] = strdup(s);
}

static void *keep_data(net *b, size_t bytes)
{
    return b->data[b->n_data++] = calloc(1, bytes);
}

/* A float initializer; values uniform in [-scale, scale], or `fill` when scale is 0. */
static void weight(net *b, const char *name, int rank, const int64_t *dims, float scale,
                   float fill)
{
    Onnx__TensorProto *t = &b->inits[b->n_inits];
    onnx__tensor_proto__init(t);
    t->name = keep_name(b, name);
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    size_t n = 1;
    int64_t *d = keep_data(b, (size_t)(rank + 1) * sizeof *d);
    for (int i = 0; i < rank; i++)
        n *= (size_t)(d[i] = dims[i]);
    float *v = keep_data(b, n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = scale != 0.0f ? scale * frand() : fill;
    t->n_dims = (size_t)rank;
    t->dims = d;
    t->n_float_data = n;
    t->float_data = v;
    b->init_ptrs[b->n_inits++] = t;
}

static void int64_constant(net *b, const char *name, int n, const int64_t *values)
{
    Onnx__TensorProto *t = &b->inits[b->n_inits];
    onnx__tensor_proto__init(t);
    t->name = keep_name(b, name);
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    int64_t *d = keep_data(b, sizeof *d), *v = keep_data(b, (size_t)n * sizeof *v);
    d[0] = n;
    memcpy(v, values, (size_t)n * sizeof *v);
    t->n_dims = 1;
    t->dims = d;
    t->n_int64_data = (size_t)n;
    t->int64_data = v;
    b->init_ptrs[b->n_inits++] = t;
}

/* Splits "a,b,c" into kept names. */
static char **name_list(net *b, const char *csv, size_t *n)
{
    char **list = b->lists[b->n_lists++] = calloc(16, sizeof *list);
    *n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", csv);
    for (char *save = NULL, *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
        list[(*n)++] = keep_name(b, p);
    return list;
}

/* Adds a node; attributes follow with attr_*() (before the next node). */
static void node(net *b, const char *op, const char *inputs, const char *outputs)
{
    Onnx__NodeProto *n = &b->nodes[b->n_nodes];
    onnx__node_proto__init(n);
    char name[64];
    snprintf(name, sizeof name, "%s#%d", op, b->n_nodes);
    n->name = keep_name(b, name);
    n->op_type = keep_name(b, op);
    n->input = name_list(b, inputs, &n->n_input);
    n->output = name_list(b, outputs, &n->n_output);
    n->attribute = b->attr_ptrs + b->n_attrs;
    b->node_ptrs[b->n_nodes++] = n;
}

static Onnx__AttributeProto *attr(net *b, const char *name)
{
    Onnx__AttributeProto *a = &b->attrs[b->n_attrs];
    onnx__attribute_proto__init(a);
    a->name = keep_name(b, name);
    a->has_type = 1;
    b->attr_ptrs[b->n_attrs++] = a;
    b->nodes[b->n_nodes - 1].n_attribute++;
    return a;
}

static void attr_int(net *b, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(b, name);
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = v;
}

static void attr_ints(net *b, const char *name, int n, int64_t v0, int64_t v1, int64_t v2,
                      int64_t v3)
{
    Onnx__AttributeProto *a = attr(b, name);
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    int64_t *v = keep_data(b, 4 * sizeof *v);
    v[0] = v0, v[1] = v1, v[2] = v2, v[3] = v3;
    a->n_ints = (size_t)n;
    a->ints = v;
}

/* Conv "name" from `in` with k x k kernels, stride s, pads p: weights name.w, name.b. */
static void conv(net *b, const char *name, const char *in, int c_in, int c_out, int k, int s,
                 int p)
{
    char w[64], bias[64], inputs[256];
    snprintf(w, sizeof w, "%s.w", name);
    snprintf(bias, sizeof bias, "%s.b", name);
    int64_t dims[4] = {c_out, c_in, k, k};
    weight(b, w, 4, dims, 1.5f / (float)(c_in * k), 0);
    weight(b, bias, 1, dims, 0.1f, 0);
    snprintf(inputs, sizeof inputs, "%s,%s,%s", in, w, bias);
    node(b, "Conv", inputs, name);
    attr_ints(b, "kernel_shape", 2, k, k, 0, 0);
    attr_ints(b, "strides", 2, s, s, 0, 0);
    attr_ints(b, "pads", 4, p, p, p, p);
}

static cam_model *load_net(net *b, int c, int h, int w, const char *output)
{
    cam_model *m = test_net_load_graph("planner-net", b->node_ptrs, (size_t)b->n_nodes,
                                       b->init_ptrs, (size_t)b->n_inits, c, h, w, output);
    if (!m)
        failures++;
    for (int i = 0; i < b->n_names; i++)
        free(b->names[i]);
    for (int i = 0; i < b->n_lists; i++)
        free(b->lists[i]);
    for (int i = 0; i < b->n_data; i++)
        free(b->data[i]);
    memset(b, 0, sizeof *b);
    return m;
}

/* Residual block, two parallel branches concatenated with a tensor that feeds
 * three nodes, Split into a gate (GLU-like Mul), MaxPool, then the CAM head
 * GlobalAveragePool -> Flatten -> Gemm -> Softmax. Input 3 x 12 x 12. */
static cam_model *branchy_net(void)
{
    static net b;
    conv(&b, "c1", "input", 3, 8, 3, 1, 1);
    node(&b, "Relu", "c1", "r1");
    conv(&b, "a1", "r1", 8, 8, 3, 1, 1);
    node(&b, "Relu", "a1", "a2");
    conv(&b, "a3", "a2", 8, 8, 1, 1, 0);
    node(&b, "Add", "r1,a3", "res");
    node(&b, "Relu", "res", "r2");
    node(&b, "MaxPool", "r2", "p");
    attr_ints(&b, "kernel_shape", 2, 3, 3, 0, 0);
    attr_ints(&b, "pads", 4, 1, 1, 1, 1);
    conv(&b, "b3", "p", 8, 4, 1, 1, 0);
    conv(&b, "b1", "r2", 8, 4, 1, 1, 0);
    node(&b, "Concat", "b1,b3,r2", "cat");
    attr_int(&b, "axis", 1);
    node(&b, "Split", "cat", "s0,s1");
    attr_int(&b, "axis", 1);
    node(&b, "Sigmoid", "s1", "sg");
    node(&b, "Mul", "s0,sg", "m");
    node(&b, "MaxPool", "m", "mp");
    attr_ints(&b, "kernel_shape", 2, 2, 2, 0, 0);
    attr_ints(&b, "strides", 2, 2, 2, 0, 0);
    node(&b, "GlobalAveragePool", "mp", "gap");
    node(&b, "Flatten", "gap", "flat");
    int64_t wd[2] = {10, 8};
    weight(&b, "fc.w", 2, wd, 0.8f, 0);
    weight(&b, "fc.b", 1, wd, 0.1f, 0);
    node(&b, "Gemm", "flat,fc.w,fc.b", "logits");
    attr_int(&b, "transB", 1);
    node(&b, "Softmax", "logits", "probs");
    attr_int(&b, "axis", 1);
    return load_net(&b, 3, 12, 12, "probs");
}

/* The input feeds two branches (Conv + Relu, Conv + SiLU) multiplied, a
 * BatchNormalization after the Mul, a strided Conv branch added to an
 * AveragePool branch, a Reshape (view) and a Gemm: no softmax, no CAM head.
 * Input 2 x 12 x 12. */
static cam_model *gated_net(void)
{
    static net b;
    conv(&b, "x1", "input", 2, 6, 3, 1, 1);
    node(&b, "Relu", "x1", "x1r");
    conv(&b, "x2", "input", 2, 6, 1, 1, 0);
    node(&b, "Sigmoid", "x2", "x2s");
    node(&b, "Mul", "x2s,x2", "x2silu"); /* SiLU: the Sigmoid computes the Mul too */
    node(&b, "Mul", "x1r,x2silu", "g");
    int64_t c[1] = {6};
    weight(&b, "bn.scale", 1, c, 0.5f, 0);
    weight(&b, "bn.B", 1, c, 0.5f, 0);
    weight(&b, "bn.mean", 1, c, 0.2f, 0);
    weight(&b, "bn.var", 1, c, 0, 1.5f);
    node(&b, "BatchNormalization", "g,bn.scale,bn.B,bn.mean,bn.var", "bn");
    conv(&b, "d", "bn", 6, 6, 3, 2, 1);
    node(&b, "Relu", "d", "dr");
    node(&b, "AveragePool", "bn", "pbn");
    attr_ints(&b, "kernel_shape", 2, 2, 2, 0, 0);
    attr_ints(&b, "strides", 2, 2, 2, 0, 0);
    node(&b, "Add", "dr,pbn", "s");
    int64_t shape[2] = {1, 6 * 36};
    int64_constant(&b, "shape", 2, shape);
    node(&b, "Reshape", "s,shape", "sh");
    int64_t wd[2] = {7, 6 * 36};
    weight(&b, "fc.w", 2, wd, 0.2f, 0);
    weight(&b, "fc.b", 1, wd, 0.1f, 0);
    node(&b, "Gemm", "sh,fc.w,fc.b", "scores");
    attr_int(&b, "transB", 1);
    return load_net(&b, 2, 12, 12, "scores");
}

/* ---- binary ops over the pool ---------------------------------------------------- */

/* Mul by a per-channel constant, Add of a per-column one, Div by a per-row one and
 * Sub of the input, over 8 x 130 x 130 values: the binary ops cut their output into
 * spans of 16384 values on the pool (ops/elementwise.c), mid-row here. The output
 * must be the same float operations as a plain loop, bit for bit, at 1, 2 and 3
 * threads. */
static void check_broadcast_spans(void)
{
    enum { C = 8, H = 130, W = 130 };
    static net b;
    const int64_t d1[4] = {1, C, 1, 1}, d2[1] = {W}, d3[3] = {C, H, 1};
    weight(&b, "c1", 4, d1, 1.0f, 0);
    weight(&b, "c2", 1, d2, 1.0f, 0);
    weight(&b, "c3", 3, d3, 0.5f, 0);
    for (int i = 0; i < C * H; i++) /* divisors away from 0 */
        b.init_ptrs[2]->float_data[i] += 1.0f;
    float c1[C], c2[W], *c3 = malloc((size_t)C * H * sizeof *c3);
    float *x = malloc((size_t)C * H * W * sizeof *x), *want = malloc((size_t)C * H * W * sizeof *want);
    float *got = malloc((size_t)C * H * W * sizeof *got);
    CHECK(c3 && x && want && got);
    if (!c3 || !x || !want || !got)
        return;
    memcpy(c1, b.init_ptrs[0]->float_data, sizeof c1);
    memcpy(c2, b.init_ptrs[1]->float_data, sizeof c2);
    memcpy(c3, b.init_ptrs[2]->float_data, (size_t)C * H * sizeof *c3);
    node(&b, "Mul", "input,c1", "m");
    node(&b, "Add", "m,c2", "a");
    node(&b, "Div", "a,c3", "d");
    node(&b, "Sub", "d,input", "s");
    node(&b, "Flatten", "s", "out");
    cam_model *m = load_net(&b, C, H, W, "out");
    for (int c = 0; c < C; c++)
        for (int h = 0; h < H; h++)
            for (int w = 0; w < W; w++) {
                const size_t i = ((size_t)c * H + h) * W + w;
                x[i] = frand();
                const float mv = x[i] * c1[c], av = mv + c2[w], dv = av / c3[c * H + h];
                want[i] = dv - x[i];
            }
    cam_error err = {0};
    cam_workspace *ws = NULL;
    if (m && cam_workspace_new(m, 1, &ws, &err) == CAM_OK) {
        for (int threads = 1; threads <= 3; threads++) {
            cam_set_blas_threads(threads);
            CHECK(cam_forward(ws, x, 1, NULL, got, &err) == CAM_OK);
            size_t differ = 0;
            for (size_t i = 0; i < (size_t)C * H * W; i++)
                differ += memcmp(&got[i], &want[i], sizeof *got) != 0;
            if (differ) {
                fprintf(stderr, "broadcast spans, %d threads: %zu values differ\n", threads,
                        differ);
                failures++;
            }
        }
        cam_set_blas_threads(0);
    } else {
        fprintf(stderr, "broadcast spans: %s\n", m ? err.message : "the net did not load");
        failures++;
    }
    cam_workspace_free(ws);
    cam_model_free(m);
    free(c3);
    free(x);
    free(want);
    free(got);
}

/* ---- the comparison ---------------------------------------------------------- */

static size_t tensor_numel(const cam_workspace *ws, const char *name)
{
    int t = cam_graph_find_tensor(ws->graph, name);
    return t < 0 ? 0 : ws->graph->tensors[t].numel;
}

/* Compares a planned workspace for `layers` with an all-kept one on `batch`
 * random images: forward outputs, kept tensors, gradients and maps at each
 * listed layer and the default one. Returns the planned activation bytes. */
static size_t compare(const char *what, const cam_model *m, const char *const *layers, int batch,
                      int verbose)
{
    cam_error err = {0};
    cam_workspace *all = NULL, *plan = NULL;
    cam_status st = cam_workspace_new(m, batch, &all, &err);
    if (st == CAM_OK)
        st = cam_workspace_new_for_layers(m, batch, layers, &plan, &err);
    CHECK(st == CAM_OK && all && plan);
    if (!all || !plan) {
        fprintf(stderr, "%s: %s\n", what, err.message);
        cam_workspace_free(all);
        cam_workspace_free(plan);
        return 0;
    }
    const cam_model_info *info = cam_model_get_info(m);
    const int k = m->n_classes;
    const size_t in_numel = cam_model_input_size(m);
    float *input = malloc((size_t)batch * in_numel * sizeof *input);
    float *p1 = malloc((size_t)batch * k * sizeof *p1), *p2 = malloc((size_t)batch * k * sizeof *p2);
    float *z1 = malloc((size_t)batch * k * sizeof *z1), *z2 = malloc((size_t)batch * k * sizeof *z2);
    for (size_t i = 0; i < (size_t)batch * in_numel; i++)
        input[i] = 0.5f + 0.5f * frand();
    CHECK(cam_forward(all, input, batch, p1, z1, &err) == CAM_OK);
    CHECK(cam_forward(plan, input, batch, p2, z2, &err) == CAM_OK);
    same_floats(what, "probabilities", p2, p1, (size_t)batch * k);
    same_floats(what, "logits", z2, z1, (size_t)batch * k);

    /* the layers: listed ones and the default one */
    const char *names[16];
    int n_names = 0;
    for (int i = 0; layers && layers[i] && n_names < 15; i++)
        names[n_names++] = layers[i];
    if (info->default_layer && info->default_layer[0])
        names[n_names++] = info->default_layer;
    for (int l = 0; l < n_names; l++) {
        size_t numel = tensor_numel(all, names[l]);
        CHECK(numel > 0);
        CHECK(cam_workspace_keeps_tensor(all, names[l]));
        CHECK(cam_workspace_keeps_tensor(plan, names[l]));
        float *g1 = malloc(numel * sizeof *g1), *g2 = malloc(numel * sizeof *g2);
        for (int i = 0; i < batch; i++) {
            char label[160];
            snprintf(label, sizeof label, "tensor %s of image %d", names[l], i);
            CHECK(cam_get_tensor(all, i, names[l], g1, numel, &err) == CAM_OK);
            CHECK(cam_get_tensor(plan, i, names[l], g2, numel, &err) == CAM_OK);
            same_floats(what, label, g2, g1, numel);
            for (int c = 0; c < k; c += k > 3 ? k / 3 : 1)
                for (int score = 0; score < CAM_SCORE_COUNT; score++) {
                    snprintf(label, sizeof label, "gradient at %s, image %d, class %d, score %d",
                             names[l], i, c, score);
                    cam_status s1 = cam_backward(all, i, c, (cam_score)score, names[l], g1, &err);
                    cam_status s2 = cam_backward(plan, i, c, (cam_score)score, names[l], g2, &err);
                    CHECK(s1 == CAM_OK && s2 == CAM_OK);
                    if (s1 == CAM_OK && s2 == CAM_OK)
                        same_floats(what, label, g2, g1, numel);
                    else
                        fprintf(stderr, "%s: %s: %s\n", what, label, err.message);
                }
        }
        free(g1);
        free(g2);
    }
    /* explanations (one image: cam_explain runs its own forward) */
    for (int l = -1; l < n_names; l++)
        for (int method = 0; method < CAM_METHOD_COUNT; method++) {
            if (method == CAM_METHOD_CAM && (l >= 0 || !cam_model_supports_cam(m)))
                continue;
            /* the perturbation family costs a forward pass per channel or position (SS-CAM
             * and IS-CAM: Score-CAM's passes 35 and 10 times over, with other masks): on
             * the small layers only (test-perturbation checks planned workspaces too) */
            if ((method == CAM_METHOD_SS_CAM || method == CAM_METHOD_IS_CAM) ||
                (method >= CAM_METHOD_SCORE_CAM && method <= CAM_METHOD_RECIPRO_CAM && l >= 0 &&
                 tensor_numel(all, names[l]) > 4096))
                continue;
            if (method == CAM_METHOD_FULL_GRAD && l >= 0)
                continue; /* it ignores the layer (and the plan makes its own workspace) */
            cam_explain_options opt = cam_explain_options_default(m);
            opt.method = (cam_method)method;
            opt.layer = l >= 0 ? names[l] : NULL;
            cam_explanation *e1 = NULL, *e2 = NULL;
            cam_status s1 = cam_explain(all, input, &opt, &e1, &err);
            cam_status s2 = cam_explain(plan, input, &opt, &e2, &err);
            CHECK(s1 == CAM_OK && s2 == CAM_OK);
            if (s1 == CAM_OK && s2 == CAM_OK) {
                char label[160];
                snprintf(label, sizeof label, "%s map at %s", cam_method_name(opt.method),
                         l >= 0 ? names[l] : "the default layer");
                CHECK(e1->map_height == e2->map_height && e1->map_width == e2->map_width);
                same_floats(what, label, e2->map, e1->map,
                            (size_t)e1->map_height * e1->map_width);
                same_floats(what, label, e2->probabilities, e1->probabilities, (size_t)k);
                CHECK(e1->class_index == e2->class_index);
            } else {
                fprintf(stderr, "%s: explain %d at %s: %s\n", what, method,
                        l >= 0 ? names[l] : "default", err.message);
            }
            cam_explanation_free(e1);
            cam_explanation_free(e2);
        }

    cam_executor_memory ma, mp;
    cam_executor_memory_use(all->exec, &ma);
    cam_executor_memory_use(plan->exec, &mp);
    CHECK(ma.activations >= ma.activations_unplanned);
    CHECK(mp.activations < ma.activations);
    CHECK(ma.gradients > 0 && ma.gradients < ma.gradients_unplanned);
    CHECK(mp.gradients > 0 && mp.gradients <= ma.gradients_unplanned);
    if (verbose)
        printf("%-36s %-9s batch %d: activations %9zu B all kept, %9zu B planned (%.1f%%); "
               "gradients %8zu B one per tensor, %8zu B reused (kept), %8zu B (planned)\n",
               what, layers && layers[0] ? layers[0] : "(default)", batch, ma.activations,
               mp.activations,
               100.0 * (double)mp.activations / (double)ma.activations, ma.gradients_unplanned,
               ma.gradients, mp.gradients);
    size_t bytes = mp.activations;
    free(input);
    free(p1);
    free(p2);
    free(z1);
    free(z2);
    cam_workspace_free(all);
    cam_workspace_free(plan);
    return bytes;
}

/* A planned workspace refuses a backward pass to a tensor it does not keep, and
 * does not write past its buffers; then still works for kept ones. */
static void check_refusal(const char *what, const cam_model *m, const char *early)
{
    cam_error err = {0};
    cam_workspace *plan = NULL;
    CHECK(cam_workspace_new_for_layers(m, 1, NULL, &plan, &err) == CAM_OK);
    if (!plan)
        return;
    size_t in_numel = cam_model_input_size(m);
    float *input = calloc(in_numel, sizeof *input);
    for (size_t i = 0; i < in_numel; i++)
        input[i] = frand();
    CHECK(cam_forward(plan, input, 1, NULL, NULL, &err) == CAM_OK);
    CHECK(!cam_workspace_keeps_tensor(plan, early));
    size_t numel = tensor_numel(plan, early);
    float *grad = malloc(numel * sizeof *grad);
    cam_status s = cam_backward(plan, 0, 0, CAM_SCORE_LOGIT, early, grad, &err);
    CHECK(s == CAM_ERROR_INVALID_ARGUMENT);
    if (s != CAM_OK && !strstr(err.message, early)) {
        fprintf(stderr, "%s: the refusal does not name '%s': %s\n", what, early, err.message);
        failures++;
    }
    cam_explain_options opt = cam_explain_options_default(m);
    opt.method = CAM_METHOD_GRAD_CAM;
    opt.layer = early;
    cam_explanation *e = NULL;
    s = cam_explain(plan, input, &opt, &e, &err);
    CHECK(s != CAM_OK && e == NULL);
    cam_explanation_free(e);
    opt.layer = NULL;
    CHECK(cam_explain(plan, input, &opt, &e, &err) == CAM_OK);
    cam_explanation_free(e);
    /* unknown layer names */
    const char *bad[] = {"no such tensor", NULL};
    cam_workspace *none = plan; /* not NULL: a failure must set it to NULL */
    CHECK(cam_workspace_new_for_layers(m, 1, bad, &none, &err) == CAM_ERROR_NOT_FOUND);
    CHECK(none == NULL && err.status == CAM_ERROR_NOT_FOUND);
    none = plan;
    CHECK(cam_workspace_new_for_layers(NULL, 1, NULL, &none, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(none == NULL);
    CHECK(cam_workspace_new_for_layers(m, 0, NULL, &none, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(cam_workspace_new_for_layers(m, 1, NULL, NULL, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(!cam_workspace_keeps_tensor(NULL, early) && !cam_workspace_keeps_tensor(plan, NULL));
    free(grad);
    free(input);
    cam_workspace_free(plan);
}

/* Every tensor from which the logits can be differentiated, planned alone:
 * same value and gradient as with everything kept; and the gradients with
 * reuse equal those without (one place per tensor). */
static void check_every_tensor(const char *what, const cam_model *m)
{
    cam_error err = {0};
    cam_workspace *all = NULL, *ref = NULL;
    CHECK(cam_workspace_new(m, 1, &all, &err) == CAM_OK);
    CHECK(cam_workspace_new(m, 1, &ref, &err) == CAM_OK);
    if (!all || !ref) {
        cam_workspace_free(all);
        cam_workspace_free(ref);
        return;
    }
    cam_executor_set_gradient_reuse(ref->exec, 0);
    size_t in_numel = cam_model_input_size(m);
    float *input = malloc(in_numel * sizeof *input);
    for (size_t i = 0; i < in_numel; i++)
        input[i] = frand();
    CHECK(cam_forward(all, input, 1, NULL, NULL, &err) == CAM_OK);
    CHECK(cam_forward(ref, input, 1, NULL, NULL, &err) == CAM_OK);
    const cam_graph *g = all->graph;
    int checked = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        const cam_tensor *tensor = &g->tensors[t];
        if (tensor->kind == CAM_TENSOR_CONSTANT || tensor->dtype != CAM_DTYPE_FLOAT ||
            t == all->model->logits)
            continue;
        size_t numel = tensor->numel;
        float *g1 = malloc(numel * sizeof *g1), *g2 = malloc(numel * sizeof *g2);
        if (cam_backward(all, 0, 1, CAM_SCORE_LOGIT, tensor->name, g1, &err) == CAM_OK) {
            char label[160];
            CHECK(cam_backward(ref, 0, 1, CAM_SCORE_LOGIT, tensor->name, g2, &err) == CAM_OK);
            snprintf(label, sizeof label, "gradient at %s with reuse (vs none)", tensor->name);
            same_floats(what, label, g1, g2, numel);
            const char *layers[2] = {tensor->name, NULL};
            cam_workspace *plan = NULL;
            CHECK(cam_workspace_new_for_layers(m, 1, layers, &plan, &err) == CAM_OK);
            if (plan) {
                CHECK(cam_forward(plan, input, 1, NULL, NULL, &err) == CAM_OK);
                CHECK(cam_backward(plan, 0, 1, CAM_SCORE_LOGIT, tensor->name, g2, &err) == CAM_OK);
                snprintf(label, sizeof label, "gradient at %s planned alone", tensor->name);
                same_floats(what, label, g2, g1, numel);
                CHECK(cam_get_tensor(all, 0, tensor->name, g1, numel, &err) == CAM_OK);
                CHECK(cam_get_tensor(plan, 0, tensor->name, g2, numel, &err) == CAM_OK);
                snprintf(label, sizeof label, "value of %s planned alone", tensor->name);
                same_floats(what, label, g2, g1, numel);
                cam_workspace_free(plan);
                checked++;
            }
        }
        free(g1);
        free(g2);
    }
    CHECK(checked > 0);
    cam_executor_memory ma, mr;
    cam_executor_memory_use(all->exec, &ma);
    cam_executor_memory_use(ref->exec, &mr);
    CHECK(ma.gradients < mr.gradients);
    free(input);
    cam_workspace_free(all);
    cam_workspace_free(ref);
}

/* The perturbation family's passes with the layer replaced (cam_executor_forward_replacing)
 * read the values upstream of the layer from image 0 (a residual's other operand, a
 * concatenated branch): on every listed layer, maps of plain and planned workspaces of 4
 * images, which reuse them, must equal bit for bit those of a workspace of 1 image that
 * runs the whole network for every pass (reuse forbidden), and reuse must run fewer nodes. */
static void check_perturbation_reuse(const char *what, const cam_model *m,
                                     const char *const *layers)
{
    cam_error err = {0};
    cam_workspace *ws[3] = {NULL, NULL, NULL};
    CHECK(cam_workspace_new(m, 1, &ws[0], &err) == CAM_OK);
    CHECK(cam_workspace_new(m, 4, &ws[1], &err) == CAM_OK);
    CHECK(cam_workspace_new_for_layers(m, 4, layers, &ws[2], &err) == CAM_OK);
    if (!ws[0] || !ws[1] || !ws[2])
        goto out;
    cam_executor_set_replace_reuse(ws[0]->exec, 0);
    const size_t in_numel = cam_model_input_size(m);
    float *input = malloc(in_numel * sizeof *input);
    for (size_t i = 0; i < in_numel; i++)
        input[i] = 0.5f + 0.5f * frand();
    for (int l = 0; layers[l]; l++)
        for (int method = CAM_METHOD_SCORE_CAM; method <= CAM_METHOD_RECIPRO_CAM; method++) {
            if (method == CAM_METHOD_SS_CAM || method == CAM_METHOD_IS_CAM)
                continue; /* Score-CAM's passes with other masks */
            cam_explain_options opt = cam_explain_options_default(m);
            opt.method = (cam_method)method;
            opt.layer = layers[l];
            cam_explanation *ex[3] = {NULL, NULL, NULL};
            for (int w = 0; w < 3; w++) {
                CHECK(cam_explain(ws[w], input, &opt, &ex[w], &err) == CAM_OK);
                if (w > 0 && method != CAM_METHOD_SCORE_CAM &&
                    cam_executor_replaced_nodes(ws[w]->exec) >= ws[w]->graph->n_order) {
                    fprintf(stderr, "%s: %s at %s: no reuse (%d nodes per pass)\n", what,
                            cam_method_name(opt.method), layers[l],
                            cam_executor_replaced_nodes(ws[w]->exec));
                    failures++;
                }
            }
            if (ex[0] && ex[1] && ex[2]) {
                char label[160];
                snprintf(label, sizeof label, "%s map at %s, 4 images", cam_method_name(opt.method),
                         layers[l]);
                size_t n = (size_t)ex[0]->map_height * ex[0]->map_width;
                same_floats(what, label, ex[1]->map, ex[0]->map, n);
                snprintf(label, sizeof label, "%s map at %s, 4 images, planned",
                         cam_method_name(opt.method), layers[l]);
                same_floats(what, label, ex[2]->map, ex[0]->map, n);
            }
            for (int w = 0; w < 3; w++)
                cam_explanation_free(ex[w]);
        }
    free(input);
out:
    for (int w = 0; w < 3; w++)
        cam_workspace_free(ws[w]);
}

/* A plan that keeps the layer but not what the nodes after it read from upstream (the
 * residual's other operand): the replacing forward runs the whole network for every
 * pass, with the same numbers as an executor that keeps everything and reuses. */
static void check_replacing_fallback(const char *what, const cam_model *m, const char *layer)
{
    cam_error err = {0};
    const cam_graph *g = m->graph;
    int t = cam_graph_find_tensor(g, layer);
    CHECK(t >= 0);
    if (t < 0)
        return;
    const int keep[2] = {t, m->logits};
    cam_executor_plan plan = {keep, 2, NULL, 0, NULL, 0};
    cam_executor *x[2] = {cam_executor_new(g, 2, &err), cam_executor_new_planned(g, 2, &plan, &err)};
    const size_t in_numel = cam_model_input_size(m), numel = g->tensors[t].numel;
    float *input = malloc(in_numel * sizeof *input);
    float *values = malloc(2 * numel * sizeof *values);
    float logits[2][2][16];
    memset(logits, 0, sizeof logits);
    fill_numel = numel;
    int ran[2] = {0, 0};
    for (size_t i = 0; i < in_numel; i++)
        input[i] = 0.5f + 0.5f * frand();
    for (size_t i = 0; i < 2 * numel; i++)
        values[i] = frand();
    const float *inputs[4] = {input, NULL, NULL, NULL};
    for (int e = 0; e < 2 && x[0] && x[1] && m->n_classes <= 16 && g->n_inputs <= 4; e++) {
        CHECK(cam_executor_forward(x[e], inputs, 1, &err) == CAM_OK);
        CHECK(cam_executor_forward_replacing(x[e], inputs, t, 2, fill_values, values, &err) ==
              CAM_OK);
        ran[e] = cam_executor_replaced_nodes(x[e]);
        for (int i = 0; i < 2; i++)
            memcpy(logits[e][i], cam_executor_value(x[e], m->logits, i),
                   (size_t)m->n_classes * sizeof(float));
    }
    if (x[0] && x[1] && m->n_classes <= 16 && g->n_inputs <= 4) {
        same_floats(what, "logits with the layer replaced, plan without the upstream values",
                    logits[1][0], logits[0][0], 2 * 16);
        CHECK(ran[1] > ran[0]); /* the whole network, against the nodes after the layer */
    }
    free(input);
    free(values);
    cam_executor_free(x[0]);
    cam_executor_free(x[1]);
}

static void check_model(const char *what, cam_model *m, const char *const *layers,
                        const char *early, int every_tensor)
{
    if (!m) {
        failures++;
        return;
    }
    compare(what, m, layers, 1, 1);
    compare(what, m, layers, 3, 0);
    compare(what, m, NULL, 1, 1);
    compare(what, m, NULL, 2, 0);
    if (early)
        check_refusal(what, m, early);
    if (every_tensor)
        check_every_tensor(what, m);
}

int main(int argc, char **argv)
{
    cam_error err = {0};
    /* the bundled networks */
    static const char *const bundled[] = {"fashion-mnist", "cifar10"};
    for (int i = 0; i < 2; i++) {
        cam_model *m = NULL;
        if (cam_model_load(bundled[i], &m, &err) != CAM_OK) {
            fprintf(stderr, "loading %s: %s\n", bundled[i], err.message);
            failures++;
            continue;
        }
        const char *first = NULL;
        cam_layer_info li;
        if (cam_model_get_layer(m, 0, &li, &err) == CAM_OK)
            first = li.name;
        const char *layers[2] = {first, NULL};
        check_model(bundled[i], m, layers, first, 1);
        cam_model_free(m);
    }
    /* networks with branches */
    cam_model *m = branchy_net();
    static const char *const branchy_layers[] = {"a2", "r2", NULL};
    check_model("branches (residual, concat, split)", m, branchy_layers, "r1", 1);
    check_perturbation_reuse("branches (residual, concat, split)", m, branchy_layers);
    check_replacing_fallback("branches (residual, concat, split)", m, "a2");
    cam_model_free(m);
    m = gated_net();
    static const char *const gated_layers[] = {"g", "x2silu", NULL};
    check_model("branches (gate, batchnorm, reshape)", m, gated_layers, "x1r", 1);
    check_perturbation_reuse("branches (gate, batchnorm, reshape)", m, gated_layers);
    cam_model_free(m);
    check_broadcast_spans();
    /* files named on the command line: check and measure */
    for (int i = 1; i < argc; i++) {
        if (cam_model_load(argv[i], &m, &err) != CAM_OK) {
            fprintf(stderr, "loading %s: %s\n", argv[i], err.message);
            failures++;
            continue;
        }
        compare(argv[i], m, NULL, 1, 1);
        cam_model_free(m);
    }
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("planner: all checks passed\n");
    return 0;
}
