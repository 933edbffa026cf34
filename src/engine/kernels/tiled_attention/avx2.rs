//! The prefill kernel's tile arithmetic on AVX2 + FMA (+ F16C for f16 caches): scores
//! for two query rows at once from a transposed key tile, a vector `exp`, and the
//! weighted sum of a value tile for two rows at once.

use std::arch::x86_64::*;

use super::super::attention::simd_on;
use super::super::cpu::Features;
use super::super::simd::hsum;
use super::{Row, TileOps, TILE};

/// Proof that this CPU has AVX2, FMA and F16C: only [`Avx2::detect`] makes one.
#[derive(Debug, Clone, Copy)]
pub(super) struct Avx2(());

impl Avx2 {
    pub fn detect() -> Option<Self> {
        simd_on(Features::detect()).then_some(Avx2(()))
    }
}

impl TileOps for Avx2 {
    fn simd(self) -> bool {
        true
    }

    fn scores(self, q: [&[f32]; 2], rows: usize, kt: &[f32], scores: &mut [[f32; TILE]; 2]) {
        let dim = q[0].len();
        assert!(q[1].len() == dim && kt.len() >= dim * TILE);
        let [first, second] = scores;
        // SAFETY: an `Avx2` exists only where the CPU has AVX2 and FMA; the lengths
        // were checked above.
        unsafe {
            match rows {
                1 => scores_of::<1>([q[0]], kt, [first]),
                _ => scores_of::<2>(q, kt, [first, second]),
            }
        }
    }

    fn max(self, scores: &[f32; TILE]) -> f32 {
        // SAFETY: an `Avx2` exists only where the CPU has AVX2 and FMA.
        unsafe { max(scores) }
    }

    fn exp_sum(self, scores: &mut [f32; TILE], max: f32) -> f32 {
        // SAFETY: an `Avx2` exists only where the CPU has AVX2 and FMA.
        unsafe { exp_sum(scores, max) }
    }

    fn accumulate(self, rows: [Row<'_>; 2], count: usize, keys: (usize, usize), v: &[f32]) {
        let dim = rows[0].acc.len();
        assert!(keys.1 <= TILE && v.len() >= TILE * dim);
        assert!(count == 1 || rows[1].acc.len() == dim);
        let [a, b] = rows;
        // SAFETY: an `Avx2` exists only where the CPU has AVX2 and FMA; the lengths
        // were checked above.
        unsafe {
            match count {
                1 => accumulate([a], keys, v),
                _ => accumulate([a, b], keys, v),
            }
        }
    }
}

/// `scores[r][j] = Σ_d q[r][d] · kt[d][j]`, each lane summed over `d` in order, the
/// same for one row or two.
///
/// # Safety
/// The CPU must have AVX2 and FMA; `kt` must hold `dim × TILE` values, `dim` being
/// every query's length.
#[target_feature(enable = "avx2,fma")]
unsafe fn scores_of<const R: usize>(q: [&[f32]; R], kt: &[f32], mut scores: [&mut [f32; TILE]; R]) {
    const LANES: usize = 32;
    let dim = q[0].len();
    for half in (0..TILE).step_by(LANES) {
        let mut sums = [[_mm256_setzero_ps(); 4]; R];
        for d in 0..dim {
            // SAFETY: d < dim and half + 32 <= TILE keep the reads inside `kt`.
            let keys = unsafe { kt.as_ptr().add(d * TILE + half) };
            let mut k = [_mm256_setzero_ps(); 4];
            for (i, k) in k.iter_mut().enumerate() {
                // SAFETY: as above.
                *k = unsafe { _mm256_loadu_ps(keys.add(8 * i)) };
            }
            for (sums, q) in sums.iter_mut().zip(&q) {
                let x = _mm256_set1_ps(q[d]);
                for (sum, k) in sums.iter_mut().zip(&k) {
                    *sum = _mm256_fmadd_ps(x, *k, *sum);
                }
            }
        }
        for (sums, scores) in sums.iter().zip(scores.iter_mut()) {
            for (i, sum) in sums.iter().enumerate() {
                // SAFETY: half + 8 i + 8 <= TILE.
                unsafe { _mm256_storeu_ps(scores.as_mut_ptr().add(half + 8 * i), *sum) };
            }
        }
    }
}

/// # Safety
/// The CPU must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn max(scores: &[f32; TILE]) -> f32 {
    let mut top = _mm256_set1_ps(f32::NEG_INFINITY);
    for lanes in scores.chunks_exact(8) {
        // SAFETY: each chunk holds 8 values.
        top = _mm256_max_ps(top, unsafe { _mm256_loadu_ps(lanes.as_ptr()) });
    }
    let mut lanes = [0f32; 8];
    // SAFETY: `lanes` holds 8 values.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), top) };
    lanes.into_iter().fold(f32::NEG_INFINITY, f32::max)
}

/// # Safety
/// The CPU must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn exp_sum(scores: &mut [f32; TILE], max: f32) -> f32 {
    let (top, mut total) = (_mm256_set1_ps(max), _mm256_setzero_ps());
    for lanes in scores.chunks_exact_mut(8) {
        // SAFETY: each chunk holds 8 values.
        unsafe {
            let e = exp(_mm256_sub_ps(_mm256_loadu_ps(lanes.as_ptr()), top));
            _mm256_storeu_ps(lanes.as_mut_ptr(), e);
            total = _mm256_add_ps(total, e);
        }
    }
    hsum(total)
}

/// `e^x` lane by lane for `x <= 0` (a softmax's shifted scores): `x = n ln 2 + r` with
/// `|r| <= ln 2 / 2`, a degree-6 polynomial for `e^r` (Cephes' `expf` coefficients,
/// within 2 ulp), times `2^n` built in the exponent bits. Below `-87.3` (where `e^x`
/// leaves the normal floats), `-inf` included, the answer is 0.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn exp(x: __m256) -> __m256 {
    let shown = _mm256_cmp_ps::<_CMP_GE_OQ>(x, _mm256_set1_ps(-87.3));
    let x = _mm256_max_ps(
        _mm256_min_ps(x, _mm256_set1_ps(88.0)),
        _mm256_set1_ps(-87.3),
    );
    let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        x,
        _mm256_set1_ps(std::f32::consts::LOG2_E),
    ));
    // ln 2 in two parts, so that n · ln 2 is exact enough for large n.
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), x);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);
    let mut p = _mm256_set1_ps(1.987_569_1e-4);
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        0.166_666_65,
        0.5,
    ] {
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
    }
    let p = _mm256_fmadd_ps(
        p,
        _mm256_mul_ps(r, r),
        _mm256_add_ps(r, _mm256_set1_ps(1.0)),
    );
    let bits = _mm256_slli_epi32::<23>(_mm256_add_epi32(
        _mm256_cvtps_epi32(n),
        _mm256_set1_epi32(127),
    ));
    _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(bits)), shown)
}

/// `acc = acc · rescale + Σ_{j in keys} p[j] · v[j]` for `R` rows, 32 dimensions at a
/// time, then 8, then one by one; each value gets the same operations in the same
/// order for one row or two.
///
/// # Safety
/// The CPU must have AVX2 and FMA; every row's `acc` must hold `dim` values, `v` `TILE
/// × dim`, and `keys.1 <= TILE`.
#[target_feature(enable = "avx2,fma")]
unsafe fn accumulate<const R: usize>(mut rows: [Row<'_>; R], keys: (usize, usize), v: &[f32]) {
    let dim = rows[0].acc.len();
    let mut d = 0;
    while d + 32 <= dim {
        // SAFETY: as the caller promised; d + 32 <= dim.
        unsafe { accumulate_lanes::<R, 4>(&mut rows, d, keys, v) };
        d += 32;
    }
    while d + 8 <= dim {
        // SAFETY: as the caller promised; d + 8 <= dim.
        unsafe { accumulate_lanes::<R, 1>(&mut rows, d, keys, v) };
        d += 8;
    }
    for row in rows.iter_mut() {
        for i in d..dim {
            let mut sum = row.acc[i] * row.rescale;
            for j in keys.0..keys.1 {
                sum = row.p[j].mul_add(v[j * dim + i], sum);
            }
            row.acc[i] = sum;
        }
    }
}

/// [`accumulate`] for dimensions `d..d + 8 N`.
///
/// # Safety
/// As for [`accumulate`], with `d + 8 N <= dim`; inlined only into functions that
/// enable AVX2 and FMA.
#[inline(always)]
unsafe fn accumulate_lanes<const R: usize, const N: usize>(
    rows: &mut [Row<'_>; R],
    d: usize,
    keys: (usize, usize),
    v: &[f32],
) {
    let dim = rows[0].acc.len();
    let mut sums = [[_mm256_setzero_ps(); N]; R];
    for (sums, row) in sums.iter_mut().zip(rows.iter()) {
        let rescale = _mm256_set1_ps(row.rescale);
        for (i, sum) in sums.iter_mut().enumerate() {
            // SAFETY: d + 8 i + 8 <= dim, `acc`'s length.
            let acc = unsafe { _mm256_loadu_ps(row.acc.as_ptr().add(d + 8 * i)) };
            *sum = _mm256_mul_ps(acc, rescale);
        }
    }
    for j in keys.0..keys.1 {
        // SAFETY: j < TILE and d + 8 N <= dim keep the reads inside `v`.
        let value = unsafe { v.as_ptr().add(j * dim + d) };
        let mut x = [_mm256_setzero_ps(); N];
        for (i, x) in x.iter_mut().enumerate() {
            // SAFETY: as above.
            *x = unsafe { _mm256_loadu_ps(value.add(8 * i)) };
        }
        for (sums, row) in sums.iter_mut().zip(rows.iter()) {
            let w = _mm256_set1_ps(row.p[j]);
            for (sum, x) in sums.iter_mut().zip(&x) {
                *sum = _mm256_fmadd_ps(w, *x, *sum);
            }
        }
    }
    for (sums, row) in sums.iter().zip(rows.iter_mut()) {
        for (i, sum) in sums.iter().enumerate() {
            // SAFETY: d + 8 i + 8 <= dim.
            unsafe { _mm256_storeu_ps(row.acc.as_mut_ptr().add(d + 8 * i), *sum) };
        }
    }
}
