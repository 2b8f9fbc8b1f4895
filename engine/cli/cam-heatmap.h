/*
 * cam-heatmap.h -- internal declarations shared by the files of the cam-heatmap tool.
 *
 *   cam-heatmap.c           main: options, the per-image pipeline, parallel batches, progress
 *   cam-heatmap-image.c     reading images (GdkPixbuf, EXIF orientation) and writing PNG/JPEG
 *   cam-heatmap-json.c      the JSON output (format "cam-heatmap", versioned)
 *   cam-heatmap-datasets.c  labelled data sets: IDX, CIFAR binary, folder per class
 *   cam-heatmap-evaluate.c  --evaluate: accuracy, confusion matrix, faithfulness metrics
 *   cam-heatmap-render.c    one output image (blend or heatmap) through the engine's renderer
 *   cam-heatmap-gallery.c   --gallery: contact sheets of blended maps with captions (cairo,
 *                           pango), from image files or a data set
 *   cam-heatmap-report.c    --report: the evaluation as a static HTML page
 */
#ifndef CAM_HEATMAP_H
#define CAM_HEATMAP_H

#include <glib.h>
#include <stdio.h>

#include <camengine.h>

/* Exit codes (documented in --help and the man page). */
enum {
    CLI_EXIT_OK = 0,            /* everything succeeded */
    CLI_EXIT_SOME_FAILED = 1,   /* at least one input failed (reported); the others were written */
    CLI_EXIT_USAGE = 2,         /* bad command line (unknown option, method, class, layer, ...) */
    CLI_EXIT_MODEL = 3,         /* the model or the data set could not be loaded */
    CLI_EXIT_INTERNAL = 4,      /* out of memory, an output (JSON) that could not be written */
};

/* Version of the JSON documents written by --json (bump on incompatible changes). */
#define CLI_JSON_FORMAT_VERSION 1

/* ------------------------------------------------------------------------ */
/* Images (cam-heatmap-image.c)                                             */
/* ------------------------------------------------------------------------ */

/* An 8-bit image owned by the tool (pixels: g_malloc'ed): gray, gray+alpha, RGB or RGBA,
 * interleaved, rows `stride` bytes apart. */
typedef struct cli_image {
    guint8 *pixels;
    int width, height;
    int channels; /* 1, 2, 3 or 4 */
    size_t stride;
} cli_image;

/* The largest image read: 268 megapixels (16384 x 16384), 1 GiB as 8-bit RGBA. */
#define CLI_IMAGE_MAX_PIXELS ((guint64) 16384 * 16384)

/* Reads PNG, JPEG, TIFF, WebP (whatever GdkPixbuf's loaders read), applies the EXIF
 * orientation. The error message names the file and says why (a folder, more than
 * CLI_IMAGE_MAX_PIXELS by its header, undecodable). `warning` (may be NULL) receives a
 * message for an image read with a problem (a JPEG cut short), else NULL (g_free). */
gboolean cli_image_load(const char *path, cli_image *out, char **warning, GError **error);
/* Writes by the file name's extension: .png, .jpg/.jpeg, .tif/.tiff, .bmp, .webp. */
gboolean cli_image_save(const cli_image *image, const char *path, GError **error);
/* Is the extension of `path` one that cli_image_save writes? */
gboolean cli_image_is_writable_name(const char *path);
void cli_image_clear(cli_image *image);
/* The engine's view of the pixels. */
cam_image cli_image_as_cam(const cli_image *image);

/* ------------------------------------------------------------------------ */
/* JSON (cam-heatmap-json.c)                                                */
/* ------------------------------------------------------------------------ */

/* Appends a JSON string literal (quoted, escaped; invalid UTF-8 is replaced by U+FFFD). */
void cli_json_string(GString *out, const char *text);
/* Appends a float that reads back to the same float32 ("%.9g"); NaN and Inf as null. */
void cli_json_float(GString *out, double value);

/* One prediction of the top N. */
typedef struct cli_prediction {
    int class_index;
    float probability;
} cli_prediction;

/* The result of one input file (images mode). */
typedef struct cli_result {
    char *file;           /* as given on the command line */
    gboolean ok;
    char *error;          /* when !ok: why (names the file) */
    char *warning;        /* a problem that did not stop it (a truncated JPEG), or NULL */
    int width, height;    /* the image after EXIF orientation */
    gboolean inverted;    /* cam_preprocess inverted the colours */
    int n_top;
    cli_prediction *top;  /* n_top predictions, most probable first */
    cam_method method;    /* the method used */
    cam_explanation *ex;  /* class, probability, layer, raw map (NULL unless ok) */
    const char *colormap; /* the plain colormap used (greens-reds resolved) */
    float map_min, map_max, map_mean;
    char *output;         /* the file written, or NULL */
} cli_result;

void cli_result_clear(cli_result *r);

/* The settings of a run as given (NULL or "" = the model's default), for the JSON. */
typedef struct cli_settings {
    const char *method, *class_spec, *layer, *colormap;
    float alpha; /* < 0: the model's default */
    const char *output_kind, *aspect, *invert, *upsample;
    const char *const *layers;   /* --layers (NULL-terminated), or NULL */
    int eigen_smooth;
    int aug_smooth;              /* a cam_aug_smooth */
    const char *target_score;    /* "logit" or "probability" */
} cli_settings;

/* {"name", "path", "input", "classes"} of a model. */
void cli_json_model(GString *out, const cam_model *model, const char *indent);
/* The whole images-mode document. */
void cli_json_images(GString *out, const cam_model *model, const cli_settings *settings,
                     const cli_result *results, int n_results);

/* ------------------------------------------------------------------------ */
/* Rendering one output (cam-heatmap-render.c)                              */
/* ------------------------------------------------------------------------ */

/* What the command line sets on top of the model's render defaults. */
typedef struct cli_render_settings {
    float alpha;               /* < 0: the model's default */
    gboolean colormap_given;
    cam_colormap colormap;     /* when colormap_given */
    cam_output output_kind;
    gboolean alpha_from_map;
    cam_upsample upsample;
    int threads;               /* the renderer's n_threads */
} cli_render_settings;

/* cam_render_options_for_model with the settings applied. */
cam_render_options cli_render_options(const cam_model *model, cam_method method,
                                      const cli_render_settings *settings, float probability);
/* The output image of `image` (RGB, or RGBA for an image with alpha or a partial heatmap):
 * what -o writes. `name` names the image in messages. */
gboolean cli_render_output(const cam_model *model, cam_method method,
                           const cli_render_settings *settings, const cli_image *image,
                           const cam_preprocess_info *info, const cam_explanation *ex,
                           cli_image *out, const char *name, GError **error);

/* ------------------------------------------------------------------------ */
/* Data sets (cam-heatmap-datasets.c)                                       */
/* ------------------------------------------------------------------------ */

typedef enum cli_dataset_format {
    CLI_DATASET_IDX,
    CLI_DATASET_CIFAR,
    CLI_DATASET_FOLDERS,
} cli_dataset_format;

typedef struct cli_dataset cli_dataset;

/* Opens a labelled data set:
 *  - an IDX image file (…-images-idx3-ubyte[.gz]); the labels are the file with
 *    "images-idx3" replaced by "labels-idx1";
 *  - a folder holding IDX files (t10k-* for split "test", train-* for "train");
 *  - a CIFAR-10 binary batch (*.bin or *.bin.gz), or a folder holding them
 *    (test_batch.bin[.gz] for "test", data_batch_1..5.bin[.gz] for "train");
 *  - a folder with one sub-folder per class (named by the model's label or class index)
 *    holding images.
 * `split` is "test" or "train" (used for folders of IDX/CIFAR files).
 * IDX and CIFAR files are streamed: only the first `max_images` images are read
 * (<= 0: all); the header is checked against the file's size (or the gzip trailer's), and
 * more than CLI_DATASET_MAX_BYTES (1 GiB) of pixels is refused with a message. */
cli_dataset *cli_dataset_open(const char *path, const char *split, int max_images,
                              GError **error);
void cli_dataset_free(cli_dataset *ds);
cli_dataset_format cli_dataset_get_format(const cli_dataset *ds);
const char *cli_dataset_describe(const cli_dataset *ds); /* "IDX /path/t10k-images-idx3-ubyte.gz" */
int cli_dataset_size(const cli_dataset *ds);
/* For IDX and CIFAR: fixed image size and channels; 0 for folders. */
int cli_dataset_channels(const cli_dataset *ds);
/* Folder-per-class data sets: resolves the folder names to the model's classes. */
gboolean cli_dataset_bind_classes(cli_dataset *ds, const cam_model *model, GError **error);
/* Sample `index`: its pixels (8-bit; free with cli_image_clear) and label (a class index
 * of the model). `name` (may be NULL) receives a short name to report (g_free).
 * Thread-safe. */
gboolean cli_dataset_get(const cli_dataset *ds, int index, cli_image *image, int *label,
                         char **name, GError **error);

/* ------------------------------------------------------------------------ */
/* Evaluate (cam-heatmap-evaluate.c)                                        */
/* ------------------------------------------------------------------------ */

typedef struct cli_evaluate_options {
    const char *split;
    int offset, limit;     /* limit <= 0: all */
    int jobs;
    int steps;             /* deletion/insertion steps */
    guint64 seed;          /* random-map baseline */
    gboolean faithfulness; /* compute the explanation metrics */
    gboolean per_image;    /* per-image details in the JSON */
    const char *method;    /* NULL: cam (if supported), grad-cam, grad-cam-tutorial;
                              "all": every method; else a comma-separated list */
    const char *layer;     /* NULL: the model's default */
    const char *const *layers; /* NULL, or several layers fused (--layers) */
    const double *road_percentiles; /* ROAD: the removed shares in % (ascending, 1..99) */
    int n_road_percentiles;         /* 0: no ROAD */
    double road_noise;     /* ROAD imputation noise (standard deviation, 0..1 pixel scale) */
    const char *invert;    /* NULL: off for IDX/CIFAR, auto for folders */
    const char *aspect;    /* NULL: stretch */
    const char *json_path; /* NULL, a file, or "-" */
    const char *report_dir;/* NULL, or the folder of the HTML report */
    gboolean quiet;        /* no table on standard output */
    gboolean progress;
} cli_evaluate_options;

/* Returns an exit code (CLI_EXIT_*). */
int cli_evaluate(const cam_model *model, cli_dataset *dataset,
                 const cli_evaluate_options *options);

/* ROAD's noisy linear imputation (cam-heatmap-faithfulness.c): `out` (channels x height x
 * width, planar) is `pixels` with every pixel p where removed[p] != 0 replaced, in every
 * channel, by the weighted mean of its 8 neighbours (1/6 direct, 1/12 diagonal; removed
 * neighbours being unknowns of the same linear system) plus N(0, noise_sigma^2) noise from
 * splitmix64 seeded with noise_seed. Fails (error set) when every pixel is removed. */
gboolean cli_road_impute(const float *pixels, int channels, int height, int width,
                         const guint8 *removed, double noise_sigma, guint64 noise_seed,
                         float *out, GError **error);

/* ------------------------------------------------------------------------ */
/* Galleries (cam-heatmap-gallery.c)                                        */
/* ------------------------------------------------------------------------ */

/* One image of a gallery: its output image and what its caption says. */
typedef struct cli_tile {
    cli_image image;   /* exactly what -o writes for the image (RGB, or RGBA with alpha) */
    char *name;        /* the file, or the data set sample ("#123") */
    int predicted;     /* the explained class: the top prediction */
    float probability; /* its softmax probability */
    int label;         /* the true class, -1 when unknown */
} cli_tile;

void cli_tile_clear(cli_tile *tile);

/* How tiles are made: the image-mode settings (explain.class_index is ignored: the
 * predicted class is explained). */
typedef struct cli_tile_settings {
    cam_explain_options explain;
    cam_preprocess_options preprocess;
    cli_render_settings render;
} cli_tile_settings;

/* Tiles of data set samples `indices[0..n-1]`, made on `jobs` threads; tiles[k] belongs
 * to indices[k] whatever the number of jobs. A sample that fails leaves its tile empty
 * (image.pixels NULL) and its message in errors[k] (g_free). */
void cli_tiles_from_dataset(const cam_model *model, const cli_dataset *ds, const int *indices,
                            int n, const cli_tile_settings *settings, int jobs, cli_tile *tiles,
                            char **errors);

/* The contact sheet: a title line, then `columns` cells per row in tile order. Each cell
 * holds its tile (magnified by an integer factor when its longer side is below tile_size,
 * by pixel replication; reduced to fit tile_size when above) and a caption under it: the
 * name, "<predicted label> <probability>%", and, when the true label is known,
 * "true: <label>" (red, with a red frame round the tile, when the prediction is wrong).
 * `positions` (may be NULL) receives each tile's rectangle in the sheet. */
typedef struct cli_sheet_options {
    int columns;
    int tile_size;
    const char *title;
} cli_sheet_options;

gboolean cli_sheet_compose(const cam_model *model, const cli_tile *tiles, int n,
                           const cli_sheet_options *options, cli_image *sheet,
                           cam_rect *positions, GError **error);

/* Releases what drawing text (cli_sheet_compose) keeps until the process ends: pango's
 * font map, cairo's font caches, fontconfig. Call once after the last sheet. */
void cli_text_shutdown(void);

typedef struct cli_gallery_options {
    const char *output;        /* the sheet (.png, .jpg, ...) */
    cli_tile_settings tiles;
    gboolean invert_given;     /* else: off for IDX/CIFAR, auto for folders and files */
    int class_index;           /* -1: every image; else only images of this class */
    gboolean true_class;       /* class_index is the true class (else the predicted) */
    const char *class_spec;    /* as given, for the title */
    int offset, limit;         /* limit <= 0: 16 for a data set, every file for a list */
    int columns;               /* <= 0: about sqrt(n) */
    int tile_size;
    int jobs;
    gboolean quiet;
    const char *json_path;     /* NULL, a file or "-": the tiles and where they are */
} cli_gallery_options;

/* --gallery: from a data set (`dataset` not NULL) or image files. Returns an exit code. */
int cli_gallery(const cam_model *model, cli_dataset *dataset, char **files, int n_files,
                const cli_gallery_options *options);

/* ------------------------------------------------------------------------ */
/* Report (cam-heatmap-report.c)                                            */
/* ------------------------------------------------------------------------ */

/* One explanation method's results, as in the evaluation JSON. */
typedef struct cli_report_method {
    const char *name;
    const char *layer;      /* NULL for the random baseline */
    int images;
    double average_drop, increase, deletion, insertion;
    const double *deletion_curve, *insertion_curve; /* steps + 1 mean probabilities */
    gboolean road;          /* ROAD computed */
    double road_morf, road_lerf; /* mean probability over the percentiles */
    double map_cpu_ms;      /* mean CPU time of the map per image, ms */
} cli_report_method;

/* One evaluated sample. */
typedef struct cli_report_image {
    int index;              /* in the data set */
    gboolean ok;
    int label, predicted;
    float probability;
} cli_report_image;

/* Everything the evaluation JSON holds, for the HTML report. */
typedef struct cli_report {
    const cam_model *model;
    const cli_dataset *dataset;
    const char *split;
    int offset, images, evaluated, failed, correct;
    const int *class_images, *class_correct, *confusion; /* n_classes, n_classes^2 */
    gboolean faithfulness;
    int steps;
    guint64 seed;
    int n_methods;
    const cli_report_method *methods;
    const cli_report_image *samples; /* `images` entries */
    cli_tile_settings tiles;         /* how the galleries' tiles are made */
    int jobs;
} cli_report;

/* Writes DIR/index.html (summary, per-class accuracy, confusion matrix, faithfulness table,
 * deletion and insertion curves as inline SVG, a gallery per class and the most confident
 * mistakes) and the gallery images DIR/class-NN.png and DIR/mistakes.png. Each file is
 * written to a temporary name and renamed; index.html last. */
gboolean cli_report_write(const char *dir, const cli_report *report, GError **error);

/* ------------------------------------------------------------------------ */
/* Shared helpers (cam-heatmap.c)                                           */
/* ------------------------------------------------------------------------ */

/* A progress bar on stderr (drawn only when `enabled`). Thread-safe. */
typedef struct cli_progress cli_progress;
cli_progress *cli_progress_new(const char *what, int total, gboolean enabled);
void cli_progress_step(cli_progress *p);
void cli_progress_free(cli_progress *p);

/* ------------------------------------------------------------------------ */
/* Output files (cam-heatmap-output.c)                                      */
/* ------------------------------------------------------------------------ */

/* Writes the data to `fd`; `name` is the file name to use in messages. */
typedef gboolean (*cli_writer)(int fd, gpointer data, const char *name, GError **error);

/* Writes through `writer` to `path`, respecting what is there: nothing or a regular file:
 * a temporary file renamed over it when complete (mode kept); a symbolic link: its final
 * target is written that way, the link kept; a FIFO or character device: written directly;
 * "-": standard output; a folder or other special file: an error. No temporary file is left
 * by a failure or by SIGINT/SIGTERM/SIGHUP (cli_output_install_signal_handlers). */
gboolean cli_write_file(const char *path, cli_writer writer, gpointer data, GError **error);
/* Writes `text` to `path` the same way. */
gboolean cli_write_text(const char *path, const char *text, size_t length, GError **error);
/* Writes all of `data` to `fd` (retries short writes); the error names `name`. */
gboolean cli_write_fd(int fd, const void *data, size_t length, const char *name, GError **error);
/* Can `path` be written by cli_write_file? FALSE (with a message naming it) for a folder,
 * a socket or a block device, or a loop of symbolic links. */
gboolean cli_output_check(const char *path, GError **error);
/* A string equal for two names of the same file (device and inode when it exists; else the
 * folder's identity and the name, symbolic links followed). g_free it. */
char *cli_file_identity(const char *path);
/* Removes registered temporary files on SIGINT, SIGTERM and SIGHUP, then dies of the
 * signal. */
void cli_output_install_signal_handlers(void);

#endif /* CAM_HEATMAP_H */
