//! AVX2 dot products of the 32-element weight types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0)
//! with Q8 activation blocks, for `R` activation rows at once: each weight block is
//! decoded into 32 bytes once and multiplied with every row's block. On AVX2-only CPUs
//! `avx2_lanes` runs these types instead (its rounding does not depend on the row
//! count); these kernels serve the AVX-512 path's rows, and their helpers the others.
//!
//! The 4- and 5-bit values stay unsigned (`maddubs` takes unsigned × signed bytes) and
//! the types' offsets (−8, −16) or mins are applied once per block through the
//! activations' block sums, instead of sign-flipping every byte.

use std::arch::x86_64::*;

pub(super) use crate::engine::kernels::simd::hsum;

use super::activations::Q8Block;
use super::blocks::{BlockQ4_0, BlockQ4_1, BlockQ5_0, BlockQ5_1, BlockQ8_0, WeightBlock};

/// Two f16 values of a weight block as f32: bytes `at..at + 2` in lane 0 and
/// `at + 2..at + 4` in lane 1 (a scale and a neighbour, which may be anything).
///
/// They are read as one 32-bit word on purpose. A 2-byte scale alone becomes `vpinsrw`
/// into whatever register LLVM deems free, often a live accumulator, which chained every
/// block to the previous block's FMA: Q8_0 and Q5_0 at one row ran at about 15–20 cycles
/// per block. A 32-bit `vmovd` load clears the rest of the register and breaks the chain.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn f16_pair<W: WeightBlock>(block: &W, at: usize) -> __m128 {
    assert!(at + 4 <= std::mem::size_of::<W>());
    // SAFETY: the 4 bytes lie inside the block (assert above), and a weight block is
    // `repr(C)` of byte arrays only: no padding, every byte initialised, alignment 1.
    let word = unsafe {
        std::ptr::from_ref(block)
            .cast::<u8>()
            .add(at)
            .cast::<i32>()
            .read_unaligned()
    };
    _mm_cvtph_ps(_mm_cvtsi32_si128(word))
}

/// Lane 1 of [`f16_pair`]'s result.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn lane1(pair: __m128) -> f32 {
    _mm_cvtss_f32(_mm_movehdup_ps(pair))
}

/// 16 bytes of nibbles as 32 bytes: element `j` from byte `j`'s low nibble, `j + 16`
/// from its high nibble.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn nibbles(qs: &[u8; 16]) -> __m256i {
    // SAFETY: reads exactly the 16 bytes of `qs`.
    let x = unsafe { _mm_loadu_si128(qs.as_ptr().cast()) };
    let mask = _mm_set1_epi8(0x0F);
    let lo = _mm_and_si128(x, mask);
    let hi = _mm_and_si128(_mm_srli_epi16::<4>(x), mask);
    _mm256_set_m128i(hi, lo)
}

/// Bit `j` of `qh` as bit 4 of byte `j`.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn fifth_bits(qh: [u8; 4]) -> __m256i {
    let all = _mm256_set1_epi32(i32::from_le_bytes(qh));
    // Byte j takes byte j / 8 of `qh` (each 128-bit lane holds a copy of all four).
    let spread = _mm256_setr_epi8(
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3,
        3, 3,
    );
    let bytes = _mm256_shuffle_epi8(all, spread);
    let bit = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
    let set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
    _mm256_and_si256(set, _mm256_set1_epi8(0x10))
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn load(qs: &[i8; 32]) -> __m256i {
    // SAFETY: reads exactly the 32 bytes of `qs`.
    unsafe { _mm256_loadu_si256(qs.as_ptr().cast()) }
}

/// The R running sums: a vector part and a scalar part for the per-block offsets.
struct Sums<const R: usize> {
    vec: [__m256; R],
    scalar: [f32; R],
}

impl<const R: usize> Sums<R> {
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn new() -> Self {
        Sums {
            vec: [_mm256_setzero_ps(); R],
            scalar: [0.0; R],
        }
    }

    /// Adds `Σ (d·q_j + offset) · a_j` for unsigned `q` over every row's block, with `d`
    /// in lane 0 of `scale` (from [`f16_pair`]).
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn add_unsigned(&mut self, q: __m256i, scale: __m128, offset: f32, acts: &[&Q8Block; R]) {
        let ones = _mm256_set1_epi16(1);
        let d = _mm256_broadcastss_ps(scale);
        for r in 0..R {
            let a = acts[r];
            let products = _mm256_madd_epi16(_mm256_maddubs_epi16(q, load(&a.qs)), ones);
            // (products · d_a) · d_w: a broadcast load and two float ops per row.
            let scaled = _mm256_mul_ps(_mm256_cvtepi32_ps(products), _mm256_broadcast_ss(&a.d));
            self.vec[r] = _mm256_fmadd_ps(scaled, d, self.vec[r]);
            self.scalar[r] = offset.mul_add(a.dsum, self.scalar[r]);
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn finish(&self) -> [f32; R] {
        std::array::from_fn(|r| hsum(self.vec[r]) + self.scalar[r])
    }
}

/// Every row's block `i`; [`check_rows`] must have passed for these `acts`.
#[inline(always)]
fn blocks_at<'a, const R: usize>(acts: &[&'a [Q8Block]; R], i: usize) -> [&'a Q8Block; R] {
    // SAFETY: `check_rows` made every row at least as long as the weight row, and `i`
    // indexes the weight row.
    std::array::from_fn(|r| unsafe { acts[r].get_unchecked(i) })
}

/// Every activation row has a block for each weight block (so the loops skip bounds checks).
#[inline(always)]
fn check_rows<W, const R: usize>(w: &[W], acts: &[&[Q8Block]; R]) {
    assert!(acts.iter().all(|a| a.len() >= w.len()));
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q4_0<const R: usize>(w: &[BlockQ4_0], acts: [&[Q8Block]; R]) -> [f32; R] {
    check_rows(w, &acts);
    let mut sums = Sums::<R>::new();
    for (i, b) in w.iter().enumerate() {
        let scale = f16_pair(b, 0);
        let offset = -8.0 * _mm_cvtss_f32(scale);
        sums.add_unsigned(nibbles(&b.qs), scale, offset, &blocks_at(&acts, i));
    }
    sums.finish()
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q4_1<const R: usize>(w: &[BlockQ4_1], acts: [&[Q8Block]; R]) -> [f32; R] {
    check_rows(w, &acts);
    let mut sums = Sums::<R>::new();
    for (i, b) in w.iter().enumerate() {
        let scales = f16_pair(b, 0);
        sums.add_unsigned(nibbles(&b.qs), scales, lane1(scales), &blocks_at(&acts, i));
    }
    sums.finish()
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q5_0<const R: usize>(w: &[BlockQ5_0], acts: [&[Q8Block]; R]) -> [f32; R] {
    check_rows(w, &acts);
    let mut sums = Sums::<R>::new();
    for (i, b) in w.iter().enumerate() {
        let scale = f16_pair(b, 0);
        let offset = -16.0 * _mm_cvtss_f32(scale);
        let q = _mm256_or_si256(nibbles(&b.qs), fifth_bits(b.qh));
        sums.add_unsigned(q, scale, offset, &blocks_at(&acts, i));
    }
    sums.finish()
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q5_1<const R: usize>(w: &[BlockQ5_1], acts: [&[Q8Block]; R]) -> [f32; R] {
    check_rows(w, &acts);
    let mut sums = Sums::<R>::new();
    for (i, b) in w.iter().enumerate() {
        let scales = f16_pair(b, 0);
        let q = _mm256_or_si256(nibbles(&b.qs), fifth_bits(b.qh));
        sums.add_unsigned(q, scales, lane1(scales), &blocks_at(&acts, i));
    }
    sums.finish()
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q8_0<const R: usize>(w: &[BlockQ8_0], acts: [&[Q8Block]; R]) -> [f32; R] {
    check_rows(w, &acts);
    let mut vec = [_mm256_setzero_ps(); R];
    let ones = _mm256_set1_epi16(1);
    for (i, b) in w.iter().enumerate() {
        let q = load(&b.qs);
        // maddubs multiplies unsigned by signed: move the weights' signs onto the activations.
        let magnitude = _mm256_sign_epi8(q, q);
        let d = _mm256_broadcastss_ps(f16_pair(b, 0));
        for (r, a) in blocks_at(&acts, i).into_iter().enumerate() {
            let signed = _mm256_sign_epi8(load(&a.qs), q);
            let products = _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, signed), ones);
            let scaled = _mm256_mul_ps(_mm256_cvtepi32_ps(products), _mm256_broadcast_ss(&a.d));
            vec[r] = _mm256_fmadd_ps(scaled, d, vec[r]);
        }
    }
    std::array::from_fn(|r| hsum(vec[r]))
}

/// [`q8_0`] for two weight rows and one activation row: two accumulator chains, and
/// each activation block (its sign-moved bytes aside) loaded once for both rows.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q8_0_pair(w: [&[BlockQ8_0]; 2], act: &[Q8Block]) -> [f32; 2] {
    assert!(w[1].len() == w[0].len() && act.len() >= w[0].len());
    let mut vec = [_mm256_setzero_ps(); 2];
    let ones = _mm256_set1_epi16(1);
    for (i, a) in act[..w[0].len()].iter().enumerate() {
        let qa = load(&a.qs);
        let da = _mm256_broadcast_ss(&a.d);
        for r in 0..2 {
            // SAFETY: both weight rows hold `w[0].len()` blocks (assert above).
            let b = unsafe { w[r].get_unchecked(i) };
            let q = load(&b.qs);
            let magnitude = _mm256_sign_epi8(q, q);
            let signed = _mm256_sign_epi8(qa, q);
            let products = _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, signed), ones);
            // The same operations in the same order as `q8_0`, so a row's value does
            // not depend on whether it was paired (which depends on the task split).
            let scaled = _mm256_mul_ps(_mm256_cvtepi32_ps(products), da);
            let d = _mm256_broadcastss_ps(f16_pair(b, 0));
            vec[r] = _mm256_fmadd_ps(scaled, d, vec[r]);
        }
    }
    [hsum(vec[0]), hsum(vec[1])]
}
