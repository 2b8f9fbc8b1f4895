/*
 * test-perturbation.c -- the perturbation family (methods/perturbation.c) and the
 * executor's replacing forward pass it runs on (graph/cam-executor.h):
 *  - the replacing forward against the network cut after the tensor (test-net.h
 *    builds the tail with the same weights), for a fused Relu output, a conv
 *    output whose Relu is fused into it, a pooling output and the input, with
 *    reuse of the upstream values and with the whole graph run, planned and not;
 *  - every method on tiny networks worked out by hand, logit and probability
 *    scores (including the bilinear masks of a 2 x 2 layer on a 4 x 4 input, a
 *    constant channel, an all-zero input);
 *  - SS-CAM's noise: the stream of RANDOM NUMBERS (camengine.h) read at any place,
 *    written again here, against the engine's sequential stream;
 *  - Ablation-CAM and Recipro-CAM of a random network against their definition
 *    computed with the tail network;
 *  - bit-identical maps whatever the batch size, the plan, the reuse and the
 *    number of threads running the passes side by side (lanes);
 *  - the same through cam_explain (options.target_score, options.seed): the
 *    probabilities of the input, constant maps flagged;
 *  - what the workspace holds afterwards, and refused arguments.
 */
#include "camengine.h"

#include "cam-workspace.h"
#include "graph/cam-executor.h"
#include "methods/cam-method.h"

#include "test-check.h"
#include "test-net.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void check_map(const char *what, const float *got, const double *want, size_t n,
                         double tol)
{
    failures += test_compare(what, got, want, n, tol);
}

static unsigned long long rng_state = 777;
static float frand(void)
{
    return test_uniform(&rng_state);
}

static double sigmoid(double v)
{
    return 1.0 / (1.0 + exp(-v));
}

typedef struct method_entry {
    const char *name;
    cam_method_fn fn;
} method_entry;

static const method_entry methods[] = {
    {"score-cam", cam_method_score_cam},     {"ss-cam", cam_method_ss_cam},
    {"is-cam", cam_method_is_cam},           {"ablation-cam", cam_method_ablation_cam},
    {"recipro-cam", cam_method_recipro_cam},
};
#define N_METHODS ((int)(sizeof methods / sizeof methods[0]))
enum { SCORE, SS, IS, ABLATION, RECIPRO };

/* What cam_explain gives a method (cam-method.h), for the tests that call the
 * methods directly. */
static cam_explain_options ctx_options;
static float ctx_planes[1024], ctx_logits[16], ctx_probs[16];

/* Forward of x as image 0, then the context of a method on `layer`, as the
 * framework (cam-explain.c) makes it. */
static int make_ctx(cam_workspace *ws, const float *x, const char *layer, int class_index,
                    cam_score score, cam_layer *l, cam_method_ctx *ctx)
{
    cam_error err = {0};
    CHECK_OK(cam_forward(ws, x, 1, ctx_probs, ctx_logits, &err));
    int t = cam_graph_find_tensor(ws->graph, layer);
    CHECK(t >= 0);
    if (t < 0 || !cam_model_layer_of(ws->model, t, l) ||
        (size_t)l->channels * l->height * l->width > 1024 || ws->model->n_classes > 16) {
        fprintf(stderr, "%s is not a layer (or too large for this test)\n", layer);
        failures++;
        return 0;
    }
    ctx_options = cam_explain_options_default(ws->model);
    memset(ctx, 0, sizeof *ctx);
    ctx->ws = ws;
    ctx->input = x;
    ctx->layer = l;
    ctx->class_index = class_index;
    ctx->score = score;
    ctx->options = &ctx_options;
    ctx->activations = cam_executor_value(ws->exec, t, 0);
    ctx->view = cam_layer_view_of(l);
    cam_layer_to_planes(ctx->activations, &ctx->view, ctx_planes);
    ctx->planes = ctx_planes;
    ctx->layer_name = layer;
    ctx->n_classes = ws->model->n_classes;
    ctx->logits = ctx_logits;
    ctx->probabilities = ctx_probs;
    return 1;
}

/* Runs method m on layer `layer` of x into map (layer H*W floats). */
static cam_status run_method(cam_workspace *ws, int m, const float *x, const char *layer,
                             int class_index, cam_score score, float *map, cam_error *err)
{
    cam_layer l;
    cam_method_ctx ctx;
    if (!make_ctx(ws, x, layer, class_index, score, &l, &ctx))
        return CAM_ERROR_NOT_FOUND;
    return methods[m].fn(&ctx, map, err);
}

/* ---- the replacing forward pass against the tail network ----------------------- */

static const test_layer chain[] = {
    {TEST_CONV, 4, 3, 1, 1, 1, 0},          /*  0: 4 x 8 x 8 (+ Relu fused) */
    {TEST_RELU, 0, 0, 0, 0, 0, 0},          /*  1 */
    {TEST_MAXPOOL, 0, 2, 2, 0, 0, 0},       /*  2: 4 x 4 x 4 */
    {TEST_CONV, 6, 3, 1, 1, 1, 0},          /*  3: 6 x 4 x 4 (+ Relu fused) */
    {TEST_RELU, 0, 0, 0, 0, 0, 0},          /*  4 */
    {TEST_CONV, 8, 1, 1, 0, 1, 0},          /*  5: 8 x 4 x 4 */
    {TEST_RELU, 0, 0, 0, 0, 0, 0},          /*  6 */
    {TEST_GLOBAL_AVERAGE_POOL, 0, 0, 0, 0, 0, 0},
    {TEST_FLATTEN, 0, 0, 0, 0, 0, 0},
    {TEST_GEMM, 5, 0, 0, 0, 0, 0},
    {TEST_SOFTMAX, 0, 0, 0, 0, 0, 0},
};
#define CHAIN_N ((int)(sizeof chain / sizeof chain[0]))
#define CHAIN_SEED 31

typedef struct fill_job {
    const float *values; /* instances, numel each */
    size_t numel;
    int first;
} fill_job;

static void fill_from(void *user, int slot, float *values)
{
    const fill_job *job = user;
    memcpy(values, job->values + (size_t)(job->first + slot) * job->numel,
           job->numel * sizeof *values);
}

/* Replaces the output of chain layer j (-1: the input) by n_inst random values and
 * compares the logits with the tail network's, bit for bit. mode: 0 plain
 * workspace, 1 planned for the tensor, 2 reuse forbidden. */
static void check_replacing(int j, int mode, int max_batch)
{
    cam_error err = {0};
    cam_model *model = test_net_model(3, 8, 8, chain, CHAIN_N, CHAIN_SEED, 0, NULL);
    char name[64] = "input";
    if (j >= 0)
        test_net_tensor_name(chain, j, 0, name, sizeof name);
    int c = 3, h = 8, w = 8;
    if (j >= 0)
        test_net_shape_after(3, 8, 8, chain, j, &c, &h, &w);
    cam_model *tail = test_net_model(c, h, w, chain + j + 1, CHAIN_N - j - 1, CHAIN_SEED, j + 1,
                                     NULL);
    cam_workspace *ws = NULL, *tws = NULL;
    const char *layers[] = {name, NULL};
    if (mode == 1)
        CHECK_OK(cam_workspace_new_for_layers(model, max_batch, layers, &ws, &err));
    else
        CHECK_OK(cam_workspace_new(model, max_batch, &ws, &err));
    enum { N_INST = 5 };
    CHECK_OK(cam_workspace_new(tail, N_INST, &tws, &err));
    if (!ws || !tws)
        goto done;
    if (mode == 2)
        cam_executor_set_replace_reuse(ws->exec, 0);
    int t = cam_graph_find_tensor(ws->graph, name);
    CHECK(t >= 0);
    size_t numel = ws->graph->tensors[t].numel;
    CHECK(numel == (size_t)c * h * w);
    float x[3 * 8 * 8];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = frand();
    float *v = malloc(N_INST * numel * sizeof *v);
    float want[N_INST * 5];
    for (size_t i = 0; i < N_INST * numel; i++)
        v[i] = j >= 0 && chain[j].op == TEST_RELU ? fabsf(frand()) : frand();
    CHECK_OK(cam_forward(tws, v, N_INST, NULL, want, &err));
    CHECK_OK(cam_forward(ws, x, 1, NULL, NULL, &err));
    const float *inputs[] = {x};
    fill_job job = {v, numel, 0};
    for (job.first = 0; job.first < N_INST; job.first += max_batch) {
        int n = N_INST - job.first < max_batch ? N_INST - job.first : max_batch;
        CHECK_OK(cam_executor_forward_replacing(ws->exec, inputs, t, n, fill_from, &job, &err));
        for (int i = 0; i < n; i++) {
            const float *z = cam_executor_value(ws->exec, ws->model->logits, i);
            if (memcmp(z, want + (size_t)(job.first + i) * 5, 5 * sizeof *z) != 0) {
                fprintf(stderr, "replacing %s (mode %d, batch %d): instance %d: logit 0 %.9g, "
                        "tail network %.9g\n", name, mode, max_batch, job.first + i, z[0],
                        want[(size_t)(job.first + i) * 5]);
                failures++;
            }
        }
        int ran = cam_executor_replaced_nodes(ws->exec);
        if (mode == 2 || j < 0)
            CHECK(ran > 0);
        else if (ran <= 0 || ran >= ws->graph->n_order - 2) {
            /* reuse: only what follows the tensor runs */
            fprintf(stderr, "replacing %s (mode %d): %d of %d nodes ran\n", name, mode, ran,
                    ws->graph->n_order);
            failures++;
        }
    }
    /* no forward pass is held any more: a backward pass is refused */
    float g[5] = {0};
    CHECK(cam_executor_backward(ws->exec, 0, 1, &ws->model->logits, (const float *const[]){g},
                                t, v, &err) == CAM_ERROR_INVALID_ARGUMENT);
    free(v);
done:
    cam_workspace_free(ws);
    cam_workspace_free(tws);
    cam_model_free(model);
    cam_model_free(tail);
}

static void test_replacing_forward(void)
{
    const int layers[] = {-1, 0, 1, 2, 3, 4, 6};
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++)
        for (int mode = 0; mode < 3; mode++) {
            check_replacing(layers[i], mode, 2);
            check_replacing(layers[i], mode, 5);
        }
    /* errors: a constant, a batch too large, no fill function */
    cam_error err = {0};
    cam_model *model = test_net_model(3, 8, 8, chain, CHAIN_N, CHAIN_SEED, 0, NULL);
    cam_workspace *ws = NULL;
    CHECK_OK(cam_workspace_new(model, 2, &ws, &err));
    float x[3 * 8 * 8] = {0};
    const float *inputs[] = {x};
    fill_job job = {x, 1, 0};
    int relu = cam_graph_find_tensor(ws->graph, "Relu_1");
    CHECK_OK(cam_forward(ws, x, 1, NULL, NULL, &err));
    CHECK(cam_executor_forward_replacing(ws->exec, inputs, relu, 3, fill_from, &job, &err) ==
          CAM_ERROR_INVALID_ARGUMENT);
    CHECK(cam_executor_forward_replacing(ws->exec, inputs, relu, 1, NULL, &job, &err) ==
          CAM_ERROR_INVALID_ARGUMENT);
    int weight = -1;
    for (int t = 0; t < ws->graph->n_tensors; t++)
        if (ws->graph->tensors[t].kind == CAM_TENSOR_CONSTANT)
            weight = t;
    CHECK(cam_executor_forward_replacing(ws->exec, inputs, weight, 1, fill_from, &job, &err) ==
          CAM_ERROR_INVALID_ARGUMENT);
    /* no forward pass and no inputs: the upstream values are missing */
    cam_executor_set_replace_reuse(ws->exec, 0);
    CHECK(cam_executor_forward_replacing(ws->exec, NULL, relu, 1, fill_from, &job, &err) ==
          CAM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "input") != NULL);
    cam_workspace_free(ws);
    cam_model_free(model);
}

/* ---- the hand-worked network --------------------------------------------------
 * As in test-compute.c: x (1 x 2 x 2) -> Conv 1x1, filters (+1, -1) -> Relu:
 * A0 = relu(x), A1 = relu(-x) -> GlobalAveragePool -> Gemm W = [[1, 2], [3, -1]]
 * -> Softmax. For any input x': z0 = (S+ + 2 S-) / 4, z1 = (3 S+ - S-) / 4 with
 * S+ = sum relu(x'), S- = sum relu(-x'). x = [1, -2; 3, 0], layer Relu_1:
 * A0 = [1, 0; 3, 0], A1 = [0, 2; 0, 0]; z = (2, 2.5), class 1.
 *  Score-CAM (the layer is 2 x 2 like the input: U_k = A_k):
 *    M0 = [1/3, 0; 1, 0], x M0 = [1/3, 0; 3, 0]: z = (5/6, 5/2)
 *    M1 = [0, 1; 0, 0],   x M1 = [0, -2; 0, 0]:  z = (1, -1/2)
 *    logit: w = (5/2, -1/2), map = ReLU([5/2, -1; 15/2, 0]) = [2.5, 0; 7.5, 0]
 *    probability: w = (sig(5/3), sig(-3/2)), map = [w0, 2 w1; 3 w0, 0]
 *  IS-CAM: z is positively homogeneous (no biases): z(c x') = c z(x'), so
 *    w_k = (1/N) sum_i s(c_i z_k), c_i = i(i+1)/(2N); logit: w_k = z1_k (N+1)(N+2)/(6N)
 *    = 2.2 z1_k for N = 10: map = 2.2 x Score-CAM's = [5.5, 0; 16.5, 0]
 *  Ablation-CAM: A0 = 0 gives z = (1, -1/2), A1 = 0 gives z = (1, 3):
 *    logit: y = 2.5, w = (3/2.5, -0.5/2.5) = (1.2, -0.2): map = [1.2, 0; 3.6, 0]
 *    probability: y = sig(1/2), y_k = (sig(-3/2), sig(2))
 *  Recipro-CAM: keeping position p only: p = (0,0): z = (1/4, 3/4); (0,1): z = (1, -1/2);
 *    (1,0): z = (3/4, 9/4); (1,1): z = (0, 0)
 *    logit: [0.75, -0.5; 2.25, 0]; probability: sig of z1 - z0 = [sig(.5), sig(-1.5); sig(1.5), .5]
 */
static const test_layer hand[] = {
    {TEST_CONV, 2, 1, 1, 0, 1, 0}, {TEST_RELU, 0, 0, 0, 0, 0, 0},
    {TEST_GLOBAL_AVERAGE_POOL, 0, 0, 0, 0, 0, 0}, {TEST_FLATTEN, 0, 0, 0, 0, 0, 0},
    {TEST_GEMM, 2, 0, 0, 0, 0, 0}, {TEST_SOFTMAX, 0, 0, 0, 0, 0, 0},
};
static const float hand_weights[] = {1, -1, 0, 0, /* conv */ 1, 2, 3, -1, 0, 0 /* gemm */};

/* The hand network's logits on an input of n pixels. */
static void hand_logits(const double *x, int n, double z[2])
{
    double pos = 0, neg = 0;
    for (int i = 0; i < n; i++) {
        pos += x[i] > 0 ? x[i] : 0;
        neg += x[i] < 0 ? -x[i] : 0;
    }
    z[0] = (pos + 2 * neg) / n;
    z[1] = (3 * pos - neg) / n;
}

static double hand_score(const double z[2], cam_score score)
{
    return score == CAM_SCORE_LOGIT ? z[1] : sigmoid(z[1] - z[0]);
}

/* SS-CAM's noise: the normal number m of the stream of RANDOM NUMBERS
 * (camengine.h) from seed: splitmix64's n-th output is mix(seed + (n + 1) gamma),
 * and the normal number m takes outputs 2m and 2m + 1. Written again here. */
static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double normal_number(uint64_t seed, uint64_t m)
{
    const uint64_t gamma = 0x9e3779b97f4a7c15ull;
    double u1 = (double)(mix(seed + (2 * m + 1) * gamma) >> 11) / 9007199254740992.0;
    double u2 = (double)(mix(seed + (2 * m + 2) * gamma) >> 11) / 9007199254740992.0;
    return sqrt(-2 * log(1 - u1)) * cos(2 * M_PI * u2);
}

/* ... which is the engine's sequential stream read at place m. */
static void test_noise_stream(void)
{
    const uint64_t seeds[] = {0, 1, 12345, 0xffffffffffffffffull};
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
        uint64_t state = seeds[s];
        for (uint64_t m = 0; m < 1000; m++) {
            double g = cam_random_normal(&state);
            if (g != normal_number(seeds[s], m)) {
                fprintf(stderr, "seed %llu, normal number %llu: stream %.17g, here %.17g\n",
                        (unsigned long long)seeds[s], (unsigned long long)m, g,
                        normal_number(seeds[s], m));
                failures++;
                break;
            }
        }
    }
}

/* Score-CAM family on the hand network for x (n = 4 pixels), layer 2 x 2. masks[k]:
 * M_k (the layer has the input's size, so U_k = A_k). kind: SCORE, SS, IS. */
static void hand_score_family(const double *x, const double masks[2][4], const int has_mask[2],
                              int kind, cam_score score, double w[2])
{
    const int n_samples = kind == SS ? CAM_SS_CAM_SAMPLES : kind == IS ? CAM_IS_CAM_STEPS : 1;
    for (int k = 0; k < 2; k++) {
        w[k] = 0;
        if (!has_mask[k])
            continue;
        double sum = 0;
        for (int i = 0; i < n_samples; i++) {
            double xm[4], z[2];
            for (int q = 0; q < 4; q++) {
                float m = (float)masks[k][q];
                if (kind == SS) /* seed 0, the default */
                    m += (float)(CAM_SS_CAM_STD *
                                 normal_number(0, ((uint64_t)k * n_samples + i) * 4 + q));
                double c = kind == IS ? (i + 1.0) * (i + 2.0) / (2.0 * n_samples) : 1.0;
                xm[q] = c * x[q] * m;
            }
            hand_logits(xm, 4, z);
            sum += hand_score(z, score);
        }
        w[k] = sum / n_samples;
    }
}

static void test_hand(void)
{
    cam_error err = {0};
    cam_model *model = test_net_model(1, 2, 2, hand, 6, 1, 0, hand_weights);
    cam_workspace *ws = NULL;
    CHECK_OK(cam_workspace_new(model, 3, &ws, &err));
    if (!ws)
        return;
    const float x[4] = {1, -2, 3, 0};
    const double xd[4] = {1, -2, 3, 0};
    const double a0[4] = {1, 0, 3, 0}, a1[4] = {0, 2, 0, 0};
    const double masks[2][4] = {{1.0 / 3, 0, 1, 0}, {0, 1, 0, 0}};
    const int has_mask[2] = {1, 1};
    for (int si = 0; si < 2; si++) {
        const cam_score score = si ? CAM_SCORE_PROBABILITY : CAM_SCORE_LOGIT;
        double want[N_METHODS][4];
        /* the Score-CAM family: from the formulas above */
        for (int m = SCORE; m <= IS; m++) {
            double w[2];
            hand_score_family(xd, masks, has_mask, m, score, w);
            for (int q = 0; q < 4; q++) {
                double v = w[0] * a0[q] + w[1] * a1[q];
                want[m][q] = v > 0 ? v : 0;
            }
        }
        if (score == CAM_SCORE_LOGIT) { /* the numbers worked out above */
            const double score_cam[4] = {2.5, 0, 7.5, 0}, is_cam[4] = {5.5, 0, 16.5, 0};
            check_map("hand score-cam formula", (const float[]){(float)want[SCORE][0],
                      (float)want[SCORE][1], (float)want[SCORE][2], (float)want[SCORE][3]},
                      score_cam, 4, 1e-6);
            check_map("hand is-cam formula", (const float[]){(float)want[IS][0],
                      (float)want[IS][1], (float)want[IS][2], (float)want[IS][3]},
                      is_cam, 4, 1e-5);
            const double ablation[4] = {1.2, 0, 3.6, 0}, recipro[4] = {0.75, -0.5, 2.25, 0};
            memcpy(want[ABLATION], ablation, sizeof ablation);
            memcpy(want[RECIPRO], recipro, sizeof recipro);
        } else {
            const double w0 = sigmoid(5.0 / 3), w1 = sigmoid(-1.5);
            const double score_cam[4] = {w0, 2 * w1, 3 * w0, 0};
            check_map("hand score-cam formula (probability)",
                      (const float[]){(float)want[SCORE][0], (float)want[SCORE][1],
                                      (float)want[SCORE][2], (float)want[SCORE][3]},
                      score_cam, 4, 1e-7);
            const double y = sigmoid(0.5), y0 = sigmoid(-1.5), y1 = sigmoid(2);
            const double b0 = (y - y0) / y, b1 = (y - y1) / y;
            for (int q = 0; q < 4; q++) {
                double v = b0 * a0[q] + b1 * a1[q];
                want[ABLATION][q] = v > 0 ? v : 0;
            }
            const double recipro[4] = {sigmoid(0.5), sigmoid(-1.5), sigmoid(1.5), 0.5};
            memcpy(want[RECIPRO], recipro, sizeof recipro);
        }
        for (int m = 0; m < N_METHODS; m++) {
            float map[4] = {-1, -1, -1, -1};
            CHECK_OK(run_method(ws, m, x, "Relu_1", 1, score, map, &err));
            char what[80];
            snprintf(what, sizeof what, "hand %s (%s)", methods[m].name,
                     si ? "probability" : "logit");
            double big = 1;
            for (int q = 0; q < 4; q++)
                big = fmax(big, fabs(want[m][q]));
            check_map(what, map, want[m], 4, 2e-6 * big);

            /* the same through cam_explain: the map, and the input's probabilities */
            cam_explain_options opt = cam_explain_options_default(model);
            opt.method = (cam_method)(CAM_METHOD_SCORE_CAM + m);
            opt.layer = "Relu_1";
            opt.target_score = score;
            cam_explanation *ex = NULL;
            CHECK_OK(cam_explain(ws, x, &opt, &ex, &err));
            if (!ex)
                continue;
            CHECK(strcmp(cam_method_name(ex->method), methods[m].name) == 0);
            CHECK(ex->class_index == 1 && ex->map_height == 2 && ex->map_width == 2);
            CHECK(fabs(ex->probability - sigmoid(0.5)) < 1e-6);
            CHECK(fabs(ex->probabilities[0] - sigmoid(-0.5)) < 1e-6);
            CHECK(!ex->constant_map);
            snprintf(what, sizeof what, "hand %s (%s) by cam_explain", methods[m].name,
                     si ? "probability" : "logit");
            check_map(what, ex->map, want[m], 4, 2e-6 * big);
            cam_explanation_free(ex);
        }
    }

    /* aug_smooth = CAM_AUG_SMOOTH_BRIGHTNESS: the network is positively homogeneous (no
     * biases) and mirror-symmetric, so every flipped and brightened input (x 0.9, 1, 1.1)
     * gives the same Ablation-CAM map once normalised and flipped back, if y is the score
     * of the augmented input itself: [1.2, 0; 3.6, 0] normalised, [1/3, 0; 1, 0]. (With
     * the clean input's y, the weights (y - s y_k) / y of a scaled input s x would
     * change.) The zoomed views (CAM_AUG_SMOOTH_SCALES) are checked on the 8 x 8
     * network below. */
    {
        cam_explain_options opt = cam_explain_options_default(model);
        opt.method = CAM_METHOD_ABLATION_CAM;
        opt.layer = "Relu_1";
        opt.aug_smooth = CAM_AUG_SMOOTH_BRIGHTNESS;
        cam_explanation *ex = NULL;
        CHECK_OK(cam_explain(ws, x, &opt, &ex, &err));
        if (ex)
            check_map("ablation-cam, aug_smooth", ex->map, (const double[]){1.0 / 3, 0, 1, 0}, 4,
                      1e-6);
        cam_explanation_free(ex);
    }

    /* An all-zero input: every channel is constant (no mask), y = z1 = 0: zero maps
     * and never NaN. */
    const float zero[4] = {0, 0, 0, 0};
    for (int si = 0; si < 2; si++)
        for (int m = 0; m < N_METHODS; m++) {
            float map[4] = {-1, -1, -1, -1};
            const cam_score score = si ? CAM_SCORE_PROBABILITY : CAM_SCORE_LOGIT;
            CHECK_OK(run_method(ws, m, zero, "Relu_1", 1, score, map, &err));
            const double want_recipro = si ? 0.5 : 0.0;
            for (int q = 0; q < 4; q++)
                if (map[q] != (m == RECIPRO ? want_recipro : 0.0)) {
                    fprintf(stderr, "zero input, %s: map[%d] = %g\n", methods[m].name, q,
                            map[q]);
                    failures++;
                }
            /* cam_explain flags the constant map */
            cam_explain_options opt = cam_explain_options_default(model);
            opt.method = (cam_method)(CAM_METHOD_SCORE_CAM + m);
            opt.layer = "Relu_1";
            opt.target_score = score;
            cam_explanation *ex = NULL;
            CHECK_OK(cam_explain(ws, zero, &opt, &ex, &err));
            CHECK(ex && ex->constant_map);
            cam_explanation_free(ex);
        }
    cam_workspace_free(ws);
    cam_model_free(model);

    /* A constant channel: filters (+1, 0), biases (0, 0.5): A1 = 0.5 everywhere has no
     * mask and weight 0. x M0 = [1/3, 0; 3, 0] gives A0' = x M0, A1' = 0.5:
     * z1 = 3 (10/3) / 4 - 0.5 = 2: Score-CAM = ReLU(2 A0) = [2, 0; 6, 0]. */
    static const float constant_weights[] = {1, 0, 0, 0.5f, 1, 2, 3, -1, 0, 0};
    model = test_net_model(1, 2, 2, hand, 6, 1, 0, constant_weights);
    CHECK_OK(cam_workspace_new(model, 1, &ws, &err));
    if (ws) {
        float map[4];
        CHECK_OK(run_method(ws, SCORE, x, "Relu_1", 1, CAM_SCORE_LOGIT, map, &err));
        check_map("score-cam, constant channel", map, (const double[]){2, 0, 6, 0}, 4, 1e-6);
        CHECK_OK(run_method(ws, SS, x, "Relu_1", 1, CAM_SCORE_LOGIT, map, &err));
        for (int q = 0; q < 4; q++)
            CHECK(isfinite(map[q]));
    }
    cam_workspace_free(ws);
    cam_model_free(model);
}

/* ---- the masks: a 2 x 2 layer on a 4 x 4 input --------------------------------
 * Conv 1x1 with stride 2 (filters +1, -1) -> Relu -> the hand network's head: the
 * layer is A0 = relu(x[2i][2j]), A1 = relu(-x[2i][2j]), and for any input x'
 * z0 = (S+ + 2 S-) / 4, z1 = (3 S+ - S-) / 4 over x' at the even positions.
 * Bilinear upsampling 2 -> 4 (align_corners = False: source = (o + 0.5) / 2 - 0.5,
 * clamped at 0) has the weights R = [1 0; 3/4 1/4; 1/4 3/4; 0 1] on each axis:
 * U_k = R A_k R^T. */
static void test_hand_upsampling(void)
{
    static const test_layer strided[] = {
        {TEST_CONV, 2, 1, 2, 0, 1, 0}, {TEST_RELU, 0, 0, 0, 0, 0, 0},
        {TEST_GLOBAL_AVERAGE_POOL, 0, 0, 0, 0, 0, 0}, {TEST_FLATTEN, 0, 0, 0, 0, 0, 0},
        {TEST_GEMM, 2, 0, 0, 0, 0, 0}, {TEST_SOFTMAX, 0, 0, 0, 0, 0, 0},
    };
    static const double r[4][2] = {{1, 0}, {0.75, 0.25}, {0.25, 0.75}, {0, 1}};
    cam_error err = {0};
    cam_model *model = test_net_model(1, 4, 4, strided, 6, 1, 0, hand_weights);
    cam_workspace *ws = NULL;
    CHECK_OK(cam_workspace_new(model, 2, &ws, &err));
    if (!ws)
        return;
    const float x[16] = {2, 5, -1, 4, /**/ 7, -3, 1, 0, /**/ -4, 2, 0.5f, -6, /**/ 1, 8, 3, -2};
    double a[2][4];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double v = x[(2 * i) * 4 + 2 * j];
            a[0][i * 2 + j] = v > 0 ? v : 0;
            a[1][i * 2 + j] = v < 0 ? -v : 0;
        }
    for (int si = 0; si < 2; si++) {
        const cam_score score = si ? CAM_SCORE_PROBABILITY : CAM_SCORE_LOGIT;
        double w[2];
        for (int k = 0; k < 2; k++) {
            double u[16], lo = INFINITY, hi = -INFINITY;
            for (int y = 0; y < 4; y++)
                for (int xx = 0; xx < 4; xx++) {
                    double v = 0;
                    for (int i = 0; i < 2; i++)
                        for (int j = 0; j < 2; j++)
                            v += r[y][i] * r[xx][j] * a[k][i * 2 + j];
                    u[y * 4 + xx] = v;
                    lo = v < lo ? v : lo;
                    hi = v > hi ? v : hi;
                }
            double xm[4], z[2];
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++) {
                    int q = (2 * i) * 4 + 2 * j;
                    xm[i * 2 + j] = x[q] * (u[q] - lo) / (hi - lo);
                }
            hand_logits(xm, 4, z);
            w[k] = hand_score(z, score);
        }
        double want[4];
        for (int q = 0; q < 4; q++) {
            double v = w[0] * a[0][q] + w[1] * a[1][q];
            want[q] = v > 0 ? v : 0;
        }
        float map[4];
        CHECK_OK(run_method(ws, SCORE, x, "Relu_1", 1, score, map, &err));
        check_map(si ? "upsampled masks (probability)" : "upsampled masks (logit)", map, want, 4,
                  2e-6);
    }
    cam_workspace_free(ws);
    cam_model_free(model);
}

/* ---- Ablation-CAM and Recipro-CAM from the tail network -------------------------- */

static void test_tail_definitions(void)
{
    cam_error err = {0};
    const int j = 4; /* Relu_4: 6 x 4 x 4 */
    cam_model *model = test_net_model(3, 8, 8, chain, CHAIN_N, CHAIN_SEED, 0, NULL);
    int c, h, w;
    test_net_shape_after(3, 8, 8, chain, j, &c, &h, &w);
    cam_model *tail = test_net_model(c, h, w, chain + j + 1, CHAIN_N - j - 1, CHAIN_SEED, j + 1,
                                     NULL);
    cam_workspace *ws = NULL, *tws = NULL;
    CHECK_OK(cam_workspace_new(model, 4, &ws, &err));
    CHECK_OK(cam_workspace_new(tail, 1, &tws, &err));
    if (!ws || !tws)
        return;
    float x[3 * 8 * 8];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = frand();
    const size_t hw = (size_t)h * w, numel = (size_t)c * hw;
    float a[6 * 16], v[6 * 16], probs[5], logits[5];
    CHECK_OK(cam_forward(ws, x, 1, probs, logits, &err));
    CHECK_OK(cam_get_tensor(ws, 0, "Relu_4", a, numel, &err));
    int nontrivial = 0;
    for (int cls = 0; cls < 5; cls += 2)
        for (int si = 0; si < 2; si++) {
            const cam_score score = si ? CAM_SCORE_PROBABILITY : CAM_SCORE_LOGIT;
            double y = si ? probs[cls] : logits[cls], weight[6], want[16], recipro[16];
            for (int k = 0; k < c; k++) {
                memcpy(v, a, sizeof v);
                for (size_t q = 0; q < hw; q++)
                    v[k * hw + q] = 0;
                float tp[5], tz[5];
                CHECK_OK(cam_forward(tws, v, 1, tp, tz, &err));
                weight[k] = (y - (si ? tp[cls] : tz[cls])) / y;
            }
            for (size_t q = 0; q < hw; q++) {
                double s = 0;
                for (int k = 0; k < c; k++)
                    s += weight[k] * a[k * hw + q];
                want[q] = s > 0 ? s : 0;
                memset(v, 0, sizeof v);
                for (int k = 0; k < c; k++)
                    v[k * hw + q] = a[k * hw + q];
                float tp[5], tz[5];
                CHECK_OK(cam_forward(tws, v, 1, tp, tz, &err));
                recipro[q] = si ? tp[cls] : tz[cls];
            }
            float map[16];
            double big = 0;
            for (size_t q = 0; q < hw; q++)
                big = fmax(big, fabs(want[q]));
            nontrivial += big > 0;
            CHECK_OK(run_method(ws, ABLATION, x, "Relu_4", cls, score, map, &err));
            check_map("ablation-cam vs tail network", map, want, hw, 1e-6 * big);
            big = 0;
            for (size_t q = 0; q < hw; q++)
                big = fmax(big, fabs(recipro[q]));
            CHECK_OK(run_method(ws, RECIPRO, x, "Relu_4", cls, score, map, &err));
            check_map("recipro-cam vs tail network", map, recipro, hw, 1e-6 * big);
        }
    CHECK(nontrivial >= 3); /* of the 6 Ablation-CAM maps, some are not all zero */
    cam_workspace_free(ws);
    cam_workspace_free(tws);
    cam_model_free(model);
    cam_model_free(tail);
}

/* ---- bit-identity whatever the batch ------------------------------------------- */

static void test_batch_identity(void)
{
    cam_error err = {0};
    cam_model *model = test_net_model(3, 8, 8, chain, CHAIN_N, CHAIN_SEED, 0, NULL);
    float x[3 * 8 * 8];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = frand();
    /* the top class (its maps are the least likely to be all zero) */
    int top = 0;
    {
        cam_workspace *ws = NULL;
        float probs[5];
        CHECK_OK(cam_workspace_new(model, 1, &ws, &err));
        if (ws)
            CHECK_OK(cam_forward(ws, x, 1, probs, NULL, &err));
        for (int c = 1; ws && c < 5; c++)
            if (probs[c] > probs[top])
                top = c;
        cam_workspace_free(ws);
    }
    const char *layer_names[] = {"Relu_4", "Relu_1"};
    const int hw_of[] = {16, 64};
    for (int li = 0; li < 2; li++) {
        const char *layer = layer_names[li];
        const int hw = hw_of[li];
        float ref[N_METHODS][2][64];
        /* configurations: plain workspaces of 1, 3 and 7 images; planned for the
         * layer, 4 images; reuse forbidden, 2 images -- on one thread; then passes
         * side by side on 2 and 3 threads (lanes: more of them than max_batch, and
         * fewer), plain, planned and without reuse */
        static const struct {
            int batch, planned, no_reuse, threads;
        } configs[] = {{1, 0, 0, 1}, {3, 0, 0, 1}, {7, 0, 0, 1}, {4, 1, 0, 1}, {2, 0, 1, 1},
                       {1, 0, 0, 2}, {7, 0, 0, 3}, {1, 1, 0, 3}, {2, 0, 1, 2}};
        for (size_t cfg = 0; cfg < sizeof configs / sizeof configs[0]; cfg++) {
            cam_workspace *ws = NULL;
            const char *layers[] = {layer, NULL};
            cam_set_blas_threads(configs[cfg].threads);
            if (configs[cfg].planned)
                CHECK_OK(cam_workspace_new_for_layers(model, configs[cfg].batch, layers, &ws,
                                                      &err));
            else
                CHECK_OK(cam_workspace_new(model, configs[cfg].batch, &ws, &err));
            if (!ws)
                continue;
            if (configs[cfg].no_reuse)
                cam_executor_set_replace_reuse(ws->exec, 0);
            for (int m = 0; m < N_METHODS; m++)
                for (int si = 0; si < 2; si++) {
                    float map[64];
                    const cam_score score = si ? CAM_SCORE_PROBABILITY : CAM_SCORE_LOGIT;
                    CHECK_OK(run_method(ws, m, x, layer, top, score, map, &err));
                    if (cfg == 0) {
                        memcpy(ref[m][si], map, (size_t)hw * sizeof *map);
                        double lo = map[0], hi = map[0];
                        for (int q = 0; q < hw; q++) {
                            lo = fmin(lo, map[q]);
                            hi = fmax(hi, map[q]);
                        }
                        if (!(hi > lo)) {
                            fprintf(stderr, "%s (%s) on %s: a constant map (%g)\n",
                                    methods[m].name, si ? "probability" : "logit", layer, hi);
                            failures++;
                        }
                    } else if (memcmp(ref[m][si], map, (size_t)hw * sizeof *map) != 0) {
                        fprintf(stderr, "%s on %s (%s): max_batch %d%s, %d thread(s) differs "
                                "from max_batch 1, 1 thread\n", methods[m].name, layer,
                                si ? "probability" : "logit", configs[cfg].batch,
                                configs[cfg].planned    ? " (planned)"
                                : configs[cfg].no_reuse ? " (no reuse)"
                                                        : "",
                                configs[cfg].threads);
                        failures++;
                    }
                }
            cam_workspace_free(ws);
        }
    }
    cam_set_blas_threads(1);
    cam_model_free(model);
}

/* ---- the workspace afterwards, and refused arguments ---------------------------- */

static void test_state_and_errors(void)
{
    cam_error err = {0};
    cam_model *model = test_net_model(3, 8, 8, chain, CHAIN_N, CHAIN_SEED, 0, NULL);
    cam_workspace *ws = NULL;
    CHECK_OK(cam_workspace_new(model, 2, &ws, &err));
    if (!ws)
        return;
    float x[3 * 8 * 8];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = frand();
    float probs[5], after[5], map[16], a[96];
    CHECK_OK(cam_forward(ws, x, 1, probs, NULL, &err));
    for (int m = 0; m < N_METHODS; m++) {
        CHECK_OK(run_method(ws, m, x, "Relu_4", 0, CAM_SCORE_PROBABILITY, map, &err));
        /* the probabilities of x are untouched; the forward pass is gone */
        memcpy(after, cam_workspace_probabilities(ws, 0), sizeof after);
        CHECK(memcmp(probs, after, sizeof after) == 0);
        CHECK(cam_get_tensor(ws, 0, "Relu_4", a, 96, &err) == CAM_ERROR_INVALID_ARGUMENT);
        CHECK(strstr(err.message, "cam_forward") != NULL);
    }
    cam_layer l;
    cam_method_ctx ctx;
    if (make_ctx(ws, x, "Relu_4", 0, CAM_SCORE_LOGIT, &l, &ctx)) {
        CHECK(cam_method_ss_cam_with(&ctx, 0, 1.0f, map, &err) == CAM_ERROR_INVALID_ARGUMENT);
        CHECK(strstr(err.message, "ss-cam") != NULL);
        CHECK(cam_method_ss_cam_with(&ctx, 3, NAN, map, &err) == CAM_ERROR_INVALID_ARGUMENT);
        CHECK(cam_method_is_cam_with(&ctx, 0, map, &err) == CAM_ERROR_INVALID_ARGUMENT);
        ctx.activations = NULL;
        CHECK(cam_method_score_cam(&ctx, map, &err) == CAM_ERROR_INVALID_ARGUMENT);
    }
    /* SS-CAM through cam_explain: the seed chooses the noise (the same seed, the same
     * map), and the maps are the input's whatever the workspace did before */
    {
        cam_explain_options opt = cam_explain_options_default(model);
        opt.method = CAM_METHOD_SS_CAM;
        opt.layer = "Relu_4";
        opt.target_score = CAM_SCORE_PROBABILITY;
        float first[16];
        cam_explanation *ex = NULL;
        opt.seed = 99;
        CHECK_OK(cam_explain(ws, x, &opt, &ex, &err));
        if (ex)
            memcpy(first, ex->map, sizeof first);
        cam_explanation_free(ex);
        opt.seed = 98;
        CHECK_OK(cam_explain(ws, x, &opt, &ex, &err));
        CHECK(ex && memcmp(first, ex->map, sizeof first) != 0);
        cam_explanation_free(ex);
        opt.seed = 99;
        CHECK_OK(cam_explain(ws, x, &opt, &ex, &err));
        CHECK(ex && memcmp(first, ex->map, sizeof first) == 0);
        CHECK(ex && memcmp(ex->probabilities, probs, sizeof probs) == 0);
        cam_explanation_free(ex);
    }
    /* aug_smooth (cam-explain.c), both modes: the average over the 6 augmented inputs
     * of the normalised Ablation-CAM maps, mapped back; each computed here on its own
     * input, so y is that input's score. Brightness: the input flipped and multiplied,
     * the map flipped back. Scales: the input zoomed about its centre (pixel p of the
     * view reads the input at normalised coordinate g / s, g = (2p + 1) / 8 - 1, as
     * torch's grid_sample; bilinear, 0 outside), flipped; the 4 x 4 map read back at
     * g s (g = (2q + 1) / 4 - 1, clamped to the outer cells' centres), where |g s| <= 1
     * (all 16 cells here: 4 x 4 is too coarse for s = 1.1 to lose one). */
    for (int mode = CAM_AUG_SMOOTH_SCALES; mode <= CAM_AUG_SMOOTH_BRIGHTNESS; mode++) {
        const double factors[3] = {0.9, 1.0, 1.1};
        double want[16] = {0}, seen[16] = {0};
        for (int aug = 0; aug < 6; aug++) {
            const double s = factors[aug % 3];
            const int flip = aug >= 3;
            float xa[3 * 8 * 8], m[16];
            for (int c = 0; c < 3; c++)
                for (int yy = 0; yy < 8; yy++)
                    for (int xx = 0; xx < 8; xx++) {
                        const int sx = flip ? 7 - xx : xx;
                        double v;
                        if (mode == CAM_AUG_SMOOTH_BRIGHTNESS)
                            v = s * x[(c * 8 + yy) * 8 + sx];
                        else {
                            const double py = (((2 * yy + 1) / 8.0 - 1) / s + 1) * 4 - 0.5;
                            const double px = (((2 * sx + 1) / 8.0 - 1) / s + 1) * 4 - 0.5;
                            v = 0;
                            for (int j = (int)floor(py); j <= (int)floor(py) + 1; j++)
                                for (int i = (int)floor(px); i <= (int)floor(px) + 1; i++)
                                    if (j >= 0 && j < 8 && i >= 0 && i < 8)
                                        v += (1 - fabs(py - j)) * (1 - fabs(px - i)) *
                                             x[(c * 8 + j) * 8 + i];
                        }
                        xa[(c * 8 + yy) * 8 + xx] = (float)v;
                    }
            CHECK_OK(run_method(ws, ABLATION, xa, "Relu_4", 0, CAM_SCORE_LOGIT, m, &err));
            CHECK_OK(cam_map_normalize(m, 16, m, &err));
            for (int q = 0; q < 16; q++) {
                const int qy = q / 4, qx = flip ? 3 - q % 4 : q % 4;
                if (mode == CAM_AUG_SMOOTH_BRIGHTNESS) {
                    want[q] += m[qy * 4 + qx];
                    seen[q] += 1;
                    continue;
                }
                const double gy = ((2 * qy + 1) / 4.0 - 1) * s, gx = ((2 * qx + 1) / 4.0 - 1) * s;
                if (fabs(gy) > 1 + 1e-9 || fabs(gx) > 1 + 1e-9)
                    continue;
                const double py = fmin(fmax((gy + 1) * 2 - 0.5, 0), 3);
                const double px = fmin(fmax((gx + 1) * 2 - 0.5, 0), 3);
                double v = 0;
                for (int j = 0; j < 4; j++)
                    for (int i = 0; i < 4; i++)
                        v += fmax(0, 1 - fabs(py - j)) * fmax(0, 1 - fabs(px - i)) * m[j * 4 + i];
                want[q] += v;
                seen[q] += 1;
            }
        }
        for (int q = 0; q < 16; q++)
            want[q] /= seen[q];
        cam_explain_options opt = cam_explain_options_default(model);
        opt.method = CAM_METHOD_ABLATION_CAM;
        opt.layer = "Relu_4";
        opt.class_index = 0;
        opt.aug_smooth = mode;
        cam_explanation *ex = NULL;
        CHECK_OK(cam_explain(ws, x, &opt, &ex, &err));
        if (ex)
            check_map(mode == CAM_AUG_SMOOTH_SCALES ? "ablation-cam, aug_smooth scales"
                                                    : "ablation-cam, aug_smooth brightness",
                      ex->map, want, 16, 1e-6);
        cam_explanation_free(ex);
    }
    /* SS-CAM without noise and one sample, IS-CAM with one step (c_1 = 1): Score-CAM,
     * bit for bit */
    float score_map[16], other[16];
    CHECK_OK(run_method(ws, SCORE, x, "Relu_4", 0, CAM_SCORE_LOGIT, score_map, &err));
    if (make_ctx(ws, x, "Relu_4", 0, CAM_SCORE_LOGIT, &l, &ctx)) {
        CHECK_OK(cam_method_ss_cam_with(&ctx, 1, 0.0f, other, &err));
        CHECK(memcmp(score_map, other, sizeof other) == 0);
    }
    if (make_ctx(ws, x, "Relu_4", 0, CAM_SCORE_LOGIT, &l, &ctx)) {
        CHECK_OK(cam_method_is_cam_with(&ctx, 1, other, &err));
        CHECK(memcmp(score_map, other, sizeof other) == 0);
    }
    cam_workspace_free(ws);
    cam_model_free(model);
}

int main(void)
{
    test_noise_stream();
    test_replacing_forward();
    test_hand();
    test_hand_upsampling();
    test_tail_definitions();
    test_batch_identity();
    test_state_and_errors();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("perturbation: all checks passed\n");
    return 0;
}
