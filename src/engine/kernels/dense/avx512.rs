//! AVX-512 F kernels for f32 panels (x86-64 only, as the module): [`super::avx2`]'s tiles with 16 lanes per
//! instruction, so each 64-byte weight load feeds as many FMAs as AVX2's 32-byte one
//! and a step covers twice the values. Only called after the CPU was seen to have
//! AVX-512 F (see [`super::Isa::detect`]); 16-bit weights keep AVX2's conversions.

use std::arch::x86_64::*;

use super::skinny::TileOut;

/// The AVX-512 tiles for [`super::skinny::walk_panel`].
pub(super) struct Avx512Tiles;

impl super::skinny::Tiles for Avx512Tiles {
    unsafe fn row<const MR: usize>(
        x: *const f32,
        w: *const f32,
        k: usize,
        out: &mut TileOut,
        r: usize,
    ) {
        // SAFETY: the caller's promise (see the trait).
        unsafe {
            if MR == 1 {
                out[0][r] = row_dot(x, w, k);
            } else {
                rows_tile::<MR, 1>(x, w, k, out, r);
            }
        }
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

/// `x · w` over `k` values, with two accumulators so two FMA chains are in flight.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn row_dot(x: *const f32, w: *const f32, k: usize) -> f32 {
    let (mut even, mut odd) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    let mut p = 0;
    // SAFETY: every read stays below `k` of `x` and `w` (caller); the masked load
    // touches only the lanes below `k`.
    unsafe {
        while p + 32 <= k {
            even = _mm512_fmadd_ps(_mm512_loadu_ps(x.add(p)), _mm512_loadu_ps(w.add(p)), even);
            let (x1, w1) = (
                _mm512_loadu_ps(x.add(p + 16)),
                _mm512_loadu_ps(w.add(p + 16)),
            );
            odd = _mm512_fmadd_ps(x1, w1, odd);
            p += 32;
        }
        while p < k {
            let mask = if k - p >= 16 {
                !0
            } else {
                (1u16 << (k - p)) - 1
            };
            let (xv, wv) = (
                _mm512_maskz_loadu_ps(mask, x.add(p)),
                _mm512_maskz_loadu_ps(mask, w.add(p)),
            );
            even = _mm512_fmadd_ps(xv, wv, even);
            p += 16;
        }
    }
    _mm512_reduce_add_ps(_mm512_add_ps(even, odd))
}

/// `MR` activation rows times `NR` adjacent weight rows, written to `out[i][r0 + r]`;
/// the last `k % 16` values go through a masked load.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn rows_tile<const MR: usize, const NR: usize>(
    x: *const f32,
    w: *const f32,
    k: usize,
    out: &mut TileOut,
    r0: usize,
) {
    let mut acc = [[_mm512_setzero_ps(); NR]; MR];
    let mut p = 0;
    // SAFETY: every read stays below `MR * k` of `x` and `NR * k` of `w` (caller); the
    // masked loads touch only the lanes below `k`.
    unsafe {
        let mut step = |p: usize, mask: __mmask16| {
            let wv: [__m512; NR] =
                std::array::from_fn(|r| _mm512_maskz_loadu_ps(mask, w.add(r * k + p)));
            for (i, acc) in acc.iter_mut().enumerate() {
                let xv = _mm512_maskz_loadu_ps(mask, x.add(i * k + p));
                for r in 0..NR {
                    acc[r] = _mm512_fmadd_ps(xv, wv[r], acc[r]);
                }
            }
        };
        while p + 16 <= k {
            step(p, !0);
            p += 16;
        }
        if p < k {
            step(p, (1u16 << (k - p)) - 1);
        }
        for (i, acc) in acc.iter().enumerate() {
            for (r, &lanes) in acc.iter().enumerate() {
                out[i][r0 + r] = _mm512_reduce_add_ps(lanes);
            }
        }
    }
}
