/*
 * cam-heatmap-evaluate.c -- --evaluate: how good is the model, and how faithful are its
 * explanations, on a labelled data set.
 *
 * Classification: accuracy, per-class accuracy, confusion matrix (rows: true class,
 * columns: predicted class; ties in the probabilities go to the lower class index).
 *
 * Faithfulness, per method and for a random-map baseline, always for the PREDICTED class c
 * and on the model's input tensor (after preprocessing, at the input resolution H x W):
 *  - E: the method's raw map upsampled to H x W (bilinear, align_corners=False, the engine's
 *    renderer), ReLU for grad-cam-tutorial (as its renderer does), then min-max normalised
 *    to 0..1 over the H x W values (a constant map gives 0). Random baseline: E(p) uniform in
 *    [0,1) from splitmix64 seeded with seed + (index + 1) * 0x9E3779B97F4A7C15, the top 24 bits
 *    of each draw / 2^24, in row-major pixel order.
 *  - Masking happens on pixel values (0..255 before the model's scale/mean/std): a pixel u
 *    becomes u * E (all channels); "black" is pixel value 0 (the Fashion-MNIST background).
 *  - Y = softmax probability of c on the image, O = on the image multiplied by E.
 *    Average Drop = mean over images of max(0, Y - O) / Y (Chattopadhyay et al. 2018, lower
 *    is better); Increase in Confidence = share of images with O > Y (higher is better).
 *  - Deletion / insertion (Petsiuk et al. 2018): pixels ordered by decreasing E quantised to
 *    1/65536 (round(E * 65536): values equal but for rounding tie), ties in row-major order. For k = 0..K (K = --steps), n_k = round(k * H * W / K) (halves up).
 *    Deletion image k: the first n_k pixels set to black. Insertion image k: a black image
 *    with the first n_k pixels restored. AUC = trapezoidal area under p_k (probability of c)
 *    over the fraction k / K: sum_{k<K} (p_k + p_{k+1}) / (2K). Deletion: lower is better;
 *    insertion: higher is better. The JSON also holds the mean curves (p_k averaged over
 *    the images, k = 0..K), whose trapezoidal areas are the mean AUCs.
 *  - ROAD (Rong et al. 2022, remove and debias): for each removed share q of
 *    --road-percentiles (default 10..90 %), n_q = round(q * H * W / 100) pixels, the first
 *    n_q of the saliency order above (MoRF) or the last n_q (LeRF), are filled by noisy
 *    linear imputation (cli_road_impute, cam-heatmap-faithfulness.c: the weighted mean of
 *    the neighbours, solved as a sparse linear system, plus seeded Gaussian noise of
 *    --road-noise, default 0.01 on the 0..1 pixel scale); the score is the probability of
 *    c on the imputed image, summarised as its mean over the percentiles (per image, then
 *    over the images): ROAD MoRF (lower is better) and ROAD LeRF (higher is better).
 *  - map CPU ms: the thread CPU time of explanation_map (the map and its upsampling).
 * Methods: cam (if supported), grad-cam, grad-cam-tutorial by default; --method one, a
 * comma-separated list, or all (every method but the engine's random, cam if supported).
 * --report DIR hands all of it to cam-heatmap-report.c (an HTML page with the same numbers).
 */
#include "cam-heatmap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROGRAM "cam-heatmap"
#define MAX_BATCH 32

typedef struct method_entry {
    const char *name;
    cam_method method;
    gboolean random;
} method_entry;

typedef struct image_eval {
    gboolean ok;
    char *name;
    char *error;
    int label, predicted;
    float probability;      /* Y: probability of the predicted class */
    /* per method (n_methods) */
    gboolean *method_ok;
    char **method_error;
    float *masked;          /* O */
    float *deletion, *insertion;
    float *deletion_curve, *insertion_curve; /* n_methods x (steps + 1) */
    float *road_curves;     /* n_methods x 2 (MoRF, LeRF) x n_road_percentiles */
    double *map_seconds;    /* CPU time of each method's map */
} image_eval;

typedef struct eval_run {
    const cam_model *model;
    cli_dataset *ds;
    const cli_evaluate_options *opt;
    cam_preprocess_options pre;
    int first, count;
    int n_methods;
    method_entry methods[CAM_METHOD_COUNT + 1];
    char *layers[CAM_METHOD_COUNT + 1]; /* the layer each method used (NULL: none yet) */
    GMutex layer_lock;
    float mean[4], std[4];
    image_eval *images;
    gint next;
    cli_progress *progress;
} eval_run;

typedef struct worker_state {
    cam_workspace *ws;
    char ws_error[CAM_ERROR_MESSAGE_SIZE];
    float *input, *batch, *probs, *e;
    int *order;
    guint64 *keys;
    int capacity;           /* the workspace's batch */
    float *pixels, *imputed;/* ROAD: one image in pixel values (C x P), its imputed copy */
    guint8 *removed;
} worker_state;

static guint64 splitmix64(guint64 *state)
{
    guint64 z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Saliency order: decreasing E quantised to 1/65536 (values that are mathematically equal
 * but differ in the last bits from rounding tie), ties in row-major order. The sort key
 * packs both: (65536 - q) << 32 | index, sorted ascending. */
static int compare_keys(const void *a, const void *b)
{
    guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
    return x < y ? -1 : x > y;
}

static void saliency_order(const float *e, int n, int *order, guint64 *keys)
{
    for (int i = 0; i < n; i++) {
        double q = floor((double) e[i] * 65536.0 + 0.5);
        q = q < 0 ? 0 : q > 65536 ? 65536 : q;
        keys[i] = ((guint64) (65536 - (guint64) q) << 32) | (guint64) i;
    }
    qsort(keys, (size_t) n, sizeof *keys, compare_keys);
    for (int i = 0; i < n; i++) order[i] = (int) (keys[i] & 0xffffffffu);
}

static int argmax(const float *p, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (p[i] > p[best]) best = i;
    return best;
}

/* Probabilities of class c for n inputs, in chunks of at most MAX_BATCH. */
static gboolean forward_class(const eval_run *ev, worker_state *w, const float *inputs, int n,
                              int c, float *out, cam_error *err)
{
    size_t size = cam_model_input_size(ev->model);
    int nc = cam_model_n_classes(ev->model);
    for (int start = 0; start < n; start += w->capacity) {
        int m = MIN(w->capacity, n - start);
        if (cam_forward(w->ws, inputs + (size_t) start * size, m, w->probs, NULL, err) != CAM_OK)
            return FALSE;
        for (int k = 0; k < m; k++) out[start + k] = w->probs[(size_t) k * nc + c];
    }
    return TRUE;
}

static int step_count(int k, int pixels, int steps)
{
    return (int) (((gint64) 2 * k * pixels + steps) / (2 * (gint64) steps));
}

/* AUC of the deletion (insertion = FALSE) or insertion curve of class c for map e. */
static gboolean curve_auc(const eval_run *ev, worker_state *w, gboolean insertion, int c,
                          float *auc, float *curve_out, cam_error *err)
{
    int C = cam_model_input_channels(ev->model);
    int H = cam_model_input_height(ev->model), W = cam_model_input_width(ev->model);
    int P = H * W, K = ev->opt->steps;
    size_t size = (size_t) C * P;
    float *curve = g_new(float, K + 1);
    gboolean ok = TRUE;
    /* build and run the K + 1 images in chunks of MAX_BATCH */
    for (int start = 0; start <= K && ok; start += w->capacity) {
        int m = MIN(w->capacity, K + 1 - start);
        for (int b = 0; b < m; b++) {
            int k = start + b;
            int nk = step_count(k, P, K);
            float *img = w->batch + (size_t) b * size;
            for (int ch = 0; ch < C; ch++) {
                float black = -ev->mean[ch] / ev->std[ch];
                const float *src = w->input + (size_t) ch * P;
                float *dst = img + (size_t) ch * P;
                if (!insertion) {
                    memcpy(dst, src, (size_t) P * sizeof *dst);
                    for (int j = 0; j < nk; j++) dst[w->order[j]] = black;
                } else {
                    for (int p = 0; p < P; p++) dst[p] = black;
                    for (int j = 0; j < nk; j++) dst[w->order[j]] = src[w->order[j]];
                }
            }
        }
        ok = forward_class(ev, w, w->batch, m, c, curve + start, err);
    }
    if (ok) {
        double area = 0;
        for (int k = 0; k < K; k++) area += ((double) curve[k] + curve[k + 1]) / 2.0;
        *auc = (float) (area / K);
        memcpy(curve_out, curve, (size_t) (K + 1) * sizeof *curve);
    }
    g_free(curve);
    return ok;
}

/* The normalised map E of method m for class c, at the input resolution. */
static gboolean explanation_map(eval_run *ev, worker_state *w, int image_index, int m, int c,
                                cam_error *err)
{
    int H = cam_model_input_height(ev->model), W = cam_model_input_width(ev->model);
    const method_entry *me = &ev->methods[m];
    if (me->random) {
        guint64 state = ev->opt->seed + (guint64) (image_index + 1) * 0x9E3779B97F4A7C15ull;
        for (int p = 0; p < H * W; p++)
            w->e[p] = (float) (splitmix64(&state) >> 40) * (1.0f / 16777216.0f);
        return TRUE;
    }
    cam_explain_options eo = cam_explain_options_default(ev->model);
    eo.method = me->method;
    eo.class_index = c;
    if (ev->opt->layer) eo.layer = ev->opt->layer;
    if (ev->opt->layers) eo.layers = ev->opt->layers;
    eo.seed = ev->opt->seed; /* smooth-grad-cam++, ss-cam: their noise */
    cam_explanation *ex;
    if (cam_explain(w->ws, w->input, &eo, &ex, err) != CAM_OK) return FALSE;
    g_mutex_lock(&ev->layer_lock);
    if (!ev->layers[m]) ev->layers[m] = g_strdup(ex->layer);
    g_mutex_unlock(&ev->layer_lock);
    cam_render_options ro = cam_render_options_default();
    ro.upsample = CAM_UPSAMPLE_BILINEAR;
    ro.relu = me->method == CAM_METHOD_GRAD_CAM_TUTORIAL;
    ro.normalize = CAM_NORMALIZE_MINMAX_OUTPUT;
    ro.n_threads = 1;
    cam_renderer *r;
    cam_status st = cam_renderer_new(ex->map, ex->map_width, ex->map_height, W, H, &ro, &r, err);
    cam_explanation_free(ex);
    if (st != CAM_OK) return FALSE;
    cam_rect all = {0, 0, W, H};
    st = cam_renderer_values_rect(r, all, CAM_VALUES_NORMALIZED, w->e, (size_t) W, err);
    cam_renderer_free(r);
    return st == CAM_OK;
}

static double thread_cpu_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ROAD (Rong et al. 2022): for each percentile q (removed share) and order (MoRF: the
 * n_q = round(q * P / 100) pixels first in the saliency order; LeRF: the n_q last), the
 * probability of class c on the image with those pixels removed and filled by noisy
 * linear imputation (cli_road_impute, on pixel values scaled to 0..1, noise sigma
 * --road-noise). The noise stream of (image index, order o, percentile number q) is seeded
 * with seed + (index + 1) * 0x9E3779B97F4A7C15 + (2 q + o + 1) * 0xD1B54A32D192ED03 (the
 * same for every method: common random numbers). curve[o * n + q]. */
static gboolean road_curves(const eval_run *ev, worker_state *w, int image_index, int c,
                            float *curve, cam_error *err)
{
    int C = cam_model_input_channels(ev->model);
    int H = cam_model_input_height(ev->model), W = cam_model_input_width(ev->model);
    int P = H * W, n = ev->opt->n_road_percentiles;
    size_t size = (size_t) C * P;
    double scale = 1.0; /* model input -> pixel value on the 0..1 scale: (x * sd + mu) / s */
    cam_input_spec spec;
    if (cam_input_spec_from_model(ev->model, &spec, NULL) == CAM_OK && spec.scale > 0)
        scale = spec.scale * 255.0;
    for (int ch = 0; ch < C; ch++)
        for (int p = 0; p < P; p++)
            w->pixels[(size_t) ch * P + p] =
                (float) ((w->input[(size_t) ch * P + p] * ev->std[ch] + ev->mean[ch]) / scale);
    int total = 2 * n, done = 0;
    while (done < total) {
        int m = MIN(w->capacity, total - done);
        for (int b = 0; b < m; b++) {
            int o = (done + b) / n, q = (done + b) % n;
            int nq = (int) (((gint64) 2 * (gint64) ev->opt->road_percentiles[q] * P + 100) / 200);
            memset(w->removed, 0, (size_t) P);
            for (int j = 0; j < nq; j++) w->removed[w->order[o == 0 ? j : P - 1 - j]] = 1;
            guint64 seed = ev->opt->seed + (guint64) (image_index + 1) * 0x9E3779B97F4A7C15ull +
                           (guint64) (2 * q + o + 1) * 0xD1B54A32D192ED03ull;
            GError *error = NULL;
            if (!cli_road_impute(w->pixels, C, H, W, w->removed, ev->opt->road_noise, seed,
                                 w->imputed, &error)) {
                g_snprintf(err->message, sizeof err->message, "%s", error->message);
                g_error_free(error);
                return FALSE;
            }
            float *dst = w->batch + (size_t) b * size;
            for (int ch = 0; ch < C; ch++)
                for (int p = 0; p < P; p++)
                    dst[(size_t) ch * P + p] =
                        (float) ((w->imputed[(size_t) ch * P + p] * scale - ev->mean[ch]) /
                                 ev->std[ch]);
        }
        if (!forward_class(ev, w, w->batch, m, c, curve + done, err)) return FALSE;
        done += m;
    }
    return TRUE;
}

static void evaluate_one(eval_run *ev, worker_state *w, int i)
{
    image_eval *ie = &ev->images[i];
    int index = ev->first + i;
    cli_image image = {0};
    GError *error = NULL;
    cam_error err = {0};
    ie->method_ok = g_new0(gboolean, ev->n_methods);
    ie->method_error = g_new0(char *, ev->n_methods);
    ie->masked = g_new0(float, ev->n_methods);
    ie->deletion = g_new0(float, ev->n_methods);
    ie->insertion = g_new0(float, ev->n_methods);
    ie->deletion_curve = g_new0(float, (size_t) ev->n_methods * (ev->opt->steps + 1));
    ie->insertion_curve = g_new0(float, (size_t) ev->n_methods * (ev->opt->steps + 1));
    ie->road_curves = g_new0(float, (size_t) ev->n_methods * 2 * MAX(1, ev->opt->n_road_percentiles));
    ie->map_seconds = g_new0(double, ev->n_methods);
    if (!cli_dataset_get(ev->ds, index, &image, &ie->label, &ie->name, &error)) {
        ie->error = g_strdup(error->message);
        if (!ie->name) ie->name = g_strdup_printf("#%d", index);
        g_error_free(error);
        return;
    }
    if (!w->ws) {
        ie->error = g_strdup_printf("%s: %s", ie->name, w->ws_error);
        goto out;
    }
    cam_image ci = cli_image_as_cam(&image);
    if (cam_preprocess(ev->model, &ci, &ev->pre, w->input, NULL, &err) != CAM_OK ||
        cam_forward(w->ws, w->input, 1, w->probs, NULL, &err) != CAM_OK) {
        ie->error = g_strdup_printf("%s: %s", ie->name, err.message);
        goto out;
    }
    int nc = cam_model_n_classes(ev->model);
    ie->predicted = argmax(w->probs, nc);
    ie->probability = w->probs[ie->predicted];
    ie->ok = TRUE;
    if (!ev->opt->faithfulness) goto out;

    int C = cam_model_input_channels(ev->model);
    int P = cam_model_input_height(ev->model) * cam_model_input_width(ev->model);
    int c = ie->predicted;
    for (int m = 0; m < ev->n_methods; m++) {
        double t0 = thread_cpu_seconds();
        if (!explanation_map(ev, w, index, m, c, &err)) goto method_failed;
        ie->map_seconds[m] = thread_cpu_seconds() - t0;
        /* O: the image multiplied by E, in pixel values */
        for (int ch = 0; ch < C; ch++) {
            const float *src = w->input + (size_t) ch * P;
            float *dst = w->batch + (size_t) ch * P;
            float mu = ev->mean[ch], sd = ev->std[ch];
            for (int p = 0; p < P; p++) dst[p] = ((src[p] * sd + mu) * w->e[p] - mu) / sd;
        }
        if (!forward_class(ev, w, w->batch, 1, c, &ie->masked[m], &err)) goto method_failed;
        saliency_order(w->e, P, w->order, w->keys);
        size_t at = (size_t) m * (ev->opt->steps + 1);
        if (!curve_auc(ev, w, FALSE, c, &ie->deletion[m], ie->deletion_curve + at, &err))
            goto method_failed;
        if (!curve_auc(ev, w, TRUE, c, &ie->insertion[m], ie->insertion_curve + at, &err))
            goto method_failed;
        if (ev->opt->n_road_percentiles > 0 &&
            !road_curves(ev, w, index, c,
                         ie->road_curves + (size_t) m * 2 * ev->opt->n_road_percentiles, &err))
            goto method_failed;
        ie->method_ok[m] = TRUE;
        continue;
    method_failed:
        ie->method_error[m] = g_strdup_printf("%s: %s: %s", ie->name, ev->methods[m].name,
                                              err.message);
    }
out:
    cli_image_clear(&image);
}

static gpointer eval_worker(gpointer data)
{
    eval_run *ev = data;
    worker_state w = {0};
    cam_error err = {0};
    size_t size = cam_model_input_size(ev->model);
    int batch = MIN(MAX_BATCH, MAX(ev->opt->steps + 1, 2 * ev->opt->n_road_percentiles));
    w.capacity = batch;
    /* what the forward passes and every method's map need (the methods share the layer) */
    const char *layer1[] = {ev->opt->layer, NULL};
    const char *const *layers = ev->opt->layers ? ev->opt->layers : layer1;
    if (cam_workspace_new_for_layers(ev->model, batch, layers, &w.ws, &err) != CAM_OK)
        g_strlcpy(w.ws_error, err.message, sizeof w.ws_error);
    w.input = g_new(float, size);
    w.batch = g_new(float, size * (size_t) batch);
    w.probs = g_new(float, (size_t) cam_model_n_classes(ev->model) * batch);
    int P = cam_model_input_height(ev->model) * cam_model_input_width(ev->model);
    w.e = g_new(float, P);
    w.order = g_new(int, P);
    w.keys = g_new(guint64, P);
    w.pixels = g_new(float, size);
    w.imputed = g_new(float, size);
    w.removed = g_new(guint8, P);
    for (;;) {
        int i = g_atomic_int_add(&ev->next, 1);
        if (i >= ev->count) break;
        evaluate_one(ev, &w, i);
        cli_progress_step(ev->progress);
    }
    cam_workspace_free(w.ws);
    g_free(w.input);
    g_free(w.batch);
    g_free(w.probs);
    g_free(w.e);
    g_free(w.order);
    g_free(w.keys);
    g_free(w.pixels);
    g_free(w.imputed);
    g_free(w.removed);
    return NULL;
}

/* ---- summary ------------------------------------------------------------ */

typedef struct method_summary {
    int images;
    double average_drop, increase, deletion, insertion;
    double *deletion_curve, *insertion_curve; /* steps + 1: mean probability at each step */
    double road_morf, road_lerf;              /* mean over images and percentiles */
    double *road_curve;                       /* 2 x percentiles: MoRF, then LeRF */
    double map_seconds;                       /* mean CPU time of the map */
} method_summary;

static void summarise(const eval_run *ev, method_summary *ms)
{
    int points = ev->opt->steps + 1;
    for (int m = 0; m < ev->n_methods; m++) {
        method_summary s = {0};
        s.deletion_curve = g_new0(double, points);
        s.insertion_curve = g_new0(double, points);
        int nr = ev->opt->n_road_percentiles;
        s.road_curve = g_new0(double, 2 * MAX(1, nr));
        for (int i = 0; i < ev->count; i++) {
            const image_eval *ie = &ev->images[i];
            if (!ie->ok || !ie->method_ok[m]) continue;
            float y = ie->probability, o = ie->masked[m];
            s.images++;
            s.average_drop += y > 0 ? MAX(0.0, (double) y - o) / y : 0.0;
            s.increase += o > y ? 1.0 : 0.0;
            s.deletion += ie->deletion[m];
            s.insertion += ie->insertion[m];
            s.map_seconds += ie->map_seconds[m];
            for (int k = 0; k < 2 * nr; k++)
                s.road_curve[k] += ie->road_curves[(size_t) m * 2 * nr + k];
            for (int k = 0; k < points; k++) {
                s.deletion_curve[k] += ie->deletion_curve[(size_t) m * points + k];
                s.insertion_curve[k] += ie->insertion_curve[(size_t) m * points + k];
            }
        }
        if (s.images) {
            s.average_drop /= s.images;
            s.increase /= s.images;
            s.deletion /= s.images;
            s.insertion /= s.images;
            s.map_seconds /= s.images;
            for (int k = 0; k < 2 * nr; k++) s.road_curve[k] /= s.images;
            for (int k = 0; k < nr; k++) {
                s.road_morf += s.road_curve[k] / nr;
                s.road_lerf += s.road_curve[nr + k] / nr;
            }
            for (int k = 0; k < points; k++) {
                s.deletion_curve[k] /= s.images;
                s.insertion_curve[k] /= s.images;
            }
        }
        ms[m] = s;
    }
}

static void json_ratio(GString *out, int num, int den)
{
    if (den > 0)
        cli_json_float(out, (double) num / den);
    else
        g_string_append(out, "null");
}

int cli_evaluate(const cam_model *model, cli_dataset *ds, const cli_evaluate_options *opt)
{
    eval_run ev = {0};
    ev.model = model;
    ev.ds = ds;
    ev.opt = opt;
    cam_error err = {0};

    if (opt->report_dir && g_file_test(opt->report_dir, G_FILE_TEST_EXISTS) &&
        !g_file_test(opt->report_dir, G_FILE_TEST_IS_DIR)) {
        fprintf(stderr, "%s: --report %s: exists and is not a folder\n", PROGRAM,
                opt->report_dir);
        return CLI_EXIT_USAGE;
    }

    /* preprocessing: raw data sets are in the model's own distribution: no inversion */
    ev.pre = cam_preprocess_options_for_model(model);
    ev.pre.invert = cli_dataset_get_format(ds) == CLI_DATASET_FOLDERS ? CAM_INVERT_AUTO
                                                                      : CAM_INVERT_OFF;
    if (opt->invert && cam_invert_from_name(opt->invert, &ev.pre.invert, &err) != CAM_OK) {
        fprintf(stderr, "%s: --invert: %s\n", PROGRAM, err.message);
        return CLI_EXIT_USAGE;
    }
    if (opt->aspect && cam_aspect_from_name(opt->aspect, &ev.pre.aspect, &err) != CAM_OK) {
        fprintf(stderr, "%s: --aspect: %s\n", PROGRAM, err.message);
        return CLI_EXIT_USAGE;
    }
    cam_input_spec spec;
    if (cam_input_spec_from_model(model, &spec, &err) != CAM_OK) {
        fprintf(stderr, "%s: %s\n", PROGRAM, err.message);
        return CLI_EXIT_MODEL;
    }
    for (int ch = 0; ch < 4; ch++) {
        ev.mean[ch] = spec.mean[ch];
        ev.std[ch] = spec.std[ch];
    }

    /* methods */
    if (opt->method && !strcmp(opt->method, "all")) {
        /* every method (cam where the model supports it); the engine's random method is
         * left out: the evaluation's own random-map baseline comes last */
        for (int m = 0; m < CAM_METHOD_COUNT; m++) {
            if (m == CAM_METHOD_RANDOM) continue;
            if (m == CAM_METHOD_CAM && !cam_model_supports_cam(model)) continue;
            ev.methods[ev.n_methods++] =
                (method_entry){cam_method_name((cam_method) m), (cam_method) m, FALSE};
        }
    } else if (opt->method) {
        char **names = g_strsplit(opt->method, ",", -1);
        for (int i = 0; names[i]; i++) {
            cam_method m;
            if (cam_method_from_name(names[i], &m, &err) != CAM_OK) {
                fprintf(stderr, "%s: --method: %s\n", PROGRAM, err.message);
                g_strfreev(names);
                return CLI_EXIT_USAGE;
            }
            if (m == CAM_METHOD_CAM && !cam_model_supports_cam(model)) {
                fprintf(stderr,
                        "%s: --method cam: model %s has no conv -> global average pool -> "
                        "dense structure; use --method grad-cam\n",
                        PROGRAM, cam_model_get_info(model)->name);
                g_strfreev(names);
                return CLI_EXIT_USAGE;
            }
            gboolean seen = FALSE;
            for (int k = 0; k < ev.n_methods; k++) seen |= ev.methods[k].method == m;
            if (seen) {
                fprintf(stderr, "%s: --method: %s is named twice\n", PROGRAM, names[i]);
                g_strfreev(names);
                return CLI_EXIT_USAGE;
            }
            ev.methods[ev.n_methods++] = (method_entry){cam_method_name(m), m, FALSE};
        }
        g_strfreev(names);
    } else {
        /* without --method: the original three (the others one at a time, with --method;
         * several cost many passes per image) */
        for (int m = 0; m <= CAM_METHOD_GRAD_CAM_TUTORIAL; m++) {
            if (m == CAM_METHOD_CAM && !cam_model_supports_cam(model)) continue;
            ev.methods[ev.n_methods++] =
                (method_entry){cam_method_name((cam_method) m), (cam_method) m, FALSE};
        }
    }
    ev.methods[ev.n_methods++] = (method_entry){"random", CAM_METHOD_COUNT, TRUE};

    /* the slice */
    int size = cli_dataset_size(ds);
    if (opt->offset >= size) {
        fprintf(stderr, "%s: --offset %d: the data set has only %d images\n", PROGRAM,
                opt->offset, size);
        return CLI_EXIT_USAGE;
    }
    ev.first = opt->offset;
    ev.count = size - opt->offset;
    if (opt->limit > 0 && opt->limit < ev.count) ev.count = opt->limit;
    ev.images = g_new0(image_eval, ev.count);
    g_mutex_init(&ev.layer_lock);

    int jobs = MAX(1, MIN(opt->jobs, ev.count));
    cam_set_blas_threads(jobs > 1 ? 1 : 0);
    ev.progress = cli_progress_new("evaluate", ev.count, opt->progress);
    if (jobs == 1) {
        eval_worker(&ev);
    } else {
        GThread **threads = g_new(GThread *, jobs);
        for (int t = 0; t < jobs; t++) threads[t] = g_thread_new("evaluate", eval_worker, &ev);
        for (int t = 0; t < jobs; t++) g_thread_join(threads[t]);
        g_free(threads);
    }
    cli_progress_free(ev.progress);

    /* classification */
    int nc = cam_model_n_classes(model);
    int *confusion = g_new0(int, (size_t) nc * nc);
    int *class_images = g_new0(int, nc), *class_correct = g_new0(int, nc);
    int evaluated = 0, correct = 0, failed = 0;
    for (int i = 0; i < ev.count; i++) {
        const image_eval *ie = &ev.images[i];
        if (!ie->ok) {
            fprintf(stderr, "%s: %s\n", PROGRAM, ie->error);
            failed++;
            continue;
        }
        evaluated++;
        confusion[(size_t) ie->label * nc + ie->predicted]++;
        class_images[ie->label]++;
        if (ie->label == ie->predicted) {
            correct++;
            class_correct[ie->label]++;
        }
        for (int m = 0; m < ev.n_methods; m++) {
            if (opt->faithfulness && !ie->method_ok[m]) {
                fprintf(stderr, "%s: %s\n", PROGRAM, ie->method_error[m]);
                failed++;
            }
        }
    }
    method_summary ms[CAM_METHOD_COUNT + 1];
    summarise(&ev, ms);
    const cam_model_info *info = cam_model_get_info(model);

    /* table */
    if (!opt->quiet && !(opt->json_path && !strcmp(opt->json_path, "-"))) {
        printf("Model %s (%s)\nData set: %s, split %s, images %d..%d: %d evaluated, %d failed\n\n",
               info->name, info->origin, cli_dataset_describe(ds), opt->split, ev.first,
               ev.first + ev.count - 1, evaluated, failed);
        printf("Accuracy: %.2f%% (%d/%d)\n\n", evaluated ? 100.0 * correct / evaluated : 0.0,
               correct, evaluated);
        printf("%-4s %-20s %8s %8s %9s\n", "#", "class", "images", "correct", "accuracy");
        for (int c = 0; c < nc; c++) {
            printf("%-4d %-20s %8d %8d", c, cam_model_class_label(model, c), class_images[c],
                   class_correct[c]);
            if (class_images[c])
                printf(" %8.2f%%\n", 100.0 * class_correct[c] / class_images[c]);
            else
                printf(" %9s\n", "-");
        }
        printf("\nConfusion matrix (rows: true class, columns: predicted class)\n%-4s", "");
        for (int c = 0; c < nc; c++) printf(" %5d", c);
        putchar('\n');
        for (int r = 0; r < nc; r++) {
            printf("%-4d", r);
            for (int c = 0; c < nc; c++) printf(" %5d", confusion[(size_t) r * nc + c]);
            putchar('\n');
        }
        if (opt->faithfulness) {
            printf("\nFaithfulness on the predicted class (%d steps, baseline black, random "
                   "seed %" G_GUINT64_FORMAT ")\n",
                   opt->steps, opt->seed);
            if (opt->n_road_percentiles > 0) {
                printf("ROAD: noisy linear imputation (noise %g), removed shares", opt->road_noise);
                for (int k = 0; k < opt->n_road_percentiles; k++)
                    printf("%s%g%%", k ? ", " : " ", opt->road_percentiles[k]);
                putchar('\n');
            }
            printf("%-26s %-28s %7s %13s %11s %13s %14s %10s %10s %12s\n", "method", "layer",
                   "images", "average drop", "increase", "deletion AUC", "insertion AUC",
                   "ROAD MoRF", "ROAD LeRF", "map CPU ms");
            for (int m = 0; m < ev.n_methods; m++) {
                printf("%-26s %-28s %7d %12.2f%% %10.2f%% %13.4f %14.4f", ev.methods[m].name,
                       ev.methods[m].random ? "-" : ev.layers[m] ? ev.layers[m] : "",
                       ms[m].images, 100.0 * ms[m].average_drop, 100.0 * ms[m].increase,
                       ms[m].deletion, ms[m].insertion);
                if (opt->n_road_percentiles > 0)
                    printf(" %10.4f %10.4f", ms[m].road_morf, ms[m].road_lerf);
                else
                    printf(" %10s %10s", "-", "-");
                printf(" %12.3f\n", 1000.0 * ms[m].map_seconds);
            }
            printf("(average drop, deletion AUC and ROAD MoRF: lower is better; increase in "
                   "confidence, insertion AUC and ROAD LeRF: higher is better; map CPU ms: "
                   "the method's map per image, thread CPU time)\n");
        }
        fflush(stdout);
    }

    /* JSON */
    int code = failed ? CLI_EXIT_SOME_FAILED : CLI_EXIT_OK;
    if (opt->json_path) {
        GString *j = g_string_new(NULL);
        g_string_append_printf(j,
                               "{\"format\": \"cam-heatmap-evaluate\", \"version\": %d, "
                               "\"program\": ",
                               CLI_JSON_FORMAT_VERSION);
        cli_json_string(j, "cam-heatmap " CAM_VERSION_STRING);
        g_string_append(j, ",\n \"model\": ");
        cli_json_model(j, model, "");
        g_string_append(j, ",\n \"dataset\": {\"description\": ");
        cli_json_string(j, cli_dataset_describe(ds));
        g_string_append(j, ", \"split\": ");
        cli_json_string(j, opt->split);
        g_string_append_printf(j,
                               ", \"offset\": %d, \"images\": %d, \"evaluated\": %d, "
                               "\"failed\": %d, \"invert\": ",
                               ev.first, ev.count, evaluated, failed);
        cli_json_string(j, cam_invert_name(ev.pre.invert));
        g_string_append(j, ", \"aspect\": ");
        cli_json_string(j, cam_aspect_name(ev.pre.aspect));
        g_string_append_printf(j, "},\n \"correct\": %d, \"accuracy\": ", correct);
        json_ratio(j, correct, evaluated);
        g_string_append(j, ",\n \"classes\": [");
        for (int c = 0; c < nc; c++) {
            g_string_append_printf(j, "%s\n  {\"index\": %d, \"label\": ", c ? "," : "", c);
            cli_json_string(j, cam_model_class_label(model, c));
            g_string_append_printf(j, ", \"images\": %d, \"correct\": %d, \"accuracy\": ",
                                   class_images[c], class_correct[c]);
            json_ratio(j, class_correct[c], class_images[c]);
            g_string_append_c(j, '}');
        }
        g_string_append(j, "],\n \"confusion_matrix\": [");
        for (int r = 0; r < nc; r++) {
            g_string_append(j, r ? ",\n  [" : "\n  [");
            for (int c = 0; c < nc; c++)
                g_string_append_printf(j, "%s%d", c ? ", " : "", confusion[(size_t) r * nc + c]);
            g_string_append_c(j, ']');
        }
        g_string_append(j, "],\n \"faithfulness\": ");
        if (!opt->faithfulness) {
            g_string_append(j, "null");
        } else {
            g_string_append_printf(j,
                                   "{\"class\": \"predicted\", \"steps\": %d, \"baseline\": "
                                   "\"black\", \"seed\": %" G_GUINT64_FORMAT ", \"road\": ",
                                   opt->steps, opt->seed);
            if (opt->n_road_percentiles > 0) {
                g_string_append(j, "{\"imputation\": \"noisy-linear\", \"noise\": ");
                cli_json_float(j, opt->road_noise);
                g_string_append(j, ", \"percentiles\": [");
                for (int k = 0; k < opt->n_road_percentiles; k++) {
                    if (k) g_string_append(j, ", ");
                    cli_json_float(j, opt->road_percentiles[k]);
                }
                g_string_append(j, "]}");
            } else {
                g_string_append(j, "null");
            }
            g_string_append(j, ", \"methods\": [");
            for (int m = 0; m < ev.n_methods; m++) {
                g_string_append(j, m ? ",\n  {\"method\": " : "\n  {\"method\": ");
                cli_json_string(j, ev.methods[m].name);
                g_string_append(j, ", \"layer\": ");
                if (ev.methods[m].random)
                    g_string_append(j, "null");
                else
                    cli_json_string(j, ev.layers[m] ? ev.layers[m] : "");
                g_string_append_printf(j, ", \"images\": %d, \"average_drop\": ", ms[m].images);
                cli_json_float(j, ms[m].average_drop);
                g_string_append(j, ", \"increase_in_confidence\": ");
                cli_json_float(j, ms[m].increase);
                g_string_append(j, ", \"deletion_auc\": ");
                cli_json_float(j, ms[m].deletion);
                g_string_append(j, ", \"insertion_auc\": ");
                cli_json_float(j, ms[m].insertion);
                g_string_append(j, ", \"map_cpu_ms\": ");
                cli_json_float(j, 1000.0 * ms[m].map_seconds);
                if (opt->n_road_percentiles > 0) {
                    g_string_append(j, ", \"road_morf\": ");
                    cli_json_float(j, ms[m].road_morf);
                    g_string_append(j, ", \"road_lerf\": ");
                    cli_json_float(j, ms[m].road_lerf);
                    for (int o = 0; o < 2; o++) {
                        g_string_append(j, o ? ",\n   \"road_lerf_curve\": ["
                                             : ",\n   \"road_morf_curve\": [");
                        for (int k = 0; k < opt->n_road_percentiles; k++) {
                            if (k) g_string_append(j, ", ");
                            cli_json_float(j, ms[m].road_curve[o * opt->n_road_percentiles + k]);
                        }
                        g_string_append_c(j, ']');
                    }
                }
                for (int curve = 0; curve < 2; curve++) {
                    const double *v = curve ? ms[m].insertion_curve : ms[m].deletion_curve;
                    g_string_append(j, curve ? ",\n   \"insertion_curve\": ["
                                             : ",\n   \"deletion_curve\": [");
                    for (int k = 0; k <= opt->steps; k++) {
                        if (k) g_string_append(j, ", ");
                        cli_json_float(j, v[k]);
                    }
                    g_string_append_c(j, ']');
                }
                g_string_append_c(j, '}');
            }
            g_string_append(j, "]}");
        }
        g_string_append(j, ",\n \"failures\": [");
        gboolean first = TRUE;
        for (int i = 0; i < ev.count; i++) {
            const image_eval *ie = &ev.images[i];
            for (int m = -1; m < ev.n_methods; m++) {
                const char *msg = m < 0 ? ie->error : ie->method_error[m];
                if (!msg) continue;
                g_string_append(j, first ? "\n  {\"image\": " : ",\n  {\"image\": ");
                first = FALSE;
                cli_json_string(j, ie->name);
                g_string_append(j, ", \"method\": ");
                if (m < 0)
                    g_string_append(j, "null");
                else
                    cli_json_string(j, ev.methods[m].name);
                g_string_append(j, ", \"error\": ");
                cli_json_string(j, msg);
                g_string_append_c(j, '}');
            }
        }
        g_string_append(j, "]");
        if (opt->per_image) {
            g_string_append(j, ",\n \"per_image\": [");
            for (int i = 0; i < ev.count; i++) {
                const image_eval *ie = &ev.images[i];
                g_string_append_printf(j, "%s\n  {\"index\": %d, \"name\": ", i ? "," : "",
                                       ev.first + i);
                cli_json_string(j, ie->name);
                if (!ie->ok) {
                    g_string_append(j, ", \"status\": \"error\"}");
                    continue;
                }
                g_string_append_printf(j, ", \"label\": %d, \"predicted\": %d, \"probability\": ",
                                       ie->label, ie->predicted);
                cli_json_float(j, ie->probability);
                if (opt->faithfulness) {
                    g_string_append(j, ", \"methods\": {");
                    for (int m = 0; m < ev.n_methods; m++) {
                        if (m) g_string_append(j, ", ");
                        cli_json_string(j, ev.methods[m].name);
                        if (!ie->method_ok[m]) {
                            g_string_append(j, ": null");
                            continue;
                        }
                        g_string_append(j, ": {\"masked_probability\": ");
                        cli_json_float(j, ie->masked[m]);
                        g_string_append(j, ", \"deletion_auc\": ");
                        cli_json_float(j, ie->deletion[m]);
                        g_string_append(j, ", \"insertion_auc\": ");
                        cli_json_float(j, ie->insertion[m]);
                        int nr = opt->n_road_percentiles;
                        if (nr > 0) {
                            const float *rc = ie->road_curves + (size_t) m * 2 * nr;
                            double morf = 0, lerf = 0;
                            for (int k = 0; k < nr; k++) {
                                morf += (double) rc[k] / nr;
                                lerf += (double) rc[nr + k] / nr;
                            }
                            g_string_append(j, ", \"road_morf\": ");
                            cli_json_float(j, morf);
                            g_string_append(j, ", \"road_lerf\": ");
                            cli_json_float(j, lerf);
                        }
                        g_string_append_c(j, '}');
                    }
                    g_string_append_c(j, '}');
                }
                g_string_append_c(j, '}');
            }
            g_string_append(j, "]");
        }
        g_string_append(j, "}\n");
        GError *error = NULL;
        if (!cli_write_text(opt->json_path, j->str, j->len, &error)) {
            fprintf(stderr, "%s: --json: %s\n", PROGRAM, error->message);
            g_error_free(error);
            code = CLI_EXIT_INTERNAL;
        }
        g_string_free(j, TRUE);
    }

    if (opt->report_dir) {
        cli_report_method rm[CAM_METHOD_COUNT + 1];
        for (int m = 0; m < ev.n_methods; m++) {
            rm[m].name = ev.methods[m].name;
            rm[m].layer = ev.methods[m].random ? NULL : ev.layers[m] ? ev.layers[m] : "";
            rm[m].images = ms[m].images;
            rm[m].average_drop = ms[m].average_drop;
            rm[m].increase = ms[m].increase;
            rm[m].deletion = ms[m].deletion;
            rm[m].insertion = ms[m].insertion;
            rm[m].deletion_curve = ms[m].deletion_curve;
            rm[m].insertion_curve = ms[m].insertion_curve;
            rm[m].road = opt->n_road_percentiles > 0;
            rm[m].road_morf = ms[m].road_morf;
            rm[m].road_lerf = ms[m].road_lerf;
            rm[m].map_cpu_ms = 1000.0 * ms[m].map_seconds;
        }
        cli_report_image *samples = g_new0(cli_report_image, ev.count);
        for (int i = 0; i < ev.count; i++) {
            samples[i].index = ev.first + i;
            samples[i].ok = ev.images[i].ok;
            samples[i].label = ev.images[i].label;
            samples[i].predicted = ev.images[i].predicted;
            samples[i].probability = ev.images[i].probability;
        }
        cli_report r = {0};
        r.model = model;
        r.dataset = ds;
        r.split = opt->split;
        r.offset = ev.first;
        r.images = ev.count;
        r.evaluated = evaluated;
        r.failed = failed;
        r.correct = correct;
        r.class_images = class_images;
        r.class_correct = class_correct;
        r.confusion = confusion;
        r.faithfulness = opt->faithfulness;
        r.steps = opt->steps;
        r.seed = opt->seed;
        r.n_methods = ev.n_methods;
        r.methods = rm;
        r.samples = samples;
        /* galleries: the model's (or --method's) explanation, as single images show it */
        r.tiles.explain = cam_explain_options_default(model);
        if (opt->method && strcmp(opt->method, "all") != 0) { /* the first of a list */
            char **names = g_strsplit(opt->method, ",", 2);
            cam_method first;
            if (cam_method_from_name(names[0], &first, NULL) == CAM_OK)
                r.tiles.explain.method = first;
            g_strfreev(names);
        }
        if (opt->layers) r.tiles.explain.layers = opt->layers;
        if (opt->layer) r.tiles.explain.layer = opt->layer;
        r.tiles.preprocess = ev.pre;
        r.tiles.render.alpha = -1;
        r.tiles.render.output_kind = CAM_OUTPUT_BLEND;
        r.tiles.render.upsample = CAM_UPSAMPLE_BILINEAR;
        r.jobs = jobs;
        GError *error = NULL;
        if (!cli_report_write(opt->report_dir, &r, &error)) {
            fprintf(stderr, "%s: --report: %s\n", PROGRAM, error->message);
            g_error_free(error);
            code = CLI_EXIT_INTERNAL;
        } else if (!opt->quiet && !(opt->json_path && !strcmp(opt->json_path, "-"))) {
            printf("\nReport: %s/index.html\n", opt->report_dir);
        }
        g_free(samples);
    }
    for (int m = 0; m < ev.n_methods; m++) {
        g_free(ms[m].deletion_curve);
        g_free(ms[m].insertion_curve);
        g_free(ms[m].road_curve);
    }

    for (int i = 0; i < ev.count; i++) {
        image_eval *ie = &ev.images[i];
        g_free(ie->deletion_curve);
        g_free(ie->insertion_curve);
        g_free(ie->road_curves);
        g_free(ie->map_seconds);
        g_free(ie->name);
        g_free(ie->error);
        for (int m = 0; m < ev.n_methods && ie->method_error; m++) g_free(ie->method_error[m]);
        g_free(ie->method_error);
        g_free(ie->method_ok);
        g_free(ie->masked);
        g_free(ie->deletion);
        g_free(ie->insertion);
    }
    g_free(ev.images);
    g_free(confusion);
    g_free(class_images);
    g_free(class_correct);
    for (int m = 0; m < CAM_METHOD_COUNT + 1; m++) g_free(ev.layers[m]);
    g_mutex_clear(&ev.layer_lock);
    if (evaluated == 0) code = CLI_EXIT_SOME_FAILED;
    return code;
}
