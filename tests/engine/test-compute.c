/*
 * test-compute.c -- forward, backward and explanations on networks built in the IR
 * (test-net.h):
 *  - a tiny network whose CAM, Grad-CAM and tutorial Grad-CAM are worked out by hand;
 *  - finite differences of cam_backward through a random network with every op, at
 *    the input and at intermediate tensors, for logit and probability scores;
 *  - bit-identity of results whatever the batch composition, the OpenBLAS thread
 *    count, the engine's pool thread count, and across two threads with their own
 *    workspaces;
 *  - Grad-CAM on a random network against its definition from cam_backward;
 *  - cam_map_normalize and error values.
 */
#include "camengine.h"
#include "kernels/cam-kernels.h"
#include "methods/cam-method.h"
#include "test-check.h"
#include "test-net.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void check_floats(const char *what, const float *got, const double *want, size_t n,
                         double tol)
{
    failures += test_compare(what, got, want, n, tol);
}

static unsigned long long rng_state = 12345;
static float frand(void)
{
    return test_uniform(&rng_state);
}

/* ---- the hand-worked network --------------------------------------------------
 * input x (1 x 2 x 2) -> Conv 1x1, 2 filters (+1, -1), no bias -> Relu: A0 = relu(x),
 * A1 = relu(-x) -> GlobalAveragePool -> Flatten -> Gemm W = [[1, 2], [3, -1]] (row c =
 * class c), no bias -> Softmax.
 * x = [1, -2; 3, 0]: A0 = [1, 0; 3, 0], A1 = [0, 2; 0, 0], pooled (1, 0.5),
 * logits z = (1 + 1, 3 - 0.5) = (2, 2.5): the top class is 1.
 *   CAM(1)     = 3 A0 - A1                          = [3, -2; 9, 0]
 *   CAM(0)     = A0 + 2 A1                          = [1, 4; 3, 0]
 *   Grad-CAM(1): dz1/dA_k = W[1,k]/4 everywhere, alpha = (3/4, -1/4):
 *               ReLU(0.75 A0 - 0.25 A1)             = [0.75, 0; 2.25, 0]
 *   Grad-CAM(0): alpha = (1/4, 1/2): ReLU(.25 A0 + .5 A1) = [0.25, 1; 0.75, 0]
 *   tutorial(1): dp1/dz = p1 (e1 - p) = s (-1, 1), s = p0 p1;
 *               alpha_k = s (W[1,k] - W[0,k]) / 4 = (s/2, -3s/4):
 *               1 + s/2 A0 - 3s/4 A1                = [1 + s/2, 1 - 3s/2; 1 + 3s/2, 1]
 *   d z1 / d x = (3 [x > 0] + [x < 0]) / 4          = [0.75, 0.25; 0.75, 0]
 */
static void test_hand_network(void)
{
    static const test_layer layers[] = {
        {TEST_CONV, 2, 1, 1, 0, 1, 0}, {TEST_RELU, 0, 0, 0, 0, 0, 0},
        {TEST_GLOBAL_AVERAGE_POOL, 0, 0, 0, 0, 0, 0}, {TEST_FLATTEN, 0, 0, 0, 0, 0, 0},
        {TEST_GEMM, 2, 0, 0, 0, 0, 0}, {TEST_SOFTMAX, 0, 0, 0, 0, 0, 0},
    };
    static const float fixed[] = {1, -1, 0, 0, /* conv */ 1, 2, 3, -1, 0, 0 /* gemm */};
    cam_model *model = test_net_model(1, 2, 2, layers, 6, 1, 0, fixed);
    cam_error err = {0};
    cam_workspace *ws = NULL;
    cam_workspace_new(model, 1, &ws, &err);
    CHECK(ws != NULL);
    CHECK(cam_model_supports_cam(model));
    for (int m = 0; m < CAM_METHOD_COUNT; m++) /* the CAM structure, 2 classes: all run */
        CHECK(cam_method_supports_model((cam_method)m, model));
    {
        /* the same with one class: all but Finer-CAM, which compares classes */
        static const test_layer one_class[] = {
            {TEST_CONV, 2, 1, 1, 0, 1, 0}, {TEST_RELU, 0, 0, 0, 0, 0, 0},
            {TEST_GLOBAL_AVERAGE_POOL, 0, 0, 0, 0, 0, 0}, {TEST_FLATTEN, 0, 0, 0, 0, 0, 0},
            {TEST_GEMM, 1, 0, 0, 0, 0, 0},
        };
        cam_model *single = test_net_model(1, 2, 2, one_class, 5, 1, 0, NULL);
        CHECK(cam_model_n_classes(single) == 1 && cam_model_supports_cam(single));
        for (int m = 0; m < CAM_METHOD_COUNT; m++)
            CHECK(cam_method_supports_model((cam_method)m, single) == (m != CAM_METHOD_FINER_CAM));
        cam_model_free(single);
    }
    const float x[4] = {1, -2, 3, 0};
    const double p1 = 1.0 / (1.0 + exp(-0.5)), p0 = 1.0 - p1, s = p0 * p1;

    float probs[2], logits[2];
    CHECK_OK(cam_forward(ws, x, 1, probs, logits, &err));
    const double want_logits[2] = {2, 2.5}, want_probs[2] = {p0, p1};
    check_floats("hand logits", logits, want_logits, 2, 1e-6);
    check_floats("hand probs", probs, want_probs, 2, 1e-6);

    float gx[4];
    CHECK_OK(cam_backward(ws, 0, 1, CAM_SCORE_LOGIT, "input", gx, &err));
    const double want_gx[4] = {0.75, 0.25, 0.75, 0};
    check_floats("hand d z1/dx", gx, want_gx, 4, 1e-7);
    float gl[2];
    CHECK_OK(cam_backward(ws, 0, 1, CAM_SCORE_PROBABILITY, "Gemm_4", gl, &err));
    const double want_gl[2] = {-s, s};
    check_floats("hand d p1/dz", gl, want_gl, 2, 1e-7);

    struct {
        cam_method method;
        int class_index;
        double map[4];
    } cases[] = {
        {CAM_METHOD_CAM, -1, {3, -2, 9, 0}},
        {CAM_METHOD_CAM, 0, {1, 4, 3, 0}},
        {CAM_METHOD_GRAD_CAM, 1, {0.75, 0, 2.25, 0}},
        {CAM_METHOD_GRAD_CAM, 0, {0.25, 1, 0.75, 0}},
        {CAM_METHOD_GRAD_CAM_TUTORIAL, -1, {1 + s / 2, 1 - 1.5 * s, 1 + 1.5 * s, 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cam_explain_options opt = cam_explain_options_default(model);
        opt.method = cases[i].method;
        opt.class_index = cases[i].class_index;
        opt.layer = cases[i].method == CAM_METHOD_CAM ? NULL : "Relu_1";
        cam_explanation *ex = NULL;
        CHECK_OK(cam_explain(ws, x, &opt, &ex, &err));
        CHECK(ex != NULL);
        if (!ex)
            continue;
        int want_class = cases[i].class_index < 0 ? 1 : cases[i].class_index;
        CHECK(ex->class_index == want_class);
        CHECK(fabs(ex->probability - (want_class ? p1 : p0)) < 1e-6);
        CHECK(ex->map_height == 2 && ex->map_width == 2);
        CHECK(ex->layer && strcmp(ex->layer, "Relu_1") == 0);
        CHECK(ex->method == cases[i].method);
        CHECK(ex->n_classes == 2 && ex->probabilities && fabs(ex->probabilities[1] - p1) < 1e-6);
        char what[64];
        snprintf(what, sizeof what, "hand map case %zu", i);
        if (ex->map)
            check_floats(what, ex->map, cases[i].map, 4, 1e-6);
        cam_explanation_free(ex);
    }

    /* CAM on another layer than the pooled one is refused, and *out is NULL. */
    cam_explain_options opt = cam_explain_options_default(model);
    opt.method = CAM_METHOD_CAM;
    opt.layer = "Conv_0";
    _Alignas(64) static unsigned char not_an_explanation[64];
    cam_explanation *ex = (cam_explanation *)not_an_explanation; /* must be set to NULL */
    CHECK(cam_explain(ws, x, &opt, &ex, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "Conv_0") != NULL);
    CHECK(ex == NULL);
    cam_workspace_free(ws);
    cam_model_free(model);
}

/* ---- a random network with every op -------------------------------------------- */

static const test_layer every_op[] = {
    {TEST_CONV, 4, 3, 1, 1, 1, 0},         /*  0: 4 x 9 x 9 */
    {TEST_RELU, 0, 0, 0, 0, 0, 0},         /*  1 */
    {TEST_MAXPOOL, 0, 2, 2, 0, 0, 1},      /*  2: 4 x 5 x 5 (ceil_mode) */
    {TEST_CONV, 6, 3, 1, 1, 2, 0},         /*  3: 6 x 5 x 5, groups 2 */
    {TEST_BATCHNORM, 0, 0, 0, 0, 0, 0},    /*  4 */
    {TEST_ADD, 0, 0, 0, 0, 0, 0},          /*  5 */
    {TEST_RELU, 0, 0, 0, 0, 0, 0},         /*  6 */
    {TEST_CONV, 8, 3, 2, 1, 1, 0},         /*  7: 8 x 3 x 3, stride 2 */
    {TEST_RELU, 0, 0, 0, 0, 0, 0},         /*  8 */
    {TEST_IDENTITY, 0, 0, 0, 0, 0, 0},     /*  9 */
    {TEST_MAXPOOL, 0, 3, 1, 1, 0, 0},      /* 10: 8 x 3 x 3, padded */
    {TEST_GLOBAL_AVERAGE_POOL, 0, 0, 0, 0, 0, 0}, /* 11: 8 x 1 x 1 */
    {TEST_FLATTEN, 0, 0, 0, 0, 0, 0},      /* 12: 8 */
    {TEST_GEMM, 7, 0, 0, 0, 0, 0},         /* 13 */
    {TEST_RELU, 0, 0, 0, 0, 0, 0},         /* 14 */
    {TEST_GEMM, 5, 0, 0, 0, 0, 0},         /* 15: logits */
    {TEST_SOFTMAX, 0, 0, 0, 0, 0, 0},      /* 16 */
};
#define EVERY_OP_N ((int)(sizeof every_op / sizeof every_op[0]))
#define EVERY_OP_SEED 7u

/* Score of class c (logit or probability) of a model at input x, in double. */
static double score_at(cam_workspace *ws, const float *x, int c, cam_score score, int k)
{
    float probs[16], logits[16];
    cam_error err = {0};
    if (cam_forward(ws, x, 1, probs, logits, &err) != CAM_OK) {
        fprintf(stderr, "forward: %s\n", err.message);
        failures++;
        return 0;
    }
    (void)k;
    return score == CAM_SCORE_LOGIT ? logits[c] : probs[c];
}

/* Gradient at the tensor feeding layer `first` (the input when first == 0): compare
 * cam_backward on the full network with finite differences of the tail network
 * layers[first..] evaluated at the full network's activation there. */
static void fd_check_at(int first, int c, cam_score score)
{
    cam_error err = {0};
    cam_model *full = test_net_model(2, 9, 9, every_op, EVERY_OP_N, EVERY_OP_SEED, 0, NULL);
    cam_workspace *ws = NULL;
    cam_workspace_new(full, 1, &ws, &err);
    float x[2 * 9 * 9];
    for (int i = 0; i < 2 * 9 * 9; i++)
        x[i] = frand();
    CHECK_OK(cam_forward(ws, x, 1, NULL, NULL, &err));

    int tc = 2, th = 9, tw = 9;
    if (first > 0)
        test_net_shape_after(2, 9, 9, every_op, first - 1, &tc, &th, &tw);
    size_t numel = (size_t)tc * th * tw;
    char name[64];
    if (first == 0)
        snprintf(name, sizeof name, "input");
    else {
        test_net_tensor_name(every_op, first - 1, 0, name, sizeof name);
    }
    float *a = malloc(numel * sizeof *a), *g = malloc(numel * sizeof *g);
    CHECK_OK(cam_get_tensor(ws, 0, name, a, numel, &err));
    CHECK_OK(cam_backward(ws, 0, c, score, name, g, &err));

    cam_model *tail = test_net_model(tc, th, tw, every_op + first, EVERY_OP_N - first,
                                                    EVERY_OP_SEED, first, NULL);
    cam_workspace *tws = NULL;
    cam_workspace_new(tail, 1, &tws, &err);
    /* The tail reproduces the full network. */
    float pf[5], pt[5];
    CHECK_OK(cam_forward(ws, x, 1, pf, NULL, &err));
    CHECK_OK(cam_forward(tws, a, 1, pt, NULL, &err));
    CHECK(memcmp(pf, pt, sizeof pf) == 0);

    double max_g = 0;
    for (size_t i = 0; i < numel; i++)
        max_g = fmax(max_g, fabs(g[i]));
    CHECK(max_g > 0);
    int bad = 0;
    char first_bad[3][160];
    for (size_t i = 0; i < numel; i++) {
        int ok = 0;
        double num = 0;
        for (double eps = 1e-3; eps > 1e-4 && !ok; eps /= 2) {
            float keep = a[i];
            a[i] = keep + (float)eps;
            double hp = (double)a[i] - keep;
            double lp = score_at(tws, a, c, score, 5);
            a[i] = keep - (float)eps;
            double hm = keep - (double)a[i];
            double lm = score_at(tws, a, c, score, 5);
            a[i] = keep;
            num = (lp - lm) / (hp + hm);
            ok = fabs(num - g[i]) <= 2e-3 * max_g + 1e-5;
        }
        if (!ok) {
            if (bad < 3)
                snprintf(first_bad[bad], sizeof first_bad[bad],
                         "fd at %s[%zu] (class %d, score %d): analytic %.7g numeric %.7g", name, i,
                         c, (int)score, g[i], num);
            bad++;
        }
    }
    /* A coordinate whose +-eps step crosses a ReLU or max-pool kink at every eps may
     * disagree; a wrong backward disagrees almost everywhere. */
    if (bad > (int)(numel / 50)) {
        for (int j = 0; j < bad && j < 3; j++)
            fprintf(stderr, "%s\n", first_bad[j]);
        fprintf(stderr, "fd at %s: %d of %zu coordinates disagree\n", name, bad, numel);
        failures++;
    }
    free(a);
    free(g);
    cam_workspace_free(tws);
    cam_model_free(tail);
    cam_workspace_free(ws);
    cam_model_free(full);
}

static void test_finite_differences(void)
{
    static const int firsts[] = {0, 3, 5, 7, 11, 13, 15}; /* not 10: ReLU zeros tie in its max pool */
    for (size_t i = 0; i < sizeof firsts / sizeof firsts[0]; i++) {
        fd_check_at(firsts[i], (int)i % 5, CAM_SCORE_LOGIT);
        fd_check_at(firsts[i], (int)(i + 2) % 5, CAM_SCORE_PROBABILITY);
    }
}

/* Grad-CAM on a random net against its definition, and the error values. */
static void test_grad_cam_definition_and_errors(void)
{
    cam_error err = {0};
    cam_model *model = test_net_model(2, 9, 9, every_op, EVERY_OP_N, EVERY_OP_SEED, 0, NULL);
    CHECK(!cam_model_supports_cam(model)); /* GAP -> Gemm -> Relu -> Gemm: not the CAM structure */
    for (int m = 0; m < CAM_METHOD_COUNT; m++) /* all but CAM */
        CHECK(cam_method_supports_model((cam_method)m, model) == (m != CAM_METHOD_CAM));
    cam_workspace *ws = NULL;
    cam_workspace_new(model, 2, &ws, &err);
    float x[2 * 9 * 9], g[150], a[150];

    /* Errors before any forward. */
    CHECK(cam_backward(ws, 0, 0, CAM_SCORE_LOGIT, "input", g, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(cam_get_tensor(ws, 0, "input", a, 150, &err) == CAM_ERROR_INVALID_ARGUMENT);

    for (int i = 0; i < 2 * 9 * 9; i++)
        x[i] = frand();
    for (int m = CAM_METHOD_GRAD_CAM; m <= CAM_METHOD_GRAD_CAM_TUTORIAL; m++) {
        for (int c = 0; c < 5; c++) {
            cam_explain_options opt = cam_explain_options_default(model);
            opt.method = (cam_method)m;
            opt.class_index = c;
            opt.layer = "Relu_6";
            cam_explanation *ex = NULL;
            CHECK_OK(cam_explain(ws, x, &opt, &ex, &err));
            CHECK(ex && ex->map_height == 5 && ex->map_width == 5);
            cam_score score = m == CAM_METHOD_GRAD_CAM ? CAM_SCORE_LOGIT : CAM_SCORE_PROBABILITY;
            CHECK_OK(cam_backward(ws, 0, c, score, "Relu_6", g, &err));
            CHECK_OK(cam_get_tensor(ws, 0, "Relu_6", a, 150, &err));
            double want[25], nonzero = 0;
            for (int p = 0; p < 25; p++)
                want[p] = m == CAM_METHOD_GRAD_CAM ? 0.0 : 1.0;
            for (int k = 0; k < 6; k++) {
                double alpha = 0;
                for (int p = 0; p < 25; p++)
                    alpha += g[k * 25 + p];
                alpha /= 25;
                for (int p = 0; p < 25; p++)
                    want[p] += alpha * a[k * 25 + p];
            }
            for (int p = 0; p < 25; p++) {
                if (m == CAM_METHOD_GRAD_CAM && want[p] < 0)
                    want[p] = 0;
                nonzero += fabs(want[p] - (m == CAM_METHOD_GRAD_CAM ? 0.0 : 1.0));
            }
            CHECK(nonzero > 0);
            if (ex && ex->map)
                check_floats("grad-cam definition", ex->map, want, 25, 1e-6);
            cam_explanation_free(ex);
        }
    }

    /* Default layer: whatever the model picks, a map comes back. */
    cam_explain_options opt = cam_explain_options_default(model);
    CHECK(opt.method == CAM_METHOD_GRAD_CAM);
    cam_explanation *ex = NULL;
    CHECK_OK(cam_explain(ws, x, &opt, &ex, &err));
    CHECK(ex && ex->map != NULL && ex->layer && ex->layer[0] != '\0');
    cam_explanation_free(ex);

    /* Error values. */
    opt.method = CAM_METHOD_CAM;
    CHECK(cam_explain(ws, x, &opt, &ex, &err) == CAM_ERROR_UNSUPPORTED);
    CHECK(strstr(err.message, "grad-cam") != NULL);
    opt.method = CAM_METHOD_GRAD_CAM;
    opt.layer = "no-such-layer";
    CHECK(cam_explain(ws, x, &opt, &ex, &err) == CAM_ERROR_NOT_FOUND);
    CHECK(strstr(err.message, "no-such-layer") != NULL);
    opt.layer = "Flatten_12"; /* not C x H x W */
    CHECK(cam_explain(ws, x, &opt, &ex, &err) == CAM_ERROR_INVALID_ARGUMENT);
    opt.layer = NULL;
    opt.class_index = 5;
    CHECK(cam_explain(ws, x, &opt, &ex, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(cam_explain(NULL, x, &opt, &ex, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(ex == NULL);
    CHECK(cam_explain(ws, x, &opt, NULL, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(cam_explain(ws, NULL, &opt, &ex, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(ex == NULL);
    cam_explanation_free(NULL);

    /* Options not made by cam_explain_options_default: refused, naming the fix. */
    cam_explain_options zero;
    memset(&zero, 0, sizeof zero);
    zero.method = CAM_METHOD_GRAD_CAM;
    zero.class_index = -1;
    CHECK(cam_explain(ws, x, &zero, &ex, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(ex == NULL);
    CHECK(strstr(err.message, "cam_explain_options") != NULL);
    CHECK(strstr(err.message, "cam_explain_options_default") != NULL);
    zero.size = sizeof zero - 1;
    CHECK(cam_explain(ws, x, &zero, &ex, &err) == CAM_ERROR_INVALID_ARGUMENT);
    zero.size = sizeof zero;
    CHECK_OK(cam_explain(ws, x, &zero, &ex, &err));
    cam_explanation_free(ex);
    CHECK(cam_explain_options_default(model).size == sizeof(cam_explain_options));
    CHECK(cam_explain_options_default(NULL).size == sizeof(cam_explain_options));
    /* NULL options: the model's defaults. */
    CHECK_OK(cam_explain(ws, x, NULL, &ex, &err));
    CHECK(ex != NULL);
    cam_explanation_free(ex);

    CHECK_OK(cam_forward(ws, x, 1, NULL, NULL, &err));
    CHECK(cam_backward(ws, 0, 0, CAM_SCORE_LOGIT, "Softmax_16", g, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(cam_backward(ws, 0, 0, CAM_SCORE_LOGIT, "nope", g, &err) == CAM_ERROR_NOT_FOUND);
    CHECK(cam_backward(ws, 1, 0, CAM_SCORE_LOGIT, "input", g, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(cam_backward(ws, 0, 5, CAM_SCORE_LOGIT, "input", g, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(cam_backward(ws, 0, 0, CAM_SCORE_LOGIT, "nope", g, NULL) == CAM_ERROR_NOT_FOUND);
    CHECK(cam_get_tensor(ws, 0, "Relu_6", a, 10, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(cam_forward(ws, x, 3, NULL, NULL, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(cam_forward(ws, x, 0, NULL, NULL, &err) == CAM_ERROR_INVALID_ARGUMENT);
    x[7] = NAN;
    CHECK(cam_forward(ws, x, 1, NULL, NULL, &err) == CAM_ERROR_NUMERIC);
    _Alignas(64) static unsigned char not_a_workspace[64];
    cam_workspace *none = (cam_workspace *)not_a_workspace; /* must be set to NULL */
    CHECK(cam_workspace_new(model, 0, &none, &err) == CAM_ERROR_INVALID_ARGUMENT && none == NULL &&
          err.status == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(cam_workspace_new(NULL, 1, &none, &err) == CAM_ERROR_INVALID_ARGUMENT && none == NULL);
    CHECK(cam_workspace_new(model, 1, NULL, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(cam_workspace_new(model, 1 << 21, &none, NULL) == CAM_ERROR_INVALID_ARGUMENT);
    cam_workspace_free(NULL);
    cam_workspace_free(ws);
    cam_model_free(model);
}

/* ---- bit-identity: batches, OpenBLAS threads, caller threads ---------------------- */

/* Big enough that OpenBLAS splits the GEMMs over its threads (64 x 1024 x 288). */
static const test_layer wide[] = {
    {TEST_CONV, 32, 3, 1, 1, 1, 0}, {TEST_RELU, 0, 0, 0, 0, 0, 0},
    {TEST_CONV, 64, 3, 1, 1, 1, 0}, {TEST_RELU, 0, 0, 0, 0, 0, 0},
    {TEST_MAXPOOL, 0, 2, 2, 0, 0, 0}, {TEST_CONV, 96, 3, 1, 1, 1, 0},
    {TEST_RELU, 0, 0, 0, 0, 0, 0}, {TEST_GLOBAL_AVERAGE_POOL, 0, 0, 0, 0, 0, 0},
    {TEST_FLATTEN, 0, 0, 0, 0, 0, 0}, {TEST_GEMM, 10, 0, 0, 0, 0, 0},
    {TEST_SOFTMAX, 0, 0, 0, 0, 0, 0},
};
#define WIDE_N ((int)(sizeof wide / sizeof wide[0]))
#define WIDE_IN (3 * 32 * 32)
#define WIDE_IMAGES 6
#define WIDE_GRAD (3 * 32 * 32)

typedef struct image_result {
    float probs[10], logits[10];
    float grad[WIDE_GRAD];   /* d logit_3 / d input */
    float map[16 * 16];      /* Grad-CAM on Relu_6 */
} image_result;

static void run_one(const cam_model *model, cam_workspace *ws, const float *x, image_result *r)
{
    cam_error err = {0};
    CHECK_OK(cam_forward(ws, x, 1, r->probs, r->logits, &err));
    CHECK_OK(cam_backward(ws, 0, 3, CAM_SCORE_LOGIT, "input", r->grad, &err));
    cam_explain_options opt = cam_explain_options_default(model);
    opt.method = CAM_METHOD_GRAD_CAM;
    opt.class_index = 3;
    opt.layer = "Relu_6";
    cam_explanation *ex = NULL;
    CHECK_OK(cam_explain(ws, x, &opt, &ex, &err));
    if (ex && ex->map)
        memcpy(r->map, ex->map, sizeof r->map);
    cam_explanation_free(ex);
}

typedef struct thread_job {
    const cam_model *model;
    const float *inputs;
    image_result *results;
    int first, count;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    cam_error err = {0};
    cam_workspace *ws = NULL;
    cam_workspace_new(job->model, 1, &ws, &err);
    for (int i = job->first; i < job->first + job->count; i++)
        run_one(job->model, ws, job->inputs + (size_t)i * WIDE_IN, &job->results[i]);
    cam_workspace_free(ws);
    return NULL;
}

static int same_results(const image_result *a, const image_result *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static void test_bit_identity(void)
{
    cam_error err = {0};
    cam_model *model = test_net_model(3, 32, 32, wide, WIDE_N, 3, 0, NULL);
    float *inputs = malloc((size_t)WIDE_IMAGES * WIDE_IN * sizeof *inputs);
    for (size_t i = 0; i < (size_t)WIDE_IMAGES * WIDE_IN; i++)
        inputs[i] = frand();
    image_result *serial = calloc(WIDE_IMAGES, sizeof *serial);
    image_result *other = calloc(WIDE_IMAGES, sizeof *other);

    int previous = cam_set_blas_threads(1);
    cam_workspace *ws = NULL;
    cam_workspace_new(model, WIDE_IMAGES, &ws, &err);
    for (int i = 0; i < WIDE_IMAGES; i++)
        run_one(model, ws, inputs + (size_t)i * WIDE_IN, &serial[i]);

    /* The whole batch at once, then batches of 2 and 3 starting at different images. */
    float probs[WIDE_IMAGES * 10], logits[WIDE_IMAGES * 10];
    CHECK_OK(cam_forward(ws, inputs, WIDE_IMAGES, probs, logits, &err));
    for (int i = 0; i < WIDE_IMAGES; i++) {
        CHECK(memcmp(probs + i * 10, serial[i].probs, sizeof serial[i].probs) == 0);
        CHECK(memcmp(logits + i * 10, serial[i].logits, sizeof serial[i].logits) == 0);
        float grad[WIDE_GRAD];
        CHECK_OK(cam_backward(ws, i, 3, CAM_SCORE_LOGIT, "input", grad, &err));
        CHECK(memcmp(grad, serial[i].grad, sizeof grad) == 0);
    }
    CHECK_OK(cam_forward(ws, inputs + 3 * WIDE_IN, 3, probs, logits, &err));
    for (int i = 0; i < 3; i++)
        CHECK(memcmp(logits + i * 10, serial[3 + i].logits, sizeof serial[0].logits) == 0);

    /* OpenBLAS with 2 threads. */
    cam_set_blas_threads(2);
    for (int i = 0; i < WIDE_IMAGES; i++) {
        run_one(model, ws, inputs + (size_t)i * WIDE_IN, &other[i]);
        CHECK(same_results(&other[i], &serial[i]));
    }
    cam_workspace_free(ws);

    /* Two caller threads, each with its own workspace, OpenBLAS single-threaded. */
    cam_set_blas_threads(1);
    memset(other, 0, WIDE_IMAGES * sizeof *other);
    pthread_t threads[2];
    thread_job jobs[2] = {{model, inputs, other, 0, WIDE_IMAGES / 2},
                          {model, inputs, other, WIDE_IMAGES / 2, WIDE_IMAGES - WIDE_IMAGES / 2}};
    for (int t = 0; t < 2; t++)
        CHECK(pthread_create(&threads[t], NULL, thread_main, &jobs[t]) == 0);
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
    for (int i = 0; i < WIDE_IMAGES; i++)
        CHECK(same_results(&other[i], &serial[i]));

    /* Results are not trivially equal: images differ from each other. */
    CHECK(memcmp(serial[0].logits, serial[1].logits, sizeof serial[0].logits) != 0);
    cam_set_blas_threads(previous);
    free(inputs);
    free(serial);
    free(other);
    cam_model_free(model);
}

/* The engine's own thread pool (kernels/thread-pool.c): a network whose convs run
 * the direct kernel (16x16 and 8x8 maps, on AVX-512 CPUs) and the depthwise
 * kernel gives the same bits with 1, 2 and 3 pool threads (OpenBLAS on one), in
 * the forward, the input gradient and Grad-CAM, alone and in a batch. */
static const test_layer pooled[] = {
    {TEST_CONV, 64, 3, 1, 1, 1, 0},  {TEST_RELU, 0, 0, 0, 0, 0, 0},
    {TEST_CONV, 64, 3, 1, 1, 64, 0}, {TEST_RELU, 0, 0, 0, 0, 0, 0},
    {TEST_CONV, 48, 3, 2, 1, 1, 0},  {TEST_RELU, 0, 0, 0, 0, 0, 0},
    {TEST_GLOBAL_AVERAGE_POOL, 0, 0, 0, 0, 0, 0}, {TEST_FLATTEN, 0, 0, 0, 0, 0, 0},
    {TEST_GEMM, 10, 0, 0, 0, 0, 0},  {TEST_SOFTMAX, 0, 0, 0, 0, 0, 0},
};
#define POOLED_IN (8 * 16 * 16)
#define POOLED_IMAGES 3

typedef struct pooled_result {
    float logits[10];
    float grad[POOLED_IN];
    float map[8 * 8];
} pooled_result;

static void pooled_run(const cam_model *model, cam_workspace *ws, const float *x,
                       pooled_result *r)
{
    cam_error err = {0};
    CHECK_OK(cam_forward(ws, x, 1, NULL, r->logits, &err));
    CHECK_OK(cam_backward(ws, 0, 3, CAM_SCORE_LOGIT, "input", r->grad, &err));
    cam_explain_options opt = cam_explain_options_default(model);
    opt.method = CAM_METHOD_GRAD_CAM;
    opt.class_index = 3;
    opt.layer = "Relu_5";
    cam_explanation *ex = NULL;
    CHECK_OK(cam_explain(ws, x, &opt, &ex, &err));
    CHECK(ex && ex->map && ex->map_height * ex->map_width == 8 * 8);
    if (ex && ex->map)
        memcpy(r->map, ex->map, sizeof r->map);
    cam_explanation_free(ex);
}

static void test_bit_identity_pool(void)
{
    cam_error err = {0};
    cam_model *model = test_net_model(8, 16, 16, pooled, (int)(sizeof pooled / sizeof pooled[0]),
                                      5, 0, NULL);
    float *inputs = malloc((size_t)POOLED_IMAGES * POOLED_IN * sizeof *inputs);
    for (size_t i = 0; i < (size_t)POOLED_IMAGES * POOLED_IN; i++)
        inputs[i] = frand();
    pooled_result ref[POOLED_IMAGES], got;
    float batch_logits[POOLED_IMAGES * 10];
    cam_workspace *ws = NULL;
    CHECK_OK(cam_workspace_new(model, POOLED_IMAGES, &ws, &err));
    const int previous = cam_set_blas_threads(1);
    for (int threads = 1; threads <= 3; threads++) {
        cam_parallel_set_threads(threads);
        for (int i = 0; i < POOLED_IMAGES; i++) {
            pooled_run(model, ws, inputs + (size_t)i * POOLED_IN, threads == 1 ? &ref[i] : &got);
            if (threads > 1)
                CHECK(memcmp(&got, &ref[i], sizeof got) == 0);
        }
        CHECK_OK(cam_forward(ws, inputs, POOLED_IMAGES, NULL, batch_logits, &err));
        for (int i = 0; i < POOLED_IMAGES; i++)
            CHECK(memcmp(batch_logits + i * 10, ref[i].logits, sizeof ref[i].logits) == 0);
    }
    CHECK(memcmp(ref[0].logits, ref[1].logits, sizeof ref[0].logits) != 0);
    cam_set_blas_threads(previous); /* also gives the pool OpenBLAS's count again */
    printf("pool threads 1, 2, 3: %d images bit-identical\n", POOLED_IMAGES);
    cam_workspace_free(ws);
    cam_model_free(model);
    free(inputs);
}

/* The same checks on the bundled networks (their real layer shapes), when present. */
static void test_bit_identity_bundled(const char *name)
{
    const char *dir = getenv("CAM_MODEL_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.onnx", dir ? dir : "weights", name);
    cam_model *model = NULL;
    cam_error err = {0};
    if (cam_model_load(path, &model, &err) != CAM_OK) {
        printf("bundled %s not checked: %s\n", name, err.message);
        return;
    }
    enum { N_IMAGES = 5 };
    const size_t in = cam_model_input_size(model);
    const int k = cam_model_n_classes(model);
    float *inputs = malloc(N_IMAGES * in * sizeof *inputs);
    for (size_t i = 0; i < N_IMAGES * in; i++)
        inputs[i] = 0.5f + 0.5f * frand();
    float *batch_logits = malloc((size_t)N_IMAGES * k * sizeof *batch_logits);
    float *logits = malloc((size_t)k * sizeof *logits);
    cam_workspace *ws = NULL;
    cam_workspace_new(model, N_IMAGES, &ws, &err);
    cam_explain_options opt = cam_explain_options_default(model);
    opt.method = CAM_METHOD_GRAD_CAM;
    cam_explanation *ref[N_IMAGES] = {0};
    int previous = cam_set_blas_threads(1);
    for (int i = 0; i < N_IMAGES; i++)
        CHECK_OK(cam_explain(ws, inputs + i * in, &opt, &ref[i], &err));
    CHECK_OK(cam_forward(ws, inputs, N_IMAGES, NULL, batch_logits, &err));
    cam_set_blas_threads(2);
    for (int i = 0; i < N_IMAGES; i++) {
        cam_explanation *ex = NULL;
        CHECK_OK(cam_explain(ws, inputs + i * in, &opt, &ex, &err));
        CHECK(ex && ref[i] && ex->map_height == ref[i]->map_height &&
              ex->map_width == ref[i]->map_width);
        if (ex && ref[i]) {
            CHECK(memcmp(ex->map, ref[i]->map, (size_t)ex->map_height * ex->map_width * sizeof(float)) == 0);
            CHECK(memcmp(ex->probabilities, ref[i]->probabilities, (size_t)k * sizeof(float)) == 0);
        }
        CHECK_OK(cam_forward(ws, inputs + i * in, 1, NULL, logits, &err));
        CHECK(memcmp(logits, batch_logits + i * k, (size_t)k * sizeof *logits) == 0);
        cam_explanation_free(ex);
        cam_explanation_free(ref[i]);
    }
    cam_set_blas_threads(previous);
    printf("bundled %s: %d images bit-identical across batch and OpenBLAS threads\n", name,
           N_IMAGES);
    cam_workspace_free(ws);
    cam_model_free(model);
    free(inputs);
    free(batch_logits);
    free(logits);
}

/* ---- cam_map_normalize ------------------------------------------------------------- */

static void test_normalize(void)
{
    cam_error err = {0};
    float out[4];
    const float m1[3] = {1, 3, 2};
    CHECK_OK(cam_map_normalize(m1, 3, out, &err));
    CHECK(out[0] == 0.0f && out[1] == 1.0f && out[2] == 0.5f);
    const float flat[4] = {2.5f, 2.5f, 2.5f, 2.5f};
    CHECK_OK(cam_map_normalize(flat, 4, out, &err));
    for (int i = 0; i < 4; i++)
        CHECK(out[i] == 0.0f);
    const float zeros[4] = {0, 0, 0, 0};
    CHECK_OK(cam_map_normalize(zeros, 4, out, &err));
    for (int i = 0; i < 4; i++)
        CHECK(out[i] == 0.0f);
    const float extreme[2] = {-FLT_MAX, FLT_MAX};
    CHECK_OK(cam_map_normalize(extreme, 2, out, &err));
    CHECK(out[0] == 0.0f && out[1] == 1.0f);
    const float tiny[2] = {0.0f, FLT_TRUE_MIN};
    CHECK_OK(cam_map_normalize(tiny, 2, out, &err));
    CHECK(out[0] == 0.0f && out[1] == 1.0f);
    float inplace[3] = {-4, 0, 4};
    CHECK_OK(cam_map_normalize(inplace, 3, inplace, &err));
    CHECK(inplace[0] == 0.0f && inplace[1] == 0.5f && inplace[2] == 1.0f);
    const float bad[3] = {1, NAN, 2};
    CHECK(cam_map_normalize(bad, 3, out, &err) == CAM_ERROR_NUMERIC);
    CHECK(out[0] == 0.0f && out[1] == 0.0f && out[2] == 0.0f);
    const float inf[2] = {1, INFINITY};
    CHECK(cam_map_normalize(inf, 2, out, &err) == CAM_ERROR_NUMERIC);
    CHECK_OK(cam_map_normalize(NULL, 0, NULL, &err));
    CHECK(cam_map_normalize(NULL, 3, out, &err) == CAM_ERROR_INVALID_ARGUMENT);
}

static void test_method_names(void)
{
    cam_error err = {0};
    for (int m = 0; m < CAM_METHOD_COUNT; m++) {
        cam_method back = CAM_METHOD_COUNT;
        CHECK_OK(cam_method_from_name(cam_method_name((cam_method)m), &back, &err));
        CHECK(back == (cam_method)m);
    }
    CHECK(strcmp(cam_method_name(CAM_METHOD_GRAD_CAM_TUTORIAL), "grad-cam-tutorial") == 0);
    /* the table: one row per method, in enum order, each with a distinct lower-case name,
     * a summary that says what it costs, and a compute function */
    for (int m = 0; m < CAM_METHOD_COUNT; m++) {
        const cam_method_def *d = cam_method_def_of((cam_method)m);
        CHECK(d && d->method == (cam_method)m && d->compute);
        CHECK(cam_method_summary((cam_method)m) && strstr(cam_method_summary((cam_method)m), "pass"));
        /* a display name: non-empty, one line, distinct */
        const char *display = cam_method_display_name((cam_method)m);
        CHECK(display && display[0] && !strchr(display, '\n') && strlen(display) < 40);
        for (int o = 0; display && o < m; o++)
            CHECK(strcmp(display, cam_method_display_name((cam_method)o)) != 0);
        for (const char *c = cam_method_name((cam_method)m); c && *c; c++)
            CHECK(!(*c >= 'A' && *c <= 'Z') && *c != ' ' && *c != ',');
        for (int o = 0; o < m; o++)
            CHECK(strcmp(cam_method_name((cam_method)m), cam_method_name((cam_method)o)) != 0);
    }
    CHECK(cam_method_summary(CAM_METHOD_COUNT) == NULL);
    CHECK(cam_method_display_name(CAM_METHOD_COUNT) == NULL);
    CHECK(cam_method_display_name((cam_method)-1) == NULL);
    CHECK(strcmp(cam_method_display_name(CAM_METHOD_GRAD_CAM_PLUS_PLUS), "Grad-CAM++") == 0);
    CHECK(strcmp(cam_method_display_name(CAM_METHOD_SCORE_CAM), "Score-CAM") == 0);
    CHECK(cam_method_supports_model(CAM_METHOD_GRAD_CAM, NULL) == 0);
    CHECK(cam_method_def_of(CAM_METHOD_COUNT) == NULL);
    CHECK(strcmp(cam_method_name(CAM_METHOD_SCORE_CAM), "score-cam") == 0);
    CHECK(strcmp(cam_method_name(CAM_METHOD_RECIPRO_CAM), "recipro-cam") == 0);
    /* out of range: NULL (no "unknown" string) */
    CHECK(cam_method_name(CAM_METHOD_COUNT) == NULL);
    CHECK(cam_method_name((cam_method)-1) == NULL);
    CHECK(cam_status_name(CAM_STATUS_COUNT) == NULL);
    CHECK(cam_status_name((cam_status)-1) == NULL);
    for (int s = 0; s < CAM_STATUS_COUNT; s++) /* lower-case names */
        for (const char *c = cam_status_name((cam_status)s); c && *c; c++)
            CHECK(!(*c >= 'A' && *c <= 'Z'));
    /* from_name ignores case */
    cam_method m = CAM_METHOD_CAM;
    CHECK_OK(cam_method_from_name("Grad-CAM", &m, &err));
    CHECK(m == CAM_METHOD_GRAD_CAM);
    CHECK_OK(cam_method_from_name("GRAD-CAM-TUTORIAL", &m, &err));
    CHECK(m == CAM_METHOD_GRAD_CAM_TUTORIAL);
    /* unknown: NOT_FOUND, the name and every known name in the message, out unchanged */
    CHECK(cam_method_from_name("gradcam", &m, &err) == CAM_ERROR_NOT_FOUND);
    CHECK(err.status == CAM_ERROR_NOT_FOUND);
    CHECK(strstr(err.message, "gradcam") != NULL);
    CHECK(strstr(err.message, "cam, grad-cam, grad-cam-tutorial") != NULL);
    CHECK(m == CAM_METHOD_GRAD_CAM_TUTORIAL);
    /* NULL arguments: INVALID_ARGUMENT */
    CHECK(cam_method_from_name(NULL, &m, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(cam_method_from_name("cam", NULL, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(cam_method_from_name("nope", &m, NULL) == CAM_ERROR_NOT_FOUND);
}

/* The options of the method framework: bad values are refused with a message naming
 * them; every method gives a finite map of the layer's size on every-op network; the
 * random methods are deterministic in their seed. */
static void test_method_options(void)
{
    cam_error err = {0};
    cam_model *model = test_net_model(2, 9, 9, every_op, EVERY_OP_N, EVERY_OP_SEED, 0, NULL);
    cam_workspace *ws = NULL;
    CHECK_OK(cam_workspace_new(model, 1, &ws, &err));
    float x[2 * 9 * 9];
    for (int i = 0; i < 2 * 9 * 9; i++) /* not frand(): the later tests' inputs stay as they were */
        x[i] = (float)sin(0.7 * i + 0.3);
    cam_explanation *ex = NULL;
    cam_explain_options opt = cam_explain_options_default(model);
    CHECK(opt.eigen_smooth == 0 && opt.aug_smooth == 0 && opt.target_score == CAM_SCORE_LOGIT &&
          opt.layers == NULL && opt.seed == 0);
    opt.layer = "Relu_6";
    opt.target_score = CAM_SCORE_COUNT;
    CHECK(cam_explain(ws, x, &opt, &ex, &err) == CAM_ERROR_INVALID_ARGUMENT && !ex);
    CHECK(strstr(err.message, "target_score") != NULL);
    opt.target_score = CAM_SCORE_LOGIT;
    opt.eigen_smooth = 2;
    CHECK(cam_explain(ws, x, &opt, &ex, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "eigen_smooth") != NULL);
    opt.eigen_smooth = 0;
    opt.aug_smooth = -1;
    CHECK(cam_explain(ws, x, &opt, &ex, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "aug_smooth") != NULL);
    opt.aug_smooth = CAM_AUG_SMOOTH_COUNT; /* 3: neither scales (1) nor brightness (2) */
    CHECK(cam_explain(ws, x, &opt, &ex, &err) == CAM_ERROR_INVALID_ARGUMENT && !ex);
    CHECK(strstr(err.message, "aug_smooth is 3") != NULL);
    opt.aug_smooth = 0;
    const char *const unknown[] = {"Relu_6", "nope", NULL};
    opt.layers = unknown;
    CHECK(cam_explain(ws, x, &opt, &ex, &err) == CAM_ERROR_NOT_FOUND);
    CHECK(strstr(err.message, "layers[1]") != NULL && strstr(err.message, "nope") != NULL);
    const char *const empty[] = {"Relu_6", "", NULL};
    opt.layers = empty;
    CHECK(cam_explain(ws, x, &opt, &ex, &err) == CAM_ERROR_INVALID_ARGUMENT);
    const char *const none[] = {NULL};
    opt.layers = none; /* an empty list: `layer` alone */
    CHECK_OK(cam_explain(ws, x, &opt, &ex, &err));
    CHECK(ex && ex->n_layers == 1 && strcmp(ex->layer, "Relu_6") == 0);
    cam_explanation_free(ex);
    ex = NULL;
    opt.layers = NULL;
    opt.method = CAM_METHOD_FINER_CAM;
    opt.target_score = CAM_SCORE_PROBABILITY;
    CHECK(cam_explain(ws, x, &opt, &ex, &err) == CAM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "finer-cam") != NULL);
    opt.target_score = CAM_SCORE_LOGIT;
    cam_status st;

    /* every method, alone and with each option: finite maps of the right size */
    const char *const two[] = {"Relu_6", "Relu_8", NULL}; /* 5x5 and 3x3 */
    for (int m = 0; m < CAM_METHOD_COUNT; m++) {
        if (m == CAM_METHOD_CAM)
            continue; /* no CAM structure here */
        for (int variant = 0; variant < 6; variant++) { /* 5: aug_smooth brightness */
            cam_explain_options o = cam_explain_options_default(model);
            o.method = (cam_method)m;
            o.class_index = 2;
            o.layer = "Relu_6";
            o.eigen_smooth = variant == 1;
            o.target_score = variant == 2 && m != CAM_METHOD_FINER_CAM ? CAM_SCORE_PROBABILITY
                                                                       : CAM_SCORE_LOGIT;
            o.aug_smooth = variant == 3   ? CAM_AUG_SMOOTH_SCALES
                           : variant == 5 ? CAM_AUG_SMOOTH_BRIGHTNESS
                                          : CAM_AUG_SMOOTH_NONE;
            o.layers = variant == 4 ? two : NULL;
            st = cam_explain(ws, x, &o, &ex, &err);
            CHECK_OK(st);
            if (!ex)
                continue;
            /* FullGrad: the input's map, in [0, 1], whatever the layers */
            const int full = m == CAM_METHOD_FULL_GRAD;
            const int eh = full ? cam_model_input_height(model) : 5;
            const int ew = full ? cam_model_input_width(model) : 5;
            CHECK(ex->map_height == eh && ex->map_width == ew && ex->class_index == 2);
            for (int p = 0; p < eh * ew; p++)
                CHECK(isfinite(ex->map[p]));
            if (variant >= 3 || full) /* normalised maps */
                for (int p = 0; p < eh * ew; p++)
                    CHECK(ex->map[p] >= 0.0f && ex->map[p] <= 1.0f);
            if (variant == 4)
                CHECK(full ? ex->n_layers == 1
                           : ex->n_layers == 2 && strcmp(ex->layer, "Relu_6,Relu_8") == 0);
            cam_explanation_free(ex);
            ex = NULL;
        }
    }
    /* the seeded methods: the same seed, the same map; for random, another seed another map */
    for (int m = CAM_METHOD_SMOOTH_GRAD_CAM_PLUS_PLUS; m <= CAM_METHOD_RANDOM; m++) {
        float first[25];
        cam_explain_options o = cam_explain_options_default(model);
        o.method = (cam_method)m;
        o.layer = "Relu_6";
        o.seed = 12345;
        CHECK_OK(cam_explain(ws, x, &o, &ex, &err));
        if (ex)
            memcpy(first, ex->map, sizeof first);
        cam_explanation_free(ex);
        CHECK_OK(cam_explain(ws, x, &o, &ex, &err));
        CHECK(ex && memcmp(first, ex->map, sizeof first) == 0);
        cam_explanation_free(ex);
        o.seed = 54321;
        CHECK_OK(cam_explain(ws, x, &o, &ex, &err));
        if (m == CAM_METHOD_RANDOM)
            CHECK(ex && memcmp(first, ex->map, sizeof first) != 0);
        cam_explanation_free(ex);
        ex = NULL;
    }
    cam_workspace_free(ws);
    cam_model_free(model);
}

/* A layer name longer than the 128 bytes of the old fixed-size field comes back
 * whole, as Grad-CAM and CAM layer. */
static void test_long_layer_name(void)
{
    static const test_layer layers[] = {
        {TEST_CONV, 2, 1, 1, 0, 1, 0}, {TEST_RELU, 0, 0, 0, 0, 0, 0},
        {TEST_GLOBAL_AVERAGE_POOL, 0, 0, 0, 0, 0, 0}, {TEST_FLATTEN, 0, 0, 0, 0, 0, 0},
        {TEST_GEMM, 2, 0, 0, 0, 0, 0}, {TEST_SOFTMAX, 0, 0, 0, 0, 0, 0},
    };
    char prefix[201];
    for (int i = 0; i < 200; i++)
        prefix[i] = (char)('a' + i % 26);
    prefix[200] = '\0';
    test_net_set_tensor_prefix(prefix);
    char relu[320];
    test_net_tensor_name(layers, 1, 0, relu, sizeof relu);
    cam_model *model = test_net_model(1, 3, 3, layers, 6, 7, 0, NULL);
    test_net_set_tensor_prefix(NULL);
    CHECK(strlen(relu) > 128);
    cam_error err = {0};
    cam_workspace *ws = NULL;
    cam_workspace_new(model, 1, &ws, &err);
    const float x[9] = {1, -2, 3, 0, 0.5f, -1, 2, 1, -3};
    for (int m = 0; m < CAM_METHOD_COUNT; m++) {
        cam_explain_options opt = cam_explain_options_default(model);
        opt.method = (cam_method)m;
        opt.layer = m == CAM_METHOD_CAM ? NULL : relu;
        cam_explanation *ex = NULL;
        cam_status st = cam_explain(ws, x, &opt, &ex, &err);
        CHECK_OK(st);
        CHECK(ex && ex->layer && (m == CAM_METHOD_FULL_GRAD || strcmp(ex->layer, relu) == 0));
        cam_explanation_free(ex);
    }
    cam_workspace_free(ws);
    cam_model_free(model);
}

int main(void)
{
    test_method_names();
    test_method_options();
    test_hand_network();
    test_long_layer_name();
    test_finite_differences();
    test_grad_cam_definition_and_errors();
    test_bit_identity();
    test_bit_identity_bundled("fashion-mnist");
    test_bit_identity_bundled("cifar10");
    test_bit_identity_pool();
    test_normalize();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("all compute tests passed\n");
    return 0;
}
