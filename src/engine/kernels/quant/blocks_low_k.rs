//! The 2- and 3-bit K-quants (Q2_K, Q3_K), ggml's layouts byte for byte, with the
//! scalar reference for each. Both split a 256-element super-block into 16 groups of
//! 16 with a scale each, and store the low 2 bits of element `128n + 32j + l` in bits
//! `2j..2j+2` of byte `32n + l` of `qs`.

use super::activations::Q8K;
use super::blocks::{f16_to_f32, WeightBlock, QK_K};

/// 2-bit values `q` with a 4-bit scale and a 4-bit min per group of 16:
/// `x = d · scale · q − dmin · min`.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct BlockQ2K {
    /// Group `g`'s scale in the low nibble of byte `g`, its min in the high nibble.
    pub scales: [u8; 16],
    pub qs: [u8; 64],
    pub d: [u8; 2],
    pub dmin: [u8; 2],
}

/// 3-bit values (the 2 low bits in `qs`, the third in `hmask`) with a 6-bit scale per
/// group of 16: `x = d · (scale − 32) · (q − 4)`.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct BlockQ3K {
    /// Bit `4n + j` of byte `l` is the third bit of element `128n + 32j + l`.
    pub hmask: [u8; 32],
    pub qs: [u8; 64],
    /// 16 scales of 6 bits: see [`q3k_scales`].
    pub scales: [u8; 12],
    pub d: [u8; 2],
}

const _: () = assert!(std::mem::size_of::<BlockQ2K>() == 84);
const _: () = assert!(std::mem::size_of::<BlockQ3K>() == 110);

/// The 2-bit fields of `qs`, in element order (0..4).
#[inline]
pub fn two_bits(qs: &[u8; 64]) -> [u8; QK_K] {
    let mut q = [0u8; QK_K];
    for (i, v) in q.iter_mut().enumerate() {
        let (n, j, l) = (i / 128, i % 128 / 32, i % 32);
        *v = (qs[32 * n + l] >> (2 * j)) & 3;
    }
    q
}

/// A Q3_K block's values as unsigned 0..8 (4 above the signed ones), in element order.
#[inline]
pub fn q3k_values(b: &BlockQ3K) -> [u8; QK_K] {
    let mut q = two_bits(&b.qs);
    for (i, v) in q.iter_mut().enumerate() {
        let (n, j, l) = (i / 128, i % 128 / 32, i % 32);
        *v |= ((b.hmask[l] >> (4 * n + j)) & 1) << 2;
    }
    q
}

/// A Q3_K block's 16 group scales, less their offset of 32 (−32..32). Scale `g` keeps
/// its low 4 bits in byte `g` (low nibble, `g < 8`) or byte `g − 8` (high nibble), and
/// its top 2 bits at bit `2(g / 4)` of byte `8 + g % 4`. Unpacked four at a time in
/// 32-bit words: the kernels call this once per super-block.
#[inline]
pub fn q3k_scales(packed: &[u8; 12]) -> [i8; 16] {
    const LOW4: u32 = 0x0f0f_0f0f;
    const LOW2: u32 = 0x0303_0303;
    let word = |i: usize| u32::from_le_bytes(std::array::from_fn(|b| packed[4 * i + b]));
    let (w0, w1, w2) = (word(0), word(1), word(2));
    let words = [
        (w0 & LOW4) | (w2 & LOW2) << 4,
        (w1 & LOW4) | ((w2 >> 2) & LOW2) << 4,
        ((w0 >> 4) & LOW4) | ((w2 >> 4) & LOW2) << 4,
        ((w1 >> 4) & LOW4) | ((w2 >> 6) & LOW2) << 4,
    ];
    std::array::from_fn(|g| words[g / 4].to_le_bytes()[g % 4] as i8 - 32)
}

/// `Σ_g scale_g · Σ_{16 in g} q·a` over a super-block.
#[inline]
fn grouped_dot(q: &[u8; QK_K], act: &Q8K, scale: impl Fn(usize) -> i32) -> i32 {
    (0..16)
        .map(|g| {
            let part: i32 = (0..16)
                .map(|l| q[16 * g + l] as i32 * act.qs[16 * g + l] as i32)
                .sum();
            scale(g) * part
        })
        .sum()
}

impl WeightBlock for BlockQ2K {
    const SIZE: usize = QK_K;
    type Act = Q8K;
    fn dequantize(&self, out: &mut [f32]) {
        let (d, dmin) = (f16_to_f32(self.d), f16_to_f32(self.dmin));
        for (i, q) in two_bits(&self.qs).into_iter().enumerate() {
            let sc = self.scales[i / 16];
            out[i] = d * (sc & 0x0F) as f32 * q as f32 - dmin * (sc >> 4) as f32;
        }
    }
    fn dot(&self, act: &Q8K) -> f32 {
        let q = two_bits(&self.qs);
        let sum = grouped_dot(&q, act, |g| (self.scales[g] & 0x0F) as i32);
        let mins: i32 = (0..16)
            .map(|g| (self.scales[g] >> 4) as i32 * act.bsums[g] as i32)
            .sum();
        act.d * (f16_to_f32(self.d) * sum as f32 - f16_to_f32(self.dmin) * mins as f32)
    }
}

impl WeightBlock for BlockQ3K {
    const SIZE: usize = QK_K;
    type Act = Q8K;
    fn dequantize(&self, out: &mut [f32]) {
        let d = f16_to_f32(self.d);
        let scales = q3k_scales(&self.scales);
        for (i, q) in q3k_values(self).into_iter().enumerate() {
            out[i] = d * scales[i / 16] as f32 * (q as f32 - 4.0);
        }
    }
    fn dot(&self, act: &Q8K) -> f32 {
        let scales = q3k_scales(&self.scales);
        let sum = grouped_dot(&q3k_values(self), act, |g| scales[g] as i32);
        // The −4 offset through the activations' sums per group.
        let offset: i32 = (0..16)
            .map(|g| scales[g] as i32 * act.bsums[g] as i32)
            .sum();
        f16_to_f32(self.d) * act.d * (sum - 4 * offset) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q3k_scales_follow_ggml_packing() {
        // Scale g = 4a + b (a, b < 4): low nibble 0x5 + g % 3, high bits a ^ b.
        let want: [u8; 16] =
            std::array::from_fn(|g| (5 + g % 3) as u8 | (((g / 4) ^ (g % 4)) as u8) << 4);
        let mut packed = [0u8; 12];
        for g in 0..16 {
            let low = want[g] & 0x0F;
            if g < 8 {
                packed[g] |= low;
            } else {
                packed[g - 8] |= low << 4;
            }
            packed[8 + g % 4] |= (want[g] >> 4) << (2 * (g / 4));
        }
        let got = q3k_scales(&packed);
        for g in 0..16 {
            assert_eq!(got[g] as i32, want[g] as i32 - 32, "scale {g}");
        }
    }

    #[test]
    fn element_order_follows_ggml() {
        // Element 128 + 64 + 5 (n = 1, j = 2, l = 5): bits 4..6 of qs[32 + 5], bit 6 of hmask[5].
        let mut b = BlockQ3K {
            hmask: [0; 32],
            qs: [0; 64],
            scales: [0; 12],
            d: [0; 2],
        };
        b.qs[37] = 0b11 << 4;
        b.hmask[5] = 1 << 6;
        let q = q3k_values(&b);
        assert_eq!(q[128 + 64 + 5], 7);
        assert_eq!(q.iter().map(|&v| v as u32).sum::<u32>(), 7);
    }
}
