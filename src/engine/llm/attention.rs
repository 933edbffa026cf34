//! Self-attention with grouped KV heads (GQA without copying K/V per query head), a KV
//! cache that grows in blocks and keeps only what a sliding window can still see, and the
//! additive causal masks for a chunk of queries at any offset.

use candle_core::{DType, Device, Result, Tensor};

use super::modules::{Linear, RmsNorm};
use super::rope::RotaryEmbedding;
use crate::engine::kernels::attention::{attend_one, CacheShape};
use crate::engine::kernels::dense::contiguous_f32;

/// Positions added to a KV buffer each time it fills up.
const CACHE_GROW_BY: usize = 256;

/// Keys and values of one layer, `(batch, kv_heads, positions, head_dim)`, stored in a
/// buffer written in place so that a decode step copies one position, not the whole cache.
#[derive(Debug, Clone)]
pub struct KvCache {
    k: Option<Tensor>,
    v: Option<Tensor>,
    /// Live positions are `start..end` of the buffer.
    start: usize,
    end: usize,
    window: Option<usize>,
}

impl KvCache {
    pub fn new(window: Option<usize>) -> Self {
        Self {
            k: None,
            v: None,
            start: 0,
            end: 0,
            window,
        }
    }

    /// Positions held, i.e. visible to the next query.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.window);
    }

    /// Appends `k`, `v` (contiguous) and returns views of everything held.
    fn append(&mut self, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
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

    /// Makes room for `added` positions, moving live ones to the front of a new buffer.
    fn reserve(&mut self, added: usize, k: &Tensor, v: &Tensor) -> Result<()> {
        let capacity = self.k.as_ref().map_or(Ok(0), |b| b.dim(2))?;
        if self.end + added <= capacity {
            return Ok(());
        }
        let live = self.len();
        let new_capacity = live + added + CACHE_GROW_BY;
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

    /// The decode step's attention for `q` (`(1, heads, 1, head_dim)` f32) over every
    /// held position, with saar's kernel reading the buffers in place; `None` when the
    /// cache is not one f32 sequence on the CPU (the caller takes candle's path).
    fn attend_one(&self, q: &Tensor, kv_heads: usize, scale: f32) -> Result<Option<Tensor>> {
        let (Some(k_buf), Some(v_buf)) = (&self.k, &self.v) else {
            return Ok(None);
        };
        let (batch, heads, seq, dim) = q.dims4()?;
        let (_, _, capacity, _) = k_buf.dims4()?;
        if batch != 1 || seq != 1 || q.dtype() != DType::F32 || k_buf.dtype() != DType::F32 {
            return Ok(None);
        }
        let q = q.contiguous()?;
        let (q_store, q_layout) = q.storage_and_layout();
        let (k_store, k_layout) = k_buf.storage_and_layout();
        let (v_store, v_layout) = v_buf.storage_and_layout();
        let (Some(qs), Some(ks), Some(vs)) = (
            contiguous_f32(&q_store, q_layout),
            contiguous_f32(&k_store, k_layout),
            contiguous_f32(&v_store, v_layout),
        ) else {
            return Ok(None);
        };
        let shape = CacheShape {
            heads,
            kv_heads,
            head_dim: dim,
            capacity,
            start: self.start,
            len: self.len(),
        };
        let mut out = vec![0f32; heads * dim];
        attend_one(qs, ks, vs, &shape, scale, &mut out)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        Tensor::from_vec(out, (1, 1, heads * dim), q.device()).map(Some)
    }

    /// Forgets positions no later query can see through the sliding window.
    fn trim(&mut self) {
        if let Some(window) = self.window {
            let keep = window.saturating_sub(1);
            if self.len() > keep {
                self.start = self.end - keep;
            }
        }
    }
}

/// The additive mask for queries at `pos..pos + seq` over keys at
/// `pos - cached..pos + seq`: 0 where visible, -inf elsewhere. `None` when all are visible.
pub fn causal_mask(
    seq: usize,
    pos: usize,
    cached: usize,
    window: Option<usize>,
    device: &Device,
) -> Result<Option<Tensor>> {
    let kv_len = cached + seq;
    let first_key = pos - cached.min(pos);
    let visible = |q: usize, k: usize| {
        let (qp, kp) = (pos + q, first_key + k);
        kp <= qp && window.is_none_or(|w| qp - kp < w)
    };
    let mut any_hidden = false;
    let mut mask = Vec::with_capacity(seq * kv_len);
    for q in 0..seq {
        for k in 0..kv_len {
            let shown = visible(q, k);
            any_hidden |= !shown;
            mask.push(if shown { 0f32 } else { f32::NEG_INFINITY });
        }
    }
    if !any_hidden {
        return Ok(None);
    }
    Tensor::from_vec(mask, (seq, kv_len), device).map(Some)
}

#[derive(Debug, Clone)]
pub struct Attention {
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    pub q_norm: Option<RmsNorm>,
    pub k_norm: Option<RmsNorm>,
    pub num_heads: usize,
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub scale: f64,
    pub cache: KvCache,
    /// Whether a one-position step runs saar's decode attention kernel (saar's kernels
    /// on a CPU) rather than candle's matmuls.
    pub decode_kernel: bool,
}

impl Attention {
    /// `x` is `(batch, seq, hidden)`; `cos`/`sin` cover the chunk's positions and `mask`
    /// comes from [`causal_mask`] for this layer's cache length.
    pub fn forward(
        &mut self,
        x: &Tensor,
        rope: &RotaryEmbedding,
        (cos, sin): (&Tensor, &Tensor),
        mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        let (b, seq, _) = x.dims3()?;
        let (heads, kv_heads, dim) = (self.num_heads, self.num_kv_heads, self.head_dim);
        let mut q = self.q.forward(x)?.reshape((b, seq, heads, dim))?;
        let mut k = self.k.forward(x)?.reshape((b, seq, kv_heads, dim))?;
        let v = self.v.forward(x)?.reshape((b, seq, kv_heads, dim))?;
        if let (Some(q_norm), Some(k_norm)) = (&self.q_norm, &self.k_norm) {
            q = q_norm.forward(&q)?;
            k = k_norm.forward(&k)?;
        }
        let q = rope.apply(&q.transpose(1, 2)?.contiguous()?, cos, sin)?;
        let k = rope.apply(&k.transpose(1, 2)?.contiguous()?, cos, sin)?;
        let v = v.transpose(1, 2)?.contiguous()?;
        let (k, v) = self.cache.append(&k, &v)?;
        if self.decode_kernel && mask.is_none() {
            if let Some(out) = self.cache.attend_one(&q, kv_heads, self.scale as f32)? {
                self.cache.trim();
                return self.o.forward(&out);
            }
        }
        let kv_len = k.dim(2)?;

        // Query heads sharing a KV head become extra rows of one matmul.
        let group = heads / kv_heads;
        let q = q.reshape((b, kv_heads, group * seq, dim))?;
        let mut scores = q
            .matmul(&k.t()?)?
            .to_dtype(DType::F32)?
            .affine(self.scale, 0.0)?;
        if let Some(mask) = mask {
            scores = scores
                .reshape((b, kv_heads, group, seq, kv_len))?
                .broadcast_add(mask)?
                .reshape((b, kv_heads, group * seq, kv_len))?;
        }
        let probs = candle_nn::ops::softmax_last_dim(&scores)?.to_dtype(v.dtype())?;
        let out = probs
            .matmul(&v)?
            .reshape((b, heads, seq, dim))?
            .transpose(1, 2)?
            .reshape((b, seq, heads * dim))?;
        self.cache.trim();
        self.o.forward(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visible(mask: Option<Tensor>, seq: usize, kv: usize) -> Vec<Vec<bool>> {
        match mask {
            None => vec![vec![true; kv]; seq],
            Some(m) => m
                .to_vec2::<f32>()
                .unwrap()
                .into_iter()
                .map(|row| row.into_iter().map(|x| x == 0.0).collect())
                .collect(),
        }
    }

    #[test]
    fn prefill_mask_is_causal() {
        let m = causal_mask(3, 0, 0, None, &Device::Cpu).unwrap();
        let expect = vec![
            vec![true, false, false],
            vec![true, true, false],
            vec![true, true, true],
        ];
        assert_eq!(visible(m, 3, 3), expect);
    }

    #[test]
    fn chunk_at_offset_sees_the_cache() {
        let m = causal_mask(2, 4, 4, None, &Device::Cpu).unwrap();
        let expect = vec![vec![true, true, true, true, true, false], vec![true; 6]];
        assert_eq!(visible(m, 2, 6), expect);
        assert!(causal_mask(1, 9, 9, None, &Device::Cpu).unwrap().is_none());
    }

    #[test]
    fn sliding_window_hides_old_keys() {
        // window 3, two cached keys (positions 3, 4), queries at 5 and 6.
        let m = causal_mask(2, 5, 2, Some(3), &Device::Cpu).unwrap();
        let expect = vec![vec![true, true, true, false], vec![false, true, true, true]];
        assert_eq!(visible(m, 2, 4), expect);
    }

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
}
