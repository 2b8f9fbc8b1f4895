/*
 * test-model-load.c -- the ONNX loader: valid tiny networks are mapped to the
 * expected graph (shapes, folded weights, layers, CAM head, metadata), and every
 * malformed file in tests/engine/data/bad-*.onnx is refused with the right
 * status and a message naming the fault. Fixtures: make-loader-fixtures.py.
 */
#include "cam-error.h"
#include "cam-model.h"
#include "ops/cam-op.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond);                     \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#define EXPECT_NEAR(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(fabs(a_ - b_) <= (tol))) {                                                           \
            fprintf(stderr, "%s:%d: FAILED: %s = %.9g, expected %.9g\n", __FILE__, __LINE__, #a,   \
                    a_, b_);                                                                       \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static char data_dir[4096];

static const char *fixture(const char *name)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s.onnx", data_dir, name);
    return path;
}

static cam_model *load_ok(const char *name)
{
    cam_model *model = NULL;
    cam_error err;
    cam_status s = cam_model_load(fixture(name), &model, &err);
    if (s != CAM_OK) {
        fprintf(stderr, "loading %s failed: %s\n", name, err.message);
        failures++;
        return NULL;
    }
    EXPECT(err.status == CAM_OK && err.message[0] == '\0');
    return model;
}

/* The ramp() of make-loader-fixtures.py. */
static float ramp(size_t i, double scale, double offset)
{
    double v = (double)i * scale + offset;
    return (float)(i % 3 == 2 ? -v : v);
}

/* The live node named `name` (after the passes), or NULL with a failure. */
static const cam_node *node_named(const cam_graph *g, const char *name)
{
    for (int k = 0; k < g->n_order; k++)
        if (strcmp(g->nodes[g->order[k]].name, name) == 0)
            return &g->nodes[g->order[k]];
    fprintf(stderr, "no live node '%s'\n", name);
    failures++;
    return NULL;
}

/* Output 0 of a live node. */
static const cam_tensor *output_of(const cam_graph *g, const char *node)
{
    const cam_node *n = node_named(g, node);
    return n ? &g->tensors[n->outputs[0]] : &g->tensors[0];
}

/* The float data of input k of a live node (a constant), or NULL. */
static const float *input_data(const cam_graph *g, const char *node, int k)
{
    const cam_node *n = node_named(g, node);
    if (!n || k >= n->n_inputs || n->inputs[k] < 0)
        return NULL;
    const cam_tensor *t = &g->tensors[n->inputs[k]];
    return t->kind == CAM_TENSOR_CONSTANT && t->dtype == CAM_DTYPE_FLOAT ? t->data : NULL;
}

/* Every live node is typed, in run order, and reads only what was computed before. */
static void check_graph(const cam_graph *g)
{
    char *seen = calloc((size_t)g->n_tensors + 1, 1);
    for (int t = 0; t < g->n_tensors; t++)
        seen[t] = g->tensors[t].kind != CAM_TENSOR_VALUE;
    for (int k = 0; k < g->n_order; k++) {
        const cam_node *n = &g->nodes[g->order[k]];
        EXPECT(n->def && !n->dead);
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] >= 0) {
                EXPECT(seen[n->inputs[j]]);
                EXPECT(g->tensors[n->inputs[j]].typed);
            }
        for (int j = 0; j < n->n_outputs; j++)
            if (n->outputs[j] >= 0) {
                seen[n->outputs[j]] = 1;
                EXPECT(g->tensors[n->outputs[j]].typed);
            }
    }
    for (int i = 0; i < g->n_outputs; i++)
        EXPECT(seen[g->outputs[i]]);
    free(seen);
}

static int is_live(const cam_graph *g, const char *name)
{
    for (int k = 0; k < g->n_order; k++)
        if (strcmp(g->nodes[g->order[k]].name, name) == 0)
            return 1;
    return 0;
}

static void test_tiny_cam(void)
{
    cam_model *m = load_ok("tiny-cam");
    if (!m)
        return;
    const cam_graph *g = m->graph;
    check_graph(g);
    EXPECT(g->n_order == 9); /* relu1 stays (computed in conv1's pass, kept for the backward) */
    EXPECT(cam_model_input_channels(m) == 1 && cam_model_input_height(m) == 6 &&
           cam_model_input_width(m) == 6 && cam_model_input_size(m) == 36);
    EXPECT(cam_model_n_classes(m) == 3);
    EXPECT(strcmp(cam_model_class_label(m, 1), "Beta") == 0);
    EXPECT(cam_model_class_label(m, 3) == NULL && cam_model_class_label(m, -1) == NULL);
    EXPECT(strcmp(g->tensors[m->logits].name, "logits") == 0);
    EXPECT(strcmp(g->tensors[m->probabilities].name, "probs") == 0);

    const cam_node *conv1 = node_named(g, "conv1");
    EXPECT(conv1 && strcmp(conv1->op_type, "Conv") == 0);
    const cam_tensor *c1 = output_of(g, "conv1");
    EXPECT(c1->rank == 4 && c1->dims[1] == 4 && c1->dims[2] == 6 && c1->dims[3] == 6); /* pads 1 */
    const float *w1 = input_data(g, "conv1", 1), *b1 = input_data(g, "conv1", 2);
    EXPECT(w1 && b1);
    if (w1 && b1) {
        EXPECT_NEAR(w1[5], ramp(5, 0.01, 0), 0);
        EXPECT_NEAR(b1[2], ramp(2, 0.1, 0), 0);
    }
    const cam_tensor *p1 = output_of(g, "pool1");
    EXPECT(p1->rank == 4 && p1->dims[1] == 4 && p1->dims[2] == 3 && p1->dims[3] == 3);
    const float *fw = input_data(g, "fc", 1), *fb = input_data(g, "fc", 2);
    EXPECT(fw && fb);
    if (fw && fb) {
        EXPECT_NEAR(fw[2 * 8 + 5], ramp(2 * 8 + 5, 0.02, 0), 0);
        EXPECT_NEAR(fb[1], -0.2f, 0);
    }

    /* layers and the CAM head */
    EXPECT(cam_model_n_layers(m) == 3);
    cam_layer_info layer;
    cam_error err;
    EXPECT(cam_model_get_layer(m, 0, &layer, &err) == CAM_OK);
    EXPECT(strcmp(layer.name, "r1") == 0 && strcmp(layer.op, "Relu") == 0 && layer.channels == 4 &&
           layer.height == 6 && layer.width == 6);
    EXPECT(cam_model_get_layer(m, 1, &layer, &err) == CAM_OK);
    EXPECT(strcmp(layer.name, "p1") == 0 && strcmp(layer.op, "MaxPool") == 0 && layer.height == 3);
    EXPECT(cam_model_get_layer(m, 2, &layer, &err) == CAM_OK);
    EXPECT(strcmp(layer.name, "features") == 0 && layer.channels == 8 && layer.height == 3);
    EXPECT(cam_model_get_layer(m, 3, &layer, &err) == CAM_ERROR_INVALID_ARGUMENT);
    EXPECT(strstr(err.message, "layer index 3"));
    EXPECT(strcmp(cam_model_auto_layer(m), "features") == 0);
    EXPECT(cam_model_supports_cam(m));
    EXPECT(m->cam_head.present &&
           strcmp(g->tensors[m->cam_head.feature_tensor].name, "features") == 0);
    EXPECT(m->cam_head.n_channels == 8);
    /* W[k,c] = weight[c * K + k] = fc.w[c][k] (transB = 1) */
    EXPECT_NEAR(m->cam_head.weight[2 * 8 + 5], ramp(2 * 8 + 5, 0.02, 0), 0);

    /* metadata */
    const cam_model_info *info = cam_model_get_info(m);
    EXPECT(strcmp(info->name, "tiny-cam") == 0);
    EXPECT(strcmp(info->description, "test network") == 0);
    EXPECT(strstr(info->origin, "tiny-cam.onnx"));
    EXPECT(info->background == CAM_BACKGROUND_BLACK);
    EXPECT_NEAR(info->input_scale, 1.0 / 255.0, 1e-9);
    EXPECT_NEAR(info->input_mean[0], 0.5, 0);
    EXPECT_NEAR(info->input_std[0], 0.25, 0);
    EXPECT(info->default_method == CAM_METHOD_CAM);
    EXPECT(strcmp(info->default_layer, "features") == 0);
    EXPECT_NEAR(info->default_alpha, 0.5, 0);
    EXPECT(strcmp(info->default_colormap, "greens-reds") == 0);
    EXPECT_NEAR(info->colormap_threshold, 0.95, 1e-7);
    EXPECT(strcmp(cam_model_get_metadata(m, "x.custom"), "kept") == 0);
    EXPECT(cam_model_get_metadata(m, "x.none") == NULL);

    int c = -1;
    EXPECT(cam_model_find_class(m, "Gamma", &c, &err) == CAM_OK && c == 2);
    EXPECT(cam_model_find_class(m, "gAmMa", &c, &err) == CAM_OK && c == 2);
    EXPECT(cam_model_find_class(m, "1", &c, &err) == CAM_OK && c == 1);
    EXPECT(cam_model_find_class(m, "3", &c, &err) == CAM_ERROR_NOT_FOUND);
    EXPECT(strstr(err.message, "out of range"));
    EXPECT(cam_model_find_class(m, "Delta", &c, &err) == CAM_ERROR_NOT_FOUND);
    EXPECT(strstr(err.message, "'Delta'"));
    EXPECT(cam_model_find_class(m, "", &c, &err) == CAM_ERROR_INVALID_ARGUMENT);
    EXPECT(cam_model_find_class(m, NULL, &c, NULL) == CAM_ERROR_INVALID_ARGUMENT);
    cam_model_free(m);
}

static void test_tiny_gradcam(void)
{
    cam_model *m = load_ok("tiny-gradcam");
    if (!m)
        return;
    const cam_graph *g = m->graph;
    check_graph(g);
    /* conv1 (+ bn1 folded in) relu1 conv2 pool reshape fc1 (MatMul + Add) relu_fc fc2 softmax;
     * drop and ident removed */
    EXPECT(g->n_order == 9);
    EXPECT(!is_live(g, "bn1") && !is_live(g, "drop") && !is_live(g, "ident") &&
           !is_live(g, "fc1_add"));
    /* SAME_UPPER, stride 2, 3x3 on 7x7: out 4x4; conv1 now writes bn1's output */
    const cam_tensor *c1 = output_of(g, "conv1");
    EXPECT(strcmp(c1->name, "bn") == 0 && c1->dims[2] == 4 && c1->dims[3] == 4);
    /* BatchNormalization folded into conv1 (no bias before): channel 2: scale 2, B -0.1,
     * mean 0.2, var 4, eps 1e-3 -> bias = B - mean * a, a = scale / sqrt(var + eps) */
    double a = 2.0 / sqrt(4.0 + 1e-3);
    const float *b1 = input_data(g, "conv1", 2);
    EXPECT(b1 != NULL);
    if (b1)
        EXPECT_NEAR(b1[2], -0.1 - 0.2 * a, 1e-6);
    const cam_tensor *c2 = output_of(g, "conv2");
    EXPECT(c2->dims[1] == 6 && c2->dims[2] == 3 && c2->dims[3] == 3);
    const float *b2 = input_data(g, "conv2", 2);
    EXPECT(b2 != NULL);
    if (b2)
        EXPECT_NEAR(b2[5], ramp(5, 0.1, 0), 0); /* float_data encoding */
    const cam_tensor *p = output_of(g, "pool");
    EXPECT(p->dims[2] == 2 && p->dims[3] == 2); /* ceil mode: 3 -> 2 */
    const cam_node *reshape = node_named(g, "reshape");
    EXPECT(reshape && (reshape->def->flags & CAM_OP_VIEW));
    /* MatMul [24][5] + Add fused: the MatMul node writes the Add's output, bias as input 2 */
    const cam_node *fc1 = node_named(g, "fc1");
    EXPECT(fc1 && fc1->n_inputs == 3 && strcmp(g->tensors[fc1->outputs[0]].name, "fc1.out") == 0);
    const float *fw = input_data(g, "fc1", 1), *fb = input_data(g, "fc1", 2);
    EXPECT(fw && fb);
    if (fw && fb) {
        EXPECT_NEAR(fw[7 * 5 + 3], ramp(7 * 5 + 3, 0.01, 0), 0);
        EXPECT_NEAR(fb[1], 0.4f, 0);
    }
    int mm = cam_graph_find_tensor(g, "mm");
    EXPECT(mm >= 0 && g->tensors[mm].producer < 0 && g->tensors[mm].n_consumers == 0);
    EXPECT(m->n_classes == 4 && m->probabilities == m->output);
    /* layers: act1 (relu after conv + bn), c2 (conv, no relu), p (max pool) */
    EXPECT(cam_model_n_layers(m) == 3);
    cam_layer_info layer;
    EXPECT(cam_model_get_layer(m, 0, &layer, NULL) == CAM_OK && strcmp(layer.name, "act1") == 0);
    EXPECT(cam_model_get_layer(m, 1, &layer, NULL) == CAM_OK && strcmp(layer.name, "c2") == 0 &&
           strcmp(layer.op, "Conv") == 0);
    EXPECT(cam_model_get_layer(m, 2, &layer, NULL) == CAM_OK && strcmp(layer.name, "p") == 0);
    EXPECT(strcmp(cam_model_auto_layer(m), "p") == 0);
    EXPECT(!cam_model_supports_cam(m));
    const cam_model_info *info = cam_model_get_info(m);
    EXPECT(info->default_method == CAM_METHOD_GRAD_CAM);
    EXPECT(strcmp(info->name, "tiny-gradcam") == 0); /* file name stem */
    EXPECT(strcmp(cam_model_class_label(m, 3), "class 3") == 0);
    EXPECT(strcmp(info->default_colormap, "jet") == 0 && info->background == CAM_BACKGROUND_NONE);
    cam_model_free(m);
}

static void test_tiny_reducemean(void)
{
    cam_model *m = load_ok("tiny-reducemean");
    if (!m)
        return;
    const cam_graph *g = m->graph;
    check_graph(g);
    EXPECT(g->n_order == 4); /* conv relu mean fc(+add) */
    const cam_tensor *mean = output_of(g, "mean");
    EXPECT(mean->rank == 2 && mean->dims[1] == 5); /* keepdims 0 */
    EXPECT(m->probabilities == -1 && m->logits == m->output);
    EXPECT(m->n_classes == 2);
    EXPECT(cam_model_supports_cam(m));
    EXPECT(strcmp(g->tensors[m->cam_head.feature_tensor].name, "act") == 0);
    EXPECT(strcmp(cam_model_get_info(m)->default_layer, "conv") == 0);
    EXPECT(strcmp(cam_model_auto_layer(m), "act") == 0);
    cam_model_free(m);
}

/* Metadata numbers are read the same under a locale with decimal commas (GIMP runs
 * plug-ins with the user's locale). */
static void test_locale(void)
{
    const char *locales[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE.utf8", "fr_FR.utf8"};
    int set = 0;
    for (size_t i = 0; i < 4 && !set; i++)
        set = setlocale(LC_NUMERIC, locales[i]) != NULL;
    if (!set || strcmp(localeconv()->decimal_point, ",") != 0) {
        printf("no locale with a decimal comma installed: locale check skipped\n");
        setlocale(LC_NUMERIC, "C");
        return;
    }
    cam_model *m = load_ok("tiny-cam");
    if (m) {
        EXPECT_NEAR(cam_model_get_info(m)->default_alpha, 0.5, 0);
        EXPECT_NEAR(cam_model_get_info(m)->input_std[0], 0.25, 0);
        cam_model_free(m);
    }
    setlocale(LC_NUMERIC, "C");
    printf("locale with decimal comma: ok\n");
}

static void test_tiny_pool(void)
{
    cam_model *m = load_ok("tiny-pool");
    if (!m)
        return;
    const cam_graph *g = m->graph;
    check_graph(g);
    const cam_tensor *p = output_of(g, "pool");
    /* 5 + 2 pad, k2 s2, ceil: 4 windows, but the 4th would start in the padding */
    EXPECT(p->dims[2] == 3 && p->dims[3] == 3);
    /* SAME_LOWER, dilation 2 (effective 3), stride 1: total pad 2 -> output 3x3 */
    const cam_tensor *c = output_of(g, "conv");
    EXPECT(c->dims[2] == 3 && c->dims[3] == 3);
    /* no dense layer: no CAM, logits = the output, no softmax */
    EXPECT(!cam_model_supports_cam(m) && m->n_classes == 2 && m->probabilities == -1);
    cam_model_free(m);
}

typedef struct bad_case {
    const char *file;
    cam_status status;
    const char *needles[3];
} bad_case;

static const bad_case bad_cases[] = {
    {"bad-empty", CAM_ERROR_PARSE, {"empty"}},
    {"bad-garbage", CAM_ERROR_PARSE, {"not a valid ONNX"}},
    {"bad-truncated", CAM_ERROR_PARSE, {"not a valid ONNX"}},
    {"bad-double-weights", CAM_ERROR_UNSUPPORTED, {"'c1.w'", "DOUBLE"}},
    {"bad-int64-weights", CAM_ERROR_UNSUPPORTED, {"'fc.b'", "int64"}},
    {"bad-huge-input-dim", CAM_ERROR_INVALID_MODEL, {"'input'", "3000000000"}},
    {"bad-huge-weight-dim", CAM_ERROR_UNSUPPORTED, {"'c1.w'", "elements"}},
    {"bad-negative-dim", CAM_ERROR_INVALID_MODEL, {"'c1.b'", "negative"}},
    {"bad-negative-input-dim", CAM_ERROR_INVALID_MODEL, {"'input'", "-1"}},
    {"bad-zero-dim", CAM_ERROR_INVALID_MODEL, {"'conv1'", "'c1.b'", "one per output channel"}},
    {"bad-missing-initializer", CAM_ERROR_INVALID_MODEL, {"'conv2'", "'c2.w'", "missing initializer"}},
    {"bad-cycle", CAM_ERROR_INVALID_MODEL, {"cycle"}},
    {"bad-unsupported-lstm", CAM_ERROR_UNSUPPORTED, {"'relu1'", "'LSTM'"}},
    {"bad-unsupported-domain", CAM_ERROR_UNSUPPORTED, {"'relu1'", "com.microsoft"}},
    {"bad-nan-weight", CAM_ERROR_INVALID_MODEL, {"'c2.w'", "NaN"}},
    {"bad-inf-weight", CAM_ERROR_INVALID_MODEL, {"'fc.w'", "infinite"}},
    {"bad-wrong-attribute-type", CAM_ERROR_INVALID_MODEL, {"'conv1'", "'strides'", "INTS"}},
    {"bad-unknown-attribute", CAM_ERROR_UNSUPPORTED, {"'conv1'", "'frobnicate'"}},
    {"bad-missing-attribute", CAM_ERROR_INVALID_MODEL, {"'pool1'", "'kernel_shape'"}},
    {"bad-short-weights", CAM_ERROR_INVALID_MODEL, {"'c2.w'", "1148 bytes"}},
    {"bad-shape-mismatch", CAM_ERROR_INVALID_MODEL, {"'conv2'", "'c2.w'", "4 channels"}},
    {"bad-dense-mismatch", CAM_ERROR_INVALID_MODEL, {"'fc'", "inner dimensions"}},
    {"bad-window-too-large", CAM_ERROR_INVALID_MODEL, {"'pool1'", "larger than the padded input"}},
    {"bad-produced-twice", CAM_ERROR_INVALID_MODEL, {"'relu2'", "'c1'", "already produced"}},
    {"bad-empty-required-input", CAM_ERROR_INVALID_MODEL, {"'pool1'", "input 0 is required"}},
    {"bad-dangling-output", CAM_ERROR_INVALID_MODEL, {"'nowhere'"}},
    {"bad-label-count", CAM_ERROR_INVALID_MODEL, {"cam.labels", "2 labels", "3 classes"}},
    {"bad-alpha-out-of-range", CAM_ERROR_INVALID_MODEL, {"cam.display.alpha", "1.5"}},
    {"bad-unknown-default-layer", CAM_ERROR_INVALID_MODEL, {"cam.default.layer", "no-such-tensor"}},
    {"bad-unexplainable-default-layer", CAM_ERROR_INVALID_MODEL, {"cam.default.layer", "'logits'"}},
    {"bad-unknown-colormap", CAM_ERROR_INVALID_MODEL, {"cam.display.colormap", "'rainbow'", "greens-reds"}},
    {"bad-unknown-method", CAM_ERROR_INVALID_MODEL, {"cam.default.method", "'gradcam'", "grad-cam"}},
    {"bad-unknown-background", CAM_ERROR_INVALID_MODEL, {"cam.input.background", "'grey'"}},
    {"bad-threshold-out-of-range", CAM_ERROR_INVALID_MODEL, {"cam.display.threshold", "-0.5"}},
    {"bad-tiny-std", CAM_ERROR_INVALID_MODEL, {"cam.input.std", "'1e-45'", "not finite"}},
    {"bad-huge-mean", CAM_ERROR_INVALID_MODEL, {"cam.input.mean", "'1e38'", "not finite"}},
    {"bad-huge-scale", CAM_ERROR_INVALID_MODEL, {"cam.input.scale", "'1e30'", "not finite"}},
    {"bad-future-opset", CAM_ERROR_UNSUPPORTED, {"opset 99"}},
    {"bad-uint8-input", CAM_ERROR_UNSUPPORTED, {"'input'", "UINT8"}},
    {"bad-external-data", CAM_ERROR_UNSUPPORTED, {"'c1.b'", "external"}},
};

static void test_bad_files(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *b = &bad_cases[i];
        cam_model *m = (cam_model *)&failures; /* must be reset to NULL */
        cam_error err;
        cam_status s = cam_model_load(fixture(b->file), &m, &err);
        /* the message starts with the file's path; the needles must be in the rest */
        const char *path = fixture(b->file);
        size_t n_path = strlen(path);
        int ok = s == b->status && err.status == s && m == NULL &&
                 strncmp(err.message, path, n_path) == 0 && err.message[n_path] == ':';
        for (int k = 0; k < 3 && b->needles[k] && ok; k++)
            ok = strstr(err.message + n_path, b->needles[k]) != NULL;
        if (!ok) {
            fprintf(stderr, "FAILED %s: got %s \"%s\", expected %s with", b->file, cam_status_name(s),
                    err.message, cam_status_name(b->status));
            for (int k = 0; k < 3 && b->needles[k]; k++)
                fprintf(stderr, " \"%s\"", b->needles[k]);
            fprintf(stderr, "\n");
            failures++;
            if (s == CAM_OK)
                cam_model_free(m);
        } else {
            printf("ok %s: %s\n", b->file, err.message);
        }
        EXPECT(strchr(err.message, '\n') == NULL);
        /* also through the memory entry point, with err == NULL */
        m = NULL;
        FILE *f = fopen(fixture(b->file), "rb");
        if (f) {
            static unsigned char buf[1 << 16];
            size_t n = fread(buf, 1, sizeof buf, f);
            fclose(f);
            EXPECT(cam_model_load_memory(buf, n, "mem", &m, NULL) == b->status && m == NULL);
        }
    }
}

/* Protobuf nested deeper than any ONNX model: Model.graph > Graph.node > Node.attribute >
 * Attribute.g > Graph.node ... must be refused without exhausting the stack. */
static void test_deep_nesting(void)
{
    size_t depth = 100000, cap = depth * 12 + 64;
    unsigned char *a = malloc(cap), *b = malloc(cap);
    size_t n = 0;
    static const unsigned char fields[3] = {(1 << 3) | 2, (5 << 3) | 2, (6 << 3) | 2};
    for (size_t i = 0; i < depth; i++) {
        /* wrap: tag, varint length, payload */
        unsigned char tag = fields[(depth - 1 - i) % 3]; /* outermost: Graph.node */
        size_t at = 0, len = n;
        b[at++] = tag;
        do {
            b[at++] = (unsigned char)((len & 0x7f) | (len >= 0x80 ? 0x80 : 0));
            len >>= 7;
        } while (len);
        memcpy(b + at, a, n);
        n += at;
        unsigned char *t = a;
        a = b;
        b = t;
    }
    /* Model.graph (field 7) around it */
    size_t at = 0, len = n;
    b[at++] = (7 << 3) | 2;
    do {
        b[at++] = (unsigned char)((len & 0x7f) | (len >= 0x80 ? 0x80 : 0));
        len >>= 7;
    } while (len);
    memcpy(b + at, a, n);
    cam_model *m = NULL;
    cam_error err;
    EXPECT(cam_model_load_memory(b, n + at, "deep", &m, &err) == CAM_ERROR_PARSE);
    EXPECT(strstr(err.message, "deep") && strstr(err.message, "nested too deeply"));
    printf("deep nesting: %s\n", err.message);
    free(a);
    free(b);
}

/* Is s valid UTF-8 (strict: no overlong forms, surrogates or code points above U+10FFFF)
 * without control characters? Written apart from cam-error.c's check on purpose. */
static int clean_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p < 0x20 || *p == 0x7f)
            return 0;
        if (*p < 0x80) {
            p++;
            continue;
        }
        int n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc0 ? 2 : 0;
        if (n == 0 || *p > 0xf4)
            return 0;
        unsigned long c = *p & (0x7f >> n);
        for (int i = 1; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            c = (c << 6) | (p[i] & 0x3f);
        }
        static const unsigned long min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return 0;
        p += n;
    }
    return 1;
}

/* Error messages quote names and values from model files: whatever bytes those hold,
 * a message is one line of valid UTF-8 (issue 17: invalid UTF-8 was echoed raw). */
static void test_messages_utf8(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain 'name'", "plain 'name'"},
        {"valid \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 kept", "valid \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 kept"},
        {"bad \xff byte", "bad \\xff byte"},
        {"lone \x80 continuation", "lone \\x80 continuation"},
        {"overlong \xc0\xaf slash", "overlong \\xc0\\xaf slash"},
        {"surrogate \xed\xa0\x80.", "surrogate \\xed\\xa0\\x80."},
        {"too high \xf5\x80\x80\x80.", "too high \\xf5\\x80\\x80\\x80."},
        {"cut \xe2\x82 short", "cut \\xe2\\x82 short"},
        {"at the end \xe2\x82", "at the end \\xe2\\x82"},
        {"escape \x1b[31m red", "escape \\x1b[31m red"},
        {"two\nlines\r", "two lines "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cam_error err;
        EXPECT(cam_set_error(&err, CAM_ERROR_INVALID_MODEL, "%s", cases[i].in) ==
               CAM_ERROR_INVALID_MODEL);
        if (strcmp(err.message, cases[i].out) != 0 || !clean_utf8(err.message)) {
            fprintf(stderr, "FAILED: message of case %zu is \"%s\", expected \"%s\"\n", i,
                    err.message, cases[i].out);
            failures++;
        }
        /* the prefix path: the old message is cleaned again, a bad prefix too */
        cam_error_prefix(&err, "pre\xfe");
        char want[CAM_ERROR_MESSAGE_SIZE];
        snprintf(want, sizeof want, "pre\\xfe: %s", cases[i].out);
        if (strcmp(err.message, want) != 0 || !clean_utf8(err.message)) {
            fprintf(stderr, "FAILED: prefixed message of case %zu is \"%s\"\n", i, err.message);
            failures++;
        }
    }
    /* A long message of two-byte characters cut by the size limit: valid, never cut
     * inside a character, and as long as fits. Likewise with bytes to escape. */
    static char big[4 * CAM_ERROR_MESSAGE_SIZE];
    for (size_t i = 0; i + 2 < sizeof big; i += 2)
        big[i] = (char)0xc3, big[i + 1] = (char)0xa9, big[i + 2] = '\0';
    for (int offset = 0; offset < 2; offset++) {
        cam_error err;
        cam_set_error(&err, CAM_ERROR_IO, "%.*s%s", offset, "x", big);
        size_t n = strlen(err.message);
        EXPECT(clean_utf8(err.message));
        EXPECT(n >= CAM_ERROR_MESSAGE_SIZE - 3 && n <= CAM_ERROR_MESSAGE_SIZE - 1);
        cam_error_prefix(&err, "p");
        EXPECT(clean_utf8(err.message) && strncmp(err.message, "p: ", 3) == 0);
    }
    memset(big, 0xff, sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cam_error err;
    cam_set_error(&err, CAM_ERROR_IO, "%s", big);
    EXPECT(clean_utf8(err.message) && strlen(err.message) >= CAM_ERROR_MESSAGE_SIZE - 4 &&
           strncmp(err.message, "\\xff\\xff", 8) == 0);

    /* Through the loader: a metadata value and a node's op type that are not UTF-8,
     * patched into copies of fixtures (the bytes keep their length). */
    static const struct {
        const char *file, *find, *replace, *shown;
    } patches[] = {
        {"bad-unknown-colormap", "rainbow", "rai\xff\xc3\x28w", "'rai\\xff\\xc3(w'"},
        {"bad-unsupported-lstm", "LSTM", "L\x1b\xe2M", "'L\\x1b\\xe2M'"},
    };
    for (size_t i = 0; i < sizeof patches / sizeof patches[0]; i++) {
        static unsigned char buf[1 << 16];
        FILE *f = fopen(fixture(patches[i].file), "rb");
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f)
            fclose(f);
        size_t k = strlen(patches[i].find), at = 0, found = 0;
        for (; at + k <= n; at++)
            if (memcmp(buf + at, patches[i].find, k) == 0) {
                memcpy(buf + at, patches[i].replace, k);
                found++;
            }
        EXPECT(found >= 1);
        cam_model *m = NULL;
        cam_error e;
        EXPECT(cam_model_load_memory(buf, n, "mem\xe9", &m, &e) != CAM_OK && m == NULL);
        if (!strstr(e.message, patches[i].shown) || !clean_utf8(e.message) ||
            strncmp(e.message, "mem\\xe9: ", 9) != 0) {
            fprintf(stderr, "FAILED: %s patched: \"%s\" should show %s\n", patches[i].file,
                    e.message, patches[i].shown);
            failures++;
        } else {
            printf("ok %s patched: %s\n", patches[i].file, e.message);
        }
    }
}

static void test_arguments(void)
{
    cam_model *m = NULL;
    cam_error err;
    EXPECT(cam_model_load(NULL, &m, &err) == CAM_ERROR_INVALID_ARGUMENT);
    EXPECT(cam_model_load("", &m, &err) == CAM_ERROR_INVALID_ARGUMENT);
    EXPECT(cam_model_load(fixture("tiny-cam"), NULL, &err) == CAM_ERROR_INVALID_ARGUMENT);
    EXPECT(cam_model_load_memory(NULL, 10, "x", &m, &err) == CAM_ERROR_INVALID_ARGUMENT);
    EXPECT(cam_model_load_memory(NULL, 0, "x", &m, &err) == CAM_ERROR_PARSE);
    EXPECT(cam_model_load("/nonexistent/dir/model.onnx", &m, &err) == CAM_ERROR_NOT_FOUND);
    EXPECT(strstr(err.message, "/nonexistent/dir/model.onnx"));
    EXPECT(cam_model_load(data_dir, &m, &err) == CAM_ERROR_NOT_FOUND); /* a directory */
    EXPECT(m == NULL);
    EXPECT(cam_model_n_classes(NULL) == 0 && cam_model_input_size(NULL) == 0);
    EXPECT(cam_model_get_info(NULL) == NULL && cam_model_auto_layer(NULL) == NULL);
    cam_model_free(NULL);
    EXPECT(strcmp(cam_status_name(CAM_ERROR_PARSE), "parse error") == 0);
    EXPECT(strcmp(cam_version_string(), CAM_VERSION_STRING) == 0);
}

int main(void)
{
    const char *src = getenv("CAM_SOURCE_DIR");
    snprintf(data_dir, sizeof data_dir, "%s/tests/engine/data", src ? src : ".");
    test_tiny_cam();
    test_tiny_gradcam();
    test_tiny_reducemean();
    test_tiny_pool();
    test_locale();
    test_bad_files();
    test_deep_nesting();
    test_messages_utf8();
    test_arguments();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all loader checks passed\n");
    return 0;
}
