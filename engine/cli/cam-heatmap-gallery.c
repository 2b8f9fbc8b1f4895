/*
 * cam-heatmap-gallery.c -- --gallery: a contact sheet of blended maps, as the Fashion-MNIST
 * lab's show_maps(desired_class, num_maps) shows them: the first N images of a data set (or
 * of a list of files) predicted as a class (--class) or labelled with it (--true-class),
 * each explained for its predicted class and coloured by the model's colormap rule
 * (greens-reds for Fashion-MNIST: Greens above the probability threshold, else Reds).
 *
 * A tile is exactly the image -o writes for that image (cli_render_output); the sheet only
 * magnifies it by an integer factor (pixel replication) so that 28x28 and 32x32 images can
 * be seen, and reduces images larger than the tile size (GdkPixbuf, bilinear). Captions are
 * drawn with pango and cairo (the GTK stack's text renderer, so any label in any script
 * shows); tiles are copied into the sheet after the text, so their pixels are never touched
 * by the text renderer. Tiles are computed in parallel and stored by position, the sheet is
 * composed in one thread: the same input gives the same bytes whatever --jobs.
 */
#include "cam-heatmap.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <pango/pangocairo.h>
#include <string.h>
#include <unistd.h>

#define PROGRAM "cam-heatmap"
#define GALLERY_ERROR (g_quark_from_static_string("cam-heatmap-gallery"))

/* Sheet geometry, in pixels. */
enum {
    SHEET_PAD = 12,        /* around and between cells */
    CELL_MIN_WIDTH = 136,  /* room for a caption */
    CAPTION_GAP = 6,       /* between a tile and its caption */
    CAPTION_LINE = 16,     /* caption line height */
    CAPTION_FONT_PX = 12,
    TITLE_FONT_PX = 15,
    TITLE_GAP = 8,         /* above and below the title */
    FRAME = 3,             /* the red frame round a wrong prediction, outside the tile */
};

void cli_tile_clear(cli_tile *tile)
{
    cli_image_clear(&tile->image);
    g_free(tile->name);
    memset(tile, 0, sizeof *tile);
    tile->label = -1;
}

/* ---- making tiles ---------------------------------------------------------- */

typedef struct tile_job {
    const cam_model *model;
    const cli_dataset *ds; /* or files */
    char **files;
    const int *indices;
    int n;
    const cli_tile_settings *settings;
    gboolean scan_only;    /* only labels and predictions (selection), no tiles */
    gboolean need_prediction;
    cli_tile *tiles;       /* tile mode */
    char **errors;
    int *labels, *predicted; /* scan mode */
    gint next;
} tile_job;

static int argmax(const float *p, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (p[i] > p[best]) best = i;
    return best;
}

/* Gray (and gray + alpha) samples of a data set as RGB (RGBA), the way GdkPixbuf reads a
 * gray image file: a data set sample then gives exactly the pixels -o writes for the same
 * sample saved as PNG. (A 1-channel model reads R = G = B through the Rec. 601 luminance,
 * which can differ from the gray value in the last bit of a float.) */
static gboolean expand_gray(cli_image *image)
{
    if (image->channels > 2) return TRUE;
    int ch = image->channels + 2;
    size_t stride = (size_t) image->width * ch;
    guint8 *px = g_try_malloc(stride * (size_t) image->height);
    if (!px) return FALSE;
    for (int y = 0; y < image->height; y++) {
        const guint8 *s = image->pixels + (size_t) y * image->stride;
        guint8 *d = px + (size_t) y * stride;
        for (int x = 0; x < image->width; x++, s += image->channels, d += ch) {
            d[0] = d[1] = d[2] = s[0];
            if (ch == 4) d[3] = s[1];
        }
    }
    g_free(image->pixels);
    image->pixels = px;
    image->channels = ch;
    image->stride = stride;
    return TRUE;
}

static void tile_one(tile_job *job, cam_workspace *ws, const char *ws_error, float *input,
                     float *probs, int k)
{
    GError *error = NULL;
    cam_error err = {0};
    cli_image image = {0};
    char *name = NULL, *warning = NULL;
    int label = -1;
    gboolean loaded;
    if (job->ds) {
        loaded = cli_dataset_get(job->ds, job->indices[k], &image, &label, &name, &error);
    } else {
        name = g_strdup(job->files[job->indices[k]]);
        loaded = cli_image_load(name, &image, &warning, &error);
    }
    if (warning) {
        fprintf(stderr, "%s: warning: %s\n", PROGRAM, warning);
        g_free(warning);
    }
    if (!loaded) {
        job->errors[k] = g_strdup(error->message);
        g_error_free(error);
        g_free(name);
        return;
    }
    if (!ws) {
        job->errors[k] = g_strdup_printf("%s: %s", name, ws_error);
        goto out;
    }
    if (!expand_gray(&image)) {
        job->errors[k] = g_strdup_printf("%s: out of memory", name);
        goto out;
    }
    if (job->scan_only) {
        job->labels[k] = label;
        job->predicted[k] = -1;
        if (!job->need_prediction) goto out;
    }
    cam_image ci = cli_image_as_cam(&image);
    cam_preprocess_info info;
    if (cam_preprocess(job->model, &ci, &job->settings->preprocess, input, &info, &err) !=
        CAM_OK) {
        job->errors[k] = g_strdup_printf("%s: %s", name, err.message);
        goto out;
    }
    if (job->scan_only) {
        if (cam_forward(ws, input, 1, probs, NULL, &err) != CAM_OK) {
            job->errors[k] = g_strdup_printf("%s: %s", name, err.message);
            goto out;
        }
        job->predicted[k] = argmax(probs, cam_model_n_classes(job->model));
        goto out;
    }
    cam_explain_options eo = job->settings->explain;
    eo.class_index = -1; /* the top prediction, as a single image with --class auto */
    cam_explanation *ex = NULL;
    if (cam_explain(ws, input, &eo, &ex, &err) != CAM_OK) {
        job->errors[k] = g_strdup_printf("%s: %s", name, err.message);
        goto out;
    }
    cli_tile *t = &job->tiles[k];
    if (!cli_render_output(job->model, eo.method, &job->settings->render, &image, &info, ex,
                           &t->image, name, &error)) {
        job->errors[k] = g_strdup(error->message);
        g_error_free(error);
        cam_explanation_free(ex);
        goto out;
    }
    t->predicted = ex->class_index;
    t->probability = ex->probability;
    t->label = label;
    t->name = name;
    name = NULL;
    cam_explanation_free(ex);
out:
    g_free(name);
    cli_image_clear(&image);
}

static gpointer tile_worker(gpointer data)
{
    tile_job *job = data;
    cam_error err = {0};
    cam_workspace *ws = NULL;
    cam_workspace_new(job->model, 1, &ws, &err);
    float *input = g_new(float, cam_model_input_size(job->model));
    float *probs = g_new(float, cam_model_n_classes(job->model));
    for (;;) {
        int k = g_atomic_int_add(&job->next, 1);
        if (k >= job->n) break;
        tile_one(job, ws, err.message, input, probs, k);
    }
    g_free(input);
    g_free(probs);
    cam_workspace_free(ws);
    return NULL;
}

static void run_job(tile_job *job, int jobs)
{
    jobs = MAX(1, MIN(jobs, job->n));
    if (jobs == 1) {
        tile_worker(job);
        return;
    }
    GThread **threads = g_new(GThread *, jobs);
    for (int t = 0; t < jobs; t++) threads[t] = g_thread_new("gallery", tile_worker, job);
    for (int t = 0; t < jobs; t++) g_thread_join(threads[t]);
    g_free(threads);
}

/* Render settings for `jobs` worker threads: single-threaded renders and BLAS when the
 * images are spread over threads. The pixels do not depend on it. */
static cli_tile_settings threaded_settings(const cli_tile_settings *s, int jobs)
{
    cli_tile_settings t = *s;
    t.render.threads = jobs > 1 ? 1 : 0;
    cam_set_blas_threads(jobs > 1 ? 1 : 0);
    return t;
}

static void make_tiles(const cam_model *model, const cli_dataset *ds, char **files,
                       const int *indices, int n, const cli_tile_settings *settings, int jobs,
                       cli_tile *tiles, char **errors)
{
    cli_tile_settings ts = threaded_settings(settings, MIN(jobs, n));
    tile_job job = {0};
    job.model = model;
    job.ds = ds;
    job.files = files;
    job.indices = indices;
    job.n = n;
    job.settings = &ts;
    job.tiles = tiles;
    job.errors = errors;
    for (int k = 0; k < n; k++) {
        memset(&tiles[k], 0, sizeof tiles[k]);
        tiles[k].label = -1;
        errors[k] = NULL;
    }
    run_job(&job, jobs);
}

void cli_tiles_from_dataset(const cam_model *model, const cli_dataset *ds, const int *indices,
                            int n, const cli_tile_settings *settings, int jobs, cli_tile *tiles,
                            char **errors)
{
    make_tiles(model, ds, NULL, indices, n, settings, jobs, tiles, errors);
}

/* ---- the sheet ------------------------------------------------------------- */

/* The tile as it appears on the sheet: RGB over white, magnified or reduced. */
static gboolean sheet_tile(const cli_image *src, int tile_size, cli_image *out, GError **error)
{
    int w = src->width, h = src->height, ch = src->channels;
    int longer = MAX(w, h);
    cli_image rgb = {0};
    rgb.width = w;
    rgb.height = h;
    rgb.channels = 3;
    rgb.stride = (size_t) w * 3;
    rgb.pixels = g_try_malloc(rgb.stride * (size_t) h);
    if (!rgb.pixels) goto nomem;
    for (int y = 0; y < h; y++) {
        const guint8 *s = src->pixels + (size_t) y * src->stride;
        guint8 *d = rgb.pixels + (size_t) y * rgb.stride;
        for (int x = 0; x < w; x++, s += ch, d += 3) {
            int a = ch == 2 || ch == 4 ? s[ch - 1] : 255;
            for (int c = 0; c < 3; c++) {
                int v = ch >= 3 ? s[c] : s[0];
                /* straight alpha over white, rounded; opaque pixels are copied */
                d[c] = (guint8) (a == 255 ? v : (v * a + 255 * (255 - a) + 127) / 255);
            }
        }
    }
    if (longer <= tile_size) {
        int f = MAX(1, tile_size / longer);
        out->width = w * f;
        out->height = h * f;
        out->channels = 3;
        out->stride = (size_t) out->width * 3;
        out->pixels = g_try_malloc(out->stride * (size_t) out->height);
        if (!out->pixels) goto nomem;
        for (int y = 0; y < out->height; y++) {
            const guint8 *s = rgb.pixels + (size_t) (y / f) * rgb.stride;
            guint8 *d = out->pixels + (size_t) y * out->stride;
            for (int x = 0; x < out->width; x++) memcpy(d + 3 * x, s + 3 * (x / f), 3);
        }
        cli_image_clear(&rgb);
        return TRUE;
    }
    int tw = MAX(1, (int) ((gint64) w * tile_size / longer));
    int th = MAX(1, (int) ((gint64) h * tile_size / longer));
    GdkPixbuf *pb = gdk_pixbuf_new_from_data(rgb.pixels, GDK_COLORSPACE_RGB, FALSE, 8, w, h,
                                             (int) rgb.stride, NULL, NULL);
    GdkPixbuf *small = pb ? gdk_pixbuf_scale_simple(pb, tw, th, GDK_INTERP_BILINEAR) : NULL;
    if (pb) g_object_unref(pb);
    cli_image_clear(&rgb);
    if (!small) goto nomem;
    out->width = tw;
    out->height = th;
    out->channels = 3;
    out->stride = (size_t) tw * 3;
    out->pixels = g_malloc(out->stride * (size_t) th);
    const guint8 *sp = gdk_pixbuf_read_pixels(small);
    int sstride = gdk_pixbuf_get_rowstride(small), sch = gdk_pixbuf_get_n_channels(small);
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++)
            memcpy(out->pixels + (size_t) y * out->stride + 3 * (size_t) x,
                   sp + (size_t) y * sstride + (size_t) sch * x, 3);
    g_object_unref(small);
    return TRUE;
nomem:
    cli_image_clear(&rgb);
    g_set_error(error, GALLERY_ERROR, 1, "out of memory for a gallery tile");
    return FALSE;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

/* Sets the layout's text: one line, ellipsized in the middle, or wrapped (titles). */
static void set_text(PangoLayout *layout, const char *text, int width, gboolean bold, int px,
                     gboolean wrap)
{
    PangoFontDescription *fd = pango_font_description_from_string("Sans");
    pango_font_description_set_absolute_size(fd, px * PANGO_SCALE);
    pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(layout, fd);
    pango_font_description_free(fd);
    pango_layout_set_width(layout, width * PANGO_SCALE);
    if (wrap) {
        pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_NONE);
        pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
        pango_layout_set_alignment(layout, PANGO_ALIGN_LEFT);
    } else {
        pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_MIDDLE);
        pango_layout_set_alignment(layout, PANGO_ALIGN_CENTER);
    }
    pango_layout_set_text(layout, text, -1);
}

static void draw_text(cairo_t *cr, PangoLayout *layout, const char *text, int x, int y,
                      int width, gboolean bold, int px, double r, double g, double b)
{
    set_text(layout, text, width, bold, px, FALSE);
    cairo_set_source_rgb(cr, r, g, b);
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, layout);
}

/* Fixed text rendering options: the sheet does not depend on the user's font settings. */
static void set_font_options(cairo_t *cr)
{
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_SLIGHT);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_ON);
    cairo_set_font_options(cr, fo);
    cairo_font_options_destroy(fo);
}

/* The height of the wrapped title at `width` pixels. */
static int title_height(const char *title, int width)
{
    cairo_surface_t *scratch = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *cr = cairo_create(scratch);
    set_font_options(cr);
    PangoLayout *layout = pango_cairo_create_layout(cr);
    set_text(layout, title, width, TRUE, TITLE_FONT_PX, TRUE);
    int w = 0, h = 0;
    pango_layout_get_pixel_size(layout, &w, &h);
    g_object_unref(layout);
    cairo_destroy(cr);
    cairo_surface_destroy(scratch);
    return h;
}

gboolean cli_sheet_compose(const cam_model *model, const cli_tile *tiles, int n,
                           const cli_sheet_options *options, cli_image *sheet,
                           cam_rect *positions, GError **error)
{
    memset(sheet, 0, sizeof *sheet);
    if (n <= 0) {
        g_set_error(error, GALLERY_ERROR, 1, "no images for the gallery");
        return FALSE;
    }
    int columns = MAX(1, MIN(options->columns, n));
    int rows = (n + columns - 1) / columns;
    cli_image *shown = g_new0(cli_image, n);
    int tile_w = 0, tile_h = 0;
    gboolean labelled = FALSE;
    for (int k = 0; k < n; k++) {
        if (!sheet_tile(&tiles[k].image, options->tile_size, &shown[k], error)) {
            for (int j = 0; j < k; j++) cli_image_clear(&shown[j]);
            g_free(shown);
            return FALSE;
        }
        tile_w = MAX(tile_w, shown[k].width);
        tile_h = MAX(tile_h, shown[k].height);
        if (tiles[k].label >= 0) labelled = TRUE;
    }
    int lines = labelled ? 3 : 2;
    int cell_w = MAX(tile_w, CELL_MIN_WIDTH);
    int cell_h = tile_h + CAPTION_GAP + lines * CAPTION_LINE;
    gint64 width = SHEET_PAD + (gint64) columns * (cell_w + SHEET_PAD);
    int top = options->title && width <= 32767
                  ? 2 * TITLE_GAP + title_height(options->title, (int) width - 2 * SHEET_PAD)
                  : 0;
    gint64 height = top + SHEET_PAD + (gint64) rows * (cell_h + SHEET_PAD);
    if (width > 32767 || height > 32767) {
        for (int k = 0; k < n; k++) cli_image_clear(&shown[k]);
        g_free(shown);
        g_set_error(error, GALLERY_ERROR, 1,
                    "the gallery would be %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                    " pixels; use fewer images (--limit), other --columns or a smaller "
                    "--tile-size",
                    width, height);
        return FALSE;
    }
    cairo_surface_t *surface =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int) width, (int) height);
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surface);
        for (int k = 0; k < n; k++) cli_image_clear(&shown[k]);
        g_free(shown);
        g_set_error(error, GALLERY_ERROR, 1, "out of memory for a %dx%d gallery", (int) width,
                    (int) height);
        return FALSE;
    }
    cairo_t *cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    set_font_options(cr);
    PangoLayout *layout = pango_cairo_create_layout(cr);
    if (options->title) {
        set_text(layout, options->title, (int) width - 2 * SHEET_PAD, TRUE, TITLE_FONT_PX, TRUE);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        cairo_move_to(cr, SHEET_PAD, TITLE_GAP + SHEET_PAD / 2);
        pango_cairo_show_layout(cr, layout);
    }
    for (int k = 0; k < n; k++) {
        const cli_tile *t = &tiles[k];
        int cx = SHEET_PAD + (k % columns) * (cell_w + SHEET_PAD);
        int cy = top + SHEET_PAD + (k / columns) * (cell_h + SHEET_PAD);
        cam_rect r = {cx + (cell_w - shown[k].width) / 2, cy + (tile_h - shown[k].height) / 2,
                      shown[k].width, shown[k].height};
        if (positions) positions[k] = r;
        gboolean wrong = t->label >= 0 && t->label != t->predicted;
        if (wrong) {
            cairo_set_source_rgb(cr, 0.83, 0.13, 0.13);
            cairo_rectangle(cr, r.x - FRAME, r.y - FRAME, r.width + 2 * FRAME,
                            r.height + 2 * FRAME);
            cairo_fill(cr);
        }
        int ty = cy + tile_h + CAPTION_GAP;
        draw_text(cr, layout, base_name(t->name), cx, ty, cell_w, FALSE, CAPTION_FONT_PX - 1,
                  0.42, 0.42, 0.42);
        char *pred = g_strdup_printf("%s %.1f%%", cam_model_class_label(model, t->predicted),
                                     100.0 * t->probability);
        draw_text(cr, layout, pred, cx, ty + CAPTION_LINE, cell_w, TRUE, CAPTION_FONT_PX, 0.1,
                  0.1, 0.1);
        g_free(pred);
        if (t->label >= 0) {
            char *truth = g_strdup_printf("%s true: %s", wrong ? "\u2717" : "\u2713",
                                          cam_model_class_label(model, t->label));
            if (wrong)
                draw_text(cr, layout, truth, cx, ty + 2 * CAPTION_LINE, cell_w, TRUE,
                          CAPTION_FONT_PX, 0.78, 0.1, 0.1);
            else
                draw_text(cr, layout, truth, cx, ty + 2 * CAPTION_LINE, cell_w, FALSE,
                          CAPTION_FONT_PX, 0.15, 0.5, 0.2);
            g_free(truth);
        }
    }
    g_object_unref(layout);
    cairo_destroy(cr);
    cairo_surface_flush(surface);

    sheet->width = (int) width;
    sheet->height = (int) height;
    sheet->channels = 3;
    sheet->stride = (size_t) width * 3;
    sheet->pixels = g_try_malloc(sheet->stride * (size_t) height);
    if (!sheet->pixels) {
        cairo_surface_destroy(surface);
        for (int k = 0; k < n; k++) cli_image_clear(&shown[k]);
        g_free(shown);
        memset(sheet, 0, sizeof *sheet);
        g_set_error(error, GALLERY_ERROR, 1, "out of memory for a %dx%d gallery", (int) width,
                    (int) height);
        return FALSE;
    }
    const unsigned char *data = cairo_image_surface_get_data(surface);
    int cstride = cairo_image_surface_get_stride(surface);
    for (int y = 0; y < sheet->height; y++) {
        const guint32 *s = (const guint32 *) (const void *) (data + (size_t) y * cstride);
        guint8 *d = sheet->pixels + (size_t) y * sheet->stride;
        for (int x = 0; x < sheet->width; x++, d += 3) {
            d[0] = (guint8) (s[x] >> 16);
            d[1] = (guint8) (s[x] >> 8);
            d[2] = (guint8) s[x];
        }
    }
    cairo_surface_destroy(surface);
    /* the tiles, copied last: their pixels are the outputs', untouched */
    for (int k = 0; k < n; k++) {
        int x0 = SHEET_PAD + (k % columns) * (cell_w + SHEET_PAD) + (cell_w - shown[k].width) / 2;
        int y0 = top + SHEET_PAD + (k / columns) * (cell_h + SHEET_PAD) +
                 (tile_h - shown[k].height) / 2;
        for (int y = 0; y < shown[k].height; y++)
            memcpy(sheet->pixels + (size_t) (y0 + y) * sheet->stride + 3 * (size_t) x0,
                   shown[k].pixels + (size_t) y * shown[k].stride, shown[k].stride);
        cli_image_clear(&shown[k]);
    }
    g_free(shown);
    return TRUE;
}

void cli_text_shutdown(void)
{
    /* the font map (and with it pango's fonts), cairo's font caches, then fontconfig's
     * configuration and caches: nothing drawn later, nothing left for leak checkers */
    pango_cairo_font_map_set_default(NULL);
    cairo_debug_reset_static_data();
    FcFini();
}

/* ---- --gallery ------------------------------------------------------------- */

/* Indices of the data set samples to show: the first `limit` from `offset` whose label
 * (true_class) or prediction is `class_index` (-1: any), scanned in chunks on `jobs`
 * threads, kept in data set order. Returns the number found; *scanned: samples looked at. */
static int select_samples(const cam_model *model, const cli_dataset *ds,
                          const cli_gallery_options *o, const cli_tile_settings *settings,
                          int *selected, int *scanned, int *failed)
{
    int size = cli_dataset_size(ds), found = 0;
    *scanned = 0;
    *failed = 0;
    if (o->class_index < 0) {
        for (int i = o->offset; i < size && found < o->limit; i++) selected[found++] = i;
        *scanned = found;
        return found;
    }
    int chunk = MAX(64, 32 * o->jobs);
    int *indices = g_new(int, chunk), *labels = g_new(int, chunk), *pred = g_new(int, chunk);
    char **errors = g_new0(char *, chunk);
    cli_tile_settings ts = threaded_settings(settings, o->jobs);
    for (int start = o->offset; start < size && found < o->limit; start += chunk) {
        int m = MIN(chunk, size - start);
        for (int k = 0; k < m; k++) indices[k] = start + k;
        tile_job job = {0};
        job.model = model;
        job.ds = ds;
        job.indices = indices;
        job.n = m;
        job.settings = &ts;
        job.scan_only = TRUE;
        job.need_prediction = !o->true_class;
        job.errors = errors;
        job.labels = labels;
        job.predicted = pred;
        run_job(&job, o->jobs);
        for (int k = 0; k < m; k++) {
            if (errors[k]) {
                if (found < o->limit) {
                    fprintf(stderr, "%s: %s\n", PROGRAM, errors[k]);
                    (*failed)++;
                }
                g_free(errors[k]);
                errors[k] = NULL;
                continue;
            }
            if (found >= o->limit) continue;
            (*scanned) = start + k + 1 - o->offset;
            int c = o->true_class ? labels[k] : pred[k];
            if (c == o->class_index) selected[found++] = start + k;
        }
    }
    g_free(indices);
    g_free(labels);
    g_free(pred);
    g_free(errors);
    return found;
}

static int ceil_sqrt(int n)
{
    int r = 1;
    while (r * r < n) r++;
    return r;
}

static char *gallery_title(const cam_model *model, const cli_gallery_options *o, int shown,
                           int scanned, gboolean dataset)
{
    GString *t = g_string_new(cam_model_get_info(model)->name);
    g_string_append_printf(t, ", %s", cam_method_name(o->tiles.explain.method));
    if (o->class_index >= 0)
        g_string_append_printf(t, ": %d image%s %s %s", shown, shown == 1 ? "" : "s",
                               o->true_class ? "labelled" : "predicted as",
                               cam_model_class_label(model, o->class_index));
    else
        g_string_append_printf(t, ": %d image%s", shown, shown == 1 ? "" : "s");
    if (dataset && o->class_index >= 0 && scanned > 0)
        g_string_append_printf(t, ", the first of #%d..#%d", o->offset, o->offset + scanned - 1);
    cam_render_options ro =
        cli_render_options(model, o->tiles.explain.method, &o->tiles.render, 1.0f);
    if (ro.colormap == CAM_COLORMAP_GREENS_REDS)
        g_string_append_printf(t, "; green: probability above %g%%, red: below",
                               100.0 * ro.threshold);
    return g_string_free(t, FALSE);
}

/* {"format": "cam-heatmap-gallery", "version": 1, "program", "model", "output", "title",
 *  "method", "tiles": [{"name", "predicted": {"index", "label", "probability"},
 *  "label": {"index", "label"} | null, "x", "y", "width", "height", "scale"}]}
 * x, y, width, height: the tile's rectangle in the sheet; scale: its size over the image's
 * (a whole number when magnified). */
static void gallery_json(GString *j, const cam_model *model, const cli_gallery_options *o,
                         const cli_tile *tiles, const cam_rect *positions, int n,
                         const char *title)
{
    g_string_append_printf(j, "{\"format\": \"cam-heatmap-gallery\", \"version\": %d, "
                              "\"program\": ",
                           CLI_JSON_FORMAT_VERSION);
    cli_json_string(j, "cam-heatmap " CAM_VERSION_STRING);
    g_string_append(j, ",\n \"model\": ");
    cli_json_model(j, model, "");
    g_string_append(j, ",\n \"output\": ");
    cli_json_string(j, o->output);
    g_string_append(j, ", \"title\": ");
    cli_json_string(j, title);
    g_string_append(j, ", \"method\": ");
    cli_json_string(j, cam_method_name(o->tiles.explain.method));
    g_string_append(j, ",\n \"tiles\": [");
    for (int k = 0; k < n; k++) {
        const cli_tile *t = &tiles[k];
        g_string_append(j, k ? ",\n  {\"name\": " : "\n  {\"name\": ");
        cli_json_string(j, t->name);
        g_string_append_printf(j, ", \"predicted\": {\"index\": %d, \"label\": ",
                               t->predicted);
        cli_json_string(j, cam_model_class_label(model, t->predicted));
        g_string_append(j, ", \"probability\": ");
        cli_json_float(j, t->probability);
        g_string_append(j, "}, \"label\": ");
        if (t->label < 0) {
            g_string_append(j, "null");
        } else {
            g_string_append_printf(j, "{\"index\": %d, \"label\": ", t->label);
            cli_json_string(j, cam_model_class_label(model, t->label));
            g_string_append_c(j, '}');
        }
        g_string_append_printf(j, ", \"x\": %d, \"y\": %d, \"width\": %d, \"height\": %d, "
                                  "\"scale\": ",
                               positions[k].x, positions[k].y, positions[k].width,
                               positions[k].height);
        cli_json_float(j, (double) positions[k].width / t->image.width);
        g_string_append_c(j, '}');
    }
    g_string_append(j, "]}\n");
}

int cli_gallery(const cam_model *model, cli_dataset *dataset, char **files, int n_files,
                const cli_gallery_options *o_in)
{
    cli_gallery_options o = *o_in;
    GError *error = NULL;
    if (!cli_image_is_writable_name(o.output)) {
        fprintf(stderr,
                "%s: --gallery %s: unknown image format (use .png, .jpg, .tif, .bmp or .webp)\n",
                PROGRAM, o.output);
        return CLI_EXIT_USAGE;
    }
    if (!cli_output_check(o.output, &error)) {
        fprintf(stderr, "%s: --gallery: %s\n", PROGRAM, error->message);
        g_error_free(error);
        return CLI_EXIT_USAGE;
    }
    char *dir = g_path_get_dirname(o.output);
    gboolean dir_ok = g_file_test(dir, G_FILE_TEST_IS_DIR);
    g_free(dir);
    if (!dir_ok) {
        fprintf(stderr, "%s: --gallery %s: its folder does not exist\n", PROGRAM, o.output);
        return CLI_EXIT_USAGE;
    }
    char *out_id = cli_file_identity(o.output);
    for (int i = 0; i < n_files; i++) {
        char *id = cli_file_identity(files[i]);
        gboolean same = !strcmp(id, out_id);
        g_free(id);
        if (same) {
            fprintf(stderr, "%s: --gallery %s is the input image %s; nothing was written\n",
                    PROGRAM, o.output, files[i]);
            g_free(out_id);
            return CLI_EXIT_USAGE;
        }
    }
    if (o.json_path && strcmp(o.json_path, "-") != 0) {
        char *json_id = cli_file_identity(o.json_path);
        gboolean same = !strcmp(json_id, out_id);
        g_free(json_id);
        if (same) {
            fprintf(stderr, "%s: --json %s is the gallery image; nothing was written\n",
                    PROGRAM, o.json_path);
            g_free(out_id);
            return CLI_EXIT_USAGE;
        }
    }
    g_free(out_id);
    if (o.columns < 0) {
        fprintf(stderr, "%s: --columns: %d is negative\n", PROGRAM, o.columns);
        return CLI_EXIT_USAGE;
    }
    if (o.tile_size < 8 || o.tile_size > 4096) {
        fprintf(stderr, "%s: --tile-size: %d is not in 8..4096\n", PROGRAM, o.tile_size);
        return CLI_EXIT_USAGE;
    }
    if (!o.invert_given)
        o.tiles.preprocess.invert =
            dataset && cli_dataset_get_format(dataset) != CLI_DATASET_FOLDERS ? CAM_INVERT_OFF
                                                                               : CAM_INVERT_AUTO;
    o.jobs = MAX(1, o.jobs);

    int n = 0, failed = 0, scanned = 0;
    cli_tile *tiles = NULL;
    if (dataset) {
        int size = cli_dataset_size(dataset);
        if (o.offset >= size) {
            fprintf(stderr, "%s: --offset %d: the data set has only %d images\n", PROGRAM,
                    o.offset, size);
            return CLI_EXIT_USAGE;
        }
        if (o.limit <= 0) o.limit = 16;
        int *selected = g_new(int, o.limit);
        n = select_samples(model, dataset, &o, &o.tiles, selected, &scanned, &failed);
        tiles = g_new0(cli_tile, MAX(n, 1));
        char **errors = g_new0(char *, MAX(n, 1));
        make_tiles(model, dataset, NULL, selected, n, &o.tiles, o.jobs, tiles, errors);
        int kept = 0;
        for (int k = 0; k < n; k++) {
            if (errors[k]) {
                fprintf(stderr, "%s: %s\n", PROGRAM, errors[k]);
                g_free(errors[k]);
                failed++;
                continue;
            }
            tiles[kept++] = tiles[k];
        }
        n = kept;
        g_free(errors);
        g_free(selected);
    } else {
        if (o.offset >= n_files) o.offset = n_files;
        int count = n_files - o.offset;
        /* without a class filter only the first --limit files are needed */
        if (o.class_index < 0 && o.limit > 0) count = MIN(count, o.limit);
        int *indices = g_new(int, MAX(count, 1));
        for (int k = 0; k < count; k++) indices[k] = o.offset + k;
        tiles = g_new0(cli_tile, MAX(count, 1));
        char **errors = g_new0(char *, MAX(count, 1));
        make_tiles(model, NULL, files, indices, count, &o.tiles, o.jobs, tiles, errors);
        int limit = o.limit > 0 ? o.limit : count;
        for (int k = 0; k < count; k++) {
            if (errors[k]) {
                fprintf(stderr, "%s: %s\n", PROGRAM, errors[k]);
                g_free(errors[k]);
                failed++;
                continue;
            }
            if (n < limit && (o.class_index < 0 || tiles[k].predicted == o.class_index)) {
                tiles[n++] = tiles[k];
            } else {
                cli_tile_clear(&tiles[k]);
            }
        }
        scanned = count;
        g_free(errors);
        g_free(indices);
    }
    int code = failed ? CLI_EXIT_SOME_FAILED : CLI_EXIT_OK;
    if (n == 0) {
        if (o.class_index >= 0)
            fprintf(stderr, "%s: --gallery %s: no image %s %s among the %d looked at; nothing "
                            "was written\n",
                    PROGRAM, o.output, o.true_class ? "labelled" : "predicted as",
                    cam_model_class_label(model, o.class_index), scanned);
        else
            fprintf(stderr, "%s: --gallery %s: no image could be explained; nothing was "
                            "written\n",
                    PROGRAM, o.output);
        g_free(tiles);
        return CLI_EXIT_SOME_FAILED;
    }
    cli_sheet_options so = {0};
    so.columns = o.columns > 0 ? o.columns : MIN(10, ceil_sqrt(n));
    so.tile_size = o.tile_size;
    char *title = gallery_title(model, &o, n, scanned, dataset != NULL);
    so.title = title;
    cli_image sheet;
    cam_rect *positions = g_new(cam_rect, n);
    gboolean ok = cli_sheet_compose(model, tiles, n, &so, &sheet, positions, &error);
    if (ok) {
        ok = cli_image_save(&sheet, o.output, &error);
        cli_image_clear(&sheet);
    }
    if (!ok) {
        fprintf(stderr, "%s: --gallery %s: %s\n", PROGRAM, o.output, error->message);
        g_error_free(error);
        code = CLI_EXIT_INTERNAL;
    } else if (o.json_path) {
        GString *j = g_string_new(NULL);
        gallery_json(j, model, &o, tiles, positions, n, title);
        if (!cli_write_text(o.json_path, j->str, j->len, &error)) {
            fprintf(stderr, "%s: --json: %s\n", PROGRAM, error->message);
            g_error_free(error);
            code = CLI_EXIT_INTERNAL;
        }
        g_string_free(j, TRUE);
    }
    g_free(positions);
    if (ok && !o.quiet) {
        for (int k = 0; k < n; k++) {
            printf("%s: %s %.2f%%", tiles[k].name,
                   cam_model_class_label(model, tiles[k].predicted),
                   100.0 * tiles[k].probability);
            if (tiles[k].label >= 0)
                printf(" (true: %s%s)", cam_model_class_label(model, tiles[k].label),
                       tiles[k].label == tiles[k].predicted ? "" : ", wrong");
            putchar('\n');
        }
        printf("-> %s (%d image%s)\n", o.output, n, n == 1 ? "" : "s");
    }
    g_free(title);
    for (int k = 0; k < n; k++) cli_tile_clear(&tiles[k]);
    g_free(tiles);
    cli_text_shutdown();
    return code;
}
