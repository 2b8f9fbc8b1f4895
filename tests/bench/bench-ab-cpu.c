/*
 * bench-ab-cpu.c -- two builds of the engine in one process (dlopen, as bench-ab),
 * forward passes on one 224x224 image timed in alternation, reporting the median
 * process CPU time and wall time per forward of each, and their ratios. Not a
 * test. CPU time is what single-thread comparisons on a loaded host should use;
 * wall time at 2 threads needs a quiet or real-time-priority run:
 *
 *     chrt -f 20 taskset -c 0,1 bench-ab-cpu OLD.so NEW.so MODEL.onnx THREADS ROUNDS
 *
 * (the model must take 3 x 224 x 224 and give 1000 classes; THREADS goes to
 * cam_set_blas_threads). It says first whether A and B give the same probabilities.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
typedef struct { void *model, *ws; int (*fwd)(void *, const float *, int, float *, float *, void *); } eng;
static char err[4096];
static void open_eng(eng *e, const char *so_path, const char *model, int threads)
{
    void *so = dlopen(so_path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!so) { fprintf(stderr, "%s\n", dlerror()); exit(1); }
    int (*load)(const char *, void **, void *) = dlsym(so, "cam_model_load");
    int (*wsnew)(const void *, int, void **, void *) = dlsym(so, "cam_workspace_new");
    int (*th)(int) = dlsym(so, "cam_set_blas_threads");
    e->fwd = dlsym(so, "cam_forward");
    th(threads);
    if (load(model, &e->model, err)) { fprintf(stderr, "load failed\n"); exit(1); }
    wsnew(e->model, 1, &e->ws, err);
}
static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return (x > y) - (x < y); }
int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench-ab-cpu A.so B.so MODEL.onnx THREADS ROUNDS\n");
        return 2;
    }
    eng e[2];
    int threads = atoi(argv[4]), rounds = atoi(argv[5]) > 0 ? atoi(argv[5]) : 1;
    open_eng(&e[0], argv[1], argv[3], threads);
    open_eng(&e[1], argv[2], argv[3], threads);
    float *x = malloc(3 * 224 * 224 * sizeof *x), probs[1000];
    for (int i = 0; i < 3 * 224 * 224; i++) x[i] = (float)(i % 255) / 255.0f;
    double *cpu[2], *wall[2];
    static float first[2][1000];
    for (int k = 0; k < 2; k++) { cpu[k] = malloc(rounds * sizeof(double)); wall[k] = malloc(rounds * sizeof(double)); e[k].fwd(e[k].ws, x, 1, first[k], NULL, err); }
    int same = 0;
    while (same < 1000 && first[0][same] == first[1][same]) same++;
    printf("probabilities of A and B: %s\n", same == 1000 ? "bit-identical" : "DIFFER");
    for (int r = 0; r < rounds; r++)
        for (int j = 0; j < 2; j++) {
            int k = (r + j) % 2;
            double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
            e[k].fwd(e[k].ws, x, 1, probs, NULL, err);
            cpu[k][r] = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
            wall[k][r] = now(CLOCK_MONOTONIC) - w0;
        }
    for (int k = 0; k < 2; k++) { qsort(cpu[k], rounds, sizeof(double), cmp); qsort(wall[k], rounds, sizeof(double), cmp); }
    printf("%s threads %d: A cpu %.2f wall %.2f | B cpu %.2f wall %.2f | B/A cpu %.3f wall %.3f\n", argv[3], threads,
           cpu[0][rounds / 2], wall[0][rounds / 2], cpu[1][rounds / 2], wall[1][rounds / 2],
           cpu[1][rounds / 2] / cpu[0][rounds / 2], wall[1][rounds / 2] / wall[0][rounds / 2]);
    return 0;
}
