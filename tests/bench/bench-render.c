/* bench-render -- the full-resolution render path (upsample + colormap + blend)
 * on a 24-megapixel image, against PyTorch doing the same in the same run.
 *
 *   bench-render [--threads N (0 = all cores; PyTorch gets the same)] [--width W] [--height H] [--map N] [--runs R]
 *                [--python PYTHON --script bench_render_torch.py]
 *
 * Times cam_render_image (renderer creation included) on an 8-bit RGBA image
 * (the plug-in's and the CLI's case) and on a float RGBA image, best of R runs,
 * then runs the PyTorch script (same sizes, same operations; see its docstring)
 * and prints both times and the ratio. Not a test: no assertions on time. */
#include "camengine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double best_of(int runs, const float *map, int n, const cam_render_options *o,
                      const cam_image *src, cam_image *dst)
{
    cam_error err;
    double best = 1e30;
    for (int i = 0; i <= runs; i++) { /* run 0 warms up */
        double t0 = now();
        if (cam_render_image(map, n, n, o, src, dst, &err) != CAM_OK) {
            fprintf(stderr, "bench-render: %s\n", err.message);
            exit(1);
        }
        double t = now() - t0;
        if (i > 0 && t < best)
            best = t;
    }
    return best;
}

static int torch_times(const char *python, const char *script, int w, int h, int map_n, int runs,
                       int threads, double *u8_s, double *f32_s, char *info, size_t info_size)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' '%s' --width %d --height %d --map %d --runs %d --threads %d",
             python, script, w, h, map_n, runs, threads);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    char line[512];
    int found = 0;
    info[0] = '\0';
    while (fgets(line, sizeof line, p)) {
        char key[64], value[128];
        if (sscanf(line, "RESULT %63s %127s", key, value) != 2)
            continue;
        if (strcmp(key, "u8_s") == 0) {
            *u8_s = atof(value);
            found |= 1;
        } else if (strcmp(key, "f32_s") == 0) {
            *f32_s = atof(value);
            found |= 2;
        } else {
            size_t len = strlen(info);
            snprintf(info + len, info_size - len, " %s=%s", key, value);
        }
    }
    int status = pclose(p);
    return found == 3 && status == 0;
}

int main(int argc, char **argv)
{
    int threads = 0, w = 6000, h = 4000, map_n = 7, runs = 5;
    const char *python = NULL, *script = NULL;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench-render: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--threads") == 0) threads = atoi(v);
        else if (strcmp(a, "--width") == 0) w = atoi(v);
        else if (strcmp(a, "--height") == 0) h = atoi(v);
        else if (strcmp(a, "--map") == 0) map_n = atoi(v);
        else if (strcmp(a, "--runs") == 0) runs = atoi(v);
        else if (strcmp(a, "--python") == 0) python = v;
        else if (strcmp(a, "--script") == 0) script = v;
        else {
            fprintf(stderr, "bench-render: unknown option %s\n", a);
            return 2;
        }
    }
    if (w < 1 || h < 1 || map_n < 1 || runs < 1) {
        fprintf(stderr, "bench-render: bad sizes\n");
        return 2;
    }
    float *map = malloc(sizeof(float) * map_n * map_n);
    unsigned s = 12345;
    for (int i = 0; i < map_n * map_n; i++) {
        s = s * 1103515245u + 12345u;
        map[i] = (float)((s >> 16) & 0x7fff) / 32768.0f - 0.5f;
    }
    size_t n = (size_t)w * h * 4;
    uint8_t *src8 = malloc(n), *dst8 = malloc(n);
    if (!src8 || !dst8) {
        fprintf(stderr, "bench-render: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        src8[i] = (uint8_t)(s >> 24);
    }
    cam_image src = {src8, w, h, 4, CAM_SAMPLE_U8, (size_t)w * 4};
    cam_image dst = {dst8, w, h, 4, CAM_SAMPLE_U8, (size_t)w * 4};
    cam_render_options o = cam_render_options_default();
    o.output = CAM_OUTPUT_BLEND;
    o.alpha = 0.5f;
    o.colormap = CAM_COLORMAP_JET;
    o.n_threads = threads;
    double c_u8 = best_of(runs, map, map_n, &o, &src, &dst);
    cam_render_options o1 = o;
    o1.n_threads = 1;
    double c_u8_1 = best_of(runs, map, map_n, &o1, &src, &dst);
    free(dst8);

    float *srcf = malloc(n * sizeof(float)), *dstf = malloc(n * sizeof(float));
    double c_f32 = -1.0;
    if (srcf && dstf) {
        for (size_t i = 0; i < n; i++)
            srcf[i] = src8[i] / 255.0f;
        cam_image sf = {srcf, w, h, 4, CAM_SAMPLE_F32, (size_t)w * 16};
        cam_image df = {dstf, w, h, 4, CAM_SAMPLE_F32, (size_t)w * 16};
        c_f32 = best_of(runs, map, map_n, &o, &sf, &df);
    }
    free(srcf);
    free(dstf);
    free(src8);

    printf("render path: %dx%d (%.1f MP) RGBA, %dx%d map, bilinear, jet, blend alpha 0.5, best of %d\n",
           w, h, (double)w * h / 1e6, map_n, map_n, runs);
    char tdesc[32];
    snprintf(tdesc, sizeof tdesc, threads > 0 ? "%d threads" : "all cores", threads);
    printf("  engine 8-bit:  %8.4f s (%s), %8.4f s (1 thread)\n", c_u8, tdesc, c_u8_1);
    if (c_f32 >= 0)
        printf("  engine float:  %8.4f s\n", c_f32);
    double t_u8 = 0, t_f32 = 0;
    char info[512];
    if (python && script &&
        torch_times(python, script, w, h, map_n, runs > 3 ? 3 : runs, threads, &t_u8, &t_f32, info, sizeof info)) {
        printf("  PyTorch 8-bit: %8.4f s, float: %8.4f s (%s )\n", t_u8, t_f32, info);
        printf("  speed-up 8-bit: %.1fx (goal >= 15x), float: %.1fx\n", t_u8 / c_u8,
               c_f32 > 0 ? t_f32 / c_f32 : 0.0);
    } else {
        printf("  PyTorch: not measured (give --python and --script, with python3-torch)\n");
    }
    free(map);
    return 0;
}
