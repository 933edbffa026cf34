//! One new query position against a whole cache of keys and values, read in place:
//! the decoder attention of Marian and IndicTrans2 (self-attention, and
//! cross-attention over sources of several lengths). The LLM decodes through the tiled
//! kernel instead ([`super::tiled_attention::attend_decode`]). Per query head, one
//! pass of dot products over the cached keys, a softmax, and one pass of the values
//! weighted by it, in f32. The cache holds f32 or
//! f16 values ([`CacheValue`]); f16 ones are widened as they are read.
//!
//! Candle's path for the same work (a batched matmul over a strided view of the cache,
//! a softmax, a second matmul) cost several times the arithmetic in dispatch and
//! copies: Qwen3-1.7B decoded 14.1 tok/s from an empty cache but 10.6 after a
//! 512-token prompt, ~23 ms per token for ~66 M multiply-adds of attention.

pub use super::cache_value::CacheValue;
use super::cpu::Features;
use super::workers;

/// Where the live keys and values sit in a cache buffer of `rows × kv_heads ×
/// capacity × head_dim` f32 values (one block per sequence), and how query heads
/// share KV heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheShape {
    pub rows: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub capacity: usize,
    /// Every row's live positions start here (its length is given apart).
    pub start: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attention kernel: {0}")]
pub struct AttentionError(String);

impl AttentionError {
    pub(super) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Below this many multiply-adds the heads run on the calling thread.
const PARALLEL_MIN_MACS: usize = 1 << 16;

/// For each row `r` and query head `h`: `out[r][h] = softmax(scale · q[r][h] · Kᵀ) ·
/// V` over the row's live positions `start..start + lens[r]`, with query head `h`
/// reading KV head `h / (heads / kv_heads)`. `q` and `out` hold `rows × heads ×
/// head_dim` values: one query position per row (a decode step). Rows may differ in
/// length (cross-attention over sources of several lengths, padded at the end).
pub fn attend_one<T: CacheValue>(
    q: &[f32],
    k: &[T],
    v: &[T],
    shape: &CacheShape,
    lens: &[usize],
    scale: f32,
    out: &mut [f32],
) -> Result<(), AttentionError> {
    let CacheShape {
        rows,
        heads,
        kv_heads,
        head_dim: dim,
        capacity,
        start,
    } = *shape;
    let buffer = rows * kv_heads * capacity * dim;
    let head_shape = HeadShape {
        heads,
        kv_heads,
        head_dim: dim,
    };
    head_shape.group()?;
    if rows == 0 {
        return Err(AttentionError(format!("{shape:?} has no query to answer")));
    }
    if lens.len() != rows || lens.iter().any(|&len| len == 0 || start + len > capacity) {
        return Err(AttentionError(format!(
            "live lengths {lens:?} do not fit {shape:?}"
        )));
    }
    if q.len() != rows * heads * dim || out.len() != rows * heads * dim {
        return Err(AttentionError(format!(
            "{} query and {} output values for {rows} rows of {heads} heads of {dim}",
            q.len(),
            out.len()
        )));
    }
    if k.len() != buffer || v.len() != buffer {
        return Err(AttentionError(format!(
            "{} keys and {} values for {shape:?}",
            k.len(),
            v.len()
        )));
    }
    let block = kv_heads * capacity * dim;
    let rows: Vec<RowCache<'_, T>> = lens
        .iter()
        .enumerate()
        .map(|(r, &len)| RowCache {
            keys: &k[r * block..(r + 1) * block],
            values: &v[r * block..(r + 1) * block],
            capacity,
            start,
            len,
        })
        .collect();
    attend_checked(
        q,
        &rows,
        head_shape,
        scale,
        out,
        simd_on(Features::detect()),
    );
    Ok(())
}

/// One sequence's cache buffers, `kv_heads × capacity × head_dim` values each, whose
/// live positions are `start..start + len`.
#[derive(Debug, Clone, Copy)]
pub struct RowCache<'a, T> {
    pub keys: &'a [T],
    pub values: &'a [T],
    pub capacity: usize,
    pub start: usize,
    pub len: usize,
}

impl<T> RowCache<'_, T> {
    /// An error where the buffers do not hold `kv_heads × capacity × head_dim` values of
    /// `shape`, or no live position, or live positions past the capacity.
    pub fn check(&self, shape: HeadShape) -> Result<(), AttentionError> {
        let block = shape.kv_heads * self.capacity * shape.head_dim;
        if self.len == 0 || self.start + self.len > self.capacity {
            return Err(AttentionError(format!(
                "live positions {}..{} do not fit a capacity of {}",
                self.start,
                self.start + self.len,
                self.capacity
            )));
        }
        if self.keys.len() != block || self.values.len() != block {
            return Err(AttentionError(format!(
                "{} keys and {} values for {} KV heads of {} × {} positions",
                self.keys.len(),
                self.values.len(),
                shape.kv_heads,
                shape.head_dim,
                self.capacity
            )));
        }
        Ok(())
    }
}

/// How query heads share KV heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadShape {
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
}

impl HeadShape {
    /// Query heads per KV head, or an error where they do not group evenly or a head
    /// is empty.
    pub fn group(&self) -> Result<usize, AttentionError> {
        if self.kv_heads == 0 || self.heads % self.kv_heads != 0 || self.head_dim == 0 {
            return Err(AttentionError(format!("{self:?} has no query to answer")));
        }
        Ok(self.heads / self.kv_heads)
    }
}

/// Whether the SIMD paths run: one set of features for both cache types (every x86
/// CPU with AVX2 and FMA has F16C).
pub(super) fn simd_on(features: Features) -> bool {
    features.avx2_fma() && features.f16c
}

/// [`attend_one`] after its checks, with the dot products chosen
/// by `simd` (AVX2+FMA, which the caller made sure the CPU has, or scalar).
fn attend_checked<T: CacheValue>(
    q: &[f32],
    rows: &[RowCache<'_, T>],
    shape: HeadShape,
    scale: f32,
    out: &mut [f32],
    simd: bool,
) {
    let HeadShape {
        heads,
        kv_heads,
        head_dim: dim,
    } = shape;
    let group = heads / kv_heads;
    // Query head `i` of all rows' heads: row `i / heads`, head `i % heads`.
    let head = |i: usize, out: &mut [f32]| {
        let (row, h) = (&rows[i / heads], i % heads);
        let first = ((h / group) * row.capacity + row.start) * dim;
        let live = first..first + row.len * dim;
        let query = &q[i * dim..(i + 1) * dim];
        one_head(
            query,
            &row.keys[live.clone()],
            &row.values[live],
            scale,
            out,
            simd,
        );
    };
    let macs = heads * dim * rows.iter().map(|row| row.len).sum::<usize>();
    if macs >= PARALLEL_MIN_MACS {
        workers::for_each_chunk_mut(out, dim, &head);
    } else {
        out.chunks_mut(dim)
            .enumerate()
            .for_each(|(i, out)| head(i, out));
    }
}

/// One query head over its KV head's live rows (`keys`, `values`: `len × dim`).
fn one_head<T: CacheValue>(
    query: &[f32],
    keys: &[T],
    values: &[T],
    scale: f32,
    out: &mut [f32],
    simd: bool,
) {
    let dim = query.len();
    let mut weights: Vec<f32> = keys
        .chunks_exact(dim)
        .map(|key| scale * T::dot(query, key, simd))
        .collect();
    let max = weights.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut total = 0f32;
    for w in &mut weights {
        *w = (*w - max).exp();
        total += *w;
    }
    out.fill(0.0);
    for (w, value) in weights.iter().zip(values.chunks_exact(dim)) {
        T::add_scaled(out, w / total, value, simd);
    }
}

#[cfg(test)]
mod tests {
    use half::f16;

    use super::*;
    use crate::engine::kernels::{test_values as values, textbook_attention};

    /// The textbook formula in f64, row by row, head by head, position by position.
    fn reference(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        s: &CacheShape,
        lens: &[usize],
        scale: f32,
    ) -> Vec<f32> {
        let d = s.head_dim;
        let mut out = vec![0f32; s.rows * s.heads * d];
        for (r, &len) in lens.iter().enumerate() {
            for h in 0..s.heads {
                let kv = r * s.kv_heads + h / (s.heads / s.kv_heads);
                let at = |p: usize| (kv * s.capacity + s.start + p) * d;
                let query = &q[(r * s.heads + h) * d..][..d];
                let keys_values = (0..len).map(|p| (&k[at(p)..at(p) + d], &v[at(p)..at(p) + d]));
                let answer = textbook_attention(query, keys_values, scale);
                out[(r * s.heads + h) * d..][..d].copy_from_slice(&answer);
            }
        }
        out
    }

    fn worst(out: &[f32], expected: &[f32]) -> f32 {
        out.iter()
            .zip(expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max)
    }

    #[test]
    fn matches_the_formula_for_grouped_heads_at_an_offset() {
        // 7 query heads on 1 KV head (Qwen2.5-0.5B's ratio), odd head_dim for the
        // scalar tails, live rows in the middle of the buffer; a large case that
        // takes the parallel path; rows of different lengths (padded sources).
        for (rows, heads, kv_heads, dim, capacity, start, lens) in [
            (1, 14, 2, 20, 40, 3, vec![29]),
            (1, 16, 8, 128, 600, 17, vec![520]),
            (1, 2, 2, 8, 1, 0, vec![1]),
            (3, 8, 8, 64, 70, 0, vec![70, 1, 33]),
            (2, 4, 2, 12, 9, 2, vec![7, 7]),
        ] {
            let shape = CacheShape {
                rows,
                heads,
                kv_heads,
                head_dim: dim,
                capacity,
                start,
            };
            let q = values(rows * heads * dim, 1);
            let k = values(rows * kv_heads * capacity * dim, 2);
            let v = values(rows * kv_heads * capacity * dim, 3);
            let scale = 1.0 / (dim as f32).sqrt();
            let expected = reference(&q, &k, &v, &shape, &lens, scale);
            check_cache(&q, &k, &v, &shape, &lens, scale, &expected);
            // An f16 cache: the formula over the values the cache holds.
            let halve = |x: &[f32]| -> Vec<f16> { x.iter().map(|&x| f16::from_f32(x)).collect() };
            let (k16, v16) = (halve(&k), halve(&v));
            let widen = |x: &[f16]| -> Vec<f32> { x.iter().map(|x| x.to_f32()).collect() };
            let expected = reference(&q, &widen(&k16), &widen(&v16), &shape, &lens, scale);
            check_cache(&q, &k16, &v16, &shape, &lens, scale, &expected);
        }
    }

    /// Both code paths and the checked entry point, within 1e-5 of `expected`.
    fn check_cache<T: CacheValue>(
        q: &[f32],
        k: &[T],
        v: &[T],
        shape: &CacheShape,
        lens: &[usize],
        scale: f32,
        expected: &[f32],
    ) {
        let size = std::mem::size_of::<T>();
        let block = shape.kv_heads * shape.capacity * shape.head_dim;
        let rows: Vec<RowCache<'_, T>> = lens
            .iter()
            .enumerate()
            .map(|(r, &len)| RowCache {
                keys: &k[r * block..(r + 1) * block],
                values: &v[r * block..(r + 1) * block],
                capacity: shape.capacity,
                start: shape.start,
                len,
            })
            .collect();
        let heads = HeadShape {
            heads: shape.heads,
            kv_heads: shape.kv_heads,
            head_dim: shape.head_dim,
        };
        for simd in [simd_on(Features::detect()), false] {
            let mut out = vec![f32::NAN; q.len()];
            attend_checked(q, &rows, heads, scale, &mut out, simd);
            let worst = worst(&out, expected);
            assert!(
                worst < 1e-5,
                "{shape:?} {lens:?} {size}-byte cache simd={simd}: off by {worst}"
            );
        }
        let mut out = vec![f32::NAN; q.len()];
        attend_one(q, k, v, shape, lens, scale, &mut out).unwrap();
        let worst = worst(&out, expected);
        assert!(
            worst < 1e-5,
            "{shape:?} {lens:?} {size}-byte cache: off by {worst}"
        );
    }

    #[test]
    fn refuses_buffers_that_disagree_with_the_shape() {
        let shape = CacheShape {
            rows: 1,
            heads: 4,
            kv_heads: 2,
            head_dim: 8,
            capacity: 10,
            start: 5,
        };
        let (q, kv) = (vec![0f32; 32], vec![0f32; 160]);
        let mut out = vec![0f32; 32];
        // start + len runs past the capacity.
        assert!(attend_one(&q, &kv, &kv, &shape, &[6], 1.0, &mut out).is_err());
        let shape = CacheShape { start: 4, ..shape };
        assert!(attend_one(&q, &kv, &kv, &shape, &[6], 1.0, &mut out).is_ok());
        assert!(attend_one(&q, &kv, &kv, &shape, &[0], 1.0, &mut out).is_err());
        assert!(attend_one(&q, &kv, &kv, &shape, &[6, 6], 1.0, &mut out).is_err());
        assert!(attend_one(&q[..31], &kv, &kv, &shape, &[6], 1.0, &mut out).is_err());
        assert!(attend_one(&q, &kv[..159], &kv, &shape, &[6], 1.0, &mut out).is_err());
        let uneven = CacheShape { heads: 3, ..shape };
        assert!(attend_one(&q[..24], &kv, &kv, &uneven, &[6], 1.0, &mut out[..24]).is_err());
        let two_rows = CacheShape { rows: 2, ..shape };
        let (q2, kv2, mut out2) = (vec![0f32; 64], vec![0f32; 320], vec![0f32; 64]);
        assert!(attend_one(&q2, &kv2, &kv2, &two_rows, &[6, 3], 1.0, &mut out2).is_ok());
        assert!(attend_one(&q2, &kv, &kv, &two_rows, &[6, 3], 1.0, &mut out2).is_err());
    }
}
