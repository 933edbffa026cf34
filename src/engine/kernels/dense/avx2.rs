//! AVX2 + FMA kernels (x86-64): 8 f32 lanes per instruction, several activation rows
//! sharing each weight load, f16 converted by F16C and bf16 by a 16-bit shift. Only
//! called after the CPU was seen to have the features (see [`super::Isa::detect`]).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::skinny::{TileOut, PANEL_ROWS};
use super::WeightData;
use crate::engine::kernels::simd::hsum;

/// The AVX2 + FMA tiles for [`super::skinny::walk_panel`].
#[cfg(target_arch = "x86_64")]
pub(super) struct Avx2Tiles;

#[cfg(target_arch = "x86_64")]
impl super::skinny::Tiles for Avx2Tiles {
    unsafe fn row<const MR: usize>(
        x: *const f32,
        w: *const f32,
        k: usize,
        out: &mut TileOut,
        r: usize,
    ) {
        // SAFETY: the caller's promise (see the trait).
        unsafe { row_tile::<MR>(x, w, k, out, r) }
    }

    unsafe fn rows<const MR: usize, const NR: usize>(
        x: *const f32,
        w: *const f32,
        k: usize,
        out: &mut TileOut,
        r0: usize,
    ) {
        // SAFETY: the caller's promise (see the trait).
        unsafe { rows_tile::<MR, NR>(x, w, k, out, r0) }
    }
}

/// `MR` activation rows times `NR` adjacent weight rows, written to `out[i][r0 + r]`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_tile<const MR: usize, const NR: usize>(
    x: *const f32,
    w: *const f32,
    k: usize,
    out: &mut TileOut,
    r0: usize,
) {
    let mut acc = [[_mm256_setzero_ps(); NR]; MR];
    let k8 = k / 8 * 8;
    let mut p = 0;
    // SAFETY: every read stays below `MR * k` of `x` and `NR * k` of `w` (caller).
    unsafe {
        while p < k8 {
            let mut wv = [_mm256_setzero_ps(); NR];
            for (r, wv) in wv.iter_mut().enumerate() {
                *wv = _mm256_loadu_ps(w.add(r * k + p));
            }
            for (i, acc) in acc.iter_mut().enumerate() {
                let xv = _mm256_loadu_ps(x.add(i * k + p));
                for r in 0..NR {
                    acc[r] = _mm256_fmadd_ps(xv, wv[r], acc[r]);
                }
            }
            p += 8;
        }
        for (i, acc) in acc.iter().enumerate() {
            for (r, &lanes) in acc.iter().enumerate() {
                let mut sum = hsum(lanes);
                for q in k8..k {
                    sum += *x.add(i * k + q) * *w.add(r * k + q);
                }
                out[i][r0 + r] = sum;
            }
        }
    }
}

/// `MR` activation rows times one weight row, written to `out[i][r]`; two
/// accumulators per activation row keep two FMA chains in flight.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn row_tile<const MR: usize>(
    x: *const f32,
    w: *const f32,
    k: usize,
    out: &mut TileOut,
    r: usize,
) {
    let mut even = [_mm256_setzero_ps(); MR];
    let mut odd = [_mm256_setzero_ps(); MR];
    let mut p = 0;
    // SAFETY: every read stays below `MR * k` of `x` and `k` of `w` (caller).
    unsafe {
        while p + 16 <= k {
            let w0 = _mm256_loadu_ps(w.add(p));
            let w1 = _mm256_loadu_ps(w.add(p + 8));
            for i in 0..MR {
                even[i] = _mm256_fmadd_ps(_mm256_loadu_ps(x.add(i * k + p)), w0, even[i]);
                odd[i] = _mm256_fmadd_ps(_mm256_loadu_ps(x.add(i * k + p + 8)), w1, odd[i]);
            }
            p += 16;
        }
        if p + 8 <= k {
            let w0 = _mm256_loadu_ps(w.add(p));
            for i in 0..MR {
                even[i] = _mm256_fmadd_ps(_mm256_loadu_ps(x.add(i * k + p)), w0, even[i]);
            }
            p += 8;
        }
        for i in 0..MR {
            let mut sum = hsum(_mm256_add_ps(even[i], odd[i]));
            for q in p..k {
                sum += *x.add(i * k + q) * *w.add(q);
            }
            out[i][r] = sum;
        }
    }
}

/// `out[0][r] = x · w_r` for one activation row and `nr` f16/bf16 weight rows from
/// element `start`, widened in registers (no scratch round trip).
///
/// # Safety
/// The CPU must have AVX2 and FMA, and F16C when the weights are f16 (`f16c` true).
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn single_row_16bit(
    x: &[f32],
    w: WeightData,
    start: usize,
    nr: usize,
    k: usize,
    f16c: bool,
    out: &mut TileOut,
) {
    assert!(x.len() >= k && nr <= PANEL_ROWS);
    for r in 0..nr {
        let from = start + r * k;
        // SAFETY: each row slice holds `k` values; the features are the caller's promise.
        out[0][r] = unsafe {
            match w {
                WeightData::Bf16(v) => {
                    dot_16bit::<true>(x.as_ptr(), v[from..from + k].as_ptr().cast(), k)
                }
                WeightData::F16(v) if f16c => {
                    dot_16bit::<false>(x.as_ptr(), v[from..from + k].as_ptr().cast(), k)
                }
                WeightData::F16(v) => super::scalar::dot(
                    &x[..k],
                    &v[from..from + k]
                        .iter()
                        .map(|h| h.to_f32())
                        .collect::<Vec<_>>(),
                ),
                WeightData::F32(v) => super::scalar::dot(&x[..k], &v[from..from + k]),
            }
        };
    }
}

/// Eight 16-bit weights widened to f32: bf16 by a shift, f16 by F16C.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn widen<const BF16: bool>(w: *const u16) -> __m256 {
    // SAFETY: the caller guarantees 8 readable values at `w`.
    let halves = unsafe { _mm_loadu_si128(w.cast()) };
    if BF16 {
        _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(halves), 16))
    } else {
        _mm256_cvtph_ps(halves)
    }
}

/// `x · w` over `k` values with `w` in bf16 (`BF16`) or f16.
///
/// F16C is enabled for the whole function but only executed for f16 (`BF16` false).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_16bit<const BF16: bool>(x: *const f32, w: *const u16, k: usize) -> f32 {
    let (mut even, mut odd) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let mut p = 0;
    // SAFETY: reads stay below `k` of `x` and `w` (caller).
    unsafe {
        while p + 16 <= k {
            even = _mm256_fmadd_ps(_mm256_loadu_ps(x.add(p)), widen::<BF16>(w.add(p)), even);
            odd = _mm256_fmadd_ps(
                _mm256_loadu_ps(x.add(p + 8)),
                widen::<BF16>(w.add(p + 8)),
                odd,
            );
            p += 16;
        }
        if p + 8 <= k {
            even = _mm256_fmadd_ps(_mm256_loadu_ps(x.add(p)), widen::<BF16>(w.add(p)), even);
            p += 8;
        }
        let mut sum = hsum(_mm256_add_ps(even, odd));
        for q in p..k {
            let bits = *w.add(q);
            let weight = if BF16 {
                f32::from_bits(u32::from(bits) << 16)
            } else {
                half::f16::from_bits(bits).to_f32()
            };
            sum += *x.add(q) * weight;
        }
        sum
    }
}

/// As [`super::scalar::convert`], 8 values per instruction.
///
/// # Safety
/// The CPU must have AVX2 (and F16C when `f16c` is true, the only case f16 uses it).
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn convert(src: WeightData, start: usize, dst: &mut [f32], f16c: bool) {
    let end = start + dst.len();
    match src {
        WeightData::Bf16(w) => {
            let w = &w[start..end];
            // SAFETY: same lengths; AVX2 is the caller's promise.
            unsafe { bf16_to_f32(w.as_ptr().cast(), dst) }
        }
        WeightData::F16(w) if f16c => {
            let w = &w[start..end];
            // SAFETY: same lengths; F16C is the caller's promise.
            unsafe { f16_to_f32(w.as_ptr().cast(), dst) }
        }
        other => super::scalar::convert(other, start, dst),
    }
}

/// bf16 is the top half of an f32: widen to 32 bits and shift left by 16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn bf16_to_f32(src: *const u16, dst: &mut [f32]) {
    let len = dst.len();
    let full = len / 8 * 8;
    let out = dst.as_mut_ptr();
    // SAFETY: `src` holds `len` values (caller); reads and writes stay below `len`.
    unsafe {
        let mut i = 0;
        while i < full {
            let halves = _mm_loadu_si128(src.add(i).cast());
            let wide = _mm256_slli_epi32(_mm256_cvtepu16_epi32(halves), 16);
            _mm256_storeu_ps(out.add(i), _mm256_castsi256_ps(wide));
            i += 8;
        }
        for j in full..len {
            *out.add(j) = f32::from_bits(u32::from(*src.add(j)) << 16);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,f16c")]
unsafe fn f16_to_f32(src: *const u16, dst: &mut [f32]) {
    let len = dst.len();
    let full = len / 8 * 8;
    let out = dst.as_mut_ptr();
    // SAFETY: `src` holds `len` values (caller); reads and writes stay below `len`.
    unsafe {
        let mut i = 0;
        while i < full {
            let halves = _mm_loadu_si128(src.add(i).cast());
            _mm256_storeu_ps(out.add(i), _mm256_cvtph_ps(halves));
            i += 8;
        }
        for j in full..len {
            *out.add(j) = half::f16::from_bits(*src.add(j)).to_f32();
        }
    }
}

/// Other architectures never detect AVX2; these keep the callers portable.

#[cfg(not(target_arch = "x86_64"))]
pub(super) unsafe fn single_row_16bit(
    x: &[f32],
    w: WeightData,
    start: usize,
    nr: usize,
    k: usize,
    _f16c: bool,
    out: &mut TileOut,
) {
    let mut row = vec![0f32; k];
    for r in 0..nr {
        super::scalar::convert(w, start + r * k, &mut row);
        out[0][r] = super::scalar::dot(&x[..k], &row);
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub(super) unsafe fn convert(src: WeightData, start: usize, dst: &mut [f32], _f16c: bool) {
    super::scalar::convert(src, start, dst)
}
