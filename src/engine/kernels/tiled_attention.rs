//! The LLM's attention over its KV cache, read in place, without the score matrix: many
//! query positions of one sequence at once (a prompt's chunk, here), or one position
//! of each of many sequences ([`decode`]). Keys are taken in tiles of
//! [`TILE`], and each query row keeps a running maximum and sum of its softmax (online
//! softmax) while its output accumulates tile by tile. Memory stays at a few tiles per
//! thread however long the cache grows, and the causal mask and a sliding window are
//! ranges of keys per row inside each tile, not a mask tensor.
//!
//! Candle's path built the whole `(heads × chunk) × cache` score matrix per layer,
//! widened the f16 cache to f32 for every chunk and added a mask tensor: at 2,048 and
//! 4,096 prompt tokens Qwen2.5-0.5B Q4_K_M prefilled at 57.8 and 45.7 tok/s against 70.9
//! at 512 (2 threads, AVX2).
//!
//! Work is split over (KV head, block of query positions): the query heads that share a
//! KV head read each tile once (grouped-query attention without copies). A tile's keys
//! are widened to f32 and transposed once per task, so the scores of a query row are
//! eight keys per vector lane-wise, summed over the head dimension with no horizontal
//! adds. Tiles sit at fixed positions of the sequence (multiples of [`TILE`] from its
//! first token), so a row gets the same bits whichever chunk or task it runs in.

#[cfg(target_arch = "x86_64")]
mod avx2;
mod decode;
#[cfg(test)]
mod tests;

pub use decode::{attend_decode, DecodeRow};

use super::attention::{AttentionError, CacheValue, HeadShape, RowCache};
use super::workers;
use std::ops::Range;

/// Keys per tile.
const TILE: usize = 64;
/// Query rows (positions × heads sharing a KV head) one task aims to hold: enough to
/// reuse each widened tile many times, few enough that a chunk gives every thread work.
const ROWS_PER_TASK: usize = 96;
/// Below this many multiply-adds the tasks run on the calling thread.
const PARALLEL_MIN_MACS: usize = 1 << 16;

/// A sequence's queries: `q` holds `heads × seq × head_dim` values (head-major, as the
/// projections leave them), rotary embedding applied, for the last `seq` live positions of the cache.
#[derive(Debug, Clone, Copy)]
pub struct Queries<'a> {
    pub q: &'a [f32],
    pub seq: usize,
    pub shape: HeadShape,
    pub scale: f32,
}

/// Which keys a query sees: every earlier one, or with a `window` only those less than
/// `window` positions back; `first_position` is the position in the sequence of the
/// cache's first live key (it places the tiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visibility {
    pub window: Option<usize>,
    pub first_position: usize,
}

/// `out` (`seq × heads × head_dim`) = softmax(scale · q · Kᵀ + causal mask) · V for each
/// query head, where query position `t` is the cache's live position `len - seq + t`
/// and query head `h` reads KV head `h / (heads / kv_heads)`.
pub fn attend_prefill<T: CacheValue>(
    queries: &Queries<'_>,
    cache: &RowCache<'_, T>,
    visibility: Visibility,
    out: &mut [f32],
) -> Result<(), AttentionError> {
    check(queries, cache, visibility)?;
    if out.len() != queries.q.len() {
        return Err(AttentionError::new(format!(
            "{} output values for {} query values",
            out.len(),
            queries.q.len()
        )));
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = avx2::Avx2::detect() {
        run(queries, cache, visibility, out, simd);
        return Ok(());
    }
    run(queries, cache, visibility, out, Scalar);
    Ok(())
}

/// An error where `queries` do not fit `cache` as [`attend_prefill`] reads them.
fn check<T>(
    queries: &Queries<'_>,
    cache: &RowCache<'_, T>,
    visibility: Visibility,
) -> Result<(), AttentionError> {
    let (shape, seq) = (queries.shape, queries.seq);
    shape.group()?;
    let values = shape.heads * seq * shape.head_dim;
    if seq == 0 || queries.q.len() != values {
        return Err(AttentionError::new(format!(
            "{} query values for {seq} positions of {shape:?}",
            queries.q.len(),
        )));
    }
    cache.check(shape)?;
    if cache.len < seq {
        return Err(AttentionError::new(format!(
            "{} live positions cannot hold {seq} queries",
            cache.len
        )));
    }
    if visibility.window == Some(0) {
        return Err(AttentionError::new("a window of 0 positions shows no key"));
    }
    // The first query sees back to live index `len - seq + 1 - window` (or 0).
    let reach = visibility.window.map_or(cache.len, |w| w - 1);
    if visibility.first_position > 0 && reach > cache.len - seq {
        return Err(AttentionError::new(format!(
            "the cache dropped keys its first query sees ({} of them live, {seq} queries, \
             window {:?})",
            cache.len, visibility.window
        )));
    }
    Ok(())
}

/// The arithmetic of a tile, on the CPU's SIMD or in plain Rust; every row's lane order
/// is fixed by the tile, so a row's result does not depend on its neighbours.
pub(super) trait TileOps: Copy + Send + Sync {
    /// Whether cache values are widened with SIMD ([`CacheValue::widen_into`]).
    fn simd(self) -> bool;
    /// `scores[r][j] = q[r] · kt[·][j]` for the `TILE` keys of `kt` (`dim × TILE`,
    /// transposed), for one or two query rows of `dim` values.
    fn scores(self, q: [&[f32]; 2], rows: usize, kt: &[f32], scores: &mut [[f32; TILE]; 2]);
    /// The largest score.
    fn max(self, scores: &[f32; TILE]) -> f32;
    /// `scores[j] = exp(scores[j] - max)`, returning their sum (`-inf` scores give 0).
    fn exp_sum(self, scores: &mut [f32; TILE], max: f32) -> f32;
    /// `acc = acc · rescale + Σ_{j in keys} p[j] · v[j]` for one or two rows, `v` a tile
    /// of `TILE × dim` values.
    fn accumulate(self, rows: [Row<'_>; 2], count: usize, keys: (usize, usize), v: &[f32]);
}

/// One query row's share of a tile's accumulation.
pub(super) struct Row<'a> {
    pub acc: &'a mut [f32],
    pub rescale: f32,
    pub p: &'a [f32; TILE],
}

/// The arithmetic in plain Rust, for CPUs without AVX2+FMA+F16C.
#[derive(Debug, Clone, Copy)]
struct Scalar;

impl TileOps for Scalar {
    fn simd(self) -> bool {
        false
    }

    fn scores(self, q: [&[f32]; 2], rows: usize, kt: &[f32], scores: &mut [[f32; TILE]; 2]) {
        for (query, scores) in q.iter().zip(scores.iter_mut()).take(rows) {
            scores.fill(0.0);
            for (&x, keys) in query.iter().zip(kt.chunks_exact(TILE)) {
                for (s, k) in scores.iter_mut().zip(keys) {
                    *s += x * k;
                }
            }
        }
    }

    fn max(self, scores: &[f32; TILE]) -> f32 {
        scores.iter().copied().fold(f32::NEG_INFINITY, f32::max)
    }

    fn exp_sum(self, scores: &mut [f32; TILE], max: f32) -> f32 {
        let mut sum = 0.0;
        for s in scores.iter_mut() {
            *s = (*s - max).exp();
            sum += *s;
        }
        sum
    }

    fn accumulate(self, rows: [Row<'_>; 2], count: usize, keys: (usize, usize), v: &[f32]) {
        for row in rows.into_iter().take(count) {
            let dim = row.acc.len();
            row.acc.iter_mut().for_each(|a| *a *= row.rescale);
            for j in keys.0..keys.1 {
                let (w, value) = (row.p[j], &v[j * dim..(j + 1) * dim]);
                for (a, x) in row.acc.iter_mut().zip(value) {
                    *a += w * x;
                }
            }
        }
    }
}

/// [`attend_prefill`] after its checks: tasks over (KV head, block of positions), each
/// writing its rows to a staging buffer of its own, then copied to `out`'s layout.
fn run<T: CacheValue, O: TileOps>(
    queries: &Queries<'_>,
    cache: &RowCache<'_, T>,
    visibility: Visibility,
    out: &mut [f32],
    ops: O,
) {
    let HeadShape {
        heads,
        kv_heads,
        head_dim: dim,
    } = queries.shape;
    let (seq, group) = (queries.seq, heads / kv_heads);
    let positions = ROWS_PER_TASK.div_ceil(group).min(seq);
    let blocks = seq.div_ceil(positions);
    let chunk = positions * group * dim;
    let mut staged = vec![0f32; kv_heads * blocks * chunk];
    let task = |i: usize, acc: &mut [f32]| {
        let (kv_head, first) = (i / blocks, (i % blocks) * positions);
        let span = first..(first + positions).min(seq);
        let rows = span.len() * group;
        let (mut max, mut sum) = (vec![f32::NEG_INFINITY; rows], vec![0f32; rows]);
        let acc = &mut acc[..rows * dim];
        let softmax = Softmax {
            acc,
            max: &mut max,
            sum: &mut sum,
        };
        one_task(
            queries,
            cache,
            visibility,
            (kv_head, span),
            0..cache.len,
            softmax,
            ops,
        );
        for (acc, total) in acc.chunks_exact_mut(dim).zip(&sum) {
            acc.iter_mut().for_each(|a| *a /= total);
        }
    };
    let macs = 2 * heads * seq * dim * cache.len;
    if macs >= PARALLEL_MIN_MACS {
        workers::for_each_chunk_mut(&mut staged, chunk, &task);
    } else {
        staged
            .chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, acc)| task(i, acc));
    }
    // Staged row (kv head g, position t, head-in-group hh) → out row (t, g·group + hh).
    for (i, task_rows) in staged.chunks(chunk).enumerate() {
        let (kv_head, first) = (i / blocks, (i % blocks) * positions);
        let rows = task_rows.chunks(group * dim);
        for (t, heads_of_t) in (first..seq).zip(rows) {
            let at = (t * heads + kv_head * group) * dim;
            out[at..at + group * dim].copy_from_slice(heads_of_t);
        }
    }
}

/// A task's rows mid-softmax: each row's output so far, not yet divided by its sum
/// (`rows × dim`), and its running maximum (from `-inf`) and sum (from 0).
struct Softmax<'a> {
    acc: &'a mut [f32],
    max: &'a mut [f32],
    sum: &'a mut [f32],
}

/// The rows of KV head `kv_head` for query positions `span` (`span.len() × group` rows of
/// `dim`, position-major), each attended over the keys it sees among the live keys
/// `keys`: `softmax` goes on from where it stands, undivided.
fn one_task<T: CacheValue, O: TileOps>(
    queries: &Queries<'_>,
    cache: &RowCache<'_, T>,
    visibility: Visibility,
    (kv_head, span): (usize, Range<usize>),
    keys: Range<usize>,
    Softmax { acc, max, sum }: Softmax<'_>,
    ops: O,
) {
    let (seq, dim) = (queries.seq, queries.shape.head_dim);
    let group = queries.shape.heads / queries.shape.kv_heads;
    // Row r: position span.start + r / group, query head kv_head · group + r % group.
    let rows = span.len() * group;
    let mut q = vec![0f32; rows * dim];
    for (r, q) in q.chunks_exact_mut(dim).enumerate() {
        let (t, h) = (span.start + r / group, kv_head * group + r % group);
        let query = &queries.q[(h * seq + t) * dim..][..dim];
        q.iter_mut()
            .zip(query)
            .for_each(|(q, x)| *q = x * queries.scale);
    }
    // Live keys row r sees: [first(r), end(r)), within `keys`; its own key, the last it
    // sees, is live index `own_end(r) - 1`.
    let own_end = |r: usize| cache.len - seq + span.start + r / group + 1;
    let end = |r: usize| own_end(r).min(keys.end);
    let first = |r: usize| {
        let reach = visibility
            .window
            .map_or(0, |w| own_end(r).saturating_sub(w));
        reach.max(keys.start)
    };
    let (keys_from, keys_to) = (first(0), end(rows - 1));
    let mut kt = vec![0f32; dim * TILE];
    let mut v = vec![0f32; TILE * dim];
    let mut widened = vec![0f32; dim];
    let mut scores = [[0f32; TILE]; 2];
    let base = (kv_head * cache.capacity + cache.start) * dim;
    // Tiles start at multiples of TILE in sequence positions; `origin` is the live
    // index of the first tile's first key, before the live keys when not aligned.
    let misalign = (visibility.first_position + keys_from) % TILE;
    let mut origin = keys_from as isize - misalign as isize;
    while origin < keys_to as isize {
        let tile_keys = (origin.max(0) as usize)..((origin + TILE as isize) as usize).min(keys_to);
        let offset = (tile_keys.start as isize - origin) as usize;
        kt.fill(0.0);
        for (j, key) in tile_keys.clone().enumerate() {
            let at = base + key * dim;
            T::widen_into(&cache.keys[at..at + dim], &mut widened, ops.simd());
            for (d, &x) in widened.iter().enumerate() {
                kt[d * TILE + offset + j] = x;
            }
            let slot = (offset + j) * dim;
            T::widen_into(
                &cache.values[at..at + dim],
                &mut v[slot..slot + dim],
                ops.simd(),
            );
        }
        // Each row's keys in this tile, as indices into it.
        let range = |r: usize| {
            let from = first(r).max(tile_keys.start) as isize - origin;
            let to = end(r).min(tile_keys.end) as isize - origin;
            (from as usize, to.max(from) as usize)
        };
        for pair in (0..rows).step_by(2) {
            let (mut live, mut count) = ([0usize; 2], 0);
            for row in pair..(pair + 2).min(rows) {
                let (from, to) = range(row);
                if from < to {
                    live[count] = row;
                    count += 1;
                }
            }
            if count == 0 {
                continue;
            }
            let (a, b) = (live[0], live[count - 1]);
            let query = |row: usize| &q[row * dim..(row + 1) * dim];
            ops.scores([query(a), query(b)], count, &kt, &mut scores);
            let mut rescale = [1f32; 2];
            for (i, &row) in live[..count].iter().enumerate() {
                let (from, to) = range(row);
                scores[i][..from].fill(f32::NEG_INFINITY);
                scores[i][to..].fill(f32::NEG_INFINITY);
                let tile_max = ops.max(&scores[i]);
                let new_max = max[row].max(tile_max);
                // exp(0) is 1 exactly: skip the call when the maximum stays.
                if new_max != max[row] {
                    rescale[i] = (max[row] - new_max).exp();
                }
                sum[row] = sum[row] * rescale[i] + ops.exp_sum(&mut scores[i], new_max);
                max[row] = new_max;
            }
            let keys = live[..count]
                .iter()
                .map(|&row| range(row))
                .fold((TILE, 0), |(lo, hi), (from, to)| (lo.min(from), hi.max(to)));
            let [p_a, p_b] = &scores;
            let (acc_a, acc_b) = two_rows(acc, dim, a, b);
            let rows_of_tile = [
                Row {
                    acc: acc_a,
                    rescale: rescale[0],
                    p: p_a,
                },
                Row {
                    acc: acc_b,
                    rescale: rescale[1],
                    p: p_b,
                },
            ];
            ops.accumulate(rows_of_tile, count, keys, &v);
        }
        origin += TILE as isize;
    }
}

/// Rows `a` and `b` (`a <= b`) of `acc` as two slices; when they are the same row, the
/// second is an empty slice that is never used.
fn two_rows(acc: &mut [f32], dim: usize, a: usize, b: usize) -> (&mut [f32], &mut [f32]) {
    if a == b {
        return (&mut acc[a * dim..(a + 1) * dim], &mut []);
    }
    let (low, high) = acc.split_at_mut(b * dim);
    (&mut low[a * dim..(a + 1) * dim], &mut high[..dim])
}
