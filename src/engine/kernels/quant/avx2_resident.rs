//! The 32-element types' matrices (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) held with eight
//! weight rows interleaved per register for the matrix's whole life on AVX2 machines, as
//! llama.cpp repacks Q4_0 at load.
//!
//! `avx2_lanes` reads ggml's rows where they lie and must reduce every block's eight
//! rows with horizontal adds before scaling it; on Zen 1 that reduction cost as much
//! as the products. `avx2_octets` needs no reduction but interleaves each product's
//! weights first, which pays only from 32 activation rows. Interleaving once, at load,
//! gives every product the interleaved kernel, decode and batched decode included.
//!
//! The layout takes exactly the bytes of the eight ggml rows it replaces (scales stay
//! f16, nibbles stay packed), so memory does not grow; rows past the last whole group
//! keep ggml's layout. Per output the integer block sums are exact and the float steps
//! are `avx2_octets`' and `avx2_lanes`', so every value has the same bits as there.

use std::arch::x86_64::*;
use std::ops::Range;

use super::activations::Q8Block;
use super::avx2_iq4::value_table;
use super::avx2_lanes;
use super::avx2_octets::{self, each_tile, group_dots, widen, GroupBlock, Interleaved, Unpack};
use super::blocks::{BlockQ4_0, BlockQ4_1, BlockQ5_0, BlockQ5_1, BlockQ8_0};
use super::blocks_iq4::BlockIQ4NL;
use super::matmul::{OCTETS_MIN_ROWS, OCTET_ROWS as GROUP};

/// A block type whose matrices can be held interleaved (the 32-element types here, the
/// K-quants in `avx2_k_resident`).
pub(super) trait Resident: Copy {
    /// Block `i` of eight weight rows, interleaved: exactly eight blocks' bytes.
    type Octet: Copy;

    /// Interleaves block `i` of eight rows.
    fn interleave(rows: [&Self; GROUP]) -> Self::Octet;

    /// Row `j`'s block back in ggml's layout.
    fn row_block(octet: &Self::Octet, j: usize) -> Self;
}

/// Block `i` of eight Q4_0 rows: row `j`'s `qs` bytes `4w..4w + 4` in lane `j` of
/// `qs[w]` (elements `4w..4w + 4` in the low nibbles, `16 + 4w..` in the high ones).
#[derive(Clone, Copy)]
#[repr(C)]
pub(super) struct Q4Octet {
    qs: [Word; 4],
    d: [[u8; 2]; GROUP],
}

/// Block `i` of eight Q5_0 rows: [`Q4Octet`]'s nibbles and the fifth bits, that of
/// element `4k + b` of row `j` as bit `k` of `qh[4j + b]`: byte `4j + b` is where
/// register `k` wants it, so a shift and a mask bring it to bit 4.
#[derive(Clone, Copy)]
#[repr(C)]
pub(super) struct Q5Octet {
    qs: [Word; 4],
    qh: [u8; 4 * GROUP],
    d: [[u8; 2]; GROUP],
}

/// Block `i` of eight Q4_1 rows: [`Q4Octet`]'s nibbles, the scales and the mins.
#[derive(Clone, Copy)]
#[repr(C)]
pub(super) struct Q41Octet {
    qs: [Word; 4],
    d: [[u8; 2]; GROUP],
    m: [[u8; 2]; GROUP],
}

/// Block `i` of eight Q5_1 rows: [`Q5Octet`]'s values, the scales and the mins.
#[derive(Clone, Copy)]
#[repr(C)]
pub(super) struct Q51Octet {
    qs: [Word; 4],
    qh: [u8; 4 * GROUP],
    d: [[u8; 2]; GROUP],
    m: [[u8; 2]; GROUP],
}

/// Block `i` of eight IQ4_NL rows: their table indices as [`Q4Octet`] holds nibbles.
#[derive(Clone, Copy)]
#[repr(C)]
pub(super) struct IQ4Octet {
    qs: [Word; 4],
    d: [[u8; 2]; GROUP],
}

const _: () = assert!(std::mem::size_of::<Q4Octet>() == GROUP * std::mem::size_of::<BlockQ4_0>());
const _: () = assert!(std::mem::size_of::<Q5Octet>() == GROUP * std::mem::size_of::<BlockQ5_0>());
const _: () = assert!(std::mem::size_of::<Q41Octet>() == GROUP * std::mem::size_of::<BlockQ4_1>());
const _: () = assert!(std::mem::size_of::<Q51Octet>() == GROUP * std::mem::size_of::<BlockQ5_1>());
const _: () = assert!(std::mem::size_of::<IQ4Octet>() == GROUP * std::mem::size_of::<BlockIQ4NL>());

/// Eight rows' fifth bits (ggml's `qh`, bit `e` for element `e`) as [`Q5Octet`] holds
/// them: that of element `4k + b` of row `j` as bit `k` of byte `4j + b`.
fn interleave_fifth(rows: [&[u8; 4]; GROUP]) -> [u8; 4 * GROUP] {
    let qh = rows.map(|r| u32::from_le_bytes(*r));
    std::array::from_fn(|byte| {
        let (j, b) = (byte / 4, byte % 4);
        (0..GROUP).fold(0u8, |h, k| h | (((qh[j] >> (4 * k + b)) & 1) as u8) << k)
    })
}

/// Row `j`'s `qh` back from [`interleave_fifth`]'s bytes.
fn row_fifth(qh: &[u8; 4 * GROUP], j: usize) -> [u8; 4] {
    let bits = (0..32).fold(0u32, |h, e| {
        let (k, b) = (e / 4, e % 4);
        h | u32::from((qh[4 * j + b] >> k) & 1) << e
    });
    bits.to_le_bytes()
}

/// Four bytes of each of eight rows: one register once loaded, row `j` in lane `j`.
pub(super) type Word = [[u8; 4]; GROUP];

/// Words `w` of eight rows' bytes: row `j`'s bytes `4w..4w + 4` in lane `j` of word `w`.
pub(super) fn interleave_words<const W: usize>(rows: [&[u8]; GROUP]) -> [Word; W] {
    // Loops of 4-byte copies, not nested `array::from_fn`s: those stayed calls per byte
    // and took a second of loading a 1 GB Q4_K_M file.
    let mut words = [[[0; 4]; GROUP]; W];
    for (j, row) in rows.into_iter().enumerate() {
        for (word, quad) in words.iter_mut().zip(row.chunks_exact(4)) {
            word[j].copy_from_slice(quad);
        }
    }
    words
}

/// Row `j`'s bytes back from [`interleave_words`]' words.
pub(super) fn row_words<const N: usize>(words: &[Word], j: usize) -> [u8; N] {
    let mut row = [0; N];
    for (quad, word) in row.chunks_exact_mut(4).zip(words) {
        quad.copy_from_slice(&word[j]);
    }
    row
}

/// The low (or high) nibbles of `word`'s bytes.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn nibbles(word: &Word, high: bool) -> __m256i {
    // SAFETY: a word is 32 bytes.
    let word = unsafe { _mm256_loadu_si256(word.as_ptr().cast()) };
    let word = if high {
        _mm256_srli_epi16::<4>(word)
    } else {
        word
    };
    _mm256_and_si256(word, _mm256_set1_epi8(0x0F))
}

/// Bit `i` of each byte of `bits` moved to bit 4, the other bits cleared.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn bit_at_4(bits: __m256i, i: usize) -> __m256i {
    // What a 16-bit shift carries in from the neighbouring byte lands outside bit 4,
    // which the mask keeps alone.
    let moved = match i {
        0 => _mm256_slli_epi16::<4>(bits),
        1 => _mm256_slli_epi16::<3>(bits),
        2 => _mm256_slli_epi16::<2>(bits),
        3 => _mm256_slli_epi16::<1>(bits),
        4 => bits,
        5 => _mm256_srli_epi16::<1>(bits),
        6 => _mm256_srli_epi16::<2>(bits),
        _ => _mm256_srli_epi16::<3>(bits),
    };
    _mm256_and_si256(moved, _mm256_set1_epi8(0x10))
}

impl Resident for BlockQ4_0 {
    type Octet = Q4Octet;

    fn interleave(rows: [&Self; GROUP]) -> Q4Octet {
        Q4Octet {
            qs: interleave_words(rows.map(|r| &r.qs[..])),
            d: rows.map(|r| r.d),
        }
    }

    fn row_block(octet: &Q4Octet, j: usize) -> Self {
        BlockQ4_0 {
            d: octet.d[j],
            qs: row_words(&octet.qs, j),
        }
    }
}

/// Block `i` of eight Q8_0 rows: row `j`'s values `4k..4k + 4` in lane `j` of `qs[k]`.
#[derive(Clone, Copy)]
#[repr(C)]
pub(super) struct Q8Octet {
    qs: [Word; GROUP],
    d: [[u8; 2]; GROUP],
}

const _: () = assert!(std::mem::size_of::<Q8Octet>() == GROUP * std::mem::size_of::<BlockQ8_0>());

impl Resident for BlockQ8_0 {
    type Octet = Q8Octet;

    fn interleave(rows: [&Self; GROUP]) -> Q8Octet {
        let bytes = rows.map(|r| r.qs.map(|v| v as u8));
        Q8Octet {
            qs: interleave_words(std::array::from_fn(|j| &bytes[j][..])),
            d: rows.map(|r| r.d),
        }
    }

    fn row_block(octet: &Q8Octet, j: usize) -> Self {
        BlockQ8_0 {
            d: octet.d[j],
            qs: row_words::<32>(&octet.qs, j).map(|v| v as i8),
        }
    }
}

impl Resident for BlockQ5_0 {
    type Octet = Q5Octet;

    fn interleave(rows: [&Self; GROUP]) -> Q5Octet {
        Q5Octet {
            qs: interleave_words(rows.map(|r| &r.qs[..])),
            qh: interleave_fifth(rows.map(|r| &r.qh)),
            d: rows.map(|r| r.d),
        }
    }

    fn row_block(octet: &Q5Octet, j: usize) -> Self {
        BlockQ5_0 {
            d: octet.d[j],
            qh: row_fifth(&octet.qh, j),
            qs: row_words(&octet.qs, j),
        }
    }
}

impl Resident for BlockQ4_1 {
    type Octet = Q41Octet;

    fn interleave(rows: [&Self; GROUP]) -> Q41Octet {
        Q41Octet {
            qs: interleave_words(rows.map(|r| &r.qs[..])),
            d: rows.map(|r| r.d),
            m: rows.map(|r| r.m),
        }
    }

    fn row_block(octet: &Q41Octet, j: usize) -> Self {
        BlockQ4_1 {
            d: octet.d[j],
            m: octet.m[j],
            qs: row_words(&octet.qs, j),
        }
    }
}

impl Resident for BlockQ5_1 {
    type Octet = Q51Octet;

    fn interleave(rows: [&Self; GROUP]) -> Q51Octet {
        Q51Octet {
            qs: interleave_words(rows.map(|r| &r.qs[..])),
            qh: interleave_fifth(rows.map(|r| &r.qh)),
            d: rows.map(|r| r.d),
            m: rows.map(|r| r.m),
        }
    }

    fn row_block(octet: &Q51Octet, j: usize) -> Self {
        BlockQ5_1 {
            d: octet.d[j],
            m: octet.m[j],
            qh: row_fifth(&octet.qh, j),
            qs: row_words(&octet.qs, j),
        }
    }
}

impl Resident for BlockIQ4NL {
    type Octet = IQ4Octet;

    fn interleave(rows: [&Self; GROUP]) -> IQ4Octet {
        IQ4Octet {
            qs: interleave_words(rows.map(|r| &r.qs[..])),
            d: rows.map(|r| r.d),
        }
    }

    fn row_block(octet: &IQ4Octet, j: usize) -> Self {
        BlockIQ4NL {
            d: octet.d[j],
            qs: row_words(&octet.qs, j),
        }
    }
}

impl GroupBlock for Q4Octet {
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn values(&self, k: usize) -> __m256i {
        nibbles(&self.qs[k % 4], k >= 4)
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn scales(&self) -> (__m256, __m256) {
        scales(&self.d, -8.0)
    }
}

impl GroupBlock for Q8Octet {
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn values(&self, k: usize) -> __m256i {
        // SAFETY: `qs[k]` is 32 bytes.
        unsafe { _mm256_loadu_si256(self.qs[k].as_ptr().cast()) }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn scales(&self) -> (__m256, __m256) {
        scales(&self.d, 0.0)
    }
}

impl GroupBlock for Q41Octet {
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn values(&self, k: usize) -> __m256i {
        nibbles(&self.qs[k % 4], k >= 4)
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn scales(&self) -> (__m256, __m256) {
        (f16_lanes(&self.d), f16_lanes(&self.m))
    }
}

impl GroupBlock for Q51Octet {
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn values(&self, k: usize) -> __m256i {
        // SAFETY: `qh` is 32 bytes.
        let qh = unsafe { _mm256_loadu_si256(self.qh.as_ptr().cast()) };
        _mm256_or_si256(nibbles(&self.qs[k % 4], k >= 4), bit_at_4(qh, k))
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn scales(&self) -> (__m256, __m256) {
        (f16_lanes(&self.d), f16_lanes(&self.m))
    }
}

impl GroupBlock for IQ4Octet {
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn values(&self, k: usize) -> __m256i {
        _mm256_shuffle_epi8(value_table(), nibbles(&self.qs[k % 4], k >= 4))
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn scales(&self) -> (__m256, __m256) {
        (f16_lanes(&self.d), _mm256_setzero_ps())
    }
}

impl GroupBlock for Q5Octet {
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn values(&self, k: usize) -> __m256i {
        // SAFETY: `qh` is 32 bytes.
        let qh = unsafe { _mm256_loadu_si256(self.qh.as_ptr().cast()) };
        let high = bit_at_4(qh, k);
        _mm256_or_si256(nibbles(&self.qs[k % 4], k >= 4), high)
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn scales(&self) -> (__m256, __m256) {
        scales(&self.d, -16.0)
    }
}

/// Rewrites the whole groups of eight rows of `data` (ggml blocks, `per_row` per row)
/// as interleaved blocks, in place; the rows after the last whole group stay as they are.
pub(super) fn interleave<B: Resident>(data: &mut [u8], per_row: usize) {
    let block = std::mem::size_of::<B>();
    let group_bytes = GROUP * per_row * block;
    let whole = data.len() / group_bytes * group_bytes;
    let mut octets: Vec<B::Octet> = Vec::with_capacity(per_row);
    for group in data[..whole].chunks_exact_mut(group_bytes) {
        let blocks = as_slice::<B>(group);
        octets.clear();
        octets.extend(
            (0..per_row).map(|i| B::interleave(std::array::from_fn(|j| &blocks[j * per_row + i]))),
        );
        // SAFETY: `octets` holds exactly `per_row` octets of eight blocks' bytes each, the
        // group's length, and both types are plain bytes.
        let bytes =
            unsafe { std::slice::from_raw_parts(octets.as_ptr().cast::<u8>(), group_bytes) };
        group.copy_from_slice(bytes);
    }
}

/// Row `row`'s bytes in ggml's layout from `data` interleaved by [`interleave`].
pub(super) fn ggml_row<B: Resident>(data: &[u8], per_row: usize, row: usize) -> Vec<u8> {
    let block = std::mem::size_of::<B>();
    let group_bytes = GROUP * per_row * block;
    let whole_rows = data.len() / group_bytes * GROUP;
    if row >= whole_rows {
        return data[row * per_row * block..(row + 1) * per_row * block].to_vec();
    }
    let group = &data[row / GROUP * group_bytes..][..group_bytes];
    let mut bytes = vec![0; per_row * block];
    for (out, octet) in bytes
        .chunks_exact_mut(block)
        .zip(as_slice::<B::Octet>(group))
    {
        let block_of_row = B::row_block(octet, row % GROUP);
        // SAFETY: a block is `repr(C)` of byte arrays: `block` initialised bytes.
        let view =
            unsafe { std::slice::from_raw_parts((&raw const block_of_row).cast::<u8>(), block) };
        out.copy_from_slice(view);
    }
    bytes
}

/// Weight rows `rows` (starting at a multiple of eight) of a matrix interleaved by
/// [`interleave`] (`w` as its bytes' blocks, `per_row` per row): the octets of those in
/// whole groups, those rows, and the rows after, which keep ggml's layout.
pub(super) fn split<B: Resident>(
    w: &[B],
    per_row: usize,
    rows: Range<usize>,
) -> (&[B::Octet], Range<usize>, Range<usize>) {
    debug_assert_eq!(rows.start % GROUP, 0);
    const { assert!(std::mem::align_of::<B::Octet>() == 1) };
    let interleaved_rows = w.len() / per_row / GROUP * GROUP;
    let at = rows.end.min(interleaved_rows).max(rows.start);
    let whole = rows.start..at;
    // SAFETY: whole groups' blocks hold exactly their octets' bytes (each octet type
    // asserts its size) and octets are plain bytes of alignment 1 (asserted).
    let octets = unsafe {
        std::slice::from_raw_parts(
            w[whole.start * per_row..].as_ptr().cast::<B::Octet>(),
            whole.len() / GROUP * per_row,
        )
    };
    (octets, whole, at..rows.end)
}

/// Views `bytes` as `T`s: plain-byte structs of alignment 1.
fn as_slice<T>(bytes: &[u8]) -> &[T] {
    assert_eq!(std::mem::align_of::<T>(), 1);
    // SAFETY: `T` is `repr(C)` of byte arrays only (alignment 1, asserted; every bit
    // pattern valid), and the count keeps the view inside `bytes`.
    unsafe {
        std::slice::from_raw_parts(
            bytes.as_ptr().cast(),
            bytes.len() / std::mem::size_of::<T>(),
        )
    }
}

/// Activation rows per tile (then 2 and 1). Four rows spill a few registers, but at
/// three a four-row step (batched decode) decoded every register twice: the Q5_0
/// 896×4864 product at four rows took 1.16 s against 1.01 s (`SAAR_KERNEL_PROBE`,
/// 2,000 products, Zen 1).
const TILE_ROWS: usize = 4;

/// Block `i` of eight rows in `avx2_octets`' layout.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn decode<G: GroupBlock>(octet: &G) -> Interleaved {
    // SAFETY: the caller checked the CPU features.
    unsafe {
        let qs = std::array::from_fn(|k| octet.values(k));
        let (d, offset) = octet.scales();
        Interleaved::from_registers(qs, d, offset)
    }
}

/// Eight rows' f16 scales and the offsets `offset · d` (exact: a power of two times an
/// f16, or zero).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn scales(d: &[[u8; 2]; GROUP], offset: f32) -> (__m256, __m256) {
    let d = f16_lanes(d);
    (d, _mm256_mul_ps(d, _mm256_set1_ps(offset)))
}

/// Eight rows' f16 values, row `j` in lane `j`.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn f16_lanes(d: &[[u8; 2]; GROUP]) -> __m256 {
    // SAFETY: eight f16s are 16 bytes.
    _mm256_cvtph_ps(unsafe { _mm_loadu_si128(d.as_ptr().cast()) })
}

/// The products of weight rows `rows` (starting at a multiple of eight) of a matrix
/// interleaved by [`interleave`] (`w` as its bytes' blocks, `per_row` per row) with all
/// `m` rows of `acts`, given to `put(activation row, weight row, value)`.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn rows<B: Resident + Unpack>(
    w: &[B],
    per_row: usize,
    rows: Range<usize>,
    acts: &[Q8Block],
    m: usize,
    put: &mut impl FnMut(usize, usize, f32),
) where
    B::Octet: GroupBlock,
{
    let (octets, whole, tail) = split(w, per_row, rows);
    if !whole.is_empty() {
        if m >= OCTETS_MIN_ROWS {
            // Many tiles would decode each register again: decode the task's groups
            // once into `avx2_octets`' buffer and let its kernel take the tiles.
            let fill = |packed: &mut Vec<Interleaved>| {
                packed.clear();
                // SAFETY: the caller checked the CPU features.
                packed.extend(octets.iter().map(|octet| unsafe { decode(octet) }));
            };
            // SAFETY: the caller checked the CPU features.
            unsafe { avx2_octets::rows_from::<B>(fill, per_row, whole.start, acts, m, put) };
        } else {
            let act = |t: usize| &acts[t * per_row..(t + 1) * per_row];
            each_tile(
                octets,
                per_row,
                whole.start,
                m,
                TILE_ROWS,
                put,
                |group, r0, tile| match tile {
                    4 => widen(group_dots::<B, _, 4>(
                        group,
                        std::array::from_fn(|t| act(r0 + t)),
                    )),
                    2 => widen(group_dots::<B, _, 2>(group, [act(r0), act(r0 + 1)])),
                    _ => widen(group_dots::<B, _, 1>(group, [act(r0)])),
                },
            );
        }
    }
    if !tail.is_empty() {
        // SAFETY: the caller checked the CPU features; these rows keep ggml's layout.
        unsafe { avx2_lanes::rows(w, per_row, tail, acts, m, put) };
    }
}
