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

/* Reads a whole file, gunzipping it when it starts with the gzip magic. */
static GBytes *read_maybe_gzipped(const char *path, GError **error)
{
    char *data = NULL;
    gsize length = 0;
    if (!g_file_get_contents(path, &data, &length, error)) return NULL;
    if (length < 2 || (guint8) data[0] != 0x1f || (guint8) data[1] != 0x8b)
        return g_bytes_new_take(data, length);

    GInputStream *raw = g_memory_input_stream_new_from_data(data, (gssize) length, g_free);
    GConverter *gunzip = G_CONVERTER(g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP));
    GInputStream *in = g_converter_input_stream_new(raw, gunzip);
    GByteArray *out = g_byte_array_new();
    guint8 buffer[65536];
    GError *local = NULL;
    for (;;) {
        gssize got = g_input_stream_read(in, buffer, sizeof buffer, NULL, &local);
        if (got < 0) break;
        if (got == 0) break;
        g_byte_array_append(out, buffer, (guint) got);
    }
    g_object_unref(in);
    g_object_unref(gunzip);
    g_object_unref(raw);
    if (local) {
        g_set_error(error, CLI_DATASET_ERROR, 1, "%s: not a valid gzip file: %s", path,
                    local->message);
        g_error_free(local);
        g_byte_array_unref(out);
        return NULL;
    }
    return g_byte_array_free_to_bytes(out);
}

static guint32 read_be32(const guint8 *p)
{
    return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
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

static cli_dataset *open_idx(const char *images_path, GError **error)
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
    GBytes *images = read_maybe_gzipped(images_path, error);
    GBytes *labels = images ? read_maybe_gzipped(labels_path, error) : NULL;
    if (!images || !labels) goto out;

    gsize ni, nl;
    const guint8 *pi = g_bytes_get_data(images, &ni);
    const guint8 *pl = g_bytes_get_data(labels, &nl);
    if (ni < 16 || read_be32(pi) != 0x00000803) {
        g_set_error(error, CLI_DATASET_ERROR, 1,
                    "%s: not an IDX file of 8-bit images (magic 0x00000803 expected)",
                    images_path);
        goto out;
    }
    if (nl < 8 || read_be32(pl) != 0x00000801) {
        g_set_error(error, CLI_DATASET_ERROR, 1,
                    "%s: not an IDX file of 8-bit labels (magic 0x00000801 expected)",
                    labels_path);
        goto out;
    }
    guint32 n = read_be32(pi + 4), rows = read_be32(pi + 8), cols = read_be32(pi + 12);
    if (n == 0 || rows == 0 || cols == 0 || rows > 65536 || cols > 65536 || n > G_MAXINT ||
        (guint64) n * rows * cols != ni - 16) {
        g_set_error(error, CLI_DATASET_ERROR, 1,
                    "%s: header says %u images of %ux%u but the file holds %" G_GSIZE_FORMAT
                    " bytes of pixels",
                    images_path, n, rows, cols, ni - 16);
        goto out;
    }
    if (read_be32(pl + 4) != n || nl - 8 != n) {
        g_set_error(error, CLI_DATASET_ERROR, 1,
                    "%s: %u labels expected (as many as images in %s), the file has %u "
                    "(%" G_GSIZE_FORMAT " bytes)",
                    labels_path, n, images_path, read_be32(pl + 4), nl - 8);
        goto out;
    }
    ds = dataset_new(CLI_DATASET_IDX);
    ds->n = (int) n;
    ds->channels = 1;
    ds->height = (int) rows;
    ds->width = (int) cols;
    ds->pixels = g_memdup2(pi + 16, ni - 16);
    ds->labels = g_memdup2(pl + 8, n);
    ds->description = g_strdup_printf("IDX %s (%u images %ux%u gray)", images_path, n, rows,
                                      cols);
out:
    if (images) g_bytes_unref(images);
    if (labels) g_bytes_unref(labels);
    g_free(labels_path);
    return ds;
}

/* ---- CIFAR-10 binary ---------------------------------------------------- */

enum { CIFAR_SIDE = 32, CIFAR_PLANE = 32 * 32, CIFAR_RECORD = 1 + 3 * 32 * 32 };

static cli_dataset *open_cifar(char **paths, GError **error)
{
    GByteArray *all_pixels = g_byte_array_new();
    GByteArray *all_labels = g_byte_array_new();
    GString *names = g_string_new(NULL);
    for (char **p = paths; *p; p++) {
        GBytes *bytes = read_maybe_gzipped(*p, error);
        if (!bytes) goto fail;
        gsize size;
        const guint8 *d = g_bytes_get_data(bytes, &size);
        if (size == 0 || size % CIFAR_RECORD != 0) {
            g_set_error(error, CLI_DATASET_ERROR, 1,
                        "%s: not a CIFAR-10 binary batch (%" G_GSIZE_FORMAT
                        " bytes is not a multiple of the %d-byte record)",
                        *p, size, CIFAR_RECORD);
            g_bytes_unref(bytes);
            goto fail;
        }
        gsize records = size / CIFAR_RECORD;
        guint8 hwc[3 * CIFAR_PLANE];
        for (gsize r = 0; r < records; r++) {
            const guint8 *rec = d + r * CIFAR_RECORD;
            g_byte_array_append(all_labels, rec, 1);
            for (int i = 0; i < CIFAR_PLANE; i++)
                for (int c = 0; c < 3; c++) hwc[i * 3 + c] = rec[1 + c * CIFAR_PLANE + i];
            g_byte_array_append(all_pixels, hwc, sizeof hwc);
        }
        g_string_append_printf(names, "%s%s", names->len ? ", " : "", *p);
        g_bytes_unref(bytes);
    }
    cli_dataset *ds = dataset_new(CLI_DATASET_CIFAR);
    ds->n = (int) all_labels->len;
    ds->channels = 3;
    ds->height = ds->width = CIFAR_SIDE;
    ds->labels = g_byte_array_free(all_labels, FALSE);
    ds->pixels = g_byte_array_free(all_pixels, FALSE);
    ds->description = g_strdup_printf("CIFAR binary %s (%d images 32x32 RGB)", names->str, ds->n);
    g_string_free(names, TRUE);
    return ds;
fail:
    g_byte_array_unref(all_pixels);
    g_byte_array_unref(all_labels);
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

static cli_dataset *open_folder(const char *dir, const char *split, GError **error)
{
    gboolean train = g_strcmp0(split, "train") == 0;
    /* IDX */
    char *idx = find_maybe_gz(dir, train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte");
    if (idx) {
        cli_dataset *ds = open_idx(idx, error);
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
        cli_dataset *ds = open_cifar((char **) batches->pdata, error);
        g_ptr_array_unref(batches);
        return ds;
    }
    g_ptr_array_unref(batches);
    /* the official archive's folder inside */
    char *inner = g_build_filename(dir, "cifar-10-batches-bin", NULL);
    if (g_file_test(inner, G_FILE_TEST_IS_DIR)) {
        cli_dataset *ds = open_folder(inner, split, error);
        g_free(inner);
        return ds;
    }
    g_free(inner);
    return open_folders(dir, error);
}

cli_dataset *cli_dataset_open(const char *path, const char *split, GError **error)
{
    if (g_strcmp0(split, "test") != 0 && g_strcmp0(split, "train") != 0) {
        g_set_error(error, CLI_DATASET_ERROR, 1, "--split: \"%s\" is neither test nor train",
                    split ? split : "");
        return NULL;
    }
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) return open_folder(path, split, error);
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_set_error(error, CLI_DATASET_ERROR, 1, "%s: no such file or folder", path);
        return NULL;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strstr(base, "images-idx3")) return open_idx(path, error);
    if (g_str_has_suffix(base, ".bin") || g_str_has_suffix(base, ".bin.gz")) {
        char *paths[2] = {(char *) path, NULL};
        return open_cifar(paths, error);
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
        return cli_image_load(path, image, error);
    }
    size_t size = (size_t) ds->height * ds->width * ds->channels;
    image->width = ds->width;
    image->height = ds->height;
    image->channels = ds->channels;
    image->stride = (size_t) ds->width * ds->channels;
    image->pixels = g_memdup2(ds->pixels + (size_t) index * size, size);
    *label = ds->labels[index];
    if (name) *name = g_strdup_printf("#%d", index);
    return TRUE;
}
