/*
 * cam-explain.c -- the explanation framework: cam_explain and the map
 * normalisation helper.
 *
 * cam_explain checks the options, resolves the layer(s), runs the forward pass,
 * picks the class, and asks the method (methods/registry.c: one row and one
 * compute function per method, formulas in camengine.h) for the map of each
 * layer. One layer without augmentation: the method's map as it is. Several
 * layers or aug_smooth: each layer's map min-max normalised, upsampled to the
 * largest layer, averaged and normalised again (pytorch-grad-cam's
 * aggregate_multi_layers), once per augmented input (flipped and zoomed, or
 * flipped and brightened as pytorch-grad-cam's forward_augmentation_smoothing),
 * mapped back, averaged where seen. Every map is checked to be finite.
 */
#include "cam-workspace.h"

#include "cam-error.h"
#include "methods/cam-method.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cam_explain_options cam_explain_options_default(const cam_model *model)
{
    cam_explain_options opt;
    memset(&opt, 0, sizeof opt);
    opt.size = sizeof opt;
    opt.method = model ? cam_model_get_info(model)->default_method : CAM_METHOD_GRAD_CAM;
    opt.class_index = -1;
    opt.layer = NULL;
    opt.eigen_smooth = 0;
    opt.aug_smooth = 0;
    opt.target_score = CAM_SCORE_LOGIT;
    opt.layers = NULL;
    opt.seed = 0;
    return opt;
}

void cam_explanation_free(cam_explanation *ex)
{
    if (!ex)
        return;
    free(ex->probabilities);
    free(ex->layer);
    free(ex->map);
    if (ex->layers)
        for (int i = 0; i < ex->n_layers; i++)
            free(ex->layers[i]);
    free(ex->layers);
    free(ex);
}

/* The layer `name` (NULL or "": the default) of the explanation into *l, or 0
 * with *status/err set. `what` names the option in messages. */
static int resolve_layer(const cam_workspace *ws, const cam_method_def *def, const char *name,
                         const char *what, cam_layer *l, cam_status *status, cam_error *err)
{
    const cam_graph *g = ws->graph;
    const cam_model *model = ws->model;
    const char *model_name = model->info.name ? model->info.name : "?";
    name = name && name[0] ? name : NULL;
    *status = CAM_OK;

    if (def->flags & CAM_METHOD_WHOLE_NETWORK) { /* FullGrad: the input, whatever is named */
        if (!cam_model_layer_of(model, model->input, l)) {
            *status = cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                                    "cam_explain: %s needs a C x H x W image input; model '%s' "
                                    "has input '%s'",
                                    cam_method_name(def->method), model_name,
                                    g->tensors[model->input].name);
            return 0;
        }
        return 1;
    }
    if (def->flags & CAM_METHOD_NEEDS_CAM_HEAD) {
        if (!model->cam_head.present) {
            *status = cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                                    "cam_explain: model '%s' has no last conv -> global average "
                                    "pool -> dense structure, so CAM is undefined for it; use "
                                    "method grad-cam",
                                    model_name);
            return 0;
        }
        int t = model->cam_head.feature_tensor;
        if (name && strcmp(name, g->tensors[t].name) != 0) {
            *status = cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                                    "cam_explain: CAM is defined only on tensor '%s' (the input of "
                                    "the global average pool), not on %s '%s'; use grad-cam "
                                    "for other layers",
                                    g->tensors[t].name, what, name);
            return 0;
        }
        if (!cam_model_layer_of(model, t, l)) {
            *status = cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                                    "cam_explain: tensor '%s' cannot be explained",
                                    g->tensors[t].name);
            return 0;
        }
        return 1;
    }
    if (!name)
        name = model->info.default_layer;
    if (!name || !*name) {
        *status = cam_set_error(err, CAM_ERROR_NOT_FOUND,
                                "cam_explain: model '%s' has no layer to explain (no C x H x W "
                                "activation before the logits)",
                                model_name);
        return 0;
    }
    int t = cam_graph_find_tensor(g, name);
    if (t < 0) {
        *status = cam_set_error(err, CAM_ERROR_NOT_FOUND,
                                "cam_explain: %s '%s' is not a tensor of model '%s'", what, name,
                                model_name);
        return 0;
    }
    if (!cam_model_layer_of(model, t, l)) {
        *status = cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                                "cam_explain: %s '%s' is not a C x H x W activation (or "
                                "transformer tokens) before the logits of model '%s'",
                                what, name, model_name);
        return 0;
    }
    return 1;
}

/* Bilinear resize of an h x w map to H x W, as torch's interpolate
 * (align_corners=False, borders clamped), added times `scale` to out (double). */
static void add_resized(const float *map, int h, int w, int H, int W, double scale, double *out)
{
    for (int oy = 0; oy < H; oy++) {
        double sy = ((double)oy + 0.5) * ((double)h / H) - 0.5;
        if (sy < 0.0)
            sy = 0.0;
        int y0 = (int)sy;
        int y1 = y0 + (y0 < h - 1);
        double ly = sy - y0;
        for (int ox = 0; ox < W; ox++) {
            double sx = ((double)ox + 0.5) * ((double)w / W) - 0.5;
            if (sx < 0.0)
                sx = 0.0;
            int x0 = (int)sx;
            int x1 = x0 + (x0 < w - 1);
            double lx = sx - x0;
            double top = (1.0 - lx) * map[y0 * w + x0] + lx * map[y0 * w + x1];
            double bottom = (1.0 - lx) * map[y1 * w + x0] + lx * map[y1 * w + x1];
            out[(size_t)oy * W + ox] += scale * ((1.0 - ly) * top + ly * bottom);
        }
    }
}

/* Min-max normalisation of n doubles in place (constant: all zeros). */
static void normalise_doubles(double *v, size_t n)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < lo)
            lo = v[i];
        if (v[i] > hi)
            hi = v[i];
    }
    const double range = hi - lo;
    for (size_t i = 0; i < n; i++)
        v[i] = range > 0.0 ? (v[i] - lo) / range : 0.0;
}

/* What one cam_explain call works with. */
typedef struct explain_run {
    cam_workspace *ws;
    const cam_method_def *def;
    const cam_explain_options *opt;
    cam_layer *layers;
    char **names;
    int n_layers;
    int class_index;
    float *logits, *probs;   /* copies, of the unaugmented input */
    float *planes;           /* the largest layer's K x HW */
    int n_units;             /* progress: (augmented inputs) x layers */
} explain_run;

/* Progress (camengine.h, PROGRESS AND CANCELLING): the call's fraction is cut
 * into n_units equal units, one per (augmented input, layer); a unit's forward
 * pass takes this share of it, the method the rest (perturbation.c and
 * Smooth Grad-CAM++ split theirs further, pass by pass). */
static double forward_share(const cam_method_def *def)
{
    if (def->flags & CAM_METHOD_PERTURBS)
        return 0.05; /* tens to thousands of passes follow */
    if (def->flags & CAM_METHOD_RUNS_FORWARD)
        return 0.1;
    if (def->flags & CAM_METHOD_NEEDS_GRADIENT)
        return 0.4; /* one backward pass, a little dearer than the forward */
    return 0.9;
}

static void progress_unit(const explain_run *run, int unit, int method)
{
    const double lo = (double)unit / run->n_units, hi = (double)(unit + 1) / run->n_units;
    const double mid = lo + forward_share(run->def) / run->n_units;
    if (method)
        cam_progress_stage(run->ws, mid, unit + 1 == run->n_units ? 1.0 : hi);
    else
        cam_progress_stage(run->ws, lo, mid);
}

/* The method's map of layer i for the forward the workspace holds (of input). */
static cam_status layer_map(const explain_run *run, const float *input, int i, float *map,
                            cam_error *err)
{
    const cam_layer *layer = &run->layers[i];
    cam_method_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.ws = run->ws;
    ctx.input = input;
    ctx.layer = layer;
    ctx.class_index = run->class_index;
    ctx.score = run->opt->target_score;
    ctx.options = run->opt;
    ctx.activations = cam_executor_value(run->ws->exec, layer->tensor, 0);
    ctx.view = cam_layer_view_of(layer);
    ctx.planes = run->planes;
    ctx.layer_name = run->names[i];
    ctx.n_classes = run->ws->model->n_classes;
    ctx.logits = run->logits;
    ctx.probabilities = run->probs;
    cam_layer_to_planes(ctx.activations, &ctx.view, run->planes);
    cam_status st = run->def->compute(&ctx, map, err);
    if (st != CAM_OK)
        return st;
    for (size_t p = 0; p < ctx.view.spatial; p++)
        if (!isfinite(map[p]))
            return cam_set_error(err, CAM_ERROR_NUMERIC,
                                 "cam_explain: %s on layer '%s': the map is %s at row %zu, column "
                                 "%zu (the network's values overflow float)",
                                 cam_method_name(run->def->method), run->names[i], isnan(map[p]) ? "NaN" : "infinite",
                                 p / (size_t)layer->width, p % (size_t)layer->width);
    return CAM_OK;
}

/* AUGMENTATION SMOOTHING (camengine.h): the view count, and the factor and flip of view a. */
#define AUG_VIEWS 6
static const double aug_factors[3] = {0.9, 1.0, 1.1};

/* Where position i (of n, pixel centres at i + 0.5 of an image n wide) of the
 * original image lies in the image zoomed by s about its centre: c + s (i + 0.5 - c)
 * - 0.5, c = n / 2. s = 1 gives i exactly. */
static double zoomed_coordinate(int i, int n, double s)
{
    return 0.5 * n + s * ((double)i + 0.5 - 0.5 * n) - 0.5;
}

/* The input zoomed by s about its centre at the same size, flipped left-right if
 * flip: out(y, x) = in(c + (p - c) / s) at p = (y, x') with x' = w - 1 - x when
 * flipped, bilinear over pixel centres, pixels outside the image 0 (torch's
 * grid_sample, align_corners=False, padding_mode="zeros"). */
static void zoom_input(const float *in, int channels, int h, int w, double s, int flip,
                       float *out)
{
    for (int y = 0; y < h; y++) {
        const double sy = zoomed_coordinate(y, h, 1.0 / s);
        const double fy = floor(sy);
        const int y0 = (int)fy;
        const double ly = sy - fy;
        for (int x = 0; x < w; x++) {
            const double sx = zoomed_coordinate(flip ? w - 1 - x : x, w, 1.0 / s);
            const double fx = floor(sx);
            const int x0 = (int)fx;
            const double lx = sx - fx;
            for (int c = 0; c < channels; c++) {
                const float *plane = in + (size_t)c * h * w;
                double v = 0.0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) {
                        const int yy = y0 + dy, xx = x0 + dx;
                        if (yy < 0 || yy >= h || xx < 0 || xx >= w)
                            continue;
                        v += (dy ? ly : 1.0 - ly) * (dx ? lx : 1.0 - lx) *
                             plane[(size_t)yy * w + xx];
                    }
                out[((size_t)c * h + y) * w + x] = (float)v;
            }
        }
    }
}

/* The map m (h x w) of a view zoomed by s and flipped if flip, mapped back to the
 * original image's positions and added to total, count += 1 where the view sees
 * the position: the map is sampled at the position's place in the view (bilinear
 * over cell centres, coordinates clamped to the outer cells' centres), seen when
 * that place lies inside the view's image, its cells' outer edges included (a
 * rounding slack of 1e-9 cell). */
static void add_mapped_back(const double *m, int h, int w, double s, int flip, double *total,
                            double *count)
{
    const double slack = 1e-9;
    for (int y = 0; y < h; y++) {
        double ty = zoomed_coordinate(y, h, s);
        if (ty < -0.5 - slack || ty > h - 0.5 + slack)
            continue;
        ty = ty < 0.0 ? 0.0 : ty > h - 1 ? h - 1 : ty;
        const int y0 = (int)ty, y1 = y0 + (y0 < h - 1);
        const double ly = ty - y0;
        for (int x = 0; x < w; x++) {
            double tx = zoomed_coordinate(flip ? w - 1 - x : x, w, s);
            if (tx < -0.5 - slack || tx > w - 0.5 + slack)
                continue;
            tx = tx < 0.0 ? 0.0 : tx > w - 1 ? w - 1 : tx;
            const int x0 = (int)tx, x1 = x0 + (x0 < w - 1);
            const double lx = tx - x0;
            const double top = (1.0 - lx) * m[(size_t)y0 * w + x0] + lx * m[(size_t)y0 * w + x1];
            const double bottom =
                (1.0 - lx) * m[(size_t)y1 * w + x0] + lx * m[(size_t)y1 * w + x1];
            total[(size_t)y * w + x] += (1.0 - ly) * top + ly * bottom;
            count[(size_t)y * w + x] += 1.0;
        }
    }
}

/* Several layers and/or augmentations: the averaged normalised maps into out
 * (out_h x out_w). map: room for the largest layer. */
static cam_status fused_map(const explain_run *run, const float *input, int out_h, int out_w,
                            float *map, float *out, cam_error *err)
{
    const size_t n_out = (size_t)out_h * out_w;
    const size_t in_size = cam_model_input_size(run->ws->model);
    const int in_c = run->ws->model->channels, in_h = run->ws->model->height,
              in_w = run->ws->model->width;
    const int mode = run->opt->aug_smooth;
    const int n_aug = mode ? AUG_VIEWS : 1;
    double *fused = malloc(n_out * sizeof *fused);
    double *total = calloc(n_out, sizeof *total);
    double *count = calloc(n_out, sizeof *count);
    float *augmented = mode ? malloc(in_size * sizeof *augmented) : NULL;
    cam_status st = CAM_OK;
    if (!fused || !total || !count || (mode && !augmented)) {
        st = cam_set_error(err, CAM_ERROR_NO_MEMORY, "cam_explain: out of memory");
        goto out;
    }
    for (int a = 0; a < n_aug; a++) {
        const int flip = a >= 3;
        const double f = aug_factors[a % 3];
        const float *x = input;
        if (mode == CAM_AUG_SMOOTH_SCALES) {
            zoom_input(input, in_c, in_h, in_w, f, flip, augmented);
            x = augmented;
        } else if (mode == CAM_AUG_SMOOTH_BRIGHTNESS) { /* ttach: HorizontalFlip, then Multiply */
            for (int c = 0; c < in_c; c++)
                for (int y = 0; y < in_h; y++) {
                    const float *src = input + ((size_t)c * in_h + y) * in_w;
                    float *dst = augmented + ((size_t)c * in_h + y) * in_w;
                    for (int xx = 0; xx < in_w; xx++)
                        dst[xx] = (float)(f * src[flip ? in_w - 1 - xx : xx]);
                }
            x = augmented;
        }
        for (size_t p = 0; p < n_out; p++)
            fused[p] = 0.0;
        for (int i = 0; i < run->n_layers; i++) {
            /* the forward of x: done by the caller for the unaugmented input's first layer */
            const int unit = a * run->n_layers + i;
            if (mode ? i == 0 || (run->def->flags & CAM_METHOD_RUNS_FORWARD)
                     : i > 0 && (run->def->flags & CAM_METHOD_RUNS_FORWARD)) {
                progress_unit(run, unit, 0);
                st = cam_forward(run->ws, x, 1, NULL, NULL, err);
                if (st != CAM_OK)
                    goto out;
            }
            progress_unit(run, unit, 1);
            st = layer_map(run, x, i, map, err);
            if (st != CAM_OK)
                goto out;
            const cam_layer *l = &run->layers[i];
            const size_t n = (size_t)l->height * l->width;
            cam_map_normalize(map, n, map, NULL); /* finite: checked by layer_map */
            add_resized(map, l->height, l->width, out_h, out_w, 1.0 / run->n_layers, fused);
        }
        normalise_doubles(fused, n_out);
        if (mode == CAM_AUG_SMOOTH_SCALES)
            add_mapped_back(fused, out_h, out_w, f, flip, total, count);
        else
            for (int y = 0; y < out_h; y++)
                for (int xx = 0; xx < out_w; xx++) {
                    total[(size_t)y * out_w + xx] +=
                        fused[(size_t)y * out_w + (flip ? out_w - 1 - xx : xx)];
                    count[(size_t)y * out_w + xx] += 1.0;
                }
    }
    for (size_t p = 0; p < n_out; p++) /* count >= 1: the unzoomed views see everything */
        out[p] = (float)(total[p] / count[p]);
out:
    free(fused);
    free(total);
    free(count);
    free(augmented);
    return st;
}

static cam_status explain(cam_workspace *ws, const float *input, const cam_explain_options *options,
                          cam_explanation **out, cam_error *err)
{
    cam_error local;
    if (!err) /* the methods read err->status */
        err = &local;
    if (out)
        *out = NULL;
    if (!ws)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_explain: workspace is NULL");
    if (!out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_explain: out is NULL");
    if (!input)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_explain: input is NULL");
    if (options && cam_check_options_size("cam_explain", "cam_explain_options",
                                          "cam_explain_options_default", options->size,
                                          sizeof *options, err) != CAM_OK)
        return CAM_ERROR_INVALID_ARGUMENT;
    cam_explain_options opt =
        options ? *options : cam_explain_options_default(ws->model);
    const cam_method_def *def = cam_method_def_of(opt.method);
    if (!def)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_explain: unknown method %d",
                             (int)opt.method);
    const cam_model *model = ws->model;
    const cam_graph *g = ws->graph;
    const int n_classes = model->n_classes;
    if (opt.class_index < -1 || opt.class_index >= n_classes)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_explain: class_index %d is outside -1..%d (-1 = top prediction)",
                             opt.class_index, n_classes - 1);
    if ((unsigned)opt.target_score >= CAM_SCORE_COUNT)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_explain: unknown target_score %d (logit or probability)",
                             (int)opt.target_score);
    if (opt.eigen_smooth != 0 && opt.eigen_smooth != 1)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_explain: eigen_smooth is %d, expected 0 or 1", opt.eigen_smooth);
    if (opt.aug_smooth < CAM_AUG_SMOOTH_NONE || opt.aug_smooth >= CAM_AUG_SMOOTH_COUNT)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_explain: aug_smooth is %d, expected 0 (none), 1 (flip x zoom "
                             "0.9, 1, 1.1) or 2 (flip x brightness 0.9, 1, 1.1)",
                             opt.aug_smooth);

    if ((def->flags & CAM_METHOD_WHOLE_NETWORK) && !ws->backward_to_input) {
        /* a workspace planned for other layers does not keep what a backward to the
         * input needs: explain in one that does */
        cam_workspace *whole = NULL;
        cam_status st = cam_workspace_new_for_explain(ws->model, 1, &opt, &whole, err);
        if (st == CAM_OK)
            st = cam_explain(whole, input, &opt, out, err);
        cam_workspace_free(whole);
        return st;
    }

    /* the layers: the list, or `layer` alone (none for FullGrad: the input) */
    int n_layers = 0;
    if (opt.layers && !(def->flags & CAM_METHOD_WHOLE_NETWORK))
        while (opt.layers[n_layers])
            n_layers++;
    const int listed = n_layers > 0;
    if (!listed)
        n_layers = 1;
    if (listed && n_layers > 1 && (def->flags & CAM_METHOD_NEEDS_CAM_HEAD))
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_explain: CAM has one layer (the input of the global average "
                             "pool); layers lists %d",
                             n_layers);
    explain_run run;
    memset(&run, 0, sizeof run);
    run.ws = ws;
    run.def = def;
    run.opt = &opt;
    run.n_layers = n_layers;
    run.layers = calloc((size_t)n_layers, sizeof *run.layers);
    run.logits = malloc((size_t)n_classes * sizeof *run.logits);
    run.probs = malloc((size_t)n_classes * sizeof *run.probs);
    cam_explanation *ex = calloc(1, sizeof *ex);
    float *layer_scratch = NULL;
    cam_status status = CAM_OK;
    if (ex) { /* the names live in ex (freed with it on failure) */
        ex->layers = calloc((size_t)n_layers, sizeof *ex->layers);
        ex->n_layers = n_layers;
        run.names = ex->layers;
    }
    if (!run.layers || !run.logits || !run.probs || !ex || !ex->layers)
        goto no_memory;
    int largest = 0;
    size_t max_planes = 0, max_spatial = 0;
    for (int i = 0; i < n_layers; i++) {
        char what[32];
        if (listed)
            snprintf(what, sizeof what, "layers[%d]", i);
        else
            snprintf(what, sizeof what, "layer");
        const char *name = listed ? opt.layers[i] : opt.layer;
        if (listed && !name[0]) {
            status = cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                                   "cam_explain: layers[%d] is an empty name", i);
            goto fail;
        }
        if (!resolve_layer(ws, def, name, what, &run.layers[i], &status, err))
            goto fail;
        const cam_layer *l = &run.layers[i];
        run.names[i] = strdup(g->tensors[l->tensor].name);
        if (!run.names[i])
            goto no_memory;
        size_t spatial = (size_t)l->height * l->width;
        if (spatial > (size_t)run.layers[largest].height * run.layers[largest].width)
            largest = i;
        if (spatial * l->channels > max_planes)
            max_planes = spatial * l->channels;
        if (spatial > max_spatial)
            max_spatial = spatial;
    }
    const int out_h = run.layers[largest].height, out_w = run.layers[largest].width;
    run.planes = malloc((max_planes + 1) * sizeof *run.planes);
    layer_scratch = malloc((max_spatial + 1) * sizeof *layer_scratch);
    ex->probabilities = malloc((size_t)n_classes * sizeof *ex->probabilities);
    ex->map = malloc((size_t)out_h * out_w * sizeof *ex->map);
    if (!run.planes || !layer_scratch || !ex->probabilities || !ex->map)
        goto no_memory;
    size_t joined = 0;
    for (int i = 0; i < n_layers; i++)
        joined += strlen(run.names[i]) + 1;
    ex->layer = malloc(joined);
    if (!ex->layer)
        goto no_memory;
    ex->layer[0] = '\0';
    for (int i = 0; i < n_layers; i++) {
        if (i)
            strcat(ex->layer, ",");
        strcat(ex->layer, run.names[i]);
    }

    run.n_units = (opt.aug_smooth ? AUG_VIEWS : 1) * n_layers;
    progress_unit(&run, 0, 0);
    status = cam_forward(ws, input, 1, NULL, NULL, err);
    if (status != CAM_OK)
        goto fail;
    const float *probs = cam_workspace_probabilities(ws, 0);
    memcpy(run.probs, probs, (size_t)n_classes * sizeof *probs);
    memcpy(run.logits, cam_executor_value(ws->exec, model->logits, 0),
           (size_t)n_classes * sizeof *run.logits);
    int c = opt.class_index;
    if (c < 0) { /* top-1; the first on ties */
        c = 0;
        for (int j = 1; j < n_classes; j++)
            if (run.probs[j] > run.probs[c])
                c = j;
    }
    run.class_index = c;

    if (n_layers == 1 && !opt.aug_smooth) {
        progress_unit(&run, 0, 1);
        status = layer_map(&run, input, 0, ex->map, err);
    } else
        status = fused_map(&run, input, out_h, out_w, layer_scratch, ex->map, err);
    if (status != CAM_OK)
        goto fail;
    memcpy(ex->probabilities, run.probs, (size_t)n_classes * sizeof *run.probs);
    ex->class_index = c;
    ex->probability = run.probs[c];
    ex->n_classes = n_classes;
    ex->method = opt.method;
    ex->map_height = out_h;
    ex->map_width = out_w;
    ex->constant_map = 1;
    for (size_t p = 1; p < (size_t)out_h * out_w; p++)
        if (ex->map[p] != ex->map[0])
            ex->constant_map = 0;
    goto done;

no_memory:
    status = cam_set_error(err, CAM_ERROR_NO_MEMORY, "cam_explain: out of memory");
fail:
    cam_explanation_free(ex);
    ex = NULL;
done:
    free(run.layers);
    free(run.logits);
    free(run.probs);
    free(run.planes);
    free(layer_scratch);
    *out = ex;
    return status;
}

cam_status cam_explain(cam_workspace *ws, const float *input, const cam_explain_options *options,
                       cam_explanation **out, cam_error *err)
{
    if (out)
        *out = NULL;
    if (!ws)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_explain: workspace is NULL");
    cam_progress_begin(ws);
    cam_status s = cam_progress_end(ws, explain(ws, input, options, out, err), "cam_explain", err);
    if (s != CAM_OK && out) { /* cancelled by the last report */
        cam_explanation_free(*out);
        *out = NULL;
    }
    if (s == CAM_STATUS_CANCELLED)
        ws->n_images = 0;
    return s;
}

cam_status cam_map_normalize(const float *map, size_t n, float *out, cam_error *err)
{
    if ((!map || !out) && n > 0)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_map_normalize: %s is NULL", map ? "out" : "map");
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(map[i])) {
            size_t bad = i;
            float value = map[i];
            for (size_t j = 0; j < n; j++)
                out[j] = 0.0f;
            return cam_set_error(err, CAM_ERROR_NUMERIC,
                                 "cam_map_normalize: map[%zu] is %s (output set to zeros)", bad,
                                 isnan(value) ? "NaN" : "infinite");
        }
        if (map[i] < lo)
            lo = map[i];
        if (map[i] > hi)
            hi = map[i];
    }
    const double range = hi - lo; /* in double: no overflow for any finite floats */
    for (size_t i = 0; i < n; i++) {
        if (!(range > 0.0)) {
            out[i] = 0.0f;
        } else {
            double v = ((double)map[i] - lo) / range;
            out[i] = (float)(v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v);
        }
    }
    return CAM_OK;
}
