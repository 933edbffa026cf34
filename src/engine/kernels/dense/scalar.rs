//! Portable kernels: the fallback on CPUs without AVX2/FMA and the reference the
//! SIMD kernels are tested against. Plain loops, f32 accumulation.

use super::skinny::{TileOut, MAX_TILE_ROWS, PANEL_ROWS};
use super::WeightData;

/// `out[i][r] = x_i · w_r` for `mr` activation rows and `nr` weight rows, both of
/// stride `k`.
pub(super) fn panel(x: &[f32], mr: usize, w: &[f32], nr: usize, k: usize, out: &mut TileOut) {
    debug_assert!(mr <= MAX_TILE_ROWS && nr <= PANEL_ROWS);
    for (i, out_row) in out.iter_mut().enumerate().take(mr) {
        let xr = &x[i * k..(i + 1) * k];
        for (r, out) in out_row.iter_mut().enumerate().take(nr) {
            *out = dot(xr, &w[r * k..(r + 1) * k]);
        }
    }
}

/// Dot product with eight partial sums (less rounding than one running sum).
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0f32; 8];
    let chunks = a.len() / 8 * 8;
    for (ca, cb) in a[..chunks].chunks_exact(8).zip(b[..chunks].chunks_exact(8)) {
        for j in 0..8 {
            sums[j] += ca[j] * cb[j];
        }
    }
    let tail: f32 = a[chunks..]
        .iter()
        .zip(&b[chunks..])
        .map(|(x, y)| x * y)
        .sum();
    sums.iter().sum::<f32>() + tail
}

/// Converts `dst.len()` weights starting at `start` to f32.
pub(super) fn convert(src: WeightData, start: usize, dst: &mut [f32]) {
    let end = start + dst.len();
    match src {
        WeightData::F32(w) => dst.copy_from_slice(&w[start..end]),
        WeightData::F16(w) => {
            for (d, s) in dst.iter_mut().zip(&w[start..end]) {
                *d = s.to_f32();
            }
        }
        WeightData::Bf16(w) => {
            for (d, s) in dst.iter_mut().zip(&w[start..end]) {
                *d = s.to_f32();
            }
        }
    }
}
