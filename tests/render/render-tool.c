/* render-tool -- drives the renderer and the preprocessor from files, for the
 * Python cross-checks (test-render-torch.py). Not installed.
 *
 *   render-tool table NAME OUT            768 bytes: the colormap table
 *   render-tool values key=value...       raw or normalised upsampled map (float32)
 *   render-tool render key=value...       heatmap / blend pixels
 *   render-tool preprocess key=value...   model input (float32, C x H x W)
 *
 * Keys: map= mw= mh= ow= oh= upsample= kind=raw|normalized window=x,y,w,h
 *       colormap= alpha= alpha_from_map= relu= normalize= range=lo,hi output=
 *       threads= strip= src= sc= st=u8|u16|f32 dc= dt= out=
 *       img= iw= ih= ic= it= channels= width= height= scale= mean=a,b,c
 *       std=a,b,c background=none|black|white aspect= invert= info=FILE
 *       order=rgb|bgr resample=area|bilinear|bicubic resize=S
 * Files are raw little-endian arrays. Exit 0 on success, 1 with a message. */
#include "camengine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_args;
static char **args;

static const char *arg(const char *key, const char *def)
{
    size_t n = strlen(key);
    for (int i = 0; i < n_args; i++)
        if (strncmp(args[i], key, n) == 0 && args[i][n] == '=')
            return args[i] + n + 1;
    return def;
}

static int iarg(const char *key, int def)
{
    const char *v = arg(key, NULL);
    return v ? atoi(v) : def;
}

static float farg(const char *key, float def)
{
    const char *v = arg(key, NULL);
    return v ? strtof(v, NULL) : def;
}

static int farg_list(const char *key, float *out, int n)
{
    const char *v = arg(key, NULL);
    if (!v)
        return 0;
    int k = 0;
    char *end;
    while (k < n) {
        out[k++] = strtof(v, &end);
        if (*end != ',')
            break;
        v = end + 1;
    }
    return k;
}

static void *read_file(const char *path, size_t size)
{
    FILE *f = fopen(path, "rb");
    void *buf = malloc(size ? size : 1);
    if (!f || !buf || fread(buf, 1, size, f) != size) {
        fprintf(stderr, "render-tool: cannot read %zu bytes from %s\n", size, path);
        exit(1);
    }
    fclose(f);
    return buf;
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "render-tool: cannot write %s\n", path);
        exit(1);
    }
}

static cam_sample_type type_arg(const char *key)
{
    const char *v = arg(key, "u8");
    return strcmp(v, "u16") == 0 ? CAM_SAMPLE_U16 : strcmp(v, "f32") == 0 ? CAM_SAMPLE_F32 : CAM_SAMPLE_U8;
}

static void check(cam_status st, const cam_error *err)
{
    if (st != CAM_OK) {
        fprintf(stderr, "render-tool: %s: %s\n", cam_status_name(st), err->message);
        exit(2);
    }
}

static cam_render_options render_options(void)
{
    cam_error err;
    cam_render_options o = cam_render_options_default();
    const char *v;
    if ((v = arg("upsample", NULL)))
        check(cam_upsample_from_name(v, &o.upsample, &err), &err);
    if ((v = arg("colormap", NULL)))
        check(cam_colormap_from_name(v, &o.colormap, &err), &err);
    if ((v = arg("normalize", NULL)))
        check(cam_normalize_from_name(v, &o.normalize, &err), &err);
    if ((v = arg("output", NULL)))
        check(cam_output_from_name(v, &o.output, &err), &err);
    o.alpha = farg("alpha", o.alpha);
    o.alpha_from_map = iarg("alpha_from_map", 0);
    o.relu = iarg("relu", 0);
    o.probability = farg("probability", o.probability);
    o.threshold = farg("threshold", o.threshold);
    o.n_threads = iarg("threads", 0);
    float r[2];
    if (farg_list("range", r, 2) == 2) {
        o.range_min = r[0];
        o.range_max = r[1];
    }
    float w[4];
    if (farg_list("window", w, 4) == 4)
        o.window = (cam_window){w[0], w[1], w[2], w[3]};
    return o;
}

static int cmd_values(void)
{
    cam_error err;
    int mw = iarg("mw", 1), mh = iarg("mh", 1), ow = iarg("ow", 1), oh = iarg("oh", 1);
    float *map = read_file(arg("map", ""), sizeof(float) * mw * mh);
    cam_render_options o = render_options();
    cam_renderer *r;
    check(cam_renderer_new(map, mw, mh, ow, oh, &o, &r, &err), &err);
    float *out = malloc(sizeof(float) * ow * oh);
    cam_values kind = strcmp(arg("kind", "raw"), "normalized") == 0 ? CAM_VALUES_NORMALIZED : CAM_VALUES_RAW;
    check(cam_renderer_values_rect(r, (cam_rect){0, 0, ow, oh}, kind, out, (size_t)ow, &err), &err);
    write_file(arg("out", ""), out, sizeof(float) * ow * oh);
    float lo, hi;
    cam_renderer_get_range(r, &lo, &hi);
    printf("range %.9g %.9g\n", (double)lo, (double)hi);
    cam_renderer_free(r);
    free(out);
    free(map);
    return 0;
}

static int cmd_render(void)
{
    cam_error err;
    int mw = iarg("mw", 1), mh = iarg("mh", 1), ow = iarg("ow", 1), oh = iarg("oh", 1);
    float *map = read_file(arg("map", ""), sizeof(float) * mw * mh);
    cam_render_options o = render_options();
    cam_image src = {0}, dst = {0};
    void *src_pixels = NULL;
    if (arg("src", NULL)) {
        src.width = ow;
        src.height = oh;
        src.channels = iarg("sc", 4);
        src.type = type_arg("st");
        src.stride = cam_sample_size(src.type) * src.channels * ow;
        src_pixels = read_file(arg("src", ""), src.stride * oh);
        src.pixels = src_pixels;
    }
    dst.width = ow;
    dst.height = oh;
    dst.channels = iarg("dc", 4);
    dst.type = type_arg("dt");
    dst.stride = cam_sample_size(dst.type) * dst.channels * ow;
    dst.pixels = malloc(dst.stride * oh);
    int strip = iarg("strip", 0);
    if (strip <= 0) {
        check(cam_render_image(map, mw, mh, &o, src.pixels ? &src : NULL, &dst, &err), &err);
    } else {
        cam_renderer *r;
        check(cam_renderer_new(map, mw, mh, ow, oh, &o, &r, &err), &err);
        for (int y = 0; y < oh; y += strip) {
            int n = oh - y < strip ? oh - y : strip;
            cam_image s = src, d = dst;
            s.height = d.height = n;
            if (src.pixels)
                s.pixels = (char *)src.pixels + src.stride * y;
            d.pixels = (char *)dst.pixels + dst.stride * y;
            check(cam_renderer_render_rows(r, y, n, src.pixels ? &s : NULL, &d, &err), &err);
        }
        cam_renderer_free(r);
    }
    write_file(arg("out", ""), dst.pixels, dst.stride * oh);
    free(dst.pixels);
    free(src_pixels);
    free(map);
    return 0;
}

static int cmd_table(const char *name, const char *out)
{
    cam_error err;
    cam_colormap c;
    check(cam_colormap_from_name(name, &c, &err), &err);
    const uint8_t *t = cam_colormap_table(c);
    if (!t) {
        fprintf(stderr, "render-tool: no table for %s\n", name);
        return 1;
    }
    write_file(out, t, 768);
    return 0;
}

static int cmd_preprocess(void)
{
    cam_error err;
    cam_input_spec spec = {0};
    spec.channels = iarg("channels", 1);
    spec.width = iarg("width", 28);
    spec.height = iarg("height", 28);
    spec.scale = farg("scale", 1.0f / 255.0f);
    for (int c = 0; c < 4; c++) {
        spec.mean[c] = 0.0f;
        spec.std[c] = 1.0f;
    }
    farg_list("mean", spec.mean, 4);
    farg_list("std", spec.std, 4);
    const char *bg = arg("background", "none");
    spec.background = strcmp(bg, "black") == 0   ? CAM_BACKGROUND_BLACK
                      : strcmp(bg, "white") == 0 ? CAM_BACKGROUND_WHITE
                                                 : CAM_BACKGROUND_NONE;
    spec.resize = iarg("resize", 0);
    cam_preprocess_options opt = cam_preprocess_options_default();
    const char *v;
    if ((v = arg("order", NULL)))
        check(cam_channel_order_from_name(v, &spec.channel_order, &err), &err);
    if ((v = arg("resample", NULL)))
        check(cam_resample_from_name(v, &spec.resample, &err), &err);
    if ((v = arg("aspect", NULL)))
        check(cam_aspect_from_name(v, &opt.aspect, &err), &err);
    if ((v = arg("invert", NULL)))
        check(cam_invert_from_name(v, &opt.invert, &err), &err);
    cam_image img = {0};
    img.width = iarg("iw", 1);
    img.height = iarg("ih", 1);
    img.channels = iarg("ic", 3);
    img.type = type_arg("it");
    img.stride = cam_sample_size(img.type) * img.channels * img.width;
    img.pixels = read_file(arg("img", ""), img.stride * img.height);
    size_t n = (size_t)spec.channels * spec.width * spec.height;
    float *out = malloc(n * sizeof *out);
    cam_preprocess_info info;
    check(cam_preprocess_spec(&spec, &img, &opt, out, &info, &err), &err);
    write_file(arg("out", ""), out, n * sizeof *out);
    printf("inverted %d source %d %d %d %d content %d %d %d %d border %.6f window %.9g %.9g "
           "%.9g %.9g\n", info.inverted,
           info.source_rect.x, info.source_rect.y, info.source_rect.width, info.source_rect.height,
           info.content_rect.x, info.content_rect.y, info.content_rect.width,
           info.content_rect.height, (double)info.border_luminance,
           (double)info.content_window.x, (double)info.content_window.y,
           (double)info.content_window.width, (double)info.content_window.height);
    free(out);
    free(img.pixels);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: render-tool table|values|render|preprocess ...\n");
        return 1;
    }
    n_args = argc - 2;
    args = argv + 2;
    if (strcmp(argv[1], "table") == 0 && argc == 4)
        return cmd_table(argv[2], argv[3]);
    if (strcmp(argv[1], "values") == 0)
        return cmd_values();
    if (strcmp(argv[1], "render") == 0)
        return cmd_render();
    if (strcmp(argv[1], "preprocess") == 0)
        return cmd_preprocess();
    fprintf(stderr, "render-tool: unknown command %s\n", argv[1]);
    return 1;
}
