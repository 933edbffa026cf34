//! x86-64 SIMD helpers that more than one kernel family uses.

use std::arch::x86_64::*;

/// The sum of a vector's 8 lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}
