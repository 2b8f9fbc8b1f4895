/*
 * test-perturbation-reference.c -- the perturbation methods against PyTorch.
 *
 *     test-perturbation-reference MANIFEST
 *
 * MANIFEST (written by make_perturbation_reference.py) lists "<model.onnx>
 * <reference.camref> <case>" lines; the reference file (format in camref.py) holds
 * the images ("input") and maps of kind "<method>/<logit|prob>" for a layer, an
 * image and a class, computed in float64 from the methods' formulas. Each map is
 * computed by the engine's method (methods/cam-method-perturbation.h) with that
 * score, in a workspace of 8 images (the passes run in batches), and must be within
 * 1e-4 of the reference's largest magnitude. The reference maps are not trivial
 * (make_perturbation_reference.py leaves constant and all-zero ones out).
 */
#include "camengine.h"

#include "cam-workspace.h"
#include "methods/cam-method-perturbation.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAP_TOLERANCE 1e-4 /* relative to the reference's largest magnitude */
#define BATCH 8

typedef struct record {
    char kind[64];
    char name[256];
    int image, class_index;
    size_t count;
    uint32_t dims[8];
    int ndim;
    float *data;
} record;

static int failures, checks;

static int read_u32(FILE *f, uint32_t *v)
{
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4)
        return 0;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 1;
}

static int read_string(FILE *f, char *buf, size_t size)
{
    uint32_t len;
    if (!read_u32(f, &len) || len >= size || fread(buf, 1, len, f) != len)
        return 0;
    buf[len] = '\0';
    return 1;
}

/* The records of a .camref file (n_out of them), or NULL with a message. */
static record *read_records(const char *path, int *n_out)
{
    FILE *f = fopen(path, "rb");
    char magic[8];
    uint32_t n = 0;
    record *r = NULL;
    *n_out = 0;
    if (!f || fread(magic, 1, 8, f) != 8 || memcmp(magic, "CAMREF01", 8) != 0 ||
        !read_u32(f, &n) || n > 100000 || !(r = calloc(n ? n : 1, sizeof *r))) {
        printf("%s: not a readable reference file\n", path);
        if (f)
            fclose(f);
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t image, cls, ndim;
        *n_out = (int)i + 1;
        if (!read_string(f, r[i].kind, sizeof r[i].kind) ||
            !read_string(f, r[i].name, sizeof r[i].name) || !read_u32(f, &image) ||
            !read_u32(f, &cls) || !read_u32(f, &ndim) || ndim > 8)
            goto bad;
        r[i].image = (int32_t)image;
        r[i].class_index = (int32_t)cls;
        r[i].ndim = (int)ndim;
        r[i].count = 1;
        for (uint32_t d = 0; d < ndim; d++) {
            if (!read_u32(f, &r[i].dims[d]))
                goto bad;
            r[i].count *= r[i].dims[d];
        }
        if (r[i].count > (size_t)1 << 26)
            goto bad;
        r[i].data = malloc(r[i].count * sizeof(float) + 1);
        if (!r[i].data || fread(r[i].data, sizeof(float), r[i].count, f) != r[i].count)
            goto bad;
    }
    fclose(f);
    return r;
bad:
    printf("%s: malformed at record %d\n", path, *n_out - 1);
    fclose(f);
    for (int i = 0; i < *n_out; i++)
        free(r[i].data);
    free(r);
    *n_out = 0;
    return NULL;
}

static const struct {
    const char *name;
    cam_method_fn fn;
} methods[] = {
    {"score-cam", cam_method_score_cam},     {"ss-cam", cam_method_ss_cam},
    {"is-cam", cam_method_is_cam},           {"ablation-cam", cam_method_ablation_cam},
    {"recipro-cam", cam_method_recipro_cam},
};

typedef struct kind_stats {
    char kind[64];
    int checked, failed;
    double worst;
} kind_stats;

static void run_case(const char *onnx_path, const char *ref_path, const char *cs)
{
    int n = 0, fails_before = failures;
    record *r = read_records(ref_path, &n);
    cam_model *model = NULL;
    cam_workspace *ws = NULL;
    cam_error err = {0};
    kind_stats stats[16];
    memset(stats, 0, sizeof stats);
    if (!r) {
        failures++;
        return;
    }
    if (cam_model_load(onnx_path, &model, &err) != CAM_OK ||
        cam_workspace_new(model, BATCH, &ws, &err) != CAM_OK) {
        printf("FAIL: %s: %s\n", cs, err.message);
        failures++;
        goto out;
    }
    const size_t input_size = cam_model_input_size(model);
    for (int i = 0; i < n; i++) {
        const record *m = &r[i];
        char method[64];
        const char *slash = strchr(m->kind, '/');
        if (!slash)
            continue;
        snprintf(method, sizeof method, "%.*s", (int)(slash - m->kind), m->kind);
        const cam_score score =
            strcmp(slash + 1, "logit") == 0 ? CAM_SCORE_LOGIT : CAM_SCORE_PROBABILITY;
        cam_method_fn fn = NULL;
        for (size_t j = 0; j < sizeof methods / sizeof methods[0]; j++)
            if (strcmp(methods[j].name, method) == 0)
                fn = methods[j].fn;
        const record *in = NULL;
        for (int j = 0; j < n; j++)
            if (strcmp(r[j].kind, "input") == 0 && r[j].image == m->image)
                in = &r[j];
        checks++;
        if (!fn || !in || in->count != input_size) {
            printf("FAIL: %s: record %s: unknown method or missing input\n", cs, m->kind);
            failures++;
            continue;
        }
        int t = cam_graph_find_tensor(ws->graph, m->name);
        cam_layer layer;
        if (t < 0 || !cam_model_layer_of(model, t, &layer) ||
            (size_t)layer.height * layer.width != m->count) {
            printf("FAIL: %s: %s: layer %s missing or not of %zu positions\n", cs, m->kind,
                   m->name, m->count);
            failures++;
            continue;
        }
        if (cam_forward(ws, in->data, 1, NULL, NULL, &err) != CAM_OK) {
            printf("FAIL: %s: cam_forward: %s\n", cs, err.message);
            failures++;
            continue;
        }
        cam_method_ctx ctx = {ws, in->data, &layer, m->class_index, score, NULL,
                              cam_executor_value(ws->exec, t, 0)};
        float *map = malloc(m->count * sizeof *map);
        if (!map || fn(&ctx, map, &err) != CAM_OK) {
            printf("FAIL: %s: %s %s image %d class %d: %s\n", cs, m->kind, m->name, m->image,
                   m->class_index, map ? err.message : "out of memory");
            failures++;
            free(map);
            continue;
        }
        double big = 0, worst = 0;
        size_t where = 0;
        for (size_t q = 0; q < m->count; q++)
            big = fmax(big, fabs(m->data[q]));
        for (size_t q = 0; q < m->count; q++) {
            double d = fabs((double)map[q] - m->data[q]) / big;
            if (!(d <= worst)) {
                worst = isnan(d) ? INFINITY : d;
                where = q;
            }
        }
        kind_stats *st = &stats[15];
        for (int s = 0; s < 16; s++)
            if (!stats[s].kind[0] || strcmp(stats[s].kind, m->kind) == 0) {
                st = &stats[s];
                break;
            }
        snprintf(st->kind, sizeof st->kind, "%s", m->kind);
        st->checked++;
        st->worst = fmax(st->worst, worst);
        if (!(worst <= MAP_TOLERANCE)) {
            st->failed++;
            failures++;
            printf("FAIL: %s: %s %s image %d class %d: difference %.3g > %.0e (position %zu: "
                   "engine %.9g, PyTorch %.9g, largest |ref| %.6g)\n",
                   cs, m->kind, m->name, m->image, m->class_index, worst, MAP_TOLERANCE, where,
                   (double)map[where], (double)m->data[where], big);
        }
        free(map);
    }
    for (int s = 0; s < 16 && stats[s].kind[0]; s++)
        printf("%s: %-20s %3d compared, %2d failed, worst difference %.3g\n", cs, stats[s].kind,
               stats[s].checked, stats[s].failed, stats[s].worst);
    printf("%s: %s (model %s)\n", cs, failures == fails_before ? "ok" : "FAILED", onnx_path);
out:
    cam_workspace_free(ws);
    cam_model_free(model);
    for (int i = 0; i < n; i++)
        free(r[i].data);
    free(r);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MANIFEST (from make_perturbation_reference.py)\n", argv[0]);
        return 2;
    }
    FILE *manifest = fopen(argv[1], "r");
    if (!manifest) {
        fprintf(stderr, "%s: cannot open the manifest\n", argv[1]);
        return 1;
    }
    char line[4096];
    int n_cases = 0;
    while (fgets(line, sizeof line, manifest)) {
        char onnx_path[2048], ref_path[2048], cs[128];
        if (sscanf(line, "%2047s %2047s %127s", onnx_path, ref_path, cs) != 3)
            continue;
        run_case(onnx_path, ref_path, cs);
        n_cases++;
    }
    fclose(manifest);
    if (n_cases == 0) {
        printf("no cases in %s\n", argv[1]);
        return 1;
    }
    printf("%d cases, %d maps, %d failures\n", n_cases, checks, failures);
    return failures ? 1 : 0;
}
