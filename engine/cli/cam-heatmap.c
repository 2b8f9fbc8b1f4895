/*
 * cam-heatmap.c -- the cam-heatmap command-line tool: options, the per-image pipeline,
 * parallel batches and the progress bar. Evaluation lives in cam-heatmap-evaluate.c.
 *
 * Per image: read (GdkPixbuf, EXIF orientation) -> cam_preprocess -> cam_explain ->
 * cam_renderer (same options as the GIMP plug-in: cam_render_options_for_model, then
 * what the command line overrides) -> write. Images are independent: a worker thread
 * takes the next index, has its own cam_workspace, and stores its result at that
 * index, so the output does not depend on the number of jobs.
 */
#include "cam-heatmap.h"
#include "cam-cli-metadata.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROGRAM "cam-heatmap"
#define DEFAULT_MODEL "cifar10"

/* ------------------------------------------------------------------------ */
/* Progress bar                                                             */
/* ------------------------------------------------------------------------ */

struct cli_progress {
    GMutex lock;
    char *what;
    int total, done;
    gboolean enabled;
    gint64 last_draw;
};

static void progress_draw(cli_progress *p)
{
    enum { BAR = 30 };
    int filled = p->total > 0 ? (int) ((gint64) p->done * BAR / p->total) : BAR;
    char bar[BAR + 1];
    for (int i = 0; i < BAR; i++) bar[i] = i < filled ? '#' : '-';
    bar[BAR] = '\0';
    fprintf(stderr, "\r%s [%s] %d/%d", p->what, bar, p->done, p->total);
    fflush(stderr);
}

cli_progress *cli_progress_new(const char *what, int total, gboolean enabled)
{
    cli_progress *p = g_new0(cli_progress, 1);
    g_mutex_init(&p->lock);
    p->what = g_strdup(what);
    p->total = total;
    p->enabled = enabled;
    if (enabled) progress_draw(p);
    return p;
}

void cli_progress_step(cli_progress *p)
{
    if (!p) return;
    g_mutex_lock(&p->lock);
    p->done++;
    if (p->enabled) {
        gint64 now = g_get_monotonic_time();
        if (p->done == p->total || now - p->last_draw > 100000) {
            progress_draw(p);
            p->last_draw = now;
        }
    }
    g_mutex_unlock(&p->lock);
}

void cli_progress_free(cli_progress *p)
{
    if (!p) return;
    if (p->enabled) {
        fputs("\r\033[K", stderr); /* clear the line */
        fflush(stderr);
    }
    g_mutex_clear(&p->lock);
    g_free(p->what);
    g_free(p);
}

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

static char *opt_model = NULL;
static char *opt_method = NULL;
static char *opt_class = NULL;
static char *opt_layer = NULL;
static char *opt_layers = NULL;
static gboolean opt_eigen_smooth = FALSE;
static gboolean opt_aug_smooth = FALSE;
static char *opt_aug_smooth_mode = NULL;
static char *opt_target_score = NULL;
static double opt_alpha = -1;
static char *opt_colormap = NULL;
static char *opt_output = NULL;
static char *opt_format = NULL;
static gboolean opt_heatmap = FALSE;
static gboolean opt_blend = FALSE;
static gboolean opt_alpha_from_map = FALSE;
static char *opt_aspect = NULL;
static char *opt_invert = NULL;
static char *opt_upsample = NULL;
static int opt_top = 5;
static char *opt_json = NULL;
static int opt_jobs = 0;
static gboolean opt_quiet = FALSE;
static gboolean opt_list_layers = FALSE;
static gboolean opt_version = FALSE;
static char *opt_evaluate = NULL;
static char *opt_split = NULL;
static int opt_offset = 0;
static int opt_limit = 0;
static int opt_steps = 16;
static char *opt_seed = NULL;
static char *opt_road_percentiles = NULL;
static double opt_road_noise = 0.01;
static gboolean opt_no_faithfulness = FALSE;
static gboolean opt_per_image = FALSE;
static char **opt_inputs = NULL;
static char *opt_gallery = NULL;
static char *opt_dataset = NULL;
static char *opt_true_class = NULL;
static int opt_columns = 0;
static int opt_tile_size = 112;
static char *opt_report = NULL;

static const GOptionEntry main_entries[] = {
    {"model", 'm', 0, G_OPTION_ARG_STRING, &opt_model,
     "Model: a bundled name (fashion-mnist, cifar10) or an .onnx file (default: cifar10; "
     "for --evaluate on a gray data set: fashion-mnist)",
     "NAME|FILE"},
    {"method", 'M', 0, G_OPTION_ARG_STRING, &opt_method,
     "Explanation method, one of those listed below (default: the model's); with --evaluate "
     "also all or a comma-separated list (default: cam, grad-cam, grad-cam-tutorial)",
     "METHOD"},
    {"class", 'c', 0, G_OPTION_ARG_STRING, &opt_class,
     "Class to explain: auto (the top prediction), an index or a canonical label "
     "(default: auto)",
     "CLASS"},
    {"layer", 'l', 0, G_OPTION_ARG_STRING, &opt_layer,
     "Layer (ONNX tensor name) to explain, or auto: the last one larger than 1x1 "
     "(default: the model's; see --list-layers)",
     "NAME"},
    {"layers", 0, 0, G_OPTION_ARG_STRING, &opt_layers,
     "Several layers, comma-separated: each map normalised, upsampled to the largest and "
     "averaged (instead of --layer)",
     "A,B,..."},
    {"eigen-smooth", 0, 0, G_OPTION_ARG_NONE, &opt_eigen_smooth,
     "Replace the sum over channels by the first principal component of the weighted "
     "activations", NULL},
    {"aug-smooth", 0, 0, G_OPTION_ARG_NONE, &opt_aug_smooth,
     "Average the map over 6 augmented inputs (left-right flip x zoom 0.9, 1, 1.1, each map "
     "mapped back); 6 times the cost", NULL},
    {"aug-smooth-mode", 0, 0, G_OPTION_ARG_STRING, &opt_aug_smooth_mode,
     "The inputs of --aug-smooth (implied): scales (flip x zoom, default) or brightness "
     "(flip x brightness 0.9, 1, 1.1, as pytorch-grad-cam)",
     "MODE"},
    {"target-score", 0, 0, G_OPTION_ARG_STRING, &opt_target_score,
     "The class score the methods differentiate: logit or probability (default: logit)",
     "SCORE"},
    {"alpha", 'a', 0, G_OPTION_ARG_DOUBLE, &opt_alpha,
     "Heatmap opacity 0..1: out = (1 - alpha) * image + alpha * heatmap (default: the model's)",
     "ALPHA"},
    {"colormap", 'C', 0, G_OPTION_ARG_STRING, &opt_colormap,
     "jet, turbo, viridis, inferno, magma, plasma, cividis, gray, greens, reds, or greens-reds "
     "(greens above the model's probability threshold, else reds) (default: the model's)",
     "NAME"},
    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output,
     "Write the result to FILE (one input; format from the extension: .png .jpg .tif .bmp "
     ".webp) or into folder DIR as DIR/<name>.<format> (several inputs, an existing folder, or "
     "a name ending in /). Without it no image is written",
     "FILE|DIR"},
    {"format", 'f', 0, G_OPTION_ARG_STRING, &opt_format,
     "Image format of files written into a folder: png, jpg, tif, bmp, webp (default: png)",
     "EXT"},
    {"blend", 'b', 0, G_OPTION_ARG_NONE, &opt_blend,
     "Write the image blended with the heatmap (default)", NULL},
    {"heatmap", 'H', 0, G_OPTION_ARG_NONE, &opt_heatmap,
     "Write the heatmap alone (to lay over the image with opacity alpha) instead of the blend",
     NULL},
    {"alpha-from-map", 0, 0, G_OPTION_ARG_NONE, &opt_alpha_from_map,
     "Per-pixel opacity alpha * map value, so cold regions stay clear", NULL},
    {"aspect", 0, 0, G_OPTION_ARG_STRING, &opt_aspect,
     "How the image is fitted to the model's input: stretch, crop or pad (default: the "
     "model's resize policy, else stretch)",
     "MODE"},
    {"invert", 0, 0, G_OPTION_ARG_STRING, &opt_invert,
     "Invert the colours for models trained on light objects on black: auto (judged from the "
     "image border), on, off (default: auto)",
     "MODE"},
    {"upsample", 0, 0, G_OPTION_ARG_STRING, &opt_upsample,
     "Map upsampling: bilinear or bicubic (default: bilinear)", "MODE"},
    {"top", 'n', 0, G_OPTION_ARG_INT, &opt_top,
     "Number of top predictions reported (default: 5)", "N"},
    {"json", 'j', 0, G_OPTION_ARG_FILENAME, &opt_json,
     "Write the results as JSON to FILE, or to standard output with -", "FILE|-"},
    {"jobs", 'J', 0, G_OPTION_ARG_INT, &opt_jobs,
     "Images processed in parallel (default: the number of cores)", "N"},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet,
     "No per-image summary on standard output and no progress bar", NULL},
    {"list-layers", 0, 0, G_OPTION_ARG_NONE, &opt_list_layers,
     "List the model's explainable layers with their shapes and exit", NULL},
    {"version", 'V', 0, G_OPTION_ARG_NONE, &opt_version, "Show the version and exit", NULL},
    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_inputs, NULL, NULL},
    G_OPTION_ENTRY_NULL};

static const GOptionEntry evaluate_entries[] = {
    {"evaluate", 'e', 0, G_OPTION_ARG_FILENAME, &opt_evaluate,
     "Evaluate the model and the explanation methods on a labelled data set: an IDX images "
     "file, a CIFAR .bin[.gz] batch, a folder holding either, or a folder with one sub-folder "
     "per class",
     "DATASET"},
    {"split", 0, 0, G_OPTION_ARG_STRING, &opt_split,
     "Which files of a data set folder: test or train (default: test)", "SPLIT"},
    {"offset", 0, 0, G_OPTION_ARG_INT, &opt_offset, "Skip the first N images (default: 0)",
     "N"},
    {"limit", 0, 0, G_OPTION_ARG_INT, &opt_limit, "Evaluate at most N images (default: all)",
     "N"},
    {"steps", 0, 0, G_OPTION_ARG_INT, &opt_steps,
     "Steps of the deletion and insertion curves (default: 16)", "K"},
    {"seed", 0, 0, G_OPTION_ARG_STRING, &opt_seed,
     "Seed of the random-map baseline (default: 1)", "S"},
    {"road-percentiles", 0, 0, G_OPTION_ARG_STRING, &opt_road_percentiles,
     "ROAD (remove and debias): the shares of pixels removed, in %, comma-separated integers "
     "in 1..99, or none (default: 10,20,30,40,50,60,70,80,90)",
     "P,P,..."},
    {"road-noise", 0, 0, G_OPTION_ARG_DOUBLE, &opt_road_noise,
     "ROAD: standard deviation of the noise added to imputed pixels, on the 0..1 pixel scale "
     "(default: 0.01, the paper's; 0: none)",
     "SIGMA"},
    {"no-faithfulness", 0, 0, G_OPTION_ARG_NONE, &opt_no_faithfulness,
     "Only accuracy and the confusion matrix, no explanation metrics", NULL},
    {"per-image", 0, 0, G_OPTION_ARG_NONE, &opt_per_image,
     "Include every image's label, prediction and metrics in the JSON", NULL},
    G_OPTION_ENTRY_NULL};

static const GOptionEntry gallery_entries[] = {
    {"gallery", 'g', 0, G_OPTION_ARG_FILENAME, &opt_gallery,
     "Write a contact sheet of the blended maps of the IMAGEs or of a --dataset (as the "
     "Fashion-MNIST lab's show_maps): each tile captioned with the predicted label and "
     "probability (and the true label of a data set sample, marked when wrong)",
     "FILE"},
    {"dataset", 'D', 0, G_OPTION_ARG_FILENAME, &opt_dataset,
     "With --gallery: take the images from a labelled data set (any layout --evaluate reads; "
     "--split and --offset apply)",
     "DATASET"},
    {"true-class", 0, 0, G_OPTION_ARG_STRING, &opt_true_class,
     "With --gallery and --dataset: only images labelled CLASS (--class: only images "
     "predicted as CLASS)",
     "CLASS"},
    {"columns", 0, 0, G_OPTION_ARG_INT, &opt_columns,
     "Tiles per row of the gallery (default: about the square root of the count, at most 10)",
     "K"},
    {"tile-size", 0, 0, G_OPTION_ARG_INT, &opt_tile_size,
     "Gallery tiles: smaller images are magnified by the largest whole factor that fits K "
     "pixels, larger ones reduced to fit (default: 112)",
     "K"},
    {"report", 'r', 0, G_OPTION_ARG_FILENAME, &opt_report,
     "With --evaluate: write a static HTML report (index.html and its images) into folder DIR",
     "DIR"},
    G_OPTION_ENTRY_NULL};

static const char description[] =
    "Reads each IMAGE (PNG, JPEG, TIFF, WebP, ...; EXIF orientation applied), classifies it\n"
    "with the model and writes a class activation map by one of the methods listed under\n"
    "Methods below (--method). Defaults for method, layer, alpha and colormap come from the\n"
    "model's metadata, as in the GIMP plug-in, and 8-bit images give the same pixels as the plug-in. Images are processed in\n"
    "parallel; the results do not depend on --jobs. A per-image summary goes to standard\n"
    "output (unless --quiet or --json -), errors and the progress bar (on a terminal) to\n"
    "standard error. An image that cannot be read or written is reported and skipped.\n"
    "\n"
    "Evaluation (--evaluate): accuracy, per-class accuracy and the confusion matrix, and for\n"
    "each method (cam, grad-cam and grad-cam-tutorial, or those --method names: one, a\n"
    "comma-separated list, or all) and a\n"
    "random-map baseline, on the predicted class: Average Drop and\n"
    "Increase in Confidence (the image multiplied by the normalised map), and deletion and\n"
    "insertion AUC (pixels set to black / restored from black in order of decreasing map\n"
    "value, K steps, trapezoidal area under the probability curve), ROAD MoRF/LeRF (pixels\n"
    "removed most/least relevant first and filled by noisy linear imputation, Rong et al.\n"
    "2022) and the map's CPU time. Table on standard output,\n"
    "JSON with --json; an HTML page with charts and galleries with --report DIR.\n"
    "\n"
    "Galleries (--gallery FILE): the first --limit images (default: 16 from a data set,\n"
    "every IMAGE otherwise) predicted as --class (or labelled --true-class), each explained\n"
    "for its predicted class, as a captioned contact sheet. --limit and --offset count\n"
    "images of the data set or of the IMAGE list. Tiles are the pixels -o writes.\n"
    "\n"
    "Exit status:\n"
    "  0  everything succeeded\n"
    "  1  some inputs failed (each is reported; the others were written)\n"
    "  2  usage error (bad option, unknown method, class, layer or colormap, an output that\n"
    "     is an input or another output, an output path that is a folder)\n"
    "  3  the model or the data set could not be loaded\n"
    "  4  internal error (out of memory, JSON file not writable)\n"
    "\n"
    "Environment:\n"
    "  CAM_MODEL_PATH  extra folders (':'-separated) searched first for model names\n"
    "  CAM_DATA_DIR    not read by cam-heatmap; the tests use it to find the data sets\n"
    "\n"
    "Examples:\n"
    "  cam-heatmap -m cifar10 -o cat-cam.png cat.jpg\n"
    "  cam-heatmap -m fashion-mnist -M cam --json - shoe.png\n"
    "  cam-heatmap -m cifar10 -o out/ --json results.json photos/*.jpg\n"
    "  cam-heatmap -m fashion-mnist --evaluate data/fashion-mnist --limit 1000\n"
    "  cam-heatmap -m fashion-mnist --evaluate data/fashion-mnist --limit 500 --report rep/\n"
    "  cam-heatmap --gallery sneakers.png --dataset data/fashion-mnist --class Sneaker\n";

/* ------------------------------------------------------------------------ */
/* Images mode                                                              */
/* ------------------------------------------------------------------------ */

typedef struct run {
    const cam_model *model;
    cam_explain_options explain;
    cli_render_settings render;
    cam_preprocess_options preprocess;
    int top;
    int n;
    char **inputs;
    char **outputs;            /* NULL entries: no image written */
    cli_result *results;
    gint next;
    cli_progress *progress;
} run;

static int compare_predictions(const void *a, const void *b)
{
    const cli_prediction *x = a, *y = b;
    if (x->probability != y->probability) return x->probability > y->probability ? -1 : 1;
    return x->class_index - y->class_index;
}

/* Writes the heatmap or blend of `image` to `path`. */
static gboolean render_and_save(const run *rn, const cli_image *image,
                                const cam_preprocess_info *info, const cam_explanation *ex,
                                const char *path, GError **error)
{
    cli_image out;
    if (!cli_render_output(rn->model, rn->explain.method, &rn->render, image, info, ex, &out,
                           path, error))
        return FALSE;
    gboolean ok = cli_image_save(&out, path, error);
    cli_image_clear(&out);
    return ok;
}

static void process_one(run *rn, cam_workspace *ws, const char *ws_error, float *input, int i)
{
    cli_result *res = &rn->results[i];
    const char *path = rn->inputs[i];
    GError *error = NULL;
    cam_error err = {0};
    cli_image image = {0};
    res->file = g_strdup(path);
    res->method = rn->explain.method;
    if (!ws) {
        res->error = g_strdup_printf("%s: %s", path, ws_error);
        return;
    }
    if (!cli_image_load(path, &image, &res->warning, &error)) {
        res->error = g_strdup(error->message);
        g_error_free(error);
        return;
    }
    res->width = image.width;
    res->height = image.height;
    cam_image ci = cli_image_as_cam(&image);
    cam_preprocess_info info;
    if (cam_preprocess(rn->model, &ci, &rn->preprocess, input, &info, &err) != CAM_OK) {
        res->error = g_strdup_printf("%s: %s", path, err.message);
        goto out;
    }
    res->inverted = info.inverted != 0;
    if (cam_explain(ws, input, &rn->explain, &res->ex, &err) != CAM_OK) {
        res->error = g_strdup_printf("%s: %s", path, err.message);
        goto out;
    }
    /* top N */
    int nc = res->ex->n_classes;
    cli_prediction *all = g_new(cli_prediction, nc);
    for (int c = 0; c < nc; c++) {
        all[c].class_index = c;
        all[c].probability = res->ex->probabilities[c];
    }
    qsort(all, (size_t) nc, sizeof *all, compare_predictions);
    res->n_top = MIN(rn->top, nc);
    res->top = all;
    /* raw map statistics */
    size_t n = (size_t) res->ex->map_height * res->ex->map_width;
    double sum = 0;
    float lo = n ? res->ex->map[0] : 0, hi = lo;
    for (size_t k = 0; k < n; k++) {
        float v = res->ex->map[k];
        lo = MIN(lo, v);
        hi = MAX(hi, v);
        sum += v;
    }
    res->map_min = lo;
    res->map_max = hi;
    res->map_mean = n ? (float) (sum / (double) n) : 0;
    {
        cam_render_options ro = cam_render_options_for_model(rn->model, rn->explain.method,
                                                             res->ex->probability);
        cam_colormap cm = rn->render.colormap_given ? rn->render.colormap : ro.colormap;
        res->colormap = cam_colormap_name(cam_colormap_resolve(cm, res->ex->probability,
                                                               ro.threshold));
    }
    /* output */
    const char *out_path = rn->outputs ? rn->outputs[i] : NULL;
    if (out_path) {
        if (!render_and_save(rn, &image, &info, res->ex, out_path, &error)) {
            res->error = g_strdup(error->message);
            g_error_free(error);
            goto out;
        }
        res->output = g_strdup(out_path);
    }
    res->ok = TRUE;
out:
    cli_image_clear(&image);
}

static gpointer worker(gpointer data)
{
    run *rn = data;
    cam_error err = {0};
    cam_workspace *ws = NULL; /* NULL on failure: process_one reports err for each image */
    cam_workspace_new_for_explain(rn->model, 1, &rn->explain, &ws, &err);
    float *input = g_new(float, cam_model_input_size(rn->model));
    for (;;) {
        int i = g_atomic_int_add(&rn->next, 1);
        if (i >= rn->n) break;
        process_one(rn, ws, err.message, input, i);
        cli_progress_step(rn->progress);
    }
    g_free(input);
    cam_workspace_free(ws);
    return NULL;
}

static void run_parallel(run *rn, int jobs)
{
    if (jobs <= 1) {
        worker(rn);
        return;
    }
    GThread **threads = g_new(GThread *, jobs);
    for (int t = 0; t < jobs; t++) threads[t] = g_thread_new("cam-heatmap", worker, rn);
    for (int t = 0; t < jobs; t++) g_thread_join(threads[t]);
    g_free(threads);
}

static const char *format_extension(const char *format)
{
    if (!format || !g_ascii_strcasecmp(format, "png")) return "png";
    if (!g_ascii_strcasecmp(format, "jpg") || !g_ascii_strcasecmp(format, "jpeg")) return "jpg";
    if (!g_ascii_strcasecmp(format, "tif") || !g_ascii_strcasecmp(format, "tiff")) return "tif";
    if (!g_ascii_strcasecmp(format, "bmp")) return "bmp";
    if (!g_ascii_strcasecmp(format, "webp")) return "webp";
    return NULL;
}

/* Output names: one file, or DIR/<stem>.<ext> with -2, -3, ... for repeated stems. */
static char **plan_outputs(char **inputs, int n, const char *output, const char *format,
                           gboolean *folder_mode, GError **error)
{
    *folder_mode = FALSE;
    if (!output) return NULL;
    const char *ext = format_extension(format);
    if (!ext) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--format: unknown format \"%s\" (png, jpg, tif, bmp, webp)", format);
        return NULL;
    }
    char **outputs = g_new0(char *, n + 1);
    gboolean folder = n > 1 || g_file_test(output, G_FILE_TEST_IS_DIR) ||
                      g_str_has_suffix(output, "/");
    if (!folder) {
        if (!cli_image_is_writable_name(output)) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--output %s: unknown image format (use .png, .jpg, .tif, .bmp or "
                        ".webp, or an existing folder)",
                        output);
            g_free(outputs);
            return NULL;
        }
        outputs[0] = g_strdup(output);
        return outputs;
    }
    if (!g_file_test(output, G_FILE_TEST_IS_DIR) && !g_str_has_suffix(output, "/") &&
        cli_image_is_writable_name(output)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--output %s: %d input images need a folder, not an image file name", output,
                    n);
        g_free(outputs);
        return NULL;
    }
    if (g_file_test(output, G_FILE_TEST_EXISTS) && !g_file_test(output, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--output %s: exists and is not a folder", output);
        g_free(outputs);
        return NULL;
    }
    *folder_mode = TRUE; /* created by the caller once the plan is checked */
    GHashTable *taken = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (int i = 0; i < n; i++) {
        char *base = g_path_get_basename(inputs[i]);
        char *dot = strrchr(base, '.');
        if (dot && dot != base) *dot = '\0';
        char *name = g_strdup_printf("%s.%s", base, ext);
        for (int k = 2; g_hash_table_contains(taken, name); k++) {
            g_free(name);
            name = g_strdup_printf("%s-%d.%s", base, k, ext);
        }
        g_hash_table_add(taken, g_strdup(name));
        outputs[i] = g_build_filename(output, name, NULL);
        g_free(name);
        g_free(base);
    }
    g_hash_table_unref(taken);
    return outputs;
}

/* Checks the planned files before any work: no output may be an input or another output,
 * the JSON file may be neither, and each must be writable (not a folder). Returns a usage
 * error message, or NULL. */
/* Character devices (/dev/null, a terminal) may take several outputs: nothing is replaced. */
static gboolean is_char_device(const char *path)
{
    GStatBuf st;
    return g_stat(path, &st) == 0 && S_ISCHR(st.st_mode);
}

static gboolean parent_is_folder(const char *path)
{
    char *dir = g_path_get_dirname(path);
    gboolean ok = g_file_test(dir, G_FILE_TEST_IS_DIR);
    g_free(dir);
    return ok;
}

static char *check_planned_files(char **inputs, int n, char **outputs, gboolean folder_mode,
                                 const char *json)
{
    char *msg = NULL;
    GHashTable *ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    /* value: 1 + input index, or -(1 + output index) */
    for (int i = 0; i < n; i++) {
        char *id = cli_file_identity(inputs[i]);
        if (!g_hash_table_contains(ids, id))
            g_hash_table_insert(ids, id, GINT_TO_POINTER(i + 1));
        else
            g_free(id); /* the same input twice is harmless: it is only read */
    }
    for (int i = 0; outputs && i < n && !msg; i++) {
        GError *error = NULL;
        if (!cli_output_check(outputs[i], &error)) {
            msg = g_strdup_printf("--output: the output of %s: %s", inputs[i], error->message);
            g_error_free(error);
            break;
        }
        if (!folder_mode && !parent_is_folder(outputs[i])) {
            msg = g_strdup_printf("--output %s: its folder does not exist", outputs[i]);
            break;
        }
        if (is_char_device(outputs[i])) continue;
        char *id = cli_file_identity(outputs[i]);
        gpointer v;
        if (g_hash_table_lookup_extended(ids, id, NULL, &v)) {
            int k = GPOINTER_TO_INT(v);
            if (k > 0)
                msg = g_strdup_printf("--output: the output of %s would be %s, which is the "
                                      "input %s; nothing was written (choose another output "
                                      "folder or name)",
                                      inputs[i], outputs[i], inputs[k - 1]);
            else
                msg = g_strdup_printf("--output: the outputs of %s and %s would both be %s; "
                                      "nothing was written",
                                      inputs[-k - 1], inputs[i], outputs[i]);
            g_free(id);
        } else {
            g_hash_table_insert(ids, id, GINT_TO_POINTER(-(i + 1)));
        }
    }
    if (!msg && json && strcmp(json, "-") != 0) {
        GError *error = NULL;
        if (!cli_output_check(json, &error)) {
            msg = g_strdup_printf("--json: %s", error->message);
            g_error_free(error);
        } else if (!parent_is_folder(json)) {
            msg = g_strdup_printf("--json %s: its folder does not exist", json);
        } else if (!is_char_device(json)) {
            char *id = cli_file_identity(json);
            gpointer v;
            if (g_hash_table_lookup_extended(ids, id, NULL, &v)) {
                int k = GPOINTER_TO_INT(v);
                msg = k > 0 ? g_strdup_printf("--json %s is the input image %s; nothing was "
                                              "written",
                                              json, inputs[k - 1])
                            : g_strdup_printf("--json %s is the output image of %s; nothing "
                                              "was written",
                                              json, inputs[-k - 1]);
            }
            g_free(id);
        }
    }
    g_hash_table_unref(ids);
    return msg;
}

static void print_summary(const run *rn)
{
    for (int i = 0; i < rn->n; i++) {
        const cli_result *r = &rn->results[i];
        if (!r->ok) continue;
        printf("%s: %s %.2f%% (%s, layer %s)", r->file,
               cam_model_class_label(rn->model, r->ex->class_index),
               100.0 * r->ex->probability, cam_method_name(r->method), r->ex->layer);
        printf(" | top:");
        for (int k = 0; k < r->n_top; k++)
            printf("%s %s %.2f%%", k ? "," : "",
                   cam_model_class_label(rn->model, r->top[k].class_index),
                   100.0 * r->top[k].probability);
        if (r->output) printf(" | -> %s", r->output);
        putchar('\n');
    }
    fflush(stdout);
}

static int list_layers(const cam_model *model)
{
    const cam_model_info *info = cam_model_get_info(model);
    const char *autol = cam_model_auto_layer(model);
    printf("Layers of %s (%s):\n", info->name, info->origin);
    for (int i = 0; i < cam_model_n_layers(model); i++) {
        cam_layer_info li;
        cam_error err = {0};
        if (cam_model_get_layer(model, i, &li, &err) != CAM_OK) continue;
        printf("  %-40s %-6s %dx%dx%d%s%s\n", li.name, li.op, li.channels, li.height, li.width,
               info->default_layer && !strcmp(li.name, info->default_layer) ? "  [default]"
                                                                            : "",
               autol && !strcmp(li.name, autol) ? "  [auto]" : "");
    }
    printf("CAM structure (conv -> global average pool -> dense): %s\n",
           cam_model_supports_cam(model) ? "yes" : "no");
    return CLI_EXIT_OK;
}

static int usage_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", PROGRAM, msg, PROGRAM);
    g_free(msg);
    return CLI_EXIT_USAGE;
}

/* value is a (case-insensitive) or b: *out = va or vb and 1; else a usage error and 0. */
static int two_way_choice(const char *option, const char *value, const char *a, int va,
                          const char *b, int vb, int *out)
{
    if (!g_ascii_strcasecmp(value, a))
        *out = va;
    else if (!g_ascii_strcasecmp(value, b))
        *out = vb;
    else {
        usage_error("%s: \"%s\" is neither %s nor %s", option, value, a, b);
        return 0;
    }
    return 1;
}

/* Resolves the layer option: NULL = the model's default, "auto", or a listed layer. */
static int resolve_layer(const cam_model *model, const char *layer, const char **out)
{
    *out = NULL;
    if (!layer || !*layer) return CLI_EXIT_OK;
    if (!strcmp(layer, "auto")) {
        *out = cam_model_auto_layer(model);
        if (!*out) return usage_error("--layer auto: the model has no layer larger than 1x1");
        return CLI_EXIT_OK;
    }
    GString *names = g_string_new(NULL);
    for (int i = 0; i < cam_model_n_layers(model); i++) {
        cam_layer_info li;
        if (cam_model_get_layer(model, i, &li, NULL) != CAM_OK) continue;
        if (!strcmp(li.name, layer)) {
            g_string_free(names, TRUE);
            *out = layer;
            return CLI_EXIT_OK;
        }
        g_string_append_printf(names, "%s%s", names->len ? ", " : "", li.name);
    }
    int rc = usage_error("--layer: the model has no layer \"%s\" (layers: %s)", layer,
                         names->str);
    g_string_free(names, TRUE);
    return rc;
}

/* The options shared by images mode and galleries: method, class, layer (stored in
 * *layer, NULL for the model's default), rendering and preprocessing. Returns an exit code
 * (a usage error has been reported). */
static int parse_image_settings(const cam_model *model, cam_explain_options *explain,
                                cli_render_settings *render, cam_preprocess_options *preprocess,
                                const char **layer)
{
    cam_error err = {0};
    *explain = cam_explain_options_default(model);
    if (opt_method && cam_method_from_name(opt_method, &explain->method, &err) != CAM_OK)
        return usage_error("--method: %s", err.message);
    if (explain->method == CAM_METHOD_CAM && !cam_model_supports_cam(model))
        return usage_error("--method cam: model %s has no conv -> global average pool -> dense "
                           "structure; use --method grad-cam",
                           cam_model_get_info(model)->name);
    explain->class_index = -1;
    if (opt_class && strcmp(opt_class, "auto") != 0) {
        if (cam_model_find_class(model, opt_class, &explain->class_index, &err) != CAM_OK)
            return usage_error("--class: %s", err.message);
    }
    int rc = resolve_layer(model, opt_layer, layer);
    if (rc != CLI_EXIT_OK) return rc;
    if (*layer) explain->layer = *layer;
    /* --layers A,B: every name resolved like --layer (kept for the process's life) */
    static char **layer_names;
    static const char **layers;
    if (opt_layers) {
        if (opt_layer) return usage_error("--layer and --layers exclude each other");
        g_strfreev(layer_names);
        g_free(layers);
        layer_names = g_strsplit(opt_layers, ",", -1);
        int n_names = (int) g_strv_length(layer_names);
        layers = g_new0(const char *, n_names + 1);
        for (int i = 0; i < n_names; i++) {
            if (!*layer_names[i])
                return usage_error("--layers: \"%s\" has an empty name", opt_layers);
            rc = resolve_layer(model, layer_names[i], &layers[i]);
            if (rc != CLI_EXIT_OK) return rc;
        }
        explain->layers = layers;
    }
    explain->eigen_smooth = opt_eigen_smooth;
    explain->aug_smooth = opt_aug_smooth ? CAM_AUG_SMOOTH_SCALES : CAM_AUG_SMOOTH_NONE;
    if (opt_aug_smooth_mode &&
        !two_way_choice("--aug-smooth-mode", opt_aug_smooth_mode, "scales",
                        CAM_AUG_SMOOTH_SCALES, "brightness", CAM_AUG_SMOOTH_BRIGHTNESS,
                        &explain->aug_smooth))
        return CLI_EXIT_USAGE;
    if (opt_target_score) {
        int score = 0;
        if (!two_way_choice("--target-score", opt_target_score, "logit", CAM_SCORE_LOGIT,
                            "probability", CAM_SCORE_PROBABILITY, &score))
            return CLI_EXIT_USAGE;
        explain->target_score = (cam_score)score;
    }
    memset(render, 0, sizeof *render);
    render->alpha = (float) opt_alpha;
    if (opt_alpha != -1 && !(opt_alpha >= 0 && opt_alpha <= 1))
        return usage_error("--alpha: %g is not in 0..1", opt_alpha);
    if (opt_colormap) {
        if (cam_colormap_from_name(opt_colormap, &render->colormap, &err) != CAM_OK)
            return usage_error("--colormap: %s", err.message);
        render->colormap_given = TRUE;
    }
    if (opt_heatmap && opt_blend) return usage_error("--heatmap and --blend exclude each other");
    render->output_kind = opt_heatmap ? CAM_OUTPUT_HEATMAP : CAM_OUTPUT_BLEND;
    render->alpha_from_map = opt_alpha_from_map;
    *preprocess = cam_preprocess_options_for_model(model);
    if (opt_aspect && cam_aspect_from_name(opt_aspect, &preprocess->aspect, &err) != CAM_OK)
        return usage_error("--aspect: %s", err.message);
    if (opt_invert && cam_invert_from_name(opt_invert, &preprocess->invert, &err) != CAM_OK)
        return usage_error("--invert: %s", err.message);
    render->upsample = CAM_UPSAMPLE_BILINEAR;
    if (opt_upsample && cam_upsample_from_name(opt_upsample, &render->upsample, &err) != CAM_OK)
        return usage_error("--upsample: %s", err.message);
    return CLI_EXIT_OK;
}

static int run_images(const cam_model *model, int jobs)
{
    int n = (int) g_strv_length(opt_inputs);
    run rn = {0};
    rn.model = model;
    const char *layer = NULL;
    int rc = parse_image_settings(model, &rn.explain, &rn.render, &rn.preprocess, &layer);
    if (rc != CLI_EXIT_OK) return rc;
    if (opt_top < 1) return usage_error("--top: %d is not a positive number", opt_top);
    rn.top = opt_top;

    GError *error = NULL;
    rn.n = n;
    rn.inputs = opt_inputs;
    gboolean folder_mode = FALSE;
    rn.outputs = plan_outputs(opt_inputs, n, opt_output, opt_format, &folder_mode, &error);
    if (error) {
        int code = error->domain == G_OPTION_ERROR ? CLI_EXIT_USAGE : CLI_EXIT_INTERNAL;
        if (code == CLI_EXIT_USAGE) usage_error("%s", error->message);
        else fprintf(stderr, "%s: %s\n", PROGRAM, error->message);
        g_error_free(error);
        return code;
    }
    char *clash = check_planned_files(opt_inputs, n, rn.outputs, folder_mode, opt_json);
    if (clash) {
        usage_error("%s", clash);
        g_free(clash);
        g_strfreev(rn.outputs);
        return CLI_EXIT_USAGE;
    }
    if (folder_mode && g_mkdir_with_parents(opt_output, 0777) != 0) {
        int e = errno;
        fprintf(stderr, "%s: --output %s: cannot create the folder: %s\n", PROGRAM, opt_output,
                g_strerror(e));
        g_strfreev(rn.outputs);
        return CLI_EXIT_INTERNAL;
    }
    rn.results = g_new0(cli_result, n);
    if (jobs > n) jobs = n;
    if (jobs > 1) {
        cam_set_blas_threads(1); /* parallel images: no OpenBLAS threads on top */
        rn.render.threads = 1;
    } else {
        cam_set_blas_threads(0);
        rn.render.threads = 0;
    }
    rn.progress = cli_progress_new("cam-heatmap", n,
                                   !opt_quiet && n > 1 && isatty(STDERR_FILENO));
    run_parallel(&rn, jobs);
    cli_progress_free(rn.progress);

    int failed = 0;
    for (int i = 0; i < n; i++) {
        if (rn.results[i].warning)
            fprintf(stderr, "%s: warning: %s\n", PROGRAM, rn.results[i].warning);
        if (!rn.results[i].ok) {
            fprintf(stderr, "%s: %s\n", PROGRAM, rn.results[i].error);
            failed++;
        }
    }
    gboolean json_stdout = opt_json && !strcmp(opt_json, "-");
    if (!opt_quiet && !json_stdout) print_summary(&rn);
    int code = failed ? CLI_EXIT_SOME_FAILED : CLI_EXIT_OK;
    if (failed && n > 1) fprintf(stderr, "%s: %d of %d images failed\n", PROGRAM, failed, n);
    if (opt_json) {
        cli_settings s = {0};
        s.method = cam_method_name(rn.explain.method);
        s.class_spec = opt_class ? opt_class : "auto";
        s.layer = layer ? layer : "";
        s.colormap = opt_colormap ? opt_colormap : "";
        s.alpha = rn.render.alpha;
        s.output_kind = cam_output_name(rn.render.output_kind);
        s.aspect = cam_aspect_name(rn.preprocess.aspect);
        s.invert = cam_invert_name(rn.preprocess.invert);
        s.upsample = cam_upsample_name(rn.render.upsample);
        s.layers = rn.explain.layers;
        s.eigen_smooth = rn.explain.eigen_smooth;
        s.aug_smooth = rn.explain.aug_smooth;
        s.target_score = rn.explain.target_score == CAM_SCORE_PROBABILITY ? "probability" : "logit";
        GString *json = g_string_new(NULL);
        cli_json_images(json, model, &s, rn.results, n);
        if (!cli_write_text(opt_json, json->str, json->len, &error)) {
            fprintf(stderr, "%s: --json: %s\n", PROGRAM, error->message);
            g_error_free(error);
            code = CLI_EXIT_INTERNAL;
        }
        g_string_free(json, TRUE);
    }
    for (int i = 0; i < n; i++) cli_result_clear(&rn.results[i]);
    g_free(rn.results);
    g_strfreev(rn.outputs);
    return code;
}

/* ------------------------------------------------------------------------ */
/* Galleries                                                                */
/* ------------------------------------------------------------------------ */

static int load_model(const char *name, cam_model **model);

static int run_gallery(int n_inputs, int jobs)
{
    if (opt_evaluate) return usage_error("--gallery takes images or --dataset, not --evaluate");
    if (opt_dataset && n_inputs > 0)
        return usage_error("--gallery takes image arguments or --dataset DATASET, not both");
    if (!opt_dataset && n_inputs == 0) return usage_error("--gallery: no input images");
    if (opt_true_class && !opt_dataset)
        return usage_error("--true-class needs a labelled data set (--dataset)");
    if (opt_true_class && opt_class && strcmp(opt_class, "auto") != 0)
        return usage_error("--class and --true-class exclude each other");
    if (opt_output) return usage_error("--gallery and --output exclude each other");
    if (opt_offset < 0) return usage_error("--offset: %d is negative", opt_offset);
    if (opt_limit < 0) return usage_error("--limit: %d is negative", opt_limit);
    if (opt_columns < 0) return usage_error("--columns: %d is negative", opt_columns);
    if (opt_tile_size < 8 || opt_tile_size > 4096)
        return usage_error("--tile-size: %d is not in 8..4096", opt_tile_size);
    GError *error = NULL;
    cli_dataset *ds = NULL;
    if (opt_dataset) {
        /* without a class filter only the first offset + limit (default 16) are read */
        int max_images = 0;
        gboolean filtered = opt_true_class || (opt_class && strcmp(opt_class, "auto") != 0);
        if (!filtered) {
            int limit = opt_limit > 0 ? opt_limit : 16;
            max_images = opt_offset > G_MAXINT - limit ? G_MAXINT : opt_offset + limit;
        }
        ds = cli_dataset_open(opt_dataset, opt_split ? opt_split : "test", max_images, &error);
        if (!ds) {
            fprintf(stderr, "%s: --dataset: %s\n", PROGRAM, error->message);
            g_error_free(error);
            return CLI_EXIT_MODEL;
        }
    }
    const char *model_name = opt_model              ? opt_model
                             : ds && cli_dataset_channels(ds) == 1 ? "fashion-mnist"
                                                                   : DEFAULT_MODEL;
    cam_model *model = NULL;
    int rc = load_model(model_name, &model);
    if (rc == CLI_EXIT_OK && ds && !cli_dataset_bind_classes(ds, model, &error)) {
        fprintf(stderr, "%s: --dataset: %s\n", PROGRAM, error->message);
        g_error_free(error);
        rc = CLI_EXIT_MODEL;
    }
    cli_gallery_options go = {0};
    const char *layer = NULL;
    if (rc == CLI_EXIT_OK)
        rc = parse_image_settings(model, &go.tiles.explain, &go.tiles.render,
                                  &go.tiles.preprocess, &layer);
    if (rc == CLI_EXIT_OK) {
        go.output = opt_gallery;
        go.invert_given = opt_invert != NULL;
        go.class_index = go.tiles.explain.class_index; /* --class: the predicted class */
        go.class_spec = opt_class;
        if (opt_true_class) {
            cam_error err = {0};
            if (cam_model_find_class(model, opt_true_class, &go.class_index, &err) != CAM_OK)
                rc = usage_error("--true-class: %s", err.message);
            go.true_class = TRUE;
            go.class_spec = opt_true_class;
        }
        go.offset = opt_offset;
        go.limit = opt_limit;
        go.columns = opt_columns;
        go.tile_size = opt_tile_size;
        go.jobs = jobs;
        go.quiet = opt_quiet || (opt_json && !strcmp(opt_json, "-"));
        go.json_path = opt_json;
    }
    if (rc == CLI_EXIT_OK) rc = cli_gallery(model, ds, opt_inputs, n_inputs, &go);
    cam_model_free(model);
    cli_dataset_free(ds);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* main                                                                     */
/* ------------------------------------------------------------------------ */

static cli_model_flags model_flags;

/* Loads the model, with the model-describing flags (--labels, --mean, ...) applied
 * as metadata over the file's; prints the engine's notice about assumed
 * preprocessing once, on stderr. */
static int load_model(const char *name, cam_model **model)
{
    cam_error err = {0};
    if (cam_model_load(name, model, &err) != CAM_OK) {
        fprintf(stderr, "%s: cannot load model %s: %s\n", PROGRAM, name, err.message);
        return CLI_EXIT_MODEL;
    }
    cli_edits edits;
    cli_edits_init(&edits);
    GError *error = NULL;
    int rc = CLI_EXIT_OK;
    if (!cli_model_flags_to_edits(&model_flags, *model, &edits, &error)) {
        rc = usage_error("%s", error->message);
        g_error_free(error);
    } else if (cli_edits_count(&edits) > 0) {
        cam_model *edited = NULL;
        if (cam_model_load_with_metadata(name, (const char *const *) edits.keys->pdata,
                                         (const char *const *) edits.values->pdata,
                                         cli_edits_count(&edits), &edited, &err) != CAM_OK) {
            char *msg = cli_edits_describe_error(&edits, err.message);
            rc = usage_error("%s", msg);
            g_free(msg);
        } else {
            cam_model_free(*model);
            *model = edited;
        }
    }
    cli_edits_clear(&edits);
    if (rc != CLI_EXIT_OK) {
        cam_model_free(*model);
        *model = NULL;
        return rc;
    }
    const char *notice = cam_model_get_info(*model)->input_notice;
    if (notice && *notice) fprintf(stderr, "%s: notice: %s\n", PROGRAM, notice);
    return CLI_EXIT_OK;
}

static int cli_main(int argc, char **argv)
{
    /* messages and --help in the user's charset; numbers always with '.' (the engine parses
     * model metadata with the C library) */
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C");
    GOptionContext *ctx = g_option_context_new("IMAGE...");
    g_option_context_set_summary(ctx, "Explain a convolutional network's predictions with class "
                                      "activation maps (CAM, Grad-CAM).");
    /* the methods, from the engine's table */
    GString *help = g_string_new(description);
    g_string_append(help, "\nMethods (--method; formulas and papers in camengine.h):\n");
    for (int m = 0; m < CAM_METHOD_COUNT; m++)
        g_string_append_printf(help, "  %-21s %s\n", cam_method_name((cam_method) m),
                               cam_method_summary((cam_method) m));
    g_option_context_set_description(ctx, help->str);
    g_option_context_add_main_entries(ctx, main_entries, NULL);
    GOptionGroup *eval = g_option_group_new("evaluate", "Evaluation options:",
                                            "Show the evaluation options", NULL, NULL);
    g_option_group_add_entries(eval, evaluate_entries);
    g_option_context_add_group(ctx, eval);
    GOptionGroup *gallery = g_option_group_new("gallery", "Gallery and report options:",
                                               "Show the gallery and report options", NULL,
                                               NULL);
    g_option_group_add_entries(gallery, gallery_entries);
    g_option_context_add_group(ctx, gallery);
    GOptionGroup *describe = g_option_group_new(
        "model", "Model description options (override the model's metadata; see cam-model):",
        "Show the options that describe the model's input and labels", NULL, NULL);
    g_option_group_add_entries(describe, cli_model_flag_entries(&model_flags, FALSE));
    g_option_context_add_group(ctx, describe);
    g_option_context_set_help_enabled(ctx, TRUE);

    cli_output_install_signal_handlers();
    GError *error = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        int rc = usage_error("%s", error->message);
        g_error_free(error);
        g_option_context_free(ctx);
        g_string_free(help, TRUE);
        return rc;
    }
    g_option_context_free(ctx);
    g_string_free(help, TRUE);

    if (opt_version) {
        printf("%s (gimp-cam) %s\n", PROGRAM, CAM_VERSION_STRING);
        printf("libcamengine %s\n", cam_version_string());
        printf("License LGPL-3.0-or-later: GNU LGPL version 3 or later.\n"
               "This is free software: you are free to change and redistribute it.\n"
               "There is NO WARRANTY, to the extent permitted by law.\n");
        return CLI_EXIT_OK;
    }
    int jobs = opt_jobs > 0 ? opt_jobs : (int) g_get_num_processors();
    if (opt_jobs < 0) return usage_error("--jobs: %d is not a positive number", opt_jobs);
    int n_inputs = opt_inputs ? (int) g_strv_length(opt_inputs) : 0;
    if (opt_evaluate && n_inputs > 0)
        return usage_error("--evaluate takes a data set, not image arguments");
    if (opt_report && !opt_evaluate) return usage_error("--report needs --evaluate DATASET");
    if (opt_gallery) return run_gallery(n_inputs, jobs);
    if (opt_dataset || opt_true_class)
        return usage_error("%s needs --gallery", opt_dataset ? "--dataset" : "--true-class");
    if (!opt_evaluate && !opt_list_layers && n_inputs == 0)
        return usage_error("no input images");

    cam_model *model = NULL;
    int rc;
    if (opt_evaluate) {
        if (opt_steps < 1 || opt_steps > 10000)
            return usage_error("--steps: %d is not in 1..10000", opt_steps);
        if (opt_offset < 0) return usage_error("--offset: %d is negative", opt_offset);
        if (opt_limit < 0) return usage_error("--limit: %d is negative", opt_limit);
        guint64 seed = 1;
        if (opt_seed) {
            char *end = NULL;
            seed = g_ascii_strtoull(opt_seed, &end, 10);
            if (!*opt_seed || *end) return usage_error("--seed: \"%s\" is not a number", opt_seed);
        }
        if (opt_method && strcmp(opt_method, "all") != 0) {
            /* one method or a comma-separated list */
            char **names = g_strsplit(opt_method, ",", -1);
            for (int i = 0; names[i]; i++) {
                cam_method m;
                cam_error err = {0};
                if (cam_method_from_name(names[i], &m, &err) != CAM_OK) {
                    g_strfreev(names);
                    return usage_error("--method: %s", err.message);
                }
            }
            g_strfreev(names);
        }
        /* ROAD percentiles (kept for the process's life) */
        static double road_percentiles[99];
        int n_road = 0;
        const char *rp = opt_road_percentiles ? opt_road_percentiles : "10,20,30,40,50,60,70,80,90";
        if (strcmp(rp, "none") != 0) {
            char **parts = g_strsplit(rp, ",", -1);
            for (int i = 0; parts[i]; i++) {
                char *end = NULL;
                gint64 v = g_ascii_strtoll(parts[i], &end, 10);
                if (!*parts[i] || *end || v < 1 || v > 99 ||
                    (n_road && v <= road_percentiles[n_road - 1])) {
                    int rc2 = usage_error("--road-percentiles: \"%s\": expected increasing "
                                          "integers in 1..99, comma-separated, or none",
                                          rp);
                    g_strfreev(parts);
                    return rc2;
                }
                road_percentiles[n_road++] = (double) v;
            }
            g_strfreev(parts);
        }
        if (!(opt_road_noise >= 0 && opt_road_noise <= 1))
            return usage_error("--road-noise: %g is not in 0..1", opt_road_noise);
        const char *split = opt_split ? opt_split : "test";
        /* only what --offset and --limit select is read */
        int max_images = 0;
        if (opt_limit > 0)
            max_images = opt_offset > G_MAXINT - opt_limit ? G_MAXINT : opt_offset + opt_limit;
        cli_dataset *ds = cli_dataset_open(opt_evaluate, split, max_images, &error);
        if (!ds) {
            fprintf(stderr, "%s: --evaluate: %s\n", PROGRAM, error->message);
            g_error_free(error);
            return CLI_EXIT_MODEL;
        }
        /* without --model: fashion-mnist for gray data sets, else cifar10 */
        const char *model_name =
            opt_model ? opt_model : cli_dataset_channels(ds) == 1 ? "fashion-mnist" : DEFAULT_MODEL;
        rc = load_model(model_name, &model);
        if (rc != CLI_EXIT_OK) {
            cli_dataset_free(ds);
            return rc;
        }
        const char *layer = NULL;
        rc = resolve_layer(model, opt_layer, &layer);
        /* --layers A,B: every name resolved like --layer (kept for the process's life) */
        static char **eval_layer_names;
        static const char **eval_layers;
        if (rc == CLI_EXIT_OK && opt_layers) {
            if (opt_layer) {
                rc = usage_error("--layer and --layers exclude each other");
            } else {
                eval_layer_names = g_strsplit(opt_layers, ",", -1);
                int n_names = (int) g_strv_length(eval_layer_names);
                eval_layers = g_new0(const char *, n_names + 1);
                for (int i = 0; i < n_names && rc == CLI_EXIT_OK; i++) {
                    if (!*eval_layer_names[i])
                        rc = usage_error("--layers: \"%s\" has an empty name", opt_layers);
                    else
                        rc = resolve_layer(model, eval_layer_names[i], &eval_layers[i]);
                }
            }
        }
        if (rc == CLI_EXIT_OK && !cli_dataset_bind_classes(ds, model, &error)) {
            fprintf(stderr, "%s: --evaluate: %s\n", PROGRAM, error->message);
            g_error_free(error);
            rc = CLI_EXIT_MODEL;
        }
        if (rc == CLI_EXIT_OK) {
            cli_evaluate_options eo = {0};
            eo.split = split;
            eo.offset = opt_offset;
            eo.limit = opt_limit;
            eo.jobs = jobs;
            eo.steps = opt_steps;
            eo.seed = seed;
            eo.faithfulness = !opt_no_faithfulness;
            eo.per_image = opt_per_image;
            eo.layer = layer;
            eo.layers = eval_layers;
            eo.road_percentiles = road_percentiles;
            eo.n_road_percentiles = n_road;
            eo.road_noise = opt_road_noise;
            eo.method = opt_method;
            eo.invert = opt_invert;
            eo.aspect = opt_aspect;
            eo.json_path = opt_json;
            eo.report_dir = opt_report;
            eo.quiet = opt_quiet;
            eo.progress = !opt_quiet && isatty(STDERR_FILENO);
            rc = cli_evaluate(model, ds, &eo);
        }
        cli_dataset_free(ds);
    } else {
        rc = load_model(opt_model ? opt_model : DEFAULT_MODEL, &model);
        if (rc != CLI_EXIT_OK) return rc;
        if (opt_list_layers)
            rc = list_layers(model);
        else
            rc = run_images(model, jobs);
    }
    cam_model_free(model);
    return rc;
}

/* Standard output that was closed when the program started (`>&-`): fd 1 is then taken
 * by /dev/full, so that no file the program opens gets fd 1 and receives the summary,
 * and so that a summary line written there fails and is reported below. fds 0 and 2
 * are taken by /dev/null likewise. */
static gboolean stdout_was_closed;

static void claim_standard_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        int got = open(fd == 1 ? "/dev/full" : "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (got < 0 && fd == 1) got = open("/dev/null", O_WRONLY);
        if (got >= 0 && got != fd) { /* cannot happen: the lowest free fd is fd */
            dup2(got, fd);
            close(got);
        }
        if (fd == 1) stdout_was_closed = TRUE;
    }
}

/* Summary lines, reports and --json - go to standard output: one that could not be
 * written (stdout closed, a full disk or /dev/full, a reader that went away) makes the
 * exit status CLI_EXIT_INTERNAL, with a message on stderr, never a silent 0. */
static int finish_stdout(int rc)
{
    errno = 0;
    int flush_failed = fflush(stdout) != 0;
    int e = errno;
    if (!flush_failed && !ferror(stdout)) return rc;
    if (stdout_was_closed)
        fprintf(stderr, "%s: cannot write to standard output: it is closed\n", PROGRAM);
    else
        fprintf(stderr, "%s: cannot write to standard output: %s\n", PROGRAM,
                e ? g_strerror(e) : "a write failed");
    return rc == CLI_EXIT_OK || rc == CLI_EXIT_SOME_FAILED ? CLI_EXIT_INTERNAL : rc;
}

int main(int argc, char **argv)
{
    claim_standard_fds();
    return finish_stdout(cli_main(argc, argv));
}
