/*
 * bench-engine.c -- the engine against PyTorch at its best, and against this
 * machine's compute floor, in one run (issue 3, item 8). Not a test: no timing is
 * asserted; it prints a table.
 *
 *     bench-engine [--markdown FILE]
 *     CAM_BENCH_FULL=1 bench-engine      (full mode: all 10,000 test images)
 *
 * 1. PyTorch: runs `python3 tests/bench/bench_torch.py` on the same ONNX files
 *    (weights/fashion-mnist.onnx and weights/cifar10.onnx; fixed-seed random weights of
 *    the same architectures when those are missing) and reads its RESULT lines:
 *    per-image latency of forward, CAM and Grad-CAM (parameters frozen, only the head
 *    differentiated, warm-up, best of 1/2/all threads) and full Grad-CAM throughput at
 *    its best thread count and batch size; the networks' multiply-adds.
 * 2. sgemm: this machine's OpenBLAS sgemm rate on the shapes of the main convolutions
 *    (im2col GEMMs), with one thread and with all threads.
 * 3. The engine: per-image latency (median of REPEATS calls after warm-up, the better
 *    of 1 and all OpenBLAS threads), and full Grad-CAM throughput over the test images (best of 3 passes)
 *    with one workspace per core and cam_set_blas_threads(1).
 * 4. The floor: multiply-adds x 2 / sgemm rate at the thread count the engine used
 *    (Grad-CAM adds the head's multiply-adds, which its backward repeats).
 * Short mode (default) uses the first 1,000 test images; CAM_BENCH_FULL=1 all 10,000.
 */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"
#include "camengine.h"
#include "test-datasets.h"

#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR "."
#endif
#ifndef BENCH_BUILD_DIR
#define BENCH_BUILD_DIR "."
#endif

#define MAX_RESULTS 128
#define MAX_THREADS 64

typedef struct result {
    char network[32], key[64], value[128];
} result;

static result results[MAX_RESULTS];
static int n_results;

static const char *
torch_value(const char *network, const char *key)
{
    for (int i = 0; i < n_results; i++)
        if (strcmp(results[i].network, network) == 0 && strcmp(results[i].key, key) == 0)
            return results[i].value;
    return NULL;
}

static double
torch_number(const char *network, const char *key)
{
    const char *v = torch_value(network, key);
    return v ? atof(v) : NAN;
}

/* ---------------------------------------------------------------------- */
/* The engine                                                             */
/* ---------------------------------------------------------------------- */

typedef struct images {
    int n;
    size_t size;
    float *data;
    int official;
} images;

static images
load_images(const char *network, const cam_model *model, int count)
{
    images im = {0};
    test_dataset d;
    const char *dir = test_data_dir();
    const cam_model_info *info = cam_model_get_info(model);
    int channels = cam_model_input_channels(model);
    im.size = cam_model_input_size(model);
    im.n = count;
    im.data = malloc(sizeof(float) * im.size * (size_t) count);
    if (dir && test_dataset_load_test_set(network, dir, &d, NULL, 0) == 1 && d.n >= count
        && (size_t) d.channels * d.height * d.width == im.size) {
        size_t plane = im.size / (size_t) channels;
        for (size_t i = 0; i < im.size * (size_t) count; i++) {
            int c = (int) ((i % im.size) / plane) % 4;
            float std = info->input_std[c] != 0.0f ? info->input_std[c] : 1.0f;
            im.data[i] = (d.pixels[i] * info->input_scale - info->input_mean[c]) / std;
        }
        im.official = 1;
        test_dataset_free(&d);
    } else {
        unsigned s = 12345;
        for (size_t i = 0; i < im.size * (size_t) count; i++) {
            s = s * 1103515245u + 12345u;
            im.data[i] = (float) ((s >> 16) & 0x7fff) / 32767.0f;
        }
    }
    return im;
}

typedef enum what { FORWARD, CAM, GRAD_CAM } what;

/* Median milliseconds per image of one call, one image at a time. */
static double
engine_latency(const cam_model *model, const images *im, what w, const char *layer, int repeats)
{
    cam_error err;
    cam_workspace *ws = NULL;
    cam_workspace_new(model, 1, &ws, &err);
    int n_classes = cam_model_n_classes(model);
    float *probs = malloc(sizeof(float) * (size_t) n_classes);
    double *times = malloc(sizeof(double) * (size_t) repeats), median = NAN;
    cam_explain_options opt = cam_explain_options_default(model);
    opt.method = w == CAM ? CAM_METHOD_CAM : CAM_METHOD_GRAD_CAM;
    opt.class_index = -1;
    opt.layer = layer;
    if (!ws) {
        fprintf(stderr, "bench: cam_workspace_new: %s\n", err.message);
        goto out;
    }
    for (int i = -repeats / 5 - 10; i < repeats; i++) {
        const float *x = im->data + (size_t) ((i + repeats) % im->n) * im->size;
        cam_explanation *ex = NULL;
        double t0 = bench_now();
        cam_status st = w == FORWARD ? cam_forward(ws, x, 1, probs, NULL, &err)
                                     : cam_explain(ws, x, &opt, &ex, &err);
        double t = bench_now() - t0;
        cam_explanation_free(ex);
        if (st != CAM_OK) {
            fprintf(stderr, "bench: %s\n", err.message);
            goto out;
        }
        if (i >= 0)
            times[i] = t;
    }
    qsort(times, (size_t) repeats, sizeof *times, bench_compare_double);
    median = 1e3 * times[repeats / 2];
out:
    free(times);
    free(probs);
    cam_workspace_free(ws);
    return median;
}

typedef struct job {
    const cam_model *model;
    const images *im;
    const char *layer;
    int first, last;
    int ok;
    float checksum;
} job;

static void *
gradcam_job(void *arg)
{
    job *j = arg;
    cam_error err;
    cam_workspace *ws = NULL;
    cam_workspace_new(j->model, 1, &ws, &err);
    cam_explain_options opt = cam_explain_options_default(j->model);
    opt.method = CAM_METHOD_GRAD_CAM;
    opt.class_index = -1;
    opt.layer = j->layer;
    j->ok = ws != NULL;
    for (int i = j->first; j->ok && i < j->last; i++) {
        cam_explanation *ex = NULL;
        if (cam_explain(ws, j->im->data + (size_t) i * j->im->size, &opt, &ex, &err) != CAM_OK) {
            fprintf(stderr, "bench: %s\n", err.message);
            j->ok = 0;
        } else {
            j->checksum += ex->map[0];
        }
        cam_explanation_free(ex);
    }
    cam_workspace_free(ws);
    return NULL;
}

/* Images per second of full Grad-CAM (forward, backward, map) over all images. */
static double
engine_throughput(const cam_model *model, const images *im, const char *layer, int n_threads)
{
    job jobs[MAX_THREADS];
    pthread_t threads[MAX_THREADS];
    double t0;
    int ok = 1;
    cam_set_blas_threads(1);
    t0 = bench_now();
    for (int t = 0; t < n_threads; t++) {
        jobs[t] = (job){model, im, layer, (int) ((long) im->n * t / n_threads),
                        (int) ((long) im->n * (t + 1) / n_threads), 0, 0.0f};
        pthread_create(&threads[t], NULL, gradcam_job, &jobs[t]);
    }
    for (int t = 0; t < n_threads; t++) {
        pthread_join(threads[t], NULL);
        ok &= jobs[t].ok;
    }
    return ok ? im->n / (bench_now() - t0) : NAN;
}

/* ---------------------------------------------------------------------- */
/* Output                                                                 */
/* ---------------------------------------------------------------------- */

static FILE *markdown;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (markdown) {
        va_start(ap, fmt);
        vfprintf(markdown, fmt, ap);
        va_end(ap);
    }
}

static void
row(const char *network, const char *measure, double engine_ms, const char *engine_setting,
    double torch_ms, const char *torch_setting, double floor_ms)
{
    char e[32], p[32], f[32], rp[32], rf[32];
    snprintf(e, sizeof e, "%.3f ms", engine_ms);
    snprintf(p, sizeof p, isnan(torch_ms) ? "n/a" : "%.3f ms", torch_ms);
    snprintf(f, sizeof f, "%.3f ms", floor_ms);
    snprintf(rp, sizeof rp, isnan(torch_ms) ? "n/a" : "%.2f", engine_ms / torch_ms);
    snprintf(rf, sizeof rf, "%.2f", engine_ms / floor_ms);
    out("| %s | %s | %s (%s) | %s (%s) | %s | %s | %s |\n", network, measure, e, engine_setting, p,
        torch_setting ? torch_setting : "-", rp, f, rf);
}

int
main(int argc, char **argv)
{
    static const char *const networks[2] = {"fashion-mnist", "cifar10"};
    static const char *const layers[2] = {"conv2d_3", "conv2d_8"};
    static const double known_macs[2] = {2584064, 54024704}, known_head[2] = {1280, 10880};
    char paths[2][4096], cmd[16384], line[1024], export_dir[4096];
    const char *full = getenv("CAM_BENCH_FULL");
    int full_mode = full && *full && strcmp(full, "0") != 0;
    int n_images = full_mode ? 10000 : 1000, repeats = full_mode ? 200 : 60;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n_cores = cores < 1 ? 1 : cores > MAX_THREADS ? MAX_THREADS : (int) cores;
    double rate1, rate_all;
    FILE *py;
    const char *source_dir = getenv("CAM_SOURCE_DIR") ? getenv("CAM_SOURCE_DIR") : BENCH_SOURCE_DIR;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--markdown") == 0 && i + 1 < argc) {
            markdown = fopen(argv[++i], "w");
            if (!markdown) {
                fprintf(stderr, "bench: cannot write %s\n", argv[i]);
                return 1;
            }
        } else {
            fprintf(stderr, "usage: %s [--markdown FILE]   (CAM_BENCH_FULL=1: all 10,000 images)\n", argv[0]);
            return 2;
        }
    }

    /* 1. PyTorch first (nothing else running meanwhile). */
    snprintf(export_dir, sizeof export_dir, "%s/bench-models", BENCH_BUILD_DIR);
    {
        char mk[4200];
        snprintf(mk, sizeof mk, "mkdir -p '%s'", export_dir);
        if (system(mk) != 0)
            fprintf(stderr, "bench: cannot create %s\n", export_dir);
    }
    for (int n = 0; n < 2; n++) {
        char *found = NULL;
        if (cam_model_find(networks[n], &found, NULL) == CAM_OK && access(found, R_OK) == 0)
            snprintf(paths[n], sizeof paths[n], "%s", found);
        else
            snprintf(paths[n], sizeof paths[n], "random");
        free(found);
    }
    snprintf(cmd, sizeof cmd,
             "python3 '%s/tests/bench/bench_torch.py' --images %d --repeats %d --export '%s' "
             "fashion-mnist='%s' cifar10='%s'",
             source_dir, n_images, repeats, export_dir, paths[0], paths[1]);
    fprintf(stderr, "bench: %s\n", cmd);
    py = popen(cmd, "r");
    while (py && fgets(line, sizeof line, py)) {
        result *r = &results[n_results];
        char rest[256] = "";
        fputs(line, stderr);
        if (n_results < MAX_RESULTS
            && sscanf(line, "RESULT %31s %63s %255[^\n]", r->network, r->key, rest) == 3) {
            snprintf(r->value, sizeof r->value, "%s", rest);
            n_results++;
        }
    }
    if (!py || pclose(py) != 0)
        fprintf(stderr, "bench: the PyTorch side failed or is missing: its columns say n/a\n");
    for (int n = 0; n < 2; n++)
        if (strcmp(paths[n], "random") == 0) {
            const char *p = torch_value(networks[n], "exported");
            if (!p) {
                fprintf(stderr, "bench: no %s model (weights/%s.onnx missing and no PyTorch export)\n",
                        networks[n], networks[n]);
                return 1;
            }
            snprintf(paths[n], sizeof paths[n], "%s", p);
        }

    /* 2. sgemm: the im2col GEMM shapes of CIFAR-10's conv2d_1 and conv2d_2. */
    {
        double a1 = bench_sgemm_gflops(128, 900, 288, 1), b1 = bench_sgemm_gflops(64, 225, 1152, 1);
        double an = 0.0, bn = 0.0;
        /* OpenBLAS's threads spin-wait: on a busy machine one try can collapse. Take the
         * best of up to three tries (all-core rate below the one-thread rate = disturbed). */
        for (int attempt = 0; attempt < 3 && (an < a1 || bn < b1 || attempt == 0); attempt++) {
            double x = bench_sgemm_gflops(128, 900, 288, n_cores), y = bench_sgemm_gflops(64, 225, 1152, n_cores);
            an = x > an ? x : an;
            bn = y > bn ? y : bn;
        }
        rate1 = a1 > b1 ? a1 : b1;
        rate_all = an > bn ? an : bn;
        out("## Engine vs PyTorch vs compute floor\n\n");
        out("Mode: %s (%d images for throughput). Cores: %d. %s. PyTorch %s.\n\n",
            full_mode ? "full" : "short (CAM_BENCH_FULL=1 for all 10,000)", n_images, n_cores,
            cam_version_string(), torch_value("torch", "version") ? torch_value("torch", "version") : "n/a");
        out("sgemm (OpenBLAS, this run): 128x900x288 %.1f GFLOP/s (1 thread), %.1f (%d threads); "
            "64x225x1152 %.1f (1 thread), %.1f (%d threads). Floors use the better shape: "
            "%.1f GFLOP/s on 1 thread, %.1f on %d.\n\n",
            a1, an, n_cores, b1, bn, n_cores, rate1, rate_all, n_cores);
    }

    out("Times are per image (latency: median of %d single-image calls; throughput: 1 / images "
        "per second, the best of 3 passes over all images). Ratios are engine time / PyTorch time and engine time / floor time "
        "(below 1 = the engine is faster).\n\n", repeats);
    out("| network | measure | engine (threads) | PyTorch best (setting) | engine / PyTorch | "
        "floor | engine / floor |\n|---|---|---|---|---|---|---|\n");

    /* 3. The engine. */
    for (int n = 0; n < 2; n++) {
        cam_model *model = NULL;
        cam_error err;
        images im;
        double macs = torch_number(networks[n], "macs"), head = torch_number(networks[n], "head_macs");
        double ips, floor_ips;
        char setting[64];
        if (isnan(macs))
            macs = known_macs[n];
        if (isnan(head))
            head = known_head[n];
        if (cam_model_load(paths[n], &model, &err) != CAM_OK) {
            fprintf(stderr, "bench: %s\n", err.message);
            return 1;
        }
        im = load_images(networks[n], model, n_images);
        for (int w = FORWARD; w <= GRAD_CAM; w++) {
            static const char *const names[3] = {"forward", "CAM", "Grad-CAM"};
            static const char *const keys[3] = {"forward_ms", "cam_ms", "gradcam_ms"};
            char key[80], eng[64];
            double best = INFINITY, floor_ms = NAN, other_ms = NAN;
            int best_threads = 1;
            if (w == CAM && !cam_model_supports_cam(model))
                continue;
            /* 1 thread and all threads, each against the floor at its own thread
             * count; the row shows the better ratio and names the other time. */
            for (int t = 1; t <= n_cores; t = t == 1 && n_cores > 1 ? n_cores : n_cores + 1) {
                double ms, fl;
                cam_set_blas_threads(t);
                ms = engine_latency(model, &im, (what) w, layers[n], repeats);
                fl = 1e3 * 2.0 * (macs + (w == GRAD_CAM ? head : 0)) / ((t == 1 ? rate1 : rate_all) * 1e9);
                if (isinf(best) || ms / fl < best / floor_ms) {
                    other_ms = best;
                    best = ms;
                    floor_ms = fl;
                    best_threads = t;
                } else {
                    other_ms = ms;
                }
            }
            snprintf(key, sizeof key, "%s_setting", keys[w]);
            if (n_cores > 1 && !isnan(other_ms) && !isinf(other_ms))
                snprintf(eng, sizeof eng, "%d; %d: %.3f ms", best_threads,
                         best_threads == 1 ? n_cores : 1, other_ms);
            else
                snprintf(eng, sizeof eng, "%d", best_threads);
            snprintf(setting, sizeof setting, "%s thread%s", torch_value(networks[n], key) ? torch_value(networks[n], key) : "?",
                     torch_value(networks[n], key) && strcmp(torch_value(networks[n], key), "1") == 0 ? "" : "s");
            row(networks[n], names[w], best, eng, torch_number(networks[n], keys[w]), setting, floor_ms);
        }
        ips = 0.0; /* best of 3 passes over all images (PyTorch's side does the same) */
        for (int pass = 0; pass < 3; pass++) {
            double v = engine_throughput(model, &im, layers[n], n_cores);
            if (isnan(v)) {
                ips = v;
                break;
            }
            if (v > ips)
                ips = v;
        }
        floor_ips = rate_all * 1e9 / (2.0 * (macs + head));
        {
            char measure[64], eng[32];
            double torch_ips = torch_number(networks[n], "gradcam_ips");
            snprintf(measure, sizeof measure, "Grad-CAM throughput, %d images (%.0f/s)", im.n, ips);
            snprintf(eng, sizeof eng, "%d, 1 BLAS each", n_cores);
            snprintf(setting, sizeof setting, "%.0f/s, %s", torch_ips,
                     torch_value(networks[n], "gradcam_ips_setting") ? torch_value(networks[n], "gradcam_ips_setting") : "?");
            row(networks[n], measure, 1e3 / ips, eng, 1e3 / torch_ips, setting, 1e3 / floor_ips);
        }
        out("| %s | multiply-adds per image | %.2f M (+%.0f in the head, repeated by the Grad-CAM backward); "
            "%s images | | | | |\n", networks[n], macs / 1e6, head, im.official ? "official test" : "random");
        free(im.data);
        cam_model_free(model);
    }
    out("\nFloor = multiply-adds x 2 / sgemm rate at the engine's thread count (latency rows: the "
        "OpenBLAS threads of the run shown, 1 or all, whichever is nearer its own floor, the other "
        "run's time after the semicolon; throughput: all %d cores). PyTorch: parameters frozen, "
        "trunk under no_grad and only the head differentiated for Grad-CAM, warm-up, best of 1/2/all "
        "threads and (throughput) of batch sizes 16/64/256/1024.\n", n_cores);
    if (markdown)
        fclose(markdown);
    return 0;
}
