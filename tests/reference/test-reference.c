/*
 * test-reference.c -- the engine against PyTorch, tensor by tensor.
 *
 *     test-reference MANIFEST
 *
 * MANIFEST (written by make_reference.py) lists "<model.onnx> <reference.camref> <case>"
 * lines. For each case the model is loaded with the engine and every reference record
 * (computed in float64 by PyTorch; format in camref.py) is compared:
 *   probs                 cam_forward probabilities, within 1e-5 absolute;
 *   logits, tensor,       logits, every layer's output (cam_get_tensor) and the
 *   grad-logit, grad-prob gradients of a class's logit / probability (cam_backward),
 *                         within 1e-4 of the tensor's largest magnitude;
 *   cam, grad-cam,        cam_explain maps, within 1e-4 of the map's largest magnitude,
 *   grad-cam-tutorial     with the right size, class, layer and probability; each
 *                         reference map must not be trivial (constant or all zero);
 *   layer, auto-layer,    the explanation-layer list, the automatic layer and the
 *   supports-cam          CAM-structure detection (a model without it must refuse CAM);
 *   <method>[@option...]  any other method name (make_methods.py): its cam_explain map, as
 *                         above; options eigen-smooth, aug-smooth (aug_smooth 1),
 *                         aug-smooth-brightness (aug_smooth 2), probability
 *                         (target_score), seed=N; a layer name holding ',' lists the
 *                         layers fused.
 *   kink-relu, kink-pool  FullGrad's routing (make_methods.routing_records): the units
 *                         of an image whose float64 input lies near a ReLU / ReLU6 kink
 *                         or a MaxPool tie, where a float32 forward may route the
 *                         gradient otherwise. The engine's own float32 values of those
 *                         tensors (cam_get_tensor, batch forward) must lie within the
 *                         record's window of float64's, and route every unit as the
 *                         reference's FullGrad maps do; where they do not, the image's
 *                         FullGrad maps are not compared: every recorded unit of the
 *                         image is written to <reference>.routing with the engine's
 *                         values and the program exits 3, for run-reference.sh to run
 *                         make_methods.py --reroute (the maps recomputed in float64 with
 *                         those units routed as the engine routes them) and this again
 *                         with a second argument "fullgrad" (the forward passes, the
 *                         routing and the FullGrad maps alone; 3 is then a failure).
 * The forward pass runs once on the whole batch; every image is also run alone and
 * must give bit-identical probabilities (results may not depend on the batch).
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camengine.h"

#define PROB_TOLERANCE 1e-5   /* absolute */
#define MAP_TOLERANCE 1e-4    /* relative to the reference's largest magnitude */
#define NONTRIVIAL 1e-3       /* a reference map's range / largest magnitude must exceed this */
#define MAX_REPORTS 8         /* failures printed per case and kind */

typedef struct record {
    char kind[64];
    char name[256];
    int image, class_index;
    int ndim;
    uint32_t dims[8];
    size_t count;
    float *data;
} record;

typedef struct reference {
    record *records;
    int n_records;
} reference;

static int failures;
static int checks;
static int only_full_grad; /* "test-reference MANIFEST fullgrad": the FullGrad maps alone */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
fail(const char *fmt, ...)
{
    va_list ap;
    failures++;
    printf("FAIL: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static int
read_u32(FILE *f, uint32_t *v)
{
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4)
        return 0;
    *v = (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
    return 1;
}

static int
read_string(FILE *f, char *buf, size_t size)
{
    uint32_t len;
    if (!read_u32(f, &len) || len >= size)
        return 0;
    if (fread(buf, 1, len, f) != len)
        return 0;
    buf[len] = '\0';
    return 1;
}

static void
reference_free(reference *ref)
{
    for (int i = 0; i < ref->n_records; i++)
        free(ref->records[i].data);
    free(ref->records);
    ref->records = NULL;
    ref->n_records = 0;
}

/* Reads a .camref file; on error prints why and returns 0. */
static int
reference_read(const char *path, reference *ref)
{
    FILE *f = fopen(path, "rb");
    char magic[8];
    uint32_t n;
    memset(ref, 0, sizeof *ref);
    if (!f) {
        printf("%s: cannot open\n", path);
        return 0;
    }
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "CAMREF01", 8) != 0 || !read_u32(f, &n)
        || n > 1000000) {
        printf("%s: not a reference file\n", path);
        fclose(f);
        return 0;
    }
    ref->records = calloc(n, sizeof *ref->records);
    if (!ref->records) {
        fclose(f);
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        record *r = &ref->records[i];
        uint32_t image, cls, ndim;
        ref->n_records = (int) i + 1;
        if (!read_string(f, r->kind, sizeof r->kind) || !read_string(f, r->name, sizeof r->name)
            || !read_u32(f, &image) || !read_u32(f, &cls) || !read_u32(f, &ndim) || ndim > 8)
            goto bad;
        r->image = (int32_t) image;
        r->class_index = (int32_t) cls;
        r->ndim = (int) ndim;
        r->count = 1;
        for (uint32_t d = 0; d < ndim; d++) {
            if (!read_u32(f, &r->dims[d]))
                goto bad;
            r->count *= r->dims[d];
        }
        if (r->count > (size_t) 1 << 26)
            goto bad;
        r->data = malloc((r->count ? r->count : 1) * sizeof(float));
        if (!r->data || fread(r->data, sizeof(float), r->count, f) != r->count)
            goto bad;
    }
    fclose(f);
    return 1;
bad:
    printf("%s: truncated or malformed at record %d\n", path, ref->n_records - 1);
    fclose(f);
    reference_free(ref);
    return 0;
}

static float
max_abs(const float *v, size_t n)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++)
        if (fabsf(v[i]) > m)
            m = fabsf(v[i]);
    return m;
}

/* Largest |engine - ref| relative to the reference's largest magnitude (or absolute
 * when `absolute`); NaN in the engine's output counts as infinitely wrong. */
static double
difference(const float *engine, const float *ref, size_t n, int absolute, size_t *where)
{
    double worst = 0.0, scale = absolute ? 1.0 : max_abs(ref, n);
    *where = 0;
    if (scale == 0.0)
        scale = 1.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double) engine[i] - (double) ref[i]) / scale;
        if (!(d <= worst)) { /* also catches NaN */
            worst = isnan(d) ? INFINITY : d;
            *where = i;
        }
    }
    return worst;
}

/* Counts failures per kind so a systematic error does not flood the log. */
typedef struct kind_stats {
    const char *kind;
    int checked, failed;
    int uncompared; /* FullGrad maps whose routing the engine does not share */
    double worst;
} kind_stats;

#define MAX_KINDS 64
static kind_stats stats[MAX_KINDS];

static kind_stats *
stats_for(const char *kind)
{
    for (int i = 0; i < MAX_KINDS; i++) {
        if (!stats[i].kind) {
            stats[i].kind = kind;
            return &stats[i];
        }
        if (strcmp(stats[i].kind, kind) == 0)
            return &stats[i];
    }
    return &stats[MAX_KINDS - 1];
}

static void
compare(const char *cs, const record *r, const float *engine, double tolerance, int absolute)
{
    kind_stats *st = stats_for(r->kind);
    size_t where;
    double d = difference(engine, r->data, r->count, absolute, &where);
    checks++;
    st->checked++;
    if (d > st->worst)
        st->worst = d;
    if (!(d <= tolerance)) {
        st->failed++;
        if (st->failed <= MAX_REPORTS)
            fail("%s: %s %s image %d class %d: difference %.3g > %.0e (element %zu: engine %.9g, "
                 "PyTorch %.9g, largest |ref| %.6g)",
                 cs, r->kind, r->name, r->image, r->class_index, d, tolerance, where,
                 (double) engine[where], (double) r->data[where], (double) max_abs(r->data, r->count));
        else
            failures++;
    }
}

static const record *
find_record(const reference *ref, const char *kind, int image)
{
    for (int i = 0; i < ref->n_records; i++)
        if (strcmp(ref->records[i].kind, kind) == 0 && ref->records[i].image == image)
            return &ref->records[i];
    return NULL;
}

static int
argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

static void
check_layers(const char *cs, const cam_model *model, const reference *ref)
{
    /* The reference lists the conv activations (Keras' layers); the engine lists every
     * explainable tensor (also pooling and normalisation outputs): the reference's
     * layers must appear in the engine's list, in order, with the same shapes. */
    int next = 0, n_layers = cam_model_n_layers(model);
    for (int i = 0; i < ref->n_records; i++) {
        const record *r = &ref->records[i];
        if (strcmp(r->kind, "layer") == 0) {
            cam_layer_info info;
            checks++;
            int found = 0;
            while (next < n_layers && !found) {
                if (cam_model_get_layer(model, next++, &info, NULL) == CAM_OK &&
                    strcmp(info.name, r->name) == 0)
                    found = 1;
            }
            if (!found)
                fail("%s: layer %s is not in the engine's list (in order)", cs, r->name);
            else if (info.channels != (int) r->data[0] || info.height != (int) r->data[1]
                     || info.width != (int) r->data[2])
                fail("%s: layer %s is %dx%dx%d, PyTorch says %dx%dx%d", cs, r->name,
                     info.channels, info.height, info.width, (int) r->data[0],
                     (int) r->data[1], (int) r->data[2]);
        } else if (strcmp(r->kind, "auto-layer") == 0) {
            const char *got = cam_model_auto_layer(model);
            checks++;
            if (!got || strcmp(got, r->name) != 0)
                fail("%s: automatic layer is %s, expected %s", cs, got ? got : "(null)", r->name);
        } else if (strcmp(r->kind, "supports-cam") == 0) {
            int want = r->data[0] != 0.0f;
            checks++;
            if (!cam_model_supports_cam(model) != !want)
                fail("%s: cam_model_supports_cam says %d, expected %d", cs,
                     cam_model_supports_cam(model), want);
        }
    }
}

/* Forward on the whole batch, then each image alone: bit-identical probabilities. */
static void
check_forward(const char *cs, cam_workspace *ws_batch, cam_workspace *ws1, const float *inputs,
              int n_images, size_t input_size, int n_classes, const reference *ref)
{
    cam_error err;
    float *probs = calloc((size_t) n_images * n_classes, sizeof *probs);
    float *logits = calloc((size_t) n_images * n_classes, sizeof *logits);
    float *p1 = calloc((size_t) n_classes, sizeof *p1);
    float *l1 = calloc((size_t) n_classes, sizeof *l1);
    if (!probs || !logits || !p1 || !l1) {
        fail("%s: out of memory", cs);
        goto out;
    }
    for (int img = 0; img < n_images; img++) {
        checks++;
        if (cam_forward(ws1, inputs + (size_t) img * input_size, 1, p1, l1, &err) != CAM_OK) {
            fail("%s: cam_forward (image %d alone): %s", cs, img, err.message);
            continue;
        }
        memcpy(probs + (size_t) img * n_classes, p1, n_classes * sizeof *p1);
        memcpy(logits + (size_t) img * n_classes, l1, n_classes * sizeof *l1);
    }
    /* The batch last: ws_batch keeps its activations for the tensor and gradient checks. */
    if (cam_forward(ws_batch, inputs, n_images, probs, logits, &err) != CAM_OK) {
        fail("%s: cam_forward (batch of %d): %s", cs, n_images, err.message);
        goto out;
    }
    for (int img = 0; img < n_images; img++) {
        const record *rp = find_record(ref, "probs", img), *rl = find_record(ref, "logits", img);
        float single[64];
        if (!rp || !rl || (int) rp->count != n_classes || n_classes > 64) {
            fail("%s: image %d: reference probabilities missing or of the wrong size", cs, img);
            continue;
        }
        compare(cs, rp, probs + (size_t) img * n_classes, PROB_TOLERANCE, 1);
        compare(cs, rl, logits + (size_t) img * n_classes, MAP_TOLERANCE, 0);
        /* bit-identical alone and in a batch */
        if (cam_forward(ws1, inputs + (size_t) img * input_size, 1, single, NULL, &err) != CAM_OK)
            continue;
        checks++;
        if (memcmp(single, probs + (size_t) img * n_classes, n_classes * sizeof(float)) != 0)
            fail("%s: image %d: probabilities differ between a batch of %d and a batch of 1", cs, img,
                 n_images);
    }
out:
    free(probs);
    free(logits);
    free(p1);
    free(l1);
}

static void
check_tensors(const char *cs, cam_workspace *ws_batch, const reference *ref)
{
    cam_error err;
    for (int i = 0; i < ref->n_records; i++) {
        const record *r = &ref->records[i];
        int is_tensor = strcmp(r->kind, "tensor") == 0;
        int is_grad = strncmp(r->kind, "grad-", 5) == 0 && (strcmp(r->kind, "grad-logit") == 0
                                                           || strcmp(r->kind, "grad-prob") == 0);
        float *out;
        cam_status st;
        if (!is_tensor && !is_grad)
            continue;
        out = malloc(r->count * sizeof *out);
        if (!out) {
            fail("%s: out of memory", cs);
            return;
        }
        for (size_t k = 0; k < r->count; k++)
            out[k] = NAN;
        if (is_tensor)
            st = cam_get_tensor(ws_batch, r->image, r->name, out, r->count, &err);
        else
            st = cam_backward(ws_batch, r->image, r->class_index,
                              strcmp(r->kind, "grad-logit") == 0 ? CAM_SCORE_LOGIT
                                                                : CAM_SCORE_PROBABILITY,
                              r->name, out, &err);
        if (st != CAM_OK) {
            kind_stats *s = stats_for(r->kind);
            s->checked++;
            s->failed++;
            if (s->failed <= MAX_REPORTS)
                fail("%s: %s %s image %d class %d: %s: %s", cs, r->kind, r->name, r->image,
                     r->class_index, cam_status_name(st), err.message);
            else
                failures++;
        } else {
            compare(cs, r, out, MAP_TOLERANCE, 0);
        }
        free(out);
    }
}

/* FullGrad's routing (kink-relu / kink-pool records) per image: 1 when the engine
 * routes every recorded unit as the reference's maps do, 0 when not (then every
 * recorded unit of the image is written to <reference>.routing, with the engine's
 * values, for make_methods.py --reroute). */
#define MAX_IMAGES 64
static int routed_as_reference[MAX_IMAGES];
static int routing_written; /* a .routing file was written (exit status 3) */

/* MaxPool: does the engine's window prefer element a over b (the first largest wins)? */
static int
prefers(const float *t, size_t a, size_t b)
{
    return a == b || t[a] > t[b] || (t[a] == t[b] && a < b);
}

static void
check_routing(const char *cs, cam_workspace *ws_batch, const reference *ref, const char *ref_path,
              int n_images)
{
    const size_t room = (size_t) 1 << 23;
    float *t = malloc(room * sizeof *t);
    int units[MAX_IMAGES] = {0};
    double closest[MAX_IMAGES];
    cam_error err;
    for (int img = 0; img < MAX_IMAGES; img++) {
        routed_as_reference[img] = 1;
        closest[img] = INFINITY;
    }
    if (!t) {
        fail("%s: out of memory", cs);
        return;
    }
    for (int pass = 0; pass < 2; pass++) { /* 0: check; 1: write the images routed otherwise */
        FILE *out = NULL;
        for (int i = 0; i < ref->n_records; i++) {
            const record *r = &ref->records[i];
            int relu = strcmp(r->kind, "kink-relu") == 0;
            if (!relu && strcmp(r->kind, "kink-pool") != 0)
                continue;
            if (r->image < 0 || r->image >= n_images || r->image >= MAX_IMAGES || r->ndim != 2
                || r->dims[1] != 6) {
                if (pass == 0)
                    fail("%s: %s %s: malformed record", cs, r->kind, r->name);
                continue;
            }
            if (pass == 1 && routed_as_reference[r->image])
                continue;
            if (cam_get_tensor(ws_batch, r->image, r->name, t, room, &err) != CAM_OK) {
                if (pass == 0)
                    fail("%s: %s: cam_get_tensor %s image %d: %s", cs, r->kind, r->name, r->image,
                         err.message);
                continue;
            }
            if (pass == 0)
                checks++;
            for (uint32_t row = 0; row < r->dims[0]; row++) {
                const float *v = r->data + (size_t) row * 6;
                size_t a = (size_t) v[0], b = (size_t) v[1], e = (size_t) v[4];
                int same;
                double margin;
                if (pass == 1) {
                    if (!out) {
                        char path[4096];
                        snprintf(path, sizeof path, "%s.routing", ref_path);
                        out = fopen(path, "w");
                        if (!out) {
                            fail("%s: cannot write %s", cs, path);
                            free(t);
                            return;
                        }
                        routing_written = 1;
                    }
                    fprintf(out, "%s %s %d %u %.9g %.9g\n", r->kind, r->name, r->image, row,
                            (double) t[a], relu ? 0.0 : (double) t[b]);
                    continue;
                }
                units[r->image]++;
                if (relu) {
                    /* the engine's value within the window of float64's, on the side
                     * the maps route it (v[4]: above the kink) */
                    double k = v[1], v64 = v[2], v32 = t[a];
                    if (!(fabs(v32 - v64) <= v[3]))
                        fail("%s: image %d: %s[%zu] is %.9g, float64's %.9g: farther than the "
                             "window %.3g", cs, r->image, r->name, a, v32, v64, (double) v[3]);
                    same = (v32 > k) == (v[4] != 0.0f);
                    margin = fabs(v64 - k) / v[3];
                    if (!same && routed_as_reference[r->image])
                        printf("%s: image %d: the engine's %s[%zu] is %.9g, float64's %.9g: the "
                               "other side of the kink at %g from the reference's maps\n",
                               cs, r->image, r->name, a, v32, v64, k);
                } else { /* the engine's window takes element e, as the maps */
                    if (!(fabs((double) t[a] - t[b]) <= v[3] + v[2]))
                        fail("%s: image %d: MaxPool input %s: elements %zu and %zu differ by "
                             "%.3g in the engine, %.3g in float64: more than the window %.3g",
                             cs, r->image, r->name, a, b, (double) t[a] - t[b], (double) v[2],
                             (double) v[3]);
                    same = prefers(t, e, a) && prefers(t, e, b);
                    margin = v[2] / v[3];
                    if (!same && routed_as_reference[r->image])
                        printf("%s: image %d: the engine's MaxPool on %s takes another element "
                               "than the reference's maps (%zu: %.9g, %zu: %.9g, maps: %zu)\n",
                               cs, r->image, r->name, a, (double) t[a], b, (double) t[b], e);
                }
                if (!same)
                    routed_as_reference[r->image] = 0;
                if (margin < closest[r->image])
                    closest[r->image] = margin;
            }
        }
        if (out)
            fclose(out);
    }
    for (int img = 0; img < n_images && img < MAX_IMAGES; img++)
        if (units[img])
            printf("%s: image %d: FullGrad's routing: %d near-kink units (the closest at %.2g of "
                   "its window), %s\n",
                   cs, img, units[img], closest[img],
                   routed_as_reference[img] ? "the engine routes all as the reference's maps"
                                            : "NOT as the reference's maps: written for rerouting");
    free(t);
}

static int
nontrivial(const float *m, size_t n)
{
    float lo = m[0], hi = m[0], big = max_abs(m, n);
    for (size_t i = 1; i < n; i++) {
        if (m[i] < lo)
            lo = m[i];
        if (m[i] > hi)
            hi = m[i];
    }
    return big > 0.0f && (double) hi - lo > NONTRIVIAL * big;
}

static void
check_maps(const char *cs, cam_workspace *ws1, const float *inputs, size_t input_size,
           const reference *ref)
{
    cam_error err;
    for (int i = 0; i < ref->n_records; i++) {
        const record *r = &ref->records[i];
        cam_explain_options opt = cam_explain_options_default(NULL);
        cam_explanation *ex = NULL;
        const record *rp;
        int top;
        char method[32], *layers[8] = {0}, names[256];
        const char *options = strchr(r->kind, '@');
        size_t len = options ? (size_t) (options - r->kind) : strlen(r->kind);
        if (len >= sizeof method)
            continue;
        memcpy(method, r->kind, len);
        method[len] = '\0';
        if (cam_method_from_name(method, &opt.method, NULL) != CAM_OK)
            continue;
        if (only_full_grad && opt.method != CAM_METHOD_FULL_GRAD)
            continue;
        if (opt.method == CAM_METHOD_FULL_GRAD && !strstr(r->kind, "@aug-smooth")) {
            if (r->image >= 0 && r->image < MAX_IMAGES && !routed_as_reference[r->image]) {
                kind_stats *s = stats_for(r->kind);
                s->uncompared++;
                continue;
            }
        }
        checks++;
        /* "<method>@<option>@...": eigen-smooth, aug-smooth (flip x zoom),
         * aug-smooth-brightness (flip x brightness), probability, seed=N */
        while (options) {
            const char *o = options + 1;
            options = strchr(o, '@');
            size_t n = options ? (size_t) (options - o) : strlen(o);
            if (n == 12 && strncmp(o, "eigen-smooth", n) == 0)
                opt.eigen_smooth = 1;
            else if (n == 10 && strncmp(o, "aug-smooth", n) == 0)
                opt.aug_smooth = CAM_AUG_SMOOTH_SCALES;
            else if (n == 21 && strncmp(o, "aug-smooth-brightness", n) == 0)
                opt.aug_smooth = CAM_AUG_SMOOTH_BRIGHTNESS;
            else if (n == 11 && strncmp(o, "probability", n) == 0)
                opt.target_score = CAM_SCORE_PROBABILITY;
            else if (n > 5 && strncmp(o, "seed=", 5) == 0)
                opt.seed = strtoull(o + 5, NULL, 10);
            else
                fail("%s: reference kind %s: unknown option", cs, r->kind);
        }
        /* a name with ',': the layers fused */
        snprintf(names, sizeof names, "%s", r->name);
        if (strchr(names, ',')) {
            int n = 0;
            for (char *t = strtok(names, ","); t && n < 7; t = strtok(NULL, ","))
                layers[n++] = t;
            opt.layers = (const char *const *) layers;
        }
        if (r->ndim != 2 || !nontrivial(r->data, r->count)) {
            fail("%s: reference %s %s image %d class %d is trivial (constant or zero) or not 2-D",
                 cs, r->kind, r->name, r->image, r->class_index);
            continue;
        }
        rp = find_record(ref, "probs", r->image);
        top = rp ? argmax(rp->data, (int) rp->count) : -2;
        /* the top class is also explained with class_index -1 */
        for (int pass = 0; pass < (r->class_index == top ? 2 : 1); pass++) {
            opt.class_index = pass ? -1 : r->class_index;
            opt.layer = r->name;
            if (cam_explain(ws1, inputs + (size_t) r->image * input_size, &opt, &ex, &err) != CAM_OK) {
                kind_stats *s = stats_for(r->kind);
                s->checked++;
                s->failed++;
                if (s->failed <= MAX_REPORTS)
                    fail("%s: cam_explain %s %s image %d class %d: %s", cs, r->kind, r->name,
                         r->image, opt.class_index, err.message);
                else
                    failures++;
                continue;
            }
            checks++;
            if (ex->map_height != (int) r->dims[0] || ex->map_width != (int) r->dims[1] || !ex->map)
                fail("%s: %s %s image %d: map %dx%d, expected %ux%u", cs, r->kind, r->name, r->image,
                     ex->map_height, ex->map_width, r->dims[0], r->dims[1]);
            else if (ex->class_index != r->class_index)
                fail("%s: %s image %d: explained class %d, expected %d", cs, r->kind, r->image,
                     ex->class_index, r->class_index);
            else if (strcmp(ex->layer, r->name) != 0)
                fail("%s: %s image %d: explained layer %s, expected %s", cs, r->kind, r->image,
                     ex->layer, r->name);
            else if (rp && !(fabs((double) ex->probability - rp->data[r->class_index]) <= PROB_TOLERANCE))
                fail("%s: %s image %d: probability %.8f, expected %.8f", cs, r->kind, r->image,
                     (double) ex->probability, (double) rp->data[r->class_index]);
            else
                compare(cs, r, ex->map, MAP_TOLERANCE, 0);
            cam_explanation_free(ex);
        }
    }
}

/* A model without the CAM structure must refuse CAM with an error, not a map. */
static void
check_cam_refused(const char *cs, cam_workspace *ws1, const float *input, const reference *ref)
{
    cam_error err = {0};
    cam_explain_options opt = cam_explain_options_default(NULL);
    cam_explanation *ex = NULL;
    const record *r = NULL;
    opt.method = CAM_METHOD_CAM;
    for (int i = 0; i < ref->n_records; i++)
        if (strcmp(ref->records[i].kind, "supports-cam") == 0)
            r = &ref->records[i];
    if (!r || r->data[0] != 0.0f)
        return;
    checks++;
    if (cam_explain(ws1, input, &opt, &ex, &err) == CAM_OK)
        fail("%s: CAM on a model without the CAM structure gave a map", cs);
    else if (err.message[0] == '\0')
        fail("%s: CAM refused without a message", cs);
    else
        printf("%s: CAM refused as expected: %s\n", cs, err.message);
    cam_explanation_free(ex);
}

static void
run_case(const char *onnx_path, const char *ref_path, const char *cs)
{
    reference ref;
    cam_model *model = NULL;
    cam_workspace *ws_batch = NULL, *ws1 = NULL;
    cam_error err;
    float *inputs = NULL;
    int n_images = 0, fails_before = failures;
    size_t input_size;

    if (!reference_read(ref_path, &ref)) {
        fail("%s: cannot read the reference %s", cs, ref_path);
        return;
    }
    if (cam_model_load(onnx_path, &model, &err) != CAM_OK) {
        fail("%s: cam_model_load(%s): %s", cs, onnx_path, err.message);
        reference_free(&ref);
        return;
    }
    input_size = cam_model_input_size(model);
    for (int i = 0; i < ref.n_records; i++)
        if (strcmp(ref.records[i].kind, "input") == 0 && ref.records[i].image >= n_images)
            n_images = ref.records[i].image + 1;
    inputs = calloc((size_t) n_images * input_size, sizeof *inputs);
    for (int i = 0; inputs && i < ref.n_records; i++) {
        const record *r = &ref.records[i];
        if (strcmp(r->kind, "input") != 0)
            continue;
        if (r->count != input_size) {
            fail("%s: input of %zu values, the model takes %zu", cs, r->count, input_size);
            goto out;
        }
        memcpy(inputs + (size_t) r->image * input_size, r->data, input_size * sizeof(float));
    }
    if (!inputs || cam_workspace_new(model, n_images, &ws_batch, &err) != CAM_OK ||
        cam_workspace_new(model, 1, &ws1, &err) != CAM_OK) {
        fail("%s: workspaces: %s", cs, err.message);
        goto out;
    }
    memset(stats, 0, sizeof stats);
    check_layers(cs, model, &ref);
    check_forward(cs, ws_batch, ws1, inputs, n_images, input_size, cam_model_n_classes(model), &ref);
    if (!only_full_grad)
        check_tensors(cs, ws_batch, &ref);
    check_routing(cs, ws_batch, &ref, ref_path, n_images);
    check_maps(cs, ws1, inputs, input_size, &ref);
    if (!only_full_grad)
        check_cam_refused(cs, ws1, inputs, &ref);
    for (int i = 0; i < MAX_KINDS && stats[i].kind; i++) {
        printf("%s: %-18s %4d compared, %3d failed, worst difference %.3g", cs, stats[i].kind,
               stats[i].checked, stats[i].failed, stats[i].worst);
        if (stats[i].uncompared)
            printf(", %d not compared (routing)", stats[i].uncompared);
        printf("\n");
    }
    printf("%s: %s (%d images, model %s)\n", cs, failures == fails_before ? "ok" : "FAILED", n_images,
           onnx_path);
out:
    free(inputs);
    cam_workspace_free(ws1);
    cam_workspace_free(ws_batch);
    cam_model_free(model);
    reference_free(&ref);
}

int
main(int argc, char **argv)
{
    FILE *manifest;
    char line[4096];
    int n_cases = 0;
    if (argc == 3 && strcmp(argv[2], "fullgrad") == 0)
        only_full_grad = 1;
    else if (argc != 2) {
        fprintf(stderr, "usage: %s MANIFEST [fullgrad] (written by tests/reference/make_reference.py; "
                "fullgrad: compare the FullGrad maps alone)\n", argv[0]);
        return 2;
    }
    manifest = fopen(argv[1], "r");
    if (!manifest) {
        fprintf(stderr, "%s: cannot open the manifest\n", argv[1]);
        return 1;
    }
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
    printf("%d cases, %d checks, %d failures\n", n_cases, checks, failures);
    if (!failures && routing_written) {
        printf("FullGrad maps not compared: the engine routes near-kink units otherwise than "
               "the reference's maps (*.routing written; make_methods.py --reroute, then again)\n");
        return 3;
    }
    return failures ? 1 : 0;
}
