/* cam-renderer.c -- from the feature-resolution map to a full-size heatmap:
 * torch-exact upsampling computed per output pixel, normalisation, matplotlib
 * colormap, blending; any rectangle of the output, in parallel strips. */
#include "cam-error.h"
#include "cam-render-private.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define CAM_RENDER_MAX_SIZE (1 << 20)
/* Largest map magnitude accepted: bicubic weights sum to at most ~1.7 in
 * magnitude, so interpolated values stay finite. */
#define CAM_RENDER_MAX_VALUE 1e37f
/* The 8-bit blend, in single precision on every path (SSE2 and scalar, same
 * operations in the same order, so the results are identical):
 *     out = (int)(v * wi + hk),  wi = (float)(1 - a),  hk = (float)a * k + 0.5f
 * It errs from exact rounding of (1 - a) v + a k by less than 1e-4 of a level
 * (float products of 8-bit values), and is exact for a = 0.5. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF /* no fused multiply-add: scalar and SIMD must agree */
#endif
/* Below this many output pixels per thread, a render call stays single-threaded. */
#define MIN_PIXELS_PER_THREAD 65536

struct cam_renderer {
    int map_w, map_h, out_w, out_h;
    float *map;               /* map_h x map_w, row-major */
    cam_render_options opt;
    cam_colormap cmap;        /* resolved (never GREENS_REDS) */
    cam_axis_weights cols;    /* out_w outputs */
    cam_axis_weights rows;    /* out_h outputs */
    float *hmap;              /* map_h x out_w: each map row interpolated horizontally */
    float lo, hi;             /* normalisation range */
    float norm_scale;         /* 1 / (hi - lo), 0 for a constant map */
    float index_scale;        /* 256 / (hi - lo), 0 for a constant map */
    float index_floor;        /* lower clamp in index units (0, or ReLU's 0 mapped) */
    float value_floor;        /* ReLU: 0, else -FLT_MAX */
    /* Per colormap index i (0..255): */
    uint8_t heat[256][3];     /* the colour */
    uint8_t heat_alpha[256];  /* layer alpha: 255, or i with alpha_from_map */
    _Alignas(16) float wv[256][4]; /* 8-bit blend: wi = (float)(1 - a_i) x 3, then 1 (alpha lane) */
    _Alignas(16) float hk[256][4]; /* (float)a_i * k + 0.5f per colour, then 0.5f (alpha lane) */
    uint32_t heat_word[256];  /* heat[i] and heat_alpha[i] as one RGBA word */
    uint64_t wimg16[256];     /* round((1 - a_i) 2^32) */
    uint64_t wheat16[256][3]; /* round(a_i k 257 2^32) + 2^31 */
    float fimg[256];          /* 1 - a_i */
    float fheat[256][3];      /* a_i k / 255 */
    double dimg[256];         /* the same in double, for the generic path */
    double dheat[256][3];
};

/* ------------------------------------------------------------------------ */
/* Names and options                                                        */
/* ------------------------------------------------------------------------ */

static const char *const upsample_names[CAM_UPSAMPLE_COUNT] = {"bilinear", "bicubic"};
static const char *const normalize_names[CAM_NORMALIZE_COUNT] = {"minmax", "minmax-output",
                                                                 "range"};
static const char *const output_names[CAM_OUTPUT_COUNT] = {"heatmap", "blend"};

const char *cam_upsample_name(cam_upsample mode)
{
    return (unsigned)mode < CAM_UPSAMPLE_COUNT ? upsample_names[mode] : NULL;
}

cam_status cam_upsample_from_name(const char *name, cam_upsample *out, cam_error *err)
{
    int v = 0;
    cam_status st = cam_enum_from_name("cam_upsample_from_name", "upsampling mode", upsample_names,
                                       CAM_UPSAMPLE_COUNT, name, out ? &v : NULL, err);
    if (st == CAM_OK)
        *out = (cam_upsample)v;
    return st;
}

const char *cam_normalize_name(cam_normalize mode)
{
    return (unsigned)mode < CAM_NORMALIZE_COUNT ? normalize_names[mode] : NULL;
}

cam_status cam_normalize_from_name(const char *name, cam_normalize *out, cam_error *err)
{
    int v = 0;
    cam_status st = cam_enum_from_name("cam_normalize_from_name", "normalisation", normalize_names,
                                       CAM_NORMALIZE_COUNT, name, out ? &v : NULL, err);
    if (st == CAM_OK)
        *out = (cam_normalize)v;
    return st;
}

const char *cam_output_name(cam_output mode)
{
    return (unsigned)mode < CAM_OUTPUT_COUNT ? output_names[mode] : NULL;
}

cam_status cam_output_from_name(const char *name, cam_output *out, cam_error *err)
{
    int v = 0;
    cam_status st = cam_enum_from_name("cam_output_from_name", "output mode", output_names,
                                       CAM_OUTPUT_COUNT, name, out ? &v : NULL, err);
    if (st == CAM_OK)
        *out = (cam_output)v;
    return st;
}

size_t cam_sample_size(cam_sample_type type)
{
    switch (type) {
    case CAM_SAMPLE_U8: return 1;
    case CAM_SAMPLE_U16: return 2;
    case CAM_SAMPLE_F32: return 4;
    case CAM_SAMPLE_TYPE_COUNT: break;
    }
    return 0;
}

cam_render_options cam_render_options_default(void)
{
    cam_render_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.upsample = CAM_UPSAMPLE_BILINEAR;
    o.colormap = CAM_COLORMAP_JET;
    o.probability = 1.0f;
    o.threshold = 0.95f;
    o.alpha = 0.5f;
    o.alpha_from_map = 0;
    o.relu = 0;
    o.normalize = CAM_NORMALIZE_MINMAX;
    o.range_min = 0.0f;
    o.range_max = 1.0f;
    o.output = CAM_OUTPUT_HEATMAP;
    o.n_threads = 0;
    return o;
}

/* ------------------------------------------------------------------------ */
/* Rows of the upsampled map                                                */
/* ------------------------------------------------------------------------ */

/* Upsampling is separable and done in PyTorch's order: first along x (each
 * map row interpolated to the output width once, in cam_renderer_new: hmap),
 * then along y (per output row, a weighted sum of `taps` hmap rows). */

static void horizontal_pass(cam_renderer *r)
{
    const int taps = r->cols.taps;
    for (int i = 0; i < r->map_h; i++) {
        const float *m = r->map + (size_t)i * r->map_w;
        float *h = r->hmap + (size_t)i * r->out_w;
        for (int x = 0; x < r->out_w; x++) {
            const int *ix = r->cols.index + (size_t)x * taps;
            const float *wx = r->cols.weight + (size_t)x * taps;
            float v = m[ix[0]] * wx[0];
            for (int k = 1; k < taps; k++)
                v += m[ix[k]] * wx[k];
            h[x] = v;
        }
    }
}

/* Raw upsampled values of output row y, columns x0 .. x0 + n - 1. */
static void row_values(const cam_renderer *r, int y, int x0, int n, float *restrict out)
{
    const int taps = r->rows.taps;
    const int *iy = r->rows.index + (size_t)y * taps;
    const float *wy = r->rows.weight + (size_t)y * taps;
    const float *restrict h0 = r->hmap + (size_t)iy[0] * r->out_w + x0;
    const float *restrict h1 = r->hmap + (size_t)iy[1] * r->out_w + x0;
    const float w0 = wy[0], w1 = wy[1];
    if (taps == 2) {
        for (int x = 0; x < n; x++)
            out[x] = h0[x] * w0 + h1[x] * w1;
        return;
    }
    const float *restrict h2 = r->hmap + (size_t)iy[2] * r->out_w + x0;
    const float *restrict h3 = r->hmap + (size_t)iy[3] * r->out_w + x0;
    const float w2 = wy[2], w3 = wy[3];
    for (int x = 0; x < n; x++) {
        float v = h0[x] * w0;
        v += h1[x] * w1;
        v += h2[x] * w2;
        v += h3[x] * w3;
        out[x] = v;
    }
}

/* Colormap index of one raw value: min(floor((max(v, floor) - lo) * 256 / (hi - lo)), 255),
 * with the ReLU folded into the lower clamp. */
static inline uint8_t value_index(float v, float lo, float s, float floor_v)
{
    float t = (v - lo) * s;
    t = t > floor_v ? t : floor_v; /* also maps NaN to floor_v */
    t = t < 255.0f ? t : 255.0f;
    return (uint8_t)(int)t;
}

/* Colormap indices of output row y, columns x0 .. x0 + n - 1: the values of
 * row_values (same operations in the same order, so bit-identical) mapped by
 * value_index. SSE2 does 16 pixels at a time where available. */
static void row_indices(const cam_renderer *r, int y, int x0, int n, uint8_t *restrict out)
{
    const int taps = r->rows.taps;
    const int *iy = r->rows.index + (size_t)y * taps;
    const float *wy = r->rows.weight + (size_t)y * taps;
    const float *h[4];
    float w[4];
    for (int k = 0; k < taps; k++) {
        h[k] = r->hmap + (size_t)iy[k] * r->out_w + x0;
        w[k] = wy[k];
    }
    const float lo = r->lo, s = r->index_scale, floor_v = r->index_floor;
    int x = 0;
#if defined(__SSE2__)
    const __m128 vlo = _mm_set1_ps(lo), vs = _mm_set1_ps(s), vfloor = _mm_set1_ps(floor_v),
                 vmax = _mm_set1_ps(255.0f);
    __m128 vw[4];
    for (int k = 0; k < taps; k++)
        vw[k] = _mm_set1_ps(w[k]);
    for (; x + 16 <= n; x += 16) {
        __m128i q[4];
        for (int j = 0; j < 4; j++) {
            const int at = x + 4 * j;
            __m128 v = _mm_mul_ps(_mm_loadu_ps(h[0] + at), vw[0]);
            v = _mm_add_ps(v, _mm_mul_ps(_mm_loadu_ps(h[1] + at), vw[1]));
            if (taps == 4) {
                v = _mm_add_ps(v, _mm_mul_ps(_mm_loadu_ps(h[2] + at), vw[2]));
                v = _mm_add_ps(v, _mm_mul_ps(_mm_loadu_ps(h[3] + at), vw[3]));
            }
            __m128 t = _mm_mul_ps(_mm_sub_ps(v, vlo), vs);
            t = _mm_min_ps(_mm_max_ps(t, vfloor), vmax);
            q[j] = _mm_cvttps_epi32(t);
        }
        __m128i p = _mm_packus_epi16(_mm_packs_epi32(q[0], q[1]), _mm_packs_epi32(q[2], q[3]));
        _mm_storeu_si128((__m128i *)(void *)(out + x), p);
    }
#endif
    if (taps == 2) {
        for (; x < n; x++)
            out[x] = value_index(h[0][x] * w[0] + h[1][x] * w[1], lo, s, floor_v);
    } else {
        for (; x < n; x++) {
            float v = h[0][x] * w[0];
            v += h[1][x] * w[1];
            v += h[2][x] * w[2];
            v += h[3][x] * w[3];
            out[x] = value_index(v, lo, s, floor_v);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Pixel stores                                                             */
/* ------------------------------------------------------------------------ */

static inline double load_sample(const void *row, cam_sample_type type, size_t i)
{
    switch (type) {
    case CAM_SAMPLE_U8: return ((const uint8_t *)row)[i] / 255.0;
    case CAM_SAMPLE_U16: return ((const uint16_t *)row)[i] / 65535.0;
    default: return ((const float *)row)[i];
    }
}

static inline void store_sample(void *row, cam_sample_type type, size_t i, double v)
{
    switch (type) {
    case CAM_SAMPLE_U8: {
        double s = floor(v * 255.0 + 0.5);
        s = s < 0.0 ? 0.0 : s > 255.0 ? 255.0 : s;
        ((uint8_t *)row)[i] = (uint8_t)s;
        break;
    }
    case CAM_SAMPLE_U16: {
        double s = floor(v * 65535.0 + 0.5);
        s = s < 0.0 ? 0.0 : s > 65535.0 ? 65535.0 : s;
        ((uint16_t *)row)[i] = (uint16_t)s;
        break;
    }
    default: ((float *)row)[i] = (float)v; break;
    }
}

static inline uint8_t blend8(uint32_t v, float wi, float hk)
{
    return (uint8_t)(int)((float)v * wi + hk);
}

#if defined(__SSE2__)
/* RGBA 8-bit to RGBA 8-bit, 4 pixels at a time from x0; returns where it
 * stopped. The alpha lane uses wi = 1, hk = 0.5: v * 1 + 0.5 truncates to v. */
static int blend_rgba8_sse2(const cam_renderer *r, const uint8_t *restrict idx, int x0, int n,
                            const uint8_t *src, uint8_t *dst)
{
    const __m128i zero = _mm_setzero_si128();
    const float(*wv)[4] = r->wv, (*hk)[4] = r->hk;
    int x = x0;
    for (; x + 4 <= n; x += 4) {
        const __m128i s = _mm_loadu_si128((const __m128i *)(const void *)(src + 4 * (size_t)x));
        const __m128i s_lo = _mm_unpacklo_epi8(s, zero), s_hi = _mm_unpackhi_epi8(s, zero);
        const __m128i sv[4] = {_mm_unpacklo_epi16(s_lo, zero), _mm_unpackhi_epi16(s_lo, zero),
                               _mm_unpacklo_epi16(s_hi, zero), _mm_unpackhi_epi16(s_hi, zero)};
        __m128i o[4];
        for (int j = 0; j < 4; j++) {
            const int i = idx[x + j];
            const __m128 v = _mm_mul_ps(_mm_cvtepi32_ps(sv[j]), _mm_loadu_ps(wv[i]));
            o[j] = _mm_cvttps_epi32(_mm_add_ps(v, _mm_loadu_ps(hk[i])));
        }
        const __m128i p = _mm_packus_epi16(_mm_packs_epi32(o[0], o[1]), _mm_packs_epi32(o[2], o[3]));
        _mm_storeu_si128((__m128i *)(void *)(dst + 4 * (size_t)x), p);
    }
    return x;
}
#endif

/* 8-bit source (1..4 channels) to 8-bit RGB(A), pixels x0 .. n - 1, one by one. */
static void blend_u8_pixels(const cam_renderer *r, const uint8_t *restrict idx, int x0, int n,
                            const uint8_t *src, int sc, uint8_t *dst, int dc)
{
    const int has_alpha = sc == 2 || sc == 4;
    for (int x = x0; x < n; x++) {
        const int i = idx[x];
        const float wi = r->wv[i][0];
        const float *hk = r->hk[i];
        const uint8_t *s = src + (size_t)sc * x;
        uint32_t c0, c1, c2;
        const uint8_t a = has_alpha ? s[sc - 1] : 255;
        if (sc >= 3) {
            c0 = s[0];
            c1 = s[1];
            c2 = s[2];
        } else {
            c0 = c1 = c2 = s[0];
        }
        const uint8_t o0 = blend8(c0, wi, hk[0]), o1 = blend8(c1, wi, hk[1]), o2 = blend8(c2, wi, hk[2]);
        uint8_t *d = dst + (size_t)dc * x;
        d[0] = o0;
        d[1] = o1;
        d[2] = o2;
        if (dc == 4)
            d[3] = a;
    }
}

/* 8-bit source (1..4 channels) to 8-bit RGB(A). */
static void blend_row_u8(const cam_renderer *r, const uint8_t *restrict idx, int n,
                         const uint8_t *src, int sc, uint8_t *dst, int dc)
{
    int x = 0;
#if defined(__SSE2__)
    if (sc == 4 && dc == 4)
        x = blend_rgba8_sse2(r, idx, 0, n, src, dst);
#endif
    blend_u8_pixels(r, idx, x, n, src, sc, dst, dc);
}

/* 16-bit source (1..4 channels) to 16-bit RGB(A): 64-bit fixed point. */
static void blend_row_u16(const cam_renderer *r, const uint8_t *idx, int n, const uint16_t *src,
                          int sc, uint16_t *dst, int dc)
{
    const int has_alpha = sc == 2 || sc == 4;
    for (int x = 0; x < n; x++) {
        const int i = idx[x];
        const uint64_t w = r->wimg16[i];
        const uint64_t *h = r->wheat16[i];
        const uint16_t *s = src + (size_t)sc * x;
        uint16_t *d = dst + (size_t)dc * x;
        uint64_t c0, c1, c2;
        uint16_t a = has_alpha ? s[sc - 1] : 65535;
        if (sc >= 3) {
            c0 = s[0];
            c1 = s[1];
            c2 = s[2];
        } else {
            c0 = c1 = c2 = s[0];
        }
        d[0] = (uint16_t)((c0 * w + h[0]) >> 32);
        d[1] = (uint16_t)((c1 * w + h[1]) >> 32);
        d[2] = (uint16_t)((c2 * w + h[2]) >> 32);
        if (dc == 4)
            d[3] = a;
    }
}

/* Float source RGBA to float RGBA (the float path). */
static void blend_row_f32_rgba(const cam_renderer *r, const uint8_t *idx, int n, const float *src,
                               float *dst)
{
    for (int x = 0; x < n; x++) {
        const int i = idx[x];
        const float w = r->fimg[i];
        const float *h = r->fheat[i];
        const float *s = src + 4 * (size_t)x;
        float *d = dst + 4 * (size_t)x;
        float a = s[3];
        d[0] = s[0] * w + h[0];
        d[1] = s[1] * w + h[1];
        d[2] = s[2] * w + h[2];
        d[3] = a;
    }
}

/* Any other combination, through double. */
static void blend_row_generic(const cam_renderer *r, const uint8_t *idx, int n, const void *src,
                              cam_sample_type st, int sc, void *dst, cam_sample_type dt, int dc)
{
    const int has_alpha = sc == 2 || sc == 4;
    for (int x = 0; x < n; x++) {
        const int i = idx[x];
        const double w = r->dimg[i];
        const double *h = r->dheat[i];
        const size_t s0 = (size_t)sc * x, d0 = (size_t)dc * x;
        double c[3];
        if (sc >= 3) {
            c[0] = load_sample(src, st, s0);
            c[1] = load_sample(src, st, s0 + 1);
            c[2] = load_sample(src, st, s0 + 2);
        } else {
            c[0] = c[1] = c[2] = load_sample(src, st, s0);
        }
        for (int k = 0; k < 3; k++)
            store_sample(dst, dt, d0 + k, c[k] * w + h[k]);
        if (dc == 4) {
            if (has_alpha && st == dt)
                memcpy((char *)dst + (d0 + 3) * cam_sample_size(dt),
                       (const char *)src + (s0 + (size_t)sc - 1) * cam_sample_size(st),
                       cam_sample_size(st));
            else
                store_sample(dst, dt, d0 + 3, has_alpha ? load_sample(src, st, s0 + sc - 1) : 1.0);
        }
    }
}

static void heatmap_row(const cam_renderer *r, const uint8_t *idx, int n, void *dst,
                        cam_sample_type dt, int dc)
{
    if (dt == CAM_SAMPLE_U8) {
        /* RGBA words: one 32-bit store per pixel. */
        uint8_t *d = dst;
        if (dc == 4) {
            const uint32_t *restrict words = r->heat_word;
            int x = 0;
            for (; x < n; x++)
                memcpy(d + 4 * (size_t)x, &words[idx[x]], 4);
        } else {
            for (int x = 0; x < n; x++) {
                const int i = idx[x];
                const uint8_t c0 = r->heat[i][0], c1 = r->heat[i][1], c2 = r->heat[i][2];
                d[3 * x] = c0;
                d[3 * x + 1] = c1;
                d[3 * x + 2] = c2;
            }
        }
        return;
    }
    for (int x = 0; x < n; x++) {
        const int i = idx[x];
        const size_t d0 = (size_t)dc * x;
        for (int k = 0; k < 3; k++) {
            if (dt == CAM_SAMPLE_U16)
                ((uint16_t *)dst)[d0 + k] = (uint16_t)(r->heat[i][k] * 257u);
            else
                ((float *)dst)[d0 + k] = (float)r->heat[i][k] / 255.0f;
        }
        if (dc == 4) {
            if (dt == CAM_SAMPLE_U16)
                ((uint16_t *)dst)[d0 + 3] = (uint16_t)(r->heat_alpha[i] * 257u);
            else
                ((float *)dst)[d0 + 3] = (float)r->heat_alpha[i] / 255.0f;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Parallel jobs                                                            */
/* ------------------------------------------------------------------------ */

typedef struct render_job {
    const cam_renderer *r;
    cam_rect rect;
    const cam_image *src;
    cam_image *dst;
    cam_values kind; /* for values jobs */
    float *values;
    size_t values_stride;
    int n_threads;
    char *scratch;        /* per thread: scratch_size bytes */
    size_t scratch_size;
    float *range;         /* per thread: min, max (range jobs) */
} render_job;

static void job_rows(const render_job *job, int t, int *y0, int *y1)
{
    const int h = job->rect.height, n = job->n_threads;
    *y0 = (int)((long long)h * t / n);
    *y1 = (int)((long long)h * (t + 1) / n);
}

static void render_job_run(void *ctx, int t)
{
    const render_job *job = ctx;
    const cam_renderer *r = job->r;
    const cam_rect rect = job->rect;
    uint8_t *idx = (uint8_t *)(job->scratch + job->scratch_size * (size_t)t);
    const cam_image *src = job->src;
    cam_image *dst = job->dst;
    const int blend = r->opt.output == CAM_OUTPUT_BLEND;
    int y0, y1;
    job_rows(job, t, &y0, &y1);
    for (int y = y0; y < y1; y++) {
        row_indices(r, rect.y + y, rect.x, rect.width, idx);
        void *d = (char *)dst->pixels + dst->stride * (size_t)y;
        if (!blend) {
            heatmap_row(r, idx, rect.width, d, dst->type, dst->channels);
            continue;
        }
        const void *s = (const char *)src->pixels + src->stride * (size_t)y;
        if (src->type == CAM_SAMPLE_U8 && dst->type == CAM_SAMPLE_U8)
            blend_row_u8(r, idx, rect.width, s, src->channels, d, dst->channels);
        else if (src->type == CAM_SAMPLE_U16 && dst->type == CAM_SAMPLE_U16)
            blend_row_u16(r, idx, rect.width, s, src->channels, d, dst->channels);
        else if (src->type == CAM_SAMPLE_F32 && dst->type == CAM_SAMPLE_F32 &&
                 src->channels == 4 && dst->channels == 4)
            blend_row_f32_rgba(r, idx, rect.width, s, d);
        else
            blend_row_generic(r, idx, rect.width, s, src->type, src->channels, d, dst->type,
                              dst->channels);
    }
}

static void values_job_run(void *ctx, int t)
{
    const render_job *job = ctx;
    const cam_renderer *r = job->r;
    const cam_rect rect = job->rect;
    int y0, y1;
    job_rows(job, t, &y0, &y1);
    for (int y = y0; y < y1; y++) {
        float *out = job->values + job->values_stride * (size_t)y;
        row_values(r, rect.y + y, rect.x, rect.width, out);
        if (job->kind == CAM_VALUES_NORMALIZED) {
            const float lo = r->lo, s = r->norm_scale, vf = r->value_floor;
            for (int x = 0; x < rect.width; x++) {
                float v = out[x] < vf ? vf : out[x];
                v = (v - lo) * s;
                out[x] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
            }
        }
    }
}

static void range_job_run(void *ctx, int t)
{
    const render_job *job = ctx;
    const cam_renderer *r = job->r;
    const cam_rect rect = job->rect;
    float *vals = (float *)(job->scratch + job->scratch_size * (size_t)t);
    float lo = FLT_MAX, hi = -FLT_MAX;
    int y0, y1;
    job_rows(job, t, &y0, &y1);
    for (int y = y0; y < y1; y++) {
        row_values(r, rect.y + y, rect.x, rect.width, vals);
        for (int x = 0; x < rect.width; x++) {
            lo = vals[x] < lo ? vals[x] : lo;
            hi = vals[x] > hi ? vals[x] : hi;
        }
    }
    job->range[2 * t] = lo;
    job->range[2 * t + 1] = hi;
}

/* Allocates per-thread scratch and runs fn over rect's rows. */
static cam_status run_job(render_job *job, void (*fn)(void *, int), size_t per_thread,
                          cam_error *err)
{
    const size_t pixels = (size_t)job->rect.width * (size_t)job->rect.height;
    job->n_threads = cam_render_threads(job->r->opt.n_threads, pixels, MIN_PIXELS_PER_THREAD);
    if (job->n_threads > job->rect.height)
        job->n_threads = job->rect.height;
    if (job->n_threads < 1)
        job->n_threads = 1;
    job->scratch_size = (per_thread + 63) & ~(size_t)63;
    job->scratch = malloc(job->scratch_size * (size_t)job->n_threads);
    job->range = malloc(2 * sizeof(float) * (size_t)job->n_threads);
    if (!job->scratch || !job->range) {
        free(job->scratch);
        free(job->range);
        job->scratch = NULL;
        job->range = NULL;
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "render scratch memory (%zu bytes)",
                             per_thread);
    }
    cam_render_parallel(job->n_threads, fn, job);
    return CAM_OK;
}

static void job_free(render_job *job)
{
    free(job->scratch);
    free(job->range);
    job->scratch = NULL;
    job->range = NULL;
}

/* ------------------------------------------------------------------------ */
/* Creation                                                                 */
/* ------------------------------------------------------------------------ */

static cam_status build_tables(cam_renderer *r, cam_error *err)
{
    const uint8_t *table = cam_colormap_table(r->cmap);
    const double alpha = r->opt.alpha;
    for (int i = 0; i < 256; i++) {
        double a = r->opt.alpha_from_map ? alpha * i / 255.0 : alpha;
        r->heat_alpha[i] = r->opt.alpha_from_map ? (uint8_t)i : 255;
        const float wi = (float)(1.0 - a), wk = (float)a;
        r->wv[i][0] = r->wv[i][1] = r->wv[i][2] = wi;
        r->wv[i][3] = 1.0f;
        r->hk[i][3] = 0.5f;
        r->wimg16[i] = (uint64_t)llround((1.0 - a) * 4294967296.0);
        r->fimg[i] = (float)(1.0 - a);
        r->dimg[i] = 1.0 - a;
        for (int c = 0; c < 3; c++) {
            uint8_t k = table[3 * i + c];
            r->heat[i][c] = k;
            r->hk[i][c] = wk * (float)k + 0.5f;
            r->wheat16[i][c] = (uint64_t)llround(a * k * 257.0 * 4294967296.0) + (1ull << 31);
            r->fheat[i][c] = (float)(a * k / 255.0);
            r->dheat[i][c] = a * k / 255.0;
        }
        const uint8_t px[4] = {r->heat[i][0], r->heat[i][1], r->heat[i][2], r->heat_alpha[i]};
        memcpy(&r->heat_word[i], px, 4);
    }
    return CAM_OK;
}

static void set_range(cam_renderer *r, float lo, float hi)
{
    r->lo = lo;
    r->hi = hi;
    double d = (double)hi - (double)lo;
    if (d > 0.0 && isfinite(d)) {
        r->norm_scale = (float)(1.0 / d);
        r->index_scale = (float)(256.0 / d);
    } else {
        r->norm_scale = 0.0f;
        r->index_scale = 0.0f;
    }
    if (r->opt.relu) {
        r->value_floor = 0.0f;
        float f = (0.0f - lo) * r->index_scale;
        r->index_floor = f > 0.0f ? f : 0.0f;
    } else {
        r->value_floor = -FLT_MAX;
        r->index_floor = 0.0f;
    }
    if (r->index_floor > 255.0f)
        r->index_floor = 255.0f;
}

void cam_renderer_free(cam_renderer *r)
{
    if (!r)
        return;
    free(r->map);
    free(r->hmap);
    cam_axis_weights_clear(&r->cols);
    cam_axis_weights_clear(&r->rows);
    free(r);
}

cam_status cam_renderer_new(const float *map, int map_w, int map_h, int out_w, int out_h,
                            const cam_render_options *options, cam_renderer **out, cam_error *err)
{
    if (out)
        *out = NULL;
    if (!out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_renderer_new: out is NULL");
    if (options && cam_check_options_size("cam_renderer_new", "cam_render_options",
                                          "cam_render_options_default", options->size,
                                          sizeof *options, err) != CAM_OK)
        return CAM_ERROR_INVALID_ARGUMENT;
    cam_render_options opt = options ? *options : cam_render_options_default();
    if (!map)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_renderer_new: map is NULL");
    if (map_w < 1 || map_h < 1 || map_w > CAM_RENDER_MAX_SIZE || map_h > CAM_RENDER_MAX_SIZE)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_renderer_new: map size %dx%d (each side must be 1..%d)", map_w,
                             map_h, CAM_RENDER_MAX_SIZE);
    if (out_w < 1 || out_h < 1 || out_w > CAM_RENDER_MAX_SIZE || out_h > CAM_RENDER_MAX_SIZE)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_renderer_new: output size %dx%d (each side must be 1..%d)",
                             out_w, out_h, CAM_RENDER_MAX_SIZE);
    if ((unsigned)opt.upsample >= CAM_UPSAMPLE_COUNT)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "render options: upsample %d is invalid", (int)opt.upsample);
    if ((unsigned)opt.colormap >= CAM_COLORMAP_COUNT)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "render options: colormap %d is invalid", (int)opt.colormap);
    if ((unsigned)opt.normalize >= CAM_NORMALIZE_COUNT)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "render options: normalize %d is invalid", (int)opt.normalize);
    if ((unsigned)opt.output >= CAM_OUTPUT_COUNT)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "render options: output %d is invalid", (int)opt.output);
    if (!(opt.alpha >= 0.0f && opt.alpha <= 1.0f))
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "render options: alpha %g is outside 0..1", (double)opt.alpha);
    if (opt.colormap == CAM_COLORMAP_GREENS_REDS &&
        !(isfinite(opt.probability) && isfinite(opt.threshold)))
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "render options: probability and threshold must be finite for "
                             "greens-reds");
    if (opt.normalize == CAM_NORMALIZE_RANGE &&
        !(isfinite(opt.range_min) && isfinite(opt.range_max) && opt.range_max > opt.range_min))
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "render options: range %g..%g (need finite range_min < range_max)",
                             (double)opt.range_min, (double)opt.range_max);
    const int whole = !(opt.window.width > 0.0f && opt.window.height > 0.0f);
    if (!whole && !(isfinite(opt.window.x) && isfinite(opt.window.y) &&
                    isfinite(opt.window.width) && isfinite(opt.window.height)))
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "render options: window is not finite");
    /* Check the map before allocating anything large. */
    const size_t n = (size_t)map_w * (size_t)map_h;
    float mlo = FLT_MAX, mhi = -FLT_MAX;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(map[i]))
            return cam_set_error(err, CAM_ERROR_NUMERIC,
                                 "map value at row %zu, column %zu is %s (the map must be finite)",
                                 i / (size_t)map_w, i % (size_t)map_w,
                                 isnan(map[i]) ? "NaN" : "Inf");
        if (fabsf(map[i]) > CAM_RENDER_MAX_VALUE)
            return cam_set_error(err, CAM_ERROR_NUMERIC,
                                 "map value at row %zu, column %zu is %g (magnitudes above %g "
                                 "could overflow while interpolating)",
                                 i / (size_t)map_w, i % (size_t)map_w, (double)map[i],
                                 (double)CAM_RENDER_MAX_VALUE);
        mlo = map[i] < mlo ? map[i] : mlo;
        mhi = map[i] > mhi ? map[i] : mhi;
    }

    cam_renderer *r = calloc(1, sizeof *r);
    if (!r || !(r->map = malloc(n * sizeof *r->map))) {
        free(r);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "renderer for a %dx%d map", map_w, map_h);
    }
    memcpy(r->map, map, n * sizeof *r->map);
    r->map_w = map_w;
    r->map_h = map_h;
    r->out_w = out_w;
    r->out_h = out_h;
    r->opt = opt;
    r->cmap = cam_colormap_resolve(opt.colormap, opt.probability, opt.threshold);
    if (whole) {
        r->opt.window = (cam_window){0.0f, 0.0f, (float)map_w, (float)map_h};
    }
    cam_status st = cam_axis_weights_interpolate(&r->cols, opt.upsample, map_w, out_w,
                                                 r->opt.window.x, r->opt.window.width, err);
    if (st == CAM_OK)
        st = cam_axis_weights_interpolate(&r->rows, opt.upsample, map_h, out_h, r->opt.window.y,
                                          r->opt.window.height, err);
    if (st != CAM_OK) {
        cam_renderer_free(r);
        return st;
    }
    r->hmap = malloc((size_t)map_h * (size_t)out_w * sizeof *r->hmap);
    if (!r->hmap) {
        cam_renderer_free(r);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "renderer: %dx%d intermediate map", out_w,
                             map_h);
    }
    horizontal_pass(r);
    st = build_tables(r, err);
    if (st != CAM_OK) {
        cam_renderer_free(r);
        return st;
    }

    switch (opt.normalize) {
    case CAM_NORMALIZE_MINMAX:
        if (opt.relu) {
            mlo = mlo > 0.0f ? mlo : 0.0f;
            mhi = mhi > 0.0f ? mhi : 0.0f;
        }
        set_range(r, mlo, mhi);
        break;
    case CAM_NORMALIZE_RANGE:
        set_range(r, opt.range_min, opt.range_max);
        break;
    case CAM_NORMALIZE_MINMAX_OUTPUT: {
        render_job job = {.r = r, .rect = {0, 0, out_w, out_h}};
        size_t per_thread = (size_t)out_w * sizeof(float);
        st = run_job(&job, range_job_run, per_thread, err);
        if (st != CAM_OK) {
            cam_renderer_free(r);
            return st;
        }
        float lo = FLT_MAX, hi = -FLT_MAX;
        for (int t = 0; t < job.n_threads; t++) {
            lo = job.range[2 * t] < lo ? job.range[2 * t] : lo;
            hi = job.range[2 * t + 1] > hi ? job.range[2 * t + 1] : hi;
        }
        job_free(&job);
        if (opt.relu) {
            lo = lo > 0.0f ? lo : 0.0f;
            hi = hi > 0.0f ? hi : 0.0f;
        }
        set_range(r, lo, hi);
        break;
    }
    case CAM_NORMALIZE_COUNT: break;
    }
    *out = r;
    return CAM_OK;
}

void cam_renderer_get_range(const cam_renderer *r, float *lo, float *hi)
{
    if (lo)
        *lo = r ? r->lo : 0.0f;
    if (hi)
        *hi = r ? r->hi : 0.0f;
}

cam_colormap cam_renderer_get_colormap(const cam_renderer *r)
{
    return r ? r->cmap : CAM_COLORMAP_JET;
}

/* ------------------------------------------------------------------------ */
/* Rendering                                                                */
/* ------------------------------------------------------------------------ */

static cam_status check_rect(const cam_renderer *r, cam_rect rect, cam_error *err)
{
    if (!r)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "renderer is NULL");
    if (rect.width < 1 || rect.height < 1 || rect.x < 0 || rect.y < 0 ||
        rect.x > r->out_w - rect.width || rect.y > r->out_h - rect.height)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "rectangle %dx%d at (%d,%d) is not inside the %dx%d output",
                             rect.width, rect.height, rect.x, rect.y, r->out_w, r->out_h);
    return CAM_OK;
}

static cam_status check_image(const char *what, const cam_image *img, cam_rect rect,
                              int min_channels, cam_error *err)
{
    if (!img || !img->pixels)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "%s image is NULL", what);
    if (img->width != rect.width || img->height != rect.height)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "%s image is %dx%d but the rectangle is %dx%d", what, img->width,
                             img->height, rect.width, rect.height);
    if (img->channels < min_channels || img->channels > 4)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "%s image has %d channels (need %d..4)", what, img->channels,
                             min_channels);
    size_t ss = cam_sample_size(img->type);
    if (ss == 0)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "%s image: invalid sample type %d",
                             what, (int)img->type);
    if (img->stride < ss * (size_t)img->channels * (size_t)img->width)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "%s image: stride %zu is smaller than a row (%zu bytes)", what,
                             img->stride, ss * (size_t)img->channels * (size_t)img->width);
    return CAM_OK;
}

cam_status cam_renderer_render_rect(const cam_renderer *r, cam_rect rect, const cam_image *src,
                                    cam_image *dst, cam_error *err)
{
    cam_status st = check_rect(r, rect, err);
    if (st != CAM_OK)
        return st;
    if ((st = check_image("destination", dst, rect, 3, err)) != CAM_OK)
        return st;
    if (r->opt.output == CAM_OUTPUT_BLEND &&
        (st = check_image("source", src, rect, 1, err)) != CAM_OK)
        return st;
    render_job job = {.r = r, .rect = rect, .src = src, .dst = dst};
    size_t per_thread = (size_t)rect.width;
    st = run_job(&job, render_job_run, per_thread, err);
    job_free(&job);
    return st;
}

cam_status cam_renderer_render_rows(const cam_renderer *r, int y0, int n_rows,
                                    const cam_image *src, cam_image *dst, cam_error *err)
{
    if (!r)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "renderer is NULL");
    cam_rect rect = {0, y0, r->out_w, n_rows};
    return cam_renderer_render_rect(r, rect, src, dst, err);
}

cam_status cam_renderer_values_rect(const cam_renderer *r, cam_rect rect, cam_values kind,
                                    float *out, size_t out_stride, cam_error *err)
{
    cam_status st = check_rect(r, rect, err);
    if (st != CAM_OK)
        return st;
    if (!out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "values: out is NULL");
    if (out_stride < (size_t)rect.width)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "values: out_stride %zu is smaller than the width %d", out_stride,
                             rect.width);
    if (kind != CAM_VALUES_RAW && kind != CAM_VALUES_NORMALIZED)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "values: invalid kind %d",
                             (int)kind);
    render_job job = {.r = r, .rect = rect, .kind = kind, .values = out,
                      .values_stride = out_stride};
    st = run_job(&job, values_job_run, 1, err);
    job_free(&job);
    return st;
}

cam_status cam_render_image(const float *map, int map_w, int map_h,
                            const cam_render_options *options, const cam_image *src,
                            cam_image *dst, cam_error *err)
{
    if (!dst)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_render_image: dst is NULL");
    if (options && cam_check_options_size("cam_render_image", "cam_render_options",
                                          "cam_render_options_default", options->size,
                                          sizeof *options, err) != CAM_OK)
        return CAM_ERROR_INVALID_ARGUMENT;
    cam_renderer *r;
    cam_status st = cam_renderer_new(map, map_w, map_h, dst->width, dst->height, options, &r, err);
    if (st != CAM_OK)
        return st;
    cam_rect rect = {0, 0, dst->width, dst->height};
    st = cam_renderer_render_rect(r, rect, src, dst, err);
    cam_renderer_free(r);
    return st;
}
