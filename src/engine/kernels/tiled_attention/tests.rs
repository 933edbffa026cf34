//! The prefill kernel against the textbook formula in f64, on every path this CPU has,
//! and the promise that a row's bits do not depend on the chunk it came in.

use half::f16;

use super::*;
use crate::engine::kernels::{row_relative_error, test_values as values, textbook_attention};

/// One sequence's keys and values by position (`positions × kv_heads × dim`), laid
/// into a cache buffer whose live keys are positions `first..first + len`.
struct Sequence {
    keys: Vec<f32>,
    values: Vec<f32>,
    kv_heads: usize,
    dim: usize,
}

impl Sequence {
    fn new(positions: usize, kv_heads: usize, dim: usize, seed: u64) -> Self {
        let count = positions * kv_heads * dim;
        Self {
            keys: values(count, seed),
            values: values(count, seed + 1),
            kv_heads,
            dim,
        }
    }

    /// Buffers of `capacity` positions per KV head, live positions at `start..`.
    fn buffers(&self, first: usize, len: usize, start: usize, capacity: usize) -> [Vec<f32>; 2] {
        let (kv_heads, dim) = (self.kv_heads, self.dim);
        [&self.keys, &self.values].map(|by_position| {
            let mut buffer = vec![f32::NAN; kv_heads * capacity * dim];
            for j in 0..len {
                for g in 0..kv_heads {
                    let from = ((first + j) * kv_heads + g) * dim;
                    let to = (g * capacity + start + j) * dim;
                    buffer[to..to + dim].copy_from_slice(&by_position[from..from + dim]);
                }
            }
            buffer
        })
    }
}

/// `seq × heads × dim` outputs for queries at positions `end - seq..end`.
fn reference(
    seqn: &Sequence,
    q: &[f32],
    (heads, seq, end): (usize, usize, usize),
    window: Option<usize>,
    scale: f32,
) -> Vec<f32> {
    let (kv_heads, d) = (seqn.kv_heads, seqn.dim);
    let mut out = vec![0f32; seq * heads * d];
    for t in 0..seq {
        let position = end - seq + t;
        let first = window.map_or(0, |w| (position + 1).saturating_sub(w));
        for h in 0..heads {
            let g = h / (heads / kv_heads);
            let query = &q[(h * seq + t) * d..][..d];
            let at = |p: usize| (p * kv_heads + g) * d;
            let keys_values = (first..=position).map(|p| {
                let span = at(p)..at(p) + d;
                (&seqn.keys[span.clone()], &seqn.values[span])
            });
            let answer = textbook_attention(query, keys_values, scale);
            out[(t * heads + h) * d..][..d].copy_from_slice(&answer);
        }
    }
    out
}

/// A case: the cache's live keys are positions `first..end`, the queries the last `seq`.
#[derive(Debug, Clone, Copy)]
struct Case {
    heads: usize,
    kv_heads: usize,
    dim: usize,
    first: usize,
    end: usize,
    seq: usize,
    window: Option<usize>,
    /// Free slots before the live keys in the buffer.
    start: usize,
}

/// Runs `case` on every path with a `T` cache: `(path, output)` pairs.
fn run_case<T: CacheValue>(
    case: Case,
    seqn: &Sequence,
    q: &[f32],
    narrow: impl Fn(&[f32]) -> Vec<T>,
) -> Vec<(&'static str, Vec<f32>)> {
    let len = case.end - case.first;
    let capacity = case.start + len + 3;
    let [k, v] = seqn.buffers(case.first, len, case.start, capacity);
    let (k, v) = (narrow(&k), narrow(&v));
    let cache = RowCache {
        keys: &k,
        values: &v,
        capacity,
        start: case.start,
        len,
    };
    let queries = Queries {
        q,
        seq: case.seq,
        shape: HeadShape {
            heads: case.heads,
            kv_heads: case.kv_heads,
            head_dim: case.dim,
        },
        scale: 1.0 / (case.dim as f32).sqrt(),
    };
    let visibility = Visibility {
        window: case.window,
        first_position: case.first,
    };
    let mut outputs = Vec::new();
    let mut out = vec![f32::NAN; q.len()];
    attend_prefill(&queries, &cache, visibility, &mut out).unwrap();
    outputs.push(("dispatched", out));
    let mut out = vec![f32::NAN; q.len()];
    run(&queries, &cache, visibility, &mut out, Scalar);
    outputs.push(("scalar", out));
    #[cfg(target_arch = "x86_64")]
    match avx2::Avx2::detect() {
        Some(simd) => {
            let mut out = vec![f32::NAN; q.len()];
            run(&queries, &cache, visibility, &mut out, simd);
            outputs.push(("avx2", out));
        }
        None => eprintln!("skipped: avx2+fma+f16c not available"),
    }
    outputs
}

#[test]
fn matches_the_formula_across_tiles_windows_and_grouped_heads() {
    let case = |heads, kv_heads, dim, first, end, seq, window, start| Case {
        heads,
        kv_heads,
        dim,
        first,
        end,
        seq,
        window,
        start,
    };
    for case in [
        // A whole prompt at once, one KV head per query head, cache lengths around a tile.
        case(2, 2, 64, 0, 63, 63, None, 0),
        case(2, 2, 64, 0, 64, 64, None, 0),
        case(2, 2, 64, 0, 65, 65, None, 0),
        // Qwen2.5-0.5B's 7 query heads per KV head; a chunk at an offset, crossing tiles.
        case(14, 2, 64, 0, 200, 37, None, 5),
        // head_dim 128 (8 query heads on 4 KV heads), a chunk of one position.
        case(8, 4, 128, 0, 130, 1, None, 0),
        case(8, 4, 128, 0, 300, 128, None, 2),
        // Odd head dims: 8-lane blocks and a scalar tail (40 = 32 + 8, 20 = 8 + 8 + 4).
        case(6, 3, 40, 0, 77, 30, None, 0),
        case(4, 1, 20, 0, 90, 90, None, 1),
        // gemma3's sliding window: a cache trimmed to window - 1 keys before the chunk,
        // tiles not starting at the cache's first key, windows shorter and longer than a tile.
        case(4, 2, 64, 70, 150, 5, Some(76), 0),
        case(4, 2, 64, 13, 160, 128, Some(20), 7),
        case(4, 2, 64, 0, 160, 160, Some(5), 0),
        case(2, 1, 32, 1000, 1130, 100, Some(31), 0),
    ] {
        let seqn = Sequence::new(case.end, case.kv_heads, case.dim, case.end as u64);
        let q = values(case.heads * case.seq * case.dim, 7 + case.dim as u64);
        let scale = 1.0 / (case.dim as f32).sqrt();
        let shape = (case.heads, case.seq, case.end);
        let expected = reference(&seqn, &q, shape, case.window, scale);
        for (path, out) in run_case::<f32>(case, &seqn, &q, |x| x.to_vec()) {
            let error = row_relative_error(&out, &expected, case.dim);
            assert!(error < 1e-5, "{case:?} f32 cache, {path}: off by {error}");
        }
        // An f16 cache: the formula over the values it holds.
        let halve = |x: &[f32]| -> Vec<f16> { x.iter().map(|&x| f16::from_f32(x)).collect() };
        let round = |x: &[f32]| -> Vec<f32> { halve(x).iter().map(|x| x.to_f32()).collect() };
        let rounded = Sequence {
            keys: round(&seqn.keys),
            values: round(&seqn.values),
            ..seqn
        };
        let expected = reference(&rounded, &q, shape, case.window, scale);
        for (path, out) in run_case::<f16>(case, &rounded, &q, halve) {
            let error = row_relative_error(&out, &expected, case.dim);
            assert!(error < 1e-5, "{case:?} f16 cache, {path}: off by {error}");
        }
    }
}

#[test]
fn a_row_gets_the_same_bits_in_any_chunk() {
    // 7 query heads per KV head, 150 positions: all at once, or the last 50 after 100
    // (with a sliding window, from a cache trimmed to window - 1 keys at another start).
    let (heads, kv_heads, dim, end) = (14, 2, 64, 150);
    let seqn = Sequence::new(end, kv_heads, dim, 3);
    for window in [None, Some(70)] {
        let whole = Case {
            heads,
            kv_heads,
            dim,
            first: 0,
            end,
            seq: end,
            window,
            start: 0,
        };
        let q = values(heads * end * dim, 11);
        let first = window.map_or(0, |w| 100 - (w - 1));
        let tail = Case {
            first,
            seq: 50,
            start: 9,
            ..whole
        };
        // The tail's queries: positions 100..150 of every head.
        let q_tail: Vec<f32> = q
            .chunks(end * dim)
            .flat_map(|head| head[100 * dim..].to_vec())
            .collect();
        let all = run_case::<f32>(whole, &seqn, &q, |x| x.to_vec());
        let last = run_case::<f32>(tail, &seqn, &q_tail, |x| x.to_vec());
        for ((path, all), (_, last)) in all.iter().zip(&last) {
            assert!(
                all[100 * heads * dim..] == last[..],
                "window {window:?}, {path}: rows differ by chunk"
            );
        }
    }
}

#[test]
fn refuses_what_does_not_fit() {
    let (k, v) = (vec![0f32; 2 * 10 * 8], vec![0f32; 2 * 10 * 8]);
    let cache = |start, len| RowCache {
        keys: &k,
        values: &v,
        capacity: 10,
        start,
        len,
    };
    let q = vec![0f32; 4 * 3 * 8];
    let shape = HeadShape {
        heads: 4,
        kv_heads: 2,
        head_dim: 8,
    };
    let queries = Queries {
        q: &q,
        seq: 3,
        shape,
        scale: 1.0,
    };
    let seen = Visibility {
        window: None,
        first_position: 0,
    };
    let mut out = vec![0f32; q.len()];
    assert!(attend_prefill(&queries, &cache(2, 8), seen, &mut out).is_ok());
    // Live keys past the capacity, fewer keys than queries, a window of nothing.
    assert!(attend_prefill(&queries, &cache(3, 8), seen, &mut out).is_err());
    assert!(attend_prefill(&queries, &cache(0, 2), seen, &mut out).is_err());
    let blind = Visibility {
        window: Some(0),
        ..seen
    };
    assert!(attend_prefill(&queries, &cache(0, 8), blind, &mut out).is_err());
    // Keys before the live ones were dropped that the first query still sees.
    let trimmed = |window| Visibility {
        window,
        first_position: 4,
    };
    assert!(attend_prefill(&queries, &cache(0, 8), trimmed(Some(6)), &mut out).is_ok());
    assert!(attend_prefill(&queries, &cache(0, 8), trimmed(Some(7)), &mut out).is_err());
    assert!(attend_prefill(&queries, &cache(0, 8), trimmed(None), &mut out).is_err());
    assert!(attend_prefill(&queries, &cache(0, 8), seen, &mut out[1..]).is_err());
    let uneven = Queries {
        shape: HeadShape { heads: 3, ..shape },
        q: &q[..3 * 3 * 8],
        ..queries
    };
    assert!(attend_prefill(&uneven, &cache(0, 8), seen, &mut out[..72]).is_err());
}

/// A decode row for the tests: its sequence, the live keys `first..end`, its window,
/// and its query (`heads × dim`).
struct DecodeCase {
    seqn: Sequence,
    first: usize,
    end: usize,
    window: Option<usize>,
    q: Vec<f32>,
}

impl DecodeCase {
    fn new(shape: HeadShape, (first, end): (usize, usize), window: Option<usize>) -> Self {
        let seed = (end * 31 + first) as u64;
        Self {
            seqn: Sequence::new(end, shape.kv_heads, shape.head_dim, seed),
            first,
            end,
            window,
            q: values(shape.heads * shape.head_dim, seed + 5),
        }
    }

    /// Cache buffers with two free slots before the live keys and one after.
    fn buffers<T>(&self, narrow: &impl Fn(&[f32]) -> Vec<T>) -> [Vec<T>; 2] {
        let len = self.end - self.first;
        self.seqn
            .buffers(self.first, len, 2, len + 3)
            .map(|buffer| narrow(&buffer))
    }

    fn row<'a, T>(&'a self, buffers: &'a [Vec<T>; 2]) -> DecodeRow<'a, T> {
        let len = self.end - self.first;
        DecodeRow {
            q: &self.q,
            cache: RowCache {
                keys: &buffers[0],
                values: &buffers[1],
                capacity: len + 3,
                start: 2,
                len,
            },
            visibility: Visibility {
                window: self.window,
                first_position: self.first,
            },
        }
    }
}

/// Every path's output for `rows` decoded together: `(path, output)` pairs.
fn decode_paths<T: CacheValue>(
    rows: &[DecodeRow<'_, T>],
    shape: HeadShape,
    scale: f32,
) -> Vec<(&'static str, Vec<f32>)> {
    let size = rows.len() * shape.heads * shape.head_dim;
    let mut outputs = Vec::new();
    let mut out = vec![f32::NAN; size];
    attend_decode(rows, shape, scale, &mut out).unwrap();
    outputs.push(("dispatched", out));
    let mut out = vec![f32::NAN; size];
    decode::run(rows, shape, scale, &mut out, Scalar);
    outputs.push(("scalar", out));
    #[cfg(target_arch = "x86_64")]
    match avx2::Avx2::detect() {
        Some(simd) => {
            let mut out = vec![f32::NAN; size];
            decode::run(rows, shape, scale, &mut out, simd);
            outputs.push(("avx2", out));
        }
        None => eprintln!("skipped: avx2+fma+f16c not available"),
    }
    outputs
}

#[test]
fn decode_matches_the_formula_in_any_batch_and_prefills_bits_within_a_segment() {
    let shape = |heads, kv_heads, head_dim| HeadShape {
        heads,
        kv_heads,
        head_dim,
    };
    // Rows of one batch: caches of one key, around a tile and a segment (512), across
    // three segments, a sliding window trimmed at an offset that straddles a segment,
    // a window inside one; 7 query heads per KV head, one KV head of 256 (gemma3), and
    // odd dims for the scalar tails.
    let batches = [
        (
            shape(14, 2, 64),
            vec![(0, 1), (0, 64), (0, 512), (0, 513), (0, 1300)],
        ),
        (shape(4, 1, 256), vec![(0, 700), (300, 812), (1000, 1040)]),
        (shape(6, 3, 20), vec![(0, 5), (0, 1025)]),
    ];
    for (shape, spans) in batches {
        let window = |(first, end): (usize, usize)| (first > 0).then_some(end - first);
        let cases: Vec<DecodeCase> = spans
            .iter()
            .map(|&span| DecodeCase::new(shape, span, window(span)))
            .collect();
        let scale = 1.0 / (shape.head_dim as f32).sqrt();
        let halve = |x: &[f32]| -> Vec<f16> { x.iter().map(|&x| f16::from_f32(x)).collect() };
        check_decode(&cases, shape, scale, |x: &[f32]| x.to_vec());
        check_decode(&cases, shape, scale, halve);
    }
}

/// `cases` decoded together against the formula over the values the cache holds, each
/// row's bits equal to its own decode alone, and, where its keys lie in one segment,
/// to the prefill kernel's answer for that position.
fn check_decode<T: CacheValue>(
    cases: &[DecodeCase],
    shape: HeadShape,
    scale: f32,
    narrow: impl Fn(&[f32]) -> Vec<T>,
) {
    let size = std::mem::size_of::<T>();
    let buffers: Vec<[Vec<T>; 2]> = cases.iter().map(|c| c.buffers(&narrow)).collect();
    let rows: Vec<DecodeRow<'_, T>> = cases.iter().zip(&buffers).map(|(c, b)| c.row(b)).collect();
    let together = decode_paths(&rows, shape, scale);
    let per_row = shape.heads * shape.head_dim;
    for (r, (case, row)) in cases.iter().zip(&rows).enumerate() {
        // The formula over the cache's values as stored (rounded, for f16).
        let held = |x: &[f32]| -> Vec<f32> {
            let narrowed = narrow(x);
            let mut wide = vec![0f32; x.len()];
            T::widen_into(&narrowed, &mut wide, false);
            wide
        };
        let rounded = Sequence {
            keys: held(&case.seqn.keys),
            values: held(&case.seqn.values),
            ..case.seqn
        };
        let expected = reference(
            &rounded,
            &case.q,
            (shape.heads, 1, case.end),
            case.window,
            scale,
        );
        let alone = decode_paths(std::slice::from_ref(row), shape, scale);
        for ((path, all), (_, alone)) in together.iter().zip(&alone) {
            let mine = &all[r * per_row..(r + 1) * per_row];
            let error = row_relative_error(mine, &expected, shape.head_dim);
            let span = (case.first, case.end);
            assert!(
                error < 1e-5,
                "{shape:?} {span:?} {size}-byte cache, {path}: off by {error}"
            );
            assert!(
                mine == &alone[..],
                "{span:?} {path}: the batch changed the row's bits"
            );
        }
        let seen = case.window.map_or(case.end, |w| w.min(case.end));
        let start = case.end - seen;
        if start / decode::SEGMENT == (case.end - 1) / decode::SEGMENT {
            let queries = Queries {
                q: &case.q,
                seq: 1,
                shape,
                scale,
            };
            let mut prefilled = vec![f32::NAN; per_row];
            attend_prefill(&queries, &row.cache, row.visibility, &mut prefilled).unwrap();
            let decoded = &together[0].1[r * per_row..(r + 1) * per_row];
            assert!(
                decoded == &prefilled[..],
                "{:?}: decode and prefill differ",
                (case.first, case.end)
            );
        }
    }
}
