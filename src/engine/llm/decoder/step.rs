//! The decoder's forward pass over one or many sequences at once: every segment's rows
//! go through the projections and the MLP as one product, and attend over their own
//! sequence's KV caches. [`CausalLm::forward`] is the one-segment case.

use candle_core::{DType, Tensor};

use super::{Decoder, PREFILL_CHUNK};
use crate::engine::batch::{BatchedLm, Segment, SequenceCache};
use crate::engine::llm::attention::{causal_mask, SegmentRows};
use crate::engine::llm::modules::softcap;
use crate::engine::{CausalLm, EngineError, ModelInfo};

/// One segment's masks over its caches: global layers, sliding layers.
type Masks = (Option<Tensor>, Option<Tensor>);

impl Decoder {
    /// The error for a segment that cannot run.
    fn check(&self, segment: &Segment<'_>) -> Result<(), EngineError> {
        let ids = segment.ids;
        if ids.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= self.cfg.vocab_size) {
            return Err(EngineError::TokenOutOfRange {
                id,
                vocab: self.cfg.vocab_size,
            });
        }
        let tokens = segment.cache.positions() + ids.len();
        if tokens > self.info.context_length {
            return Err(EngineError::ContextOverflow {
                tokens,
                context: self.info.context_length,
            });
        }
        if segment.cache.layers.len() != self.layers.len() {
            return Err(EngineError::Candle(candle_core::Error::Msg(format!(
                "a sequence cache of {} layers given to a model of {}",
                segment.cache.layers.len(),
                self.layers.len()
            ))));
        }
        Ok(())
    }

    /// Runs every segment's ids after its cached positions, all rows through each layer
    /// together, and returns the last hidden state of each segment that wants logits,
    /// `(1, wanted, hidden)`, or `None` when none does.
    fn forward_rows(&self, segments: &mut [Segment<'_>]) -> candle_core::Result<Option<Tensor>> {
        let mut ids = Vec::new();
        let mut positions = Vec::new();
        for segment in segments.iter() {
            let first = segment.cache.positions;
            ids.extend_from_slice(segment.ids);
            positions.extend((first..first + segment.ids.len()).map(|p| p as u32));
        }
        let input = Tensor::new(ids.as_slice(), &self.device)?.unsqueeze(0)?;
        let mut h = self.embed.forward(&input, self.dtype)?;
        if let Some(scale) = self.cfg.embedding_scale {
            let scale = Tensor::new(scale as f32, &self.device)?.to_dtype(h.dtype())?;
            h = h.broadcast_mul(&scale)?;
        }
        let global = self.rope.cos_sin_at(&positions, self.dtype)?;
        let local = match &self.local_rope {
            Some(rope) => Some(rope.cos_sin_at(&positions, self.dtype)?),
            None => None,
        };
        let masks = segments
            .iter()
            .map(|segment| self.masks(segment))
            .collect::<candle_core::Result<Vec<Masks>>>()?;
        for (i, layer) in self.layers.iter().enumerate() {
            let (rope, cos_sin) = match (layer.sliding, &self.local_rope, &local) {
                (true, Some(rope), Some(cs)) => (rope, cs),
                _ => (&self.rope, &global),
            };
            let mut rows: Vec<SegmentRows<'_>> = segments
                .iter_mut()
                .zip(&masks)
                .map(|(segment, (global_mask, sliding_mask))| SegmentRows {
                    cache: &mut segment.cache.layers[i],
                    len: segment.ids.len(),
                    mask: match layer.sliding {
                        true => sliding_mask.as_ref(),
                        false => global_mask.as_ref(),
                    },
                })
                .collect();
            h = layer.forward(&h, rope, (&cos_sin.0, &cos_sin.1), &mut rows)?;
        }
        let mut last_rows = Vec::new();
        let mut end = 0u32;
        for segment in segments.iter_mut() {
            end += segment.ids.len() as u32;
            segment.cache.positions += segment.ids.len();
            if segment.wants_logits {
                last_rows.push(end - 1);
            }
        }
        if last_rows.is_empty() {
            return Ok(None);
        }
        if last_rows.len() == 1 {
            return h.narrow(1, last_rows[0] as usize, 1).map(Some);
        }
        let index = Tensor::new(last_rows.as_slice(), &self.device)?;
        h.index_select(&index, 1).map(Some)
    }

    /// A segment's masks for its queries over its caches (`None` where every key is
    /// visible, and always on saar's kernels, which mask inside their tiles).
    fn masks(&self, segment: &Segment<'_>) -> candle_core::Result<Masks> {
        if self
            .layers
            .first()
            .is_some_and(|layer| layer.attn.cpu_kernels)
        {
            return Ok((None, None));
        }
        let (seq, pos) = (segment.ids.len(), segment.cache.positions);
        let global = causal_mask(seq, pos, pos, None, &self.device)?;
        let sliding_cached = self
            .layers
            .iter()
            .zip(&segment.cache.layers)
            .find(|(layer, _)| layer.sliding)
            .map(|(_, cache)| cache.len());
        let sliding = match sliding_cached {
            Some(cached) => causal_mask(seq, pos, cached, self.cfg.sliding_window, &self.device)?,
            None => None,
        };
        Ok((global, sliding))
    }

    /// Logits `(rows, vocab)` in f32 for last hidden states `(1, rows, hidden)`.
    fn logits(&self, last: &Tensor) -> candle_core::Result<Tensor> {
        let rows = last.dim(1)?;
        let h = self.norm.forward(last)?;
        let logits = self
            .lm_head
            .forward(&h)?
            .reshape((rows, ()))?
            .to_dtype(DType::F32)?;
        match self.cfg.final_logit_softcap {
            Some(cap) => softcap(&logits, cap),
            None => Ok(logits),
        }
    }

    /// [`BatchedLm::forward_batch`] after the checks, on the kernels' thread pool.
    fn forward_checked(&self, segments: &mut [Segment<'_>]) -> Result<Option<Tensor>, EngineError> {
        crate::engine::kernels::on_pool(|| {
            let last = self.forward_rows(segments)?;
            Ok(last.map(|last| self.logits(&last)).transpose()?)
        })
    }
}

impl CausalLm for Decoder {
    fn forward(&mut self, ids: &[u32], pos: usize) -> Result<Tensor, EngineError> {
        if ids.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        if pos == 0 {
            self.reset();
        } else if pos != self.own.positions {
            return Err(EngineError::CachePosition {
                requested: pos,
                cached: self.own.positions,
            });
        }
        let mut own = std::mem::replace(&mut self.own, SequenceCache::new(Vec::new()));
        own.expect(pos + ids.len());
        let mut logits = None;
        let chunks = ids.len().div_ceil(PREFILL_CHUNK);
        for (i, chunk) in ids.chunks(PREFILL_CHUNK).enumerate() {
            let mut segment = [Segment {
                cache: &mut own,
                ids: chunk,
                wants_logits: i + 1 == chunks,
            }];
            let run = self
                .check(&segment[0])
                .and_then(|()| self.forward_checked(&mut segment));
            match run {
                Ok(out) => logits = out,
                Err(e) => {
                    // Some layers may have cached this chunk and others not.
                    self.reset();
                    return Err(e);
                }
            }
        }
        self.own = own;
        match logits {
            Some(logits) => Ok(logits.squeeze(0)?),
            None => Err(EngineError::EmptyPrompt),
        }
    }

    fn reset(&mut self) {
        self.own = self.new_sequence();
    }

    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn batched(&mut self) -> Option<&mut dyn BatchedLm> {
        Some(self)
    }
}

impl BatchedLm for Decoder {
    fn new_sequence(&self) -> SequenceCache {
        SequenceCache::new(self.empty_caches.clone())
    }

    fn forward_batch(
        &mut self,
        segments: &mut [Segment<'_>],
    ) -> Result<Option<Tensor>, EngineError> {
        for segment in segments.iter() {
            self.check(segment)?;
        }
        self.forward_checked(segments)
    }

    fn kv_bytes(&self, positions: usize) -> usize {
        let (kv_heads, head_dim) = (self.cfg.num_kv_heads, self.cfg.head_dim);
        self.empty_caches
            .iter()
            .map(|cache| cache.bytes_bound(positions, PREFILL_CHUNK, kv_heads, head_dim))
            .sum()
    }

    fn kv_bytes_per_token(&self) -> usize {
        let (kv_heads, head_dim) = (self.cfg.num_kv_heads, self.cfg.head_dim);
        self.empty_caches
            .iter()
            .map(|cache| cache.bytes_per_position(kv_heads, head_dim))
            .sum()
    }

    fn info(&self) -> &ModelInfo {
        &self.info
    }
}
