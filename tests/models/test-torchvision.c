/*
 * test-torchvision.c -- the engine on real architectures: every torchvision
 * classification family and old-style "model zoo" files, against ONNX Runtime and
 * PyTorch autograd, through the public API only.
 *
 *     test-torchvision MANIFEST
 *
 * MANIFEST (written by export_models.py, which documents its format) lists, per model,
 * the ONNX file, a raw float32 input, ONNX Runtime's probabilities and logits, the
 * automatic layer and the reference maps (Grad-CAM at the automatic layer and at an
 * earlier one, CAM where the model has the structure), each with the ONNX tensor name
 * of its layer and the class it explains. For each model:
 *   load         cam_model_load and cam_workspace_new succeed (a refusal fails every
 *                check of the model: each prints REFUSED with the engine's message);
 *   probs        cam_forward's probabilities equal ONNX Runtime's within 1e-5 (absolute);
 *   logits       its logits equal ONNX Runtime's within 1e-4 of the largest |logit|;
 *   batch        (models with a dynamic batch) a workspace for 2 images, the input and
 *                a second image in one batch: the input's probabilities are bit-identical
 *                to those of the input alone;
 *   auto-layer   cam_model_auto_layer names the tensor the exporter found by the
 *                issue's rule;
 *   <method> <role>  cam_explain with options.layer = the recorded tensor and
 *                options.class_index = the recorded class: the map has the reference's
 *                size and equals it within max(1e-4, 3 x spread) of its largest magnitude
 *                (max |engine - PyTorch| / max |PyTorch|). The spread, measured by the
 *                exporter, is how far float32 arithmetic may move that map (a ReLU input
 *                within float32 noise of 0 may switch an early layer's gradient); the
 *                exporter prefers maps whose spread is below 1e-5, so for most maps the
 *                tolerance is 1e-4.
 * One line per model and check (PASS / FAIL with the numbers, REFUSED with the engine's
 * message), then "N passed, M failed". Exit status 0 when nothing failed, else 1.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "camengine.h"

#define PROB_TOLERANCE 1e-5  /* absolute */
#define LOGIT_TOLERANCE 1e-4 /* relative to the largest |logit| */
#define MAP_TOLERANCE 1e-4   /* relative to the reference map's largest magnitude */
#define SPREAD_FACTOR 3.0    /* ... or this many times the reference's float32 spread */
#define MAX_MAPS 8
#define NAME_SIZE 512
#define PATH_SIZE 2048

typedef struct map_ref {
    char method[32], role[32];
    int class_index;
    char tensor[NAME_SIZE];
    int height, width;
    char path[PATH_SIZE];
    char spread[32]; /* how far float32 arithmetic may move the map (see export_models.py) */
} map_ref;

typedef struct model_ref {
    char id[128];
    char onnx[PATH_SIZE], input[PATH_SIZE], probs[PATH_SIZE], logits[PATH_SIZE];
    char ort_error[32]; /* ONNX Runtime vs PyTorch float64 probabilities, from the exporter */
    char description[NAME_SIZE];
    char auto_layer[NAME_SIZE];
    size_t input_count;
    int n_classes, dynamic_batch;
    map_ref maps[MAX_MAPS];
    int n_maps;
} model_ref;

static int n_passed, n_failed;

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
report(const model_ref *m, const char *check, int passed, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
report(const model_ref *m, const char *check, int passed, const char *fmt, ...)
{
    va_list ap;
    if (passed)
        n_passed++;
    else
        n_failed++;
    printf("%-28s %-16s %s ", m->id, check, passed ? "PASS" : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* A check that could not run because the engine refused: a failure. */
static void
refused(const model_ref *m, const char *check, const char *why)
{
    n_failed++;
    printf("%-28s %-16s REFUSED %s\n", m->id, check, why);
    fflush(stdout);
}

/* Reads exactly n float32 values (little-endian, as the exporter writes them). */
static float *
read_floats(const char *path, size_t n, char *why, size_t why_size)
{
    FILE *f = fopen(path, "rb");
    float *v;
    long size;
    if (!f) {
        snprintf(why, why_size, "%s: cannot open", path);
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || (size_t) size != n * sizeof(float)
        || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(why, why_size, "%s: expected %zu float32 values", path, n);
        fclose(f);
        return NULL;
    }
    v = malloc((n ? n : 1) * sizeof *v);
    if (!v || fread(v, sizeof *v, n, f) != n) {
        snprintf(why, why_size, "%s: cannot read", path);
        free(v);
        v = NULL;
    }
    fclose(f);
    return v;
}

static double
max_abs(const float *v, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double) v[i]) > m)
            m = fabs((double) v[i]);
    return m;
}

/* max |a - b| / scale; NaN counts as infinitely wrong. */
static double
difference(const float *a, const float *b, size_t n, double scale, size_t *where)
{
    double worst = 0.0;
    *where = 0;
    if (!(scale > 0.0))
        scale = 1.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double) a[i] - (double) b[i]) / scale;
        if (!(d <= worst)) {
            worst = isnan(d) ? INFINITY : d;
            *where = i;
        }
    }
    return worst;
}

/* The one place that makes workspaces (NULL on failure, err says why). */
static cam_workspace *
new_workspace(const cam_model *model, int max_batch, cam_error *err)
{
    cam_workspace *ws = NULL;
    cam_workspace_new(model, max_batch, &ws, err);
    return ws;
}

static int
checks_of(const model_ref *m)
{
    return 4 + (m->dynamic_batch ? 1 : 0) + m->n_maps; /* load, probs, logits, auto-layer */
}

static void
refuse_all(const model_ref *m, const char *first_check, const char *why)
{
    char check[64];
    refused(m, first_check, why);
    for (int i = 1; i < checks_of(m); i++) {
        const char *name = i == 1 ? "probs" : i == 2 ? "logits" : NULL;
        if (!name && m->dynamic_batch && i == 3)
            name = "batch";
        if (!name && i == 3 + (m->dynamic_batch ? 1 : 0))
            name = "auto-layer";
        if (!name) {
            const map_ref *r = &m->maps[i - 4 - (m->dynamic_batch ? 1 : 0)];
            snprintf(check, sizeof check, "%s %s", r->method, r->role);
            name = check;
        }
        refused(m, name, "(model not loaded)");
    }
}

static void
check_forward(const model_ref *m, cam_model *model, cam_workspace *ws, const float *input)
{
    char why[PATH_SIZE + 64];
    cam_error err;
    int nc = m->n_classes;
    float *ref_p = read_floats(m->probs, (size_t) nc, why, sizeof why);
    float *ref_l = ref_p ? read_floats(m->logits, (size_t) nc, why, sizeof why) : NULL;
    float *p = calloc((size_t) nc, sizeof *p), *l = calloc((size_t) nc, sizeof *l);
    size_t where;
    double d;
    (void) model;
    if (!ref_l || !p || !l) {
        report(m, "probs", 0, "reference: %s", why);
        report(m, "logits", 0, "reference: %s", why);
        goto out;
    }
    if (cam_forward(ws, input, 1, p, l, &err) != CAM_OK) {
        refused(m, "probs", err.message);
        refused(m, "logits", err.message);
        goto out;
    }
    d = difference(p, ref_p, (size_t) nc, 1.0, &where);
    report(m, "probs", d <= PROB_TOLERANCE,
           "max |engine - ONNX Runtime| %.3g (tolerance %.0e; ONNX Runtime vs PyTorch float64 %s; "
           "class %zu: %.8f vs %.8f)",
           d, PROB_TOLERANCE, m->ort_error, where, (double) p[where], (double) ref_p[where]);
    d = difference(l, ref_l, (size_t) nc, max_abs(ref_l, (size_t) nc), &where);
    report(m, "logits", d <= LOGIT_TOLERANCE,
           "max |engine - ONNX Runtime| / max |ONNX Runtime| %.3g (tolerance %.0e; class %zu: "
           "%.7g vs %.7g)",
           d, LOGIT_TOLERANCE, where, (double) l[where], (double) ref_l[where]);
out:
    free(ref_p);
    free(ref_l);
    free(p);
    free(l);
}

/* The input and a second image (the input times -0.5) in one batch of 2: the
 * input's probabilities must be those of the input alone, bit for bit. */
static void
check_batch(const model_ref *m, cam_model *model, cam_workspace *ws1, const float *input)
{
    cam_error err;
    size_t n = m->input_count;
    int nc = m->n_classes;
    cam_workspace *ws2 = new_workspace(model, 2, &err);
    float *pair = malloc(2 * n * sizeof *pair);
    float *p2 = calloc(2 * (size_t) nc, sizeof *p2), *p1 = calloc((size_t) nc, sizeof *p1);
    if (!ws2) {
        refused(m, "batch", err.message);
        goto out;
    }
    if (!pair || !p1 || !p2) {
        report(m, "batch", 0, "out of memory");
        goto out;
    }
    memcpy(pair, input, n * sizeof *pair);
    for (size_t i = 0; i < n; i++)
        pair[n + i] = -0.5f * input[i];
    if (cam_forward(ws2, pair, 2, p2, NULL, &err) != CAM_OK
        || cam_forward(ws1, input, 1, p1, NULL, &err) != CAM_OK) {
        refused(m, "batch", err.message);
        goto out;
    }
    if (memcmp(p1, p2, (size_t) nc * sizeof *p1) == 0) {
        report(m, "batch", 1, "batch of 2: the input's probabilities are bit-identical to alone");
    } else {
        size_t where;
        double d = difference(p2, p1, (size_t) nc, 1.0, &where);
        report(m, "batch", 0, "batch of 2 differs from alone: max difference %.3g (class %zu)", d,
               where);
    }
out:
    cam_workspace_free(ws2);
    free(pair);
    free(p1);
    free(p2);
}

static void
check_auto_layer(const model_ref *m, const cam_model *model)
{
    const char *got = cam_model_auto_layer(model);
    report(m, "auto-layer", got && strcmp(got, m->auto_layer) == 0, "engine %s, expected %s",
           got ? got : "(none)", m->auto_layer);
}

static void
check_map(const model_ref *m, const map_ref *r, cam_model *model, cam_workspace *ws,
          const float *input)
{
    char check[80], why[PATH_SIZE + 64];
    cam_error err;
    cam_explain_options opt = cam_explain_options_default(model);
    cam_explanation *ex = NULL;
    size_t n = (size_t) r->height * (size_t) r->width, where;
    float *ref = read_floats(r->path, n, why, sizeof why);
    double d, big;
    snprintf(check, sizeof check, "%s %s", r->method, r->role);
    if (!ref) {
        report(m, check, 0, "reference: %s", why);
        return;
    }
    if (cam_method_from_name(r->method, &opt.method, &err) != CAM_OK) {
        refused(m, check, err.message);
        free(ref);
        return;
    }
    opt.class_index = r->class_index;
    opt.layer = r->tensor;
    if (cam_explain(ws, input, &opt, &ex, &err) != CAM_OK || !ex) {
        char msg[CAM_ERROR_MESSAGE_SIZE + NAME_SIZE + 32];
        snprintf(msg, sizeof msg, "%s (layer %s, class %d)", err.message, r->tensor, r->class_index);
        refused(m, check, msg);
        free(ref);
        return;
    }
    big = max_abs(ref, n);
    if (!ex->map || ex->map_height != r->height || ex->map_width != r->width) {
        report(m, check, 0, "map %dx%d, expected %dx%d at %s", ex->map_height, ex->map_width,
               r->height, r->width, r->tensor);
    } else if (ex->class_index != r->class_index) {
        report(m, check, 0, "explained class %d, expected %d", ex->class_index, r->class_index);
    } else if (!ex->layer || strcmp(ex->layer, r->tensor) != 0) {
        report(m, check, 0, "explained layer %s, expected %s", ex->layer ? ex->layer : "(none)",
               r->tensor);
    } else {
        double spread = strtod(r->spread, NULL);
        double tolerance = spread * SPREAD_FACTOR > MAP_TOLERANCE ? spread * SPREAD_FACTOR : MAP_TOLERANCE;
        char why_tolerance[96] = "";
        if (tolerance > MAP_TOLERANCE)
            snprintf(why_tolerance, sizeof why_tolerance, " = %g x the reference's spread", SPREAD_FACTOR);
        d = difference(ex->map, ref, n, big, &where);
        report(m, check, d <= tolerance,
               "max |engine - PyTorch| / max |PyTorch| %.3g (tolerance %.2g%s; spread %s; class %d, "
               "%dx%d at %s)",
               d, tolerance, why_tolerance, r->spread, r->class_index, r->height, r->width, r->tensor);
    }
    cam_explanation_free(ex);
    free(ref);
}

static void
run_model(const model_ref *m)
{
    cam_model *model = NULL;
    cam_workspace *ws = NULL;
    cam_error err;
    float *input = NULL;
    char why[PATH_SIZE + 64];
    double t0 = now_seconds();

    printf("%-28s %s\n", m->id, m->description);
    input = read_floats(m->input, m->input_count, why, sizeof why);
    if (!input) {
        refuse_all(m, "load", why);
        return;
    }
    if (cam_model_load(m->onnx, &model, &err) != CAM_OK) {
        refuse_all(m, "load", err.message);
        free(input);
        return;
    }
    if (cam_model_input_size(model) != m->input_count || cam_model_n_classes(model) != m->n_classes) {
        snprintf(why, sizeof why, "the engine sees an input of %zu values and %d classes, expected %zu and %d",
                 cam_model_input_size(model), cam_model_n_classes(model), m->input_count, m->n_classes);
        refuse_all(m, "load", why);
        goto out;
    }
    ws = new_workspace(model, 1, &err);
    if (!ws) {
        char msg[CAM_ERROR_MESSAGE_SIZE + 32];
        snprintf(msg, sizeof msg, "workspace: %s", err.message);
        refuse_all(m, "load", msg);
        goto out;
    }
    report(m, "load", 1, "%s (%.2f s)", m->onnx, now_seconds() - t0);
    check_forward(m, model, ws, input);
    if (m->dynamic_batch)
        check_batch(m, model, ws, input);
    check_auto_layer(m, model);
    for (int i = 0; i < m->n_maps; i++)
        check_map(m, &m->maps[i], model, ws, input);
    printf("%-28s %-16s %.2f s\n", m->id, "time", now_seconds() - t0);
out:
    cam_workspace_free(ws);
    cam_model_free(model);
    free(input);
}

/* Parses one manifest line into the current model; returns 0 on a malformed line. */
static int
parse_line(char *line, model_ref *m, int *have_model)
{
    char kind[16], id[128];
    int used = 0;
    if (sscanf(line, "%15s %127s %n", kind, id, &used) < 2)
        return line[strspn(line, " \t\r\n")] == '\0';
    if (strcmp(kind, "model") == 0) {
        int n = 0;
        unsigned long count;
        memset(m, 0, sizeof *m);
        snprintf(m->id, sizeof m->id, "%s", id);
        if (sscanf(line + used, "%2047s %2047s %lu %d %d %n", m->onnx, m->input, &count, &m->n_classes,
                   &m->dynamic_batch, &n) < 5)
            return 0;
        m->input_count = count;
        snprintf(m->description, sizeof m->description, "%s", line + used + n);
        m->description[strcspn(m->description, "\r\n")] = '\0';
        *have_model = 1;
        return 1;
    }
    if (!*have_model || strcmp(id, m->id) != 0)
        return 0;
    if (strcmp(kind, "probs") == 0)
        return sscanf(line + used, "%2047s %31s", m->probs, m->ort_error) == 2;
    if (strcmp(kind, "logits") == 0)
        return sscanf(line + used, "%2047s", m->logits) == 1;
    if (strcmp(kind, "auto") == 0)
        return sscanf(line + used, "%511s", m->auto_layer) == 1;
    if (strcmp(kind, "map") == 0 && m->n_maps < MAX_MAPS) {
        map_ref *r = &m->maps[m->n_maps];
        if (sscanf(line + used, "%31s %31s %d %511s %d %d %2047s %31s", r->method, r->role,
                   &r->class_index, r->tensor, &r->height, &r->width, r->path, r->spread) != 8)
            return 0;
        m->n_maps++;
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    FILE *manifest;
    static char line[8192];
    static model_ref m;
    int have_model = 0, n_models = 0, line_no = 0;
    double t0 = now_seconds();
    if (argc != 2) {
        fprintf(stderr, "usage: %s MANIFEST (written by tests/models/export_models.py)\n", argv[0]);
        return 2;
    }
    manifest = fopen(argv[1], "r");
    if (!manifest) {
        fprintf(stderr, "%s: cannot open the manifest\n", argv[1]);
        return 1;
    }
    while (fgets(line, sizeof line, manifest)) {
        line_no++;
        if (strncmp(line, "model ", 6) == 0 && have_model) {
            run_model(&m);
            n_models++;
        }
        if (!parse_line(line, &m, &have_model)) {
            fprintf(stderr, "%s:%d: malformed line\n", argv[1], line_no);
            fclose(manifest);
            return 1;
        }
    }
    fclose(manifest);
    if (have_model) {
        run_model(&m);
        n_models++;
    }
    if (n_models == 0) {
        printf("no models in %s\n", argv[1]);
        return 1;
    }
    printf("%d models in %.1f s\n", n_models, now_seconds() - t0);
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
