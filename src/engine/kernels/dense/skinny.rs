//! The driver for few activation rows (decode): walks the weights in panels of
//! [`PANEL_ROWS`] output rows, converts a 16-bit panel to f32 once into a small
//! per-thread scratch, multiplies every activation row by it while it is hot in cache,
//! and gives each thread its own range of panels, so the weights stream from memory
//! once per product whatever the number of rows.

use std::ops::Range;

use super::{avx2, scalar, Isa, WeightData, WeightMatrix};
use crate::engine::kernels::workers;

/// Output rows per panel (one converted panel of f32 stays in L1/L2).
pub(super) const PANEL_ROWS: usize = 8;
/// Activation rows per kernel call.
pub(super) const MAX_TILE_ROWS: usize = 4;
/// One kernel call's results: `[activation row][panel row]`.
pub(super) type TileOut = [[f32; PANEL_ROWS]; MAX_TILE_ROWS];

/// Below this many multiply-adds a product runs on the calling thread: waking the
/// pool costs more than it saves. Marian's 512x512 projections (262144 for one row)
/// are split: in a real decode step their weights come from memory, not cache, and one
/// thread reads memory at about half the speed of two (16 vs 28 GB/s here). Measured
/// on 2 cores, opus-mt-hi-en batch 8: 256 -> 298 tok/s against 2^19 (one thread).
const PARALLEL_MIN_WORK: usize = 1 << 17;
/// Panel ranges per thread, so a thread slowed by other work can be helped.
const TASKS_PER_THREAD: usize = 4;

/// The output buffer, written by several threads at disjoint `(row, column)` cells.
struct SharedOut {
    ptr: *mut f32,
    columns: usize,
}

// SAFETY: each task writes only the columns of its own panels (disjoint ranges).
unsafe impl Sync for SharedOut {}

/// The instruction set asked for, limited to what this CPU really has.
pub(super) fn available(isa: Isa) -> Isa {
    match (isa, Isa::detect()) {
        (Isa::Avx512 { f16c }, Isa::Avx512 { f16c: has }) => Isa::Avx512 { f16c: f16c && has },
        (
            Isa::Avx2 { f16c } | Isa::Avx512 { f16c },
            Isa::Avx2 { f16c: has } | Isa::Avx512 { f16c: has },
        ) => Isa::Avx2 { f16c: f16c && has },
        _ => Isa::Scalar,
    }
}

/// `y = x @ W^T (+ bias)`; shapes were checked by the caller.
pub(super) fn product(
    isa: Isa,
    threads: usize,
    x: &[f32],
    m: usize,
    w: WeightMatrix,
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    let isa = available(isa);
    if m == 0 || w.rows == 0 {
        return;
    }
    let panels = w.rows.div_ceil(PANEL_ROWS);
    let out = SharedOut {
        ptr: y.as_mut_ptr(),
        columns: w.rows,
    };
    let run = |range: Range<usize>| run_panels(isa, x, m, w, bias, &out, range);
    let work = m * w.rows * w.cols;
    let tasks = if threads <= 1 || work < PARALLEL_MIN_WORK {
        1
    } else {
        (threads * TASKS_PER_THREAD).min(panels)
    };
    if tasks == 1 {
        run(0..panels);
        return;
    }
    let per_task = panels.div_ceil(tasks);
    workers::for_each(panels.div_ceil(per_task), &|t| {
        run(t * per_task..((t + 1) * per_task).min(panels))
    });
}

fn run_panels(
    isa: Isa,
    x: &[f32],
    m: usize,
    w: WeightMatrix,
    bias: Option<&[f32]>,
    out: &SharedOut,
    panels: Range<usize>,
) {
    let (n, k) = (w.rows, w.cols);
    let mut scratch = match w.data {
        WeightData::F32(_) => Vec::new(),
        _ => vec![0f32; PANEL_ROWS * k],
    };
    let mut tile: TileOut = [[0.0; PANEL_ROWS]; MAX_TILE_ROWS];
    for panel in panels {
        let row0 = panel * PANEL_ROWS;
        let nr = PANEL_ROWS.min(n - row0);
        // One activation row: widen 16-bit weights in registers, not through scratch.
        if m == 1 && widened_in_registers(isa, x, w.data, row0 * k, nr, k, &mut tile) {
            store(out, bias, &tile, 0, 1, row0, nr);
            continue;
        }
        let weights: &[f32] = match w.data {
            WeightData::F32(data) => &data[row0 * k..(row0 + nr) * k],
            other => {
                let dst = &mut scratch[..nr * k];
                convert(isa, other, row0 * k, dst);
                dst
            }
        };
        let mut i = 0;
        while i < m {
            let mr = MAX_TILE_ROWS.min(m - i);
            kernel(isa, &x[i * k..(i + mr) * k], mr, weights, nr, k, &mut tile);
            store(out, bias, &tile, i, mr, row0, nr);
            i += mr;
        }
    }
}

/// Writes `mr` rows of a tile (plus bias) to activation rows `i..` and columns `row0..`.
fn store(
    out: &SharedOut,
    bias: Option<&[f32]>,
    tile: &TileOut,
    i: usize,
    mr: usize,
    row0: usize,
    nr: usize,
) {
    for (ii, sums) in tile.iter().enumerate().take(mr) {
        let row = (i + ii) * out.columns + row0;
        for (r, &sum) in sums.iter().enumerate().take(nr) {
            let value = sum + bias.map_or(0.0, |b| b[row0 + r]);
            // SAFETY: `row + r < m * n` (shapes checked by the caller) and this
            // panel's columns belong to this task alone.
            unsafe { *out.ptr.add(row + r) = value };
        }
    }
}

/// `tile[0][r] = x · w_r` for `nr` 16-bit rows from `start`, when the CPU can widen
/// them in registers; false (nothing done) otherwise.
fn widened_in_registers(
    isa: Isa,
    x: &[f32],
    w: WeightData,
    start: usize,
    nr: usize,
    k: usize,
    tile: &mut TileOut,
) -> bool {
    match (isa, w) {
        (
            Isa::Avx2 { f16c: true } | Isa::Avx512 { f16c: true },
            WeightData::Bf16(_) | WeightData::F16(_),
        ) => {
            // SAFETY: `available` confirmed AVX2, FMA and F16C.
            unsafe { avx2::single_row_16bit(x, w, start, nr, k, true, tile) };
            true
        }
        _ => false,
    }
}

fn kernel(isa: Isa, x: &[f32], mr: usize, w: &[f32], nr: usize, k: usize, out: &mut TileOut) {
    match isa {
        // SAFETY: `available` confirmed AVX2 and FMA; the lengths are checked inside.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 { .. } => unsafe { walk_panel::<avx2::Avx2Tiles>(x, mr, w, nr, k, out) },
        // SAFETY: `available` confirmed AVX-512 F; the lengths are checked inside.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 { .. } => unsafe {
            walk_panel::<super::avx512::Avx512Tiles>(x, mr, w, nr, k, out)
        },
        // Other architectures never detect the x86 sets.
        #[cfg(not(target_arch = "x86_64"))]
        Isa::Avx2 { .. } | Isa::Avx512 { .. } => scalar::panel(x, mr, w, nr, k, out),
        Isa::Scalar => scalar::panel(x, mr, w, nr, k, out),
    }
}

/// Converts weights to f32 with the best instructions available.
pub(super) fn convert(isa: Isa, src: WeightData, start: usize, dst: &mut [f32]) {
    match isa {
        // SAFETY: `available` confirmed AVX2, and F16C when `f16c` is set.
        Isa::Avx2 { f16c } | Isa::Avx512 { f16c } => unsafe {
            avx2::convert(src, start, dst, f16c)
        },
        Isa::Scalar => scalar::convert(src, start, dst),
    }
}

/// One instruction set's f32 tiles, which [`walk_panel`] lays over a panel.
pub(super) trait Tiles {
    /// `MR` activation rows times the one weight row at `w`, into `out[i][r]`.
    ///
    /// # Safety
    /// The CPU has the set's features; `x` holds `MR * k` values and `w` `k`.
    unsafe fn row<const MR: usize>(
        x: *const f32,
        w: *const f32,
        k: usize,
        out: &mut TileOut,
        r: usize,
    );

    /// `MR` activation rows times `NR` adjacent weight rows, into `out[i][r0 + r]`.
    ///
    /// # Safety
    /// The CPU has the set's features; `x` holds `MR * k` values and `w` `NR * k`.
    unsafe fn rows<const MR: usize, const NR: usize>(
        x: *const f32,
        w: *const f32,
        k: usize,
        out: &mut TileOut,
        r0: usize,
    );
}

/// As [`scalar::panel`], with `T`'s tiles: for one activation row the weight rows one
/// after another (one sequential stream, the pattern memory prefetchers serve best);
/// for more, two or four adjacent weight rows per pass, so each activation load feeds
/// several FMAs (loads, not FMAs, limit those loops).
///
/// # Safety
/// The CPU must have `T`'s features.
pub(super) unsafe fn walk_panel<T: Tiles>(
    x: &[f32],
    mr: usize,
    w: &[f32],
    nr: usize,
    k: usize,
    out: &mut TileOut,
) {
    assert!(mr <= MAX_TILE_ROWS && nr <= PANEL_ROWS && x.len() >= mr * k && w.len() >= nr * k);
    let (x, w) = (x.as_ptr(), w.as_ptr());
    // SAFETY: the lengths were checked above; the features are the caller's promise.
    unsafe {
        if mr == 1 {
            for r in 0..nr {
                T::row::<1>(x, w.add(r * k), k, out, r);
            }
            return;
        }
        let wide = if mr == 2 { 4 } else { 2 };
        let mut r = 0;
        while r + wide <= nr {
            match mr {
                2 => T::rows::<2, 4>(x, w.add(r * k), k, out, r),
                3 => T::rows::<3, 2>(x, w.add(r * k), k, out, r),
                _ => T::rows::<4, 2>(x, w.add(r * k), k, out, r),
            }
            r += wide;
        }
        while r < nr {
            match mr {
                2 => T::row::<2>(x, w.add(r * k), k, out, r),
                3 => T::row::<3>(x, w.add(r * k), k, out, r),
                _ => T::row::<4>(x, w.add(r * k), k, out, r),
            }
            r += 1;
        }
    }
}
