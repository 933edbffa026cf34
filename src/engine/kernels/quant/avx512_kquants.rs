//! AVX-512 (BW + VNNI) dot products of Q4_K and Q5_K with Q8_K activations, for CPUs
//! that have them (Zen 4/5, Ice Lake and later); [`super::avx2_kquants`] elsewhere.
//!
//! The AVX2 kernel's integer sums, 64 values per instruction instead of 32: one
//! register holds a 64-value chunk (sub-blocks `2c` and `2c + 1`), `maddubs` multiplies
//! it with the activations, and `vpdpwssd` applies both sub-blocks' scales and
//! accumulates in one instruction where AVX2 takes two `madd`s and two adds. The float
//! steps stay 512 bits wide, and a block's mins take one multiply-add per row against
//! the activations' scaled sub-block sums (`Q8K::dsums`): 12 instructions per row and
//! block where the AVX2 steps took 19. The sums are the same; the float rounding is not,
//! so results agree with AVX2 to a few ulps of the row's magnitude, not bit for bit.

use std::arch::asm;
use std::arch::x86_64::*;

use super::activations::Q8K;
use super::avx2_kquants::{scales_mins, K4Block};
use super::avx2_small::{f16_pair, lane1};

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

/// `acc + Σ pairs of a·b` (`vpdpwssd`) written out: under the generic x86-64 tuning,
/// LLVM splits the intrinsic into `vpmaddwd` + `vpaddd`, two instructions where the CPUs
/// with VNNI run one (39 of the Q4_K kernel's 60 were split).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
#[inline]
fn dpwssd(mut acc: __m512i, a: __m512i, b: __m512i) -> __m512i {
    // SAFETY: a register-only VNNI instruction (the caller's features include it).
    unsafe {
        asm!(
            "vpdpwssd {acc}, {a}, {b}",
            acc = inout(zmm_reg) acc,
            a = in(zmm_reg) a,
            b = in(zmm_reg) b,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}

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

/// A block's 8 mins (in [`scales_mins`]' 16-bit pairs) times `dmin`, as f32 in the low
/// eight lanes, zeros above.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
#[inline]
fn scaled_mins(pairs: __m256i, dmin: f32) -> __m512 {
    // Each 32-bit lane holds one min twice: keep the low copy.
    let mins = _mm256_and_si256(pairs, _mm256_set1_epi32(0xFFFF));
    let mins = _mm256_mul_ps(_mm256_cvtepi32_ps(mins), _mm256_set1_ps(dmin));
    _mm512_zextps256_ps512(mins)
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
#[inline]
fn k4<B: K4Block, const R: usize>(w: &[B], acts: [&[Q8K]; R]) -> [f32; R] {
    assert!(acts.iter().all(|a| a.len() >= w.len()));
    let mut acc = [_mm512_setzero_ps(); R];
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
                sumi[r] = dpwssd(sumi[r], pairs, s);
            }
        }
        let d_dmin = f16_pair(b, 0);
        let d = _mm512_set1_ps(_mm_cvtss_f32(d_dmin));
        let mins = scaled_mins(mins, lane1(d_dmin));
        // Per row: d · d_a · sumi over all 16 lanes, then Σ dmin · min_s · d_a · Σ_s q_a
        // with the activations' scaled sub-block sums (`dsums`) in the low eight lanes.
        for r in 0..R {
            let a = blocks[r];
            let scale = _mm512_mul_ps(d, _mm512_set1_ps(a.d));
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[r]), scale, acc[r]);
            // SAFETY: `dsums` is 8 f32s, exactly 32 bytes.
            let dsums = unsafe { _mm256_loadu_ps(a.dsums.as_ptr()) };
            acc[r] = _mm512_fnmadd_ps(mins, _mm512_zextps256_ps512(dsums), acc[r]);
        }
    }
    std::array::from_fn(|r| _mm512_reduce_add_ps(acc[r]))
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
pub(super) fn q4k<const R: usize>(w: &[super::blocks::BlockQ4K], acts: [&[Q8K]; R]) -> [f32; R] {
    k4(w, acts)
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
pub(super) fn q5k<const R: usize>(w: &[super::blocks::BlockQ5K], acts: [&[Q8K]; R]) -> [f32; R] {
    k4(w, acts)
}

/// `vpshufb` masks for Q6_K: mask `u` puts signed scale byte `4u + k` into the high
/// byte of every 16-bit lane of 128-bit quarter `k` (an arithmetic shift then
/// sign-extends it), for the 64 values of groups `4u..4u + 4`.
const Q6K_SCALE_MASKS: [[i8; 64]; 4] = {
    let mut masks = [[-128i8; 64]; 4];
    let mut u = 0;
    while u < 4 {
        let mut lane = 0;
        while lane < 32 {
            masks[u][2 * lane + 1] = (4 * u + lane / 8) as i8;
            lane += 1;
        }
        u += 1;
    }
    masks
};

#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
pub(super) fn q6k<const R: usize>(w: &[super::blocks::BlockQ6K], acts: [&[Q8K]; R]) -> [f32; R] {
    assert!(acts.iter().all(|a| a.len() >= w.len()));
    let low4 = _mm512_set1_epi8(0x0F);
    let bits45 = _mm512_set1_epi8(0x30);
    // Per 256-bit half: where the low half takes qh's bits 0-1 (4-5) into bits 4-5, the
    // high half takes bits 2-3 (6-7).
    let (up, down) = (
        _mm512_inserti64x4::<1>(_mm512_set1_epi16(4), _mm256_set1_epi16(2)),
        _mm512_inserti64x4::<1>(_mm512_set1_epi16(0), _mm256_set1_epi16(2)),
    );
    let mut acc = [_mm512_setzero_ps(); R];
    for (i, b) in w.iter().enumerate() {
        // SAFETY: every activation row holds at least `w.len()` blocks (assert above).
        let blocks: [&Q8K; R] = std::array::from_fn(|r| unsafe { acts[r].get_unchecked(i) });
        // SAFETY: `scales` is 16 i8s, exactly 16 bytes.
        let scales = unsafe { _mm_loadu_si128(b.scales.as_ptr().cast()) };
        let all_scales = _mm512_broadcast_i32x4(scales);
        let mut sumi = [_mm512_setzero_si512(); R];
        for h in 0..2 {
            // SAFETY: 64 bytes of `ql` from 64h, 32 of `qh` from 32h: inside both arrays.
            let (ql, qh) = unsafe {
                (
                    _mm512_loadu_si512(b.ql[64 * h..].as_ptr().cast()),
                    _mm512_broadcast_i64x4(_mm256_loadu_si256(b.qh[32 * h..].as_ptr().cast())),
                )
            };
            // Values 128h..128h+64 (low nibbles) and 128h+64..128h+128 (high nibbles).
            let q = [
                _mm512_or_si512(
                    _mm512_and_si512(ql, low4),
                    _mm512_and_si512(_mm512_sllv_epi16(qh, up), bits45),
                ),
                _mm512_or_si512(
                    _mm512_and_si512(_mm512_srli_epi16::<4>(ql), low4),
                    _mm512_and_si512(_mm512_srlv_epi16(qh, down), bits45),
                ),
            ];
            for (u, &q) in q.iter().enumerate() {
                // SAFETY: each mask is exactly 64 bytes.
                let mask =
                    unsafe { _mm512_loadu_si512(Q6K_SCALE_MASKS[2 * h + u].as_ptr().cast()) };
                let scale = _mm512_srai_epi16::<8>(_mm512_shuffle_epi8(all_scales, mask));
                for r in 0..R {
                    let a = load_act64(&blocks[r].qs[128 * h + 64 * u..]);
                    sumi[r] = dpwssd(sumi[r], _mm512_maddubs_epi16(q, a), scale);
                }
            }
        }
        // The −32 offset, Σ_g scale_g · −32 · bsums_g, into the same integer sums.
        let offset_scales = _mm256_slli_epi16::<5>(_mm256_sub_epi16(
            _mm256_setzero_si256(),
            _mm256_cvtepi8_epi16(scales),
        ));
        let offset_scales = _mm512_zextsi256_si512(offset_scales);
        let d = _mm512_set1_ps(lane1(f16_pair(b, std::mem::size_of_val(b) - 4)));
        for r in 0..R {
            let a = blocks[r];
            // SAFETY: `bsums` is 16 i16s, exactly 32 bytes.
            let bsums = unsafe { _mm256_loadu_si256(a.bsums.as_ptr().cast()) };
            let total = dpwssd(sumi[r], _mm512_zextsi256_si512(bsums), offset_scales);
            let scale = _mm512_mul_ps(d, _mm512_set1_ps(a.d));
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), scale, acc[r]);
        }
    }
    std::array::from_fn(|r| _mm512_reduce_add_ps(acc[r]))
}
