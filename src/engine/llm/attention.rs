//! Self-attention with grouped KV heads (GQA without copying K/V per query head) over
//! each sequence's [`KvCache`] of the layer (one or many sequences per step), and the additive causal masks for a chunk of queries at any
//! offset (with a sliding window).

use candle_core::{DType, Device, Result, Tensor};

use super::modules::{Linear, RmsNorm};
use super::rope::RotaryEmbedding;
use crate::engine::kv_cache::{attend_many, KvCache};

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
    /// Whether attention runs saar's kernels (saar's kernels on a CPU: the decode
    /// kernel for one position, the tiled prefill kernel for more) rather than candle's
    /// matmuls; the causal mask and window are then the kernels' own, and segments come
    /// without mask tensors.
    pub cpu_kernels: bool,
}

/// One sequence's share of a step's rows in one layer: its next `len` rows, the layer's
/// KV cache of that sequence, and the mask for those rows over that cache (candle's
/// path only; saar's kernels need none).
pub struct SegmentRows<'a> {
    pub cache: &'a mut KvCache,
    pub len: usize,
    pub mask: Option<&'a Tensor>,
}

impl Attention {
    /// `x` is `(1, rows, hidden)`: the rows of every segment, one after another; `cos`
    /// and `sin` hold one row per row of `x` (each at its sequence's position). The
    /// projections run once over all rows; attention runs per segment over its cache.
    pub fn forward(
        &self,
        x: &Tensor,
        rope: &RotaryEmbedding,
        (cos, sin): (&Tensor, &Tensor),
        segments: &mut [SegmentRows<'_>],
    ) -> Result<Tensor> {
        let (b, rows, _) = x.dims3()?;
        let (heads, kv_heads, dim) = (self.num_heads, self.num_kv_heads, self.head_dim);
        let mut q = self.q.forward(x)?.reshape((b, rows, heads, dim))?;
        let mut k = self.k.forward(x)?.reshape((b, rows, kv_heads, dim))?;
        let v = self.v.forward(x)?.reshape((b, rows, kv_heads, dim))?;
        if let (Some(q_norm), Some(k_norm)) = (&self.q_norm, &self.k_norm) {
            q = q_norm.forward(&q)?;
            k = k_norm.forward(&k)?;
        }
        let q = rope.apply(&q.transpose(1, 2)?.contiguous()?, cos, sin)?;
        let k = rope.apply(&k.transpose(1, 2)?.contiguous()?, cos, sin)?;
        let v = v.transpose(1, 2)?.contiguous()?;
        let out = match segments {
            [only] => self.attend(&q, &k, &v, only)?,
            _ if self.cpu_kernels && segments.iter().all(|s| s.len == 1 && s.mask.is_none()) => {
                match self.attend_decode_rows(&q, &k, &v, segments)? {
                    Some(out) => out,
                    None => candle_core::bail!("decode attention kernel refused its caches"),
                }
            }
            _ => {
                let mut outs = Vec::with_capacity(segments.len());
                let mut at = 0;
                for segment in segments.iter_mut() {
                    let part = |t: &Tensor| t.narrow(2, at, segment.len)?.contiguous();
                    outs.push(self.attend(&part(&q)?, &part(&k)?, &part(&v)?, segment)?);
                    at += segment.len;
                }
                Tensor::cat(&outs, 1)?
            }
        };
        self.o.forward(&out)
    }

    /// A decode step of many sequences (one row each, every key visible): each row's
    /// key and value appended to its cache, then one kernel call for every row's heads.
    /// `(1, rows, heads × dim)`, or `None` where the kernel cannot read the caches.
    fn attend_decode_rows(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        segments: &mut [SegmentRows<'_>],
    ) -> Result<Option<Tensor>> {
        let rows = segments.len();
        for (i, segment) in segments.iter_mut().enumerate() {
            let part = |t: &Tensor| t.narrow(2, i, 1)?.contiguous();
            segment.cache.append(&part(k)?, &part(v)?)?;
        }
        // (1, heads, rows, dim) → (rows, heads, 1, dim): a query per sequence.
        let q = q.transpose(0, 2)?.contiguous()?;
        let caches: Vec<&KvCache> = segments.iter().map(|s| &*s.cache).collect();
        let out = attend_many(&caches, &q, self.num_kv_heads, self.scale as f32)?;
        for segment in segments.iter_mut() {
            segment.cache.trim();
        }
        let (_, heads, _, dim) = q.dims4()?;
        out.map(|out| out.reshape((1, rows, heads * dim)))
            .transpose()
    }

    /// One segment's queries (`(1, heads, len, dim)`) over its cache after appending its
    /// keys and values: `(1, len, heads × dim)`.
    fn attend(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        segment: &mut SegmentRows<'_>,
    ) -> Result<Tensor> {
        let (b, heads, seq, dim) = q.dims4()?;
        let kv_heads = self.num_kv_heads;
        let cache = &mut *segment.cache;
        let (k, v) = cache.append(k, v)?;
        if self.cpu_kernels {
            let scale = self.scale as f32;
            let out = match seq {
                1 => attend_many(&[&*cache], q, kv_heads, scale)?,
                _ => cache.attend_prefill(q, kv_heads, scale)?,
            };
            let Some(out) = out else {
                candle_core::bail!("attention kernel refused its cache");
            };
            cache.trim();
            return Ok(out);
        }
        let kv_len = k.dim(2)?;
        // The cache may store another type than the activations (f16 for quantized models).
        let (k, v) = (k.to_dtype(q.dtype())?, v.to_dtype(q.dtype())?);

        // Query heads sharing a KV head become extra rows of one matmul.
        let group = heads / kv_heads;
        let q = q.reshape((b, kv_heads, group * seq, dim))?;
        let mut scores = q
            .matmul(&k.t()?)?
            .to_dtype(DType::F32)?
            .affine(self.scale, 0.0)?;
        if let Some(mask) = segment.mask {
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
        cache.trim();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kernels::{row_relative_error, test_values};

    /// Attention whose projections are never used: only `attend` runs.
    fn attention(heads: usize, kv_heads: usize, dim: usize, cpu_kernels: bool) -> Attention {
        let unused = Linear::Dense {
            weight: Tensor::zeros((1, 1), DType::F32, &Device::Cpu).unwrap(),
            bias: None,
        };
        Attention {
            q: unused.clone(),
            k: unused.clone(),
            v: unused.clone(),
            o: unused,
            q_norm: None,
            k_norm: None,
            num_heads: heads,
            num_kv_heads: kv_heads,
            head_dim: dim,
            scale: 1.0 / (dim as f64).sqrt(),
            cpu_kernels,
        }
    }

    #[test]
    fn kernels_answer_as_the_plain_path_chunk_after_chunk() {
        // (heads, KV heads, head_dim, window, cache type, chunk lengths): chunks crossing
        // the kernel's 64-key tiles, one-position steps between them (the decode kernel),
        // a sliding window shorter than a chunk and one longer.
        for (heads, kv_heads, dim, window, dtype, chunks) in [
            (14, 2, 64, None, DType::F32, vec![100, 37, 1, 90]),
            (8, 4, 128, Some(50), DType::F16, vec![70, 70, 1, 5]),
            (4, 4, 64, Some(5), DType::F32, vec![9, 64, 1, 65]),
            (6, 2, 40, Some(100), DType::F16, vec![130, 1, 1, 66]),
        ] {
            let (kernels, plain) = (
                attention(heads, kv_heads, dim, true),
                attention(heads, kv_heads, dim, false),
            );
            let mut caches = [
                KvCache::stored_as(window, dtype),
                KvCache::stored_as(window, dtype),
            ];
            let mut pos = 0;
            for (i, seq) in chunks.into_iter().enumerate() {
                let random = |heads: usize, seed: u64| {
                    let x = test_values(heads * seq * dim, seed + 10 * i as u64);
                    Tensor::from_vec(x, (1, heads, seq, dim), &Device::Cpu).unwrap()
                };
                let (q, k, v) = (random(heads, 1), random(kv_heads, 2), random(kv_heads, 3));
                let cached = caches[1].len();
                let mask = causal_mask(seq, pos, cached, window, &Device::Cpu).unwrap();
                let [fast, slow] = &mut caches;
                let rows = |cache, mask| SegmentRows {
                    cache,
                    len: seq,
                    mask,
                };
                let a = kernels.attend(&q, &k, &v, &mut rows(fast, None)).unwrap();
                let b = plain
                    .attend(&q, &k, &v, &mut rows(slow, mask.as_ref()))
                    .unwrap();
                let flat = |x: Tensor| x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                let error = row_relative_error(&flat(a), &flat(b), dim);
                assert!(
                    error <= 1e-5,
                    "{heads}/{kv_heads} heads of {dim}, window {window:?}, {dtype:?}, \
                     chunk {i} of {seq} at {pos}: off by {error}"
                );
                pos += seq;
            }
        }
    }

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
}
