//! AVX2 dot products of the non-linear 4-bit types (IQ4_NL with Q8 activation blocks,
//! IQ4_XS with Q8_K), for `R` activation rows at once. A `vpshufb` over the 16-entry
//! value table turns 32 indices into 32 signed weights, which then multiply as Q8_0's
//! do: `maddubs` takes unsigned × signed, so the weights' signs move onto the
//! activations.

use std::arch::x86_64::*;

use super::activations::{Q8Block, Q8K};
use super::avx2_kquants::{load, load_act};
use super::avx2_small::{f16_pair, hsum, nibbles};
use super::blocks_iq4::{iq4xs_scale, BlockIQ4NL, BlockIQ4XS, IQ4_VALUES};

/// The value table in both 128-bit halves, for `vpshufb`.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn value_table() -> __m256i {
    // SAFETY: the table is exactly 16 bytes.
    let table = unsafe { _mm_loadu_si128(IQ4_VALUES.as_ptr().cast()) };
    _mm256_broadcastsi128_si256(table)
}

/// The 32 weights of one 32-element block's indices, in element order.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn block_values(table: __m256i, qs: &[u8; 16]) -> __m256i {
    _mm256_shuffle_epi8(table, nibbles(qs))
}

/// `Σ w·a` in eight i32 lanes' pairs of i16 (signed weights `w`, signed activations `a`).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn signed_products(w: __m256i, a: __m256i) -> __m256i {
    _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w))
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn iq4_nl<const R: usize>(w: &[BlockIQ4NL], acts: [&[Q8Block]; R]) -> [f32; R] {
    assert!(acts.iter().all(|a| a.len() >= w.len()));
    let table = value_table();
    let ones = _mm256_set1_epi16(1);
    let mut vec = [_mm256_setzero_ps(); R];
    for (i, b) in w.iter().enumerate() {
        let q = block_values(table, &b.qs);
        let d = _mm256_broadcastss_ps(f16_pair(b, 0));
        for r in 0..R {
            // SAFETY: the assert above makes every row at least as long as `w`.
            let a = unsafe { acts[r].get_unchecked(i) };
            let products = _mm256_madd_epi16(signed_products(q, load_act(&a.qs)), ones);
            let scaled = _mm256_mul_ps(_mm256_cvtepi32_ps(products), _mm256_broadcast_ss(&a.d));
            vec[r] = _mm256_fmadd_ps(scaled, d, vec[r]);
        }
    }
    std::array::from_fn(|r| hsum(vec[r]))
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn iq4_xs<const R: usize>(w: &[BlockIQ4XS], acts: [&[Q8K]; R]) -> [f32; R] {
    let table = value_table();
    let low4 = _mm256_set1_epi8(0x0F);
    let mut acc = [_mm256_setzero_ps(); R];
    for (i, b) in w.iter().enumerate() {
        let blocks: [&Q8K; R] = std::array::from_fn(|r| &acts[r][i]);
        let mut sumi = [_mm256_setzero_si256(); R];
        // 32 bytes of indices hold blocks 2p and 2p + 1 (16 bytes each): their low
        // nibbles are elements 0..16 of each, the high nibbles elements 16..32.
        for p in 0..4 {
            let x = load(&b.qs[32 * p..]);
            let lo = _mm256_shuffle_epi8(table, _mm256_and_si256(x, low4));
            let hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16::<4>(x), low4));
            let pair = [
                _mm256_permute2x128_si256::<0x20>(lo, hi),
                _mm256_permute2x128_si256::<0x31>(lo, hi),
            ];
            for (k, q) in pair.into_iter().enumerate() {
                let block = 2 * p + k;
                let scale = _mm256_set1_epi16(iq4xs_scale(b, block) as i16);
                for r in 0..R {
                    let a = load_act(&blocks[r].qs[32 * block..]);
                    let part = _mm256_madd_epi16(signed_products(q, a), scale);
                    sumi[r] = _mm256_add_epi32(sumi[r], part);
                }
            }
        }
        let d = _mm_cvtss_f32(f16_pair(b, 0));
        for r in 0..R {
            let scale = _mm256_set1_ps(d * blocks[r].d);
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[r]), scale, acc[r]);
        }
    }
    std::array::from_fn(|r| hsum(acc[r]))
}
