//! AVX2 dot products of the 2- and 3-bit K-quants (Q2_K, Q3_K) with Q8_K activations,
//! for `R` activation rows at once, laid out as the Q6_K kernel is: each 32-byte
//! slice of a super-block's values covers two groups of 16 (one per 128-bit half),
//! so one `madd` with a pair of group scales applies both.
//!
//! Values stay unsigned for `maddubs` (Q3_K's 0..8, 4 above the signed values); Q2_K's
//! mins and Q3_K's offset of −4 go through the activations' per-16 sums, one `madd`
//! per super-block and row.

use std::arch::x86_64::*;

use super::activations::Q8K;
use super::avx2_kquants::{add_with_offset, load, load_act, load_bsums, scale_pair};
use super::avx2_small::{f16_pair, hsum, lane1};
use super::blocks_low_k::{q3k_scales, BlockQ2K, BlockQ3K};

/// The 2-bit fields at bits `2t..2t+2` of every byte of `qs` (elements `32t..32t+32`
/// of the 128 that `qs` holds).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn two_bits(qs: __m256i, t: usize) -> __m256i {
    let shifted = _mm256_srl_epi16(qs, _mm_cvtsi32_si128(2 * t as i32));
    _mm256_and_si256(shifted, _mm256_set1_epi8(3))
}

/// Adds `scale_g · Σ q·a` for the 32 values `q` at element `at` (groups `at / 16` and
/// `at / 16 + 1`) to every row's integer sum.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn add_slice<const R: usize>(
    sumi: &mut [__m256i; R],
    q: __m256i,
    scale: __m256i,
    blocks: &[&Q8K; R],
    at: usize,
) {
    for r in 0..R {
        let a = load_act(&blocks[r].qs[at..]);
        let part = _mm256_madd_epi16(_mm256_maddubs_epi16(q, a), scale);
        sumi[r] = _mm256_add_epi32(sumi[r], part);
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q2k<const R: usize>(w: &[BlockQ2K], acts: [&[Q8K]; R]) -> [f32; R] {
    let mut acc = [_mm256_setzero_ps(); R];
    let low4 = _mm_set1_epi8(0x0F);
    for (i, b) in w.iter().enumerate() {
        let blocks: [&Q8K; R] = std::array::from_fn(|r| &acts[r][i]);
        // SAFETY: `scales` is exactly 16 bytes.
        let packed = unsafe { _mm_loadu_si128(b.scales.as_ptr().cast()) };
        let scales = _mm256_broadcastsi128_si256(_mm_and_si128(packed, low4));
        let mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16::<4>(packed), low4));
        let mut sumi = [_mm256_setzero_si256(); R];
        for h in 0..2 {
            let qs = load(&b.qs[32 * h..]);
            for t in 0..4 {
                let scale = scale_pair(scales, 8 * h + 2 * t);
                add_slice(&mut sumi, two_bits(qs, t), scale, &blocks, 128 * h + 32 * t);
            }
        }
        let d_dmin = f16_pair(b, 80);
        let (d, dmin) = (_mm_cvtss_f32(d_dmin), lane1(d_dmin));
        for r in 0..R {
            let a = blocks[r];
            let min_sum = _mm256_madd_epi16(load_bsums(a), mins);
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[r]), _mm256_set1_ps(d * a.d), acc[r]);
            acc[r] = _mm256_fnmadd_ps(
                _mm256_cvtepi32_ps(min_sum),
                _mm256_set1_ps(dmin * a.d),
                acc[r],
            );
        }
    }
    std::array::from_fn(|r| hsum(acc[r]))
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q3k<const R: usize>(w: &[BlockQ3K], acts: [&[Q8K]; R]) -> [f32; R] {
    let mut acc = [_mm256_setzero_ps(); R];
    let four = _mm256_set1_epi8(4);
    for (i, b) in w.iter().enumerate() {
        let blocks: [&Q8K; R] = std::array::from_fn(|r| &acts[r][i]);
        let unpacked = q3k_scales(&b.scales);
        // SAFETY: `unpacked` is exactly 16 bytes.
        let scales128 = unsafe { _mm_loadu_si128(unpacked.as_ptr().cast()) };
        let scales = _mm256_broadcastsi128_si256(scales128);
        let hmask = load(&b.hmask);
        let mut sumi = [_mm256_setzero_si256(); R];
        for h in 0..2 {
            let qs = load(&b.qs[32 * h..]);
            for t in 0..4 {
                // Bit 4h + t of hmask[l] is the third bit of element 128h + 32t + l.
                let bit = _mm256_set1_epi8(1 << (4 * h + t));
                let set = _mm256_cmpeq_epi8(_mm256_and_si256(hmask, bit), bit);
                let q = _mm256_or_si256(two_bits(qs, t), _mm256_and_si256(set, four));
                let scale = scale_pair(scales, 8 * h + 2 * t);
                add_slice(&mut sumi, q, scale, &blocks, 128 * h + 32 * t);
            }
        }
        let d = lane1(f16_pair(b, std::mem::size_of::<BlockQ3K>() - 4));
        // The −4 offset: 2^2 · Σ_g scale_g · bsums_g.
        add_with_offset(&mut acc, &sumi, scales128, 2, d, &blocks);
    }
    std::array::from_fn(|r| hsum(acc[r]))
}
