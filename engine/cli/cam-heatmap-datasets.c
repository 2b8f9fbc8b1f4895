/*
 * cam-heatmap-datasets.c -- labelled data sets for --evaluate.
 *
 * IDX (the MNIST / Fashion-MNIST format): big-endian header, magic 0x00000803 for
 *   u8 images (n, rows, cols), 0x00000801 for u8 labels (n); gzipped or not.
 * CIFAR-10 binary: records of 1 label byte + 1024 R + 1024 G + 1024 B bytes (32x32,
 *   row-major planes); gzipped or not; several batches are concatenated.
 * Folder per class: DIR/<class>/<image>, <class> being the model's canonical label or a
 *   class index; files in name order, classes in name order.
 * Whether a file is gzipped is told by its first two bytes (1f 8b), not by its name.
 */
#include "cam-heatmap.h"

#include <gio/gio.h>
#include <string.h>

struct cli_dataset {
    cli_dataset_format format;
    char *description;
    int n;
    /* IDX and CIFAR: everything in memory, HWC interleaved */
    int channels, height, width;
    guint8 *pixels;
    guint8 *labels;
    /* folders */
    GPtrArray *class_dirs;  /* folder names */
    GPtrArray *files;       /* full paths */
    GArray *file_class_dir; /* int: index into class_dirs */
    int *dir_class;         /* model class of each folder (after bind) */
};

#define CLI_DATASET_ERROR (g_quark_from_static_string("cam-heatmap-dataset"))

/* The most pixel data a data set may hold in memory (documented in README.md). */
#define CLI_DATASET_MAX_BYTES ((guint64) 1 << 30)

/* A data set file read as a stream, gunzipped when it starts with the gzip magic; only
 * what is asked for is read (--offset + --limit images), so a header that claims more
 * than is there, or a gzip bomb, costs nothing beyond the part used. */
typedef struct ds_reader {
    const char *path;
    GInputStream *file, *in;
    GConverter *gunzip;
    gboolean gz;
    guint64 size;   /* of the file on disk */
    guint32 isize;  /* gzip: the trailer's uncompressed size mod 2^32 */
} ds_reader;

static void reader_close(ds_reader *r)
{
    if (r->in) g_object_unref(r->in);
    if (r->gunzip) g_object_unref(r->gunzip);
    if (r->file) g_object_unref(r->file);
    memset(r, 0, sizeof *r);
}

static gboolean reader_open(ds_reader *r, const char *path, GError **error)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, CLI_DATASET_ERROR, 1, "%s: is a folder, not a data set file", path);
        return FALSE;
    }
    GFile *f = g_file_new_for_path(path);
    GFileInputStream *fin = g_file_read(f, NULL, error);
    GFileInfo *info = fin ? g_file_input_stream_query_info(fin, G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                                           NULL, error)
                          : NULL;
    g_object_unref(f);
    if (!info) {
        if (fin) g_object_unref(fin);
        return FALSE;
    }
    r->size = (guint64) g_file_info_get_size(info);
    g_object_unref(info);
    r->file = G_INPUT_STREAM(fin);
    guint8 magic[2] = {0, 0};
    gsize got = 0;
    if (!g_input_stream_read_all(r->file, magic, 2, &got, NULL, error)) goto fail;
    r->gz = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (r->gz && r->size >= 18) {
        guint8 t[4];
        if (!g_seekable_seek(G_SEEKABLE(fin), -4, G_SEEK_END, NULL, error) ||
            !g_input_stream_read_all(r->file, t, 4, &got, NULL, error) || got != 4)
            goto fail;
        r->isize = (guint32) t[0] | (guint32) t[1] << 8 | (guint32) t[2] << 16 |
                   (guint32) t[3] << 24;
    }
    if (!g_seekable_seek(G_SEEKABLE(fin), 0, G_SEEK_SET, NULL, error)) goto fail;
    if (r->gz) {
        r->gunzip = G_CONVERTER(g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP));
        r->in = g_converter_input_stream_new(r->file, r->gunzip);
    } else {
        r->in = g_object_ref(r->file);
    }
    return TRUE;
fail:
    reader_close(r);
    return FALSE;
}

/* Reads up to n bytes; *got < n only at the end of the data. */
static gboolean reader_read(ds_reader *r, void *buf, gsize n, gsize *got, GError **error)
{
    GError *local = NULL;
    if (!g_input_stream_read_all(r->in, buf, n, got, NULL, &local)) {
        g_set_error(error, CLI_DATASET_ERROR, 1, "%s: %s%s", r->path,
                    r->gz ? "not a valid gzip file: " : "", local->message);
        g_error_free(local);
        return FALSE;
    }
    return TRUE;
}

/* Is the data exactly `total` bytes long? Known without reading it all: the file size,
 * or (gzip) the trailer's size mod 2^32. */
static gboolean reader_total_matches(const ds_reader *r, guint64 total)
{
    if (!r->gz) return r->size == total;
    return r->isize == (guint32) (total & 0xffffffffu);
}

static guint32 read_be32(const guint8 *p)
{
    return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static char *format_bytes(guint64 n)
{
    return g_format_size_full(n, G_FORMAT_SIZE_IEC_UNITS);
}

static cli_dataset *dataset_new(cli_dataset_format format)
{
    cli_dataset *ds = g_new0(cli_dataset, 1);
    ds->format = format;
    return ds;
}

void cli_dataset_free(cli_dataset *ds)
{
    if (!ds) return;
    g_free(ds->description);
    g_free(ds->pixels);
    g_free(ds->labels);
    if (ds->class_dirs) g_ptr_array_unref(ds->class_dirs);
    if (ds->files) g_ptr_array_unref(ds->files);
    if (ds->file_class_dir) g_array_unref(ds->file_class_dir);
    g_free(ds->dir_class);
    g_free(ds);
}

/* ---- IDX ---------------------------------------------------------------- */

static char *idx_labels_path(const char *images_path)
{
    const char *base = strrchr(images_path, '/');
    base = base ? base + 1 : images_path;
    const char *at = strstr(base, "images-idx3");
    if (!at) return NULL;
    GString *s = g_string_new_len(images_path, at - images_path);
    g_string_append(s, "labels-idx1");
    g_string_append(s, at + strlen("images-idx3"));
    return g_string_free(s, FALSE);
}

/* Reads the header of an IDX file: magic, then dims big-endian 32-bit. */
static gboolean idx_header(ds_reader *r, guint32 magic, int n_dims, guint32 *dims,
                           const char *what, GError **error)
{
    guint8 h[16];
    gsize want = 4 + 4 * (gsize) n_dims, got = 0;
    if (!reader_read(r, h, want, &got, error)) return FALSE;
    if (got < want || read_be32(h) != magic) {
        g_set_error(error, CLI_DATASET_ERROR, 1,
                    "%s: not an IDX file of %s (magic 0x%08x expected)", r->path, what, magic);
        return FALSE;
    }
    for (int i = 0; i < n_dims; i++) dims[i] = read_be32(h + 4 + 4 * i);
    return TRUE;
}

/* Reads `n` bytes of data into a new buffer (g_try_malloc; the size is checked first). */
static guint8 *read_block(ds_reader *r, guint64 n, const char *what, GError **error)
{
    if (n > CLI_DATASET_MAX_BYTES || n > G_MAXSIZE) {
        char *a = format_bytes(n), *b = format_bytes(CLI_DATASET_MAX_BYTES);
        g_set_error(error, CLI_DATASET_ERROR, 1,
                    "%s: %s would take %s, more than the %s this tool holds in memory; "
                    "use --limit (and --offset) to evaluate a part",
                    r->path, what, a, b);
        g_free(a);
        g_free(b);
        return NULL;
    }
    guint8 *buf = g_try_malloc(n ? (gsize) n : 1);
    if (!buf) {
        char *a = format_bytes(n);
        g_set_error(error, CLI_DATASET_ERROR, 1, "%s: out of memory for %s (%s)", r->path,
                    what, a);
        g_free(a);
        return NULL;
    }
    gsize got = 0;
    if (!reader_read(r, buf, (gsize) n, &got, error)) {
        g_free(buf);
        return NULL;
    }
    if (got < n) {
        g_set_error(error, CLI_DATASET_ERROR, 1,
                    "%s: the data ends after %" G_GSIZE_FORMAT " of the %" G_GUINT64_FORMAT
                    " bytes of %s (truncated file?)",
                    r->path, got, n, what);
        g_free(buf);
        return NULL;
    }
    return buf;
}

static cli_dataset *open_idx(const char *images_path, int max_images, GError **error)
{
    char *labels_path = idx_labels_path(images_path);
    if (!labels_path) {
        g_set_error(error, CLI_DATASET_ERROR, 1,
                    "%s: an IDX image file name must contain \"images-idx3\" (the labels are "
                    "read from the same name with \"labels-idx1\")",
                    images_path);
        return NULL;
    }
    cli_dataset *ds = NULL;
    guint8 *pixels = NULL, *labels = NULL;
    ds_reader ri = {0}, rl = {0};
    guint32 d[3], nl;
    if (!reader_open(&ri, images_path, error) ||
        !idx_header(&ri, 0x00000803, 3, d, "8-bit images", error) ||
        !reader_open(&rl, labels_path, error) ||
        !idx_header(&rl, 0x00000801, 1, &nl, "8-bit labels", error))
        goto out;
    guint32 n = d[0], rows = d[1], cols = d[2];
    guint64 total = 16 + (guint64) n * rows * cols;
    if (n == 0 || rows == 0 || cols == 0 || rows > 4096 || cols > 4096 || n > G_MAXINT) {
        g_set_error(error, CLI_DATASET_ERROR, 1,
                    "%s: header says %u images of %ux%u: not a usable size (1 to %d images of "
                    "at most 4096x4096)",
                    images_path, n, rows, cols, G_MAXINT);
        goto out;
    }
    if (!reader_total_matches(&ri, total)) {
        char *a = format_bytes(total);
        if (ri.gz)
            g_set_error(error, CLI_DATASET_ERROR, 1,
                        "%s: header says %u images of %ux%u (%s) but the gzip data holds "
                        "%u bytes (mod 4 GiB)",
                        images_path, n, rows, cols, a, ri.isize);
        else
            g_set_error(error, CLI_DATASET_ERROR, 1,
                        "%s: header says %u images of %ux%u (%s) but the file holds %" G_GUINT64_FORMAT
                        " bytes",
                        images_path, n, rows, cols, a, ri.size);
        g_free(a);
        goto out;
    }
    if (nl != n || !reader_total_matches(&rl, 8 + (guint64) n)) {
        g_set_error(error, CLI_DATASET_ERROR, 1,
                    "%s: %u labels expected (as many as images in %s), the header says %u and "
                    "the %s holds %" G_GUINT64_FORMAT " bytes",
                    labels_path, n, images_path, nl, rl.gz ? "gzip data" : "file",
                    rl.gz ? (guint64) rl.isize : rl.size);
        goto out;
    }
    guint32 n_load = max_images > 0 && (guint32) max_images < n ? (guint32) max_images : n;
    char *what = g_strdup_printf("%u images of %ux%u", n_load, rows, cols);
    pixels = read_block(&ri, (guint64) n_load * rows * cols, what, error);
    g_free(what);
    if (!pixels) goto out;
    labels = read_block(&rl, n_load, "the labels", error);
    if (!labels) goto out;
    ds = dataset_new(CLI_DATASET_IDX);
    ds->n = (int) n_load;
    ds->channels = 1;
    ds->height = (int) rows;
    ds->width = (int) cols;
    ds->pixels = g_steal_pointer(&pixels);
    ds->labels = g_steal_pointer(&labels);
    ds->description = g_strdup_printf("IDX %s (%u images %ux%u gray)", images_path, n, rows,
                                      cols);
out:
    reader_close(&ri);
    reader_close(&rl);
    g_free(pixels);
    g_free(labels);
    g_free(labels_path);
    return ds;
}

/* ---- CIFAR-10 binary ---------------------------------------------------- */

enum { CIFAR_SIDE = 32, CIFAR_PLANE = 32 * 32, CIFAR_RECORD = 1 + 3 * 32 * 32 };

static cli_dataset *open_cifar(char **paths, int max_images, GError **error)
{
    guint64 cap = CLI_DATASET_MAX_BYTES / (3 * CIFAR_PLANE);
    if (max_images > 0 && (guint64) max_images < cap) cap = (guint64) max_images;
    gsize n = 0, alloc = 0;
    guint8 *pixels = NULL, *labels = NULL;
    GString *names = g_string_new(NULL);
    guint8 rec[CIFAR_RECORD];
    for (char **p = paths; *p && n < cap; p++) {
        ds_reader r;
        if (!reader_open(&r, *p, error)) goto fail;
        if (!r.gz && (r.size == 0 || r.size % CIFAR_RECORD != 0)) {
            g_set_error(error, CLI_DATASET_ERROR, 1,
                        "%s: not a CIFAR-10 binary batch (%" G_GUINT64_FORMAT
                        " bytes is not a multiple of the %d-byte record)",
                        *p, r.size, CIFAR_RECORD);
            reader_close(&r);
            goto fail;
        }
        gsize in_file = 0;
        for (;;) {
            gsize got = 0;
            if (n == cap) {
                if (max_images > 0 && n == (gsize) max_images) break; /* all that is used */
                /* more than the memory bound without --limit */
                guint8 probe;
                if (!reader_read(&r, &probe, 1, &got, error)) {
                    reader_close(&r);
                    goto fail;
                }
                if (got == 0) break;
                char *b = format_bytes(CLI_DATASET_MAX_BYTES);
                g_set_error(error, CLI_DATASET_ERROR, 1,
                            "%s: more than %" G_GSIZE_FORMAT " images (%s of pixels, the most "
                            "this tool holds in memory); use --limit (and --offset) to "
                            "evaluate a part",
                            *p, n, b);
                g_free(b);
                reader_close(&r);
                goto fail;
            }
            if (!reader_read(&r, rec, CIFAR_RECORD, &got, error)) {
                reader_close(&r);
                goto fail;
            }
            if (got == 0) break;
            if (got < CIFAR_RECORD) {
                g_set_error(error, CLI_DATASET_ERROR, 1,
                            "%s: the data ends inside record %" G_GSIZE_FORMAT " (%" G_GSIZE_FORMAT
                            " of %d bytes): not a CIFAR-10 binary batch, or truncated",
                            *p, in_file, got, CIFAR_RECORD);
                reader_close(&r);
                goto fail;
            }
            if (n == alloc) {
                gsize na = alloc ? alloc * 2 : 1024;
                if (na > cap) na = (gsize) cap;
                guint8 *np = g_try_realloc(pixels, na * 3 * CIFAR_PLANE);
                if (np) pixels = np;
                guint8 *nl = np ? g_try_realloc(labels, na) : NULL;
                if (nl) labels = nl;
                if (!np || !nl) {
                    g_set_error(error, CLI_DATASET_ERROR, 1, "%s: out of memory after %" G_GSIZE_FORMAT
                                " images", *p, n);
                    reader_close(&r);
                    goto fail;
                }
                alloc = na;
            }
            labels[n] = rec[0];
            guint8 *hwc = pixels + n * 3 * CIFAR_PLANE;
            for (int i = 0; i < CIFAR_PLANE; i++)
                for (int c = 0; c < 3; c++) hwc[i * 3 + c] = rec[1 + c * CIFAR_PLANE + i];
            n++;
            in_file++;
        }
        reader_close(&r);
        if (in_file == 0 && n < cap) {
            g_set_error(error, CLI_DATASET_ERROR, 1, "%s: no CIFAR-10 records (empty data)", *p);
            goto fail;
        }
        g_string_append_printf(names, "%s%s", names->len ? ", " : "", *p);
    }
    cli_dataset *ds = dataset_new(CLI_DATASET_CIFAR);
    ds->n = (int) n;
    ds->channels = 3;
    ds->height = ds->width = CIFAR_SIDE;
    ds->labels = labels;
    ds->pixels = pixels;
    ds->description = g_strdup_printf("CIFAR binary %s (%d images 32x32 RGB%s)", names->str,
                                      ds->n, max_images > 0 ? ", as far as read" : "");
    g_string_free(names, TRUE);
    return ds;
fail:
    g_free(pixels);
    g_free(labels);
    g_string_free(names, TRUE);
    return NULL;
}

/* ---- folders ------------------------------------------------------------ */

static int compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static GPtrArray *sorted_entries(const char *dir, gboolean want_dirs, GError **error)
{
    GDir *d = g_dir_open(dir, 0, error);
    if (!d) return NULL;
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(d))) {
        if (name[0] == '.') continue;
        char *full = g_build_filename(dir, name, NULL);
        gboolean is_dir = g_file_test(full, G_FILE_TEST_IS_DIR);
        g_free(full);
        if (is_dir == want_dirs) g_ptr_array_add(names, g_strdup(name));
    }
    g_dir_close(d);
    g_ptr_array_sort(names, compare_strings);
    return names;
}

static cli_dataset *open_folders(const char *dir, GError **error)
{
    GPtrArray *classes = sorted_entries(dir, TRUE, error);
    if (!classes) return NULL;
    if (classes->len == 0) {
        g_set_error(error, CLI_DATASET_ERROR, 1,
                    "%s: no IDX or CIFAR files and no class sub-folders: not a data set", dir);
        g_ptr_array_unref(classes);
        return NULL;
    }
    cli_dataset *ds = dataset_new(CLI_DATASET_FOLDERS);
    ds->class_dirs = classes;
    ds->files = g_ptr_array_new_with_free_func(g_free);
    ds->file_class_dir = g_array_new(FALSE, FALSE, sizeof(int));
    for (guint c = 0; c < classes->len; c++) {
        char *sub = g_build_filename(dir, classes->pdata[c], NULL);
        GPtrArray *files = sorted_entries(sub, FALSE, error);
        if (!files) {
            g_free(sub);
            cli_dataset_free(ds);
            return NULL;
        }
        for (guint i = 0; i < files->len; i++) {
            g_ptr_array_add(ds->files, g_build_filename(sub, files->pdata[i], NULL));
            int ci = (int) c;
            g_array_append_val(ds->file_class_dir, ci);
        }
        g_ptr_array_unref(files);
        g_free(sub);
    }
    ds->n = (int) ds->files->len;
    ds->description = g_strdup_printf("folders %s (%d images in %u class folders)", dir, ds->n,
                                      classes->len);
    return ds;
}

/* ---- opening ------------------------------------------------------------ */

/* The first existing of base and base.gz inside dir, or NULL. */
static char *find_maybe_gz(const char *dir, const char *base)
{
    char *p = g_build_filename(dir, base, NULL);
    if (g_file_test(p, G_FILE_TEST_IS_REGULAR)) return p;
    char *gz = g_strconcat(p, ".gz", NULL);
    g_free(p);
    if (g_file_test(gz, G_FILE_TEST_IS_REGULAR)) return gz;
    g_free(gz);
    return NULL;
}

static cli_dataset *open_folder(const char *dir, const char *split, int max_images,
                                GError **error)
{
    gboolean train = g_strcmp0(split, "train") == 0;
    /* IDX */
    char *idx = find_maybe_gz(dir, train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte");
    if (idx) {
        cli_dataset *ds = open_idx(idx, max_images, error);
        g_free(idx);
        return ds;
    }
    /* CIFAR-10 */
    GPtrArray *batches = g_ptr_array_new_with_free_func(g_free);
    if (train) {
        for (int i = 1; i <= 5; i++) {
            char *base = g_strdup_printf("data_batch_%d.bin", i);
            char *p = find_maybe_gz(dir, base);
            g_free(base);
            if (p) g_ptr_array_add(batches, p);
        }
    } else {
        char *p = find_maybe_gz(dir, "test_batch.bin");
        if (p) g_ptr_array_add(batches, p);
    }
    if (batches->len > 0) {
        g_ptr_array_add(batches, NULL);
        cli_dataset *ds = open_cifar((char **) batches->pdata, max_images, error);
        g_ptr_array_unref(batches);
        return ds;
    }
    g_ptr_array_unref(batches);
    /* the official archive's folder inside */
    char *inner = g_build_filename(dir, "cifar-10-batches-bin", NULL);
    if (g_file_test(inner, G_FILE_TEST_IS_DIR)) {
        cli_dataset *ds = open_folder(inner, split, max_images, error);
        g_free(inner);
        return ds;
    }
    g_free(inner);
    return open_folders(dir, error);
}

cli_dataset *cli_dataset_open(const char *path, const char *split, int max_images,
                              GError **error)
{
    if (g_strcmp0(split, "test") != 0 && g_strcmp0(split, "train") != 0) {
        g_set_error(error, CLI_DATASET_ERROR, 1, "--split: \"%s\" is neither test nor train",
                    split ? split : "");
        return NULL;
    }
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) return open_folder(path, split, max_images, error);
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_set_error(error, CLI_DATASET_ERROR, 1, "%s: no such file or folder", path);
        return NULL;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strstr(base, "images-idx3")) return open_idx(path, max_images, error);
    if (g_str_has_suffix(base, ".bin") || g_str_has_suffix(base, ".bin.gz")) {
        char *paths[2] = {(char *) path, NULL};
        return open_cifar(paths, max_images, error);
    }
    g_set_error(error, CLI_DATASET_ERROR, 1,
                "%s: not a data set this tool reads (an IDX *-images-idx3-ubyte[.gz] file, a "
                "CIFAR *.bin[.gz] batch, or a folder)",
                path);
    return NULL;
}

cli_dataset_format cli_dataset_get_format(const cli_dataset *ds)
{
    return ds->format;
}

const char *cli_dataset_describe(const cli_dataset *ds)
{
    return ds->description;
}

int cli_dataset_size(const cli_dataset *ds)
{
    return ds->n;
}

int cli_dataset_channels(const cli_dataset *ds)
{
    return ds->format == CLI_DATASET_FOLDERS ? 0 : ds->channels;
}

gboolean cli_dataset_bind_classes(cli_dataset *ds, const cam_model *model, GError **error)
{
    int n_classes = cam_model_n_classes(model);
    if (ds->format != CLI_DATASET_FOLDERS) {
        for (int i = 0; i < ds->n; i++) {
            if (ds->labels[i] >= n_classes) {
                g_set_error(error, CLI_DATASET_ERROR, 1,
                            "%s: image %d has label %d but the model has only %d classes",
                            ds->description, i, ds->labels[i], n_classes);
                return FALSE;
            }
        }
        return TRUE;
    }
    g_free(ds->dir_class);
    ds->dir_class = g_new(int, ds->class_dirs->len);
    for (guint c = 0; c < ds->class_dirs->len; c++) {
        cam_error err = {0};
        const char *name = ds->class_dirs->pdata[c];
        if (cam_model_find_class(model, name, &ds->dir_class[c], &err) != CAM_OK) {
            g_set_error(error, CLI_DATASET_ERROR, 1,
                        "%s: class folder \"%s\" is neither a label nor a class index of the "
                        "model: %s",
                        ds->description, name, err.message);
            return FALSE;
        }
    }
    return TRUE;
}

gboolean cli_dataset_get(const cli_dataset *ds, int index, cli_image *image, int *label,
                         char **name, GError **error)
{
    memset(image, 0, sizeof *image);
    if (index < 0 || index >= ds->n) {
        g_set_error(error, CLI_DATASET_ERROR, 1, "%s: no image %d", ds->description, index);
        return FALSE;
    }
    if (ds->format == CLI_DATASET_FOLDERS) {
        const char *path = ds->files->pdata[index];
        int dir = g_array_index(ds->file_class_dir, int, index);
        if (name) *name = g_strdup(path);
        *label = ds->dir_class ? ds->dir_class[dir] : dir;
        return cli_image_load(path, image, NULL, error);
    }
    size_t size = (size_t) ds->height * ds->width * ds->channels;
    image->width = ds->width;
    image->height = ds->height;
    image->channels = ds->channels;
    image->stride = (size_t) ds->width * ds->channels;
    image->pixels = g_try_malloc(size);
    if (!image->pixels) {
        g_set_error(error, CLI_DATASET_ERROR, 1, "%s: out of memory for image %d",
                    ds->description, index);
        return FALSE;
    }
    memcpy(image->pixels, ds->pixels + (size_t) index * size, size);
    *label = ds->labels[index];
    if (name) *name = g_strdup_printf("#%d", index);
    return TRUE;
}
