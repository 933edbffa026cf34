//! AVX-512 (BW + VNNI) dot products of Q4_K and Q5_K with Q8_K activations, for CPUs
//! that have them (Zen 4/5, Ice Lake and later); [`super::avx2_kquants`] elsewhere.
//!
//! The same arithmetic as the AVX2 kernel, 64 values per instruction instead of 32:
//! one register holds a 64-value chunk (sub-blocks `2c` and `2c + 1`), `maddubs`
//! multiplies it with the activations, and `vpdpwssd` applies both sub-blocks' scales
//! and accumulates in one instruction where AVX2 takes two `madd`s and two adds. The
//! integer sums are exact, and the float steps after them are the AVX2 kernel's own
//! ([`super::avx2_kquants::add_k4`]), so both give the same bits.

use std::arch::x86_64::*;

use super::activations::Q8K;
use super::avx2_kquants::{add_k4, scales_mins, K4Block};
use super::avx2_small::{f16_pair, hsum, lane1};

/// `vpshufb` masks: mask `c` puts scale byte `2c`, zero-extended, in every 16-bit lane
/// of the low 256 bits and byte `2c + 1` in those of the high 256 bits.
const CHUNK_SCALE_MASKS: [[i8; 64]; 4] = {
    let mut masks = [[-128i8; 64]; 4];
    let mut c = 0;
    while c < 4 {
        let mut lane = 0;
        while lane < 32 {
            masks[c][2 * lane] = if lane < 16 {
                2 * c as i8
            } else {
                2 * c as i8 + 1
            };
            lane += 1;
        }
        c += 1;
    }
    masks
};

#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
#[inline]
fn load_act64(qs: &[i8]) -> __m512i {
    assert!(qs.len() >= 64);
    // SAFETY: the assert above keeps the 64-byte read inside `qs`.
    unsafe { _mm512_loadu_si512(qs.as_ptr().cast()) }
}

/// 32 bytes of `qs` in both halves: low nibbles below, high nibbles above.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
#[inline]
fn chunk_nibbles(qs: &[u8]) -> __m512i {
    assert!(qs.len() >= 32);
    // SAFETY: the assert above keeps the 32-byte read inside `qs`.
    let x = unsafe { _mm256_loadu_si256(qs.as_ptr().cast()) };
    let both = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(x), _mm256_srli_epi16::<4>(x));
    _mm512_and_si512(both, _mm512_set1_epi8(0x0F))
}

/// The fifth bits of a Q5_K chunk: bit `2c` of `qh[l]` as bit 4 of byte `l` below,
/// bit `2c + 1` above.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
#[inline]
fn chunk_fifth_bits(high: __m512i, c: usize) -> __m512i {
    let bits = _mm512_inserti64x4::<1>(
        _mm512_set1_epi8(1 << (2 * c)),
        _mm256_set1_epi8(1 << (2 * c + 1)),
    );
    let set = _mm512_test_epi8_mask(high, bits);
    _mm512_maskz_mov_epi8(set, _mm512_set1_epi8(0x10))
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
#[inline]
fn k4<B: K4Block, const R: usize>(w: &[B], acts: [&[Q8K]; R]) -> [f32; R] {
    assert!(acts.iter().all(|a| a.len() >= w.len()));
    let mut acc = [_mm256_setzero_ps(); R];
    for (i, b) in w.iter().enumerate() {
        // SAFETY: every activation row holds at least `w.len()` blocks (assert above).
        let blocks: [&Q8K; R] = std::array::from_fn(|r| unsafe { acts[r].get_unchecked(i) });
        let (scales, mins) = scales_mins(b.scales());
        let scales = _mm512_broadcast_i64x4(scales);
        // SAFETY: `qh` is 32 bytes, read into both halves.
        let high = b
            .qh()
            .map(|qh| unsafe { _mm512_broadcast_i64x4(_mm256_loadu_si256(qh.as_ptr().cast())) });
        let mut sumi = [_mm512_setzero_si512(); R];
        for c in 0..4 {
            let mut q = chunk_nibbles(&b.qs()[32 * c..]);
            if let Some(high) = high {
                q = _mm512_or_si512(q, chunk_fifth_bits(high, c));
            }
            // SAFETY: each mask is exactly 64 bytes.
            let mask = unsafe { _mm512_loadu_si512(CHUNK_SCALE_MASKS[c].as_ptr().cast()) };
            let s = _mm512_shuffle_epi8(scales, mask);
            for r in 0..R {
                let pairs = _mm512_maddubs_epi16(q, load_act64(&blocks[r].qs[64 * c..]));
                sumi[r] = _mm512_dpwssd_epi32(sumi[r], pairs, s);
            }
        }
        let sumi: [__m256i; R] = std::array::from_fn(|r| {
            let (lo, hi) = (
                _mm512_castsi512_si256(sumi[r]),
                _mm512_extracti64x4_epi64::<1>(sumi[r]),
            );
            _mm256_add_epi32(lo, hi)
        });
        let d_dmin = f16_pair(b, 0);
        let d_dmin = (_mm_cvtss_f32(d_dmin), lane1(d_dmin));
        add_k4(&mut acc, &sumi, mins, d_dmin, &blocks);
    }
    std::array::from_fn(|r| hsum(acc[r]))
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
pub(super) fn q4k<const R: usize>(w: &[super::blocks::BlockQ4K], acts: [&[Q8K]; R]) -> [f32; R] {
    k4(w, acts)
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
pub(super) fn q5k<const R: usize>(w: &[super::blocks::BlockQ5K], acts: [&[Q8K]; R]) -> [f32; R] {
    k4(w, acts)
}
