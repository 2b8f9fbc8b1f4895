/*
 * vector-math.c -- erf and the softmax over the last axis, vectorised (see
 * cam-kernels.h, "Vector math"). The transformer models spend a noticeable share of
 * their forward pass here (ViT-B/16: GELU's erf over 197 x 3072 values and the
 * softmax over 12 x 197 x 197 attention weights per block), where libm's erff and
 * expf cost 5-15 ns a value.
 *
 * AVX-512 (cam_cpu_avx512()), 16 values at a time:
 *  - erf(x): |x| in [0, 4) is cut into 16 intervals of width 1/4; on interval i
 *    erf is its Taylor polynomial of degree 9 around the interval's centre c_i
 *    (0 for the first interval, so that erf stays odd and exact in relative terms
 *    near 0). The coefficients erf^(n)(c)/n! come from erf^(n)(c) = 2/sqrt(pi)
 *    (-1)^(n-1) H_(n-1)(c) e^(-c^2) (H the physicists' Hermite polynomials); the
 *    truncation error is below 1e-9, so the float rounding of the coefficients and
 *    of Horner's rule (a few units in the last place) is what remains. Each lane
 *    picks its interval's coefficients with one permute per coefficient. Beyond
 *    |x| >= 4, erf(x) is +-1 in float. The sign is copied from x; NaN stays NaN.
 *  - exp(x) for x <= 0 (the softmax's x - max): x = n ln 2 + r with |r| <= ln 2 / 2
 *    (ln 2 split in two for an exact n ln 2), e^r by its Taylor polynomial of degree 7
 *    (truncation below 6e-9 relative), then times 2^n (scalef, which goes
 *    gradually to 0 below 2^-126). x is clamped below at -104 (e^-104 is 0 in float),
 *    so -inf gives 0; NaN stays NaN.
 *  - softmax rows: the maximum, the exponentials (stored), their sum in double (one
 *    accumulator per lane, reduced in a fixed order), then the product with the
 *    reciprocal of the sum, as the portable kernel does.
 * Portable: libm's erff, and cam_softmax_forward. The two paths differ in the last
 * bits (a few units in the last place); each is deterministic, and the work is split
 * over the thread pool in fixed items (blocks of values, blocks of rows), so results
 * do not depend on the thread count or the batch.
 */
#include "kernels/cam-kernels.h"

#include <math.h>
#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define CAM_VMATH_X86 1
#include <immintrin.h>
#endif

#define ERF_ITEM 16384  /* values per work item of erf */
#define SOFTMAX_ITEM 32768 /* values per work item of the softmax (whole rows) */

#ifdef CAM_VMATH_X86
/* Generated: see the file comment (erf_coef[n][i]: the coefficient of t^n on
 * interval i, t = |x| - erf_center[i]). */
static const float erf_center[16] = {0.000000000e+00f, 3.750000000e-01f, 6.250000000e-01f, 8.750000000e-01f, 1.125000000e+00f, 1.375000000e+00f, 1.625000000e+00f, 1.875000000e+00f, 2.125000000e+00f, 2.375000000e+00f, 2.625000000e+00f, 2.875000000e+00f, 3.125000000e+00f, 3.375000000e+00f, 3.625000000e+00f, 3.875000000e+00f};
static const float erf_coef[10][16] = {
    {0.000000000e+00f, 4.041169094e-01f, 6.232408822e-01f, 7.840750611e-01f, 8.883882317e-01f, 9.481700728e-01f, 9.784437332e-01f, 9.919900577e-01f, 9.973459706e-01f, 9.992170618e-01f, 9.997946243e-01f, 9.999521452e-01f, 9.999901033e-01f, 9.999981847e-01f, 9.999997049e-01f, 9.999999575e-01f},
    {1.128379167e+00f, 9.803528095e-01f, 7.634995358e-01f, 5.247450453e-01f, 3.182739585e-01f, 1.703597737e-01f, 8.047225902e-02f, 3.354582842e-02f, 1.234082061e-02f, 4.006477862e-03f, 1.147875126e-03f, 2.902282829e-04f, 6.475868323e-05f, 1.275174080e-05f, 2.215920285e-06f, 3.398223818e-07f},
    {-0.000000000e+00f, -3.676323036e-01f, -4.771872099e-01f, -4.591519146e-01f, -3.580582033e-01f, -2.342446888e-01f, -1.307674209e-01f, -6.289842830e-02f, -2.622424381e-02f, -9.515384921e-03f, -3.013172205e-03f, -8.344063132e-04f, -2.023708851e-04f, -4.303712520e-05f, -8.032711032e-06f, -1.316811729e-06f},
    {-3.761263890e-01f, -2.348761940e-01f, -5.567184115e-02f, 9.292360177e-02f, 1.624523330e-01f, 1.579377069e-01f, 1.148406196e-01f, 6.744109256e-02f, 3.303740519e-02f, 1.373053351e-02f, 4.890426318e-03f, 1.502536006e-03f, 4.000197829e-04f, 9.258295143e-05f, 1.867374490e-05f, 3.288489507e-06f},
    {0.000000000e+00f, 1.665833876e-01f, 1.764598536e-01f, 1.123965624e-01f, 2.797329713e-02f, -3.050061052e-02f, -4.971886316e-02f, -4.225988151e-02f, -2.636082841e-02f, -1.313321356e-02f, -5.414293807e-03f, -1.881760071e-03f, -5.575739491e-04f, -1.418880221e-04f, -3.116859228e-05f, -5.932511177e-06f},
    {1.128379167e-01f, 4.547535005e-02f, -2.741341107e-02f, -6.721587738e-02f, -6.132368361e-02f, -3.060597627e-02f, -2.134924841e-03f, 1.146258336e-02f, 1.249548259e-02f, 8.357392834e-03f, 4.217880602e-03f, 1.713263280e-03f, 5.769615015e-04f, 1.637739445e-04f, 3.959233534e-05f, 8.208845472e-06f},
    {-0.000000000e+00f, -5.010665544e-02f, -4.134483367e-02f, -1.036778575e-02f, 1.553683545e-02f, 2.216123526e-02f, 1.441478113e-02f, 4.105187133e-03f, -1.821412593e-03f, -3.114079043e-03f, -2.246833845e-03f, -1.140074624e-03f, -4.523151776e-04f, -1.464088816e-04f, -3.952911393e-05f, -9.021089087e-06f},
    {-2.686617065e-02f, -5.458894073e-03f, 1.391000865e-02f, 1.859572677e-02f, 9.606894226e-03f, -1.419062361e-03f, -6.184261515e-03f, -4.928393908e-03f, -1.869257257e-03f, 1.232696284e-04f, 6.808680974e-04f, 5.285700414e-04f, 2.664810511e-04f, 1.021861967e-04f, 3.151412149e-05f, 8.033147330e-06f},
    {0.000000000e+00f, 1.124891177e-02f, 6.686168363e-03f, -1.846146856e-03f, -6.031260883e-03f, -4.261033441e-03f, -5.765254303e-04f, 1.430501687e-03f, 1.383345616e-03f, 5.941113103e-04f, 3.464470637e-05f, -1.356080120e-04f, -1.112636402e-04f, -5.484627168e-05f, -2.008914819e-05f, -5.849020957e-06f},
    {5.223977625e-03f, 1.240423110e-04f, -3.633358398e-03f, -3.256862760e-03f, -3.601919898e-04f, 1.577911233e-03f, 1.410685033e-03f, 3.622564458e-04f, -2.897798522e-04f, -3.375278415e-04f, -1.526004310e-04f, -1.613905590e-05f, 2.545065690e-05f, 2.126516551e-05f, 1.005517908e-05f, 3.474656065e-06f},
};

__attribute__((target("avx512f"))) static inline __m512 erf16(__m512 x)
{
    const __m512 ax = _mm512_abs_ps(x);
    /* interval index floor(4 |x|), clamped to 15 (NaN gives some index: NaN out) */
    __m512i idx = _mm512_cvttps_epi32(_mm512_mul_ps(ax, _mm512_set1_ps(4.0f)));
    idx = _mm512_min_epu32(idx, _mm512_set1_epi32(15));
    const __m512 t = _mm512_sub_ps(ax, _mm512_permutexvar_ps(idx, _mm512_loadu_ps(erf_center)));
    __m512 p = _mm512_permutexvar_ps(idx, _mm512_loadu_ps(erf_coef[9]));
    for (int n = 8; n >= 0; n--)
        p = _mm512_fmadd_ps(p, t, _mm512_permutexvar_ps(idx, _mm512_loadu_ps(erf_coef[n])));
    p = _mm512_min_ps(p, _mm512_set1_ps(1.0f)); /* (a NaN becomes 1 here...) */
    p = _mm512_mask_mov_ps(p, _mm512_cmp_ps_mask(ax, _mm512_set1_ps(4.0f), _CMP_GE_OQ),
                           _mm512_set1_ps(1.0f));
    p = _mm512_mask_mov_ps(p, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x); /* ...restored */
    /* the sign of x */
    const __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(p), sign));
}

__attribute__((target("avx512f"))) static void erf_avx512(size_t n, const float *x, float *y)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, erf16(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, erf16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

/* e^x for x <= 0 (see the file comment). */
__attribute__((target("avx512f"))) static inline __m512 exp16(__m512 x)
{
    x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x); /* NaN (second operand) is kept */
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x); /* ln 2, high part */
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);     /* ln 2, low part */
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

__attribute__((target("avx512f"))) static void softmax_row_avx512(int k, const float *x, float *y)
{
    const int full = k & ~15;
    const __mmask16 tail = (__mmask16)((1u << (k - full)) - 1);
    __m512 mv = _mm512_set1_ps(-INFINITY);
    for (int j = 0; j < full; j += 16)
        mv = _mm512_max_ps(mv, _mm512_loadu_ps(x + j));
    if (tail)
        mv = _mm512_mask_max_ps(mv, tail, mv, _mm512_maskz_loadu_ps(tail, x + full));
    const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(mv));
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    for (int j = 0; j < full; j += 16) {
        const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + j), mx));
        _mm512_storeu_ps(y + j, e);
        s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
    }
    if (tail) {
        const __m512 e = _mm512_maskz_mov_ps(
            tail, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + full), mx)));
        _mm512_mask_storeu_ps(y + full, tail, e);
        s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
    }
    double lanes[8];
    _mm512_storeu_pd(lanes, _mm512_add_pd(s0, s1));
    double sum = 0.0;
    for (int l = 0; l < 8; l++)
        sum += lanes[l];
    const __m512 inv = _mm512_set1_ps((float)(1.0 / sum));
    for (int j = 0; j < full; j += 16)
        _mm512_storeu_ps(y + j, _mm512_mul_ps(_mm512_loadu_ps(y + j), inv));
    if (tail)
        _mm512_mask_storeu_ps(y + full, tail,
                              _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, y + full), inv));
}
#endif /* CAM_VMATH_X86 */

/* ---- erf ------------------------------------------------------------------ */

typedef struct erf_job {
    size_t n;
    const float *x;
    float *y;
    int avx512;
} erf_job;

static void erf_item(void *arg, int item)
{
    const erf_job *j = arg;
    const size_t i0 = (size_t)item * ERF_ITEM;
    const size_t len = j->n - i0 < ERF_ITEM ? j->n - i0 : ERF_ITEM;
#ifdef CAM_VMATH_X86
    if (j->avx512) {
        erf_avx512(len, j->x + i0, j->y + i0);
        return;
    }
#endif
    for (size_t i = i0; i < i0 + len; i++)
        j->y[i] = erff(j->x[i]);
}

void cam_erf_forward(size_t n, const float *x, float *y)
{
    erf_job j = {n, x, y, cam_cpu_avx512()};
    const size_t items = (n + ERF_ITEM - 1) / ERF_ITEM;
    if (items == 1)
        erf_item(&j, 0);
    else if (items > 1)
        cam_parallel_for((int)items, erf_item, &j);
}

/* ---- softmax over the last axis --------------------------------------------- */

typedef struct softmax_job {
    int n, k, rows; /* rows per item */
    const float *x;
    float *y;
    int avx512;
} softmax_job;

static void softmax_item(void *arg, int item)
{
    const softmax_job *j = arg;
    const int r0 = item * j->rows;
    const int rows = j->n - r0 < j->rows ? j->n - r0 : j->rows;
    const size_t off = (size_t)r0 * j->k;
#ifdef CAM_VMATH_X86
    if (j->avx512) {
        for (int r = 0; r < rows; r++)
            softmax_row_avx512(j->k, j->x + off + (size_t)r * j->k, j->y + off + (size_t)r * j->k);
        return;
    }
#endif
    cam_softmax_forward(rows, j->k, j->x + off, j->y + off);
}

void cam_softmax_rows_forward(int n, int k, const float *x, float *y)
{
    if (n <= 0 || k <= 0)
        return;
    int rows = SOFTMAX_ITEM / k;
    if (rows < 1)
        rows = 1;
    softmax_job j = {n, k, rows, x, y, cam_cpu_avx512()};
    const int items = (n + rows - 1) / rows;
    if (items == 1)
        softmax_item(&j, 0);
    else
        cam_parallel_for(items, softmax_item, &j);
}
