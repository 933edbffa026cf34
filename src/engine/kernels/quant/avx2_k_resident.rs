//! Q4_K, Q5_K and Q6_K matrices held with eight weight rows interleaved per register for
//! the matrix's whole life on AVX2 machines, as `avx2_resident` holds the 32-element types.
//!
//! The row kernels (`avx2_kquants`) end every super-block of every output with a
//! horizontal reduction, and `avx2_k_octets` unpacks and interleaves each product's
//! weights first, which pays only from 32 activation rows; a Q4_K_M file's K-quant
//! matrices were a fifth of a four-sequence decode. Interleaved once, at load, every
//! product takes `avx2_k_octets`' kernel without the unpacking.
//!
//! The layout takes exactly the bytes of the eight ggml rows it replaces: values stay
//! packed (nibbles, and the high bits in words of their own), the 6-bit scales and mins
//! stay 6-bit, rearranged so that a few register operations decode eight rows' at once.
//! Rows past the last whole group keep ggml's layout. The kernel is `avx2_k_octets`',
//! so every value has the row kernels' bits.

use std::arch::x86_64::*;
use std::ops::Range;

use super::activations::Q8K;
use super::avx2_k_octets::{self, Interleaved, KGroup, KPack};
use super::avx2_resident::{
    bit_at_4, f16_lanes, interleave_words, nibbles, row_words, split, Resident, Word,
};
pub(super) use super::avx2_resident::{ggml_row, interleave};
use super::blocks::{scale_min_k4, BlockQ4K, BlockQ5K, BlockQ6K};
use super::matmul::{OCTETS_MIN_ROWS, OCTET_ROWS as GROUP};

/// Eight rows' sub-block scales and mins (Q4_K, Q5_K: 6 bits each, 12 bytes a row),
/// rearranged for [`decode`](Self::decode). Value `v` of a row is sub-block `v`'s scale
/// for `v < 8`, else sub-block `v - 8`'s min.
#[derive(Clone, Copy)]
#[repr(C)]
struct Scales6 {
    /// Byte `[q][j]`: row `j`'s value `q` in the low nibble, value `q + 8` in the high.
    low: [[u8; GROUP]; 8],
    /// Byte `[q][j]`: the top two bits of row `j`'s values `q`, `q + 4`, `q + 8`, `q + 12`.
    high: [[u8; GROUP]; 4],
}

/// Eight rows' 16 values as [`Scales6::decode`] gives them: `[v][j]`.
type Values16 = [[u8; GROUP]; 16];

impl Scales6 {
    fn new(rows: [&[u8; 12]; GROUP]) -> Self {
        let values: [[u8; 16]; GROUP] = rows.map(|q| {
            let pairs: [(u8, u8); 8] = std::array::from_fn(|s| scale_min_k4(s, q));
            std::array::from_fn(|v| if v < 8 { pairs[v].0 } else { pairs[v - 8].1 })
        });
        Scales6 {
            low: std::array::from_fn(|q| {
                std::array::from_fn(|j| (values[j][q] & 15) | (values[j][q + 8] & 15) << 4)
            }),
            high: std::array::from_fn(|q| {
                std::array::from_fn(|j| {
                    (0..4).fold(0, |h, t| h | (values[j][q + 4 * t] >> 4) << (2 * t))
                })
            }),
        }
    }

    /// Row `j`'s 12 bytes in ggml's packing (the inverse of `scale_min_k4`).
    fn row(&self, j: usize) -> [u8; 12] {
        let value = |v: usize| {
            let (q, t) = (v % 8, v / 8);
            let low = (self.low[q][j] >> (4 * t)) & 15;
            let (q, t) = (v % 4, v / 4);
            low | ((self.high[q][j] >> (2 * t)) & 3) << 4
        };
        let (scale, min) = (|s| value(s), |s| value(s + 8));
        let mut q = [0u8; 12];
        for s in 0..4 {
            q[s] = scale(s) | (scale(s + 4) >> 4) << 6;
            q[s + 4] = min(s) | (min(s + 4) >> 4) << 6;
            q[s + 8] = (scale(s + 4) & 15) | (min(s + 4) & 15) << 4;
        }
        q
    }

    /// The eight rows' 16 values each, `[v][j]`.
    #[target_feature(enable = "avx2,fma,f16c")]
    fn decode(&self) -> Values16 {
        let load = |bytes: &[[u8; GROUP]]| {
            // SAFETY: four rows of eight bytes are 32 bytes.
            unsafe { _mm256_loadu_si256(bytes.as_ptr().cast()) }
        };
        let (low, high) = (load(&self.low[..4]), load(&self.high));
        let low2 = load(&self.low[4..]);
        let nibble = _mm256_set1_epi8(0x0F);
        let top = _mm256_set1_epi8(0x30);
        // 16-bit shifts: what a byte takes in from its neighbour falls outside the masks.
        let values = [
            // Values 0..4, 4..8, 8..12, 12..16, each `[q][j]` over 32 bytes.
            (low, _mm256_slli_epi16::<4>(high), false),
            (low2, _mm256_slli_epi16::<2>(high), false),
            (low, high, true),
            (low2, _mm256_srli_epi16::<2>(high), true),
        ]
        .map(|(low, high, upper)| {
            let low = match upper {
                true => _mm256_srli_epi16::<4>(low),
                false => low,
            };
            _mm256_or_si256(_mm256_and_si256(low, nibble), _mm256_and_si256(high, top))
        });
        let mut out = [[0u8; GROUP]; 16];
        for (quarter, v) in values.into_iter().enumerate() {
            // SAFETY: rows 4·quarter..4·quarter + 4 of `out` are 32 bytes.
            unsafe { _mm256_storeu_si256(out[4 * quarter..].as_mut_ptr().cast(), v) };
        }
        out
    }
}

/// Rows' `lo[j]` in the low and `hi[j]` in the high 16-bit lane of 32-bit lane `j`,
/// sign-extended (Q6_K's scales are signed; Q4_K's are at most 63).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn pairs(lo: &[u8; GROUP], hi: &[u8; GROUP]) -> __m256i {
    // SAFETY: each is 8 bytes.
    let widen =
        |v: &[u8; GROUP]| unsafe { _mm256_cvtepi8_epi32(_mm_loadl_epi64(v.as_ptr().cast())) };
    _mm256_blend_epi16::<0b1010_1010>(widen(lo), _mm256_slli_epi32::<16>(widen(hi)))
}

/// Super-block `i` of eight Q4_K rows: row `j`'s `qs` as [`interleave_words`] lays out
/// words (so word `8c + w` holds elements `64c + 4w..` in its low nibbles and
/// `64c + 32 + 4w..` in its high ones), the scales as [`Scales6`].
#[derive(Clone, Copy)]
#[repr(C)]
pub(super) struct Q4KOctet {
    d: [[u8; 2]; GROUP],
    dmin: [[u8; 2]; GROUP],
    scales: Scales6,
    qs: [Word; 32],
}

/// [`Q4KOctet`] and the fifth bits: element `64c + 32u + 4w + b`'s is bit `2c + u` of
/// row `j`'s `qh` byte `4w + b`, in lane `j` of word `w`.
#[derive(Clone, Copy)]
#[repr(C)]
pub(super) struct Q5KOctet {
    d: [[u8; 2]; GROUP],
    dmin: [[u8; 2]; GROUP],
    scales: Scales6,
    qh: [Word; 8],
    qs: [Word; 32],
}

/// Super-block `i` of eight Q6_K rows, the signed scales as `[sub-block][row]`, then
/// per half `h` of the values the words of eight rows' `ql` chunk `2h`, of `qh`
/// bytes `32h..32h + 32` and of `ql` chunk `2h + 1`, as [`interleave_words`] lays out
/// rows' bytes: the order the kernel first reads them in.
#[derive(Clone, Copy)]
#[repr(C)]
pub(super) struct Q6KOctet {
    d: [[u8; 2]; GROUP],
    scales: [[u8; GROUP]; 16],
    halves: [Q6Half; 2],
}

#[derive(Clone, Copy)]
#[repr(C)]
struct Q6Half {
    ql_even: [Word; 8],
    qh: [Word; 8],
    ql_odd: [Word; 8],
}

const _: () = assert!(std::mem::size_of::<Q4KOctet>() == GROUP * std::mem::size_of::<BlockQ4K>());
const _: () = assert!(std::mem::size_of::<Q5KOctet>() == GROUP * std::mem::size_of::<BlockQ5K>());
const _: () = assert!(std::mem::size_of::<Q6KOctet>() == GROUP * std::mem::size_of::<BlockQ6K>());

impl Resident for BlockQ4K {
    type Octet = Q4KOctet;

    fn interleave(rows: [&Self; GROUP]) -> Q4KOctet {
        Q4KOctet {
            qs: interleave_words(rows.map(|r| &r.qs[..])),
            scales: Scales6::new(rows.map(|r| &r.scales)),
            d: rows.map(|r| r.d),
            dmin: rows.map(|r| r.dmin),
        }
    }

    fn row_block(octet: &Q4KOctet, j: usize) -> Self {
        BlockQ4K {
            d: octet.d[j],
            dmin: octet.dmin[j],
            scales: octet.scales.row(j),
            qs: row_words(&octet.qs, j),
        }
    }
}

impl Resident for BlockQ5K {
    type Octet = Q5KOctet;

    fn interleave(rows: [&Self; GROUP]) -> Q5KOctet {
        Q5KOctet {
            qs: interleave_words(rows.map(|r| &r.qs[..])),
            qh: interleave_words(rows.map(|r| &r.qh[..])),
            scales: Scales6::new(rows.map(|r| &r.scales)),
            d: rows.map(|r| r.d),
            dmin: rows.map(|r| r.dmin),
        }
    }

    fn row_block(octet: &Q5KOctet, j: usize) -> Self {
        BlockQ5K {
            d: octet.d[j],
            dmin: octet.dmin[j],
            scales: octet.scales.row(j),
            qh: row_words(&octet.qh, j),
            qs: row_words(&octet.qs, j),
        }
    }
}

impl Resident for BlockQ6K {
    type Octet = Q6KOctet;

    fn interleave(rows: [&Self; GROUP]) -> Q6KOctet {
        let ql: [Word; 32] = interleave_words(rows.map(|r| &r.ql[..]));
        let qh: [Word; 16] = interleave_words(rows.map(|r| &r.qh[..]));
        let eight = |words: &[Word], at: usize| std::array::from_fn(|w| words[at + w]);
        Q6KOctet {
            d: rows.map(|r| r.d),
            scales: std::array::from_fn(|s| std::array::from_fn(|j| rows[j].scales[s] as u8)),
            halves: std::array::from_fn(|h| Q6Half {
                ql_even: eight(&ql, 16 * h),
                qh: eight(&qh, 8 * h),
                ql_odd: eight(&ql, 16 * h + 8),
            }),
        }
    }

    fn row_block(octet: &Q6KOctet, j: usize) -> Self {
        let [a, b] = &octet.halves;
        let ql = [a.ql_even, a.ql_odd, b.ql_even, b.ql_odd].concat();
        BlockQ6K {
            ql: row_words(&ql, j),
            qh: row_words(&[a.qh, b.qh].concat(), j),
            scales: std::array::from_fn(|s| octet.scales[s][j] as i8),
            d: octet.d[j],
        }
    }
}

/// Register `8Q + w` of a Q4_K/Q5_K octet's nibbles: chunk `Q / 2`, low nibbles for
/// even `Q`, high for odd.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn k4_nibbles<const Q: usize>(qs: &[Word; 32], w: usize) -> __m256i {
    nibbles(&qs[GROUP * (Q / 2) + w], Q % 2 == 1)
}

impl Q4KOctet {
    /// Q4_K has no fifth bits.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn fifth_bits<const Q: usize>(&self, _: usize) -> __m256i {
        _mm256_setzero_si256()
    }
}

impl Q5KOctet {
    /// Register `8Q + w`'s fifth bits, at bit 4: bit `Q` of word `w`.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn fifth_bits<const Q: usize>(&self, w: usize) -> __m256i {
        // SAFETY: a word is 32 bytes.
        let qh = unsafe { _mm256_loadu_si256(self.qh[w].as_ptr().cast()) };
        bit_at_4(qh, Q)
    }
}

macro_rules! k4_group {
    ($($octet:ty),*) => {$(
        impl KGroup for $octet {
            type Scales = Values16;

            #[target_feature(enable = "avx2,fma,f16c")]
            unsafe fn values<const Q: usize>(&self, w: usize) -> __m256i {
                _mm256_or_si256(k4_nibbles::<Q>(&self.qs, w), self.fifth_bits::<Q>(w))
            }

            #[target_feature(enable = "avx2,fma,f16c")]
            unsafe fn scales(&self) -> Values16 {
                self.scales.decode()
            }

            #[target_feature(enable = "avx2,fma,f16c")]
            unsafe fn scale(&self, values: &Values16, s: usize) -> __m256i {
                pairs(&values[s], &values[s])
            }

            #[target_feature(enable = "avx2,fma,f16c")]
            unsafe fn offset(&self, values: &Values16, p: usize) -> __m256i {
                // A sub-block's min multiplies both of its halves' sums.
                pairs(&values[8 + p], &values[8 + p])
            }

            #[target_feature(enable = "avx2,fma,f16c")]
            unsafe fn weights(&self) -> (__m256, __m256) {
                (f16_lanes(&self.d), f16_lanes(&self.dmin))
            }
        }
    )*};
}
k4_group!(Q4KOctet, Q5KOctet);

impl KGroup for Q6KOctet {
    type Scales = ();

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn values<const Q: usize>(&self, w: usize) -> __m256i {
        // Register 8Q + w = 32h + 8t + w: elements 128h + 32t + 4w.., whose low four bits
        // are nibbles of `ql` chunk 2h + t % 2 (high ones for t ≥ 2) and whose bits 4 and
        // 5 are bits 2t, 2t + 1 of half h's `qh` word w.
        let (half, t) = (&self.halves[Q / 4], Q % 4);
        let ql = match t % 2 {
            0 => &half.ql_even,
            _ => &half.ql_odd,
        };
        let low = nibbles(&ql[w], t >= 2);
        // SAFETY: a word is 32 bytes.
        let qh = unsafe { _mm256_loadu_si256(half.qh[w].as_ptr().cast()) };
        let high = match t {
            0 => _mm256_slli_epi16::<4>(qh),
            1 => _mm256_slli_epi16::<2>(qh),
            2 => qh,
            _ => _mm256_srli_epi16::<2>(qh),
        };
        _mm256_or_si256(low, _mm256_and_si256(high, _mm256_set1_epi8(0x30)))
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn scales(&self) {}

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn scale(&self, _: &(), s: usize) -> __m256i {
        pairs(&self.scales[s], &self.scales[s])
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn offset(&self, _: &(), p: usize) -> __m256i {
        // The −32 offset: each group's scale times its sum (`Finish` multiplies by 32).
        pairs(&self.scales[2 * p], &self.scales[2 * p + 1])
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn weights(&self) -> (__m256, __m256) {
        (f16_lanes(&self.d), _mm256_setzero_ps())
    }
}

/// The products of weight rows `rows` (starting at a multiple of eight) of a matrix
/// interleaved by [`interleave`] (`w` as its bytes' blocks, `per_row` per row) with all
/// `m` rows of `acts`, given to `put(activation row, weight row, value)`.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn rows<B: Resident + KPack>(
    w: &[B],
    per_row: usize,
    rows: Range<usize>,
    acts: &[Q8K],
    m: usize,
    put: &mut impl FnMut(usize, usize, f32),
) where
    B::Octet: KGroup,
{
    let (octets, whole, tail) = split(w, per_row, rows);
    // SAFETY (all three): the caller checked the CPU features.
    if m >= OCTETS_MIN_ROWS {
        // Many tiles would decode each register again: decode the task's groups once
        // into `avx2_k_octets`' buffer and let its kernel take the tiles.
        let fill = |packed: &mut Vec<Interleaved>| {
            packed.clear();
            packed.extend(
                octets
                    .iter()
                    .map(|o| unsafe { Interleaved::from_group::<B, _>(o) }),
            );
        };
        unsafe { avx2_k_octets::rows_from::<B>(fill, per_row, whole.start, acts, m, put) };
    } else {
        unsafe { avx2_k_octets::tiles::<B, B::Octet>(octets, per_row, whole.start, acts, m, put) };
    }
    unsafe { avx2_k_octets::ggml_rows(w, per_row, tail, acts, m, put) };
}
