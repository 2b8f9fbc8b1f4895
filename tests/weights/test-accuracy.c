/*
 * test-accuracy.c -- the shipped networks, run by the engine over the full official
 * test sets.
 *
 *     test-accuracy NETWORK MIN_ACCURACY_PERCENT [--torch-predictions FILE MIN_AGREEMENT_PERCENT]
 *
 * NETWORK is fashion-mnist or cifar10; the model is $CAM_MODEL_DIR/NETWORK.onnx
 * (weights/ in the source tree). The test images come from $CAM_DATA_DIR, else
 * $CAM_DATA_DIR_DEFAULT, and are scaled as the model's metadata says
 * ((pixel * scale - mean) / std; Fashion-MNIST and CIFAR-10: pixel / 255, planar).
 * The engine runs on every core, one workspace per thread, batches of BATCH images.
 * Fails when the accuracy is below MIN_ACCURACY_PERCENT, or, with --torch-predictions
 * (one byte per image: PyTorch's predicted class, written by torch_predictions.py),
 * when fewer than MIN_AGREEMENT_PERCENT of the engine's predictions equal PyTorch's.
 * Exits 77 (SKIP) when the model file or the datasets are not there.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "camengine.h"
#include "test-datasets.h"

#define BATCH 50
#define MAX_THREADS 64

typedef struct job {
    const cam_model *model;
    const test_dataset *data;
    int first, last;    /* images [first, last) */
    unsigned char *predictions;
    cam_status status;
    cam_error err;
} job;

/* n images of `size` values (channels planes each) -> (pixel * scale - mean) / std */
static void
preprocess(const cam_model *model, const unsigned char *pixels, int n, size_t size, int channels,
           float *out)
{
    const cam_model_info *info = cam_model_get_info(model);
    size_t plane = size / (size_t) channels;
    for (size_t i = 0; i < size * (size_t) n; i++) {
        int c = (int) ((i % size) / plane);
        float std = info->input_std[c < 4 ? c : 0];
        out[i] = (pixels[i] * info->input_scale - info->input_mean[c < 4 ? c : 0]) / (std != 0.0f ? std : 1.0f);
    }
}

static void *
run_job(void *arg)
{
    job *j = arg;
    size_t size = cam_model_input_size(j->model);
    int n_classes = cam_model_n_classes(j->model);
    cam_workspace *ws = NULL;
    cam_workspace_new(j->model, BATCH, &ws, &j->err);
    float *input = malloc(size * BATCH * sizeof *input);
    float *probs = malloc((size_t) n_classes * BATCH * sizeof *probs);
    j->status = CAM_ERROR_NO_MEMORY;
    if (!ws || !input || !probs)
        goto out;
    for (int i = j->first; i < j->last; i += BATCH) {
        int n = j->last - i < BATCH ? j->last - i : BATCH;
        preprocess(j->model, j->data->pixels + (size_t) i * size, n, size, j->data->channels, input);
        j->status = cam_forward(ws, input, n, probs, NULL, &j->err);
        if (j->status != CAM_OK)
            goto out;
        for (int k = 0; k < n; k++) {
            int best = 0;
            for (int c = 1; c < n_classes; c++)
                if (probs[(size_t) k * n_classes + c] > probs[(size_t) k * n_classes + best])
                    best = c;
            j->predictions[i + k] = (unsigned char) best;
        }
    }
    j->status = CAM_OK;
out:
    free(input);
    free(probs);
    cam_workspace_free(ws);
    return NULL;
}

int
main(int argc, char **argv)
{
    const char *network, *model_dir, *data_dir, *torch_file = NULL;
    double min_accuracy, min_agreement = 100.0;
    char model_path[4096], why[1024];
    struct stat st;
    cam_model *model = NULL;
    cam_error err;
    test_dataset data;
    unsigned char *predictions;
    int n_threads, correct = 0, rc, n_classes;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    job jobs[MAX_THREADS];
    pthread_t threads[MAX_THREADS];
    struct timespec t0, t1;

    if (argc != 3 && !(argc == 6 && strcmp(argv[3], "--torch-predictions") == 0)) {
        fprintf(stderr, "usage: %s NETWORK MIN_ACCURACY [--torch-predictions FILE MIN_AGREEMENT]\n", argv[0]);
        return 2;
    }
    network = argv[1];
    min_accuracy = atof(argv[2]);
    if (argc == 6) {
        torch_file = argv[4];
        min_agreement = atof(argv[5]);
    }
    model_dir = getenv("CAM_MODEL_DIR");
    snprintf(model_path, sizeof model_path, "%s/%s.onnx", model_dir ? model_dir : "weights", network);
    if (stat(model_path, &st) != 0) {
        printf("SKIP: %s does not exist yet (the trained weights are committed by the weights work)\n",
               model_path);
        return 77;
    }
    data_dir = test_data_dir();
    if (!data_dir) {
        printf("SKIP: no datasets: set CAM_DATA_DIR (or put them in ../shared/data)\n");
        return 77;
    }
    rc = test_dataset_load_test_set(network, data_dir, &data, why, sizeof why);
    if (rc == 0) {
        printf("SKIP: %s\n", why);
        return 77;
    }
    if (rc < 0) {
        printf("FAIL: %s\n", why);
        return 1;
    }
    if (cam_model_load(model_path, &model, &err) != CAM_OK) {
        printf("FAIL: cam_model_load: %s\n", err.message);
        return 1;
    }
    n_classes = cam_model_n_classes(model);
    if ((size_t) data.channels * data.height * data.width != cam_model_input_size(model)
        || n_classes > 256) {
        printf("FAIL: %s takes %zu values per image, the test images have %dx%dx%d\n", model_path,
               cam_model_input_size(model), data.channels, data.height, data.width);
        return 1;
    }
    printf("%s (%s), %s\n", model_path, cam_model_get_info(model)->name, why);

    predictions = calloc((size_t) data.n, 1);
    n_threads = cores < 1 ? 1 : cores > MAX_THREADS ? MAX_THREADS : (int) cores;
    cam_set_blas_threads(1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int t = 0; t < n_threads; t++) {
        jobs[t] = (job){model, &data, (int) ((long) data.n * t / n_threads),
                        (int) ((long) data.n * (t + 1) / n_threads), predictions, CAM_OK, {0}};
        pthread_create(&threads[t], NULL, run_job, &jobs[t]);
    }
    for (int t = 0; t < n_threads; t++)
        pthread_join(threads[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (int t = 0; t < n_threads; t++) {
        if (jobs[t].status != CAM_OK) {
            printf("FAIL: cam_forward: %s\n", jobs[t].err.message);
            return 1;
        }
    }

    {
        int per_class_total[256] = {0}, per_class_correct[256] = {0};
        double accuracy;
        for (int i = 0; i < data.n; i++) {
            per_class_total[data.labels[i] % 256]++;
            if (predictions[i] == data.labels[i]) {
                correct++;
                per_class_correct[data.labels[i] % 256]++;
            }
        }
        accuracy = 100.0 * correct / data.n;
        printf("engine: %d / %d correct: accuracy %.2f%% (required >= %.2f%%), %.1f s on %d threads\n",
               correct, data.n, accuracy, min_accuracy,
               (double) (t1.tv_sec - t0.tv_sec) + 1e-9 * (double) (t1.tv_nsec - t0.tv_nsec), n_threads);
        for (int c = 0; c < n_classes; c++)
            printf("  class %d %-12s %5.1f%% of %d\n", c, cam_model_class_label(model, c),
                   per_class_total[c] ? 100.0 * per_class_correct[c] / per_class_total[c] : 0.0,
                   per_class_total[c]);
        rc = accuracy >= min_accuracy ? 0 : 1;
        if (rc)
            printf("FAIL: accuracy %.2f%% is below %.2f%%\n", accuracy, min_accuracy);
    }

    if (torch_file) {
        FILE *f = fopen(torch_file, "rb");
        unsigned char *torch = malloc((size_t) data.n + 1);
        size_t got = f ? fread(torch, 1, (size_t) data.n + 1, f) : 0;
        int agree = 0, torch_correct = 0, shown = 0;
        double agreement;
        if (f)
            fclose(f);
        if (got != (size_t) data.n) {
            printf("FAIL: %s: %zu predictions, expected %d\n", torch_file, got, data.n);
            return 1;
        }
        for (int i = 0; i < data.n; i++) {
            agree += torch[i] == predictions[i];
            torch_correct += torch[i] == data.labels[i];
            if (torch[i] != predictions[i] && shown++ < 10)
                printf("  image %d: engine says %d, PyTorch %d (label %d)\n", i, predictions[i],
                       torch[i], data.labels[i]);
        }
        agreement = 100.0 * agree / data.n;
        printf("PyTorch: accuracy %.2f%%; the engine agrees on %d / %d images: %.2f%% (required >= %.2f%%)\n",
               100.0 * torch_correct / data.n, agree, data.n, agreement, min_agreement);
        if (agreement < min_agreement) {
            printf("FAIL: agreement %.2f%% is below %.2f%%\n", agreement, min_agreement);
            rc = 1;
        }
        free(torch);
    }
    free(predictions);
    test_dataset_free(&data);
    cam_model_free(model);
    return rc;
}
