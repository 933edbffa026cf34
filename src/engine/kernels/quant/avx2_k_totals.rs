//! How the AVX2 K-quant kernels end a super-block: exact integer totals per output,
//! turned into its share of the dot product by the scalar reference's float steps
//! ([`Finish`]), so the row kernels (`avx2_kquants`), the interleaved prefill
//! (`avx2_k_octets`) and `blocks.rs` give the same bits. A row's value then cannot
//! depend on how many rows share the product, and so not on the kernel that count picks.
//!
//! The row kernels' lanes hold partial sums, so the price is a horizontal integer sum
//! per super-block and row where the float sums used to be reduced once per row: a
//! Q4_K 2048×6144 product at one row took 2.84 s for 6,000 products before and 2.99 s
//! after (`SAAR_KERNEL_PROBE`, Zen 1, medians of 3), 3.30 s before decode took two
//! super-blocks per reduction with the float steps deferred by a pair.

use std::arch::x86_64::*;

use super::activations::Q8K;
use super::blocks::{BlockQ4K, BlockQ5K, BlockQ6K};

/// Per activation row, lanes that sum to `T` and lanes that sum to `O` (see [`Finish`]).
pub(super) type Sums<const R: usize> = ([__m256i; R], [__m256i; R]);

/// A K-quant super-block as the row kernels take it.
pub(super) trait SuperBlock: Finish {
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    unsafe fn sums<const R: usize>(&self, blocks: &[&Q8K; R]) -> Sums<R>;

    /// `d` in lane 0, `dmin` in lane 1 (0 where the type has none).
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    unsafe fn weights(&self) -> __m128;
}

/// Dot products of one weight row with `R` activation rows.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) unsafe fn rows<B: SuperBlock, const R: usize>(w: &[B], acts: [&[Q8K]; R]) -> [f32; R] {
    let mut acc = [_mm_set1_ps(-0.0); 2];
    let blocks = |i: usize| -> [&Q8K; R] { std::array::from_fn(|r| &acts[r][i]) };
    let mut i = 0;
    if R == 1 {
        // Decode: two super-blocks per reduction, each pair's float steps issued after
        // the next pair's integer work, off its critical path.
        let mut pending = None;
        while i + 2 <= w.len() {
            let (a, b) = (blocks(i), blocks(i + 1));
            // SAFETY: the caller checked the CPU features.
            let (sa, sb, wa, wb) = unsafe {
                (
                    w[i].sums(&a),
                    w[i + 1].sums(&b),
                    w[i].weights(),
                    w[i + 1].weights(),
                )
            };
            let next = (
                [(sa.0[0], sa.1[0]), (sb.0[0], sb.1[0])],
                [wa, wb],
                [a[0].d, b[0].d],
            );
            if let Some((sums, weights, act)) = pending.replace(next) {
                add_pair::<B>(&mut acc[0], sums, weights, act);
            }
            i += 2;
        }
        if let Some((sums, weights, act)) = pending {
            add_pair::<B>(&mut acc[0], sums, weights, act);
        }
    }
    for i in i..w.len() {
        let a = blocks(i);
        // SAFETY: the caller checked the CPU features.
        let (sums, weights) = unsafe { (w[i].sums(&a), w[i].weights()) };
        add_shares::<B, R>(&mut acc, &sums, weights, &a);
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

/// Two consecutive super-blocks of one row with one activation row, added to lane 0
/// of `acc` in order: `sums` their lanes of `T` and `O`, `weights` their
/// [`SuperBlock::weights`], `act` their activations' scales.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn add_pair<B: Finish>(
    acc: &mut __m128,
    sums: [(__m256i, __m256i); 2],
    weights: [__m128; 2],
    act: [f32; 2],
) {
    let [(ta, oa), (tb, ob)] = sums;
    // [Ta Oa Tb Ob] for each 128-bit half, then the halves added.
    let h = _mm256_hadd_epi32(_mm256_hadd_epi32(ta, oa), _mm256_hadd_epi32(tb, ob));
    let s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256::<1>(h));
    let t = _mm_shuffle_epi32::<0b10_00_10_00>(s);
    let o = _mm_shuffle_epi32::<0b11_01_11_01>(s);
    // [da db dmin_a dmin_b]
    let w = _mm_unpacklo_ps(weights[0], weights[1]);
    let act = _mm_unpacklo_ps(_mm_set_ss(act[0]), _mm_set_ss(act[1]));
    // SAFETY: this function's target features are the ones `finish` needs.
    let shares = unsafe { B::finish(t, o, (w, _mm_movehl_ps(w, w)), act) };
    *acc = _mm_add_ss(*acc, shares);
    *acc = _mm_add_ss(*acc, _mm_movehdup_ps(shares));
}

/// Ends a super-block of the row kernels: `T` and `O` from the lanes of `sums` per
/// activation row, and their shares added to `acc` (row `r` in lane `r % 4` of
/// `acc[r / 4]`).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn add_shares<B: Finish, const R: usize>(
    acc: &mut [__m128; 2],
    (t, o): &Sums<R>,
    weights: __m128,
    blocks: &[&Q8K; R],
) {
    const { assert!(R <= 8) };
    let weights = (
        _mm_broadcastss_ps(weights),
        _mm_permute_ps::<0b01_01_01_01>(weights),
    );
    let fold =
        |v: __m256i| _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    if R == 1 {
        // [t01 t23 o01 o23 | t45 t67 o45 o67] → [T O T O].
        let h = _mm256_hadd_epi32(t[0], o[0]);
        let h = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256::<1>(h));
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
            let at = |r: usize| {
                if rows.contains(&r) {
                    fold(v[r])
                } else {
                    _mm_setzero_si128()
                }
            };
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
