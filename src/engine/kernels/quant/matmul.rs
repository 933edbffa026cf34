//! The driver of `y = x @ W^T`: quantizes the activations once, splits the weight rows
//! across rayon's threads, and walks each thread's rows in tiles of up to eight
//! activation rows so every weight block is decoded once per tile rather than once per
//! row. At one activation row (decode) Q8_0 takes two weight rows per pass, and so do
//! Q4_0/Q5_0/Q8_0 tiles on AVX-512 (a block of each row per register). On AVX2 the
//! 32-element types take eight weight rows at a time with their outputs in lanes, for
//! every row count (long prefills interleave the rows first), so a row's value does not
//! depend on how many rows share the product (held interleaved from load, `avx2_resident`,
//! they take the interleaved kernel at every count). Q4_K, Q5_K and Q6_K are held
//! interleaved from load too (`avx2_k_resident`), with the same bits as their row
//! kernels, which read ggml's layout elsewhere. The kernels for the block type ([`Isa`]:
//! AVX-512, AVX2 or scalar) are picked once per product.

use std::cell::RefCell;
use std::ops::Range;

use crate::engine::kernels::workers;

use super::activations::{quantize_rows, ActBlock, Q8Block, Q8K};
use super::blocks::{
    BlockQ4K, BlockQ4_0, BlockQ4_1, BlockQ5K, BlockQ5_0, BlockQ5_1, BlockQ6K, BlockQ8_0,
    WeightBlock,
};
use super::blocks_iq4::{BlockIQ4NL, BlockIQ4XS};
use super::blocks_low_k::{BlockQ2K, BlockQ3K};

/// Bytes per K-quant super-block once interleaved (`avx2_k_octets`).
#[cfg(target_arch = "x86_64")]
const K_OCTETS_BLOCK_BYTES: usize = super::avx2_k_octets::BLOCK_BYTES;

/// Activation rows per tile (then 4, 2 and 1 for the rest).
pub const TILE_ROWS: usize = 8;

/// Weight rows per group of [`Kernel::groups_avx2`].
pub(super) const OCTET_ROWS: usize = 8;

/// Activation rows from which [`Kernel::groups_avx2`] interleaves a task's rows first
/// (and from which the K-quants take it at all):
/// interleaving costs about as much as the products it saves at 16 rows (Q8_0
/// 2048×6144: as fast as the row kernel at m = 16, 1.2× faster at 32, 0.65× at 8).
pub(super) const OCTETS_MIN_ROWS: usize = 32;

/// The instruction set a product's dot products use, picked once per product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Scalar,
    /// AVX2, FMA and F16C.
    Avx2,
    /// AVX-512 F, BW and VNNI besides AVX2's features: types without such a kernel run
    /// their AVX2 one.
    Avx512,
}

/// A weight block type with its dot products over `R` activation rows.
pub trait Kernel: WeightBlock {
    /// Whether [`pair_avx2`](Self::pair_avx2) is a kernel of its own.
    const PAIRS: bool = false;

    /// The AVX2 version of [`rows_scalar`].
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    unsafe fn rows_avx2<const R: usize>(w: &[Self], acts: [&[Self::Act]; R]) -> [f32; R];

    /// Two weight rows with one activation row, for decode (m = 1). A type with a
    /// kernel of its own for this keeps two independent accumulator chains and block
    /// streams in flight and loads each activation block once for both rows; the
    /// default runs [`rows_avx2`](Self::rows_avx2) twice.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    unsafe fn pair_avx2(w: [&[Self]; 2], act: &[Self::Act]) -> [f32; 2] {
        // SAFETY: the caller checked the CPU features.
        unsafe {
            [
                Self::rows_avx2::<1>(w[0], [act])[0],
                Self::rows_avx2::<1>(w[1], [act])[0],
            ]
        }
    }

    /// The AVX-512 version of [`rows_avx2`](Self::rows_avx2), where the type has one.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F, BW and VNNI, AVX2, FMA and F16C.
    unsafe fn rows_avx512<const R: usize>(w: &[Self], acts: [&[Self::Act]; R]) -> [f32; R] {
        // SAFETY: the caller checked the CPU features.
        unsafe { Self::rows_avx2::<R>(w, acts) }
    }

    /// Whether [`pair_rows_avx512`](Self::pair_rows_avx512) is a kernel of its own.
    const PAIR_ROWS_AVX512: bool = false;

    /// Two neighbouring weight rows with `R` activation rows, for prefill tiles on
    /// AVX-512: a type with a kernel of its own for this puts a block of each row in one
    /// register; the default runs [`rows_avx512`](Self::rows_avx512) twice.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F, BW and VNNI, AVX2, FMA and F16C.
    unsafe fn pair_rows_avx512<const R: usize>(
        w: [&[Self]; 2],
        acts: [&[Self::Act]; R],
    ) -> [[f32; R]; 2] {
        // SAFETY: the caller checked the CPU features.
        w.map(|row| unsafe { Self::rows_avx512::<R>(row, acts) })
    }

    /// The whole product on AVX2 for a matrix held interleaved (`avx2_resident`: the
    /// 32-element types; `avx2_k_resident`: Q4_K, Q5_K and Q6_K), with
    /// [`groups_avx2`](Self::groups_avx2)'s arguments and bits; only those types'
    /// matrices are ever interleaved, so the default is never reached.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    unsafe fn resident_avx2(
        w: &[Self],
        per_row: usize,
        rows: Range<usize>,
        acts: &[Self::Act],
        m: usize,
        put: &mut impl FnMut(usize, usize, f32),
    ) {
        // SAFETY: the caller checked the CPU features.
        unsafe { Self::groups_avx2(w, per_row, rows, acts, m, put) }
    }

    /// Rewrites `data` (this type's ggml rows, `per_row` blocks each) in the layout
    /// [`resident_avx2`](Self::resident_avx2) reads, where the type has one; whether
    /// it did.
    fn interleave_avx2(_data: &mut [u8], _per_row: usize) -> bool {
        false
    }

    /// Row `row`'s bytes in ggml's layout from `data` as
    /// [`interleave_avx2`](Self::interleave_avx2) left it.
    fn ggml_row(data: &[u8], per_row: usize, row: usize) -> Vec<u8> {
        let bytes = per_row * std::mem::size_of::<Self>();
        data[row * bytes..(row + 1) * bytes].to_vec()
    }

    /// Activation rows from which [`groups_avx2`](Self::groups_avx2) takes the product
    /// on AVX2 (never, where the type has no such kernel): the 32-element types at any
    /// count, the K-quants from [`OCTETS_MIN_ROWS`].
    const GROUPS_AVX2_FROM: usize = usize::MAX;

    /// Bytes per block as [`groups_avx2`](Self::groups_avx2) holds the weights, which
    /// sizes its tasks to stay in L2: the K-quants interleave theirs unpacked.
    const GROUPS_BLOCK_BYTES: usize = std::mem::size_of::<Self>();

    /// The whole product on AVX2 with eight weight rows' outputs in the lanes of a
    /// register: weight rows `rows` times all `m` activation rows of `acts`, given to
    /// `put(activation row, weight row, value)`, each value the same bits as at any
    /// other `m`. The default runs [`rows_avx2`](Self::rows_avx2) one row at a time.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    unsafe fn groups_avx2(
        w: &[Self],
        per_row: usize,
        rows: Range<usize>,
        acts: &[Self::Act],
        m: usize,
        put: &mut impl FnMut(usize, usize, f32),
    ) {
        for j in rows {
            for t in 0..m {
                let act = &acts[t * per_row..(t + 1) * per_row];
                // SAFETY: the caller checked the CPU features.
                let v = unsafe { Self::rows_avx2::<1>(&w[j * per_row..(j + 1) * per_row], [act]) };
                put(t, j, v[0]);
            }
        }
    }
}

/// Dot products of one weight row with `R` activation rows, block by block (the reference).
pub fn rows_scalar<W: WeightBlock, const R: usize>(w: &[W], acts: [&[W::Act]; R]) -> [f32; R] {
    std::array::from_fn(|r| w.iter().zip(acts[r]).map(|(b, a)| b.dot(a)).sum())
}

macro_rules! kernel {
    (
        $block:ty, $avx2:ident, $module:ident $(, pair: $pair:ident)?
        $(, avx512: $avx512:ident)? $(, avx512_pairs: $avx512_pairs:ident)?
        $(, groups: $groups_module:ident::$groups:ident from $from:expr
            $(, block_bytes: $block_bytes:expr)?)?
        $(, resident: $resident:ident)?
    ) => {
        impl Kernel for $block {
            $(const PAIRS: bool = { let _ = stringify!($pair); true };)?
            $(const PAIR_ROWS_AVX512: bool = { let _ = stringify!($avx512_pairs); true };)?
            $(
            const GROUPS_AVX2_FROM: usize = $from;
            $(
            #[cfg(target_arch = "x86_64")]
            const GROUPS_BLOCK_BYTES: usize = $block_bytes;
            )?
            )?

            unsafe fn rows_avx2<const R: usize>(w: &[Self], acts: [&[Self::Act]; R]) -> [f32; R] {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the caller checked the CPU features.
                unsafe {
                    super::$module::$avx2::<R>(w, acts)
                }
                #[cfg(not(target_arch = "x86_64"))]
                rows_scalar::<Self, R>(w, acts)
            }
            $(
            unsafe fn pair_avx2(w: [&[Self]; 2], act: &[Self::Act]) -> [f32; 2] {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the caller checked the CPU features.
                unsafe {
                    super::$module::$pair(w, act)
                }
                #[cfg(not(target_arch = "x86_64"))]
                [0, 1].map(|i| rows_scalar::<Self, 1>(w[i], [act])[0])
            }
            )?
            $(
            unsafe fn rows_avx512<const R: usize>(w: &[Self], acts: [&[Self::Act]; R]) -> [f32; R] {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the caller checked the CPU features.
                unsafe {
                    super::avx512_kquants::$avx512::<R>(w, acts)
                }
                #[cfg(not(target_arch = "x86_64"))]
                rows_scalar::<Self, R>(w, acts)
            }
            )?
            $(
            unsafe fn pair_rows_avx512<const R: usize>(
                w: [&[Self]; 2],
                acts: [&[Self::Act]; R],
            ) -> [[f32; R]; 2] {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the caller checked the CPU features.
                unsafe {
                    super::avx512_small::$avx512_pairs::<R>(w, acts)
                }
                #[cfg(not(target_arch = "x86_64"))]
                w.map(|row| rows_scalar::<Self, R>(row, acts))
            }
            )?
            $(
            // Elsewhere the default stands: `Simd::isa` picks AVX2 only on x86-64.
            #[cfg(target_arch = "x86_64")]
            unsafe fn groups_avx2(
                w: &[Self],
                per_row: usize,
                rows: Range<usize>,
                acts: &[Self::Act],
                m: usize,
                put: &mut impl FnMut(usize, usize, f32),
            ) {
                // SAFETY: the caller checked the CPU features.
                unsafe { super::$groups_module::$groups(w, per_row, rows, acts, m, put) }
            }
            )?
            $(
            #[cfg(target_arch = "x86_64")]
            unsafe fn resident_avx2(
                w: &[Self],
                per_row: usize,
                rows: Range<usize>,
                acts: &[Self::Act],
                m: usize,
                put: &mut impl FnMut(usize, usize, f32),
            ) {
                // SAFETY: the caller checked the CPU features.
                unsafe { super::$resident::rows(w, per_row, rows, acts, m, put) }
            }

            #[cfg(target_arch = "x86_64")]
            fn interleave_avx2(data: &mut [u8], per_row: usize) -> bool {
                super::$resident::interleave::<Self>(data, per_row);
                true
            }

            #[cfg(target_arch = "x86_64")]
            fn ggml_row(data: &[u8], per_row: usize, row: usize) -> Vec<u8> {
                super::$resident::ggml_row::<Self>(data, per_row, row)
            }
            )?
        }
    };
}

kernel!(BlockQ4_0, q4_0, avx2_small, avx512_pairs: q4_0, groups: avx2_lanes::rows from 0,
    resident: avx2_resident);
kernel!(BlockQ4_1, q4_1, avx2_small, groups: avx2_lanes::rows from 0, resident: avx2_resident);
kernel!(BlockQ5_0, q5_0, avx2_small, avx512_pairs: q5_0, groups: avx2_lanes::rows from 0,
    resident: avx2_resident);
kernel!(BlockQ5_1, q5_1, avx2_small, groups: avx2_lanes::rows from 0, resident: avx2_resident);
kernel!(BlockQ8_0, q8_0, avx2_small, pair: q8_0_pair, avx512_pairs: q8_0,
    groups: avx2_lanes::rows from 0, resident: avx2_resident);
kernel!(BlockQ4K, q4k, avx2_kquants, avx512: q4k,
    groups: avx2_k_octets::rows from OCTETS_MIN_ROWS, block_bytes: K_OCTETS_BLOCK_BYTES,
    resident: avx2_k_resident);
kernel!(BlockQ5K, q5k, avx2_kquants, avx512: q5k,
    groups: avx2_k_octets::rows from OCTETS_MIN_ROWS, block_bytes: K_OCTETS_BLOCK_BYTES,
    resident: avx2_k_resident);
kernel!(BlockQ6K, q6k, avx2_kquants, avx512: q6k,
    groups: avx2_k_octets::rows from OCTETS_MIN_ROWS, block_bytes: K_OCTETS_BLOCK_BYTES,
    resident: avx2_k_resident);
kernel!(BlockQ2K, q2k, avx2_low_k);
kernel!(BlockQ3K, q3k, avx2_low_k);
kernel!(BlockIQ4NL, iq4_nl, avx2_iq4, groups: avx2_lanes::rows from 0,
    resident: avx2_resident);
kernel!(BlockIQ4XS, iq4_xs, avx2_iq4);

/// Reuses one activation buffer per thread and type, so a product allocates only its output.
pub trait Scratch: ActBlock {
    fn with_scratch<T>(f: impl FnOnce(&mut Vec<Self>) -> T) -> T;
}

thread_local! {
    static Q8_SCRATCH: RefCell<Vec<Q8Block>> = const { RefCell::new(Vec::new()) };
    static Q8K_SCRATCH: RefCell<Vec<Q8K>> = const { RefCell::new(Vec::new()) };
}

impl Scratch for Q8Block {
    fn with_scratch<T>(f: impl FnOnce(&mut Vec<Self>) -> T) -> T {
        Q8_SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buffer) => f(&mut buffer),
            Err(_) => f(&mut Vec::new()),
        })
    }
}

impl Scratch for Q8K {
    fn with_scratch<T>(f: impl FnOnce(&mut Vec<Self>) -> T) -> T {
        Q8K_SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buffer) => f(&mut buffer),
            Err(_) => f(&mut Vec::new()),
        })
    }
}

/// The output pointer shared by the threads; each writes only its own columns.
#[derive(Clone, Copy)]
struct Output(*mut f32);
// SAFETY: threads write disjoint elements (their own weight rows' columns).
unsafe impl Send for Output {}
unsafe impl Sync for Output {}

/// How many weight rows one task takes: small enough that every thread gets several
/// (decode), large enough that the rows stay in L2 while the activation tiles stream by.
fn rows_per_task(n: usize, m: usize, row_bytes: usize, threads: usize) -> usize {
    let balanced = n.div_ceil(threads.max(1) * 4);
    let cache_fit = (256 * 1024 / row_bytes.max(1)).max(1);
    let cap = if m == 1 { balanced } else { cache_fit.min(64) };
    balanced.min(cap).max(1)
}

/// `y (m × n) = x (m × k) @ W^T` for `w` holding `n` rows of `k / W::SIZE` blocks, in
/// ggml's layout or, where `interleaved` (then `isa` is AVX2), `avx2_resident`'s.
pub fn matmul<W: Kernel>(
    w: &[W],
    (n, k): (usize, usize),
    x: &[f32],
    m: usize,
    y: &mut [f32],
    (isa, interleaved): (Isa, bool),
) where
    W::Act: Scratch,
{
    let per_row = k / W::SIZE;
    debug_assert_eq!(w.len(), n * per_row);
    debug_assert_eq!(x.len(), m * k);
    debug_assert_eq!(y.len(), m * n);
    W::Act::with_scratch(|acts| {
        quantize_rows(x, k, acts);
        let acts: &[W::Act] = acts;
        debug_assert!(!interleaved || isa == Isa::Avx2);
        let grouped = interleaved || (isa == Isa::Avx2 && m >= W::GROUPS_AVX2_FROM);
        let block_bytes = match grouped {
            true => W::GROUPS_BLOCK_BYTES,
            false => std::mem::size_of::<W>(),
        };
        let mut chunk = rows_per_task(n, m, per_row * block_bytes, workers::threads());
        if grouped {
            // Groups start at multiples of eight, so which rows share a group (and, from
            // `OCTETS_MIN_ROWS`, which take the interleaved kernel: all but the last
            // `n % 8`) does not depend on the thread count.
            chunk = chunk.next_multiple_of(OCTET_ROWS);
        }
        let out = Output(y.as_mut_ptr());
        let task = |first: usize| {
            let last = (first + chunk).min(n);
            let out = out;
            if grouped {
                let mut put = |t: usize, j: usize, v: f32| {
                    // SAFETY: t < m and j < last <= n, inside `y`; only this task
                    // writes column j.
                    unsafe { *out.0.add(t * n + j) = v }
                };
                // SAFETY: `isa` is Avx2 only when the CPU has AVX2, FMA and F16C.
                unsafe {
                    match interleaved {
                        true => W::resident_avx2(w, per_row, first..last, acts, m, &mut put),
                        false => W::groups_avx2(w, per_row, first..last, acts, m, &mut put),
                    }
                };
                return;
            }
            let mut r0 = 0;
            while r0 < m {
                let tile = match m - r0 {
                    left if left >= TILE_ROWS => TILE_ROWS,
                    left if left >= 4 => 4,
                    left => left.min(2),
                };
                let act = |t: usize| &acts[(r0 + t) * per_row..(r0 + t + 1) * per_row];
                let row = |j: usize| &w[j * per_row..(j + 1) * per_row];
                let mut singles = first..last;
                if tile == 1 && W::PAIRS && isa != Isa::Scalar {
                    // Rows from the two halves of the task's range, not neighbours: two
                    // sequential streams, which the hardware prefetchers follow. Adjacent
                    // rows interleave two short runs in one region, and a weight matrix
                    // read from memory ran 4× slower (0.5B vocabulary, one thread).
                    let half = (last - first) / 2;
                    for j in first..first + half {
                        let pair = [j, j + half];
                        // SAFETY: `isa` is Avx2 or Avx512 only when the CPU has AVX2, FMA
                        // and F16C.
                        let values = unsafe { W::pair_avx2(pair.map(row), act(0)) };
                        for (j, v) in pair.into_iter().zip(values) {
                            // SAFETY: r0 < m and j < n, inside `y`; only this task
                            // writes column j.
                            unsafe { *out.0.add(r0 * n + j) = v }
                        }
                    }
                    singles = first + 2 * half..last;
                } else if tile > 1 && W::PAIR_ROWS_AVX512 && isa == Isa::Avx512 {
                    let pairs = (last - first) / 2;
                    for j in (first..first + 2 * pairs).step_by(2) {
                        let mut put = |w: usize, t: usize, v: f32| {
                            // SAFETY: (r0 + t) < m and j + w < last <= n, inside `y`;
                            // only this task writes those columns.
                            unsafe { *out.0.add((r0 + t) * n + j + w) = v }
                        };
                        let rows = [row(j), row(j + 1)];
                        match tile {
                            8 => pair_dots(rows, std::array::from_fn::<_, 8, _>(act), &mut put),
                            4 => pair_dots(rows, [act(0), act(1), act(2), act(3)], &mut put),
                            _ => pair_dots(rows, [act(0), act(1)], &mut put),
                        }
                    }
                    singles = first + 2 * pairs..last;
                }
                for j in singles {
                    let row = row(j);
                    let mut put = |t: usize, v: f32| {
                        // SAFETY: (r0 + t) < m and j < n, so the index is inside `y`,
                        // and only this task writes column j.
                        unsafe { *out.0.add((r0 + t) * n + j) = v }
                    };
                    match tile {
                        8 => dots(row, std::array::from_fn::<_, 8, _>(act), isa, &mut put),
                        4 => dots(row, [act(0), act(1), act(2), act(3)], isa, &mut put),
                        2 => dots(row, [act(0), act(1)], isa, &mut put),
                        _ => dots(row, [act(0)], isa, &mut put),
                    }
                }
                r0 += tile;
            }
        };
        let tasks = n.div_ceil(chunk);
        // Below this a product takes a few microseconds: waking the pool costs more.
        const PARALLEL_MIN_MACS: usize = 1 << 18;
        if tasks > 1 && m * n * k >= PARALLEL_MIN_MACS {
            workers::for_each(tasks, &|t| task(t * chunk));
        } else {
            (0..tasks).for_each(|t| task(t * chunk));
        }
    })
}

#[inline(always)]
fn dots<W: Kernel, const R: usize>(
    row: &[W],
    acts: [&[W::Act]; R],
    isa: Isa,
    put: &mut impl FnMut(usize, f32),
) {
    // SAFETY: `isa` names only instruction sets the CPU has (`Simd::isa` checked).
    let values = match isa {
        Isa::Avx512 => unsafe { W::rows_avx512::<R>(row, acts) },
        Isa::Avx2 => unsafe { W::rows_avx2::<R>(row, acts) },
        Isa::Scalar => rows_scalar::<W, R>(row, acts),
    };
    for (t, v) in values.into_iter().enumerate() {
        put(t, v);
    }
}

/// [`Kernel::pair_rows_avx512`] for one tile.
#[inline(always)]
fn pair_dots<W: Kernel, const R: usize>(
    rows: [&[W]; 2],
    acts: [&[W::Act]; R],
    put: &mut impl FnMut(usize, usize, f32),
) {
    // SAFETY: the caller runs this only when `isa` is Avx512, which `Simd::isa` picks
    // only where the CPU has every feature the kernel needs.
    let values = unsafe { W::pair_rows_avx512::<R>(rows, acts) };
    for (w, row) in values.into_iter().enumerate() {
        for (t, v) in row.into_iter().enumerate() {
            put(w, t, v);
        }
    }
}
