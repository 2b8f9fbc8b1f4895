/*
 * test-progress.c -- progress reports and cancelling (cam_workspace_set_progress,
 * camengine.h, PROGRESS AND CANCELLING), on a small random network (test-net.h):
 *  - the fraction never decreases, stays in [0, 1], ends at exactly 1, and the
 *    user data comes back; a forward of n images reports n times as often as one;
 *  - Score-CAM's fraction advances pass by pass (more distinct values than passes,
 *    the middle pass near the middle), and so do Smooth Grad-CAM++'s;
 *  - a callback that returns non-zero at its N-th call (N = 1, 2, half, the last
 *    but one, the last) stops cam_forward, cam_backward and cam_explain (Grad-CAM,
 *    Score-CAM, Ablation-CAM, Smooth Grad-CAM++, a layer list with augmentation)
 *    with CAM_STATUS_CANCELLED after exactly N calls, no explanation, a message
 *    naming the function; the same workspace then gives results bit-identical to
 *    those of a workspace that never had a callback (whole and planned
 *    workspaces), and a cancelled backward keeps the forward pass;
 *  - the executor itself stops at once: its step hook (graph/cam-executor.h) is
 *    not called again after it returned non-zero, in a forward, a backward and
 *    the replacing forwards of Score-CAM.
 * Leaks after a cancel are found by the sanitizer build (LeakSanitizer).
 */
#include "camengine.h"
#include "test-check.h"
#include "test-net.h"

#include "cam-workspace.h"
#include "graph/cam-executor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static const test_layer net[] = {
    {TEST_CONV, 4, 3, 1, 1, 1, 0},          /*  0: 4 x 8 x 8 */
    {TEST_RELU, 0, 0, 0, 0, 0, 0},          /*  1 */
    {TEST_MAXPOOL, 0, 2, 2, 0, 0, 0},       /*  2: 4 x 4 x 4 */
    {TEST_CONV, 6, 3, 1, 1, 1, 0},          /*  3: 6 x 4 x 4 */
    {TEST_RELU, 0, 0, 0, 0, 0, 0},          /*  4 */
    {TEST_BATCHNORM, 0, 0, 0, 0, 0, 0},     /*  5 */
    {TEST_CONV, 8, 1, 1, 0, 1, 0},          /*  6: 8 x 4 x 4 */
    {TEST_RELU, 0, 0, 0, 0, 0, 0},          /*  7 */
    {TEST_GLOBAL_AVERAGE_POOL, 0, 0, 0, 0, 0, 0},
    {TEST_FLATTEN, 0, 0, 0, 0, 0, 0},
    {TEST_GEMM, 5, 0, 0, 0, 0, 0},
    {TEST_SOFTMAX, 0, 0, 0, 0, 0, 0},
};
#define NET_N ((int)(sizeof net / sizeof net[0]))
#define NET_C 3
#define NET_H 8
#define NET_W 8
#define MAX_CALLS 100000

/* What the callback saw. */
typedef struct recorder {
    int calls;
    int cancel_at;        /* return 1 at this call (1-based); 0 = never */
    double cancel_from;   /* return 1 at the first call with this fraction or more; 0 = never */
    int cancelled_at;     /* the call that returned 1 (0: none) */
    int bad_user;         /* the user data was not this recorder */
    int decreasing;       /* a fraction below the one before */
    int out_of_range;
    double last;
    double *fractions;    /* MAX_CALLS */
} recorder;

static recorder *the_recorder;

static int record(double fraction, void *user)
{
    recorder *r = user;
    if (r != the_recorder)
        r->bad_user = 1;
    if (!(fraction >= 0.0 && fraction <= 1.0))
        r->out_of_range = 1;
    if (r->calls > 0 && fraction < r->last)
        r->decreasing = 1;
    if (r->calls < MAX_CALLS)
        r->fractions[r->calls] = fraction;
    r->last = fraction;
    r->calls++;
    int stop = (r->cancel_at > 0 && r->calls == r->cancel_at) ||
               (r->cancel_from > 0.0 && fraction >= r->cancel_from && !r->cancelled_at);
    if (stop)
        r->cancelled_at = r->calls;
    return stop;
}

static void recorder_reset(recorder *r, int cancel_at)
{
    r->calls = 0;
    r->cancel_at = cancel_at;
    r->cancel_from = 0.0;
    r->cancelled_at = 0;
    r->bad_user = r->decreasing = r->out_of_range = 0;
    r->last = -1.0;
}

/* A scenario: one call of the engine and what it gives, compared bit for bit. */
typedef enum kind { FORWARD, BACKWARD, EXPLAIN } kind;

typedef struct scenario {
    const char *what;
    kind kind;
    cam_method method;
    int layer_list;       /* explain the layers of layers[] with aug_smooth */
    int planned;          /* cam_workspace_new_for_explain instead of cam_workspace_new */
    int n;                /* forward: images */
} scenario;

typedef struct result {
    float *values;
    size_t n;
} result;

static cam_model *model;
static float *input;      /* 2 images */
static char layer_name[64], early_name[64];
static const char *layers[3];

static cam_explain_options options_of(const scenario *s)
{
    cam_explain_options opt = cam_explain_options_default(model);
    opt.method = s->method;
    opt.layer = layer_name;
    opt.class_index = 2;
    opt.seed = 5;
    if (s->layer_list) {
        opt.layers = layers;
        opt.aug_smooth = 1;
    }
    return opt;
}

static cam_workspace *workspace_for(const scenario *s)
{
    cam_error err = {0};
    cam_workspace *ws = NULL;
    cam_explain_options opt = options_of(s);
    if (s->planned)
        CHECK_OK(cam_workspace_new_for_explain(model, 2, &opt, &ws, &err));
    else
        CHECK_OK(cam_workspace_new(model, 2, &ws, &err));
    return ws;
}

/* Runs the scenario's call on ws; its status, and the result in *res (freed by the
 * caller) when it is CAM_OK. A backward runs on the forward that ws holds. */
static cam_status run(const scenario *s, cam_workspace *ws, result *res, cam_error *err)
{
    const int k = cam_model_n_classes(model);
    res->values = NULL;
    res->n = 0;
    if (s->kind == FORWARD) {
        res->n = (size_t)2 * s->n * k;
        res->values = calloc(res->n, sizeof(float));
        cam_status st = cam_forward(ws, input, s->n, res->values, res->values + (size_t)s->n * k,
                                    err);
        if (st != CAM_OK) {
            free(res->values);
            res->values = NULL;
        }
        return st;
    }
    if (s->kind == BACKWARD) {
        res->n = 4 * 8 * 8; /* the first conv's output */
        res->values = calloc(res->n, sizeof(float));
        cam_status st = cam_backward(ws, 0, 3, CAM_SCORE_LOGIT, early_name, res->values, err);
        if (st != CAM_OK) {
            free(res->values);
            res->values = NULL;
        }
        return st;
    }
    cam_explain_options opt = options_of(s);
    cam_explanation *ex = (cam_explanation *)&opt; /* must be set to NULL on failure */
    cam_status st = cam_explain(ws, input, &opt, &ex, err);
    if (st != CAM_OK) {
        CHECK(ex == NULL);
        return st;
    }
    res->n = (size_t)ex->map_height * ex->map_width + (size_t)ex->n_classes + 1;
    res->values = malloc(res->n * sizeof(float));
    memcpy(res->values, ex->map, (size_t)ex->map_height * ex->map_width * sizeof(float));
    memcpy(res->values + (size_t)ex->map_height * ex->map_width, ex->probabilities,
           (size_t)ex->n_classes * sizeof(float));
    res->values[res->n - 1] = (float)ex->class_index;
    cam_explanation_free(ex);
    return st;
}

static int same(const result *a, const result *b)
{
    return a->values && b->values && a->n == b->n &&
           memcmp(a->values, b->values, a->n * sizeof(float)) == 0;
}

static int count_distinct(const double *f, int n)
{
    int d = n > 0;
    for (int i = 1; i < n; i++)
        d += f[i] != f[i - 1];
    return d;
}

static const char *function_of(kind k)
{
    return k == FORWARD ? "cam_forward" : k == BACKWARD ? "cam_backward" : "cam_explain";
}

static void check_scenario(const scenario *s, recorder *r)
{
    cam_error err = {0};
    fprintf(stderr, "-- %s\n", s->what);
    /* the reference: a workspace that never has a callback */
    cam_workspace *ref_ws = workspace_for(s);
    result want;
    if (s->kind == BACKWARD)
        CHECK_OK(cam_forward(ref_ws, input, 1, NULL, NULL, &err));
    CHECK_OK(run(s, ref_ws, &want, &err));

    cam_workspace *ws = workspace_for(s);
    cam_workspace_set_progress(ws, record, r);
    if (s->kind == BACKWARD) { /* the forward's reports are not the backward's */
        cam_workspace_set_progress(ws, NULL, NULL);
        CHECK_OK(cam_forward(ws, input, 1, NULL, NULL, &err));
        cam_workspace_set_progress(ws, record, r);
    }
    recorder_reset(r, 0);
    result got;
    CHECK_OK(run(s, ws, &got, &err));
    CHECK(same(&got, &want)); /* reports change nothing */
    const int total = r->calls;
    fprintf(stderr, "   %d reports\n", total);
    CHECK(total >= 1);
    CHECK(!r->bad_user && !r->decreasing && !r->out_of_range);
    CHECK(r->last == 1.0);
    CHECK(total < MAX_CALLS);
    if (total < 1 || total >= MAX_CALLS) {
        free(want.values);
        free(got.values);
        cam_workspace_free(ws);
        cam_workspace_free(ref_ws);
        return;
    }
    /* per node: at least one report per layer of the network */
    if (s->kind == FORWARD)
        CHECK(total >= 5 * s->n);
    if (s->method == CAM_METHOD_SCORE_CAM && s->kind == EXPLAIN) {
        /* 6 channels of layer 4: at least one step per pass, and the passes spread over
         * the method's share (the fraction half-way through the calls is between 0.3 and 0.7) */
        CHECK(count_distinct(r->fractions, total) >= 6 + 1);
        double mid = r->fractions[total / 2];
        CHECK(mid > 0.3 && mid < 0.7);
        if (!(mid > 0.3 && mid < 0.7))
            fprintf(stderr, "score-cam: fraction %g at call %d of %d\n", mid, total / 2, total);
    }
    if (s->method == CAM_METHOD_SMOOTH_GRAD_CAM_PLUS_PLUS && !s->layer_list) {
        double mid = r->fractions[total / 2];
        CHECK(mid > 0.25 && mid < 0.75);
        CHECK(count_distinct(r->fractions, total) >= total * 3 / 4);
    }
    free(got.values);

    /* cancel at the N-th call, then the same workspace without cancelling */
    const int at[] = {1, 2, total / 2, total - 1, total};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        const int n = at[i];
        if (n < 1 || (i > 0 && n <= at[i - 1]))
            continue;
        recorder_reset(r, n);
        memset(&err, 0, sizeof err);
        cam_status st = run(s, ws, &got, &err);
        CHECK(st == CAM_STATUS_CANCELLED);
        CHECK(err.status == CAM_STATUS_CANCELLED);
        CHECK(got.values == NULL);
        CHECK(r->calls == n); /* not called again after it said stop */
        CHECK(strstr(err.message, function_of(s->kind)) == err.message);
        CHECK(strstr(err.message, "cancelled") != NULL);
        if (st != CAM_STATUS_CANCELLED || r->calls != n)
            fprintf(stderr, "%s: cancel at %d of %d: status %d, %d calls: %s\n", s->what, n,
                    total, (int)st, r->calls, err.message);
        free(got.values);
        float grad[4 * 8 * 8];
        if (s->kind == BACKWARD) {
            /* the forward pass is still there */
            CHECK(cam_backward(ws, 0, 3, CAM_SCORE_LOGIT, early_name, grad, NULL) !=
                  CAM_STATUS_CANCELLED);
        } else {
            /* no forward pass is left */
            cam_workspace_set_progress(ws, NULL, NULL);
            CHECK(cam_backward(ws, 0, 3, CAM_SCORE_LOGIT, early_name, grad, NULL) ==
                  CAM_ERROR_INVALID_ARGUMENT);
            cam_workspace_set_progress(ws, record, r);
        }
        recorder_reset(r, 0);
        CHECK_OK(run(s, ws, &got, &err));
        CHECK(same(&got, &want));
        CHECK(r->calls == total);
        free(got.values);
    }
    free(want.values);
    cam_workspace_free(ws);
    cam_workspace_free(ref_ws);
}

/* The perturbation methods with their passes side by side (2 lanes: 2 threads):
 * only the calling thread reports, so how many reports a call makes depends on
 * how the threads share the passes. Still: the fraction never decreases and ends
 * at 1, the results are bit-identical to one thread's, and a cancel -- at the
 * first or second report (the forward pass, before the passes), or at the first
 * report at half the work or more (during the passes, or at the latest the final
 * report) -- stops the call, which makes no further report, and leaves the
 * workspace as good as new. */
static void check_lanes(const scenario *s, recorder *r)
{
    cam_error err = {0};
    fprintf(stderr, "-- %s, 2 lanes\n", s->what);
    cam_set_blas_threads(1);
    cam_workspace *ref_ws = workspace_for(s);
    result want, got;
    CHECK_OK(run(s, ref_ws, &want, &err));
    cam_set_blas_threads(2);
    cam_workspace *ws = workspace_for(s);
    cam_workspace_set_progress(ws, record, r);
    for (int round = 0; round < 4; round++) {
        recorder_reset(r, round == 0 ? 1 : round == 1 ? 2 : 0);
        if (round == 2)
            r->cancel_from = 0.5;
        memset(&err, 0, sizeof err);
        cam_status st = run(s, ws, &got, &err);
        if (round < 3) {
            CHECK(st == CAM_STATUS_CANCELLED);
            CHECK(got.values == NULL);
            CHECK(r->cancelled_at >= 1 && r->calls == r->cancelled_at);
            if (round == 2)
                CHECK(r->last >= 0.5);
            if (st != CAM_STATUS_CANCELLED || r->calls != r->cancelled_at)
                fprintf(stderr, "round %d: status %d, %d calls, cancelled at %d: %s\n", round,
                        (int)st, r->calls, r->cancelled_at, err.message);
        } else {
            CHECK_OK(st);
            CHECK(same(&got, &want));
            CHECK(r->calls >= 2 && r->last == 1.0);
            fprintf(stderr, "   %d reports\n", r->calls);
        }
        CHECK(!r->bad_user && !r->decreasing && !r->out_of_range);
        free(got.values);
    }
    free(want.values);
    cam_workspace_free(ws);
    cam_workspace_free(ref_ws);
    cam_set_blas_threads(1);
}

/* The executor's step hook, set directly: stops at call stop_at. */
static int step_calls, step_stop_at;

static int counting_step(void *user, long done, long total)
{
    (void)user;
    CHECK(done >= 1 && done <= total);
    return ++step_calls >= step_stop_at;
}

static void check_executor_stops(void)
{
    cam_error err = {0};
    cam_workspace *ws = NULL;
    CHECK_OK(cam_workspace_new(model, 2, &ws, &err));
    if (!ws)
        return;
    float grad[4 * 8 * 8];
    cam_explain_options opt = cam_explain_options_default(model);
    opt.method = CAM_METHOD_SCORE_CAM;
    opt.layer = layer_name;
    for (int what = 0; what < 3; what++)
        for (int at = 1; at <= 3; at++) {
            cam_executor_set_step(ws->exec, NULL, NULL);
            CHECK_OK(cam_forward(ws, input, 1, NULL, NULL, &err));
            step_calls = 0;
            step_stop_at = what == 2 ? 10 + at : at; /* Score-CAM: inside its passes */
            cam_executor_set_step(ws->exec, counting_step, NULL);
            cam_status st;
            cam_explanation *ex = NULL;
            if (what == 0)
                st = cam_forward(ws, input, 2, NULL, NULL, &err);
            else if (what == 1)
                st = cam_backward(ws, 0, 1, CAM_SCORE_LOGIT, early_name, grad, &err);
            else
                st = cam_explain(ws, input, &opt, &ex, &err);
            CHECK(st == CAM_STATUS_CANCELLED);
            CHECK(ex == NULL);
            CHECK(step_calls == step_stop_at);
            if (step_calls != step_stop_at)
                fprintf(stderr, "executor: case %d: %d steps after a stop at %d\n", what,
                        step_calls, step_stop_at);
        }
    cam_workspace_free(ws);
}

int main(void)
{
    model = test_net_model(NET_C, NET_H, NET_W, net, NET_N, 7, 0, NULL);
    test_net_tensor_name(net, 4, 0, layer_name, sizeof layer_name);
    test_net_tensor_name(net, 0, 0, early_name, sizeof early_name);
    layers[0] = layer_name;
    layers[1] = early_name;
    layers[2] = NULL;
    const size_t in_size = cam_model_input_size(model);
    input = malloc(2 * in_size * sizeof *input);
    unsigned long long state = 99;
    for (size_t i = 0; i < 2 * in_size; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        input[i] = (float)((state >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
    }
    recorder r = {0};
    r.fractions = malloc(MAX_CALLS * sizeof *r.fractions);
    the_recorder = &r;

    static const scenario scenarios[] = {
        {"forward, 1 image", FORWARD, CAM_METHOD_GRAD_CAM, 0, 0, 1},
        {"forward, 2 images", FORWARD, CAM_METHOD_GRAD_CAM, 0, 0, 2},
        {"backward", BACKWARD, CAM_METHOD_GRAD_CAM, 0, 0, 1},
        {"grad-cam", EXPLAIN, CAM_METHOD_GRAD_CAM, 0, 0, 1},
        {"grad-cam, planned workspace", EXPLAIN, CAM_METHOD_GRAD_CAM, 0, 1, 1},
        {"score-cam", EXPLAIN, CAM_METHOD_SCORE_CAM, 0, 0, 1},
        {"score-cam, planned workspace", EXPLAIN, CAM_METHOD_SCORE_CAM, 0, 1, 1},
        {"ablation-cam", EXPLAIN, CAM_METHOD_ABLATION_CAM, 0, 0, 1},
        {"smooth-grad-cam++", EXPLAIN, CAM_METHOD_SMOOTH_GRAD_CAM_PLUS_PLUS, 0, 0, 1},
        {"grad-cam, two layers, aug_smooth", EXPLAIN, CAM_METHOD_GRAD_CAM, 1, 0, 1},
        {"score-cam, two layers, aug_smooth", EXPLAIN, CAM_METHOD_SCORE_CAM, 1, 1, 1},
    };
    /* One thread: every node run is reported from the calling thread, so a call
     * makes the same reports every time (the perturbation methods' passes run side
     * by side on more threads: check_lanes below). */
    cam_set_blas_threads(1);
    int forward_calls[3] = {0};
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        check_scenario(&scenarios[i], &r);
        if (scenarios[i].kind == FORWARD) { /* total of the first, uncancelled run */
            cam_error err = {0};
            cam_workspace *ws = workspace_for(&scenarios[i]);
            cam_workspace_set_progress(ws, record, &r);
            recorder_reset(&r, 0);
            CHECK_OK(cam_forward(ws, input, scenarios[i].n, NULL, NULL, &err));
            forward_calls[scenarios[i].n] = r.calls;
            cam_workspace_free(ws);
        }
    }
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        if (scenarios[i].method == CAM_METHOD_SCORE_CAM ||
            scenarios[i].method == CAM_METHOD_ABLATION_CAM)
            check_lanes(&scenarios[i], &r);
    check_executor_stops();
    /* one report per node and image */
    CHECK(forward_calls[2] == 2 * forward_calls[1]);

    /* bad arguments: a NULL workspace is ignored; argument errors are not cancels */
    cam_workspace_set_progress(NULL, record, &r);
    {
        cam_error err = {0};
        cam_workspace *ws = NULL;
        CHECK_OK(cam_workspace_new(model, 1, &ws, &err));
        cam_workspace_set_progress(ws, record, &r);
        recorder_reset(&r, 1);
        CHECK(cam_forward(ws, input, 2, NULL, NULL, &err) == CAM_ERROR_INVALID_ARGUMENT);
        CHECK(r.calls == 0);
        cam_workspace_free(ws);
    }
    CHECK(strcmp(cam_status_name(CAM_STATUS_CANCELLED), "cancelled") == 0);

    free(r.fractions);
    free(input);
    cam_model_free(model);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("progress: all passed\n");
    return 0;
}
