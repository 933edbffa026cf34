//! AVX2 dot products of the K-quant weight types (Q4_K, Q5_K, Q6_K) with Q8_K
//! activations, for `R` activation rows at once: each 256-element super-block is
//! unpacked (scales, mins, 4/5/6-bit values) once and multiplied with every row's block.
//!
//! Values stay unsigned for `maddubs`; sub-block scales are applied in 16-bit `madd`s,
//! and the mins (Q4_K/Q5_K) and the −32 offset (Q6_K) go through the activations'
//! per-16 sums, so they cost one `madd` per super-block and row.
//!
//! Each super-block ends with exact integer totals per output, turned into floats by
//! [`Finish`] as the scalar reference does: these kernels, the interleaved prefill
//! (`avx2_k_octets`) and `blocks.rs` give the same bits. That costs a horizontal
//! integer sum per super-block and row where the float sums used to be reduced once
//! per row.

use std::arch::x86_64::*;

use super::activations::Q8K;
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

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn k4<B: K4Block + Finish, const R: usize>(w: &[B], acts: [&[Q8K]; R]) -> [f32; R] {
    let mut acc = [_mm_set1_ps(-0.0); 2];
    for (i, b) in w.iter().enumerate() {
        let blocks: [&Q8K; R] = std::array::from_fn(|r| &acts[r][i]);
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
        let d_dmin = f16_pair(b, 0);
        let weights = (_mm_broadcastss_ps(d_dmin), _mm_permute_ps::<0b01_01_01_01>(d_dmin));
        add_shares::<B, R>(&mut acc, &sumi, &min_sums, weights, &blocks);
    }
    rows_of(acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q4k<const R: usize>(w: &[BlockQ4K], acts: [&[Q8K]; R]) -> [f32; R] {
    k4(w, acts)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q5k<const R: usize>(w: &[BlockQ5K], acts: [&[Q8K]; R]) -> [f32; R] {
    k4(w, acts)
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

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q6k<const R: usize>(w: &[BlockQ6K], acts: [&[Q8K]; R]) -> [f32; R] {
    let mut acc = [_mm_set1_ps(-0.0); 2];
    for (i, b) in w.iter().enumerate() {
        let blocks: [&Q8K; R] = std::array::from_fn(|r| &acts[r][i]);
        // SAFETY: `scales` is 16 i8s, exactly 16 bytes.
        let scales = unsafe { _mm_loadu_si128(b.scales.as_ptr().cast()) };
        let mut sumi = [_mm256_setzero_si256(); R];
        for h in 0..2 {
            for (t, q) in q6k_half(b, h).into_iter().enumerate() {
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
        let offsets = blocks.map(|a| _mm256_madd_epi16(load_bsums(a), scales16));
        let d = f16_pair(b, std::mem::size_of::<BlockQ6K>() - 4);
        let weights = (_mm_permute_ps::<0b01_01_01_01>(d), _mm_setzero_ps());
        add_shares::<BlockQ6K, R>(&mut acc, &sumi, &offsets, weights, &blocks);
    }
    rows_of(acc)
}

/// The float steps that turn a K-quant super-block's exact integer totals into its
/// share of a dot product, in the scalar reference's order (`blocks.rs`: Q4_K/Q5_K
/// `d_a · (d · T − dmin · O)`, Q6_K `(d · d_a) · (T − 32 · O)`), one lane per output.
/// The row kernels here and the interleaved ones (`avx2_k_octets`) both end a
/// super-block with it and add the result to an accumulator that starts at −0.0 as
/// `Iterator::sum` does, so all three give the same bits: a row's value cannot depend
/// on how many rows share the product. Four lanes, not eight: on Zen 1 a 256-bit op
/// costs two, and decode needs one lane.
pub(super) trait Finish {
    /// `t`: the scaled sum of values times activations; `o`: the mins (Q4_K/Q5_K) or
    /// scales (Q6_K) times the activations' sums; `weights`: `d` and `dmin` (Q6_K has
    /// none); `act`: the activations' scales.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    unsafe fn finish(t: __m128i, o: __m128i, weights: (__m128, __m128), act: __m128) -> __m128;
}

macro_rules! finish_k4 {
    ($($block:ty),*) => {$(
        impl Finish for $block {
            #[target_feature(enable = "avx2,fma,f16c")]
            #[inline]
            unsafe fn finish(t: __m128i, o: __m128i, (d, dmin): (__m128, __m128), act: __m128) -> __m128 {
                let scaled = _mm_mul_ps(d, _mm_cvtepi32_ps(t));
                let mins = _mm_mul_ps(dmin, _mm_cvtepi32_ps(o));
                _mm_mul_ps(act, _mm_sub_ps(scaled, mins))
            }
        }
    )*};
}
finish_k4!(BlockQ4K, BlockQ5K);

impl Finish for BlockQ6K {
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn finish(t: __m128i, o: __m128i, (d, _): (__m128, __m128), act: __m128) -> __m128 {
        let total = _mm_sub_epi32(t, _mm_slli_epi32::<5>(o));
        _mm_mul_ps(_mm_mul_ps(d, act), _mm_cvtepi32_ps(total))
    }
}

/// Ends a super-block of the row kernels: `T` and `O` from the lanes of `t` and `o`
/// per activation row, and their shares added to `acc` (row `r` in lane `r % 4` of
/// `acc[r / 4]`).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn add_shares<B: Finish, const R: usize>(
    acc: &mut [__m128; 2],
    t: &[__m256i; R],
    o: &[__m256i; R],
    weights: (__m128, __m128),
    blocks: &[&Q8K; R],
) {
    const { assert!(R <= 8) };
    let fold = |v: __m256i| _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    if R == 1 {
        // [t t o o] → [T O T O]: one tree for both.
        let h = _mm_hadd_epi32(fold(t[0]), fold(o[0]));
        let s = _mm_hadd_epi32(h, h);
        let act = _mm_set_ss(blocks[0].d);
        // SAFETY: this function's target features are the ones `finish` needs.
        let share = unsafe { B::finish(s, _mm_shuffle_epi32::<0b01>(s), weights, act) };
        acc[0] = _mm_add_ps(acc[0], share);
        return;
    }
    for half in 0..R.div_ceil(4) {
        let rows = 4 * half..(4 * half + 4).min(R);
        let sums = |v: &[__m256i; R]| {
            let at = |r: usize| if rows.contains(&r) { fold(v[r]) } else { _mm_setzero_si128() };
            let (a, b) = (4 * half, 4 * half + 1);
            let h01 = _mm_hadd_epi32(at(a), at(b));
            let h23 = _mm_hadd_epi32(at(a + 2), at(a + 3));
            _mm_hadd_epi32(h01, h23)
        };
        let mut scales = [0f32; 4];
        for r in rows.clone() {
            scales[r - 4 * half] = blocks[r].d;
        }
        // SAFETY: `scales` is 4 f32s; the target features are the ones `finish` needs.
        let share = unsafe { B::finish(sums(t), sums(o), weights, _mm_loadu_ps(scales.as_ptr())) };
        acc[half] = _mm_add_ps(acc[half], share);
    }
}

/// Row `r`'s value from [`add_shares`]' accumulators.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn rows_of<const R: usize>(acc: [__m128; 2]) -> [f32; R] {
    let mut all = [0f32; 8];
    // SAFETY: `all` is 8 f32s.
    unsafe {
        _mm_storeu_ps(all.as_mut_ptr(), acc[0]);
        _mm_storeu_ps(all.as_mut_ptr().add(4), acc[1]);
    }
    std::array::from_fn(|r| all[r])
}
