//! The decoder-side key/value cache both engines keep per attention layer; [`in_place`]
//! runs saar's attention kernels on the cache's buffers read in place
//! ([`crate::engine::kernels::tiled_attention`] for the LLM's prompt chunks and decode
//! steps, [`crate::engine::kernels::attention`] for Marian's decode step).
//!
//! The LLM decoder and Marian's decoder self-attention store keys and values the same
//! way, `(rows, kv_heads, positions, head_dim)`, in a buffer written in place, so a
//! decode step copies one position instead of concatenating the whole cache.
//!
//! The buffers hold f32, or f16 where the engine asks for it (half the memory, as
//! llama.cpp keeps its cache); appended keys and values are converted on the way in.

mod in_place;

use candle_core::{DType, Result, Tensor};

pub use in_place::{attend_in_place, attend_many};

/// Positions added to a KV buffer each time it fills up.
const CACHE_GROW_BY: usize = 256;

/// Keys and values of one layer, `(rows, kv_heads, positions, head_dim)`, stored in a
/// buffer written in place so that a decode step copies one position, not the whole cache.
#[derive(Debug, Clone)]
pub struct KvCache {
    k: Option<Tensor>,
    v: Option<Tensor>,
    /// Live positions are `start..end` of the buffer.
    start: usize,
    end: usize,
    /// Positions of the sequence before the live ones, trimmed off by the window.
    dropped: usize,
    window: Option<usize>,
    stored_as: DType,
    /// Positions the sequence is expected to reach (its prompt's end), so that the first
    /// buffer holds them all: growing a buffer chunk by chunk copies it each time and
    /// leaves the old ones as holes in the heap, which at 2,048 positions cost about
    /// as much memory again as the cache.
    expected: usize,
}

impl KvCache {
    /// An empty f32 cache; with a `window`, positions no later query can see are dropped.
    pub fn new(window: Option<usize>) -> Self {
        Self::stored_as(window, DType::F32)
    }

    /// An empty cache whose buffers hold `dtype` values.
    pub fn stored_as(window: Option<usize>, dtype: DType) -> Self {
        Self {
            k: None,
            v: None,
            start: 0,
            end: 0,
            dropped: 0,
            window,
            stored_as: dtype,
            expected: 0,
        }
    }

    /// Says the sequence will reach `positions` positions, so the next buffer this
    /// cache allocates holds them (within the window) at once.
    pub fn expect(&mut self, positions: usize) {
        self.expected = positions;
    }

    /// Positions held, i.e. visible to the next query.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reset(&mut self) {
        *self = Self::stored_as(self.window, self.stored_as);
    }

    /// Appends `k`, `v` (contiguous) and returns views of everything held, in the
    /// cache's stored type.
    pub fn append(&mut self, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let (k, v) = (&k.to_dtype(self.stored_as)?, &v.to_dtype(self.stored_as)?);
        let added = k.dim(2)?;
        self.reserve(added, k, v)?;
        if let (Some(k_buf), Some(v_buf)) = (&self.k, &self.v) {
            k_buf.slice_set(k, 2, self.end)?;
            v_buf.slice_set(v, 2, self.end)?;
            self.end += added;
            let live = self.len();
            return Ok((
                k_buf.narrow(2, self.start, live)?,
                v_buf.narrow(2, self.start, live)?,
            ));
        }
        candle_core::bail!("KV cache buffers missing after reserve")
    }

    /// Keeps the given rows of the buffers (indices into the current rows, repeats
    /// allowed): beams expanding or reordering, finished sentences leaving.
    pub fn select_rows(&mut self, rows: &Tensor) -> Result<()> {
        if let (Some(k), Some(v)) = (&self.k, &self.v) {
            self.k = Some(k.index_select(rows, 0)?);
            self.v = Some(v.index_select(rows, 0)?);
        }
        Ok(())
    }

    /// Makes room for `added` positions, moving live ones to the front of a new buffer.
    fn reserve(&mut self, added: usize, k: &Tensor, v: &Tensor) -> Result<()> {
        let capacity = self.k.as_ref().map_or(Ok(0), |b| b.dim(2))?;
        if self.end + added <= capacity {
            return Ok(());
        }
        let live = self.len();
        // Room for every expected position, or for as many as the window keeps.
        let coming = self.expected.saturating_sub(self.dropped + live).max(added);
        let held = match self.window {
            Some(window) => (live + coming).min(window.saturating_sub(1) + added),
            None => live + coming,
        };
        let new_capacity = held.max(live + added) + CACHE_GROW_BY;
        let grow = |old: &Option<Tensor>, like: &Tensor| -> Result<Tensor> {
            let (b, h, _, d) = like.dims4()?;
            let buffer = Tensor::zeros((b, h, new_capacity, d), like.dtype(), like.device())?;
            if let Some(old) = old.as_ref().filter(|_| live > 0) {
                buffer.slice_set(&old.narrow(2, self.start, live)?.contiguous()?, 2, 0)?;
            }
            Ok(buffer)
        };
        let (k_buf, v_buf) = (grow(&self.k, k)?, grow(&self.v, v)?);
        self.k = Some(k_buf);
        self.v = Some(v_buf);
        self.start = 0;
        self.end = live;
        Ok(())
    }

    /// The decode step's attention for `q` (`(rows, heads, 1, head_dim)`) over every
    /// held position, with saar's kernel reading the buffers in place (see
    /// [`attend_in_place`]).
    pub fn attend_one(&self, q: &Tensor, kv_heads: usize, scale: f32) -> Result<Option<Tensor>> {
        let (Some(k_buf), Some(v_buf)) = (&self.k, &self.v) else {
            return Ok(None);
        };
        let rows = q.dim(0)?;
        attend_in_place(
            q,
            k_buf,
            v_buf,
            kv_heads,
            self.start,
            &vec![self.len(); rows],
            scale,
        )
    }

    /// Attention for a chunk of `q.dim(2)` query positions (`(1, heads, seq, head_dim)`,
    /// f32) just appended, over every held position they see (causal, within the
    /// window), by saar's prefill kernel reading the buffers in place: `(1, seq, heads ×
    /// head_dim)`, or `None` where the kernel cannot read them.
    pub fn attend_prefill(
        &self,
        q: &Tensor,
        kv_heads: usize,
        scale: f32,
    ) -> Result<Option<Tensor>> {
        in_place::attend_prefill(self, q, kv_heads, scale)
    }

    /// The most bytes this cache's buffers take for a sequence of `positions` positions
    /// appended at most `largest_append` at a time, with `kv_heads × head_dim` values
    /// per position: what a KV budget charges one sequence for this layer.
    pub fn bytes_bound(
        &self,
        positions: usize,
        largest_append: usize,
        kv_heads: usize,
        head_dim: usize,
    ) -> usize {
        let held = match self.window {
            Some(window) => positions.min(window.saturating_sub(1) + largest_append),
            None => positions,
        };
        // `reserve` adds CACHE_GROW_BY spare positions whenever a buffer grows.
        (held + CACHE_GROW_BY) * self.bytes_per_position(kv_heads, head_dim)
    }

    /// Bytes one position takes: keys and values of `kv_heads × head_dim` each.
    pub fn bytes_per_position(&self, kv_heads: usize, head_dim: usize) -> usize {
        2 * kv_heads * head_dim * self.stored_as.size_in_bytes()
    }

    /// Forgets positions no later query can see through the sliding window.
    pub fn trim(&mut self) {
        if let Some(window) = self.window {
            let keep = window.saturating_sub(1);
            if self.len() > keep {
                self.dropped += self.end - keep - self.start;
                self.start = self.end - keep;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn cache_keeps_window_minus_one_and_grows() {
        let mut cache = KvCache::new(Some(3));
        let step = |t: f32| Tensor::full(t, (1, 1, 1, 2), &Device::Cpu).unwrap();
        for t in 0..300 {
            let (k, _) = cache.append(&step(t as f32), &step(t as f32)).unwrap();
            let firsts: Vec<f32> = k.flatten_all().unwrap().to_vec1().unwrap();
            assert_eq!(*firsts.last().unwrap(), t as f32);
            cache.trim();
            assert!(cache.len() <= 2);
        }
        let mut full = KvCache::new(None);
        for t in 0..600 {
            full.append(&step(t as f32), &step(t as f32)).unwrap();
        }
        assert_eq!(full.len(), 600);
        let (k, _) = full.append(&step(600.0), &step(600.0)).unwrap();
        let all: Vec<f32> = k.flatten_all().unwrap().to_vec1().unwrap();
        let expected: Vec<f32> = (0..=600).flat_map(|t| [t as f32, t as f32]).collect();
        assert_eq!(all, expected);
    }

    #[test]
    fn expected_positions_are_allocated_once_within_the_bound() {
        let chunk =
            |t: usize, n: usize| Tensor::full(t as f32, (1, 1, n, 2), &Device::Cpu).unwrap();
        let capacity = |c: &KvCache| c.k.as_ref().unwrap().dim(2).unwrap();
        for window in [None, Some(100)] {
            let mut cache = KvCache::new(window);
            cache.expect(1000);
            let mut capacities = Vec::new();
            for t in 0..1000 / 128 + 1 {
                let n = 128.min(1000 - t * 128);
                let (k, _) = cache.append(&chunk(t, n), &chunk(t, n)).unwrap();
                let last: Vec<f32> = k.flatten_all().unwrap().to_vec1().unwrap();
                assert_eq!(*last.last().unwrap(), t as f32);
                cache.trim();
                capacities.push(capacity(&cache));
            }
            let bound = cache.bytes_bound(1000, 128, 1, 2) / cache.bytes_per_position(1, 2);
            assert!(
                capacities.iter().all(|&c| c <= bound),
                "{capacities:?} over {bound}"
            );
            if window.is_none() {
                // One buffer for the whole prompt, not one per chunk.
                assert!(
                    capacities.iter().all(|&c| c == capacities[0]),
                    "{capacities:?}"
                );
                assert!(capacities[0] >= 1000);
            }
            // Decoding past the expected end still grows the buffer.
            for t in 0..300 {
                cache.append(&chunk(t, 1), &chunk(t, 1)).unwrap();
                cache.trim();
            }
            let held = if window.is_some() { 99 } else { 1300 };
            assert_eq!(cache.len(), held);
        }
    }

    #[test]
    fn selected_rows_keep_their_own_history() {
        let mut cache = KvCache::new(None);
        // Two rows; row r holds 10 r + t at step t.
        let step = |t: f32| Tensor::new(&[[[[t]]], [[[10.0 + t]]]], &Device::Cpu).unwrap();
        for t in 0..3 {
            cache.append(&step(t as f32), &step(t as f32)).unwrap();
        }
        cache
            .select_rows(&Tensor::new(&[1u32, 1, 0], &Device::Cpu).unwrap())
            .unwrap();
        let three = Tensor::new(&[[[[13f32]]], [[[13.0]]], [[[3.0]]]], &Device::Cpu).unwrap();
        let (k, _) = cache.append(&three, &three).unwrap();
        let rows: Vec<Vec<f32>> = k.squeeze(3).unwrap().squeeze(1).unwrap().to_vec2().unwrap();
        assert_eq!(rows[0], [10.0, 11.0, 12.0, 13.0]);
        assert_eq!(rows[1], [10.0, 11.0, 12.0, 13.0]);
        assert_eq!(rows[2], [0.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn f16_cache_stores_half_precision_and_attends_like_f32() {
        let (mut wide, mut half) = (KvCache::new(None), KvCache::stored_as(None, DType::F16));
        let kv = |t: usize| {
            let x: Vec<f32> = (0..2 * 16)
                .map(|i| ((i * 7 + t * 3) % 11) as f32 / 7.0 - 0.7)
                .collect();
            Tensor::from_vec(x, (1, 2, 1, 16), &Device::Cpu).unwrap()
        };
        for t in 0..5 {
            wide.append(&kv(t), &kv(t + 1)).unwrap();
            let (k, _) = half.append(&kv(t), &kv(t + 1)).unwrap();
            assert_eq!(k.dtype(), DType::F16);
        }
        let q = Tensor::from_vec(
            (0..4 * 16)
                .map(|i| (i % 5) as f32 / 4.0)
                .collect::<Vec<f32>>(),
            (1, 4, 1, 16),
            &Device::Cpu,
        )
        .unwrap();
        let a = wide.attend_one(&q, 2, 0.25).unwrap().unwrap();
        let b = half.attend_one(&q, 2, 0.25).unwrap().unwrap();
        let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        let diff = diff.to_scalar::<f32>().unwrap();
        // f16 keeps 11 significant bits: values below 1 move by at most 2^-11.
        assert!(diff > 0.0 && diff < 2e-3, "f16 cache off by {diff}");
        half.reset();
        let (k, _) = half.append(&kv(0), &kv(0)).unwrap();
        assert_eq!((k.dtype(), half.len()), (DType::F16, 1));
    }
}
