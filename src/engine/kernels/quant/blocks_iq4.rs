//! The non-linear 4-bit types (IQ4_NL, IQ4_XS), ggml's layouts byte for byte: each
//! 4-bit index picks one of 16 fixed values ([`IQ4_VALUES`]), scaled per block. IQ4_NL
//! is a 32-element block with an f16 scale (Q4_0's size); IQ4_XS a 256-element
//! super-block whose eight 32-element blocks carry 6-bit scales. The indices of a
//! 32-element block lie as Q4_0's nibbles do (element `j` low nibble of byte `j`,
//! element `j + 16` high nibble).
//!
//! candle 0.11 knows neither type, so their quantizers (for test files and synthetic
//! models) live here too.

use super::activations::{Q8Block, Q8K};
use super::blocks::{f16_to_f32, WeightBlock, QK, QK_K};

/// ggml's `kvalues_iq4nl`: the values a 4-bit index stands for, before the scale.
pub const IQ4_VALUES: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

#[derive(Clone, Copy)]
#[repr(C)]
pub struct BlockIQ4NL {
    pub d: [u8; 2],
    pub qs: [u8; 16],
}

#[derive(Clone, Copy)]
#[repr(C)]
pub struct BlockIQ4XS {
    pub d: [u8; 2],
    /// Bits `2b..2b+2`: the top 2 bits of block `b`'s scale.
    pub scales_h: [u8; 2],
    /// Block `b`'s low 4 scale bits in nibble `b % 2` of byte `b / 2`.
    pub scales_l: [u8; 4],
    pub qs: [u8; 128],
}

const _: () = assert!(std::mem::size_of::<BlockIQ4NL>() == 18);
const _: () = assert!(std::mem::size_of::<BlockIQ4XS>() == 136);

/// The 32 values of one block's nibbles, before the scale.
#[inline]
pub fn iq4_values(qs: &[u8]) -> [i8; QK] {
    std::array::from_fn(|j| {
        let byte = qs[j % 16];
        IQ4_VALUES[usize::from(if j < 16 { byte & 0x0F } else { byte >> 4 })]
    })
}

/// Block `b`'s scale of an IQ4_XS super-block, less its offset of 32 (−32..32).
#[inline]
pub fn iq4xs_scale(block: &BlockIQ4XS, b: usize) -> i32 {
    let low = (block.scales_l[b / 2] >> (4 * (b % 2))) & 0x0F;
    let high = (u16::from_le_bytes(block.scales_h) >> (2 * b)) & 3;
    (low as i32 | (high as i32) << 4) - 32
}

fn dot_i8(w: &[i8; QK], a: &[i8]) -> i32 {
    w.iter().zip(a).map(|(&w, &a)| w as i32 * a as i32).sum()
}

impl WeightBlock for BlockIQ4NL {
    const SIZE: usize = QK;
    type Act = Q8Block;
    fn dequantize(&self, out: &mut [f32]) {
        let d = f16_to_f32(self.d);
        for (o, v) in out.iter_mut().zip(iq4_values(&self.qs)) {
            *o = d * v as f32;
        }
    }
    fn dot(&self, act: &Q8Block) -> f32 {
        f16_to_f32(self.d) * act.d * dot_i8(&iq4_values(&self.qs), &act.qs) as f32
    }
}

impl WeightBlock for BlockIQ4XS {
    const SIZE: usize = QK_K;
    type Act = Q8K;
    fn dequantize(&self, out: &mut [f32]) {
        let d = f16_to_f32(self.d);
        for (b, chunk) in out.chunks_exact_mut(QK).enumerate() {
            let scale = d * iq4xs_scale(self, b) as f32;
            for (o, v) in chunk.iter_mut().zip(iq4_values(&self.qs[16 * b..])) {
                *o = scale * v as f32;
            }
        }
    }
    fn dot(&self, act: &Q8K) -> f32 {
        let sum: i32 = (0..QK_K / QK)
            .map(|b| {
                let part = dot_i8(&iq4_values(&self.qs[16 * b..]), &act.qs[QK * b..]);
                iq4xs_scale(self, b) * part
            })
            .sum();
        f16_to_f32(self.d) * act.d * sum as f32
    }
}

/// The index of the table value nearest `v` (values already divided by the scale).
#[inline]
fn nearest_index(v: f32) -> u8 {
    // Midpoints between neighbouring table values: the index is how many lie below `v`.
    const MIDPOINTS: [f32; 15] = {
        let mut m = [0f32; 15];
        let mut i = 0;
        while i < 15 {
            m[i] = (IQ4_VALUES[i] as f32 + IQ4_VALUES[i + 1] as f32) / 2.0;
            i += 1;
        }
        m
    };
    MIDPOINTS.partition_point(|&m| m < v) as u8
}

/// Candidate values of the table that the block's largest-magnitude element may map
/// to: the extreme one, and a few nearer zero (their rounding may fit the rest better).
const TARGETS: [f32; 7] = [-127.0, -121.0, -115.0, -109.0, -103.0, -97.0, -91.0];

/// The indices and the least-squares scale for 32 values: tries each target for the
/// largest value, keeps the choice with the smallest squared error.
fn fit_block(x: &[f32]) -> (f32, [u8; QK]) {
    let peak = x
        .iter()
        .fold(0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
    let mut best = (0f32, [8u8; QK], f32::INFINITY);
    if peak == 0.0 {
        return (0.0, best.1);
    }
    for target in TARGETS {
        let inverse = target / peak;
        let mut idx = [0u8; QK];
        let (mut xv, mut vv) = (0f32, 0f32);
        for (i, &v) in x.iter().enumerate() {
            idx[i] = nearest_index(v * inverse);
            let value = IQ4_VALUES[idx[i] as usize] as f32;
            xv += v * value;
            vv += value * value;
        }
        let d = xv / vv;
        let error: f32 = x
            .iter()
            .zip(idx)
            .map(|(&v, i)| (v - d * IQ4_VALUES[i as usize] as f32).powi(2))
            .sum();
        if error < best.2 {
            best = (d, idx, error);
        }
    }
    (best.0, best.1)
}

fn pack_nibbles(idx: &[u8; QK], qs: &mut [u8]) {
    for j in 0..16 {
        qs[j] = idx[j] | idx[j + 16] << 4;
    }
}

/// Indices for `x` at a fixed (already rounded) scale `d`.
fn indices_at(x: &[f32], d: f32) -> [u8; QK] {
    let inverse = if d == 0.0 { 0.0 } else { 1.0 / d };
    std::array::from_fn(|i| nearest_index(x[i] * inverse))
}

/// Quantizes a row (a multiple of 32 values) to IQ4_NL blocks.
pub fn quantize_iq4_nl(x: &[f32]) -> Vec<BlockIQ4NL> {
    x.chunks_exact(QK)
        .map(|chunk| {
            let (d, _) = fit_block(chunk);
            let d = half::f16::from_f32(d);
            let mut block = BlockIQ4NL {
                d: d.to_bits().to_le_bytes(),
                qs: [0; 16],
            };
            pack_nibbles(&indices_at(chunk, d.to_f32()), &mut block.qs);
            block
        })
        .collect()
}

/// Quantizes a row (a multiple of 256 values) to IQ4_XS super-blocks.
pub fn quantize_iq4_xs(x: &[f32]) -> Vec<BlockIQ4XS> {
    x.chunks_exact(QK_K)
        .map(|chunk| {
            let scales: Vec<f32> = chunk.chunks_exact(QK).map(|b| fit_block(b).0).collect();
            let peak = scales
                .iter()
                .fold(0f32, |m, &s| if s.abs() > m.abs() { s } else { m });
            // The largest block scale maps to −32, the end of the 6-bit range.
            let d = half::f16::from_f32(peak / -32.0);
            let df = d.to_f32();
            let mut block = BlockIQ4XS {
                d: d.to_bits().to_le_bytes(),
                scales_h: [0; 2],
                scales_l: [0; 4],
                qs: [0; 128],
            };
            let mut high = 0u16;
            for (b, (part, &scale)) in chunk.chunks_exact(QK).zip(&scales).enumerate() {
                let level = if df == 0.0 {
                    0
                } else {
                    ((scale / df).round() as i32).clamp(-32, 31)
                };
                let stored = (level + 32) as u16;
                block.scales_l[b / 2] |= ((stored & 0x0F) as u8) << (4 * (b % 2));
                high |= (stored >> 4) << (2 * b);
                let idx = indices_at(part, df * level as f32);
                pack_nibbles(&idx, &mut block.qs[16 * b..16 * b + 16]);
            }
            block.scales_h = high.to_le_bytes();
            block
        })
        .collect()
}

/// The raw bytes of blocks, as a GGUF file stores them.
pub fn block_bytes<B: WeightBlock>(blocks: &[B]) -> Vec<u8> {
    let len = std::mem::size_of_val(blocks);
    // SAFETY: weight blocks are repr(C) byte arrays (no padding, alignment 1).
    unsafe { std::slice::from_raw_parts(blocks.as_ptr().cast::<u8>(), len) }.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_index_picks_the_closest_table_value() {
        for step in -1400..=1400 {
            let v = step as f32 / 10.0;
            let got = IQ4_VALUES[nearest_index(v) as usize] as f32;
            let best = IQ4_VALUES
                .iter()
                .map(|&t| (t as f32 - v).abs())
                .fold(f32::INFINITY, f32::min);
            assert_eq!((got - v).abs(), best, "{v}");
        }
    }

    #[test]
    fn a_hand_built_block_dequantizes_by_the_table() {
        // d = 0.5; element j has index j % 16 (low nibbles), element j + 16 index 15 − j % 16.
        let mut b = BlockIQ4NL {
            d: half::f16::from_f32(0.5).to_bits().to_le_bytes(),
            qs: [0; 16],
        };
        for j in 0..16 {
            b.qs[j] = j as u8 | ((15 - j) as u8) << 4;
        }
        let mut out = [0f32; 32];
        b.dequantize(&mut out);
        for j in 0..16 {
            assert_eq!(out[j], 0.5 * IQ4_VALUES[j] as f32);
            assert_eq!(out[j + 16], 0.5 * IQ4_VALUES[15 - j] as f32);
        }
        // IQ4_XS: block 3's scale 45 − 32 = 13 (low nibble 0xD in the high half of
        // byte 1, top bits 0b10 at bits 6..8).
        let mut xs = BlockIQ4XS {
            d: half::f16::from_f32(0.25).to_bits().to_le_bytes(),
            scales_h: (0b10u16 << 6).to_le_bytes(),
            scales_l: [0, 0xD0, 0, 0],
            qs: [0; 128],
        };
        xs.qs[16 * 3] = 0xF0 | 2;
        assert_eq!(iq4xs_scale(&xs, 3), 13);
        assert_eq!(iq4xs_scale(&xs, 0), -32);
        let mut out = [0f32; 256];
        xs.dequantize(&mut out);
        assert_eq!(out[96], 0.25 * 13.0 * -83.0);
        assert_eq!(out[96 + 16], 0.25 * 13.0 * 113.0);
        assert_eq!(out[0], 0.25 * -32.0 * -127.0);
    }

    /// Quantizes and dequantizes `x`, and returns the largest error relative to the
    /// block's largest magnitude.
    fn round_trip_error<B: WeightBlock>(x: &[f32], blocks: &[B]) -> f32 {
        let mut y = vec![0f32; x.len()];
        for (b, out) in blocks.iter().zip(y.chunks_exact_mut(B::SIZE)) {
            b.dequantize(out);
        }
        x.chunks(32)
            .zip(y.chunks(32))
            .map(|(x, y)| {
                let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
                x.iter()
                    .zip(y)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max)
                    / amax
            })
            .fold(0f32, f32::max)
    }

    #[test]
    fn quantizers_round_trip_within_the_table_spacing() {
        let x = crate::engine::kernels::test_values(4 * 256, 9);
        // The widest gap of the table is 24 of 127 (−127 to −104): half of it, plus
        // the 6-bit scale's rounding for IQ4_XS.
        let nl = round_trip_error(&x, &quantize_iq4_nl(&x));
        assert!(nl > 0.0 && nl <= 12.5 / 127.0 * 1.05, "{nl}");
        let xs = round_trip_error(&x, &quantize_iq4_xs(&x));
        assert!(xs > 0.0 && xs <= 12.5 / 127.0 * 1.05 + 1.0 / 32.0, "{xs}");
        // Zero blocks stay zero.
        let zero = quantize_iq4_xs(&[0.0; 256]);
        let mut out = [1f32; 256];
        zero[0].dequantize(&mut out);
        assert!(out.iter().all(|&v| v == 0.0));
    }
}
