/*
 * cam-simd.h -- small inline SIMD helpers shared by the kernel files (x86-64 with
 * GCC or Clang only; each function carries its own target attribute, so a file
 * calls it only on the path that checked the CPU: cam_cpu_avx512(), cam_cpu_avx2()).
 */
#ifndef CAM_SIMD_H
#define CAM_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* The fused activation of a convolution, as cam_relu_max_forward: relu_max == 0:
 * ReLU (!(v <= 0) keeps v > 0 and NaN, -0 gives +0); relu_max > 0: Clip(v, 0,
 * relu_max) (v < 0 gives +0, -0 and NaN stay). */
__attribute__((target("avx512f"))) static inline __m512 cam_relu_max16(__m512 v, float relu_max)
{
    const __m512 zero = _mm512_setzero_ps();
    if (!(relu_max > 0.0f))
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, zero, _CMP_NLE_UQ), v);
    const __m512 hi = _mm512_set1_ps(relu_max);
    v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), zero);
    return _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, hi, _CMP_GT_OQ), hi);
}

/* The same on 8 lanes with AVX. */
__attribute__((target("avx2,fma"))) static inline __m256 cam_relu_max8(__m256 v, float relu_max)
{
    const __m256 zero = _mm256_setzero_ps();
    if (!(relu_max > 0.0f))
        return _mm256_and_ps(v, _mm256_cmp_ps(v, zero, _CMP_NLE_UQ));
    const __m256 hi = _mm256_set1_ps(relu_max);
    v = _mm256_andnot_ps(_mm256_cmp_ps(v, zero, _CMP_LT_OQ), v);
    return _mm256_blendv_ps(v, hi, _mm256_cmp_ps(v, hi, _CMP_GT_OQ));
}
#endif

#endif /* CAM_SIMD_H */
