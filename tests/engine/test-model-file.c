/*
 * test-model-file.c -- gimp-cam's metadata in ONNX files (public API):
 * cam_model_edit_metadata (set, replace in place, remove, append; bytes outside
 * the entries kept), cam_model_file_set_metadata (checked by loading; nothing
 * written on a refused value; in place), cam_model_load_with_metadata, the
 * cam.input.* keys of issue 15 (channel order, resize policy and size, crop,
 * interpolation, layout; what was assumed), and cam_labels_read (files, the
 * shipped imagenet set).
 */
#include "camengine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond);                     \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static char dir[4096], tmp[4096];

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *d = malloc((size_t)n + 1);
    if (fread(d, 1, (size_t)n, f) != (size_t)n) {
        free(d);
        d = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return d;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

/* Loads edited bytes; returns the status, the model in *out (or NULL). */
static cam_status load_edit(const unsigned char *data, size_t size, const char *key,
                            const char *value, cam_model **out, cam_error *err)
{
    const char *keys[1] = {key}, *values[1] = {value};
    void *edited = NULL;
    size_t n = 0;
    *out = NULL;
    cam_status s = cam_model_edit_metadata(data, size, "tiny", keys, values, 1, &edited, &n, err);
    if (s == CAM_OK)
        s = cam_model_load_memory(edited, n, "tiny", out, err);
    free(edited);
    return s;
}

static void test_edit(const unsigned char *data, size_t size)
{
    cam_error err;
    const char *keys[] = {"cam.display.colormap", "cam.description", "new.key", "new.key"};
    const char *values[] = {"turbo", NULL, "first", "second"};
    void *out = NULL;
    size_t n = 0;
    EXPECT(cam_model_edit_metadata(data, size, "tiny", keys, values, 4, &out, &n, &err) == CAM_OK);
    cam_model *m = NULL;
    EXPECT(cam_model_load_memory(out, n, "edited", &m, &err) == CAM_OK);
    if (m) {
        EXPECT(strcmp(cam_model_get_metadata(m, "cam.display.colormap"), "turbo") == 0);
        EXPECT(cam_model_get_metadata(m, "cam.description") == NULL);
        EXPECT(strcmp(cam_model_get_metadata(m, "new.key"), "second") == 0);
        EXPECT(strcmp(cam_model_get_metadata(m, "x.custom"), "kept") == 0);
        EXPECT(strcmp(cam_model_class_label(m, 1), "Beta") == 0);
        /* order: the colormap replaced where it was, new.key last */
        int n_md = cam_model_n_metadata(m);
        EXPECT(n_md == 9);
        EXPECT(strcmp(cam_model_metadata_key(m, n_md - 1), "new.key") == 0);
        EXPECT(strcmp(cam_model_metadata_key(m, 3), "cam.display.colormap") == 0);
        EXPECT(cam_model_metadata_key(m, n_md) == NULL);
        cam_model_free(m);
    }
    /* no edits: the same bytes */
    void *same = NULL;
    size_t same_n = 0;
    EXPECT(cam_model_edit_metadata(data, size, "tiny", NULL, NULL, 0, &same, &same_n, &err) ==
           CAM_OK);
    EXPECT(same_n == size && memcmp(same, data, size) == 0);
    free(same);
    free(out);
    /* errors */
    static const unsigned char garbage[] = {0xff, 0xff, 0xff, 0xff};
    EXPECT(cam_model_edit_metadata(garbage, sizeof garbage, "junk.onnx", keys, values, 1, &out,
                                   &n, &err) == CAM_ERROR_PARSE);
    EXPECT(strstr(err.message, "junk.onnx") != NULL && out == NULL);
    const char *empty_key[] = {""};
    EXPECT(cam_model_edit_metadata(data, size, "tiny", empty_key, values, 1, &out, &n, &err) ==
           CAM_ERROR_INVALID_ARGUMENT);
}

static void test_input_keys(const unsigned char *data, size_t size)
{
    cam_error err;
    cam_model *m = NULL;
    /* tiny-cam has mean/std metadata: no notice; no resize policy: stretch assumed */
    EXPECT(cam_model_load_memory(data, size, "tiny", &m, &err) == CAM_OK);
    if (m) {
        const cam_model_info *info = cam_model_get_info(m);
        EXPECT(info->input_notice[0] == '\0');
        EXPECT(info->input_assumed == (CAM_ASSUMED_SCALE | CAM_ASSUMED_RESIZE_POLICY));
        EXPECT(info->resize_policy == CAM_ASPECT_STRETCH && info->interpolation == CAM_RESAMPLE_AREA);
        EXPECT(strcmp(info->input_name, "input") == 0 && strcmp(info->output_name, "probs") == 0 &&
               strcmp(info->logits_name, "logits") == 0 && !info->input_nhwc);
        cam_model_free(m);
    }
    /* without mean and std (and no scale): the notice */
    const char *keys[] = {"cam.input.mean", "cam.input.std"};
    const char *nulls[] = {NULL, NULL};
    void *bare = NULL;
    size_t bare_n = 0;
    EXPECT(cam_model_edit_metadata(data, size, "tiny", keys, nulls, 2, &bare, &bare_n, &err) == CAM_OK);
    EXPECT(cam_model_load_memory(bare, bare_n, "tiny", &m, &err) == CAM_OK);
    if (m) {
        const cam_model_info *info = cam_model_get_info(m);
        EXPECT(strstr(info->input_notice, "no preprocessing metadata") != NULL);
        EXPECT(strstr(info->input_notice, "stretched to 6x6") != NULL);
        EXPECT(info->input_assumed & CAM_ASSUMED_MEAN_STD);
        cam_model_free(m);
    }
    free(bare);
    /* crop with a resize size */
    const char *k3[] = {"cam.input.resize-policy", "cam.input.resize", "cam.input.crop",
                        "cam.input.interpolation"};
    const char *v3[] = {"crop", "8", "6", "bicubic"};
    void *ed = NULL;
    size_t ed_n = 0;
    EXPECT(cam_model_edit_metadata(data, size, "tiny", k3, v3, 4, &ed, &ed_n, &err) == CAM_OK);
    EXPECT(cam_model_load_memory(ed, ed_n, "tiny", &m, &err) == CAM_OK);
    if (m) {
        const cam_model_info *info = cam_model_get_info(m);
        EXPECT(info->resize_policy == CAM_ASPECT_CROP && info->resize_size == 8 &&
               info->interpolation == CAM_RESAMPLE_BICUBIC);
        cam_preprocess_options po = cam_preprocess_options_for_model(m);
        EXPECT(po.aspect == CAM_ASPECT_CROP);
        cam_input_spec spec;
        EXPECT(cam_input_spec_from_model(m, &spec, &err) == CAM_OK && spec.resize == 8 &&
               spec.resample == CAM_RESAMPLE_BICUBIC);
        cam_model_free(m);
    }
    free(ed);
    /* refused values, each naming its key */
    static const struct {
        const char *key, *value;
    } bad[] = {
        {"cam.input.channel-order", "bgr"}, /* a 1-channel model */
        {"cam.input.channel-order", "rbg"},
        {"cam.input.resize-policy", "zoom"},
        {"cam.input.resize", "4"},          /* smaller than the input; policy stretch anyway */
        {"cam.input.resize", "8"},          /* policy is stretch */
        {"cam.input.crop", "5"},
        {"cam.input.crop", "6x7"},
        {"cam.input.interpolation", "lanczos"},
        {"cam.input.layout", "nhwc"},
        {"cam.input.layout", "chw"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cam_status s = load_edit(data, size, bad[i].key, bad[i].value, &m, &err);
        EXPECT(s == CAM_ERROR_INVALID_MODEL && m == NULL);
        if (s != CAM_ERROR_INVALID_MODEL || !strstr(err.message, bad[i].key)) {
            fprintf(stderr, "  %s=%s: %s\n", bad[i].key, bad[i].value, err.message);
            failures++;
        }
        cam_model_free(m);
    }
    EXPECT(load_edit(data, size, "cam.input.crop", "6x6", &m, &err) == CAM_OK);
    cam_model_free(m);
    EXPECT(load_edit(data, size, "cam.input.layout", "NCHW", &m, &err) == CAM_OK);
    cam_model_free(m);
}

static void test_files(const char *tiny)
{
    cam_error err;
    char out[4200], junk[4200];
    snprintf(out, sizeof out, "%s/out.onnx", tmp);
    const char *k[] = {"cam.display.colormap"};
    const char *good[] = {"viridis"}, *bad[] = {"rainbow"};
    unlink(out);
    EXPECT(cam_model_file_set_metadata(tiny, out, k, bad, 1, &err) == CAM_ERROR_INVALID_MODEL);
    EXPECT(strstr(err.message, "cam.display.colormap") != NULL);
    struct stat st;
    EXPECT(stat(out, &st) != 0); /* nothing written */
    EXPECT(cam_model_file_set_metadata(tiny, out, k, good, 1, &err) == CAM_OK);
    cam_model *m = NULL;
    EXPECT(cam_model_load(out, &m, &err) == CAM_OK);
    if (m)
        EXPECT(strcmp(cam_model_get_info(m)->default_colormap, "viridis") == 0);
    cam_model_free(m);
    /* in place, then a refused value leaves it as it was */
    size_t before_n = 0, after_n = 0;
    const char *a[] = {"cam.display.alpha"}, *a_good[] = {"0.25"}, *a_bad[] = {"2"};
    EXPECT(cam_model_file_set_metadata(out, out, a, a_good, 1, &err) == CAM_OK);
    unsigned char *before = slurp(out, &before_n);
    EXPECT(cam_model_file_set_metadata(out, out, a, a_bad, 1, &err) == CAM_ERROR_INVALID_MODEL);
    unsigned char *after = slurp(out, &after_n);
    EXPECT(before && after && before_n == after_n && memcmp(before, after, before_n) == 0);
    free(before);
    free(after);
    snprintf(junk, sizeof junk, "%s/no/such/folder.onnx", tmp);
    EXPECT(cam_model_file_set_metadata(tiny, junk, k, good, 1, &err) == CAM_ERROR_IO);
    EXPECT(strstr(err.message, "folder.onnx") != NULL);
    /* load with overrides, file untouched */
    EXPECT(cam_model_load_with_metadata(tiny, k, good, 1, &m, &err) == CAM_OK);
    if (m)
        EXPECT(strcmp(cam_model_get_info(m)->default_colormap, "viridis") == 0);
    cam_model_free(m);
    EXPECT(cam_model_load_with_metadata(tiny, k, bad, 1, &m, &err) == CAM_ERROR_INVALID_MODEL &&
           m == NULL);
}

static void test_labels(void)
{
    cam_error err;
    char path[4200];
    char *labels = NULL;
    int n = 0;
    snprintf(path, sizeof path, "%s/labels.txt", tmp);
    spit(path, "cat\r\ndog\r\nbird");
    EXPECT(cam_labels_read(path, &labels, &n, &err) == CAM_OK && n == 3 &&
           strcmp(labels, "cat\ndog\nbird") == 0);
    free(labels);
    spit(path, "cat\ndog\n");
    EXPECT(cam_labels_read(path, &labels, &n, &err) == CAM_OK && n == 2 &&
           strcmp(labels, "cat\ndog") == 0);
    free(labels);
    spit(path, "cat\n\ndog\n");
    EXPECT(cam_labels_read(path, &labels, &n, &err) == CAM_ERROR_INVALID_ARGUMENT && !labels);
    EXPECT(strstr(err.message, "line 2 is empty") != NULL && strstr(err.message, "labels.txt"));
    spit(path, "");
    EXPECT(cam_labels_read(path, &labels, &n, &err) == CAM_ERROR_INVALID_ARGUMENT);
    EXPECT(cam_labels_read("no-such-set", &labels, &n, &err) == CAM_ERROR_NOT_FOUND);
    EXPECT(strstr(err.message, "no-such-set") != NULL);
    /* the shipped set (the source tree's, as this test runs uninstalled) */
    EXPECT(cam_labels_read("imagenet", &labels, &n, &err) == CAM_OK && n == 1000);
    if (labels)
        EXPECT(strncmp(labels, "tench\ngoldfish\n", 15) == 0);
    free(labels);
}

int main(void)
{
    const char *src = getenv("CAM_SOURCE_DIR");
    const char *build = getenv("CAM_BUILD_DIR");
    snprintf(dir, sizeof dir, "%s/tests/engine/data", src ? src : ".");
    snprintf(tmp, sizeof tmp, "%s/tests/engine/model-file-XXXXXX", build ? build : ".");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    char tiny[4200];
    snprintf(tiny, sizeof tiny, "%s/tiny-cam.onnx", dir);
    size_t size = 0;
    unsigned char *data = slurp(tiny, &size);
    if (!data) {
        fprintf(stderr, "cannot read %s\n", tiny);
        return 1;
    }
    test_edit(data, size);
    test_input_keys(data, size);
    test_files(tiny);
    test_labels();
    free(data);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
