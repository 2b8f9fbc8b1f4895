/*
 * bench-ab.c -- two builds of the engine, side by side in one process, for
 * regression checks ("is this change slower?") on a host whose speed drifts.
 * Not a test: it prints a table and asserts nothing.
 *
 *     bench-ab OLD/libcamengine.so NEW/libcamengine.so [MODEL...]
 *
 * Both libraries are opened with dlopen (RTLD_LOCAL | RTLD_DEEPBIND, so each
 * keeps its own symbols), each loads the same models (default: fashion-mnist
 * and cifar10) with one OpenBLAS thread ($CAM_AB_THREADS to change it; 0 = all
 * cores), and the two are timed in alternation:
 * ROUNDS rounds, each running a block of calls on A then on B (the order swapped
 * every round), so a change of the host's speed hits both alike. Reported: the
 * median over rounds of the time per call, for the forward pass and for
 * Grad-CAM (forward + backward + map), and the ratio B / A with the spread of
 * the per-round ratios (interquartile range).
 *
 * It speaks both generations of the public API: before the change of
 * 2026-11 (cam_workspace_new returning the workspace, cam_explain filling a
 * caller's struct freed with cam_explanation_clear, options without a size)
 * and after it (status return and out-parameters, cam_explanation_free,
 * options made by cam_explain_options_default). Only the functions below are
 * used, through pointers looked up by name.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS 41

typedef struct engine {
    const char *path;
    void *so;
    int new_api;
    int (*model_load)(const char *, void **, void *);
    void (*model_free)(void *);
    size_t (*input_size)(const void *);
    int (*set_blas_threads)(int);
    int (*forward)(void *, const float *, int, float *, float *, void *);
    void (*workspace_free)(void *);
    /* generation 1 */
    void *(*workspace_new1)(const void *, int, void *);
    int (*explain1)(void *, const float *, const void *, void *, void *);
    void (*clear1)(void *);
    /* generation 2 */
    int (*workspace_new2)(const void *, int, void **, void *);
    int (*explain2)(void *, const float *, const void *, void **, void *);
    void (*free2)(void *);
    struct options_any (*options_default)(const void *); /* NULL before it existed */
    void *model, *ws;
} engine;

/* The options structs of the two generations (method 1 = grad-cam in both). */
typedef struct options1 {
    int method;
    int class_index;
    const char *layer;
} options1;
typedef struct options2 {
    size_t size;
    int method;
    int class_index;
    const char *layer;
} options2;

/* Room for any generation's cam_explain_options as cam_explain_options_default returns
 * it (a struct returned in memory: the callee fills the caller's buffer); its first
 * fields are options2's. */
typedef struct options_any {
    union {
        options2 head;
        unsigned char bytes[1024];
    } u;
} options_any;

static char err_buf[4096]; /* a cam_error of either generation */

static void *need(engine *e, const char *name)
{
    void *p = dlsym(e->so, name);
    if (!p) {
        fprintf(stderr, "bench-ab: %s has no symbol %s\n", e->path, name);
        exit(1);
    }
    return p;
}

static void open_engine(engine *e, const char *path)
{
    memset(e, 0, sizeof *e);
    e->path = path;
    e->so = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!e->so) {
        fprintf(stderr, "bench-ab: %s\n", dlerror());
        exit(1);
    }
    e->new_api = dlsym(e->so, "cam_explanation_free") != NULL;
    *(void **)&e->model_load = need(e, "cam_model_load");
    *(void **)&e->model_free = need(e, "cam_model_free");
    *(void **)&e->input_size = need(e, "cam_model_input_size");
    *(void **)&e->set_blas_threads = need(e, "cam_set_blas_threads");
    *(void **)&e->forward = need(e, "cam_forward");
    *(void **)&e->workspace_free = need(e, "cam_workspace_free");
    if (e->new_api) {
        *(void **)&e->workspace_new2 = need(e, "cam_workspace_new");
        *(void **)&e->explain2 = need(e, "cam_explain");
        *(void **)&e->free2 = need(e, "cam_explanation_free");
        *(void **)&e->options_default = dlsym(e->so, "cam_explain_options_default");
    } else {
        *(void **)&e->workspace_new1 = need(e, "cam_workspace_new");
        *(void **)&e->explain1 = need(e, "cam_explain");
        *(void **)&e->clear1 = need(e, "cam_explanation_clear");
    }
    const char *threads = getenv("CAM_AB_THREADS");
    e->set_blas_threads(threads ? atoi(threads) : 1);
}

static void load(engine *e, const char *model)
{
    if (e->model_load(model, &e->model, err_buf) != 0) {
        fprintf(stderr, "bench-ab: %s: %s\n", e->path, err_buf + sizeof(int));
        exit(1);
    }
    if (e->new_api) {
        if (e->workspace_new2(e->model, 1, &e->ws, err_buf) != 0)
            e->ws = NULL;
    } else {
        e->ws = e->workspace_new1(e->model, 1, err_buf);
    }
    if (!e->ws) {
        fprintf(stderr, "bench-ab: %s: cam_workspace_new failed\n", e->path);
        exit(1);
    }
}

static void unload(engine *e)
{
    e->workspace_free(e->ws);
    e->model_free(e->model);
    e->ws = e->model = NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One call: 0 = forward, 1 = Grad-CAM. */
static void call(engine *e, int what, const float *input)
{
    int rc;
    if (what == 0) {
        rc = e->forward(e->ws, input, 1, NULL, NULL, err_buf);
    } else if (e->new_api) {
        options_any o = {.u.head = {sizeof o.u.head, 1, -1, NULL}};
        if (e->options_default) /* the later API: sizeof its options, all defaults */
            o = e->options_default(e->model);
        o.u.head.method = 1;
        o.u.head.class_index = -1;
        o.u.head.layer = NULL;
        void *ex = NULL;
        rc = e->explain2(e->ws, input, &o, &ex, err_buf);
        e->free2(ex);
    } else {
        options1 o = {1, -1, NULL};
        char ex[1024]; /* larger than generation 1's cam_explanation */
        memset(ex, 0, sizeof ex);
        rc = e->explain1(e->ws, input, &o, ex, err_buf);
        e->clear1(ex);
    }
    if (rc != 0) {
        fprintf(stderr, "bench-ab: %s: %s\n", e->path, err_buf + sizeof(int));
        exit(1);
    }
}

static double block(engine *e, int what, const float *input, int calls)
{
    double t0 = now();
    for (int i = 0; i < calls; i++)
        call(e, what, input);
    return (now() - t0) / calls;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[(int)lround(q * (n - 1))];
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s OLD/libcamengine.so NEW/libcamengine.so [MODEL...]\n", argv[0]);
        return 2;
    }
    engine e[2];
    open_engine(&e[0], argv[1]);
    open_engine(&e[1], argv[2]);
    const char *defaults[] = {"fashion-mnist", "cifar10"};
    const char *const *models = argc > 3 ? (const char *const *)argv + 3 : defaults;
    int n_models = argc > 3 ? argc - 3 : 2;

    printf("| model | measure | A (ms) | B (ms) | B / A | B / A per round (IQR) |\n");
    printf("|---|---|---|---|---|---|\n");
    for (int m = 0; m < n_models; m++) {
        load(&e[0], models[m]);
        load(&e[1], models[m]);
        size_t n = e[0].input_size(e[0].model);
        float *input = malloc(n * sizeof *input);
        if (!input)
            return 1;
        srand(1);
        for (size_t i = 0; i < n; i++)
            input[i] = (float)rand() / (float)RAND_MAX;
        for (int what = 0; what < 2; what++) {
            /* calls per block: about 20 ms of work */
            double t1 = block(&e[0], what, input, 3);
            int calls = t1 > 0 ? (int)(0.02 / t1) : 100;
            if (calls < 1)
                calls = 1;
            block(&e[1], what, input, calls); /* warm-up */
            double ta[ROUNDS], tb[ROUNDS], ratio[ROUNDS];
            for (int r = 0; r < ROUNDS; r++) {
                int first = r & 1;
                double t[2];
                t[first] = block(&e[first], what, input, calls);
                t[!first] = block(&e[!first], what, input, calls);
                ta[r] = t[0];
                tb[r] = t[1];
                ratio[r] = t[1] / t[0];
            }
            double a = quantile(ta, ROUNDS, 0.5), b = quantile(tb, ROUNDS, 0.5);
            double q1 = quantile(ratio, ROUNDS, 0.25), q3 = quantile(ratio, ROUNDS, 0.75);
            double rm = quantile(ratio, ROUNDS, 0.5);
            printf("| %s | %s | %.4f | %.4f | %.3f | %.3f (%.3f..%.3f) |\n", models[m],
                   what ? "Grad-CAM" : "forward", a * 1e3, b * 1e3, b / a, rm, q1, q3);
            fflush(stdout);
        }
        free(input);
        unload(&e[0]);
        unload(&e[1]);
    }
    printf("\nA = %s\nB = %s\n", argv[1], argv[2]);
    return 0;
}
