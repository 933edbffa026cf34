//! GGUF's weight block layouts (ggml's, byte for byte) and the scalar reference for
//! each: how a block dequantizes and its dot product with quantized activations.
//! Every field is a byte array, so the structs have alignment 1 and a file's raw bytes
//! can be viewed as a slice of blocks without copying.

use super::activations::{ActBlock, Q8Block, Q8K};

/// Elements per K-quant super-block.
pub const QK_K: usize = 256;
/// Elements per block of the 32-element types.
pub const QK: usize = 32;

#[inline]
pub fn f16_to_f32(bytes: [u8; 2]) -> f32 {
    half::f16::from_bits(u16::from_le_bytes(bytes)).to_f32()
}

/// A ggml weight block: its layout, its size in elements, the activation block it pairs
/// with, and the scalar reference for dequantizing and for the dot product.
pub trait WeightBlock: Copy + Send + Sync + 'static {
    /// Elements per block.
    const SIZE: usize;
    /// The quantized activation block with the same number of elements.
    type Act: ActBlock;
    /// Writes the block's `SIZE` values to `out`.
    fn dequantize(&self, out: &mut [f32]);
    /// The dot product of this block with one activation block, exact in integers
    /// within the block and scaled in f32.
    fn dot(&self, act: &Self::Act) -> f32;
}

#[derive(Clone, Copy)]
#[repr(C)]
pub struct BlockQ4_0 {
    pub d: [u8; 2],
    pub qs: [u8; 16],
}

#[derive(Clone, Copy)]
#[repr(C)]
pub struct BlockQ4_1 {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qs: [u8; 16],
}

#[derive(Clone, Copy)]
#[repr(C)]
pub struct BlockQ5_0 {
    pub d: [u8; 2],
    pub qh: [u8; 4],
    pub qs: [u8; 16],
}

#[derive(Clone, Copy)]
#[repr(C)]
pub struct BlockQ5_1 {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qh: [u8; 4],
    pub qs: [u8; 16],
}

#[derive(Clone, Copy)]
#[repr(C)]
pub struct BlockQ8_0 {
    pub d: [u8; 2],
    pub qs: [i8; 32],
}

#[derive(Clone, Copy)]
#[repr(C)]
pub struct BlockQ4K {
    pub d: [u8; 2],
    pub dmin: [u8; 2],
    pub scales: [u8; 12],
    pub qs: [u8; 128],
}

#[derive(Clone, Copy)]
#[repr(C)]
pub struct BlockQ5K {
    pub d: [u8; 2],
    pub dmin: [u8; 2],
    pub scales: [u8; 12],
    pub qh: [u8; 32],
    pub qs: [u8; 128],
}

#[derive(Clone, Copy)]
#[repr(C)]
pub struct BlockQ6K {
    pub ql: [u8; 128],
    pub qh: [u8; 64],
    pub scales: [i8; 16],
    pub d: [u8; 2],
}

const _: () = assert!(std::mem::size_of::<BlockQ4_0>() == 18);
const _: () = assert!(std::mem::size_of::<BlockQ4_1>() == 20);
const _: () = assert!(std::mem::size_of::<BlockQ5_0>() == 22);
const _: () = assert!(std::mem::size_of::<BlockQ5_1>() == 24);
const _: () = assert!(std::mem::size_of::<BlockQ8_0>() == 34);
const _: () = assert!(std::mem::size_of::<BlockQ4K>() == 144);
const _: () = assert!(std::mem::size_of::<BlockQ5K>() == 176);
const _: () = assert!(std::mem::size_of::<BlockQ6K>() == 210);

/// The 4-bit values of a 32-element block: element `j` in the low nibble of byte `j`,
/// element `j + 16` in the high nibble.
#[inline]
fn nibbles(qs: &[u8; 16]) -> [u8; 32] {
    let mut q = [0u8; 32];
    for j in 0..16 {
        q[j] = qs[j] & 0x0F;
        q[j + 16] = qs[j] >> 4;
    }
    q
}

/// The 5-bit values of a Q5_0/Q5_1 block: the nibbles plus bit `j` of `qh` as bit 4.
#[inline]
fn five_bits(qs: &[u8; 16], qh: [u8; 4]) -> [u8; 32] {
    let high = u32::from_le_bytes(qh);
    let mut q = nibbles(qs);
    for (j, v) in q.iter_mut().enumerate() {
        *v |= (((high >> j) & 1) as u8) << 4;
    }
    q
}

/// `Σ q_j · a_j` over a block of unsigned weights.
#[inline]
fn dot_u8(q: &[u8; 32], a: &[i8; 32]) -> i32 {
    q.iter().zip(a).map(|(&q, &a)| q as i32 * a as i32).sum()
}

impl WeightBlock for BlockQ4_0 {
    const SIZE: usize = QK;
    type Act = Q8Block;
    fn dequantize(&self, out: &mut [f32]) {
        let d = f16_to_f32(self.d);
        for (o, q) in out.iter_mut().zip(nibbles(&self.qs)) {
            *o = d * (q as f32 - 8.0);
        }
    }
    fn dot(&self, act: &Q8Block) -> f32 {
        let d = f16_to_f32(self.d);
        d * (act.d * dot_u8(&nibbles(&self.qs), &act.qs) as f32 - 8.0 * act.dsum)
    }
}

impl WeightBlock for BlockQ4_1 {
    const SIZE: usize = QK;
    type Act = Q8Block;
    fn dequantize(&self, out: &mut [f32]) {
        let (d, m) = (f16_to_f32(self.d), f16_to_f32(self.m));
        for (o, q) in out.iter_mut().zip(nibbles(&self.qs)) {
            *o = d * q as f32 + m;
        }
    }
    fn dot(&self, act: &Q8Block) -> f32 {
        let sum = dot_u8(&nibbles(&self.qs), &act.qs);
        act.d * f16_to_f32(self.d) * sum as f32 + f16_to_f32(self.m) * act.dsum
    }
}

impl WeightBlock for BlockQ5_0 {
    const SIZE: usize = QK;
    type Act = Q8Block;
    fn dequantize(&self, out: &mut [f32]) {
        let d = f16_to_f32(self.d);
        for (o, q) in out.iter_mut().zip(five_bits(&self.qs, self.qh)) {
            *o = d * (q as f32 - 16.0);
        }
    }
    fn dot(&self, act: &Q8Block) -> f32 {
        let d = f16_to_f32(self.d);
        d * (act.d * dot_u8(&five_bits(&self.qs, self.qh), &act.qs) as f32 - 16.0 * act.dsum)
    }
}

impl WeightBlock for BlockQ5_1 {
    const SIZE: usize = QK;
    type Act = Q8Block;
    fn dequantize(&self, out: &mut [f32]) {
        let (d, m) = (f16_to_f32(self.d), f16_to_f32(self.m));
        for (o, q) in out.iter_mut().zip(five_bits(&self.qs, self.qh)) {
            *o = d * q as f32 + m;
        }
    }
    fn dot(&self, act: &Q8Block) -> f32 {
        let sum = dot_u8(&five_bits(&self.qs, self.qh), &act.qs);
        act.d * f16_to_f32(self.d) * sum as f32 + f16_to_f32(self.m) * act.dsum
    }
}

impl WeightBlock for BlockQ8_0 {
    const SIZE: usize = QK;
    type Act = Q8Block;
    fn dequantize(&self, out: &mut [f32]) {
        let d = f16_to_f32(self.d);
        for (o, &q) in out.iter_mut().zip(&self.qs) {
            *o = d * q as f32;
        }
    }
    fn dot(&self, act: &Q8Block) -> f32 {
        let sum: i32 = self
            .qs
            .iter()
            .zip(&act.qs)
            .map(|(&w, &a)| w as i32 * a as i32)
            .sum();
        f16_to_f32(self.d) * act.d * sum as f32
    }
}

/// The 6-bit scale and min of sub-block `j` (0..8) of a Q4_K/Q5_K block.
#[inline]
pub fn scale_min_k4(j: usize, q: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// A Q4_K/Q5_K block's values before scaling: sub-block `j` holds elements `32j..32j+32`.
#[inline]
fn k4_values(qs: &[u8; 128], qh: Option<&[u8; 32]>) -> [u8; QK_K] {
    let mut q = [0u8; QK_K];
    for chunk in 0..4 {
        for l in 0..32 {
            let byte = qs[32 * chunk + l];
            let (mut lo, mut hi) = (byte & 0x0F, byte >> 4);
            if let Some(qh) = qh {
                lo |= ((qh[l] >> (2 * chunk)) & 1) << 4;
                hi |= ((qh[l] >> (2 * chunk + 1)) & 1) << 4;
            }
            q[64 * chunk + l] = lo;
            q[64 * chunk + 32 + l] = hi;
        }
    }
    q
}

fn k4_dequantize(d: f32, dmin: f32, scales: &[u8; 12], q: &[u8; QK_K], out: &mut [f32]) {
    for j in 0..8 {
        let (sc, m) = scale_min_k4(j, scales);
        let (scale, min) = (d * sc as f32, dmin * m as f32);
        for l in 0..32 {
            out[32 * j + l] = scale * q[32 * j + l] as f32 - min;
        }
    }
}

fn k4_dot(d: f32, dmin: f32, scales: &[u8; 12], q: &[u8; QK_K], act: &Q8K) -> f32 {
    let (mut sum, mut mins) = (0i32, 0i32);
    for j in 0..8 {
        let (sc, m) = scale_min_k4(j, scales);
        let part: i32 = (0..32)
            .map(|l| q[32 * j + l] as i32 * act.qs[32 * j + l] as i32)
            .sum();
        sum += sc as i32 * part;
        mins += m as i32 * (act.bsums[2 * j] as i32 + act.bsums[2 * j + 1] as i32);
    }
    act.d * (d * sum as f32 - dmin * mins as f32)
}

impl WeightBlock for BlockQ4K {
    const SIZE: usize = QK_K;
    type Act = Q8K;
    fn dequantize(&self, out: &mut [f32]) {
        let (d, dmin) = (f16_to_f32(self.d), f16_to_f32(self.dmin));
        k4_dequantize(d, dmin, &self.scales, &k4_values(&self.qs, None), out)
    }
    fn dot(&self, act: &Q8K) -> f32 {
        let (d, dmin) = (f16_to_f32(self.d), f16_to_f32(self.dmin));
        k4_dot(d, dmin, &self.scales, &k4_values(&self.qs, None), act)
    }
}

impl WeightBlock for BlockQ5K {
    const SIZE: usize = QK_K;
    type Act = Q8K;
    fn dequantize(&self, out: &mut [f32]) {
        let (d, dmin) = (f16_to_f32(self.d), f16_to_f32(self.dmin));
        let q = k4_values(&self.qs, Some(&self.qh));
        k4_dequantize(d, dmin, &self.scales, &q, out)
    }
    fn dot(&self, act: &Q8K) -> f32 {
        let (d, dmin) = (f16_to_f32(self.d), f16_to_f32(self.dmin));
        let q = k4_values(&self.qs, Some(&self.qh));
        k4_dot(d, dmin, &self.scales, &q, act)
    }
}

/// A Q6_K block's unsigned values (0..64, 32 below the signed ones); element `16g..16g+16`
/// uses scale `g`.
#[inline]
fn q6k_values(b: &BlockQ6K) -> [u8; QK_K] {
    let mut q = [0u8; QK_K];
    for half in 0..2 {
        let (ql, qh) = (&b.ql[64 * half..], &b.qh[32 * half..]);
        let out = &mut q[128 * half..];
        for l in 0..32 {
            out[l] = (ql[l] & 0x0F) | ((qh[l] & 3) << 4);
            out[l + 32] = (ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4);
            out[l + 64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
            out[l + 96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
        }
    }
    q
}

impl WeightBlock for BlockQ6K {
    const SIZE: usize = QK_K;
    type Act = Q8K;
    fn dequantize(&self, out: &mut [f32]) {
        let d = f16_to_f32(self.d);
        for (i, q) in q6k_values(self).into_iter().enumerate() {
            out[i] = d * self.scales[i / 16] as f32 * (q as f32 - 32.0);
        }
    }
    fn dot(&self, act: &Q8K) -> f32 {
        let q = q6k_values(self);
        let mut sum = 0i32;
        for g in 0..16 {
            let part: i32 = (0..16)
                .map(|l| q[16 * g + l] as i32 * act.qs[16 * g + l] as i32)
                .sum();
            sum += self.scales[g] as i32 * (part - 32 * act.bsums[g] as i32);
        }
        f16_to_f32(self.d) * act.d * sum as f32
    }
}
