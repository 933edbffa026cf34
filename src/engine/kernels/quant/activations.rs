//! The activations' side of a quantized product: each f32 row quantized once per
//! product to 8-bit blocks (as llama.cpp does), so the weights' dot products run in
//! integers. Q8_K (256 elements, with sums per 16) pairs with the K-quants; the 32-element
//! block pairs with Q4_0/Q4_1/Q5_0/Q5_1/Q8_0. The 32-element block's scale is rounded to
//! f16 as ggml's Q8_0 stores it (kept as f32 to skip a conversion per use), so products
//! match candle's and llama.cpp's to float rounding, not only to quantization error.

use super::blocks::{QK, QK_K};

/// 32 activations: `x ≈ d · qs` (`d` an f16 value), with `dsum = d · Σ qs` for the weight
/// types with an offset or a min (their share of the dot product is `offset · dsum`).
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct Q8Block {
    pub d: f32,
    pub dsum: f32,
    pub qs: [i8; QK],
}

/// 256 activations: `x ≈ d · qs`, with `bsums[g] = Σ qs[16g..16g+16]` and
/// `dsums[s] = d · Σ qs[32s..32s+32]` (the sums per Q4_K/Q5_K sub-block, scaled, so the
/// AVX-512 kernel applies a block's mins in one multiply-add per row).
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct Q8K {
    pub d: f32,
    pub qs: [i8; QK_K],
    pub bsums: [i16; QK_K / 16],
    pub dsums: [f32; QK_K / 32],
}

/// An activation block type: how a row of f32 turns into blocks.
pub trait ActBlock: Copy + Send + Sync + 'static {
    const SIZE: usize;
    const ZERO: Self;
    /// Quantizes exactly `SIZE` values.
    fn quantize(x: &[f32]) -> Self;
}

/// Round to nearest (ties to even) for `|v| < 2^22`: one add instead of a libm call.
#[inline]
fn nearest_int(v: f32) -> i32 {
    let magic = v + 12_582_912.0;
    (magic.to_bits() as i32 & 0x007F_FFFF) - 0x0040_0000
}

/// The scale and its inverse that map `x`'s largest magnitude to 127.
#[inline]
fn scale_of(x: &[f32]) -> (f32, f32) {
    let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    if amax == 0.0 {
        (0.0, 0.0)
    } else {
        (amax / 127.0, 127.0 / amax)
    }
}

impl ActBlock for Q8Block {
    const SIZE: usize = QK;
    const ZERO: Self = Q8Block {
        d: 0.0,
        dsum: 0.0,
        qs: [0; QK],
    };
    fn quantize(x: &[f32]) -> Self {
        let (d, id) = scale_of(x);
        let mut block = Self::ZERO;
        block.d = half::f16::from_f32(d).to_f32();
        for (q, &v) in block.qs.iter_mut().zip(x) {
            *q = nearest_int(v * id).clamp(-127, 127) as i8;
        }
        block.dsum = block.d * block.qs.iter().map(|&q| q as i32).sum::<i32>() as f32;
        block
    }
}

impl ActBlock for Q8K {
    const SIZE: usize = QK_K;
    const ZERO: Self = Q8K {
        d: 0.0,
        qs: [0; QK_K],
        bsums: [0; QK_K / 16],
        dsums: [0.0; QK_K / 32],
    };
    fn quantize(x: &[f32]) -> Self {
        let (d, id) = scale_of(x);
        let mut block = Self::ZERO;
        block.d = d;
        for (q, &v) in block.qs.iter_mut().zip(x) {
            *q = nearest_int(v * id).clamp(-127, 127) as i8;
        }
        for (g, sum) in block.bsums.iter_mut().enumerate() {
            *sum = block.qs[16 * g..16 * g + 16]
                .iter()
                .map(|&q| q as i16)
                .sum();
        }
        for (s, dsum) in block.dsums.iter_mut().enumerate() {
            let sum = i32::from(block.bsums[2 * s]) + i32::from(block.bsums[2 * s + 1]);
            *dsum = d * sum as f32;
        }
        block
    }
}

/// Quantizes `x` (rows of `k`, `k` a multiple of `A::SIZE`) into `out`, row after row.
pub fn quantize_rows<A: ActBlock>(x: &[f32], k: usize, out: &mut Vec<A>) {
    let per_row = k / A::SIZE;
    let rows = x.len() / k;
    out.clear();
    out.resize(rows * per_row, A::ZERO);
    let quantize_row = |(dst, src): (&mut [A], &[f32])| {
        for (block, chunk) in dst.iter_mut().zip(src.chunks_exact(A::SIZE)) {
            *block = A::quantize(chunk);
        }
    };
    if rows >= 8 {
        let quantize = |row: usize, dst: &mut [A]| quantize_row((dst, &x[row * k..][..k]));
        crate::engine::kernels::workers::for_each_chunk_mut(out, per_row, &quantize);
    } else {
        out.chunks_mut(per_row)
            .zip(x.chunks(k))
            .for_each(quantize_row);
    }
}

/// The values a block stands for (tests and error checks).
pub fn dequantize_q8k(b: &Q8K) -> [f32; QK_K] {
    b.qs.map(|q| q as f32 * b.d)
}

/// The values a block stands for (tests and error checks).
pub fn dequantize_q8(b: &Q8Block) -> [f32; QK] {
    b.qs.map(|q| q as f32 * b.d)
}
