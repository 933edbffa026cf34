//! AVX-512 (BW + VNNI) dot products of Q4_0, Q5_0 and Q8_0 with Q8 activation blocks
//! for prefill tiles, on CPUs that have them; [`super::avx2_small`] elsewhere.
//!
//! Two neighbouring weight rows share one register, a block of each in its 256-bit
//! halves, and each activation block is broadcast to both halves: one `vpdpbusd`
//! multiplies and sums 64 values where AVX2 takes `maddubs` and `madd` for 32, and each
//! activation block is loaded once for both rows. Each 32-bit lane sums the same four
//! products as the AVX2 kernel's, and every float step after that is the AVX2 kernel's
//! own, lane for lane, so both give the same bits.

use std::arch::x86_64::*;

use super::activations::Q8Block;
use super::avx2_small::{f16_pair, hsum};
use super::blocks::{BlockQ4_0, BlockQ5_0, BlockQ8_0};

/// Block `i` of both weight rows and of every activation row.
///
/// # Panics
/// If a row is shorter than the first weight row.
#[inline(always)]
fn blocks_at<'a, W, const R: usize>(
    w: [&'a [W]; 2],
    acts: &[&'a [Q8Block]; R],
    i: usize,
) -> ([&'a W; 2], [&'a Q8Block; R]) {
    (w.map(|row| &row[i]), std::array::from_fn(|r| &acts[r][i]))
}

/// The two blocks' f16 scales (lane 0 of each [`f16_pair`]) as f32: the first's in the
/// low eight lanes, the second's in the high eight.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
#[inline]
fn halves(scales: [__m128; 2]) -> __m512 {
    let [lo, hi] = scales.map(|s| _mm256_castps_pd(_mm256_broadcastss_ps(s)));
    _mm512_castpd_ps(_mm512_insertf64x4::<1>(_mm512_castpd256_pd512(lo), hi))
}

/// An activation block's 32 bytes in both halves.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
#[inline]
fn broadcast(a: &Q8Block) -> __m512i {
    // SAFETY: reads exactly the 32 bytes of `qs`.
    _mm512_broadcast_i64x4(unsafe { _mm256_loadu_si256(a.qs.as_ptr().cast()) })
}

/// The two rows' sums per activation row: lanes 0–7 for the first weight row, 8–15 for
/// the second, and each one's offset share in lanes 0 and 1 of `offsets`.
struct PairSums<const R: usize> {
    vec: [__m512; R],
    offsets: [__m128; R],
}

impl<const R: usize> PairSums<R> {
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
    #[inline]
    fn new() -> Self {
        PairSums {
            vec: [_mm512_setzero_ps(); R],
            offsets: [_mm_setzero_ps(); R],
        }
    }

    /// Adds row `r`'s block: `products` (32-bit sums of four) scaled by the activation's
    /// scale and then by the weights' `d`, as the AVX2 kernels do.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
    #[inline]
    fn add(&mut self, r: usize, products: __m512i, a: &Q8Block, d: __m512) {
        let scaled = _mm512_mul_ps(_mm512_cvtepi32_ps(products), _mm512_set1_ps(a.d));
        self.vec[r] = _mm512_fmadd_ps(scaled, d, self.vec[r]);
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
    #[inline]
    fn finish(&self) -> [[f32; R]; 2] {
        let half = |r: usize, h: usize| {
            let v = _mm512_castps_pd(self.vec[r]);
            let v = if h == 0 {
                _mm512_castpd512_pd256(v)
            } else {
                _mm512_extractf64x4_pd::<1>(v)
            };
            let offset = if h == 0 {
                _mm_cvtss_f32(self.offsets[r])
            } else {
                _mm_cvtss_f32(_mm_movehdup_ps(self.offsets[r]))
            };
            hsum(_mm256_castpd_ps(v)) + offset
        };
        [0, 1].map(|h| std::array::from_fn(|r| half(r, h)))
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
pub(super) fn q8_0<const R: usize>(w: [&[BlockQ8_0]; 2], acts: [&[Q8Block]; R]) -> [[f32; R]; 2] {
    assert!(w[1].len() == w[0].len());
    let mut sums = PairSums::<R>::new();
    for i in 0..w[0].len() {
        let ([b0, b1], blocks) = blocks_at(w, &acts, i);
        // SAFETY: reads exactly the 32 bytes of each block's `qs`.
        let q = unsafe {
            _mm512_inserti64x4::<1>(
                _mm512_castsi256_si512(_mm256_loadu_si256(b0.qs.as_ptr().cast())),
                _mm256_loadu_si256(b1.qs.as_ptr().cast()),
            )
        };
        // vpdpbusd multiplies unsigned by signed: move the weights' signs onto the
        // activations (AVX2's `sign` with a zero weight gives 0 where this keeps the
        // activation, but that weight's magnitude is 0 too).
        let negative = _mm512_movepi8_mask(q);
        let magnitude = _mm512_abs_epi8(q);
        let d = halves([f16_pair(b0, 0), f16_pair(b1, 0)]);
        for (r, a) in blocks.into_iter().enumerate() {
            let act = broadcast(a);
            let signed = _mm512_mask_sub_epi8(act, negative, _mm512_setzero_si512(), act);
            let products = _mm512_dpbusd_epi32(_mm512_setzero_si512(), magnitude, signed);
            sums.add(r, products, a, d);
        }
    }
    sums.finish()
}

/// Q4_0 and Q5_0: unsigned quants with an offset (−8, −16) applied through the
/// activations' block sums, as [`super::avx2_small`] does.
trait Offset32: super::blocks::WeightBlock {
    const OFFSET: f32;
    /// The two blocks' quants, unsigned: the first's 32 in the low half.
    fn quants(blocks: [&Self; 2]) -> __m512i;
}

/// Two blocks' 16 bytes of nibbles as 64 bytes: in each half, element `j` from byte
/// `j`'s low nibble and `j + 16` from its high nibble.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
#[inline]
fn nibbles(qs: [&[u8; 16]; 2]) -> __m512i {
    // SAFETY: reads exactly the 16 bytes of each `qs`.
    let [lo, hi] =
        qs.map(|q| unsafe { _mm256_broadcastsi128_si256(_mm_loadu_si128(q.as_ptr().cast())) });
    let both = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi);
    // 16-bit shifts per 128-bit quarter: 0, 4, 0, 4 (the low, then the high nibbles).
    let shifts = _mm512_setr_epi64(
        0,
        0,
        0x0004_0004_0004_0004,
        0x0004_0004_0004_0004,
        0,
        0,
        0x0004_0004_0004_0004,
        0x0004_0004_0004_0004,
    );
    _mm512_and_si512(_mm512_srlv_epi16(both, shifts), _mm512_set1_epi8(0x0F))
}

impl Offset32 for BlockQ4_0 {
    const OFFSET: f32 = -8.0;
    #[inline(always)]
    fn quants(blocks: [&Self; 2]) -> __m512i {
        // SAFETY: only called from kernels that checked the CPU features.
        unsafe { nibbles(blocks.map(|b| &b.qs)) }
    }
}

impl Offset32 for BlockQ5_0 {
    const OFFSET: f32 = -16.0;
    #[inline(always)]
    fn quants(blocks: [&Self; 2]) -> __m512i {
        // Bit j of a block's `qh` is bit 4 of its element j: byte j of the first
        // block's half, byte 32 + j of the second's.
        let fifth = u64::from(u32::from_le_bytes(blocks[0].qh))
            | u64::from(u32::from_le_bytes(blocks[1].qh)) << 32;
        // SAFETY: only called from kernels that checked the CPU features.
        unsafe {
            let q = nibbles(blocks.map(|b| &b.qs));
            _mm512_mask_add_epi8(q, fifth, q, _mm512_set1_epi8(0x10))
        }
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
#[inline]
fn offset32<B: Offset32, const R: usize>(w: [&[B]; 2], acts: [&[Q8Block]; R]) -> [[f32; R]; 2] {
    assert!(w[1].len() == w[0].len());
    let mut sums = PairSums::<R>::new();
    for i in 0..w[0].len() {
        let (pair, blocks) = blocks_at(w, &acts, i);
        let q = B::quants(pair);
        let scales = pair.map(|b| f16_pair(b, 0));
        let d = halves(scales);
        // The same product as AVX2's `offset * dsum` (a scalar multiply, then a fused
        // multiply-add per row), both rows at once.
        let [o0, o1] = scales.map(|s| B::OFFSET * _mm_cvtss_f32(s));
        let offsets = _mm_setr_ps(o0, o1, 0.0, 0.0);
        for (r, a) in blocks.into_iter().enumerate() {
            let products = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, broadcast(a));
            sums.add(r, products, a, d);
            sums.offsets[r] = _mm_fmadd_ps(offsets, _mm_set1_ps(a.dsum), sums.offsets[r]);
        }
    }
    sums.finish()
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
pub(super) fn q4_0<const R: usize>(w: [&[BlockQ4_0]; 2], acts: [&[Q8Block]; R]) -> [[f32; R]; 2] {
    offset32(w, acts)
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
pub(super) fn q5_0<const R: usize>(w: [&[BlockQ5_0]; 2], acts: [&[Q8Block]; R]) -> [[f32; R]; 2] {
    offset32(w, acts)
}
