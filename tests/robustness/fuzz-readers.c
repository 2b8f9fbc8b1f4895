/*
 * fuzz-readers.c -- libFuzzer target for the readers of untrusted input other than the
 * ONNX loader (tests/fuzz): cam-heatmap's data set readers, a model's metadata, and
 * cam-heatmap's image loading.
 *
 * Input: byte 0 picks the reader, byte 1 is --limit (0 = none, else 1..7), the rest is
 * the payload:
 *   0  IDX: payload = 2-byte big-endian length L, images file (L bytes), labels file
 *      (the rest); written as files and read by cli_dataset_open (gzip when the bytes
 *      start with the gzip magic, as for real files)
 *   1  the same, each file gzip-compressed by the harness (valid gzip around fuzzed data)
 *   2  CIFAR-10 binary: payload = one batch file
 *   3  the same, gzip-compressed by the harness
 *   4  metadata: a valid model (tests/engine/data/tiny-cam.onnx) whose metadata_props are
 *      replaced by entries taken from the payload: key byte (one of the cam.* keys, or a
 *      fuzzed key), value up to the next 0 byte; loaded with cam_model_load_memory; a
 *      model that loads must preprocess an image to finite values only
 *   5  an image file for cli_image_load (GdkPixbuf, EXIF orientation, truncated JPEG)
 * Every read must succeed or fail with a message; data sets that open are walked
 * through (every image, labels bound to a 3-class model). Never a crash, leak, read out
 * of bounds or undefined behaviour (-fsanitize=fuzzer,address,undefined).
 */
#include "cam-heatmap.h"
#include "cam-model.h"
#include "camengine-render.h"
#include "onnx.pb-c.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *work;                    /* a private temporary folder */
static unsigned char *model_bytes;    /* tiny-cam.onnx */
static gsize model_size;
static cam_model *model3;             /* the same, loaded: 3 classes, for bind_classes */
static volatile size_t sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    GError *error = NULL;
    work = g_dir_make_tmp("fuzz-readers-XXXXXX", &error);
    if (!work || !g_file_get_contents(FUZZ_MODEL, (char **) &model_bytes, &model_size, &error)) {
        fprintf(stderr, "fuzz-readers: %s\n", error ? error->message : "setup failed");
        abort();
    }
    cam_error err;
    if (cam_model_load_memory(model_bytes, model_size, "tiny-cam", &model3, &err) != CAM_OK) {
        fprintf(stderr, "fuzz-readers: %s\n", err.message);
        abort();
    }
    return 0;
}

static char *path_of(const char *name)
{
    return g_build_filename(work, name, NULL);
}

static void put(const char *path, const uint8_t *data, size_t n, int gzip)
{
    if (!gzip) {
        if (!g_file_set_contents(path, (const char *) data, (gssize) n, NULL)) abort();
        return;
    }
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    uLong cap = deflateBound(&z, (uLong) n) + 32;
    unsigned char *out = malloc(cap);
    z.next_in = (Bytef *) data;
    z.avail_in = (uInt) n;
    z.next_out = out;
    z.avail_out = (uInt) cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
    if (!g_file_set_contents(path, (const char *) out, (gssize) z.total_out, NULL)) abort();
    deflateEnd(&z);
    free(out);
}

static void walk_dataset(cli_dataset *ds, GError *error)
{
    if (!ds) {
        if (!error || !error->message[0]) __builtin_trap();
        g_error_free(error);
        return;
    }
    size_t total = strlen(cli_dataset_describe(ds)) + (size_t) cli_dataset_channels(ds);
    for (int i = 0; i < cli_dataset_size(ds); i++) {
        cli_image img;
        int label = -1;
        char *name = NULL;
        GError *e = NULL;
        if (!cli_dataset_get(ds, i, &img, &label, &name, &e)) __builtin_trap();
        size_t bytes = (size_t) img.height * img.stride;
        total += bytes ? ((const uint8_t *) img.pixels)[bytes - 1] : 0;
        total += (size_t) label + strlen(name);
        g_free(name);
        cli_image_clear(&img);
    }
    GError *e = NULL;
    if (!cli_dataset_bind_classes(ds, model3, &e)) {
        if (!e) __builtin_trap();
        g_error_free(e);
    }
    sink = total;
    cli_dataset_free(ds);
}

static void fuzz_idx(const uint8_t *p, size_t n, int limit, int gzip)
{
    if (n < 2) return;
    size_t l = ((size_t) p[0] << 8) | p[1];
    p += 2;
    n -= 2;
    if (l > n) l = n;
    char *images = path_of("t10k-images-idx3-ubyte"), *labels = path_of("t10k-labels-idx1-ubyte");
    put(images, p, l, gzip);
    put(labels, p + l, n - l, gzip);
    GError *error = NULL;
    walk_dataset(cli_dataset_open(images, "test", limit, &error), error);
    g_free(images);
    g_free(labels);
}

static void fuzz_cifar(const uint8_t *p, size_t n, int limit, int gzip)
{
    char *batch = path_of("test_batch.bin");
    put(batch, p, n, gzip);
    GError *error = NULL;
    walk_dataset(cli_dataset_open(batch, "test", limit, &error), error);
    g_free(batch);
}

static const char *const keys[] = {
    "cam.name", "cam.description", "cam.labels", "cam.input.scale", "cam.input.mean",
    "cam.input.std", "cam.input.background", "cam.default.method", "cam.default.layer",
    "cam.display.alpha", "cam.display.colormap", "cam.display.threshold",
    "cam.input.channel-order", "cam.input.resize-policy", "cam.input.resize", "cam.input.crop",
    "cam.input.interpolation", "cam.input.layout",
};
#define N_KEYS (sizeof keys / sizeof keys[0])
#define MAX_ENTRIES 16

static void fuzz_metadata(const uint8_t *p, size_t n)
{
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, model_size, model_bytes);
    if (!m) abort();
    Onnx__StringStringEntryProto entries[MAX_ENTRIES], *list[MAX_ENTRIES];
    char *strings[2 * MAX_ENTRIES];
    int count = 0, n_strings = 0;
    size_t at = 0;
    while (at < n && count < MAX_ENTRIES) {
        uint8_t k = p[at++];
        size_t end = at;
        while (end < n && p[end]) end++;
        char *value = g_strndup((const char *) p + at, end - at);
        char *key;
        if (k < N_KEYS * 16) {
            key = g_strdup(keys[k % N_KEYS]);
        } else { /* a fuzzed key: the value up to '=' */
            char *eq = strchr(value, '=');
            key = g_strndup(value, eq ? (size_t) (eq - value) : strlen(value));
        }
        strings[n_strings++] = key;
        strings[n_strings++] = value;
        onnx__string_string_entry_proto__init(&entries[count]);
        entries[count].key = key;
        entries[count].value = value;
        list[count] = &entries[count];
        count++;
        at = end + 1;
    }
    size_t saved_n = m->n_metadata_props;
    Onnx__StringStringEntryProto **saved = m->metadata_props;
    m->n_metadata_props = (size_t) count;
    m->metadata_props = list;
    size_t size = onnx__model_proto__get_packed_size(m);
    uint8_t *bytes = malloc(size ? size : 1);
    onnx__model_proto__pack(m, bytes);
    m->n_metadata_props = saved_n;
    m->metadata_props = saved;
    onnx__model_proto__free_unpacked(m, NULL);
    for (int i = 0; i < n_strings; i++) g_free(strings[i]);

    cam_model *model = NULL;
    cam_error err;
    cam_status s = cam_model_load_memory(bytes, size, "fuzz", &model, &err);
    free(bytes);
    if (s != CAM_OK) {
        if (model || err.status != s || !err.message[0] || strchr(err.message, '\n'))
            __builtin_trap();
        return;
    }
    const cam_model_info *info = cam_model_get_info(model);
    size_t total = strlen(info->name) + strlen(info->description) + strlen(info->default_layer);
    for (int i = 0; i < cam_model_n_classes(model); i++)
        total += strlen(cam_model_class_label(model, i));
    cam_colormap cmap;
    if (cam_colormap_from_name(info->default_colormap, &cmap, NULL) != CAM_OK)
        __builtin_trap(); /* a model that loads has a colormap the renderer knows */
    /* a model that loads gives finite inputs for every pixel (black, white, gray) */
    uint8_t pixels[3 * 4 * 4];
    for (size_t i = 0; i < sizeof pixels; i++) pixels[i] = (uint8_t) (i * 37);
    pixels[0] = 0;
    pixels[1] = 255;
    cam_image img = {pixels, 4, 4, 3, CAM_SAMPLE_U8, 12};
    size_t in_size = cam_model_input_size(model);
    float *input = malloc(in_size * sizeof *input);
    if (cam_preprocess(model, &img, NULL, input, NULL, &err) != CAM_OK) __builtin_trap();
    for (size_t i = 0; i < in_size; i++)
        if (!isfinite(input[i])) __builtin_trap();
    free(input);
    int c;
    cam_model_find_class(model, "Beta", &c, &err);
    sink = total;
    cam_model_free(model);
}

static void fuzz_image(const uint8_t *p, size_t n)
{
    char *path = path_of("image");
    put(path, p, n, 0);
    cli_image img;
    char *warning = NULL;
    GError *error = NULL;
    if (cli_image_load(path, &img, &warning, &error)) {
        if (img.width < 1 || img.height < 1 || img.channels < 1 || img.channels > 4)
            __builtin_trap();
        size_t bytes = (size_t) img.height * img.stride;
        sink = ((const uint8_t *) img.pixels)[bytes - 1];
        cli_image_clear(&img);
    } else {
        if (!error || !error->message[0]) __builtin_trap();
        g_error_free(error);
    }
    g_free(warning);
    g_free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    int mode = data[0] % 6, limit = data[1] % 8;
    const uint8_t *p = data + 2;
    size_t n = size - 2;
    switch (mode) {
    case 0: fuzz_idx(p, n, limit, 0); break;
    case 1: fuzz_idx(p, n, limit, 1); break;
    case 2: fuzz_cifar(p, n, limit, 0); break;
    case 3: fuzz_cifar(p, n, limit, 1); break;
    case 4: fuzz_metadata(p, n); break;
    case 5: fuzz_image(p, n); break;
    }
    return 0;
}
