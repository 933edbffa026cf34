//! AVX2 dot products of the K-quant weight types (Q4_K, Q5_K, Q6_K) with Q8_K
//! activations, for `R` activation rows at once: each 256-element super-block is
//! unpacked (scales, mins, 4/5/6-bit values) once and multiplied with every row's block.
//!
//! Values stay unsigned for `maddubs`; sub-block scales are applied in 16-bit `madd`s,
//! and the mins (Q4_K/Q5_K) and the −32 offset (Q6_K) go through the activations'
//! per-16 sums, so they cost one `madd` per super-block and row.
//!
//! Each super-block ends with exact integer totals per output, turned into floats as
//! the scalar reference does (`avx2_k_totals`): these kernels, the interleaved prefill
//! (`avx2_k_octets`) and `blocks.rs` give the same bits.

use std::arch::x86_64::*;

use super::activations::Q8K;
use super::avx2_k_totals::{rows, Sums, SuperBlock};
use super::avx2_small::f16_pair;
use super::blocks::{BlockQ4K, BlockQ5K, BlockQ6K, WeightBlock};

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn load(bytes: &[u8]) -> __m256i {
    assert!(bytes.len() >= 32);
    // SAFETY: the assert above keeps the 32-byte read inside `bytes`.
    unsafe { _mm256_loadu_si256(bytes.as_ptr().cast()) }
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn load_act(qs: &[i8]) -> __m256i {
    assert!(qs.len() >= 32);
    // SAFETY: the assert above keeps the 32-byte read inside `qs`.
    unsafe { _mm256_loadu_si256(qs.as_ptr().cast()) }
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn load_bsums(a: &Q8K) -> __m256i {
    // SAFETY: `bsums` is 16 i16s, exactly 32 bytes.
    unsafe { _mm256_loadu_si256(a.bsums.as_ptr().cast()) }
}

/// The 8 scales of a Q4_K/Q5_K block (bytes 0..8 of each 128-bit half, for
/// [`splat_scale`]) and its 8 mins as 16 i16 lanes (each min once
/// per 16-element half of its sub-block, to pair with `bsums`). The 6-bit fields are
/// unpacked four at a time in 32-bit words (the same bits as `blocks::scale_min_k4`):
/// one by one they cost about 7% of the one-row kernel (callgrind, Q4_K 4864×896:
/// 16.5 → 15.3 instructions per 32 multiply-adds).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn scales_mins(packed: &[u8; 12]) -> (__m256i, __m256i) {
    const LOW6: u32 = 0x3f3f_3f3f;
    const LOW4: u32 = 0x0f0f_0f0f;
    const LOW2: u32 = 0x0303_0303;
    let word = |i: usize| {
        u32::from_le_bytes([
            packed[4 * i],
            packed[4 * i + 1],
            packed[4 * i + 2],
            packed[4 * i + 3],
        ])
    };
    let (w0, w1, w2) = (word(0), word(1), word(2));
    // Sub-blocks 0..4 keep their low 6 bits in bytes 0..8; sub-blocks 4..8 take 4 bits
    // from bytes 8..12 and their top 2 bits from the top of bytes 0..8.
    let scales_lo = w0 & LOW6;
    let scales_hi = (w2 & LOW4) | (((w0 >> 6) & LOW2) << 4);
    let mins_lo = w1 & LOW6;
    let mins_hi = ((w2 >> 4) & LOW4) | (((w1 >> 6) & LOW2) << 4);
    let scales = (scales_hi as u64) << 32 | scales_lo as u64;
    let scales = _mm256_broadcastsi128_si256(_mm_cvtsi64_si128(scales as i64));
    let mins = (mins_hi as u64) << 32 | mins_lo as u64;
    let mins = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(mins as i64));
    let pairs = _mm256_set_m128i(
        _mm_unpackhi_epi16(mins, mins),
        _mm_unpacklo_epi16(mins, mins),
    );
    (scales, pairs)
}

/// `vpshufb` masks: mask `j` puts byte `j`, zero-extended, in every 16-bit lane.
const SPLAT_MASKS: [[i8; 32]; 8] = {
    let mut masks = [[-128i8; 32]; 8];
    let mut j = 0;
    while j < 8 {
        let mut lane = 0;
        while lane < 16 {
            masks[j][2 * lane] = j as i8;
            lane += 1;
        }
        j += 1;
    }
    masks
};

/// Scale `j` of the 8 in bytes 0..8 of each 128-bit half of `scales`, in all 16 lanes:
/// one shuffle, where `_mm256_set1_epi16` from a byte took three instructions.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn splat_scale(scales: __m256i, j: usize) -> __m256i {
    // SAFETY: each mask is exactly 32 bytes.
    let mask = unsafe { _mm256_loadu_si256(SPLAT_MASKS[j].as_ptr().cast()) };
    _mm256_shuffle_epi8(scales, mask)
}

/// `Σ_j scale_j · Σ q·a` for one 64-element chunk: `lo`/`hi` hold sub-blocks `2c`, `2c+1`.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn chunk_sum(lo: __m256i, hi: __m256i, s_lo: __m256i, s_hi: __m256i, a: &[i8]) -> __m256i {
    let p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load_act(&a[..32])), s_lo);
    let p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load_act(&a[32..64])), s_hi);
    _mm256_add_epi32(p_lo, p_hi)
}

/// What Q4_K and Q5_K share: `d` and `dmin` first, scales and mins packed alike, 4 low
/// bits per value in `qs`, and for Q5_K a fifth bit in `qh`.
pub(super) trait K4Block: WeightBlock {
    fn scales(&self) -> &[u8; 12];
    fn qs(&self) -> &[u8; 128];
    fn qh(&self) -> Option<&[u8; 32]>;
}

impl K4Block for BlockQ4K {
    fn scales(&self) -> &[u8; 12] {
        &self.scales
    }
    fn qs(&self) -> &[u8; 128] {
        &self.qs
    }
    fn qh(&self) -> Option<&[u8; 32]> {
        None
    }
}

impl K4Block for BlockQ5K {
    fn scales(&self) -> &[u8; 12] {
        &self.scales
    }
    fn qs(&self) -> &[u8; 128] {
        &self.qs
    }
    fn qh(&self) -> Option<&[u8; 32]> {
        Some(&self.qh)
    }
}

/// The values of a Q4_K/Q5_K block's 64-element chunk `c` (of 4): sub-block `2c` in
/// `lo`, `2c + 1` in `hi`, each in element order, unsigned.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn k4_chunk<B: K4Block>(b: &B, c: usize) -> (__m256i, __m256i) {
    let mask = _mm256_set1_epi8(0x0F);
    let x = load(&b.qs()[32 * c..]);
    let mut lo = _mm256_and_si256(x, mask);
    let mut hi = _mm256_and_si256(_mm256_srli_epi16::<4>(x), mask);
    if let Some(qh) = b.qh() {
        // Bit 2c of qh[l] is bit 4 of sub-block 2c's element l; bit 2c+1 of 2c+1's.
        let high = load(qh);
        let sixteen = _mm256_set1_epi8(0x10);
        let bit_lo = _mm256_set1_epi8(1 << (2 * c));
        let bit_hi = _mm256_set1_epi8(1 << (2 * c + 1));
        let h_lo = _mm256_cmpeq_epi8(_mm256_and_si256(high, bit_lo), bit_lo);
        let h_hi = _mm256_cmpeq_epi8(_mm256_and_si256(high, bit_hi), bit_hi);
        lo = _mm256_or_si256(lo, _mm256_and_si256(h_lo, sixteen));
        hi = _mm256_or_si256(hi, _mm256_and_si256(h_hi, sixteen));
    }
    (lo, hi)
}

/// One Q4_K/Q5_K super-block with `R` activation blocks: per row, lanes that sum to
/// `Σ_j scale_j · Σ q·a` and to `Σ_j min_j · bsums`.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn k4_sums<B: K4Block, const R: usize>(b: &B, blocks: &[&Q8K; R]) -> Sums<R> {
    let (scales, mins) = scales_mins(b.scales());
    let mut sumi = [_mm256_setzero_si256(); R];
    for c in 0..4 {
        let (lo, hi) = k4_chunk(b, c);
        let s_lo = splat_scale(scales, 2 * c);
        let s_hi = splat_scale(scales, 2 * c + 1);
        for r in 0..R {
            let part = chunk_sum(lo, hi, s_lo, s_hi, &blocks[r].qs[64 * c..]);
            sumi[r] = _mm256_add_epi32(sumi[r], part);
        }
    }
    let min_sums = blocks.map(|a| _mm256_madd_epi16(load_bsums(a), mins));
    (sumi, min_sums)
}

macro_rules! k4_super_block {
    ($($block:ty),*) => {$(
        impl SuperBlock for $block {
            #[target_feature(enable = "avx2,fma,f16c")]
            #[inline]
            unsafe fn sums<const R: usize>(&self, blocks: &[&Q8K; R]) -> Sums<R> {
                k4_sums(self, blocks)
            }
            #[target_feature(enable = "avx2,fma,f16c")]
            #[inline]
            unsafe fn weights(&self) -> __m128 {
                f16_pair(self, 0)
            }
        }
    )*};
}
k4_super_block!(BlockQ4K, BlockQ5K);

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q4k<const R: usize>(w: &[BlockQ4K], acts: [&[Q8K]; R]) -> [f32; R] {
    // SAFETY: this function's target features are the ones `rows` needs.
    unsafe { rows(w, acts) }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q5k<const R: usize>(w: &[BlockQ5K], acts: [&[Q8K]; R]) -> [f32; R] {
    // SAFETY: this function's target features are the ones `rows` needs.
    unsafe { rows(w, acts) }
}

/// `vpshufb` masks for Q6_K: mask `t` puts signed byte `2t` into the high byte of every
/// 16-bit lane of the low half and byte `2t + 1` into those of the high half.
const PAIR_MASKS: [[i8; 32]; 8] = {
    let mut masks = [[-128i8; 32]; 8];
    let mut t = 0;
    while t < 8 {
        let mut lane = 0;
        while lane < 8 {
            masks[t][2 * lane + 1] = 2 * t as i8;
            masks[t][16 + 2 * lane + 1] = 2 * t as i8 + 1;
            lane += 1;
        }
        t += 1;
    }
    masks
};

/// Scales `g` (low 128-bit half) and `g + 1` (high half) as 16-bit lanes, `g` even,
/// from the block's 16 scales in both halves of `scales`: a shuffle and an arithmetic
/// shift (to sign-extend) where two broadcasts and an insert took seven instructions.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn scale_pair(scales: __m256i, g: usize) -> __m256i {
    // SAFETY: each mask is exactly 32 bytes.
    let mask = unsafe { _mm256_loadu_si256(PAIR_MASKS[g / 2].as_ptr().cast()) };
    _mm256_srai_epi16::<8>(_mm256_shuffle_epi8(scales, mask))
}

/// Adds one super-block's `d · (sumi − 2^shift · Σ_g scale_g · bsums_g)` for every
/// row: a type's constant offset (Q6_K's −32, Q3_K's −4) through the activations'
/// per-16 sums, with `scales` the 16 signed group scales in the low 128 bits.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn add_with_offset<const R: usize>(
    acc: &mut [__m256; R],
    sumi: &[__m256i; R],
    scales: __m128i,
    shift: i32,
    d: f32,
    blocks: &[&Q8K; R],
) {
    let scales16 = _mm256_cvtepi8_epi16(scales);
    for r in 0..R {
        let a = blocks[r];
        let offset = _mm256_madd_epi16(load_bsums(a), scales16);
        let offset = _mm256_sll_epi32(offset, _mm_cvtsi32_si128(shift));
        let total = _mm256_sub_epi32(sumi[r], offset);
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_set1_ps(d * a.d), acc[r]);
    }
}

/// The values of a Q6_K block's half `h` (of 2) in element order, unsigned (0..64):
/// elements `128h + 32t..128h + 32t + 32` in register `t`.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn q6k_half(b: &BlockQ6K, h: usize) -> [__m256i; 4] {
    let low4 = _mm256_set1_epi8(0x0F);
    let bits45 = _mm256_set1_epi8(0x30);
    let ql0 = load(&b.ql[64 * h..]);
    let ql1 = load(&b.ql[64 * h + 32..]);
    let qh = load(&b.qh[32 * h..]);
    // Bits 2t, 2t+1 of qh are bits 4, 5 of register t's values.
    [
        _mm256_or_si256(
            _mm256_and_si256(ql0, low4),
            _mm256_and_si256(_mm256_slli_epi16::<4>(qh), bits45),
        ),
        _mm256_or_si256(
            _mm256_and_si256(ql1, low4),
            _mm256_and_si256(_mm256_slli_epi16::<2>(qh), bits45),
        ),
        _mm256_or_si256(
            _mm256_and_si256(_mm256_srli_epi16::<4>(ql0), low4),
            _mm256_and_si256(qh, bits45),
        ),
        _mm256_or_si256(
            _mm256_and_si256(_mm256_srli_epi16::<4>(ql1), low4),
            _mm256_and_si256(_mm256_srli_epi16::<2>(qh), bits45),
        ),
    ]
}

impl SuperBlock for BlockQ6K {
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn sums<const R: usize>(&self, blocks: &[&Q8K; R]) -> Sums<R> {
        // SAFETY: `scales` is 16 i8s, exactly 16 bytes.
        let scales = unsafe { _mm_loadu_si128(self.scales.as_ptr().cast()) };
        let mut sumi = [_mm256_setzero_si256(); R];
        for h in 0..2 {
            for (t, q) in q6k_half(self, h).into_iter().enumerate() {
                let scale = scale_pair(_mm256_broadcastsi128_si256(scales), 8 * h + 2 * t);
                for r in 0..R {
                    let a = load_act(&blocks[r].qs[128 * h + 32 * t..]);
                    let part = _mm256_madd_epi16(_mm256_maddubs_epi16(q, a), scale);
                    sumi[r] = _mm256_add_epi32(sumi[r], part);
                }
            }
        }
        // The −32 offset's share, Σ_g scale_g · bsums_g (times 32 in `finish`).
        let scales16 = _mm256_cvtepi8_epi16(scales);
        (
            sumi,
            blocks.map(|a| _mm256_madd_epi16(load_bsums(a), scales16)),
        )
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn weights(&self) -> __m128 {
        // `d` is the block's last two bytes: lane 1 of the pair before it.
        let pair = f16_pair(self, std::mem::size_of::<BlockQ6K>() - 4);
        _mm_move_ss(_mm_setzero_ps(), _mm_movehdup_ps(pair))
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q6k<const R: usize>(w: &[BlockQ6K], acts: [&[Q8K]; R]) -> [f32; R] {
    // SAFETY: this function's target features are the ones `rows` needs.
    unsafe { rows(w, acts) }
}
