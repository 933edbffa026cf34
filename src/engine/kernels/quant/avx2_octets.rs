//! Prefill of the 32-element weight types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) on AVX2 with
//! eight weight rows interleaved in each register, so the lanes hold eight separate
//! outputs.
//!
//! The row-by-row kernels (`avx2_small`) end every block with a convert, a multiply
//! and a multiply-add per output, and on Zen 3 those share the two FP multiply pipes
//! with `maddubs`/`madd`: llvm-mca put an 8-row Q8_0 tile at 18.4 cycles per 256
//! multiply-adds, bound by those pipes. With outputs in lanes a block's integer sums
//! need no reduction, and its scale is applied once per eight outputs.
//!
//! The weights are unpacked to bytes and interleaved per task (a few dozen rows) into
//! a per-thread buffer that every activation tile reuses. On AVX2 machines the matrices
//! are held interleaved from load (`avx2_resident`) and fill the same buffer from their
//! own layout ([`rows_from`]); packing from ggml's layout serves matrices kept in it.

use std::arch::x86_64::*;
use std::cell::RefCell;
use std::ops::Range;

use super::activations::Q8Block;
use super::avx2_iq4::{block_values, value_table};
use super::avx2_small::{f16_pair, fifth_bits, lane1, nibbles};
use super::blocks::{BlockQ4_0, BlockQ4_1, BlockQ5_0, BlockQ5_1, BlockQ8_0, WeightBlock};
use super::blocks_iq4::BlockIQ4NL;

/// Weight rows per interleaved group.
const GROUP: usize = super::matmul::OCTET_ROWS;

/// A 32-element block as the interleaved kernel takes it: `d · Σ q·a + offset · Σ a`.
///
/// `avx2_small`'s row kernels decode the same fields inline on purpose: routing them
/// through this trait (6b05a8a, reverted) slowed the one-row Q5_0 product from
/// 4.28 to 6.25 s in the kernel probe, and that kernel is the decode path.
pub(super) trait Unpack: WeightBlock<Act = Q8Block> {
    /// Whether the values are signed bytes (Q8_0) rather than unsigned with an offset.
    const SIGNED: bool;

    /// The 32 values in element order, the scale and the offset per unit of the
    /// activations' sum.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    unsafe fn unpack(&self) -> (__m256i, f32, f32);
}

impl Unpack for BlockQ4_0 {
    const SIGNED: bool = false;
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn unpack(&self) -> (__m256i, f32, f32) {
        let d = _mm_cvtss_f32(f16_pair(self, 0));
        (nibbles(&self.qs), d, -8.0 * d)
    }
}

impl Unpack for BlockQ4_1 {
    const SIGNED: bool = false;
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn unpack(&self) -> (__m256i, f32, f32) {
        let scales = f16_pair(self, 0);
        (nibbles(&self.qs), _mm_cvtss_f32(scales), lane1(scales))
    }
}

impl Unpack for BlockQ5_0 {
    const SIGNED: bool = false;
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn unpack(&self) -> (__m256i, f32, f32) {
        let d = _mm_cvtss_f32(f16_pair(self, 0));
        let q = _mm256_or_si256(nibbles(&self.qs), fifth_bits(self.qh));
        (q, d, -16.0 * d)
    }
}

impl Unpack for BlockQ5_1 {
    const SIGNED: bool = false;
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn unpack(&self) -> (__m256i, f32, f32) {
        let scales = f16_pair(self, 0);
        let q = _mm256_or_si256(nibbles(&self.qs), fifth_bits(self.qh));
        (q, _mm_cvtss_f32(scales), lane1(scales))
    }
}

impl Unpack for BlockQ8_0 {
    const SIGNED: bool = true;
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn unpack(&self) -> (__m256i, f32, f32) {
        // SAFETY: `qs` is 32 bytes.
        let q = unsafe { _mm256_loadu_si256(self.qs.as_ptr().cast()) };
        (q, _mm_cvtss_f32(f16_pair(self, 0)), 0.0)
    }
}

impl Unpack for BlockIQ4NL {
    const SIGNED: bool = true;
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn unpack(&self) -> (__m256i, f32, f32) {
        let q = block_values(value_table(), &self.qs);
        (q, _mm_cvtss_f32(f16_pair(self, 0)), 0.0)
    }
}

/// Block `i` of eight weight rows: their scales and offsets, and their values with
/// elements `4k..4k + 4` of row `j` in 32-bit lane `j` of `qs[k]`.
#[derive(Clone, Copy)]
#[repr(C, align(32))]
pub(super) struct Interleaved {
    d: [f32; GROUP],
    offset: [f32; GROUP],
    qs: [[u32; GROUP]; GROUP],
}

impl Interleaved {
    /// A block of eight rows from registers already in this layout (`avx2_resident`).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) fn from_registers(qs: [__m256i; GROUP], d: __m256, offset: __m256) -> Self {
        let mut block = Self {
            d: [0.0; GROUP],
            offset: [0.0; GROUP],
            qs: [[0; GROUP]; GROUP],
        };
        // SAFETY: every destination is 8 f32s or 8 u32s.
        unsafe {
            _mm256_storeu_ps(block.d.as_mut_ptr(), d);
            _mm256_storeu_ps(block.offset.as_mut_ptr(), offset);
            for (k, q) in qs.into_iter().enumerate() {
                _mm256_storeu_si256(block.qs[k].as_mut_ptr().cast(), q);
            }
        }
        block
    }
}

thread_local! {
    static PACKED: RefCell<Vec<Interleaved>> = const { RefCell::new(Vec::new()) };
}

/// Interleaves `rows` (a whole number of groups) of `w`, `per_row` blocks each.
#[target_feature(enable = "avx2,fma,f16c")]
fn pack<B: Unpack>(w: &[B], per_row: usize, rows: Range<usize>, out: &mut Vec<Interleaved>) {
    debug_assert_eq!(rows.len() % GROUP, 0);
    out.clear();
    for first in rows.step_by(GROUP) {
        for i in 0..per_row {
            let mut packed = Interleaved {
                d: [0.0; GROUP],
                offset: [0.0; GROUP],
                qs: [[0; GROUP]; GROUP],
            };
            for j in 0..GROUP {
                // SAFETY: the caller checked the CPU features.
                let (q, d, offset) = unsafe { w[(first + j) * per_row + i].unpack() };
                let mut words = [0u32; GROUP];
                // SAFETY: `words` is 32 bytes.
                unsafe { _mm256_storeu_si256(words.as_mut_ptr().cast(), q) };
                for (k, word) in words.into_iter().enumerate() {
                    packed.qs[k][j] = word;
                }
                packed.d[j] = d;
                packed.offset[j] = offset;
            }
            out.push(packed);
        }
    }
}

/// Block `i` of eight interleaved rows as [`group_dots`] reads it: [`Interleaved`]
/// here, or a matrix's own interleaved blocks (`avx2_resident`).
pub(super) trait GroupBlock {
    /// Elements `4k..4k + 4` of row `j` in 32-bit lane `j`.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    unsafe fn values(&self, k: usize) -> __m256i;

    /// The eight rows' scales and offsets.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    unsafe fn scales(&self) -> (__m256, __m256);
}

impl GroupBlock for Interleaved {
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn values(&self, k: usize) -> __m256i {
        // SAFETY: `qs[k]` is 32 bytes, 32-byte aligned with the struct.
        unsafe { _mm256_load_si256(self.qs[k].as_ptr().cast()) }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn scales(&self) -> (__m256, __m256) {
        // SAFETY: `d` and `offset` are 8 f32s, 32-byte aligned with the struct.
        unsafe {
            (
                _mm256_load_ps(self.d.as_ptr()),
                _mm256_load_ps(self.offset.as_ptr()),
            )
        }
    }
}

/// `y[t][j] = Σ_i d_j · d_t · Σ q·a + offset_j · Σ_t a` over one group's blocks, for
/// `R` activation rows.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn group_dots<B: Unpack, G: GroupBlock, const R: usize>(
    w: &[G],
    acts: [&[Q8Block]; R],
) -> [[f32; GROUP]; R] {
    assert!(acts.iter().all(|a| a.len() >= w.len()));
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); R];
    for (i, b) in w.iter().enumerate() {
        // SAFETY: the assert above makes every row at least as long as `w`.
        let blocks: [&Q8Block; R] = std::array::from_fn(|r| unsafe { acts[r].get_unchecked(i) });
        let mut sums = [_mm256_setzero_si256(); R];
        // Unsigned 4- and 5-bit weights: four registers' `maddubs` lanes (8 · 31 · 127
        // at most) add up in 16 bits, so one `madd` widens four (the integer
        // multiplies share one pipe on Zen 1/2). The sums are the same integers.
        let mut narrow = [_mm256_setzero_si256(); R];
        for k in 0..GROUP {
            // SAFETY: the caller checked the CPU features.
            let q = unsafe { b.values(k) };
            // maddubs multiplies unsigned by signed: signed weights move their signs
            // onto the activations.
            let magnitude = if B::SIGNED { _mm256_sign_epi8(q, q) } else { q };
            for r in 0..R {
                let a = quad(&blocks[r].qs, k);
                let a = if B::SIGNED { _mm256_sign_epi8(a, q) } else { a };
                let products = _mm256_maddubs_epi16(magnitude, a);
                if B::SIGNED {
                    // Signed bytes reach 2 · 128 · 127 per lane: widen each register.
                    sums[r] = _mm256_add_epi32(sums[r], _mm256_madd_epi16(products, ones));
                } else {
                    narrow[r] = _mm256_add_epi16(narrow[r], products);
                    if k % 4 == 3 {
                        sums[r] = _mm256_add_epi32(sums[r], _mm256_madd_epi16(narrow[r], ones));
                        narrow[r] = _mm256_setzero_si256();
                    }
                }
            }
        }
        // SAFETY: the caller checked the CPU features.
        let (d, offset) = unsafe { b.scales() };
        for r in 0..R {
            let scale = _mm256_mul_ps(d, _mm256_broadcast_ss(&blocks[r].d));
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[r]), scale, acc[r]);
            if !B::SIGNED {
                acc[r] = _mm256_fmadd_ps(offset, _mm256_broadcast_ss(&blocks[r].dsum), acc[r]);
            }
        }
    }
    acc.map(|v| {
        let mut out = [0f32; GROUP];
        // SAFETY: `out` is 8 f32s.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), v) };
        out
    })
}

/// Activation rows per tile (then 2 and 1 for the rest). Three rows' integer and float
/// sums, the weights and the temporaries fit the 16 registers; at four, LLVM spilled
/// 47 of the loop's 239 instructions to the stack (llvm-mca, znver3, Q8_0: 18.3
/// multiply-adds per cycle at four rows, 20.7 at three; the row kernel's tile 13.9).
const TILE_ROWS: usize = 3;

/// The products of weight rows `rows` (a whole number of groups) with all `m` rows of
/// `acts` (`per_row` blocks each), given to `put(activation row, weight row, value)`.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn rows<B: Unpack>(
    w: &[B],
    per_row: usize,
    rows: Range<usize>,
    acts: &[Q8Block],
    m: usize,
    put: &mut impl FnMut(usize, usize, f32),
) {
    let fill = |packed: &mut Vec<Interleaved>| pack(w, per_row, rows.clone(), packed);
    // SAFETY: the caller checked the CPU features.
    unsafe { rows_from::<B>(fill, per_row, rows.start, acts, m, put) }
}

/// [`rows`] for weights `fill` interleaves into the per-thread buffer: groups of eight
/// rows, `per_row` blocks each, the first for weight row `first_row`.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn rows_from<B: Unpack>(
    fill: impl FnOnce(&mut Vec<Interleaved>),
    per_row: usize,
    first_row: usize,
    acts: &[Q8Block],
    m: usize,
    put: &mut impl FnMut(usize, usize, f32),
) {
    with_buffer(&PACKED, |packed| {
        fill(packed);
        let act = |t: usize| &acts[t * per_row..(t + 1) * per_row];
        each_tile(
            packed,
            per_row,
            first_row,
            m,
            TILE_ROWS,
            put,
            |group, r0, tile| match tile {
                3 => widen(group_dots::<B, _, 3>(
                    group,
                    [act(r0), act(r0 + 1), act(r0 + 2)],
                )),
                2 => widen(group_dots::<B, _, 2>(group, [act(r0), act(r0 + 1)])),
                _ => widen(group_dots::<B, _, 1>(group, [act(r0)])),
            },
        )
    })
}

/// Activation bytes `4k..4k + 4` in every 32-bit lane.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn quad(qs: &[i8], k: usize) -> __m256i {
    let q = &qs[4 * k..4 * k + 4];
    _mm256_set1_epi32(i32::from_le_bytes([
        q[0] as u8, q[1] as u8, q[2] as u8, q[3] as u8,
    ]))
}

/// The most activation rows an interleaved kernel's tile takes (`avx2_k_octets`).
pub(super) const WIDEST_TILE: usize = 4;

/// A tile's values padded to [`WIDEST_TILE`] rows, for [`each_tile`].
pub(super) fn widen<const R: usize>(values: [[f32; GROUP]; R]) -> [[f32; GROUP]; WIDEST_TILE] {
    const { assert!(R <= WIDEST_TILE) };
    std::array::from_fn(|t| if t < R { values[t] } else { [0.0; GROUP] })
}

/// Runs `f` with this thread's buffer `cell` (or a fresh one where a kernel above on
/// the stack holds it).
pub(super) fn with_buffer<P: 'static, T>(
    cell: &'static std::thread::LocalKey<RefCell<Vec<P>>>,
    f: impl FnOnce(&mut Vec<P>) -> T,
) -> T {
    cell.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffer) => f(&mut buffer),
        Err(_) => f(&mut Vec::new()),
    })
}

/// Walks the interleaved groups of `packed` (`per_row` blocks each, the first for weight
/// row `first_row`) over tiles of the `m` activation rows (`widest`, then 2 and 1):
/// `dots(group, first activation row, rows in tile)` gives a tile's values, which go
/// to `put(activation row, weight row, value)`.
pub(super) fn each_tile<P>(
    packed: &[P],
    per_row: usize,
    first_row: usize,
    m: usize,
    widest: usize,
    put: &mut impl FnMut(usize, usize, f32),
    mut dots: impl FnMut(&[P], usize, usize) -> [[f32; GROUP]; WIDEST_TILE],
) {
    let mut r0 = 0;
    while r0 < m {
        let tile = match m - r0 {
            left if left >= widest => widest,
            left => left.min(2),
        };
        for (g, group) in packed.chunks_exact(per_row).enumerate() {
            let first = first_row + g * GROUP;
            for (t, row) in dots(group, r0, tile)[..tile].iter().enumerate() {
                for (j, &v) in row.iter().enumerate() {
                    put(r0 + t, first + j, v);
                }
            }
        }
        r0 += tile;
    }
}
