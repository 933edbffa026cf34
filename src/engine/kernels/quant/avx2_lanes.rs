//! Products of the 32-element weight types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) on
//! AVX2 with eight weight rows' outputs in the lanes of one register, the weights read
//! where they lie: decode, batched decode and short prompts, below the row count from
//! which the interleaved prefill (`avx2_octets`) repays its packing.
//!
//! Both kernels compute, per output, the same exact integer sum of each block and then
//! the same float steps in the same order (`acc = fma(Σ q·a, d_w · d_a, acc)`, then the
//! offset's `fma(offset, d_a · Σ a, acc)`), so a row of a product comes out bit for bit
//! the same whether it shared the product with no other row or with a hundred: a
//! sequence decoded in a batch gets the logits it gets alone. The row kernels of
//! `avx2_small` scale each block's eight partial sums separately and reduce at the end,
//! which rounds differently; on AVX2 they no longer run for these types.

use std::arch::x86_64::*;
use std::ops::Range;

use super::activations::Q8Block;
use super::avx2_octets::{self, Unpack};
use super::matmul::{OCTETS_MIN_ROWS, OCTET_ROWS as GROUP};

/// Activation rows per tile (then 2 and 1). The eight weight rows' unpacked blocks are
/// reused by every row of a tile; more rows than four spill their accumulators.
const TILE_ROWS: usize = 4;

/// The products of weight rows `rows` (any number) with all `m` rows of `acts`
/// (`per_row` blocks each), given to `put(activation row, weight row, value)`: whole
/// groups of eight from [`OCTETS_MIN_ROWS`] activation rows by the interleaved kernel,
/// everything else here.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn rows<B: Unpack>(
    w: &[B],
    per_row: usize,
    rows: Range<usize>,
    acts: &[Q8Block],
    m: usize,
    put: &mut impl FnMut(usize, usize, f32),
) {
    let mut start = rows.start;
    if m >= OCTETS_MIN_ROWS {
        let whole = rows.len() / GROUP * GROUP;
        // SAFETY: the caller checked the CPU features.
        unsafe { avx2_octets::rows(w, per_row, start..start + whole, acts, m, put) };
        start += whole;
    }
    let act = |t: usize| &acts[t * per_row..(t + 1) * per_row];
    let row = |j: usize| &w[j * per_row..(j + 1) * per_row];
    // Lane `j` walks the `j`-th eighth of the rows in order, so each lane reads one
    // sequential stream that the hardware prefetchers follow; groups of eight
    // neighbouring rows restarted eight short streams at every group (decode 10%
    // slower, 0.5B Q4_K_M). The lanes are independent: grouping changes no value.
    let stripe = (rows.end - start) / GROUP;
    let groups = (0..stripe).map(|t| (GROUP, std::array::from_fn(|j| start + j * stripe + t)));
    // The rows left over, fewer than eight, repeat the last one in the empty lanes.
    let tail = start + GROUP * stripe..rows.end;
    let tail = (!tail.is_empty()).then(|| {
        let live = tail.len();
        (live, std::array::from_fn(|j| tail.start + j.min(live - 1)))
    });
    for (live, lanes) in groups.chain(tail) {
        let lanes: [usize; GROUP] = lanes;
        let group: [&[B]; GROUP] = lanes.map(row);
        let mut r0 = 0;
        while r0 < m {
            let tile = match m - r0 {
                left if left >= TILE_ROWS => TILE_ROWS,
                left => left.min(2),
            };
            let mut give = |values: &[[f32; GROUP]]| {
                for (t, row) in values.iter().enumerate() {
                    for (&j, &v) in lanes[..live].iter().zip(row) {
                        put(r0 + t, j, v);
                    }
                }
            };
            match tile {
                4 => give(&group_dots::<B, 4>(
                    group,
                    [act(r0), act(r0 + 1), act(r0 + 2), act(r0 + 3)],
                )),
                2 => give(&group_dots::<B, 2>(group, [act(r0), act(r0 + 1)])),
                _ => give(&group_dots::<B, 1>(group, [act(r0)])),
            }
            r0 += tile;
        }
    }
}

/// Lane `j` holds the sum of `p[j]`'s eight lanes.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn sum_each(p: &[__m256i; GROUP]) -> __m256i {
    // Lanes 0..4 of `lo`: rows 0..4's low halves, lanes 4..8 their high halves.
    let lo = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
    let hi = _mm256_hadd_epi32(_mm256_hadd_epi32(p[4], p[5]), _mm256_hadd_epi32(p[6], p[7]));
    add_halves(lo, hi)
}

/// Lanes 0..4: the sums of `lo`'s two 128-bit halves; lanes 4..8: `hi`'s. Extracting
/// and inserting halves rather than two `vperm2i128`s, which Zen 1 splits into eight
/// micro-ops each: the lanes kernel's reduction was as costly as its products there.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn add_halves(lo: __m256i, hi: __m256i) -> __m256i {
    let half =
        |v: __m256i| _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    _mm256_set_m128i(half(hi), half(lo))
}

/// [`sum_each`] of the rows' `maddubs` products with unsigned 4- or 5-bit weights, at
/// 16 bits for two levels: each lane is at most 2 · 31 · 127 and a sum of four lanes
/// at most 31 496, inside an i16, so two `madd`s widen them instead of eight (the
/// integer multiplies share one pipe on Zen 1/2). The sums are the same integers.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn sum_each_narrow(p: &[__m256i; GROUP]) -> __m256i {
    let ones = _mm256_set1_epi16(1);
    // Per 128-bit half, rows 0..4 (then 4..8) two lanes each, widened to one each.
    let lo = _mm256_hadd_epi16(_mm256_hadd_epi16(p[0], p[1]), _mm256_hadd_epi16(p[2], p[3]));
    let hi = _mm256_hadd_epi16(_mm256_hadd_epi16(p[4], p[5]), _mm256_hadd_epi16(p[6], p[7]));
    let (lo, hi) = (_mm256_madd_epi16(lo, ones), _mm256_madd_epi16(hi, ones));
    add_halves(lo, hi)
}

/// `y[t][j] = Σ_i d_j · d_t · Σ q·a + offset_j · Σ_t a` over the blocks of eight weight
/// rows, for `R` activation rows, with the float steps of `avx2_octets::group_dots`.
#[target_feature(enable = "avx2,fma,f16c")]
fn group_dots<B: Unpack, const R: usize>(
    w: [&[B]; GROUP],
    acts: [&[Q8Block]; R],
) -> [[f32; GROUP]; R] {
    let blocks = w[0].len();
    assert!(w.iter().all(|row| row.len() == blocks) && acts.iter().all(|a| a.len() >= blocks));
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); R];
    for i in 0..blocks {
        let mut q = [_mm256_setzero_si256(); GROUP];
        let mut d = [0f32; GROUP];
        let mut offset = [0f32; GROUP];
        for j in 0..GROUP {
            // SAFETY: every row holds `blocks` blocks (assert above); the caller checked
            // the CPU features.
            (q[j], d[j], offset[j]) = unsafe { w[j].get_unchecked(i).unpack() };
        }
        // maddubs multiplies unsigned by signed: signed weights move their signs onto
        // the activations.
        let mut magnitude = q;
        if B::SIGNED {
            for v in &mut magnitude {
                *v = _mm256_sign_epi8(*v, *v);
            }
        }
        // SAFETY: `d` and `offset` are 8 f32s.
        let (d, offset) = unsafe {
            (
                _mm256_loadu_ps(d.as_ptr()),
                _mm256_loadu_ps(offset.as_ptr()),
            )
        };
        for r in 0..R {
            // SAFETY: every activation row holds at least `blocks` blocks (assert above).
            let a = unsafe { acts[r].get_unchecked(i) };
            // SAFETY: `qs` is 32 bytes.
            let qa = unsafe { _mm256_loadu_si256(a.qs.as_ptr().cast()) };
            let mut products = [_mm256_setzero_si256(); GROUP];
            for j in 0..GROUP {
                let qa = if B::SIGNED {
                    _mm256_sign_epi8(qa, q[j])
                } else {
                    qa
                };
                products[j] = _mm256_maddubs_epi16(magnitude[j], qa);
            }
            let sums = if B::SIGNED {
                // Signed bytes reach 2 · 128 · 127 per lane: widen each row first.
                for p in &mut products {
                    *p = _mm256_madd_epi16(*p, ones);
                }
                sum_each(&products)
            } else {
                sum_each_narrow(&products)
            };
            let scale = _mm256_mul_ps(d, _mm256_broadcast_ss(&a.d));
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), scale, acc[r]);
            if !B::SIGNED {
                acc[r] = _mm256_fmadd_ps(offset, _mm256_broadcast_ss(&a.dsum), acc[r]);
            }
        }
    }
    let mut out = [[0f32; GROUP]; R];
    for (row, v) in out.iter_mut().zip(acc) {
        // SAFETY: `row` is 8 f32s.
        unsafe { _mm256_storeu_ps(row.as_mut_ptr(), v) };
    }
    out
}
