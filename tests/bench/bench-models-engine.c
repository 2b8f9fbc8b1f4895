/*
 * bench-models-engine.c -- the engine's side of tests/bench/bench_models.py
 * (ImageNet-size models: issue 14). Not a test: it prints RESULT lines that
 * the driver puts beside ONNX Runtime and PyTorch, and asserts nothing.
 *
 *     bench-models-engine time MODEL.onnx REPEATS   load time, per-image latency of
 *                                                  forward, Grad-CAM and CAM (where the
 *                                                  model has the CAM structure) with 1
 *                                                  and with 2 OpenBLAS threads, and
 *                                                  Grad-CAM throughput with 2 workers
 *     bench-models-engine peak MODEL.onnx          peak resident memory (VmHWM) of a
 *                                                  process that loads the model and
 *                                                  makes one Grad-CAM (the workspace of
 *                                                  cam_workspace_new_for_explain)
 *     bench-models-engine sgemm M N K THREADS      OpenBLAS sgemm GFLOP/s on that shape
 *     bench-models-engine scaling MODEL.onnx ROUNDS
 *                                                  forward passes at 1 and 2 threads, in
 *                                                  the planned workspace (for Grad-CAM)
 *                                                  and in one that keeps every tensor,
 *                                                  timed in alternation in one process
 *                                                  (a drifting host moves all four alike):
 *                                                  medians and the 1/2-thread speed-ups
 *
 * Latency: the median of REPEATS single-image calls after 3 warm-up calls, on
 * a fixed pseudo-random input (values in [0, 1); speed does not depend on the
 * values). Load: the best of 3 loads.
 */
#include "bench-util.h"
#include "camengine.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static float *make_input(const cam_model *model, int n)
{
    size_t size = cam_model_input_size(model) * (size_t)n;
    float *x = malloc(size * sizeof *x);
    unsigned s = 12345;
    for (size_t i = 0; x && i < size; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)((s >> 16) & 0x7fff) / 32768.0f;
    }
    return x;
}

static int fail(const char *what, const cam_error *err)
{
    fprintf(stderr, "bench-models-engine: %s: %s\n", what, err->message);
    return 1;
}

/* Median ms of one call: method < 0 = forward only. */
static double latency(const cam_model *model, const float *x, int method, int repeats)
{
    cam_error err;
    cam_explain_options opt = cam_explain_options_default(model);
    if (method >= 0)
        opt.method = (cam_method)method;
    cam_workspace *ws = NULL;
    if (cam_workspace_new_for_explain(model, 1, &opt, &ws, &err) != CAM_OK) {
        fail("workspace", &err);
        return NAN;
    }
    double *t = malloc((size_t)repeats * sizeof *t), median = NAN;
    for (int i = -3; t && i < repeats; i++) {
        cam_explanation *ex = NULL;
        double t0 = bench_now();
        cam_status s = method < 0 ? cam_forward(ws, x, 1, NULL, NULL, &err)
                                  : cam_explain(ws, x, &opt, &ex, &err);
        double dt = bench_now() - t0;
        cam_explanation_free(ex);
        if (s != CAM_OK) {
            fail("run", &err);
            goto out;
        }
        if (i >= 0)
            t[i] = dt;
    }
    if (t) {
        qsort(t, (size_t)repeats, sizeof *t, bench_compare_double);
        median = 1e3 * t[repeats / 2];
    }
out:
    free(t);
    cam_workspace_free(ws);
    return median;
}

typedef struct worker {
    const cam_model *model;
    const float *x;
    int count, ok;
} worker;

static void *gradcam_worker(void *arg)
{
    worker *w = arg;
    cam_error err;
    cam_explain_options opt = cam_explain_options_default(w->model);
    opt.method = CAM_METHOD_GRAD_CAM;
    cam_workspace *ws = NULL;
    w->ok = cam_workspace_new_for_explain(w->model, 1, &opt, &ws, &err) == CAM_OK;
    for (int i = 0; w->ok && i < w->count; i++) {
        cam_explanation *ex = NULL;
        w->ok = cam_explain(ws, w->x, &opt, &ex, &err) == CAM_OK;
        cam_explanation_free(ex);
    }
    cam_workspace_free(ws);
    return NULL;
}

static int run_time(const char *path, int repeats)
{
    cam_error err;
    cam_model *model = NULL;
    double best = INFINITY;
    for (int i = 0; i < 3; i++) {
        cam_model_free(model);
        model = NULL;
        double t0 = bench_now();
        if (cam_model_load(path, &model, &err) != CAM_OK)
            return fail(path, &err);
        double dt = bench_now() - t0;
        best = dt < best ? dt : best;
    }
    printf("RESULT load_ms %.1f\n", best * 1e3);
    printf("RESULT layer %s\n", cam_model_auto_layer(model) ? cam_model_auto_layer(model) : "-");
    float *x = make_input(model, 1);
    if (!x)
        return 1;
    for (int threads = 1; threads <= 2; threads++) {
        cam_set_blas_threads(threads);
        printf("RESULT forward_%d %.3f\n", threads, latency(model, x, -1, repeats));
        printf("RESULT gradcam_%d %.3f\n", threads, latency(model, x, CAM_METHOD_GRAD_CAM, repeats));
        if (cam_model_supports_cam(model))
            printf("RESULT cam_%d %.3f\n", threads, latency(model, x, CAM_METHOD_CAM, repeats));
        fflush(stdout);
    }
    /* throughput: 2 workers, one OpenBLAS thread each */
    cam_set_blas_threads(1);
    worker w[2];
    pthread_t th[2];
    double t0 = bench_now();
    for (int i = 0; i < 2; i++) {
        w[i] = (worker){model, x, repeats, 0};
        pthread_create(&th[i], NULL, gradcam_worker, &w[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    double dt = bench_now() - t0;
    if (w[0].ok && w[1].ok)
        printf("RESULT gradcam_throughput %.2f\n", 2.0 * repeats / dt);
    free(x);
    cam_model_free(model);
    return 0;
}

/* The model at path and Grad-CAM options for it; 0, or 1 after a message. */
static int load_for_gradcam(const char *path, cam_model **model, cam_explain_options *opt)
{
    cam_error err;
    *model = NULL;
    if (cam_model_load(path, model, &err) != CAM_OK)
        return fail(path, &err);
    *opt = cam_explain_options_default(*model);
    opt->method = CAM_METHOD_GRAD_CAM;
    return 0;
}

static int run_peak(const char *path)
{
    cam_error err;
    cam_model *model;
    cam_explain_options opt;
    if (load_for_gradcam(path, &model, &opt))
        return 1;
    cam_workspace *ws = NULL;
    if (cam_workspace_new_for_explain(model, 1, &opt, &ws, &err) != CAM_OK)
        return fail("workspace", &err);
    float *x = make_input(model, 1);
    cam_explanation *ex = NULL;
    if (!x || cam_explain(ws, x, &opt, &ex, &err) != CAM_OK)
        return fail("explain", &err);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            printf("RESULT peak_mb %.1f\n", atof(line + 6) / 1024.0);
    if (f)
        fclose(f);
    cam_explanation_free(ex);
    free(x);
    cam_workspace_free(ws);
    cam_model_free(model);
    return 0;
}

static int run_sgemm(int m, int n, int k, int threads)
{
    double rate = bench_sgemm_gflops(m, n, k, threads);
    if (isnan(rate))
        return 1;
    printf("RESULT sgemm_gflops %.2f\n", rate);
    return 0;
}

/* The four forward set-ups of `scaling`, round-robin, so that they share the
 * host's drift; wall-clock medians. */
static int run_scaling(const char *path, int rounds)
{
    cam_error err;
    cam_model *model;
    cam_explain_options opt;
    if (load_for_gradcam(path, &model, &opt))
        return 1;
    cam_workspace *ws[2] = {NULL, NULL};
    if (cam_workspace_new_for_explain(model, 1, &opt, &ws[0], &err) != CAM_OK ||
        cam_workspace_new(model, 1, &ws[1], &err) != CAM_OK)
        return fail("workspace", &err);
    float *x = make_input(model, 1);
    double *t = calloc((size_t)rounds * 4, sizeof *t);
    int status = 0;
    for (int r = -2; x && t && r < rounds && !status; r++)
        for (int j = 0; j < 4; j++) {
            const int k = (j + (r > 0 ? r : 0)) % 4; /* rotate the order too */
            cam_set_blas_threads(1 + (k & 1));
            const double t0 = bench_now();
            if (cam_forward(ws[k >> 1], x, 1, NULL, NULL, &err) != CAM_OK) {
                status = fail("forward", &err);
                break;
            }
            if (r >= 0)
                t[(size_t)k * rounds + r] = bench_now() - t0;
        }
    const char *name[2] = {"planned", "all_kept"};
    double med[4] = {0};
    for (int k = 0; t && !status && k < 4; k++) {
        qsort(t + (size_t)k * rounds, (size_t)rounds, sizeof *t, bench_compare_double);
        med[k] = 1e3 * t[(size_t)k * rounds + rounds / 2];
        printf("RESULT %s_forward_%d %.3f\n", name[k >> 1], 1 + (k & 1), med[k]);
    }
    for (int w = 0; t && !status && w < 2; w++)
        printf("RESULT %s_speedup_2 %.3f\n", name[w], med[2 * w] / med[2 * w + 1]);
    free(t);
    free(x);
    cam_workspace_free(ws[0]);
    cam_workspace_free(ws[1]);
    cam_model_free(model);
    return status || !x;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "time") == 0)
        return run_time(argv[2], atoi(argv[3]) > 0 ? atoi(argv[3]) : 10);
    if (argc == 3 && strcmp(argv[1], "peak") == 0)
        return run_peak(argv[2]);
    if (argc == 4 && strcmp(argv[1], "scaling") == 0)
        return run_scaling(argv[2], atoi(argv[3]) > 0 ? atoi(argv[3]) : 10);
    if (argc == 6 && strcmp(argv[1], "sgemm") == 0)
        return run_sgemm(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    fprintf(stderr,
            "usage: %s time MODEL.onnx REPEATS | peak MODEL.onnx | sgemm M N K THREADS | "
            "scaling MODEL.onnx ROUNDS\n",
            argv[0]);
    return 2;
}
